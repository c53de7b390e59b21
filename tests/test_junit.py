"""JUnit XML output, validated against the report schema CI systems read."""

import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
import xmlschema

from inspector.junit import render_junit
from inspector.recordings import load_requests
from inspector.testing import replay

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = xmlschema.XMLSchema(Path(__file__).parent / "data" / "junit.xsd")
DEMO = ROOT / "fixtures" / "recordings" / "demo.mitm"
EXAMPLE_SPEC = ROOT / "fixtures" / "specs" / "example.yaml"


@pytest.fixture(scope="module")
def demo():
    return replay(DEMO, spec=EXAMPLE_SPEC)


def suites(xml: str) -> dict[str, ElementTree.Element]:
    root = ElementTree.fromstring(xml.encode())
    return {suite.get("name"): suite for suite in root.iter("testsuite")}


def test_output_is_valid_junit(demo):
    xml = render_junit(demo.result, demo.errors)

    SCHEMA.validate(xml)


def test_one_case_per_event_and_per_page_load(demo):
    found = suites(render_junit(demo.result))

    assert found["pixel events"].get("tests") == str(len(demo.events))
    # One more case than page loads: the session-wide scenario coverage.
    assert found["page loads"].get("tests") == str(len(demo.pages) + 1)
    session = found["page loads"].find("testcase[@name='session']")
    assert "scenario.not-covered" in session.findtext("system-out")


def test_errors_fail_cases_and_milder_findings_are_kept_as_output(demo):
    events = suites(render_junit(demo.result))["pixel events"]
    failures = [case.find("failure") for case in events.iter("testcase")]
    failed = [failure for failure in failures if failure is not None]

    assert events.get("failures") == "3"
    assert sorted(failure.get("type") for failure in failed) == [
        "data.not-json",
        "pii.email",
        "segment.required-missing",
    ]
    outputs = " ".join(case.findtext("system-out") or "" for case in events)
    assert "warning segment.placeholder" in outputs


def test_the_ordering_fault_fails_its_page_load(demo):
    pages = suites(render_junit(demo.result))["page loads"]
    failures = [case.find("failure") for case in pages.iter("testcase")]

    failed = [f for f in failures if f is not None]
    assert [f.get("type") for f in failed] == ["page.segment-after-pageview"]
    # A page-level fault has no parameter to point at, so the text names none.
    assert failed[0].text.startswith(
        "error page.segment-after-pageview: Segment data set after the pageview "
        "was sent (logged_in, plan)\n"
    )


def test_an_event_failure_names_the_parameter_it_is_about(demo):
    events = suites(render_junit(demo.result))["pixel events"]
    failures = [case.find("failure") for case in events.iter("testcase")]

    [email] = [f for f in failures if f is not None and f.get("type") == "pii.email"]
    assert email.text.startswith("error pii.email at data.")


def test_fail_on_warning_fails_more_cases(demo):
    strict = suites(render_junit(demo.result, fail_on="warning"))["pixel events"]

    assert int(strict.get("failures")) > 3


def test_personal_data_is_masked():
    leaky = replay(ROOT / "fixtures" / "requests" / "26-synthetic-pii-email.txt")

    xml = render_junit(leaky.result)

    assert "pii.email" in xml
    assert "jane.reader@example.org" not in xml
    assert "jane.reader@example.org" in render_junit(leaky.result, show_pii=True)


def test_a_parameter_name_that_is_personal_data_is_masked_in_paths(tmp_path):
    listing = tmp_path / "names.txt"
    listing.write_text(
        "https://p1.parsely.com/plogger/?rand=1700000000500&idsite=example.com"
        "&url=https%3A%2F%2Fexample.com%2Fa&action=pageview&pvid=p1&u=pid%3Dabc"
        "&plid=1&sid=1&sts=1700000000000&slts=0&data=%7B%7D&ivan.lee%40example.org=1\n"
    )
    leaky = replay(listing)

    xml = render_junit(leaky.result)

    SCHEMA.validate(xml)
    assert "error pii.email at «email»: a parameter name contains" in xml
    assert "ivan" not in xml
    assert "error pii.email at ivan.lee@example.org" in render_junit(
        leaky.result, show_pii=True
    )


def test_unreadable_input_is_an_errored_case(tmp_path, demo):
    broken = tmp_path / "broken.har"
    broken.write_text('{"log": {"entries": [{"request": {}}]}}')
    _, errors = load_requests([str(broken)])

    xml = render_junit(demo.result, errors)

    SCHEMA.validate(xml)
    recordings = suites(xml)["recordings"]
    error = recordings.find("testcase/error")
    assert error is not None and "broken.har" in error.get("message")


def test_every_case_names_the_recording_it_came_from(tmp_path):
    har = ROOT / "fixtures" / "recordings" / "demo.har"
    both = replay([DEMO, har], spec=EXAMPLE_SPEC)

    found = suites(render_junit(both.result))

    files = {
        suite: {case.get("file") for case in found[suite].iter("testcase")}
        for suite in ("pixel events", "page loads")
    }
    assert files["pixel events"] == {"demo.mitm", "demo.har"}
    assert files["page loads"] == {"demo.mitm", "demo.har", None}


BAD_URLS = {
    "unclosed-ipv6": "http://[::1",
    "nfkc-host": "http://ex\u2100ample.com/",
    "bad-port": "http://example.com:99999/",
}


def bad_url_pixels(tmp_path: Path) -> Path:
    """A request list: one pixel per malformed URL in each URL-valued parameter."""
    from urllib.parse import quote

    lines = []
    for number, (parameter, url) in enumerate(
        (parameter, url)
        for parameter in ("url", "urlref", "surl", "sref")
        for url in BAD_URLS.values()
    ):
        params = {
            "rand": str(1_700_000_000_000 + number * 1000),
            "idsite": "example.com",
            "action": "pageview",
            "pvid": str(number),
            "url": "https://example.com/",
            "data": "{}",
        }
        params[parameter] = url
        query = "&".join(
            f"{key}={quote(value, safe='')}" for key, value in params.items()
        )
        lines.append("https://p1.parsely.com/plogger/?" + query)
    path = tmp_path / "bad-urls.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_pixels_with_malformed_urls_are_cases(tmp_path, capsys):
    from inspector.cli import main

    recording = bad_url_pixels(tmp_path)

    status = main(["check", "--format", "junit", "--fail-on", "never", str(recording)])

    xml = capsys.readouterr().out
    assert status == 0
    SCHEMA.validate(xml)
    names = [case.get("name") for case in suites(xml)["pixel events"].iter("testcase")]
    assert len(names) == 12
    # The page address is shown by its path, even when its host cannot be read,
    # and whole when it has no path.
    assert names[:3] == [
        "pageview http://[::1 [bad-urls.txt:1]",
        "pageview / [bad-urls.txt:2]",
        "pageview / [bad-urls.txt:3]",
    ]
    assert set(names[3:]) == {
        f"pageview / [bad-urls.txt:{line}]" for line in range(4, 13)
    }


def test_every_event_of_a_site_the_spec_does_not_cover_says_so(tmp_path):
    from inspector.junit import SITE_NOT_COVERED_OUTPUT

    spec = tmp_path / "spec.yaml"
    spec.write_text("sites: [other.example]\nunknown_keys: allow\n")
    pixel = (
        "https://p1.parsely.com/plogger/?plid=1&sid=1&sts=1700000000000&slts=0"
        "&u=pid%3Dabc&url=https%3A%2F%2Fexample.com%2Fq&action=pageview"
        "&data=%7B%22plan%22%3A%22basic%22%7D"
    )
    recording = tmp_path / "sites.txt"
    recording.write_text(
        f"{pixel}&idsite=example.com&pvid=1&rand=1700000000000\n"
        f"{pixel}&idsite=example.com&pvid=2&rand=1700000005000"
        "&title=x%40example.org\n"
        f"{pixel}&idsite=example.com&pvid=3&rand=1700000009000\n"
        f"{pixel}&idsite=other.example&pvid=4&rand=1700000010000\n"
    )
    session = replay(recording, spec=spec)

    for fail_on in ("error", "warning"):
        xml = render_junit(session.result, fail_on=fail_on)
        SCHEMA.validate(xml)
        cases = list(suites(xml)["pixel events"].iter("testcase"))
        outputs = [(case.findtext("system-out") or "").splitlines() for case in cases]

        assert outputs == [
            [
                "info spec.site-not-covered: the spec covers other.example; "
                "example.com is checked with the built-in rules only",
                SITE_NOT_COVERED_OUTPUT,
            ],
            [
                "error pii.email: title contains an e-mail address (x•••@example.org)",
                SITE_NOT_COVERED_OUTPUT,
            ],
            [SITE_NOT_COVERED_OUTPUT],
            [],
        ]
        # The mark is a note: only the personal data fails its case.
        failed = [case.find("failure") is not None for case in cases]
        assert failed == [False, True, False, False]
        assert [case.find("skipped") for case in cases] == [None] * 4

    assert SITE_NOT_COVERED_OUTPUT == (
        "site not covered by the spec: only the built-in checks ran"
    )
