"""The traffic harness: browser-side encoding, tracker behaviour, scenarios, writing."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import pytest

from inspector.decode import PixelMatcher, decode_request
from inspector.model import Transport
from inspector.recordings import read_requests
from inspector.traffic import (
    ARTICLE,
    SCENARIOS,
    SECOND_ARTICLE,
    UNDEFINED,
    Session,
    deep_merge,
    generate,
    jquery_param,
    js_date,
    json_stringify,
    main,
    referer_for,
    segment_hook,
)

MATCHER = PixelMatcher()


def pixels(requests):
    """The decoded pixel events among requests, in order."""
    return [
        event
        for request in requests
        if MATCHER.matches(request)
        for event in decode_request(request, MATCHER)
    ]


def raw_pairs(request):
    return parse_qsl(urlsplit(request.url).query, keep_blank_values=True)


# Browser-side encoding ------------------------------------------------------------


def test_jquery_param_writes_spaces_as_plus_and_keeps_js_safe_characters():
    query = jquery_param(
        {"title": "A (b) + c!", "empty": None, "flag": True, "n": 5, "gone": UNDEFINED}
    )

    assert query == "title=A+(b)+%2B+c!&empty=&flag=true&n=5"


def test_json_stringify_is_compact_and_drops_undefined():
    text = json_stringify({"plan": "basic", "gone": UNDEFINED, "none": None})

    assert text == '{"plan":"basic","none":null}'


def test_deep_merge_follows_jquery_extend():
    defaults = {"data": {"plan": "basic", "topics": ["a", "b"], "keep": 1}}

    deep_merge(
        defaults, {"data": {"plan": None, "topics": ["c"], "keep": UNDEFINED, "n": 2}}
    )

    assert defaults == {"data": {"plan": None, "topics": ["c", "b"], "keep": 1, "n": 2}}


def test_js_date_looks_like_date_to_string():
    assert js_date(1_700_000_000_000) == (
        "Tue Nov 14 2023 22:13:20 GMT+0000 (Coordinated Universal Time)"
    )


@pytest.mark.parametrize(
    ("policy", "target", "expected"),
    [
        ("strict-origin-when-cross-origin", "https://www.example.com/x.js", ARTICLE),
        (
            "strict-origin-when-cross-origin",
            "https://cdn.parsely.com/keys/example.com/p.js",
            "https://www.example.com/",
        ),
        ("strict-origin-when-cross-origin", "http://insecure.example.net/a.js", ""),
        ("unsafe-url", "https://cdn.parsely.com/p.js", ARTICLE),
        ("no-referrer-when-downgrade", "https://cdn.parsely.com/p.js", ARTICLE),
        ("origin", "https://www.example.com/x.js", "https://www.example.com/"),
        ("no-referrer", "https://www.example.com/x.js", ""),
    ],
)
def test_referer_follows_the_page_policy(policy, target, expected):
    assert referer_for(ARTICLE + "#comments", target, policy) == expected


# Tracker behaviour ----------------------------------------------------------------


def test_pageview_parameters_come_in_the_tracker_order_with_u_last():
    session = Session(seed=3)
    page = session.open(session.visitor(), ARTICLE, referrer="https://www.google.com/")
    page.configure(autotrack=False, on_ready=segment_hook({"plan": "basic"}))
    page.load_tracker()

    [pageview] = page.parsely.sent
    keys = [key for key, _ in raw_pairs(pageview)]

    assert keys == [
        "rand", "plid", "idsite", "url", "urlref", "screen", "data", "sid", "surl",
        "sref", "sts", "slts", "title", "date", "action", "pvid", "u",
    ]  # fmt: skip
    query = urlsplit(pageview.url).query
    assert "title=First+article+%7C+Example+News" in query
    assert "data=%7B%22plan%22%3A%22basic%22%7D" in query
    assert "urlref=https%3A%2F%2Fwww.google.com%2F" in query


def test_decoded_events_carry_ids_data_and_engaged_time():
    session = Session(seed=4)
    page = session.open(session.visitor(), ARTICLE)
    page.configure(autotrack=False, on_ready=segment_hook({"plan": "basic"}))
    page.load_tracker()
    page.engage(15)
    page.engage(20)

    pageview, first, second = pixels(session.requests())

    assert [e.action for e in (pageview, first, second)] == [
        "pageview",
        "heartbeat",
        "heartbeat",
    ]
    assert pageview.pvid and first.pvid == second.pvid == pageview.pvid
    assert pageview.plid == first.plid
    assert first.visitor == pageview.visitor and pageview.visitor.startswith("pid=")
    assert dict(first.segments) == {"plan": "basic"}
    assert (first.params["inc"], first.params["tt"]) == ("15", "15000")
    assert (second.params["inc"], second.params["tt"]) == ("20", "35000")
    assert first.url == ARTICLE and "title" not in first.params
    assert pageview.params["sid"] == "1" and pageview.params["slts"] == "0"


def test_configuration_after_the_tracker_is_ignored_and_autotrack_fires_first():
    session = Session(seed=5)
    page = session.open(session.visitor(), ARTICLE)
    page.load_tracker()

    accepted = page.configure(autotrack=False, on_ready=segment_hook({"plan": "x"}))

    assert accepted is False
    [pageview] = pixels(session.requests())
    assert pageview.action == "pageview" and dict(pageview.segments) == {}


def test_hooks_run_after_autotrack_in_order():
    session = Session(seed=6)
    page = session.open(session.visitor(), ARTICLE)
    calls = []
    page.configure(
        on_ready=lambda parsely: calls.append(("onReady", len(parsely.sent))),
        onload=lambda parsely: calls.append(("onload", len(parsely.sent))),
    )

    page.load_tracker()

    assert calls == [("onReady", 1), ("onload", 1)]


def test_per_call_data_is_not_kept_but_update_defaults_is():
    session = Session(seed=7)
    page = session.open(session.visitor(), ARTICLE)
    page.configure(
        autotrack=False,
        on_ready=lambda p: (
            p.update_defaults({"data": {"logged_in": True}}),
            p.track_page_view({"data": {"plan": "premium"}}),
        ),
    )
    page.load_tracker()
    page.engage(15)

    pageview, heartbeat = pixels(session.requests())

    assert dict(pageview.segments) == {"logged_in": True, "plan": "premium"}
    assert dict(heartbeat.segments) == {"logged_in": True}


def test_a_new_pageview_mints_a_pvid_and_restarts_engaged_time():
    session = Session(seed=8)
    page = session.open(session.visitor(), ARTICLE)
    page.configure(autotrack=False, on_ready=segment_hook({}))
    page.load_tracker()
    page.engage(30)
    page.push_state(SECOND_ARTICLE)
    page.parsely.track_page_view({"url": SECOND_ARTICLE, "urlref": ARTICLE, "js": 1})
    page.parsely.convert("newsletter_signup", "footer")
    page.engage(10)

    first, beat, second, conversion, beat2 = pixels(session.requests())

    assert second.pvid != first.pvid and conversion.pvid == second.pvid
    assert (second.url, second.urlref, second.params["js"]) == (
        SECOND_ARTICLE,
        ARTICLE,
        "1",
    )
    assert conversion.data["_conversion_type"] == "newsletter_signup"
    assert beat2.pvid == second.pvid and beat2.params["tt"] == "10000"
    assert beat.pvid == first.pvid


def test_heartbeat_before_any_pageview_has_no_pvid():
    session = Session(seed=9)
    page = session.open(session.visitor(), ARTICLE)
    page.configure(autotrack=False)
    page.load_tracker()
    page.engage(150)

    [heartbeat] = pixels(session.requests())

    assert heartbeat.action == "heartbeat" and heartbeat.pvid is None
    assert heartbeat.plid and heartbeat.url == ARTICLE


def test_spa_build_sends_a_pageview_on_each_history_change():
    session = Session(seed=10)
    page = session.open(session.visitor(), ARTICLE)
    page.configure(autotrack=False, on_ready=segment_hook({"plan": "basic"}))
    page.load_tracker(spa_module=True)
    page.push_state(SECOND_ARTICLE)

    first, second = pixels(session.requests())

    assert (second.action, second.url, second.urlref) == (
        "pageview",
        SECOND_ARTICLE,
        ARTICLE,
    )


# Page requests --------------------------------------------------------------------


def test_page_requests_carry_browser_headers_and_referers():
    session = Session(seed=11)
    page = session.open(session.visitor(), ARTICLE, referrer="https://www.google.com/")
    page.load_gtm("GTM-ABC1234")
    page.load_tracker()

    by_url = {request.url: request for request in session.requests()}
    document = by_url[ARTICLE]
    gtm = by_url["https://www.googletagmanager.com/gtm.js?id=GTM-ABC1234"]
    tracker = by_url["https://cdn.parsely.com/keys/example.com/p.js"]
    own_script = by_url["https://www.example.com/static/site.js"]

    assert document.header("Sec-Fetch-Dest") == "document"
    assert "text/html" in document.header("Accept")
    assert document.header("Referer") == "https://www.google.com/"
    assert document.content_type.startswith("text/html")
    assert gtm.header("Referer") == "https://www.example.com/"
    assert tracker.header("Referer") == "https://www.example.com/"
    assert tracker.header("Sec-Fetch-Dest") == "script"
    assert own_script.header("Referer") == ARTICLE
    assert document.timestamp < gtm.timestamp < tracker.timestamp


def test_without_fetch_metadata_only_accept_tells_documents_apart():
    requests = generate("correct-order", fetch_metadata=False)

    assert all(request.header("Sec-Fetch-Dest") is None for request in requests)
    assert "text/html" in requests[0].header("Accept")


def test_amp_and_android_senders_decode_as_their_transports():
    amp = pixels(generate("amp"))
    android = pixels(generate("android-heartbeat-before-pageview"))

    assert [e.transport for e in amp] == [Transport.AMP] * 3
    assert amp[0].data is None and amp[0].visitor.startswith("amp-")
    assert [e.transport for e in android] == [Transport.MOBILE]
    assert android[0].params["pvid"] == ""
    body = json.loads(generate("android-heartbeat-before-pageview")[0].body)
    assert body["events"][0]["pvid"] is None


# Scenarios ------------------------------------------------------------------------


def test_scenarios_are_deterministic_per_seed():
    first = generate("gtm-unsequenced", seed=1)
    again = generate("gtm-unsequenced", seed=1)
    other = generate("gtm-unsequenced", seed=2)

    assert [(r.url, r.timestamp) for r in first] == [
        (r.url, r.timestamp) for r in again
    ]
    assert [r.url for r in first] != [r.url for r in other]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_decodes_cleanly(name):
    requests = generate(name)
    events = pixels(requests)

    assert events or name == "tracker-no-pageview", "scenarios send pixels"
    assert [r.timestamp for r in requests] == sorted(r.timestamp for r in requests)
    assert len({r.request_id for r in requests}) == len(requests)
    for event in events:
        codes = {finding.code for finding in event.findings}
        assert not codes & {"decode.failed", "data.not-json", "params.missing"}, (
            event.id,
            codes,
        )


def test_unknown_scenario_names_the_known_ones():
    with pytest.raises(KeyError, match="gtm-unsequenced"):
        generate("no-such-scenario")


def test_main_writes_a_har_that_reads_back(tmp_path):
    out = tmp_path / "late.har"

    assert main(["gtm-unsequenced", str(out)]) == 0

    read = list(read_requests(out))
    assert [r.url for r in read] == [r.url for r in generate("gtm-unsequenced")]
    assert read[0].header("Sec-Fetch-Dest") == "document"


def test_main_writes_a_flow_file(tmp_path):
    out = tmp_path / "dup.mitm"

    assert main(["autotrack-and-onready", str(out)]) == 0

    assert len(list(read_requests(out))) == len(generate("autotrack-and-onready"))
