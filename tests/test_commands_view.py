"""`segment-inspector view`: its arguments, and errors reported before the UI opens.

`App.run()` needs a real terminal, so these tests stop at the UI's entry point:
`run_view` is replaced by a recorder. The UI itself is exercised in tests/tui/.
"""

from __future__ import annotations

import pytest

from inspector.cli import build_parser
from inspector.commands import view
from inspector.tui import launch


@pytest.fixture
def opened(monkeypatch):
    """Record what `view` would open instead of taking over the terminal."""
    calls: list[dict] = []

    def fake_run_view(recordings, **options):
        calls.append({"recordings": list(recordings), **options})
        return 0

    monkeypatch.setattr(launch, "run_view", fake_run_view)
    return calls


def run_view_command(*argv: str) -> int:
    args = build_parser().parse_args(["view", *argv])
    return view.run(args)


def test_view_without_recordings_opens_the_demo(opened):
    assert run_view_command() == 0

    (call,) = opened
    assert call["recordings"] == [launch.demo_recording()]
    assert call["source_label"] == "demo: demo.mitm"
    assert call["max_rows"] == view.DEFAULT_MAX_ROWS
    assert call["spec"] is None
    assert call["show_pii"] is False


def test_view_passes_recordings_spec_and_options(opened, tmp_path):
    spec_file = tmp_path / "segments.yaml"
    spec_file.write_text("version: 1\nsegments:\n  plan: {type: string}\n")

    status = run_view_command(
        "a.har",
        "b.mitm",
        "--spec",
        str(spec_file),
        "--max-rows",
        "10",
        "--demo",
        "--show-pii",
    )

    assert status == 0
    (call,) = opened
    assert call["recordings"] == [launch.demo_recording(), "a.har", "b.mitm"]
    assert call["source_label"] is None
    assert call["max_rows"] == 10
    assert list(call["spec"].segments) == ["plan"]
    assert call["show_pii"] is True


def test_an_invalid_spec_stops_before_the_ui(opened, tmp_path, capsys):
    spec_file = tmp_path / "segments.yaml"
    spec_file.write_text("version: 1\nsegments:\n  plan: {type: strng}\n")

    assert run_view_command("x.har", "--spec", str(spec_file)) == 2

    assert opened == []
    error = capsys.readouterr().err
    assert "the spec cannot be used" in error
    assert "segments.yaml" in error


def test_a_missing_geoip_database_stops_before_the_ui(tmp_path, capsys):
    missing = tmp_path / "nothing.mmdb"

    assert run_view_command("--demo", "--geoip-db", str(missing)) == 2

    assert "GeoIP database not found" in capsys.readouterr().err


def test_nothing_readable_stops_before_the_ui(opened, tmp_path, capsys):
    missing = tmp_path / "missing.har"

    assert run_view_command(str(missing), str(tmp_path)) == 2

    assert opened == []
    error = capsys.readouterr().err
    # A file that could not be opened is named by its path as typed.
    assert error.splitlines() == [
        f"segment-inspector view: {missing}: no such file",
        f"segment-inspector view: {tmp_path}: is a directory, not a recording",
        "segment-inspector view: nothing could be read; no UI opened",
    ]


def test_what_could_be_read_opens_with_the_problems(opened, tmp_path):
    missing = tmp_path / "missing.har"
    demo = launch.demo_recording()

    assert run_view_command(str(missing), str(demo)) == 0

    (call,) = opened
    requests, errors = call["loaded"]
    assert requests
    assert [str(error) for error in errors] == [f"{missing}: no such file"]


def test_several_recordings_are_merged_in_time_order(tmp_path):
    from inspector.model import CapturedRequest
    from inspector.recordings import write_har, write_mitm

    def request(name: str, at: float) -> CapturedRequest:
        return CapturedRequest("GET", f"https://example.com/{name}", timestamp=at)

    early_and_late = tmp_path / "a.mitm"
    write_mitm([request("a1", 10.0), request("a2", 30.0)], early_and_late)
    middle = tmp_path / "b.har"
    write_har([request("b1", 20.0), request("b2", 30.0)], middle)

    requests, errors = launch.read_recordings([early_and_late, middle])

    assert errors == []
    assert [r.url.rsplit("/", 1)[1] for r in requests] == ["a1", "b1", "a2", "b2"]
    assert requests[1].origin.startswith("b.har")


@pytest.mark.parametrize("command", ["view", "live"])
@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("0", "must be at least 1"),
        ("-3", "must be at least 1"),
        ("many", "not a whole number: 'many'"),
        ("99999999999999999999", "must be at most 10,000,000"),
    ],
)
def test_max_rows_is_a_sane_whole_number(capsys, command, given, problem):
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args([command, "--max-rows", given])

    assert stopped.value.code == 2
    assert f"argument --max-rows: {problem}" in capsys.readouterr().err


def test_the_largest_max_rows_is_taken():
    args = build_parser().parse_args(["view", "--max-rows", "10000000"])

    assert args.max_rows == 10_000_000


def test_errors_before_the_ui_escape_control_characters(opened, tmp_path, capsys):
    recording = tmp_path / "list.txt"
    # A lone ESC: no terminal sequence that reading would take out.
    recording.write_text("not a request, in a line long enough to be text \x1b\x07\n")

    assert run_view_command(str(recording)) == 2

    error = capsys.readouterr().err
    assert opened == []
    assert "long enough to be text \\x1b\\x07" in error
    assert "\x1b" not in error and "\x07" not in error


def test_a_spec_on_standard_input_is_refused_before_anything_is_read(
    opened, capsys, monkeypatch
):
    import io
    import sys

    stdin = io.TextIOWrapper(io.BytesIO(b"version: 1\n"))
    monkeypatch.setattr(sys, "stdin", stdin)

    assert run_view_command("--spec", "-") == 2

    assert opened == []
    assert capsys.readouterr().err == (
        "segment-inspector view: --spec -: the terminal UI reads its keys from "
        "standard input, so the spec cannot come from there; give the spec's file\n"
    )
    assert stdin.buffer.tell() == 0


@pytest.mark.parametrize("given", [["-"], ["--demo", "-"], ["-", "--spec", "-"]])
def test_a_recording_on_standard_input_is_refused_before_anything_is_read(
    opened, capsys, monkeypatch, given
):
    import io
    import sys

    stdin = io.TextIOWrapper(io.BytesIO(b"https://p1.parsely.com/plogger/?rand=1\n"))
    monkeypatch.setattr(sys, "stdin", stdin)

    assert run_view_command(*given) == 2

    assert opened == []
    assert capsys.readouterr().err == (
        "segment-inspector view: -: the terminal UI reads its keys from standard "
        "input, so a recording cannot come from there; save the input to a file "
        "first and view that file\n"
    )
    assert stdin.buffer.tell() == 0
