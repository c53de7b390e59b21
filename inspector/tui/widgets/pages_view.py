"""The Pages view: one row per page load, and the selected load's timeline.

Page loads come from `inspector.pages.PageTracker` (through the app's `Inspection`).
Selecting one shows its requests in order, with their time since the first request
and the pixel events marked, followed by what is wrong across its events.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from inspector.tui.presenters import (
    Masker,
    clock_time,
    duration_label,
    page_document,
    page_path,
    unmasked,
    verdict_style,
)

if TYPE_CHECKING:
    from inspector.pages import PageLoad

logger = logging.getLogger(__name__)

PLACEHOLDER = "Select a page load to see its timeline and diagnoses."
DIAGNOSES_WIDTH = 40


class PagesView(Vertical):
    """Page loads with their verdicts; the selected one's timeline below."""

    def __init__(self, masker: Masker = unmasked, **kwargs) -> None:
        super().__init__(**kwargs)
        self.masker = masker
        self.pages: dict[str, PageLoad] = {}
        self.text = Text(PLACEHOLDER, style="dim")
        """The selected page load's timeline and diagnoses (tests read `.plain`)."""

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row", id="pages-table")
        with VerticalScroll(id="page-timeline-scroll"):
            yield Static(self.text, id="page-timeline")

    def on_mount(self) -> None:
        table = self.query_one("#pages-table", DataTable)
        table.add_column("Start", key="start")
        table.add_column("Site", key="site")
        table.add_column("Verdict", key="verdict")
        table.add_column("Events", key="events")
        table.add_column("Duration", key="duration")
        table.add_column("Diagnoses", key="diagnoses", width=DIAGNOSES_WIDTH)
        table.add_column("Page", key="page")

    @property
    def table(self) -> DataTable:
        return self.query_one("#pages-table", DataTable)

    def show_pages(self, pages: Sequence[PageLoad]) -> None:
        """Replace the rows, keeping the cursor on the same page load."""
        table = self.table
        selected = self.selected_key()
        self.pages = {page.key: page for page in pages}

        table.clear()
        for page in pages:
            style = verdict_style(page.verdict)
            codes = sorted({diagnosis.code for diagnosis in page.diagnoses})
            table.add_row(
                Text(clock_time(page.first_time)),
                Text(page.site or "—"),
                Text(page.verdict, style=style),
                Text(str(len(page.events)), justify="right"),
                Text(duration_label(page.duration_ms), justify="right"),
                Text(", ".join(codes), style=style, no_wrap=True, overflow="ellipsis"),
                Text(self.masker(page_path(page.url)), no_wrap=True),
                key=page.key,
            )

        if selected in self.pages:
            table.move_cursor(row=table.get_row_index(selected), animate=False)
        self._describe(self.selected_key())

    def selected_key(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        return str(table.ordered_rows[table.cursor_row].key.value)

    @on(DataTable.RowHighlighted, "#pages-table")
    def _page_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._describe(str(event.row_key.value) if event.row_key else None)

    def _describe(self, key: str | None) -> None:
        page = self.pages.get(key) if key else None
        if page is None:
            self.text = Text(PLACEHOLDER, style="dim")
            shown = self.text
        else:
            document = page_document(page, self.masker)
            self.text = document.text()
            shown = document.renderable()
        self.query_one("#page-timeline", Static).update(shown)
