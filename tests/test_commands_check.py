"""`segment-inspector check`: formats, output, exit statuses and user errors."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
import zlib
from pathlib import Path
from urllib.parse import quote

import pytest

from inspector.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
DEMO = str(FIXTURES / "requests" / "demo.txt")
EXAMPLE_SPEC = str(FIXTURES / "specs" / "example.yaml")
EMAIL = "sam.reader@example.com"


def case(number: str) -> str:
    (path,) = (FIXTURES / "requests").glob(f"{number}-*.txt")
    return str(path)


PIXEL_URL = (
    "https://p1.parsely.com/plogger/?rand=1700000000000&idsite=example.com"
    "&url=https%3A%2F%2Fexample.com%2F&action=pageview"
)


def check(capsys, *arguments: str) -> tuple[int, str, str]:
    status = main(["check", *arguments])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# --------------------------------------------------------------------------------------
# Exit statuses


def test_errors_fail_by_default(capsys):
    status, out, err = check(capsys, DEMO, "--spec", EXAMPLE_SPEC)

    assert status == 1
    assert out.startswith("Segment Inspector report: demo.txt\n")
    assert f"spec: {EXAMPLE_SPEC}" in out
    assert "15 events in 15 requests: 4 errors, 6 warnings, 2 infos" in out
    assert err == ""


def test_fail_on_never_and_thresholds(capsys):
    # Case 10 has infos only, case 14 warnings only.
    assert check(capsys, DEMO, "--fail-on", "never")[0] == 0
    assert check(capsys, case("10"))[0] == 0
    assert check(capsys, case("10"), "--fail-on", "warning")[0] == 0
    assert check(capsys, case("10"), "--fail-on", "info")[0] == 1
    assert check(capsys, case("14"))[0] == 0
    assert check(capsys, case("14"), "--fail-on", "warning")[0] == 1


def test_clean_recording_passes(capsys):
    status, out, _ = check(capsys, case("21"), "--fail-on", "info")

    assert status == 0
    assert out.rstrip().endswith(
        "2 events in 2 requests: 0 errors, 0 warnings, 0 infos"
    )


def test_unreadable_recording_still_reports_the_rest(capsys, tmp_path):
    missing = tmp_path / "missing.har"

    status, out, err = check(capsys, str(missing), case("29"), "--fail-on", "never")

    assert status == 2
    # A file that could not be opened is named by its path as typed.
    assert err == f"segment-inspector: {missing}: no such file\n"
    assert "2 events in 2 requests" in out
    assert f"  ERROR {missing}: no such file" in out
    assert out.rstrip().endswith("; 1 recording problem")


def test_bad_har_entry_is_named(capsys, tmp_path):
    har = tmp_path / "devtools.har"
    har.write_text(json.dumps({"log": {"entries": [{"request": {"method": "GET"}}]}}))

    status, _, err = check(capsys, str(har))

    assert status == 2
    assert "segment-inspector: devtools.har: entry 1: startedDateTime is missing" in err
    assert "request.url is missing" in err
    assert "Traceback" not in err


def test_recording_problems_are_listed_in_line_order_in_every_format(capsys, tmp_path):
    garbage = tmp_path / "garbage.txt"
    garbage.write_bytes(
        b"GET http://[::1\nhttp://example.com:port/\nnope\n"
        + PIXEL_URL.encode()
        + b"\nbad five\n"
    )
    lines = ["line 1", "line 2", "line 3", "line 5"]

    _, out, err = check(capsys, str(garbage), "--fail-on", "never")
    unread = out.split("Could not read\n")[1].split("\n\n")[0].splitlines()
    assert [line.split(": ")[2] for line in err.splitlines()] == lines
    assert [line.split(": ")[1] for line in unread] == lines

    _, out, _ = check(capsys, str(garbage), "--format", "json", "--fail-on", "never")
    errors = json.loads(out)["recording_errors"]
    assert [error["location"] for error in errors] == lines

    _, out, _ = check(capsys, str(garbage), "--format", "junit", "--fail-on", "never")
    root = ElementTree.fromstring(out)
    cases = root.findall("testsuite[@name='recordings']/testcase")
    messages = [case.find("error").get("message") for case in cases]
    assert [message.split(": ")[1] for message in messages] == lines


def test_bad_spec_prints_its_problems_and_no_report(capsys):
    bad_spec = FIXTURES / "specs" / "invalid" / "misspelt_key.yaml"

    status, out, err = check(capsys, DEMO, "--spec", str(bad_spec))

    assert status == 2
    assert out == ""
    assert err.startswith("segment-inspector: the spec cannot be used:\n")
    assert f"{bad_spec}:" in err
    assert "did you mean" in err
    assert "Traceback" not in err


def test_missing_spec_file(capsys, tmp_path):
    status, out, err = check(capsys, DEMO, "--spec", str(tmp_path / "nope.yaml"))

    assert status == 2
    assert out == ""
    assert "spec file not found" in err


def test_missing_geoip_database(capsys, tmp_path):
    status, out, err = check(capsys, DEMO, "--geoip-db", str(tmp_path / "no.mmdb"))

    assert status == 2
    assert out == ""
    assert err.startswith("segment-inspector: --geoip-db: ")


def test_no_recording_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["check"])

    assert exited.value.code == 2
    assert "RECORDING" in capsys.readouterr().err


# --------------------------------------------------------------------------------------
# Formats and output


def test_json_format(capsys):
    status, out, _ = check(capsys, DEMO, "--spec", EXAMPLE_SPEC, "--format", "json")

    document = json.loads(out)
    assert status == 1
    assert document["summary"]["events"] == 15
    assert document["summary"]["worst"] == "error"
    assert document["scenario_coverage"]["subscriber"] == ["demo.txt:22"]


def test_jsonl_format(capsys):
    _, out, _ = check(capsys, DEMO, "--format", "jsonl")

    records = [json.loads(line) for line in out.splitlines()]
    assert [r["type"] for r in records].count("event") == 15
    assert records[0]["id"] == "demo.txt:19"
    assert records[0]["segments"] == {"plan": "basic", "logged_in": True}


def test_a_scenario_needing_geography_says_to_add_a_geoip_database(capsys, tmp_path):
    spec = tmp_path / "geo.yaml"
    spec.write_text("scenarios:\n  - name: from the UK\n    standard: {country: GB}\n")

    recording = tmp_path / "public.txt"
    recording.write_text(
        "# @client=81.2.69.160\n"
        "https://p1.parsely.com/plogger/?rand=1700000000000&idsite=example.com"
        "&url=https%3A%2F%2Fexample.com%2F&action=pageview\n"
    )

    _, text, _ = check(capsys, str(recording), "--spec", str(spec))
    _, as_json, _ = check(capsys, str(recording), "--spec", str(spec), "--format=json")
    # The demo's addresses are documentation ones: a database would not help.
    _, demo, _ = check(capsys, DEMO, "--spec", str(spec), "--format", "json")

    hint = "needs a GeoIP database: add --geoip-db PATH to a MaxMind .mmdb"
    assert f"  from the UK  not seen ({hint})\n" in text
    assert json.loads(as_json)["scenario_notes"] == {"from the UK": hint}
    assert json.loads(demo)["scenario_notes"] == {
        "from the UK": "no pageview has a location: see geography under Standard "
        "segments"
    }


def test_jsonl_ends_with_a_summary_even_without_pixels(capsys, tmp_path):
    pages = tmp_path / "pages.txt"
    pages.write_text("GET https://www.example.com/\n")

    status, out, _ = check(capsys, str(pages), "--format", "jsonl")
    _, with_pixels, _ = check(
        capsys, DEMO, str(pages), "--format", "jsonl", "--fail-on", "never"
    )
    _, as_json, _ = check(capsys, DEMO, str(pages), "--format", "json")

    assert status == 3
    assert [json.loads(line) for line in out.splitlines()] == [
        {
            "type": "summary",
            "events": 0,
            "requests": 1,
            "errors": 0,
            "warnings": 0,
            "infos": 0,
            "worst": None,
            "recording_errors": 0,
            "no_pixel_events": True,
            "sources": [{"source": "pages.txt", "events": 0}],
        }
    ]
    records = [json.loads(line) for line in with_pixels.splitlines()]
    assert [r["type"] for r in records[:-1]] == ["event"] * 15 + ["diagnosis"] * (
        len(records) - 16
    )
    assert records[-1]["type"] == "summary"
    assert records[-1]["sources"] == [
        {"source": "demo.txt", "events": 15},
        {"source": "pages.txt", "events": 0},
    ]
    assert records[-1] == {"type": "summary", **json.loads(as_json)["summary"]}


def test_jsonl_carries_page_diagnoses_and_scenario_coverage_as_live_does(capsys):
    from inspector.addon import diagnosis_record
    from inspector.testing import replay

    _, out, _ = check(capsys, DEMO, "--spec", EXAMPLE_SPEC, "--format", "jsonl")

    records = [json.loads(line) for line in out.splitlines()]
    diagnoses = [r for r in records if r["type"] == "diagnosis"]
    expected = replay(DEMO, spec=EXAMPLE_SPEC).diagnoses
    assert [r["code"] for r in diagnoses] == [d.code for d in expected]
    assert "scenario.not-covered" in [r["code"] for r in diagnoses]
    assert diagnoses == [diagnosis_record(d) for d in expected]


def test_junit_format(capsys):
    status, out, _ = check(capsys, DEMO, "--spec", EXAMPLE_SPEC, "--format", "junit")

    root = ElementTree.fromstring(out.encode("utf-8"))
    assert status == 1
    assert root.tag == "testsuites"
    cases = root.findall(".//testcase")
    assert len(cases) >= 15
    assert root.findall(".//failure")
    assert EMAIL not in out


def test_output_file(capsys, tmp_path):
    target = tmp_path / "report.json"

    status, out, _ = check(capsys, DEMO, "--format", "json", "--output", str(target))

    assert status == 1
    assert out == ""
    assert json.loads(target.read_text(encoding="utf-8"))["summary"]["events"] == 15


def test_output_file_that_cannot_be_written(capsys, tmp_path):
    target = tmp_path / "no-such-dir" / "report.txt"

    status, out, err = check(capsys, DEMO, "--output", str(target))

    assert status == 2
    assert out == ""
    assert err.startswith(f"segment-inspector: --output {target}: cannot write")


@pytest.mark.parametrize("option", ["recording", "spec"])
def test_output_that_names_an_input_is_refused(capsys, tmp_path, monkeypatch, option):
    recording = tmp_path / "session.txt"
    recording.write_bytes(Path(case("29")).read_bytes())
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(Path(EXAMPLE_SPEC).read_bytes())
    before = {path: path.read_bytes() for path in (recording, spec)}
    monkeypatch.chdir(tmp_path)
    # The same file, spelled differently from the way the input names it.
    target = {"recording": "./sub/../session.txt", "spec": "spec.yaml"}[option]
    (tmp_path / "sub").mkdir()

    status, out, err = check(
        capsys, str(recording), "--spec", str(spec), "--output", target
    )

    given = {"recording": recording, "spec": spec}[option]
    assert status == 2
    assert out == ""
    assert err == (
        f"segment-inspector: --output {target} is also an input ({given}); writing "
        "the report there would overwrite it, so nothing was done\n"
    )
    assert {path: path.read_bytes() for path in (recording, spec)} == before


def test_text_is_plain_when_not_a_terminal(capsys):
    _, out, _ = check(capsys, DEMO)

    assert "\x1b[" not in out


def test_personal_data_masked_unless_show_pii(capsys):
    _, masked, _ = check(capsys, DEMO)
    _, shown, _ = check(capsys, DEMO, "--show-pii")
    _, masked_json, _ = check(capsys, DEMO, "--format", "jsonl")

    assert EMAIL not in masked
    assert EMAIL not in masked_json
    assert EMAIL in shown


def test_pixel_host_adds_a_first_party_host(capsys, tmp_path):
    recording = tmp_path / "first-party.txt"
    recording.write_text(
        "https://stats.example.com/plogger/?rand=1718004600120&idsite=example.com"
        "&url=https%3A%2F%2Fwww.example.com%2F&action=pageview&data=%7B%7D"
        "&u=pid%3D2b7e1c90-5d3a-4f6e-8a1b-9c0d1e2f3a4b\n"
    )

    _, without, _ = check(capsys, str(recording))
    _, with_host, _ = check(capsys, str(recording), "--pixel-host", "stats.example.com")

    assert "0 events in 1 request" in without
    assert "1 event in 1 request" in with_host


def test_a_pixel_host_with_a_scheme_or_path_is_a_one_line_error(capsys):
    status, out, err = check(capsys, DEMO, "--pixel-host", "https://x/y")

    assert status == 2
    assert out == ""
    assert err.splitlines() == [
        'segment-inspector: --pixel-host: "https://x/y" is not a host name or a '
        "`*.domain` pattern; write the host name only: 'x'"
    ]


def test_a_spec_site_in_upper_case_still_covers_its_events(capsys, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("sites: [Example.COM]\n")

    _, out, _ = check(capsys, DEMO, "--spec", str(spec))

    assert "spec.site-not-covered" not in out


def test_every_event_of_a_site_the_spec_does_not_cover_says_so(capsys, tmp_path):
    from inspector.report import NOT_COVERED_NOTE

    spec = tmp_path / "spec.yaml"
    spec.write_text("sites: [other.example]\nunknown_keys: allow\n")
    pixel = (
        "https://p1.parsely.com/plogger/?plid=1&idsite=example.com&sid=1"
        "&sts=1700000000000&slts=0&u=pid%3Dabc&url=https%3A%2F%2Fexample.com%2Fq"
        "&action=pageview&data=%7B%22plan%22%3A%22basic%22%7D"
    )
    recording = tmp_path / "other.txt"
    recording.write_text(
        f"{pixel}&pvid=1&rand=1700000000000\n"
        f"{pixel}&pvid=2&rand=1700000005000&title=x%40example.org\n"
        f"{pixel}&pvid=3&rand=1700000009000\n"
    )

    _, text, _ = check(capsys, str(recording), "--spec", str(spec))
    _, document, _ = check(
        capsys, str(recording), "--spec", str(spec), "--format", "json"
    )
    _, lines, _ = check(
        capsys, str(recording), "--spec", str(spec), "--format", "jsonl"
    )

    blocks = [block.splitlines() for block in text.split("\n\n")[1:4]]
    assert [block[3:] for block in blocks] == [
        [
            "    INFO    spec.site-not-covered  the spec covers other.example; "
            "example.com is checked",
            "                                   with the built-in rules only [idsite]",
            f"    ({NOT_COVERED_NOTE})",
        ],
        [
            "    ERROR   pii.email  title contains an e-mail address "
            "(x•••@example.org)",
            f"    ({NOT_COVERED_NOTE})",
        ],
        [f"    ok ({NOT_COVERED_NOTE})"],
    ]
    events = json.loads(document)["events"]
    assert [event["site_covered"] for event in events] == [False] * 3
    records = [json.loads(line) for line in lines.splitlines()]
    assert [r["site_covered"] for r in records if r["type"] == "event"] == [False] * 3

    _, covered, _ = check(capsys, str(recording), "--format", "json")
    assert [e["site_covered"] for e in json.loads(covered)["events"]] == [True] * 3


@pytest.mark.parametrize("fail_on", ["error", "warning", "info"])
def test_a_recording_without_pixels_fails(capsys, tmp_path, fail_on):
    recording = tmp_path / "pages.txt"
    recording.write_text("GET https://www.example.com/\n")

    status, out, _ = check(capsys, str(recording), "--fail-on", fail_on)

    assert status == 3
    assert "ERROR no pixel event in 1 request: nothing was checked\n" in out


def test_no_pixels_has_its_own_status_even_with_findings_from_the_spec(
    capsys, tmp_path
):
    recording = tmp_path / "pages.txt"
    recording.write_text("GET https://www.example.com/\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text("scenarios:\n  - name: anonymous\n")

    status, out, _ = check(
        capsys, str(recording), "--spec", str(spec), "--fail-on", "info"
    )

    # The scenario not seen is an info finding; no pixels still says more.
    assert "INFO scenario.not-covered  Scenario not seen: anonymous\n" in out
    assert status == 3


def test_the_exit_statuses_are_listed_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["check", "--help"])

    help_text = " ".join(capsys.readouterr().out.split())
    assert (
        "exit status: 0 nothing reached --fail-on; 1 a finding did; 2 a bad command "
        "line, spec, output or recording; 3 no pixel event in the recordings (or in "
        "one of them), so nothing (in it) was checked"
    ) in help_text


def test_a_recording_without_pixels_passes_only_with_fail_on_never(capsys, tmp_path):
    recording = tmp_path / "pages.txt"
    recording.write_text("GET https://www.example.com/\n")

    status, _, _ = check(capsys, str(recording), "--fail-on", "never")
    _, as_json, _ = check(capsys, str(recording), "--format", "json")
    _, with_pixels, _ = check(capsys, DEMO, "--format", "json")

    assert status == 0
    assert json.loads(as_json)["summary"]["no_pixel_events"] is True
    assert json.loads(with_pixels)["summary"]["no_pixel_events"] is False


def test_one_recording_without_pixels_among_others_fails_each_format(capsys, tmp_path):
    empty = tmp_path / "day2.txt"
    empty.write_text("GET https://www.example.com/\n")

    clean = case("04")  # a valid pageview: nothing reaches --fail-on
    status, text, _ = check(capsys, clean, str(empty))
    never, _, _ = check(capsys, clean, str(empty), "--fail-on", "never")
    with_errors, _, _ = check(capsys, DEMO, str(empty))
    _, as_json, _ = check(capsys, DEMO, str(empty), "--format", "json")
    _, junit, _ = check(capsys, DEMO, str(empty), "--format", "junit")
    good, _, _ = check(capsys, DEMO, case("01"), "--fail-on", "never")

    # A finding at --fail-on wins over the recording without pixels.
    assert (status, never, with_errors, good) == (3, 0, 1, 0)
    assert text.splitlines()[-2] == (
        "ERROR day2.txt: no pixel event in this recording: nothing in it was checked"
    )
    summary = json.loads(as_json)["summary"]
    assert summary["sources"][1] == {"source": "day2.txt", "events": 0}
    [case_] = [
        c
        for c in ElementTree.fromstring(junit).iter("testcase")
        if c.get("name") == "pixel events found in day2.txt"
    ]
    assert case_.find("failure").get("message") == "no pixel event in day2.txt"


def test_recordings_sharing_a_name_are_told_apart_in_the_title(capsys, tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.txt").write_text(Path(DEMO).read_text())

    _, text, _ = check(
        capsys, str(tmp_path / "a" / "x.txt"), str(tmp_path / "b" / "x.txt")
    )

    assert text.splitlines()[0] == (
        f"Segment Inspector report: {tmp_path / 'a' / 'x.txt'}, "
        f"{tmp_path / 'b' / 'x.txt'}"
    )


def test_junit_fails_a_recording_without_pixels(capsys, tmp_path):
    recording = tmp_path / "pages.txt"
    recording.write_text("GET https://www.example.com/\n")

    _, failing, _ = check(capsys, str(recording), "--format", "junit")
    _, noted, _ = check(
        capsys, str(recording), "--format", "junit", "--fail-on", "never"
    )

    (case,) = ElementTree.fromstring(failing).iter("testcase")
    assert case.get("name") == "pixel events found"
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == "no pixel event in 1 request"
    (case,) = ElementTree.fromstring(noted).iter("testcase")
    assert case.find("failure") is None
    assert "no pixel event in 1 request" in (case.findtext("system-out") or "")


def test_standard_input(capsys, monkeypatch):
    pasted = Path(case("29")).read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(pasted)))

    status, out, _ = check(capsys, "-")

    assert status == 0
    assert out.startswith("Segment Inspector report: <stdin>\n")
    assert "[<stdin>:" in out
    assert "page.duplicate-pageview" in out


def check_through_bash(script: str) -> subprocess.CompletedProcess[str]:
    """Run `check` from bash, for its process substitution (`<(...)`)."""
    command = f"exec {shlex.quote(sys.executable)} -m inspector check {script}"
    return subprocess.run(
        ["bash", "-c", command], cwd=ROOT, capture_output=True, text=True
    )


def fd_label(text: str) -> str:
    """The `/dev/fd/N` the shell gave, as the report names it."""
    (label,) = set(re.findall(r"/dev/fd/\d+", text))
    return label


@pytest.mark.parametrize("output_format", ["text", "json", "junit", "jsonl"])
def test_process_substitution_is_named_by_its_path(output_format):
    result = check_through_bash(
        f"--format {output_format} <(cat {shlex.quote(case('29'))})"
    )

    assert result.returncode == 0, result.stderr
    out = result.stdout
    label = fd_label(out)
    number = label.rsplit("/", 1)[1]
    # Every event names the source the same way; none by the bare number.
    assert f"{label}:" in out
    assert f'"{number}:' not in out and f"[{number}:" not in out
    if output_format == "text":
        assert out.startswith(f"Segment Inspector report: {label}\n")
    elif output_format == "json":
        events = json.loads(out)["events"]
        assert {event["origin"].rsplit(" line ", 1)[0] for event in events} == {label}
    elif output_format == "jsonl":
        events = [json.loads(line) for line in out.splitlines()]
        assert {e["id"].rsplit(":", 1)[0] for e in events if e["type"] == "event"} == {
            label
        }
    else:
        cases = ElementTree.fromstring(out).iter("testcase")
        assert {case.get("file") for case in cases} == {label}


def test_process_substitution_is_named_by_its_path_in_errors():
    result = check_through_bash("<(printf '{\"log\": ')")

    assert result.returncode == 2
    label = fd_label(result.stderr)
    assert result.stderr == (
        f"segment-inspector: {label}: line 1 column 9: not valid JSON: "
        "expecting value\n"
    )
    assert result.stdout.startswith(f"Segment Inspector report: {label}\n")
    assert f"ERROR {label}: line 1" in result.stdout


def test_standard_input_with_a_junk_line_reads_every_url(capsys, monkeypatch):
    url = Path(case("21")).read_text().splitlines()[-1].removeprefix("GET ")
    pasted = f"{url}\nsome junk line\n{url}\n{url.removeprefix('https:')}\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(pasted.encode())))

    status, out, err = check(capsys, "-", "--fail-on", "never")

    assert status == 2
    assert "3 events in 3 requests" in out
    assert err == (
        "segment-inspector: <stdin>: line 2: expected a URL, a request line or a "
        "header `Name: value`, found `some junk line`; line skipped\n"
    )


@pytest.mark.parametrize("name", ["empty.har", "empty.mitm", "empty.txt", "-"])
def test_empty_input_fails(capsys, tmp_path, monkeypatch, name):
    path = tmp_path / name
    path.write_bytes(b"\n")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    given = "-" if name == "-" else str(path)
    shown = "<stdin>" if name == "-" else name

    status, out, err = check(capsys, given)

    assert status == 2
    expected = "standard input is empty" if name == "-" else "the file is empty"
    assert err == f"segment-inspector: {shown}: {expected}\n"
    assert out.rstrip().endswith("; 1 recording problem")


def test_recording_without_pixels_fails_with_a_notice(capsys, tmp_path):
    recording = tmp_path / "site.txt"
    recording.write_text("https://www.example.com/\n")

    status, out, err = check(capsys, str(recording), "--fail-on", "info")

    assert status == 3
    assert err == ""
    assert "No Parse.ly pixel events found" in out


def test_json_that_is_not_har_fails_naming_the_file(capsys, tmp_path):
    recording = tmp_path / "export.json"
    recording.write_text('{"foo": [1, 2, 3]}')

    status, _, err = check(capsys, str(recording))

    assert status == 2
    assert err == (
        "segment-inspector: export.json: not a HAR file: it has no log.entries list\n"
    )


def test_truncated_har_reports_what_it_could_read(capsys, tmp_path):
    from inspector.recordings import load_requests, write_har

    requests, _ = load_requests([case("29")])
    whole = tmp_path / "whole.har"
    write_har(requests, whole)
    cut = tmp_path / "cut.har"
    cut.write_bytes(whole.read_bytes()[:-200])

    status, out, err = check(capsys, str(cut), "--fail-on", "never")

    assert len(requests) == 2
    assert status == 2
    assert "1 event in 1 request" in out
    assert err == (
        f"segment-inspector: cut.har: entry 2 (byte {cut.stat().st_size}): the file "
        "ends in the middle of this entry; the entry before it was read\n"
    )


# --------------------------------------------------------------------------------------
# As a separate process


def test_command_line_process_without_textual():
    code = (
        "import sys\n"
        "from inspector.cli import main\n"
        f"status = main(['check', {DEMO!r}, '--format', 'json'])\n"
        "assert 'textual' not in sys.modules, 'check imported textual'\n"
        "sys.exit(status)\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True
    )

    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["summary"]["events"] == 15


def test_python_dash_m():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "inspector",
            "check",
            case("29"),
            "--format",
            "jsonl",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["type"], r.get("code")) for r in records] == [
        ("event", None),
        ("event", None),
        ("diagnosis", "page.duplicate-pageview"),
        ("summary", None),
    ]


@pytest.mark.parametrize("format_", ["text", "json", "jsonl", "junit"])
def test_an_ascii_only_output_gets_a_valid_report(format_, tmp_path):
    data = quote('{"mood":"caf\u00e9 \U0001f600","cut":"x\\ud83d"}', safe="")
    recording = tmp_path / "unicode.txt"
    recording.write_text(
        "https://p1.parsely.com/plogger/?rand=1700000000000&idsite=example.com"
        "&url=https%3A%2F%2Fexample.com%2F&action=pageview&title=It%E2%80%99s"
        f"&data={data}\n",
        encoding="utf-8",
    )

    result = subprocess.run(
        [sys.executable, "-m", "inspector", "check", str(recording)]
        + ["--format", format_, "--fail-on", "never"],
        cwd=ROOT,
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "ascii"},
    )

    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode("ascii")
    if format_ == "json":
        (event,) = json.loads(out)["events"]
        assert event["segments"] == {"mood": "caf\u00e9 \U0001f600", "cut": "x\ufffd"}
    elif format_ == "jsonl":
        event, summary = [json.loads(line) for line in out.splitlines()]
        assert event["segments"]["mood"] == "caf\u00e9 \U0001f600"
        assert summary["sources"] == [{"source": "unicode.txt", "events": 1}]
    elif format_ == "junit":
        assert ElementTree.fromstring(out).tag == "testsuites"
    else:
        assert 'mood="caf\\xe9 \\U0001f600"' in out


def test_a_device_is_named_by_its_path(capsys):
    status, out, err = check(capsys, "/dev/null")

    assert status == 2
    assert out.splitlines()[0] == "Segment Inspector report: /dev/null"
    assert err == "segment-inspector: /dev/null: the file is empty\n"


def test_unreadable_parts_exit_2_with_file_and_place_and_the_rest_reported(
    capsys, tmp_path
):
    from inspector.recordings import load_requests, write_mitm

    pasted = tmp_path / "pasted.txt"
    pasted.write_text(
        "GET http://[::1\n---\n"
        "https://p1.parsely.com/plogger/?rand=1700000000000&idsite=example.com"
        "&action=pageview&url=https%3A%2F%2Fexample.com%2F&data=%7B%7D\n"
    )
    flows = tmp_path / "flows.mitm"
    write_mitm(load_requests([pasted])[0], flows)
    not_a_flow = b"29:7:version,2:20#4:type,4:http,}"
    flows.write_bytes(not_a_flow + flows.read_bytes())

    status, out, err = check(capsys, str(pasted), str(flows))

    assert status == 2
    assert "Traceback" not in err
    assert "pasted.txt: line 1: `http://[::1` is not a valid URL" in out
    assert (
        "flows.mitm: flow 1 (byte 0): not a mitmproxy flow (the `client_conn` field "
        "is missing); skipped"
    ) in out
    assert "2 events in 2 requests" in out


# --------------------------------------------------------------------------------------
# Control characters from the user's files never reach the terminal raw


HOSTILE_LINE = (
    "hello \x1b[31mRED\x1b]0;ti\x00tle\x07 \x00 in a line long enough for text"
)
"""The colour is a whole sequence, taken out on reading; the title, with a NUL in
it, is none, and stays in the line the message quotes."""


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("list.txt", HOSTILE_LINE + "\n"),
        (
            "entry.har",
            json.dumps(
                {
                    "log": {
                        "entries": [
                            {
                                "startedDateTime": "2024-01-01T00:00:00Z",
                                "request": {
                                    "method": "GET",
                                    "url": "http://[::1\x1b]2;x\x07",
                                    "headers": [],
                                },
                                "response": {"status": 200, "headers": []},
                            }
                        ]
                    }
                }
            ),
        ),
    ],
)
def test_error_messages_escape_control_characters(capsys, tmp_path, name, content):
    recording = tmp_path / name
    recording.write_text(content)

    status, _, err = check(capsys, str(recording))

    assert status == 2
    assert err.startswith("segment-inspector: ") and f"{name}: " in err
    assert not any(ord(c) < 0x20 and c != "\n" for c in err), repr(err)
    assert "\\x1b]" in err and "\\x07" in err


def test_a_har_with_a_byte_that_is_not_utf8_checks_the_entries_before_it(
    capsys, tmp_path
):
    data = (FIXTURES / "recordings" / "demo.har").read_bytes()
    at = len(data) - 2000
    damaged = tmp_path / "oneff.har"
    damaged.write_bytes(data[:at] + b"\xff" + data[at + 1 :])
    entry = data.count(b'"startedDateTime"', 0, at)
    line = data.count(b"\n", 0, at) + 1
    column = at - data.rfind(b"\n", 0, at)

    status, out, err = check(capsys, str(damaged), "--fail-on", "never")

    # As for a HAR broken at that place, the entries before it are checked.
    assert status == 2
    assert f"{entry - 1} events in {entry - 1} requests" in out
    assert err.splitlines() == [
        f"segment-inspector: oneff.har: entry {entry} (line {line}): not UTF-8 "
        f"text: byte 0xFF at column {column} was read as U+FFFD (kept as "
        "`%FF` in a URL); save the HAR as UTF-8 to keep the characters",
        f"segment-inspector: oneff.har: entry {entry} (line {line} column {column}): "
        "the HAR stops being valid JSON here (expecting property name enclosed in "
        f"double quotes); the {entry - 1} entries before it were read",
    ]


def test_a_zhar_beyond_the_limit_exits_2_naming_it_and_reports_what_was_read(
    capsys, tmp_path, monkeypatch
):
    from inspector import recordings

    pasted = Path(case("29"))
    requests, _ = recordings.load_requests([pasted])
    zhar = tmp_path / "day.zhar"
    recordings.write_har(requests, zhar)
    inflated = zlib.decompress(zhar.read_bytes())
    # The first entry fits under the limit, the second does not.
    entries = [m.end() for m in re.finditer(rb"\n      }", inflated)]
    monkeypatch.setattr(recordings, "INFLATED_LIMIT_BYTES", entries[0] + 10)

    status, out, err = check(capsys, str(zhar), "--fail-on", "never")

    assert status == 2
    assert "1 event in 1 request" in out
    assert err.splitlines()[-1] == (
        "segment-inspector: day.zhar: reading stopped after the first "
        f"{entries[0] + 10} bytes of the HAR it holds: a .zhar file is "
        "decompressed up to that much; decompress it to a .har file to read all "
        "of it; the entry before the cut was read"
    )


def test_the_readme_command_decompresses_a_zhar(tmp_path):
    from inspector.recordings import load_requests, write_har

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (command,) = re.findall(r"^python3 -c .* < day\.zhar > day\.har$", readme, re.M)
    requests, _ = load_requests([case("29")])
    write_har(requests, tmp_path / "day.zhar")

    subprocess.run(["bash", "-c", command], cwd=tmp_path, check=True)

    read_back, errors = load_requests([tmp_path / "day.har"])
    assert errors == []
    assert [r.url for r in read_back] == [r.url for r in requests]


def test_a_json_list_of_urls_from_standard_input_is_checked(capsys, monkeypatch):
    urls = [
        line.removeprefix("GET ")
        for line in Path(case("29")).read_text().splitlines()
        if line.startswith("GET ")
    ]
    pasted = json.dumps(urls).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(pasted)))

    status, out, err = check(capsys, "-", "--format", "json", "--fail-on", "never")

    assert (status, err) == (0, "")
    report = json.loads(out)
    assert report["summary"]["events"] == len(urls) > 1
    assert [event["id"] for event in report["events"]] == [
        f"<stdin>:1.{n}" for n in range(1, len(urls) + 1)
    ]
    assert "page.duplicate-pageview" in out


def test_the_spec_can_come_from_standard_input(capsys, monkeypatch):
    spec = Path(EXAMPLE_SPEC).read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(spec)))

    from_stdin = check(capsys, DEMO, "--spec", "-")
    from_file = check(capsys, DEMO, "--spec", EXAMPLE_SPEC)

    assert from_stdin[0] == from_file[0] == 1
    assert "spec: <stdin>" in from_stdin[1]
    assert (
        from_stdin[1].replace("spec: <stdin>", f"spec: {EXAMPLE_SPEC}")
        == (from_file[1])
    )


def test_a_bad_spec_on_standard_input_is_named_stdin(capsys, monkeypatch):
    stdin = io.TextIOWrapper(io.BytesIO(b"version: 1\nsegmnets: {}\n"))
    monkeypatch.setattr(sys, "stdin", stdin)

    status, out, err = check(capsys, DEMO, "--spec", "-")

    assert (status, out) == (2, "")
    assert err.startswith("segment-inspector: the spec cannot be used:\n<stdin>:2:1:")


def test_spec_and_recording_cannot_both_be_standard_input(capsys, monkeypatch):
    stdin = io.TextIOWrapper(io.BytesIO(Path(EXAMPLE_SPEC).read_bytes()))
    monkeypatch.setattr(sys, "stdin", stdin)

    status, out, err = check(capsys, "-", "--spec", "-")

    assert (status, out) == (2, "")
    assert err == (
        "segment-inspector: --spec - and the recording - both name standard input, "
        "which can be read only once; give one of them as a file\n"
    )
    assert stdin.buffer.tell() == 0
