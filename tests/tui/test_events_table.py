"""The events table on its own: the row cap, batch trimming and follow mode."""

from __future__ import annotations

from conftest import inspect, known_requests
from textual.app import App, ComposeResult

from inspector.tui.widgets.events_table import EventsTable


class TableApp(App[None]):
    def __init__(self, max_rows: int) -> None:
        super().__init__()
        self.max_rows = max_rows

    def compose(self) -> ComposeResult:
        yield EventsTable(max_rows=self.max_rows)


def paths(table: EventsTable) -> list[str]:
    return [table.row_texts(i)[3] for i in range(table.row_count)]


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

        table.append_reports(reports[4:] + reports[:1])
        await pilot.pause()

        assert table.selected_report is chosen
        assert table.cursor_row == 0

        # Trimming past the selected row leaves the cursor on the oldest row.
        table.append_reports(reports[1:3])
        await pilot.pause()
        assert table.cursor_row == 0
        assert table.row_count == 4


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
