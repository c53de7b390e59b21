"""The Scenarios table under the Segments view: every spec scenario, seen or not.

A seen scenario shows how many pageviews showed it and on which pages; one not
seen yet shows what a pageview must carry to match it (segment values, keys left
out, standard segments) and what the spec says the tester does. The statuses come
from `inspector.coverage`, the same coverage `segment-inspector check` reports.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from inspector.coverage import ScenarioStatus
from inspector.tui.presenters import Masker, printable, shown, unmasked
from inspector.urls import split_url

logger = logging.getLogger(__name__)

_HOW_TO_NAME = (
    "the cases your segment code handles under `scenarios:` (each a name with the "
    "`segments` values, `absent` keys or `standard` segments its pageviews show) to "
    "see here which ones you have tested."
)
NO_SCENARIOS = f"Scenarios: none in the spec. Name {_HOW_TO_NAME}"
NO_SPEC = (
    "Scenarios: no spec given (--spec FILE; `segment-inspector spec init FILE` "
    f"writes a starter). In a spec, name {_HOW_TO_NAME}"
)
"""Shown instead of `NO_SCENARIOS` when the built-in spec is used."""
SEEN = "✔ seen"
NOT_SEEN = "○ not seen"
MAX_PAGES_SHOWN = 5


class ScenariosView(Vertical):
    """A title with how many scenarios were seen, and one row per scenario."""

    DEFAULT_CSS = """
    ScenariosView {
        height: auto;
        max-height: 50%;
        border-top: solid $primary;
    }
    ScenariosView > #scenarios-title {
        padding: 0 1;
    }
    ScenariosView > #scenarios-table {
        height: auto;
        max-height: 14;
    }
    ScenariosView.empty > #scenarios-table {
        display: none;
    }
    """

    def __init__(
        self, masker: Masker = unmasked, *, spec_given: bool = True, **kwargs
    ) -> None:
        """`spec_given` is false when no spec was given (`Spec.given`): there is
        then no spec to have no scenarios."""
        super().__init__(**kwargs)
        self.masker = masker
        self.no_scenarios = NO_SCENARIOS if spec_given else NO_SPEC
        self.statuses: tuple[ScenarioStatus, ...] = ()
        self.notes: dict[str, str] = {}
        """Why a scenario not seen could not have been, by name
        (`inspector.coverage.geography_notes`)."""
        self.title = Text(self.no_scenarios, style="dim")
        """The line above the table (tests read `.plain`)."""

    def compose(self) -> ComposeResult:
        yield Static(self.title, id="scenarios-title")
        yield DataTable(cursor_type="row", id="scenarios-table")

    def on_mount(self) -> None:
        table = self.table
        table.add_column("Scenario", key="scenario")
        table.add_column("Status", key="status")
        table.add_column("Pageviews", key="pageviews")
        table.add_column("Pages seen on, or what a pageview needs", key="where")
        self.show(self.statuses, self.notes)

    @property
    def table(self) -> DataTable:
        return self.query_one("#scenarios-table", DataTable)

    def show(
        self,
        statuses: Sequence[ScenarioStatus],
        notes: Mapping[str, str] | None = None,
    ) -> None:
        """Replace the rows with these statuses, keeping the cursor's row.

        `notes` say why a scenario not seen could not have been (no GeoIP
        database for a geography condition), as `check` does.
        """
        self.statuses = tuple(statuses)
        self.notes = dict(notes or {})
        seen = sum(1 for status in self.statuses if status.seen)
        if self.statuses:
            self.title = Text.assemble(
                ("Scenarios: ", "bold"),
                (f"{seen} of {len(self.statuses)} seen", "green" if seen else ""),
                *(
                    (
                        " · ",
                        (f"{len(self.statuses) - seen} not seen yet", "yellow"),
                    )
                    if seen < len(self.statuses)
                    else ()
                ),
            )
        else:
            self.title = Text(self.no_scenarios, style="dim")
        self.set_class(not self.statuses, "empty")
        if not self.is_mounted:
            return
        self.query_one("#scenarios-title", Static).update(self.title)

        table = self.table
        cursor_row = table.cursor_row
        table.clear()
        for status in self.statuses:
            table.add_row(
                Text(printable(status.name), style="bold"),
                Text(SEEN, style="green") if status.seen else Text(NOT_SEEN, "yellow"),
                Text(str(status.pageviews), justify="right"),
                self._where(status),
            )
        if table.row_count:
            table.move_cursor(row=min(cursor_row, table.row_count - 1), animate=False)

    def _where(self, status: ScenarioStatus) -> Text:
        if status.seen:
            paths = list(dict.fromkeys(_path(url) for url in status.pages))
            text = ", ".join(
                shown(path, self.masker) for path in paths[:MAX_PAGES_SHOWN]
            )
            if len(paths) > MAX_PAGES_SHOWN:
                text += f" and {len(paths) - MAX_PAGES_SHOWN} more"
            return Text(text or "(page address unknown)", no_wrap=True)
        needs = Text(no_wrap=True)
        note = self.notes.get(status.name)
        if note:
            needs.append(f"{printable(note)}; ", style="yellow")
        needs.append(printable(status.needs) or "any pageview")
        if status.description:
            needs.append(f"  ({printable(status.description)})", style="dim")
        return needs


def _path(url: str) -> str:
    """A page address without scheme, host and query, as the `check` report says."""
    return split_url(url).path or "/"
