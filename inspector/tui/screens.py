"""Modal screens: the key help and the save dialog."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

logger = logging.getLogger(__name__)

FILTER_INTRO = (
    "Filter terms, for the Events view (all must match; a leading - negates one):"
)
FILTER_TERMS = [
    ("text", "free text in the event id, URL, parameters, data, findings"),
    ("action:pageview", "the event's action"),
    ("site:example.com", "the idsite contains this"),
    ("severity:warning", "worst finding at or above (info, warning, error; or i/w/e)"),
    ("code:segment.", "a finding code starting with this"),
    ("plan=premium", 'segment value ("true" is a string, true a boolean)'),
    ("plan=*", "the segment key is present"),
]
FILTER_NOTES = (
    "An event's findings include the page and visitor diagnoses it is evidence "
    "of. A term that cannot be understood is shown under the box and nothing is "
    "applied.\n\n"
    "Clear (c) starts the table, the counts, the Findings, Segments and Pages "
    "views and saving from now. Save (s) writes the requests since the start or "
    "the last clear (with live --record and no clear: that recording, at once); it "
    "asks before replacing a file. Quitting (q, ctrl+c) writes the --record file."
)
"""Paragraphs, one line each: the dialog wraps them to its width."""
KEY_COLUMN = 22
"""Width of the keys column in the help, its two-space indent included."""


SAVE_SUFFIXES = (".har", ".zhar", ".mitm")
"""The file names `s` can write: HAR (`.zhar` compressed) or mitmproxy flows."""


def save_name_problem(path: Path) -> str | None:
    """Why the session cannot be saved under this name, if it cannot."""
    if path.suffix.lower() not in SAVE_SUFFIXES:
        return f"{path.name or path}: use a .har or .mitm file name"
    return None


def binding_rows(bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    """(keys, description) for each binding, with display-friendly key names."""
    rows = []
    for binding in bindings:
        if isinstance(binding, Binding):
            keys, description = binding.key, binding.description or binding.action
        else:
            keys, _action, description = (*binding, "")[:3]
        shown = ", ".join(_key_label(key.strip()) for key in keys.split(","))
        rows.append((shown, description))
    return rows


def _key_label(key: str) -> str:
    names = {"slash": "/", "question_mark": "?", "escape": "esc"}
    return names.get(key, key)


class HelpScreen(ModalScreen[None]):
    """Every key binding of the app and the table, and the filter language."""

    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close help"),
    ]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections
        self.text = self._build_text()
        """The help as Rich text (tests read `.text.plain`)."""

    def _build_text(self) -> Text:
        text = Text()
        for title, rows in self.sections:
            text.append(f"{title}\n", style="bold underline")
            for keys, description in rows:
                text.append(f"  {keys:<{KEY_COLUMN}}", style="bold")
                text.append(f"{description}\n")
            text.append("\n")
        text.append(f"{FILTER_INTRO}\n")
        for term, meaning in FILTER_TERMS:
            text.append(f"  {term:<{KEY_COLUMN - 1}}{meaning}\n")
        text.append(FILTER_NOTES)
        return text

    def _build_renderable(self) -> RenderableType:
        """The same help laid out in columns, so that a long description wraps
        under itself rather than under the keys."""
        parts: list[RenderableType] = []
        for title, rows in self.sections:
            parts.append(Text(title, style="bold underline"))
            parts.extend((_two_columns(rows, key_style="bold"), Text("")))
        parts.append(Text(FILTER_INTRO))
        parts.append(_two_columns(FILTER_TERMS, key_style=""))
        parts.append(Text(FILTER_NOTES))
        return Group(*parts)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Label("Keys  (esc closes)", id="help-title")
            with VerticalScroll():
                yield Static(self._build_renderable(), id="help-body")

    def action_dismiss(self) -> None:
        self.dismiss(None)


def _two_columns(rows: Iterable[tuple[str, str]], key_style: str) -> Table:
    grid = Table.grid(padding=(0, 0, 0, 2), pad_edge=True)
    grid.add_column(width=KEY_COLUMN, no_wrap=True, style=key_style)
    grid.add_column(ratio=1)
    for keys, description in rows:
        grid.add_row(keys, description)
    return grid


class SaveScreen(ModalScreen[str | None]):
    """Ask where to save, and save; dismisses with the path saved to, or None
    when cancelled.

    Enter calls `save(path)`, which saves and returns None, or returns why it
    could not. A name that cannot be saved to (no name, a directory, not .har or
    .mitm, a folder that does not exist, no permission) keeps the dialog open,
    with the reason under the box and the path as typed, to be corrected. A path
    that names an existing file is only accepted when enter is pressed a second
    time on it: the first time, the dialog says the file would be replaced.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self, default_path: str, hint: str, save: Callable[[str], str | None]
    ) -> None:
        super().__init__()
        self.default_path = default_path
        self.hint = hint
        self.save = save
        self._confirmed: str | None = None
        """The existing file the user was warned about."""

    def compose(self) -> ComposeResult:
        with Vertical(id="save-dialog"):
            yield Label("Save the session to", id="save-title")
            yield Input(value=self.default_path, id="save-path")
            yield Label(Text(self.hint), id="save-hint")

    @on(Input.Submitted, "#save-path")
    def _submitted(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        if not path:
            self._warn("Type a file name ending in .har or .mitm; esc cancels.")
            return
        target = Path(path).expanduser()
        if target.is_dir():
            self._warn(f"{path} is a directory: add a file name.")
            return
        problem = save_name_problem(target)
        if problem is not None:
            self._warn(f"{problem}; esc cancels.")
            return
        if target.exists() and self._confirmed != path:
            self._confirmed = path
            self._warn(f"{path} exists: enter again replaces it; esc cancels.")
            return
        problem = self.save(path)
        if problem is not None:
            self._confirmed = None
            self._warn(f"{problem}. Correct the path, or esc cancels.")
            return
        self.dismiss(path)

    @on(Input.Changed, "#save-path")
    def _changed(self, event: Input.Changed) -> None:
        """Another path: any warning was about the previous one."""
        if event.value.strip() == self._confirmed:
            return
        self._confirmed = None
        hint = self.query_one("#save-hint", Label)
        if hint.has_class("warning"):
            hint.update(Text(self.hint))
            hint.remove_class("warning")

    def _warn(self, text: str) -> None:
        hint = self.query_one("#save-hint", Label)
        hint.update(Text(text))
        hint.add_class("warning")

    def action_cancel(self) -> None:
        self.dismiss(None)
