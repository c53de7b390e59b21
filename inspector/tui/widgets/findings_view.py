"""The Findings view: every finding code seen, with how often it fired."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from inspector.model import Finding
from inspector.tui.presenters import (
    SEVERITY_MARKS,
    DetailDocument,
    finding_text,
    severity_style,
)

logger = logging.getLogger(__name__)

PLACEHOLDER = "Select a finding code to see what it means."


class FindingsView(Vertical):
    """A table of finding codes (worst first) and the selected code's explanation."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.counts: Counter[str] = Counter()
        self.text = Text(PLACEHOLDER, style="dim")
        """The selected code's explanation (tests read `.plain`)."""
        self.examples: dict[str, Finding] = {}

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row", id="findings-table")
        with VerticalScroll(id="finding-explanation-scroll"):
            yield Static(
                Text(PLACEHOLDER, style="dim"),
                id="finding-explanation",
            )

    def on_mount(self) -> None:
        table = self.query_one("#findings-table", DataTable)
        table.add_column("Severity", key="severity")
        table.add_column("Code", key="code")
        table.add_column("Count", key="count")
        table.add_column("Example", key="example")

    @property
    def table(self) -> DataTable:
        return self.query_one("#findings-table", DataTable)

    def show_counts(self, counts: Mapping[str, int], examples: Mapping[str, Finding]):
        """Replace the table with `counts`, keeping the cursor on the same code."""
        self.counts = Counter({code: n for code, n in counts.items() if n > 0})
        self.examples = dict(examples)
        table = self.query_one("#findings-table", DataTable)
        selected = self.selected_code()

        table.clear()
        for code in sorted(self.counts, key=self._order):
            example = self.examples.get(code)
            severity = example.severity if example else None
            style = severity_style(severity)
            mark = f"{SEVERITY_MARKS[severity]} {severity.value}" if severity else "?"
            table.add_row(
                Text(mark, style=style),
                Text(code, style=style),
                Text(str(self.counts[code]), justify="right"),
                example.message if example else "",
                key=code,
            )

        if selected in self.counts:
            table.move_cursor(row=table.get_row_index(selected), animate=False)
        self._explain(self.selected_code())

    def selected_code(self) -> str | None:
        table = self.query_one("#findings-table", DataTable)
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

    def _explain(self, code: str | None) -> None:
        body = self.query_one("#finding-explanation", Static)
        example = self.examples.get(code) if code else None
        if example is None:
            self.text = Text(PLACEHOLDER, "dim")
            body.update(self.text)
            return
        document = DetailDocument()
        times = "once" if self.counts[code] == 1 else f"{self.counts[code]} times"
        document.append(f"{code}: seen {times}. For example:\n", "bold")
        finding_text(document, example)
        self.text = document.text()
        body.update(document.renderable())
