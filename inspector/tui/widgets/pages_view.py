"""The Pages view: one row per page load, and the selected load's timeline."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from inspector.model import Finding

if TYPE_CHECKING:
    from inspector.inspection import Inspection

logger = logging.getLogger(__name__)


class PagesView(Vertical):
    """Page loads with their verdicts; selecting one shows its requests in order."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pages: list[Any] = []

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row", id="pages-table")
        with VerticalScroll(id="page-timeline-scroll"):
            yield Static(Text("Select a page load.", style="dim"), id="page-timeline")

    def on_mount(self) -> None:
        table = self.query_one("#pages-table", DataTable)
        table.add_column("Page", key="page")

    @staticmethod
    def page_count(inspection: Inspection) -> int:
        return len(inspection.pages.page_loads())

    @staticmethod
    def page_findings(inspection: Inspection, first_page: int = 0) -> list[Finding]:
        return []

    def show_pages(self, inspection: Inspection, first_page: int = 0) -> None:
        self.pages = inspection.pages.page_loads()[first_page:]

    @on(DataTable.RowHighlighted, "#pages-table")
    def _page_highlighted(self, event: DataTable.RowHighlighted) -> None:
        pass
