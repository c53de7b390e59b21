"""The Segments view: per segment key, each value seen and how often.

Custom keys come first (every event counts), then the standard segments Parse.ly
derives from the same pageviews: referrer category, campaign fields, geography.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from rich.text import Text
from textual.widgets import DataTable

from inspector.tui.presenters import (
    VALUE_STYLES,
    Masker,
    json_type,
    printable,
    shown,
    unmasked,
)

logger = logging.getLogger(__name__)


class SegmentsView(DataTable):
    """One row per (key, value) with counts; declared keys never sent show as such."""

    def __init__(self, masker: Masker = unmasked, **kwargs) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self.masker = masker

    def on_mount(self) -> None:
        self.add_column("Key", key="key")
        self.add_column("Value", key="value")
        self.add_column("Type", key="type")
        self.add_column("Events", key="count")
        self.add_column("Share", key="share")
        # What the spec declares; for standard segments, that they count pageviews
        # (the Events column then holds pageviews).
        self.add_column("Note", key="spec")

    def show_counts(
        self,
        segment_counts: Mapping[str, Mapping[str, int]],
        declared: Mapping[str, object] | None = None,
        standard_counts: Mapping[str, Mapping[str, int]] | None = None,
    ) -> None:
        """Rebuild from `Inspection.segment_counts`-shaped data (JSON value labels),
        then the standard segments (`Inspection.standard_counts`, plain labels)."""
        declared = declared or {}
        cursor_row = self.cursor_row
        self.clear()

        for key in sorted(set(segment_counts) | set(declared)):
            values = {label: n for label, n in segment_counts.get(key, {}).items() if n}
            spec_note = _spec_note(declared.get(key))
            if not values:
                self.add_row(
                    Text(printable(key), style="bold"),
                    Text("never sent", style="dim italic"),
                    Text(""),
                    Text("0", justify="right"),
                    Text(""),
                    Text(spec_note, style="dim"),
                )
                continue

            total = sum(values.values())
            ordered = sorted(values.items(), key=lambda item: (-item[1], item[0]))
            for index, (label, count) in enumerate(ordered):
                kind = _label_type(label)
                self.add_row(
                    Text(shown(key, self.masker) if index == 0 else "", style="bold"),
                    Text(shown(label, self.masker), style=VALUE_STYLES.get(kind, "")),
                    Text(kind, style="dim"),
                    Text(str(count), justify="right"),
                    Text(f"{100 * count / total:.0f}%", justify="right"),
                    Text(spec_note if index == 0 else "", style="dim"),
                )

        for name, values in (standard_counts or {}).items():
            total = sum(values.values())
            ordered = sorted(values.items(), key=lambda item: (-item[1], item[0]))
            for index, (label, count) in enumerate(ordered):
                self.add_row(
                    Text(f"{name} (standard)" if index == 0 else "", style="bold"),
                    Text(shown(label, self.masker)),
                    Text("standard", style="dim"),
                    Text(str(count), justify="right"),
                    Text(f"{100 * count / total:.0f}%", justify="right"),
                    Text("counts pageviews" if index == 0 else "", style="dim"),
                )

        if self.row_count:
            self.move_cursor(row=min(cursor_row, self.row_count - 1), animate=False)


def _label_type(label: str) -> str:
    try:
        return json_type(json.loads(label))
    except ValueError:
        return "?"


def _spec_note(segment: object | None) -> str:
    if segment is None:
        return ""
    kind = getattr(segment, "type", None)
    kind = getattr(kind, "value", kind)
    parts = [f"declared {kind}" if kind else "declared"]
    if getattr(segment, "required", False):
        parts.append("required")
    return ", ".join(parts)
