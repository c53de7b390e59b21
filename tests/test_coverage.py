"""Scenario coverage: every scenario seen or not, how often, where, and since when."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

import inspector.pages
from inspector.coverage import coverage_mark, statuses_since
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
