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


def test_bad_severity_is_reported_and_ignored(reports):
    event_filter = parse_filter("severity:fatal action:pageview")

    assert event_filter.errors == (
        "severity:fatal: unknown severity (use info, warning, error)",
    )
    assert len(event_filter.predicates) == 1
    assert matching("severity:fatal action:pageview", reports) == [
        "news/story-1",
        "news/story-2",
        "about",
        "home",
    ]


def test_quoted_text_keeps_its_spaces(reports):
    event_filter = parse_filter('"heartbeat" "not valid"')

    assert len(event_filter.predicates) == 2
    assert not event_filter.is_empty
    assert parse_filter("   ").is_empty
