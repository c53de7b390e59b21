"""The mitmproxy addon, run inside mitmproxy's test context one flow at a time."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mitmproxy import exceptions

from inspector import addon as addon_module
from inspector.addon import (
    OPTION_NAMES,
    TRANSPARENT_GIF,
    SegmentInspector,
    captured_from_flow,
    diagnosis_record,
    diagnosis_summary,
    report_record,
    summary_line,
)
from inspector.inspection import DiagnosisNotice, EventReport, Inspection
from inspector.model import CapturedRequest
from inspector.spec import load_spec, parse_spec

ROOT = Path(__file__).resolve().parent.parent
SCRIPT_ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
"""mitmdump imports `inspector` from this checkout, whatever else is installed."""

SPEC_TEXT = """\
version: 1
sites: [example.com]
segments:
  plan:
    type: string
    values: [basic, premium]
"""


@pytest.fixture
def spec_file(tmp_path):
    path = tmp_path / "segments.yaml"
    path.write_text(SPEC_TEXT, encoding="utf-8")
    return path


class Collected:
    """Sinks that keep what the addon delivers."""

    def __init__(self) -> None:
        self.reports: list[EventReport] = []
        self.requests: list[CapturedRequest] = []
        self.notices: list[DiagnosisNotice] = []

    def on_reports(self, reports: list[EventReport]) -> None:
        self.reports.extend(reports)

    def on_request(self, request: CapturedRequest) -> None:
        self.requests.append(request)

    def on_diagnoses(self, notices: list[DiagnosisNotice]) -> None:
        self.notices.extend(notices)


@pytest.fixture
def collected():
    return Collected()


@pytest.fixture
def inspector_addon(collected, spec_file):
    inspection = Inspection(load_spec(spec_file))
    return SegmentInspector(
        inspection, on_reports=collected.on_reports, on_request=collected.on_request
    )


def codes(report: EventReport) -> set[str]:
    return {finding.code for finding in report.findings}


def duplicate_pageviews(flow_factory, pixel_url_factory):
    """Two pageviews of one page load, 20 ms apart: a duplicate pageview."""
    first = flow_factory(pixel_url_factory(data={"plan": "basic"}))
    second = flow_factory(pixel_url_factory(data={"plan": "basic"}, rand="2"))
    second.request.timestamp_start = first.request.timestamp_start + 0.02
    return [first, second]


# ------------------------------------------------------------------ judging pixels


async def test_a_pixel_is_judged_once_its_flow_completes(
    addon_harness, inspector_addon, collected, flow_factory, pixel_url_factory
):
    harness = addon_harness(inspector_addon)
    flow = flow_factory(pixel_url_factory(data={"plan": "gold"}), status=200)

    await harness.cycle(flow)

    [report] = collected.reports
    assert report.event.action == "pageview"
    assert dict(report.event.segments) == {"plan": "gold"}
    assert report.event.request.request_id == flow.id
    assert report.event.request.response_status == 200
    assert "segment.value-not-allowed" in codes(report)
    assert [request.request_id for request in collected.requests] == [flow.id]


async def test_a_pixel_is_not_judged_before_its_response(
    addon_harness, inspector_addon, collected, flow_factory, pixel_url_factory
):
    harness = addon_harness(inspector_addon)
    flow = flow_factory(pixel_url_factory(data={"plan": "basic"}), status=None)

    await harness.cycle(flow)

    assert collected.reports == []
    assert inspector_addon.inspection.requests_seen == 0


async def test_a_pixel_that_errored_is_judged_once(
    addon_harness, inspector_addon, collected, flow_factory, pixel_url_factory
):
    harness = addon_harness(inspector_addon)
    refused = flow_factory(
        pixel_url_factory(data={"plan": "basic"}),
        status=None,
        error="connection refused",
    )
    cut_short = flow_factory(
        pixel_url_factory(data={"plan": "premium"}), status=200, error="reset"
    )

    await harness.cycle(refused)
    await harness.cycle(cut_short)

    assert [r.event.request.request_id for r in collected.reports] == [
        refused.id,
        cut_short.id,
    ]
    assert collected.reports[0].event.request.response_status is None
    assert inspector_addon.inspection.requests_seen == 2


async def test_a_recorded_flow_without_a_response_is_judged_too(
    addon_harness, inspector_addon, collected, flow_factory, pixel_url_factory
):
    harness = addon_harness(inspector_addon)
    flow = flow_factory(pixel_url_factory(data={"plan": "basic"}), status=None)
    flow.live = False

    await harness.cycle(flow)

    [report] = collected.reports
    assert report.event.request.response_status is None


async def test_other_requests_feed_page_tracking_and_stay_untouched(
    addon_harness, inspector_addon, collected, flow_factory
):
    harness = addon_harness(inspector_addon)
    flow = flow_factory(
        "http://example.com/news/today",
        headers={"Accept": "text/html"},
        response_body=b"<html>page</html>",
        response_headers={"Content-Type": "text/html"},
    )
    before = flow.get_state()

    await harness.cycle(flow)

    assert flow.get_state() == before
    assert collected.reports == []
    [request] = collected.requests
    assert request.url == "http://example.com/news/today"
    assert request.content_type == "text/html"
    assert request.body == b""
    assert inspector_addon.inspection.requests_seen == 1


async def test_requests_are_judged_in_the_order_they_completed(
    addon_harness, inspector_addon, collected, flow_factory, pixel_url_factory
):
    harness = addon_harness(inspector_addon)
    page = flow_factory("http://example.com/news/today")
    pixel = flow_factory(pixel_url_factory(data={"plan": "basic"}))

    await harness.context.cycle(inspector_addon, page)
    await harness.context.cycle(inspector_addon, pixel)
    inspector_addon.flush()

    assert [r.request_id for r in collected.requests] == [page.id, pixel.id]


# ------------------------------------------------------------------ answering pixels


async def test_answer_pixels_replies_with_a_gif_without_forwarding(
    addon_harness, inspector_addon, collected, flow_factory, pixel_url_factory
):
    harness = addon_harness(inspector_addon)
    harness.configure(inspector_answer_pixels=True)
    flow = flow_factory(pixel_url_factory(data={"plan": "basic"}), status=None)

    await harness.cycle(flow)

    assert flow.response is not None
    assert flow.response.status_code == 200
    assert flow.response.headers["Content-Type"] == "image/gif"
    assert "no-cache" in flow.response.headers["Cache-Control"]
    assert flow.response.content == TRANSPARENT_GIF
    assert TRANSPARENT_GIF.startswith(b"GIF89a")
    [report] = collected.reports
    assert report.event.request.response_status == 200
    assert "segment.value-not-allowed" not in codes(report)


async def test_answer_pixels_leaves_other_requests_alone(
    addon_harness, inspector_addon, flow_factory
):
    harness = addon_harness(inspector_addon)
    harness.configure(inspector_answer_pixels=True)
    flow = flow_factory("http://example.com/plogger/?rand=1", status=None)

    await harness.cycle(flow)

    assert flow.response is None


async def test_pixels_are_forwarded_by_default(
    addon_harness, inspector_addon, flow_factory, pixel_url_factory
):
    harness = addon_harness(inspector_addon)
    flow = flow_factory(pixel_url_factory(data={"plan": "basic"}), status=None)

    await harness.context.cycle(inspector_addon, flow)

    assert flow.response is None


# ------------------------------------------------------------------ failures


async def test_a_malformed_pixel_is_a_finding(
    addon_harness, inspector_addon, collected, flow_factory, pixel_url_factory
):
    harness = addon_harness(inspector_addon)
    flow = flow_factory(pixel_url_factory(data='{"plan": "basic"'))

    await harness.cycle(flow)

    [report] = collected.reports
    assert "data.not-json" in codes(report)


async def test_a_crash_while_judging_becomes_decode_failed(
    addon_harness, inspector_addon, collected, flow_factory, pixel_url_factory
):
    harness = addon_harness(inspector_addon)
    inspection = inspector_addon.inspection

    def broken_process(request):
        raise RuntimeError("checker bug")

    inspection.process = broken_process
    flow = flow_factory(pixel_url_factory(data={"plan": "basic"}))

    await harness.cycle(flow)

    [report] = collected.reports
    [finding] = report.findings
    assert finding.code == "decode.failed"
    assert str(finding.severity) == "error"
    assert "checker bug" in finding.explanation
    assert report.event.request.request_id == flow.id
    assert inspection.finding_counts["decode.failed"] == 1
    assert list(inspection.reports) == [report]


async def test_a_crash_on_an_ordinary_request_is_only_logged(
    addon_harness, inspector_addon, collected, flow_factory, caplog
):
    harness = addon_harness(inspector_addon)

    def broken_process(request):
        raise RuntimeError("page tracker bug")

    inspector_addon.inspection.process = broken_process
    flow = flow_factory("http://example.com/")

    with caplog.at_level(logging.WARNING, logger="inspector.addon"):
        await harness.cycle(flow)

    assert collected.reports == []
    assert "page tracker bug" in caplog.text


async def test_a_failing_sink_does_not_break_the_addon(
    addon_harness, spec_file, flow_factory, pixel_url_factory, caplog
):
    def failing_sink(reports):
        raise ValueError("sink bug")

    addon = SegmentInspector(Inspection(load_spec(spec_file)), on_reports=failing_sink)
    harness = addon_harness(addon)

    with caplog.at_level(logging.ERROR, logger="inspector.addon"):
        await harness.cycle(flow_factory(pixel_url_factory(data={"plan": "basic"})))

    assert "report callback failed" in caplog.text
    assert addon.inspection.requests_seen == 1


# ------------------------------------------------------------------ options


async def test_a_bad_spec_option_is_an_options_error(addon_harness, tmp_path):
    bad_spec = tmp_path / "bad.yaml"
    bad_spec.write_text("version: 1\nsegments:\n  plan:\n    type: strin\n")
    harness = addon_harness(SegmentInspector())

    with pytest.raises(exceptions.OptionsError) as raised:
        harness.configure(inspector_spec=str(bad_spec))

    assert "bad.yaml:4" in str(raised.value)


async def test_a_pixel_host_with_a_scheme_is_an_options_error(addon_harness):
    harness = addon_harness(SegmentInspector())

    with pytest.raises(exceptions.OptionsError) as raised:
        harness.configure(inspector_hosts=["https://x/y"])

    assert str(raised.value) == (
        'inspector_hosts: "https://x/y" is not a host name or a `*.domain` pattern; '
        "write the host name only: 'x'"
    )


async def test_a_missing_spec_file_is_an_options_error(addon_harness, tmp_path):
    harness = addon_harness(SegmentInspector())

    with pytest.raises(exceptions.OptionsError, match="not found"):
        harness.configure(inspector_spec=str(tmp_path / "missing.yaml"))


async def test_a_missing_geoip_database_is_an_options_error(addon_harness, tmp_path):
    harness = addon_harness(SegmentInspector())

    with pytest.raises(exceptions.OptionsError, match="GeoIP database not found"):
        harness.configure(inspector_geoip_db=str(tmp_path / "missing.mmdb"))


async def test_the_spec_option_drives_the_checks(
    addon_harness, spec_file, collected, flow_factory, pixel_url_factory
):
    addon = SegmentInspector(on_reports=collected.on_reports)
    harness = addon_harness(addon)
    harness.configure(inspector_spec=str(spec_file))

    await harness.cycle(flow_factory(pixel_url_factory(data={"plan": "gold"})))

    [report] = collected.reports
    assert "segment.value-not-allowed" in codes(report)
    assert addon.inspection.spec.source == str(spec_file)


async def test_extra_hosts_are_pixel_hosts(
    addon_harness, collected, flow_factory, pixel_url_factory
):
    addon = SegmentInspector(on_reports=collected.on_reports)
    harness = addon_harness(addon)
    harness.configure(inspector_hosts=["fpa-events.example.com"])
    url = pixel_url_factory(host="fpa-events.example.com", data={"plan": "basic"})

    await harness.cycle(flow_factory(url))

    [report] = collected.reports
    assert report.event.request.host == "fpa-events.example.com"


async def test_an_injected_inspection_ignores_the_spec_option(
    addon_harness, inspector_addon, tmp_path
):
    inspection = inspector_addon.inspection
    harness = addon_harness(inspector_addon)

    harness.configure(inspector_spec=str(tmp_path / "missing.yaml"))

    assert inspector_addon.inspection is inspection


# ------------------------------------------------------------------ outputs


async def test_jsonl_gets_one_line_per_event_flushed_at_once(
    addon_harness, inspector_addon, flow_factory, pixel_url_factory, tmp_path
):
    output = tmp_path / "events.jsonl"
    harness = addon_harness(inspector_addon)
    harness.configure(inspector_jsonl=str(output))
    first = flow_factory(pixel_url_factory(data={"plan": "basic"}))
    second = flow_factory(pixel_url_factory(action="heartbeat", data={"plan": "x"}))

    await harness.cycle(first)
    lines_after_first = output.read_text().splitlines()
    await harness.cycle(second)

    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert len(lines_after_first) == 1
    assert [line["id"] for line in lines] == [first.id, second.id]
    assert lines[0]["action"] == "pageview"
    assert lines[0]["segments"] == {"plan": "basic"}
    assert lines[0]["status"] == 200
    assert "segment.value-not-allowed" in {f["code"] for f in lines[1]["findings"]}
    assert lines[1]["worst"] in {"warning", "error"}


async def test_jsonl_lines_are_written_as_check_writes_them(
    addon_harness, inspector_addon, flow_factory, pixel_url_factory, tmp_path
):
    from inspector.report import jsonl_line

    output = tmp_path / "events.jsonl"
    harness = addon_harness(inspector_addon)
    harness.configure(inspector_jsonl=str(output))

    await harness.cycle(flow_factory(pixel_url_factory(data={"plan": "bäsic"})))

    [line] = output.read_text(encoding="utf-8").splitlines(keepends=True)
    assert line == jsonl_line(json.loads(line))
    assert '"segments":{"plan":"bäsic"}' in line


async def test_jsonl_masks_personal_data_unless_asked(
    addon_harness, spec_file, flow_factory, pixel_url_factory, tmp_path
):
    url = pixel_url_factory(data={"plan": "basic", "email": "jane.doe@example.org"})

    masked_file = tmp_path / "masked.jsonl"
    addon = SegmentInspector(Inspection(load_spec(spec_file)))
    harness = addon_harness(addon)
    harness.configure(inspector_jsonl=str(masked_file))
    await harness.cycle(flow_factory(url))
    harness.done()

    shown_file = tmp_path / "shown.jsonl"
    addon = SegmentInspector(Inspection(load_spec(spec_file)))
    harness = addon_harness(addon)
    harness.configure(inspector_jsonl=str(shown_file), inspector_show_pii=True)
    await harness.cycle(flow_factory(url))
    harness.done()

    masked = json.loads(masked_file.read_text().splitlines()[0])
    shown = json.loads(shown_file.read_text().splitlines()[0])
    assert "pii.email" in {finding["code"] for finding in masked["findings"]}
    assert "jane.doe@example.org" not in masked_file.read_text()
    assert masked["segments"]["plan"] == "basic"
    assert shown["segments"]["email"] == "jane.doe@example.org"


async def test_jsonl_masks_names_and_keys_that_are_personal_data(
    addon_harness, spec_file, flow_factory, pixel_url_factory, tmp_path
):
    url = pixel_url_factory(
        data={"carol.jones@example.org": "yes"}, **{"ivan.lee@example.org": "1"}
    )
    output = tmp_path / "events.jsonl"
    addon = SegmentInspector(Inspection(load_spec(spec_file)))
    harness = addon_harness(addon)
    harness.configure(inspector_jsonl=str(output))
    await harness.cycle(flow_factory(url))
    harness.done()

    record, summary = map(json.loads, output.read_text().splitlines())
    assert summary["type"] == "summary"
    pii = [
        (f["path"], f["message"])
        for f in record["findings"]
        if f["code"] == "pii.email"
    ]
    assert pii == [
        ("data", "a key of data contains an e-mail address (c•••@example.org)"),
        ("«email»", "a parameter name contains an e-mail address (i•••@example.org)"),
    ]
    assert "ivan" not in output.read_text() and "carol" not in output.read_text()


async def test_jsonl_carries_the_standard_segments(
    addon_harness, inspector_addon, flow_factory, pixel_url_factory, tmp_path
):
    output = tmp_path / "events.jsonl"
    harness = addon_harness(inspector_addon)
    harness.configure(inspector_jsonl=str(output))
    page = "https://example.com/news/today?utm_source=newsletter&utm_medium=email"

    await harness.cycle(flow_factory(pixel_url_factory(page=page, data={})))

    record = json.loads(output.read_text())
    assert record["standard"]["campaign"]["source"] == "newsletter"
    assert record["standard"]["campaign"]["medium"] == "email"
    assert "findings" not in record["standard"]


def test_summary_lines_mask_personal_data(spec_file, pixel_url_factory):
    inspection = Inspection(load_spec(spec_file))
    url = pixel_url_factory(
        page="https://example.com/account?who=jane.doe@example.org",
        data={"plan": "basic", "contact": "jane.doe@example.org"},
    )
    [report] = inspection.process(CapturedRequest(method="GET", url=url))

    masked = summary_line(report)
    shown = summary_line(report, show_pii=True)

    assert "jane.doe@example.org" not in masked
    assert "jane.doe@example.org" in shown


async def test_an_unwritable_jsonl_path_is_an_options_error(
    addon_harness, inspector_addon, tmp_path
):
    harness = addon_harness(inspector_addon)

    with pytest.raises(exceptions.OptionsError, match="cannot write"):
        harness.configure(inspector_jsonl=str(tmp_path / "no-such-dir" / "x.jsonl"))


async def test_without_a_sink_each_pixel_is_logged_in_one_line(
    addon_harness, spec_file, flow_factory, pixel_url_factory, caplog
):
    addon = SegmentInspector(Inspection(load_spec(spec_file)))
    harness = addon_harness(addon)

    with caplog.at_level(logging.INFO, logger="inspector.addon"):
        await harness.cycle(flow_factory(pixel_url_factory(data={"plan": "gold"})))

    [record] = [r for r in caplog.records if r.name == "inspector.addon"]
    assert record.levelno == logging.INFO
    message = record.getMessage()
    assert "\n" not in message
    assert "pageview" in message
    assert 'plan="gold"' in message
    assert "segment.value-not-allowed" in message


# ------------------------------------------------------------------ conversion


def test_captured_from_flow_keeps_what_the_checks_need(flow_factory):
    body = json.dumps({"events": [{"action": "pageview"}]}).encode()
    flow = flow_factory(
        "https://p1.parsely.com/mobileproxy",
        method="POST",
        body=gzip.compress(body),
        headers={"Content-Encoding": "gzip", "User-Agent": "ExampleApp/1.0"},
        response_headers={"Content-Type": "text/plain"},
        client_address="192.0.2.10",
    )

    captured = captured_from_flow(flow, origin="session.mitm")

    assert captured.method == "POST"
    assert captured.url == "https://p1.parsely.com/mobileproxy"
    assert captured.body == body
    assert captured.header("user-agent") == "ExampleApp/1.0"
    assert captured.client_address == "192.0.2.10"
    assert captured.timestamp == flow.request.timestamp_start
    assert captured.request_id == flow.id
    assert captured.origin == "session.mitm"
    assert captured.response_status == 200
    assert captured.content_type == "text/plain"


def test_captured_from_flow_without_a_response(flow_factory):
    flow = flow_factory("http://example.com/", status=None)

    captured = captured_from_flow(flow)

    assert captured.response_status is None
    assert captured.content_type is None


def test_records_and_summaries_describe_the_event(spec_file, pixel_url_factory):
    inspection = Inspection(load_spec(spec_file))
    url = pixel_url_factory(data={"plan": "gold"})
    [report] = inspection.process(
        CapturedRequest(method="GET", url=url, timestamp=1_700_000_000.0)
    )

    record = report_record(report)
    line = summary_line(report)

    assert record["idsite"] == "example.com"
    assert record["url"] == "https://example.com/news/today"
    assert record["time"] == "2023-11-14T22:13:20.000Z"
    assert json.loads(json.dumps(record)) == record
    assert "example.com" in line
    assert "pageview" in line
    assert "segment.value-not-allowed" in line


# ------------------------------------------------------------------ under mitmdump


@pytest.mark.parametrize("suffix", [".mitm", ".har"])
def test_mitmdump_replays_a_recording_through_the_script(
    spec_file, pixel_url_factory, tmp_path, suffix
):
    from inspector.recordings import write_har, write_mitm

    recording = tmp_path / f"session{suffix}"
    requests = [
        CapturedRequest(method="GET", url="http://example.com/news/today"),
        CapturedRequest(method="GET", url=pixel_url_factory(data={"plan": "gold"})),
        CapturedRequest(
            method="GET",
            url=pixel_url_factory(action="heartbeat", data={"plan": "basic"}, inc="5"),
        ),
    ]
    (write_mitm if suffix == ".mitm" else write_har)(requests, recording)
    output = tmp_path / "events.jsonl"

    result = subprocess.run(
        [
            shutil.which("mitmdump") or "mitmdump",
            "-n",
            "-r",
            str(recording),
            "-s",
            str(ROOT / "addons" / "segment_inspector.py"),
            "--set",
            f"inspector_spec={spec_file}",
            "--set",
            f"inspector_jsonl={output}",
            "--set",
            f"confdir={tmp_path / 'confdir'}",
        ],
        env=SCRIPT_ENV,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    event_lines = [line for line in result.stdout.splitlines() if "example.com" in line]
    assert any(
        "pageview" in line and "value-not-allowed" in line for line in event_lines
    )
    assert any("heartbeat" in line for line in event_lines)
    *records, summary = [json.loads(line) for line in output.read_text().splitlines()]
    assert [record["action"] for record in records] == ["pageview", "heartbeat"]
    assert records[0]["segments"] == {"plan": "gold"}
    # mitmdump ends the file with the totals, as `check --format jsonl` does.
    assert summary["type"] == "summary"
    assert (summary["events"], summary["requests"]) == (2, 3)


# ------------------------------------------------------------------ page-level faults


async def test_without_a_sink_a_page_fault_is_logged_as_a_warning_with_its_fix(
    addon_harness, spec_file, flow_factory, pixel_url_factory, caplog
):
    addon = SegmentInspector(Inspection(load_spec(spec_file)))
    harness = addon_harness(addon)
    flows = duplicate_pageviews(flow_factory, pixel_url_factory)

    with caplog.at_level(logging.INFO, logger="inspector.addon"):
        for flow in flows:
            await harness.cycle(flow)
        addon.announce_diagnoses()

    [record] = [r for r in caplog.records if "page.duplicate-pageview" in r.message]
    assert record.levelno == logging.WARNING
    headline, fix = record.getMessage().split("\n")
    assert headline.startswith("** warning page.duplicate-pageview: Duplicate pageview")
    assert "page https://example.com/news/today (plid:12345678)" in headline
    assert f"events {flows[0].id}, {flows[1].id}" in headline
    assert fix.startswith("    2 pageviews for ")
    assert "trackPageView" in fix


async def test_a_note_is_logged_at_info(
    addon_harness, spec_file, flow_factory, pixel_url_factory, caplog
):
    addon = SegmentInspector(Inspection(load_spec(spec_file)))
    harness = addon_harness(addon)
    document = flow_factory(
        "https://example.com/news/today",
        headers={"Sec-Fetch-Dest": "document"},
        response_headers={"Content-Type": "text/html"},
    )
    pageview = flow_factory(pixel_url_factory(data={"plan": "basic"}))
    pageview.request.timestamp_start += 0.5

    with caplog.at_level(logging.INFO, logger="inspector.addon"):
        await harness.cycle(document)
        await harness.cycle(pageview)
        addon.announce_diagnoses()

    [record] = [
        r for r in caplog.records if "page.pageview-without-tracker" in r.message
    ]
    assert record.levelno == logging.INFO


async def test_a_page_fault_is_announced_once(
    addon_harness, spec_file, collected, flow_factory, pixel_url_factory
):
    addon = SegmentInspector(
        Inspection(load_spec(spec_file)),
        on_reports=collected.on_reports,
        on_diagnoses=collected.on_diagnoses,
    )
    harness = addon_harness(addon)

    for flow in duplicate_pageviews(flow_factory, pixel_url_factory):
        await harness.cycle(flow)
    addon.announce_diagnoses()
    addon.announce_diagnoses()
    harness.done()

    assert [n.diagnosis.code for n in collected.notices] == ["page.duplicate-pageview"]
    assert collected.notices[0].updated is False


async def test_page_faults_are_looked_for_after_judging_not_in_the_hook(
    addon_harness, spec_file, collected, flow_factory, pixel_url_factory, monkeypatch
):
    inspection = Inspection(load_spec(spec_file))
    looks: list[bool] = []
    original = inspection.new_diagnoses

    def counted(*, final: bool = False):
        looks.append(final)
        return original(final=final)

    monkeypatch.setattr(inspection, "new_diagnoses", counted)
    # An interval no stall of a loaded machine can reach: the second look waits.
    monkeypatch.setattr(addon_module, "ANNOUNCE_INTERVAL_S", 3600.0)
    addon = SegmentInspector(
        inspection, on_reports=collected.on_reports, on_diagnoses=collected.on_diagnoses
    )
    addon_harness(addon)
    first, second = duplicate_pageviews(flow_factory, pixel_url_factory)

    addon.response(first)
    addon.response(second)
    addon.flush()
    looks_in_the_hooks = len(looks)
    for _ in range(3):
        await asyncio.sleep(0)
    looks_after_a_loop_turn = len(looks)

    third = flow_factory(pixel_url_factory(data={"plan": "basic"}, rand="3"))
    addon.response(third)
    addon.flush()
    for _ in range(3):
        await asyncio.sleep(0)
    looks_right_after_the_first = len(looks)
    addon.done()

    assert looks_in_the_hooks == 0
    assert looks_after_a_loop_turn == 1
    # The next look waits for the interval; shutting down looks a last time.
    assert looks_right_after_the_first == 1
    assert looks == [False, True]
    assert [n.updated for n in collected.notices] == [False, True]


async def test_the_ui_without_a_diagnosis_sink_is_not_sent_page_faults(
    addon_harness, inspector_addon, flow_factory, pixel_url_factory, caplog
):
    harness = addon_harness(inspector_addon)

    with caplog.at_level(logging.INFO, logger="inspector.addon"):
        for flow in duplicate_pageviews(flow_factory, pixel_url_factory):
            await harness.cycle(flow)
        harness.done()

    assert [r for r in caplog.records if r.name == "inspector.addon"] == []


async def test_jsonl_gets_a_record_per_page_fault(
    addon_harness, inspector_addon, flow_factory, pixel_url_factory, tmp_path
):
    output = tmp_path / "events.jsonl"
    harness = addon_harness(inspector_addon)
    harness.configure(inspector_jsonl=str(output))
    flows = duplicate_pageviews(flow_factory, pixel_url_factory)

    for flow in flows:
        await harness.cycle(flow)
    harness.done()

    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert [record["type"] for record in records] == [
        "event",
        "event",
        "diagnosis",
        "summary",
    ]
    diagnosis = records[2]
    assert diagnosis["code"] == "page.duplicate-pageview"
    assert diagnosis["severity"] == "warning"
    assert diagnosis["evidence"] == [flow.id for flow in flows]
    assert diagnosis["page"] == "plid:12345678"
    assert diagnosis["url"] == "https://example.com/news/today"
    assert diagnosis["updated"] is False


def test_a_diagnosis_record_has_the_fields_of_the_json_report(
    spec_file, pixel_url_factory
):
    from inspector.report import report_document

    inspection = Inspection(load_spec(spec_file))
    for rand, at in (("1", 0.0), ("2", 0.02)):
        url = pixel_url_factory(data={"plan": "basic"}, rand=rand)
        inspection.process(
            CapturedRequest(method="GET", url=url, timestamp=1_700_000_000 + at)
        )
    result = inspection.result()
    [diagnosis] = result.diagnoses

    record = diagnosis_record(diagnosis, updated=True)

    [reported] = report_document(result)["diagnoses"]
    assert record == {"type": "diagnosis", "updated": True, **reported}


def duplicate_pageview_diagnosis(spec_file, pixel_url_factory, page):
    """The diagnosis of two pageviews of `page` 20 ms apart: a duplicate."""
    inspection = Inspection(load_spec(spec_file))
    for rand, at in (("1", 0.0), ("2", 0.02)):
        url = pixel_url_factory(page=page, data={"plan": "basic"}, rand=rand)
        inspection.process(
            CapturedRequest(method="GET", url=url, timestamp=1_700_000_000 + at)
        )
    [diagnosis] = inspection.result().diagnoses
    return diagnosis


def test_a_diagnosis_summary_masks_personal_data(spec_file, pixel_url_factory):
    diagnosis = duplicate_pageview_diagnosis(
        spec_file,
        pixel_url_factory,
        "https://example.com/account?who=jane.doe@example.org",
    )

    masked = diagnosis_summary(diagnosis)
    shown = diagnosis_summary(diagnosis, show_pii=True, updated=True)

    assert "jane.doe@example.org" not in masked
    assert "jane.doe@example.org" in shown
    assert "page.duplicate-pageview (updated)" in shown


async def test_live_flows_give_page_tracking_a_clock(
    addon_harness, flow_factory, pixel_url_factory
):
    live = SegmentInspector()
    addon_harness(live)
    replayed = SegmentInspector()
    addon_harness(replayed)
    recorded = flow_factory(pixel_url_factory(data={"plan": "basic"}))
    recorded.live = False

    live.response(flow_factory(pixel_url_factory(data={"plan": "basic"})))
    replayed.response(recorded)
    replayed.flush()

    assert live.inspection.pages.clock is not None
    assert replayed.inspection.pages.clock is None
    assert replayed.inspection.requests_seen == 1


# ------------------------------------------------------------------ as a script


async def test_a_bad_spec_while_loading_the_script_is_one_error_line(
    tmp_path, caplog, flow_factory, pixel_url_factory
):
    from mitmproxy import hooks
    from mitmproxy.test import taddons

    bad_spec = tmp_path / "bad.yaml"
    bad_spec.write_text("version: 1\nsegments:\n  plan:\n    type: strin\n")
    addon = SegmentInspector()

    # What mitmproxy does for `-s script --set inspector_spec=...`: keep the value
    # until the script adds the option, load the script, configure every option.
    with taddons.context() as context, caplog.at_level(logging.ERROR):
        context.options.set(f"inspector_spec={bad_spec}", defer=True)
        context.master.addons.register(addon)
        everything = hooks.ConfigureHook(context.options.keys())
        context.master.addons.invoke_addon_sync(addon, everything)

        addon.response(flow_factory(pixel_url_factory(data={"plan": "basic"})))
        addon.flush()

    [record] = caplog.records
    assert record.exc_info is None
    assert record.getMessage().startswith("Segment Inspector cannot start: ")
    assert "bad.yaml:4:11" in record.getMessage()
    assert addon.inspection.requests_seen == 0


def test_the_docstring_lists_every_option(addon_harness):
    from mitmproxy.test import taddons

    with taddons.context(SegmentInspector()) as context:
        added = {name for name in context.options.keys() if "inspector" in name}

    documented = {
        word.strip("`:")
        for word in (addon_module.__doc__ or "").split()
        if word.startswith("`inspector_")
    }
    assert added == OPTION_NAMES
    assert documented == OPTION_NAMES


def test_python_m_inspector_addon_prints_the_script_path():
    result = subprocess.run(
        [sys.executable, "-m", "inspector.addon"],
        cwd=ROOT,
        env=SCRIPT_ENV,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert Path(result.stdout.strip()) == ROOT / "inspector" / "addon.py"


def run_mitmdump(
    tmp_path: Path,
    script: str = "addons/segment_inspector.py",
    recording: Path | None = None,
    **options: object,
) -> subprocess.CompletedProcess[str]:
    """Run mitmdump with an addon script and `--set` options, without listening
    (`-n`), reading `recording` if one is given, with its own confdir."""
    arguments = ["-n"]
    if recording is not None:
        arguments += ["-r", str(recording)]
    arguments += ["-s", str(ROOT / script)]
    for name, value in {**options, "confdir": tmp_path / "confdir"}.items():
        arguments += ["--set", f"{name}={value}"]
    return subprocess.run(
        [shutil.which("mitmdump") or "mitmdump", *arguments],
        env=SCRIPT_ENV,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "script", ["addons/segment_inspector.py", "inspector/addon.py"]
)
def test_mitmdump_logs_page_faults_from_a_recording(
    pixel_url_factory, tmp_path, script
):
    from inspector.recordings import write_mitm

    recording = tmp_path / "session.mitm"
    pageview = pixel_url_factory(data={"plan": "basic"})
    write_mitm(
        [
            CapturedRequest(method="GET", url=pageview, timestamp=1_700_000_000.0),
            CapturedRequest(
                method="GET",
                url=pageview.replace("rand=", "rand=2"),
                timestamp=1_700_000_000.02,
            ),
        ],
        recording,
    )

    result = run_mitmdump(tmp_path, script, recording=recording)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    [at] = [i for i, line in enumerate(lines) if "page.duplicate-pageview" in line]
    assert "** warning page.duplicate-pageview: Duplicate pageview" in lines[at]
    assert lines[at + 1].startswith("    2 pageviews for ")
    assert sum("pageview " in line and "-- ok" in line for line in lines) == 2


@pytest.mark.parametrize(
    "script", ["addons/segment_inspector.py", "inspector/addon.py"]
)
def test_mitmdump_logs_every_event_of_a_site_the_spec_does_not_cover(
    pixel_url_factory, tmp_path, script
):
    from inspector.recordings import write_mitm

    spec = tmp_path / "segments.yaml"
    spec.write_text("version: 1\nsites: [example.com]\nunknown_keys: allow\n")
    recording = tmp_path / "session.mitm"
    write_mitm(
        [
            CapturedRequest(
                method="GET",
                url=pixel_url_factory(
                    data={"plan": "basic"},
                    idsite=site,
                    page=f"https://{site}/story-{number}",
                    plid=str(number),
                ),
                timestamp=1_700_000_000.0 + number,
            )
            for number, site in enumerate(("other.org", "other.org", "example.com"))
        ],
        recording,
    )

    result = run_mitmdump(tmp_path, script, recording=recording, inspector_spec=spec)

    assert result.returncode == 0, result.stderr
    events = [line for line in result.stdout.splitlines() if " pageview " in line]
    assert [line.rsplit("  ", 1)[-1] for line in events] == [
        "-- ok (site not covered by the spec)",
        "-- ok (site not covered by the spec)",
        "-- ok",
    ]


def test_summary_lines_say_when_the_spec_does_not_cover_the_site(pixel_url_factory):
    spec = parse_spec(
        "version: 1\nsites: [example.com]\nunknown_keys: allow\n", "segments.yaml"
    )
    inspection = Inspection(spec)

    def line(site: str, data: object) -> str:
        url = pixel_url_factory(data=data, idsite=site, page=f"https://{site}/")
        [report] = inspection.process(
            CapturedRequest(method="GET", url=url, timestamp=1_700_000_000.0)
        )
        return summary_line(report, spec=spec)

    first = line("other.org", {"plan": "basic"})
    later = line("Other.org", {"plan": "undefined"})
    covered = line("EXAMPLE.com", {"plan": "basic"})

    assert first.endswith("-- ok (site not covered by the spec)")
    assert later.endswith(
        "-- 0 error(s), 1 warning(s): segment.placeholder "
        "(site not covered by the spec)"
    )
    assert covered.endswith("-- ok")


@pytest.mark.parametrize(
    ("spec_text", "message"),
    [
        (
            "version: 1\nsegments:\n  plan:\n    type: strin\n",
            "bad.yaml:4:11: segments.plan.type: unknown segment type",
        ),
        (None, "bad.yaml: spec file not found"),
    ],
)
def test_mitmdump_reports_a_bad_spec_in_one_line(tmp_path, spec_text, message):
    spec = tmp_path / "bad.yaml"
    if spec_text is not None:
        spec.write_text(spec_text)

    result = run_mitmdump(tmp_path, inspector_spec=spec)

    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "Traceback" not in output
    [line] = [line for line in output.splitlines() if "cannot start" in line]
    assert f"] Segment Inspector cannot start: {tmp_path}/{message}" in line


def test_mitmdump_lists_every_problem_of_a_spec_one_per_line(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text(
        "unknown_keys: warnign\nsegments:\n  plan:\n    type: strin\n"
        "  logged_in:\n    type: boolean\n    values: [maybe]\n"
    )

    result = run_mitmdump(tmp_path, inspector_spec=spec)

    output = result.stdout + result.stderr
    lines = output.splitlines()
    [at] = [i for i, line in enumerate(lines) if "cannot start" in line]
    assert result.returncode == 1
    assert "Traceback" not in output
    assert lines[at].endswith(
        f"] Segment Inspector cannot start: 3 problems in the spec {spec}:"
    )
    assert [line.split(": ", 2)[:2] for line in lines[at + 1 : at + 4]] == [
        [f"{spec}:1:15", "unknown_keys"],
        [f"{spec}:4:11", "segments.plan.type"],
        [f"{spec}:7:14", "segments.logged_in.values[0]"],
    ]


def test_mitmdump_logs_the_warnings_of_a_spec_and_runs(tmp_path):
    spec = tmp_path / "cases.yaml"
    spec.write_text("segments:\n  plan: {type: string, values: [a, A]}\n")
    recording = tmp_path / "empty.mitm"
    recording.write_bytes(b"")

    result = run_mitmdump(tmp_path, recording=recording, inspector_spec=spec)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"{spec}:2:36: warning: segments.plan.values[1]: " in output
    assert "cannot start" not in output


# ------------------------------------------------------------------ control characters

HOSTILE = {
    "idsite": "ex\x1b[31mample.com",
    "page": "https://example.com/\x1b]0;pwn\x07",
    "action": "page\x1bview",
}


def test_summary_lines_escape_control_characters(spec_file, pixel_url_factory):
    inspection = Inspection(load_spec(spec_file))
    url = pixel_url_factory(data={"plan": "basic\x1b[2J"}, **HOSTILE)
    [report] = inspection.process(CapturedRequest(method="GET", url=url))

    line = summary_line(report)

    assert not any(ord(character) < 0x20 for character in line)
    assert "page\\x1bview" in line
    assert "ex\\x1b[31mample.com" in line
    assert "https://example.com/\\x1b]0;pwn\\x07" in line


def test_a_diagnosis_summary_escapes_control_characters(spec_file, pixel_url_factory):
    diagnosis = duplicate_pageview_diagnosis(
        spec_file, pixel_url_factory, "https://example.com/\x1b]0;pwn\x07"
    )

    summary = diagnosis_summary(diagnosis)

    first, second = summary.split("\n")
    assert "\x1b" not in summary and "\x07" not in summary
    assert "https://example.com/\\x1b]0;pwn\\x07" in first
    assert second.startswith("    ")


async def test_logged_pixel_lines_escape_control_characters(
    addon_harness, spec_file, flow_factory, pixel_url_factory, caplog
):
    addon = SegmentInspector(Inspection(load_spec(spec_file)))
    harness = addon_harness(addon)
    url = pixel_url_factory(data={"plan": "gold"}, **HOSTILE)

    with caplog.at_level(logging.INFO, logger="inspector.addon"):
        await harness.cycle(flow_factory(url))
        await harness.cycle(flow_factory(url.replace("rand=", "rand=2")))
        addon.done()

    messages = [r.getMessage() for r in caplog.records if r.name == "inspector.addon"]
    assert len(messages) >= 3  # two events and the duplicate pageview
    for message in messages:
        assert "\x1b" not in message and "\x07" not in message, message
    assert any("ex\\x1b[31mample.com" in message for message in messages)


# ------------------------------------------------------------------ outputs that clash


async def test_a_jsonl_option_naming_the_spec_is_refused(
    addon_harness, spec_file, tmp_path, monkeypatch
):
    monkeypatch.chdir(spec_file.parent)
    before = spec_file.read_bytes()
    harness = addon_harness(SegmentInspector())
    harness.configure(inspector_spec=str(spec_file))

    with pytest.raises(exceptions.OptionsError) as raised:
        harness.configure(inspector_jsonl=f"./{spec_file.name}")

    assert str(raised.value) == (
        f"inspector_jsonl ./{spec_file.name} is also an input "
        f"(inspector_spec={spec_file}); writing JSON Lines there would overwrite "
        "it, so nothing was done"
    )
    assert spec_file.read_bytes() == before


def test_mitmdump_refuses_jsonl_over_the_recording_it_reads(tmp_path):
    recording = tmp_path / "session.mitm"
    kept = (ROOT / "fixtures" / "recordings" / "demo.mitm").read_bytes()
    recording.write_bytes(kept)

    result = run_mitmdump(
        tmp_path,
        script="inspector/addon.py",
        recording=recording,
        inspector_jsonl=recording,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "Traceback" not in output
    assert (
        f"Segment Inspector cannot start: inspector_jsonl {recording} is also an "
        f"input (rfile={recording})"
    ) in output
    assert recording.read_bytes() == kept
