"""Tests for inspector.inspection: the shared pipeline and the counts it keeps."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from inspector.inspection import Inspection
from inspector.model import CapturedRequest


def pixel(number: int, data: dict, *, action: str = "pageview") -> CapturedRequest:
    """A web pixel of its own page load, carrying `data`."""
    params = {
        "rand": str(1_700_000_000_000 + number),
        "plid": f"plid-{number}",
        "idsite": "example.com",
        "url": f"https://www.example.com/story-{number}/",
        "urlref": "",
        "data": json.dumps(data),
        "sid": "1",
        "sts": "1700000000000",
        "slts": "0",
        "action": action,
        "pvid": f"pvid-{number}",
        "u": "pid=reader-1",
    }
    return CapturedRequest(
        method="GET",
        url="https://p1.parsely.com/plogger/?" + urlencode(params),
        timestamp=1_700_000_000 + number,
        request_id=str(number),
    )


def counts_of(values: list) -> dict[str, int]:
    inspection = Inspection()
    for number, value in enumerate(values):
        inspection.process(pixel(number, {"flag": value}))
    return dict(inspection.result().segment_counts["flag"])


def test_values_equal_in_python_but_not_in_json_are_counted_apart():
    counts = counts_of([True, 1, "true", True, 1, 1.0, "1", None, 0, False, 0])

    assert counts == {
        "true": 2,
        "1": 2,
        '"true"': 1,
        "1.0": 1,
        '"1"': 1,
        "null": 1,
        "0": 2,
        "false": 1,
    }


def test_zero_and_negative_zero_keep_their_own_labels():
    counts = counts_of([0.0, -0.0, 0.0, -0.0, -0.0])

    assert counts == {"0.0": 2, "-0.0": 3}


def test_labels_stay_right_after_the_label_cache_starts_over(monkeypatch):
    monkeypatch.setattr("inspector.inspection._LABEL_CACHE_LIMIT", 2)

    counts = counts_of(["a", "b", "c", "a", True, 1, "a", True])

    assert counts == {'"a"': 3, '"b"': 1, '"c"': 1, "true": 2, "1": 1}


def test_values_past_the_limit_per_key_are_tallied_not_listed(monkeypatch):
    monkeypatch.setattr("inspector.inspection.MAX_COUNTED_VALUES", 3)
    inspection = Inspection()

    for number, value in enumerate(["a", "b", "c", "d", "a", "e", "c"]):
        inspection.process(pixel(number, {"id": value, "plan": "basic"}))
    result = inspection.result()

    assert result.segment_counts["id"] == {'"a"': 2, '"b"': 1, '"c"': 2}
    assert result.segment_counts["plan"] == {'"basic"': 7}
    assert result.uncounted_segment_values == 2


def test_keys_past_the_key_limit_are_tallied_not_listed(monkeypatch):
    monkeypatch.setattr("inspector.inspection.MAX_COUNTED_KEYS", 2)
    inspection = Inspection()

    inspection.process(pixel(1, {"plan": "basic", "region": "us"}))
    inspection.process(pixel(2, {"plan": "basic", "key_2": 1, "key_3": 2}))
    result = inspection.result()

    assert set(result.segment_counts) == {"plan", "region"}
    assert result.segment_counts["plan"] == {'"basic"': 2}
    assert result.uncounted_segment_values == 2


@pytest.mark.parametrize("max_reports", [None, 3])
def test_findings_are_counted_for_every_event_even_when_reports_are_dropped(
    max_reports,
):
    inspection = Inspection(max_reports=max_reports)

    for number in range(5):
        inspection.process(pixel(number, {"plan": "undefined"}))
    result = inspection.result()

    assert len(result.reports) == (max_reports or 5)
    assert result.finding_counts["segment.placeholder"] == 5
    assert result.segment_counts["plan"] == {'"undefined"': 5}
    assert result.uncounted_segment_values == 0
