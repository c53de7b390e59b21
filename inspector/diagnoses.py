"""Faults that only show across events: the page-load and visitor diagnosis rules.

One pixel cannot show that the segment tag ran after the tracker, that a page sent two
pageviews, or that heartbeats disagree with their pageview. `inspector.pages` groups
events into page loads and visitors and hands each group to the rules here as plain
facts; every rule returns `PageDiagnosis` objects that name the events proving the
fault and tell the developer what to change.

Rules and their codes:

- `page.segment-after-pageview` (error): keys missing on a pageview appear on later
  events of the same pageview, or on a later pageview of the same address.
- `page.duplicate-pageview` (error when the first pageview lacks the data the second
  has, else warning): two pageviews for one address within the duplicate window.
- `page.heartbeat-without-pageview` (warning): heartbeats or conversions that carry
  no pageview id while the page load has sent no pageview yet. Only an event that
  *could* carry the id counts: a modern web event (it has a `plid`) without `pvid`, or
  a mobile event whose `pvid` is explicitly null. A lone heartbeat that carries a
  `pvid` is simply a capture that started after the pageview, and legacy or AMP
  events never carry the id, so neither is reported.
- `page.heartbeat-data-differs` (warning): later events of a pageview lack or change
  segment values the pageview had.
- `page.tt-decreased` (warning): engaged time went down within one `pvid`.
- `page.spa-url-without-pageview` (warning): events (or same-origin requests) name an
  address of the page load for which no pageview was sent.
- `page.tracker-no-pageview` (warning; info while the timeout has not yet passed in
  the traffic seen): the tracker script loaded, no pageview followed.
- `page.pageview-without-tracker` (info): pageviews while the page's other requests
  were seen but not the tracker script.
- `page.segment-changed` (info): a segment value differs between pageviews of one page
  load (virtual pageviews of a single-page app).
- `visitor.case-variants` (warning), `visitor.null-convention-mixed` (warning).
- `scenario.not-covered` (info): a spec scenario no pageview showed.

AMP events and events whose `data` could not be decoded never take part in the data
comparisons: AMP sends no segment data by design, and broken `data` is the decoder's
finding, not an ordering fault.
"""

from __future__ import annotations

import json
import logging
import operator
import textwrap
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from inspector.checks import placeholder_kind
from inspector.clock import finite_number
from inspector.decode import never_arrived
from inspector.model import Finding, PixelEvent, Severity, Transport
from inspector.timeline import EntryKind, TimelineEntry, page_url_key
from inspector.urls import split_url

logger = logging.getLogger(__name__)

SEGMENT_AFTER_PAGEVIEW = "page.segment-after-pageview"
DUPLICATE_PAGEVIEW = "page.duplicate-pageview"
HEARTBEAT_WITHOUT_PAGEVIEW = "page.heartbeat-without-pageview"
HEARTBEAT_DATA_DIFFERS = "page.heartbeat-data-differs"
TT_DECREASED = "page.tt-decreased"
SPA_URL_WITHOUT_PAGEVIEW = "page.spa-url-without-pageview"
TRACKER_NO_PAGEVIEW = "page.tracker-no-pageview"
PAGEVIEW_WITHOUT_TRACKER = "page.pageview-without-tracker"
SEGMENT_CHANGED = "page.segment-changed"
CASE_VARIANTS = "visitor.case-variants"
NULL_CONVENTION_MIXED = "visitor.null-convention-mixed"
SCENARIO_NOT_COVERED = "scenario.not-covered"
DIAGNOSIS_CODES = frozenset(
    {
        SEGMENT_AFTER_PAGEVIEW,
        DUPLICATE_PAGEVIEW,
        HEARTBEAT_WITHOUT_PAGEVIEW,
        HEARTBEAT_DATA_DIFFERS,
        TT_DECREASED,
        SPA_URL_WITHOUT_PAGEVIEW,
        TRACKER_NO_PAGEVIEW,
        PAGEVIEW_WITHOUT_TRACKER,
        SEGMENT_CHANGED,
        CASE_VARIANTS,
        NULL_CONVENTION_MIXED,
        SCENARIO_NOT_COVERED,
    }
)
"""The codes of page-level diagnoses."""

_MAX_LISTED = 5
"""How many events an explanation lists before saying `and N more`."""

_ORDERING_FIX = (
    "Fix: set the segment data before the tracker runs. Define the configuration "
    "in a script placed before the Parse.ly tracker snippet: window.PARSELY = "
    "{autotrack: false, onReady: function () { PARSELY.updateDefaults({data: {...}}); "
    "PARSELY.beacon.trackPageView(); }}. In Google Tag Manager, fire the segment tag "
    "as a setup tag sequenced before the Parse.ly tracker tag (Tag Sequencing: fire a "
    "tag before this tag fires), or put the configuration and the tracker loader in "
    "one Custom HTML tag, configuration first."
)


@dataclass(frozen=True)
class PageDiagnosis:
    """A fault seen across the events of a page load, a visitor or the whole session."""

    code: str
    severity: Severity
    title: str
    """One line: what is wrong."""
    explanation: str
    """What happened, why it matters and what to change."""
    evidence: list[str]
    """Ids of the events (and requests) that show the fault, earliest first."""
    findings: tuple[Finding, ...] = ()
    """The same diagnosis as `Finding`s, so reports can treat all faults alike."""
    page_key: str | None = None
    """The page load concerned; None for visitor and scenario diagnoses."""
    visitor: str | None = None
    url: str | None = None
    uncertain: bool = False
    """True when the evidence rests on requests matched to the page by timing."""
    keys: tuple[str, ...] = ()
    """The segment keys concerned, when the diagnosis is about segment data."""
    source: str = ""
    """The recording whose page load or visitor this is; empty for live traffic
    and for diagnoses of the whole session (scenario coverage)."""


def make_diagnosis(
    code: str,
    severity: Severity,
    title: str,
    explanation: str,
    evidence: Iterable[str],
    *,
    page_key: str | None = None,
    visitor: str | None = None,
    url: str | None = None,
    primary_event: str | None = None,
    uncertain: bool = False,
    keys: Iterable[str] = (),
) -> PageDiagnosis:
    """A diagnosis with its mirror `Finding` (tied to its first or primary event)."""
    evidence_ids = list(dict.fromkeys(evidence))
    finding = Finding(
        code=code,
        severity=severity,
        message=title,
        explanation=explanation,
        event_id=primary_event or (evidence_ids[0] if evidence_ids else None),
    )
    return PageDiagnosis(
        code=code,
        severity=severity,
        title=title,
        explanation=explanation,
        evidence=evidence_ids,
        findings=(finding,),
        page_key=page_key,
        visitor=visitor,
        url=url,
        uncertain=uncertain,
        keys=tuple(keys),
    )


def describe_diagnosis(diagnosis: PageDiagnosis, *, width: int = 88) -> str:
    """A diagnosis as a few lines of plain text for text reports."""
    lines = [f"{diagnosis.severity.upper()} {diagnosis.code}: {diagnosis.title}"]

    where = []
    if diagnosis.page_key:
        where.append(f"page load {diagnosis.page_key}")
    if diagnosis.url:
        where.append(diagnosis.url)
    if diagnosis.visitor and not diagnosis.page_key:
        where.append(f"visitor {diagnosis.visitor}")
    if diagnosis.source:
        where.append(f"in {diagnosis.source}")
    if where:
        lines.append("  where: " + " ".join(where))
    if diagnosis.evidence:
        lines.append("  evidence: " + ", ".join(diagnosis.evidence))
    if diagnosis.uncertain:
        lines.append("  (partly matched by timing: treat as likely, not certain)")

    wrapped = textwrap.fill(
        diagnosis.explanation,
        width=width,
        initial_indent="  ",
        subsequent_indent="  ",
        break_on_hyphens=False,
        break_long_words=False,
    )
    if wrapped:
        lines.append(wrapped)
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Facts the rules read


@dataclass(slots=True)
class TimedEvent:
    """A pixel event report placed in its page load's order. Read-only.

    What the rules ask of its event again and again is worked out once, when the
    event is placed (a page load is diagnosed anew each time it changes); the
    event itself is read from the report. Not frozen: a frozen class costs three
    times as much to make, and one is made for every event.
    """

    time: float
    order: int
    """Arrival order, to break ties between events of one request."""
    report: Any
    """The `EventReport` (anything with `.event` and `.findings`)."""
    id: str = field(init=False, repr=False, compare=False)
    action: str = field(init=False, repr=False, compare=False)
    """The event's action in lower case, `?` when it has none."""
    pageview: bool = field(init=False, repr=False, compare=False)
    """`is_pageview(event)`."""
    pvid: str | None = field(init=False, repr=False, compare=False)
    address: str = field(init=False, repr=False, compare=False)
    """`page_url_key(event.url)`."""
    with_data: bool = field(init=False, repr=False, compare=False)
    """`carries_data(event)`."""
    segments: Mapping[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        event = self.report.event
        self.id = event.id
        self.action = _action(event)
        self.pageview = self.action == "pageview"
        self.pvid = event.pvid
        self.address = page_url_key(event.url)
        self.with_data = carries_data(event)
        self.segments = event.segments

    @property
    def event(self) -> PixelEvent:
        return self.report.event


@dataclass
class PageFacts:
    """What the rules need to know about one page load."""

    key: str
    visitor: str | None
    url: str | None
    start_time: float
    events: list[TimedEvent]
    """In time order."""
    entries: list[TimelineEntry] = field(default_factory=list)
    """The non-pixel timeline entries, in time order."""
    route_hints: dict[str, list[str]] = field(default_factory=dict)
    """Addresses of this page's origin named by later requests' `Referer` for which
    no page load of their own was seen: url key -> request ids."""
    plids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleSettings:
    duplicate_window_ms: float
    tracker_timeout_ms: float
    now: float
    """The latest time the traffic has shown, in seconds since the epoch."""
    known_page_urls: Container[str] = frozenset()
    """Url keys that have a page load (document or pageview) of their own."""


def page_diagnoses(facts: PageFacts, settings: RuleSettings) -> list[PageDiagnosis]:
    """Every page-level diagnosis for one page load."""
    index = _PageIndex.of(facts)
    clusters = duplicate_clusters(facts, settings, pageviews=index.pageviews)
    found: list[PageDiagnosis] = []
    found.extend(_segment_after_pageview(facts, settings, clusters, index))
    found.extend(_duplicate_pageviews(facts, clusters))
    found.extend(_heartbeat_without_pageview(facts, index))
    found.extend(_heartbeat_data_differs(facts, index))
    found.extend(_tt_decreased(facts))
    found.extend(_spa_url_without_pageview(facts, settings, index))
    found.extend(_tracker_no_pageview(facts, settings))
    found.extend(_pageview_without_tracker(facts, index))
    found.extend(_segment_changed(facts, clusters, index))
    return found


@dataclass(slots=True)
class _PageIndex:
    """What several rules ask of one page load's events, worked out once."""

    pageviews: list[TimedEvent]
    views: dict[str, TimedEvent]
    """`_views(facts)`: each non-pageview event's pageview, by event id."""
    events_of_view: dict[int, list[TimedEvent]]
    """Per pageview (by object id), the events whose view it is, in event order."""

    @classmethod
    def of(cls, facts: PageFacts) -> _PageIndex:
        pageviews = [item for item in facts.events if item.pageview]
        views = _views(facts)

        events_of_view: dict[int, list[TimedEvent]] = {}
        if views:
            for item in facts.events:
                view = views.get(item.id)
                if view is not None:
                    events_of_view.setdefault(id(view), []).append(item)
        return cls(pageviews, views, events_of_view)

    def events_of(self, pageview: TimedEvent) -> list[TimedEvent]:
        """The events whose view is `pageview` (`views.get(item.id) is pageview`)."""
        return self.events_of_view.get(id(pageview), [])


# --------------------------------------------------------------------------------------
# Small helpers


def is_pageview(event: PixelEvent) -> bool:
    return (event.action or "").lower() == "pageview"


def carries_data(event: PixelEvent) -> bool:
    """True when the event's segments can be compared with other events' segments."""
    return event.transport is not Transport.AMP and event.data is not None


def same_json(left: Any, right: Any) -> bool:
    """Equality as JSON sees it: `true` differs from `1`, `1` equals `1.0`."""
    kind = type(left)
    if kind is type(right) and kind in _PLAIN_JSON_TYPES:
        return left == right
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(
            same_json(left[key], right[key]) for key in left
        )
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(
            same_json(a, b) for a, b in zip(left, right, strict=True)
        )
    return left == right


_PLAIN_JSON_TYPES = frozenset({str, int, float, bool, type(None)})
"""Types for which two values of the same type are the same JSON when `==`."""


def json_label(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _action(event: PixelEvent) -> str:
    return (event.action or "?").lower()


def _offset(facts: PageFacts, when: float) -> str:
    return f"+{max(0, round((when - facts.start_time) * 1000))} ms"


def _describe_event(facts: PageFacts, item: TimedEvent) -> str:
    return f"{item.action} {item.id} ({_offset(facts, item.time)})"


def _listing(descriptions: Sequence[str]) -> str:
    shown = list(descriptions[:_MAX_LISTED])
    if len(descriptions) > _MAX_LISTED:
        shown.append(f"and {len(descriptions) - _MAX_LISTED} more")
    return ", ".join(shown)


def _keys_phrase(keys: Iterable[str]) -> str:
    return ", ".join(f"`{key}`" for key in keys)


def _short_url(url: str | None) -> str:
    if not url:
        return "?"
    parts = split_url(url)
    shown = parts.path or "/"
    if parts.query:
        shown += "?" + parts.query
    return shown


def _has_no_pageview_id(event: PixelEvent) -> bool:
    """True when the event could carry a pageview id and carries none.

    Modern web trackers (they send `plid`) add `pvid` to every event after the first
    pageview; Android sends `"pvid": null` before one. Legacy web, iOS and AMP events
    never carry the id, so its absence says nothing there.
    """
    if event.transport is Transport.AMP:
        return False
    if "pvid" in event.params:
        return event.params["pvid"] in ("", "null", "None")
    return bool(event.plid) and event.transport is Transport.WEB


_BROKEN_EVENT_CODES = frozenset({"url.truncated", "action.missing", "decode.failed"})


def _is_whole(item: TimedEvent) -> bool:
    """False for an event cut short or undecodable: its missing fields prove nothing."""
    if not item.event.action:
        return False
    findings = getattr(item.report, "findings", ()) or ()
    return not any(finding.code in _BROKEN_EVENT_CODES for finding in findings)


def _pageviews(facts: PageFacts) -> list[TimedEvent]:
    return [item for item in facts.events if item.pageview]


def _views(facts: PageFacts) -> dict[str, TimedEvent]:
    """Each non-pageview event's pageview: by `pvid`, or for trackers without pageview
    ids, the latest earlier pageview of the same address."""
    by_pvid = {item.pvid: item for item in facts.events if item.pageview and item.pvid}
    views: dict[str, TimedEvent] = {}
    latest_by_url: dict[str, TimedEvent] = {}
    for item in facts.events:
        pvid = item.pvid
        if item.pageview:
            if not pvid:
                latest_by_url[item.address] = item
            continue
        if pvid:
            pageview = by_pvid.get(pvid)
        else:
            # Only pageviews without an id are kept by address: an event without
            # one that follows such a pageview belongs to it (a tracker sending
            # `plid` but no `pvid` at all included).
            pageview = latest_by_url.get(item.address)
        if pageview is not None:
            views[item.id] = pageview
    return views


def _is_repeat(first: PixelEvent, second: PixelEvent) -> bool:
    """True when two pageviews are one event captured twice, not two pageviews.

    The tracker mints a new `pvid` for every pageview, so two different ids are
    two pageviews even when both left within the same millisecond (autotrack and
    then a manual `trackPageView`) and so share a `rand`. A copy of one send
    repeats its `rand` and its `data` as well; the same `pvid` with another
    `rand` or other data is a second pageview that reused the id.
    """
    if first.pvid and second.pvid and first.pvid != second.pvid:
        return False
    if first.request.request_id and first.request is second.request:
        return True
    return (
        first.params.get("rand") == second.params.get("rand")
        and first.data_raw == second.data_raw
        and first.plid == second.plid
    )


def duplicate_clusters(
    facts: PageFacts,
    settings: RuleSettings,
    *,
    pageviews: list[TimedEvent] | None = None,
) -> list[list[TimedEvent]]:
    """Runs of pageviews for one address, each within the window of the one before.

    `pageviews` saves working out `facts`' pageviews again when they are known.
    """
    window = settings.duplicate_window_ms / 1000
    clusters: list[list[TimedEvent]] = []
    current: list[TimedEvent] = []
    if pageviews is None:
        pageviews = _pageviews(facts)
    for item in pageviews:
        if never_arrived(item.event.request):
            # Blocked or refused: Parse.ly never counted it, so it repeats nothing.
            continue
        if current:
            previous = current[-1]
            same_address = previous.address == item.address
            if same_address and _is_repeat(previous.event, item.event):
                continue
            if same_address and item.time - previous.time <= window:
                current.append(item)
                continue
            if len(current) > 1:
                clusters.append(current)
        current = [item]
    if len(current) > 1:
        clusters.append(current)
    return clusters


def _context_note(facts: PageFacts) -> str:
    """What the timeline says about tag order, for ordering explanations."""
    gtm = next((e for e in facts.entries if e.kind is EntryKind.GTM), None)
    tracker = next(
        (e for e in facts.entries if e.kind is EntryKind.TRACKER_SCRIPT), None
    )
    notes = []
    if gtm is not None:
        notes.append(
            f"This page loads Google Tag Manager (gtm.js at +{gtm.offset_ms} ms)"
            + (
                f" and the tracker script at +{tracker.offset_ms} ms"
                if tracker is not None
                else ""
            )
            + ": tags that GTM fires on the same trigger run in no guaranteed order."
        )
    elif tracker is not None:
        notes.append(f"The tracker script loaded at +{tracker.offset_ms} ms.")
    return " ".join(notes)


# --------------------------------------------------------------------------------------
# Page rules


def _segment_after_pageview(
    facts: PageFacts,
    settings: RuleSettings,
    clusters: list[list[TimedEvent]],
    index: _PageIndex,
) -> list[PageDiagnosis]:
    cluster_of = {
        item.id: number for number, group in enumerate(clusters) for item in group
    }
    pageviews = index.pageviews
    found = []

    for position, pageview in enumerate(pageviews):
        if not pageview.with_data:
            continue
        present = set(pageview.segments)
        address = pageview.address

        # Later events of this pageview, then later pageviews of the same address
        # before the page moved to another one (a duplicate is reported as such).
        later = [
            item for item in index.events_of(pageview) if item.time >= pageview.time
        ]
        repeats = []
        for other in pageviews[position + 1 :]:
            if other.address != address:
                break
            same_cluster = cluster_of.get(other.id) is not None and cluster_of.get(
                other.id
            ) == cluster_of.get(pageview.id)
            if not same_cluster and not _is_repeat(pageview.event, other.event):
                repeats.append(other)

        carriers: list[tuple[TimedEvent, list[str]]] = []
        for item in [*later, *repeats]:
            if not item.with_data or present.issuperset(item.segments):
                continue
            new_keys = sorted(set(item.segments) - present)
            if new_keys:
                carriers.append((item, new_keys))
        if not carriers:
            continue

        carriers.sort(key=lambda pair: (pair[0].time, pair[0].order))
        missing = sorted({key for _, keys in carriers for key in keys})
        shown = [_describe_event(facts, item) for item, _ in carriers]
        explanation = (
            f"The pageview {pageview.id} ({_offset(facts, pageview.time)}) was sent "
            f"without {_keys_phrase(missing)}, but later events of the same page "
            f"load carry {'it' if len(missing) == 1 else 'them'}: {_listing(shown)}. "
            "The segment code ran after the tracker had already sent the pageview, so "
            "Parse.ly counts this page view outside the segment and only the later "
            "events inside it."
        )
        if any(item in repeats for item, _ in carriers):
            explanation += (
                " A second pageview for the same address followed with the data, so "
                "the page view is also counted twice."
            )
        context = _context_note(facts)
        if context:
            explanation += " " + context
        explanation += " " + _ORDERING_FIX

        found.append(
            make_diagnosis(
                SEGMENT_AFTER_PAGEVIEW,
                Severity.ERROR,
                f"Segment data set after the pageview was sent ({', '.join(missing)})",
                explanation,
                [pageview.id, *(item.id for item, _ in carriers)],
                page_key=facts.key,
                visitor=facts.visitor,
                url=pageview.event.url,
                primary_event=pageview.id,
                keys=missing,
            )
        )
    return found


def _duplicate_pageviews(
    facts: PageFacts, clusters: list[list[TimedEvent]]
) -> list[PageDiagnosis]:
    found = []
    tracker_loads = [e for e in facts.entries if e.kind is EntryKind.TRACKER_SCRIPT]

    for cluster in clusters:
        first = cluster[0]
        span_ms = round((cluster[-1].time - first.time) * 1000)
        listed = _listing([_describe_event(facts, item) for item in cluster])
        gained = sorted(
            {
                key
                for item in cluster[1:]
                if item.with_data and first.with_data
                for key in item.segments
                if key not in first.segments
            }
        )
        plids = {item.event.plid for item in cluster if item.event.plid}

        explanation = (
            f"{len(cluster)} pageviews for {_short_url(first.event.url)} within "
            f"{span_ms} ms, with no navigation between them: {listed}. Parse.ly "
            "counts each one, so this page view is counted "
            f"{len(cluster)} times."
        )
        if gained:
            severity = Severity.ERROR
            explanation += (
                f" The first pageview lacks {_keys_phrase(gained)}, which the later "
                "one carries. Likely cause: autotrack is still on (window.PARSELY."
                "autotrack is not false, or the configuration object was ignored "
                "because window.PARSELY already existed), so the tracker sent a "
                "pageview on load, and the onReady/onload hook then set the data "
                "and called PARSELY.beacon.trackPageView() again. Fix: set "
                "autotrack: false in the configuration placed before the tracker "
                "snippet, and keep the single trackPageView() call in the hook."
            )
        elif len(plids) > 1 or len(tracker_loads) > 1:
            severity = Severity.WARNING
            explanation += (
                " The pageviews come from separate tracker instances "
                f"({len(plids)} pageload ids"
                + (
                    f", the tracker script was requested {len(tracker_loads)} times"
                    if len(tracker_loads) > 1
                    else ""
                )
                + "): the tracker is installed twice, for example a hard-coded "
                "snippet plus a tag-manager tag, or two plugins. Keep one."
            )
        else:
            severity = Severity.WARNING
            explanation += (
                " Likely causes: the page calls PARSELY.beacon.trackPageView() while "
                "autotrack is on, or a router or navigation hook also fires on the "
                "first load. Send the first pageview from one place only (guard the "
                "hook so it skips the initial route)."
            )

        found.append(
            make_diagnosis(
                DUPLICATE_PAGEVIEW,
                severity,
                f"Duplicate pageview: {len(cluster)} pageviews for "
                f"{_short_url(first.event.url)} within {span_ms} ms",
                explanation,
                [item.id for item in cluster],
                page_key=facts.key,
                visitor=facts.visitor,
                url=first.event.url,
                keys=gained,
            )
        )
    return found


def _heartbeat_without_pageview(
    facts: PageFacts, index: _PageIndex
) -> list[PageDiagnosis]:
    first_pageview = index.pageviews[0] if index.pageviews else None
    orphans = [
        item
        for item in facts.events
        if not item.pageview
        and (first_pageview is None or item.time < first_pageview.time)
        and _is_whole(item)
        and _has_no_pageview_id(item.event)
    ]
    if not orphans:
        return []

    kinds = sorted({item.action for item in orphans})
    engaged = all(kind in ("heartbeat", "vheartbeat") for kind in kinds)
    mobile = any(
        item.event.transport in (Transport.MOBILE, Transport.MOBILE_LEGACY)
        for item in orphans
    )
    explanation = (
        f"{len(orphans)} event(s) ({', '.join(kinds)}) carry no pageview id and came "
        "before any pageview of this page load: "
        f"{_listing([_describe_event(facts, item) for item in orphans])}. Parse.ly "
        "cannot attribute them to a pageview, so this engaged time or conversion is "
        "lost for the page."
    )
    if first_pageview is not None:
        explanation += (
            f" The first pageview only came at {_offset(facts, first_pageview.time)} "
            f"({first_pageview.id})."
        )
    if mobile:
        explanation += (
            " The app started engagement tracking before tracking the screen: call "
            "trackPageview for the screen first, then startEngagement."
        )
    else:
        explanation += (
            " The tracker measures engaged time from load even when autotrack is off, "
            "so when the code that calls PARSELY.beacon.trackPageView() runs late (or "
            "never), heartbeats go out first. Call trackPageView as soon as the "
            "segment data is set (in the onReady hook of a configuration placed "
            "before the tracker snippet). A page meant to send no pageview at all "
            "(a checkout that reports only conversions) can disregard this."
        )

    title = (
        "Engaged time sent before any pageview"
        if engaged
        else "Events sent before any pageview"
    )
    return [
        make_diagnosis(
            HEARTBEAT_WITHOUT_PAGEVIEW,
            Severity.WARNING,
            title,
            explanation,
            [item.id for item in orphans],
            page_key=facts.key,
            visitor=facts.visitor,
            url=orphans[0].event.url,
        )
    ]


def _heartbeat_data_differs(facts: PageFacts, index: _PageIndex) -> list[PageDiagnosis]:
    found = []

    for pageview in index.pageviews:
        if not pageview.with_data:
            continue
        sent = pageview.segments
        differences: list[tuple[TimedEvent, str, Any, bool]] = []
        for item in index.events_of(pageview):
            if not item.with_data:
                continue
            segments = item.segments
            for key, value in sent.items():
                if key not in segments:
                    differences.append((item, key, None, False))
                elif not same_json(segments[key], value):
                    differences.append((item, key, segments[key], True))
        if not differences:
            continue

        keys = sorted({key for _, key, _, _ in differences})
        details = []
        for item, key, value, present in differences:
            shown = json_label(value) if present else "missing"
            details.append(f"{key} {shown} on {_describe_event(facts, item)}")
        explanation = (
            f"The pageview {pageview.id} sent "
            + ", ".join(f"{key}={json_label(sent[key])}" for key in keys)
            + f"; events of the same pageview differ: {_listing(details)}."
        )
        if any(not present for _, _, _, present in differences):
            explanation += (
                " Data passed to one call, PARSELY.beacon.trackPageView({data: ...}),"
                " is sent with that pageview only; heartbeats and conversions carry "
                "the defaults set with PARSELY.updateDefaults({data: ...}). Set the "
                "segment values with updateDefaults before calling trackPageView so "
                "every event of the page carries them."
            )
        if any(present for _, _, _, present in differences):
            explanation += (
                " A value changed after the pageview (updateDefaults called again "
                "with a different value): engaged time is then attributed to another "
                "segment than the page view. Compute the value once, before the "
                "pageview."
            )
        found.append(
            make_diagnosis(
                HEARTBEAT_DATA_DIFFERS,
                Severity.WARNING,
                f"Later events of a pageview disagree with it on {', '.join(keys)}",
                explanation,
                [pageview.id, *(item.id for item, _, _, _ in differences)],
                page_key=facts.key,
                visitor=facts.visitor,
                url=pageview.event.url,
                primary_event=pageview.id,
                keys=keys,
            )
        )
    return found


def _tt_decreased(facts: PageFacts) -> list[PageDiagnosis]:
    by_pvid: dict[str, list[tuple[float, int, TimedEvent, int]]] = {}
    for item in facts.events:
        if item.action != "heartbeat" or not item.pvid:
            continue
        params = item.event.params
        try:
            total = int(params.get("tt", ""))
        except ValueError:
            continue
        # The tracker's own clock orders heartbeats that a proxy may see reordered.
        sent_at = finite_number(params.get("rand"))
        if sent_at is None:
            sent_at = item.time * 1000
        by_pvid.setdefault(item.pvid, []).append((sent_at, item.order, item, total))

    found = []
    for pvid, beats in by_pvid.items():
        if len(beats) < 2:
            continue
        beats.sort(key=_SENT_THEN_ARRIVED)
        drops = [
            (earlier, later)
            for earlier, later in zip(beats, beats[1:], strict=False)
            if later[3] < earlier[3]
        ]
        if not drops:
            continue

        earlier, later = drops[0]
        explanation = (
            f"Within pageview id {pvid}, heartbeat {later[2].id} reports tt="
            f"{later[3]} ms after heartbeat {earlier[2].id} reported tt={earlier[3]} "
            "ms. tt is the pageview's running total of engaged time: it only grows "
            "until a new pageview starts a new total under a new pvid. A drop means "
            "engaged-time tracking was restarted without a new pageview, or two "
            "tracker instances share the page, and Parse.ly will miscount engaged "
            "time. Restart tracking only through PARSELY.beacon.trackPageView(), and "
            "load the tracker once."
        )
        evidence = [item.id for pair in drops for item in (pair[0][2], pair[1][2])]
        found.append(
            make_diagnosis(
                TT_DECREASED,
                Severity.WARNING,
                f"Engaged time went down within one pageview ({earlier[3]} → "
                f"{later[3]} ms)",
                explanation,
                evidence,
                page_key=facts.key,
                visitor=facts.visitor,
                url=later[2].event.url,
                primary_event=later[2].id,
            )
        )
    return found


_SENT_THEN_ARRIVED = operator.itemgetter(0, 1)
"""Orders heartbeat records `(sent_at, order, item, total)` by their first two."""


def _spa_url_without_pageview(
    facts: PageFacts, settings: RuleSettings, index: _PageIndex
) -> list[PageDiagnosis]:
    pageviews = index.pageviews
    if not pageviews:
        return []
    tracked = {item.address for item in pageviews}
    first_time = pageviews[0].time

    # Events that name an address no pageview was sent for.
    untracked: dict[str, list[str]] = {}
    shown: dict[str, str] = {}
    first_seen: dict[str, float] = {}
    for item in facts.events:
        address = item.address
        if item.pageview or address in tracked or item.time < first_time:
            continue
        event = item.event
        if event.transport is not Transport.AMP and event.url:
            untracked.setdefault(address, []).append(item.id)
            shown.setdefault(address, event.url)
            first_seen[address] = min(first_seen.get(address, item.time), item.time)

    # Same-origin requests whose Referer names such an address.
    hinted_only = set()
    request_times: dict[str, float] = {}
    if facts.route_hints:
        request_times = {entry.request_id: entry.time for entry in facts.entries}
    for address, request_ids in facts.route_hints.items():
        if address in tracked or address in settings.known_page_urls:
            continue
        if address not in untracked:
            hinted_only.add(address)
        untracked.setdefault(address, []).extend(request_ids)
        shown.setdefault(address, address)
        for request_id in request_ids:
            when = request_times.get(request_id)
            if when is not None:
                first_seen[address] = min(first_seen.get(address, when), when)

    if not untracked:
        return []

    # The routes in the order the page visited them (ids do not sort by time).
    addresses = sorted(untracked, key=lambda a: first_seen.get(a, float("inf")))
    explanation = (
        "The page moved to "
        + ", ".join(_short_url(shown[a]) for a in addresses)
        + " without sending a pageview (a single-page-app route change): later "
        "events still belong to the previous pageview"
    )
    pageview_ids = [item.id for item in pageviews]
    explanation += f" ({', '.join(pageview_ids[-1:])}), so the new view is not counted."
    if hinted_only:
        explanation += (
            " Part of this is inferred from the Referer of the page's own requests "
            "(matched by timing), not from pixels."
        )
    explanation += (
        " On every route change call PARSELY.beacon.trackPageView({url: newUrl, "
        "urlref: previousUrl, js: 1}), or use a tracker build with single-page-app "
        "support, which sends them on history changes (but not both)."
    )
    evidence = [request_id for a in addresses for request_id in untracked[a]]
    return [
        make_diagnosis(
            SPA_URL_WITHOUT_PAGEVIEW,
            Severity.WARNING,
            "Address changed without a pageview: "
            + ", ".join(_short_url(shown[a]) for a in addresses),
            explanation,
            evidence,
            page_key=facts.key,
            visitor=facts.visitor,
            url=shown[addresses[0]],
            uncertain=len(hinted_only) == len(addresses),
        )
    ]


def _tracker_no_pageview(
    facts: PageFacts, settings: RuleSettings
) -> list[PageDiagnosis]:
    loads = [e for e in facts.entries if e.kind is EntryKind.TRACKER_SCRIPT]
    if not loads:
        return []
    if any(item.pageview or item.pvid for item in facts.events):
        return []

    loaded = loads[0]
    waited_ms = round((settings.now - loaded.time) * 1000)
    timeout = round(settings.tracker_timeout_ms)
    certain = not loaded.uncertain
    explanation = f"The Parse.ly tracker script loaded at +{loaded.offset_ms} ms" + (
        "" if certain else " (matched to this page by timing)"
    )
    if waited_ms >= timeout:
        severity = Severity.WARNING
        title = f"Tracker loaded but no pageview within {timeout} ms"
        explanation += f", and no pageview followed in the next {waited_ms} ms."
    else:
        severity = Severity.INFO
        title = "Tracker loaded, no pageview seen yet"
        explanation += (
            f"; the traffic seen ends {waited_ms} ms later, before the {timeout} ms "
            "timeout, and no pageview has come so far."
        )
    explanation += (
        " Usually autotrack is off (window.PARSELY.autotrack = false) and the code "
        "meant to call PARSELY.beacon.trackPageView() never ran: the onReady/onload "
        "hook was defined after the tracker had loaded (the tracker reads it once, "
        "on load), or window.PARSELY already existed so a `window.PARSELY || {...}` "
        "configuration was ignored. Place the configuration before the tracker "
        "snippet; in Google Tag Manager sequence the segment tag as a setup tag of "
        "the tracker tag. A page that deliberately sends no pageview can disregard "
        "this."
    )
    evidence = [e.request_id for e in loads if e.request_id]
    evidence.extend(item.id for item in facts.events)
    return [
        make_diagnosis(
            TRACKER_NO_PAGEVIEW,
            severity,
            title,
            explanation,
            evidence,
            page_key=facts.key,
            visitor=facts.visitor,
            url=facts.url,
            uncertain=not certain,
        )
    ]


def _pageview_without_tracker(
    facts: PageFacts, index: _PageIndex
) -> list[PageDiagnosis]:
    pageviews = index.pageviews
    if not pageviews:
        return []
    kinds = {entry.kind for entry in facts.entries}
    if EntryKind.TRACKER_SCRIPT in kinds:
        return []
    context = [
        entry
        for entry in facts.entries
        if entry.kind in (EntryKind.DOCUMENT, EntryKind.GTM, EntryKind.OTHER_TAG)
    ]
    if not context:
        return []

    explanation = (
        f"The page's own requests were seen ({len(context)} document or tag "
        "request(s)) but not the Parse.ly tracker script, yet the page sent "
        f"pageview {pageviews[0].id}. Most often the browser served the script from "
        "its cache, which the proxy does not see; it may also be a self-hosted or "
        "bundled copy of the tracker. Nothing to fix unless you expected the "
        "standard cdn.parsely.com/keys/<site>/p.js."
    )
    return [
        make_diagnosis(
            PAGEVIEW_WITHOUT_TRACKER,
            Severity.INFO,
            "Pageview without the tracker script in the capture",
            explanation,
            [pageviews[0].id, *(e.request_id for e in context[:1] if e.request_id)],
            page_key=facts.key,
            visitor=facts.visitor,
            url=pageviews[0].event.url,
            primary_event=pageviews[0].id,
        )
    ]


def _segment_changed(
    facts: PageFacts, clusters: list[list[TimedEvent]], index: _PageIndex
) -> list[PageDiagnosis]:
    in_cluster = {
        item.id: number for number, group in enumerate(clusters) for item in group
    }
    pageviews = [item for item in index.pageviews if item.with_data]
    changes: dict[str, list[tuple[TimedEvent, TimedEvent]]] = {}
    for before, after in zip(pageviews, pageviews[1:], strict=False):
        cluster = in_cluster.get(before.id)
        if cluster is not None and cluster == in_cluster.get(after.id):
            continue
        for key, value in before.segments.items():
            if key not in after.segments:
                continue
            new_value = after.segments[key]
            if same_json(value, new_value):
                continue
            if _stands_for_no_value(value) and _stands_for_no_value(new_value):
                # "undefined" then "": still no value, and each is a finding.
                continue
            changes.setdefault(key, []).append((before, after))

    found = []
    for key, pairs in changes.items():
        steps = [
            " → ".join(f"{json_label(item.segments[key])} on {item.id}" for item in run)
            for run in _runs(pairs)
        ]
        explanation = (
            f"Within one page load, `{key}` changed between pageviews: "
            f"{_listing(steps)}. That is right when the reader's state really "
            "changed (signed in, subscribed) during a single-page-app session; "
            "otherwise a stale or recomputed value is being sent. Call "
            "PARSELY.updateDefaults with the current value before each virtual "
            "pageview."
        )
        evidence = [item.id for pair in pairs for item in pair]
        found.append(
            make_diagnosis(
                SEGMENT_CHANGED,
                Severity.INFO,
                f"Segment {key} changed within the page load",
                explanation,
                evidence,
                page_key=facts.key,
                visitor=facts.visitor,
                url=pairs[0][1].event.url,
                keys=(key,),
            )
        )
    return found


def _stands_for_no_value(value: Any) -> bool:
    """JSON null, or a placeholder string such as "undefined" or ""."""
    return value is None or placeholder_kind(value) is not None


def _runs(pairs: list[tuple[TimedEvent, TimedEvent]]) -> list[list[TimedEvent]]:
    """Consecutive changes joined: (a, b), (b, c) is one run a → b → c."""
    runs: list[list[TimedEvent]] = []
    for before, after in pairs:
        if runs and runs[-1][-1] is before:
            runs[-1].append(after)
        else:
            runs.append([before, after])
    return runs


# --------------------------------------------------------------------------------------
# Visitor rules


@dataclass(frozen=True, slots=True)
class PageviewKeys:
    """Which segment keys one pageview sent, and which of them as null."""

    event_id: str
    page_key: str
    present: frozenset[str]
    nulls: frozenset[str]


@dataclass
class VisitorFacts:
    visitor: str
    value_spellings: dict[str, dict[str, dict[str, list[str]]]]
    """key -> case-folded value -> spelling -> event ids."""
    key_spellings: dict[str, dict[str, list[str]]]
    """case-folded key -> spelling -> event ids."""
    pageviews: Sequence[PageviewKeys]


def visitor_diagnoses(
    facts: VisitorFacts, excused: Container[tuple[str, str]] = frozenset()
) -> list[PageDiagnosis]:
    """Case variants and mixed null conventions across one visitor's events.

    `excused` holds `(event id, key)` pairs already explained by an ordering fault
    (the key was missing on that pageview because the segment code ran late).
    """
    found = []
    found.extend(_key_case_variants(facts))
    found.extend(_value_case_variants(facts))
    found.extend(_null_convention_mixed(facts, excused))
    return found


def _key_case_variants(facts: VisitorFacts) -> list[PageDiagnosis]:
    found = []
    for spellings in facts.key_spellings.values():
        if len(spellings) < 2:
            continue
        names = sorted(spellings)
        explanation = (
            "This visitor's events spell one segment key in different cases: "
            + ", ".join(f"`{name}` ({len(spellings[name])}x)" for name in names)
            + ". Keys are case-sensitive, so Parse.ly keeps them as separate "
            "segments. The tracker sends keys exactly as the page wrote them: use "
            "one spelling everywhere the page calls PARSELY.updateDefaults."
        )
        found.append(
            make_diagnosis(
                CASE_VARIANTS,
                Severity.WARNING,
                "Segment key spelled in different cases: " + ", ".join(names),
                explanation,
                [spellings[name][0] for name in names],
                visitor=facts.visitor,
                keys=names,
            )
        )
    return found


def _value_case_variants(facts: VisitorFacts) -> list[PageDiagnosis]:
    found = []
    for key, groups in facts.value_spellings.items():
        for spellings in groups.values():
            if len(spellings) < 2:
                continue
            values = sorted(spellings)
            explanation = (
                f"This visitor's events send `{key}` as "
                + ", ".join(
                    f"{json_label(value)} ({len(spellings[value])}x)"
                    for value in values
                )
                + ". Parse.ly compares segment values exactly, so these become "
                "separate segments in reports. The tracker never changes case: the "
                "page's code produced both spellings. Normalise the value (for "
                "example lower-case it) before passing it to PARSELY.updateDefaults."
            )
            found.append(
                make_diagnosis(
                    CASE_VARIANTS,
                    Severity.WARNING,
                    f"{key} sent as "
                    + " and ".join(json_label(value) for value in values)
                    + ": same value, different case",
                    explanation,
                    [spellings[value][0] for value in values],
                    visitor=facts.visitor,
                    keys=(key,),
                )
            )
    return found


def _null_convention_mixed(
    facts: VisitorFacts, excused: Container[tuple[str, str]]
) -> list[PageDiagnosis]:
    null_keys = sorted({key for pageview in facts.pageviews for key in pageview.nulls})
    found = []
    for key in null_keys:
        as_null = [p.event_id for p in facts.pageviews if key in p.nulls]
        left_out = [
            p.event_id
            for p in facts.pageviews
            if key not in p.present and (p.event_id, key) not in excused
        ]
        if not as_null or not left_out:
            continue

        explanation = (
            f"For this visitor, `{key}` was sent as null on {len(as_null)} "
            f"pageview(s) ({_listing(as_null)}) and left out entirely on "
            f"{len(left_out)} ({_listing(left_out)}). Both usually mean 'not "
            "known', but reports and segment rules treat them as different groups. "
            "Pick one convention and use it on every page: always send the key with "
            "null, or always leave it out (and say which in the segment spec's "
            "null_convention)."
        )
        found.append(
            make_diagnosis(
                NULL_CONVENTION_MIXED,
                Severity.WARNING,
                f"{key}: null on some pageviews, left out on others",
                explanation,
                [*as_null[:_MAX_LISTED], *left_out[:_MAX_LISTED]],
                visitor=facts.visitor,
                keys=(key,),
            )
        )
    return found


# --------------------------------------------------------------------------------------
# Scenarios


def scenario_not_covered(scenario: Any) -> PageDiagnosis:
    """The info diagnosis for a spec scenario that no pageview has shown yet."""
    name = str(getattr(scenario, "name", "?"))
    description = str(getattr(scenario, "description", "") or "")
    conditions = describe_scenario_conditions(scenario)
    explanation = (
        f"No pageview matched scenario '{name}'"
        + (f" ({description})" if description else "")
        + (f": {conditions}" if conditions else "")
        + ". Test every case the segment code handles, including the reader for "
        "whom the custom data is not available: load a page as that kind of reader "
        "while the inspector runs."
    )
    return make_diagnosis(
        SCENARIO_NOT_COVERED,
        Severity.INFO,
        f"Scenario not seen: {name}",
        explanation,
        [],
    )


def describe_scenario_conditions(scenario: Any) -> str:
    """What a pageview must show to match a scenario, as a short phrase."""
    parts = []
    for key, value in (getattr(scenario, "segments", None) or {}).items():
        parts.append(f"{key} = {json_label(value)}")
    for key in getattr(scenario, "absent", None) or ():
        parts.append(f"no `{key}` key")
    for key, value in standard_conditions(scenario).items():
        parts.append(f"standard {key} = {json_label(value)}")
    return ", ".join(parts)


def standard_conditions(scenario: Any) -> dict[str, Any]:
    """The standard-segment conditions a scenario sets (a mapping or a spec model)."""
    standard = getattr(scenario, "standard", None)
    if not standard:
        return {}
    if isinstance(standard, Mapping):
        return dict(standard)
    fields_set = getattr(standard, "model_fields_set", None)
    if fields_set is not None:
        return {name: getattr(standard, name) for name in sorted(fields_set)}
    return {k: v for k, v in vars(standard).items() if v is not None}
