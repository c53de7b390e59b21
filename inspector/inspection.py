"""The pipeline every front end shares: requests in, judged events out.

The live proxy addon, `segment-inspector check`, the `view` UI and the pytest plugin
all feed `CapturedRequest`s into one `Inspection`, which decodes pixels, runs the
per-event checks, resolves standard segments, follows page loads and keeps the counts
that the reports and the Segments view show.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from inspector.checks import EventChecker
from inspector.decode import PixelMatcher, decode_request
from inspector.diagnoses import SCENARIO_NOT_COVERED, TRACKER_NO_PAGEVIEW
from inspector.model import CapturedRequest, Finding, PixelEvent, Severity
from inspector.pages import PageDiagnosis, PageLoad, PageTracker
from inspector.spec import Spec, default_spec
from inspector.standard import StandardResolver, StandardSegments, display_fields

logger = logging.getLogger(__name__)

MAX_COUNTED_KEYS = 1_000
"""Segment keys counted in `segment_counts`; later new keys are only tallied."""
MAX_COUNTED_VALUES = 10_000
"""Distinct values counted per segment key; later new values are only tallied."""

_LABEL_CACHE_LIMIT = 20_000
_LABELLED_TYPES = frozenset({str, bool, int, type(None)})
"""Types whose values map to one JSON label each, so the label can be remembered
(not floats: `0.0 == -0.0`, but their labels differ)."""

MAX_ANNOUNCED_DIAGNOSES = 50_000
"""Announced diagnoses remembered by `new_diagnoses`; the oldest are forgotten."""


@dataclass(frozen=True, slots=True)
class EventReport:
    """One pixel event with everything the per-event checks found."""

    event: PixelEvent
    findings: tuple[Finding, ...]
    standard: StandardSegments | None = None
    site_covered: bool = True
    """False for an event of a site outside the spec's `sites`: only the built-in
    checks judged it (the first such event of a site says so in a finding)."""

    @property
    def worst(self) -> Severity | None:
        """The most severe finding's severity, or None when there is none."""
        if not self.findings:
            return None
        return max((finding.severity for finding in self.findings), key=_rank)


def _rank(severity: Severity) -> int:
    return severity.rank


@dataclass(frozen=True, slots=True)
class DiagnosisNotice:
    """A page-level diagnosis to announce, as `Inspection.new_diagnoses` gives it."""

    diagnosis: PageDiagnosis
    updated: bool = False
    """True when an earlier notice announced the same fault, with another severity
    or title (a tracker that has now waited past its timeout, a third duplicate)."""


def segment_value_label(value: Any) -> str:
    """How a segment value is shown and counted: JSON, so `true` and `"true"` differ."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@dataclass
class InspectionResult:
    """Everything an inspection found, for reports, assertions and the UI."""

    reports: list[EventReport]
    pages: list[PageLoad]
    diagnoses: list[PageDiagnosis]
    segment_counts: dict[str, Counter[str]]
    """Per segment key, how many events carried each value (JSON-labelled)."""
    finding_counts: Counter[str]
    scenario_coverage: dict[str, list[str]] = field(default_factory=dict)
    """Per scenario named in the spec, the ids of events that showed it (at most
    the first thousand: `scenario_counts` counts them all)."""
    scenario_counts: dict[str, int] = field(default_factory=dict)
    """Per scenario named in the spec, how many pageviews showed it."""
    standard_counts: dict[str, Counter[str]] = field(default_factory=dict)
    """Per standard segment (referrer, campaign fields, geography), how many
    pageviews Parse.ly will count under each value."""
    requests_seen: int = 0
    uncounted_segment_values: int = 0
    """Segment values left out of `segment_counts` because their key had too many
    distinct values, or there were too many keys (`MAX_COUNTED_VALUES`,
    `MAX_COUNTED_KEYS`)."""

    @property
    def events(self) -> list[PixelEvent]:
        return [report.event for report in self.reports]

    @property
    def findings(self) -> list[Finding]:
        found = [finding for report in self.reports for finding in report.findings]
        found.extend(
            finding for diagnosis in self.diagnoses for finding in diagnosis.findings
        )
        return found

    def worst(self) -> Severity | None:
        severities = [finding.severity for finding in self.findings]
        return max(severities, key=_rank) if severities else None


class Inspection:
    """Stateful judge of a stream of requests, live or recorded.

    Feed it every request the proxy sees (pixel or not: the others build page-load
    timelines) with `process`, in the order they were sent.
    """

    def __init__(
        self,
        spec: Spec | None = None,
        *,
        geoip_db: str | None = None,
        max_reports: int | None = None,
        clock: Callable[[], float] | None = None,
    ):
        """`clock` (such as `time.time`) is for live traffic: see `PageTracker`."""
        self.spec = spec or default_spec()
        self.matcher = PixelMatcher(self.spec.first_party_hosts)
        self.checker = EventChecker(self.spec)
        self.standard = StandardResolver(self.spec, geoip_db=geoip_db)
        self.pages = PageTracker(self.spec, clock=clock)
        self.reports: deque[EventReport] = deque(maxlen=max_reports)
        """The most recent reports (all of them unless `max_reports` is set)."""
        self.segment_counts: dict[str, Counter[str]] = {}
        self.uncounted_segment_values = 0
        """Values not in `segment_counts` because of its limits (see the result)."""
        self.standard_counts: dict[str, Counter[str]] = {}
        """Per standard segment, the pageviews counted under each value."""
        self.finding_counts: Counter[str] = Counter()
        self.requests_seen = 0
        self.diagnoses_waiting = False
        """True when the last `new_diagnoses` held back a tracker still waiting for
        its pageview: with a `clock`, time alone can turn it into a warning."""
        self._labels: dict[tuple[type, Any], str] = {}
        self._announced: OrderedDict[tuple[Any, ...], tuple[Any, ...]] = OrderedDict()

    def is_pixel(self, request: CapturedRequest) -> bool:
        return self.matcher.matches(request)

    def process(self, request: CapturedRequest) -> list[EventReport]:
        """Judge one request; returns the reports for the pixel events it held."""
        self.requests_seen += 1
        endpoint = self.matcher.endpoint(request)
        if endpoint is None:
            self.pages.observe_request(request)
            return []

        new_reports = []
        spec = self.spec
        for event in decode_request(request, self.matcher, endpoint=endpoint):
            standard = self.standard.resolve(event)
            findings = (
                *event.findings,
                *self.checker.check(event),
                *standard.findings,
            )
            report = EventReport(
                event=event,
                findings=findings,
                standard=standard,
                site_covered=not spec.sites or spec.applies_to_site(event.idsite),
            )
            self._count(report)
            self.pages.observe_event(report)
            new_reports.append(report)

        self.reports.extend(new_reports)
        return new_reports

    def process_all(self, requests: Iterable[CapturedRequest]) -> InspectionResult:
        for request in requests:
            self.process(request)
        return self.result()

    def result(self) -> InspectionResult:
        """A snapshot of everything seen so far, with page-level diagnoses."""
        return InspectionResult(
            reports=list(self.reports),
            pages=self.pages.page_loads(),
            diagnoses=self.pages.diagnoses(),
            segment_counts={key: Counter(c) for key, c in self.segment_counts.items()},
            standard_counts={
                name: Counter(c) for name, c in self.standard_counts.items()
            },
            finding_counts=Counter(self.finding_counts),
            scenario_coverage=self.pages.scenario_coverage(),
            scenario_counts=self.pages.scenario_counts(),
            requests_seen=self.requests_seen,
            uncounted_segment_values=self.uncounted_segment_values,
        )

    def new_diagnoses(self, *, final: bool = False) -> list[DiagnosisNotice]:
        """The page-level diagnoses not announced yet, for output that streams.

        A diagnosis is announced once. When more events join it later, it is
        announced again (`updated`) only if its severity or its title changed, so a
        page that keeps sending heartbeats does not repeat its fault with each one.
        Diagnoses that more traffic may still withdraw (a tracker that has not sent
        its pageview yet, a scenario not seen yet) wait for `final`, which is meant
        for the end of a session.

        It walks every page load kept (see `PageTracker.diagnoses`), so call it now
        and then, not for every request. Only one consumer should call it: each
        diagnosis is handed out once.
        """
        notices = []
        waiting = False
        for diagnosis in self.pages.diagnoses():
            if not final and _may_be_withdrawn(diagnosis):
                waiting = waiting or diagnosis.code == TRACKER_NO_PAGEVIEW
                continue

            lineage = diagnosis_lineage(diagnosis)
            state = (
                diagnosis.severity,
                diagnosis.title,
                tuple(sorted(diagnosis.evidence)),
            )
            earlier = self._announced.get(lineage)
            if earlier == state:
                continue
            self._announced[lineage] = state
            self._announced.move_to_end(lineage)
            if earlier is None:
                notices.append(DiagnosisNotice(diagnosis))
            elif earlier[:2] != state[:2]:
                notices.append(DiagnosisNotice(diagnosis, updated=True))

        while len(self._announced) > MAX_ANNOUNCED_DIAGNOSES:
            self._announced.popitem(last=False)
        self.diagnoses_waiting = waiting
        return notices

    def _count(self, report: EventReport) -> None:
        segment_counts = self.segment_counts
        for key, value in report.event.segments.items():
            counts = segment_counts.get(key)
            if counts is None:
                if len(segment_counts) >= MAX_COUNTED_KEYS:
                    self.uncounted_segment_values += 1
                    continue
                counts = segment_counts[key] = Counter()

            label = self._label(value)
            if label in counts or len(counts) < MAX_COUNTED_VALUES:
                counts[label] += 1
            else:
                self.uncounted_segment_values += 1

        finding_counts = self.finding_counts
        for finding in report.findings:
            finding_counts[finding.code] += 1

        # Parse.ly segments pageviews by their standard segments.
        if report.standard is not None and report.event.action == "pageview":
            standard_counts = self.standard_counts
            for name, value in display_fields(report.standard):
                counts = standard_counts.get(name)
                if counts is None:
                    counts = standard_counts[name] = Counter()
                if value in counts or len(counts) < MAX_COUNTED_VALUES:
                    counts[value] += 1

    def _label(self, value: Any) -> str:
        """`segment_value_label(value)`, remembered for plain values."""
        kind = type(value)
        if kind not in _LABELLED_TYPES:
            return segment_value_label(value)

        key = (kind, value)
        label = self._labels.get(key)
        if label is None:
            if len(self._labels) >= _LABEL_CACHE_LIMIT:
                self._labels.clear()
            label = self._labels[key] = segment_value_label(value)
        return label


def _may_be_withdrawn(diagnosis: PageDiagnosis) -> bool:
    """True for a diagnosis that later traffic can still make go away."""
    if diagnosis.code == SCENARIO_NOT_COVERED:
        return True
    # Before its timeout, "no pageview yet" is a note that the pageview may follow.
    return diagnosis.code == TRACKER_NO_PAGEVIEW and diagnosis.severity is Severity.INFO


def diagnosis_lineage(diagnosis: PageDiagnosis) -> tuple[Any, ...]:
    """What stays the same while a fault gathers evidence: the rule, the recording,
    the page load or visitor, the keys, and the first event that showed it."""
    first = diagnosis.evidence[0] if diagnosis.evidence else diagnosis.title
    return (
        diagnosis.code,
        diagnosis.source,
        diagnosis.page_key,
        diagnosis.visitor,
        diagnosis.keys,
        first,
    )
