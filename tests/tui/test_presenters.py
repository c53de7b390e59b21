"""How events and page loads are rendered as text: JSON types must stay visible."""

from __future__ import annotations

import io
import json
from urllib.parse import quote

from conftest import inspect, pixel_url
from rich.console import Console

from inspector.model import CapturedRequest
from inspector.report import make_masker
from inspector.tui.presenters import (
    ENTRIES_LIMIT,
    TEXT_LIMIT,
    detail_document,
    detail_text,
    duration_label,
    event_cell_values,
    printable,
    segments_summary,
    shown,
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

    # "batch entry" is the longest label: the column widens to it.
    assert "  transport   mobile" in text
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
    assert raw.endswith(" more characters (s saves the requests whole)")
    assert quote(json.dumps({"blob": "x" * 20})[:8]) in raw


def test_a_huge_value_is_cut_with_how_much_is_left_out():
    value = "\x1b" + "a" * (TEXT_LIMIT + 5000)

    cut = shown(value)

    assert cut == (
        "\\x1b"
        + "a" * (TEXT_LIMIT - 1)
        + "… 5001 more characters (s saves the requests whole)"
    )
    assert shown("b" * TEXT_LIMIT) == "b" * TEXT_LIMIT
    assert printable("c" * (TEXT_LIMIT + 1)).endswith(
        "… 1 more character (s saves the requests whole)"
    )


def test_personal_data_across_the_cut_is_still_masked():
    address = "jane.doe@example.org"
    value = "x" * (TEXT_LIMIT - 9) + f" {address} " + "y" * 10_000

    cut = shown(value, make_masker())

    assert "jane" not in cut and "@exa" not in cut
    assert cut[TEXT_LIMIT - 9 :].startswith(" «email» … 10013 more characters")
    assert cut.endswith("more characters (s saves the requests whole)")


def test_long_lists_in_the_detail_pane_are_cut_with_how_many_are_left_out():
    many = ENTRIES_LIMIT + 30
    data = {
        **{f"k{index}": index for index in range(many)},
        "list": list(range(many)),
        "nested": {f"n{index}": True for index in range(many)},
    }
    extra = {f"p{index}": "v" for index in range(many)}
    report = report_for(pixel_url(data=json.dumps(data), **extra))

    text = detail_text(report).plain.split("\nRaw\n")[0]

    segments = segment_part(text)
    assert "  k199: 199  number" in segments and "k200" not in segments
    assert "  … 32 more keys (s saves the requests whole)" in segments
    assert "list" not in segments and "nested" not in segments
    # rand comes first: the pixel_url defaults put it outside the known groups.
    assert "  p198 " in text and "  p199 " not in text
    assert "  … 31 more parameters (s saves the requests whole)" in text

    nested = {"list": list(range(many)), "nested": {f"n{i}": 1 for i in range(many)}}
    segments = segment_part(
        detail_text(report_for(pixel_url(data=json.dumps(nested)))).plain
    )
    assert "    [199]: 199  number" in segments and "[200]" not in segments
    assert "    … 30 more items (s saves the requests whole)" in segments
    assert "    … 30 more keys (s saves the requests whole)" in segments


def test_duration_labels():
    assert duration_label(850) == "850 ms"
    assert duration_label(331_000) == "331.0 s"


def test_control_characters_are_shown_as_escapes():
    assert printable("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert printable("X\x1b]0;PWNED\x07Y") == "X\\x1b]0;PWNED\\x07Y"
    assert printable("tab\there\nnew\rline") == "tab\\there\\nnew\\rline"
    assert printable("c1 \x9b31m del \x7f") == "c1 \\x9b31m del \\x7f"
    assert printable("evil\u202etxt.exe \u2066x\u2069") == (
        "evil\\u202etxt.exe \\u2066x\\u2069"
    )
    assert printable("plain, café, 日本") == "plain, café, 日本"
    assert printable("keep\nlines\x1b", keep_newlines=True) == "keep\nlines\\x1b"


HOSTILE_QUERY = (
    "title=%1b%5B2J%1b%5BHclear&idsite=X%1B%5D0%3BPWNED%07Y"
    "&url=https%3A%2F%2Fwww.example.com%2F%E2%80%AEfdp.exe%1b%5B31m"
    "&urlref=%1b%5B1A&surl=%C2%9B2J&sref=%1b%5D2%3Bt%07&u=pid%3D%1b%5B5m"
    "&pvid=%1b%5B6n&plid=%1b%5Bs&action=page%1b%5B0mview&screen=%1b%5BK"
    "&date=%1b%5BJ&evil%1b%5B31m=%1b%5B32mx"
    "&data=%7B%22plan%5Cu001b%22%3A%22%5Bbold%5Dpremium%5Cu001b%5B0m%22%7D"
)


def test_every_field_of_a_hostile_pixel_is_printable():
    from inspector.tui.presenters import UNSAFE_CHARACTERS

    url = "https://p1.parsely.com/plogger/?" + HOSTILE_QUERY
    report = report_for(url)

    cells = event_cell_values(report)
    text = detail_text(report).plain

    for shown_text in (*cells, text):
        assert not UNSAFE_CHARACTERS.search(shown_text.replace("\n", "")), shown_text
    assert cells[1] == "X\\x1b]0;PWNED\\x07Y"
    assert cells[2] == "page\\x1b[0mview"
    assert "  title      \\x1b[2J\\x1b[Hclear" in text
    assert "  idsite     X\\x1b]0;PWNED\\x07Y" in text
    assert "\\u202efdp.exe\\x1b[31m" in text
    assert "  surl       \\x9b2J" in text
    assert "  evil\\x1b[31m \\x1b[32mx" in text
    assert '  plan\\x1b: "[bold]premium\\u001b[0m"  string' in text
    assert "  ▲ warning params.top-level-segment  at evil\\x1b[31m" in text


def test_a_raw_body_keeps_its_lines_but_not_its_escapes():
    body = '{"events": [{"action": "pageview", "idsite": "a\x1b[2Jb",\n "data": {}}]}'
    request = CapturedRequest(
        method="POST",
        url="https://p1.parsely.com/mobileproxy",
        headers=(("Content-Type", "application/json"),),
        body=body.encode(),
    )
    (report,) = inspect([request])

    raw = detail_text(report).plain.split("\nRaw\n")[1]

    assert (
        raw
        == '{"events": [{"action": "pageview", "idsite": "a\\x1b[2Jb",\n "data": {}}]}'
    )


def test_long_labels_of_the_standard_segments_are_not_cut():
    url = pixel_url(
        page="https://www.example.com/?utm_campaign=spring",
        surl="https://www.example.com/?utm_campaign=winter",
    )
    report = report_for(url, client_address="81.2.69.160")
    console = Console(width=120, record=True, file=io.StringIO())

    console.print(detail_document(report).renderable())
    shown = console.export_text()

    section = shown.split("Standard segments")[1].split("Raw")[0]
    rows = [line.split() for line in section.splitlines() if line.strip()]
    assert ["Client", "address", "81.2.69.160"] in rows
    assert ["Session", "Campaign", "winter", "(utm_campaign)"] in rows
    assert "…" not in section


def test_labels_longer_than_the_column_are_not_cut():
    from rich.console import Console

    from inspector.tui.presenters import DetailDocument

    document = DetailDocument()
    document.field("Referrer", "search (google.com)")
    document.field("Subdivision", "Bavaria")
    document.field("Client address", "23.32.10.9")

    console = Console(width=60, record=True)
    console.print(document.renderable())
    shown = [line.rstrip() for line in console.export_text().splitlines()]
    assert shown == [
        "  Referrer       search (google.com)",
        "  Subdivision    Bavaria",
        "  Client address 23.32.10.9",
    ]
    assert document.text().plain.splitlines() == shown


def test_an_event_of_a_site_the_spec_does_not_cover_says_so(spec):
    # The spec covers example.com; the first event of another site has the finding
    # that says so, a later one has nothing else to show it.
    requests = [
        CapturedRequest(method="GET", url=pixel_url(idsite=site, data="{}"))
        for site in ("other.org", "other.org")
    ]
    first, later = inspect(requests, spec)

    assert [f.code for f in first.findings] == ["spec.site-not-covered"]
    assert later.findings == ()
    assert event_cell_values(later, covered=False)[-1] == (
        "ok (not covered by the spec)"
    )
    assert event_cell_values(later)[-1] == "ok"
    text = detail_text(later, spec).plain
    assert "spec       does not cover this site (not in its sites)" in text
    # Nor does it list the spec's keys as declared but not sent.
    assert "declared in the spec" not in segment_part(text)


def test_a_covered_site_is_matched_ignoring_case(spec):
    report = report_for(pixel_url(idsite="Example.COM", data="{}"), spec)

    text = detail_text(report, spec).plain

    assert "does not cover this site" not in text
    assert "plan: absent  (declared in the spec, not sent)" in segment_part(text)


def test_a_finding_path_that_is_personal_data_is_masked():
    from inspector.report import make_masker

    report = report_for(pixel_url(**{"ivan.lee@example.org": "1"}))

    text = detail_text(report, masker=make_masker()).plain

    assert "pii.email  at «email»" in text
    assert "ivan" not in text
