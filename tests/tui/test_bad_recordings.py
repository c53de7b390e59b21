"""`view` over recordings that hold values no one expects: shown, never a crash."""

from __future__ import annotations

import sys

from conftest import pixel_url, wait_loaded

from inspector.model import CapturedRequest
from inspector.recordings import write_mitm
from inspector.tui.launch import build_view_app

SIZE = (160, 50)


async def test_a_capture_time_no_date_can_hold_is_shown_as_unreadable(tmp_path):
    recording = tmp_path / "far.mitm"
    requests = [
        CapturedRequest("GET", pixel_url(pvid="1"), timestamp=1e300, request_id="a"),
        CapturedRequest(
            "GET", pixel_url(pvid="2"), timestamp=1_700_000_000.5, request_id="b"
        ),
    ]
    write_mitm(requests, recording)
    app = build_view_app([recording])

    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(app, pilot)
        table = app.events_table
        times = sorted(table.row_texts(index)[0] for index in range(table.row_count))
        for _ in range(table.row_count):
            await pilot.press("down")
        await pilot.press("4")  # the Pages view, with its timelines
        await pilot.pause()

    assert len(times) == 2
    assert times[1] == "? (1e+300)"


async def test_a_har_nested_too_deeply_opens_with_the_problem(tmp_path):
    from inspector.recordings import write_har

    har = tmp_path / "deep.har"
    write_har([CapturedRequest("GET", pixel_url(), timestamp=1_700_000_000.5)], har)
    entry = har.read_text().split('"entries": [', 1)[1].rsplit("]", 1)[0]
    deep = '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    har.write_text('{"log": {"entries": [' + deep + ", " + entry + "]}")
    app = build_view_app([har])

    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(app, pilot)
        rows = app.events_table.row_count
        problems = [str(error) for error in app.recording_errors]

    assert rows == 1
    assert problems == [
        f"deep.har: entry 1: JSON nested more than about {sys.getrecursionlimit()} "
        "levels deep cannot be read; entry skipped"
    ]
