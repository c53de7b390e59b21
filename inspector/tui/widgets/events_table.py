"""The events table: one row per pixel event, newest at the bottom.

It holds at most `max_rows` rows (the oldest go first), keeps the report behind each
row so the detail pane can show it, and follows new events the way a browser's
network panel does: the cursor stays on the newest row until the user moves it
elsewhere or scrolls up, and comes back when they return to the last row or press
`f`.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual import events
from textual.coordinate import Coordinate
from textual.reactive import reactive
from textual.widgets import DataTable
from textual.widgets.data_table import CellKey, RowKey

from inspector.tui.presenters import event_cells

if TYPE_CHECKING:
    from inspector.inspection import EventReport

logger = logging.getLogger(__name__)

COLUMNS = (
    ("Time", "time"),
    ("Site", "site"),
    ("Action", "action"),
    ("Path", "path"),
    ("Segments", "segments"),
    ("Worst finding", "worst"),
)


class EventsTable(DataTable):
    """A `DataTable` of `EventReport`s with a row cap and follow mode."""

    following: reactive[bool] = reactive(True)
    """Whether the cursor jumps to each new event."""

    def __init__(self, max_rows: int = 5000, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self.max_rows = max_rows
        self.reports: dict[RowKey, EventReport] = {}
        """The report behind each row currently in the table."""
        self._row_ids = itertools.count(1)
        self._moving_cursor_ourselves = False

    def on_mount(self) -> None:
        for label, key in COLUMNS:
            self.add_column(label, key=key)

    @property
    def selected_report(self) -> EventReport | None:
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0))
        return self.reports.get(row_key)

    def report_at(self, row_index: int) -> EventReport | None:
        row_key, _ = self.coordinate_to_cell_key(Coordinate(row_index, 0))
        return self.reports.get(row_key)

    def append_reports(self, reports: Iterable[EventReport]) -> int:
        """Add rows for `reports`, drop the oldest past the cap; returns rows added."""
        batch = list(reports)[-self.max_rows :]
        if not batch:
            return 0

        for report in batch:
            row_key = self.add_row(*event_cells(report), key=str(next(self._row_ids)))
            self.reports[row_key] = report

        overflow = self.row_count - self.max_rows
        if overflow > 0:
            self.remove_oldest_rows(overflow)

        if self.following:
            self.jump_to_newest()
        return len(batch)

    def replace_reports(self, reports: Iterable[EventReport]) -> None:
        """Show exactly `reports` (used when the filter changes)."""
        self.clear_reports()
        self.append_reports(reports)

    def clear_reports(self) -> None:
        self.clear()
        self.reports.clear()

    def remove_oldest_rows(self, count: int) -> None:
        """Remove the first `count` rows in one pass.

        `DataTable.remove_row` re-indexes every row on each call, which makes
        trimming a full table quadratic; under a flood of events that would freeze the
        screen. This does the same bookkeeping once for the whole batch.
        """
        count = min(count, self.row_count)
        if count <= 0:
            return

        old_cursor_row = self.cursor_row
        doomed = [self._row_locations.get_key(index) for index in range(count)]
        for row_key in doomed:
            for column_key in self._data.get(row_key, {}):
                self._updated_cells.discard(CellKey(row_key, column_key))
            del self.rows[row_key]
            del self._data[row_key]
            self.reports.pop(row_key, None)

        remaining = [
            self._row_locations.get_key(index)
            for index in range(count, count + len(self.rows))
        ]
        self._row_locations = type(self._row_locations)(
            {row_key: index for index, row_key in enumerate(remaining)}
        )
        self._require_update_dimensions = True
        self._update_count += 1

        # Keep the cursor (and the view) on the same event, not the same index.
        self._moving_cursor_ourselves = True
        try:
            self.cursor_coordinate = Coordinate(max(old_cursor_row - count, 0), 0)
        finally:
            self._moving_cursor_ourselves = False
        if not self.following:
            self.scroll_to(y=max(self.scroll_y - count, 0), animate=False)
        self.refresh(layout=True)

    def jump_to_newest(self) -> None:
        if not self.row_count:
            return
        self._moving_cursor_ourselves = True
        try:
            self.move_cursor(row=self.row_count - 1, animate=False)
        finally:
            self._moving_cursor_ourselves = False
        self.following = True

    def watch_cursor_coordinate(
        self, old_coordinate: Coordinate, new_coordinate: Coordinate
    ) -> None:
        super().watch_cursor_coordinate(old_coordinate, new_coordinate)
        if self._moving_cursor_ourselves or old_coordinate == new_coordinate:
            return
        # The user moved: follow again only if they went to the newest row.
        self.following = new_coordinate.row >= self.row_count - 1

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.following = False
        super()._on_mouse_scroll_up(event)
