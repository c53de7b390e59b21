"""The detail pane: everything about the event selected in the events table."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from inspector.tui.presenters import Masker, detail_document, unmasked

if TYPE_CHECKING:
    from inspector.inspection import EventReport
    from inspector.pages import PageDiagnosis
    from inspector.spec import Spec

logger = logging.getLogger(__name__)

PLACEHOLDER = "Select an event to see its parameters, segment data and findings."


def _no_diagnoses(event_id: str) -> tuple[()]:
    return ()


class DetailPane(VerticalScroll):
    """A scrollable, grouped view of one `EventReport`."""

    def __init__(
        self,
        spec: Spec | None = None,
        masker: Masker = unmasked,
        diagnoses_for: Callable[[str], Sequence[PageDiagnosis]] | None = None,
        **kwargs,
    ) -> None:
        """`diagnoses_for(event_id)` gives the page, visitor and scenario diagnoses
        the event is evidence of, shown with its own findings."""
        super().__init__(**kwargs)
        self.spec = spec
        self.masker = masker
        self.diagnoses_for = diagnoses_for or _no_diagnoses
        self.answered_locally = False
        """Whether the proxy answers pixels itself (live `--answer-pixels`)."""
        self.report: EventReport | None = None
        self.text = Text(PLACEHOLDER, style="dim")
        """What the pane shows now, as Rich text (tests read `.text.plain`)."""

    def compose(self) -> ComposeResult:
        yield Static(self.text, id="detail-body")

    def show(self, report: EventReport | None, *, force: bool = False) -> None:
        """Show `report`; `force` renders it again even if it is already shown
        (its diagnoses changed)."""
        if report is self.report and not force:
            return
        same_event = report is self.report
        self.report = report
        if report is None:
            self.text = Text(PLACEHOLDER, style="dim")
            shown = self.text
        else:
            document = detail_document(
                report,
                self.spec,
                self.masker,
                self.diagnoses_for(report.event.id),
                answered_locally=self.answered_locally,
            )
            self.text = document.text()
            shown = document.renderable()
        self.query_one("#detail-body", Static).update(shown)
        if not same_event:
            self.scroll_home(animate=False)
