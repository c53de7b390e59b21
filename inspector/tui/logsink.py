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


OWN_LOGGER = "inspector"


class AppLogHandler(logging.Handler):
    """Posts records to an app as `LogLine`s.

    Records of other libraries (mitmproxy's connection chatter) must reach `level`;
    Segment Inspector's own records need only reach `own_level`, so that what the
    tool itself says (where it listens, what it saved, a blocker probe answered) is
    shown without turning on every library's informational messages.
    """

    def __init__(
        self, app: App, level: int = logging.WARNING, own_level: int | None = None
    ) -> None:
        self.other_level = level
        self.own_level = level if own_level is None else min(own_level, level)
        super().__init__(self.own_level)
        self.app = app
        self.setFormatter(logging.Formatter(LOG_FORMAT, "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < self.other_level and not _is_own(record.name):
            return
        try:
            self.app.post_message(LogLine(record.levelno, self.format(record)))
        except Exception:  # noqa: BLE001 - logging must never raise into callers
            self.handleError(record)


def _is_own(name: str) -> bool:
    return name == OWN_LOGGER or name.startswith(OWN_LOGGER + ".")


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
