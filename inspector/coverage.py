"""Scenario coverage: which of the spec's scenarios the pageviews showed, on which
pages, and what each scenario not seen yet needs.

The page tracker decides which pageview shows which scenario
(`inspector.pages.scenario_matches`); this module only gathers its answers, for the
`check` reports and for the UI's Scenarios table, which shows the same coverage
since the start or the last clear.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from inspector.diagnoses import describe_scenario_conditions, standard_conditions
from inspector.standard import NO_GEOIP_DB_NOTE, canonical_standard_key

GEOGRAPHY_FIELDS = frozenset({"country", "continent", "subdivision"})
"""The standard segments that only a GeoIP database can show."""

GEOIP_DB_NEEDED = "needs a GeoIP database: add --geoip-db PATH to a MaxMind .mmdb"
"""Why a scenario with a geography condition was not seen, when no database was
given: without one no pageview has a country, so it could not have been."""

NO_LOCATION = "no pageview has a location: see geography under Standard segments"
"""Why, when a database would not have helped either (addresses missing, private
or not in the database)."""


@dataclass(frozen=True, slots=True)
class ScenarioStatus:
    """One spec scenario: whether it was seen, how often and where."""

    name: str
    description: str
    """What the tester does to reproduce it, as the spec says."""
    needs: str
    """What a pageview must show to match it: segment values, keys left out,
    standard segments (`describe_scenario_conditions`); empty when it sets none."""
    pageviews: int
    """Pageviews that showed it."""
    event_ids: tuple[str, ...]
    """Ids of those pageviews (the first ones, as the page tracker keeps them)."""
    pages: tuple[str, ...]
    """Addresses of the page loads that showed it, in the order they were seen."""

    @property
    def seen(self) -> bool:
        return self.pageviews > 0


def pages_by_scenario(
    pages: Iterable[Any],
    event_ids: Mapping[str, Sequence[str]] | None = None,
    partial: Collection[str] = (),
) -> dict[str, list[str]]:
    """Per scenario, the addresses of the page loads (`PageLoad`s) that showed it.

    A page load whose key is in `partial` counts only in part (it began before the
    UI was cleared): it is listed for a scenario only when one of its events is
    among that scenario's `event_ids`.
    """
    found: dict[str, list[str]] = {}
    for page in pages:
        own_ids: set[str] | None = None
        for name in page.scenarios:
            if page.key in partial:
                if own_ids is None:
                    own_ids = {report.event.id for report in page.events}
                if own_ids.isdisjoint((event_ids or {}).get(name, ())):
                    continue
            urls = found.setdefault(name, [])
            if page.url and page.url not in urls:
                urls.append(page.url)
    return found


def scenario_statuses(
    scenarios: Iterable[Any],
    counts: Mapping[str, int],
    event_ids: Mapping[str, Sequence[str]],
    pages: Iterable[Any],
    partial: Collection[str] = (),
) -> list[ScenarioStatus]:
    """Every spec scenario in the spec's order, seen or not.

    `counts` and `event_ids` are shaped like `PageTracker.scenario_counts()` and
    `scenario_coverage()`; `pages` and `partial` as for `pages_by_scenario`.
    """
    where = pages_by_scenario(pages, event_ids, partial)
    statuses = []
    for scenario in scenarios:
        name = str(getattr(scenario, "name", "?"))
        ids = tuple(event_ids.get(name, ()))
        seen = max(counts.get(name, 0), len(ids))
        statuses.append(
            ScenarioStatus(
                name=name,
                description=str(getattr(scenario, "description", "") or ""),
                needs=describe_scenario_conditions(scenario),
                pageviews=seen,
                event_ids=ids,
                pages=tuple(where.get(name, ())) if seen else (),
            )
        )
    return statuses


def needs_geography(scenario: Any) -> bool:
    """Whether a scenario expects a country, continent or subdivision."""
    return any(
        canonical_standard_key(str(key)) in GEOGRAPHY_FIELDS
        for key in standard_conditions(scenario)
    )


def geography_notes(
    scenarios: Iterable[Any],
    coverage: Mapping[str, Sequence[str]],
    reports: Iterable[Any],
) -> dict[str, str]:
    """Why scenarios with a geography condition could not have been seen.

    When none of the events (`EventReport`s) has a location, each such scenario
    not seen gets `GEOIP_DB_NEEDED` if no database was given, else `NO_LOCATION`
    (the addresses were missing, private or unknown to the database). When some
    event has a location, the pageviews simply did not match: no note.
    """
    unseen = [
        str(scenario.name)
        for scenario in scenarios
        if not coverage.get(str(scenario.name)) and needs_geography(scenario)
    ]
    if not unseen:
        return {}
    standards = [report.standard for report in reports if report.standard is not None]
    if not standards or any(standard.geo is not None for standard in standards):
        return {}
    without_database = any(
        standard.geo_note == NO_GEOIP_DB_NOTE for standard in standards
    )
    note = GEOIP_DB_NEEDED if without_database else NO_LOCATION
    return dict.fromkeys(unseen, note)


@dataclass(frozen=True, slots=True)
class CoverageMark:
    """Scenario coverage at one moment, to count from later (the UI's clear)."""

    counts: Mapping[str, int]
    event_ids: Mapping[str, frozenset[str]]
    page_keys: frozenset[str]
    """The page loads known then: later ones count only in part."""


def coverage_mark(tracker: Any) -> CoverageMark:
    """The coverage a `PageTracker` has now, for `statuses_since`."""
    return CoverageMark(
        counts=dict(tracker.scenario_counts()),
        event_ids={
            name: frozenset(ids) for name, ids in tracker.scenario_coverage().items()
        },
        page_keys=frozenset(page.key for page in tracker.page_loads()),
    )


def statuses_since(
    tracker: Any, pages: Iterable[Any], mark: CoverageMark | None = None
) -> list[ScenarioStatus]:
    """Every scenario of a `PageTracker`'s spec, with what was seen since `mark`
    (since the start without one); `pages` are the page loads to name."""
    counts = tracker.scenario_counts()
    event_ids = tracker.scenario_coverage()
    if mark is None:
        return scenario_statuses(tracker.scenarios, counts, event_ids, pages)

    counts = {
        name: max(count - mark.counts.get(name, 0), 0) for name, count in counts.items()
    }
    event_ids = {
        name: [i for i in ids if i not in mark.event_ids.get(name, frozenset())]
        for name, ids in event_ids.items()
    }
    return scenario_statuses(
        tracker.scenarios, counts, event_ids, pages, partial=mark.page_keys
    )
