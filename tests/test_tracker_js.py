"""The test site's tracker stand-in (`fixtures/site/tracker.js`), run in Chromium.

Each test writes a small page around the stand-in and reads the pixels it sends, to
check that it follows the Parse.ly tracker's documented behaviour: parameter order
and encoding, deep-merged defaults, pageview ids, sessions, heartbeats and the
page-hide flush. Pages come from a routed origin (`http://site.test`), so no server
is needed; pixels are answered inside the browser.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
import pytest_asyncio

from inspector.browser import (
    SITE_DIR,
    ChromiumNotFoundError,
    HeadlessChromium,
    PixelLog,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

ORIGIN = "http://site.test"
UUID4 = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
)
TRACKER = (SITE_DIR / "tracker.js").read_text()

PAGEVIEW_ORDER = [
    "rand", "plid", "idsite", "url", "urlref", "screen", "data",
    "sid", "surl", "sref", "sts", "slts", "title", "date", "action", "pvid", "u",
]  # fmt: skip
HEARTBEAT_ORDER = [
    "rand", "plid", "idsite", "url", "urlref", "screen", "data",
    "sid", "surl", "sref", "sts", "slts", "date", "action", "inc", "tt", "pvid", "u",
]  # fmt: skip


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chromium():
    try:
        browser = HeadlessChromium()
    except ChromiumNotFoundError as error:
        pytest.fail(f"The tracker tests need Chromium. {error}", pytrace=False)
    async with browser:
        yield browser


class TrackerPage:
    """A browser context whose `http://site.test` pages embed the stand-in.

    Engaged time passes only when a test calls `PARSELY.standIn.advance(ms)`,
    unless `manual_clock` is False: then the stand-in's own timer runs.
    """

    def __init__(
        self,
        chromium: HeadlessChromium,
        heartbeat_seconds: float = 60,
        *,
        manual_clock: bool = True,
    ):
        self.chromium = chromium
        self.heartbeat_seconds = heartbeat_seconds
        self.manual_clock = manual_clock
        self.pages: dict[str, str] = {}
        self.log = PixelLog()

    async def __aenter__(self) -> TrackerPage:
        self.context = await self.chromium.new_context(
            self.log,
            heartbeat_seconds=self.heartbeat_seconds,
            manual_clock=self.manual_clock,
        )
        await self.context.route(f"{ORIGIN}/**", self._serve)
        self.page = await self.context.new_page()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.context.close()

    async def _serve(self, route) -> None:
        path = urlsplit(route.request.url).path
        if path == "/tracker.js":
            await route.fulfill(body=TRACKER, content_type="text/javascript")
        elif path in self.pages:
            await route.fulfill(body=self.pages[path], content_type="text/html")
        else:
            await route.fulfill(status=404, body="")

    def add(self, path: str, before: str = "", after: str = "", attrs: str = ""):
        """A page with `before` and `after` scripts around the tracker snippet."""
        self.pages[path] = (
            f"<!doctype html><title>Test page {path}</title>"
            f"<script>{before}</script>"
            f'<script id="parsely-cfg" src="/tracker.js" '
            f'data-parsely-site="example.com" {attrs}></script>'
            f"<script>{after}</script>"
        )

    async def open(self, path: str, **wanted: int) -> None:
        await self.page.goto(ORIGIN + path)
        await self.log.wait_for(wanted or {"pageview": 1}, timeout=60)

    def pixels(self, action: str | None = None) -> list[list[tuple[str, str]]]:
        """Each pixel's parameters in the order sent, optionally of one action."""
        found = [
            parse_qsl(urlsplit(pixel.url).query, keep_blank_values=True)
            for pixel in self.log.pixels
        ]
        if action is None:
            return found
        return [pairs for pairs in found if dict(pairs).get("action") == action]

    def raw_queries(self) -> list[str]:
        return [urlsplit(pixel.url).query for pixel in self.log.pixels]


@pytest_asyncio.fixture(loop_scope="module")
async def site(chromium):
    async with TrackerPage(chromium) as tracker_page:
        yield tracker_page


DOCUMENTED_CONFIG = """
window.PARSELY = window.PARSELY || {
  autotrack: false,
  onReady: function () {
    PARSELY.updateDefaults({data: {plan: "premium", logged_in: true}});
    PARSELY.beacon.trackPageView();
  }
};
"""


# --------------------------------------------------------------------------------------
# The wire format


async def test_pageview_parameters_come_in_the_trackers_order(site):
    site.add("/a.html", before=DOCUMENTED_CONFIG)

    await site.open("/a.html")

    (pageview,) = site.pixels("pageview")
    assert [name for name, _ in pageview] == PAGEVIEW_ORDER
    params = dict(pageview)
    assert json.loads(params["data"]) == {"plan": "premium", "logged_in": True}
    assert params["idsite"] == "example.com"
    assert params["url"] == f"{ORIGIN}/a.html"
    assert params["title"] == "Test page /a.html"
    assert re.fullmatch(r"\d+x\d+\|\d+x\d+\|\d+", params["screen"])


async def test_pixels_go_to_p1_over_the_pages_scheme_or_https_when_asked(site):
    site.add("/plain.html")
    site.add("/secure.html", attrs='data-pixel-scheme="https"')

    await site.open("/plain.html")
    await site.open("/secure.html", pageview=2)

    endpoints = [pixel.url.split("?")[0] for pixel in site.log.pixels]
    assert endpoints == [
        "http://p1.parsely.com/plogger/",
        "https://p1.parsely.com/plogger/",
    ]


async def test_ip_tracking_off_uses_the_px_endpoint(site):
    site.add(
        "/px.html",
        before="window.PARSELY = {autotrack: false};",
        after="PARSELY.setConfigOptions({track_ip_addresses: false});"
        "PARSELY.beacon.trackPageView();",
    )

    await site.open("/px.html")

    assert urlsplit(site.log.pixels[0].url).path == "/px/"


async def test_values_are_encoded_like_jquery_param(site):
    site.add(
        "/enc.html",
        before="""window.PARSELY = {autotrack: false, onReady: function () {
          PARSELY.updateDefaults({data: {note: "a b+c (x)!*'~"}});
          PARSELY.beacon.trackPageView({title: "Tea & Cake"});
        }};""",
    )

    await site.open("/enc.html")

    (query,) = site.raw_queries()
    assert "title=Tea+%26+Cake" in query
    # encodeURIComponent leaves ( ) ! * ' ~ alone; Chromium's URL parser then
    # encodes the quote, so that is what goes on the wire.
    assert "%22note%22%3A%22a+b%2Bc+(x)!*%27~%22" in query
    assert "%20" not in query


async def test_top_level_objects_are_bracket_encoded_and_null_is_empty(site):
    site.add(
        "/brackets.html",
        before="""window.PARSELY = {autotrack: false, onReady: function () {
          PARSELY.beacon.trackPageView({extra: {a: 1}, tags: ["x", "y"], gone: null});
        }};""",
    )

    await site.open("/brackets.html")

    (query,) = site.raw_queries()
    assert "extra%5Ba%5D=1" in query
    assert "tags%5B%5D=x&tags%5B%5D=y" in query
    assert "&gone=&" in query


# --------------------------------------------------------------------------------------
# Defaults and segment data


async def test_update_defaults_deep_merges_like_jquery_extend(site):
    site.add(
        "/merge.html",
        before="""window.PARSELY = {autotrack: false, onReady: function () {
          PARSELY.updateDefaults({data: {plan: "basic", topics: ["a", "b"]}});
          PARSELY.updateDefaults({data: {plan: undefined, topics: ["c"], lost: null}});
          PARSELY.beacon.trackPageView();
        }};""",
    )

    await site.open("/merge.html")

    (pageview,) = site.pixels("pageview")
    assert json.loads(dict(pageview)["data"]) == {
        "plan": "basic",
        "topics": ["c", "b"],
        "lost": None,
    }


async def test_per_call_data_does_not_reach_heartbeats(site):
    site.add(
        "/percall.html",
        before="""window.PARSELY = {autotrack: false, onReady: function () {
          PARSELY.updateDefaults({data: {plan: "premium"}});
          PARSELY.beacon.trackPageView({data: {campaign: "spring"}});
        }};""",
    )

    await site.open("/percall.html")
    await site.page.evaluate("PARSELY.standIn.advance(1000)")
    await site.page.evaluate("PARSELY.standIn.flush()")
    await site.log.wait_for({"heartbeat": 1}, timeout=60)

    data = [json.loads(dict(pixel)["data"]) for pixel in site.pixels()]
    assert data == [{"plan": "premium", "campaign": "spring"}, {"plan": "premium"}]


async def test_quirks_of_the_documented_api_come_out_as_on_real_sites(site):
    site.add(
        "/quirks.html",
        before="""window.PARSELY = {autotrack: false, onReady: function () {
          PARSELY.updateDefaults({plan: "basic"});
          PARSELY.beacon.trackPageView({data: JSON.stringify({plan: "basic"})});
        }};""",
    )

    await site.open("/quirks.html")

    params = dict(site.pixels("pageview")[0])
    assert params["plan"] == "basic"
    assert json.loads(params["data"]) == '{"plan":"basic"}'


# --------------------------------------------------------------------------------------
# Start-up order


async def test_autotrack_pageview_then_on_ready_then_onload(site):
    site.add(
        "/order.html",
        before="""window.steps = [];
        window.PARSELY = {
          onBeacon: function (params) { steps.push("beacon:" + params.action); },
          onReady: function () { steps.push("onReady"); },
          onload: function () { steps.push("onload"); }
        };""",
    )

    await site.open("/order.html")

    steps = await site.page.evaluate("window.steps")
    assert steps == ["beacon:pageview", "onReady", "onload"]


async def test_config_read_once_so_a_late_autotrack_false_changes_nothing(site):
    site.add(
        "/late.html",
        after="""PARSELY.autotrack = false;
        PARSELY.onReady = function () { PARSELY.beacon.trackPageView(); };""",
    )

    await site.open("/late.html")
    await site.page.evaluate("PARSELY.standIn.flush()")

    assert [dict(pixel)["action"] for pixel in site.pixels()] == ["pageview"]
    assert json.loads(dict(site.pixels()[0])["data"]) == {}


# --------------------------------------------------------------------------------------
# Ids and sessions


async def test_ids_visitor_and_session_across_two_pages(site):
    site.add("/one.html")
    site.add("/two.html")

    await site.open("/one.html")
    await site.open("/two.html", pageview=2)

    first, second = (dict(pixel) for pixel in site.pixels("pageview"))
    for params in (first, second):
        assert UUID4.match(params["plid"]) and UUID4.match(params["pvid"])
        assert params["u"].startswith("pid=") and UUID4.match(params["u"][4:])
    assert first["u"] == second["u"]
    assert first["plid"] != second["plid"]
    assert (first["sid"], first["surl"], first["slts"]) == (
        "1",
        f"{ORIGIN}/one.html",
        "0",
    )
    assert (second["sid"], second["surl"], second["sts"]) == (
        first["sid"],
        first["surl"],
        first["sts"],
    )
    assert second["urlref"] == ""


async def test_a_new_pageview_gets_a_new_pvid_that_heartbeats_repeat(site):
    site.add(
        "/pvid.html",
        before="""window.PARSELY = {onReady: function () {
          PARSELY.beacon.trackPageView({url: location.href + "#two"});
        }};""",
    )

    await site.open("/pvid.html", pageview=2)
    await site.page.evaluate("PARSELY.standIn.advance(1000)")
    await site.page.evaluate("PARSELY.standIn.flush()")
    await site.log.wait_for({"heartbeat": 1}, timeout=60)

    first, second, heartbeat = (dict(pixel) for pixel in site.pixels())
    assert first["pvid"] != second["pvid"]
    assert heartbeat["pvid"] == second["pvid"]
    assert heartbeat["url"] == f"{ORIGIN}/pvid.html#two"
    assert len({first["plid"], second["plid"], heartbeat["plid"]}) == 1


# --------------------------------------------------------------------------------------
# Engaged time


async def test_heartbeats_carry_seconds_increments_and_a_growing_total(chromium):
    # The tracker's own timer. The visitor counts as active for a minute after the
    # page loads, however slowly a loaded machine runs the timer meanwhile.
    async with TrackerPage(chromium, heartbeat_seconds=1, manual_clock=False) as site:
        site.add(
            "/hb.html", before=DOCUMENTED_CONFIG + "window.PARSELY.activeTimeout = 60;"
        )

        await site.open("/hb.html", pageview=1, heartbeat=2)

        heartbeats = [dict(pixel) for pixel in site.pixels("heartbeat")][:2]
    assert [name for name, _ in site.pixels("heartbeat")[0]] == HEARTBEAT_ORDER
    assert [int(h["inc"]) for h in heartbeats] == [1, 1]
    totals = [int(h["tt"]) for h in heartbeats]
    assert 500 <= totals[0] < totals[1]
    assert json.loads(heartbeats[0]["data"]) == {"plan": "premium", "logged_in": True}
    assert "title" not in heartbeats[0]


async def test_a_manual_clock_sends_exactly_the_heartbeats_that_fall_due(chromium):
    async with TrackerPage(chromium, heartbeat_seconds=1) as site:
        site.add("/clock.html", before=DOCUMENTED_CONFIG)

        await site.open("/clock.html")
        await site.page.wait_for_timeout(300)
        engaged_before = await site.page.evaluate("PARSELY.standIn.engagedMs()")
        sent = await site.page.evaluate("PARSELY.standIn.advance(2400)")
        await site.log.wait_for({"heartbeat": 2}, timeout=60)
        engaged_after = await site.page.evaluate("PARSELY.standIn.engagedMs()")
        flushed = await site.page.evaluate("PARSELY.standIn.flush()")

        heartbeats = [dict(pixel) for pixel in site.pixels("heartbeat")]
    assert engaged_before == 0
    assert sent == 2
    assert [(h["inc"], h["tt"]) for h in heartbeats] == [("1", "1000"), ("1", "2000")]
    assert engaged_after == 2400
    # 400 ms left over round to no whole second: nothing to flush.
    assert flushed is None


async def test_leaving_the_page_flushes_engaged_time_with_fetch_keepalive(site):
    # A request sent while its document unloads is not reported to Playwright, so
    # the page notes each fetch in localStorage, which the next page can read.
    note_fetches = """
    var realFetch = window.fetch;
    window.fetch = function (url, options) {
      var notes = JSON.parse(localStorage.getItem("fetches") || "[]");
      notes.push({url: String(url), keepalive: Boolean(options && options.keepalive)});
      localStorage.setItem("fetches", JSON.stringify(notes));
      return realFetch.apply(this, arguments);
    };
    """
    site.add("/leave.html", before=note_fetches + DOCUMENTED_CONFIG)
    site.add("/next.html", before="window.PARSELY = {autotrack: false};")

    await site.open("/leave.html")
    await site.page.evaluate("PARSELY.standIn.advance(1500)")
    await site.page.goto(f"{ORIGIN}/next.html")

    fetches = json.loads(await site.page.evaluate("localStorage.getItem('fetches')"))
    assert [note["keepalive"] for note in fetches] == [True]
    flushed = dict(parse_qsl(urlsplit(fetches[0]["url"]).query))
    assert flushed["action"] == "heartbeat"
    assert int(flushed["inc"]) >= 1
    assert flushed["url"] == f"{ORIGIN}/leave.html"
