"""The status bar: where events come from, how many, and whether the UI is paused."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from rich.text import Text
from textual.widgets import Static

from inspector.model import Severity
from inspector.report import plural
from inspector.tui.presenters import SEVERITY_STYLES, printable

logger = logging.getLogger(__name__)

SEVERITY_NOUNS = (
    (Severity.ERROR, "error"),
    (Severity.WARNING, "warning"),
    (Severity.INFO, "info"),
)
"""How findings are counted in the status bar: as `segment-inspector check`'s
summary counts them (each event's findings, and each page, visitor or scenario
diagnosis once)."""


@dataclass
class EventCounts:
    """Exact counts since the start (or the last clear), whatever the row cap."""

    total: int = 0
    findings: dict[Severity, int] = field(default_factory=dict)
    """The events' own findings, by severity (diagnoses are counted apart)."""
    hidden_while_paused: int = 0

    def add(self, findings) -> None:
        """Count one event and its own findings."""
        self.total += 1
        for finding in findings:
            severity = finding.severity
            self.findings[severity] = self.findings.get(severity, 0) + 1


class StatusBar(Static):
    """One line at the bottom of the screen."""

    def show_status(
        self,
        *,
        source: str,
        counts: EventCounts,
        diagnosis_counts: Mapping[Severity, int] | None = None,
        shown: int,
        paused: bool,
        filter_text: str,
        following: bool,
        recording_problems: int = 0,
        retained: int | None = None,
    ) -> None:
        """Show the source, the counts, and what the events table holds.

        `diagnosis_counts` are the page, visitor and scenario diagnoses by severity;
        added to the events' own findings they give the same totals as `check`.
        """
        diagnosis_counts = diagnosis_counts or {}
        text = Text()
        text.append(printable(source), style="bold")
        text.append(f"  │  {plural(counts.total, 'event')}")
        parts = []
        for severity, noun in SEVERITY_NOUNS:
            number = counts.findings.get(severity, 0) + diagnosis_counts.get(
                severity, 0
            )
            if number:
                parts.append((plural(number, noun), SEVERITY_STYLES[severity]))
        if parts:
            text.append(" · findings: ")
            for index, (label, style) in enumerate(parts):
                if index:
                    text.append(", ")
                text.append(label, style)
        elif counts.total:
            text.append(" · no findings", style="green")

        if filter_text:
            # The filter searches the rows kept (`--max-rows`), not every event.
            searched = counts.total if retained is None else retained
            scope = (
                f"of {counts.total}"
                if searched >= counts.total
                else f"of the {searched} most recent of {counts.total}"
            )
            text.append(
                f"  │  Events filter: {printable(filter_text)} ({shown} {scope} shown)",
                style="italic",
            )
        elif shown != counts.total:
            text.append(
                f"  │  {shown} of {counts.total} in the Events table", style="dim"
            )
        if recording_problems:
            text.append(
                f"  │  {plural(recording_problems, 'recording problem')}: see Log (5)",
                style="bold red",
            )
        if paused:
            text.append(
                f"  │  PAUSED ({counts.hidden_while_paused} not shown yet)",
                style="bold reverse yellow",
            )
        elif not following:
            text.append("  │  not following (f)", style="dim")
        self.update(text, layout=False)
