"""Timestamps no calendar can hold are shown as such in every output, never raised."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pytest

from inspector.addon import summary_line
from inspector.clock import clock_text, moment
from inspector.inspection import Inspection
from inspector.junit import render_junit
from inspector.model import CapturedRequest
from inspector.recordings import load_requests, write_mitm
from inspector.report import render_json, render_jsonl, render_text
from inspector.testing import replay
from inspector.tui.presenters import clock_time

OUT_OF_RANGE = [1e300, -1e300, math.inf, -math.inf, math.nan, 1e20]
PIXEL = (
    "https://p1.parsely.com/plogger/?rand=1700000000000&idsite=example.com"
    "&action=pageview&url=https%3A%2F%2Fexample.com%2F&data=%7B%22plan%22%3A1%7D"
)


@pytest.mark.parametrize("timestamp", OUT_OF_RANGE)
def test_a_time_no_date_can_hold_has_no_moment(timestamp):
    assert moment(timestamp) is None
    assert moment(timestamp, local=True) is None
    assert clock_text(timestamp) == f"? ({timestamp!r})"
    assert clock_time(timestamp) == f"? ({timestamp!r})"


def test_a_real_time_is_shown_to_the_millisecond():
    assert moment(1_700_000_000.5) == datetime(2023, 11, 14, 22, 13, 20, 500000, UTC)
    assert clock_text(1_700_000_000.123) == "22:13:20.123"


@pytest.fixture
def far_future(tmp_path):
    """A flow file whose one pixel was captured at 1e300 seconds since the epoch."""
    path = tmp_path / "far.mitm"
    write_mitm([CapturedRequest("GET", PIXEL, timestamp=1e300, request_id="r1")], path)
    return path


def test_the_recording_keeps_the_time(far_future):
    [request], errors = load_requests([far_future])
    assert errors == []
    assert request.timestamp == 1e300


def test_every_report_format_shows_an_unreadable_time(far_future):
    session = replay(far_future)

    text = render_text(session.result)
    assert "? (1e+300)  example.com  pageview" in text
    assert "first event" not in text

    [event] = json.loads(render_json(session.result))["events"]
    assert (event["time"], event["timestamp"]) == (None, 1e300)

    lines = [json.loads(line) for line in render_jsonl(session.result).splitlines()]
    [event_line] = [line for line in lines if line["type"] == "event"]
    assert (event_line["time"], event_line["timestamp"]) == (None, 1e300)

    assert "pageview / [" in render_junit(session.result)
    assert session.events[0].action == "pageview"


def test_the_headless_line_shows_an_unreadable_time():
    inspection = Inspection()
    request = CapturedRequest("GET", PIXEL, timestamp=1e300, request_id="r1")
    [report] = inspection.process(request)

    assert summary_line(report).startswith("? (1e+300) pageview")
