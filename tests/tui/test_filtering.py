"""The events filter language, on reports of the known recording."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from conftest import START, inspect, known_requests, pixel_url
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspector.model import CapturedRequest
from inspector.tui import filtering
from inspector.tui.filtering import SearchTexts, parse_filter, searchable_text


@pytest.fixture
def reports(spec):
    return inspect(known_requests(), spec)


def matching(text: str, reports, texts: SearchTexts | None = None) -> list[str]:
    """The url paths of the reports a filter keeps."""
    event_filter = parse_filter(text, texts)
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
    # The same with each event's text lowered once and kept.
    texts = SearchTexts()
    assert matching(text, reports, texts) == expected
    assert matching(text, reports, texts) == expected


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


def odd_requests() -> list[CapturedRequest]:
    """Pixels whose text lower-cases in odd ways or is long, in either case."""
    greek = {"plan": "ΟΔΟΣ", "region": "İstanbul Straße \u212a"}
    bodies = [
        (json.dumps(greek, ensure_ascii=False), "ΑΣ Straße İ"),
        (json.dumps({"plan": "Xy" * 5_000}), "Long Mixed"),
        (json.dumps({"plan": "b" * 6_000, "note": "Σ" * 5_000}), "x" * 5_000),
    ]
    return [
        CapturedRequest(
            "GET",
            pixel_url(data=data, title=title, pvid=str(number)),
            timestamp=START + number,
            request_id=f"odd-{number}",
        )
        for number, (data, title) in enumerate(bodies)
    ]


SAMPLES = inspect(known_requests() + odd_requests())
NEEDLE_LETTERS = 'abxyσςsßiı̇k="{}%2 .é' + "ΣΑİK\u212a"


@st.composite
def needles(draw) -> tuple[int, str]:
    """An event and a needle: a piece of its text, or letters that may be in it."""
    index = draw(st.integers(0, len(SAMPLES) - 1))
    text = searchable_text(SAMPLES[index])
    if draw(st.booleans()):
        start = draw(st.integers(0, len(text) - 1))
        needle = text[start : start + draw(st.integers(1, 12))]
    else:
        needle = draw(st.text(NEEDLE_LETTERS, min_size=1, max_size=6)).lower()
    return index, needle.replace("\n", "")


@pytest.mark.parametrize("long_part", [filtering.LONG_PART, 8])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample=needles())
def test_the_lowered_text_finds_what_searching_afresh_finds(long_part, sample):
    index, needle = sample
    report = SAMPLES[index]
    filtering.LONG_PART, kept = long_part, filtering.LONG_PART
    try:
        lowered = SearchTexts().lowered(report)
    finally:
        filtering.LONG_PART = kept

    assert lowered.contains(needle) == (needle in searchable_text(report))


@pytest.mark.parametrize(
    "text",
    ["ΑΣ", "ας", "οδος", "straße", "i̇stanbul", "\u212a", "xyxy", '"plan": "xy', "σς"],
)
def test_free_text_matches_the_same_with_and_without_the_cache(text):
    reference = [r for r in SAMPLES if text.lower() in searchable_text(r)]
    texts = SearchTexts()

    assert [r for r in SAMPLES if parse_filter(f'"{text}"', texts).matches(r)] == (
        reference
    )
    assert [r for r in SAMPLES if parse_filter(f'"{text}"').matches(r)] == reference


def test_each_event_is_lowered_once_however_much_is_typed(monkeypatch, reports):
    calls: Counter[int] = Counter()
    lower_once = filtering._lowered_text

    def counted(report):
        calls[id(report)] += 1
        return lower_once(report)

    monkeypatch.setattr(filtering, "_lowered_text", counted)
    texts = SearchTexts()
    typed = "Story-2"

    for end in range(1, len(typed) + 1):
        needle = typed[:end]
        event_filter = parse_filter(needle, texts)
        kept = [report for report in reports if event_filter.matches(report)]
        assert kept == [r for r in reports if needle.lower() in searchable_text(r)]

    assert kept == [reports[2]]
    assert calls == Counter({id(report): 1 for report in reports})
    assert len(texts) == len(reports)


def test_diagnoses_are_searched_as_they_are_now(reports):
    from inspector.diagnoses import make_diagnosis
    from inspector.model import Severity

    texts = SearchTexts()
    event_filter = parse_filter("after the pageview", texts)
    heartbeat = reports[1]
    diagnosis = make_diagnosis(
        "page.segment-after-pageview",
        Severity.ERROR,
        "Segment data set after the pageview was sent (plan)",
        "explained",
        [heartbeat.event.id],
    )

    # Cached without the diagnosis, the event still matches once it has one.
    assert not event_filter.matches(heartbeat)
    assert event_filter.matches(heartbeat, [diagnosis])
    assert not event_filter.matches(heartbeat)


def test_past_its_limit_the_cache_keeps_no_more_and_matches_the_same(reports):
    first = SearchTexts().lowered(reports[0])
    texts = SearchTexts(limit=first.size)
    event_filter = parse_filter("example", texts)

    assert [event_filter.matches(report) for report in reports] == [True] * 5
    assert len(texts) == 1
    assert texts.size == first.size

    texts.forget(reports[:1])
    assert (len(texts), texts.size) == (0, 0)


def test_a_long_lower_case_data_is_searched_without_copies():
    value = "b" * 100_000
    pixel = CapturedRequest(
        "GET", pixel_url(data=json.dumps({"plan": value})), timestamp=START
    )
    [report] = inspect([pixel])
    event = report.event

    lowered = SearchTexts().lowered(report)

    # The `data=` parameter is searched in the event's own string, and the bare
    # `data` text, the same string, is not searched a second time.
    [(name, data)] = [pair for pair in lowered.long_values if pair[0] == "data="]
    assert data is event.params["data"] is event.data_raw
    assert all(part is not event.data_raw for part in lowered.long_parts)
    # What the cache adds: the address lower-cased (its `%7B` has capitals) and
    # the segment's JSON text, about half of what a search lowered each time.
    url, segment = len(event.request.url), len(json.dumps(value))
    assert url + segment < lowered.size < url + segment + 2_000
    assert lowered.size < 0.55 * len(searchable_text(report))
    assert lowered.contains('"plan": "bbb') and not lowered.contains("bbbc")
