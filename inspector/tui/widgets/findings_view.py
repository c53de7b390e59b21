"""The Findings view: every finding code seen, with how often it fired.

Enter on a code shows its events: the Events view, filtered with `code:<code>`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection, Mapping

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from inspector.model import Finding
from inspector.report import finding_message
from inspector.tui.presenters import (
    SEVERITY_MARKS,
    DetailDocument,
    Masker,
    finding_text,
    printable,
    severity_style,
    table_cell,
    unmasked,
)

logger = logging.getLogger(__name__)

PLACEHOLDER = "Select a finding code to see what it means; enter shows its events."
NO_FINDINGS = (
    "No findings so far: neither the events nor their page loads have any (or "
    "they were cleared with c)."
)
"""Shown instead of `PLACEHOLDER` while the table is empty."""
SEVERITY_WIDTH = 9
COUNT_WIDTH = 6
CODE_WIDTH_LIMIT = 40
MIN_EXAMPLE_WIDTH = 20
CELL_PADDING = 1
SCROLLBAR_ROOM = 2


def findings_column_widths(total: int, codes: list[str]) -> dict[str, int]:
    """Content widths of the Findings table's columns for a table `total` wide.

    Set explicitly rather than measured by the table, so that the code and the
    example always get their room, whenever and however often the rows change.
    """
    code = min(max([len("Code"), *(len(code) for code in codes)]), CODE_WIDTH_LIMIT)
    padding = 2 * CELL_PADDING * 4
    example = max(total - padding - SEVERITY_WIDTH - code - COUNT_WIDTH, 0)
    return {
        "severity": SEVERITY_WIDTH,
        "code": code,
        "count": COUNT_WIDTH,
        "example": max(example, MIN_EXAMPLE_WIDTH),
    }


class FindingsView(Vertical):
    """A table of finding codes (worst first) and the selected code's explanation."""

    class CodeChosen(Message):
        """Enter on a code: show the events that have it."""

        def __init__(self, code: str) -> None:
            super().__init__()
            self.code = code

    def __init__(self, masker: Masker = unmasked, **kwargs) -> None:
        super().__init__(**kwargs)
        self.masker = masker
        self.counts: Counter[str] = Counter()
        self.empty_message = NO_FINDINGS
        """What the view says while it has no findings (the app says since when,
        after a clear)."""
        self.text = Text(NO_FINDINGS, style="dim")
        """The selected code's explanation (tests read `.plain`)."""
        self.examples: dict[str, Finding] = {}
        self.eventless: frozenset[str] = frozenset()
        self._widths: dict[str, int] = {}

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row", id="findings-table")
        with VerticalScroll(id="finding-explanation-scroll"):
            yield Static(
                Text(NO_FINDINGS, style="dim"),
                id="finding-explanation",
            )

    def on_mount(self) -> None:
        self._set_columns()

    def on_resize(self, event: events.Resize) -> None:
        if self._widths and self._widths != self._column_widths():
            self.show_counts(self.counts, self.examples)

    @property
    def table(self) -> DataTable:
        return self.query_one("#findings-table", DataTable)

    def _column_widths(self) -> dict[str, int]:
        total = (self.size.width or self.app.size.width) - SCROLLBAR_ROOM
        return findings_column_widths(total, list(self.counts))

    def _set_columns(self) -> None:
        table = self.table
        self._widths = self._column_widths()
        table.clear(columns=True)
        table.add_column("Severity", key="severity", width=self._widths["severity"])
        table.add_column("Code", key="code", width=self._widths["code"])
        table.add_column("Count", key="count", width=self._widths["count"])
        table.add_column("Example", key="example", width=self._widths["example"])

    def show_counts(
        self,
        counts: Mapping[str, int],
        examples: Mapping[str, Finding],
        eventless: Collection[str] = (),
    ):
        """Replace the table with `counts`, keeping the cursor on the same code.

        `eventless` codes are page-level findings that name no pixel event (a
        tracker that never sent its pageview): Enter shows their page load.
        """
        selected = self.selected_code()
        self.counts = Counter({code: n for code, n in counts.items() if n > 0})
        self.examples = dict(examples)
        self.eventless = frozenset(eventless)
        table = self.table

        self._set_columns()
        for code in sorted(self.counts, key=self._order):
            example = self.examples.get(code)
            severity = example.severity if example else None
            style = severity_style(severity)
            mark = f"{SEVERITY_MARKS[severity]} {severity.value}" if severity else "?"
            message = finding_message(example, self.masker) if example else ""
            table.add_row(
                table_cell(mark, style),
                table_cell(printable(code), style),
                table_cell(str(self.counts[code]), justify="right"),
                table_cell(printable(message)),
                key=code,
            )

        if selected in self.counts:
            table.move_cursor(row=table.get_row_index(selected), animate=False)
        # An empty table shrinks to its header, its message right under it.
        self.set_class(not self.counts, "empty")
        self._explain(self.selected_code())

    def selected_code(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        return str(table.ordered_rows[table.cursor_row].key.value)

    def _order(self, code: str) -> tuple[int, int, str]:
        example = self.examples.get(code)
        rank = example.severity.rank if example else -1
        return (-rank, -self.counts[code], code)

    @on(DataTable.RowHighlighted, "#findings-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._explain(str(event.row_key.value) if event.row_key else None)

    @on(DataTable.RowSelected, "#findings-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key is not None:
            self.post_message(self.CodeChosen(str(event.row_key.value)))

    def _explain(self, code: str | None) -> None:
        body = self.query_one("#finding-explanation", Static)
        example = self.examples.get(code) if code else None
        if example is None:
            self.text = Text(PLACEHOLDER if self.counts else self.empty_message, "dim")
            body.update(self.text)
            return
        document = DetailDocument(self.masker)
        times = "once" if self.counts[code] == 1 else f"{self.counts[code]} times"
        document.append(f"{printable(code)}: seen {times}. For example:\n", "bold")
        finding_text(document, example)
        if code in self.eventless:
            document.paragraph(
                "no pixel event shows it; enter shows its page load in Pages, when it "
                "has one",
                2,
                style="dim",
            )
        elif example.event_id:
            document.paragraph(
                f"in event {printable(example.event_id)}; enter shows every event "
                "with this code",
                2,
                style="dim",
            )
        self.text = document.text()
        body.update(document.renderable())
