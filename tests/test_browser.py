"""Real Chromium, through the real proxy, on the test site's scenarios.

One proxy session (answering pixels locally, recording to `.mitm`, writing JSON
Lines) and one headless Chromium serve the whole module: every scenario of
`inspector.browser.SCENARIOS` is walked once, in its own browser context, and the
tests then judge what the proxy saw. Chromium is Debian's system package; when it is
missing the tests fail (CI installs it through scripts/test.sh), they never skip.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from inspector.browser import (
    CHROMIUM_ENV,
    SCENARIOS,
    SITE_DIR,
    SITE_SPEC,
    ChromiumNotFoundError,
    HeadlessChromium,
    Scenario,
    ScenarioRun,
    SiteServer,
    ca_spki_fingerprint,
    chromium_args,
    find_chromium,
    pixel_param,
)
from inspector.inspection import Inspection, InspectionResult
from inspector.model import CapturedRequest
from inspector.proxy import ProxySession
from inspector.recordings import read_requests, replay
from inspector.spec import load_spec
from inspector.timeline import EntryKind

SCENARIO_NAMES = sorted(SCENARIOS)
REPOSITORY = Path(__file__).resolve().parent.parent
RECORDINGS = REPOSITORY / "fixtures" / "recordings" / "browser"
_SCRIPTS = frozenset({EntryKind.GTM, EntryKind.TRACKER_SCRIPT, EntryKind.OTHER_TAG})


@dataclass
class BrowserSession:
    """Everything one run of the scenarios through the proxy left behind."""

    base_url: str
    runs: dict[str, ScenarioRun]
    recording: Path
    jsonl: Path
    live: InspectionResult
    """The proxy's own inspection, over every scenario at once."""

    def requests(self, scenario: Scenario) -> list[CapturedRequest]:
        return scenario.requests_in(read_requests(self.recording), self.base_url)

    def jsonl_records(self, scenario: Scenario) -> list[dict]:
        """The proxy's JSON Lines records of this scenario's pixels."""
        records = self.jsonl_of_type("event")
        mine = {_pixel_key(pixel.url) for pixel in self.runs[scenario.name].pixels}
        return [r for r in records if _pixel_key(r["request_url"]) in mine]

    def jsonl_of_type(self, kind: str) -> list[dict]:
        """The proxy's JSON Lines records of one type (`event`, `diagnosis`)."""
        records = [json.loads(line) for line in self.jsonl.read_text().splitlines()]
        return [record for record in records if record["type"] == kind]


def _pixel_key(url: str) -> tuple[str | None, ...]:
    """Identifies a pixel by fields the JSON Lines output never masks."""
    return tuple(pixel_param(url, name) for name in ("plid", "rand", "action"))


def _chromium_or_fail() -> str:
    try:
        return find_chromium()
    except ChromiumNotFoundError as error:
        pytest.fail(f"The browser suite needs Chromium. {error}", pytrace=False)


async def _walk_scenarios(tmp: Path) -> BrowserSession:
    spec = load_spec(SITE_SPEC)
    recording = tmp / "scenarios.mitm"
    jsonl = tmp / "scenarios.jsonl"
    inspection = Inspection(spec)
    proxy = ProxySession(
        inspection=inspection,
        listen_port=0,
        confdir=tmp / "mitmproxy",
        record_path=recording,
        jsonl_path=jsonl,
        answer_pixels=True,
    )
    (host, port), *_ = await proxy.start()

    try:
        with SiteServer() as site:
            chromium = HeadlessChromium(
                proxy=f"http://{host}:{port}",
                trusted_spki=[ca_spki_fingerprint(proxy.ca_cert_path)],
            )
            async with chromium:
                # A few scenarios at a time keeps a small CI machine responsive.
                slots = asyncio.Semaphore(4)

                async def walk(scenario: Scenario) -> ScenarioRun:
                    async with slots:
                        return await chromium.run_scenario(scenario, site)

                runs = await asyncio.gather(*map(walk, SCENARIOS.values()))
            base_url = site.base_url
    finally:
        await proxy.stop()

    return BrowserSession(
        base_url=base_url,
        runs={run.scenario.name: run for run in runs},
        recording=recording,
        jsonl=jsonl,
        live=inspection.result(),
    )


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> BrowserSession:
    _chromium_or_fail()
    return asyncio.run(_walk_scenarios(tmp_path_factory.mktemp("browser")))


def _replay(requests: list[CapturedRequest]) -> InspectionResult:
    return Inspection(load_spec(SITE_SPEC)).process_all(requests)


# --------------------------------------------------------------------------------------
# What the browser did


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_every_pixel_was_answered_by_the_proxy(session, name):
    run = session.runs[name]

    assert run.pixels, f"{name}: no pixel left the browser"
    assert [(p.status, p.failure) for p in run.pixels] == [(200, None)] * len(
        run.pixels
    )


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_the_proxy_judged_every_pixel_the_browser_sent(session, name):
    run = session.runs[name]

    records = session.jsonl_records(SCENARIOS[name])

    assert Counter(_pixel_key(r["request_url"]) for r in records) == Counter(
        _pixel_key(pixel.url) for pixel in run.pixels
    )
    assert Counter(r["action"] for r in records) == Counter(
        pixel.action for pixel in run.pixels
    )


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_the_recording_holds_the_pages_and_their_pixels(session, name):
    scenario = SCENARIOS[name]
    requests = session.requests(scenario)

    documents = [r.url for r in requests if r.url.endswith(".html")]
    tracker = [r for r in requests if r.path == "/keys/example.com/p.js"]
    pixels = [r for r in requests if r.host == "p1.parsely.com"]

    assert documents == [
        session.base_url + step.open for step in scenario.steps if step.open
    ]
    assert len(tracker) == len(documents)
    # The stand-in tracker's clock moves only when a step lets reading time pass,
    # so no heartbeat is in flight (nor engaged time left to flush) when a page is
    # left or its tab closed: the proxy recorded exactly what the browser saw.
    seen_by_browser = Counter(p.url for p in session.runs[name].pixels)
    recorded = Counter(p.url for p in pixels)
    assert recorded == seen_by_browser


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_each_scenario_sent_exactly_the_pixels_its_steps_waited_for(session, name):
    wanted: Counter[str] = Counter()
    for step in SCENARIOS[name].steps:
        for action, count in step.pixels.items():
            wanted[action] = max(wanted[action], count)

    sent = Counter(pixel.action for pixel in session.runs[name].pixels)

    assert sent == wanted


def test_the_tracker_script_is_recognised_on_every_page(session):
    result = _replay(list(read_requests(session.recording)))

    codes = {finding.code for finding in result.findings}

    assert len(result.pages) >= len(SCENARIOS)
    assert "page.pageview-without-tracker" not in codes


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_each_page_load_has_its_scripts_on_its_timeline(session, name):
    scenario = SCENARIOS[name]
    result = _replay(session.requests(scenario))

    for page in result.pages:
        kinds = [entry.kind for entry in page.timeline]
        # Chromium sends the full page address as Referer to same-origin scripts:
        # each is matched to its page with certainty.
        assert kinds[0] is EntryKind.DOCUMENT, page.key
        assert kinds.count(EntryKind.TRACKER_SCRIPT) == 1, page.key
        assert not any(
            entry.uncertain for entry in page.timeline if entry.kind in _SCRIPTS
        ), page.key
        tracker = kinds.index(EntryKind.TRACKER_SCRIPT)
        assert EntryKind.PIXEL not in kinds[:tracker], page.key
        if name.startswith("container-"):
            assert kinds.index(EntryKind.GTM) < tracker, page.key
        else:
            assert EntryKind.GTM not in kinds, page.key


def test_the_ordering_fault_names_the_tag_manager(session):
    result = _replay(session.requests(SCENARIOS["container-unsequenced"]))
    (page,) = result.pages
    (diagnosis,) = page.diagnoses
    (gtm,) = [entry for entry in page.timeline if entry.kind is EntryKind.GTM]

    assert gtm.url.endswith("/gtm.js?id=GTM-TEST01")
    assert diagnosis.code == "page.segment-after-pageview"
    assert f"Google Tag Manager (gtm.js at +{gtm.offset_ms} ms)" in (
        diagnosis.explanation
    )
    assert "setup tag sequenced before the Parse.ly tracker tag" in (
        diagnosis.explanation
    )


def test_chromium_sent_nothing_but_the_site_and_its_pixels(session):
    hosts = {request.host for request in read_requests(session.recording)}

    assert hosts == {"127.0.0.1", "p1.parsely.com"}


# --------------------------------------------------------------------------------------
# The verdicts


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_each_scenario_gets_its_verdict(session, name):
    scenario = SCENARIOS[name]

    result = _replay(session.requests(scenario))

    assert scenario.verdict_problems(result) == []


def test_verdicts_are_really_checked():
    empty = Inspection(load_spec(SITE_SPEC)).result()

    assert SCENARIOS["config-before-snippet"].verdict_problems(empty) == [
        "no pixel events"
    ]
    assert "expected pii.email; got ['scenario.not-covered']" in SCENARIOS[
        "pii-email"
    ].verdict_problems(empty)


@pytest.mark.parametrize(
    "name",
    [
        name
        for name in SCENARIO_NAMES
        if any(code.startswith("page.") for code in SCENARIOS[name].expected_codes)
    ],
)
def test_the_live_proxy_diagnosed_the_page(session, name):
    scenario = SCENARIOS[name]
    page_codes = {c for c in scenario.expected_codes if c.startswith("page.")}

    seen = {
        diagnosis.code
        for diagnosis in session.live.diagnoses
        if diagnosis.url and scenario.owns_url(diagnosis.url, session.base_url)
    }

    assert page_codes <= seen, sorted(seen)


@pytest.mark.parametrize(
    "name",
    [
        name
        for name in SCENARIO_NAMES
        if any(code.startswith("page.") for code in SCENARIOS[name].expected_codes)
    ],
)
def test_the_live_proxy_wrote_the_page_diagnosis_to_its_json_lines(session, name):
    scenario = SCENARIOS[name]
    page_codes = {c for c in scenario.expected_codes if c.startswith("page.")}

    written = {
        record["code"]
        for record in session.jsonl_of_type("diagnosis")
        if record["url"] and scenario.owns_url(record["url"], session.base_url)
    }

    assert page_codes <= written, sorted(written)


def test_the_live_proxy_flagged_the_email_on_every_event(session):
    records = session.jsonl_records(SCENARIOS["pii-email"])

    flagged = [
        {f["path"] for f in record["findings"] if f["code"] == "pii.email"}
        for record in records
    ]

    assert len(records) >= 2
    assert flagged == [{"data.user_ref"}] * len(records)


def test_the_segment_after_pageview_is_the_pageview_without_data(session):
    for name in ("config-after-snippet", "container-unsequenced"):
        result = _replay(session.requests(SCENARIOS[name]))

        pageviews = [e for e in result.events if e.action == "pageview"]
        heartbeats = [e for e in result.events if e.action == "heartbeat"]
        assert [dict(e.segments) for e in pageviews] == [{}]
        assert dict(heartbeats[0].segments) == {"plan": "premium", "logged_in": True}
        diagnosis = next(
            d for d in result.diagnoses if d.code == "page.segment-after-pageview"
        )
        assert diagnosis.evidence[0] == pageviews[0].id


def test_duplicate_pageview_pair_is_data_less_then_data(session):
    result = _replay(session.requests(SCENARIOS["autotrack-duplicate"]))

    # The two images leave the page a moment apart, on two connections, so the
    # proxy may finish either first: order them by the tracker's own clock, and
    # the data-less one by autotrack first when both carry the same millisecond.
    pageviews = sorted(
        (e for e in result.events if e.action == "pageview"),
        key=lambda e: (int(e.param("rand")), bool(e.segments)),
    )

    assert [dict(e.segments) for e in pageviews] == [
        {},
        {"plan": "premium", "logged_in": True},
    ]
    assert pageviews[0].plid == pageviews[1].plid
    assert pageviews[0].pvid != pageviews[1].pvid


def test_spa_pageviews_follow_the_routes(session):
    result = _replay(session.requests(SCENARIOS["spa-pageview-per-route"]))

    pageviews = [e for e in result.events if e.action == "pageview"]

    base = session.base_url
    assert [(e.url, e.urlref) for e in pageviews] == [
        (f"{base}/spa-pageview-per-route.html", ""),
        (
            f"{base}/spa-pageview-per-route/articles/2",
            f"{base}/spa-pageview-per-route.html",
        ),
        (
            f"{base}/spa-pageview-per-route/articles/3",
            f"{base}/spa-pageview-per-route/articles/2",
        ),
    ]
    assert [e.param("js") for e in pageviews] == [None, "1", "1"]


def test_logged_out_pages_send_null_then_nothing(session):
    result = _replay(session.requests(SCENARIOS["logged-out-mixed"]))

    pageviews = [e for e in result.events if e.action == "pageview"]

    assert [dict(e.segments) for e in pageviews] == [
        {"plan": None, "logged_in": False},
        {"logged_in": False},
    ]
    assert pageviews[0].visitor == pageviews[1].visitor


def test_https_pixels_were_decrypted_by_the_proxy(session):
    requests = session.requests(SCENARIOS["https-pixel"])

    pixels = [r for r in requests if r.host == "p1.parsely.com"]

    assert pixels
    assert {r.url.split("?")[0] for r in pixels} == {"https://p1.parsely.com/plogger/"}


# --------------------------------------------------------------------------------------
# Committed recordings and the script that makes them


@pytest.mark.parametrize("suffix", [".mitm", ".har"])
@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_committed_recordings_still_show_their_verdict(name, suffix):
    recording = RECORDINGS / f"{name}{suffix}"

    result, errors = replay([recording], load_spec(SITE_SPEC))

    assert errors == []
    assert SCENARIOS[name].verdict_problems(result) == []


def test_committed_recordings_together_cover_every_scenario_of_the_site():
    spec = load_spec(SITE_SPEC)
    recordings = sorted(RECORDINGS.glob("*.mitm"))

    result, errors = replay(recordings, spec)

    assert errors == []
    assert len(recordings) == len(SCENARIOS)
    assert {name: bool(ids) for name, ids in result.scenario_coverage.items()} == {
        scenario.name: True for scenario in spec.scenarios
    }
    assert "scenario.not-covered" not in {d.code for d in result.diagnoses}
    # Checked together, each recording keeps the page verdicts it has alone.
    for recording in recordings:
        alone, _ = replay([recording], spec)
        assert {
            (d.code, tuple(d.evidence))
            for d in alone.diagnoses
            if not d.code.startswith("scenario.")
        } == {
            (d.code, tuple(d.evidence))
            for d in result.diagnoses
            if d.source == recording.name
        }, recording.name


@pytest.mark.parametrize("name", ["container-sequenced", "container-unsequenced"])
def test_committed_container_recordings_show_gtm_before_the_tracker(name):
    result, _errors = replay([RECORDINGS / f"{name}.mitm"], load_spec(SITE_SPEC))

    (page,) = result.pages
    kinds = [entry.kind for entry in page.timeline]
    assert kinds.index(EntryKind.GTM) < kinds.index(EntryKind.TRACKER_SCRIPT)
    assert kinds.index(EntryKind.TRACKER_SCRIPT) < kinds.index(EntryKind.PIXEL)


def test_record_scenarios_script_records_and_checks_a_scenario(tmp_path):
    _chromium_or_fail()

    finished = subprocess.run(
        [
            sys.executable,
            str(REPOSITORY / "scripts" / "record_scenarios.py"),
            "pii-email",
            "--output",
            str(tmp_path),
            "--site-port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert finished.returncode == 0, finished.stderr
    assert "pii-email: " in finished.stdout and finished.stdout.strip().endswith("ok")
    mitm = list(read_requests(tmp_path / "pii-email.mitm"))
    har = list(read_requests(tmp_path / "pii-email.har"))
    assert [r.url for r in har] == [r.url for r in mitm]
    assert mitm[0].path == "/pii-email.html"


# --------------------------------------------------------------------------------------
# The harness itself


def test_every_scenario_page_is_on_the_index_and_exists():
    index = (SITE_DIR / "index.html").read_text()

    for scenario in SCENARIOS.values():
        for page in scenario.page_names:
            assert (SITE_DIR / f"{page}.html").is_file(), page
            assert f'href="/{page}.html"' in index, page


def test_a_missing_chromium_is_an_error_that_says_how_to_install_it(monkeypatch):
    monkeypatch.setenv(CHROMIUM_ENV, "/nonexistent/chromium")

    with pytest.raises(ChromiumNotFoundError, match=CHROMIUM_ENV):
        find_chromium()

    monkeypatch.delenv(CHROMIUM_ENV)
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr("inspector.browser.CHROMIUM_CANDIDATES", ("chromium",))
    with pytest.raises(ChromiumNotFoundError, match="apt-get install chromium"):
        find_chromium()


def test_chromium_goes_through_the_proxy_for_loopback_pages_too():
    args = chromium_args("http://127.0.0.1:8080", trusted_spki=["abc="])

    assert "--proxy-server=http://127.0.0.1:8080" in args
    bypass = next(a for a in args if a.startswith("--proxy-bypass-list="))
    assert bypass.split("=", 1)[1].split(";")[0] == "<-loopback>"
    assert "--ignore-certificate-errors-spki-list=abc=" in args
    assert {
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-quic",
    } <= set(args)


def test_site_server_falls_back_to_the_app_page_on_spa_routes():
    import urllib.request

    with SiteServer() as site:
        with urllib.request.urlopen(site.url("/spa-no-pageview/articles/2")) as reply:
            body = reply.read().decode()
        with urllib.request.urlopen(site.url("/tracker.js")) as reply:
            content_type = reply.headers["Content-Type"]

    assert "<title>Single-page app without pageviews" in body
    assert content_type.startswith("text/javascript")


async def test_headless_chromium_without_a_proxy_answers_pixels_itself():
    _chromium_or_fail()

    with SiteServer() as site:
        async with HeadlessChromium() as chromium:
            run = await chromium.run_scenario(SCENARIOS["config-before-snippet"], site)

    assert [(p.action, p.status) for p in run.pixels[:2]] == [
        ("pageview", 200),
        ("heartbeat", 200),
    ]
    assert run.pixels[0].data == {"plan": "premium", "logged_in": True}
