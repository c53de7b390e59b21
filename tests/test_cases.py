"""Every quirk fixture in fixtures/requests/ gets the verdict its header promises.

Each `NN-*.txt` file is replayed through the whole pipeline (decoder, checks,
standard segments, page-load rules) with the spec the case needs, and the finding
codes of every event and every page-level diagnosis are compared exactly: a missing
verdict and an unexpected extra one both fail.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from inspector.cli import main
from inspector.inspection import InspectionResult
from inspector.model import DataState, Severity, Transport
from inspector.recordings import replay
from inspector.spec import Spec, parse_spec

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "fixtures" / "requests"
CASES_SPEC = ROOT / "fixtures" / "specs" / "cases.yaml"

SUBSCRIBER_BOOLEAN = "segments:\n  subscriber: {type: boolean}\n"
PLAN_VALUES = "segments:\n  plan: {type: string, values: [basic, premium]}\n"

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


@dataclass(frozen=True)
class Case:
    number: str
    events: list[dict[str, Severity]]
    """The findings of each event (code and severity), in the order sent."""
    diagnoses: dict[str, Severity] = field(default_factory=dict)
    spec: str | None = None
    """YAML for the spec the case is judged against; None for the default."""
    with_cases_spec: list[dict[str, Severity]] | None = None
    """The events' findings under fixtures/specs/cases.yaml, when not `events`."""


CASE_TABLE = [
    Case("01", [{"segment.type-mismatch": WARNING}], spec=SUBSCRIBER_BOOLEAN),
    Case("02", [{"segment.type-mismatch": WARNING}], spec=SUBSCRIBER_BOOLEAN),
    Case("04", [{}]),
    Case("06", [{"params.legacy-ids": INFO}]),
    Case("07", [{"params.legacy-ids": INFO}]),
    Case(
        "09",
        [{"segment.required-missing": ERROR}],
        spec="segments:\n  plan: {type: string, required: true}\n",
        with_cases_spec=[{}],
    ),
    Case("10", [{"data.absent": INFO}, {"data.absent": INFO}]),
    Case("11", [{"data.not-json": ERROR, "params.top-level-segment": INFO}]),
    Case("14", [{"session.sts-zero": WARNING}, {"session.sts-zero": WARNING}]),
    Case("15", [{}], diagnoses={"page.heartbeat-without-pageview": WARNING}),
    Case(
        "16",
        [{"segment.reserved-prefix": INFO}, {"segment.reserved-prefix": INFO}],
        spec=(
            "segments:\n  _member_tier:\n    type: string\n"
            "    values: [gold, silver, guest]\n    events: [pageview, heartbeat]\n"
        ),
    ),
    Case("18", [{}, {"params.js-flag": INFO}, {}]),
    Case(
        "19",
        [{}, {}],
        spec="segments:\n  has_account: {type: boolean, required: true}\n",
    ),
    Case("21", [{}, {}], spec=PLAN_VALUES),
    Case("22", [{}, {}], diagnoses={"page.segment-after-pageview": ERROR}),
    Case("23", [{"segment.placeholder": WARNING}] * 3, spec=PLAN_VALUES),
    Case(
        "25",
        [
            {"url.oversized": WARNING, "segment.value-too-long": WARNING},
            {"url.truncated": ERROR, "data.not-json": ERROR, "action.missing": ERROR},
        ],
    ),
    Case(
        "26",
        [
            {"pii.email": ERROR, "params.legacy-ids": INFO},
            {"pii.email": ERROR},
            {"pii.email": ERROR},
        ],
    ),
    Case("29", [{}, {}], diagnoses={"page.duplicate-pageview": WARNING}),
]


def case_file(number: str) -> Path:
    (path,) = CASES.glob(f"{number}-*.txt")
    return path


def judge(case: Case) -> InspectionResult:
    spec: Spec | None = (
        parse_spec(case.spec, f"case {case.number}") if case.spec else None
    )
    result, errors = replay([case_file(case.number)], spec)
    assert errors == []
    return result


def test_every_fixture_is_in_the_table():
    numbered = sorted(path.name[:2] for path in CASES.glob("[0-9][0-9]-*.txt"))

    assert numbered == [case.number for case in CASE_TABLE]


@pytest.mark.parametrize("case", CASE_TABLE, ids=lambda case: case.number)
def test_case_verdicts(case: Case):
    result = judge(case)

    events = [
        {f.code: f.severity for f in report.findings} for report in result.reports
    ]
    diagnoses = {d.code: d.severity for d in result.diagnoses}
    assert events == case.events
    assert diagnoses == case.diagnoses


@pytest.mark.parametrize("case", CASE_TABLE, ids=lambda case: case.number)
def test_check_with_the_cases_spec_gives_each_verdict(case: Case, capsys):
    status = main(
        ["check", "--spec", str(CASES_SPEC), "--format", "json", "--fail-on", "never"]
        + [str(case_file(case.number))]
    )
    document = json.loads(capsys.readouterr().out)

    assert status == 0
    events = [
        {f["code"]: Severity(f["severity"]) for f in event["findings"]}
        for event in document["events"]
    ]
    diagnoses = {d["code"]: Severity(d["severity"]) for d in document["diagnoses"]}
    assert events == (case.with_cases_spec or case.events)
    assert diagnoses == case.diagnoses


@pytest.mark.parametrize("case", CASE_TABLE, ids=lambda case: case.number)
def test_case_headers_state_the_expected_verdict(case: Case):
    header = [
        line
        for line in case_file(case.number).read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    ]
    text = "\n".join(header)

    assert header[0].startswith(f"# case {case.number}: ")
    assert "expect" in text
    for code in case.diagnoses:
        assert code in text, f"the header should name {code}"


# --------------------------------------------------------------------------------------
# What the headers promise beyond finding codes


def reports_of(number: str, spec: str | None = None):
    case = next(case for case in CASE_TABLE if case.number == number)
    if spec is not None:
        case = dataclasses.replace(case, spec=spec)
    return judge(case).reports


def test_01_lone_heartbeat_with_pvid_is_no_ordering_fault():
    (report,) = reports_of("01")

    assert report.event.action == "heartbeat"
    assert report.event.segments == {"subscriber": "true"}
    assert report.event.params["inc"] == "5"
    assert report.event.params["tt"] == "4821"
    (mismatch,) = report.findings
    assert mismatch.severity is Severity.WARNING
    assert mismatch.path == "data.subscriber"


def test_02_conversion_keys_are_the_trackers_not_segments():
    (report,) = reports_of("02")

    assert report.event.action == "conversion"
    assert report.event.segments == {"subscriber": "true"}
    assert report.event.data["_conversion_type"] == "newsletter_signup"


def test_04_dated_host_and_curly_apostrophe():
    (report,) = reports_of("04")
    event = report.event

    assert event.request.host == "srv-2019-04-15-06.pixel.parsely.com"
    assert event.params["title"] == "Example Evening: The week’s best long reads"
    assert event.segments == {}
    assert event.visitor == event.data["parsely_site_uuid"]
    assert report.standard.referrer_category == "direct"


def test_06_campaign_from_the_page_url_decoded_once():
    (report,) = reports_of("06")

    assert "&utm_medium=social-post" in report.event.url
    campaign = report.standard.campaign
    assert (campaign.source, campaign.medium, campaign.campaign) == (
        "facebook",
        "social-post",
        "SpringTrips",
    )
    assert report.standard.referrer_category == "social"
    assert report.event.segments == {}


def test_07_legacy_pageview_is_internal_traffic_with_info_only():
    (report,) = reports_of("07")

    assert report.event.params["title"] == (
        "Letters to the Editor - Views, Replies, and Corrections"
    )
    assert report.standard.referrer_category == "internal"
    assert {finding.severity for finding in report.findings} == {Severity.INFO}


def test_09_px_endpoint_and_japanese_time_zone():
    (report,) = reports_of("09", spec="version: 1\n")

    assert report.event.request.path == "/px/"
    assert report.event.data_state is DataState.OK
    assert report.event.data == {}
    assert report.event.params["date"].endswith("GMT+0900 (日本標準時)")
    assert report.event.params["title"] == "Front page | Example Works"


def test_10_amp_events_decode_raw_braces_and_carry_no_data():
    pageview, heartbeat = reports_of("10")

    assert pageview.event.transport is Transport.AMP
    assert pageview.event.metadata == {
        "canonical_url": "https://www.example.org/travel/"
    }
    assert pageview.event.params["title"] == "Weekend Trips Guide"
    assert pageview.event.visitor == heartbeat.event.visitor
    for report in (pageview, heartbeat):
        (absent,) = report.findings
        assert absent.severity is Severity.INFO


def test_11_placeholder_data_is_an_error_and_amp_flag_harmless():
    (report,) = reports_of("11")

    severities = {f.code: f.severity for f in report.findings}
    assert severities["data.not-json"] is Severity.ERROR
    assert severities["params.top-level-segment"] is Severity.INFO


def test_14_only_the_session_start_is_flagged():
    reports = reports_of("14")

    assert [r.event.action for r in reports] == ["pageview", "heartbeat"]
    for report in reports:
        (finding,) = report.findings
        assert finding.severity is Severity.WARNING
        assert "slts" not in (finding.path or "")


def test_19_false_is_present_not_missing():
    reports = reports_of("19")

    assert [r.event.segments for r in reports] == [{"has_account": False}] * 2


def test_25_the_cut_copy_loses_everything_after_data():
    whole, cut = reports_of("25")

    assert len(whole.event.request.url) > 8192
    assert len(cut.event.request.url) == 8192
    assert cut.event.action is None
    assert cut.event.data_state is DataState.INVALID


def test_26_email_found_in_each_place_once():
    server, landing, segment = reports_of("26")

    def emails(report):
        return [f for f in report.findings if f.code == "pii.email"]

    # Three places, one error each: the visitor ids (u and data's copy), the page
    # address (url and its session copy surl) and a custom key.
    assert [f.path for f in emails(server)] == ["u"]
    assert "the visitor ids 'u' and data.parsely_site_uuid" in emails(server)[0].message
    assert [f.path for f in emails(landing)] == ["url.e"]
    assert emails(landing)[0].message.startswith("url and surl (query parameter 'e')")
    assert landing.event.segments == {"signed_in": True}
    # The later pageview's session landing page is still the address with it.
    assert [f.path for f in emails(segment)] == ["data.contact_email", "surl.e"]
    for report in (server, landing, segment):
        assert all(f.severity is Severity.ERROR for f in emails(report))
