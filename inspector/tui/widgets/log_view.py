"""The Log view: proxy and inspector log records, newest last."""

from __future__ import annotations

import logging

from rich.text import Text
from textual.widgets import RichLog

from inspector.tui.presenters import printable

logger = logging.getLogger(__name__)

LEVEL_STYLES = {
    logging.DEBUG: "dim",
    logging.INFO: "",
    logging.WARNING: "yellow",
    logging.ERROR: "bold red",
    logging.CRITICAL: "bold reverse red",
}


RECORD_LIMIT = 20_000
"""The most characters of one record shown: a traceback fits, a record quoting a
huge pixel is cut."""
CONTINUATION = "    "
"""Indent of a record's second and later lines."""


class LogView(RichLog):
    """A capped `RichLog` that remembers its lines as plain text too."""

    def __init__(self, max_lines: int = 2000, **kwargs) -> None:
        super().__init__(max_lines=max_lines, wrap=True, markup=False, **kwargs)
        self.plain_lines: list[str] = []
        """The lines written so far, as plain text (capped like the widget)."""

    def add_line(self, level: int, line: str) -> None:
        """Add a record; control characters from traffic are shown as escapes.

        A record of several lines (a traceback, a list of problems) keeps them,
        each after the first indented, so that none can pass for a record of
        its own.
        """
        line = printable(line, keep_newlines=True, limit=RECORD_LIMIT)
        line = line.replace("\n", "\n" + CONTINUATION)
        style = LEVEL_STYLES.get(level, "")
        self.write(Text(line, style=style))
        self.plain_lines.append(line)
        if self.max_lines and len(self.plain_lines) > self.max_lines:
            del self.plain_lines[: len(self.plain_lines) - self.max_lines]
