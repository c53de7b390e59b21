"""Drive a real, headless Chromium through the test site's scenarios.

The test site (`fixtures/site/`) reproduces real Parse.ly integrations, right and
wrong, with a local stand-in for the tracker. This module serves it on 127.0.0.1,
launches Debian's system Chromium through Playwright (never a downloaded browser),
optionally through Segment Inspector's proxy, and walks each scenario's pages until
the expected pixels have gone out::

    with SiteServer() as site:
        async with HeadlessChromium(proxy="http://127.0.0.1:8080") as chromium:
            run = await chromium.run_scenario(SCENARIOS["config-after-snippet"], site)

It also opens the site for a person's own browser::

    python -m inspector.browser serve --port 8000
    python -m inspector.browser run config-after-snippet --proxy http://127.0.0.1:8080

Playwright is a test dependency; it is imported only when a browser is launched.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import hashlib
import json
import logging
import os
import shutil
import sys
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from inspector.model import CapturedRequest, Severity
from inspector.report import escape_controls
from inspector.urls import split_url, url_host, url_path

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page, Request, Response, Route

    from inspector.inspection import InspectionResult

logger = logging.getLogger(__name__)

SITE_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "site"
"""The test site in a source checkout."""

SITE_SPEC = SITE_DIR / "segments.yaml"
"""The segment spec the test site's pages are meant to follow."""

CHROMIUM_ENV = "SEGMENT_INSPECTOR_CHROMIUM"
"""Environment variable naming the Chromium executable to use."""

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")

CHROMIUM_FLAGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
)
"""Keep Chromium quiet on a machine without internet access, and runnable in CI
containers (no sandbox, no GPU). QUIC is off so HTTPS goes through the proxy."""

CHROMIUM_OWN_HOSTS = ("update.googleapis.com", "accounts.google.com")
"""Hosts Chromium calls for itself even with the flags above (an on-demand component
update check, the Google sign-in cookie check). They bypass the proxy and resolve to
nothing, so they neither leave the machine nor clutter recordings. (A second
`--disable-features` cannot turn them off: it would replace the list Playwright
passes.)"""

PIXEL_HOST_SUFFIX = "parsely.com"
PIXEL_PATHS = ("/plogger/", "/px/")

HEARTBEAT_SECONDS = 1.0
"""Seconds between the stand-in tracker's heartbeats in scripted runs (150 s real)."""

DEFAULT_TIMEOUT = 60.0
"""Seconds to wait for one step's pixels before giving up: generous, because a
loaded machine can be slow, and a step that succeeds never waits that long."""

_TRANSPARENT_GIF = base64.b64decode(
    "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
)


class ChromiumNotFoundError(RuntimeError):
    """No Chromium executable could be found; the message says how to install one."""


class ScenarioTimeoutError(RuntimeError):
    """A scenario's pixels did not all arrive in time."""


# --------------------------------------------------------------------------------------
# Scenarios


@dataclass(frozen=True, slots=True)
class Step:
    """One thing to do in a scenario, and the pixels to wait for afterwards."""

    open: str | None = None
    """A site path to load in the scenario's tab, such as `/pii-email.html`."""
    click: str | None = None
    """A CSS selector to click on the current page."""
    route: str | None = None
    """After a click, wait until the single-page app shows this path."""
    read: float = 0.0
    """Seconds of active reading to let pass on the page, on the stand-in tracker's
    clock (see `HeadlessChromium`): the heartbeats that fall due go out then."""
    pixels: Mapping[str, int] = field(default_factory=dict)
    """Wait until at least this many pixels per `action` have been answered, counted
    from the start of the scenario."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """One integration the test site reproduces, and the verdict it should get."""

    name: str
    """Also the site path prefix of its pages: `/<name>.html`, `/<name>/...`."""
    description: str
    steps: tuple[Step, ...]
    expected_codes: frozenset[str] = frozenset()
    """Finding codes the inspector must report for this scenario."""
    clean: bool = False
    """No finding of warning or error severity is allowed."""
    pages: tuple[str, ...] = ()
    """Page names (without `.html`) that belong to this scenario, when they differ
    from its own name."""

    @property
    def page_names(self) -> tuple[str, ...]:
        return self.pages or (self.name,)

    @property
    def first_path(self) -> str:
        return next(step.open for step in self.steps if step.open)

    def owns_path(self, path: str) -> bool:
        """Whether a site path (a page, or a single-page app route) is this one's."""
        for page in self.page_names:
            if path == f"/{page}.html" or path.startswith(f"/{page}/"):
                return True
        return False

    def owns_url(self, url: str, base_url: str) -> bool:
        """Whether an address on the site at `base_url` is one of this one's pages."""
        parts = split_url(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        return origin == base_url.rstrip("/") and self.owns_path(parts.path)

    def owns_request(self, request: CapturedRequest, base_url: str) -> bool:
        """Whether a recorded request was sent by this scenario's pages.

        A request counts when it is for one of the scenario's pages, when its
        `Referer` is one of them (the page's own scripts and fetches), or when it is
        a pixel whose `url` parameter names one of them (a cross-origin `Referer`
        carries only the site's origin).
        """
        candidates = [request.url, request.header("referer") or ""]
        if is_pixel_url(request.url):
            candidates.append(pixel_param(request.url, "url") or "")
        return any(self.owns_url(address, base_url) for address in candidates)

    def requests_in(
        self, requests: Iterable[CapturedRequest], base_url: str
    ) -> list[CapturedRequest]:
        """The requests of a shared recording that this scenario's pages sent."""
        return [r for r in requests if self.owns_request(r, base_url)]

    def verdict_problems(self, result: InspectionResult) -> list[str]:
        """How an inspection of this scenario's traffic differs from its expected
        verdict; empty when it matches."""
        problems = []
        codes = {finding.code for finding in result.findings}
        missing = sorted(self.expected_codes - codes)
        if missing:
            problems.append(f"expected {', '.join(missing)}; got {sorted(codes)}")
        if self.clean:
            serious = sorted(
                f"{finding.code} ({finding.message})"
                for finding in result.findings
                if finding.severity >= Severity.WARNING
            )
            if serious:
                problems.append(f"expected no warnings; got {'; '.join(serious)}")
        if not result.reports:
            problems.append("no pixel events")
        return problems


def _single_page(name: str, description: str, *, heartbeat: bool = True, **kw: Any):
    if heartbeat:
        step = Step(
            open=f"/{name}.html",
            read=HEARTBEAT_SECONDS,
            pixels={"pageview": 1, "heartbeat": 1},
        )
    else:
        step = Step(open=f"/{name}.html", pixels={"pageview": 1})
    return Scenario(name=name, description=description, steps=(step,), **kw)


def _route_link(app: str, article: int) -> str:
    return f'a[href="/{app}/articles/{article}"]'


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        _single_page(
            "config-before-snippet",
            "Segment config placed before the tracker snippet, as documented.",
            clean=True,
        ),
        _single_page(
            "config-after-snippet",
            "Segment code placed after the snippet: the first pageview has no data.",
            expected_codes=frozenset({"page.segment-after-pageview"}),
        ),
        _single_page(
            "container-sequenced",
            "A tag container runs the segment tag as the tracker tag's setup tag.",
            clean=True,
        ),
        _single_page(
            "container-unsequenced",
            "The same container without sequencing: the tracker tag fires first.",
            expected_codes=frozenset({"page.segment-after-pageview"}),
        ),
        Scenario(
            name="autotrack-duplicate",
            description="Autotrack left on while onReady also sends a pageview.",
            steps=(Step(open="/autotrack-duplicate.html", pixels={"pageview": 2}),),
            expected_codes=frozenset({"page.duplicate-pageview"}),
        ),
        Scenario(
            name="spa-pageview-per-route",
            description="A single-page app sending a pageview on every route change.",
            steps=(
                Step(open="/spa-pageview-per-route.html", pixels={"pageview": 1}),
                Step(
                    click=_route_link("spa-pageview-per-route", 2),
                    route="/spa-pageview-per-route/articles/2",
                    pixels={"pageview": 2},
                ),
                Step(
                    click=_route_link("spa-pageview-per-route", 3),
                    route="/spa-pageview-per-route/articles/3",
                    read=HEARTBEAT_SECONDS,
                    pixels={"pageview": 3, "heartbeat": 1},
                ),
            ),
            clean=True,
        ),
        Scenario(
            name="spa-no-pageview",
            description="A single-page app whose route changes send no pageview.",
            steps=(
                Step(open="/spa-no-pageview.html", pixels={"pageview": 1}),
                Step(
                    click=_route_link("spa-no-pageview", 2),
                    route="/spa-no-pageview/articles/2",
                ),
                Step(
                    click=_route_link("spa-no-pageview", 3),
                    route="/spa-no-pageview/articles/3",
                    read=HEARTBEAT_SECONDS,
                    pixels={"pageview": 1, "heartbeat": 1},
                ),
            ),
            expected_codes=frozenset({"page.spa-url-without-pageview"}),
        ),
        Scenario(
            name="logged-out-mixed",
            description=(
                "A logged-out visitor's unknown plan sent as null on one page and "
                "left out on the next."
            ),
            steps=(
                Step(open="/logged-out-null.html", pixels={"pageview": 1}),
                Step(open="/logged-out-omitted.html", pixels={"pageview": 2}),
            ),
            pages=("logged-out-null", "logged-out-omitted"),
            expected_codes=frozenset({"segment.null-convention-mixed"}),
        ),
        _single_page(
            "pii-email",
            "An e-mail address sent as a segment value.",
            expected_codes=frozenset({"pii.email"}),
        ),
        _single_page(
            "https-pixel",
            "The documented integration with its pixels sent over HTTPS.",
            clean=True,
        ),
    )
}
"""Every scenario of the test site, by name."""


# --------------------------------------------------------------------------------------
# Serving the site


class _SiteRequestHandler(SimpleHTTPRequestHandler):
    """Static files with no caching, quiet logs and single-page app fallbacks."""

    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".json": "application/json",
    }

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def translate_path(self, path: str) -> str:
        # A reload on a single-page app route (`/spa-x/articles/2`) gets the app's
        # page (`/spa-x.html`), as a server with history-API fallback would do.
        translated = super().translate_path(path)
        if os.path.exists(translated):
            return translated
        first_segment = split_url(path).path.strip("/").split("/")[0]
        fallback = Path(self.directory) / f"{first_segment}.html"
        if first_segment and fallback.is_file():
            return str(fallback)
        return translated

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        # The request line is the browser's; show its control characters escaped.
        logger.debug(
            "site: %s %s", self.address_string(), escape_controls(format % args)
        )


class SiteServer:
    """The test site on a threaded HTTP server, in a background thread.

    Args:
        root: the directory to serve; the checkout's `fixtures/site/` by default.
        host: the address to bind; 127.0.0.1 keeps it off the network.
        port: the port to bind; 0 picks a free one.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] = SITE_DIR,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.root = Path(root)
        self.host = host
        self.port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the site server is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str = "/") -> str:
        """The absolute URL of a site path."""
        return self.base_url + "/" + path.lstrip("/")

    def start(self) -> SiteServer:
        if self._server is not None:
            return self
        if not (self.root / "index.html").is_file():
            raise FileNotFoundError(f"{self.root}: no index.html, not the test site")

        handler = functools.partial(_SiteRequestHandler, directory=str(self.root))
        self._server = ThreadingHTTPServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="test site", daemon=True
        )
        self._thread.start()
        logger.info("serving %s at %s", self.root, self.base_url)
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# --------------------------------------------------------------------------------------
# Chromium


def find_chromium(explicit: str | None = None) -> str:
    """The Chromium executable to drive: `explicit`, `$SEGMENT_INSPECTOR_CHROMIUM`,
    or Debian's `/usr/bin/chromium` (or one on PATH).

    Raises:
        ChromiumNotFoundError: none exists; the message says how to install it.
    """
    wanted = explicit or os.environ.get(CHROMIUM_ENV)
    if wanted:
        found = shutil.which(wanted)
        if found:
            return found
        raise ChromiumNotFoundError(
            f"Chromium not found at {wanted!r} (from "
            f"{'the caller' if explicit else CHROMIUM_ENV})."
        )

    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    raise ChromiumNotFoundError(
        "Chromium is not installed: the browser tests drive the system Chromium "
        "and never download one. Install it with `sudo apt-get install chromium` "
        "(scripts/test.sh does this), or point "
        f"{CHROMIUM_ENV} at a Chromium executable."
    )


def ca_spki_fingerprint(ca_cert_path: str | os.PathLike[str]) -> str:
    """Base64 SHA-256 of a CA certificate's public key, for Chromium's
    `--ignore-certificate-errors-spki-list`.

    mitmproxy signs its leaf certificates with its CA key and reuses that key for
    them, so this trusts exactly the proxy's certificates and nothing else.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    certificate = x509.load_pem_x509_certificate(Path(ca_cert_path).read_bytes())
    public_key = certificate.public_key().public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    return base64.b64encode(hashlib.sha256(public_key).digest()).decode("ascii")


def chromium_args(
    proxy: str | None = None, *, trusted_spki: Sequence[str] = ()
) -> list[str]:
    """Command-line flags for a quiet Chromium, optionally through a proxy.

    Args:
        proxy: the proxy URL, such as `http://127.0.0.1:8080`. Loopback pages go
            through it too (Chromium bypasses proxies for loopback by default).
        trusted_spki: public-key fingerprints (see `ca_spki_fingerprint`) whose
            certificates Chromium accepts although no CA it knows issued them.
    """
    args = list(CHROMIUM_FLAGS)
    args.append(
        "--host-resolver-rules="
        + ", ".join(f"MAP {host} ~NOTFOUND" for host in CHROMIUM_OWN_HOSTS)
    )
    if proxy:
        bypass = ";".join(("<-loopback>", *CHROMIUM_OWN_HOSTS))
        args += [f"--proxy-server={proxy}", f"--proxy-bypass-list={bypass}"]
    if trusted_spki:
        args.append("--ignore-certificate-errors-spki-list=" + ",".join(trusted_spki))
    return args


def is_pixel_url(url: str) -> bool:
    """Whether a URL is a Parse.ly web pixel (`p1.parsely.com/plogger/?...`)."""
    host = url_host(url)
    return host.endswith(PIXEL_HOST_SUFFIX) and url_path(url) in PIXEL_PATHS


def pixel_param(url: str, wanted: str) -> str | None:
    """One query parameter of a pixel URL, form-decoded (None when absent)."""
    for name, value in parse_qsl(split_url(url).query, keep_blank_values=True):
        if name == wanted:
            return value
    return None


def pixel_action(url: str) -> str | None:
    """The `action` parameter of a pixel URL (None when absent)."""
    return pixel_param(url, "action")


@dataclass(frozen=True, slots=True)
class PixelSeen:
    """A pixel request the browser sent, as Playwright reported it."""

    url: str
    method: str
    action: str | None
    resource_type: str
    status: int | None
    """The response status; None when the request failed."""
    failure: str | None = None

    @property
    def params(self) -> dict[str, str]:
        return dict(parse_qsl(split_url(self.url).query, keep_blank_values=True))

    @property
    def data(self) -> Any:
        """The decoded `data` parameter (None when it is not JSON)."""
        try:
            return json.loads(self.params.get("data", ""))
        except ValueError:
            return None


class PixelLog:
    """Collects the pixels of one browser context and lets callers wait for them."""

    def __init__(self) -> None:
        self.pixels: list[PixelSeen] = []
        self._changed = asyncio.Event()

    def counts(self) -> Counter[str]:
        return Counter(pixel.action or "" for pixel in self.pixels)

    def attach(self, context: BrowserContext) -> None:
        # Plain callbacks only: an awaiting listener can outlive its context, and
        # Playwright re-raises listener errors inside unrelated calls.
        context.on("response", self._on_response)
        context.on("requestfailed", self._on_failed)

    def _on_response(self, response: Response) -> None:
        # A proxy records the flow before the browser sees the response, so a pixel
        # counted here is already in the proxy's recording.
        if is_pixel_url(response.url):
            self._add(response.request, response.status, None)

    def _on_failed(self, request: Request) -> None:
        if is_pixel_url(request.url):
            self._add(request, None, request.failure)

    def _add(self, request: Request, status: int | None, failure: str | None) -> None:
        pixel = PixelSeen(
            url=request.url,
            method=request.method,
            action=pixel_action(request.url),
            resource_type=request.resource_type,
            status=status,
            failure=failure,
        )
        logger.debug(
            "pixel %s %s (%s)",
            escape_controls(str(pixel.action)),
            pixel.status,
            escape_controls(str(pixel.failure)),
        )
        self.pixels.append(pixel)
        self._changed.set()

    async def wait_for(self, wanted: Mapping[str, int], timeout: float) -> None:
        """Wait until at least `wanted[action]` pixels of each action were seen.

        Raises:
            ScenarioTimeoutError: they did not all arrive within `timeout` seconds.
        """

        def satisfied() -> bool:
            counts = self.counts()
            return all(counts[action] >= n for action, n in wanted.items())

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not satisfied():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise ScenarioTimeoutError(
                    f"waited {timeout:g} s for pixels {dict(wanted)}, "
                    f"saw {dict(self.counts())}"
                )
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue


@dataclass
class ScenarioRun:
    """What happened when a scenario was walked in the browser."""

    scenario: Scenario
    base_url: str
    pixels: list[PixelSeen]
    console: list[str]
    """Console messages and page errors, for diagnosing a failed run."""

    def pixels_for(self, action: str) -> list[PixelSeen]:
        return [pixel for pixel in self.pixels if pixel.action == action]


class HeadlessChromium:
    """One headless Chromium, launched through Playwright, shared by many scenarios.

    Args:
        proxy: the proxy URL every request goes through, loopback pages included.
            None: no proxy, and pixels are answered inside the browser instead.
        executable: the Chromium to run (see `find_chromium`).
        trusted_spki: public-key fingerprints to trust for HTTPS (the proxy's CA).
        ignore_https_errors: accept every certificate (tests only).
        heartbeat_seconds: the stand-in tracker's heartbeat interval.
        manual_clock: drive the stand-in tracker's engaged time from the script
            (a step's `read`) instead of its own timer. Then a page sends exactly
            the heartbeats its steps let fall due, however slowly the browser runs,
            and none while it waits for other pixels or closes; with the timer,
            heartbeats keep going out every `heartbeat_seconds` of the browser's
            own time.
        headless: False shows the window (needs a display).
    """

    def __init__(
        self,
        *,
        proxy: str | None = None,
        executable: str | None = None,
        trusted_spki: Sequence[str] = (),
        ignore_https_errors: bool = False,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        manual_clock: bool = True,
        headless: bool = True,
    ) -> None:
        self.proxy = proxy
        self.executable = find_chromium(executable)
        self.trusted_spki = tuple(trusted_spki)
        self.ignore_https_errors = ignore_https_errors
        self.heartbeat_seconds = heartbeat_seconds
        self.manual_clock = manual_clock
        self.headless = headless
        self._playwright: Any = None
        self._browser: Any = None

    @property
    def version(self) -> str:
        return self._browser.version if self._browser is not None else ""

    async def start(self) -> HeadlessChromium:
        if self._browser is not None:
            return self
        from playwright.async_api import async_playwright

        self._playwright = await async_playwright().start()
        try:
            # Playwright gives each launch a fresh, temporary user-data-dir.
            self._browser = await self._playwright.chromium.launch(
                executable_path=self.executable,
                headless=self.headless,
                args=chromium_args(self.proxy, trusted_spki=self.trusted_spki),
            )
        except BaseException:
            await self._playwright.stop()
            self._playwright = None
            raise
        logger.info("launched %s (Chromium %s)", self.executable, self.version)
        return self

    async def stop(self) -> None:
        if self._browser is not None:
            await self._browser.close()
            self._browser = None
        if self._playwright is not None:
            await self._playwright.stop()
            self._playwright = None

    async def __aenter__(self) -> HeadlessChromium:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def new_context(
        self,
        log: PixelLog | None = None,
        *,
        heartbeat_seconds: float | None = None,
        manual_clock: bool | None = None,
    ) -> BrowserContext:
        """A fresh browser context (no cookies: a new visitor) with the stand-in
        tracker's test settings, logging pixels into `log`.

        Args:
            log: where to collect the context's pixels.
            heartbeat_seconds: this context's heartbeat interval, instead of the
                browser's.
            manual_clock: this context's choice of clock, instead of the browser's.
        """
        await self.start()
        context = await self._browser.new_context(
            ignore_https_errors=self.ignore_https_errors
        )
        interval = heartbeat_seconds or self.heartbeat_seconds
        manual = self.manual_clock if manual_clock is None else manual_clock
        standin: dict[str, Any] = {"heartbeatSeconds": interval}
        if manual:
            standin["clock"] = "manual"
        settings = json.dumps(standin)
        await context.add_init_script(f"window.PARSELY_STANDIN = {settings};")
        if self.proxy is None:
            await context.route(is_pixel_url, _answer_pixel)
        if log is not None:
            log.attach(context)
        return context

    async def run_scenario(
        self,
        scenario: Scenario,
        site: SiteServer | str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> ScenarioRun:
        """Walk a scenario's steps in a new context and wait for its pixels.

        Args:
            scenario: what to do.
            site: the running site server, or the base URL the site is served at.
            timeout: seconds to wait for each step's pixels.

        Raises:
            ScenarioTimeoutError: a step's pixels did not arrive in time.
        """
        base_url = site.base_url if isinstance(site, SiteServer) else site.rstrip("/")
        log = PixelLog()
        console: list[str] = []
        context = await self.new_context(log)
        try:
            page = await context.new_page()
            page.on("console", lambda message: console.append(message.text))
            page.on("pageerror", lambda error: console.append(f"error: {error}"))
            for step in scenario.steps:
                await self._do_step(page, step, base_url, log, timeout)
        except ScenarioTimeoutError as error:
            details = "; ".join(console[-5:]) or "no console output"
            raise ScenarioTimeoutError(
                f"{scenario.name}: {error} ({details})"
            ) from None
        finally:
            await context.close()
        return ScenarioRun(scenario, base_url, list(log.pixels), console)

    async def _do_step(
        self, page: Page, step: Step, base_url: str, log: PixelLog, timeout: float
    ) -> None:
        timeout_ms = timeout * 1000
        if step.open:
            await page.goto(base_url + step.open, timeout=timeout_ms)
        if step.click:
            await page.click(step.click, timeout=timeout_ms)
        if step.route:
            await page.wait_for_function(
                "route => document.documentElement.dataset.route === route",
                arg=step.route,
                timeout=timeout_ms,
            )
        if step.read and self.manual_clock:
            # The tracker loads asynchronously (a tag container may add it after
            # the load event): let it run and send the step's pageviews first, so
            # the reading time falls after them, as a reader's would.
            await page.wait_for_function(
                "() => Boolean(window.PARSELY && window.PARSELY.standIn)",
                timeout=timeout_ms,
            )
            if step.pixels.get("pageview"):
                await log.wait_for({"pageview": step.pixels["pageview"]}, timeout)
            await page.evaluate(
                "ms => PARSELY.standIn.advance(ms)", round(step.read * 1000)
            )
        elif step.read:
            await asyncio.sleep(step.read)
        if step.pixels:
            await log.wait_for(step.pixels, timeout)


async def _answer_pixel(route: Route) -> None:
    """Answer a pixel inside the browser, as `--answer-pixels` does in the proxy."""
    await route.fulfill(status=200, content_type="image/gif", body=_TRANSPARENT_GIF)


# --------------------------------------------------------------------------------------
# Recording


async def record_scenario(
    scenario: Scenario,
    site: SiteServer | str,
    recording: str | os.PathLike[str],
    *,
    confdir: str | os.PathLike[str],
    spec_path: str | os.PathLike[str] = SITE_SPEC,
    executable: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> ScenarioRun:
    """Walk one scenario in a fresh Chromium through a fresh proxy that records it.

    The proxy answers pixels itself, so nothing leaves the machine, and writes every
    flow to `recording` (`.mitm` or `.har`) with mitmproxy's own writer.

    Args:
        scenario: the scenario to walk.
        site: the running site server, or the base URL it is served at.
        recording: the file to write; an earlier recording there is replaced.
        confdir: mitmproxy's directory for its CA (a temporary one is best).
        spec_path: the spec the proxy's live inspection judges with.
        executable: the Chromium to run (see `find_chromium`).
        timeout: seconds to wait for each step's pixels.
    """
    from inspector.inspection import Inspection
    from inspector.proxy import ProxySession
    from inspector.spec import load_spec

    proxy = ProxySession(
        inspection=Inspection(load_spec(spec_path)),
        listen_port=0,
        confdir=confdir,
        record_path=recording,
        answer_pixels=True,
        overwrite=True,
    )
    (host, port), *_ = await proxy.start()
    try:
        chromium = HeadlessChromium(
            proxy=f"http://{host}:{port}",
            executable=executable,
            trusted_spki=[ca_spki_fingerprint(proxy.ca_cert_path)],
        )
        async with chromium:
            return await chromium.run_scenario(scenario, site, timeout=timeout)
    finally:
        await proxy.stop()


def write_har_copy(
    recording: str | os.PathLike[str], har_path: str | os.PathLike[str]
) -> int:
    """Write a `.mitm` recording's flows as HAR with mitmproxy's own HAR writer.

    Returns the number of flows written.
    """
    from mitmproxy import io as mitmproxy_io
    from mitmproxy.addons.savehar import SaveHar

    with open(recording, "rb") as stream:
        flows = list(mitmproxy_io.FlowReader(stream).stream())
    document = SaveHar().make_har(flows)
    Path(har_path).write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return len(flows)


# --------------------------------------------------------------------------------------
# Command line


def _serve(args: argparse.Namespace) -> int:
    server = SiteServer(args.root, host=args.host, port=args.port)
    try:
        server.start()
    except OSError as error:
        print(f"cannot serve on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1

    print(f"Serving the test site at {server.url('/index.html')}  (Ctrl-C stops)")
    print(
        "Chromium through a proxy needs --proxy-bypass-list=<-loopback> to send "
        "127.0.0.1 pages through it."
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _list(args: argparse.Namespace) -> int:
    width = max(len(name) for name in SCENARIOS)
    for scenario in SCENARIOS.values():
        print(f"{scenario.name:<{width}}  {scenario.description}")
    return 0


async def _run_scenarios(args: argparse.Namespace) -> int:
    names = args.scenarios or list(SCENARIOS)
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}", file=sys.stderr)
        return 2

    trusted = [ca_spki_fingerprint(args.ca_cert)] if args.ca_cert else []
    failures = 0
    with SiteServer(args.root, port=args.site_port) as site:
        async with HeadlessChromium(
            proxy=args.proxy, executable=args.chromium, trusted_spki=trusted
        ) as chromium:
            for name in names:
                run = await chromium.run_scenario(SCENARIOS[name], site)
                counts = Counter(pixel.action for pixel in run.pixels)
                failed = Counter(p.failure for p in run.pixels if p.status is None)
                failures += sum(failed.values())
                line = f"{name}: {dict(counts)}"
                if failed:
                    line += f"  FAILED: {dict(failed)}"
                print(line)

    if failures:
        print(
            "Some pixels never got an answer. HTTPS pixels need the proxy's CA "
            "(--ca-cert) and, with no internet access, a proxy that answers CONNECT "
            "without reaching Parse.ly (segment-inspector live --answer-pixels "
            "does; for plain mitmproxy set connection_strategy=lazy).",
            file=sys.stderr,
        )
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m inspector.browser",
        description="Serve the Segment Inspector test site, or walk its scenarios "
        "in headless Chromium.",
    )
    parser.add_argument("--root", default=str(SITE_DIR), help="the site directory")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the site for your own browser")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=_serve)

    listing = commands.add_parser("list", help="list the scenarios")
    listing.set_defaults(handler=_list)

    run = commands.add_parser("run", help="walk scenarios in headless Chromium")
    run.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    run.add_argument("--proxy", help="proxy URL, such as http://127.0.0.1:8080")
    run.add_argument("--ca-cert", help="the proxy's CA certificate, for HTTPS pixels")
    run.add_argument("--chromium", help="the Chromium executable")
    run.add_argument("--site-port", type=int, default=0)
    run.set_defaults(handler=lambda a: asyncio.run(_run_scenarios(a)))

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return args.handler(args)
    except (ChromiumNotFoundError, ScenarioTimeoutError) as error:
        print(error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
