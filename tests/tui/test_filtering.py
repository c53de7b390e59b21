"""The events filter language, on reports of the known recording."""

from __future__ import annotations

import pytest
from conftest import inspect, known_requests

from inspector.tui.filtering import parse_filter


@pytest.fixture
def reports(spec):
    return inspect(known_requests(), spec)


def matching(text: str, reports) -> list[str]:
    """The url paths of the reports a filter keeps."""
    event_filter = parse_filter(text)
    return [
        report.event.url.split("/", 3)[3]
        + ("#hb" if report.event.action == "heartbeat" else "")
        for report in reports
        if event_filter.matches(report)
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["news/story-1", "news/story-1#hb", "news/story-2", "about", "home"]),
        ("action:heartbeat", ["news/story-1#hb"]),
        ("ACTION:Heartbeat", ["news/story-1#hb"]),
        ("site:other", ["home"]),
        ("severity:error", ["about"]),
        ("severity:warning", ["news/story-1#hb", "about"]),
        ("severity:w", ["news/story-1#hb", "about"]),
        ("code:data.", ["about"]),
        ("plan=premium", ["news/story-1", "news/story-1#hb"]),
        ('plan="premium"', ["news/story-1", "news/story-1#hb"]),
        ("logged_in=true", ["news/story-1"]),
        ('logged_in="true"', ["news/story-1#hb"]),
        ("plan=null", ["news/story-2"]),
        ("region=*", []),
        ("plan=*", ["news/story-1", "news/story-1#hb", "news/story-2", "home"]),
        ("story-2", ["news/story-2"]),
        ("TODO", ["about"]),
        ("-action:pageview", ["news/story-1#hb"]),
        ("plan=premium -action:heartbeat", ["news/story-1"]),
        (
            '"story one |"',
            ["news/story-1", "news/story-1#hb", "news/story-2", "about", "home"],
        ),
        ("title=story", []),
    ],
)
def test_filter_terms(text, expected, reports):
    assert matching(text, reports) == expected


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("severity:fatal", "unknown severity 'fatal': use error, warning or info"),
        ("severity:", "severity: needs a value, such as severity:warning"),
        ("action:", "action: needs a value, such as action:pageview"),
        ("site:", "site: needs a value, such as site:example.com"),
        ("code:", "code: needs a value, such as code:segment."),
    ],
)
def test_a_term_that_cannot_be_understood_makes_the_filter_invalid(text, error):
    event_filter = parse_filter(f"{text} action:pageview")

    assert len(event_filter.errors) == 1
    assert event_filter.errors[0].startswith(error)
    assert not event_filter.is_valid


def test_page_diagnoses_count_for_severity_code_and_text(reports):
    from inspector.diagnoses import make_diagnosis
    from inspector.model import Severity

    heartbeat = reports[1]
    diagnosis = make_diagnosis(
        "page.segment-after-pageview",
        Severity.ERROR,
        "Segment data set after the pageview was sent (plan)",
        "explained",
        [heartbeat.event.id],
    )

    for text in ("severity:error", "code:page.", "after the pageview"):
        event_filter = parse_filter(text)
        assert not event_filter.matches(heartbeat), text
        assert event_filter.matches(heartbeat, [diagnosis]), text
    assert parse_filter("-severity:e").matches(heartbeat)
    assert not parse_filter("-severity:e").matches(heartbeat, [diagnosis])


def test_the_event_id_is_searched(reports):
    wanted = reports[3].event.id

    assert [r for r in reports if parse_filter(wanted).matches(r)] == [reports[3]]


def test_quoted_text_keeps_its_spaces(reports):
    event_filter = parse_filter('"heartbeat" "not valid"')

    assert len(event_filter.predicates) == 2
    assert not event_filter.is_empty
    assert parse_filter("   ").is_empty
