"""Tests for the pixel decoder: matching, decoding and wire-format findings."""

from __future__ import annotations

import dataclasses
import gzip
import json
from urllib.parse import quote

import pytest

from inspector import decode
from inspector.decode import (
    CONVERSION_TYPES,
    KNOWN_PARAMS,
    TRACKER_DATA_KEYS,
    PixelMatcher,
    decode_request,
)
from inspector.model import CapturedRequest, DataState, PixelEvent, Severity, Transport

PIXEL = "https://p1.parsely.com/plogger/"
VISITOR = "pid=3f2e1d0c-b9a8-4776-a5b4-c3d2e1f0a9b8"


def jquery_param(pairs: list[tuple[str, str]]) -> str:
    """Encode like the tracker's serialiser: encodeURIComponent, then `%20` -> `+`."""
    return "&".join(
        quote(key, safe="-_.!~*'()") + "=" + quote(value, safe="-_.!~*'()")
        for key, value in pairs
    ).replace("%20", "+")


def pageview_pairs(**overrides: str | None) -> list[tuple[str, str]]:
    """A modern pageview's parameters in the tracker's order; None drops one."""
    pairs = {
        "rand": "1710000000111",
        "plid": "9c8b7a69-5847-4362-a1b0-c9d8e7f6a5b4",
        "idsite": "news.example.org",
        "url": "https://news.example.org/world/harbour-opens/",
        "urlref": "https://search.example.net/",
        "screen": "1280x800|1280x760|24",
        "data": '{"tier":"gold","logged_in":true}',
        "sid": "4",
        "surl": "https://news.example.org/world/harbour-opens/",
        "sref": "https://search.example.net/",
        "sts": "1709999990000",
        "slts": "1709000000000",
        "title": "Harbour opens | News Example",
        "date": "Sat Mar 09 2024 16:00:00 GMT+0000 (Coordinated Universal Time)",
        "action": "pageview",
        "pvid": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "u": VISITOR,
    }
    for key, value in overrides.items():
        if value is None:
            pairs.pop(key, None)
        else:
            pairs[key] = value
    return list(pairs.items())


def get(query: str, host_path: str = PIXEL, request_id: str = "req-1"):
    return CapturedRequest(
        method="GET", url=f"{host_path}?{query}", request_id=request_id
    )


def decode_one(request: CapturedRequest) -> PixelEvent:
    events = decode_request(request, PixelMatcher())
    assert len(events) == 1
    return events[0]


def pageview(**overrides: str | None) -> PixelEvent:
    return decode_one(get(jquery_param(pageview_pairs(**overrides))))


def codes(event: PixelEvent) -> dict[str, Severity]:
    return {finding.code: finding.severity for finding in event.findings}


def only(event: PixelEvent, code: str):
    found = [finding for finding in event.findings if finding.code == code]
    assert len(found) == 1, event.findings
    return found[0]


# --- PixelMatcher --------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://p1.parsely.com/plogger/?rand=1",
        "https://p1-irl.parsely.com/px/?rand=1",
        "http://srv.pixel.parsely.com/plogger/?rand=1",
        "https://srv-2019-04-23-06.pixel.parsely.com/plogger/?rand=1",
        "http://pixel.parsely.com/plogger/?rand=1",
        "https://p1.parsely.com/event/?rand=1",
        "https://p1.parsely.com/eventx/?rand=1",
        "https://p1.parsely.com/plogger?rand=1",
        "https://p1.parsely.com/mobileproxy",
        "https://p1.parsely.com/mobileproxy/",
        "https://P1.Parsely.COM:443/plogger/?rand=1",
        "https://p1.parsely.com./plogger/?rand=1",
        "https://fpa-events.example.com/plogger/?rand=1",
        "https://stats.example.net/px/?rand=1",
        "https://fpa-events.example.org/plogger/?rand=1",
    ],
)
def test_matcher_accepts_collect_endpoints(url):
    matcher = PixelMatcher(["fpa-events.example.com", "*.example.net", "fpa-events.*"])

    assert matcher.matches(CapturedRequest(method="GET", url=url))


@pytest.mark.parametrize(
    "url",
    [
        "https://www.example.com/plogger/?rand=1",
        "https://cdn.parsely.com/keys/example.com/p.js",
        "https://p1.parsely.com/keys/plogger.js",
        "https://p1.parsely.com.attacker.example/plogger/?rand=1",
        "https://evil-parsely.com/plogger/?rand=1",
        "https://example.net/px/?rand=1",
        "https://notfpa-events.example.org/plogger/?rand=1",
        "https://p1.parsely.com/start/?callback=parselyStartCallback",
        "not a url at all",
    ],
)
def test_matcher_rejects_other_requests(url):
    matcher = PixelMatcher(["*.example.net", "fpa-events.*"])

    assert not matcher.matches(CapturedRequest(method="GET", url=url))


def test_first_party_hosts_are_normalised():
    matcher = PixelMatcher(["https://Collect.Example.com:8443/ignored"])

    request = CapturedRequest(method="GET", url="https://collect.example.com/px/?a=1")
    assert matcher.matches(request)


def test_blocking_probe_matches_but_is_not_an_event():
    probe = CapturedRequest(method="GET", url="https://p1.parsely.com/plogger/")
    matcher = PixelMatcher()

    assert matcher.matches(probe)
    assert decode_request(probe, matcher) == []


def test_non_pixel_request_decodes_to_nothing():
    request = CapturedRequest(method="GET", url="https://www.example.com/?data=%7B%7D")

    assert decode_request(request, PixelMatcher()) == []


def test_cors_preflight_is_not_an_event():
    request = CapturedRequest(
        method="OPTIONS", url="https://p1.parsely.com/mobileproxy"
    )

    assert decode_request(request) == []


# --- Parameters ----------------------------------------------------------------------


def test_modern_pageview_decodes_cleanly():
    event = pageview()

    assert event.id == "req-1"
    assert event.transport is Transport.WEB
    assert event.action == "pageview"
    assert event.batch_index is None
    assert event.idsite == "news.example.org"
    assert event.params["screen"] == "1280x800|1280x760|24"
    assert event.visitor == VISITOR
    assert event.data_state is DataState.OK
    assert event.data == {"tier": "gold", "logged_in": True}
    assert event.data_raw == '{"tier":"gold","logged_in":true}'
    assert event.segments == {"tier": "gold", "logged_in": True}
    assert event.findings == ()


def test_title_with_typographic_apostrophe_decodes_to_unicode():
    event = decode_one(
        get("rand=1&idsite=a.example&action=pageview&title=What+we%E2%80%99re+reading")
    )

    assert event.params["title"] == "What we\u2019re reading"


def test_plus_is_space_and_escaped_plus_is_plus():
    event = decode_one(get("rand=1&date=Tue+Nov+14+2023+GMT%2B0100&action=pageview"))

    assert event.params["date"] == "Tue Nov 14 2023 GMT+0100"


def test_date_with_cjk_timezone_name_decodes():
    date = "Sun Jun 01 2025 08:00:00 GMT+0800 (中国标准时间)"

    event = pageview(date=date)

    assert event.params["date"] == date


def test_visitor_in_pid_form_is_decoded_once():
    event = decode_one(get("rand=1&action=pageview&u=pid%3Dabc%253D"))

    assert event.params["u"] == "pid=abc%3D"


def test_page_url_is_decoded_only_once():
    page = "https://shop.example.org/a/?utm_source=mail&utm_medium=news"

    event = pageview(url=page)

    assert event.url == page


def test_last_value_of_a_repeated_parameter_wins():
    event = decode_one(
        get("rand=1&action=pageview&idsite=first.example&idsite=b.example")
    )

    assert event.idsite == "b.example"


def test_invalid_utf8_is_replaced_and_reported():
    event = decode_one(get("rand=1&action=pageview&title=caf%E9"))

    assert event.params["title"] == "caf\ufffd"
    finding = only(event, "params.invalid-utf8")
    assert finding.severity is Severity.WARNING
    assert finding.path == "title"


# --- The data parameter --------------------------------------------------------------


def test_tracker_keys_are_not_segments():
    data = {
        "tier": "basic",
        "_conversion_type": "newsletter_signup",
        "_conversion_label": "weekly",
        "flashlight": 1,
        "parsely:metadata-detection": {"version": 0},
    }

    event = pageview(data=json.dumps(data), action="conversion")

    assert event.data == data
    assert event.segments == {"tier": "basic"}
    assert "action.custom" not in codes(event)


@pytest.mark.parametrize("kind", sorted(CONVERSION_TYPES))
def test_a_conversion_of_a_documented_type_is_clean(kind):
    data = {"_conversion_type": kind, "_conversion_label": "weekly"}

    event = pageview(data=json.dumps(data), action="conversion")

    assert event.findings == ()


TYPES_SENT = (
    "they are: custom, lead_capture, link_click, newsletter_signup, purchase, "
    "subscription."
)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        (
            '"bogus_type"',
            "_conversion_type 'bogus_type' is not a conversion type the tracker "
            f"sends; {TYPES_SENT}",
        ),
        (
            '"Newsletter_Signup"',
            "_conversion_type 'Newsletter_Signup' is not a conversion type the "
            f"tracker sends (the tracker sends 'newsletter_signup'); {TYPES_SENT}",
        ),
        (
            "7",
            f"_conversion_type 7 is not a conversion type the tracker sends; "
            f"{TYPES_SENT}",
        ),
        (
            "null",
            "_conversion_type null is not a conversion type the tracker sends; "
            f"{TYPES_SENT}",
        ),
    ],
)
def test_a_conversion_of_an_undocumented_type_is_named(kind, message):
    event = pageview(
        data='{"_conversion_type":' + kind + ',"_conversion_label":"x"}',
        action="conversion",
    )

    finding = only(event, "conversion.unknown-type")
    assert finding.severity is Severity.WARNING
    assert finding.path == "data._conversion_type"
    assert finding.message == message


def test_a_conversion_without_a_type_is_named():
    event = pageview(data='{"_conversion_label":"x"}', action="conversion")

    finding = only(event, "conversion.type-missing")
    assert finding.severity is Severity.WARNING
    assert finding.message == (
        "This conversion has no data._conversion_type, so it has no type."
    )


def test_conversion_type_is_only_checked_on_conversions():
    event = pageview(data='{"_conversion_type":"bogus"}', action="pageview")

    assert "conversion.unknown-type" not in codes(event)


def test_a_conversion_with_unreadable_data_gets_no_type_finding():
    event = pageview(data="TODO", action="conversion")

    assert set(codes(event)) == {"data.not-json"}


def test_a_mobile_conversion_is_checked_like_a_web_one():
    entry = {
        "url": "https://a.example/",
        "idsite": "a.example",
        "action": "conversion",
        "data": {"_conversion_type": "signup"},
    }

    (event,) = decode_request(post(json.dumps({"events": [entry]}).encode()))

    assert only(event, "conversion.unknown-type").message.startswith(
        "_conversion_type 'signup' is not"
    )


def test_mobile_device_keys_stay_segments_on_web_events():
    event = pageview(data='{"os":"linux","ts":5}')

    assert event.segments == {"os": "linux", "ts": 5}


def test_empty_data_object_is_ok_with_no_segments():
    event = pageview(data="{}")

    assert event.data_state is DataState.OK
    assert event.data == {}
    assert event.segments == {}
    assert event.findings == ()


def test_data_placeholder_is_not_json_with_position():
    event = pageview(data="TODO")

    assert event.data_state is DataState.INVALID
    assert event.data is None
    assert event.data_raw == "TODO"
    assert event.segments == {}
    finding = only(event, "data.not-json")
    assert finding.severity is Severity.ERROR
    assert finding.path == "data"
    assert (
        finding.message == "data is not JSON: expecting value at character 0 ('TODO')"
    )


def test_data_breaking_midway_says_where():
    event = pageview(data='{"tier":basic}')

    message = only(event, "data.not-json").message
    assert message == "data is not JSON: expecting value at character 8 ('basic}')"


@pytest.mark.parametrize(
    ("raw", "named", "kept"),
    [
        ('{"tier":"basic","tier":"gold"}', "'tier'", {"tier": "gold"}),
        ('{"tier" : "a", "x": 1, "tier" : "b"}', "'tier'", {"tier": "b", "x": 1}),
        ('{"a":{"b":1,"b":2},"c":1,"c":2}', "'b', 'c'", {"a": {"b": 2}, "c": 2}),
    ],
)
def test_a_key_given_twice_in_data_keeps_the_last_and_says_so(raw, named, kept):
    event = pageview(data=raw)

    assert event.data == kept
    finding = only(event, "data.duplicate-key")
    assert finding.severity is Severity.WARNING
    assert finding.message == (
        f"data gives {named} more than once; only the last value counts"
    )


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ('{"tier":"basic","tier":"gold"}', "data.duplicate-key"),
        ('{"tier":', "data.not-json"),
        ('"{\\"tier\\":\\"gold\\"}"', "data.double-encoded"),
    ],
)
def test_data_read_again_gives_each_event_its_own_findings(raw, code):
    query = jquery_param(pageview_pairs(data=raw))
    first = decode_one(get(query, request_id="req-1"))
    second = decode_one(get(query, request_id="req-2"))

    assert only(first, code).event_id == "req-1"
    assert only(second, code).event_id == "req-2"
    assert second.data == first.data
    assert second.data_state is first.data_state


def test_text_that_only_looks_like_a_repeated_key_is_no_duplicate():
    event = pageview(data='{"note":"say \\"tier\\": twice","tier":"gold"}')

    assert event.data == {"note": 'say "tier": twice', "tier": "gold"}
    assert "data.duplicate-key" not in codes(event)


def test_double_encoded_data_is_recovered():
    event = pageview(data=json.dumps(json.dumps({"tier": "gold"})))

    assert event.data_state is DataState.DOUBLE_ENCODED
    assert event.data == {"tier": "gold"}
    assert event.segments == {"tier": "gold"}
    finding = only(event, "data.double-encoded")
    assert finding.severity is Severity.ERROR
    assert '{"tier":"gold"}' in finding.message


def test_data_percent_encoded_twice_is_recovered():
    event = pageview(data=quote('{"tier": "gold", "mail": "a+b@example.org"}'))

    assert event.data_state is DataState.DOUBLE_ENCODED
    assert event.data == {"tier": "gold", "mail": "a+b@example.org"}
    assert event.data_raw == "%7B%22tier%22%3A%20%22gold%22%2C%20%22mail%22%3A%20" + (
        "%22a%2Bb%40example.org%22%7D"
    )
    assert [(f.code, f.severity, f.path, f.message) for f in event.findings] == [
        (
            "data.double-percent-encoded",
            Severity.ERROR,
            "data",
            "data is percent-encoded twice: it is JSON only once decoded again "
            "(%7B... for {...}); recovered object: "
            '{"tier":"gold","mail":"a+b@example.org"}',
        )
    ]


@pytest.mark.parametrize("raw", [quote("[1, 2]"), quote('{"tier":'), "%zz", "%"])
def test_percent_encoded_data_that_is_no_object_stays_not_json(raw):
    event = pageview(data=raw)

    assert event.data_state is DataState.INVALID
    assert list(codes(event)) == ["data.not-json"]


def test_mobile_entry_with_percent_encoded_data_is_recovered():
    entry = {"url": "u", "idsite": "a.example", "action": "pageview"}
    entry["data"] = quote(json.dumps({"tier": "gold"}))

    (event,) = decode_request(post(json.dumps({"events": [entry]}).encode()))

    assert event.data_state is DataState.DOUBLE_ENCODED
    assert event.data == {"tier": "gold"}
    assert "data.double-percent-encoded" in codes(event)


@pytest.mark.parametrize(
    ("raw", "described"),
    [("[1,2]", "a list"), ("42", "a number"), ('"gold"', "a string"), ("null", "null")],
)
def test_data_that_is_json_but_not_an_object(raw, described):
    event = pageview(data=raw)

    assert event.data_state is DataState.NOT_OBJECT
    assert event.data is None
    finding = only(event, "data.not-object")
    assert finding.severity is Severity.ERROR
    assert described in finding.message


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ('{"score":NaN}', "NaN is not a JSON value"),
        ('{"score":-Infinity}', "-Infinity is not a JSON value"),
        ('{"score":1e400}', "the number 1e400 is too large"),
    ],
)
def test_numbers_json_parse_would_refuse_are_not_json(raw, words):
    event = pageview(data=raw)

    assert event.data_state is DataState.INVALID
    assert event.data is None
    assert words in only(event, "data.not-json").message


def test_lone_surrogate_escape_in_data_is_replaced_and_reported():
    # JavaScript cut "Caf\u00e9 \ud83d\ude00" after the first half of the emoji.
    event = pageview(data='{"title":"Caf\\u00e9 \\ud83d","\\udc00k":1}')

    assert event.data_state is DataState.OK
    assert event.data == {"title": "Café \ufffd", "\ufffdk": 1}
    finding = only(event, "params.invalid-utf8")
    assert finding.severity is Severity.WARNING
    assert finding.path == "data"
    assert "surrogate" in finding.message
    assert event.data_raw == '{"title":"Caf\\u00e9 \\ud83d","\\udc00k":1}'


def test_a_whole_surrogate_pair_is_an_ordinary_character():
    event = pageview(data='{"mood":"\\ud83d\\ude00"}')

    assert event.data == {"mood": "\U0001f600"}
    assert event.findings == ()


def test_lone_surrogate_in_metadata_and_in_a_mobile_body():
    metadata = pageview(metadata='{"title":"x\\ud800"}')
    entry = {"url": "u", "idsite": "a", "action": "pageview", "data": {"k": "v"}}
    body = json.dumps({"events": [entry, entry]}).replace('"v"', '"\\udbff"')

    events = decode_request(post(body.encode()))

    assert metadata.metadata == {"title": "x\ufffd"}
    assert only(metadata, "params.invalid-utf8").path == "metadata"
    assert [event.data for event in events] == [{"k": "\ufffd"}] * 2
    assert [only(event, "params.invalid-utf8").path for event in events] == [
        "body",
        "body",
    ]


def test_web_pixel_without_data_warns():
    event = pageview(data=None)

    assert event.data_state is DataState.ABSENT
    assert event.data_raw is None
    finding = only(event, "data.absent")
    assert finding.severity is Severity.WARNING
    assert finding.path == "data"


def test_swallowed_data_is_an_error_and_not_also_absent():
    query = jquery_param(pageview_pairs(data=None, screen=None))
    query += "&screen=1280x800%7C1280x760%7C24%26data%3D%7B%22tier%22%3A%22gold%22%7D"

    event = decode_one(get(query))

    finding = only(event, "data.swallowed")
    assert finding.severity is Severity.ERROR
    assert finding.path == "screen"
    assert "data.absent" not in codes(event)
    assert event.data_state is DataState.ABSENT


DATA_AS_NAME = "data%3D%7B%22tier%22%3A%22gold%22%7D"
"""`data={"tier":"gold"}` with its `=` sent as `%3D`: a pair without `=`."""


@pytest.mark.parametrize("last", [False, True], ids=["inside", "last"])
def test_data_whose_equals_sign_was_encoded_is_swallowed_data(last):
    pairs = jquery_param(pageview_pairs(data=None))
    query = f"{pairs}&{DATA_AS_NAME}" if last else f"{DATA_AS_NAME}&{pairs}"

    event = decode_one(get(query))

    assert [(f.code, f.path, f.message) for f in event.findings] == [
        (
            "data.swallowed",
            "data",
            "data was sent as 'data%3D...', with its '=' percent-encoded, so the "
            "whole of it is a parameter name and Parse.ly receives no data "
            'parameter; recovered object: {"tier":"gold"}',
        )
    ]
    assert event.data_state is DataState.ABSENT
    assert event.segments == {}


def test_swallowed_data_that_is_no_object_or_cut_short_says_so():
    pairs = jquery_param(pageview_pairs(data=None))

    broken = decode_one(get(f"data%3D%7Btier%7D&{pairs}"))
    cut = decode_one(get(f"{pairs}&data%3D%7B%22tier%22%3A%22go"))

    assert only(broken, "data.swallowed").message.endswith(
        "parameter; the text after it is not a JSON object either: {tier}"
    )
    assert set(codes(cut)) == {"data.swallowed", "url.truncated"}
    assert only(cut, "url.truncated").message == (
        "The request looks cut short: the data JSON stops before it is complete."
    )


def test_an_encoded_data_pair_next_to_a_real_one_is_a_second_data():
    event = decode_one(get(f"{jquery_param(pageview_pairs())}&{DATA_AS_NAME}"))

    assert only(event, "data.swallowed").message == (
        "data was sent as 'data%3D...', with its '=' percent-encoded, so the whole "
        "of it is a parameter name that Parse.ly ignores (it reads the other data "
        'parameter); recovered object: {"tier":"gold"}'
    )
    assert event.data == {"tier": "gold", "logged_in": True}


def test_page_url_with_its_own_data_parameter_is_not_swallowed_data():
    event = pageview(url="https://app.example.org/view?data={}&x=1")

    assert event.findings == ()


# --- Stray top-level parameters ------------------------------------------------------


def test_top_level_segment_key_warns():
    event = decode_one(get(jquery_param(pageview_pairs(tier="gold"))))

    finding = only(event, "params.top-level-segment")
    assert finding.severity is Severity.WARNING
    assert finding.path == "tier"
    assert "tier=gold" in finding.message


def test_bracket_encoded_object_warns_once_per_name():
    query = jquery_param(pageview_pairs()) + "&user%5Btier%5D=gold&user%5Bage%5D=30"

    event = decode_one(get(query))

    finding = only(event, "params.bracket-encoded")
    assert finding.severity is Severity.WARNING
    assert finding.path == "user"
    assert "user[tier], user[age]" in finding.message
    assert "params.top-level-segment" not in codes(event)


def test_a_parameter_given_twice_is_named_as_repeated_not_missing():
    query = jquery_param(pageview_pairs()) + "&idsite=other.example"

    event = decode_one(get(query))

    assert codes(event) == {"params.repeated": Severity.WARNING}
    assert only(event, "params.repeated").message == (
        "idsite is sent 2 times in one pixel; only one value can count (shown "
        "here: the last)"
    )


def test_a_parameter_sent_as_a_bracketed_list_is_named_as_such_not_missing():
    pairs = pageview_pairs(idsite=None) + [
        ("idsite[]", "a.example"),
        ("idsite[]", "b.example"),
    ]

    event = decode_one(get(jquery_param(pairs)))

    assert codes(event) == {"params.list-or-object": Severity.ERROR}
    finding = only(event, "params.list-or-object")
    assert finding.path == "idsite"
    assert finding.message == (
        "idsite is sent as bracketed parameters (idsite[], idsite[]), but takes one "
        "value: Parse.ly reads no idsite from it, and the event needs one."
    )


def test_an_optional_parameter_sent_as_an_object_is_a_warning():
    pairs = pageview_pairs(urlref=None) + [("urlref[href]", "https://a.example/")]

    event = decode_one(get(jquery_param(pairs)))

    assert codes(event) == {"params.list-or-object": Severity.WARNING}
    assert only(event, "params.list-or-object").message == (
        "urlref is sent as bracketed parameters (urlref[href]), but takes one "
        "value: Parse.ly reads no urlref from it."
    )


def test_known_params_cover_the_documented_ones():
    documented = {"rand", "plid", "pvid", "vsid", "u", "ampid", "inc", "tt", "js"}

    assert documented <= KNOWN_PARAMS
    assert {
        "sl_xp",
        "sl_x",
        "sl_y",
        "sl_h",
        "tpab",
        "metadata",
        "screen",
    } <= KNOWN_PARAMS


def test_tracker_data_keys_cover_web_and_sdk_keys():
    assert {
        "parsely_uuid",
        "parsely_site_uuid",
        "_conversion_type",
        "_conversion_label",
        "flashlight",
        "parsely:metadata-detection",
        "ts",
        "os",
        "os_version",
        "manufacturer",
        "appname",
    } == TRACKER_DATA_KEYS


# --- URL size and truncation ---------------------------------------------------------


def oversized_query() -> str:
    interests = ",".join(f"topic-{n:03d}" for n in range(700))
    data = json.dumps({"tier": "gold", "interests": interests})
    return jquery_param(pageview_pairs(data=data))


def test_oversized_url_warns():
    request = get(oversized_query())
    assert len(request.url) > 8192

    event = decode_one(request)

    finding = only(event, "url.oversized")
    assert finding.severity is Severity.WARNING
    assert f"{len(request.url):,} bytes" in finding.message
    assert "url.truncated" not in codes(event)
    assert event.data_state is DataState.OK


def test_url_cut_at_8192_bytes_is_truncated():
    full = get(oversized_query()).url
    request = CapturedRequest(method="GET", url=full[:8192], request_id="cut")

    event = decode_one(request)

    assert codes(event) == {
        "url.truncated": Severity.ERROR,
        "data.not-json": Severity.ERROR,
        "action.missing": Severity.ERROR,
    }
    message = only(event, "url.truncated").message
    assert "exactly 8,192 bytes" in message
    assert "data JSON stops" in message
    assert "u, sid, sts, slts" in message
    assert event.data_state is DataState.INVALID
    assert event.action is None


def test_dangling_percent_escape_is_truncated():
    query = jquery_param(pageview_pairs()) + "&sl_h=https%3A%2"

    event = decode_one(get(query))

    finding = only(event, "url.truncated")
    assert "%-escape" in finding.message
    assert finding.path == "url"


def test_cut_inside_a_trailing_key_is_truncated():
    query = jquery_param(pageview_pairs(action=None, pvid=None, u=None)) + "&acti"

    event = decode_one(get(query))

    message = only(event, "url.truncated").message
    assert "'acti' has no value" in message
    assert "params.top-level-segment" not in codes(event)
    assert "params.missing" not in codes(event)


# --- Required parameters -------------------------------------------------------------


def test_missing_modern_ids_are_an_error():
    event = pageview(u=None, sts=None)

    finding = only(event, "params.missing")
    assert finding.severity is Severity.ERROR
    assert finding.path == "u"
    assert "u, sts" in finding.message


def test_missing_core_parameter_is_an_error():
    event = pageview(idsite=None)

    assert only(event, "params.missing").path == "idsite"


def test_legacy_2013_pixel_gets_info_not_errors():
    legacy = {"parsely_uuid": "AB12CD34-0000-4000-8000-00000000000A"}
    legacy["parsely_site_uuid"] = legacy["parsely_uuid"]
    query = jquery_param(
        [
            ("rand", "1363000000000"),
            ("idsite", "sports.example.org"),
            ("url", "http://sports.example.org/scores"),
            ("urlref", "http://sports.example.org/"),
            ("screen", "1024x768|1024x738|24"),
            ("data", json.dumps(legacy)),
            ("title", "Scores, Tables, and Fixtures"),
            ("date", "Thu Mar 21 2013 08:00:00 GMT-0500 (CDT)"),
            ("action", "pageview"),
        ]
    )

    event = decode_one(get(query, "http://pixel.parsely.com/plogger/"))

    assert codes(event) == {"params.legacy-ids": Severity.INFO}
    assert event.segments == {}
    assert event.visitor == legacy["parsely_site_uuid"]
    assert event.params["title"] == "Scores, Tables, and Fixtures"


def test_missing_action_is_an_error():
    event = pageview(action=None)

    assert only(event, "action.missing").severity is Severity.ERROR
    assert event.action is None


def test_empty_action_is_missing():
    event = pageview(action="")

    assert "empty" in only(event, "action.missing").message


def test_custom_action_is_info():
    event = pageview(action="newsletter_open")

    finding = only(event, "action.custom")
    assert finding.severity is Severity.INFO
    assert event.action == "newsletter_open"


def test_wrongly_cased_action_mentions_lower_case():
    event = pageview(action="PageView")

    assert "'pageview' in lower case" in only(event, "action.custom").message


# --- Heartbeats and session fields ---------------------------------------------------


def heartbeat(**overrides: str | None) -> PixelEvent:
    fields = {"title": None, "action": "heartbeat", "inc": "5", "tt": "4908"}
    fields.update(overrides)
    return pageview(**fields)


def test_valid_heartbeat_has_no_findings():
    event = heartbeat()

    assert event.action == "heartbeat"
    assert event.params["inc"] == "5"
    assert event.findings == ()


@pytest.mark.parametrize("inc", ["1", "3600"])
def test_inc_at_the_bounds_is_fine(inc):
    assert heartbeat(inc=inc).findings == ()


@pytest.mark.parametrize("inc", ["0", "3601", "5.5", "-3", "five", ""])
def test_inc_out_of_range_is_an_error(inc):
    event = heartbeat(inc=inc)

    finding = only(event, "heartbeat.inc-out-of-range")
    assert finding.severity is Severity.ERROR
    assert finding.path == "inc"


def test_heartbeat_without_inc_is_missing_a_parameter():
    event = heartbeat(inc=None)

    assert "inc" in only(event, "params.missing").message


@pytest.mark.parametrize("tt", ["-1", "12.5", "soon"])
def test_invalid_tt_is_an_error(tt):
    finding = only(heartbeat(tt=tt), "heartbeat.tt-invalid")

    assert finding.severity is Severity.ERROR
    assert "milliseconds" in finding.message


def test_zero_tt_is_fine():
    assert heartbeat(tt="0").findings == ()


def test_session_start_zero_warns():
    event = pageview(sts="0", slts="0")

    finding = only(event, "session.sts-zero")
    assert finding.severity is Severity.WARNING
    assert finding.path == "sts"


def test_last_session_zero_alone_is_fine():
    assert pageview(slts="0").findings == ()


def test_js_flag_is_info():
    event = decode_one(get(jquery_param(pageview_pairs(js="1"))))

    finding = only(event, "params.js-flag")
    assert finding.severity is Severity.INFO
    assert codes(event) == {"params.js-flag": Severity.INFO}


# --- AMP -----------------------------------------------------------------------------


AMP_PAGEVIEW = (
    "http://srv.pixel.parsely.com/plogger/?rand=1710000100000&idsite=news.example.org"
    "&url=https%3A%2F%2Fnews-example-org.cdn.ampproject.org%2Fc%2Fs%2Fstory%2F"
    "&urlref=&screen=412x915%7C412x915%7C24&title=Harbour%20Opens%20Today"
    "&date=1710000100000&ampid=amp-Zx9Yw8Vu7Ts6&action=pageview"
    "&metadata={%22canonical_url%22:%22https%3A%2F%2Fnews.example.org%2Fstory%2F%22}"
)


def test_amp_pageview_with_raw_braces_and_percent20():
    event = decode_one(CapturedRequest(method="GET", url=AMP_PAGEVIEW, request_id="a"))

    assert event.transport is Transport.AMP
    assert event.params["title"] == "Harbour Opens Today"
    assert event.metadata == {"canonical_url": "https://news.example.org/story/"}
    assert event.metadata_raw == '{"canonical_url":"https://news.example.org/story/"}'
    assert event.visitor == "amp-Zx9Yw8Vu7Ts6"
    assert event.data_state is DataState.ABSENT
    assert codes(event) == {"data.absent": Severity.INFO}


def test_amp_heartbeat_tt_in_seconds_is_checked():
    url = AMP_PAGEVIEW.replace("action=pageview", "action=heartbeat&tt=-4&inc=10")

    event = decode_one(CapturedRequest(method="GET", url=url))

    assert "seconds" in only(event, "heartbeat.tt-invalid").message


def test_amp_draft_without_ampid_is_recognised_by_host_and_missing_ids():
    url = (
        "http://srv.pixel.parsely.com/plogger/?rand=1454000000000&idsite=a.example"
        "&url=https%3A%2F%2Fa.example%2Fs%2Famp%2F&urlref=&data=TODO"
        "&title=AMP%20Story&date=1454000000000&amp=1&action=pageview"
    )

    event = decode_one(CapturedRequest(method="GET", url=url))

    assert event.transport is Transport.AMP
    assert codes(event) == {
        "data.not-json": Severity.ERROR,
        "params.top-level-segment": Severity.INFO,
    }


# --- Mobile batches ------------------------------------------------------------------


def post(body: bytes, url: str = "https://p1.parsely.com/mobileproxy", **kwargs):
    return CapturedRequest(
        method="POST", url=url, body=body, request_id="m-7", **kwargs
    )


MOBILE_BATCH = {
    "events": [
        {
            "url": "https://news.example.org/app/story/12",
            "urlref": "",
            "action": "pageview",
            "idsite": "news.example.org",
            "data": {
                "ts": 1700000000000,
                "parsely_site_uuid": "D1E2F3A4-B5C6-4D7E-8F90-A1B2C3D4E5F6",
                "os": "android",
                "os_version": "34",
                "manufacturer": "ExampleCo",
                "tier": "gold",
            },
            "sid": 1,
            "sts": 0,
            "slts": 0,
            "pvid": None,
            "is_new": True,
        },
        {
            "url": "https://news.example.org/app/story/12",
            "action": "heartbeat",
            "idsite": "news.example.org",
            "data": {"ts": 1700000010000},
            "sid": 1,
            "sts": 1699999990000,
            "inc": 10,
            "tt": 10000,
        },
    ]
}


def test_mobile_json_batch_splits_into_events():
    events = decode_request(post(json.dumps(MOBILE_BATCH).encode()))

    assert [event.id for event in events] == ["m-7#0", "m-7#1"]
    assert [event.batch_index for event in events] == [0, 1]
    assert all(event.transport is Transport.MOBILE for event in events)
    first, second = events
    assert first.params["sid"] == "1"
    assert first.params["sts"] == "0"
    assert first.params["pvid"] == ""
    assert first.pvid is None
    assert first.params["is_new"] == "true"
    assert first.data == MOBILE_BATCH["events"][0]["data"]
    assert first.segments == {"tier": "gold"}
    assert second.params["tt"] == "10000"
    assert second.segments == {}


def test_mobile_batch_findings_belong_to_their_entry():
    first, second = decode_request(post(json.dumps(MOBILE_BATCH).encode()))

    assert codes(first) == {
        "session.sts-zero": Severity.WARNING,
        "params.top-level-segment": Severity.INFO,
    }
    assert all(finding.event_id == "m-7#0" for finding in first.findings)
    assert second.findings == ()


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("idsite", ["a.example", "b.example"], 'a list (["a.example","b.example"])'),
        ("action", {"kind": "pageview"}, 'an object ({"kind":"pageview"})'),
    ],
)
def test_mobile_field_sent_as_a_list_or_object_is_named_as_such_not_missing(
    field, value, shown
):
    entry = {"url": "https://a.example/", "idsite": "a.example", "action": "pageview"}
    entry["data"] = {}
    entry[field] = value

    (event,) = decode_request(post(json.dumps({"events": [entry]}).encode()))

    assert codes(event) == {"params.list-or-object": Severity.ERROR}
    assert only(event, "params.list-or-object").message == (
        f"{field} is sent as {shown}, but takes one value: Parse.ly reads no "
        f"{field} from it, and the event needs one."
    )


def test_mobile_entry_without_data_warns():
    batch = {"events": [{"url": "https://a.example/", "idsite": "a.example"}]}

    (event,) = decode_request(post(json.dumps(batch).encode()))

    assert codes(event) == {
        "data.absent": Severity.WARNING,
        "action.missing": Severity.ERROR,
    }


def test_mobile_entry_with_stringified_data_is_double_encoded():
    entry = {"url": "u", "idsite": "a.example", "action": "pageview"}
    entry["data"] = json.dumps({"tier": "gold"})

    (event,) = decode_request(post(json.dumps({"events": [entry]}).encode()))

    assert event.data_state is DataState.DOUBLE_ENCODED
    assert event.data == {"tier": "gold"}


def test_gzipped_mobile_body_is_read():
    body = gzip.compress(json.dumps(MOBILE_BATCH).encode())

    events = decode_request(post(body))

    assert len(events) == 2
    assert events[0].segments == {"tier": "gold"}


def test_legacy_rqs_batch_merges_shared_data():
    batch = {
        "data": {"parsely_site_uuid": "abc-123", "os": "android", "tier": "silver"},
        "idsite": "news.example.org",
        "events": [
            {
                "action": "pageview",
                "url": "https://news.example.org/a",
                "data": {"ts": 1},
            },
            {"action": "pageview", "url": "https://news.example.org/b"},
        ],
    }
    body = ("rqs=" + quote(json.dumps(batch))).encode()

    events = decode_request(
        post(body, content_type=None, headers=(("Content-Type", "form"),))
    )

    assert [event.transport for event in events] == [Transport.MOBILE_LEGACY] * 2
    assert [event.id for event in events] == ["m-7#0", "m-7#1"]
    assert events[0].data == {
        "parsely_site_uuid": "abc-123",
        "os": "android",
        "tier": "silver",
        "ts": 1,
    }
    assert events[1].data == batch["data"]
    assert events[0].segments == {"tier": "silver"}
    assert events[1].idsite == "news.example.org"
    assert events[0].findings == ()


def test_json_body_mentioning_rqs_is_still_json():
    batch = {
        "events": [{"url": "u", "idsite": "a", "action": "pageview", "q": "&rqs="}]
    }

    (event,) = decode_request(post(json.dumps(batch).encode()))

    assert event.transport is Transport.MOBILE
    assert event.params["q"] == "&rqs="


def test_mobile_body_that_is_not_json():
    (event,) = decode_request(post(b'{"events": [{"url": '))

    assert event.id == "m-7"
    assert event.transport is Transport.MOBILE
    finding = only(event, "body.not-json")
    assert finding.severity is Severity.ERROR
    assert "character" in finding.message
    assert len(event.findings) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[]", 'The mobile batch is a list, not {"events": [...]}.'),
        (b'"x"', 'The mobile batch is a string, not {"events": [...]}.'),
        (b'{"evts": []}', 'The mobile batch has no "events" list.'),
        (b'{"events": {}}', 'The batch\'s "events" is an object, not a list.'),
        (b'{"events": null}', 'The batch\'s "events" is null, not a list.'),
        (b'{"events": []}', 'The batch\'s "events" list is empty.'),
        (b"", "The mobile batch body is empty: this request carried no events."),
        (b" \r\n", "The mobile batch body is empty: this request carried no events."),
    ],
)
def test_malformed_batches(body, message):
    (event,) = decode_request(post(body))

    finding = only(event, "batch.malformed")
    assert finding.severity is Severity.ERROR
    assert finding.message == message
    assert event.transport is Transport.MOBILE


def test_batch_entry_that_is_not_an_object_keeps_the_others():
    batch = {
        "events": [
            7,
            {
                "url": "https://a.example/",
                "idsite": "a",
                "action": "pageview",
                "data": {},
            },
        ]
    }

    bad, good = decode_request(post(json.dumps(batch).encode()))

    assert only(bad, "batch.malformed").path == "events[0]"
    assert bad.batch_index == 0
    assert good.id == "m-7#1"
    assert good.findings == ()


def test_invalid_utf8_body_is_reported_on_every_entry():
    entry = {"url": "u", "idsite": "a", "action": "pageview", "data": {"k": "\udcff"}}
    body = json.dumps({"events": [entry, entry]}).encode().replace(b"\\udcff", b"\xff")

    events = decode_request(post(body))

    assert [only(event, "params.invalid-utf8").event_id for event in events] == [
        "m-7#0",
        "m-7#1",
    ]


# --- Requests that never got an answer -----------------------------------------------


def test_blocked_pixel_says_it_never_reached_parsely():
    request = get(jquery_param(pageview_pairs()))
    blocked = dataclasses.replace(request, error="net::ERR_BLOCKED_BY_CLIENT")

    event = decode_one(blocked)

    finding = only(event, "request.failed")
    assert finding.severity is Severity.WARNING
    assert finding.message == (
        "This pixel never reached Parse.ly: blocked by the browser "
        "(ERR_BLOCKED_BY_CLIENT)."
    )
    assert "ad or tracking blocker" in finding.explanation
    assert finding.event_id == "req-1"
    # Otherwise the event is decoded as usual.
    delivered = decode_one(request)
    assert event.segments == delivered.segments == {"tier": "gold", "logged_in": True}
    assert "request.failed" not in codes(delivered)


def test_every_event_of_a_failed_batch_carries_the_failure():
    events = decode_request(
        post(json.dumps(MOBILE_BATCH).encode(), error="Connection refused.")
    )

    failures = [only(event, "request.failed") for event in events]
    assert [finding.event_id for finding in failures] == ["m-7#0", "m-7#1"]
    assert {finding.message for finding in failures} == {
        "This pixel never reached Parse.ly: the request failed (Connection refused)."
    }


def test_cancelled_pixel_may_have_gone_out():
    request = get(jquery_param(pageview_pairs()))

    event = decode_one(dataclasses.replace(request, error="net::ERR_ABORTED"))

    assert only(event, "request.failed").message == (
        "This pixel may not have reached Parse.ly: the browser cancelled it "
        "(ERR_ABORTED)."
    )


def test_pixel_whose_browser_left_may_have_gone_out():
    request = get(jquery_param(pageview_pairs()))

    event = decode_one(dataclasses.replace(request, error="Client disconnected."))

    assert only(event, "request.failed").message == (
        "This pixel may not have reached Parse.ly: the browser went away before "
        "the answer came (Client disconnected)."
    )


def test_a_failed_request_that_is_no_pixel_stays_ignored():
    request = CapturedRequest(
        method="GET", url="https://www.example.com/", error="net::ERR_ABORTED"
    )

    assert decode_request(request) == []


# --- Never raising -------------------------------------------------------------------


def test_unexpected_error_becomes_a_decode_failed_event(monkeypatch):
    def broken(request):
        raise RuntimeError("boom")

    monkeypatch.setattr(decode, "_decode_web", broken)

    (event,) = decode_request(get("rand=1"))

    finding = only(event, "decode.failed")
    assert finding.severity is Severity.ERROR
    assert "RuntimeError: boom" in finding.message
    assert event.id == "req-1"


def test_every_finding_is_explained_and_attributed():
    events = [
        pageview(data="TODO", sts="0", action="custom_thing"),
        heartbeat(inc="0", tt="x"),
        *decode_request(post(json.dumps(MOBILE_BATCH).encode())),
    ]

    for event in events:
        for finding in event.findings:
            assert finding.explanation
            assert finding.message
            assert finding.event_id == event.id


@pytest.mark.parametrize(
    "request_",
    [
        get(jquery_param(pageview_pairs())),
        post(json.dumps(MOBILE_BATCH).encode()),
        get("", host_path="https://www.example.com/story/"),
    ],
    ids=["web", "mobile", "not-a-pixel"],
)
def test_an_endpoint_already_known_decodes_as_the_matcher_would(request_):
    matcher = PixelMatcher()
    endpoint = matcher.endpoint(request_)

    told = decode_request(request_, matcher, endpoint=endpoint)

    assert told == decode_request(request_, matcher)
    assert len(told) == {"web": 1, "mobile": 2, None: 0}[endpoint]


def test_a_parameter_sent_twice_is_reported_and_the_last_shown():
    pairs = pageview_pairs()
    pairs.append(("data", '{"tier":"basic"}'))

    event = decode_one(get(jquery_param(pairs)))

    assert event.segments == {"tier": "basic"}
    finding = only(event, "params.repeated")
    assert finding.severity is Severity.WARNING
    assert finding.path == "data"
    assert finding.message == (
        "data is sent 2 times in one pixel; only one value can count "
        "(shown here: the last)"
    )
    assert "params.repeated" not in codes(pageview())


def test_a_key_cut_short_at_the_end_is_no_repeated_parameter():
    query = jquery_param(pageview_pairs(urlref=None)) + "&url"

    event = decode_one(get(query))

    assert "params.repeated" not in codes(event)
