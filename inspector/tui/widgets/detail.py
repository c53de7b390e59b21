"""The detail pane: everything about the event selected in the events table."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from inspector.tui.presenters import Masker, detail_document, unmasked

if TYPE_CHECKING:
    from inspector.inspection import EventReport
    from inspector.spec import Spec

logger = logging.getLogger(__name__)

PLACEHOLDER = "Select an event to see its parameters, segment data and findings."


class DetailPane(VerticalScroll):
    """A scrollable, grouped view of one `EventReport`."""

    def __init__(
        self, spec: Spec | None = None, masker: Masker = unmasked, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.masker = masker
        self.report: EventReport | None = None
        self.text = Text(PLACEHOLDER, style="dim")
        """What the pane shows now, as Rich text (tests read `.text.plain`)."""

    def compose(self) -> ComposeResult:
        yield Static(self.text, id="detail-body")

    def show(self, report: EventReport | None) -> None:
        if report is self.report:
            return
        self.report = report
        if report is None:
            self.text = Text(PLACEHOLDER, style="dim")
            shown = self.text
        else:
            document = detail_document(report, self.spec, self.masker)
            self.text = document.text()
            shown = document.renderable()
        self.query_one("#detail-body", Static).update(shown)
        self.scroll_home(animate=False)
