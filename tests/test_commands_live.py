"""`segment-inspector live`, run as a real process with a real proxy on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from inspector.commands import live
from inspector.recordings import read_requests

ROOT = Path(__file__).resolve().parents[1]
"""The checkout: `python -m inspector` run from here imports its code."""
LISTENING = re.compile(r"^Proxy listening on 127\.0\.0\.1:(\d+)")
STARTUP_LIMIT_S = 60


class LiveProcess:
    """`segment-inspector live --headless` in a subprocess, with its output lines."""

    def __init__(self, *arguments: str, confdir: Path, stdin: str | None = None):
        command = [
            sys.executable,
            "-m",
            "inspector",
            "live",
            "--headless",
            "--listen-port",
            "0",
            "--confdir",
            str(confdir),
            *arguments,
        ]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        if stdin is not None:
            assert self.process.stdin is not None
            self.process.stdin.write(stdin)
            self.process.stdin.close()
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, pattern: re.Pattern[str]) -> re.Match[str]:
        """The first output line matching `pattern` (fails if the process ends)."""
        while True:
            try:
                line = self._queue.get(timeout=STARTUP_LIMIT_S)
            except queue.Empty:
                self.process.kill()
                pytest.fail(f"no line matching {pattern.pattern}; got {self.lines}")
            if line is None:
                stderr = self.process.stderr.read() if self.process.stderr else ""
                pytest.fail(f"live exited before {pattern.pattern}: {stderr}")
            self.lines.append(line)
            match = pattern.search(line)
            if match:
                return match

    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", int(self.wait_for(LISTENING).group(1)))

    def finish(self) -> tuple[int, list[str], str]:
        """Wait for the exit; returns the status, every stdout line and stderr."""
        status = self.process.wait(timeout=STARTUP_LIMIT_S)
        self._reader.join(timeout=STARTUP_LIMIT_S)
        while not self._queue.empty():
            line = self._queue.get_nowait()
            if line is not None:
                self.lines.append(line)
        stderr = self.process.stderr.read() if self.process.stderr else ""
        return status, self.lines, stderr

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def run_live(tmp_path):
    processes: list[LiveProcess] = []

    def start(*arguments: str, stdin: str | None = None) -> LiveProcess:
        process = LiveProcess(*arguments, confdir=tmp_path / "confdir", stdin=stdin)
        processes.append(process)
        return process

    yield start

    for process in processes:
        process.close()


def run_to_exit(
    *arguments: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inspector", "live", *arguments],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=STARTUP_LIMIT_S,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], text: str):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("segment-inspector live: ")
    assert text in lines[0]


# ------------------------------------------------------------------ headless runs


def test_headless_prints_a_line_per_event(
    run_live, proxy_client, pixel_url_factory, tmp_path
):
    live_process = run_live("--answer-pixels")
    address = live_process.address()

    response = proxy_client.get_sync(
        address, pixel_url_factory(data={"plan": "premium"})
    )
    event_line = live_process.wait_for(re.compile(r"pageview"))
    live_process.process.send_signal(signal.SIGINT)
    status, lines, _ = live_process.finish()

    assert response.status == 200
    assert 'plan="premium"' in event_line.string
    assert "example.com" in event_line.string
    assert any("http://mitm.it" in line for line in lines)
    assert status == 0
    assert lines[-1] == "1 request, 1 pixel event, 0 errors, 0 warnings, 0 infos"


def test_headless_says_on_every_line_when_the_spec_does_not_cover_the_site(
    run_live, proxy_client, pixel_url_factory, tmp_path
):
    spec = tmp_path / "segments.yaml"
    spec.write_text(
        "version: 1\nsites: [example.com]\nsegments:\n  plan: {type: string}\n"
    )
    live_process = run_live("--answer-pixels", "--spec", str(spec))
    address = live_process.address()
    urls = [
        pixel_url_factory(
            data={"plan": "basic"},
            idsite=site,
            page=f"https://{site}/story-{number}",
            plid=str(number),
            pvid=str(number),
        )
        for number, site in enumerate(("other.org", "other.org", "example.com"))
    ]

    for url in urls:
        proxy_client.get_sync(address, url)
        live_process.wait_for(re.compile(r"pageview"))
    live_process.process.send_signal(signal.SIGINT)
    status, lines, _ = live_process.finish()

    assert status == 0
    events = [line for line in lines if re.match(r"\d\d:\d\d:\d\d pageview ", line)]
    assert [line.rsplit("  ", 1)[-1] for line in events] == [
        "-- ok (site not covered by the spec)",
        "-- ok (site not covered by the spec)",
        "-- ok",
    ]
    assert [" other.org " in line for line in events] == [True, True, False]
    # The finding that explains it is given once, and counted once.
    assert lines[-1] == "3 requests, 3 pixel events, 0 errors, 0 warnings, 1 info"


def test_headless_reads_the_spec_from_standard_input(
    run_live, proxy_client, pixel_url_factory
):
    spec = "version: 1\nsegments:\n  plan: {type: string, values: [basic]}\n"
    live_process = run_live("--answer-pixels", "--spec", "-", stdin=spec)
    address = live_process.address()

    proxy_client.get_sync(address, pixel_url_factory(data={"plan": "premium"}))
    event_line = live_process.wait_for(re.compile(r"pageview"))
    live_process.process.send_signal(signal.SIGINT)
    status, lines, stderr = live_process.finish()

    assert status == 0, stderr
    # Judged by the spec that came in on standard input: premium is not allowed.
    assert "segment.value-not-allowed" in event_line.string
    assert lines[-1] == "1 request, 1 pixel event, 1 error, 0 warnings, 0 infos"


def test_a_bad_spec_on_standard_input_is_named_stdin():
    result = run_to_exit(
        "--headless", "--spec", "-", "--listen-port", "0", stdin="version: 1\nx: 1\n"
    )

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("segment-inspector live: <stdin>:2:1: ")
    assert "Proxy listening" not in result.stdout


def test_the_terminal_ui_refuses_a_spec_on_standard_input_at_once(tmp_path):
    spec = "version: 1\nsegments:\n  plan: {type: string}\n"

    result = run_to_exit(
        "--spec", "-", "--listen-port", "0", "--confdir", str(tmp_path), stdin=spec
    )

    assert_one_line_error(
        result,
        "--spec -: the terminal UI reads its keys from standard input, so the spec "
        "cannot come from there; give the spec's file, or add --headless",
    )
    # Refused before anything was set up: no proxy, not even its CA.
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_a_killed_session_keeps_every_completed_flow(
    run_live, proxy_client, pixel_url_factory, origin_server, tmp_path
):
    recording = tmp_path / "session.mitm"
    live_process = run_live("--answer-pixels", "--record", str(recording))
    address = live_process.address()
    urls = [
        origin_server.base_url + "/news/today",
        pixel_url_factory(data={"plan": "basic"}),
        pixel_url_factory(action="heartbeat", data={"plan": "basic"}, inc="5"),
    ]

    for url in urls:
        assert proxy_client.get_sync(address, url).status == 200
    live_process.process.send_signal(signal.SIGKILL)
    status, _, _ = live_process.finish()

    assert status == -signal.SIGKILL
    assert [request.url for request in read_requests(recording)] == urls


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_stopping_with_a_signal_writes_the_har(
    run_live, proxy_client, pixel_url_factory, tmp_path, stop_signal
):
    recording = tmp_path / "session.har"
    live_process = run_live("--answer-pixels", "--record", str(recording))
    address = live_process.address()
    urls = [
        pixel_url_factory(data={"plan": "basic"}),
        pixel_url_factory(data={"plan": "premium"}, pvid="2"),
    ]

    for url in urls:
        proxy_client.get_sync(address, url)
    live_process.process.send_signal(stop_signal)
    status, lines, _ = live_process.finish()

    assert status == 0
    entries = json.loads(recording.read_text())["log"]["entries"]
    assert [entry["request"]["url"] for entry in entries] == urls
    assert [request.url for request in read_requests(recording)] == urls
    assert f"Recording saved to {recording}" in lines
    assert proxy_client.port_is_closed(address)


def test_a_second_ctrl_c_stops_at_once_and_as_cleanly(
    run_live, proxy_client, pixel_url_factory, origin_server, tmp_path
):

    recording = tmp_path / "session.mitm"
    output = tmp_path / "events.jsonl"
    origin_server.delay = 30  # the pixel is still waiting when Ctrl-C comes
    live_process = run_live(
        "--pixel-host", "127.0.0.1", "--record", str(recording), "--jsonl", str(output)
    )
    address = live_process.address()
    url = pixel_url_factory(
        host=f"127.0.0.1:{origin_server.port}", data={"plan": "basic"}
    )
    outcome: list[object] = []

    def send_the_pixel() -> None:
        try:
            outcome.append(proxy_client.get_sync(address, url))
        except ConnectionError as error:  # NoResponse, or a reset
            outcome.append(error)

    client = threading.Thread(target=send_the_pixel, daemon=True)
    client.start()
    for _ in range(500):
        if origin_server.received:
            break
        time.sleep(0.01)

    live_process.process.send_signal(signal.SIGINT)
    time.sleep(0.2)
    live_process.process.send_signal(signal.SIGINT)
    status, lines, stderr = live_process.finish()
    client.join(timeout=10)

    # The browser's request was cut off, not answered: the origin never replied.
    [cut_off] = outcome
    assert isinstance(cut_off, ConnectionError), cut_off
    assert status == 0, stderr
    assert "Traceback" not in stderr
    assert "1 request, 1 pixel event, 0 errors, 0 warnings, 0 infos" in lines
    [recorded] = read_requests(recording)
    assert (recorded.url, recorded.response_status) == (url, None)
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert [record["type"] for record in records] == ["event", "summary"]


def test_jsonl_from_the_command_line(
    run_live, proxy_client, pixel_url_factory, tmp_path
):
    output = tmp_path / "events.jsonl"
    live_process = run_live("--answer-pixels", "--jsonl", str(output))
    address = live_process.address()

    proxy_client.get_sync(address, pixel_url_factory(data={"plan": "basic"}))
    live_process.wait_for(re.compile("pageview"))
    live_process.process.send_signal(signal.SIGINT)
    live_process.finish()

    [record, summary] = [json.loads(line) for line in output.read_text().splitlines()]
    assert record["segments"] == {"plan": "basic"}
    assert summary["type"] == "summary"


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_jsonl_ends_with_the_summary_check_writes(
    run_live, proxy_client, pixel_url_factory, origin_server, tmp_path, stop_signal
):
    output = tmp_path / "events.jsonl"
    recording = tmp_path / "session.mitm"
    live_process = run_live(
        "--answer-pixels", "--jsonl", str(output), "--record", str(recording)
    )
    address = live_process.address()
    urls = [
        origin_server.base_url + "/news/today",
        pixel_url_factory(data={"plan": "basic"}),
        pixel_url_factory(data={"plan": "basic"}, rand="2"),  # a duplicate pageview
        pixel_url_factory(action="heartbeat", data={"plan": "basic"}, inc="5"),
    ]
    for url in urls:
        assert proxy_client.get_sync(address, url).status == 200
    for _ in range(3):
        live_process.wait_for(re.compile(r"p1\.parsely\.com|example\.com"))
    live_process.process.send_signal(stop_signal)
    status, lines, _ = live_process.finish()

    records = [json.loads(line) for line in output.read_text().splitlines()]
    checked = subprocess.run(
        [sys.executable, "-m", "inspector", "check", str(recording)]
        + ["--format", "jsonl", "--fail-on", "never"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=STARTUP_LIMIT_S,
        check=True,
    )
    expected = json.loads(checked.stdout.splitlines()[-1])

    assert status == 0
    assert [record["type"] for record in records].count("summary") == 1
    summary = records[-1]
    # The same totals as `check` of the session's recording; live traffic comes
    # from no recording, so it names no source.
    assert summary == {**expected, "sources": []}
    assert (summary["events"], summary["requests"], summary["warnings"]) == (3, 4, 1)
    assert summary["worst"] == "warning"
    assert summary["recording_errors"] == 0
    assert "4 requests, 3 pixel events, 0 errors, 1 warning, 0 infos" in lines


def test_a_killed_session_leaves_valid_jsonl_without_a_summary(
    run_live, proxy_client, pixel_url_factory, tmp_path
):
    output = tmp_path / "events.jsonl"
    live_process = run_live("--answer-pixels", "--jsonl", str(output))
    address = live_process.address()
    for rand in ("1", "2", "3"):
        url = pixel_url_factory(data={"plan": "basic"}, rand=rand, pvid=rand)
        proxy_client.get_sync(address, url)
    for _ in range(3):
        live_process.wait_for(re.compile("pageview"))
    live_process.process.send_signal(signal.SIGKILL)
    status, _, _ = live_process.finish()

    text = output.read_text()
    records = [json.loads(line) for line in text.splitlines()]
    assert status == -signal.SIGKILL
    assert text.endswith("\n")
    assert [record["type"] for record in records] == ["event"] * 3


def test_headless_prints_a_page_fault_as_soon_as_it_is_known(
    run_live, proxy_client, pixel_url_factory, tmp_path
):
    output = tmp_path / "events.jsonl"
    # A wide duplicate window: a loaded machine may send the second pageview late.
    spec = tmp_path / "segments.yaml"
    spec.write_text(
        "version: 1\nunknown_keys: allow\npages:\n  duplicate_window_ms: 600000\n"
    )
    live_process = run_live(
        "--answer-pixels", "--jsonl", str(output), "--spec", str(spec)
    )
    address = live_process.address()

    for rand in ("1", "2"):
        url = pixel_url_factory(data={"plan": "basic"}, rand=rand)
        proxy_client.get_sync(address, url)
    headline = live_process.wait_for(re.compile(r"^\*\* warning page\.duplicate"))
    fix = live_process.wait_for(re.compile(r"^    "))
    live_process.process.send_signal(signal.SIGINT)
    status, lines, _ = live_process.finish()

    records = [json.loads(line) for line in output.read_text().splitlines()]
    events = [record for record in records if record["type"] == "event"]
    [diagnosis] = [record for record in records if record["type"] == "diagnosis"]
    assert status == 0
    assert headline.string == (
        "** warning page.duplicate-pageview: "
        f"{diagnosis['title']} | page https://example.com/news/today (plid:12345678)"
        f" | events {events[0]['id']}, {events[1]['id']}"
    )
    assert fix.string == "    " + diagnosis["explanation"]
    assert diagnosis["code"] == "page.duplicate-pageview"
    assert diagnosis["evidence"] == [events[0]["id"], events[1]["id"]]
    # Announced once, and counted once in the totals.
    assert sum("page.duplicate-pageview" in line for line in lines) == 1
    assert lines[-1] == "2 requests, 2 pixel events, 0 errors, 1 warning, 0 infos"


def test_a_tracker_without_a_pageview_times_out_without_more_traffic(
    run_live, proxy_client, origin_server, tmp_path
):
    spec = tmp_path / "segments.yaml"
    spec.write_text("version: 1\npages:\n  tracker_timeout_ms: 200\n")
    live_process = run_live("--spec", str(spec))
    address = live_process.address()
    page = origin_server.base_url + "/news/today"
    document = proxy_client.raw_get(page, [("Sec-Fetch-Dest", "document")])
    tracker = proxy_client.raw_get(
        origin_server.base_url + "/keys/example.com/p.js",
        [("Sec-Fetch-Dest", "script"), ("Referer", page)],
    )

    proxy_client.send_sync(address, document)
    proxy_client.send_sync(address, tracker)
    headline = live_process.wait_for(re.compile(r"page\.tracker-no-pageview"))
    live_process.process.send_signal(signal.SIGINT)
    status, lines, _ = live_process.finish()

    assert status == 0
    assert headline.string.startswith(
        "** warning page.tracker-no-pageview: "
        "Tracker loaded but no pageview within 200 ms | page "
        f"{page} (page:"
    )
    assert sum("page.tracker-no-pageview" in line for line in lines) == 1


# ------------------------------------------------------------------ refusing to start


@pytest.mark.parametrize("headless", [True, False])
def test_a_taken_port_exits_with_status_2(tmp_path, headless):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        arguments = ["--listen-port", str(port), "--confdir", str(tmp_path)]
        if headless:
            arguments.append("--headless")

        result = run_to_exit(*arguments)

    assert_one_line_error(result, f"127.0.0.1:{port}: Address already in use")


def test_a_bad_spec_exits_with_status_2(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("version: 1\nsegmnets: {}\n")

    result = run_to_exit("--headless", "--spec", str(spec), "--listen-port", "0")

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("segment-inspector live: ")
    assert "bad.yaml:2" in result.stderr


def test_a_pixel_host_with_a_scheme_is_a_one_line_error():
    result = run_to_exit("--headless", "--pixel-host", "https://x/y")

    assert_one_line_error(
        result,
        '--pixel-host: "https://x/y" is not a host name or a `*.domain` '
        "pattern; write the host name only: 'x'",
    )


@pytest.mark.parametrize("headless", [True, False])
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--confdir", "{tmp}/garbage.bin"],
            "cannot use {tmp}/garbage.bin as mitmproxy's certificate directory "
            "(--confdir): it is not a directory",
        ),
        (
            ["--confdir", "/proc/nope"],
            "cannot create mitmproxy's certificate directory (--confdir) /proc/nope: ",
        ),
        (
            ["--confdir", "{tmp}/badconf"],
            "cannot use mitmproxy's CA {tmp}/badconf/mitmproxy-ca.pem: Could not "
            "deserialize key data; move it away (or use another --confdir) to have "
            "a new CA created",
        ),
        (
            ["--listen-host", "nonexistent.invalid"],
            "cannot resolve listen host 'nonexistent.invalid': ",
        ),
    ],
)
def test_an_unusable_confdir_or_listen_host_exits_with_status_2(
    tmp_path, headless, arguments, message
):
    (tmp_path / "garbage.bin").write_bytes(b"\x00garbage")
    (tmp_path / "badconf").mkdir()
    (tmp_path / "badconf" / "mitmproxy-ca.pem").write_bytes(bytes(range(256)) * 2)
    arguments = [argument.format(tmp=tmp_path) for argument in arguments]
    if "--confdir" not in arguments:
        arguments += ["--confdir", str(tmp_path / "confdir")]
    if headless:
        arguments.append("--headless")

    result = run_to_exit(*arguments, "--listen-port", "0")

    assert_one_line_error(result, message.format(tmp=tmp_path))
    assert "Proxy listening" not in result.stdout


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ("missing-dir/session.mitm", "No such file or directory"),
        ("session.json", "use a .mitm or .har file name (got .json)"),
        (".", "it is a directory; give a .mitm or .har file name, such as "),
    ],
)
def test_an_unusable_record_path_exits_with_status_2(tmp_path, record, message):
    result = run_to_exit(
        "--headless", "--record", str(tmp_path / record), "--listen-port", "0"
    )

    assert_one_line_error(result, message)
    assert "(got none)" not in result.stderr


@pytest.mark.parametrize("headless", [True, False])
@pytest.mark.parametrize("suffix", [".mitm", ".har"])
def test_an_existing_recording_is_not_replaced(tmp_path, headless, suffix):
    recording = tmp_path / f"keep{suffix}"
    kept = (ROOT / "fixtures" / "recordings" / "demo.mitm").read_bytes()
    recording.write_bytes(kept)
    arguments = ["--record", str(recording), "--confdir", str(tmp_path / "conf")]
    if headless:
        arguments.append("--headless")

    result = run_to_exit(*arguments, "--listen-port", "0")

    assert_one_line_error(
        result,
        f"--record {recording} already exists ({len(kept)} bytes); add --overwrite "
        "to replace it, or choose another file name",
    )
    assert recording.read_bytes() == kept
    assert "Proxy listening" not in result.stdout


def test_overwrite_replaces_an_existing_recording(
    run_live, proxy_client, pixel_url_factory, tmp_path
):
    recording = tmp_path / "keep.har"
    recording.write_text("an older session")
    live_process = run_live(
        "--answer-pixels", "--record", str(recording), "--overwrite"
    )
    address = live_process.address()

    response = proxy_client.get_sync(address, pixel_url_factory())
    live_process.wait_for(re.compile(r"pageview"))
    live_process.process.send_signal(signal.SIGINT)
    status, _, _ = live_process.finish()

    assert response.status == 200
    assert status == 0
    assert len(json.loads(recording.read_text())["log"]["entries"]) == 1


def test_an_empty_or_missing_recording_file_is_fine_without_overwrite(tmp_path):
    # The rule is the session's (tests/test_proxy.py); the command only words it.
    empty = tmp_path / "empty.mitm"
    empty.touch()

    live._refuse_to_replace("--record", str(empty), overwrite=False)
    live._refuse_to_replace("--record", str(tmp_path / "new.mitm"), overwrite=False)
    live._refuse_to_replace("--record", str(ROOT / "README.md"), overwrite=True)


@pytest.mark.parametrize("headless", [True, False])
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--spec", "segments.yaml", "--jsonl", "./segments.yaml", "--overwrite"],
            "--jsonl ./segments.yaml is also an input (--spec segments.yaml); "
            "writing the session's output there would overwrite it, so nothing "
            "was done",
        ),
        (
            ["--record", "same.mitm", "--jsonl", "same.mitm", "--overwrite"],
            "--jsonl same.mitm is the same file as --record same.mitm; both "
            "writing there would corrupt it, so nothing was done",
        ),
        (
            ["--record", "new.har", "--jsonl", "sub/../new.har"],
            "--jsonl sub/../new.har is the same file as --record new.har; both "
            "writing there would corrupt it, so nothing was done",
        ),
        (
            ["--jsonl", "events.jsonl"],
            "--jsonl events.jsonl already exists (13 bytes); add --overwrite to "
            "replace it, or choose another file name",
        ),
    ],
    ids=["spec", "record", "not-yet-there", "existing-jsonl"],
)
def test_outputs_that_would_destroy_a_file_are_refused(
    tmp_path, headless, arguments, message
):
    spec = ROOT / "fixtures" / "specs" / "example.yaml"
    files = {
        "segments.yaml": spec.read_bytes(),
        "same.mitm": (ROOT / "fixtures" / "recordings" / "demo.mitm").read_bytes(),
        "events.jsonl": b'{"old": true}',
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    (tmp_path / "sub").mkdir()
    arguments = [*arguments, "--confdir", str(tmp_path / "conf")]
    if headless:
        arguments.append("--headless")

    result = subprocess.run(
        [sys.executable, "-m", "inspector", "live", *arguments, "--listen-port", "0"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=STARTUP_LIMIT_S,
        check=False,
    )

    assert_one_line_error(result, message)
    for name, content in files.items():
        assert (tmp_path / name).read_bytes() == content
    assert not (tmp_path / "new.har").exists()


def test_overwrite_replaces_an_existing_jsonl_file(
    run_live, proxy_client, pixel_url_factory, tmp_path
):
    events = tmp_path / "events.jsonl"
    events.write_text('{"old": true}\n')
    live_process = run_live("--answer-pixels", "--jsonl", str(events), "--overwrite")
    address = live_process.address()

    proxy_client.get_sync(address, pixel_url_factory())
    live_process.wait_for(re.compile(r"pageview"))
    live_process.process.send_signal(signal.SIGINT)
    status, _, _ = live_process.finish()

    assert status == 0
    records = [json.loads(line) for line in events.read_text().splitlines()]
    assert [record["type"] for record in records] == ["event", "summary"]


def test_an_exposed_listen_address_is_warned_about(capsys):
    live._warn_if_exposed("0.0.0.0")
    live._warn_if_exposed("127.0.0.1")

    warnings = capsys.readouterr().err.strip().splitlines()
    assert len(warnings) == 1
    assert warnings[0].startswith("warning: listening on all interfaces")


# ------------------------------------------------------------------ with the UI


async def test_the_ui_shows_pixels_from_the_embedded_proxy(
    tmp_path, proxy_client, pixel_url_factory
):
    import asyncio

    from inspector.tui.launch import build_live_app

    recording = tmp_path / "session.har"
    output = tmp_path / "events.jsonl"
    app = build_live_app(
        listen_port=0,
        confdir=tmp_path / "confdir",
        record_path=recording,
        answer_pixels=True,
        jsonl_path=output,
    )

    async with app.run_test() as pilot:
        [address] = app.listen_addresses
        response = await proxy_client.get(
            address, pixel_url_factory(data={"plan": "premium"})
        )
        deadline = asyncio.get_running_loop().time() + STARTUP_LIMIT_S
        while not app.counts.total and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        await pilot.press("q")

    assert response.status == 200
    assert app.counts.total == 1
    assert app.startup_error is None
    assert proxy_client.port_is_closed(address)
    assert len(json.loads(recording.read_text())["log"]["entries"]) == 1
    # Quitting ends the JSON Lines file with the session's totals.
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert [record["type"] for record in records] == ["event", "summary"]
    assert (records[1]["events"], records[1]["requests"]) == (1, 1)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_closes_the_ui_and_writes_the_har(
    tmp_path, proxy_client, pixel_url_factory, stop_signal
):
    recording = tmp_path / "session.har"
    output = tmp_path / "events.jsonl"

    with ui_in_a_terminal(
        tmp_path,
        proxy_client,
        "--record",
        str(recording),
        "--jsonl",
        str(output),
        "--answer-pixels",
    ) as (process, screen, address):
        response = proxy_client.get_sync(
            address, pixel_url_factory(data={"plan": "basic"})
        )
        process.send_signal(stop_signal)
        status = process.wait(timeout=STARTUP_LIMIT_S)

    assert response.status == 200
    assert status == 0, screen.text()
    assert len(json.loads(recording.read_text())["log"]["entries"]) == 1
    assert proxy_client.port_is_closed(address)
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert [record["type"] for record in records] == ["event", "summary"]
    assert records[1]["events"] == 1


@contextlib.contextmanager
def ui_in_a_terminal(tmp_path, proxy_client, *arguments: str):
    """`live` with its UI in a pseudo-terminal, on a free port of 127.0.0.1; yields
    the process, its screen and the proxy's address once it listens, and kills the
    process if the test leaves it running."""
    port = free_port()
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "inspector",
            "live",
            "--listen-port",
            str(port),
            "--confdir",
            str(tmp_path / "confdir"),
            *arguments,
        ],
        cwd=ROOT,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"},
    )
    os.close(terminal)
    screen = _PtyDrain(controller)
    address = ("127.0.0.1", port)
    try:
        for _ in range(STARTUP_LIMIT_S * 10):
            if not proxy_client.port_is_closed(address) or process.poll() is not None:
                break
            time.sleep(0.1)
        yield process, screen, address
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        screen.close()


class _PtyDrain:
    """Reads a pseudo-terminal in the background so the UI never blocks writing."""

    def __init__(self, descriptor: int):
        self.descriptor = descriptor
        self.chunks: list[bytes] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        import os

        while True:
            try:
                chunk = os.read(self.descriptor, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.chunks.append(chunk)

    def text(self) -> str:
        return b"".join(self.chunks).decode("utf-8", "replace")[-2000:]

    def close(self) -> None:
        import os

        os.close(self.descriptor)
        self._thread.join(timeout=5)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_headless_lines_escape_control_characters(run_live, proxy_client):
    live_process = run_live("--answer-pixels")
    address = live_process.address()
    url = (
        "http://p1.parsely.com/plogger/?rand=1&idsite=ex%1B%5B31mample.com"
        "&url=https%3A%2F%2Fexample.com%2F%1B%5D0%3Bpwn%07&action=page%1Bview"
        "&data=%7B%22a%22%3A1%7D"
    )

    for rand in ("1", "2"):  # twice: a duplicate pageview is diagnosed too
        response = proxy_client.get_sync(address, url.replace("rand=1", f"rand={rand}"))
        assert response.status == 200
    for _ in range(2):
        live_process.wait_for(re.compile(r"page\\x1bview"))
    live_process.process.send_signal(signal.SIGINT)
    status, lines, stderr = live_process.finish()

    output = "\n".join(lines) + stderr
    assert status == 0
    assert "\x1b" not in output and "\x07" not in output
    events = [line for line in lines if "page\\x1bview" in line]
    assert len(events) == 2
    assert "ex\\x1b[31mample.com" in events[0]
    assert "https://example.com/\\x1b]0;pwn\\x07" in events[0]


def test_the_ui_survives_pixels_whose_addresses_cannot_be_parsed(
    tmp_path, proxy_client, pixel_url_factory
):
    """Real UI in a pseudo-terminal, real proxy on 127.0.0.1, pixels sent by curl."""
    import shutil

    curl = shutil.which("curl")
    assert curl, "curl sends the pixels through the proxy"
    recording = tmp_path / "session.har"
    pages = ["http://[::1", "http://ex\u2100ample.com/", "http://example.com:99999/"]
    urls = [
        pixel_url_factory(**{parameter: page, "pvid": str(number)})
        for number, (parameter, page) in enumerate(
            (parameter, page)
            for page in pages
            for parameter in ("url", "urlref", "surl", "sref")
        )
    ]

    with ui_in_a_terminal(
        tmp_path, proxy_client, "--record", str(recording), "--answer-pixels"
    ) as (process, screen, (host, port)):
        answers = [
            subprocess.run(
                [curl, "-s", "-o", "/dev/null", "-w", "%{http_code}"]
                + ["-x", f"http://{host}:{port}", url],
                capture_output=True,
                text=True,
                timeout=STARTUP_LIMIT_S,
                check=False,
            ).stdout
            for url in urls
        ]
        time.sleep(1)
        still_running = process.poll() is None
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=STARTUP_LIMIT_S)

    assert answers == ["200"] * len(urls), screen.text()
    assert still_running, screen.text()
    assert status == 0, screen.text()
    entries = json.loads(recording.read_text())["log"]["entries"]
    assert len(entries) == len(urls)
