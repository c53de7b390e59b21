"""The events table: one row per pixel event, in the order the pixels were sent.

Rows are kept in order of the pixel's time, the newest at the bottom, as a browser's
network panel lists requests by when they were sent. Live, requests are reported
as they finish, so a pixel sent earlier can arrive after a later one: its row is
put at its place rather than at the bottom. That costs nothing for the usual
pixel, the newest so far, which is appended; only a late one is placed, by a
binary search, and it lands near the bottom, so few rows move to make room.

It holds at most `max_rows` rows (the oldest go first, a tenth at a time), keeps the
report behind each row so the detail pane can show it, and follows new events the
way a browser's network panel does: the cursor stays on the newest row until the
user moves it elsewhere or scrolls up, and comes back when they return to the last
row or press `f`.

It is a Line API widget rather than a `DataTable`, because it must stay responsive
under a flood of events. When it follows a flood, every visible row is new on every
frame, so nothing can be cached; `DataTable` renders each cell through Rich's
padding and wrapping machinery, while a row here is a handful of plain segments.
The columns have fixed widths fitted to the terminal: the path and segment columns
share what is left, the segments first (they are what the tool is about), each up
to what its longest value needs. On a narrow terminal the site and then the path
columns are left out, so that the segments and the worst finding stay in view, and
on a very narrow one the worst finding gives up room, so that no column is cropped
at the edge. Long values end in an ellipsis; a worst finding is cut in its code,
keeping the count of the others (`+3`).

Every cell text comes from `presenters.event_cell_values`, which makes traffic text
printable: a row is drawn as plain segments, so nothing else stands between a
pixel's parameters and the terminal.
"""

from __future__ import annotations

import bisect
import logging
import math
import re
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from inspector.tui.presenters import (
    Masker,
    event_cell_values,
    event_worst,
    printable,
    severity_style,
    unmasked,
)

if TYPE_CHECKING:
    from inspector.inspection import EventReport
    from inspector.pages import PageDiagnosis

logger = logging.getLogger(__name__)

COLUMNS = (
    ("Time", "time"),
    ("Site", "site"),
    ("Action", "action"),
    ("Path", "path"),
    ("Segments", "segments"),
    ("Worst finding", "worst"),
)
FIXED_WIDTHS = {"time": 12, "site": 12, "action": 10, "worst": 32}
"""Columns whose width does not depend on the terminal."""
NARROW_WORST_WIDTH = 22
"""The worst-finding column once the site and path columns are left out."""
MIN_WORST_WIDTH = 12
"""The narrowest the worst-finding column gets, on a terminal too narrow for the
columns at their widths."""
WORST_COLUMN = 5
MIN_PATH_WIDTH = 12
MIN_SEGMENTS_WIDTH = 24
PATH_SHARE = 1 / 3
"""The most of the flexible width the path takes while the segments need more."""
DROPPED_WHEN_NARROW = ("site", "path")
"""Left out, in this order, while the segments column would be narrower than its
minimum."""
DEMAND_LIMIT = 200
CELL_PADDING = 1
HEADER_HEIGHT = 1
SCROLLBAR_ROOM = 2
EMPTY_MESSAGE_TOP = 1
"""Blank lines between the header and the empty-table message."""

ColumnLayout = tuple[tuple[int, int], ...]
"""The columns shown: (index in `COLUMNS`, content width), in order."""


def column_layout(total: int, demand: dict[str, int] | None = None) -> ColumnLayout:
    """The columns to show and their content widths, so the table fits `total` cells.

    `demand` is the longest value seen so far in the path and segments columns; a
    column gets no more than it needs, and what it leaves goes to the other.
    """
    demand = demand or {}
    dropped: list[str] = []
    while True:
        keys = [key for _label, key in COLUMNS if key not in dropped]
        fixed = dict(FIXED_WIDTHS)
        if dropped:
            fixed["worst"] = NARROW_WORST_WIDTH
        padding = 2 * CELL_PADDING * len(keys)
        space = total - padding - sum(fixed[key] for key in keys if key in fixed)
        wanted = MIN_SEGMENTS_WIDTH + (MIN_PATH_WIDTH if "path" in keys else 0)
        if space >= wanted or len(dropped) == len(DROPPED_WHEN_NARROW):
            break
        dropped.append(DROPPED_WHEN_NARROW[len(dropped)])

    widths = dict(fixed)
    if "path" in keys:
        path_need = max(demand.get("path", 0), MIN_PATH_WIDTH)
        path = max(min(path_need, int(space * PATH_SHARE)), MIN_PATH_WIDTH)
        segments_need = max(demand.get("segments", 0), MIN_SEGMENTS_WIDTH)
        if space - path > segments_need:
            # The segments need less than they could have: the path takes the rest.
            path = space - segments_need
        widths["path"] = path
        widths["segments"] = max(space - path, MIN_SEGMENTS_WIDTH)
    else:
        widths["segments"] = max(space, MIN_PATH_WIDTH)

    # Too narrow even so: the worst finding gives up room rather than being
    # cropped at the edge, where nothing would show that it was cut.
    excess = sum(widths[key] for key in keys) + padding - total
    if excess > 0:
        widths["worst"] = max(widths["worst"] - excess, MIN_WORST_WIDTH)

    index = {key: position for position, (_label, key) in enumerate(COLUMNS)}
    return tuple((index[key], widths[key]) for key in keys)


def column_widths(total: int, demand: dict[str, int] | None = None) -> list[int]:
    """Content widths of the columns shown, in order (see `column_layout`)."""
    return [width for _index, width in column_layout(total, demand)]


def fit_cell(value: str, width: int) -> str:
    """`value` cut (with an ellipsis) or padded to exactly `width` cells."""
    if cell_len(value) > width:
        return set_cell_size(value, width - 1) + "…"
    return set_cell_size(value, width)


_MORE_FINDINGS = re.compile(r" \+\d+$")


def fit_worst(value: str, width: int) -> str:
    """A worst-finding cell fitted like `fit_cell`, but cut in the code, so that
    the count of other findings stays: `✖ page.segment-after-pa… +27`."""
    if cell_len(value) <= width:
        return set_cell_size(value, width)
    more = _MORE_FINDINGS.search(value)
    room = width - len(more.group()) if more else 0
    if more is None or room < 4:
        return fit_cell(value, width)
    return fit_cell(value[: more.start()], room) + more.group()


DiagnosesLookup = Callable[[str], "Sequence[PageDiagnosis]"]
SiteCoverage = Callable[["str | None"], bool]


def _no_diagnoses(event_id: str) -> tuple[()]:
    return ()


def _every_site(idsite: str | None) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class EventRow:
    """One row: its stable key, the report it shows and its cell texts."""

    key: int
    report: EventReport
    cells: tuple[str, ...]
    style: Style
    order: float
    """Where the row sorts: its pixel's time, or, for a pixel whose time cannot be
    read, the newest time in the table when it came (it then stays after every
    row before it)."""


def _row_order(row: EventRow) -> float:
    return row.order


class EventsTable(ScrollView, can_focus=True):
    """A scrollable table of `EventReport`s with a row cap and follow mode."""

    DEFAULT_CSS = """
    EventsTable {
        background: $surface;
        color: $foreground;
        & > .events-table--header {
            text-style: bold;
            background: $panel;
        }
        & > .events-table--cursor {
            background: $block-cursor-blurred-background;
        }
        &:focus > .events-table--cursor {
            background: $block-cursor-background;
            text-style: bold;
        }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "events-table--header",
        "events-table--cursor",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Previous event", show=False),
        Binding("down", "cursor_down", "Next event", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,ctrl+home", "first", "First event", show=False),
        Binding("end,ctrl+end", "last", "Newest event (follow)", show=False),
    ]

    following: reactive[bool] = reactive(True)
    """Whether the cursor jumps to each new event."""

    class Highlighted(Message):
        """The cursor moved to another event (or the table became empty)."""

        def __init__(
            self, table: EventsTable, report: EventReport | None, row: int
        ) -> None:
            super().__init__()
            self.table = table
            self.report = report
            self.row = row

        @property
        def control(self) -> EventsTable:
            return self.table

    def __init__(
        self,
        max_rows: int = 5000,
        masker: Masker = unmasked,
        diagnoses_for: DiagnosesLookup | None = None,
        covers_site: SiteCoverage | None = None,
        **kwargs,
    ) -> None:
        """`diagnoses_for(event_id)` gives the page, visitor and scenario diagnoses
        an event is evidence of; they count in its worst finding. `covers_site`
        (`Spec.applies_to_site`) tells the events the spec judged from those it
        does not cover, whose worst-finding cell says so."""
        super().__init__(**kwargs)
        self.max_rows = max_rows
        self.masker = masker
        self.diagnoses_for: DiagnosesLookup = diagnoses_for or _no_diagnoses
        self.covers_site: SiteCoverage = covers_site or _every_site
        self.cursor_row = 0
        self._rows: list[EventRow] = []
        self._next_key = 1
        self._total_width = 80
        self._demand: dict[str, int] = {}
        self._layout = column_layout(self._total_width)
        self._strips: LRUCache[tuple, Strip] = LRUCache(1024)
        self._highlighted: tuple[int, int] | None = None
        self._empty_message: tuple[str, ...] = ()
        self._no_match_message: tuple[str, ...] = ()

    # ------------------------------------------------------------------ reading

    @property
    def row_count(self) -> int:
        return len(self._rows)

    @property
    def reports(self) -> list[EventReport]:
        return [row.report for row in self._rows]

    @property
    def selected_report(self) -> EventReport | None:
        return self.report_at(self.cursor_row)

    def report_at(self, row_index: int) -> EventReport | None:
        if 0 <= row_index < len(self._rows):
            return self._rows[row_index].report
        return None

    def row_texts(self, row_index: int) -> list[str]:
        """The cell texts of a row, as shown (before fitting to the columns)."""
        return list(self._rows[row_index].cells)

    def row_style(self, row_index: int) -> Style:
        return self._rows[row_index].style

    @property
    def column_labels(self) -> list[str]:
        """The headers of the columns shown (narrow terminals leave some out)."""
        return [COLUMNS[index][0] for index, _width in self._layout]

    @property
    def empty_message(self) -> tuple[str, ...]:
        return self._empty_message

    @empty_message.setter
    def empty_message(self, lines: Sequence[str]) -> None:
        """What the table says while it has no rows (how to send it events); it
        scrolls when the terminal is too small for all of it."""
        self._empty_message = tuple(printable(line) for line in lines)
        self._resize_virtual()
        self.refresh()

    @property
    def no_match_message(self) -> tuple[str, ...]:
        return self._no_match_message

    @no_match_message.setter
    def no_match_message(self, lines: Sequence[str]) -> None:
        """What the table says instead of `empty_message` while it has no rows
        because a filter hides every event; empty when no filter does."""
        message = tuple(printable(line) for line in lines)
        if message != self._no_match_message:
            self._no_match_message = message
            self._resize_virtual()
            self.refresh()

    @property
    def shown_message(self) -> tuple[str, ...]:
        """The message on screen while the table has no rows."""
        return self._no_match_message or self._empty_message

    def row_index_of(self, event_id: str) -> int | None:
        """The row showing the event with this id, if it is still in the table."""
        for index in range(len(self._rows) - 1, -1, -1):
            if self._rows[index].report.event.id == event_id:
                return index
        return None

    # ------------------------------------------------------------------ writing

    def append_reports(self, reports: Iterable[EventReport]) -> int:
        """Add rows for `reports`, drop the oldest past the cap; returns rows added."""
        batch = list(reports)[-self.max_rows :]
        if not batch:
            return 0

        added = []
        placed_above_view = 0
        top = round(self.scroll_y)
        for report in batch:
            row = self._make_row(self._next_key, report, self._order_of(report))
            self._next_key += 1
            index = self._place(row)
            if index <= self.cursor_row < len(self._rows) - 1:
                # Placed before the selected row: the cursor stays on its event.
                self.cursor_row += 1
            if index < top:
                placed_above_view += 1
            added.append(row)
        self._note_demand(added)
        if placed_above_view and not self.following:
            # Keep the rows in view where they were.
            self.scroll_to(y=top + placed_above_view, animate=False, immediate=True)

        if len(self._rows) > self.max_rows:
            # Trim a tenth more than needed, so that a full table is re-indexed once
            # in a while rather than on every batch.
            self.remove_oldest_rows(
                len(self._rows) - self.max_rows + self.max_rows // 10
            )

        self._resize_virtual()
        if self.following:
            self.jump_to_newest()
        else:
            self._announce()
        self.refresh()
        return len(batch)

    def _order_of(self, report: EventReport) -> float:
        """Where a new row sorts (see `EventRow.order`)."""
        timestamp = report.event.timestamp
        if math.isfinite(timestamp):
            return timestamp
        return self._rows[-1].order if self._rows else 0.0

    def _place(self, row: EventRow) -> int:
        """Put `row` at its place by time, after rows of the same time; its index.

        The newest pixel, the usual case, is appended; a late one is found by a
        binary search.
        """
        rows = self._rows
        if not rows or rows[-1].order <= row.order:
            rows.append(row)
            return len(rows) - 1
        index = bisect.bisect_right(rows, row.order, key=_row_order)
        rows.insert(index, row)
        return index

    def _make_row(self, key: int, report: EventReport, order: float) -> EventRow:
        diagnoses = self.diagnoses_for(report.event.id)
        worst = event_worst(report, diagnoses)
        style = Style.parse(severity_style(worst) or "none")
        covered = self.covers_site(report.event.idsite)
        cells = event_cell_values(report, self.masker, diagnoses, covered=covered)
        return EventRow(key, report, cells, style, order)

    def refresh_events(self, event_ids: set[str]) -> int:
        """Rebuild the rows of these events (their diagnoses changed); returns how
        many rows changed."""
        changed = 0
        for index, row in enumerate(self._rows):
            if row.report.event.id in event_ids:
                self._rows[index] = self._make_row(row.key, row.report, row.order)
                changed += 1
        if changed:
            self._strips.clear()
            self._note_demand(self._rows)
            self.refresh()
        return changed

    def replace_reports(self, reports: Iterable[EventReport]) -> None:
        """Show exactly `reports` (used when the filter changes)."""
        self.clear_reports()
        self.append_reports(reports)

    def clear_reports(self) -> None:
        self._rows.clear()
        self._strips.clear()
        self._demand.clear()
        self._relayout()
        self.cursor_row = 0
        self.following = True
        self._resize_virtual()
        self.scroll_to(y=0, animate=False, immediate=True)
        self._announce()
        self.refresh()

    def remove_oldest_rows(self, count: int) -> None:
        """Drop the first `count` rows; the cursor and the view stay on their events."""
        count = min(count, len(self._rows))
        if count <= 0:
            return
        del self._rows[:count]
        self.cursor_row = max(self.cursor_row - count, 0)
        self._resize_virtual()
        if not self.following:
            self.scroll_to(
                y=max(self.scroll_y - count, 0), animate=False, immediate=True
            )
        self._announce()
        self.refresh()

    # ------------------------------------------------------------------ cursor

    def jump_to_newest(self) -> None:
        self.following = True
        self._move_cursor(len(self._rows) - 1)

    def select_row(self, row_index: int) -> None:
        """Move the cursor as the user would: following only on the newest row."""
        self._move_cursor(row_index)
        self.following = self.cursor_row >= len(self._rows) - 1

    def select_event(self, event_id: str) -> bool:
        """Put the cursor on an event's row; False when it is not in the table."""
        index = self.row_index_of(event_id)
        if index is None:
            return False
        self.select_row(index)
        return True

    def _move_cursor(self, row_index: int) -> None:
        last = len(self._rows) - 1
        self.cursor_row = max(0, min(row_index, last))
        self._scroll_cursor_into_view()
        self._announce()
        self.refresh()

    def _scroll_cursor_into_view(self) -> None:
        visible = max(self.scrollable_content_region.height - HEADER_HEIGHT, 1)
        top = round(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + visible:
            self.scroll_to(
                y=self.cursor_row - visible + 1, animate=False, immediate=True
            )

    def _announce(self) -> None:
        """Post `Highlighted` when the event under the cursor changed."""
        report = self.selected_report
        row = self._rows[self.cursor_row] if report is not None else None
        current = (row.key, self.cursor_row) if row else None
        if (
            current is None
            or self._highlighted is None
            or (current[0] != self._highlighted[0])
        ):
            self.post_message(self.Highlighted(self, report, self.cursor_row))
        self._highlighted = current

    def action_cursor_up(self) -> None:
        if not self._rows:
            self._scroll_message(-1)
            return
        self.select_row(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        if not self._rows:
            self._scroll_message(1)
            return
        self.select_row(self.cursor_row + 1)

    def action_page_up(self) -> None:
        page = max(self.scrollable_content_region.height - HEADER_HEIGHT, 1)
        if not self._rows:
            self._scroll_message(-page)
            return
        self.select_row(self.cursor_row - page)

    def action_page_down(self) -> None:
        page = max(self.scrollable_content_region.height - HEADER_HEIGHT, 1)
        if not self._rows:
            self._scroll_message(page)
            return
        self.select_row(self.cursor_row + page)

    def action_first(self) -> None:
        if not self._rows:
            self.scroll_to(y=0, animate=False, immediate=True)
            return
        self.select_row(0)

    def action_last(self) -> None:
        if not self._rows:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
            return
        self.jump_to_newest()

    def _scroll_message(self, lines: int) -> None:
        """Scroll the empty-table message, on a terminal too small for all of it."""
        self.scroll_to(y=round(self.scroll_y) + lines, animate=False, immediate=True)

    def on_click(self, event: events.Click) -> None:
        if event.y < HEADER_HEIGHT:
            return
        row_index = round(self.scroll_y) + event.y - HEADER_HEIGHT
        if row_index < len(self._rows):
            self.focus()
            self.select_row(row_index)

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.following = False
        super()._on_mouse_scroll_up(event)

    # ------------------------------------------------------------------ drawing

    def on_resize(self, event: events.Resize) -> None:
        # Leave room for the vertical scrollbar, which comes and goes with the rows.
        self._total_width = event.size.width - SCROLLBAR_ROOM
        self._relayout()
        if self.following:
            self._scroll_cursor_into_view()

    def _note_demand(self, rows: Sequence[EventRow]) -> None:
        """Remember how wide the path and segments values are, to share the width."""
        demand = self._demand
        grown = False
        for key, position in (("path", 3), ("segments", 4)):
            longest = max((cell_len(row.cells[position]) for row in rows), default=0)
            longest = min(longest, DEMAND_LIMIT)
            if longest > demand.get(key, 0):
                demand[key] = longest
                grown = True
        if grown:
            self._relayout()

    def _relayout(self) -> None:
        layout = column_layout(self._total_width, self._demand)
        if layout != self._layout:
            self._layout = layout
            self._strips.clear()
            self.refresh()
        self._resize_virtual()

    def _resize_virtual(self) -> None:
        width = sum(w for _i, w in self._layout) + 2 * CELL_PADDING * len(self._layout)
        lines = len(self._rows)
        if not lines and self.shown_message:
            # The message scrolls like rows would.
            lines = EMPTY_MESSAGE_TOP + len(self._wrapped_message(self._total_width))
        self.virtual_size = Size(width, lines + HEADER_HEIGHT)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x = round(self.scroll_x)
        base = self.rich_style

        if y < HEADER_HEIGHT:
            header_style = base + self.get_component_rich_style("events-table--header")
            labels = tuple(label for label, _key in COLUMNS)
            strip = self._strip(labels, header_style)
        else:
            row_index = round(self.scroll_y) + y - HEADER_HEIGHT
            if row_index >= len(self._rows):
                if not self._rows:
                    return self._empty_line(row_index, width, base)
                return Strip.blank(width, base)
            row = self._rows[row_index]
            selected = row_index == self.cursor_row
            cache_key = (row.key, selected, self.has_focus, self._layout)
            strip = self._strips.get(cache_key)
            if strip is None:
                style = base + row.style
                if selected:
                    style += self.get_component_rich_style("events-table--cursor")
                strip = self._strip(row.cells, style)
                self._strips[cache_key] = strip

        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _empty_line(self, line: int, width: int, base: Style) -> Strip:
        # Wrapped to the width that leaves room for the scrollbar, whether it
        # shows or not, so that the scrollable height is the message's.
        lines = self._wrapped_message(self._total_width)
        index = line - EMPTY_MESSAGE_TOP
        if not 0 <= index < len(lines):
            return Strip.blank(width, base)
        heading, text = lines[index]
        style = base + Style(bold=heading, dim=not heading)
        return Strip([Segment(text, style)], cell_len(text)).crop_extend(0, width, base)

    def _wrapped_message(self, width: int) -> list[tuple[bool, str]]:
        """The empty-table message wrapped to `width`, continuation lines indented;
        the first line is the heading."""
        margin = " " * (CELL_PADDING + 1)
        room = max(width - len(margin) - 1, 20)
        lines: list[tuple[bool, str]] = []
        for number, line in enumerate(self.shown_message):
            indent = " " * (len(line) - len(line.lstrip()) + 2)
            wrapped = textwrap.wrap(
                line, width=room, subsequent_indent=indent, break_on_hyphens=False
            ) or [""]
            lines.extend((number == 0, margin + part) for part in wrapped)
        return lines

    def _strip(self, cells: Sequence[str], style: Style) -> Strip:
        pad = " " * CELL_PADDING
        text = "".join(
            pad
            + (fit_worst if index == WORST_COLUMN else fit_cell)(cells[index], width)
            + pad
            for index, width in self._layout
        )
        return Strip([Segment(text, style)], cell_len(text))

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
