"""The replay helpers: what they return and how their failures read."""

import json
from pathlib import Path
from urllib.parse import quote

import pytest

from inspector.testing import ReplayError, replay

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "fixtures" / "recordings" / "demo.mitm"
EXAMPLE_SPEC = ROOT / "fixtures" / "specs" / "example.yaml"
REQUESTS = ROOT / "fixtures" / "requests"


@pytest.fixture(scope="module")
def demo():
    return replay(DEMO, spec=EXAMPLE_SPEC)


def test_replay_exposes_events_counts_and_coverage(demo):
    assert len(demo.events) == 15
    assert len(demo.events_of("pageview")) == 9
    assert demo.segment_counts["plan"] == {
        '"basic"': 5,
        '"subscriber"': 2,
        '"undefined"': 1,
        '"premium"': 3,
        "null": 1,
    }
    assert demo.scenario_coverage["anonymous"] == []
    assert len(demo.scenario_coverage["subscriber"]) == 1


def test_replay_takes_recordings_as_arguments_or_as_a_list(demo):
    har = DEMO.with_suffix(".har")

    as_arguments = replay(DEMO, har, spec=EXAMPLE_SPEC)
    as_list = replay([DEMO, har], spec=EXAMPLE_SPEC)

    assert len(as_list.events) == len(as_arguments.events) == 2 * len(demo.events)
    assert {event.request.source for event in as_list.events} == {
        "demo.mitm",
        "demo.har",
    }


def test_replay_of_nothing_says_so():
    with pytest.raises(ReplayError, match="at least one recording"):
        replay([], spec=EXAMPLE_SPEC)


def test_no_findings_failure_lists_each_offending_event(demo):
    with pytest.raises(AssertionError) as failure:
        demo.assert_no_findings(at_least="error")

    text = str(failure.value)
    assert text.startswith("4 finding(s) at or above error:")
    assert "pii.email" in text
    assert "data.not-json" in text
    assert "page.segment-after-pageview" in text
    assert "segment.placeholder" not in text, "warnings stay below the threshold"


def test_personal_data_is_masked_in_failures_unless_asked(demo):
    with pytest.raises(AssertionError) as masked:
        demo.assert_no_findings(at_least="error")
    assert "sam.reader@example.com" not in str(masked.value)

    revealing = replay(DEMO, spec=EXAMPLE_SPEC, show_pii=True)
    with pytest.raises(AssertionError) as shown:
        revealing.assert_no_findings(at_least="error")
    assert "sam.reader@example.com" in str(shown.value)


PIXEL = (
    "https://p1.parsely.com/plogger/?rand=1700000000000&idsite=example.com"
    "&action=pageview&data=%7B%22plan%22%3A%22basic%22%7D&url="
)


def _plan_failure(tmp_path, page: str) -> str:
    """The failure text of asserting plan=premium on one basic pageview of `page`."""
    recording = tmp_path / "pixel.txt"
    recording.write_text(PIXEL + page + "\n")
    with pytest.raises(AssertionError) as failure:
        replay(recording).assert_segment("plan", "premium")
    return str(failure.value)


def test_urls_in_failure_tables_are_masked_before_they_are_cut(tmp_path):
    page = "https%3A%2F%2Fexample.com%2Fc%3Femail%3Djohn.doe%252Bx%2540example.org"
    text = _plan_failure(tmp_path, page)
    assert "john.doe" not in text
    assert "https://example.com/c?email=«email»" in text


def test_failure_tables_escape_control_characters_from_the_traffic(tmp_path):
    page = "https%3A%2F%2Fexample.com%2F%1B%5B31mRED%07"
    text = _plan_failure(tmp_path, page)
    assert "\x1b" not in text and "\x07" not in text
    assert "https://example.com/\\x1b[31mRED\\x07" in text


def test_ignored_codes_do_not_fail(demo):
    demo.assert_no_findings(
        at_least="error",
        ignore=[
            "pii.email",
            "data.not-json",
            "segment.required-missing",
            "page.segment-after-pageview",
        ],
    )


def test_segment_assertion_shows_what_was_sent_instead(demo):
    with pytest.raises(AssertionError) as failure:
        demo.assert_segment("plan", "premium")

    lines = str(failure.value).splitlines()
    assert lines[0] == '7 of 9 pageview event(s) did not send plan="premium":'
    assert any('"basic"' in line for line in lines)
    assert any("(absent)" in line for line in lines)


def test_segment_assertion_tells_a_boolean_from_its_string():
    session = replay(REQUESTS / "01-heartbeat-string-typed-bool.txt")

    session.assert_segment("subscriber", "true", on=["heartbeat"])
    with pytest.raises(AssertionError, match="did not send subscriber=true:"):
        session.assert_segment("subscriber", True, on=["heartbeat"])


def test_segment_assertion_without_matching_events_says_so(demo):
    with pytest.raises(AssertionError, match="no videostart events"):
        demo.assert_segment("plan", "basic", on=["videostart"])


def test_scenario_assertion_names_the_missing_scenario(demo):
    demo.assert_scenarios_covered("subscriber")

    with pytest.raises(AssertionError) as failure:
        demo.assert_scenarios_covered()
    assert "1 of 2 scenario(s) never seen:" in str(failure.value)
    text = str(failure.value)
    assert "- anonymous: Signed out, no plan." in text
    # What the scenario needs, then what the pageviews sent for those keys instead.
    lines = text.splitlines()
    needs = lines.index(
        "    needs a pageview with logged_in = false, plan = null, "
        "no `articles_read` key"
    )
    assert lines[needs + 1] == "    the 9 pageview(s) sent:"
    assert '      logged_in=true plan="basic" articles_read=(absent)  ×2' in lines
    assert "      … and 1 more" in lines

    with pytest.raises(AssertionError, match="not in the spec: premium"):
        demo.assert_scenarios_covered("premium")


def test_diagnosis_assertion_names_kind_and_evidence(demo):
    demo.assert_no_diagnosis("page.duplicate-pageview")

    with pytest.raises(AssertionError) as failure:
        demo.assert_no_diagnosis("page.segment-after-pageview")
    text = str(failure.value)
    assert "1 page-level diagnosis(es) of kind page.segment-after-pageview:" in text
    assert "heartbeat" in text and "pageview" in text


def test_unreadable_recording_raises_naming_the_file(tmp_path):
    broken = tmp_path / "broken.har"
    broken.write_text('{"log": {"entries": [{"request": {}}]}}')

    with pytest.raises(ReplayError, match="broken.har"):
        replay(broken)

    tolerant = replay(broken, allow_unreadable=True)
    assert tolerant.events == []
    with pytest.raises(AssertionError, match="broken.har"):
        tolerant.assert_readable()


def test_scenario_on_standard_segments_shows_the_values_sent(tmp_path):
    spec = tmp_path / "segments.yaml"
    spec.write_text(
        "version: 1\n"
        "scenarios:\n"
        "  - name: paid social\n"
        "    standard: {medium: cpc}\n"
        "  - name: from the UK\n"
        "    standard: {country: GB}\n"
    )
    session = replay(REQUESTS / "demo.txt", spec=spec)

    with pytest.raises(AssertionError) as failure:
        session.assert_scenarios_covered()

    lines = str(failure.value).splitlines()
    assert lines[0] == "2 of 2 scenario(s) never seen:"
    assert '    needs a pageview with standard medium = "cpc"' in lines
    assert '      medium="email"  ×1' in lines
    # The demo's addresses are documentation ones: no database would locate them.
    assert lines[-1] == (
        "    no pageview has a location: their client addresses are missing, "
        "private or not in the GeoIP database"
    )
    assert session.standard_counts["medium"] == {"email": 1}


def test_a_scenario_on_geography_asks_for_a_database_when_one_would_help(tmp_path):
    spec = tmp_path / "segments.yaml"
    spec.write_text("scenarios:\n  - name: from the UK\n    standard: {country: GB}\n")
    recording = tmp_path / "public.txt"
    recording.write_text(
        "# @client=81.2.69.160\n"
        "https://p1.parsely.com/plogger/?rand=1700000000000&idsite=example.com"
        "&url=https%3A%2F%2Fexample.com%2F&action=pageview\n"
    )

    with pytest.raises(AssertionError) as failure:
        replay(recording, spec=spec).assert_scenarios_covered()

    assert str(failure.value).splitlines()[-1] == (
        "    no pageview has a location: replay with geoip_db=PATH "
        "(a MaxMind .mmdb) to check geography"
    )


def test_segment_assertion_takes_one_event_kind_as_a_string(demo):
    with pytest.raises(AssertionError) as failure:
        demo.assert_segment("plan", "no-such-plan", on="heartbeat")

    assert (
        str(failure.value)
        .splitlines()[0]
        .endswith('heartbeat event(s) did not send plan="no-such-plan":')
    )


def test_severity_names_are_forgiving_and_a_wrong_one_is_explained(demo):
    with pytest.raises(AssertionError, match="at or above error:"):
        demo.assert_no_findings(at_least="ERROR")

    with pytest.raises(ValueError, match="'warn' is not a severity: use one of"):
        demo.assert_no_findings(at_least="warn")


@pytest.mark.parametrize(
    "assertion",
    [
        lambda session: session.assert_no_findings(at_least="info"),
        lambda session: session.assert_no_diagnosis(),
        lambda session: session.assert_scenarios_covered(),
        lambda session: session.assert_segment("plan", "premium"),
    ],
    ids=["no_findings", "no_diagnosis", "scenarios_covered", "segment"],
)
def test_every_assertion_fails_on_a_recording_without_pixels(tmp_path, assertion):
    recording = tmp_path / "pages-only.txt"
    recording.write_text(
        "GET https://www.example.com/\n---\nGET https://www.example.com/app.js\n"
    )
    session = replay(recording)

    with pytest.raises(AssertionError) as caught:
        assertion(session)

    assert str(caught.value) == (
        "no pixels were found (no pixel event in 2 requests), so there is nothing "
        "to assert on: if the site sends its pixels to a first-party host, give a "
        "spec that lists it under first_party_hosts"
    )


def test_without_pixels_a_given_spec_is_the_place_for_first_party_hosts(tmp_path):
    recording = tmp_path / "pages-only.txt"
    recording.write_text("GET https://www.example.com/\n")
    session = replay(recording, spec=EXAMPLE_SPEC)

    with pytest.raises(AssertionError) as caught:
        session.assert_no_findings()

    assert str(caught.value).endswith(
        "if the site sends its pixels to a first-party host, list it under "
        "first_party_hosts in the spec"
    )


def _pageview_line(number: int, segments: dict) -> str:
    data = quote(json.dumps(segments))
    return (
        f"https://p1.parsely.com/plogger/?rand=17180046001{number:02d}"
        "&idsite=example.com&url=https%3A%2F%2Fwww.example.com%2F"
        f"&action=pageview&data={data}&u=pid%3D2b7e1c90-5d3a-4f6e-8a1b-9c0d1e2f3a4b\n"
    )


def test_a_huge_value_is_cut_in_the_failure_table(tmp_path):
    recording = tmp_path / "huge.txt"
    recording.write_text(
        _pageview_line(1, {"plan": "x" * 100_000})
        + "".join(_pageview_line(n, {"plan": "basic"}) for n in range(2, 12))
    )
    session = replay(recording)

    with pytest.raises(AssertionError) as caught:
        session.assert_segment("plan", "premium")
    with pytest.raises(AssertionError) as all_findings:
        session.assert_no_findings(at_least="info")

    message = str(caught.value)
    assert "11 of 11 pageview event(s) did not send" in message
    assert "…(100002 chars)" in message
    assert len(message) < 3_000
    assert len(str(all_findings.value)) < 6_000


def test_a_misspelt_diagnosis_code_is_an_error_not_a_pass(demo):
    assert any(d.code == "page.segment-after-pageview" for d in demo.diagnoses)

    with pytest.raises(ValueError) as caught:
        demo.assert_no_diagnosis("page.segment-after-pagevew")

    assert str(caught.value) == (
        "'page.segment-after-pagevew' is not a diagnosis code; "
        "did you mean 'page.segment-after-pageview'?"
    )


def test_a_misspelt_ignored_finding_code_is_an_error(demo):
    with pytest.raises(ValueError, match="did you mean 'segment.unknown-key'"):
        demo.assert_no_findings(ignore=["segment.unknown-kye"])


def test_an_unknown_code_without_a_near_miss_lists_the_codes(demo):
    with pytest.raises(ValueError) as caught:
        demo.assert_no_diagnosis("nonsense")

    assert "the diagnosis codes are page.duplicate-pageview," in str(caught.value)


def test_a_segment_key_neither_declared_nor_sent_fails_with_a_hint(demo):
    with pytest.raises(AssertionError) as caught:
        demo.assert_segment("plann", "premium")

    assert str(caught.value) == (
        "'plann' is not declared in the spec and no event sent it; did you mean 'plan'?"
    )


def test_a_key_no_event_sent_without_a_spec_speaks_of_no_spec():
    session = replay(DEMO)
    with pytest.raises(AssertionError) as caught:
        session.assert_segment("plna", "premium")

    assert str(caught.value) == (
        "'plna' was sent by no event (no spec was given to declare keys); "
        "did you mean 'plan'?"
    )


def test_all_scenarios_covered_fails_when_there_are_none_to_check(tmp_path):
    no_scenarios = tmp_path / "segments.yaml"
    no_scenarios.write_text("version: 1\nsegments:\n  plan: {type: string}\n")

    with pytest.raises(AssertionError) as without_spec:
        replay(DEMO).assert_scenarios_covered()
    with pytest.raises(AssertionError) as without_scenarios:
        replay(DEMO, spec=no_scenarios).assert_scenarios_covered()

    assert str(without_spec.value) == (
        "no spec was given, so there are no scenarios to check; give one with "
        "spec= (to replay() or segment_replay()), --segment-spec or the "
        "segment_spec ini setting"
    )
    assert str(without_scenarios.value) == (
        "the spec declares no scenarios, so there is nothing to check: add them "
        "under scenarios: in the spec"
    )


def test_scenarios_asked_for_without_a_spec_say_none_was_given():
    session = replay(DEMO)
    with pytest.raises(AssertionError) as caught:
        session.assert_scenarios_covered("subscriber")

    assert str(caught.value) == (
        "no spec was given, so there are no scenarios: subscriber; give one with "
        "spec= (to replay() or segment_replay()), --segment-spec or the "
        "segment_spec ini setting"
    )


@pytest.mark.parametrize("on", [["pagevew"], ["pageview", "hearbeat"]])
def test_a_misspelt_event_kind_fails_with_a_hint(demo, on):
    with pytest.raises(AssertionError) as caught:
        demo.assert_segment("plan", "premium", on=on)

    wrong = on[-1]
    right = {"pagevew": "pageview", "hearbeat": "heartbeat"}[wrong]
    assert str(caught.value) == (
        f"no event has the kind {wrong!r}, and no tracker sends it; "
        f"did you mean {right!r}?"
    )


def test_one_recording_without_pixels_among_others_fails_the_assertions(tmp_path):
    empty = tmp_path / "day2.txt"
    empty.write_text("GET https://www.example.com/\n")

    session = replay(DEMO, empty, spec=EXAMPLE_SPEC)
    alone = replay(DEMO, spec=EXAMPLE_SPEC)

    with pytest.raises(AssertionError) as failed:
        session.assert_pixels_found()
    assert str(failed.value).startswith(
        "no pixels were found (no pixel event in day2.txt), so there is nothing"
    )
    assert session.sources == ["demo.mitm", "day2.txt"]
    alone.assert_pixels_found()
