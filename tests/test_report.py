"""Text, JSON and JSON Lines reports, built from real inspections of the demo."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from inspector.model import CapturedRequest
from inspector.recordings import RecordingError, replay
from inspector.report import (
    clip,
    escape_controls,
    json_label,
    make_masker,
    mask_json,
    render_json,
    render_jsonl,
    render_text,
    report_document,
    summary_line,
    totals,
)
from inspector.spec import load_spec

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DEMO = FIXTURES / "requests" / "demo.txt"
EMAIL = "sam.reader@example.com"


@pytest.fixture(scope="module")
def demo():
    spec = load_spec(FIXTURES / "specs" / "example.yaml")
    result, errors = replay([DEMO], spec)
    assert errors == []
    return result


def event_block(text: str, event_id: str) -> str:
    """The lines of the text report about one event."""
    blocks = text.split("\n\n")
    (block,) = [b for b in blocks if f"[{event_id}]" in b.splitlines()[0]]
    return block


# --------------------------------------------------------------------------------------
# Text


def test_text_lists_each_event_with_typed_segments_and_findings(demo):
    text = render_text(demo)

    first = event_block(text, "demo.txt:19").splitlines()
    assert first[0].startswith("07:30:00.120  example.com  pageview   ")
    assert "https://www.example.com/" in first[0]
    assert first[1].strip() == 'plan="basic" logged_in=true'
    # No GeoIP database in this run: the address it would look up is shown instead.
    assert first[2].strip() == (
        "standard:  referrer=search (google.com)  address=203.0.113.10"
    )
    assert first[3].strip() == "ok"

    mismatch = event_block(text, "demo.txt:28")
    assert 'logged_in="true"' in mismatch
    assert "WARNING segment.type-mismatch  data.logged_in is" in mismatch

    broken = event_block(text, "demo.txt:44")
    assert "(data is not JSON: no segments could be read)" in broken
    assert "ERROR   data.not-json" in broken

    amp = event_block(text, "demo.txt:50")
    assert "(no data parameter)" in amp
    assert "INFO    data.absent" in amp


def test_text_shows_page_diagnoses_under_their_events_and_in_a_section(demo):
    text = render_text(demo)

    pageview = event_block(text, "demo.txt:41")
    assert "page.segment-after-pageview (page)" in pageview
    assert "(no custom segments)" in pageview

    section = text.split("Page loads and visitors\n", 1)[1]
    assert "ERROR page.segment-after-pageview" in section
    assert "events: demo.txt:41, demo.txt:59" in section
    assert "INFO scenario.not-covered  Scenario not seen: anonymous" in section


def test_text_shows_standard_segments_per_event_and_per_pageview(demo):
    text = render_text(demo)

    newsletter = event_block(text, "demo.txt:22")
    assert (
        "standard:  referrer=other (example.org)  campaign=morning-briefing  "
        "medium=email  source=newsletter"
    ) in newsletter

    section = text.split("\nStandard segments (pageviews)\n", 1)[1]
    rows = section.split("\n\n")[0].splitlines()
    assert rows[0].split()[:4] == ["referrer", "search", "(google.com)", "×4"]
    assert any(row.split()[0] == "medium" and "email ×1" in row for row in rows)


def test_json_names_the_pages_that_showed_each_scenario(demo):
    document = json.loads(render_json(demo))

    assert document["scenario_coverage"] == {
        "anonymous": [],
        "subscriber": ["demo.txt:22"],
    }
    (address,) = document["scenario_pages"]["subscriber"]
    assert address.startswith(
        "https://www.example.com/city/2024/06/10/new-tram-line-opens/?utm_source="
    )
    assert "anonymous" not in document["scenario_pages"]


def test_json_counts_pageviews_per_standard_segment(demo):
    document = json.loads(render_json(demo))

    referrers = document["standard_counts"]["referrer"]
    assert referrers[0] == {"value": "search (google.com)", "count": 4}
    assert document["standard_counts"]["medium"] == [{"value": "email", "count": 1}]


def test_text_shows_coverage_and_values_per_key(demo):
    text = render_text(demo)

    scenarios = text.split("\nScenarios\n", 1)[1].split("\n\n")[0].splitlines()
    assert scenarios == [
        "  anonymous   not seen",
        "  subscriber  seen in 1 event on /city/2024/06/10/new-tram-line-opens/  "
        "demo.txt:22",
    ]
    values = text.split("\nSegment values\n", 1)[1].split("\n\n")[0].splitlines()
    assert values[0].split() == [
        "logged_in",
        "true",
        "×8",
        "false",
        "×2",
        '"true"',
        "×2",
    ]
    assert values[2].split()[:3] == ["plan", '"basic"', "×5"]
    assert "null ×1" in values[2]


def test_text_ends_with_the_summary(demo):
    text = render_text(demo)
    counts = totals(demo)

    assert text.rstrip().splitlines()[-1] == summary_line(demo)
    assert summary_line(demo) == (
        f"15 events in 15 requests: {counts.errors} errors, "
        f"{counts.warnings} warnings, {counts.infos} infos"
    )
    assert (counts.errors, counts.warnings, counts.infos) == (4, 6, 2)


def test_text_header_names_sources_spec_and_day(demo):
    text = render_text(demo, sources=["demo.txt"], spec_source="example.yaml")

    assert text.splitlines()[:3] == [
        "Segment Inspector report: demo.txt",
        "spec: example.yaml",
        "times are UTC; first event 2024-06-10",
    ]


def test_text_masks_personal_data_unless_asked(demo):
    masked = render_text(demo)
    shown = render_text(demo, show_pii=True)

    assert EMAIL not in masked
    assert 'newsletter_email="«email»"' in masked
    assert f'newsletter_email="{EMAIL}"' in shown


def test_colour_only_when_asked(demo):
    plain = render_text(demo)
    coloured = render_text(demo, color=True)

    assert "\x1b[" not in plain
    assert "\x1b[" in coloured
    assert "\x1b[1;31mERROR" in coloured


def test_recording_problems_are_listed_and_counted(demo):
    errors = [RecordingError("a.har", "entry 3", "request.url is missing")]

    text = render_text(demo, errors)

    section = text.split("\nCould not read\n", 1)[1]
    assert section.splitlines()[0] == "  ERROR a.har: entry 3: request.url is missing"
    assert text.rstrip().endswith("; 1 recording problem")


def test_events_without_a_real_clock_show_relative_time(tmp_path):
    path = tmp_path / "plain.txt"
    path.write_text(
        "POST https://p1.parsely.com/mobileproxy\n"
        "Content-Type: application/json\n\n"
        '{"events":[{"action":"pageview","url":"https://www.example.com/",'
        '"idsite":"example.com","data":{}}]}\n'
    )
    result, _ = replay([path])

    text = render_text(result)

    assert "\n+0.000s  example.com  pageview" in text
    assert "times are UTC" not in text


def test_no_events_says_so():
    from inspector.inspection import Inspection

    result = Inspection().process_all(
        [CapturedRequest("GET", "https://www.example.com/", timestamp=1.0)]
    )

    text = render_text(result)

    assert "No Parse.ly pixel events found.\nA pixel sent to your own host" in text
    assert text.rstrip().endswith(
        "ERROR no pixel event in 1 request: nothing was checked\n"
        "0 events in 1 request: 0 errors, 0 warnings, 0 infos"
    )


# --------------------------------------------------------------------------------------
# JSON and JSON Lines


def test_json_document(demo):
    document = json.loads(render_json(demo))

    assert document["tool"] == "segment-inspector"
    assert document["summary"] == {
        "events": 15,
        "requests": 15,
        "errors": 4,
        "warnings": 6,
        "infos": 2,
        "worst": "error",
        "recording_errors": 0,
        "no_pixel_events": False,
        "sources": [{"source": "demo.txt", "events": 15}],
    }
    assert len(document["events"]) == 15
    assert [d["code"] for d in document["diagnoses"]] == [
        d.code for d in demo.diagnoses
    ]
    assert document["segment_counts"]["logged_in"] == [
        {"value": True, "count": 8},
        {"value": False, "count": 2},
        {"value": "true", "count": 2},
    ]
    assert document["scenario_coverage"] == {
        "anonymous": [],
        "subscriber": ["demo.txt:22"],
    }
    assert document["finding_counts"]["segment.type-mismatch"] == 2
    # Page-level findings count too, so the counts add up to the summary's.
    assert document["finding_counts"]["page.segment-after-pageview"] == 1
    summary = document["summary"]
    assert sum(document["finding_counts"].values()) == (
        summary["errors"] + summary["warnings"] + summary["infos"]
    )


def test_json_event_record(demo):
    document = json.loads(render_json(demo))
    events = {event["id"]: event for event in document["events"]}

    first = events["demo.txt:19"]
    assert first["time"] == "2024-06-10T07:30:00.120Z"
    assert first["action"] == "pageview"
    assert first["idsite"] == "example.com"
    assert first["segments"] == {"plan": "basic", "logged_in": True}
    assert first["findings"] == []
    assert first["worst"] is None
    assert first["standard"]["referrer"]["category"] == "search"

    subscriber = events["demo.txt:22"]
    assert subscriber["standard"]["campaign"] == {
        "campaign": "morning-briefing",
        "medium": "email",
        "source": "newsletter",
    }

    broken = events["demo.txt:44"]
    assert broken["data_state"] == "invalid"
    assert broken["data_raw"] == "{plan:'basic',logged_in:true}"
    assert broken["findings"][0]["code"] == "data.not-json"

    late = events["demo.txt:41"]
    assert late["page_findings"] == [
        {
            "code": "page.segment-after-pageview",
            "severity": "error",
            "title": "Segment data set after the pageview was sent (logged_in, plan)",
        }
    ]


def test_json_masks_personal_data_everywhere(demo):
    masked = render_json(demo)
    shown = render_json(demo, show_pii=True)

    assert EMAIL not in masked
    assert "s•••@example.com" in masked
    assert EMAIL in shown
    document = json.loads(masked)
    values = document["segment_counts"]["newsletter_email"]
    assert values == [{"value": "«email»", "count": 1}]


def test_jsonl_has_one_object_per_event_then_per_diagnosis_then_a_summary(demo):
    lines = render_jsonl(demo).splitlines()

    assert len(lines) == 15 + len(demo.diagnoses) + 1
    records = [json.loads(line) for line in lines]
    events, diagnoses, summary = records[:15], records[15:-1], records[-1]
    assert [r["id"] for r in events] == [r.event.id for r in demo.reports]
    document = report_document(demo, masker=make_masker())
    assert events == document["events"]
    assert diagnoses == [
        {"type": "diagnosis", "updated": False, **fields}
        for fields in document["diagnoses"]
    ]
    assert summary == {"type": "summary", **document["summary"]}
    assert EMAIL not in "".join(lines)


def test_the_jsonl_summary_counts_a_run_without_pixels(tmp_path):
    pages = tmp_path / "pages.txt"
    pages.write_text("GET https://www.example.com/\nGET https://www.example.com/a\n")
    result, errors = replay(
        [pages, DEMO], load_spec(FIXTURES / "specs" / "example.yaml")
    )
    errors.append(RecordingError("gone.har", None, "no such file"))

    lines = render_jsonl(result, errors, sources=["pages.txt", "demo.txt", "gone.har"])
    nothing = render_jsonl(replay([pages])[0], sources=["pages.txt"])

    summary = json.loads(lines.splitlines()[-1])
    assert summary == {
        "type": "summary",
        "events": 15,
        "requests": 17,
        "errors": 4,
        "warnings": 6,
        "infos": 2,
        "worst": "error",
        "recording_errors": 1,
        "no_pixel_events": False,
        "sources": [
            {"source": "pages.txt", "events": 0},
            {"source": "demo.txt", "events": 15},
            {"source": "gone.har", "events": 0},
        ],
    }
    assert [json.loads(line) for line in nothing.splitlines()] == [
        {
            "type": "summary",
            "events": 0,
            "requests": 2,
            "errors": 0,
            "warnings": 0,
            "infos": 0,
            "worst": None,
            "recording_errors": 0,
            "no_pixel_events": True,
            "sources": [{"source": "pages.txt", "events": 0}],
        }
    ]


def test_recording_errors_in_json(demo):
    errors = [
        RecordingError("day/x.mitm", "flow 2 (byte 10)", "truncated"),
        RecordingError("b/x.mitm", None, "no such file", label="b/x.mitm"),
    ]

    document = json.loads(render_json(demo, errors))

    # Named as the report names the file, with the path as given to find it by.
    assert document["recording_errors"] == [
        {
            "source": "x.mitm",
            "path": "day/x.mitm",
            "location": "flow 2 (byte 10)",
            "message": "truncated",
        },
        {
            "source": "b/x.mitm",
            "path": "b/x.mitm",
            "location": None,
            "message": "no such file",
        },
    ]
    assert document["summary"]["recording_errors"] == 2


# --------------------------------------------------------------------------------------
# Helpers


def test_json_label_keeps_types_apart():
    assert [json_label(v) for v in (True, "true", None, "null", 1, [1, "a"])] == [
        "true",
        '"true"',
        "null",
        '"null"',
        "1",
        '[1, "a"]',
    ]


def test_mask_json_masks_strings_at_any_depth():
    masker = make_masker()

    masked = mask_json({"a": [EMAIL, 3, {"b": f"mail {EMAIL}"}], "n": None}, masker)

    assert masked == {"a": ["«email»", 3, {"b": "mail «email»"}], "n": None}
    assert mask_json({"a": EMAIL}, make_masker(show_pii=True)) == {"a": EMAIL}


# --------------------------------------------------------------------------------------
# Personal data, long values and control characters


def inspect_lines(tmp_path: Path, *lines: str):
    path = tmp_path / "pixels.txt"
    path.write_text("".join(f"{line}\n" for line in lines))
    result, errors = replay([path])
    assert errors == []
    return result


PII_PIXEL = (
    "https://p1.parsely.com/plogger/?rand=1700000000500&idsite=example.com"
    "&url=https%3A%2F%2Fwww.example.com%2Fa%3Fmail%3Djane.doe%252Btag%2540example.org"
    "&title=Hello+john.smith%40example.org&action=pageview&pvid=p1"
    "&data=%7B%22phone%22%3A%22%2B44+20+7946+0958%22%2C%22ts%22%3A%221700000000123%22"
    "%7D"
)


@pytest.mark.parametrize("render", [render_text, render_json, render_jsonl])
def test_no_part_of_an_address_or_number_survives_masking(tmp_path, render):
    result = inspect_lines(tmp_path, PII_PIXEL)

    output = render(result)

    for leaked in ("jane", "doe", "tag%", "smith", "7946", "0958"):
        assert leaked not in output
    assert "1700000000123" in output


def test_masked_urls_keep_their_encoding(tmp_path):
    result = inspect_lines(tmp_path, PII_PIXEL)

    [record] = json.loads(render_json(result))["events"]
    text = render_text(result)

    assert record["url"] == "https://www.example.com/a?mail=«email»"
    assert "  https://www.example.com/a?mail=«email»  [pixels.txt:1]" in text
    assert record["request_url"] == (
        "https://p1.parsely.com/plogger/?rand=1700000000500&idsite=example.com"
        "&url=https%3A%2F%2Fwww.example.com%2Fa%3Fmail%3D«email»"
        "&title=«email»&action=pageview&pvid=p1"
        "&data=%7B%22phone%22%3A%22«phone»%22%2C%22ts%22%3A%221700000000123%22%7D"
    )
    assert record["segments"] == {"phone": "«phone»", "ts": "1700000000123"}
    assert [f["path"] for f in record["findings"] if f["code"] == "pii.email"] == [
        "url.mail",
        "title",
    ]


NAMES_PIXEL = (
    "https://p1.parsely.com/plogger/?rand=1700000000500&idsite=example.com"
    "&url=https%3A%2F%2Fexample.com%2Fa&action=pageview&pvid=p1&u=pid%3Dabc"
    "&plid=1&sid=1&sts=1700000000000&slts=0"
    "&data=%7B%22carol.jones%40example.org%22%3A%22yes%22%7D&ivan.lee%40example.org=1"
)


@pytest.mark.parametrize("render", [render_text, render_json, render_jsonl])
def test_names_and_keys_that_are_personal_data_are_masked(tmp_path, render):
    result = inspect_lines(tmp_path, NAMES_PIXEL)

    output = render(result)

    assert "ivan" not in output and "carol" not in output
    assert render(result, show_pii=True).count("ivan.lee@example.org") >= 2


def test_a_masked_parameter_name_keeps_the_message_around_it(tmp_path):
    result = inspect_lines(tmp_path, NAMES_PIXEL)

    [record] = json.loads(render_json(result))["events"]
    text = render_text(result, width=200)

    findings = {(f["code"], f["path"]): f["message"] for f in record["findings"]}
    assert findings == {
        ("params.top-level-segment", "«email»"): "'«email»=1' is a top-level "
        "parameter, not a key inside data, so it is not segment data "
        "(updateDefaults without the data wrapper?).",
        ("pii.email", "«email»"): "a parameter name contains an e-mail address "
        "(i•••@example.org)",
        ("pii.email", "data"): "a key of data contains an e-mail address "
        "(c•••@example.org)",
    }
    assert record["segments"] == {"«email»": "yes"}
    assert (
        "ERROR   pii.email  a parameter name contains an e-mail address "
        "(i•••@example.org) [«email»]"
    ) in text


def test_diagnosis_keys_that_are_personal_data_are_masked(tmp_path):
    first = NAMES_PIXEL.replace(
        "&data=%7B%22carol.jones%40example.org%22%3A%22yes%22%7D", "&data=%7B%7D"
    )
    result = inspect_lines(
        tmp_path, first, NAMES_PIXEL.replace("rand=1700000000500", "rand=1700000000501")
    )

    [diagnosis] = json.loads(render_json(result))["diagnoses"]
    text = render_text(result)

    assert diagnosis["code"] == "page.duplicate-pageview"
    assert diagnosis["keys"] == ["«email»"]
    assert "The first pageview lacks `«email»`, which the later one carries." in (
        " ".join(text.split())
    )
    assert "carol" not in json.dumps(diagnosis)


def test_text_says_how_data_was_encoded_twice(tmp_path):
    pixel = (
        "https://p1.parsely.com/plogger/?rand=1700000000500&idsite=example.com"
        "&url=https%3A%2F%2Fexample.com%2Fa&action=pageview&data="
    )
    result = inspect_lines(
        tmp_path,
        pixel + "%257B%2522plan%2522%253A%2522basic%2522%257D",
        pixel + "%22%7B%5C%22plan%5C%22%3A%5C%22basic%5C%22%7D%22",
    )

    text = render_text(result)

    assert event_block(text, "pixels.txt:1").splitlines()[1] == (
        '    plan="basic" (data was percent-encoded twice; shown decoded)'
    )
    assert event_block(text, "pixels.txt:2").splitlines()[1] == (
        '    plan="basic" (data was JSON-encoded twice; shown decoded)'
    )


def test_text_shortens_long_values_but_json_keeps_them(tmp_path):
    long_value = "a" * 5000
    result = inspect_lines(
        tmp_path,
        "https://p1.parsely.com/plogger/?rand=1&idsite=example.com"
        "&url=https%3A%2F%2Fexample.com%2F&action=pageview"
        f"&data=%7B%22plan%22%3A%22{long_value}%22%7D",
    )

    text = render_text(result)
    [record] = json.loads(render_json(result))["events"]

    assert f'plan="{"a" * 199}…(5002 chars)' in text
    assert long_value + "a" not in text.replace("\n", "")
    assert max(len(line) for line in text.splitlines()) < 300
    assert record["segments"] == {"plan": long_value}


def test_a_cut_never_shows_part_of_an_address():
    masker = make_masker()
    text = "x" * 95 + " jane.doe@example.org " + "y" * 200

    assert clip(text, 100, masker) == "x" * 95 + " «ema…(317 chars)"
    assert clip(text, 100) == "x" * 95 + " jane…(317 chars)"
    assert clip("short", 100, masker) == "short"


def test_control_characters_are_escaped_in_the_text_report(tmp_path):
    result = inspect_lines(
        tmp_path,
        "https://p1.parsely.com/plogger/?rand=1700000000500&idsite=example.com"
        "&url=https%3A%2F%2Fexample.com%2F%01%1b[31mRED&action=pageview"
        "&data=%7B%22plan%22%3A%22a%5Cu001b%5B2J%22%2C%22k%22%3A%22%E2%80%AEx%C2%9B"
        "%22%7D",
    )

    for color in (False, True):
        text = render_text(result, color=color)
        plain = text.replace("\x1b[", "") if color else text
        assert "\x1b[31mRED" not in text and "\x01" not in text
        assert "\u202e" not in text and "\x9b" not in text
        assert "https://example.com/\\x01\\x1b[31mRED" in plain

    # JSON keeps C0 characters escaped itself; the others are escaped here.
    text = render_text(result)
    assert 'plan="a\\u001b[2J" k="\\u202ex\\x9b"' in text


def test_escape_controls_keeps_ordinary_text():
    assert escape_controls("café ✓ «email»") == "café ✓ «email»"
    assert escape_controls("a\tb\nc\rd\x7f\x9b") == "a\\tb\\nc\\rd\\x7f\\x9b"


def test_the_not_json_snippet_shows_control_characters_escaped(tmp_path):
    result = inspect_lines(
        tmp_path,
        "https://p1.parsely.com/plogger/?rand=1700000000500&idsite=example.com"
        "&url=https%3A%2F%2Fexample.com%2F&action=pageview"
        "&data=%7B%22plan%22%3A%22a%1b%5B2J%22%7D",
    )

    [record] = json.loads(render_json(result))["events"]
    [message] = [
        f["message"] for f in record["findings"] if f["code"] == "data.not-json"
    ]

    assert message == (
        "data is not JSON: invalid control character at character 10 ('\\x1b[2J\"}')"
    )
    assert "\x1b" not in render_text(result)


def test_show_pii_shows_personal_data_in_finding_messages_too(tmp_path):
    result = inspect_lines(tmp_path, PII_PIXEL)

    masked_text = render_text(result)
    shown_text = render_text(result, show_pii=True)
    [shown] = json.loads(render_json(result, show_pii=True))["events"]
    [masked] = json.loads(render_json(result))["events"]

    assert "title contains an e-mail address (j•••@example.org)" in masked_text
    assert "title contains an e-mail address (john.smith@example.org)" in shown_text
    messages = {f["path"]: f["message"] for f in shown["findings"]}
    assert messages["data.phone"] == (
        "data.phone contains a phone number (+44 20 7946 0958)"
    )
    assert messages["url.mail"] == (
        "url (query parameter 'mail') contains an e-mail address "
        "(jane.doe+tag@example.org)"
    )
    masked_messages = {f["path"]: f["message"] for f in masked["findings"]}
    assert masked_messages["url.mail"] == (
        "url (query parameter 'mail') contains an e-mail address (j•••@example.org)"
    )
    assert "jane" not in json.dumps(masked)


# --------------------------------------------------------------------------------------
# The visitor's address, and why it has no location


def _pageview_from(address: str | None, **headers: str) -> CapturedRequest:
    url = (
        "https://p1.parsely.com/plogger/?rand=1&idsite=example.com&action=pageview"
        "&url=https%3A%2F%2Fwww.example.com%2F%3Fcid%3DC1%26utm_campaign%3Dspring"
        "&urlref=&pvid=1&plid=1&sid=1&sts=1&slts=0&u=pid%3Dabc&data=%7B%7D"
    )
    return CapturedRequest(
        method="GET", url=url, client_address=address, headers=tuple(headers.items())
    )


def _inspect(*requests: CapturedRequest, geoip_db: str | None = None):
    from inspector.inspection import Inspection

    return Inspection(None, geoip_db=geoip_db).process_all(list(requests))


def test_text_shows_the_address_and_how_to_add_a_geoip_database():
    result = _inspect(
        _pageview_from("81.2.69.160"),
        _pageview_from(None, **{"X-Parsely-IP": "2.3.4.5"}),
    )

    text = render_text(result)

    standard_lines = [line for line in text.splitlines() if "standard:" in line]
    assert standard_lines[0].endswith("address=81.2.69.160")
    assert standard_lines[1].endswith("address=2.3.4.5")
    section = text.split("\nStandard segments (pageviews)\n", 1)[1].split("\n\n")[0]
    (geography,) = [row for row in section.splitlines() if "geography" in row]
    assert geography.split(None, 1)[1] == (
        "no GeoIP database: pass --geoip-db PATH to a MaxMind .mmdb "
        "(GeoLite2-City or -Country) (2 pageviews)"
    )


def test_text_says_why_an_address_has_no_location():
    text = render_text(_inspect(_pageview_from("127.0.0.1"), _pageview_from(None)))

    section = text.split("\nStandard segments (pageviews)\n", 1)[1].split("\n\n")[0]
    notes = section.split("geography", 1)[1].splitlines()
    assert notes[0].strip().startswith("127.0.0.1 is a loopback address")
    assert notes[1].strip().startswith("no client address was recorded")


def test_text_gives_one_line_per_kind_of_address_without_a_location():
    text = render_text(
        _inspect(
            _pageview_from("10.0.0.1"),
            _pageview_from("10.0.0.1"),
            _pageview_from("192.168.1.9"),
            _pageview_from("10.1.2.3"),
            _pageview_from("172.16.0.4"),
            _pageview_from("127.0.0.1"),
        )
    )

    section = text.split("\nStandard segments (pageviews)\n", 1)[1].split("\n\n")[0]
    notes = [line.strip() for line in section.split("geography", 1)[1].splitlines()]
    assert notes == [
        "4 private addresses (10.0.0.1 ×2, 192.168.1.9 ×1, 10.1.2.3 ×1, 1 more) have "
        "no location; Parse.ly will see your public address instead (capture from "
        "a device on a public network, or have a server-side sender pass "
        "X-Parsely-IP) (5 pageviews)",
        "127.0.0.1 is a loopback address, so it has no location; Parse.ly will see "
        "your public address instead (capture from a device on a public network, "
        "or have a server-side sender pass X-Parsely-IP)",
    ]


def test_json_has_the_address_and_where_each_campaign_field_came_from():
    document = json.loads(render_json(_inspect(_pageview_from("81.2.69.160"))))

    standard = document["events"][0]["standard"]
    assert standard["client_address"] == "81.2.69.160"
    assert standard["campaign"] == {"campaign": "spring"}
    assert standard["campaign_parameters"] == {"campaign": "utm_campaign"}
    assert standard["geo"] is None
    assert standard["geo_note"].startswith("no GeoIP database: pass --geoip-db")


def test_text_shows_the_session_campaign_when_the_page_has_another():
    landing = "https%3A%2F%2Fwww.example.com%2Fland%3Futm_campaign%3Dspring"
    url = (
        "https://p1.parsely.com/plogger/?rand=1&idsite=example.com&action=pageview"
        f"&url=https%3A%2F%2Fwww.example.com%2Fnext&urlref={landing}&surl={landing}"
        "&pvid=1&plid=1&sid=1&sts=1&slts=0&u=pid%3Dabc&data=%7B%7D"
    )
    same = url.replace("&url=https%3A%2F%2Fwww.example.com%2Fnext", f"&url={landing}")
    result = _inspect(
        CapturedRequest(method="GET", url=url), CapturedRequest(method="GET", url=same)
    )

    text = render_text(result)

    sessions = [line.strip() for line in text.splitlines() if "session:" in line]
    # Only the page without a campaign of its own gets the session line.
    assert sessions == ["session:   campaign=spring  (from surl)"]


def test_geography_notes_count_pageviews_unless_only_other_events_lack_one():
    pageview = _pageview_from("81.2.69.160")
    heartbeat = dataclasses.replace(
        pageview, url=pageview.url.replace("action=pageview", "action=heartbeat")
    )
    mixed = render_text(_inspect(pageview, pageview, heartbeat, heartbeat, heartbeat))
    only_heartbeats = render_text(_inspect(heartbeat, heartbeat))

    def geography(text: str) -> str:
        section = text.split("\nStandard segments (pageviews)\n", 1)[1]
        return next(row for row in section.splitlines() if "geography" in row)

    assert geography(mixed).endswith("(GeoLite2-City or -Country) (2 pageviews)")
    assert geography(only_heartbeats).endswith("(GeoLite2-City or -Country) (2 events)")
