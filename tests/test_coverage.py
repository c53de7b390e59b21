"""Scenario coverage: every scenario seen or not, how often, where, and since when."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from urllib.parse import urlencode

import pytest

import inspector.pages
from inspector.coverage import (
    GEOIP_DB_NEEDED,
    NO_LOCATION,
    coverage_mark,
    geography_notes,
    needs_geography,
    statuses_since,
)
from inspector.inspection import Inspection
from inspector.model import CapturedRequest
from inspector.report import render_json, render_text
from inspector.spec import parse_spec

SPEC = parse_spec(
    """
version: 1
segments:
  plan: {type: string, values: [basic, premium]}
scenarios:
  - name: anonymous
    description: a reader who is not signed in
    absent: [plan]
  - name: premium
    segments: {plan: premium}
  - name: premium from search
    segments: {plan: premium}
    standard: {referrer: search}
"""
)


def pageview(number: int, page: str, plid: str, **data: object) -> CapturedRequest:
    query = {
        "rand": str(1_700_000_000_000 + number),
        "idsite": "example.com",
        "url": f"https://www.example.com{page}",
        "urlref": "",
        "action": "pageview",
        "plid": plid,
        "pvid": str(number),
        "u": "pid=reader-1",
        "data": json.dumps(data),
    }
    return CapturedRequest(
        method="GET",
        url="https://p1.parsely.com/plogger/?" + urlencode(query),
        timestamp=1_700_000_000.0 + number,
        request_id=f"pv-{number}",
    )


def test_statuses_name_pages_for_seen_scenarios_and_needs_for_the_others():
    inspection = Inspection(SPEC)
    inspection.process(pageview(1, "/a", "1", plan="premium"))
    inspection.process(pageview(2, "/b?x=1", "2", plan="premium"))

    statuses = statuses_since(inspection.pages, inspection.pages.page_loads())

    assert [(s.name, s.seen, s.pageviews) for s in statuses] == [
        ("anonymous", False, 0),
        ("premium", True, 2),
        ("premium from search", False, 0),
    ]
    premium = statuses[1]
    assert premium.event_ids == ("pv-1", "pv-2")
    assert premium.pages == (
        "https://www.example.com/a",
        "https://www.example.com/b?x=1",
    )
    assert statuses[0].needs == "no `plan` key"
    assert statuses[0].description == "a reader who is not signed in"
    assert statuses[2].needs == 'plan = "premium", standard referrer = "search"'
    assert statuses[0].pages == ()


def test_counts_go_past_the_ids_kept(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(inspector.pages, "_MAX_COVERAGE_IDS", 2)
    inspection = Inspection(SPEC)
    for number in range(1, 6):
        inspection.process(pageview(number, f"/p{number}", str(number), plan="premium"))

    result = inspection.result()
    assert result.scenario_coverage["premium"] == ["pv-1", "pv-2"]
    assert result.scenario_counts == {
        "anonymous": 0,
        "premium": 5,
        "premium from search": 0,
    }
    assert "seen in 5 events" in render_text(result, color=False)
    assert json.loads(render_json(result))["scenario_counts"]["premium"] == 5


def test_since_a_mark_only_later_pageviews_count_and_name_their_pages():
    inspection = Inspection(SPEC)
    # A single-page app: its page load spans the mark.
    inspection.process(pageview(1, "/app", "10", plan="premium"))
    inspection.process(pageview(2, "/other", "20", plan="premium"))
    mark = coverage_mark(inspection.pages)

    assert not any(s.seen for s in statuses_since(inspection.pages, [], mark)), (
        "nothing since the mark"
    )

    # After it: the app's next route as a signed-out reader, a new premium page.
    inspection.process(pageview(3, "/app/route", "10"))
    inspection.process(pageview(4, "/new", "30", plan="premium"))
    pages = inspection.pages.page_loads()
    statuses = {s.name: s for s in statuses_since(inspection.pages, pages, mark)}

    assert statuses["anonymous"].pageviews == 1
    assert statuses["anonymous"].pages == ("https://www.example.com/app",)
    # The app's page load showed premium before the mark only: not named for it.
    assert statuses["premium"].pageviews == 1
    assert statuses["premium"].event_ids == ("pv-4",)
    assert statuses["premium"].pages == ("https://www.example.com/new",)


# --------------------------------------------------------------------------------------
# Scenarios that need a GeoIP database

GEO_SPEC = parse_spec(
    """
scenarios:
  - name: readers in Germany
    standard: {country: DE}
  - name: European readers from email
    standard: {ip_continent: EU, medium: email}
  - name: anyone
  - name: from search
    standard: {referrer: search}
"""
)


def from_address(request: CapturedRequest, address: str) -> CapturedRequest:
    return dataclasses.replace(request, client_address=address)


def write_germany_db(path: Path) -> Path:
    """A one-network GeoLite2-Country-shaped database: 85.10.0.0/16 is Germany."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(
        ip_version=6, database_type="GeoLite2-Country", ipv4_compatible=True
    )
    writer.insert_network(
        IPSet(["85.10.0.0/16"]),
        {
            "continent": {"code": "EU", "names": {"en": "Europe"}},
            "country": {"iso_code": "DE", "names": {"en": "Germany"}},
        },
    )
    writer.to_db_file(str(path))
    return path


def test_only_geography_conditions_need_a_database():
    assert [needs_geography(s) for s in GEO_SPEC.scenarios] == [
        True,
        True,
        False,
        False,
    ]


def test_scenarios_with_geography_say_a_database_is_needed_when_none_was_given():
    inspection = Inspection(GEO_SPEC)
    inspection.process(from_address(pageview(1, "/a", "1"), "85.10.1.1"))
    result = inspection.result()

    notes = geography_notes(
        GEO_SPEC.scenarios, result.scenario_coverage, result.reports
    )
    text = render_text(result, scenarios=GEO_SPEC.scenarios)
    document = json.loads(render_json(result, scenarios=GEO_SPEC.scenarios))

    assert notes == {
        "readers in Germany": GEOIP_DB_NEEDED,
        "European readers from email": GEOIP_DB_NEEDED,
    }
    assert GEOIP_DB_NEEDED == (
        "needs a GeoIP database: add --geoip-db PATH to a MaxMind .mmdb"
    )
    assert f"  readers in Germany           not seen ({GEOIP_DB_NEEDED})\n" in text
    assert "  from search                  not seen\n" in text
    assert document["scenario_notes"] == notes
    # Without the spec's scenarios nothing is known about why.
    assert json.loads(render_json(result))["scenario_notes"] == {}


def test_no_note_once_a_pageview_has_a_location(tmp_path):
    inspection = Inspection(
        GEO_SPEC, geoip_db=str(write_germany_db(tmp_path / "g.mmdb"))
    )
    inspection.process(from_address(pageview(1, "/a", "1"), "85.10.1.1"))
    result = inspection.result()

    notes = geography_notes(
        GEO_SPEC.scenarios, result.scenario_coverage, result.reports
    )

    assert result.scenario_counts["readers in Germany"] == 1
    assert result.scenario_counts["European readers from email"] == 0
    assert notes == {}


@pytest.mark.parametrize("address", ["192.168.1.20", "203.0.113.7", "23.1.1.1", None])
def test_without_a_location_a_database_would_give_the_note_says_so(tmp_path, address):
    with_db = Inspection(GEO_SPEC, geoip_db=str(write_germany_db(tmp_path / "g.mmdb")))
    inspections = [with_db]
    if address is None:
        # No client address: a database would not help either.
        inspections.append(Inspection(GEO_SPEC))
        for inspection in inspections:
            inspection.process(pageview(1, "/a", "1"))
    else:
        with_db.process(from_address(pageview(1, "/a", "1"), address))

    for inspection in inspections:
        result = inspection.result()
        notes = geography_notes(
            GEO_SPEC.scenarios, result.scenario_coverage, result.reports
        )
        text = render_text(result, scenarios=GEO_SPEC.scenarios)

        assert NO_LOCATION == (
            "no pageview has a location: see geography under Standard segments"
        )
        assert notes == {
            "readers in Germany": NO_LOCATION,
            "European readers from email": NO_LOCATION,
        }
        assert f"  readers in Germany           not seen ({NO_LOCATION})\n" in text


def test_no_note_without_events_or_without_geography_scenarios():
    empty = Inspection(GEO_SPEC).result()
    plain = Inspection(SPEC)
    plain.process(pageview(1, "/a", "1"))
    result = plain.result()

    assert geography_notes(GEO_SPEC.scenarios, {}, empty.reports) == {}
    assert (
        geography_notes(SPEC.scenarios, result.scenario_coverage, result.reports) == {}
    )
