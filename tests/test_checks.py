"""Per-event segment checks, on pixels decoded by the real decoder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from inspector.checks import EventChecker, placeholder_kind
from inspector.decode import decode_request
from inspector.model import CapturedRequest, Finding, PixelEvent, Severity
from inspector.spec import default_spec, load_spec, parse_spec

SPECS = Path(__file__).resolve().parent.parent / "fixtures" / "specs"

_NO_DATA = object()


def pixel(
    data: Any = _NO_DATA,
    *,
    action: str = "pageview",
    request_id: str = "r1",
    **params: str,
) -> PixelEvent:
    """A web pixel as the JavaScript tracker sends it, decoded."""
    query = {
        "rand": "1700000000123",
        "plid": "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f",
        "idsite": "example.com",
        "url": "https://www.example.com/2023/11/14/first-article/",
        "urlref": "https://www.google.com/",
        "screen": "1920x1080|1920x1040|24",
        "sid": "1",
        "surl": "https://www.example.com/2023/11/14/first-article/",
        "sref": "https://www.google.com/",
        "sts": "1699990000456",
        "slts": "1690000000789",
        "date": "Tue Nov 14 2023 22:13:20 GMT+0000 (Coordinated Universal Time)",
        "action": action,
        "pvid": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        "u": "pid=0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
    }
    if action == "heartbeat":
        query.update(inc="5", tt="4908")
    if data is not _NO_DATA:
        query["data"] = data if isinstance(data, str) else json.dumps(data)
    query.update(params)
    url = "https://p1.parsely.com/plogger/?" + urlencode(query)
    [event] = decode_request(CapturedRequest("GET", url, request_id=request_id))
    return event


def codes(findings: list[Finding]) -> list[str]:
    return [finding.code for finding in findings]


def only(findings: list[Finding], code: str) -> Finding:
    matching = [finding for finding in findings if finding.code == code]
    assert len(matching) == 1, codes(findings)
    return matching[0]


@pytest.fixture
def example_spec():
    return load_spec(SPECS / "example.yaml")


@pytest.fixture
def checker(example_spec):
    return EventChecker(example_spec)


VALID = {"logged_in": True, "plan": "premium", "articles_read": 3, "region": "uk"}


# --------------------------------------------------------------------------- clean


def test_a_correct_pageview_has_no_findings(checker):
    assert checker.check(pixel(VALID)) == []


def test_boolean_false_is_present_not_missing(checker):
    findings = checker.check(pixel({"logged_in": False, "plan": None}))

    assert findings == []


def test_an_absent_key_under_the_omit_convention_is_fine(checker):
    findings = checker.check(pixel({"logged_in": True, "plan": None}))

    assert "segment.omitted" not in codes(findings)
    assert findings == []


# --------------------------------------------------------------------------- types


def test_string_true_where_a_boolean_is_expected(checker):
    event = pixel({**VALID, "logged_in": "true"})

    finding = only(checker.check(event), "segment.type-mismatch")

    assert finding.severity is Severity.WARNING
    assert finding.path == "data.logged_in"
    assert finding.event_id == event.id == "r1"
    assert finding.message == (
        'data.logged_in is "true" (a string), but the spec declares a boolean: '
        "send true without quotes"
    )
    assert "different values" in finding.explanation


def test_stringified_number_where_a_number_is_expected(checker):
    finding = only(
        checker.check(pixel({**VALID, "articles_read": "3"})), "segment.type-mismatch"
    )

    assert finding.path == "data.articles_read"
    assert '"3" (a string)' in finding.message
    assert finding.message.endswith("send 3 without quotes")


def test_number_where_a_string_is_expected(checker):
    finding = only(checker.check(pixel({**VALID, "plan": 3})), "segment.type-mismatch")

    assert finding.message == (
        'data.plan is 3 (a number), but the spec declares a string: send "3"'
    )


def test_boolean_is_not_a_number(checker):
    finding = only(
        checker.check(pixel({**VALID, "articles_read": True})), "segment.type-mismatch"
    )

    assert "true (a boolean)" in finding.message
    assert "declares a number" in finding.message


@pytest.mark.parametrize(
    ("passing", "failing", "code"),
    [
        ({"articles_read": 1}, {"articles_read": True}, "segment.type-mismatch"),
        ({"logged_in": True}, {"logged_in": 1}, "segment.type-mismatch"),
        ({"plan": "premium"}, {"plan": "Premium"}, "segment.case-mismatch"),
        ({"plan": "premium"}, {"plan": "premium "}, "segment.value-not-allowed"),
    ],
)
def test_a_value_that_passed_does_not_excuse_a_lookalike(
    checker, passing, failing, code
):
    for request_id in ("r1", "r2"):
        assert checker.check(pixel({**VALID, **passing}, request_id=request_id)) == []

    for request_id in ("r3", "r4"):
        failed = checker.check(pixel({**VALID, **failing}, request_id=request_id))
        assert only(failed, code).event_id == request_id


# --------------------------------------------------------------------------- values


def test_value_not_allowed_lists_the_allowed_values(checker):
    finding = only(
        checker.check(pixel({**VALID, "plan": "gold"})), "segment.value-not-allowed"
    )

    assert finding.severity is Severity.ERROR
    assert finding.path == "data.plan"
    assert finding.message == (
        'data.plan is "gold", which is not an allowed value '
        '(allowed: "basic", "premium", "subscriber")'
    )


def test_value_not_allowed_suggests_a_near_miss(checker):
    finding = only(
        checker.check(pixel({**VALID, "plan": "premim"})), "segment.value-not-allowed"
    )

    assert finding.message.endswith('; did you mean "premium"?')


def test_value_with_spaces_around_an_allowed_one(checker):
    finding = only(
        checker.check(pixel({**VALID, "plan": " premium "})),
        "segment.value-not-allowed",
    )

    assert finding.message.endswith('; it has spaces around "premium"')


def test_case_variant_names_the_allowed_value(checker):
    findings = checker.check(pixel({**VALID, "plan": "Premium"}))

    finding = only(findings, "segment.case-mismatch")
    assert "segment.value-not-allowed" not in codes(findings)
    assert finding.severity is Severity.ERROR
    assert finding.message == (
        'data.plan is "Premium", which differs from the allowed value "premium" '
        "only by case"
    )


def test_case_variants_are_accepted_when_case_does_not_matter(checker):
    assert checker.check(pixel({**VALID, "region": "UK"})) == []


def test_allowed_boolean_values_are_enforced():
    spec = parse_spec("segments:\n  consent: {type: boolean, values: [true]}\n")

    finding = only(
        EventChecker(spec).check(pixel({"consent": False})), "segment.value-not-allowed"
    )

    assert finding.message == (
        "data.consent is false, which is not an allowed value (allowed: true)"
    )


# --------------------------------------------------------------------------- missing


def test_required_key_missing_on_a_pageview(checker):
    finding = only(checker.check(pixel({"plan": None})), "segment.required-missing")

    assert finding.severity is Severity.ERROR
    assert finding.path == "data.logged_in"
    assert finding.message == (
        "data.logged_in is missing from this pageview; the spec requires it on pageview"
    )


def test_required_key_is_not_expected_on_other_event_kinds(checker):
    findings = checker.check(pixel({"plan": None}, action="heartbeat"))

    assert "segment.required-missing" not in codes(findings)


def test_required_key_is_not_expected_from_other_sites(checker):
    findings = checker.check(pixel({}, idsite="other.example"))

    assert codes(findings) == ["spec.site-not-covered"]


def test_sites_outside_the_spec_get_the_built_in_checks_and_one_note(checker):
    first = checker.check(pixel({"plan": "undefined"}, idsite="example.org"))
    second = checker.check(
        pixel({"plan": "null", "Plan": "x"}, idsite="example.org", request_id="r2")
    )
    third = checker.check(pixel({"plan": ""}, idsite="news.example", request_id="r3"))

    assert codes(first) == ["spec.site-not-covered", "segment.placeholder"]
    note = first[0]
    assert note.severity is Severity.INFO
    assert note.message == (
        "the spec covers example.com; example.org is checked with the built-in "
        "rules only"
    )
    assert note.path == "idsite"
    assert note.event_id == "r1"

    # The note comes once per site; the spec's own rules (unknown keys, the plan's
    # allowed values) do not apply to the other site.
    assert codes(second) == ["segment.placeholder"]
    assert codes(third) == ["spec.site-not-covered", "segment.placeholder"]
    assert "news.example is checked" in third[0].message


def test_sites_outside_the_spec_keep_their_own_null_mixing_history(checker):
    checker.check(pixel({"tier": None}, idsite="example.org"))
    findings = checker.check(pixel({}, idsite="example.org", request_id="r2"))

    mixed = only(findings, "segment.null-convention-mixed")
    assert mixed.message == (
        "data.tier is sent as null on some events (first: r1) and left out on "
        "others (first: r2)"
    )


def test_a_spec_without_sites_covers_every_site(example_spec):
    spec = example_spec.model_copy(update={"sites": ()})
    checker = EventChecker(spec)

    findings = checker.check(pixel({**VALID}, idsite="example.org"))

    assert findings == []


def test_a_key_limited_to_some_sites_is_only_required_there():
    spec = parse_spec(
        "segments:\n  plan: {type: string, required: true, sites: [shop.example.com]}\n"
    )
    checker = EventChecker(spec)

    assert checker.check(pixel({}, idsite="example.com")) == []
    assert codes(checker.check(pixel({}, idsite="shop.example.com"))) == [
        "segment.required-missing"
    ]


def test_missing_keys_are_not_reported_when_data_is_broken(checker):
    event = pixel("TODO")

    assert checker.check(event) == []


def test_missing_keys_are_not_reported_without_data(checker):
    assert checker.check(pixel()) == []


def test_null_where_the_convention_is_omit(checker):
    finding = only(
        checker.check(pixel({"logged_in": None, "plan": None})),
        "segment.null-not-allowed",
    )

    assert finding.severity is Severity.WARNING
    assert finding.path == "data.logged_in"
    assert "is null" in finding.message
    assert "leave the key out" in finding.message


def test_absent_key_where_the_convention_is_null(checker):
    findings = checker.check(pixel({"logged_in": True}))

    finding = only(findings, "segment.omitted")
    assert finding.severity is Severity.WARNING
    assert finding.path == "data.plan"
    assert finding.message == (
        "data.plan is not sent on this pageview; with the null convention it "
        "should be sent as null when the value is unknown"
    )


def test_omitted_follows_the_key_event_kinds(checker):
    heartbeat = checker.check(pixel({"logged_in": True}, action="heartbeat"))
    conversion = checker.check(pixel({"logged_in": True}, action="conversion"))

    assert codes(heartbeat) == ["segment.omitted"]
    assert conversion == []


def test_null_under_the_null_convention_is_fine(checker):
    assert checker.check(pixel({"logged_in": True, "plan": None})) == []


# --------------------------------------------------------------------------- mixing


def test_mixed_null_conventions_are_reported_once_naming_the_events():
    checker = EventChecker(default_spec())

    first = checker.check(pixel({"plan": "basic"}, request_id="e1"))
    second = checker.check(pixel({}, request_id="e2"))
    third = checker.check(pixel({"plan": None}, request_id="e3"))
    fourth = checker.check(pixel({"plan": None}, request_id="e4"))
    fifth = checker.check(pixel({}, request_id="e5"))

    assert first == second == []
    finding = only(third, "segment.null-convention-mixed")
    assert finding.severity is Severity.WARNING
    assert finding.path == "data.plan"
    assert finding.event_id == "e3"
    assert finding.message == (
        "data.plan is sent as null on some events (first: e3) and left out on "
        "others (first: e2)"
    )
    assert fourth == fifth == []


def test_a_key_first_seen_as_null_counts_earlier_pageviews_as_absent():
    checker = EventChecker(default_spec())

    checker.check(pixel({}, request_id="e1"))
    findings = checker.check(pixel({"plan": None}, request_id="e2"))

    assert "(first: e2) and left out on others (first: e1)" in (
        only(findings, "segment.null-convention-mixed").message
    )


def test_absence_on_heartbeats_does_not_count_as_a_convention():
    checker = EventChecker(default_spec())

    checker.check(pixel({"plan": None}, request_id="e1"))
    findings = checker.check(pixel({}, action="heartbeat", request_id="e2"))

    assert findings == []


def test_declared_key_mixing_is_reported_besides_per_event_findings(checker):
    checker.check(pixel({"logged_in": True, "plan": None}, request_id="e1"))
    findings = checker.check(pixel({"logged_in": True}, request_id="e2"))

    assert codes(findings) == ["segment.omitted", "segment.null-convention-mixed"]


# --------------------------------------------------------------- not a category


@pytest.mark.parametrize(
    ("value", "described"),
    [
        ({"tier": "gold"}, 'an object ({"tier": "gold"})'),
        (["a", "b"], 'a list (["a", "b"])'),
    ],
)
def test_objects_and_lists_are_no_segment_category_without_a_spec(value, described):
    findings = EventChecker(default_spec()).check(pixel({"membership": value}))

    assert codes(findings) == ["segment.not-a-category"]
    finding = findings[0]
    assert finding.severity is Severity.WARNING
    assert finding.path == "data.membership"
    assert finding.message == (
        f"data.membership is {described}; a segment value should be one category: "
        "a string, a boolean or a number"
    )


def test_a_declared_key_with_an_object_is_a_type_mismatch_only(checker):
    findings = checker.check(pixel({**VALID, "plan": {"tier": "gold"}}))

    assert codes(findings) == ["segment.type-mismatch"]


# ------------------------------------------------------------------------ placeholders


@pytest.mark.parametrize(
    ("value", "described"),
    [
        ("null", 'the placeholder "null"'),
        ("undefined", 'the placeholder "undefined"'),
        ("", "an empty string"),
        ("NaN", 'the placeholder "NaN"'),
        ("[object Object]", 'the placeholder "[object Object]"'),
        ("  ", "a blank string"),
        (
            "{{JS - sub status}}",
            'an unreplaced template variable "{{JS - sub status}}"',
        ),
    ],
)
def test_placeholder_strings(checker, value, described):
    findings = checker.check(pixel({**VALID, "plan": value}))

    finding = only(findings, "segment.placeholder")
    assert codes(findings) == ["segment.placeholder"]
    assert finding.severity is Severity.WARNING
    assert finding.path == "data.plan"
    assert finding.message == (
        f"data.plan is {described}, which looks like a missing value turned into "
        "text (it is not JSON null)"
    )


def test_placeholders_are_reported_on_undeclared_keys_too():
    findings = EventChecker(default_spec()).check(pixel({"tier": "undefined"}))

    assert codes(findings) == ["segment.placeholder"]


def test_a_placeholder_the_spec_allows_is_a_value():
    spec = parse_spec('segments:\n  plan: {type: string, values: ["", basic]}\n')

    assert EventChecker(spec).check(pixel({"plan": ""})) == []


def test_json_null_and_real_words_are_not_placeholders():
    assert placeholder_kind(None) is None
    assert placeholder_kind("nullable") is None
    assert placeholder_kind("basic") is None
    assert placeholder_kind("none") is None
    assert placeholder_kind(0) is None


# --------------------------------------------------------------------------- keys


@pytest.mark.parametrize(
    ("policy", "severity"),
    [("info", Severity.INFO), ("warning", Severity.WARNING), ("error", Severity.ERROR)],
)
def test_unknown_key_severity_follows_the_spec(policy, severity):
    spec = parse_spec(f"unknown_keys: {policy}\nsegments:\n  plan: {{type: string}}\n")

    finding = only(
        EventChecker(spec).check(pixel({"plan": "a", "tier": "b"})),
        "segment.unknown-key",
    )

    assert finding.severity is severity
    assert finding.path == "data.tier"
    assert finding.message == "data.tier is not declared in the spec"


def test_unknown_keys_can_be_allowed():
    spec = parse_spec("unknown_keys: allow\n")

    assert EventChecker(spec).check(pixel({"tier": "b"})) == []


def test_unknown_key_suggests_the_declared_key(checker):
    findings = checker.check(pixel({**VALID, "Logged_in": True}))

    assert only(findings, "segment.unknown-key").message == (
        "data.Logged_in is not declared in the spec (did you mean 'logged_in'?)"
    )


def test_key_hints_stay_right_when_their_cache_starts_over(checker, monkeypatch):
    monkeypatch.setattr("inspector.checks._HINT_CACHE_SIZE", 1)

    messages = [
        only(checker.check(pixel({**VALID, key: 1})), "segment.unknown-key").message
        for key in ("Logged_in", "regoin", "Logged_in", "zzz")
    ]

    assert messages == [
        "data.Logged_in is not declared in the spec (did you mean 'logged_in'?)",
        "data.regoin is not declared in the spec (did you mean 'region'?)",
        "data.Logged_in is not declared in the spec (did you mean 'logged_in'?)",
        "data.zzz is not declared in the spec",
    ]
    assert len(checker._unknown_hints) == 1


def test_custom_key_with_an_underscore_prefix(checker):
    findings = checker.check(pixel({**VALID, "_sub_status": "registered"}))

    finding = only(findings, "segment.reserved-prefix")
    assert finding.severity is Severity.INFO
    assert finding.path == "data._sub_status"
    assert "_conversion_type" in finding.message


def test_tracker_keys_are_not_custom_keys(checker):
    event = pixel({**VALID, "_conversion_type": "newsletter"}, action="conversion")

    assert checker.check(event) == []


# ------------------------------------------------------------------------- cardinality


def test_high_cardinality_is_reported_once_when_the_limit_is_passed():
    spec = parse_spec("unknown_keys: allow\nhigh_cardinality: {max_values: 3}\n")
    checker = EventChecker(spec)

    values = ["a", "b", "a", "c", "c", "d", "e"]
    results = [checker.check(pixel({"reader": value})) for value in values]

    assert [codes(findings) for findings in results] == [
        [],
        [],
        [],
        [],
        [],
        ["segment.high-cardinality"],
        [],
    ]
    finding = results[5][0]
    assert finding.severity is Severity.WARNING
    assert finding.path == "data.reader"
    assert "more than 3 distinct values" in finding.message


def test_cardinality_tells_json_types_apart():
    spec = parse_spec("unknown_keys: allow\nhigh_cardinality: {max_values: 1}\n")
    checker = EventChecker(spec)

    checker.check(pixel({"flag": True}))
    findings = checker.check(pixel({"flag": "true"}))

    assert codes(findings) == ["segment.high-cardinality"]


def test_a_long_packed_value_is_no_category():
    spec = parse_spec("unknown_keys: allow\nhigh_cardinality: {max_value_length: 20}\n")
    checker = EventChecker(spec)

    short = checker.check(pixel({"interests": "sport,politics"}))
    packed = checker.check(pixel({"interests": "sport,politics,culture,travel"}))

    assert codes(short) == []
    finding = only(packed, "segment.value-too-long")
    assert finding.severity is Severity.WARNING
    assert finding.path == "data.interests"
    assert "29 characters long (more than 20)" in finding.message


# --------------------------------------------------------------------------- pii


def test_email_in_a_segment_value(checker):
    findings = checker.check(pixel({**VALID, "user_email": "reader@example.com"}))

    finding = only(findings, "pii.email")
    assert finding.severity is Severity.ERROR
    assert finding.path == "data.user_email"
    assert finding.message == (
        "data.user_email contains an e-mail address (r•••@example.com)"
    )
    assert "reader@example.com" not in finding.message


def test_personal_data_nested_in_a_segment_value(checker):
    findings = checker.check(
        pixel({**VALID, "profile": {"contacts": ["+44 20 7946 0958"]}})
    )

    finding = only(findings, "pii.phone")
    assert finding.path == "data.profile.contacts[0]"


def test_long_numbers_in_segment_values(checker):
    findings = checker.check(
        pixel({**VALID, "customer": 123456789012, "member": "M-987654321"})
    )

    long_numbers = [f for f in findings if f.code == "pii.long-number"]
    assert [f.path for f in long_numbers] == ["data.customer", "data.member"]
    assert "12•••12 (12 digits)" in long_numbers[0].message


def test_email_in_the_page_url_is_found_after_decoding(checker):
    page = (
        "https://www.example.com/newsletter/landing.htm?nl=pets&e=reader%40example.com"
    )

    findings = checker.check(pixel(VALID, url=page))

    emails = [f for f in findings if f.code == "pii.email"]
    assert [f.path for f in emails] == ["url.e"]
    assert emails[0].message == (
        "url (query parameter 'e') contains an e-mail address (r•••@example.com)"
    )


def test_the_page_address_and_its_session_copy_make_one_finding(checker):
    page = "https://www.example.com/landing.htm?e=reader%40example.com"
    referrer = "https://mail.example.net/read?to=reader%40example.com"

    findings = checker.check(
        pixel(VALID, url=page, surl=page, urlref=referrer, sref=referrer)
    )

    emails = [f for f in findings if f.code == "pii.email"]
    assert [(f.path, f.message) for f in emails] == [
        (
            "url.e",
            "url and surl (query parameter 'e') contain an e-mail address "
            "(r•••@example.com)",
        ),
        (
            "urlref.to",
            "urlref and sref (query parameter 'to') contain an e-mail address "
            "(r•••@example.com)",
        ),
    ]


def test_different_addresses_in_url_and_surl_stay_apart(checker):
    findings = checker.check(
        pixel(
            VALID,
            url="https://www.example.com/?e=reader%40example.com",
            surl="https://www.example.com/?e=other%40example.org",
        )
    )

    emails = [f for f in findings if f.code == "pii.email"]
    assert [f.path for f in emails] == ["url.e", "surl.e"]
    assert emails[1].message == (
        "surl (query parameter 'e') contains an e-mail address (o•••@example.org)"
    )


def test_one_visitor_id_in_u_and_in_data_makes_one_finding(checker):
    data = {**VALID, "parsely_site_uuid": "reader@example.com"}

    findings = checker.check(pixel(data, u="pid=reader@example.com"))

    (email,) = [f for f in findings if f.code == "pii.email"]
    assert email.path == "u"
    assert email.message == (
        "the visitor ids 'u' and data.parsely_site_uuid contain an e-mail address "
        "(r•••@example.com)"
    )


def test_email_in_a_campaign_parameter_is_reported_once(checker):
    page = "https://www.example.com/?utm_source=reader%40example.com&utm_medium=email"

    emails = [f for f in checker.check(pixel(VALID, url=page)) if f.code == "pii.email"]

    assert [f.path for f in emails] == ["url.utm_source"]
    assert "reader@example.com" not in emails[0].message


def test_long_numbers_count_in_campaign_values_except_campaign_ids(checker):
    page = "https://www.example.com/?utm_campaign=123456789012&_ebid=987654321"

    findings = checker.check(pixel(VALID, url=page))

    assert [f.path for f in findings if f.code == "pii.long-number"] == ["url._ebid"]


def test_long_number_in_the_url_path(checker):
    page = "https://www.example.com/account/123456789012/settings"

    finding = only(checker.check(pixel(VALID, url=page)), "pii.long-number")

    assert finding.path == "url"
    assert finding.message.startswith("url (path) contains a long numeric id")


def test_different_emails_as_visitor_id_and_legacy_site_uuid_stay_apart(checker):
    event = pixel(
        {**VALID, "parsely_site_uuid": "reader@example.com"}, u="other@example.org"
    )

    emails = [f for f in checker.check(event) if f.code == "pii.email"]

    assert [f.path for f in emails] == ["u", "data.parsely_site_uuid"]
    assert emails[0].message == (
        "the visitor id 'u' contains an e-mail address (o•••@example.org)"
    )


def test_a_real_pixel_has_no_personal_data():
    """Timestamps, UUIDs, screen sizes and session ids are not personal data."""
    url = (
        "https://p1.parsely.com/plogger/?rand=1700000000123&plid=48213377"
        "&idsite=example.com&url=https%3A%2F%2Fwww.example.com%2Ftest%2F%3F_%3D1700000000999"
        "&urlref=https%3A%2F%2Fwww.google.com%2F&screen=1920x1080%7C1920x1055%7C24"
        "&data=%7B%22test%22%3A%22true%22%2C%22ts%22%3A1700000000123%7D&sid=12"
        "&surl=https%3A%2F%2Fwww.example.com%2Ftest%2F&sref=https%3A%2F%2Fwww.google.com%2F"
        "&sts=1699990000456&slts=1690000000789"
        "&date=Wed+Nov+15+2023+09%3A13%3A20+GMT%2B0000+(Coordinated+Universal+Time)"
        "&action=heartbeat&inc=5&tt=4908&pvid=123456789012"
        "&u=pid%3D0f1e2d3c-4b5a-4968-8776-123456789012"
    )
    [event] = decode_request(CapturedRequest("GET", url, request_id="r1"))

    findings = EventChecker(default_spec()).check(event)

    assert [f for f in findings if f.code.startswith("pii.")] == []


def test_personal_data_checks_can_be_turned_off():
    spec = parse_spec("unknown_keys: allow\npii: {enabled: false}\n")

    findings = EventChecker(spec).check(pixel({"email": "reader@example.com"}))

    assert findings == []


def test_known_safe_keys_can_be_skipped():
    spec = parse_spec("unknown_keys: allow\npii: {skip_keys: [order_id]}\n")
    checker = EventChecker(spec)

    assert checker.check(pixel({"order_id": "123456789012"})) == []
    assert codes(checker.check(pixel({"other_id": "123456789012"}))) == [
        "pii.long-number"
    ]


def test_personal_data_is_found_on_sites_outside_the_spec(checker):
    findings = checker.check(
        pixel({"email": "reader@example.com"}, idsite="other.example")
    )

    assert codes(findings) == ["spec.site-not-covered", "pii.email"]


def test_personal_data_in_the_title_and_other_free_text_is_reported(checker):
    findings = checker.check(
        pixel(
            VALID,
            title="Hello john.smith@example.org",
            metadata='{"authors": ["+44 20 7946 0958"]}',
            plan_id="123456789012",
        )
    )

    by_path = {(f.path, f.code): f.message for f in findings if f.code[:4] == "pii."}
    assert by_path == {
        ("title", "pii.email"): "title contains an e-mail address (j•••@example.org)",
        ("metadata", "pii.phone"): "metadata contains a phone number "
        "(•••58 (12 digits))",
        ("plan_id", "pii.long-number"): "the parameter 'plan_id' contains a long "
        "numeric id (12•••12 (12 digits))",
    }


def test_personal_data_in_a_parameter_name_is_reported(checker):
    event = pixel(VALID, **{"ivan.lee@example.org": "1"})
    findings = checker.check(event)

    finding = only(findings, "pii.email")
    assert (finding.path, finding.message, finding.evidence) == (
        "ivan.lee@example.org",
        "a parameter name contains an e-mail address (i•••@example.org)",
        "ivan.lee@example.org",
    )
    top_level = only(list(event.findings), "params.top-level-segment")
    assert top_level.message.startswith("'ivan.lee@example.org=1' is a top-level")


def test_personal_data_in_a_data_key_is_reported_on_every_event(checker):
    data = {**VALID, "carol.jones@example.org": "yes", "nested": {"+1 415 555 0123": 1}}

    for request_id in ("r1", "r2"):
        findings = checker.check(pixel(data, request_id=request_id))

        pii = [(f.code, f.path, f.message) for f in findings if f.code[:4] == "pii."]
        assert pii == [
            (
                "pii.email",
                "data",
                "a key of data contains an e-mail address (c•••@example.org)",
            ),
            (
                "pii.phone",
                "data.nested",
                "data.nested contains a phone number (•••23 (11 digits))",
            ),
        ]


def test_a_declared_or_skipped_key_is_not_personal_data():
    spec = parse_spec("unknown_keys: allow\npii: {skip_keys: ['123456789012']}\n")

    assert EventChecker(spec).check(pixel({"123456789012": "x"})) == []


def test_personal_data_in_a_query_parameter_name_of_the_page_url(checker):
    page = "https://www.example.com/a?reader%40example.com=1&x=2"

    finding = only(checker.check(pixel(VALID, url=page)), "pii.email")

    assert (finding.path, finding.message) == (
        "url",
        "url (a query parameter name) contains an e-mail address (r•••@example.com)",
    )


@pytest.mark.parametrize(
    ("data", "where", "shown"),
    [
        (
            "{e:'ab@example.org', f:'cd@example.org'}",
            "data as sent",
            "a•••@example.org",
        ),
        ('"ab@example.org"', "data as sent", "a•••@example.org"),
        ('["cd@example.org", "ef@example.org"]', "data as sent", "c•••@example.org"),
        ('{"a": "gh@example.org", "b": "x', "data as sent", "g•••@example.org"),
        ('{"a": "ij@example.org \x1b[31m"}', "data as sent", "i•••@example.org"),
        (
            "%7B%22m%22%3A%22kl%40example.org%22%7B",
            "data as sent",
            "k•••@example.org",
        ),
        (
            '{"a": "mn@example.org", "a": "x"}',
            "data (a value that a repeated key overrides)",
            "m•••@example.org",
        ),
    ],
)
def test_personal_data_in_data_that_is_no_json_object_is_reported_once(
    checker, data, where, shown
):
    findings = checker.check(pixel(data))

    pii = [(f.code, f.path, f.message) for f in findings if f.code[:4] == "pii."]
    assert pii == [
        ("pii.email", "data", f"{where} contains an e-mail address ({shown})")
    ]


def test_a_repeated_key_s_value_found_in_a_segment_is_not_reported_twice(checker):
    findings = checker.check(pixel('{"a": "x", "a": "mn@example.org"}'))

    pii = [(f.code, f.path) for f in findings if f.code[:4] == "pii."]
    assert pii == [("pii.email", "data.a")]


def test_personal_data_findings_keep_the_whole_value_as_evidence(checker):
    findings = checker.check(pixel({**VALID, "contact": "+44 20 7946 0958"}))

    phone = only(findings, "pii.phone")
    assert phone.message == "data.contact contains a phone number (•••58 (12 digits))"
    assert phone.evidence == "+44 20 7946 0958"
    assert (
        only(
            checker.check(pixel({**VALID, "plan": "x"})), "segment.value-not-allowed"
        ).evidence
        is None
    )


def test_the_tracker_s_own_parameters_are_not_free_text(checker):
    # `date`, `screen`, `rand`, `sts` and the ids are made by the tracker.
    findings = checker.check(pixel(VALID, title="Issue 2024-000123, 48213377 words"))

    assert findings == []


def test_the_long_number_threshold_comes_from_the_spec():
    spec = parse_spec("unknown_keys: allow\npii: {long_number_digits: 12}\n")
    checker = EventChecker(spec)

    assert checker.check(pixel({"id": "12345678901"})) == []
    assert codes(checker.check(pixel({"id": "123456789012"}))) == ["pii.long-number"]
