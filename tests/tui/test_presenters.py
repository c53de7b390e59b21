"""How events and page loads are rendered as text: JSON types must stay visible."""

from __future__ import annotations

import json
from urllib.parse import quote

from conftest import inspect, pixel_url

from inspector.model import CapturedRequest
from inspector.tui.presenters import (
    detail_text,
    duration_label,
    event_cell_values,
    segments_summary,
)


def report_for(url: str, spec=None, **request_fields):
    request = CapturedRequest(method="GET", url=url, **request_fields)
    (report,) = inspect([request], spec)
    return report


def segment_part(text: str) -> str:
    return text.split("\nSegment data\n")[1].split("\n\n")[0]


def test_nested_values_show_their_types():
    data = {"topics": ["a", 2, False], "profile": {"tier": None, "age": 41.5}}
    report = report_for(pixel_url(data=json.dumps(data)))

    lines = segment_part(detail_text(report).plain).splitlines()

    assert lines == [
        "  topics: [array of 3]",
        '    [0]: "a"  string',
        "    [1]: 2  number",
        "    [2]: false  boolean",
        "  profile: {object}",
        "    tier: null  null",
        "    age: 41.5  number",
    ]


def test_double_encoded_data_shows_the_recovered_object():
    once = json.dumps({"plan": "basic"})
    url = pixel_url(data=json.dumps(once))
    report = report_for(url)

    part = segment_part(detail_text(report).plain)

    assert part.splitlines() == [
        "  data was encoded twice; recovered object:",
        '  plan: "basic"  string',
    ]
    assert any(f.code == "data.double-encoded" for f in report.findings)


def test_data_that_is_not_an_object_is_shown_as_sent():
    report = report_for(pixel_url(data="[1, 2]"))

    part = segment_part(detail_text(report).plain)

    assert part.splitlines() == [
        "  data is JSON but not an object; as sent:",
        "  [1, 2]",
    ]


def test_missing_data_parameter_and_spec_keys_are_absent(spec):
    url = pixel_url()
    report = report_for(url, spec)

    part = segment_part(detail_text(report, spec).plain)

    # Without `data` nothing was declared absent: there was no object to look in.
    assert part.splitlines() == ["  no data parameter sent"]
    assert segments_summary(report.event.segments, report.event) == "<data absent>"


def test_empty_object_with_spec_keys(spec):
    report = report_for(pixel_url(data="{}"), spec)

    part = segment_part(detail_text(report, spec).plain)

    assert part.splitlines() == [
        "  no custom segment keys",
        "  plan: absent  (declared in the spec, not sent)",
        "  logged_in: absent  (declared in the spec, not sent)",
        "  region: absent  (declared in the spec, not sent)",
    ]
    assert event_cell_values(report)[4] == "{}"


def test_a_mobile_batch_shows_its_body_as_raw():
    body = json.dumps(
        {
            "events": [
                {
                    "action": "pageview",
                    "idsite": "com.example.app",
                    "url": "https://www.example.com/app/home",
                    "urlref": "",
                    "data": {"parsely_site_uuid": "d-1", "plan": "basic"},
                }
            ]
        }
    )
    request = CapturedRequest(
        method="POST",
        url="https://p1.parsely.com/mobileproxy",
        headers=(("Content-Type", "application/json"),),
        body=body.encode(),
    )
    (report,) = inspect([request])

    text = detail_text(report).plain

    assert "  transport  mobile" in text
    assert "  batch entry 0" in text
    assert text.split("\nRaw\n")[1].startswith(body)
    segments = segment_part(text)
    assert '  plan: "basic"  string' in segments
    assert '  tracker keys\n    parsely_site_uuid: "d-1"  string' in segments


def test_raw_query_is_cut_after_a_limit():
    url = pixel_url(data=json.dumps({"blob": "x" * 20_000}))
    report = report_for(url)

    raw = detail_text(report).plain.split("\nRaw\n")[1].split("\n")[0]

    assert raw.startswith("rand=")
    assert raw.endswith(" more characters)")
    assert quote(json.dumps({"blob": "x" * 20})[:8]) in raw


def test_duration_labels():
    assert duration_label(850) == "850 ms"
    assert duration_label(331_000) == "331.0 s"
