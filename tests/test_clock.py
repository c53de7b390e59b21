"""Timestamps no calendar can hold are shown as such in every output, never raised."""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime

import pytest

from inspector.addon import summary_line
from inspector.clock import clock_text, finite_number, iso_time, moment
from inspector.inspection import Inspection
from inspector.junit import render_junit
from inspector.model import CapturedRequest
from inspector.recordings import load_requests, write_mitm
from inspector.report import render_json, render_jsonl, render_text
from inspector.testing import replay
from inspector.tui.presenters import clock_time, event_cell_values

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


@pytest.mark.parametrize(
    ("value", "number"),
    [("1700000000000", 1.7e12), ("1.5", 1.5), (3, 3.0), ("-2", -2.0)],
)
def test_finite_numbers_are_read(value, number):
    assert finite_number(value) == number


@pytest.mark.parametrize(
    "value", ["inf", "-inf", "nan", "1e400", "Infinity", "", "abc", None, [1]]
)
def test_what_is_no_finite_number_is_none(value):
    assert finite_number(value) is None


@pytest.mark.parametrize("rand", ["inf", "1e400", "nan", "-inf", "1e308"])
def test_a_rand_that_is_no_clock_reading_is_checked_like_any_pixel(tmp_path, rand):
    listed = tmp_path / "rand.txt"
    listed.write_text(PIXEL.replace("rand=1700000000000", f"rand={rand}") + "\n")

    session = replay(listed)

    [page] = session.pages
    assert [entry.offset_ms for entry in page.timeline] == [0]
    assert session.errors == []


def test_a_time_annotation_too_large_is_reported_and_ignored(tmp_path):
    listed = tmp_path / "annotated.txt"
    listed.write_text(f"# @t=+{'9' * 400}ms\n{PIXEL}\n")

    requests, errors = load_requests([listed])

    assert [request.timestamp for request in requests] == [1_700_000_000.0]
    [error] = errors
    assert error.location == "line 1"
    assert error.message.endswith(" is too large to be a time; annotation ignored")


@pytest.mark.parametrize("timestamp", [math.inf, -math.inf, math.nan])
def test_a_capture_time_that_is_no_number_is_reported_and_the_pixel_clock_used(
    tmp_path, timestamp
):
    flows = tmp_path / "odd.mitm"
    write_mitm(
        [
            CapturedRequest("GET", PIXEL, timestamp=timestamp, request_id="a"),
            CapturedRequest("GET", PIXEL + "&x=1", timestamp=1.7e9, request_id="b"),
        ],
        flows,
    )

    session = replay(flows, allow_unreadable=True)

    # Timed by its `rand`, as the message says.
    assert [event.timestamp for event in session.events] == [1_700_000_000.0, 1.7e9]
    assert [str(error) for error in session.errors] == [
        f"odd.mitm: flow 1: the capture time {timestamp!r} is not a time; the "
        "pixel's own clock is used instead"
    ]
    assert "pageview" in render_text(session.result)


@pytest.fixture
def utc_local_time(monkeypatch):
    """Local time is UTC, so that the UI's local clock reads as `check`'s UTC."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def shown_everywhere(session) -> dict[str, str | None]:
    """The one event's time in each output that shows it."""
    [report] = session.result.reports
    text = render_text(session.result)
    [text_line] = [line for line in text.splitlines() if "  pageview  " in line]
    [event_record] = json.loads(render_json(session.result))["events"]
    [event_line] = [
        record
        for record in map(json.loads, render_jsonl(session.result).splitlines())
        if record["type"] == "event"
    ]
    with pytest.raises(AssertionError) as failure:
        session.assert_segment("plan", "premium")
    [table_row] = str(failure.value).splitlines()[2:]
    return {
        "check": text_line.split()[0],
        "json": event_record["time"],
        "jsonl": event_line["time"],
        "pytest": table_row.split()[0],
        "ui": event_cell_values(report)[0],
        "headless": summary_line(report).split()[0],
    }


def test_an_event_time_reads_the_same_in_every_output(tmp_path, utc_local_time):
    # 20.9996 s: rounded to the millisecond it would be 21.000, a second later.
    recording = tmp_path / "late.mitm"
    sent = 1_700_000_000.9996
    write_mitm(
        [CapturedRequest("GET", PIXEL + "&pvid=1", timestamp=sent, request_id="a")],
        recording,
    )

    shown = shown_everywhere(replay(recording))

    assert shown == {
        "check": "22:13:20.999",
        "json": "2023-11-14T22:13:20.999Z",
        "jsonl": "2023-11-14T22:13:20.999Z",
        "pytest": "22:13:20.999",
        "ui": "22:13:20.999",
        "headless": "22:13:20",
    }


def test_an_offset_into_a_request_list_reads_the_same_in_every_output(
    tmp_path, utc_local_time
):
    listed = tmp_path / "offsets.txt"
    untimed = PIXEL.replace("rand=1700000000000&", "")
    listed.write_text(f"# @t=+1.9996s\n{untimed}\n")

    shown = shown_everywhere(replay(listed))

    assert shown == {
        "check": "+1.999s",
        "json": None,
        "jsonl": None,
        "pytest": "+1.999s",
        "ui": "+1.999s",
        "headless": "+1s",
    }


@pytest.mark.parametrize(
    ("timestamp", "text"),
    [
        (0.0, "+0.000s"),
        (0.29, "+0.290s"),  # 0.28999… as a float: rounded to the µs, then cut
        (59.9999, "+59.999s"),
        (1_700_000_000.29, "22:13:20.290"),
        (1_700_006_399.9999, "23:59:59.999"),  # not the next day's midnight
    ],
)
def test_times_are_cut_to_the_millisecond(timestamp, text):
    assert clock_text(timestamp) == text
    assert clock_text(timestamp, milliseconds=False) == text.split(".")[0] + (
        "s" if text.startswith("+") else ""
    )


def test_json_time_has_the_clock_text_of_the_same_moment():
    assert iso_time(1_700_006_399.9999) == "2023-11-14T23:59:59.999Z"
    assert iso_time(12.5) is None
    assert iso_time(math.nan) is None
