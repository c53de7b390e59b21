"""The status bar: where events come from, how many, and whether the UI is paused."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from rich.text import Text
from textual.widgets import Static

from inspector.model import Severity
from inspector.tui.presenters import SEVERITY_STYLES

logger = logging.getLogger(__name__)

WORST_NOUNS = (
    (Severity.ERROR, "error"),
    (Severity.WARNING, "warning"),
    (Severity.INFO, "note"),
)
"""How events are counted by their worst finding in the status bar."""


@dataclass
class EventCounts:
    """Exact event counts since the start (or the last clear), whatever the cap."""

    total: int = 0
    by_worst: dict[Severity | None, int] = field(default_factory=dict)
    hidden_while_paused: int = 0

    def add(self, worst: Severity | None) -> None:
        self.total += 1
        self.by_worst[worst] = self.by_worst.get(worst, 0) + 1


class StatusBar(Static):
    """One line at the bottom of the screen."""

    def show_status(
        self,
        *,
        source: str,
        counts: EventCounts,
        shown: int,
        paused: bool,
        filter_text: str,
        following: bool,
    ) -> None:
        text = Text()
        text.append(source, style="bold")
        text.append(f"  │  {_count(counts.total, 'event')}")
        for severity, noun in WORST_NOUNS:
            number = counts.by_worst.get(severity, 0)
            if number:
                text.append(f" · {_count(number, noun)}", SEVERITY_STYLES[severity])
        if shown != counts.total:
            text.append(f"  │  {shown} shown", style="dim")
        if filter_text:
            text.append(f"  │  filter: {filter_text}", style="italic")
        if paused:
            text.append(
                f"  │  PAUSED ({counts.hidden_while_paused} not shown)",
                style="bold reverse yellow",
            )
        elif not following:
            text.append("  │  not following (f)", style="dim")
        self.update(text, layout=False)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
