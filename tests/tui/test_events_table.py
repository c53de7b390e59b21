"""The events table on its own: the row cap, batch trimming and follow mode."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import inspect, known_requests, sent_later
from textual.app import App, ComposeResult

from inspector.model import Finding, Severity
from inspector.tui.widgets.events_table import (
    COLUMNS,
    MIN_PATH_WIDTH,
    MIN_WORST_WIDTH,
    EventsTable,
    column_layout,
    fit_worst,
)


class TableApp(App[None]):
    def __init__(self, max_rows: int) -> None:
        super().__init__()
        self.max_rows = max_rows

    def compose(self) -> ComposeResult:
        yield EventsTable(max_rows=self.max_rows)


def paths(table: EventsTable) -> list[str]:
    return [table.row_texts(i)[3] for i in range(table.row_count)]


def times(table: EventsTable) -> list[str]:
    return [table.row_texts(i)[0] for i in range(table.row_count)]


async def test_the_oldest_rows_go_first_and_their_reports_with_them(spec):
    reports = inspect(known_requests(), spec)
    app = TableApp(max_rows=3)
    async with app.run_test() as pilot:
        table = app.query_one(EventsTable)

        table.append_reports(reports[:2])
        table.append_reports(reports[2:])
        await pilot.pause()

        assert paths(table) == ["/news/story-2", "/about", "/home"]
        assert table.reports == reports[2:]
        assert [table.report_at(i) for i in range(3)] == reports[2:]
        assert table.selected_report is reports[-1]


async def test_a_batch_larger_than_the_cap_keeps_its_newest_rows(spec):
    reports = inspect(known_requests(), spec)
    app = TableApp(max_rows=2)
    async with app.run_test() as pilot:
        table = app.query_one(EventsTable)

        assert table.append_reports(reports) == 2
        await pilot.pause()

        assert paths(table) == ["/about", "/home"]
        assert len(table.reports) == 2


async def test_the_cursor_stays_on_its_event_while_old_rows_are_trimmed(spec):
    reports = inspect(known_requests(), spec)
    app = TableApp(max_rows=4)
    async with app.run_test() as pilot:
        table = app.query_one(EventsTable)
        table.focus()
        table.append_reports(reports[:4])
        await pilot.pause()

        await pilot.press("up")
        chosen = table.selected_report
        assert chosen is reports[2]
        assert not table.following

        later = inspect(sent_later(known_requests(), 100.0), spec)
        table.append_reports(reports[4:] + later[1:2])
        await pilot.pause()

        assert table.selected_report is chosen
        assert table.cursor_row == 0

        # Trimming past the selected row leaves the cursor on the oldest row.
        table.append_reports(later[2:4])
        await pilot.pause()
        assert table.cursor_row == 0
        assert table.row_count == 4


async def test_a_late_pixel_is_placed_at_its_time_not_at_the_bottom(spec):
    # Live, requests are reported as they finish: one sent earlier can come later.
    reports = inspect(known_requests(), spec)
    app = TableApp(max_rows=10)
    async with app.run_test() as pilot:
        table = app.query_one(EventsTable)
        table.append_reports([reports[0], reports[3]])
        table.append_reports([reports[4], reports[1]])
        table.append_reports([reports[2]])
        await pilot.pause()

        assert table.reports == reports
        assert paths(table) == [
            "/news/story-1",
            "/news/story-1",
            "/news/story-2",
            "/about",
            "/home",
        ]
        assert times(table) == sorted(times(table))
        # Following: still on the newest pixel, not on the one placed last.
        assert table.following
        assert table.selected_report is reports[4]


async def test_pixels_sent_at_the_same_time_keep_the_order_they_came_in(spec):
    requests = known_requests()
    same_time = [
        dataclasses.replace(request, timestamp=requests[1].timestamp)
        for request in requests[1:4]
    ]
    reports = inspect(same_time, spec)
    app = TableApp(max_rows=10)
    async with app.run_test() as pilot:
        table = app.query_one(EventsTable)
        table.append_reports(reports[:1])
        table.append_reports(reports[1:])
        await pilot.pause()

        assert table.reports == reports


async def test_a_pixel_whose_time_cannot_be_read_stays_after_those_before_it(spec):
    requests = known_requests()
    unreadable = dataclasses.replace(requests[2], timestamp=float("nan"))
    reports = inspect([requests[1], requests[3], unreadable, requests[4]], spec)
    app = TableApp(max_rows=10)
    async with app.run_test() as pilot:
        table = app.query_one(EventsTable)
        for report in reports:
            table.append_reports([report])
        await pilot.pause()

        assert table.reports == reports


async def test_a_late_pixel_placed_before_the_selected_row_keeps_the_cursor(spec):
    reports = inspect(known_requests(), spec)
    app = TableApp(max_rows=10)
    async with app.run_test() as pilot:
        table = app.query_one(EventsTable)
        table.focus()
        table.append_reports([reports[0], reports[2], reports[4]])
        await pilot.pause()
        await pilot.press("up")
        assert table.selected_report is reports[2]
        assert not table.following

        table.append_reports([reports[1]])
        await pilot.pause()
        assert table.reports == [reports[0], reports[1], reports[2], reports[4]]
        assert table.cursor_row == 2
        assert table.selected_report is reports[2]

        # Placed after it: the cursor does not move.
        table.append_reports([reports[3]])
        await pilot.pause()
        assert table.cursor_row == 2
        assert table.selected_report is reports[2]
        assert not table.following


async def test_late_pixels_placed_above_the_view_leave_the_view_still(spec):
    reports = inspect(known_requests() + sent_later(known_requests(), 100.0), spec)
    app = TableApp(max_rows=20)
    async with app.run_test(size=(100, 6)) as pilot:
        table = app.query_one(EventsTable)
        table.focus()
        table.append_reports(reports[1:])
        await pilot.pause()
        table.select_row(8)
        await pilot.pause()
        top = round(table.scroll_y)
        assert top > 0
        first_shown = table.render_line(1).text

        table.append_reports(reports[:1])
        await pilot.pause()
        assert table.reports == reports
        assert round(table.scroll_y) == top + 1
        assert table.render_line(1).text == first_shown
        assert table.selected_report is reports[9]


async def test_returning_to_the_last_row_follows_again(spec):
    reports = inspect(known_requests(), spec)
    app = TableApp(max_rows=10)
    async with app.run_test() as pilot:
        table = app.query_one(EventsTable)
        table.focus()
        table.append_reports(reports[:3])
        await pilot.pause()
        assert table.following and table.cursor_row == 2

        await pilot.press("up")
        assert not table.following
        table.append_reports(reports[3:4])
        await pilot.pause()
        assert table.cursor_row == 1

        await pilot.press("down", "down")
        assert table.following
        table.append_reports(reports[4:])
        await pilot.pause()
        assert table.cursor_row == 4
        assert table.selected_report is reports[4]


async def test_a_click_selects_the_row_under_the_pointer(spec):
    reports = inspect(known_requests(), spec)
    app = TableApp(max_rows=10)
    async with app.run_test() as pilot:
        table = app.query_one(EventsTable)
        table.append_reports(reports)
        await pilot.pause()
        assert table.cursor_row == 4

        # Line 0 is the header, so line 3 is the third row.
        await pilot.click(EventsTable, offset=(5, 3))
        await pilot.pause()

        assert table.cursor_row == 2
        assert table.selected_report is reports[2]
        assert not table.following
        assert app.focused is table


def labels(layout) -> list[str]:
    return [COLUMNS[index][0] for index, _width in layout]


def named_widths(layout) -> dict[str, int]:
    return {COLUMNS[index][0]: width for index, width in layout}


def test_a_wide_table_gives_the_segments_what_they_need():
    layout = column_layout(156, {"path": 60, "segments": 31})
    widths = named_widths(layout)

    assert labels(layout) == [label for label, _key in COLUMNS]
    assert widths["Segments"] >= 31
    assert widths["Worst finding"] == 32
    # The path takes what the segments leave, up to a third while they need more.
    assert widths["Path"] + widths["Segments"] == 156 - 12 - 66
    long_segments = named_widths(column_layout(156, {"segments": 200}))
    assert long_segments["Path"] == MIN_PATH_WIDTH
    assert long_segments["Segments"] == 156 - 12 - 66 - MIN_PATH_WIDTH


def test_a_narrow_table_keeps_segments_and_worst_in_view():
    assert labels(column_layout(120)) == [label for label, _key in COLUMNS]
    assert labels(column_layout(100)) == [
        "Time",
        "Action",
        "Path",
        "Segments",
        "Worst finding",
    ]
    narrow = column_layout(76)
    assert labels(narrow) == ["Time", "Action", "Segments", "Worst finding"]
    assert sum(width for _i, width in narrow) + 2 * len(narrow) <= 76
    assert named_widths(narrow)["Segments"] >= 24


@pytest.mark.parametrize("total", range(54, 321))
def test_the_columns_never_need_more_than_the_table_has(total):
    # Past the table's edge a column is cropped with nothing to show it was cut.
    for demand in ({}, {"path": 200, "segments": 200}, {"path": 40, "segments": 30}):
        layout = column_layout(total, demand)
        assert sum(width for _i, width in layout) + 2 * len(layout) <= total
        assert named_widths(layout)["Worst finding"] >= MIN_WORST_WIDTH


@pytest.mark.parametrize(
    ("value", "width", "shown"),
    [
        ("✖ page.segment-after-pageview +27", 32, "✖ page.segment-after-pagevi… +27"),
        ("▲ visitor.null-convention-mixed +1", 32, "▲ visitor.null-convention-mi… +1"),
        ("▲ visitor.null-convention-mixed", 22, "▲ visitor.null-conven…"),
        ("✖ data.not-json +2", 22, "✖ data.not-json +2    "),
        # Too little room for any of the code: cut like any other cell.
        ("✖ data.not-json +2", 5, "✖ da…"),
    ],
)
def test_a_cut_worst_finding_keeps_the_count_of_the_others(value, width, shown):
    assert fit_worst(value, width) == shown
    assert len(fit_worst(value, width)) == width


async def test_a_cut_worst_finding_ends_in_an_ellipsis_at_160_columns(spec):
    report = inspect(known_requests(), spec)[0]
    finding = Finding("visitor.null-convention-mixed", Severity.WARNING, "mixed")
    report = dataclasses.replace(report, findings=(finding,) * 12)
    app = TableApp(max_rows=10)
    async with app.run_test(size=(160, 12)) as pilot:
        table = app.query_one(EventsTable)
        table.append_reports([report])
        await pilot.pause()

        assert table.row_texts(0)[5] == "▲ visitor.null-convention-mixed +11"
        line = table.render_line(1).text
        assert line.rstrip().endswith("▲ visitor.null-convention-m… +11")


async def test_a_very_narrow_table_cuts_the_worst_finding_visibly(spec):
    app = TableApp(max_rows=10)
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(EventsTable)
        table.append_reports(inspect(known_requests(), spec))
        await pilot.pause()

        width = table.scrollable_content_region.width
        for row in range(table.row_count):
            shown = table.render_line(row + 1).text
            worst = table.row_texts(row)[5]
            visible = shown.rstrip()
            # The whole worst finding, or its start and an ellipsis, in view.
            assert visible.endswith(worst) or visible.endswith("…"), shown
            assert len(shown) <= width


async def test_the_empty_table_says_what_to_do(spec):
    app = TableApp(max_rows=10)
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(EventsTable)
        table.empty_message = [
            "Waiting for the first pixel event.",
            "  Browser: use HTTP and HTTPS proxy 127.0.0.1:8080, for example "
            "chromium --proxy-server=127.0.0.1:8080",
            "evil \x1b[2J",
        ]
        await pilot.pause()

        lines = [table.render_line(y).text.rstrip() for y in range(1, 8)]
        assert lines[1] == "  Waiting for the first pixel event."
        assert lines[2].startswith("    Browser: use HTTP and HTTPS proxy")
        assert lines[3].startswith("      ")  # wrapped under its own indent
        assert "evil \\x1b[2J" in "\n".join(lines)

        table.append_reports(inspect(known_requests(), spec)[:1])
        await pilot.pause()
        assert "Waiting" not in table.render_line(2).text


async def test_an_empty_table_message_too_long_for_the_screen_scrolls(spec):
    app = TableApp(max_rows=10)
    async with app.run_test(size=(60, 6)) as pilot:
        table = app.query_one(EventsTable)
        table.focus()
        table.empty_message = [f"line {number}" for number in range(1, 9)]
        await pilot.pause()

        def shown() -> list[str]:
            return [table.render_line(y).text.strip() for y in range(6)]

        assert shown()[1:] == ["", "line 1", "line 2", "line 3", "line 4"]
        # Room for the blank line and the eight lines under the header.
        assert table.virtual_size.height == 1 + 1 + 8
        assert table.max_scroll_y == 4

        await pilot.press("down")
        assert shown()[1:] == ["line 1", "line 2", "line 3", "line 4", "line 5"]
        await pilot.press("end")
        lines = shown()
        assert lines[0].startswith("Time")  # the header stays
        assert lines[1:] == ["line 4", "line 5", "line 6", "line 7", "line 8"]
        await pilot.press("home")
        assert shown()[2] == "line 1"

        # Rows replace the message, from the top.
        table.append_reports(inspect(known_requests(), spec)[:1])
        await pilot.pause()
        assert table.scroll_y == 0
        assert table.virtual_size.height == 2
        assert table.render_line(1).text.strip().startswith(table.row_texts(0)[0])
