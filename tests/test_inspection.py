"""Tests for inspector.inspection: the shared pipeline and the counts it keeps."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from inspector.inspection import Inspection
from inspector.model import CapturedRequest
from inspector.spec import Scenario, default_spec


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


# ------------------------------------------------------------------ announcing faults

PAGE = "https://www.example.com/story/"


def page_pixel(
    request_id: str,
    at: float,
    data: dict | None,
    *,
    action: str = "pageview",
    plid: str = "plid-1",
) -> CapturedRequest:
    """A web pixel of the page load `plid`, sent `at` seconds into the session."""
    params = {
        "rand": str(int((1_700_000_000 + at) * 1000)),
        "plid": plid,
        "idsite": "example.com",
        "url": PAGE,
        "urlref": "",
        "sid": "1",
        "sts": "1700000000000",
        "slts": "0",
        "action": action,
        "pvid": "pvid-1",
        "u": "pid=reader-1",
    }
    if data is not None:
        params["data"] = json.dumps(data)
    if action == "heartbeat":
        params["inc"] = "5"
    return CapturedRequest(
        method="GET",
        url="https://p1.parsely.com/plogger/?" + urlencode(params),
        timestamp=1_700_000_000 + at,
        request_id=request_id,
    )


def page_request(request_id: str, at: float, url: str) -> CapturedRequest:
    """The page's document (`url` is PAGE) or a script it loads."""
    document = url == PAGE
    headers = (("Sec-Fetch-Dest", "document" if document else "script"),)
    if not document:
        headers += (("Referer", PAGE),)
    return CapturedRequest(
        method="GET",
        url=url,
        headers=headers,
        timestamp=1_700_000_000 + at,
        request_id=request_id,
        response_status=200,
    )


TRACKER = "https://cdn.parsely.com/keys/example.com/p.js"


def announced(inspection: Inspection, **options) -> list[tuple[str, str, bool]]:
    return [
        (notice.diagnosis.code, str(notice.diagnosis.severity), notice.updated)
        for notice in inspection.new_diagnoses(**options)
    ]


def test_a_fault_is_announced_once():
    inspection = Inspection()
    inspection.process(page_pixel("pv-1", 0.0, {"plan": "basic"}))
    inspection.process(page_pixel("pv-2", 0.02, {"plan": "basic"}))

    [notice] = inspection.new_diagnoses()

    assert notice.diagnosis.code == "page.duplicate-pageview"
    assert notice.diagnosis.evidence == ["pv-1", "pv-2"]
    assert notice.updated is False
    assert inspection.new_diagnoses() == []
    assert inspection.new_diagnoses(final=True) == []


def test_a_fault_whose_title_changes_is_announced_again_as_an_update():
    inspection = Inspection()
    inspection.process(page_pixel("pv-1", 0.0, {"plan": "basic"}))
    inspection.process(page_pixel("pv-2", 0.02, {"plan": "basic"}))
    inspection.new_diagnoses()

    inspection.process(page_pixel("pv-3", 0.04, {"plan": "basic"}))
    [notice] = inspection.new_diagnoses()

    assert notice.updated is True
    assert notice.diagnosis.code == "page.duplicate-pageview"
    assert notice.diagnosis.title.startswith("Duplicate pageview: 3 pageviews")
    assert notice.diagnosis.evidence == ["pv-1", "pv-2", "pv-3"]


def test_more_evidence_alone_is_not_announced_again():
    inspection = Inspection()
    inspection.process(page_pixel("pv", 0.0, {}))
    inspection.process(page_pixel("hb-1", 5.0, {"plan": "basic"}, action="heartbeat"))
    [first] = inspection.new_diagnoses()

    for number in range(2, 6):
        heartbeat = page_pixel(
            f"hb-{number}", 5.0 * number, {"plan": "basic"}, action="heartbeat"
        )
        inspection.process(heartbeat)

    assert first.diagnosis.code == "page.segment-after-pageview"
    assert first.diagnosis.evidence == ["pv", "hb-1"]
    assert "hb-5" in inspection.result().diagnoses[0].evidence
    assert inspection.new_diagnoses() == []


def test_a_tracker_waiting_for_its_pageview_is_held_back_until_its_timeout():
    now = [1_700_000_000.5]
    inspection = Inspection(clock=lambda: now[0])
    inspection.process(page_request("doc", 0.0, PAGE))
    inspection.process(page_request("p.js", 0.1, TRACKER))

    assert announced(inspection) == []
    assert inspection.diagnoses_waiting is True

    now[0] = 1_700_000_000 + 5.2
    assert announced(inspection) == [("page.tracker-no-pageview", "warning", False)]
    assert inspection.diagnoses_waiting is False


def test_a_tracker_whose_pageview_follows_is_never_announced():
    inspection = Inspection(clock=lambda: 1_700_000_000.5)
    inspection.process(page_request("doc", 0.0, PAGE))
    inspection.process(page_request("p.js", 0.1, TRACKER))
    assert announced(inspection) == []

    inspection.process(page_pixel("pv", 0.3, {"plan": "basic"}))

    assert announced(inspection, final=True) == []
    assert inspection.diagnoses_waiting is False


def test_the_final_call_announces_what_could_still_change():
    spec = default_spec().model_copy(
        update={"scenarios": [Scenario(name="anonymous", segments={"plan": None})]}
    )
    inspection = Inspection(spec)
    inspection.process(page_request("doc", 0.0, PAGE))
    inspection.process(page_request("p.js", 0.1, TRACKER))

    assert announced(inspection) == []
    assert sorted(announced(inspection, final=True)) == [
        ("page.tracker-no-pageview", "info", False),
        ("scenario.not-covered", "info", False),
    ]
