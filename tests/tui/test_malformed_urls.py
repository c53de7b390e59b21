"""Pixels whose page addresses cannot be parsed are shown, not a crash of the UI."""

from __future__ import annotations

import pytest
from conftest import START, pixel_url, wait_loaded
from textual.app import App

from inspector.model import CapturedRequest
from inspector.recordings import write_mitm
from inspector.tui.app import InspectorApp
from inspector.tui.launch import build_view_app, exit_status

SIZE = (160, 50)

# `urlsplit` raises ValueError for the first two; the third has a port that is no
# port at all.
BAD_PAGES = [
    "http://[::1",
    "http://ex\u2100ample.com/news",
    "http://example.com:99999/a",
]


def bad_url_requests() -> list[CapturedRequest]:
    requests = []
    for number, page in enumerate(BAD_PAGES):
        for parameter in ("url", "urlref", "surl", "sref"):
            index = len(requests)
            params = {parameter: page, "pvid": str(index), "plid": str(index)}
            requests.append(
                CapturedRequest(
                    method="GET",
                    url=pixel_url(**params),
                    timestamp=START + index,
                    request_id=f"req-{index}",
                    origin=f"bad entry {number}",
                    response_status=200,
                    content_type="image/gif",
                )
            )
    return requests


async def test_view_shows_pixels_with_malformed_urls(tmp_path):
    recording = tmp_path / "bad-urls.mitm"
    write_mitm(bad_url_requests(), recording)
    app = build_view_app([recording])

    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(app, pilot)
        table = app.events_table
        paths = [table.row_texts(index)[3] for index in range(table.row_count)]
        # Open the detail pane of every row, which shows the page address too.
        for _ in range(table.row_count):
            await pilot.press("down")
        # Findings, Segments, Pages and Log show addresses of their own.
        for view in "23451":
            await pilot.press(view)
            await pilot.pause()

    assert exit_status(app, None) == 0
    assert len(paths) == 12
    # As `url`: the path (`/` when there is none), though the host is unreadable.
    assert paths[0] == "/"
    assert paths[4] == "/news"
    assert paths[8] == "/a"
    # The other parameters leave the page address alone.
    assert set(paths[1:4] + paths[5:8] + paths[9:]) == {"/news/story-1"}


class _Crashing(App):
    def on_mount(self) -> None:
        raise RuntimeError("unexpected")


async def test_a_crash_in_the_ui_is_a_failing_exit_status():
    app = _Crashing()
    with pytest.raises(RuntimeError):
        async with app.run_test():
            pass

    assert exit_status(app, None) == 1


async def test_quitting_the_ui_is_a_success(tmp_path):
    app: InspectorApp = build_view_app([])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")

    assert exit_status(app, None) == 0
