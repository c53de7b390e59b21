"""Reports of an inspection: a text report for people, JSON and JSON Lines for tools.

All three are built from an `InspectionResult` and the `RecordingError`s met while
reading, and all of them mask personal data (e-mail addresses, phone numbers, long
ids) unless asked not to, so that a report can be pasted into a ticket.

* `render_text`: per event its time, site, action, page URL, the segments as
  `key=value` with JSON typing (`true` is a boolean, `"true"` a string) and the
  findings; then the page-level diagnoses, scenario coverage, the values seen per
  segment key and a summary line. Colour is optional (ANSI, through rich).
* `render_json`: one document with events, diagnoses, segment counts and coverage.
* `render_jsonl`: one JSON object per event, for `jq` and log pipelines.
"""

from __future__ import annotations

import json
import logging
import math
import re
import textwrap
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from inspector import __version__
from inspector.clock import REAL_CLOCK_AFTER, clock_text, iso_time, moment
from inspector.coverage import geography_notes, pages_by_scenario
from inspector.model import DataState, Finding, Severity
from inspector.standard import NO_LOCATION_ADVICE, display_fields, unlocatable_kind
from inspector.urls import split_url

if TYPE_CHECKING:
    from inspector.inspection import EventReport, InspectionResult
    from inspector.recordings import RecordingError

logger = logging.getLogger(__name__)

Masker = Callable[[str], str]

_URL_WIDTH = 110
_VALUE_WIDTH = 200
"""Longest segment value shown in the text report (the JSON keeps every value)."""
_MESSAGE_WIDTH = 1000
_GEO_NOTES_SHOWN = 5
_ADDRESSES_SHOWN = 3
"""Distinct reasons for a missing location listed under the standard segments."""
_MASK_MARGIN = 1000
"""Characters masked beyond a cut, so that a cut never shows part of an address."""
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_BUT_NEWLINE = re.compile(
    r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)
_NAMED_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
DEFAULT_WIDTH = 88
"""Where the text report wraps long messages when no terminal says otherwise."""
NOT_COVERED_NOTE = "site not covered by the spec"
"""Said of every event of a site outside the spec's `sites`, as in `live`'s lines:
only the first such event carries the `spec.site-not-covered` finding."""
_NOT_COVERED_TAG = f"({NOT_COVERED_NOTE})"
_SEVERITY_STYLES = {
    Severity.ERROR: "bold red",
    Severity.WARNING: "yellow",
    Severity.INFO: "cyan",
}
_DATA_STATE_NOTES = {
    DataState.ABSENT: "(no data parameter)",
    DataState.INVALID: "(data is not JSON: no segments could be read)",
    DataState.NOT_OBJECT: "(data is JSON but not an object: no segments)",
}


# --------------------------------------------------------------------------------------
# Shared pieces


def make_masker(
    show_pii: bool = False, *, long_number_digits: int = 9, phone_region: str = "US"
) -> Masker:
    """A function that hides personal data in a string (or keeps it, with show_pii)."""
    if show_pii:
        return _keep

    from inspector.pii import mask

    def masker(text: str) -> str:
        if not text:
            return text
        return mask(
            text, long_number_digits=long_number_digits, phone_region=phone_region
        )

    return masker


def _keep(text: str) -> str:
    return text


def shows_personal_data(masker: Masker) -> bool:
    """Whether a masker from `make_masker` keeps personal data (`show_pii`)."""
    return masker is _keep


def finding_message(finding: Finding, masker: Masker) -> str:
    """A finding's message as reports show it.

    Messages name personal data in a shortened form (`j•••@example.org`) and are
    masked on top of that. When the masker keeps personal data (`show_pii`), the
    value the finding kept as `evidence` is shown whole instead.
    """
    if finding.evidence is None or not shows_personal_data(masker):
        return masker(finding.message)

    from inspector.pii import PLACEHOLDERS, PersonalData, redact

    kind = finding.code.removeprefix("pii.")
    if kind not in PLACEHOLDERS:
        return finding.message
    evidence = finding.evidence
    shortened = redact(PersonalData(kind, evidence, 0, len(evidence)))
    return finding.message.replace(f"({shortened})", f"({evidence})")


def mask_json(value: Any, masker: Masker) -> Any:
    """A JSON value with personal data masked in every string, keys included."""
    if isinstance(value, str):
        return masker(value)
    if isinstance(value, Mapping):
        return {
            masker(str(key)): mask_json(item, masker) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_json(item, masker) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_label(value: Any) -> str:
    """A segment value as JSON text: `true`, `"true"`, `null`, `["a","b"]`."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class Totals:
    """How many events there were and how many findings of each severity."""

    events: int
    requests: int
    errors: int
    warnings: int
    infos: int
    recording_errors: int

    @property
    def worst(self) -> Severity | None:
        if self.errors:
            return Severity.ERROR
        if self.warnings:
            return Severity.WARNING
        if self.infos:
            return Severity.INFO
        return None


def totals(result: InspectionResult, errors: Sequence[RecordingError] = ()) -> Totals:
    """Counts for the summary line and the JSON summary."""
    severities = Counter(finding.severity for finding in result.findings)
    return Totals(
        events=len(result.reports),
        requests=result.requests_seen,
        errors=severities[Severity.ERROR],
        warnings=severities[Severity.WARNING],
        infos=severities[Severity.INFO],
        recording_errors=len(errors),
    )


def summary_line(
    result: InspectionResult, errors: Sequence[RecordingError] = ()
) -> str:
    """`12 events in 14 requests: 2 errors, 1 warning, 3 infos`."""
    counts = totals(result, errors)
    text = (
        f"{plural(counts.events, 'event')} in {plural(counts.requests, 'request')}: "
        f"{plural(counts.errors, 'error')}, {plural(counts.warnings, 'warning')}, "
        f"{plural(counts.infos, 'info')}"
    )
    if counts.recording_errors:
        text += f"; {plural(counts.recording_errors, 'recording problem')}"
    return text


NO_PIXELS_HINT = (
    "if the site sends its pixels to a first-party host, name it with --pixel-host "
    "or in the spec's first_party_hosts"
)
"""What to try when a recording holds no pixel event."""


def no_pixels_line(result: InspectionResult) -> str | None:
    """`no pixel event in 12 requests` when nothing was judged, else None.

    A recording without a single pixel (cut short, made with a first-party host
    that the check does not know, or not of the tracked site) has no finding, yet
    nothing in it was checked: a CI gate must not pass it.
    """
    if result.reports:
        return None
    return f"no pixel event in {plural(result.requests_seen, 'request')}"


def recordings_without_pixels(
    result: InspectionResult, sources: Sequence[str]
) -> list[str]:
    """Of several recordings, those that held no pixel event at all.

    One such recording among good ones (cut short, or of another site) adds no
    finding, yet nothing in it was checked: like a run with no pixel at all, it
    must not pass a CI gate. With one recording, `no_pixels_line` says it.
    """
    if len(sources) < 2 or not result.reports:
        return []
    with_pixels = {report.event.request.source for report in result.reports}
    return [source for source in sources if source not in with_pixels]


def plural(count: int, noun: str) -> str:
    """`1 request`, `0 requests`, `3 requests`: a count with its noun agreeing.

    Counts written for people go through here, the terminal UI's too.
    """
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _diagnoses_by_event(result: InspectionResult) -> dict[str, list[Any]]:
    """For each event id, the page-level diagnoses that name it as evidence."""
    by_event: dict[str, list[Any]] = {}
    for diagnosis in result.diagnoses:
        for event_id in diagnosis.evidence:
            by_event.setdefault(event_id, []).append(diagnosis)
    return by_event


# --------------------------------------------------------------------------------------
# JSON and JSON Lines


def event_record(
    report: EventReport,
    *,
    masker: Masker = _keep,
    diagnoses: Iterable[Any] = (),
) -> dict[str, Any]:
    """One event, its findings and the page-level diagnoses it is evidence of."""
    event = report.event
    request = event.request

    record: dict[str, Any] = {
        "type": "event",
        "id": event.id,
        "origin": request.origin,
        "time": iso_time(request.timestamp),
        "timestamp": request.timestamp,
        "method": request.method,
        "request_url": masker(request.url),
        "status": request.response_status,
        "transport": str(event.transport),
        "action": event.action,
        "idsite": event.idsite,
        "url": _mask_optional(event.url, masker),
        "urlref": _mask_optional(event.urlref, masker),
        "pvid": event.pvid,
        "visitor": _mask_optional(event.visitor, masker),
        "data_state": str(event.data_state),
        "segments": mask_json(dict(event.segments), masker),
        "worst": str(report.worst) if report.worst is not None else None,
        "site_covered": report.site_covered,
        "findings": [_finding_record(finding, masker) for finding in report.findings],
        "page_findings": [
            {
                "code": diagnosis.code,
                "severity": str(diagnosis.severity),
                "title": masker(diagnosis.title),
            }
            for diagnosis in diagnoses
        ],
    }
    if event.data_state is not DataState.OK and event.data_raw is not None:
        record["data_raw"] = masker(event.data_raw)
    if report.standard is not None:
        record["standard"] = _standard_record(report.standard, masker)
    return record


def _mask_optional(text: str | None, masker: Masker) -> str | None:
    return masker(text) if text is not None else None


def _finding_record(finding: Finding, masker: Masker) -> dict[str, Any]:
    return {
        "code": finding.code,
        "severity": str(finding.severity),
        "message": finding_message(finding, masker),
        "path": _mask_optional(finding.path, masker),
    }


def _standard_record(standard: Any, masker: Masker) -> dict[str, Any]:
    """Campaign, referrer and geography of one event as plain JSON."""
    campaign = {name: masker(value) for name, value, _ in standard.campaign.items()}
    record: dict[str, Any] = {
        "campaign": campaign,
        # Which query parameter each field was read from (`utm_campaign`, `cid`).
        "campaign_parameters": {
            name: param for name, _, param in standard.campaign.items()
        },
        "referrer": {
            "category": standard.referrer_category,
            "domain": standard.referrer_name or standard.referrer_domain,
        },
        "geo": None,
        "client_address": standard.client_address,
    }
    if standard.session_campaign is not None:
        record["session_campaign"] = {
            name: masker(value) for name, value, _ in standard.session_campaign.items()
        }
    if standard.geo is not None:
        record["geo"] = {
            "continent": standard.geo.continent_code,
            "country": standard.geo.country_code,
            "subdivision": standard.geo.subdivision_code,
        }
    if standard.geo_note:
        record["geo_note"] = standard.geo_note
    return record


def _diagnosis_record(diagnosis: Any, masker: Masker) -> dict[str, Any]:
    return {
        "code": diagnosis.code,
        "severity": str(diagnosis.severity),
        "title": masker(diagnosis.title),
        "explanation": masker(diagnosis.explanation),
        "evidence": list(diagnosis.evidence),
        "page": diagnosis.page_key,
        "visitor": _mask_optional(diagnosis.visitor, masker),
        "url": _mask_optional(diagnosis.url, masker),
        "uncertain": diagnosis.uncertain,
        "keys": [masker(key) for key in diagnosis.keys],
        "source": diagnosis.source or None,
    }


def diagnosis_record(
    diagnosis: Any, *, masker: Masker = _keep, updated: bool = False
) -> dict[str, Any]:
    """A page-level diagnosis as a JSON Lines record (`"type": "diagnosis"`).

    The fields of the JSON report's `diagnoses` list; `updated` says that an
    earlier record announced the same fault with another severity or title.
    """
    return {
        "type": "diagnosis",
        "updated": updated,
        **_diagnosis_record(diagnosis, masker),
    }


def _segment_counts_record(
    segment_counts: Mapping[str, Counter[str]], masker: Masker
) -> dict[str, list[dict[str, Any]]]:
    """Per key, each value seen (as its JSON value) with its count, commonest first."""
    record = {}
    for key in sorted(segment_counts):
        record[masker(key)] = [
            {"value": mask_json(json.loads(label), masker), "count": count}
            for label, count in segment_counts[key].most_common()
        ]
    return record


def summary_counts(
    result: InspectionResult,
    errors: Sequence[RecordingError] = (),
    *,
    sources: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The totals of a run, as the JSON report's `summary` holds them.

    `sources` names the recordings read, in order, so that one without a single
    pixel event is listed too; without it they are the sources the events came
    from (none for live traffic).
    """
    counts = totals(result, errors)
    events_by_source = Counter(report.event.request.source for report in result.reports)
    if sources is None:
        sources = [source for source in events_by_source if source]
    return totals_record(
        counts,
        [(source, events_by_source[source]) for source in dict.fromkeys(sources)],
    )


def totals_record(
    counts: Totals, sources: Iterable[tuple[str, int]] = ()
) -> dict[str, Any]:
    """`Totals` as the JSON report's `summary` holds them; `sources` pairs each
    recording read with its number of events (none for live traffic)."""
    return {
        "events": counts.events,
        "requests": counts.requests,
        "errors": counts.errors,
        "warnings": counts.warnings,
        "infos": counts.infos,
        "worst": str(counts.worst) if counts.worst is not None else None,
        "recording_errors": counts.recording_errors,
        "no_pixel_events": not counts.events,
        "sources": [{"source": source, "events": events} for source, events in sources],
    }


def summary_record(
    result: InspectionResult,
    errors: Sequence[RecordingError] = (),
    *,
    sources: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The last JSON Lines record of `check` (`"type": "summary"`): the totals of
    the JSON report's `summary`, so that a run without pixels still says so."""
    return {"type": "summary", **summary_counts(result, errors, sources=sources)}


def report_document(
    result: InspectionResult,
    errors: Sequence[RecordingError] = (),
    *,
    masker: Masker = _keep,
    sources: Sequence[str] | None = None,
    scenarios: Iterable[Any] = (),
) -> dict[str, Any]:
    """Everything in one JSON-ready dict (what `--format json` prints).

    `scenarios` (the spec's) give `scenario_notes`: why a scenario not seen could
    not have been, when that is known.
    """
    by_event = _diagnoses_by_event(result)
    return {
        "tool": "segment-inspector",
        "version": __version__,
        "summary": summary_counts(result, errors, sources=sources),
        "events": [
            event_record(
                report, masker=masker, diagnoses=by_event.get(report.event.id, ())
            )
            for report in result.reports
        ],
        "diagnoses": [_diagnosis_record(d, masker) for d in result.diagnoses],
        "segment_counts": _segment_counts_record(result.segment_counts, masker),
        "standard_counts": {
            name: [
                {"value": masker(value), "count": count}
                for value, count in counts.most_common()
            ]
            for name, counts in result.standard_counts.items()
        },
        "finding_counts": _finding_counts_record(result),
        "scenario_coverage": {
            name: list(event_ids)
            for name, event_ids in result.scenario_coverage.items()
        },
        "scenario_counts": dict(result.scenario_counts),
        "scenario_notes": geography_notes(
            scenarios, result.scenario_coverage, result.reports
        ),
        "scenario_pages": {
            name: [masker(url) for url in urls]
            for name, urls in scenario_pages(result).items()
        },
        "recording_errors": [
            {
                "source": error.label,
                "path": error.path,
                "location": error.location,
                "message": masker(error.message),
            }
            for error in errors
        ],
    }


def _finding_counts_record(result: InspectionResult) -> dict[str, int]:
    """Per finding code, how often it was found: on events and on page loads and
    the session alike, as the summary counts them."""
    counts = Counter(result.finding_counts)
    counts.update(diagnosis.code for diagnosis in result.diagnoses)
    return dict(counts.most_common())


def scenario_pages(result: InspectionResult) -> dict[str, list[str]]:
    """Per spec scenario seen, the addresses of the page loads that showed it."""
    return pages_by_scenario(result.pages)


def _address_path(url: str) -> str:
    """A page address without its scheme, host and query: which page it is."""
    return split_url(url).path or "/"


def render_json(
    result: InspectionResult,
    errors: Sequence[RecordingError] = (),
    *,
    show_pii: bool = False,
    masker: Masker | None = None,
    sources: Sequence[str] | None = None,
    scenarios: Iterable[Any] = (),
) -> str:
    """The whole inspection as one indented JSON document."""
    masker = masker or make_masker(show_pii)
    document = report_document(
        result, errors, masker=masker, sources=sources, scenarios=scenarios
    )
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_jsonl(
    result: InspectionResult,
    errors: Sequence[RecordingError] = (),
    *,
    show_pii: bool = False,
    masker: Masker | None = None,
    sources: Sequence[str] | None = None,
) -> str:
    """One compact JSON object per line: each event, each page diagnosis, then
    the summary.

    The event and diagnosis records are those `live --jsonl` writes: `"type":
    "event"` (whose `page_findings` name the diagnoses it is evidence of), then
    `"type": "diagnosis"` for every page-level diagnosis, scenarios not seen
    included. The last line is one `"type": "summary"` record (`summary_record`),
    which counts the recording problems; the problems themselves are not part of
    this format (the `check` command prints them on stderr).
    """
    masker = masker or make_masker(show_pii)
    by_event = _diagnoses_by_event(result)
    records = [
        event_record(report, masker=masker, diagnoses=by_event.get(report.event.id, ()))
        for report in result.reports
    ]
    records.extend(
        diagnosis_record(diagnosis, masker=masker) for diagnosis in result.diagnoses
    )
    records.append(summary_record(result, errors, sources=sources))
    return "".join(jsonl_line(record) for record in records)


def jsonl_line(record: Mapping[str, Any]) -> str:
    """One record of JSON Lines, compact and ending in a line break: the form of
    `check --format jsonl` and of `live --jsonl` alike."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)
    return text + "\n"


# --------------------------------------------------------------------------------------
# Text


class _TextReport:
    """Builds the text report line by line, styled with rich when colour is on."""

    def __init__(self, result: InspectionResult, masker: Masker, width: int):
        from rich.text import Text

        self._text_type = Text
        self.result = result
        self.masker = masker
        self.width = width
        self.without_pixels: list[str] = []
        """Recordings, of several, that held no pixel event (see `summary`)."""
        self.lines: list[Any] = []
        first = min(
            (r.event.timestamp for r in result.reports if r.event.timestamp), default=0
        )
        self.first_time = first

    def add(self, *parts: str | tuple[str, str]) -> None:
        """One line from plain strings and `(text, style)` pairs.

        Control characters are shown escaped (`\\x1b`), never sent to the terminal.
        """
        safe = [
            escape_controls(part)
            if isinstance(part, str)
            else (escape_controls(part[0]), part[1])
            for part in parts
        ]
        self.lines.append(self._text_type.assemble(*safe))

    def clip(self, text: str, width: int) -> str:
        """`text` masked, then cut to `width` with a `…(N chars)` marker."""
        return clip(text, width, self.masker)

    def blank(self) -> None:
        if self.lines and self.lines[-1].plain:
            self.add("")

    def heading(self, title: str) -> None:
        self.blank()
        self.add((title, "bold"))

    # -- sections ----------------------------------------------------------------------

    def header(self, sources: Sequence[str], spec_source: str | None) -> None:
        title = "Segment Inspector report"
        if sources:
            title += ": " + ", ".join(sources)
        self.add((title, "bold"))
        if spec_source:
            self.add(("spec: ", "dim"), spec_source)
        start = moment(self.first_time)
        if self.first_time >= REAL_CLOCK_AFTER and start is not None:
            self.add(("times are UTC; first event ", "dim"), start.strftime("%Y-%m-%d"))

    def events(self, by_event: Mapping[str, list[Any]]) -> None:
        if not self.result.reports:
            self.blank()
            self.add(("No Parse.ly pixel events found.", "bold"))
            if self.result.requests_seen:
                self.add(
                    (
                        "A pixel sent to your own host is recognised once the host "
                        "is listed (--pixel-host, or first_party_hosts in the spec).",
                        "dim",
                    )
                )
            return
        for report in self.result.reports:
            self.blank()
            self.event(report, by_event.get(report.event.id, ()))

    def event(self, report: EventReport, diagnoses: Iterable[Any]) -> None:
        event = report.event
        url = event.url or event.request.url
        self.add(
            (clock_text(event.timestamp), "dim"),
            "  ",
            (event.idsite or "-", "magenta"),
            "  ",
            ((event.action or "(no action)").ljust(10), "bold"),
            " ",
            _shorten(self.clip(url, _URL_WIDTH), _URL_WIDTH),
            (f"  [{event.id}]", "dim"),
        )
        self.add("    ", *self.segment_parts(report))
        standard = self.standard_parts(report)
        if standard:
            self.add("    ", *standard)
        session = self.session_campaign_parts(report)
        if session:
            self.add("    ", *session)

        for finding in report.findings:
            self.finding_line(
                finding.severity,
                finding.code,
                finding_message(finding, self.masker),
                finding.path,
            )
        for diagnosis in diagnoses:
            self.finding_line(
                diagnosis.severity, diagnosis.code, diagnosis.title, None, page=True
            )
        if not report.findings and not diagnoses:
            note = [] if report.site_covered else [" ", (_NOT_COVERED_TAG, "dim")]
            self.add("    ", ("ok", "green"), *note)
        elif not report.site_covered:
            self.add("    ", (_NOT_COVERED_TAG, "dim"))

    def segment_parts(self, report: EventReport) -> list[str | tuple[str, str]]:
        event = report.event
        parts: list[str | tuple[str, str]] = []
        for key, value in event.segments.items():
            if parts:
                parts.append(" ")
            shown = self.clip(json_label(value), _VALUE_WIDTH)
            parts.extend([(self.clip(key, _VALUE_WIDTH), "blue"), "=", shown])

        note = _DATA_STATE_NOTES.get(event.data_state)
        if event.data_state is DataState.DOUBLE_ENCODED:
            twice = "JSON-encoded"
            if any(f.code == "data.double-percent-encoded" for f in event.findings):
                twice = "percent-encoded"
            note = f"(data was {twice} twice; shown decoded)"
        if note:
            parts.extend([" " if parts else "", (note, "dim")])
        elif not parts:
            parts.append(("(no custom segments)", "dim"))
        return parts

    def standard_parts(self, report: EventReport) -> list[str | tuple[str, str]]:
        """Campaign, referrer and geography as Parse.ly will segment the event."""
        standard = report.standard
        if standard is None:
            return []

        parts: list[str | tuple[str, str]] = [("standard:", "dim")]
        for name, value in display_fields(standard):
            parts.extend(["  ", (name, "cyan"), "=", self.clip(value, _VALUE_WIDTH)])
        if standard.geo is None and standard.client_address:
            # No location: show what it would be looked up from (see geo_notes).
            address = self.clip(standard.client_address, _VALUE_WIDTH)
            parts.extend(["  ", ("address", "cyan"), "=", address])
        return parts

    def session_campaign_parts(
        self, report: EventReport
    ) -> list[str | tuple[str, str]]:
        """The campaign of the session's first URL (`surl`), when it is not the
        page's own: Parse.ly keeps it for the whole visit (`surl_utm_*`)."""
        standard = report.standard
        session = standard.session_campaign if standard is not None else None
        if session is None or session.is_empty:
            return []
        here = [(name, value) for name, value, _ in standard.campaign.items()]
        first = [(name, value) for name, value, _ in session.items()]
        if first == here:
            return []

        parts: list[str | tuple[str, str]] = [("session: ", "dim")]
        for name, value in first:
            parts.extend(["  ", (name, "cyan"), "=", self.clip(value, _VALUE_WIDTH)])
        parts.append(("  (from surl)", "dim"))
        return parts

    def standard_values(self) -> None:
        """Per standard segment, the values the pageviews will be counted under,
        then why geography is missing, once per reason (how to add a GeoIP
        database, which addresses it does not know, which have no location)."""
        counts = self.result.standard_counts
        noted = [
            report
            for report in self.result.reports
            if report.standard is not None and report.standard.geo_note
        ]
        # Counted over the pageviews, as the heading says, unless only other
        # events lack a location: the hint still matters then.
        noted_pageviews = [r for r in noted if r.event.action == "pageview"]
        unit = "pageviews" if noted_pageviews else "events"
        notes = _geography_notes(noted_pageviews or noted)
        if not counts and not notes:
            return

        self.heading("Standard segments (pageviews)")
        names = [*counts, *(["geography"] if notes else [])]
        name_width = max(len(name) for name in names)
        for name, values in counts.items():
            parts: list[str | tuple[str, str]] = [
                "  ",
                (name.ljust(name_width), "cyan"),
            ]
            for value, count in values.most_common():
                parts.extend(
                    ["  ", self.clip(value, _VALUE_WIDTH), (f" ×{count}", "dim")]
                )
            self.add(*parts)

        shown = notes.most_common(_GEO_NOTES_SHOWN)
        for index, (note, count) in enumerate(shown):
            label = "geography" if index == 0 else ""
            self.add(
                "  ",
                (label.ljust(name_width), "cyan"),
                "  ",
                self.clip(note, _MESSAGE_WIDTH),
                (f" ({count} {unit})" if count > 1 else "", "dim"),
            )
        if len(notes) > len(shown):
            more = len(notes) - len(shown)
            self.add("  ", " " * name_width, "  ", (f"… {more} more", "dim"))

    def finding_line(
        self,
        severity: Severity,
        code: str,
        message: str,
        path: str | None,
        *,
        page: bool = False,
    ) -> None:
        label = severity.upper().ljust(7)
        message = self.clip(message, _MESSAGE_WIDTH)
        if path:
            path = self.masker(path)  # a parameter name may be personal data
        if path and not message.startswith(path):
            message += f" [{path}]"
        scope = " (page)" if page else ""

        # Wrap the message under itself, after the severity and code.
        lead = f"    {label} {code}{scope}  "
        room = max(self.width - len(lead), 30)
        wrapped = textwrap.wrap(
            message, width=room, break_on_hyphens=False, break_long_words=False
        ) or [""]
        self.add(
            "    ",
            (label, _SEVERITY_STYLES[severity]),
            " ",
            (code, "bold"),
            scope,
            "  ",
            wrapped[0],
        )
        for line in wrapped[1:]:
            self.add(" " * len(lead), line)

    def diagnoses(self) -> None:
        if not self.result.diagnoses:
            return
        self.heading("Page loads and visitors")
        # Name the recording when the report covers several.
        several = len({d.source for d in self.result.diagnoses if d.source}) > 1
        for diagnosis in self.result.diagnoses:
            self.blank()
            self.add(
                "  ",
                (diagnosis.severity.upper(), _SEVERITY_STYLES[diagnosis.severity]),
                " ",
                (diagnosis.code, "bold"),
                "  ",
                self.clip(diagnosis.title, _MESSAGE_WIDTH),
            )
            where = [
                self.masker(part)
                for part in (
                    diagnosis.page_key and f"page load {diagnosis.page_key}",
                    diagnosis.url,
                    several and diagnosis.source and f"in {diagnosis.source}",
                )
                if part
            ]
            if where:
                self.add(("    where: ", "dim"), " ".join(where))
            if diagnosis.evidence:
                self.add(("    events: ", "dim"), ", ".join(diagnosis.evidence))
            if diagnosis.uncertain:
                self.add(("    (matched partly by timing: likely, not certain)", "dim"))
            for line in textwrap.wrap(
                self.masker(diagnosis.explanation),
                width=max(self.width - 4, 40),
                break_on_hyphens=False,
                break_long_words=False,
            ):
                self.add("    ", line)

    def coverage(self, scenarios: Iterable[Any] = ()) -> None:
        coverage = self.result.scenario_coverage
        if not coverage:
            return
        notes = geography_notes(scenarios, coverage, self.result.reports)
        self.heading("Scenarios")
        name_width = max(len(name) for name in coverage)
        pages = scenario_pages(self.result)
        for name, event_ids in coverage.items():
            seen = max(self.result.scenario_counts.get(name, 0), len(event_ids))
            if event_ids:
                shown = ", ".join(event_ids[:5]) + (" …" if len(event_ids) > 5 else "")
                paths = [_address_path(url) for url in pages.get(name, ())]
                where = ", ".join(dict.fromkeys(paths[:5])) + (
                    " …" if len(paths) > 5 else ""
                )
                self.add(
                    "  ",
                    name.ljust(name_width),
                    "  ",
                    (f"seen in {plural(seen, 'event')}", "green"),
                    *((" on ", self.masker(where)) if where else ()),
                    ("  " + shown, "dim"),
                )
            else:
                note = notes.get(name)
                self.add(
                    "  ",
                    name.ljust(name_width),
                    "  ",
                    ("not seen", "yellow"),
                    *(((f" ({note})", "dim"),) if note else ()),
                )

    def segment_values(self) -> None:
        counts = self.result.segment_counts
        if not counts:
            return
        self.heading("Segment values")
        key_width = min(max(len(key) for key in counts), 30)
        for key in sorted(counts):
            values = [
                (self.clip(label, _VALUE_WIDTH), f" ×{count}")
                for label, count in counts[key].most_common()
            ]
            parts: list[str | tuple[str, str]] = [
                "  ",
                (self.clip(key, _VALUE_WIDTH).ljust(key_width), "blue"),
            ]
            for label, count_text in values:
                parts.extend(["  ", label, (count_text, "dim")])
            self.add(*parts)

    def recording_errors(self, errors: Sequence[RecordingError]) -> None:
        if not errors:
            return
        self.heading("Could not read")
        for error in errors:
            self.add(
                "  ",
                ("ERROR", _SEVERITY_STYLES[Severity.ERROR]),
                " ",
                self.clip(str(error), _MESSAGE_WIDTH),
            )

    def summary(self, errors: Sequence[RecordingError]) -> None:
        counts = totals(self.result, errors)
        style = {
            Severity.ERROR: "bold red",
            Severity.WARNING: "bold yellow",
        }.get(counts.worst, "bold green")
        self.blank()
        if nothing := no_pixels_line(self.result):
            # The hint is under the events heading; this line is the verdict.
            error_style = _SEVERITY_STYLES[Severity.ERROR]
            self.add(("ERROR", error_style), f" {nothing}: nothing was checked")
            style = "bold red"
        for source in self.without_pixels:
            error_style = _SEVERITY_STYLES[Severity.ERROR]
            self.add(
                ("ERROR", error_style),
                f" {source}: no pixel event in this recording: nothing in it was "
                "checked",
            )
            style = "bold red"
        self.add((summary_line(self.result, errors), style))

    def render(self, color: bool) -> str:
        if not color:
            return "".join(f"{line.plain.rstrip()}\n" for line in self.lines)

        import io

        from rich.console import Console

        buffer = io.StringIO()
        console = Console(
            file=buffer,
            force_terminal=True,
            color_system="standard",
            width=max(self.width, 40),
            soft_wrap=True,
            highlight=False,
        )
        for line in self.lines:
            console.print(line)
        return buffer.getvalue()


def render_text(
    result: InspectionResult,
    errors: Sequence[RecordingError] = (),
    *,
    show_pii: bool = False,
    color: bool = False,
    sources: Sequence[str] = (),
    spec_source: str | None = None,
    width: int = DEFAULT_WIDTH,
    masker: Masker | None = None,
    scenarios: Iterable[Any] = (),
) -> str:
    """The text report.

    Args:
        result: what the inspection found.
        errors: problems met while reading the recordings, listed near the end.
        show_pii: keep personal data instead of masking it.
        color: style the report with ANSI colours (for a terminal).
        sources: the recordings' names, for the title line.
        spec_source: the spec file used, shown under the title.
        width: where explanations are wrapped.
        masker: how to hide personal data; built from `show_pii` when not given.
        scenarios: the spec's scenarios, to say why one was not seen when that is
            known (a geography condition, and no GeoIP database).
    """
    masker = masker or make_masker(show_pii)
    report = _TextReport(result, masker, width)

    report.header(sources, spec_source)
    report.events(_diagnoses_by_event(result))
    report.without_pixels = recordings_without_pixels(result, sources)
    report.diagnoses()
    report.coverage(scenarios)
    report.segment_values()
    report.standard_values()
    report.recording_errors(errors)
    report.summary(errors)
    return report.render(color)


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def clip(text: str, width: int, masker: Masker = _keep) -> str:
    """`text` masked and cut to `width` characters, saying how long it was.

    >>> clip("x" * 500, 5)
    'xxxxx…(500 chars)'

    Only the start of a long text is masked, with a margin past the cut so that
    an address the cut would split is still recognised and hidden.
    """
    if len(text) <= width:
        return masker(text)

    masked = masker(text[: width + _MASK_MARGIN])
    if len(masked) < width + _MASK_MARGIN // 2:
        masked = masker(text)  # much was masked: judge the cut on the whole text
    if len(masked) <= width:
        return masked
    return f"{masked[:width]}…({len(text)} chars)"


def escape_controls(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with control characters written as escapes (`\\x1b`, `\\n`).

    Terminal escape sequences in a URL or a value (`%1b[2J` clears the screen)
    are shown, not obeyed; so are bidirectional overrides that reorder text.
    `keep_newlines` leaves line breaks alone, for text of several lines (a log
    record with its traceback).
    """
    pattern = _CONTROL_BUT_NEWLINE if keep_newlines else _CONTROL_CHARACTERS
    if not pattern.search(text):
        return text
    return pattern.sub(_escape_control, text)


def _escape_control(match: re.Match[str]) -> str:
    character = match.group()
    named = _NAMED_ESCAPES.get(character)
    if named:
        return named
    code = ord(character)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def _geography_notes(reports: Iterable[EventReport]) -> Counter[str]:
    """Why events have no location, with the count of each reason, in the order
    the reasons were first met.

    Addresses that can have no location (private, reserved...) are one reason per
    kind, naming the addresses, rather than one sentence per address.
    """
    reasons: dict[str, Counter[str]] = {}
    """Per reason, the addresses it was met with ('' for a reason of its own)."""
    for report in reports:
        standard = report.standard
        if standard is None or not standard.geo_note:
            continue
        address = standard.client_address
        kind = unlocatable_kind(address) if address else None
        if kind is None or address is None:
            reasons.setdefault(standard.geo_note, Counter())[""] += 1
        else:
            reasons.setdefault(kind, Counter())[address] += 1

    notes: Counter[str] = Counter()
    for reason, addresses in reasons.items():
        if "" in addresses:
            notes[reason] = addresses[""]
        elif len(addresses) == 1:
            [(address, count)] = addresses.items()
            article = "an" if reason[0] in "aeiou" else "a"
            note = f"{address} is {article} {reason} address, so it has no location"
            notes[f"{note}; {NO_LOCATION_ADVICE}"] = count
        else:
            shown = [
                f"{address} ×{count}"
                for address, count in addresses.most_common(_ADDRESSES_SHOWN)
            ]
            if len(addresses) > _ADDRESSES_SHOWN:
                shown.append(f"{len(addresses) - _ADDRESSES_SHOWN} more")
            note = (
                f"{len(addresses)} {reason} addresses ({', '.join(shown)}) have no "
                "location"
            )
            notes[f"{note}; {NO_LOCATION_ADVICE}"] = sum(addresses.values())
    return notes
