"""The diagnosis rules on hand-made facts, and their text."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

from inspector.diagnoses import (
    PageFacts,
    PageviewKeys,
    RuleSettings,
    TimedEvent,
    VisitorFacts,
    describe_diagnosis,
    describe_scenario_conditions,
    duplicate_clusters,
    make_diagnosis,
    page_diagnoses,
    same_json,
    scenario_not_covered,
    visitor_diagnoses,
)
from inspector.model import CapturedRequest, DataState, PixelEvent, Severity, Transport
from inspector.spec import parse_spec

URL = "https://www.example.com/a/"
SETTINGS = RuleSettings(duplicate_window_ms=2000, tracker_timeout_ms=5000, now=0.0)


def timed(number, action, when, segments=None, **params):
    fields = {"plid": "pl", "url": URL, "action": action, "rand": str(number), **params}
    fields = {key: value for key, value in fields.items() if value is not None}
    captured = CapturedRequest("GET", "https://p1.parsely.com/plogger/?")
    event = PixelEvent(
        id=f"e{number}",
        request=captured,
        transport=Transport.WEB,
        action=action,
        params=fields,
        data_state=DataState.OK,
        data=dict(segments or {}),
        data_raw=None,
        segments=dict(segments or {}),
    )
    return TimedEvent(when, number, SimpleNamespace(event=event, findings=()))


def facts(*events):
    return PageFacts(key="plid:pl", visitor="pid=v", url=URL, start_time=0.0,
                     events=list(events))  # fmt: skip


def codes(found):
    return [diagnosis.code for diagnosis in found]


def test_same_json_tells_json_types_apart():
    assert same_json(1, 1.0)
    assert not same_json(True, 1)
    assert not same_json("true", True)
    assert same_json({"a": [1, None]}, {"a": [1.0, None]})
    assert not same_json({"a": 1}, {"a": 1, "b": 2})


def test_make_diagnosis_mirrors_a_finding_on_the_primary_event():
    diagnosis = make_diagnosis(
        "page.x", Severity.WARNING, "Title", "Why.", ["e1", "e2", "e1"],
        page_key="plid:pl", primary_event="e2",
    )  # fmt: skip

    assert diagnosis.evidence == ["e1", "e2"]
    [finding] = diagnosis.findings
    assert (finding.code, finding.message, finding.event_id) == (
        "page.x",
        "Title",
        "e2",
    )
    assert finding.explanation == "Why."


def test_pageviews_with_the_same_pvid_are_one_event_captured_twice():
    first = timed(1, "pageview", 0.0, pvid="p1")
    again = timed(1, "pageview", 0.01, pvid="p1")

    assert duplicate_clusters(facts(first, again), SETTINGS) == []


def test_a_reused_pvid_with_another_rand_is_a_second_pageview():
    first = timed(1, "pageview", 0.0, pvid="p1")
    second = timed(2, "pageview", 0.02, {"plan": "basic"}, pvid="p1")

    assert duplicate_clusters(facts(first, second), SETTINGS) == [[first, second]]


def test_pageviews_with_different_pvids_are_two_even_with_the_same_rand():
    # Autotrack and a manual trackPageView can leave within one millisecond.
    first = timed(1, "pageview", 0.0, pvid="a")
    second = timed(2, "pageview", 0.0, pvid="b", rand="1")

    assert first.event.params["rand"] == second.event.params["rand"]
    assert duplicate_clusters(facts(first, second), SETTINGS) == [[first, second]]


def test_duplicate_needs_the_same_address_within_the_window():
    first = timed(1, "pageview", 0.0, pvid="p1")
    later = timed(2, "pageview", 2.5, pvid="p2")
    elsewhere = timed(3, "pageview", 2.6, pvid="p3", url=URL + "b/")
    close = timed(4, "pageview", 0.5, pvid="p4")

    assert duplicate_clusters(facts(first, later, elsewhere), SETTINGS) == []
    [cluster] = duplicate_clusters(facts(first, close), SETTINGS)
    assert [item.id for item in cluster] == ["e1", "e4"]


def test_a_blocked_pageview_duplicates_nothing():
    first = timed(1, "pageview", 0.0, pvid="p1")
    blocked = timed(2, "pageview", 0.5, pvid="p2")
    cancelled = timed(3, "pageview", 0.5, pvid="p3")
    for item, error in ((blocked, "net::ERR_BLOCKED_BY_CLIENT"),
                        (cancelled, "net::ERR_ABORTED")):  # fmt: skip
        request = dataclasses.replace(item.event.request, error=error)
        item.report.event = dataclasses.replace(item.event, request=request)

    assert duplicate_clusters(facts(first, blocked), SETTINGS) == []
    # A cancelled send may have gone out: it still counts.
    [cluster] = duplicate_clusters(facts(first, cancelled), SETTINGS)
    assert [item.id for item in cluster] == ["e1", "e3"]


def test_events_without_pvid_after_a_pageview_are_not_orphans():
    pageview = timed(1, "pageview", 0.0, pvid="p1")
    odd = timed(2, "heartbeat", 10.0, inc="10", tt="10000")

    assert codes(page_diagnoses(facts(pageview, odd), SETTINGS)) == []


def test_legacy_events_without_ids_are_never_orphans():
    lone = timed(1, "heartbeat", 0.0, plid=None, inc="6")

    assert codes(page_diagnoses(facts(lone), SETTINGS)) == []


def test_truncated_events_prove_nothing():
    cut = timed(1, "heartbeat", 0.0)
    cut.report.findings = (SimpleNamespace(code="url.truncated"),)

    assert codes(page_diagnoses(facts(cut), SETTINGS)) == []


def test_legacy_pageview_views_take_later_events_of_the_same_address():
    pageview = timed(1, "pageview", 0.0, plid=None)
    beat = timed(2, "heartbeat", 6.0, {"plan": "basic"}, plid=None, inc="6")

    found = page_diagnoses(facts(pageview, beat), SETTINGS)

    assert codes(found) == ["page.segment-after-pageview"]
    assert found[0].evidence == ["e1", "e2"]


def test_null_convention_mixed_ignores_excused_pageviews():
    visitor = VisitorFacts(
        visitor="pid=v",
        value_spellings={},
        key_spellings={},
        pageviews=[
            PageviewKeys("e1", "p1", frozenset({"plan"}), frozenset({"plan"})),
            PageviewKeys("e2", "p2", frozenset(), frozenset()),
        ],
    )

    assert codes(visitor_diagnoses(visitor)) == ["visitor.null-convention-mixed"]
    assert visitor_diagnoses(visitor, excused={("e2", "plan")}) == []


def test_key_spelled_in_two_cases():
    visitor = VisitorFacts(
        visitor="pid=v",
        value_spellings={},
        key_spellings={"plan": {"plan": ["e1"], "Plan": ["e2"]}},
        pageviews=[],
    )

    [diagnosis] = visitor_diagnoses(visitor)

    assert diagnosis.code == "visitor.case-variants"
    assert diagnosis.keys == ("Plan", "plan")
    assert diagnosis.evidence == ["e2", "e1"]


def test_scenario_conditions_read_spec_models():
    spec = parse_spec(
        "version: 1\n"
        "segments:\n  plan: {type: string}\n"
        "scenarios:\n"
        "  - name: email readers\n"
        "    description: came from the newsletter\n"
        "    segments: {plan: basic}\n"
        "    absent: []\n"
        "    standard: {medium: email}\n"
    )
    [scenario] = spec.scenarios

    assert describe_scenario_conditions(scenario) == (
        'plan = "basic", standard medium = "email"'
    )
    diagnosis = scenario_not_covered(scenario)
    assert diagnosis.code == "scenario.not-covered"
    assert diagnosis.severity is Severity.INFO
    assert "came from the newsletter" in diagnosis.explanation
    assert diagnosis.page_key is None


def test_describe_diagnosis_for_a_visitor():
    diagnosis = make_diagnosis(
        "visitor.case-variants", Severity.WARNING, "plan in two cases",
        "Normalise the value. " * 10, ["e1", "e2"], visitor="pid=v",
    )  # fmt: skip

    lines = describe_diagnosis(diagnosis, width=60).splitlines()

    assert lines[0] == "WARNING visitor.case-variants: plan in two cases"
    assert lines[1] == "  where: visitor pid=v"
    assert lines[2] == "  evidence: e1, e2"
    assert all(len(line) <= 60 for line in lines[3:])


def test_spa_routes_without_pageview_are_named_in_the_order_visited():
    # Event ids that sort against time, as flow ids do.
    found = page_diagnoses(
        facts(
            timed(1, "pageview", 0.0),
            timed(9, "heartbeat", 10.0, url="https://www.example.com/a/2"),
            timed(5, "heartbeat", 20.0, url="https://www.example.com/a/3"),
        ),
        SETTINGS,
    )

    [spa] = [d for d in found if d.code == "page.spa-url-without-pageview"]
    assert "moved to /a/2, /a/3 without sending a pageview" in spa.explanation


def test_segment_after_pageview_without_any_pageview_ids():
    # A tracker that sends `plid` but never `pvid`: events follow their pageview
    # by address within the page load.
    found = page_diagnoses(
        facts(
            timed(1, "pageview", 0.0, segments={}),
            timed(2, "heartbeat", 10.0, segments={"plan": "premium"}, inc="10"),
        ),
        SETTINGS,
    )

    [late] = [d for d in found if d.code == "page.segment-after-pageview"]
    assert late.evidence == ["e1", "e2"]
    assert "was sent without `plan`" in late.explanation
