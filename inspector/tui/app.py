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

Page, visitor and scenario diagnoses are worked out from the inspection's page
tracker now and then (`refresh_diagnoses`) and attached to the events they name as
evidence: an event's row, its detail and the filter see them, and the status bar
counts findings the way `segment-inspector check` does.

`c` (clear) starts everything from that moment: the events table, the counts, the
Findings, Segments and Pages views, and what `s` saves.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.widgets import Footer, Input, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from inspector.commands import DEFAULT_MAX_ROWS
from inspector.coverage import (
    CoverageMark,
    ScenarioStatus,
    coverage_mark,
    geography_notes,
    statuses_since,
)
from inspector.inspection import diagnosis_lineage
from inspector.model import CapturedRequest, Finding, Severity
from inspector.report import make_masker, plural
from inspector.tui.filtering import EventFilter, SearchTexts, parse_filter
from inspector.tui.logsink import OWN_LOGGER, AppLogHandler
from inspector.tui.messages import LogLine, RecordingsRead, SourceFinished
from inspector.tui.presenters import clock_time, diagnosis_finding, printable
from inspector.tui.screens import (
    HelpScreen,
    SaveScreen,
    binding_rows,
    save_name_problem,
)
from inspector.tui.widgets.detail import DetailPane
from inspector.tui.widgets.events_table import EventsTable
from inspector.tui.widgets.findings_view import FindingsView
from inspector.tui.widgets.log_view import LogView
from inspector.tui.widgets.pages_view import PagesView
from inspector.tui.widgets.scenarios_view import ScenariosView
from inspector.tui.widgets.segments_view import SegmentsView
from inspector.tui.widgets.status_bar import EventCounts, StatusBar

if TYPE_CHECKING:
    from inspector.inspection import EventReport, Inspection
    from inspector.pages import PageDiagnosis, PageLoad
    from inspector.recordings import RecordingError

    Loaded = tuple[list[CapturedRequest], list[RecordingError]]

logger = logging.getLogger(__name__)

FLUSH_INTERVAL = 0.1
VIEW_REFRESH_INTERVAL = 0.5
DETAIL_INTERVAL = 0.25
"""While following a flood, the detail pane changes at most this often (seconds)."""
DIAGNOSIS_INTERVAL = 0.5
"""Page diagnoses are worked out again at most this often (seconds), and less often
when that takes long: never more than `DIAGNOSIS_MAX_SHARE` of the time."""
DIAGNOSIS_MAX_SHARE = 0.2
LIVE_DIAGNOSIS_RECHECK = 5.0
"""In live mode time alone can change a diagnosis (a tracker still waiting for its
pageview times out), so they are worked out again this often even without traffic."""
FEED_CHUNK = 500
WIDE_LAYOUT_COLUMNS = 240
"""From this width the detail pane sits beside the events table, else below it:
beside a narrower table, the segments column would be cut short."""
RECENT_REQUESTS_KEPT = 20_000
"""Live requests kept for `s` (the newest)."""

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
        Binding(
            "ctrl+c", "quit", "Quit (also while typing)", show=False, priority=True
        ),
    ]

    NAVIGATION_HELP = [
        ("click", "Select a row (in any table) or a tab"),
        (
            "enter",
            "Findings: show the code's events (or its page load); Pages: show "
            "its worst event",
        ),
        ("tab, shift+tab", "Move focus between panes"),
        ("esc", "Leave the filter box (an invalid filter is dropped)"),
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
        loaded: Loaded | None = None,
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
            loaded: the recordings' requests and reading problems, when they have
                been read already (nothing is read then).
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
        self.loaded = loaded
        self.max_rows = max_rows
        self.flush_interval = flush_interval
        self.log_level = log_level
        self.save_directory = Path(save_directory) if save_directory else Path.cwd()
        self.source_label = source_label or self._default_source_label()
        self.spec_given = bool(getattr(inspection.spec, "given", True))
        """False when the built-in spec is used: messages then speak of none."""
        pii = getattr(inspection.spec, "pii", None)
        self.masker = make_masker(
            show_pii, long_number_digits=getattr(pii, "long_number_digits", 9)
        )

        self.session: ProxySessionLike | None = None
        self.listen_addresses: list[tuple[str, int]] = []
        self.startup_error: str | None = None
        """Why the proxy did not start, when it did not."""
        self.recording_errors: list[Any] = []
        """Problems met reading the recordings (view mode); they stay in the Log and
        in the status bar."""
        self.counts = EventCounts()
        self.paused = False
        self.search_texts = SearchTexts()
        """The retained events' lower-cased text, made once for free-text filters."""
        self.event_filter: EventFilter = parse_filter("")
        self.filter_errors: tuple[str, ...] = ()
        """Why the text in the filter box is not applied, when it is not."""
        self._filter_before_edit = ""
        self.loading_finished = asyncio.Event()
        """Set once every recording has been read and inspected (view mode)."""

        self._pending: deque[EventReport] = deque(maxlen=max_rows)
        self._paused_reports: deque[EventReport] = deque(maxlen=max_rows)
        """Reports received while paused, added to the table on resume."""
        self._retained: deque[EventReport] = deque(maxlen=max_rows)
        self._requests: deque[CapturedRequest] = deque(
            maxlen=RECENT_REQUESTS_KEPT if session_factory is not None else None
        )
        """The requests since the start or the last clear: what `s` saves."""
        self._cleared_at: float | None = None
        self._finding_code_counts: Counter[str] = Counter()
        """The events' own findings per code, since the start or the last clear."""
        self._finding_examples: dict[str, Finding] = {}
        self._segment_baseline: dict[str, Counter[str]] = {}
        self._standard_baseline: dict[str, Counter[str]] = {}
        self._page_baseline: dict[str, float] = {}
        """Page loads at the last clear, with the time of their last request then."""
        self._scenario_baseline: CoverageMark | None = None
        """Scenario coverage at the last clear."""
        self._diagnosis_baseline: dict[tuple[Any, ...], tuple[str, ...]] | None = None
        """Diagnoses at the last clear, with their evidence then."""
        self._diagnoses: list[PageDiagnosis] = []
        self._diagnoses_by_event: dict[str, tuple[PageDiagnosis, ...]] = {}
        self._diagnoses_stale = False
        self._next_diagnosis_refresh = 0.0
        self._views_dirty = True
        self._last_view_refresh = 0.0
        self._detail_stale = False
        self._last_detail_update = 0.0
        self._log_handler: AppLogHandler | None = None
        self._own_logger_level: int | None = None

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        # The views are kept as attributes: they stay reachable while a modal
        # screen is on top, and while the app shuts down.
        self.events_table = EventsTable(
            max_rows=self.max_rows,
            masker=self.masker,
            diagnoses_for=self.diagnoses_of,
            covers_site=getattr(self.inspection.spec, "applies_to_site", None),
            id="events-table",
        )
        self.detail = DetailPane(
            self.inspection.spec,
            self.masker,
            diagnoses_for=self.diagnoses_of,
            id="detail",
        )
        self.findings_view = FindingsView(self.masker, id="findings-view")
        self.segments_view = SegmentsView(self.masker, id="segments-view")
        self.scenarios_view = ScenariosView(
            self.masker, spec_given=self.spec_given, id="scenarios-view"
        )
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
                yield self.scenarios_view
            with TabPane("Pages", id="pages"):
                yield self.pages_view
            with TabPane("Log", id="log"):
                yield self.log_view
        yield self.filter_box
        yield self.status_bar
        yield Footer()

    async def on_mount(self) -> None:
        self._attach_log()
        self._show_spec_warnings()
        self._adjust_layout(self.size.width)
        self.events_table.focus()
        self.set_interval(self.flush_interval, self.flush)
        self._show_status()

        if self.session_factory is not None:
            self.events_table.empty_message = ["Starting the proxy…"]
            # Awaited, so that once the app is up the proxy listens (or has failed).
            await self._start_session()
        elif self.loaded is not None:
            self.events_table.empty_message = ["Inspecting the recordings…"]
            requests, errors = self.loaded
            self.post_message(RecordingsRead(requests, errors))
        elif self.recordings:
            self.events_table.empty_message = ["Reading the recordings…"]
            self._read_recordings()
        else:
            self.events_table.empty_message = ["No recording given."]
            self.loading_finished.set()

    async def on_unmount(self) -> None:
        await self._stop_session()
        self._detach_log()

    def _attach_log(self) -> None:
        """Show log records in the Log view: other libraries' from `log_level`, the
        inspector's own from INFO (what it listens on, saves, answers)."""
        self._log_handler = AppLogHandler(
            self, level=self.log_level, own_level=logging.INFO
        )
        logging.getLogger().addHandler(self._log_handler)
        own = logging.getLogger(OWN_LOGGER)
        if own.getEffectiveLevel() > logging.INFO:
            self._own_logger_level = own.level
            own.setLevel(logging.INFO)

    def _detach_log(self) -> None:
        if self._log_handler is not None:
            logging.getLogger().removeHandler(self._log_handler)
            self._log_handler = None
        if self._own_logger_level is not None:
            logging.getLogger(OWN_LOGGER).setLevel(self._own_logger_level)
            self._own_logger_level = None

    def _show_spec_warnings(self) -> None:
        """The spec's warnings (`Spec.warnings`), in the Log view and announced.

        The spec was loaded, and its warnings logged, before the UI took the
        terminal: written to stderr then, they would go unseen.
        """
        warnings = getattr(self.inspection.spec, "warnings", ())
        for warning in warnings:
            logger.warning("%s", warning)
        if warnings:
            self.notify(
                f"{plural(len(warnings), 'warning')} about the spec; see Log (5)\n"
                + printable(str(warnings[0])),
                title="Spec warnings",
                severity="warning",
                timeout=30,
                markup=False,
            )

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
            self.notify(
                printable(str(problem)),
                title="Proxy not started",
                severity="error",
                markup=False,
            )
            self.events_table.empty_message = [
                "The proxy did not start.",
                str(problem),
                "Quit (q), fix the problem and start again.",
            ]
            self.session = None
            self._show_status()
            return

        self.source_label = _listening_label(self.listen_addresses)
        answered = bool(getattr(self.session, "answer_pixels", False))
        self.detail.answered_locally = answered
        self._show_connection_help(answered)
        # Time alone can change a live diagnosis (a tracker waiting for its
        # pageview times out): look again now and then, traffic or not.
        self.set_interval(LIVE_DIAGNOSIS_RECHECK, self._recheck)
        self.run_worker(
            self.session.run(), name="proxy", group="proxy", exit_on_error=False
        )
        self._show_status()

    def _show_connection_help(self, answered: bool) -> None:
        """Say how to send traffic through the proxy: in the Log view, and in the
        events table until the first event arrives."""
        from inspector.proxy import connection_instructions, exposure_warning

        assert self.session is not None
        listen_host = getattr(self.session, "listen_host", "127.0.0.1")
        lines = connection_instructions(
            self.listen_addresses, self.session.ca_cert_path, listen_host
        )
        warning = exposure_warning(listen_host)
        if warning:
            # Printed before the UI took the screen, it would go unseen.
            logger.warning("%s", warning)
            self.notify(warning, title="Reachable from the network", severity="warning")
            lines.insert(1, f"  Warning: {warning}")
        if answered:
            pixels = (
                "  Pixels:  answered here with a 1x1 GIF (--answer-pixels); they "
                "never reach Parse.ly"
            )
        else:
            pixels = (
                "  Pixels:  forwarded to Parse.ly (counted there); --answer-pixels "
                "answers them here instead"
            )
        for line in [*lines, pixels]:
            self.log_view.add_line(logging.INFO, line)
        self.events_table.empty_message = [
            "Waiting for the first pixel event.",
            *lines,
            pixels,
            "Press ? for the keys; the Log (5) keeps these lines.",
        ]

    async def _stop_session(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            await session.stop()

    async def action_quit(self) -> None:
        await self._stop_session()
        self.exit(0)

    def _keep_request(self, request: CapturedRequest) -> None:
        """Every live request: kept for `s`, and it may change page diagnoses."""
        self._requests.append(request)
        self._diagnoses_stale = True
        if _is_blocker_probe(request) and self.inspection.is_pixel(request):
            if self.detail.answered_locally:
                outcome = "answered locally"
            elif request.response_status is not None:
                outcome = f"forwarded (response {request.response_status})"
            else:
                outcome = f"not answered ({request.error or 'no response'})"
            logger.info("tracker blocker probe to %s %s", request.host, outcome)

    @work(thread=True, group="recordings", exit_on_error=False)
    def _read_recordings(self) -> None:
        loader = self.request_loader
        if loader is None:
            from inspector.tui.launch import read_recordings as loader
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
        self.recording_errors = list(errors)
        for error in errors:
            logger.error("%s", error)
        if errors:
            self.notify(
                f"{plural(len(errors), 'problem')} reading the recordings; see Log (5)",
                title="Recording errors",
                severity="error",
                timeout=30,
                markup=False,
            )

        self._requests.extend(requests)
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

        # Name only the recordings that gave requests: the others' problems are
        # logged on their own.
        gave = list(dict.fromkeys(r.source for r in requests if r.source))
        logger.info(
            "read %s from %s",
            plural(len(requests), "request"),
            _listing(gave) if gave else self.source_label,
        )
        self.post_message(SourceFinished(len(requests), len(errors)))

    def on_source_finished(self, message: SourceFinished) -> None:
        self.refresh_diagnoses()
        self.flush()
        if not self.counts.total:
            self.events_table.empty_message = [
                "No Parse.ly pixel events in these recordings.",
                f"{plural(message.requests, 'request')} read, "
                f"{plural(len(self.recording_errors), 'problem')} reading them "
                "(Log: 5).",
                "A pixel sent to your own host is recognised once "
                + ("the spec lists" if self.spec_given else "a spec (--spec) lists")
                + " it in first_party_hosts.",
            ]
        self.loading_finished.set()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is not WorkerState.ERROR:
            return
        logger.error("%s failed: %s", worker.name or "worker", worker.error)
        self.notify(
            printable(str(worker.error)),
            title=f"{worker.name} failed",
            severity="error",
            markup=False,
        )
        if worker.group == "recordings":
            self.loading_finished.set()

    # ------------------------------------------------------------------ reports

    def receive_reports(self, reports: Iterable[EventReport]) -> None:
        """Take new reports from the proxy or a recording; cheap, called per pixel."""
        code_counts = self._finding_code_counts
        examples = self._finding_examples
        for report in reports:
            self.counts.add(report.findings)
            for finding in report.findings:
                code_counts[finding.code] += 1
                examples.setdefault(finding.code, finding)
            if self.paused:
                self._paused_reports.append(report)
                self.counts.hidden_while_paused += 1
            else:
                self._pending.append(report)
            self._views_dirty = True
            self._diagnoses_stale = True

    def flush(self) -> None:
        """Add the reports received since the last flush to the table, in one go."""
        table = self.events_table
        if not table.is_attached:
            return  # The app is shutting down.
        now = asyncio.get_running_loop().time()
        if self._diagnoses_stale and now >= self._next_diagnosis_refresh:
            self.refresh_diagnoses()

        if self._pending:
            batch = list(self._pending)
            self._pending.clear()
            overflow = len(self._retained) + len(batch) - self.max_rows
            if overflow > 0 and self.search_texts:
                # The oldest rows are about to go: so do their search texts.
                self.search_texts.forget(itertools.islice(self._retained, overflow))
            self._retained.extend(batch)
            added = table.append_reports(self._matching(batch, self.event_filter))
            if added and table.following:
                self._detail_stale = True

        if self._detail_stale and now - self._last_detail_update >= DETAIL_INTERVAL:
            self._show_selected()
        if self._views_dirty and now - self._last_view_refresh >= VIEW_REFRESH_INTERVAL:
            self.refresh_views()
        self._show_status()

    def _matching(
        self, reports: Iterable[EventReport], event_filter: EventFilter
    ) -> Iterator[EventReport]:
        if event_filter.is_empty:
            yield from reports
            return
        diagnoses_of = self.diagnoses_of
        for report in reports:
            if event_filter.matches(report, diagnoses_of(report.event.id)):
                yield report

    def diagnoses_of(self, event_id: str) -> tuple[PageDiagnosis, ...]:
        """The page, visitor and scenario diagnoses naming this event as evidence."""
        return self._diagnoses_by_event.get(event_id, ())

    def refresh_diagnoses(self) -> None:
        """Work out the page-level diagnoses again and attach them to their events.

        Rows, the detail pane and (with a filter) the table's contents follow the
        events whose diagnoses changed. Walking every page load costs time, so this
        runs at most every `DIAGNOSIS_INTERVAL` seconds, less often if it is slow.
        """
        loop = asyncio.get_running_loop()
        started = loop.time()
        self._diagnoses_stale = False
        try:
            found = self.inspection.pages.diagnoses()
        except Exception:
            logger.exception("could not diagnose the page loads")
            found = []
        took = loop.time() - started
        interval = max(DIAGNOSIS_INTERVAL, took / DIAGNOSIS_MAX_SHARE)
        self._next_diagnosis_refresh = started + interval

        baseline = self._diagnosis_baseline
        if baseline is not None:
            # After a clear, only what is new or has gathered evidence since.
            found = [
                item
                for item in found
                if baseline.get(diagnosis_lineage(item)) != tuple(item.evidence)
            ]

        by_event: dict[str, list[PageDiagnosis]] = {}
        for diagnosis in found:
            for event_id in dict.fromkeys(diagnosis.evidence):
                by_event.setdefault(event_id, []).append(diagnosis)
        new = {event_id: tuple(found) for event_id, found in by_event.items()}

        old = self._diagnoses_by_event
        changed = {
            event_id
            for event_id in old.keys() | new.keys()
            if _signature(old.get(event_id, ())) != _signature(new.get(event_id, ()))
        }
        if _signature(self._diagnoses) != _signature(found):
            self._views_dirty = True
        self._diagnoses = found
        self._diagnoses_by_event = new
        for diagnosis in found:
            for finding in diagnosis.findings or (diagnosis_finding(diagnosis),):
                self._finding_examples[finding.code] = finding
        if changed:
            self._events_changed(changed)

    def _recheck(self) -> None:
        self._diagnoses_stale = True

    def _events_changed(self, event_ids: set[str]) -> None:
        """Show what changed about these events (their diagnoses)."""
        table = self.events_table
        if self.event_filter.is_empty:
            table.refresh_events(event_ids)
        else:
            # Whether they match may have changed too.
            self._refilter()
        shown = self.detail.report
        if shown is not None and shown.event.id in event_ids:
            self.detail.show(shown, force=True)

    def _refilter(self) -> None:
        """Fill the table again with the retained events matching the filter, the
        cursor staying on its event unless the table follows the newest."""
        table = self.events_table
        selected = table.selected_report
        following = table.following
        table.replace_reports(self._matching(self._retained, self.event_filter))
        if following or selected is None or not table.select_event(selected.event.id):
            table.jump_to_newest()

    def refresh_views(self) -> None:
        """Bring the view on screen (Findings, Segments, Pages) up to date."""
        self._last_view_refresh = asyncio.get_running_loop().time()
        self._views_dirty = False
        active = self.views.active
        if active == "findings":
            counts = self.finding_counts()
            with_events = self._codes_with_events()
            self.findings_view.show_counts(
                counts,
                self._finding_examples,
                eventless={code for code in counts if code not in with_events},
            )
        elif active == "segments":
            self.segments_view.show_counts(
                self.segment_counts(),
                getattr(self.inspection.spec, "segments", {}),
                self.standard_counts(),
            )
            statuses = self.scenario_statuses()
            self.scenarios_view.show(statuses, self.scenario_notes(statuses))
        elif active == "pages":
            self.pages_view.show_pages(self.page_loads())
        else:
            # Nothing on screen needs it; refresh when that view is opened.
            self._views_dirty = True

    def finding_counts(self) -> Counter[str]:
        """Findings per code since the start or the last clear, diagnoses included
        (each diagnosis counts once, as in `check`)."""
        counts = Counter(self._finding_code_counts)
        for diagnosis in self._diagnoses:
            for finding in diagnosis.findings:
                counts[finding.code] += 1
        return +counts

    def diagnosis_severities(self) -> Counter[Severity]:
        """The diagnoses' findings by severity, since the start or the last clear."""
        return Counter(
            finding.severity
            for diagnosis in self._diagnoses
            for finding in diagnosis.findings
        )

    def page_loads(self) -> list[PageLoad]:
        """The page loads with requests since the start or the last clear."""
        baseline = self._page_baseline
        return [
            page
            for page in self.inspection.pages.page_loads()
            if page.key not in baseline or page.last_time > baseline[page.key]
        ]

    def segment_counts(self) -> dict[str, Counter[str]]:
        """Values per segment key since the start or the last clear."""
        return _since(self.inspection.segment_counts, self._segment_baseline)

    def standard_counts(self) -> dict[str, Counter[str]]:
        """Pageviews per standard segment value since the start or the last clear."""
        return _since(self.inspection.standard_counts, self._standard_baseline)

    def scenario_statuses(self) -> list[ScenarioStatus]:
        """Every spec scenario with the pageviews and pages that showed it since
        the start or the last clear (the coverage `check` reports)."""
        return statuses_since(
            self.inspection.pages, self.page_loads(), self._scenario_baseline
        )

    def scenario_notes(self, statuses: Sequence[ScenarioStatus]) -> dict[str, str]:
        """Why scenarios not seen could not have been, as `check` says it (a
        geography condition without a GeoIP database), judged by the events kept
        since the start or the last clear."""
        reports = [*self._retained, *self._pending, *self._paused_reports]
        coverage = {status.name: status.event_ids for status in statuses}
        return geography_notes(self.inspection.pages.scenarios, coverage, reports)

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

    @on(FindingsView.CodeChosen)
    def _code_chosen(self, message: FindingsView.CodeChosen) -> None:
        """Enter on a Findings row: the Events view, filtered to that code.

        A page-level finding that names no pixel event (a tracker that never sent
        its pageview, a scenario not seen) would leave the table empty: its page
        load is shown in the Pages view instead, when it has one.
        """
        code = message.code
        if not self._code_has_events(code):
            self._show_eventless_code(code)
            return
        text = f"code:{code}"
        self.filter_box.value = text
        self.apply_filter(text)
        self._leave_filter()

    def _code_has_events(self, code: str) -> bool:
        """Whether some event has this finding code, or is evidence of it."""
        return bool(self._finding_code_counts.get(code)) or (
            code in self._codes_with_events()
        )

    def _codes_with_events(self) -> set[str]:
        """The finding codes of the events kept, their diagnoses' included."""
        codes = {code for code, count in self._finding_code_counts.items() if count}
        by_event = self._diagnoses_by_event
        for report in (*self._retained, *self._pending, *self._paused_reports):
            for diagnosis in by_event.get(report.event.id, ()):
                codes.add(diagnosis.code)
        return codes

    def _show_eventless_code(self, code: str) -> None:
        page_key = next(
            (d.page_key for d in self._diagnoses if d.code == code and d.page_key),
            None,
        )
        where = "the spec's scenarios are under Segments (3)"
        if page_key is not None:
            self.action_show_tab("pages")
            self.refresh_views()
            if self.pages_view.select_page(page_key):
                where = "its page load is shown in Pages"
        self.notify(
            f"No pixel event has {printable(code)}: {where}.",
            title="No event to show",
            markup=False,
        )

    @on(PagesView.EventChosen)
    def _page_event_chosen(self, message: PagesView.EventChosen) -> None:
        self.show_event(message.event_id)

    def show_event(self, event_id: str) -> bool:
        """Select an event in the Events view (dropping a filter that hides it)."""
        self.action_show_tab("events")
        table = self.events_table
        if not table.select_event(event_id) and not self.event_filter.is_empty:
            self.filter_box.value = ""
            self.apply_filter("")
            self._leave_filter()
        if table.select_event(event_id):
            self._show_selected()
            self._show_status()
            return True
        self.notify(
            f"Event {printable(event_id)} is no longer in the Events table (cleared, "
            "or older than its newest rows).",
            title="Event not shown",
            severity="warning",
            markup=False,
        )
        return False

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if not self.apply_filter(event.value):
            # Typing went through valid prefixes (`severity` on the way to
            # `severity:bogus`); what is applied meanwhile is the filter from
            # before the edit, never such a leftover.
            self._set_filter(parse_filter(self._filter_before_edit, self.search_texts))

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.apply_filter(event.value)
        if self.filter_errors:
            # Back to the filter from before the edit (typing may have applied
            # parts of the text on the way); stay in the box to correct the term,
            # the reason under it. (A toast would cover that reason, and go.)
            self._set_filter(parse_filter(self._filter_before_edit, self.search_texts))
            return
        self._leave_filter()

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and isinstance(self.focused, Input):
            if self.focused.id == "filter":
                event.stop()
                self._leave_filter()

    def on_log_line(self, message: LogLine) -> None:
        self.log_view.add_line(message.level, message.text)

    def apply_filter(self, text: str) -> bool:
        """Show only the retained events that match `text` (see `filtering`).

        A filter with a term that cannot be understood is not applied (the one
        before stays); the reason shows under the filter box. Returns whether `text`
        is the filter now applied.
        """
        new_filter = parse_filter(text, self.search_texts)
        self.filter_errors = new_filter.errors
        self.filter_box.border_subtitle = (
            printable("; ".join(new_filter.errors)) if new_filter.errors else ""
        )
        self.filter_box.set_class(bool(new_filter.errors), "invalid")
        if new_filter.errors:
            return False
        self._set_filter(new_filter)
        return True

    def _set_filter(self, new_filter: EventFilter) -> None:
        if new_filter.text.strip() == self.event_filter.text.strip():
            self.event_filter = new_filter
            return
        self.event_filter = new_filter
        table = self.events_table
        table.replace_reports(self._matching(self._retained, new_filter))
        table.jump_to_newest()
        self._show_selected()
        self._show_status()

    def _leave_filter(self) -> None:
        filter_box = self.filter_box
        if self.filter_errors:
            # An invalid filter is dropped: the one from before the edit stays,
            # and the box shows it.
            filter_box.value = self._filter_before_edit
            self.apply_filter(self._filter_before_edit)
        filter_box.set_class(bool(filter_box.value.strip()), "active")
        filter_box.remove_class("editing")
        self.action_show_tab("events")
        self.events_table.focus()

    # ------------------------------------------------------------------ actions

    def action_filter(self) -> None:
        self._filter_before_edit = self.event_filter.text
        self.action_show_tab("events")
        filter_box = self.filter_box
        filter_box.add_class("editing")
        filter_box.focus()

    def action_toggle_pause(self) -> None:
        """Stop adding rows (events are still counted); on resume, add them."""
        self.paused = not self.paused
        if self.paused:
            self.notify("Paused: new events are counted, and shown on resume (p)")
        else:
            held = len(self._paused_reports)
            self._pending.extend(self._paused_reports)
            self._paused_reports.clear()
            self.counts.hidden_while_paused = 0
            self.notify(f"Resumed: {_events(held)} received while paused added")
            self.flush()
        self._show_status()

    def action_clear(self) -> None:
        """Start again from now: the events table, the counts, the Findings,
        Segments and Pages views, and what `s` saves."""
        self._pending.clear()
        self._paused_reports.clear()
        self._retained.clear()
        self.search_texts.clear()
        self._requests.clear()
        self._cleared_at = time.time()
        self.events_table.clear_reports()
        self.events_table.following = True
        self.events_table.empty_message = self._cleared_message()
        self.findings_view.empty_message = self._cleared_view_message(
            "findings", "no findings"
        )
        self.pages_view.empty_message = self._cleared_view_message(
            "page loads", "no page loads"
        )
        self.detail.show(None)
        self.counts = EventCounts()

        self._finding_code_counts = Counter()
        self._finding_examples = {}
        self._segment_baseline = {
            key: Counter(counter)
            for key, counter in self.inspection.segment_counts.items()
        }
        self._standard_baseline = {
            name: Counter(counter)
            for name, counter in self.inspection.standard_counts.items()
        }
        self._page_baseline = {
            page.key: page.last_time for page in self.inspection.pages.page_loads()
        }
        self._scenario_baseline = coverage_mark(self.inspection.pages)
        self._diagnosis_baseline = {
            diagnosis_lineage(diagnosis): tuple(diagnosis.evidence)
            for diagnosis in self.inspection.pages.diagnoses()
        }
        self._diagnoses = []
        self._diagnoses_by_event = {}
        self._views_dirty = True
        self.refresh_views()
        self._show_status()
        self.notify("Cleared: views, counts and saving (s) start from now")

    def _cleared_message(self) -> list[str]:
        """What the empty table says after a clear: with recordings read to the
        end, no event can come any more; live, the next one is awaited."""
        assert self._cleared_at is not None
        cleared = f"Cleared at {clock_time(self._cleared_at)[:8]}"
        if self.session_factory is None:
            if not self.loading_finished.is_set():
                return list(self.events_table.empty_message)
            return [
                f"{cleared}: every event of these recordings came before it.",
                "Quit (q) and open them again to see their events.",
            ]
        message = list(self.events_table.empty_message)
        # The first line says what is awaited: at first, or since an earlier clear.
        if message and message[0].startswith(
            ("Waiting for the first pixel event", "Cleared at ")
        ):
            message[0] = f"{cleared}: waiting for the next pixel event."
        return message

    def _cleared_view_message(self, things: str, nothing: str) -> str:
        """What the Findings or Pages view says while empty after a clear, in the
        words of the events table's message."""
        assert self._cleared_at is not None
        cleared = f"Cleared at {clock_time(self._cleared_at)[:8]}"
        if self.session_factory is None and self.loading_finished.is_set():
            return (
                f"{cleared}: all the {things} of these recordings came before it. "
                f"Quit (q) and open them again to see their {things}."
            )
        if self.session_factory is None:
            return (
                f"{cleared}: {nothing} since; those of the events still being read "
                "will show here."
            )
        return (
            f"{cleared}: {nothing} since; those of the next pixel events will show "
            "here."
        )

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
        """Save the requests since the start or the last clear (see `save_scope`).

        When the proxy records to a file (`live --record`) and nothing was cleared,
        that recording is written now instead, without asking.
        """
        session = self.session
        if (
            session is not None
            and session.record_path is not None
            and self._cleared_at is None
        ):
            self.save_to(session.record_path)
            return
        if not self._requests:
            self.notify(
                f"Nothing to save: no requests {self.save_scope()}.", title="Not saved"
            )
            return

        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        default = self.save_directory / f"segment-inspector-{stamp}.har"
        hint = (
            f"Saves the {plural(len(self._requests), 'request')} {self.save_scope()}, "
            "as .har or .mitm. Enter saves, esc cancels."
        )
        if session is not None and session.record_path is not None:
            hint += f" The whole session is still recorded to {session.record_path}."
        self.push_screen(
            SaveScreen(str(default), printable(hint), save=self._save_from_dialog)
        )

    def save_scope(self) -> str:
        """Which requests `s` saves: `since the start` or `since the clear at …`."""
        if self._cleared_at is None:
            scope = "since the start"
        else:
            scope = f"since the clear at {clock_time(self._cleared_at)[:8]}"
        if self._requests.maxlen and len(self._requests) == self._requests.maxlen:
            scope += f" (the newest {self._requests.maxlen})"
        return scope

    def _save_from_dialog(self, path: str) -> str | None:
        """Save to the path typed in the dialog; why not, when it failed (the
        dialog stays open with it, the path kept for correcting)."""
        return self._write(Path(path).expanduser())

    def save_to(self, path: Path) -> Path | None:
        """Save the session: the proxy's own recording, or the requests seen since
        the start or the last clear. Overwrites `path` (the save dialog asks
        first)."""
        problem = self._write(path)
        if problem is not None:
            self.notify(problem, title="Not saved", severity="error", markup=False)
            return None
        return path

    def _write(self, path: Path) -> str | None:
        """Save to `path` and say so; why not, when it failed."""
        session = self.session
        try:
            if session is not None and session.record_path == path:
                session.save()
                count = None
            else:
                count = self._export(path)
        except (OSError, ValueError) as problem:
            reason = (
                problem.strerror
                if isinstance(problem, OSError) and problem.strerror
                else str(problem)
            )
            logger.error("could not save %s: %s", path, reason)
            return printable(f"Not saved: {path}: {reason}")

        what = "recording" if count is None else plural(count, "request")
        logger.info("saved %s to %s", what, path)
        self.notify(printable(f"Saved {what} to {path}"), title="Saved", markup=False)
        return None

    def _export(self, path: Path) -> int:
        from inspector.recordings import write_har, write_mitm

        requests = list(self._requests)
        problem = save_name_problem(path)
        if problem is not None:
            raise ValueError(problem)
        if path.suffix.lower() == ".mitm":
            return write_mitm(requests, path)
        return write_har(requests, path)

    # ------------------------------------------------------------------ status

    def _show_status(self) -> None:
        table = self.events_table
        table.no_match_message = self._no_rows_reason()
        # With no event to show, the detail pane gives its room to the table's
        # message (how to connect the proxy, why nothing shows).
        self.events_split.set_class(not table.row_count, "empty")
        self.status_bar.show_status(
            source=self.source_label,
            counts=self.counts,
            diagnosis_counts=self.diagnosis_severities(),
            shown=table.row_count,
            paused=self.paused,
            filter_text=self.event_filter.text.strip(),
            following=table.following,
            recording_problems=len(self.recording_errors),
            retained=len(self._retained),
        )

    def _no_rows_reason(self) -> list[str]:
        """Why the table is empty although events arrived (a filter, a pause), or
        nothing when its own message about the source says it."""
        if self.events_table.row_count or not self.counts.total:
            return []
        if self.paused and not self._retained:
            held = self.counts.hidden_while_paused
            return [f"Paused: {_events(held)} received, shown on resume (p)."]
        if self.event_filter.is_empty:
            return []
        reason = [
            f"No event matches the filter: {self.event_filter.text.strip()}",
            f"{_events(len(self._retained))} hidden by it.",
        ]
        dropped = self.dropped_by_row_cap
        if dropped:
            reason.append(
                f"Matches may have been dropped by the cap of {self.max_rows} most "
                f"recent rows (--max-rows): {_events(dropped)} older than those are "
                "counted but no longer kept."
            )
        reason.append(
            "Press / to change the filter; an empty filter shows every event."
        )
        return reason

    @property
    def dropped_by_row_cap(self) -> int:
        """Events counted but no longer kept for the table, the row cap having
        made room for newer ones; a filter cannot find them."""
        kept = len(self._retained) + len(self._pending) + len(self._paused_reports)
        return max(self.counts.total - kept, 0)

    def _default_source_label(self) -> str:
        from inspector.recordings import recording_label

        if self.session_factory is not None:
            return "starting the proxy…"
        if not self.recordings:
            return "no source"
        return _listing([recording_label(path) for path in self.recordings])


def _listing(names: list[str]) -> str:
    """`a, b` or `a, b and 3 more`: recordings named in one short line."""
    if len(names) > 2:
        return f"{names[0]}, {names[1]} and {len(names) - 2} more"
    return ", ".join(names)


def _events(number: int) -> str:
    return plural(number, "event")


def _signature(diagnoses: Iterable[PageDiagnosis]) -> tuple[Any, ...]:
    """What an event's row and detail show of its diagnoses."""
    return tuple(
        (d.code, d.severity, d.title, tuple(d.evidence), d.explanation)
        for d in diagnoses
    )


def _is_blocker_probe(request: CapturedRequest) -> bool:
    """The tracker's check for ad blockers: a bare GET of the pixel path."""
    return (
        request.method.upper() == "GET"
        and not request.body
        and "?" not in request.url
        and request.path.rstrip("/").endswith("plogger")
    )


def _listening_label(addresses: Sequence[tuple[str, int]]) -> str:
    from inspector.proxy import host_port

    if not addresses:
        return "listening"
    shown = ", ".join(host_port(host, port) for host, port in addresses)
    return f"listening on {shown}"


def _since(
    totals: dict[str, Counter[str]], baseline: dict[str, Counter[str]]
) -> dict[str, Counter[str]]:
    """Counts per key minus those at the last clear, keys left empty dropped."""
    result = {}
    for key, counter in totals.items():
        current = Counter(counter)
        current.subtract(baseline.get(key, Counter()))
        current = +current
        if current:
            result[key] = current
    return result
