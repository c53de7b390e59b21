"""The mitmproxy addon that judges Parse.ly pixels as they pass through the proxy.

It turns every completed HTTP flow into a `CapturedRequest` and feeds it to one
`Inspection`: pixels are decoded and checked, every other request only helps follow
page loads. Traffic is never changed, except that `inspector_answer_pixels` answers
pixel requests locally with a 1x1 GIF instead of sending them to Parse.ly.

Run it on its own with mitmproxy's tools::

    mitmdump -s addons/segment_inspector.py --set inspector_spec=segments.yaml
    mitmdump -n -r session.har -s addons/segment_inspector.py

`segment-inspector live` embeds the same addon (see `inspector.proxy`) and receives the
reports through the `on_reports` and `on_request` callbacks instead of the log.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from mitmproxy import ctx, exceptions, http

from inspector.model import (
    CapturedRequest,
    DataState,
    Finding,
    PixelEvent,
    Severity,
    Transport,
)

if TYPE_CHECKING:
    from mitmproxy.addonmanager import Loader

    from inspector.inspection import EventReport, Inspection

logger = logging.getLogger(__name__)

ReportSink = Callable[[list["EventReport"]], None]
RequestSink = Callable[[CapturedRequest], None]

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

    The same record `check --format jsonl` writes, so live and replayed sessions
    can be compared line by line. Personal data is masked unless `show_pii`.
    """
    from inspector.report import event_record, make_masker

    return event_record(report, masker=make_masker(show_pii))


def summary_line(report: EventReport, *, show_pii: bool = False) -> str:
    """One line per event for logs and `live --headless`: what, where, what is wrong."""
    event = report.event
    from inspector.report import make_masker

    masked = make_masker(show_pii)

    when = datetime.fromtimestamp(event.timestamp or 0).strftime("%H:%M:%S")
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
        parts.append(
            f"-- {len(errors)} error(s), {len(warnings)} warning(s): {', '.join(codes)}"
        )
    else:
        parts.append("-- ok")
    return "  ".join(parts)


class SegmentInspector:
    """Judges the Parse.ly pixels in the traffic; never touches other requests.

    Args:
        inspection: the pipeline to feed. When given (the embedded proxy builds one
            from the command line), the `inspector_spec`, `inspector_hosts` and
            `inspector_geoip_db` options are not used; otherwise the addon builds
            its own from those options.
        on_reports: called with the reports of each pixel, once its flow is done.
        on_request: called with every request, pixel or not, in the same order.
        origin: written into each `CapturedRequest` for messages.
    """

    name = "segmentinspector"

    def __init__(
        self,
        inspection: Inspection | None = None,
        *,
        on_reports: ReportSink | None = None,
        on_request: RequestSink | None = None,
        origin: str = "live",
    ) -> None:
        self._inspection = inspection
        self._owns_inspection = inspection is None
        self._on_reports = on_reports
        self._on_request = on_request
        self._origin = origin

        self._answer_pixels = False
        self._show_pii = False
        self._jsonl_path = ""
        self._jsonl_file: IO[str] | None = None

        # Flows are judged once, after they complete, and in the order they completed;
        # the work is queued so that the hook returns at once and the client gets
        # its response without waiting for the inspection.
        self._pending: deque[CapturedRequest] = deque()
        self._drain_scheduled = False
        self._judged: weakref.WeakSet[http.HTTPFlow] = weakref.WeakSet()

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
        if self._answer_pixels and flow.response is None:
            self._answer_if_pixel(flow)

        # A recorded flow that never got a response or an error (saved while in
        # flight, or converted from a bare request list) fires no later hook.
        if not flow.live and flow.response is None and flow.error is None:
            self._flow_completed(flow)

    def response(self, flow: http.HTTPFlow) -> None:
        self._flow_completed(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._flow_completed(flow)

    def done(self) -> None:
        self.flush()
        if self._jsonl_file is not None:
            try:
                self._jsonl_file.close()
            except OSError:
                logger.exception("could not finish %s", self._jsonl_path)
            self._jsonl_file = None

    # Judging

    def flush(self) -> None:
        """Judge every completed flow still waiting in the queue."""
        self._drain_scheduled = False
        while self._pending:
            self._judge(self._pending.popleft())

    def _flow_completed(self, flow: http.HTTPFlow) -> None:
        if flow in self._judged or flow.websocket is not None:
            return
        self._judged.add(flow)

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
            logger.exception("could not tell whether %s is a pixel", flow.request.url)
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
                "could not follow %s for page tracking: %s", captured.url, exc
            )
            return []

        logger.exception("judging pixel %s failed", captured.url, exc_info=exc)
        from inspector.inspection import EventReport

        finding = Finding(
            code="decode.failed",
            severity=Severity.ERROR,
            message=f"The inspector could not judge this pixel ({type(exc).__name__}).",
            explanation=str(exc),
            event_id=captured.request_id,
        )
        event = PixelEvent(
            id=captured.request_id,
            request=captured,
            transport=Transport.MOBILE if captured.method == "POST" else Transport.WEB,
            action=None,
            params={},
            data_state=DataState.ABSENT,
            data=None,
            data_raw=None,
            segments={},
            findings=(finding,),
        )
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
                logger.info("%s", summary_line(report, show_pii=self._show_pii))
            return
        try:
            self._on_reports(reports)
        except Exception:
            logger.exception("the report callback failed")

    # Setup helpers

    def _build_inspection(self) -> Inspection:
        from inspector.inspection import Inspection
        from inspector.spec import SpecError, default_spec, load_spec
        from inspector.standard import GeoIPError

        spec_path = _option("inspector_spec", "")
        extra_hosts = list(_option("inspector_hosts", []))
        geoip_db = _option("inspector_geoip_db", "") or None

        # The messages say all there is to say; mitmproxy prints a traceback for
        # script errors, so keep it to the one that matters.
        try:
            spec = load_spec(spec_path) if spec_path else default_spec()
        except SpecError as exc:
            raise exceptions.OptionsError(str(exc)) from None

        if extra_hosts:
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
        if not path:
            return
        try:
            self._jsonl_file = open(path, "w", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise exceptions.OptionsError(
                f"cannot write JSON Lines to {path}: {exc.strerror or exc}"
            ) from None

    def _write_jsonl(self, report: EventReport) -> None:
        if self._jsonl_file is None:
            return
        try:
            record = report_record(report, show_pii=self._show_pii)
            line = json.dumps(record, ensure_ascii=False, default=str)
            self._jsonl_file.write(line + "\n")
            self._jsonl_file.flush()
        except Exception:
            logger.exception("could not write to %s", self._jsonl_path)


def _option(name: str, default: Any) -> Any:
    """An option's value, or the default when no master has loaded our options."""
    try:
        return getattr(ctx.options, name)
    except (AttributeError, KeyError):
        return default


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
