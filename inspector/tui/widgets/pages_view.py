"""The Pages view: one row per page load, and the selected load's timeline.

Page loads come from `inspector.pages.PageTracker` (through the app's `Inspection`).
Selecting one shows its requests in order, with their time since the first request
and the pixel events marked, followed by what is wrong across its events. Enter on
a page load selects, in the Events view, the event that shows its worst fault.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from inspector.tui.presenters import (
    Masker,
    clock_time,
    duration_label,
    page_document,
    page_path,
    page_verdict,
    printable,
    shown,
    table_cell,
    unmasked,
    verdict_style,
)

if TYPE_CHECKING:
    from inspector.pages import PageLoad

logger = logging.getLogger(__name__)

PLACEHOLDER = (
    "Select a page load to see its timeline and diagnoses; enter shows its "
    "worst event in Events."
)
NO_PAGES = (
    "No page loads so far: a page load is listed once it loads the Parse.ly "
    "tracker or sends a pixel."
)
"""Shown instead of `PLACEHOLDER` while the table is empty."""
COLUMN_WIDTHS = {
    "start": 12,
    "site": 16,
    "verdict": 7,
    "events": 6,
    "duration": 9,
    "findings": 40,
}
"""Content widths; the page address takes the rest."""
MIN_PAGE_WIDTH = 20
CELL_PADDING = 1
SCROLLBAR_ROOM = 2


def key_event_id(page: PageLoad) -> str | None:
    """The event to show for a page load: the first event its worst diagnosis
    names, else its first event with the worst finding, else its first event;
    None when it sent no pixel event.

    A diagnosis may name other requests as evidence (the tracker script of a page
    that never sent its pageview): those are not in the Events view."""
    own = {report.event.id for report in page.events}
    diagnoses = [d for d in page.diagnoses if own.intersection(d.evidence)]
    if diagnoses:
        worst = max(diagnoses, key=lambda d: d.severity.rank)
        return next(event_id for event_id in worst.evidence if event_id in own)
    judged = [report for report in page.events if report.worst is not None]
    if judged:
        return max(judged, key=lambda report: report.worst.rank).event.id
    return page.events[0].event.id if page.events else None


def page_codes(page: PageLoad) -> list[str]:
    """The page load's diagnosis codes, then its events' own finding codes."""
    codes = sorted({diagnosis.code for diagnosis in page.diagnoses})
    event_codes = {f.code for report in page.events for f in report.findings}
    codes.extend(sorted(event_codes - set(codes)))
    return codes


class PagesView(Vertical):
    """Page loads with their verdicts; the selected one's timeline below."""

    class EventChosen(Message):
        """Enter on a page load: show this event in the Events view."""

        def __init__(self, event_id: str) -> None:
            super().__init__()
            self.event_id = event_id

    def __init__(self, masker: Masker = unmasked, **kwargs) -> None:
        super().__init__(**kwargs)
        self.masker = masker
        self.pages: dict[str, PageLoad] = {}
        self.empty_message = NO_PAGES
        """What the view says while it has no page loads (the app says since
        when, after a clear)."""
        self.text = Text(NO_PAGES, style="dim")
        """The selected page load's timeline and diagnoses (tests read `.plain`)."""
        self._page_width = 0

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row", id="pages-table")
        with VerticalScroll(id="page-timeline-scroll"):
            yield Static(self.text, id="page-timeline")

    def on_mount(self) -> None:
        self._set_columns()

    def on_resize(self, event: events.Resize) -> None:
        if self._page_width != self._page_column_width():
            self.show_pages(list(self.pages.values()))

    @property
    def table(self) -> DataTable:
        return self.query_one("#pages-table", DataTable)

    def _page_column_width(self) -> int:
        total = (self.size.width or self.app.size.width) - SCROLLBAR_ROOM
        fixed = sum(COLUMN_WIDTHS.values()) + 2 * CELL_PADDING * 7
        return max(total - fixed, MIN_PAGE_WIDTH)

    def _set_columns(self) -> None:
        """Fixed widths, so that no column collapses however the rows change."""
        table = self.table
        self._page_width = self._page_column_width()
        table.clear(columns=True)
        labels = {
            "start": "Start",
            "site": "Site",
            "verdict": "Verdict",
            "events": "Events",
            "duration": "Duration",
            "findings": "Diagnoses and event findings",
        }
        for key, label in labels.items():
            table.add_column(label, key=key, width=COLUMN_WIDTHS[key])
        table.add_column("Page", key="page", width=self._page_width)

    def show_pages(self, pages: Sequence[PageLoad]) -> None:
        """Replace the rows, keeping the cursor on the same page load."""
        table = self.table
        selected = self.selected_key()
        self.pages = {page.key: page for page in pages}

        self._set_columns()
        for page in pages:
            verdict = page_verdict(page)
            style = verdict_style(verdict)
            codes = ", ".join(printable(code) for code in page_codes(page))
            table.add_row(
                table_cell(clock_time(page.first_time)),
                table_cell(printable(page.site or "—")),
                table_cell(verdict, style),
                table_cell(str(len(page.events)), justify="right"),
                table_cell(duration_label(page.duration_ms), justify="right"),
                table_cell(codes, style),
                table_cell(shown(page_path(page.url), self.masker)),
                key=page.key,
            )

        if selected in self.pages:
            table.move_cursor(row=table.get_row_index(selected), animate=False)
        # An empty table shrinks to its header, its message right under it.
        self.set_class(not self.pages, "empty")
        self._describe(self.selected_key())

    def select_page(self, key: str) -> bool:
        """Put the cursor on a page load; False when it is not listed."""
        table = self.table
        if key not in self.pages:
            return False
        table.move_cursor(row=table.get_row_index(key), animate=False)
        self._describe(key)
        return True

    def selected_key(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        return str(table.ordered_rows[table.cursor_row].key.value)

    @on(DataTable.RowHighlighted, "#pages-table")
    def _page_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._describe(str(event.row_key.value) if event.row_key else None)

    @on(DataTable.RowSelected, "#pages-table")
    def _page_selected(self, event: DataTable.RowSelected) -> None:
        page = self.pages.get(str(event.row_key.value)) if event.row_key else None
        if page is None:
            return
        event_id = key_event_id(page)
        if event_id is not None:
            self.post_message(self.EventChosen(event_id))
        else:
            self.notify(
                "This page load sent no pixel event: its timeline and diagnoses "
                "are all there is.",
                title="No event to show",
            )

    def _describe(self, key: str | None) -> None:
        page = self.pages.get(key) if key else None
        if page is None:
            message = PLACEHOLDER if self.pages else self.empty_message
            self.text = Text(message, style="dim")
            content = self.text
        else:
            document = page_document(page, self.masker)
            self.text = document.text()
            content = document.renderable()
        self.query_one("#page-timeline", Static).update(content)
