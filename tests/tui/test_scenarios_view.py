"""The Scenarios table of the Segments view, over real-browser recordings of the
test site judged against the site's own spec (three scenarios)."""

from __future__ import annotations

from pathlib import Path

from conftest import wait_loaded

from inspector.coverage import GEOIP_DB_NEEDED
from inspector.inspection import Inspection
from inspector.recordings import load_requests
from inspector.report import scenario_pages
from inspector.spec import load_spec
from inspector.tui.launch import build_view_app
from inspector.tui.widgets.scenarios_view import ScenariosView

ROOT = Path(__file__).resolve().parent.parent.parent
SITE_SPEC = ROOT / "fixtures" / "site" / "segments.yaml"
BROWSER = ROOT / "fixtures" / "recordings" / "browser"
LOGGED_OUT = BROWSER / "logged-out-mixed.mitm"
PREMIUM = BROWSER / "config-before-snippet.mitm"
PREMIUM_HTTPS = BROWSER / "https-pixel.mitm"
SIZE = (180, 50)


def scenario_rows(app) -> list[list[str]]:
    table = app.scenarios_view.table
    return [
        [cell.plain for cell in table.get_row_at(index)]
        for index in range(table.row_count)
    ]


async def open_segments(app, pilot) -> None:
    await wait_loaded(app, pilot)
    await pilot.press("3")
    await pilot.pause()


async def feed(app, pilot, path: Path) -> None:
    """Deliver a recording's requests as the proxy would, one by one."""
    requests, errors = load_requests([path])
    assert errors == []
    for request in requests:
        app.receive_reports(app.inspection.process(request))
    app.flush()
    app.refresh_views()
    await pilot.pause()


async def test_seen_scenarios_name_their_pages_and_unseen_ones_what_they_need():
    app = build_view_app([LOGGED_OUT], spec=load_spec(SITE_SPEC))
    async with app.run_test(size=SIZE) as pilot:
        await open_segments(app, pilot)

        assert app.scenarios_view.title.plain == (
            "Scenarios: 2 of 3 seen · 1 not seen yet"
        )
        assert scenario_rows(app) == [
            [
                "premium",
                "○ not seen",
                "0",
                'plan = "premium", logged_in = true  '
                "(A signed-in reader on the premium plan.)",
            ],
            ["signed out, plan sent as null", "✔ seen", "1", "/logged-out-null.html"],
            ["signed out, plan left out", "✔ seen", "1", "/logged-out-omitted.html"],
        ]
        # It sits under the segment counts, both on screen.
        view = app.query_one(ScenariosView)
        assert view.region.height > 0
        assert view.region.y > app.segments_view.region.y


async def test_the_table_follows_new_events_and_starts_again_on_clear():
    app = build_view_app([LOGGED_OUT], spec=load_spec(SITE_SPEC))
    async with app.run_test(size=SIZE) as pilot:
        await open_segments(app, pilot)

        # A premium reader's page arrives: the last scenario is seen too.
        await feed(app, pilot, PREMIUM)
        assert app.scenarios_view.title.plain == "Scenarios: 3 of 3 seen"
        assert scenario_rows(app)[0][1:] == [
            "✔ seen",
            "1",
            "/config-before-snippet.html",
        ]

        await pilot.press("c")
        await pilot.pause()
        assert app.scenarios_view.title.plain == (
            "Scenarios: 0 of 3 seen · 3 not seen yet"
        )
        assert [row[1:3] for row in scenario_rows(app)] == [["○ not seen", "0"]] * 3

        # After the clear, only what came since counts.
        await feed(app, pilot, PREMIUM_HTTPS)
        assert [row[:3] for row in scenario_rows(app)] == [
            ["premium", "✔ seen", "1"],
            ["signed out, plan sent as null", "○ not seen", "0"],
            ["signed out, plan left out", "○ not seen", "0"],
        ]
        assert scenario_rows(app)[0][3] == "/https-pixel.html"


async def test_every_recording_shows_the_coverage_check_reports():
    recordings = sorted(BROWSER.glob("*.mitm"))
    spec = load_spec(SITE_SPEC)
    app = build_view_app(recordings, spec=spec)
    async with app.run_test(size=SIZE) as pilot:
        await open_segments(app, pilot)
        shown = {status.name: status for status in app.scenarios_view.statuses}

    requests, errors = load_requests(recordings)
    assert errors == []
    result = Inspection(spec).process_all(requests)
    assert {name: s.pageviews for name, s in shown.items()} == {
        name: len(ids) for name, ids in result.scenario_coverage.items()
    }
    assert {name: list(s.pages) for name, s in shown.items()} == (
        scenario_pages(result)
    )
    assert shown["premium"].pageviews > 1
    assert all(status.seen for status in shown.values())


async def test_a_spec_without_scenarios_says_how_to_add_them(view_app):
    async with view_app.run_test(size=SIZE) as pilot:
        await open_segments(view_app, pilot)

        view = view_app.scenarios_view
        assert view.title.plain == (
            "Scenarios: none in the spec. Name the cases your segment code handles "
            "under `scenarios:` (each a name with the `segments` values, `absent` "
            "keys or `standard` segments its pageviews show) to see here which ones "
            "you have tested."
        )
        assert view.has_class("empty")
        assert view.table.row_count == 0
        assert not view.table.display or view.table.region.height == 0


async def test_a_scenario_needing_geography_says_to_add_a_geoip_database(tmp_path):
    spec_file = tmp_path / "geo.yaml"
    spec_file.write_text(
        "scenarios:\n  - name: from the UK\n    standard: {country: GB}\n"
        "  - name: any reader\n"
    )
    recording = tmp_path / "public.txt"
    recording.write_text(
        "# @client=81.2.69.160\n"
        "https://p1.parsely.com/plogger/?rand=1700000000000&idsite=example.com"
        "&url=https%3A%2F%2Fexample.com%2F&action=pageview\n"
    )
    app = build_view_app([recording], spec=load_spec(spec_file))
    async with app.run_test(size=SIZE) as pilot:
        await open_segments(app, pilot)

        assert scenario_rows(app) == [
            [
                "from the UK",
                "○ not seen",
                "0",
                f'{GEOIP_DB_NEEDED}; standard country = "GB"',
            ],
            ["any reader", "✔ seen", "1", "/"],
        ]
        # The same words as `check`, from the same function.
        assert GEOIP_DB_NEEDED.startswith("needs a GeoIP database: add --geoip-db")


async def test_without_a_spec_the_scenarios_say_none_was_given(known_recording):
    # `view` without --spec: the built-in spec is used, and named as no spec.
    app = build_view_app([known_recording])
    async with app.run_test(size=SIZE) as pilot:
        await open_segments(app, pilot)

        assert app.scenarios_view.title.plain == (
            "Scenarios: no spec given (--spec FILE; `segment-inspector spec init "
            "FILE` writes a starter). In a spec, name the cases your segment code "
            "handles under `scenarios:` (each a name with the `segments` values, "
            "`absent` keys or `standard` segments its pageviews show) to see here "
            "which ones you have tested."
        )
        assert "in the spec" not in app.scenarios_view.title.plain
