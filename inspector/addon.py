"""The mitmproxy addon that judges Parse.ly pixels as they pass through the proxy.

It turns every completed HTTP flow into a `CapturedRequest` and feeds it to one
`Inspection`: pixels are decoded and checked, every other request only helps follow
page loads. Traffic is never changed, except that `inspector_answer_pixels` answers
pixel requests locally with a 1x1 GIF instead of sending them to Parse.ly.

This file is itself a mitmproxy script, so it works from an installed package as
well as from a checkout (`python -m inspector.addon` prints its path)::

    mitmdump -s "$(python -m inspector.addon)" --set inspector_spec=segments.yaml
    mitmdump -n -r session.har -s "$(python -m inspector.addon)"

Each pixel event is logged in one line. Faults that only show across events (a
duplicate pageview, segment data set after the pageview) are logged as soon as
they are known, at WARNING (INFO for notes), with what to change on the next line.
Options, set with `--set name=value` (mitmproxy's `--options` does not list the
options of scripts):

- `inspector_spec`: the segment spec (YAML); empty for the built-in checks.
- `inspector_hosts`: extra first-party pixel hosts (globs such as *.example.com).
- `inspector_answer_pixels`: answer pixels with a 1x1 GIF instead of forwarding them.
- `inspector_jsonl`: a JSON Lines file, one record per event and per page fault,
  and a summary record when mitmproxy shuts down.
- `inspector_show_pii`: show personal data instead of masking it.
- `inspector_geoip_db`: a MaxMind database for the geography standard segment.

`segment-inspector live` embeds the same addon (see `inspector.proxy`) and receives
events and page faults through the `on_reports`, `on_request` and `on_diagnoses`
callbacks instead of the log.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import weakref
from collections import Counter, deque
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any

from mitmproxy import ctx, exceptions, http

from inspector.clock import clock_text
from inspector.model import (
    CapturedRequest,
    Finding,
    Severity,
)

if TYPE_CHECKING:
    from mitmproxy.addonmanager import Loader

    from inspector.inspection import DiagnosisNotice, EventReport, Inspection
    from inspector.pages import PageDiagnosis
    from inspector.spec import Spec, SpecError

logger = logging.getLogger(__name__)

ReportSink = Callable[[list["EventReport"]], None]
RequestSink = Callable[[CapturedRequest], None]
DiagnosisSink = Callable[[list["DiagnosisNotice"]], None]

OPTION_NAMES = frozenset(
    {
        "inspector_spec",
        "inspector_hosts",
        "inspector_answer_pixels",
        "inspector_jsonl",
        "inspector_show_pii",
        "inspector_geoip_db",
    }
)
"""The options the addon adds to mitmproxy."""

ANNOUNCE_INTERVAL_S = 0.5
"""Page faults are looked for at most this often while traffic flows..."""
ANNOUNCE_MAX_SHARE = 0.05
"""...and less often when looking takes longer than this share of the time (looking
walks every page load kept, which takes a while in a long, busy session)."""
WAITING_RECHECK_S = 1.0
"""How often, in live traffic, a tracker still waiting for its pageview is looked at
again, so that its timeout shows without more traffic."""
_SHOWN_EVIDENCE = 5

TRANSPARENT_GIF = base64.b64decode(
    "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
)
"""The smallest valid GIF: one transparent pixel, what a collector answers."""

_PIXEL_RESPONSE_HEADERS = {
    "Content-Type": "image/gif",
    "Cache-Control": "no-cache, no-store, must-revalidate",
    "Pragma": "no-cache",
    "Expires": "0",
}


def captured_from_flow(
    flow: http.HTTPFlow, *, origin: str = "live", include_body: bool = True
) -> CapturedRequest:
    """The request of a mitmproxy flow, as the rest of the inspector sees requests.

    Args:
        flow: a live, loaded or test flow.
        origin: where the request came from, used in messages (`live`, a file name).
        include_body: leave the request body out when only the URL and headers
            matter (page tracking of ordinary requests).
    """
    request = flow.request
    response = flow.response

    body = b""
    if include_body and request.raw_content:
        # Decode Content-Encoding (gzip from the mobile SDKs); keep raw bytes if the
        # encoding is broken, so the decoder reports it instead of us failing here.
        body = request.get_content(strict=False) or b""

    client_address = None
    if flow.client_conn and flow.client_conn.peername:
        client_address = str(flow.client_conn.peername[0])

    return CapturedRequest(
        method=request.method,
        url=request.pretty_url,
        headers=tuple(request.headers.items(multi=True)),
        body=body,
        timestamp=request.timestamp_start or 0.0,
        client_address=client_address,
        origin=origin,
        request_id=flow.id,
        response_status=response.status_code if response is not None else None,
        content_type=response.headers.get("content-type") if response else None,
        # Only a request that got no answer failed to arrive.
        error=flow.error.msg if flow.error and response is None else None,
    )


def report_record(report: EventReport, *, show_pii: bool = False) -> dict[str, Any]:
    """One event and its findings as a JSON-ready dict (a line of the JSONL output).

    The record `check --format jsonl` writes, so live and replayed sessions can be
    compared line by line, marked `"type": "event"` to tell it from the page fault
    records (`diagnosis_record`) in the same file. Personal data is masked unless
    `show_pii`.
    """
    from inspector.report import event_record, make_masker

    return event_record(report, masker=make_masker(show_pii))


def diagnosis_record(
    diagnosis: PageDiagnosis, *, show_pii: bool = False, updated: bool = False
) -> dict[str, Any]:
    """A page-level fault as a JSON-ready dict (`"type": "diagnosis"`).

    The fields are those of the `diagnoses` list of `check --format json`; `updated`
    says that an earlier record announced the same fault with another severity or
    title.
    """
    from inspector.report import diagnosis_record as build
    from inspector.report import make_masker

    return build(diagnosis, masker=make_masker(show_pii), updated=updated)


def diagnosis_summary(
    diagnosis: PageDiagnosis, *, show_pii: bool = False, updated: bool = False
) -> str:
    """Two lines for logs and `live --headless`: the fault, then what to change.

    The first line gives the severity, code, title, page (or visitor) and the ids of
    the events that show it; the second, indented, the explanation with the fix.
    Control characters from the traffic are escaped, never sent to the terminal.
    """
    from inspector.report import escape_controls, make_masker

    masked = make_masker(show_pii)

    label = f"{diagnosis.code} (updated)" if updated else diagnosis.code
    parts = [f"** {diagnosis.severity} {label}: {masked(diagnosis.title)}"]
    if diagnosis.page_key or diagnosis.url:
        where = masked(diagnosis.url) if diagnosis.url else ""
        if diagnosis.page_key:
            where = f"{where} ({diagnosis.page_key})" if where else diagnosis.page_key
        parts.append(f"page {where}")
    elif diagnosis.visitor:
        parts.append(f"visitor {masked(diagnosis.visitor)}")
    if diagnosis.evidence:
        shown = ", ".join(diagnosis.evidence[:_SHOWN_EVIDENCE])
        more = len(diagnosis.evidence) - _SHOWN_EVIDENCE
        parts.append(f"events {shown}" + (f" and {more} more" if more > 0 else ""))
    if diagnosis.uncertain:
        parts.append("matched partly by timing")

    explanation = " ".join(masked(diagnosis.explanation).split())
    return escape_controls(" | ".join(parts)) + "\n    " + escape_controls(explanation)


def summary_line(
    report: EventReport, *, show_pii: bool = False, spec: Spec | None = None
) -> str:
    """One line per event for logs and `live --headless`: what, where, what is wrong.

    With the `spec` the event was judged against, an event of a site the spec does
    not cover says so after its verdict (`-- ok (site not covered by the spec)`),
    so that `ok` never reads as "matches the spec". Control characters from the
    traffic are escaped, never sent to the terminal.
    """
    event = report.event
    from inspector.report import NOT_COVERED_NOTE, escape_controls, make_masker

    masked = make_masker(show_pii)

    when = clock_text(event.timestamp, local=True, milliseconds=False)
    action = event.action or "?"
    parts = [f"{when} {action:<10} {event.idsite or '-'}"]
    # Mask before shortening, so that a cut never leaves half an address showing.
    if event.url:
        parts.append(_shorten(masked(event.url), 60))
    if event.segments:
        shown = ", ".join(
            f"{key}={json.dumps(value, ensure_ascii=False)}"
            for key, value in event.segments.items()
        )
        parts.append(f"[{_shorten(masked(shown), 80)}]")

    errors = [f for f in report.findings if f.severity is Severity.ERROR]
    warnings = [f for f in report.findings if f.severity is Severity.WARNING]
    if errors or warnings:
        codes = sorted({f.code for f in (*errors, *warnings)})
        verdict = (
            f"-- {len(errors)} error(s), {len(warnings)} warning(s): {', '.join(codes)}"
        )
    else:
        verdict = "-- ok"
    if spec is not None and not spec.applies_to_site(event.idsite):
        verdict += f" ({NOT_COVERED_NOTE})"
    parts.append(verdict)
    return escape_controls("  ".join(parts))


class SegmentInspector:
    """Judges the Parse.ly pixels in the traffic; never touches other requests.

    Args:
        inspection: the pipeline to feed. When given (the embedded proxy builds one
            from the command line), the `inspector_spec`, `inspector_hosts` and
            `inspector_geoip_db` options are not used; otherwise the addon builds
            its own from those options.
        on_reports: called with the reports of each pixel, once its flow is done.
        on_request: called with every request, pixel or not, in the same order.
        on_diagnoses: called with page-level faults as they become known (see
            `Inspection.new_diagnoses`), at most every `ANNOUNCE_INTERVAL_S` and at
            shutdown.
        origin: written into each `CapturedRequest` for messages.

    Without `on_reports` and `on_diagnoses` (a plain mitmproxy script), events and
    page faults go to the log. Page faults also go to the `inspector_jsonl` file.
    """

    name = "segmentinspector"

    def __init__(
        self,
        inspection: Inspection | None = None,
        *,
        on_reports: ReportSink | None = None,
        on_request: RequestSink | None = None,
        on_diagnoses: DiagnosisSink | None = None,
        origin: str = "live",
    ) -> None:
        self._inspection = inspection
        self._owns_inspection = inspection is None
        self._on_reports = on_reports
        self._on_request = on_request
        self._on_diagnoses = on_diagnoses
        self._origin = origin
        self._setup_error: str | None = None

        self._answer_pixels = False
        self._show_pii = False
        self._jsonl_path = ""
        self._jsonl_file: IO[str] | None = None
        self._jsonl_events = 0
        """Event records written to the open `inspector_jsonl` file."""
        self._jsonl_severities: Counter[Severity] = Counter()
        """Their findings by severity, for the summary record."""
        self._jsonl_requests_before = 0
        """Requests the inspection had seen when the file was opened."""

        # Flows are judged once, after they complete, and in the order they completed;
        # the work is queued so that the hook returns at once and the client gets
        # its response without waiting for the inspection.
        self._pending: deque[CapturedRequest] = deque()
        self._drain_scheduled = False
        self._judged: weakref.WeakSet[http.HTTPFlow] = weakref.WeakSet()
        self._in_flight: dict[str, http.HTTPFlow] = {}
        """Live flows whose request arrived but which have not completed yet."""
        self._finished = False
        """Set by `done`: what completes later is no longer judged or written."""

        # Page faults are looked for after judging, debounced (see `_announce_soon`).
        self._announce_timer: asyncio.TimerHandle | None = None
        self._next_announce = 0.0

    @property
    def flows_in_flight(self) -> int:
        """Live requests seen that have neither a response nor an error yet."""
        return len(self._in_flight)

    @property
    def inspection(self) -> Inspection:
        """The pipeline this addon feeds (built from the options on first use)."""
        if self._inspection is None:
            self._inspection = self._build_inspection()
        return self._inspection

    # mitmproxy lifecycle

    def load(self, loader: Loader) -> None:
        loader.add_option(
            "inspector_spec",
            str,
            "",
            "Segment spec (YAML) to judge pixels against; empty for the built-in one.",
        )
        loader.add_option(
            "inspector_hosts",
            Sequence[str],
            [],
            "Extra first-party pixel hosts (globs such as *.example.com allowed).",
        )
        loader.add_option(
            "inspector_answer_pixels",
            bool,
            False,
            """
            Answer pixel requests locally with a 1x1 GIF instead of forwarding them
            to Parse.ly, so testing does not count as real traffic.
            """,
        )
        loader.add_option(
            "inspector_jsonl",
            str,
            "",
            "Write one JSON object per pixel event, with its findings, to this file.",
        )
        loader.add_option(
            "inspector_show_pii",
            bool,
            False,
            "Show personal data (emails, phone numbers) instead of masking it.",
        )
        loader.add_option(
            "inspector_geoip_db",
            str,
            "",
            "MaxMind database used to derive the geography standard segment.",
        )

    def configure(self, updated: set[str]) -> None:
        try:
            self._configure(updated)
        except exceptions.OptionsError as problem:
            if not set(updated) >= set(ctx.options.keys()):
                raise  # a change: mitmproxy rejects it and says why
            # Loading a script configures every option at once, and mitmproxy prints
            # a traceback for any exception raised there. One line says it all, and
            # an error logged at startup makes mitmproxy exit.
            self._setup_error = str(problem)
            logger.error("Segment Inspector cannot start: %s", problem)
        else:
            self._setup_error = None

    def _configure(self, updated: set[str]) -> None:
        options = ctx.options
        if "inspector_answer_pixels" in updated:
            self._answer_pixels = bool(options.inspector_answer_pixels)
        if "inspector_show_pii" in updated:
            self._show_pii = bool(options.inspector_show_pii)

        pipeline_options = {"inspector_spec", "inspector_hosts", "inspector_geoip_db"}
        if self._owns_inspection and updated & pipeline_options:
            # Build now so that a bad spec fails the option change, not a later flow.
            self._inspection = self._build_inspection()

        if "inspector_jsonl" in updated:
            self._open_jsonl(options.inspector_jsonl)

    def request(self, flow: http.HTTPFlow) -> None:
        if self._setup_error is not None:
            return
        if self._answer_pixels and flow.response is None:
            self._answer_if_pixel(flow)
        if flow.live and not self._finished:
            self._in_flight[flow.id] = flow

        # A recorded flow that never got a response or an error (saved while in
        # flight, or converted from a bare request list) fires no later hook.
        if not flow.live and flow.response is None and flow.error is None:
            self._flow_completed(flow)

    def response(self, flow: http.HTTPFlow) -> None:
        self._flow_completed(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._flow_completed(flow)

    def done(self) -> None:
        if self._finished:
            return
        # A request still waiting for its response at shutdown is judged as it
        # stands, as it is in a recording saved while it was in flight.
        for flow in list(self._in_flight.values()):
            self._flow_completed(flow)
        self._finished = True
        self.flush()
        if self._announce_timer is not None:
            self._announce_timer.cancel()
            self._announce_timer = None
        if self._announces:
            self.announce_diagnoses(final=True)
        if self._jsonl_file is not None:
            self._write_summary()
            try:
                self._jsonl_file.close()
            except OSError:
                logger.exception("could not finish %s", self._jsonl_path)
            self._jsonl_file = None

    # Judging

    def flush(self) -> None:
        """Judge every completed flow still waiting in the queue."""
        self._drain_scheduled = False
        judged = bool(self._pending)
        while self._pending:
            self._judge(self._pending.popleft())
        if judged and self._announces:
            self._announce_soon()

    def announce_diagnoses(self, *, final: bool = False) -> None:
        """Deliver the page-level faults found since the last call, now.

        `final` (at shutdown) includes those more traffic could still withdraw, such
        as a tracker that has not sent its pageview yet.
        """
        if self._announce_timer is not None:
            self._announce_timer.cancel()
            self._announce_timer = None
        if self._inspection is None:
            return

        started = time.monotonic()
        try:
            notices = self._inspection.new_diagnoses(final=final)
        except Exception:
            logger.exception("could not diagnose the page loads")
            notices = []
        took = time.monotonic() - started
        self._next_announce = started + max(
            ANNOUNCE_INTERVAL_S, took / ANNOUNCE_MAX_SHARE
        )

        if notices:
            self._deliver_diagnoses(notices)

        # With a clock, a tracker waiting for its pageview times out on its own.
        if (
            not final
            and self._inspection.diagnoses_waiting
            and self._inspection.pages.clock is not None
        ):
            self._announce_soon(delay=WAITING_RECHECK_S)

    @property
    def _announces(self) -> bool:
        """Whether anyone hears of page faults (the UI works them out itself)."""
        return (
            self._on_diagnoses is not None
            or self._on_reports is None
            or self._jsonl_file is not None
        )

    def _announce_soon(self, delay: float | None = None) -> None:
        """Look for page faults once the interval since the last look has passed."""
        if self._announce_timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # driven without a loop: faults are delivered by `done`
        if delay is None:
            delay = max(0.0, self._next_announce - time.monotonic())
        self._announce_timer = loop.call_later(delay, self.announce_diagnoses)

    def _flow_completed(self, flow: http.HTTPFlow) -> None:
        self._in_flight.pop(flow.id, None)
        if self._finished:
            logger.debug("flow %s completed after shutdown; not judged", flow.id)
            return
        if flow in self._judged or flow.websocket is not None:
            return
        if self._setup_error is not None:
            return
        self._judged.add(flow)

        # In live traffic, time passes between flows too: let page tracking see it,
        # so a tracker that never sends its pageview times out without more traffic.
        if flow.live and self._owns_inspection and self.inspection.pages.clock is None:
            self.inspection.pages.clock = time.time

        try:
            # Ordinary requests only feed page timelines, which need no body.
            captured = captured_from_flow(flow, origin=self._origin, include_body=False)
            if flow.request.raw_content and self.inspection.is_pixel(captured):
                captured = captured_from_flow(flow, origin=self._origin)
        except Exception:
            logger.exception("could not read flow %s", flow.id)
            return

        self._pending.append(captured)
        self._schedule_drain()

    def _answer_if_pixel(self, flow: http.HTTPFlow) -> None:
        try:
            captured = captured_from_flow(flow, origin=self._origin, include_body=False)
            if not self.inspection.is_pixel(captured):
                return
        except Exception:
            logger.exception(
                "could not tell whether %s is a pixel", _printable(flow.request.url)
            )
            return

        flow.response = http.Response.make(
            200, TRANSPARENT_GIF, dict(_PIXEL_RESPONSE_HEADERS)
        )

    def _schedule_drain(self) -> None:
        if self._drain_scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._drain_scheduled = True
        loop.call_soon(self.flush)

    def _judge(self, captured: CapturedRequest) -> None:
        try:
            reports = self.inspection.process(captured)
        except Exception as exc:
            reports = self._failed_pixel(captured, exc)

        self._deliver_request(captured)
        if reports:
            self._deliver_reports(reports)

    def _failed_pixel(
        self, captured: CapturedRequest, exc: Exception
    ) -> list[EventReport]:
        """Turn an exception while judging into a `decode.failed` finding."""
        try:
            is_pixel = self.inspection.is_pixel(captured)
        except Exception:
            is_pixel = False
        if not is_pixel:
            logger.warning(
                "could not follow %s for page tracking: %s",
                _printable(captured.url),
                _printable(str(exc)),
            )
            return []

        logger.exception(
            "judging pixel %s failed", _printable(captured.url), exc_info=exc
        )
        from inspector.decode import unjudged_event
        from inspector.inspection import EventReport

        finding = Finding(
            code="decode.failed",
            severity=Severity.ERROR,
            message=f"The inspector could not judge this pixel ({type(exc).__name__}).",
            explanation=str(exc),
            event_id=captured.request_id,
        )
        event = unjudged_event(captured, finding)
        report = EventReport(event=event, findings=(finding,))

        # Keep the pipeline's own record in step with what we deliver.
        self.inspection.reports.append(report)
        self.inspection.finding_counts[finding.code] += 1
        return [report]

    def _deliver_request(self, captured: CapturedRequest) -> None:
        if self._on_request is None:
            return
        try:
            self._on_request(captured)
        except Exception:
            logger.exception("the request callback failed")

    def _deliver_reports(self, reports: list[EventReport]) -> None:
        for report in reports:
            self._write_jsonl(report)

        if self._on_reports is None:
            for report in reports:
                line = summary_line(
                    report, show_pii=self._show_pii, spec=self.inspection.spec
                )
                logger.info("%s", line)
            return
        try:
            self._on_reports(reports)
        except Exception:
            logger.exception("the report callback failed")

    def _deliver_diagnoses(self, notices: list[DiagnosisNotice]) -> None:
        for notice in notices:
            self._write_record(
                diagnosis_record(
                    notice.diagnosis, show_pii=self._show_pii, updated=notice.updated
                )
            )

        if self._on_diagnoses is not None:
            try:
                self._on_diagnoses(notices)
            except Exception:
                logger.exception("the diagnosis callback failed")
        elif self._on_reports is None:
            for notice in notices:
                diagnosis = notice.diagnosis
                serious = diagnosis.severity in (Severity.ERROR, Severity.WARNING)
                logger.log(
                    logging.WARNING if serious else logging.INFO,
                    "%s",
                    diagnosis_summary(
                        diagnosis, show_pii=self._show_pii, updated=notice.updated
                    ),
                )

    # Setup helpers

    def _build_inspection(self) -> Inspection:
        from inspector.inspection import Inspection
        from inspector.spec import SpecError, default_spec, host_pattern, load_spec
        from inspector.standard import GeoIPError

        spec_path = _option("inspector_spec", "")
        extra_hosts = list(_option("inspector_hosts", []))
        geoip_db = _option("inspector_geoip_db", "") or None

        # The messages say all there is to say; mitmproxy prints a traceback for
        # script errors, so keep it to the one that matters.
        try:
            spec = load_spec(spec_path) if spec_path else default_spec()
        except SpecError as exc:
            raise exceptions.OptionsError(_spec_error_text(spec_path, exc)) from None

        if extra_hosts:
            try:
                extra_hosts = [host_pattern(host) for host in extra_hosts]
            except ValueError as exc:
                raise exceptions.OptionsError(f"inspector_hosts: {exc}") from None
            hosts = [*spec.first_party_hosts, *extra_hosts]
            spec = spec.model_copy(update={"first_party_hosts": hosts})

        try:
            return Inspection(spec, geoip_db=geoip_db)
        except GeoIPError as exc:
            raise exceptions.OptionsError(str(exc)) from None

    def _open_jsonl(self, path: str) -> None:
        if self._jsonl_file is not None:
            self._jsonl_file.close()
            self._jsonl_file = None
        self._jsonl_path = path
        self._jsonl_events = 0
        self._jsonl_severities = Counter()
        self._jsonl_requests_before = (
            self._inspection.requests_seen if self._inspection is not None else 0
        )
        if not path:
            return
        clash = _jsonl_clash(path)
        if clash:
            raise exceptions.OptionsError(clash) from None
        try:
            self._jsonl_file = open(path, "w", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise exceptions.OptionsError(
                f"cannot write JSON Lines to {path}: {exc.strerror or exc}"
            ) from None

    def _write_jsonl(self, report: EventReport) -> None:
        if self._jsonl_file is None:
            return
        self._jsonl_events += 1
        severities = self._jsonl_severities
        for finding in report.findings:
            severities[finding.severity] += 1
        try:
            record = report_record(report, show_pii=self._show_pii)
        except Exception:
            logger.exception("could not write to %s", self._jsonl_path)
            return
        self._write_record(record)

    def _write_summary(self) -> None:
        """End the file as `check --format jsonl` ends its output: one `"type":
        "summary"` record with the totals (the events written, the requests seen
        meanwhile, the findings of those events and of the page-level diagnoses
        at the end). Only a session that ends cleanly gets one."""
        from inspector.report import Totals, totals_record

        severities = Counter(self._jsonl_severities)
        requests = 0
        if self._inspection is not None:
            requests = self._inspection.requests_seen - self._jsonl_requests_before
            try:
                diagnoses = self._inspection.pages.diagnoses()
            except Exception:
                logger.exception("could not diagnose the page loads")
                diagnoses = []
            for diagnosis in diagnoses:
                for finding in diagnosis.findings:
                    severities[finding.severity] += 1
        counts = Totals(
            events=self._jsonl_events,
            requests=requests,
            errors=severities[Severity.ERROR],
            warnings=severities[Severity.WARNING],
            infos=severities[Severity.INFO],
            recording_errors=0,
        )
        self._write_record({"type": "summary", **totals_record(counts)})

    def _write_record(self, record: dict[str, Any]) -> None:
        from inspector.report import jsonl_line

        if self._jsonl_file is None:
            return
        try:
            self._jsonl_file.write(jsonl_line(record))
            self._jsonl_file.flush()
        except Exception:
            logger.exception("could not write to %s", self._jsonl_path)


def _spec_error_text(path: str, error: SpecError) -> str:
    """A spec's problems for mitmproxy's log: one line when there is one; else a
    line that counts them, then each on a line of its own starting with
    FILE:LINE:COL, as `segment-inspector spec check` prints them."""
    if len(error.problems) == 1:
        return str(error)
    return f"{len(error.problems)} problems in the spec {path}:\n{error}"


def _jsonl_clash(path: str) -> str | None:
    """Why `inspector_jsonl` must not be opened: it names a file the run reads
    (the spec, the GeoIP database, the flows read with `-r`) or mitmproxy's own
    output (`-w`)."""
    from inspector.outputs import output_clash

    inputs = []
    for option in ("inspector_spec", "inspector_geoip_db", "rfile"):
        given = _option(option, "")
        if given:
            inputs.append((f"{option}={given}", given))
    outputs = [("inspector_jsonl", path)]
    stream = _option("save_stream_file", "")
    if stream:
        # mitmproxy appends when the name starts with `+`.
        outputs.insert(0, ("save_stream_file", stream.removeprefix("+")))
    return output_clash(outputs, inputs, "JSON Lines")


def _option(name: str, default: Any) -> Any:
    """An option's value, or the default when no master has loaded our options."""
    try:
        return getattr(ctx.options, name)
    except (AttributeError, KeyError):
        return default


def _printable(text: str) -> str:
    """Traffic-derived text for a log line: control characters escaped."""
    from inspector.report import escape_controls

    return escape_controls(text)


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


if __name__.startswith("__mitmproxy_script__."):
    # Loaded by `mitmdump -s .../inspector/addon.py`: mitmproxy runs this file as a
    # module of its own, so take the class from the package, as everyone else does.
    from inspector.addon import SegmentInspector as _PackageSegmentInspector

    addons = [_PackageSegmentInspector()]

if __name__ == "__main__":
    # `mitmdump -s "$(python -m inspector.addon)"`: where the script is installed.
    print(__file__)
