"""Page loads and visitors: the pixel events and the requests around them, grouped.

`PageTracker` follows a stream of requests (live or recorded) and groups:

- **page loads**, by the tracker's pageload id `plid`, else its pageview id `pvid`
  (Android), else (legacy, AMP and iOS traffic) by visitor and address with a time gap;
- the **requests around each page load**: the document, `gtm.js`, the tracker script
  and other tags, matched by their `Referer` header and by timing, so each page load
  has a timeline. A match made from timing alone (a cross-origin `Referer` carries
  only the site's origin) is marked uncertain;
- **visitors**, by `u`, AMP's `ampid` or the legacy `parsely_site_uuid`.

All of it happens within one source (`CapturedRequest.source`): each recording is
a capture of its own, so two files that share page or visitor ids (test cases made
from one template, two copies of a session) never make one page load or visitor.
Live traffic is one source.

It then runs the rules of `inspector.diagnoses` over each group and records which of
the spec's scenarios each pageview showed.

Memory stays bounded for long live sessions: at most `max_pages` page loads are kept
(the least recently active are retired, their diagnoses kept in a bounded list and
counted), timelines and event lists per page are capped, and so are visitors.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import json
import logging
import math
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from inspector.diagnoses import (
    SEGMENT_AFTER_PAGEVIEW,
    PageDiagnosis,
    PageFacts,
    PageviewKeys,
    RuleSettings,
    TimedEvent,
    VisitorFacts,
    describe_diagnosis,
    is_pageview,
    page_diagnoses,
    same_json,
    scenario_not_covered,
    standard_conditions,
    visitor_diagnoses,
)
from inspector.model import CapturedRequest, Severity
from inspector.timeline import (
    EntryKind,
    TimelineEntry,
    classify_request,
    event_time,
    is_origin_only,
    origin_of,
    page_url_key,
)

if TYPE_CHECKING:
    from inspector.inspection import EventReport

__all__ = [
    "PageDiagnosis",
    "PageLoad",
    "PageTracker",
    "TimelineEntry",
    "cookie_visitor",
    "describe_diagnosis",
    "scenario_matches",
]

logger = logging.getLogger(__name__)

DEFAULT_DUPLICATE_WINDOW_MS = 2000
DEFAULT_TRACKER_TIMEOUT_MS = 5000

_LEGACY_GAP_S = 30 * 60
"""Events without page ids more than this apart (Parse.ly's session length) are
different page loads."""
_STALE_PAGE_S = 30 * 60
"""A page load this long inactive no longer takes new requests by timing."""
_CLOCK_SKEW_S = 1.0
"""Tolerance when a request seems to precede the page it belongs to."""
_TAG_WINDOW_S = 60.0
"""A tag script requested this long after a page load started is not its first."""
_MAX_PAGES_PER_ADDRESS = 50
_MAX_IDS_PER_SPELLING = 5
_MAX_VALUES_PER_KEY = 200
_MAX_PAGEVIEWS_PER_VISITOR = 200
_MAX_COVERAGE_IDS = 1000
_MAX_KNOWN_URLS = 20_000
_MAX_SHARED_KEY_SETS = 4096
"""Distinct key sets held once and shared by the visitors' pageview records."""


@dataclass(frozen=True)
class PageLoad:
    """A snapshot of one page load: its events, timeline, diagnoses and verdict."""

    key: str
    """`plid:<id>`, `pvid:<id>` or `page:<n>` (legacy and AMP traffic)."""
    visitor: str | None
    site: str | None
    url: str | None
    """The first pageview's address (else the first event's, else the document's)."""
    urls: tuple[str, ...]
    """Every address the page load's events named, in order (virtual pageviews)."""
    first_time: float
    last_time: float
    events: list[Any]
    """The `EventReport`s, in time order."""
    timeline: list[TimelineEntry]
    diagnoses: list[PageDiagnosis]
    verdict: str
    """The worst diagnosis severity (`error`, `warning`, `info`) or `ok`. Per-event
    findings are not included: they have their own verdicts."""
    plids: tuple[str, ...] = ()
    scenarios: tuple[str, ...] = ()
    """The spec scenarios this page load's pageviews showed."""
    dropped_entries: int = 0
    """Timeline entries left out because the timeline reached its cap."""
    dropped_events: int = 0
    source: str = ""
    """The recording the page load was seen in; empty for live traffic."""

    @property
    def pageviews(self) -> list[Any]:
        return [report for report in self.events if is_pageview(report.event)]

    @property
    def duration_ms(self) -> int:
        elapsed = self.last_time - self.first_time
        # A time read from a broken recording may be infinite: no duration then.
        return round(elapsed * 1000) if math.isfinite(elapsed) else 0


@dataclass(eq=False, slots=True)
class _Page:
    """The mutable state behind one page load.

    Compared by identity: index lists test membership often, and a field-by-field
    comparison of two page loads would be both slow and meaningless.
    """

    serial: int
    key: str
    first_time: float
    last_time: float
    source: str = ""
    url: str | None = None
    url_uncertain: bool = False
    """True for a page known only from an origin-only `Referer`."""
    bound: bool = False
    """True once a pixel event belongs to it (documents alone leave it unbound)."""
    visitor: str | None = None
    site: str | None = None
    urls: list[str] = field(default_factory=list)
    plids: list[str] = field(default_factory=list)
    identities: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[TimedEvent] = field(default_factory=list)
    latest_pageview_time: float | None = None
    """When the latest pageview of `events` was sent."""
    requests: list[tuple[float, int, TimelineEntry]] = field(default_factory=list)
    """The timeline's other requests, as (time, arrival order, entry)."""
    pixels: list[TimedEvent] = field(default_factory=list)
    """The timeline's pixel events (their entries are made when a snapshot asks)."""
    route_hints: dict[str, list[str]] = field(default_factory=dict)
    scenarios: dict[str, None] = field(default_factory=dict)
    has_tracker: bool = False
    kinds: set[EntryKind] = field(default_factory=set)
    """The kinds of the non-pixel requests seen, kept on the timeline or not."""
    cookie_visitor: str | None = None
    """The visitor id of the document request's `_parsely_visitor` cookie."""
    dropped_entries: int = 0
    dropped_events: int = 0
    version: int = 0
    cache_key: tuple[Any, ...] | None = None
    cached: list[PageDiagnosis] = field(default_factory=list)
    snapshot: PageLoad | None = None
    snapshot_key: tuple[Any, ...] | None = None
    pageview_count: int = 0

    @property
    def listed(self) -> bool:
        """Only page loads with Parse.ly activity are reported."""
        return self.bound or self.has_tracker

    def url_keys(self) -> set[str]:
        keys = {page_url_key(url) for url in self.urls}
        if self.url:
            keys.add(page_url_key(self.url))
        return keys


@dataclass(slots=True)
class _Visitor:
    value_spellings: dict[str, dict[str, dict[str, list[str]]]] = field(
        default_factory=dict
    )
    key_spellings: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    pageviews: deque[PageviewKeys] = field(
        default_factory=lambda: deque(maxlen=_MAX_PAGEVIEWS_PER_VISITOR)
    )
    settled: Mapping[str, Any] | None = None
    """The segments of this visitor's latest event that added no spelling and no
    id: every list they would extend is full, so an equal event adds nothing."""


class PageTracker:
    """Groups a stream of requests and pixel event reports into page loads.

    Feed it every non-pixel request with `observe_request` and every pixel event
    report with `observe_event`, in the order they were sent; read `page_loads()`,
    `diagnoses()` and `scenario_coverage()` at any time.

    Args:
        spec: The segment spec; `spec.pages` gives the duplicate window and the
            tracker timeout, `spec.scenarios` the scenarios to cover. None uses
            defaults and no scenarios.
        max_pages: Page loads kept in memory; older ones are retired.
        max_visitors: Visitors whose events are compared with each other.
        max_timeline_entries: Entries kept per page load's timeline.
        max_events_per_page: Pixel events kept per page load.
        clock: For live sessions, a function returning the current time (such as
            `time.time`), so that a tracker waiting for its pageview times out even
            when no more traffic arrives. Without it, time is what the traffic shows.
    """

    def __init__(
        self,
        spec: Any = None,
        *,
        max_pages: int = 2000,
        max_visitors: int = 10_000,
        max_timeline_entries: int = 300,
        max_events_per_page: int = 1000,
        max_retired_diagnoses: int = 2000,
        clock: Callable[[], float] | None = None,
    ):
        pages_settings = getattr(spec, "pages", None)
        self.duplicate_window_ms = float(
            _setting(pages_settings, "duplicate_window_ms", DEFAULT_DUPLICATE_WINDOW_MS)
        )
        self.tracker_timeout_ms = float(
            _setting(pages_settings, "tracker_timeout_ms", DEFAULT_TRACKER_TIMEOUT_MS)
        )
        self.scenarios = list(getattr(spec, "scenarios", None) or [])
        self._scenario_tests = [_ScenarioTest.of(s) for s in self.scenarios]
        self.max_pages = max_pages
        self.max_visitors = max_visitors
        self.max_timeline_entries = max_timeline_entries
        self.max_events_per_page = max_events_per_page
        self.clock = clock

        self._pages: OrderedDict[int, _Page] = OrderedDict()
        self._serials = itertools.count(1)
        self._order = itertools.count()
        # Every index is keyed by source first: groups never span two recordings.
        self._by_identity: dict[tuple[Any, ...], _Page] = {}
        # Per (source, address) and (source, origin), the page loads seen there,
        # oldest first: dicts used as ordered sets, so that moving a page load to
        # the end and dropping it cost the same however many share the address.
        self._by_url: dict[tuple[str, str], dict[_Page, None]] = {}
        self._by_origin: dict[tuple[str, str], dict[_Page, None]] = {}
        self._keys_in_use: set[str] = set()
        # Page loads known only from an origin-only Referer, until an event binds them.
        self._origin_only: set[_Page] = set()
        self._known_urls: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._known_urls_version = 0
        self._visitors: OrderedDict[tuple[str, str], _Visitor] = OrderedDict()
        self._key_sets: dict[frozenset[str], frozenset[str]] = {}
        self._coverage: dict[str, list[str]] = {
            str(getattr(s, "name", "?")): [] for s in self.scenarios
        }
        self._coverage_counts: Counter[str] = Counter()
        self._retired: deque[PageDiagnosis] = deque(maxlen=max_retired_diagnoses)
        self._now = 0.0

        self.pages_seen = 0
        """Page loads with Parse.ly activity seen so far (including retired ones)."""
        self.pages_retired = 0
        self.retired_diagnosis_counts: Counter[str] = Counter()
        """Diagnosis codes of retired page loads, even those no longer listed."""
        self.unmatched_requests = 0
        """Non-pixel requests that could not be placed in any page load."""

    # Input -----------------------------------------------------------------------

    def observe_request(self, request: CapturedRequest) -> None:
        """Place a non-pixel request on the timeline of the page it belongs to."""
        when = request.timestamp
        self._advance(when)
        kind = classify_request(request)
        visitor = cookie_visitor(request)
        source = request.source

        # A navigation starts a page load that pixels will claim by address.
        if kind is EntryKind.DOCUMENT:
            page = self._new_page(when, url=request.url, source=source)
            page.cookie_visitor = visitor
            self._add_entry(page, kind, request, when, uncertain=False)
            self._remember_url(source, request.url)
            return

        referer = request.header("Referer") or ""
        match = self._match_referer(referer, when, kind, visitor, source)
        if match is None:
            if referer and kind in _TAG_KINDS:
                # The page's document was not captured: start from what the tag says.
                page = self._new_page(when, url=referer, source=source)
                page.url_uncertain = is_origin_only(referer)
                if page.url_uncertain:
                    self._origin_only.add(page)
                page.cookie_visitor = visitor
                self._add_entry(page, kind, request, when, page.url_uncertain)
            else:
                self.unmatched_requests += 1
            return

        page, uncertain, route = match
        self._add_entry(page, kind, request, when, uncertain)

        # A same-origin request naming an address this page never reported is a
        # route change hint, but only when the visitor cookie ties it to this page.
        if route and page.bound and request.request_id and visitor is not None:
            hints = page.route_hints.setdefault(route, [])
            if len(hints) < _MAX_IDS_PER_SPELLING:
                hints.append(request.request_id)
                page.version += 1

    def observe_event(self, report: EventReport) -> None:
        """Add a pixel event report to its page load and its visitor."""
        # Each property of the event is read once: this runs for every event.
        event = report.event
        when = event_time(event)
        self._advance(when)
        visitor = event.visitor
        item = TimedEvent(time=when, order=next(self._order), report=report)
        pageview = item.pageview

        page = self._page_for(item, visitor)
        events = page.events
        if len(events) < self.max_events_per_page:
            # Events nearly always arrive in time order: append, else slot it in.
            if not events or when >= events[-1].time:
                events.append(item)
            else:
                bisect.insort(events, item, key=_time_order)
            if pageview and (
                page.latest_pageview_time is None or when > page.latest_pageview_time
            ):
                page.latest_pageview_time = when
        else:
            page.dropped_events += 1
        if self._timeline_takes(page, EntryKind.PIXEL, when):
            page.pixels.append(item)

        url = event.url
        if url and url not in page.urls:
            page.urls.append(url)
            self._index_url(page, url)
        if page.url is None or page.url_uncertain:
            page.url = url
            page.url_uncertain = False
        page.site = page.site or event.idsite

        if pageview:
            page.pageview_count += 1
            self._remember_url(page.source, url)
            self._record_scenarios(page, report)
        self._record_visitor(page, item, visitor)

    # Output ----------------------------------------------------------------------

    def page_loads(self) -> list[PageLoad]:
        """Snapshots of the page loads kept in memory, oldest first."""
        settings = self._settings()
        pages = sorted(
            (page for page in self._pages.values() if page.listed),
            key=lambda page: (page.first_time, page.serial),
        )
        return [self._snapshot(page, settings) for page in pages]

    def diagnoses(self) -> list[PageDiagnosis]:
        """Every diagnosis: page loads (retired ones too), visitors, scenarios."""
        settings = self._settings()
        found: list[PageDiagnosis] = list(self._retired)

        current: list[PageDiagnosis] = []
        pages = sorted(
            (page for page in self._pages.values() if page.listed),
            key=lambda page: (page.first_time, page.serial),
        )
        for page in pages:
            current.extend(self._diagnose(page, settings))
        found.extend(current)

        # A key missing because the segment code ran late is not a null convention.
        excused = {
            (diagnosis.evidence[0], key)
            for diagnosis in current
            if diagnosis.code == SEGMENT_AFTER_PAGEVIEW and diagnosis.evidence
            for key in diagnosis.keys
        }
        for (_source, visitor), state in self._visitors.items():
            facts = VisitorFacts(
                visitor=visitor,
                value_spellings=state.value_spellings,
                key_spellings=state.key_spellings,
                pageviews=list(state.pageviews),
            )
            found.extend(_from_source(visitor_diagnoses(facts, excused), _source))

        for scenario in self.scenarios:
            if not self._coverage.get(str(getattr(scenario, "name", "?"))):
                found.append(scenario_not_covered(scenario))
        return found

    def scenario_coverage(self) -> dict[str, list[str]]:
        """Per spec scenario, the ids of the pageviews that showed it (the first
        `_MAX_COVERAGE_IDS` of them: `scenario_counts` counts them all)."""
        return {name: list(ids) for name, ids in self._coverage.items()}

    def scenario_counts(self) -> dict[str, int]:
        """Per spec scenario, how many pageviews showed it."""
        return {name: self._coverage_counts[name] for name in self._coverage}

    # Grouping --------------------------------------------------------------------

    def _page_for(self, item: TimedEvent, visitor: str | None) -> _Page:
        """The page load an event belongs to, made or renamed as needed.

        Whoever adds the event to it also moves it to the most recently active end.
        """
        event = item.event
        when = item.time
        source = event.request.source
        plid = event.plid
        if plid:
            identity: tuple[Any, ...] = ("plid", source, visitor, plid)
        elif item.pvid:
            identity = ("pvid", source, visitor, item.pvid)
        else:
            identity = ("legacy", source, visitor, item.address)

        page = self._by_identity.get(identity)
        if page is not None and page.serial in self._pages:
            if identity[0] != "legacy" or self._legacy_continues(page, item):
                return page

        page = self._adopt(item, visitor, source)
        if page is None:
            page = self._new_page(when, url=event.url, source=source)
            if event.url:
                page.urls.append(event.url)  # `_new_page` has indexed it
        if not page.bound:
            page.bound = True
            self._origin_only.discard(page)
            page.visitor = visitor
            page.first_time = min(page.first_time, when)
            if not page.has_tracker:
                self.pages_seen += 1  # it becomes a listed page load now
            self._rename(page, identity)
        if plid and plid not in page.plids:
            page.plids.append(plid)
        page.identities.append(identity)
        self._by_identity[identity] = page
        return page

    def _adopt(
        self, item: TimedEvent, visitor: str | None, source: str
    ) -> _Page | None:
        """The existing page load a new page id joins, if any.

        An unclaimed document (or tag) for the same address is this page load's own.
        A second pageload id whose pageview repeats the visitor's latest page load of
        the same address within the duplicate window is a second tracker instance on
        that page, so it joins it (and shows as a duplicate pageview).
        """
        event = item.event
        when = item.time
        address = item.address
        window = self.duplicate_window_ms / 1000
        for page in reversed(self._by_url.get((source, address), {})):
            if page.serial not in self._pages or page.first_time > when + _CLOCK_SKEW_S:
                continue
            if when - page.last_time > _STALE_PAGE_S:
                break
            if not page.bound:
                known = page.cookie_visitor
                if known is None or known == _visitor_key(visitor):
                    return page
                continue
            if page.visitor != visitor:
                continue
            if item.pageview and event.plid and event.plid not in page.plids:
                latest_pageview = max(
                    (
                        other.time
                        for other in page.events
                        if other.pageview and other.address == address
                    ),
                    default=None,
                )
                if latest_pageview is not None and when - latest_pageview <= window:
                    return page
            break

        # A page known only from an origin-only Referer (no document captured).
        if not self._origin_only:
            return None
        origin = origin_of(event.url)
        for page in reversed(self._by_origin.get((source, origin), {})):
            if page.serial not in self._pages or page.bound:
                continue
            fresh = 0 <= when - page.first_time + _CLOCK_SKEW_S <= _STALE_PAGE_S
            known = page.cookie_visitor
            same_visitor = known is None or known == _visitor_key(visitor)
            if page.url_uncertain and fresh and same_visitor:
                return page
        return None

    def _legacy_continues(self, page: _Page, item: TimedEvent) -> bool:
        """Whether an event without page ids still belongs to this page load."""
        when = item.time
        if when - page.last_time > _LEGACY_GAP_S:
            return False
        if not item.pageview or page.latest_pageview_time is None:
            return True
        # A reload: a new pageview well after the last one starts a new page load.
        return when - page.latest_pageview_time <= self.duplicate_window_ms / 1000

    def _match_referer(
        self,
        referer: str,
        when: float,
        kind: EntryKind,
        visitor: str | None,
        source: str,
    ) -> tuple[_Page, bool, str | None] | None:
        """The page a request came from: (page, uncertain, untracked address).

        A full-URL `Referer` that names a known page address is a certain match. An
        origin-only one, or one naming an address no page load has, falls back to
        the latest page load of that origin and is uncertain; in the second case
        the address is returned too, as a hint of a single-page-app route. A
        visitor cookie on the request rules out other visitors' page loads, and a
        tracker or tag-manager script goes preferably to a recent page load that has
        not loaded one yet.
        """
        if not referer:
            return None
        address = page_url_key(referer)
        origin = origin_of(referer)

        def same_visitor(page: _Page) -> bool:
            return (_visitor_key(page.visitor) or page.cookie_visitor) == visitor

        def maybe_visitor(page: _Page) -> bool:
            known = _visitor_key(page.visitor) or page.cookie_visitor
            return visitor is None or known is None or known == visitor

        # A page load known to be this visitor's beats one whose visitor is unknown.
        tests = [same_visitor, maybe_visitor] if visitor else [maybe_visitor]

        def latest(pages: dict[_Page, None], extra=lambda page: True) -> _Page | None:
            for test in tests:
                page = self._latest(
                    pages, when, lambda p, test=test: test(p) and extra(p)
                )
                if page is not None:
                    return page
            return None

        if not is_origin_only(referer):
            page = latest(self._by_url.get((source, address), {}))
            if page is not None:
                return page, False, None
            page = latest(self._by_origin.get((source, origin), {}))
            if page is not None:
                return page, True, address
            return None

        candidates = self._by_origin.get((source, origin), {})
        page = None
        if kind in _ONCE_PER_PAGE:
            page = latest(
                candidates,
                lambda p: when - p.first_time <= _TAG_WINDOW_S and kind not in p.kinds,
            )
        page = page or latest(candidates)
        if page is None:
            return None
        return page, address not in page.url_keys(), None

    def _latest(
        self,
        pages: dict[_Page, None],
        when: float,
        accept: Callable[[_Page], bool] = lambda page: True,
    ) -> _Page | None:
        """The most recent live page load of `pages` that `accept` takes."""
        for page in reversed(pages):
            if page.serial not in self._pages:
                continue
            if page.first_time > when + _CLOCK_SKEW_S:
                continue
            if when - page.last_time > _STALE_PAGE_S:
                continue
            if accept(page):
                return page
        return None

    # State upkeep ----------------------------------------------------------------

    def _advance(self, when: float) -> None:
        if when > self._now:
            self._now = when

    def _new_page(self, when: float, *, url: str | None, source: str) -> _Page:
        serial = next(self._serials)
        page = _Page(
            serial=serial,
            key=f"page:{serial}",
            first_time=when,
            last_time=when,
            source=source,
        )
        self._keys_in_use.add(page.key)
        page.url = url or None
        self._pages[serial] = page
        if url:
            self._index_url(page, url)
        self._evict()
        return page

    def _rename(self, page: _Page, identity: tuple[Any, ...]) -> None:
        """Give a page load the key of its first page id."""
        kind, _source, _visitor, value = identity
        if kind == "legacy":
            return
        base = f"{kind}:{value}"
        key = base
        for number in itertools.count(2):
            if key not in self._keys_in_use:
                break
            key = f"{base}#{number}"
        self._keys_in_use.discard(page.key)
        self._keys_in_use.add(key)
        page.key = key

    def _index_url(self, page: _Page, url: str) -> None:
        for index, value in (
            (self._by_url, page_url_key(url)),
            (self._by_origin, origin_of(url)),
        ):
            if not value:
                continue
            pages = index.setdefault((page.source, value), {})
            pages.pop(page, None)
            pages[page] = None
            if len(pages) > _MAX_PAGES_PER_ADDRESS:
                del pages[next(iter(pages))]

    def _remember_url(self, source: str, url: str | None) -> None:
        address = page_url_key(url)
        if not address:
            return
        address = (source, address)
        if address not in self._known_urls:
            self._known_urls_version += 1
        self._known_urls[address] = None
        self._known_urls.move_to_end(address)
        while len(self._known_urls) > _MAX_KNOWN_URLS:
            self._known_urls.popitem(last=False)

    def _add_entry(
        self,
        page: _Page,
        kind: EntryKind,
        request: CapturedRequest,
        when: float,
        uncertain: bool,
    ) -> None:
        """Put a non-pixel request on a page load's timeline, if it has room."""
        if kind is EntryKind.TRACKER_SCRIPT and not page.has_tracker:
            page.has_tracker = True
            if not page.bound:
                self.pages_seen += 1  # it becomes a listed page load now
        page.kinds.add(kind)
        if not self._timeline_takes(page, kind, when):
            return
        entry = TimelineEntry(
            time=when,
            offset_ms=0,
            kind=kind,
            url=request.url,
            request_id=request.request_id,
            uncertain=uncertain,
        )
        page.requests.append((when, next(self._order), entry))

    def _timeline_takes(self, page: _Page, kind: EntryKind, when: float) -> bool:
        """Note activity at `when` on a page load; whether its timeline has room for
        an entry of this kind (else it counts as dropped)."""
        size = len(page.requests) + len(page.pixels)
        page.first_time = min(page.first_time, when) if size else when
        if when > page.last_time:
            page.last_time = when
        page.version += 1
        self._pages.move_to_end(page.serial)

        # Keep the entries that explain ordering even when the timeline is full.
        if size >= self.max_timeline_entries and (
            kind is EntryKind.OTHER or size >= 2 * self.max_timeline_entries
        ):
            page.dropped_entries += 1
            return False
        return True

    def _evict(self) -> None:
        while len(self._pages) > self.max_pages:
            _serial, page = self._pages.popitem(last=False)
            self._retire(page)

    def _retire(self, page: _Page) -> None:
        """Drop a page load from memory, keeping its diagnoses (bounded) and counts."""
        if page.listed:
            self.pages_retired += 1
            for diagnosis in self._diagnose(page, self._settings()):
                self._retired.append(diagnosis)
                self.retired_diagnosis_counts[diagnosis.code] += 1

        for identity in page.identities:
            if self._by_identity.get(identity) is page:
                del self._by_identity[identity]
        addresses = [*page.urls, *([page.url] if page.url else [])]
        for index, values in (
            (self._by_url, {page_url_key(url) for url in addresses}),
            (self._by_origin, {origin_of(url) for url in addresses}),
        ):
            for value in values:
                pages = index.get((page.source, value))
                if pages is not None and page in pages:
                    del pages[page]
                    if not pages:
                        del index[(page.source, value)]
        self._keys_in_use.discard(page.key)
        self._origin_only.discard(page)
        logger.debug("retired page load %s", page.key)

    def _record_scenarios(self, page: _Page, report: Any) -> None:
        """Note the scenarios a pageview report shows."""
        for scenario in self._scenario_tests:
            if not scenario.shown_by(report):
                continue
            name = scenario.name
            page.scenarios[name] = None
            self._coverage_counts[name] += 1
            ids = self._coverage.setdefault(name, [])
            if len(ids) < _MAX_COVERAGE_IDS:
                ids.append(report.event.id)

    def _record_visitor(
        self, page: _Page, item: TimedEvent, visitor: str | None
    ) -> None:
        if not visitor or not item.with_data:
            return
        event = item.event
        identity = (page.source, visitor)
        state = self._visitors.get(identity)
        if state is None:
            state = self._visitors[identity] = _Visitor()
            while len(self._visitors) > self.max_visitors:
                self._visitors.popitem(last=False)
        else:
            self._visitors.move_to_end(identity)

        # A reader's events mostly repeat the segments of the one before.
        segments = event.segments
        if segments != state.settled and not _note_spellings(state, event.id, segments):
            state.settled = segments

        if item.pageview:
            state.pageviews.append(
                PageviewKeys(
                    event_id=event.id,
                    page_key=page.key,
                    present=self._shared(frozenset(segments)),
                    nulls=self._shared(
                        frozenset(k for k, v in segments.items() if v is None)
                    ),
                )
            )

    def _shared(self, keys: frozenset[str]) -> frozenset[str]:
        """One object per distinct key set: visitors keep many pageview records."""
        shared = self._key_sets.get(keys)
        if shared is None:
            if len(self._key_sets) >= _MAX_SHARED_KEY_SETS:
                self._key_sets.clear()
            shared = self._key_sets[keys] = keys
        return shared

    # Diagnosis -------------------------------------------------------------------

    def _settings(self) -> RuleSettings:
        now = self._now
        if self.clock is not None:
            now = max(now, self.clock())
        return RuleSettings(
            duplicate_window_ms=self.duplicate_window_ms,
            tracker_timeout_ms=self.tracker_timeout_ms,
            now=now,
        )

    def _diagnose(self, page: _Page, settings: RuleSettings) -> list[PageDiagnosis]:
        waiting = page.has_tracker and not page.pageview_count
        cache_key = (
            page.version,
            self._known_urls_version if page.route_hints else 0,
            settings.now if waiting else 0,
        )
        if page.cache_key != cache_key:
            settings = RuleSettings(
                duplicate_window_ms=settings.duplicate_window_ms,
                tracker_timeout_ms=settings.tracker_timeout_ms,
                now=settings.now,
                known_page_urls=_SourceUrls(self._known_urls, page.source),
            )
            page.cached = _from_source(
                page_diagnoses(self._facts(page), settings), page.source
            )
            page.cache_key = cache_key
        return page.cached

    def _facts(self, page: _Page) -> PageFacts:
        # The rules read the requests around the pixels; the pixels are the events.
        others = sorted(page.requests, key=_entry_order)
        return PageFacts(
            key=page.key,
            visitor=page.visitor,
            url=page.url,
            start_time=page.first_time,
            events=list(page.events),
            entries=[_with_offset(entry, page.first_time) for _, _, entry in others],
            route_hints={k: list(v) for k, v in page.route_hints.items()},
            plids=tuple(page.plids),
        )

    def _entries(self, page: _Page) -> list[TimelineEntry]:
        """The timeline: the requests and the pixel events, in time order."""
        pixels = [(item.time, item.order, _pixel_entry(item)) for item in page.pixels]
        ordered = sorted([*page.requests, *pixels], key=_entry_order)
        return [
            _with_offset(entry, page.first_time) for _when, _order, entry in ordered
        ]

    def _snapshot(self, page: _Page, settings: RuleSettings) -> PageLoad:
        diagnoses = list(self._diagnose(page, settings))
        if page.snapshot is not None and page.snapshot_key == page.cache_key:
            return page.snapshot

        worst = max((d.severity for d in diagnoses), key=_rank, default=None)
        page.snapshot_key = page.cache_key
        page.snapshot = PageLoad(
            key=page.key,
            visitor=page.visitor,
            site=page.site,
            url=page.url,
            urls=tuple(page.urls),
            first_time=page.first_time,
            last_time=page.last_time,
            events=[item.report for item in page.events],
            timeline=self._entries(page),
            diagnoses=diagnoses,
            verdict=str(worst) if worst is not None else "ok",
            plids=tuple(page.plids),
            scenarios=tuple(page.scenarios),
            dropped_entries=page.dropped_entries,
            dropped_events=page.dropped_events,
            source=page.source,
        )
        return page.snapshot


def _from_source(diagnoses: list[PageDiagnosis], source: str) -> list[PageDiagnosis]:
    """The diagnoses, naming the recording they were found in."""
    if not source:
        return diagnoses
    return [dataclasses.replace(diagnosis, source=source) for diagnosis in diagnoses]


class _SourceUrls:
    """The known page addresses of one source, as the rules' `known_page_urls`."""

    __slots__ = ("_known", "_source")

    def __init__(self, known: OrderedDict[tuple[str, str], None], source: str):
        self._known = known
        self._source = source

    def __contains__(self, address: object) -> bool:
        return (self._source, address) in self._known


_TAG_KINDS = frozenset({EntryKind.GTM, EntryKind.TRACKER_SCRIPT, EntryKind.OTHER_TAG})
_ONCE_PER_PAGE = frozenset({EntryKind.GTM, EntryKind.TRACKER_SCRIPT})
_VISITOR_COOKIE = "_parsely_visitor"


def cookie_visitor(request: CapturedRequest) -> str | None:
    """The visitor id in a request's `_parsely_visitor` cookie, if it carries one.

    The tracker keeps its visitor id in that first-party cookie (URL-encoded JSON
    with an `id`), so the site's own requests name their visitor; requests to other
    hosts, and browsers where the tracker uses localStorage, do not.
    """
    header = request.header("Cookie")
    if not header or _VISITOR_COOKIE not in header:
        return None
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name != _VISITOR_COOKIE:
            continue
        try:
            content = json.loads(unquote(value))
        except ValueError:
            return None
        if isinstance(content, dict) and isinstance(content.get("id"), str):
            return _visitor_key(content["id"])
    return None


def _visitor_key(visitor: str | None) -> str | None:
    """A visitor id in the form cookies and pixels share (no `pid=` prefix)."""
    if not visitor:
        return None
    return visitor.removeprefix("pid=") or None


def _note_spellings(
    state: _Visitor, event_id: str, segments: Mapping[str, Any]
) -> bool:
    """Note the spellings of an event's keys and string values, with its id, as
    long as each spelling has fewer than `_MAX_IDS_PER_SPELLING`; whether it added
    anything."""
    added = False
    key_spellings = state.key_spellings
    value_spellings = state.value_spellings
    for key, value in segments.items():
        folded_key = key.casefold()
        spellings = key_spellings.get(folded_key)
        if spellings is None:
            key_spellings[folded_key] = {key: [event_id]}
            added = True
        elif _remember_spelling(spellings, key, event_id):
            added = True

        if isinstance(value, str):
            values = value_spellings.get(key)
            if values is None:
                values = value_spellings[key] = {}
            folded = value.casefold()
            spellings = values.get(folded)
            if spellings is None:
                if len(values) < _MAX_VALUES_PER_KEY:
                    values[folded] = {value: [event_id]}
                    added = True
            elif _remember_spelling(spellings, value, event_id):
                added = True
    return added


def _remember_spelling(
    spellings: dict[str, list[str]], spelling: str, event_id: str
) -> bool:
    """Note that `event_id` sent `spelling`, keeping a few ids per spelling; True
    when anything was added."""
    ids = spellings.get(spelling)
    if ids is None:
        spellings[spelling] = [event_id]
        return True
    if len(ids) < _MAX_IDS_PER_SPELLING:
        ids.append(event_id)
        return True
    return False


def _setting(settings: Any, name: str, default: float) -> float:
    value = getattr(settings, name, None)
    return default if value is None else value


def _rank(severity: Severity) -> int:
    return severity.rank


def _time_order(timed: TimedEvent) -> tuple[float, int]:
    return timed.time, timed.order


def _entry_order(triple: tuple[float, int, TimelineEntry]) -> tuple[float, int]:
    return triple[0], triple[1]


def _pixel_entry(item: TimedEvent) -> TimelineEntry:
    event = item.event
    return TimelineEntry(
        time=item.time,
        offset_ms=0,
        kind=EntryKind.PIXEL,
        url=event.request.url,
        request_id=event.id,
        event=event,
    )


def _with_offset(entry: TimelineEntry, start: float) -> TimelineEntry:
    elapsed = entry.time - start
    # A time read from a broken recording may be infinite: no offset then.
    offset = max(0, round(elapsed * 1000)) if math.isfinite(elapsed) else 0
    if entry.offset_ms == offset:
        return entry
    return TimelineEntry(
        time=entry.time,
        offset_ms=offset,
        kind=entry.kind,
        url=entry.url,
        request_id=entry.request_id,
        event=entry.event,
        uncertain=entry.uncertain,
    )


# --------------------------------------------------------------------------------------
# Scenarios


_standard_matcher: Callable[[Any, Any], list[str]] | None = None
_standard_lookup_done = False


def _resolve_standard_matcher() -> Callable[[Any, Any], list[str]] | None:
    """`inspector.standard.standard_mismatches`, when that module provides it."""
    global _standard_matcher, _standard_lookup_done
    if not _standard_lookup_done:
        _standard_lookup_done = True
        try:
            from inspector.standard import standard_mismatches
        except ImportError:
            logger.warning(
                "standard segments are unavailable: scenario conditions on standard "
                "segments are not checked"
            )
        else:
            _standard_matcher = standard_mismatches
    return _standard_matcher


def scenario_matches(scenario: Any, report: Any) -> bool:
    """Whether a pageview report shows a spec scenario.

    Every listed segment must carry that value (None means JSON null), every `absent`
    key must be missing, and every `standard` field the scenario sets must match the
    event's standard segments (as `inspector.standard.standard_mismatches` compares
    them). A pageview whose `data` could not be read matches no scenario that names
    segments. Standard conditions are skipped when standard segments are unavailable.
    """
    return is_pageview(report.event) and _ScenarioTest.of(scenario).shown_by(report)


@dataclass(frozen=True, slots=True)
class _ScenarioTest:
    """A scenario's conditions, read once from the spec (see `scenario_matches`)."""

    name: str
    segments: tuple[tuple[str, Any], ...]
    absent: tuple[str, ...]
    standard: dict[str, Any]

    @classmethod
    def of(cls, scenario: Any) -> _ScenarioTest:
        return cls(
            name=str(getattr(scenario, "name", "?")),
            segments=tuple((getattr(scenario, "segments", None) or {}).items()),
            absent=tuple(getattr(scenario, "absent", None) or ()),
            standard=standard_conditions(scenario),
        )

    def shown_by(self, report: Any) -> bool:
        """Whether a report, known to be a pageview's, shows this scenario."""
        event = report.event
        if (self.segments or self.absent) and event.data is None:
            return False
        segments = event.segments
        for key, value in self.segments:
            if key not in segments or not same_json(segments[key], value):
                return False
        if any(key in segments for key in self.absent):
            return False

        if self.standard:
            mismatches = _resolve_standard_matcher()
            resolved = getattr(report, "standard", None)
            if mismatches is not None and resolved is not None:
                return not mismatches(resolved, self.standard)
        return True
