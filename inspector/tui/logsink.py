"""Route stdlib logging into the Log view.

mitmproxy and our own modules log through `logging`. While the UI owns the terminal,
nothing may write to stderr, so the entry points detach console handlers and this
handler posts each record to the app instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from textual.app import App

from inspector.tui.messages import LogLine

logger = logging.getLogger(__name__)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class AppLogHandler(logging.Handler):
    """Posts every record at or above its level to an app as a `LogLine`."""

    def __init__(self, app: App, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self.app = app
        self.setFormatter(logging.Formatter(LOG_FORMAT, "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.app.post_message(LogLine(record.levelno, self.format(record)))
        except Exception:  # noqa: BLE001 - logging must never raise into callers
            self.handleError(record)


@contextmanager
def attached(handler: logging.Handler, logger_name: str = "") -> Iterator[None]:
    """Attach `handler` to a logger (root by default), lowering its level if needed."""
    target = logging.getLogger(logger_name)
    previous_level = target.level
    if handler.level and target.level > handler.level:
        target.setLevel(handler.level)
    target.addHandler(handler)
    try:
        yield
    finally:
        target.removeHandler(handler)
        target.setLevel(previous_level)


@contextmanager
def console_logging_silenced() -> Iterator[None]:
    """Detach the root logger's stream handlers while a full-screen UI runs."""
    root = logging.getLogger()
    streams = [
        handler
        for handler in root.handlers
        if isinstance(handler, logging.StreamHandler)
        and not isinstance(handler, logging.FileHandler)
    ]
    for handler in streams:
        root.removeHandler(handler)
    try:
        yield
    finally:
        for handler in streams:
            root.addHandler(handler)
