"""`segment-inspector check`: formats, output, exit statuses and user errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

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
    assert err == f"segment-inspector: {missing}: no such file\n"
    assert "2 events in 2 requests" in out
    assert f"  ERROR {missing}: no such file" in out
    assert out.rstrip().endswith("; 1 recording problem")


def test_bad_har_entry_is_named(capsys, tmp_path):
    har = tmp_path / "devtools.har"
    har.write_text(json.dumps({"log": {"entries": [{"request": {"method": "GET"}}]}}))

    status, _, err = check(capsys, str(har))

    assert status == 2
    assert f"{har}: entry 1: startedDateTime is missing" in err
    assert "request.url is missing" in err
    assert "Traceback" not in err


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
    assert len(records) == 15
    assert records[0]["id"] == "demo.txt:19"
    assert records[0]["segments"] == {"plan": "basic", "logged_in": True}


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


def test_standard_input(capsys, monkeypatch):
    pasted = Path(case("29")).read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(pasted)))

    status, out, _ = check(capsys, "-")

    assert status == 0
    assert out.startswith("Segment Inspector report: standard input\n")
    assert "page.duplicate-pageview" in out


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
    assert len(result.stdout.splitlines()) == 2
