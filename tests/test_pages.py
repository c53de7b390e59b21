"""Page-load grouping, timelines, diagnoses and scenario coverage.

The recordings come from `inspector.traffic`, which plays each integration the way a
browser and the tracker would; the real pipeline (`Inspection`) decodes and checks
them before `PageTracker` sees them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.inspection import Inspection
from inspector.model import CapturedRequest, Severity
from inspector.pages import (
    PageTracker,
    cookie_visitor,
    describe_diagnosis,
    scenario_matches,
)
from inspector.recordings import load_requests
from inspector.spec import parse_spec
from inspector.timeline import EntryKind
from inspector.traffic import (
    ARTICLE,
    SCENARIOS,
    SECOND_ARTICLE,
    Session,
    generate,
    segment_hook,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "requests"

SCENARIO_SPEC = """
version: 1
segments:
  plan: {type: string, values: [basic, premium], null_convention: "null"}
scenarios:
  - name: anonymous
    description: logged-out reader
    absent: [plan]
  - name: basic
    segments: {plan: basic}
  - name: premium
    segments: {plan: premium}
  - name: data not available
    description: the profile service did not answer
    segments: {plan: null}
  - name: premium from search
    segments: {plan: premium}
    standard: {referrer: search}
  - name: premium from social
    segments: {plan: premium}
    standard: {referrer: social}
"""


def inspect(requests, spec=None, **tracker_options):
    inspection = Inspection(spec)
    if tracker_options:
        inspection.pages = PageTracker(inspection.spec, **tracker_options)
    return inspection.process_all(requests)


def page_diagnoses(result):
    return [d for d in result.diagnoses if d.code != "scenario.not-covered"]


def only(result, code):
    found = [d for d in result.diagnoses if d.code == code]
    assert len(found) == 1, [d.code for d in result.diagnoses]
    return found[0]


def pixel_ids(result, action=None):
    return [e.id for e in result.events if action is None or e.action == action]


# Every scenario: exactly the expected diagnoses -----------------------------------


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_gives_exactly_its_expected_diagnoses(name):
    result = inspect(generate(name))

    codes = {d.code for d in page_diagnoses(result)}

    assert codes == SCENARIOS[name].expected


@pytest.mark.parametrize(
    "name",
    [n for n, s in sorted(SCENARIOS.items()) if not s.expected],
)
def test_correct_integrations_have_ok_pages(name):
    result = inspect(generate(name))

    assert result.pages
    assert all(page.verdict == "ok" for page in result.pages)
    assert all(not page.diagnoses for page in result.pages)


# Ordering ---------------------------------------------------------------------------


def test_unsequenced_gtm_names_the_ordering_fault_with_evidence_and_fix():
    result = inspect(generate("gtm-unsequenced"))
    pageview, first_beat, second_beat = pixel_ids(result)

    diagnosis = only(result, "page.segment-after-pageview")

    assert diagnosis.severity is Severity.ERROR
    assert diagnosis.evidence == [pageview, first_beat, second_beat]
    assert diagnosis.keys == ("plan",)
    assert "plan" in diagnosis.title
    text = diagnosis.explanation
    assert "ran after the tracker" in text
    assert "before the Parse.ly tracker snippet" in text
    assert "setup tag" in text and "Tag Sequencing" in text
    assert "Google Tag Manager (gtm.js at +" in text
    [finding] = diagnosis.findings
    assert (finding.code, finding.severity, finding.event_id) == (
        "page.segment-after-pageview",
        Severity.ERROR,
        pageview,
    )
    [page] = result.pages
    assert page.verdict == "error" and diagnosis.page_key == page.key
    assert diagnosis in page.diagnoses


def test_a_late_second_pageview_counts_as_ordering_evidence():
    result = inspect(generate("gtm-late-pageview"))
    first, second, _heartbeat = pixel_ids(result)

    diagnosis = only(result, "page.segment-after-pageview")

    assert diagnosis.evidence[:2] == [first, second]
    assert "second pageview" in diagnosis.explanation
    assert "counted twice" in diagnosis.explanation


def test_amp_events_without_data_are_never_ordering_faults():
    result = inspect(generate("amp"))

    assert page_diagnoses(result) == []
    [page] = result.pages
    assert [report.event.action for report in page.events] == [
        "pageview",
        "heartbeat",
        "heartbeat",
    ]


# Duplicates -------------------------------------------------------------------------


def test_autotrack_left_on_names_the_likely_cause():
    result = inspect(generate("autotrack-and-onready"))
    empty, with_data = pixel_ids(result, "pageview")

    diagnosis = only(result, "page.duplicate-pageview")

    assert diagnosis.severity is Severity.ERROR
    assert diagnosis.evidence == [empty, with_data]
    assert diagnosis.keys == ("plan",)
    assert "autotrack" in diagnosis.explanation
    assert "onReady" in diagnosis.explanation
    assert "autotrack: false" in diagnosis.explanation


def test_tracker_installed_twice_is_one_page_load_with_two_pageload_ids():
    result = inspect(generate("tracker-twice"))

    diagnosis = only(result, "page.duplicate-pageview")

    assert diagnosis.severity is Severity.WARNING
    assert "installed twice" in diagnosis.explanation
    assert "requested 2 times" in diagnosis.explanation
    [page] = result.pages
    assert len(page.plids) == 2
    kinds = [entry.kind for entry in page.timeline]
    assert kinds.count(EntryKind.TRACKER_SCRIPT) == 2


def test_router_hook_duplicate_is_a_warning_naming_the_hook():
    result = inspect(generate("router-double-fire"))

    diagnosis = only(result, "page.duplicate-pageview")

    assert diagnosis.severity is Severity.WARNING
    assert "router" in diagnosis.explanation
    assert len(diagnosis.evidence) == 2


def test_duplicate_window_comes_from_the_spec():
    spec = parse_spec("version: 1\npages: {duplicate_window_ms: 10}\n")

    result = inspect(generate("router-double-fire"), spec)

    assert page_diagnoses(result) == []


def test_the_same_pixel_captured_twice_is_not_a_duplicate():
    requests = generate("correct-order")
    pageview = next(r for r in requests if "action=pageview" in r.url)
    repeated = replace(pageview, request_id="repeat", timestamp=pageview.timestamp)

    result = inspect([*requests, repeated])

    assert page_diagnoses(result) == []


def test_virtual_pageviews_for_new_urls_are_not_duplicates():
    result = inspect(generate("spa-virtual-pageviews"))

    assert page_diagnoses(result) == []
    [page] = result.pages
    assert page.urls == (ARTICLE, SECOND_ARTICLE)
    assert len(page.pageviews) == 2


# Heartbeats -------------------------------------------------------------------------


def test_heartbeat_before_the_pageview_is_reported_with_the_late_pageview():
    result = inspect(generate("heartbeat-before-pageview"))
    early_beat = pixel_ids(result)[0]

    diagnosis = only(result, "page.heartbeat-without-pageview")

    assert diagnosis.severity is Severity.WARNING
    assert diagnosis.evidence == [early_beat]
    assert "autotrack is off" in diagnosis.explanation
    assert "first pageview only came at +" in diagnosis.explanation


def test_android_heartbeat_with_null_pvid_is_reported():
    result = inspect(generate("android-heartbeat-before-pageview"))

    diagnosis = only(result, "page.heartbeat-without-pageview")

    assert "startEngagement" in diagnosis.explanation
    assert diagnosis.title == "Engaged time sent before any pageview"


def test_lone_heartbeat_from_a_capture_started_mid_page_is_not_a_fault():
    result = inspect(generate("capture-mid-page"))

    assert page_diagnoses(result) == []
    [page] = result.pages
    assert page.verdict == "ok"


def test_data_passed_per_call_is_missing_on_heartbeats():
    result = inspect(generate("per-call-data"))
    pageview, first, second = pixel_ids(result)

    diagnosis = only(result, "page.heartbeat-data-differs")

    assert diagnosis.evidence == [pageview, first, second]
    assert diagnosis.keys == ("plan",)
    assert "updateDefaults" in diagnosis.explanation
    assert "plan missing on heartbeat" in diagnosis.explanation


def test_a_value_changed_after_the_pageview_is_reported_as_differing():
    session = Session(seed=21, name="changed")
    page = session.open(session.visitor(), ARTICLE)
    page.configure(autotrack=False, on_ready=segment_hook({"plan": "basic"}))
    page.load_tracker()
    page.engage(15)
    page.parsely.update_defaults({"data": {"plan": "premium"}})
    page.engage(15)

    result = inspect(session.requests())

    diagnosis = only(result, "page.heartbeat-data-differs")
    assert '"premium" on heartbeat' in diagnosis.explanation
    assert "value changed after the pageview" in diagnosis.explanation


def test_engaged_time_going_down_within_a_pvid():
    result = inspect(generate("engaged-time-restarted"))
    beats = pixel_ids(result, "heartbeat")

    diagnosis = only(result, "page.tt-decreased")

    assert diagnosis.evidence == [beats[1], beats[2]]
    assert "40000 → 10000" in diagnosis.title
    assert "pvid" in diagnosis.explanation


# Single-page apps -------------------------------------------------------------------


def test_route_change_without_pageview_is_shown_by_the_conversion_and_requests():
    requests = generate("spa-without-pageview")
    api_call = next(r for r in requests if "/api/article/" in r.url)
    result = inspect(requests)
    conversion = pixel_ids(result, "conversion")[0]

    diagnosis = only(result, "page.spa-url-without-pageview")

    assert diagnosis.severity is Severity.WARNING
    assert conversion in diagnosis.evidence
    assert api_call.request_id in diagnosis.evidence
    assert "/2023/11/14/second-article/" in diagnosis.title
    assert "trackPageView({url: newUrl" in diagnosis.explanation
    assert diagnosis.uncertain is False


def test_segment_value_changing_between_virtual_pageviews_is_info():
    result = inspect(generate("segment-changed-spa"))
    first, second = pixel_ids(result, "pageview")

    diagnosis = only(result, "page.segment-changed")

    assert diagnosis.severity is Severity.INFO
    assert diagnosis.evidence == [first, second]
    assert '"basic" on' in diagnosis.explanation
    assert '"premium" on' in diagnosis.explanation


def one_page_load(*datas: str) -> list[CapturedRequest]:
    """Virtual pageviews of one page load (one plid), one per `data`, a minute
    apart, as a single-page app sends them."""
    requests = []
    for number, data in enumerate(datas):
        query = {
            "rand": str(1_700_000_000_000 + number * 60_000),
            "idsite": "example.com",
            "action": "pageview",
            "plid": "load-1",
            "pvid": f"view-{number}",
            "u": "pid=v1",
            "url": f"https://www.example.com/article-{number}/",
            "data": data,
        }
        requests.append(
            CapturedRequest(
                "GET",
                f"https://p1.parsely.com/plogger/?{urlencode(query)}",
                timestamp=1_700_000_000 + number * 60,
                request_id=f"r{number}",
            )
        )
    return requests


def test_a_segment_changing_twice_is_told_as_one_run():
    result = inspect(
        one_page_load('{"plan":"basic"}', '{"plan":"premium"}', '{"plan":"gold"}')
    )

    diagnosis = only(result, "page.segment-changed")

    assert diagnosis.evidence == ["r0", "r1", "r2"]
    assert diagnosis.explanation.startswith(
        'Within one page load, `plan` changed between pageviews: "basic" on r0 → '
        '"premium" on r1 → "gold" on r2. '
    )


def test_placeholders_giving_way_to_each_other_are_no_change():
    result = inspect(
        one_page_load('{"plan":"undefined"}', '{"plan":"null"}', '{"plan":""}')
    )

    assert "page.segment-changed" not in {d.code for d in result.diagnoses}


def test_a_placeholder_giving_way_to_a_value_is_a_change():
    result = inspect(one_page_load('{"plan":null}', '{"plan":"basic"}'))

    diagnosis = only(result, "page.segment-changed")

    assert 'null on r0 → "basic" on r1.' in diagnosis.explanation


# Tracker script ---------------------------------------------------------------------


def test_tracker_without_pageview_after_the_timeout():
    requests = generate("tracker-no-pageview")
    script = next(r for r in requests if r.url.endswith("/p.js"))

    result = inspect(requests)

    diagnosis = only(result, "page.tracker-no-pageview")
    assert diagnosis.severity is Severity.WARNING
    assert diagnosis.evidence == [script.request_id]
    assert "autotrack" in diagnosis.explanation
    assert "no pageview followed" in diagnosis.explanation
    # The tracker's Referer held only the origin: matched by timing.
    assert diagnosis.uncertain is True
    [page] = result.pages
    assert page.verdict == "warning" and page.events == []


def test_tracker_without_pageview_before_the_timeout_is_only_info():
    requests = generate("tracker-no-pageview")
    cut = next(i for i, r in enumerate(requests) if r.url.endswith("/p.js"))

    result = inspect(requests[: cut + 2])

    diagnosis = only(result, "page.tracker-no-pageview")
    assert diagnosis.severity is Severity.INFO
    assert "no pageview seen yet" in diagnosis.title


def test_a_live_clock_lets_the_timeout_pass_without_more_traffic():
    requests = generate("tracker-no-pageview")
    cut = next(i for i, r in enumerate(requests) if r.url.endswith("/p.js"))
    later = requests[cut].timestamp + 6

    result = inspect(requests[: cut + 1], clock=lambda: later)

    assert only(result, "page.tracker-no-pageview").severity is Severity.WARNING


def test_pageview_with_the_tracker_served_from_cache_is_info():
    result = inspect(generate("pageview-without-tracker"))

    diagnosis = only(result, "page.pageview-without-tracker")

    assert diagnosis.severity is Severity.INFO
    assert "cache" in diagnosis.explanation
    assert diagnosis.evidence[0] == pixel_ids(result, "pageview")[0]


# Visitors ---------------------------------------------------------------------------


def test_case_variants_across_a_visitors_pages():
    result = inspect(generate("case-variants"))
    first, second = pixel_ids(result, "pageview")

    diagnosis = only(result, "visitor.case-variants")

    assert diagnosis.severity is Severity.WARNING
    assert diagnosis.evidence == [first, second]
    assert '"Premium"' in diagnosis.title and '"premium"' in diagnosis.title
    assert diagnosis.visitor == result.events[0].visitor
    assert diagnosis.page_key is None
    assert len(result.pages) == 2


def test_case_variants_count_each_spelling_up_to_five_however_often_it_repeats():
    def pixel(number, action, page, data):
        query = {
            "action": action,
            "plid": page,
            "pvid": f"{page}-view",
            "u": "pid=v1",
            "url": "https://www.example.com/",
            "tt": str(number),
            "data": data,
        }
        return CapturedRequest(
            "GET",
            f"https://p1.parsely.com/plogger/?{urlencode(query)}",
            timestamp=1_700_000_000 + number,
            request_id=f"r{number}",
        )

    upper = '{"plan": "Premium"}'
    lower = '{"plan": "premium"}'
    requests = [
        pixel(0, "pageview", "a", upper),
        *(pixel(number, "heartbeat", "a", upper) for number in range(1, 8)),
        pixel(8, "pageview", "b", lower),
        pixel(9, "heartbeat", "b", lower),
        pixel(10, "pageview", "c", '{"Plan": "Premium"}'),
    ]

    result = inspect(requests)

    found = [d for d in result.diagnoses if d.code == "visitor.case-variants"]
    [keys] = [d for d in found if d.keys == ("Plan", "plan")]
    assert keys.evidence == ["r10", "r0"]
    assert "`Plan` (1x), `plan` (5x)" in keys.explanation
    [values] = [d for d in found if d.keys == ("plan",)]
    assert values.evidence == ["r0", "r8"]
    assert '"Premium" (5x), "premium" (2x)' in values.explanation


def test_null_and_omitted_within_one_visitor():
    result = inspect(generate("null-convention-mixed"))
    as_null, left_out = pixel_ids(result, "pageview")

    diagnosis = only(result, "visitor.null-convention-mixed")

    assert diagnosis.evidence == [as_null, left_out]
    assert diagnosis.keys == ("plan",)
    assert "one convention" in diagnosis.explanation


def test_keys_missing_because_of_ordering_are_not_a_null_convention():
    session = Session(seed=31, name="excused")
    reader = session.visitor()
    page = session.open(reader, ARTICLE)
    page.configure(autotrack=False, on_ready=segment_hook({"plan": None}))
    page.load_tracker()
    page.engage(15)
    late = session.open(reader, SECOND_ARTICLE, referrer=ARTICLE)
    late.load_tracker()
    late.parsely.update_defaults({"data": {"plan": None}})
    late.engage(15)

    result = inspect(session.requests())

    codes = {d.code for d in page_diagnoses(result)}
    assert codes == {"page.segment-after-pageview"}


# Shared case files ------------------------------------------------------------------


ORDERING = {"page.segment-after-pageview"}
DUPLICATE = {"page.duplicate-pageview"}
NO_PAGEVIEW_YET = {"page.heartbeat-without-pageview"}


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("01-heartbeat-string-typed-bool.txt", set()),
        ("10-amp-pageview-heartbeat-no-data.txt", set()),
        ("15-android-heartbeat-before-pageview.txt", NO_PAGEVIEW_YET),
        ("16-gtm-custom-html-sub-status.txt", set()),
        ("18-spa-infinite-scroll-virtual-pageview.txt", set()),
        ("19-boolean-false-segment-spa.txt", set()),
        ("22-synthetic-updatedefaults-after-pageview.txt", ORDERING),
        ("29-synthetic-duplicate-pageview.txt", DUPLICATE),
    ],
)
def test_request_list_cases(case, expected):
    requests, errors = load_requests([FIXTURES / case])
    assert not errors

    result = inspect(requests)

    assert {d.code for d in page_diagnoses(result)} == expected


# Grouping and timelines -------------------------------------------------------------


def test_timeline_orders_the_page_requests_with_offsets():
    result = inspect(generate("gtm-sequenced"))
    [page] = result.pages

    kinds = [entry.kind for entry in page.timeline]
    offsets = [entry.offset_ms for entry in page.timeline]

    assert kinds[0] is EntryKind.DOCUMENT and offsets[0] == 0
    assert offsets == sorted(offsets)
    assert kinds.index(EntryKind.GTM) < kinds.index(EntryKind.TRACKER_SCRIPT)
    assert kinds.index(EntryKind.TRACKER_SCRIPT) < kinds.index(EntryKind.PIXEL)
    pixels = [entry for entry in page.timeline if entry.kind is EntryKind.PIXEL]
    assert [entry.event.id for entry in pixels] == pixel_ids(result)
    assert page.url == ARTICLE and page.site == "example.com"
    assert page.duration_ms == offsets[-1]


def test_cross_origin_tags_are_uncertain_unless_the_referer_is_the_full_url():
    default = inspect(generate("correct-order")).pages[0]
    full = inspect(generate("correct-order-full-referrer")).pages[0]

    def tracker_entry(page):
        return next(e for e in page.timeline if e.kind is EntryKind.TRACKER_SCRIPT)

    own_script = next(e for e in default.timeline if e.kind is EntryKind.OTHER_TAG)
    assert tracker_entry(default).uncertain is True
    assert tracker_entry(full).uncertain is False
    assert own_script.uncertain is False


def test_documents_are_found_without_fetch_metadata():
    result = inspect(generate("gtm-unsequenced", fetch_metadata=False))
    [page] = result.pages

    assert page.timeline[0].kind is EntryKind.DOCUMENT
    assert {d.code for d in page_diagnoses(result)} == {"page.segment-after-pageview"}


def test_a_reload_is_a_new_page_load():
    session = Session(seed=41, name="reload")
    reader = session.visitor()
    for _ in range(2):
        page = session.open(reader, ARTICLE)
        page.configure(autotrack=False, on_ready=segment_hook({"plan": "basic"}))
        page.load_tracker()
        page.engage(5)

    result = inspect(session.requests())

    assert len(result.pages) == 2
    assert all(
        [e.kind for e in page.timeline][0] is EntryKind.DOCUMENT
        for page in result.pages
    )
    assert page_diagnoses(result) == []


def test_pages_of_different_visitors_sharing_a_pageload_id_stay_apart():
    requests = generate("correct-order")
    other = generate("correct-order", seed=0, start=1_700_000_100.0)
    other = [
        replace(r, url=r.url.replace("u=pid%3D", "u=pid%3Dz"), request_id="b" + str(i))
        for i, r in enumerate(other)
    ]

    result = inspect([*requests, *other])

    keys = sorted(page.key for page in result.pages)
    assert len(keys) == 2 and keys[1] == keys[0] + "#2"


def test_legacy_events_group_by_visitor_address_and_time():
    requests, _ = load_requests([FIXTURES / "10-amp-pageview-heartbeat-no-data.txt"])

    result = inspect(requests)

    [page] = result.pages
    assert page.key.startswith("page:")
    assert page.visitor.startswith("amp-")
    assert len(page.events) == 2


# Scenario coverage ------------------------------------------------------------------


def test_scenario_coverage_and_not_covered_diagnoses():
    spec = parse_spec(SCENARIO_SPEC)

    result = inspect(generate("readers-by-plan"), spec)

    anonymous, basic, premium = pixel_ids(result, "pageview")
    coverage = result.scenario_coverage
    assert coverage["anonymous"] == [anonymous]
    assert coverage["basic"] == [basic]
    assert coverage["premium"] == [premium]
    assert coverage["premium from search"] == [premium]
    assert coverage["premium from social"] == []
    assert coverage["data not available"] == []
    missing = {d.title: d for d in result.diagnoses if d.code == "scenario.not-covered"}
    assert set(missing) == {
        "Scenario not seen: data not available",
        "Scenario not seen: premium from social",
    }
    text = missing["Scenario not seen: data not available"].explanation
    assert "plan = null" in text and "profile service" in text
    assert all(d.severity is Severity.INFO for d in missing.values())
    assert result.pages[2].scenarios == ("premium", "premium from search")


def test_scenarios_match_only_pageviews_with_readable_data():
    spec = parse_spec(SCENARIO_SPEC)
    [anonymous] = [s for s in spec.scenarios if s.name == "anonymous"]
    result = inspect(generate("amp"))

    assert not any(scenario_matches(anonymous, report) for report in result.reports)


# Memory bounds ----------------------------------------------------------------------


def test_old_page_loads_are_retired_with_their_diagnoses_kept():
    requests = generate("gtm-unsequenced")
    for index in range(4):
        requests += generate(
            "correct-order", seed=index + 1, start=1_700_000_500.0 + index * 100
        )

    result = inspect(requests, max_pages=2)

    assert len(result.pages) == 2
    assert {d.code for d in result.diagnoses} == {"page.segment-after-pageview"}


def test_timelines_are_capped_but_keep_tags_and_pixels():
    session = Session(seed=51, name="busy")
    page = session.open(session.visitor(), ARTICLE)
    for number in range(10):
        page.load_asset(f"/images/{number}.jpg")
    page.configure(autotrack=False, on_ready=segment_hook({"plan": "basic"}))
    page.load_tracker()
    page.engage(15)

    result = inspect(session.requests(), max_timeline_entries=5)

    [loaded] = result.pages
    kinds = [entry.kind for entry in loaded.timeline]
    assert loaded.dropped_entries > 0
    assert EntryKind.TRACKER_SCRIPT in kinds and kinds.count(EntryKind.PIXEL) == 2


# Text ---------------------------------------------------------------------------------


def test_describe_diagnosis_gives_code_place_evidence_and_advice():
    result = inspect(generate("gtm-unsequenced"))
    diagnosis = only(result, "page.segment-after-pageview")

    text = describe_diagnosis(diagnosis)
    lines = text.splitlines()

    assert lines[0] == f"ERROR page.segment-after-pageview: {diagnosis.title}"
    assert f"page load {diagnosis.page_key}" in lines[1]
    assert lines[2] == "  evidence: " + ", ".join(diagnosis.evidence)
    assert "setup tag" in text
    assert all(len(line) <= 88 for line in lines[3:])


def test_concurrent_tabs_keep_route_changes_on_their_own_page():
    session = Session(seed=61, name="tabs")
    spa_reader, other_reader = session.visitor(), session.visitor()
    spa = session.open(spa_reader, ARTICLE)
    spa.configure(autotrack=False, on_ready=segment_hook({"plan": "basic"}))
    spa.load_tracker()
    other = session.open(other_reader, "https://www.example.com/about/")
    spa.push_state(SECOND_ARTICLE)
    route_call = spa.fetch("/api/article/second-article")
    other.configure(autotrack=False, on_ready=segment_hook({"plan": "premium"}))
    other.load_tracker()
    spa.engage(15)

    result = inspect(session.requests())

    diagnosis = only(result, "page.spa-url-without-pageview")
    spa_page = next(page for page in result.pages if page.url == ARTICLE)
    assert diagnosis.page_key == spa_page.key
    assert diagnosis.evidence == [route_call.request_id]
    assert diagnosis.uncertain is True


def test_route_hints_need_the_visitor_cookie():
    requests = generate("spa-without-pageview")
    api_call = next(r for r in requests if "/api/article/" in r.url)
    without_cookies = [
        replace(r, headers=tuple(h for h in r.headers if h[0] != "Cookie"))
        for r in requests
    ]

    result = inspect(without_cookies)

    diagnosis = only(result, "page.spa-url-without-pageview")
    assert api_call.request_id not in diagnosis.evidence


def test_cookie_visitor_reads_the_tracker_cookie():
    session = Session(seed=62)
    reader = session.visitor()
    page = session.open(reader, ARTICLE)
    page.load_tracker()
    call = page.fetch("/api/profile")

    assert cookie_visitor(call) == reader.uid.removeprefix("pid=")
    assert cookie_visitor(page.document) is None


def test_counts_survive_retirement():
    inspection = Inspection()
    inspection.pages = PageTracker(inspection.spec, max_pages=2)
    requests = generate("gtm-unsequenced")
    for index in range(3):
        start = 1_700_000_500.0 + index * 100
        requests += generate("correct-order", seed=index + 1, start=start)

    inspection.process_all(requests)

    tracker = inspection.pages
    assert tracker.pages_seen == 4
    assert tracker.pages_retired == 2
    assert tracker.retired_diagnosis_counts == {"page.segment-after-pageview": 1}


@settings(max_examples=200, deadline=None)
@given(
    urls=st.lists(
        st.tuples(
            st.sampled_from(["", "http://[::1", "https://www.example.com/a", "x"])
            | st.text(max_size=40),
            st.sampled_from(["", "http://[bad", "https://www.example.com/"])
            | st.text(max_size=40),
            st.sampled_from(["", "_parsely_visitor=%7Bbad", "_parsely_visitor=1"])
            | st.text(max_size=40),
            st.sampled_from(["text/html", "*/*", ""]),
        ),
        max_size=8,
    )
)
def test_odd_requests_never_break_the_tracker(urls):
    tracker = PageTracker()
    for number, (url, referer, cookie, accept) in enumerate(urls):
        headers = (("Referer", referer), ("Cookie", cookie), ("Accept", accept))
        captured = CapturedRequest("GET", url, headers, timestamp=number)
        tracker.observe_request(captured)

    tracker.page_loads()
    tracker.diagnoses()


def test_odd_pixels_never_break_the_tracker():
    odd = [
        "https://p1.parsely.com/plogger/?action=pageview&url=http%3A%2F%2F%5B%3A%3A1",
        "https://p1.parsely.com/plogger/?action=heartbeat&plid=1&url=&tt=x&pvid=2",
        "https://p1.parsely.com/plogger/?action=pageview&plid=1&url=%20",
        "https://p1.parsely.com/plogger/?plid=1&data=%7B",
    ]
    requests = [
        CapturedRequest("GET", url, timestamp=1_700_000_000 + number)
        for number, url in enumerate(odd)
    ]

    result = inspect(requests)

    assert len(result.events) == 4


@pytest.mark.parametrize("when", [float("inf"), float("-inf"), float("nan")])
def test_a_page_load_with_an_unreadable_time_is_kept_with_no_offsets(when):
    url = "https://p1.parsely.com/plogger/?" + urlencode(
        {
            "rand": "1",
            "idsite": "example.com",
            "action": "pageview",
            "url": "https://example.com/",
            "pvid": "p1",
            "data": "{}",
        }
    )
    pageview = CapturedRequest("GET", url, timestamp=when, request_id="r1")

    result = inspect([pageview])

    [page] = result.pages
    assert [entry.offset_ms for entry in page.timeline] == [0]
    assert page.duration_ms == 0
