"""The terminal UI driven headless with `App.run_test`, over a known recording."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from conftest import (
    START,
    inspect,
    known_requests,
    pixel_url,
    sent_later,
    wait_loaded,
)

from inspector.model import CapturedRequest
from inspector.recordings import load_requests, write_har, write_mitm
from inspector.tui.app import InspectorApp
from inspector.tui.launch import build_view_app
from inspector.tui.presenters import clock_time
from inspector.tui.screens import HelpScreen, SaveScreen
from inspector.tui.widgets.events_table import EventsTable
from inspector.tui.widgets.findings_view import FindingsView
from inspector.tui.widgets.log_view import LogView
from inspector.tui.widgets.pages_view import PagesView
from inspector.tui.widgets.segments_view import SegmentsView

SIZE = (160, 50)


def row_texts(app: InspectorApp) -> list[list[str]]:
    table = app.events_table
    return [table.row_texts(index) for index in range(table.row_count)]


def status_text(app: InspectorApp) -> str:
    return str(app.query_one("#status").render())


def filter_box_lines(app: InspectorApp) -> list[str]:
    """The filter box as drawn, its border included."""
    from textual.geometry import Region

    box = app.filter_box
    width, height = box.outer_size
    return [strip.text for strip in box.render_lines(Region(0, 0, width, height))]


def clock(offset: float) -> str:
    moment = datetime.fromtimestamp(START + offset)
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


async def test_known_recording_fills_the_table(view_app):
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)

        # The first two events are evidence of the page load's diagnoses
        # (heartbeat-data-differs, and pageview-without-tracker: the document came
        # without the tracker script); the other site is outside the spec's sites.
        assert row_texts(view_app) == [
            [
                clock(0.2),
                "example.com",
                "pageview",
                "/news/story-1",
                'plan="premium" logged_in=true',
                "▲ page.heartbeat-data-differs +1",
            ],
            [
                clock(5.2),
                "example.com",
                "heartbeat",
                "/news/story-1",
                'plan="premium" logged_in="true"',
                "▲ segment.type-mismatch +1",
            ],
            [
                clock(10.0),
                "example.com",
                "pageview",
                "/news/story-2",
                "plan=null",
                "ok",
            ],
            [
                clock(12.0),
                "example.com",
                "pageview",
                "/about",
                "<data invalid>",
                "✖ data.not-json",
            ],
            [
                clock(15.0),
                "other.org",
                "pageview",
                "/home",
                'plan="basic"',
                "ℹ spec.site-not-covered",
            ],
        ]
        # Counted as `check` counts: each event's findings and each diagnosis once.
        assert "known.mitm" in status_text(view_app)
        assert "5 events · findings: 1 error, 2 warnings, 2 infos" in status_text(
            view_app
        )


async def test_rows_are_coloured_by_worst_severity(view_app):
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)

        table = view_app.events_table
        assert str(table.row_style(3)) == "bold red"
        assert str(table.row_style(1)) == "yellow"
        assert str(table.row_style(0)) == "yellow"  # from its page's diagnosis
        assert str(table.row_style(2)) == "none"
        assert str(table.row_style(4)) == "cyan"


async def test_detail_pane_keeps_json_types_apart(view_app):
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)
        table = view_app.events_table

        table.select_row(0)
        await pilot.pause()
        boolean = view_app.detail.text.plain
        table.select_row(1)
        await pilot.pause()
        string = view_app.detail.text.plain
        table.select_row(2)
        await pilot.pause()
        null = view_app.detail.text.plain

        assert "logged_in: true  boolean" in boolean
        assert 'plan: "premium"  string' in boolean
        assert 'logged_in: "true"  string' in string
        assert "plan: null  null" in null
        assert "logged_in: absent  (declared in the spec, not sent)" in null
        assert "region: absent  (declared in the spec, not sent)" in null


async def test_detail_pane_groups_the_event(view_app):
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)
        view_app.events_table.select_row(1)
        await pilot.pause()

        text = view_app.detail.text.plain
        headings = [
            "General",
            "Findings (2)",
            "Segment data",
            "Page",
            "Session and IDs",
            "Standard segments",
            "Raw",
        ]
        positions = [text.index(f"\n{heading}\n") for heading in headings[1:]]
        assert text.startswith("General\n")
        assert positions == sorted(positions)
        # The id says where to find the flow: the file and its place in it.
        assert "  event id   known.mitm:3\n" in text
        assert "  origin     known.mitm flow 3" in text
        assert "  action     heartbeat" in text
        assert "  endpoint   p1.parsely.com/plogger/" in text
        assert "  transport  web" in text
        assert "  inc        5" in text
        assert "  url        https://www.example.com/news/story-1" in text
        assert "  title      Story One | Example" in text
        assert "  pvid       67821" in text
        assert '  sref       ""' in text
        assert "  Referrer   search (google.com)" in text
        assert "action=heartbeat" in text.split("\nRaw\n")[1]

        # Its findings: its own, then the page load's diagnosis it is evidence of.
        findings = text.split("\nFindings (2)\n")[1].split("\n\n")[0]
        assert "▲ warning segment.type-mismatch  at data.logged_in" in findings
        assert "▲ warning page.heartbeat-data-differs  (page load)" in findings
        assert "known.mitm:3 (this event)" in findings


async def test_detail_pane_explains_an_invalid_data_parameter(view_app):
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)
        view_app.events_table.select_row(3)
        await pilot.pause()

        text = view_app.detail.text.plain
        segment_part = text.split("\nSegment data\n")[1].split("\n\n")[0]
        assert "data is not valid JSON; as sent:" in segment_part
        assert "TODO" in segment_part
        findings_part = text.split("\nFindings (")[1]
        assert "✖ error data.not-json" in findings_part
        finding = view_app.detail.report.findings[0]
        assert finding.message in findings_part
        if finding.explanation:
            assert finding.explanation in findings_part


async def test_filter_reduces_the_rows(view_app):
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)

        await pilot.press("slash", *"action:heartbeat", "enter")
        await pilot.pause()
        assert [row[2] for row in row_texts(view_app)] == ["heartbeat"]
        assert "Events filter: action:heartbeat (1 of 5 shown)" in status_text(view_app)
        assert view_app.focused is view_app.events_table

        expectations = {
            'plan="premium"': 2,
            "plan=premium": 2,
            "logged_in=true": 1,
            'logged_in="true"': 1,
            "plan=null": 1,
            "plan=*": 4,
            "severity:error": 1,
            # The pageview's page diagnosis counts: it is a warning event too.
            "severity:warning": 3,
            "severity:info": 4,
            "code:segment.type": 1,
            "code:page.": 2,
            "code:page.pageview-without-tracker": 1,
            "site:other": 1,
            "story-2": 1,
            "-site:other action:pageview": 3,
            "": 5,
        }
        for text, expected_rows in expectations.items():
            view_app.apply_filter(text)
            await pilot.pause()
            assert view_app.events_table.row_count == expected_rows, text

        view_app.apply_filter('logged_in="true"')
        await pilot.pause()
        assert row_texts(view_app)[0][4] == 'plan="premium" logged_in="true"'

        # Event ids, as Findings and Pages name them, are found by free text.
        wanted = view_app.inspection.reports[2].event
        view_app.apply_filter(wanted.id)
        await pilot.pause()
        assert view_app.events_table.reports == [view_app.inspection.reports[2]]


def table_lines(app: InspectorApp, count: int = 6) -> list[str]:
    table = app.events_table
    return [table.render_line(y).text.strip() for y in range(1, count + 1)]


async def test_a_filter_matching_nothing_says_so_not_how_to_connect(view_app):
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)

        await pilot.press("slash", *"action:conversion", "enter")
        await pilot.pause()
        assert view_app.events_table.row_count == 0
        shown = table_lines(view_app)
        assert "No event matches the filter: action:conversion" in shown
        assert "5 events hidden by it." in shown
        assert not any("Inspecting" in line or "Reading" in line for line in shown)

        # An empty filter brings the rows, and then the source's message, back.
        await pilot.press("slash", *["backspace"] * 20, "enter")
        await pilot.pause()
        assert view_app.events_table.row_count == 5
        assert view_app.events_table.no_match_message == ()


async def test_pausing_an_empty_table_says_events_are_held(view_app):
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)
        await pilot.press("c", "p")
        await pilot.pause()
        view_app.receive_reports(list(view_app.inspection.reports)[:2])
        view_app.flush()
        await pilot.pause()

        assert view_app.events_table.row_count == 0
        assert "Paused: 2 events received, shown on resume (p)." in table_lines(
            view_app
        )
        await pilot.press("p")
        await pilot.pause()
        assert view_app.events_table.row_count == 2


async def test_a_filter_that_cannot_be_understood_is_not_applied(view_app):
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)
        await pilot.press("slash", *"action:heartbeat", "enter")
        await pilot.pause()
        assert view_app.events_table.row_count == 1

        for text, error in [
            ("severity:bogus", "unknown severity 'bogus': use error, warning or info"),
            ("action:", "action: needs a value, such as action:pageview"),
        ]:
            await pilot.press("slash", *["backspace"] * 20, *text, "enter")
            await pilot.pause()
            # The previous filter stays; the box stays open and says why.
            assert view_app.events_table.row_count == 1, text
            assert view_app.event_filter.text == "action:heartbeat"
            assert view_app.focused is view_app.filter_box
            assert error in view_app.filter_box.border_subtitle
            assert view_app.filter_box.has_class("invalid")
            # Under the box, from the left: not in a toast, which would cover it.
            lower_edge = filter_box_lines(view_app)[-1]
            assert 0 < lower_edge.find(error) <= 3, lower_edge
            assert not view_app._notifications

            # Leaving the box puts the applied filter back in it.
            await pilot.press("escape")
            await pilot.pause()
            assert view_app.filter_box.value == "action:heartbeat"
            assert not view_app.filter_box.has_class("invalid")
            assert "Events filter: action:heartbeat" in status_text(view_app)


async def test_an_invalid_filter_left_with_escape_keeps_no_part_of_it(view_app):
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)
        await pilot.press("slash", *"action:heartbeat", "enter")
        await pilot.pause()

        # On the way to `severity:bogus`, `severity` alone is valid free text.
        await pilot.press("slash", *["backspace"] * 20, *"severity:bogus")
        await pilot.pause()
        assert view_app.event_filter.text == "action:heartbeat"
        assert view_app.events_table.row_count == 1
        # Said as it is typed, under the box.
        assert "unknown severity 'bogus'" in filter_box_lines(view_app)[-1]

        await pilot.press("escape")
        await pilot.pause()
        assert view_app.filter_box.value == "action:heartbeat"
        assert view_app.event_filter.text == "action:heartbeat"
        assert view_app.events_table.row_count == 1
        assert "Events filter: action:heartbeat (1 of 5 shown)" in status_text(view_app)


async def test_pause_holds_rows_back_and_resume_adds_them(view_app, spec):
    extra = inspect(sent_later(known_requests(), 100.0), spec)
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)

        await pilot.press("p")
        view_app.receive_reports(extra[:2])
        view_app.flush()
        await pilot.pause()
        assert view_app.events_table.row_count == 5
        assert view_app.counts.total == 7
        assert "PAUSED (2 not shown yet)" in status_text(view_app)

        view_app.receive_reports(extra[2:])
        await pilot.press("p")
        await pilot.pause()
        assert view_app.events_table.row_count == 10
        assert view_app.events_table.reports[5:] == extra
        assert view_app.counts.total == 10
        assert "PAUSED" not in status_text(view_app)


async def test_resume_respects_the_row_cap(known_recording, spec):
    later = sent_later(known_requests(), 100.0)
    extra = inspect(later + sent_later(later, 100.0), spec)
    app = build_view_app([known_recording], spec=spec, max_rows=6)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(app, pilot)

        await pilot.press("p")
        app.receive_reports(extra)
        await pilot.press("p")
        await pilot.pause()

        assert app.events_table.reports == extra[-6:]
        assert app.counts.total == 15


async def test_clear_empties_the_table_and_restarts_the_counts(view_app, spec):
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)

        await pilot.press("c")
        await pilot.pause()
        assert view_app.events_table.row_count == 0
        assert view_app.counts.total == 0
        assert view_app.detail.report is None
        assert view_app.finding_counts() == {}
        assert view_app.segment_counts() == {}
        # The recordings were read long ago: the empty table says why it is
        # empty, not that they are still being read.
        shown = "\n".join(
            view_app.events_table.render_line(y).text for y in range(1, 4)
        )
        assert "Reading" not in shown and "Inspecting" not in shown
        assert "every event of these recordings came before it" in shown
        assert "Quit (q) and open them again" in shown

        # New events after the clear are counted from zero.
        request = known_requests()[4]
        view_app.receive_reports(view_app.inspection.process(request))
        view_app.flush()
        await pilot.pause()
        assert view_app.events_table.row_count == 1
        assert view_app.counts.total == 1
        assert view_app.finding_counts()["data.not-json"] == 1
        assert "1 event · findings: 1 error" in status_text(view_app)


async def test_clear_forgets_findings_pages_and_what_save_writes(
    view_app, tmp_path: Path
):
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)
        await pilot.press("c")
        await pilot.pause()

        await pilot.press("2")
        await pilot.pause()
        findings = view_app.findings_view
        assert findings.table.row_count == 0
        # The empty views say since when, as the Events table does, rather than
        # invite selecting a row; the message sits right under the headers.
        cleared = f"Cleared at {clock_time(view_app._cleared_at)[:8]}"
        assert findings.text.plain == (
            f"{cleared}: all the findings of these recordings came before it. "
            "Quit (q) and open them again to see their findings."
        )
        assert findings.table.region.height == 1
        await pilot.press("4")
        await pilot.pause()
        pages = view_app.pages_view
        assert pages.table.row_count == 0
        assert pages.text.plain == (
            f"{cleared}: all the page loads of these recordings came before it. "
            "Quit (q) and open them again to see their page loads."
        )
        assert pages.table.region.height == 1
        assert "0 events" in status_text(view_app)
        assert "findings" not in status_text(view_app)

        # Nothing came since the clear: nothing to save.
        await pilot.press("s")
        await pilot.pause()
        assert not isinstance(view_app.screen, SaveScreen)
        assert any(
            "no requests since the clear" in n.message for n in view_app._notifications
        )

        # A request after the clear (as the proxy would deliver it) is all there is.
        request = known_requests()[4]
        view_app._keep_request(request)
        view_app.receive_reports(view_app.inspection.process(request))
        view_app.refresh_diagnoses()
        view_app.flush()
        await pilot.press("2")
        await pilot.pause()
        codes = [
            view_app.findings_view.table.get_row_at(i)[1].plain
            for i in range(view_app.findings_view.table.row_count)
        ]
        assert codes == ["data.not-json"]
        assert view_app.findings_view.examples["data.not-json"].event_id == (
            view_app.events_table.reports[0].event.id
        )

        target = tmp_path / "after-clear.har"
        assert view_app.save_to(target) == target

    requests, errors = load_requests([target])
    assert errors == []
    assert [r.url for r in requests] == [request.url]


async def test_findings_view_groups_by_code_with_counts(view_app):
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)

        await pilot.press("2")
        await pilot.pause()
        view = view_app.query_one(FindingsView)
        table = view.query_one("#findings-table")

        expected = view_app.finding_counts()
        assert expected["data.not-json"] == 1
        assert expected["segment.type-mismatch"] == 1
        assert expected["page.heartbeat-data-differs"] == 1
        rows = {
            table.get_row_at(i)[1].plain: int(table.get_row_at(i)[2].plain)
            for i in range(table.row_count)
        }
        assert rows == dict(expected)
        top = table.get_row_at(0)
        assert top[0].plain == "✖ error"

        # The explanation follows the selected code.
        table.move_cursor(row=[*rows].index("data.not-json"))
        await pilot.pause()
        assert view.text.plain.startswith("data.not-json: seen once. For example:")

        # Enter shows the code's events.
        table.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert view_app.views.active == "events"
        assert view_app.event_filter.text == "code:data.not-json"
        assert [row[3] for row in row_texts(view_app)] == ["/about"]
        assert view_app.detail.report.event.url.endswith("/about")


async def test_findings_columns_keep_their_widths(tmp_path, spec):
    app = build_view_app([personal_data_recording(tmp_path)], spec=spec)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_loaded(app, pilot)
        for key in ("4", "tab", "end", "2"):
            await pilot.press(key)
            await pilot.pause()

        table = app.findings_view.table
        codes = [table.get_row_at(i)[1].plain for i in range(table.row_count)]
        widths = {str(key.value): column.width for key, column in table.columns.items()}
        assert codes
        assert widths["code"] == max(len(code) for code in codes)
        assert widths["severity"] == len("✖ warning")
        assert sum(widths.values()) + 8 == 160 - 2
        assert not any(column.auto_width for column in table.columns.values())


async def test_cut_cells_of_the_findings_and_pages_tables_end_in_an_ellipsis(
    tmp_path, spec
):
    # A tab left open for hours: its heartbeats make a page load of 20000 s.
    requests = known_requests()
    requests.append(
        CapturedRequest(
            method="GET",
            url=pixel_url(action="heartbeat", inc="5", tt="5000"),
            timestamp=START + 20_000,
            request_id="req-late",
            origin="late heartbeat",
            response_status=200,
            content_type="image/gif",
        )
    )
    recording = tmp_path / "long.mitm"
    write_mitm(requests, recording)
    app = build_view_app([recording], spec=spec)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(app, pilot)
        tables = {"2": app.findings_view.table, "4": app.pages_view.table}
        for key, table in tables.items():
            await pilot.press(key)
            await pilot.pause()
            assert table.row_count
            for row in range(table.row_count):
                for cell in table.get_row_at(row):
                    assert (cell.no_wrap, cell.overflow) == (True, "ellipsis")

        durations = [
            str(app.pages_view.table.get_row_at(row)[4])
            for row in range(app.pages_view.table.row_count)
        ]
        assert "20000.0 s" in durations
        screen = app.pages_view.table.render_lines(
            app.pages_view.table.region.reset_offset
        )
        assert any("20000.0 s" in line.text for line in screen)


async def test_segments_view_counts_values_by_type(view_app):
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)

        await pilot.press("3")
        await pilot.pause()
        table = view_app.query_one(SegmentsView)
        rows = [
            [cell.plain for cell in table.get_row_at(i)] for i in range(table.row_count)
        ]

        assert [row[:4] for row in rows] == [
            ["logged_in", '"true"', "string", "1"],
            ["", "true", "boolean", "1"],
            ["plan", '"premium"', "string", "2"],
            ["", '"basic"', "string", "1"],
            ["", "null", "null", "1"],
            ["region", "never sent", "", "0"],
            # Parse.ly's standard segments of the same pageviews follow.
            ["referrer (standard)", "search (google.com)", "standard", "4"],
        ]
        assert rows[2][4] == "50%"
        assert rows[2][5] == "declared string"
        assert rows[6][5] == "counts pageviews"
        assert [str(column.label) for column in table.columns.values()][-1] == "Note"


async def test_max_rows_caps_the_table_but_not_the_counts(known_recording, spec):
    app = build_view_app([known_recording], spec=spec, max_rows=3)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(app, pilot)

        assert [row[3] for row in row_texts(app)] == [
            "/news/story-2",
            "/about",
            "/home",
        ]
        assert app.counts.total == 5
        assert "5 events" in status_text(app)
        assert "3 of 5 in the Events table" in status_text(app)
        assert sum(app.segment_counts()["plan"].values()) == 4
        assert len(app.inspection.reports) == 3

        # A filter searches the rows kept, and says so.
        app.apply_filter("/home")
        await pilot.pause()
        assert app.events_table.row_count == 1
        assert (
            "Events filter: /home (1 of the 3 most recent of 5 shown)"
            in status_text(app)
        )


async def test_a_filter_whose_matches_the_row_cap_dropped_says_so(
    known_recording, spec
):
    app = build_view_app([known_recording], spec=spec, max_rows=3)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(app, pilot)
        assert app.dropped_by_row_cap == 2

        # The only heartbeat is the second event: older than the three kept.
        app.apply_filter("action:heartbeat")
        await pilot.pause()
        assert app.events_table.row_count == 0
        capped = (
            "Matches may have been dropped by the cap of 3 most recent rows "
            "(--max-rows): 2 events older than those are counted but no longer kept."
        )
        assert app.events_table.no_match_message[0] == (
            "No event matches the filter: action:heartbeat"
        )
        assert capped in app.events_table.no_match_message
        shown = " ".join(table_lines(app, 10))
        assert "cap of 3 most recent rows (--max-rows)" in " ".join(shown.split())

        # Findings counts every event, so its drill-down can lead there too.
        await pilot.press("2")
        await pilot.pause()
        table = app.findings_view.table
        codes = [table.get_row_at(i)[1].plain for i in range(table.row_count)]
        table.move_cursor(row=codes.index("segment.type-mismatch"))
        table.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert app.event_filter.text == "code:segment.type-mismatch"
        assert app.events_table.row_count == 0
        assert capped in app.events_table.no_match_message


async def test_a_filter_matching_nothing_without_a_cap_does_not_blame_it(view_app):
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)

        view_app.apply_filter("action:conversion")
        await pilot.pause()
        assert view_app.dropped_by_row_cap == 0
        assert not any(
            "--max-rows" in line for line in view_app.events_table.no_match_message
        )


async def test_every_event_of_a_site_the_spec_does_not_cover_says_so(tmp_path, spec):
    requests = known_requests()
    requests.append(
        CapturedRequest(
            method="GET",
            url=pixel_url(
                idsite="other.org",
                page="https://other.org/contact",
                plid="77002",
                pvid="90002",
                data='{"plan": "basic"}',
            ),
            timestamp=START + 20,
            request_id="req-6",
            origin="known entry 6",
            response_status=200,
            content_type="image/gif",
        )
    )
    recording = tmp_path / "two-sites.mitm"
    write_mitm(requests, recording)
    app = build_view_app([recording], spec=spec)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(app, pilot)

        rows = row_texts(app)
        assert [(row[1], row[5]) for row in rows[-2:]] == [
            ("other.org", "ℹ spec.site-not-covered"),
            ("other.org", "ok (not covered by the spec)"),
        ]
        # The spec's own site is judged by it, and never said to be outside it.
        assert all(row[1] == "example.com" for row in rows[:4])
        assert "not covered" not in " ".join(row[5] for row in rows[:4])

        app.events_table.select_row(len(rows) - 1)
        await pilot.pause()
        detail = app.detail.text.plain
        assert "spec       does not cover this site (not in its sites)" in detail
        assert "Findings (0)" in detail

        app.events_table.select_row(0)
        await pilot.pause()
        assert "does not cover this site" not in app.detail.text.plain


async def test_help_lists_every_binding(view_app):
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)

        await pilot.press("question_mark")
        await pilot.pause()
        screen = view_app.screen
        assert isinstance(screen, HelpScreen)
        text = screen.text.plain
        for binding in InspectorApp.BINDINGS:
            key = {"slash": "/", "question_mark": "?"}.get(binding.key, binding.key)
            assert f"\n  {key:<22}{binding.description}\n" in text
        for keys, description in InspectorApp.NAVIGATION_HELP:
            assert f"\n  {keys:<22}{description}\n" in text
        for binding in EventsTable.BINDINGS:
            keys = binding.key.replace(",", ", ")
            assert f"\n  {keys:<22}{binding.description}\n" in text
        assert "severity:warning" in text

        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(view_app.screen, HelpScreen)


def test_help_descriptions_wrap_under_themselves():
    from rich.console import Console

    screen = HelpScreen(
        [("Everywhere", [("enter", "Findings: show the code's events; " * 3)])]
    )
    console = Console(width=60, record=True)
    console.print(screen._build_renderable())
    lines = console.export_text().splitlines()
    assert lines[1].startswith("  enter" + " " * 17 + "Findings:")
    assert lines[2].startswith(" " * 24) and lines[2].strip()
    # The filter terms too, and the notes wrap as paragraphs.
    text_line = next(i for i, line in enumerate(lines) if line.startswith("  text"))
    assert lines[text_line + 1].startswith(" " * 24)
    assert not any(len(line.rstrip()) > 60 for line in lines)
    assert "Quitting (q, ctrl+c) writes" in " ".join(line.strip() for line in lines)


async def test_recording_errors_show_in_the_log_not_a_crash(known_recording, spec):
    missing = known_recording.parent / "missing.har"
    app = build_view_app([missing, known_recording], spec=spec)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(app, pilot)

        assert app.events_table.row_count == 5
        log_lines = app.query_one(LogView).plain_lines
        assert any("missing.har" in line and "ERROR" in line for line in log_lines)
        notifications = [n.message for n in app._notifications]
        assert "1 problem reading the recordings; see Log (5)" in notifications


async def test_the_log_names_only_the_recordings_that_gave_requests(
    known_recording, spec, caplog
):
    missing = known_recording.parent / "missing.har"
    app = build_view_app([missing, known_recording], spec=spec)
    with caplog.at_level(logging.INFO, logger="inspector.tui.app"):
        async with app.run_test(size=SIZE) as pilot:
            await wait_loaded(app, pilot)

    requests, _ = load_requests([known_recording])
    [line] = [r.getMessage() for r in caplog.records if r.msg == "read %s from %s"]
    assert line == f"read {len(requests)} requests from {known_recording.name}"


async def test_counts_in_the_ui_agree_with_their_number(tmp_path, spec):
    """One request read, one problem: no `1 requests`, no `problem(s)`."""
    document = CapturedRequest(
        method="GET",
        url="https://www.example.com/",
        timestamp=START,
        request_id="req-0",
        origin="only entry",
        response_status=200,
        content_type="text/html",
    )
    recording = tmp_path / "no-pixel.mitm"
    write_mitm([document], recording)
    app = build_view_app([tmp_path / "missing.har", recording], spec=spec)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(app, pilot)

        assert list(app.events_table.empty_message) == [
            "No Parse.ly pixel events in these recordings.",
            "1 request read, 1 problem reading them (Log: 5).",
            "A pixel sent to your own host is recognised once the spec lists it in "
            "first_party_hosts.",
        ]
        assert "0 events" in status_text(app)
        assert "1 recording problem: see Log (5)" in status_text(app)

        await pilot.press("s")
        await pilot.pause()
        hint = app.screen.query_one("#save-hint").render()
        assert str(hint).startswith("Saves the 1 request since the start, as .har")


async def test_recordings_without_pixels_and_no_spec_name_no_spec(tmp_path):
    recording = tmp_path / "no-pixel.mitm"
    write_mitm(known_requests()[:1], recording)
    app = build_view_app([recording])
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(app, pilot)

        assert app.events_table.empty_message[-1] == (
            "A pixel sent to your own host is recognised once a spec (--spec) lists "
            "it in first_party_hosts."
        )


async def test_save_exports_the_loaded_requests(view_app, tmp_path: Path):
    target = tmp_path / "saved.har"
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)

        await pilot.press("s")
        await pilot.pause()
        path_box = view_app.screen.query_one("#save-path")
        path_box.value = str(target)
        await pilot.press("enter")
        await pilot.pause()

    requests, errors = load_requests([target])
    assert errors == []
    assert [r.url for r in requests] == [r.url for r in known_requests()]


async def test_a_huge_pixel_is_shown_cut_and_saved_whole(tmp_path, spec):
    """A pixel with a 1 MB address: the table and the detail pane draw a bounded
    prefix (drawing it whole took many seconds), `s` saves it whole."""
    import json

    huge_page = "https://www.example.com/" + "a" * 1_000_000
    huge_value = "b" * 500_000
    pixel = CapturedRequest(
        method="GET",
        url=pixel_url(page=huge_page, data=json.dumps({"plan": huge_value})),
        timestamp=START,
        request_id="req-1",
        origin="huge entry",
        response_status=200,
    )
    recording = tmp_path / "huge.mitm"
    write_mitm([pixel], recording)
    target = tmp_path / "saved.har"
    app = build_view_app([recording], spec=spec)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(app, pilot)

        assert all(len(cell) < 2_100 for cell in app.events_table.row_texts(0))
        detail = app.detail.text.plain
        assert len(detail) < 30_000
        marker = "more characters (s saves the requests whole)"
        assert "  url        https://www.example.com/aaa" in detail
        assert f"… {len(huge_page) - 2_000} {marker}" in detail
        assert f"… {len(json.dumps(huge_value)) - 2_000} {marker}" in detail
        body = app.detail.query_one("#detail-body")
        assert body.virtual_size.height < 1_000

        await pilot.press("s")
        await pilot.pause()
        app.screen.query_one("#save-path").value = str(target)
        await pilot.press("enter")
        await pilot.pause()

    requests, errors = load_requests([target])
    assert errors == [] and [r.url for r in requests] == [pixel.url]


async def test_save_asks_before_replacing_a_file(view_app, tmp_path: Path):
    target = tmp_path / "existing.har"
    target.write_text("keep me")
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)

        await pilot.press("s")
        await pilot.pause()
        dialog = view_app.screen
        assert isinstance(dialog, SaveScreen)
        assert "Saves the 6 requests since the start" in str(
            dialog.query_one("#save-hint").render()
        )
        dialog.query_one("#save-path").value = str(target)
        await pilot.press("enter")
        await pilot.pause()

        assert view_app.screen is dialog
        warning = str(dialog.query_one("#save-hint").render())
        assert f"{target} exists: enter again replaces it" in warning
        assert target.read_text() == "keep me"

        await pilot.press("enter")
        await pilot.pause()
        assert view_app.screen is not dialog

    requests, errors = load_requests([target])
    assert errors == [] and len(requests) == 6


async def test_a_name_that_cannot_be_saved_to_keeps_the_dialog_and_the_path(
    view_app, tmp_path: Path
):
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)

        await pilot.press("s")
        await pilot.pause()
        dialog = view_app.screen
        path_box = dialog.query_one("#save-path")
        attempts = [
            (
                str(tmp_path / "session.txt"),
                "session.txt: use a .har or .mitm file name",
            ),
            (
                str(tmp_path / "no-such-folder" / "session.har"),
                f"Not saved: {tmp_path / 'no-such-folder' / 'session.har'}: "
                "No such file or directory",
            ),
            ("", "Type a file name ending in .har or .mitm"),
        ]
        for typed, reason in attempts:
            path_box.value = typed
            await pilot.press("enter")
            await pilot.pause()

            assert view_app.screen is dialog, typed
            assert path_box.value == typed
            assert reason in str(dialog.query_one("#save-hint").render())
            assert not any(n.title == "Not saved" for n in view_app._notifications)

        # Corrected, the same dialog saves and closes.
        target = tmp_path / "session.har"
        path_box.value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        assert view_app.screen is not dialog
        assert any(n.title == "Saved" for n in view_app._notifications)

    requests, errors = load_requests([target])
    assert errors == [] and len(requests) == 6


async def test_the_save_dialog_hint_wraps_on_a_small_terminal(view_app):
    from textual.geometry import Region

    async with view_app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(view_app, pilot)

        await pilot.press("s")
        await pilot.pause()
        hint = view_app.screen.query_one("#save-hint")
        width, height = hint.outer_size
        shown = " ".join(
            strip.text.strip()
            for strip in hint.render_lines(Region(0, 0, width, height))
        )
        assert "Enter saves, esc cancels." in shown
        dialog = view_app.screen.query_one("#save-dialog")
        assert hint.region.right <= dialog.region.right


async def test_following_stops_when_an_older_row_is_selected(view_app, spec):
    extra = inspect(sent_later(known_requests(), 100.0), spec)
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)
        table = view_app.events_table
        assert table.cursor_row == 4 and table.following

        await pilot.press("up", "up")
        chosen = table.selected_report
        view_app.receive_reports(extra)
        view_app.flush()
        await pilot.pause()
        assert not table.following
        assert table.cursor_row == 2
        assert table.selected_report is chosen
        assert view_app.detail.report is chosen
        assert "not following" in status_text(view_app)

        await pilot.press("f")
        await pilot.pause()
        assert table.following
        assert table.cursor_row == table.row_count - 1
        assert view_app.detail.report is extra[-1]


async def test_pages_view_lists_page_loads_with_their_timeline(view_app):
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)

        await pilot.press("4")
        await pilot.pause()
        view = view_app.query_one(PagesView)
        table = view.table
        rows = [
            [cell.plain for cell in table.get_row_at(i)] for i in range(table.row_count)
        ]
        # A page's verdict counts its events' own findings too, as their rows do.
        assert [(row[1], row[6], row[3], row[2]) for row in rows] == [
            ("example.com", "/news/story-1", "2", "warning"),
            ("example.com", "/news/story-2", "1", "ok"),
            ("example.com", "/about", "1", "error"),
            ("other.org", "/home", "1", "info"),
        ]
        assert rows[0][5] == (
            "page.heartbeat-data-differs, page.pageview-without-tracker, "
            "segment.type-mismatch"
        )
        assert rows[2][5] == "data.not-json"

        table.move_cursor(row=0)
        await pilot.pause()
        text = view.text.plain
        timeline = text.split("Timeline (3 requests)\n")[1].split("\n\n")[0]
        assert timeline.splitlines() == [
            "        +0 ms    document          https://www.example.com/news/story-1",
            '      +200 ms  ● pixel pageview    plan="premium" logged_in=true',
            '     +5200 ms  ● pixel heartbeat   plan="premium" logged_in="true"  ▲',
        ]
        assert "▲ warning page.heartbeat-data-differs" in text
        pageview, heartbeat = view.pages["plid:48213377"].events
        assert f"evidence: {pageview.event.id}, {heartbeat.event.id}" in text

        # The page with an erroneous pageview says where its verdict comes from.
        table.move_cursor(row=2)
        await pilot.pause()
        assert "verdict error  (page rules: ok; its events: 1 error)" in view.text.plain

        # Enter follows a page load to its worst event in the Events view.
        table.move_cursor(row=0)
        table.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert view_app.views.active == "events"
        assert view_app.detail.report is pageview
        assert view_app.events_table.selected_report is pageview

        await pilot.press("c", "4")
        await pilot.pause()
        assert table.row_count == 0
        assert view_app.finding_counts() == {}


def personal_data_recording(directory: Path) -> Path:
    url = pixel_url(
        page="https://www.example.com/account?contact=sam.reader@example.com",
        data='{"plan": "basic", "newsletter_email": "sam.reader@example.com"}',
    )
    path = directory / "pii.har"
    write_mitm(
        [CapturedRequest("GET", url, timestamp=START)], path.with_suffix(".mitm")
    )
    return path.with_suffix(".mitm")


async def test_personal_data_is_masked_unless_asked_for(tmp_path, spec):
    recording = personal_data_recording(tmp_path)

    for show_pii in (False, True):
        app = build_view_app([recording], spec=spec, show_pii=show_pii)
        async with app.run_test(size=SIZE) as pilot:
            await wait_loaded(app, pilot)
            await pilot.press("3")
            await pilot.pause()

            row = app.events_table.row_texts(0)
            detail = app.detail.text.plain
            segments_table = app.query_one(SegmentsView)
            values = [
                segments_table.get_row_at(i)[1].plain
                for i in range(segments_table.row_count)
            ]
            shown = [row[3], row[4], detail, *values]
            everything = "\n".join(shown)

            if show_pii:
                assert "sam.reader@example.com" in row[3]
                assert 'newsletter_email="sam.reader@example.com"' in row[4]
                assert '"sam.reader@example.com"' in values
            else:
                assert "sam.reader" not in everything
                assert "sam.reader%40example.com" not in everything
                assert row[3] == "/account?contact=«email»"
                assert 'newsletter_email="«email»"' in row[4]
                assert 'newsletter_email: "«email»"  string' in detail
                assert '"«email»"' in values


async def test_log_view_shows_warnings_from_any_logger(view_app):
    import logging

    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)

        logging.getLogger("mitmproxy.proxy.server").info("client connect")
        logging.getLogger("mitmproxy.proxy.server").warning("TLS handshake failed")
        await pilot.pause()

        lines = view_app.log_view.plain_lines
        assert any(
            "WARNING mitmproxy.proxy.server: TLS handshake failed" in line
            for line in lines
        )
        assert not any("client connect" in line for line in lines)


CASE_VARIANT_SPEC = """\
version: 1
sites: [example.com]
segments:
  plan:
    type: string
    values: [basic, Basic]
"""


async def test_spec_warnings_show_in_the_ui(known_recording, tmp_path):
    # Loading the spec logs its warnings to stderr before the UI takes the
    # terminal, where they would go unseen: the UI shows them too.
    from inspector.spec import load_spec

    spec_file = tmp_path / "segments.yaml"
    spec_file.write_text(CASE_VARIANT_SPEC)
    spec = load_spec(spec_file, log_warnings=False)
    app = build_view_app([known_recording], spec=spec)

    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(app, pilot)
        expected = f"{spec_file}:6:21: warning: segments.plan.values[1]"
        assert any(
            "WARNING" in line and expected in line for line in app.log_view.plain_lines
        ), app.log_view.plain_lines
        [notice] = [n for n in app._notifications if n.title == "Spec warnings"]
        headline, first = notice.message.splitlines()
        assert headline == "1 warning about the spec; see Log (5)"
        assert first.startswith(expected)
        assert notice.severity == "warning"


async def test_a_spec_without_warnings_announces_none(view_app):
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)
        assert not [n for n in view_app._notifications if n.title == "Spec warnings"]
        assert not any("warning:" in line for line in view_app.log_view.plain_lines)


async def test_a_logged_traceback_shows_on_lines_of_its_own(view_app):
    import logging

    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("inspector.test").exception("could not inspect it")
        # A line break in text from traffic cannot start a record of its own.
        logging.getLogger("inspector.test").warning("odd url x\n12:00:00 ERROR y")
        await pilot.press("5")
        await pilot.pause()

        failure, odd = view_app.log_view.plain_lines[-2:]
        assert "\\n" not in failure
        lines = failure.splitlines()
        assert lines[0].endswith("ERROR inspector.test: could not inspect it")
        assert lines[1] == "    Traceback (most recent call last):"
        assert lines[-1] == "    ValueError: boom"
        assert odd.splitlines()[1] == "    12:00:00 ERROR y"
        shown = [strip.text.rstrip() for strip in view_app.log_view.lines]
        assert "    Traceback (most recent call last):" in shown


async def test_enter_on_what_names_no_pixel_event_shows_its_page_load(tmp_path, spec):
    # A page that loads the tracker but never sends its pageview: its diagnosis's
    # evidence is the tracker script, which is no row of the Events table.
    page = "https://www.example.com/news/quiet"
    requests = [
        *known_requests(),
        CapturedRequest(
            "GET",
            page,
            headers=(("Sec-Fetch-Dest", "document"),),
            timestamp=START + 100,
            content_type="text/html",
            response_status=200,
        ),
        CapturedRequest(
            "GET",
            "https://cdn.parsely.com/keys/example.com/p.js",
            headers=(("Sec-Fetch-Dest", "script"), ("Referer", page)),
            timestamp=START + 100.1,
            response_status=200,
        ),
    ]
    recording = tmp_path / "quiet.mitm"
    write_mitm(requests, recording)
    app = build_view_app([recording], spec=spec)

    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("2")
        await pilot.pause()
        table = app.findings_view.table
        codes = [table.get_row_at(i)[1].plain for i in range(table.row_count)]
        table.move_cursor(row=codes.index("page.tracker-no-pageview"))
        await pilot.pause()
        explanation = app.findings_view.text.plain
        assert "no pixel event shows it; enter shows its page load" in explanation
        assert "in event" not in explanation
        await pilot.press("enter")
        await pilot.pause()

        assert app.views.active == "pages"
        assert app.event_filter.is_empty
        quiet = app.pages_view.pages[app.pages_view.selected_key()]
        assert quiet.url == page
        [notice] = [n for n in app._notifications if n.title == "No event to show"]
        assert notice.message == (
            "No pixel event has page.tracker-no-pageview: its page load is shown "
            "in Pages."
        )

        # Enter on that page load: no event to go to, and it says so.
        await pilot.press("enter")
        await pilot.pause()
        assert app.views.active == "pages"
        assert not any(n.title == "Event not shown" for n in app._notifications)
        assert any(
            n.message.startswith("This page load sent no pixel event")
            for n in app._notifications
        )

        # A code that events have still filters the Events view.
        await pilot.press("2")
        await pilot.pause()
        table.move_cursor(row=codes.index("data.not-json"))
        await pilot.press("enter")
        await pilot.pause()
        assert app.views.active == "events"
        assert app.filter_box.value == "code:data.not-json"
        assert app.events_table.row_count == 1


def hostile_recording(directory: Path) -> Path:
    """A page and its pixels carrying terminal escapes, bidi overrides and markup."""
    page = "https://www.example.com/[bold]x[/bold]\x1b[31m/\u202eexe"
    requests = [
        CapturedRequest(
            "GET",
            page.replace("\x1b", "%1b").replace("\u202e", "%E2%80%AE"),
            timestamp=START,
            content_type="text/html",
        ),
        CapturedRequest(
            "GET",
            pixel_url(
                page=page,
                title="\x1b[2J\x1b[Hclear [red]markup[/red]",
                idsite="X\x1b]0;PWNED\x07Y",
                data='{"plan\\u001b[5m": "[link=http://x]p[/link]\\u009b", "n": 1',
            ),
            timestamp=START + 1,
        ),
        CapturedRequest(
            "GET",
            pixel_url(
                page=page,
                action="heartbeat",
                inc="5",
                tt="5000",
                idsite="X\x1b]0;PWNED\x07Y",
                data='{"plan\\u001b[5m": "[i]other[/i]"}',
            ),
            timestamp=START + 6,
        ),
    ]
    path = directory / "hostile.mitm"
    write_mitm(requests, path)
    return path


def shown_texts(app: InspectorApp) -> list[str]:
    """What the app puts on screen, as text: table lines, panes, tables, log."""
    from textual.widgets import DataTable

    table = app.events_table
    texts = [table.render_line(y).text for y in range(table.row_count + 1)]
    texts += [app.detail.text.plain, app.pages_view.text.plain]
    texts += [app.findings_view.text.plain, str(app.status_bar.render())]
    for data_table in app.query(DataTable):
        for row in range(data_table.row_count):
            texts += [str(cell) for cell in data_table.get_row_at(row)]
    texts += app.log_view.plain_lines
    return texts


async def test_traffic_never_reaches_the_terminal_raw(tmp_path, spec):
    import logging

    from inspector.tui.presenters import UNSAFE_CHARACTERS

    app = build_view_app([hostile_recording(tmp_path)], spec=spec)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(app, pilot)
        logging.getLogger("mitmproxy.proxy.server").warning("bad \x1b]0;T\x07 flow")
        for tab in "42531":
            await pilot.press(tab)
            await pilot.pause()
        app.events_table.select_row(0)
        await pilot.pause()

        texts = shown_texts(app)
        for text in texts:
            assert not UNSAFE_CHARACTERS.search(text.replace("\n", "")), text
        everything = "\n".join(texts)
        assert "X\\x1b]0;PWN…" in app.events_table.render_line(1).text
        assert "X\\x1b]0;PWNED\\x07Y" in app.detail.text.plain
        assert "\\x1b[2J\\x1b[Hclear [red]markup[/red]" in app.detail.text.plain
        assert "\\u202eexe" in everything
        assert "bad \\x1b]0;T\\x07 flow" in everything
        # Markup stays literal text wherever it is shown.
        assert "[link=http://x]p[/link]" in everything
        assert "[i]other[/i]" in everything


async def test_a_small_terminal_keeps_segments_and_worst_in_view(view_app):
    async with view_app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(view_app, pilot)

        assert not view_app.events_split.has_class("wide")
        labels = view_app.events_table.column_labels
        assert labels[-2:] == ["Segments", "Worst finding"]
        header = view_app.events_table.render_line(0).text
        assert "Segments" in header and "Worst finding" in header


async def test_several_recordings_show_in_time_order_with_their_origin(tmp_path, spec):
    requests = known_requests()
    first, second = tmp_path / "first.mitm", tmp_path / "second.har"
    write_mitm([requests[0], requests[1], requests[4]], first)
    write_har([requests[2], requests[3], requests[5]], second)
    app = build_view_app([first, second], spec=spec)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(app, pilot)

        assert [row[0] for row in row_texts(app)] == [
            clock(0.2),
            clock(5.2),
            clock(10.0),
            clock(12.0),
            clock(15.0),
        ]
        app.events_table.select_row(1)
        await pilot.pause()
        assert "  origin     second.har entry 1" in app.detail.text.plain
        # Each file is a capture of its own: the heartbeat does not join the
        # pageview of the other file, though they share their ids.
        assert "page.heartbeat-data-differs" not in app.detail.text.plain


async def test_pages_view_keeps_recordings_apart(tmp_path, spec):
    from inspector.tui.launch import build_view_app

    # One pageview per file, with the same pageload and visitor ids, 35 ms apart:
    # in one file that is a duplicate, in two files two page loads.
    first = pixel_url(rand="1700000000000", plid="shared", pvid="pv-1", u="pid=v1")
    second = pixel_url(rand="1700000000035", plid="shared", pvid="pv-2", u="pid=v1")
    (tmp_path / "one.txt").write_text(f"GET {first}\n")
    (tmp_path / "two.txt").write_text(f"GET {second}\n")
    app = build_view_app([tmp_path / "one.txt", tmp_path / "two.txt"], spec=spec)

    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(app, pilot)
        await pilot.press("4")
        await pilot.pause()
        view = app.query_one(PagesView)

        assert view.table.row_count == 2
        pages = list(view.pages.values())
        assert [page.source for page in pages] == ["one.txt", "two.txt"]
        assert all(not page.diagnoses for page in pages)
        view.table.move_cursor(row=1)
        await pilot.pause()
        assert "in two.txt" in view.text.plain
        assert "duplicate" not in view.text.plain


async def test_typing_a_filter_lowers_each_event_once(view_app, monkeypatch):
    from collections import Counter

    from inspector.tui import filtering

    calls: Counter[str] = Counter()
    lower_once = filtering._lowered_text

    def counted(report):
        calls[report.event.id] += 1
        return lower_once(report)

    monkeypatch.setattr(filtering, "_lowered_text", counted)
    async with view_app.run_test(size=SIZE) as pilot:
        await wait_loaded(view_app, pilot)

        await pilot.press("slash", *"Story-2")
        await pilot.pause()

        assert [row[3] for row in row_texts(view_app)] == ["/news/story-2"]
        # Seven key presses, and each of the five events was lowered once.
        assert sorted(calls.values()) == [1] * 5
        assert len(view_app.search_texts) == 5

        await pilot.press("enter", "c")
        await pilot.pause()
        assert len(view_app.search_texts) == 0


async def test_rows_dropped_by_the_cap_take_their_search_text(known_recording, spec):
    app = build_view_app([known_recording], spec=spec, max_rows=3)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(app, pilot)
        app.apply_filter("example")
        await pilot.pause()
        assert len(app.search_texts) == 3

        # Two more events push the two oldest kept rows out.
        app.receive_reports(inspect(sent_later(known_requests(), 100.0), spec)[3:5])
        app.flush()
        await pilot.pause()

        assert [row[3] for row in row_texts(app)] == ["/home", "/about", "/home"]
        assert len(app.search_texts) == 3
