"""The Segment Inspector terminal UI: a browser-extension-like panel for pixels.

One `InspectorApp` serves both front ends:

- **live**: it is given a factory for a `ProxySession` (see `inspector.proxy`), starts
  it on mount, runs it as an async worker on the app's own event loop and stops it
  (closing the port) when the app exits;
- **view**: it is given recording files, reads them in a thread and feeds their
  requests through the same `Inspection`.

Either way reports arrive through `receive_reports`, are counted at once and are
added to the events table in batches by `flush`, which runs every `flush_interval`
seconds. The table holds at most `max_rows` rows; the counts stay exact.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.widgets import Footer, Input, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from inspector.model import CapturedRequest, Finding
from inspector.report import make_masker
from inspector.tui.filtering import EventFilter, parse_filter
from inspector.tui.logsink import AppLogHandler
from inspector.tui.messages import LogLine, RecordingsRead, SourceFinished
from inspector.tui.screens import HelpScreen, SaveScreen, binding_rows
from inspector.tui.widgets.detail import DetailPane
from inspector.tui.widgets.events_table import EventsTable
from inspector.tui.widgets.findings_view import FindingsView
from inspector.tui.widgets.log_view import LogView
from inspector.tui.widgets.pages_view import PagesView
from inspector.tui.widgets.segments_view import SegmentsView
from inspector.tui.widgets.status_bar import EventCounts, StatusBar

if TYPE_CHECKING:
    from inspector.inspection import EventReport, Inspection
    from inspector.pages import PageDiagnosis, PageLoad
    from inspector.recordings import RecordingError

logger = logging.getLogger(__name__)

DEFAULT_MAX_ROWS = 5000
FLUSH_INTERVAL = 0.1
VIEW_REFRESH_INTERVAL = 0.5
DETAIL_INTERVAL = 0.25
"""While following a flood, the detail pane changes at most this often (seconds)."""
FEED_CHUNK = 500
WIDE_LAYOUT_COLUMNS = 160
RECENT_REQUESTS_KEPT = 20_000
"""Live requests kept for `s` when the session is not recorded to a file."""

ReportSink = Callable[[list["EventReport"]], None]
RequestSink = Callable[[CapturedRequest], None]


class ProxySessionLike(Protocol):
    """What the app needs from `inspector.proxy.ProxySession`."""

    record_path: Path | None

    @property
    def ca_cert_path(self) -> Path: ...

    async def start(self) -> list[tuple[str, int]]: ...

    async def run(self) -> None: ...

    async def stop(self) -> None: ...

    def save(self) -> None: ...


SessionFactory = Callable[[ReportSink, RequestSink], ProxySessionLike]
"""Builds the proxy session, given where to send reports and requests."""

RequestLoader = Callable[
    [Sequence[Path]], "tuple[list[CapturedRequest], list[RecordingError]]"
]


class InspectorApp(App[int]):
    """Watch Parse.ly pixel events, their segment data and what is wrong with them."""

    TITLE = "Segment Inspector"
    CSS_PATH = Path(__file__).with_name("app.tcss")
    """Absolute, so that subclasses defined elsewhere find it too."""

    BINDINGS = [
        Binding("slash", "filter", "Filter"),
        Binding("p", "toggle_pause", "Pause"),
        Binding("c", "clear", "Clear"),
        Binding("s", "save", "Save"),
        Binding("f", "follow", "Follow newest"),
        Binding("1", "show_tab('events')", "Events view", show=False),
        Binding("2", "show_tab('findings')", "Findings view", show=False),
        Binding("3", "show_tab('segments')", "Segments view", show=False),
        Binding("4", "show_tab('pages')", "Pages view", show=False),
        Binding("5", "show_tab('log')", "Log view", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    NAVIGATION_HELP = [
        ("click", "Select a row (in any table) or a tab"),
        ("tab, shift+tab", "Move focus between panes"),
        ("esc", "Leave the filter box (the filter stays)"),
        ("ctrl+p", "Command palette"),
        ("ctrl+q", "Quit"),
    ]
    """Keys that Textual itself provides, listed in the help screen."""

    def __init__(
        self,
        inspection: Inspection,
        *,
        session_factory: SessionFactory | None = None,
        recordings: Sequence[str | Path] = (),
        request_loader: RequestLoader | None = None,
        source_label: str | None = None,
        max_rows: int = DEFAULT_MAX_ROWS,
        flush_interval: float = FLUSH_INTERVAL,
        log_level: int = logging.WARNING,
        save_directory: str | Path | None = None,
        show_pii: bool = False,
    ) -> None:
        """Create the app; nothing starts until it is mounted.

        Args:
            inspection: the pipeline reports come from; its spec drives the detail
                pane, its counts the Findings and Segments views.
            session_factory: live mode: builds the proxy session.
            recordings: view mode: files to read (`.mitm`, HAR, request lists).
            request_loader: reads `recordings` (default:
                `inspector.recordings.load_requests`).
            source_label: what the status bar says events come from.
            max_rows: the most rows the events table keeps.
            flush_interval: seconds between two batches of new rows.
            log_level: the lowest level shown in the Log view.
            save_directory: where `s` proposes to save (default: the current one).
            show_pii: show e-mail addresses, phone numbers and long numbers as
                sent instead of masking them.
        """
        super().__init__()
        self.inspection = inspection
        self.session_factory = session_factory
        self.recordings = [Path(path) for path in recordings]
        self.request_loader = request_loader
        self.max_rows = max_rows
        self.flush_interval = flush_interval
        self.log_level = log_level
        self.save_directory = Path(save_directory) if save_directory else Path.cwd()
        self.source_label = source_label or self._default_source_label()
        pii = getattr(inspection.spec, "pii", None)
        self.masker = make_masker(
            show_pii, long_number_digits=getattr(pii, "long_number_digits", 9)
        )

        self.session: ProxySessionLike | None = None
        self.listen_addresses: list[tuple[str, int]] = []
        self.startup_error: str | None = None
        """Why the proxy did not start, when it did not."""
        self.counts = EventCounts()
        self.paused = False
        self.event_filter: EventFilter = parse_filter("")
        self.loading_finished = asyncio.Event()
        """Set once every recording has been read and inspected (view mode)."""

        self._pending: deque[EventReport] = deque(maxlen=max_rows)
        self._retained: deque[EventReport] = deque(maxlen=max_rows)
        self._loaded_requests: list[CapturedRequest] = []
        self._recent_requests: deque[CapturedRequest] = deque(
            maxlen=RECENT_REQUESTS_KEPT
        )
        self._finding_examples: dict[str, Finding] = {}
        self._finding_baseline: Counter[str] = Counter()
        self._segment_baseline: dict[str, Counter[str]] = {}
        self._hidden_pages: set[str] = set()
        self._diagnosis_baseline: Counter[str] = Counter()
        self._views_dirty = True
        self._last_view_refresh = 0.0
        self._detail_stale = False
        self._last_detail_update = 0.0
        self._log_handler: AppLogHandler | None = None

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        # The views are kept as attributes: they stay reachable while a modal
        # screen is on top, and while the app shuts down.
        self.events_table = EventsTable(
            max_rows=self.max_rows, masker=self.masker, id="events-table"
        )
        self.detail = DetailPane(self.inspection.spec, self.masker, id="detail")
        self.findings_view = FindingsView(id="findings-view")
        self.segments_view = SegmentsView(self.masker, id="segments-view")
        self.pages_view = PagesView(self.masker, id="pages-view")
        self.log_view = LogView(id="log-view")
        self.views = TabbedContent(initial="events", id="views")
        self.filter_box = Input(
            placeholder="filter: text  action:pageview  severity:warning  key=value",
            id="filter",
        )
        self.status_bar = StatusBar(id="status")
        self.events_split = Container(id="events-split")

        with self.views:
            with TabPane("Events", id="events"):
                with self.events_split:
                    yield self.events_table
                    yield self.detail
            with TabPane("Findings", id="findings"):
                yield self.findings_view
            with TabPane("Segments", id="segments"):
                yield self.segments_view
            with TabPane("Pages", id="pages"):
                yield self.pages_view
            with TabPane("Log", id="log"):
                yield self.log_view
        yield self.filter_box
        yield self.status_bar
        yield Footer()

    async def on_mount(self) -> None:
        self._log_handler = AppLogHandler(self, level=self.log_level)
        logging.getLogger().addHandler(self._log_handler)
        self._adjust_layout(self.size.width)
        self.events_table.focus()
        self.set_interval(self.flush_interval, self.flush)
        self._show_status()

        if self.session_factory is not None:
            # Awaited, so that once the app is up the proxy listens (or has failed).
            await self._start_session()
        elif self.recordings:
            self._read_recordings()
        else:
            self.loading_finished.set()

    async def on_unmount(self) -> None:
        await self._stop_session()
        if self._log_handler is not None:
            logging.getLogger().removeHandler(self._log_handler)
            self._log_handler = None

    def on_resize(self) -> None:
        self._adjust_layout(self.size.width)

    def _adjust_layout(self, width: int) -> None:
        """Side by side on wide terminals, stacked on narrow ones."""
        self.events_split.set_class(width >= WIDE_LAYOUT_COLUMNS, "wide")

    # ------------------------------------------------------------------ sources

    async def _start_session(self) -> None:
        from inspector.proxy import ProxyStartError

        assert self.session_factory is not None
        self.session = self.session_factory(self.receive_reports, self._keep_request)
        try:
            self.listen_addresses = list(await self.session.start())
        except ProxyStartError as problem:
            logger.error("the proxy did not start: %s", problem)
            self.startup_error = str(problem)
            self.source_label = f"proxy not running: {problem}"
            self.notify(str(problem), title="Proxy not started", severity="error")
            self.session = None
            self._show_status()
            return

        self.source_label = _listening_label(self.listen_addresses)
        logger.info(
            "listening on %s; clients must trust %s",
            self.source_label,
            self.session.ca_cert_path,
        )
        self.run_worker(
            self.session.run(), name="proxy", group="proxy", exit_on_error=False
        )
        self._show_status()

    async def _stop_session(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            await session.stop()

    async def action_quit(self) -> None:
        await self._stop_session()
        self.exit(0)

    def _keep_request(self, request: CapturedRequest) -> None:
        self._recent_requests.append(request)

    @work(thread=True, group="recordings", exit_on_error=False)
    def _read_recordings(self) -> None:
        loader = self.request_loader
        if loader is None:
            from inspector.recordings import load_requests as loader
        requests, errors = loader(self.recordings)
        self.post_message(RecordingsRead(requests, errors))

    def on_recordings_read(self, message: RecordingsRead) -> None:
        self.run_worker(
            self._feed_requests(message.requests, message.errors),
            name="inspect recordings",
            group="recordings",
            exit_on_error=False,
        )

    async def _feed_requests(
        self, requests: list[CapturedRequest], errors: list[Any]
    ) -> None:
        """Inspect what the recordings held, yielding to the UI between chunks."""
        for error in errors:
            logger.error("%s", error)
        if errors:
            self.notify(
                f"{len(errors)} problem(s) reading the recordings; see Log (5)",
                title="Recording errors",
                severity="error",
            )

        self._loaded_requests = list(requests)
        for start in range(0, len(requests), FEED_CHUNK):
            for request in requests[start : start + FEED_CHUNK]:
                try:
                    reports = self.inspection.process(request)
                except Exception:
                    logger.exception("could not inspect %s", request.origin)
                    continue
                if reports:
                    self.receive_reports(reports)
            await asyncio.sleep(0)

        logger.info("read %d requests from %s", len(requests), self.source_label)
        self.post_message(SourceFinished(len(requests), len(errors)))

    def on_source_finished(self, message: SourceFinished) -> None:
        self.flush()
        self.loading_finished.set()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is not WorkerState.ERROR:
            return
        logger.error("%s failed: %s", worker.name or "worker", worker.error)
        self.notify(str(worker.error), title=f"{worker.name} failed", severity="error")
        if worker.group == "recordings":
            self.loading_finished.set()

    # ------------------------------------------------------------------ reports

    def receive_reports(self, reports: Iterable[EventReport]) -> None:
        """Take new reports from the proxy or a recording; cheap, called per pixel."""
        for report in reports:
            self.counts.add(report.worst)
            for finding in report.findings:
                self._finding_examples.setdefault(finding.code, finding)
            if self.paused:
                self.counts.hidden_while_paused += 1
            else:
                self._pending.append(report)
            self._views_dirty = True

    def flush(self) -> None:
        """Add the reports received since the last flush to the table, in one go."""
        table = self.events_table
        if not table.is_attached:
            return  # The app is shutting down.
        if self._pending:
            batch = list(self._pending)
            self._pending.clear()
            self._retained.extend(batch)
            added = table.append_reports(
                r for r in batch if self.event_filter.matches(r)
            )
            if added and table.following:
                self._detail_stale = True

        now = asyncio.get_running_loop().time()
        if self._detail_stale and now - self._last_detail_update >= DETAIL_INTERVAL:
            self._show_selected()
        if self._views_dirty and now - self._last_view_refresh >= VIEW_REFRESH_INTERVAL:
            self.refresh_views()
        self._show_status()

    def refresh_views(self) -> None:
        """Bring the view on screen (Findings, Segments, Pages) up to date."""
        self._last_view_refresh = asyncio.get_running_loop().time()
        self._views_dirty = False
        active = self.views.active
        if active == "findings":
            self.findings_view.show_counts(
                self.finding_counts(), self._finding_examples
            )
        elif active == "segments":
            self.segments_view.show_counts(
                self.segment_counts(), getattr(self.inspection.spec, "segments", {})
            )
        elif active == "pages":
            self.pages_view.show_pages(self.page_loads())
        else:
            # Nothing on screen needs it; refresh when that view is opened.
            self._views_dirty = True

    def finding_counts(self) -> Counter[str]:
        """Findings per code since the start or the last clear, pages' included."""
        counts = Counter(self.inspection.finding_counts)
        counts.subtract(self._finding_baseline)
        counts.update(self._diagnosis_counts())
        return +counts

    def page_loads(self) -> list[PageLoad]:
        """The page loads kept by the inspection, except those before a clear."""
        return [
            page
            for page in self.inspection.pages.page_loads()
            if page.key not in self._hidden_pages
        ]

    def _diagnosis_counts(self) -> Counter[str]:
        """Page, visitor and scenario diagnoses per code, since the last clear."""
        counts: Counter[str] = Counter()
        for diagnosis in self.inspection.pages.diagnoses():
            counts[diagnosis.code] += 1
            if diagnosis.code not in self._finding_examples:
                self._finding_examples[diagnosis.code] = _as_finding(diagnosis)
        counts.subtract(self._diagnosis_baseline)
        return counts

    def segment_counts(self) -> dict[str, Counter[str]]:
        """Values per segment key since the start or the last clear."""
        result = {}
        for key, counter in self.inspection.segment_counts.items():
            current = Counter(counter)
            current.subtract(self._segment_baseline.get(key, Counter()))
            current = +current
            if current:
                result[key] = current
        return result

    # ------------------------------------------------------------------ events

    @on(EventsTable.Highlighted, "#events-table")
    def _event_highlighted(self, event: EventsTable.Highlighted) -> None:
        now = asyncio.get_running_loop().time()
        if self.events_table.following and (
            now - self._last_detail_update < DETAIL_INTERVAL
        ):
            # Following a flood: `flush` shows the newest event a few times a
            # second instead of re-rendering the pane for every batch.
            self._detail_stale = True
        else:
            self._show_selected()
        self._show_status()

    def _show_selected(self) -> None:
        self._detail_stale = False
        self._last_detail_update = asyncio.get_running_loop().time()
        self.detail.show(self.events_table.selected_report)

    @on(TabbedContent.TabActivated, "#views")
    def _view_activated(self, event: TabbedContent.TabActivated) -> None:
        self._focus_view(self.views.active)
        self._views_dirty = True
        self.refresh_views()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.apply_filter(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.apply_filter(event.value)
        if self.event_filter.errors:
            self.notify(
                "\n".join(self.event_filter.errors), title="Filter terms ignored"
            )
        self._leave_filter()

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and isinstance(self.focused, Input):
            if self.focused.id == "filter":
                event.stop()
                self._leave_filter()

    def on_log_line(self, message: LogLine) -> None:
        self.log_view.add_line(message.level, message.text)

    def apply_filter(self, text: str) -> None:
        """Show only the retained events that match `text` (see `filtering`)."""
        new_filter = parse_filter(text)
        if new_filter.text.strip() == self.event_filter.text.strip():
            self.event_filter = new_filter
            return
        self.event_filter = new_filter
        table = self.events_table
        table.replace_reports(r for r in self._retained if new_filter.matches(r))
        table.jump_to_newest()
        self._show_selected()
        self._show_status()

    def _leave_filter(self) -> None:
        filter_box = self.filter_box
        filter_box.set_class(bool(filter_box.value.strip()), "active")
        filter_box.remove_class("editing")
        self.action_show_tab("events")
        self.events_table.focus()

    # ------------------------------------------------------------------ actions

    def action_filter(self) -> None:
        self.action_show_tab("events")
        filter_box = self.filter_box
        filter_box.add_class("editing")
        filter_box.focus()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused:
            self.counts.hidden_while_paused = 0
        self.notify(
            "Paused: new events are counted, not shown" if self.paused else "Resumed"
        )
        self._show_status()

    def action_clear(self) -> None:
        """Forget the events shown so far; counts and views start again from zero."""
        self._pending.clear()
        self._retained.clear()
        self.events_table.clear_reports()
        self.events_table.following = True
        self.detail.show(None)
        self.counts = EventCounts()
        self._finding_baseline = Counter(self.inspection.finding_counts)
        self._segment_baseline = {
            key: Counter(counter)
            for key, counter in self.inspection.segment_counts.items()
        }
        self._hidden_pages = {page.key for page in self.inspection.pages.page_loads()}
        self._diagnosis_baseline = Counter(
            diagnosis.code for diagnosis in self.inspection.pages.diagnoses()
        )
        self._views_dirty = True
        self.refresh_views()
        self._show_status()

    def action_follow(self) -> None:
        self.action_show_tab("events")
        self.events_table.jump_to_newest()
        self._show_selected()
        self._show_status()

    def action_show_tab(self, tab: str) -> None:
        self.views.active = tab
        self._focus_view(tab)

    def _focus_view(self, tab: str) -> None:
        """Focus the main widget of a view.

        Otherwise the widget that had focus in the view just hidden keeps it (or
        passes it to its neighbour), and the tabs switch straight back to it.
        """
        targets = {
            "events": self.events_table,
            "findings": self.findings_view.table,
            "segments": self.segments_view,
            "pages": self.pages_view.table,
            "log": self.log_view,
        }
        target = targets.get(tab)
        if target is not None and self.focused is not self.filter_box:
            target.focus()

    def action_help(self) -> None:
        sections = [
            ("Keys", binding_rows(self.BINDINGS)),
            ("Events table", binding_rows(EventsTable.BINDINGS)),
            ("Everywhere", self.NAVIGATION_HELP),
        ]
        self.push_screen(HelpScreen(sections))

    def action_save(self) -> None:
        session = self.session
        if session is not None and session.record_path is not None:
            self.save_to(session.record_path)
            return

        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        default = self.save_directory / f"segment-inspector-{stamp}.har"
        hint = "A .har or .mitm file name; enter saves, esc cancels."
        self.push_screen(SaveScreen(str(default), hint), self._save_chosen)

    def _save_chosen(self, path: str | None) -> None:
        if path:
            self.save_to(Path(path).expanduser())

    def save_to(self, path: Path) -> Path | None:
        """Save the session: the proxy's own recording, or the requests seen."""
        session = self.session
        try:
            if session is not None and session.record_path == path:
                session.save()
                count = None
            else:
                count = self._export(path)
        except (OSError, ValueError) as problem:
            logger.error("could not save %s: %s", path, problem)
            self.notify(f"{path}: {problem}", title="Not saved", severity="error")
            return None

        what = "recording" if count is None else f"{count} requests"
        logger.info("saved %s to %s", what, path)
        self.notify(f"Saved {what} to {path}", title="Saved")
        return path

    def _export(self, path: Path) -> int:
        from inspector.recordings import write_har, write_mitm

        requests = self._loaded_requests or list(self._recent_requests)
        suffix = path.suffix.lower()
        if suffix == ".mitm":
            return write_mitm(requests, path)
        if suffix in (".har", ".zhar"):
            return write_har(requests, path)
        raise ValueError("use a .har or .mitm file name")

    # ------------------------------------------------------------------ status

    def _show_status(self) -> None:
        table = self.events_table
        self.status_bar.show_status(
            source=self.source_label,
            counts=self.counts,
            shown=table.row_count,
            paused=self.paused,
            filter_text=self.event_filter.text.strip(),
            following=table.following,
        )

    def _default_source_label(self) -> str:
        if self.session_factory is not None:
            return "starting the proxy…"
        if not self.recordings:
            return "no source"
        names = [path.name for path in self.recordings]
        if len(names) > 2:
            return f"{names[0]}, {names[1]} and {len(names) - 2} more"
        return ", ".join(names)


def _as_finding(diagnosis: PageDiagnosis) -> Finding:
    """A page-level diagnosis as the Findings view shows it."""
    if diagnosis.findings:
        return diagnosis.findings[0]
    return Finding(
        code=diagnosis.code,
        severity=diagnosis.severity,
        message=diagnosis.title,
        explanation=diagnosis.explanation,
    )


def _listening_label(addresses: Sequence[tuple[str, int]]) -> str:
    if not addresses:
        return "listening"
    shown = ", ".join(f"{host}:{port}" for host, port in addresses)
    return f"listening on {shown}"
