"""Messages posted to the app from outside its widgets.

Reports from the proxy or from a recording do not travel as messages: they are
buffered and added in batches (see `InspectorApp.flush`). Messages carry the rest.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from inspector.model import CapturedRequest
    from inspector.recordings import RecordingError


class LogLine(Message, bubble=False):
    """A log record, formatted, for the Log view. Safe to post from any thread."""

    def __init__(self, level: int, text: str) -> None:
        super().__init__()
        self.level = level
        self.text = text

    @property
    def level_name(self) -> str:
        return logging.getLevelName(self.level)


class RecordingsRead(Message, bubble=False):
    """The recordings have been read (in a thread); their requests await inspection."""

    def __init__(
        self, requests: list[CapturedRequest], errors: list[RecordingError]
    ) -> None:
        super().__init__()
        self.requests = requests
        self.errors = errors


class SourceFinished(Message, bubble=False):
    """Every recording given to `view` has been read and inspected."""

    def __init__(self, requests: int, failures: int) -> None:
        super().__init__()
        self.requests = requests
        self.failures = failures
