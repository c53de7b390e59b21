"""Generated Parse.ly traffic: what a browser sends for an integration, as requests.

A fast, deterministic stand-in for a real browser, for tests and fixtures. It plays a
page the way a browser and the tracker would and records every request as a
`CapturedRequest`: the document, Google Tag Manager's `gtm.js`, the tracker script
`cdn.parsely.com/keys/<site>/p.js`, other scripts and images, and the pixels, with
realistic parameters, timing, fetch metadata and `Referer` headers (the browser's
default `strict-origin-when-cross-origin` policy unless told otherwise).

The tracker part follows the v2 tracker's behaviour:

- when its script runs, it reads `window.PARSELY` once: unless `autotrack` is false
  it sends a pageview, then it calls `onReady`, then `onload`. A configuration
  written after that is never read;
- `updateDefaults` deep-merges into the defaults every later event carries (an
  `undefined` value is skipped, `null` overrides, arrays merge by index); data
  passed to one `trackPageView` call is sent with that event only;
- each pageview mints a new `pvid` that later events repeat, and restarts the
  engaged-time total `tt`; heartbeats reuse the last event's `url` and `urlref`;
- parameters are serialised like jQuery's `$.param`: `encodeURIComponent` with `+`
  for spaces, `data` as compact JSON, `null` as an empty value, `u` last.

So a scenario is written as what the page does, in the order it does it, and a
mis-ordered integration produces the traffic a mis-ordered integration produces:

    session = Session(seed=1)
    reader = session.visitor()
    page = session.open(reader, "https://www.example.com/story/")
    page.load_gtm()
    page.load_tracker()  # the tracker tag fired first, then the segment tag:
    page.parsely.update_defaults({"data": {"plan": "basic"}})
    page.engage(15)
    requests = session.requests()

`SCENARIOS` names ready-made recordings (`generate("gtm-unsequenced")`), each with
the page-level diagnosis codes it should produce. `python -m inspector.traffic NAME
OUT.har` (or `.mitm`) writes one with mitmproxy's writers.
"""

from __future__ import annotations

import json
import logging
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlunsplit

from inspector.model import CapturedRequest
from inspector.urls import split_url, url_host

logger = logging.getLogger(__name__)

DEFAULT_START = 1_700_000_000.0
"""2023-11-14 22:13:20 UTC: when generated sessions start unless told otherwise."""

USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
ACCEPT_DOCUMENT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)
ACCEPT_IMAGE = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
ACCEPT_ANY = "*/*"

PIXEL_ENDPOINT = "https://p1.parsely.com/plogger/"
AMP_PIXEL_ENDPOINT = "https://srv.pixel.parsely.com/plogger/"
MOBILE_ENDPOINT = "https://p1.parsely.com/mobileproxy"
SCREEN = "1920x1080|1920x1040|24"

DEFAULT_POLICY = "strict-origin-when-cross-origin"
POLICIES = frozenset(
    {
        DEFAULT_POLICY,
        "no-referrer-when-downgrade",
        "unsafe-url",
        "origin",
        "no-referrer",
    }
)


class _Undefined:
    """JavaScript's `undefined`: dropped by JSON.stringify, skipped by deep merges."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED = _Undefined()


# --------------------------------------------------------------------------------------
# Browser-side helpers


def encode_component(value: str) -> str:
    """JavaScript's `encodeURIComponent`."""
    return quote(value, safe="-_.!~*'()")


def jquery_param(params: Mapping[str, Any]) -> str:
    """A query string as jQuery's `$.param` writes it (what the tracker sends)."""
    pairs = []
    for key, value in params.items():
        if value is UNDEFINED:
            continue
        if value is None:
            text = ""
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = str(value)
        pairs.append(
            encode_component(str(key)).replace("%20", "+")
            + "="
            + encode_component(text).replace("%20", "+")
        )
    return "&".join(pairs)


def json_stringify(value: Any) -> str:
    """`JSON.stringify`: compact, `undefined` members dropped."""
    return json.dumps(_drop_undefined(value), separators=(",", ":"), ensure_ascii=False)


def _drop_undefined(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _drop_undefined(v) for k, v in value.items() if v is not UNDEFINED}
    if isinstance(value, list | tuple):
        return [None if v is UNDEFINED else _drop_undefined(v) for v in value]
    return value


def deep_merge(target: dict[str, Any], source: Mapping[str, Any]) -> dict[str, Any]:
    """jQuery's `$.extend(true, target, source)`, as `updateDefaults` applies it."""
    for key, value in source.items():
        if value is UNDEFINED:
            continue
        if isinstance(value, Mapping):
            base = target.get(key)
            target[key] = deep_merge(
                dict(base) if isinstance(base, dict) else {}, value
            )
        elif isinstance(value, list):
            base = target.get(key)
            merged = list(base) if isinstance(base, list) else []
            for index, item in enumerate(value):
                if item is UNDEFINED:
                    continue
                if index < len(merged):
                    merged[index] = item
                else:
                    merged.extend([None] * (index - len(merged)) + [item])
            target[key] = merged
        else:
            target[key] = value
    return target


def js_date(epoch_ms: float) -> str:
    """`new Date().toString()` for a browser set to UTC."""
    moment = time.gmtime(epoch_ms / 1000)
    return time.strftime("%a %b %d %Y %H:%M:%S", moment) + (
        " GMT+0000 (Coordinated Universal Time)"
    )


def without_fragment(url: str) -> str:
    parts = split_url(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))


def _origin(url: str) -> str:
    parts = split_url(url)
    return f"{parts.scheme}://{parts.netloc}"


def referer_for(page_url: str, target_url: str, policy: str = DEFAULT_POLICY) -> str:
    """The `Referer` a browser sends from `page_url` to `target_url` under `policy`.

    Returns an empty string when no header is sent.
    """
    if not page_url or policy == "no-referrer":
        return ""
    full = without_fragment(page_url)
    origin = _origin(page_url) + "/"
    same_origin = _origin(page_url) == _origin(target_url)
    downgrade = page_url.startswith("https:") and target_url.startswith("http:")

    if policy == "unsafe-url":
        return full
    if policy == "no-referrer-when-downgrade":
        return "" if downgrade else full
    if policy == "origin":
        return origin
    if same_origin:
        return full
    return "" if downgrade else origin


def _fetch_site(page_url: str, target_url: str) -> str:
    if not page_url:
        return "none"
    if _origin(page_url) == _origin(target_url):
        return "same-origin"
    page_host = url_host(page_url)
    target_host = url_host(target_url)
    if page_host.split(".")[-2:] == target_host.split(".")[-2:]:
        return "same-site"
    return "cross-site"


# --------------------------------------------------------------------------------------
# Session, readers and pages


class Session:
    """One recording: a clock, readers, and every request sent, in order.

    Args:
        seed: Seeds every random id and delay, so a scenario is reproducible.
        start: When the recording starts (seconds since the epoch).
        name: Used in request ids (`<name>-0001`) and origins.
        fetch_metadata: Send `Sec-Fetch-*` headers, as current browsers do. Without
            them, documents are told apart by their `Accept` header.
        client_address: The browser's IP address as the proxy sees it.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        start: float = DEFAULT_START,
        name: str = "traffic",
        fetch_metadata: bool = True,
        client_address: str = "192.0.2.10",
    ):
        self.rng = random.Random(seed)
        self.start = start
        self.name = name
        self.fetch_metadata = fetch_metadata
        self.client_address = client_address
        self.now_ms = 0
        self._sent: list[CapturedRequest] = []

    # Clock -------------------------------------------------------------------------

    @property
    def epoch_ms(self) -> int:
        """The current time as the tracker reads it (epoch milliseconds)."""
        return round(self.start * 1000) + self.now_ms

    def wait(self, ms: float) -> None:
        self.now_ms += round(ms)

    def latency(self, low: int = 20, high: int = 80) -> int:
        return self.rng.randint(low, high)

    def new_uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # Actors ------------------------------------------------------------------------

    def visitor(self, *, returning: bool = False) -> Reader:
        """A reader with a fresh visitor id (`returning` readers had a session)."""
        return Reader(self, returning=returning)

    def open(
        self,
        reader: Reader,
        url: str,
        *,
        referrer: str = "",
        title: str | None = None,
        referrer_policy: str = DEFAULT_POLICY,
        assets: bool = True,
    ) -> Page:
        """Navigate to `url`: sends the document request and the page's own assets."""
        return Page(
            self,
            reader,
            url,
            referrer=referrer,
            title=title,
            policy=referrer_policy,
            assets=assets,
        )

    # Requests ----------------------------------------------------------------------

    def send(
        self,
        method: str,
        url: str,
        headers: Iterable[tuple[str, str]],
        *,
        content_type: str | None,
        body: bytes = b"",
        status: int = 200,
        delay_ms: int = 0,
    ) -> CapturedRequest:
        """Record one request sent now (plus `delay_ms`)."""
        number = len(self._sent) + 1
        request = CapturedRequest(
            method=method,
            url=url,
            headers=tuple(headers),
            body=body,
            timestamp=self.start + (self.now_ms + delay_ms) / 1000,
            client_address=self.client_address,
            origin=f"traffic:{self.name} #{number}",
            request_id=f"{self.name}-{number:04d}",
            response_status=status,
            content_type=content_type,
        )
        self._sent.append(request)
        return request

    def keep_only(self, kept: Iterable[CapturedRequest]) -> None:
        """Forget every other request, as if the capture had missed them."""
        wanted = {id(request) for request in kept}
        self._sent = [request for request in self._sent if id(request) in wanted]

    def requests(self) -> list[CapturedRequest]:
        """Every request sent, in the order sent."""
        return sorted(self._sent, key=lambda request: request.timestamp)


class Reader:
    """A browser with its Parse.ly visitor id and session (`_parsely_visitor`)."""

    def __init__(self, session: Session, *, returning: bool = False):
        self.session = session
        self.uid = "pid=" + session.new_uuid()
        self.session_count = 0
        self.last_session_start = 0
        if returning:
            self.session_count = session.rng.randint(2, 30)
            self.last_session_start = session.epoch_ms - 86_400_000 * 3
        self._current: dict[str, Any] | None = None
        self.has_cookie = False
        """Set once a tracker stored the visitor in the site's cookie."""

    def cookie(self) -> str:
        """The `_parsely_visitor` cookie as the tracker writes it (URL-encoded JSON)."""
        content = {
            "id": self.uid,
            "session_count": self.session_count,
            "last_session_ts": (self._current or {}).get("sts", 0),
        }
        return "_parsely_visitor=" + encode_component(json_stringify(content))

    def session_fields(self, url: str, urlref: str) -> dict[str, Any]:
        """`sid`, `surl`, `sref`, `sts`, `slts`: started by the first event."""
        if self._current is None:
            self.session_count += 1
            self._current = {
                "sid": self.session_count,
                "surl": url,
                "sref": urlref,
                "sts": self.session.epoch_ms,
                "slts": self.last_session_start,
            }
        return dict(self._current)


class Page:
    """One document in one tab: its requests, `window.PARSELY` and its tracker(s)."""

    def __init__(
        self,
        session: Session,
        reader: Reader,
        url: str,
        *,
        referrer: str,
        title: str | None,
        policy: str,
        assets: bool,
    ):
        if policy not in POLICIES:
            raise ValueError(f"unknown referrer policy {policy!r}")
        self.session = session
        self.reader = reader
        self.location = url
        self.policy = policy
        self.title = title or _title_for(url)
        self.config: dict[str, Any] | None = None
        """`window.PARSELY` as the page set it before any tracker ran."""
        self.trackers: list[Tracker] = []

        # The navigation: Referer and document.referrer are the previous page as the
        # previous page's policy lets it out.
        self.referrer = referer_for(referrer, url) if referrer else ""
        headers = [("Accept", ACCEPT_DOCUMENT), ("User-Agent", USER_AGENT)]
        if self.referrer:
            headers.append(("Referer", self.referrer))
        if reader.has_cookie:
            headers.append(("Cookie", reader.cookie()))
        if session.fetch_metadata:
            headers += [
                ("Sec-Fetch-Dest", "document"),
                ("Sec-Fetch-Mode", "navigate"),
                ("Sec-Fetch-Site", _fetch_site(referrer, url)),
            ]
        self.document = session.send(
            "GET", url, headers, content_type="text/html; charset=utf-8"
        )
        session.wait(session.latency(60, 180))

        if assets:
            self.load_asset("/static/site.css", dest="style", content_type="text/css")
            self.load_script(_origin(url) + "/static/site.js")

    # Browser actions -----------------------------------------------------------------

    def wait(self, ms: float) -> None:
        self.session.wait(ms)

    def _headers(self, target: str, *, accept: str, dest: str, mode: str):
        headers = [("Accept", accept), ("User-Agent", USER_AGENT)]
        referer = referer_for(self.location, target, self.policy)
        if referer:
            headers.append(("Referer", referer))
        if self.reader.has_cookie and _origin(target) == _origin(self.location):
            headers.append(("Cookie", self.reader.cookie()))
        if self.session.fetch_metadata:
            headers += [
                ("Sec-Fetch-Dest", dest),
                ("Sec-Fetch-Mode", mode),
                ("Sec-Fetch-Site", _fetch_site(self.location, target)),
            ]
        return headers

    def load_script(self, url: str) -> CapturedRequest:
        """A `<script src>`: sent now, runs after its download."""
        request = self.session.send(
            "GET",
            url,
            self._headers(url, accept=ACCEPT_ANY, dest="script", mode="no-cors"),
            content_type="application/javascript; charset=utf-8",
        )
        self.session.wait(self.session.latency())
        return request

    def load_asset(
        self, path_or_url: str, *, dest: str = "image", content_type: str = "image/jpeg"
    ) -> CapturedRequest:
        """An image, style sheet or font of the page."""
        url = _absolute(self.location, path_or_url)
        accept = ACCEPT_IMAGE if dest == "image" else "text/css,*/*;q=0.1"
        request = self.session.send(
            "GET",
            url,
            self._headers(url, accept=accept, dest=dest, mode="no-cors"),
            content_type=content_type,
        )
        self.session.wait(self.session.latency(2, 10))
        return request

    def fetch(self, path_or_url: str) -> CapturedRequest:
        """A `fetch()` from the page's code (an API call)."""
        url = _absolute(self.location, path_or_url)
        request = self.session.send(
            "GET",
            url,
            self._headers(url, accept=ACCEPT_ANY, dest="empty", mode="cors"),
            content_type="application/json",
        )
        self.session.wait(self.session.latency(30, 120))
        return request

    def load_gtm(self, container: str = "GTM-K7T2Q9X") -> CapturedRequest:
        """Google Tag Manager's container script."""
        return self.load_script(
            f"https://www.googletagmanager.com/gtm.js?id={container}"
        )

    def configure(
        self,
        *,
        autotrack: bool | None = None,
        on_ready: Callable[[Tracker], None] | None = None,
        onload: Callable[[Tracker], None] | None = None,
        spa_autotrack: bool | None = None,
    ) -> bool:
        """`window.PARSELY = window.PARSELY || {...}`, as the documented snippet does.

        Returns False when the object already existed (a tracker had run), in which
        case the whole literal is ignored: that is what a configuration placed after
        the tracker snippet amounts to.
        """
        if self.trackers or self.config is not None:
            return False
        self.config = {}
        if autotrack is not None:
            self.config["autotrack"] = autotrack
        if on_ready is not None:
            self.config["onReady"] = on_ready
        if onload is not None:
            self.config["onload"] = onload
        if spa_autotrack is not None:
            self.config["spa"] = {"autotrack": spa_autotrack}
        return True

    def load_tracker(
        self,
        *,
        site: str | None = None,
        cached: bool = False,
        spa_module: bool = False,
    ) -> Tracker:
        """Load and run the tracker script.

        `cached` runs it without a request (served from the browser cache).
        `spa_module` stands for a build with single-page-app support, which sends a
        pageview on every history change unless `spa.autotrack` is false.
        """
        site = site or self.session_site
        if not cached:
            self.load_script(f"https://cdn.parsely.com/keys/{site}/p.js")
        tracker = Tracker(self, site=site, spa_module=spa_module)
        self.trackers.append(tracker)
        tracker.start(self.config or {})
        return tracker

    @property
    def session_site(self) -> str:
        host = url_host(self.location) or "example.com"
        return host.removeprefix("www.")

    @property
    def parsely(self) -> Tracker:
        """`window.PARSELY` once a tracker ran (the latest one)."""
        if not self.trackers:
            raise RuntimeError("the tracker has not run on this page")
        return self.trackers[-1]

    def push_state(self, url: str, *, title: str | None = None) -> None:
        """A single-page-app route change (`history.pushState`)."""
        previous = self.location
        self.location = _absolute(previous, url)
        self.title = title or _title_for(self.location)
        for tracker in self.trackers:
            tracker.on_history_change(previous)

    def engage(self, seconds: float, *, heartbeat: bool = True) -> None:
        """The reader reads for `seconds`; then the tracker sends its heartbeat."""
        for tracker in self.trackers:
            tracker.engaged_ms += round(seconds * 1000)
        self.wait(seconds * 1000)
        if heartbeat:
            for tracker in self.trackers:
                tracker.heartbeat()


class Tracker:
    """The v2 tracker running on a page: `window.PARSELY` after `p.js` ran."""

    def __init__(self, page: Page, *, site: str, spa_module: bool):
        self.page = page
        self.session = page.session
        self.site = site
        self.plid = self.session.new_uuid()
        self.pvid: str | None = None
        self.spa_module = spa_module
        self.spa_autotrack = spa_module
        self.defaults: dict[str, Any] = {
            "idsite": site,
            "url": page.location,
            "urlref": page.referrer,
            "screen": SCREEN,
            "data": {},
        }
        self.last_request: dict[str, Any] | None = None
        self.engaged_ms = 0
        """Engaged time since the current pageview (what `tt` reports)."""
        self._reported_ms = 0
        self.sent: list[CapturedRequest] = []

    def start(self, config: Mapping[str, Any]) -> None:
        """What `p.js` does when it runs: autotrack, then onReady, then onload."""
        self.page.reader.has_cookie = True
        spa = config.get("spa")
        if isinstance(spa, Mapping) and "autotrack" in spa:
            self.spa_autotrack = self.spa_module and bool(spa["autotrack"])
        if config.get("autotrack") is not False:
            self.track_page_view()
        for hook in ("onReady", "onload"):
            function = config.get(hook)
            if function is not None:
                function(self)

    # The public API ------------------------------------------------------------------

    def update_defaults(self, values: Mapping[str, Any]) -> None:
        """`PARSELY.updateDefaults(values)`: deep-merged into every later event."""
        deep_merge(self.defaults, values)

    def track_page_view(self, params: Mapping[str, Any] | None = None) -> None:
        """`PARSELY.beacon.trackPageView(params)`."""
        event: dict[str, Any] = {
            "title": self.page.title,
            "date": js_date(self.session.epoch_ms),
            "action": "pageview",
            "url": self.page.location,
            "urlref": self.page.referrer,
        }
        event.update(params or {})

        if event["action"] == "pageview":
            # Pending engaged time goes out for the old page, then the total restarts.
            if self.engaged_ms - self._reported_ms >= 1000 and self.pvid:
                self.heartbeat()
            self.engaged_ms = 0
            self._reported_ms = 0
            self.last_request = None
        self.beacon(event)

    def heartbeat(self) -> None:
        """Send the engaged time accumulated since the last heartbeat."""
        increment = round((self.engaged_ms - self._reported_ms) / 1000)
        if not 1 <= increment <= 3600:
            return
        self._reported_ms = self.engaged_ms
        base = self.last_request or self.defaults
        self.beacon(
            {
                "url": base["url"],
                "urlref": base["urlref"],
                "date": js_date(self.session.epoch_ms),
                "action": "heartbeat",
                "inc": increment,
                "tt": self.engaged_ms,
            },
            remember=False,
        )

    def convert(self, kind: str = "newsletter_signup", label: str = "footer") -> None:
        """`PARSELY.conversions.track...(label)`: a conversion through trackPageView."""
        self.track_page_view(
            {
                "action": "conversion",
                "data": {"_conversion_type": kind, "_conversion_label": label},
            }
        )

    def restart_engaged_time(self) -> None:
        """Reset the engaged-time total without a new pageview (a faulty re-init)."""
        self.engaged_ms = 0
        self._reported_ms = 0

    def on_history_change(self, previous_url: str) -> None:
        """What a build with single-page-app support does on `pushState`."""
        if self.spa_autotrack:
            self.track_page_view({"url": self.page.location, "urlref": previous_url})

    # The wire ------------------------------------------------------------------------

    def beacon(self, fields: Mapping[str, Any], *, remember: bool = True) -> None:
        """Merge, stringify and send one event the way the tracker does."""
        params: dict[str, Any] = {"rand": self.session.epoch_ms, "plid": self.plid}
        deep_merge(params, self.defaults)
        deep_merge(
            params,
            self.page.reader.session_fields(
                str(fields.get("url", self.defaults["url"])),
                str(fields.get("urlref", self.defaults["urlref"])),
            ),
        )
        deep_merge(params, fields)

        if params.get("action") == "pageview":
            self.pvid = self.session.new_uuid()
        if self.pvid:
            params["pvid"] = self.pvid
        params["data"] = json_stringify(params.get("data", {}))
        params["u"] = self.page.reader.uid

        if remember:
            self.last_request = params
        url = self.endpoint + "?" + jquery_param(params)
        request = self.session.send(
            "GET",
            url,
            self.page._headers(url, accept=ACCEPT_IMAGE, dest="image", mode="no-cors"),
            content_type="image/gif",
            delay_ms=self.session.latency(1, 4),
        )
        self.sent.append(request)
        self.session.wait(self.session.latency(5, 15))

    @property
    def endpoint(self) -> str:
        return PIXEL_ENDPOINT


# --------------------------------------------------------------------------------------
# Other senders: AMP pages and the Android SDK


class AmpPage:
    """An AMP page's analytics: the vendor template, no `data`, an `ampid` reader."""

    def __init__(self, session: Session, url: str, *, canonical: str, title: str):
        self.session = session
        self.url = url
        self.canonical = canonical
        self.title = title
        self.ampid = "amp-" + session.new_uuid().replace("-", "")[:22]
        self.engaged_s = 0

    def _send(self, fields: list[tuple[str, str]]) -> CapturedRequest:
        now = str(self.session.epoch_ms)
        query = [
            ("rand", now),
            ("idsite", url_host(self.canonical)),
            ("url", encode_component(self.url)),
            ("urlref", encode_component("https://www.google.com/")),
            ("screen", encode_component("390x844|390x844|24")),
            ("title", encode_component(self.title)),
            ("date", now),
            ("ampid", self.ampid),
            *fields,
        ]
        url = AMP_PIXEL_ENDPOINT + "?" + "&".join(f"{k}={v}" for k, v in query)
        headers = [
            ("Accept", ACCEPT_IMAGE),
            ("User-Agent", USER_AGENT),
            ("Referer", "https://" + url_host(self.url) + "/"),
        ]
        request = self.session.send("GET", url, headers, content_type="image/gif")
        self.session.wait(self.session.latency(5, 15))
        return request

    def pageview(self) -> CapturedRequest:
        # AMP leaves the braces of its metadata template unencoded.
        metadata = (
            "{%22canonical_url%22:%22" + encode_component(self.canonical) + "%22}"
        )
        return self._send([("action", "pageview"), ("metadata", metadata)])

    def engage(self, seconds: int) -> CapturedRequest:
        self.session.wait(seconds * 1000)
        self.engaged_s += seconds
        return self._send(
            [
                ("action", "heartbeat"),
                ("tt", str(self.engaged_s * 1000)),
                ("inc", str(seconds)),
            ]
        )


class AndroidApp:
    """The Android SDK's JSON batches to `/mobileproxy`."""

    def __init__(self, session: Session, *, site: str = "example.com"):
        self.session = session
        self.site = site
        self.device_id = session.new_uuid()
        self.pvid: str | None = None
        self.session_start = session.epoch_ms

    def _entry(self, url: str, action: str, **extra: Any) -> dict[str, Any]:
        return {
            "url": url,
            "urlref": "",
            "idsite": self.site,
            "action": action,
            "data": {
                "ts": self.session.epoch_ms,
                "parsely_site_uuid": self.device_id,
                "manufacturer": "ExampleMaker",
                "os": "android",
                "os_version": "34",
            },
            "sid": 1,
            "sts": self.session_start,
            "surl": url,
            "sref": "",
            "slts": 0,
            **extra,
        }

    def _post(self, entries: list[dict[str, Any]]) -> CapturedRequest:
        body = json.dumps({"events": entries}, separators=(",", ":")).encode()
        headers = [
            ("Content-Type", "application/json"),
            ("User-Agent", "Dalvik/2.1.0 (Linux; U; Android 14)"),
        ]
        request = self.session.send(
            "POST", MOBILE_ENDPOINT, headers, content_type="text/plain", body=body
        )
        self.session.wait(self.session.latency(5, 15))
        return request

    def track_pageview(self, url: str) -> CapturedRequest:
        self.pvid = self.session.new_uuid()
        return self._post([self._entry(url, "pageview", pvid=self.pvid)])

    def engage(self, url: str, seconds: int) -> CapturedRequest:
        """A heartbeat; before any pageview the SDK sent `"pvid": null`."""
        self.session.wait(seconds * 1000)
        return self._post(
            [
                self._entry(
                    url, "heartbeat", pvid=self.pvid, inc=seconds, tt=seconds * 1000
                )
            ]
        )


# --------------------------------------------------------------------------------------
# Scenarios


@dataclass(frozen=True)
class TrafficScenario:
    """A ready-made recording and the page-level diagnoses it should produce."""

    name: str
    description: str
    expected: frozenset[str]
    """Page and visitor diagnosis codes an inspection must report, no more."""
    build: Callable[[Session], None]


SCENARIOS: dict[str, TrafficScenario] = {}


def scenario(
    name: str, description: str, expected: Iterable[str] = ()
) -> Callable[[Callable[[Session], None]], Callable[[Session], None]]:
    def register(build: Callable[[Session], None]) -> Callable[[Session], None]:
        SCENARIOS[name] = TrafficScenario(name, description, frozenset(expected), build)
        return build

    return register


def generate(
    name: str, *, seed: int = 0, start: float = DEFAULT_START, **options: Any
) -> list[CapturedRequest]:
    """The requests of a named scenario (see `SCENARIOS`)."""
    try:
        chosen = SCENARIOS[name]
    except KeyError:
        known = ", ".join(sorted(SCENARIOS))
        raise KeyError(f"no traffic scenario {name!r}; known: {known}") from None
    session = Session(seed=seed, start=start, name=name, **options)
    chosen.build(session)
    return session.requests()


def segment_hook(data: Mapping[str, Any], *, track: bool = True):
    """An onReady/onload hook: `updateDefaults({data})`, then `trackPageView()`."""

    def hook(parsely: Tracker) -> None:
        parsely.update_defaults({"data": dict(data)})
        if track:
            parsely.track_page_view()

    return hook


ARTICLE = "https://www.example.com/2023/11/14/first-article/"
SECOND_ARTICLE = "https://www.example.com/2023/11/14/second-article/"
SEARCH = "https://www.google.com/"


def _correct_page(
    session: Session,
    reader: Reader,
    url: str,
    data: Mapping[str, Any],
    *,
    referrer: str = SEARCH,
    policy: str = DEFAULT_POLICY,
) -> Page:
    page = session.open(reader, url, referrer=referrer, referrer_policy=policy)
    page.configure(autotrack=False, on_ready=segment_hook(data))
    page.load_tracker()
    page.load_asset("/images/lead.jpg")
    return page


@scenario("correct-order", "Configuration inline before the tracker snippet.")
def _correct_order(session: Session) -> None:
    page = _correct_page(session, session.visitor(), ARTICLE, {"plan": "basic"})
    page.engage(15)
    page.engage(20)


@scenario(
    "correct-order-full-referrer",
    "As correct-order, on a site whose referrer policy sends full URLs to tags.",
)
def _correct_order_full_referrer(session: Session) -> None:
    page = _correct_page(
        session,
        session.visitor(),
        ARTICLE,
        {"plan": "basic"},
        policy="no-referrer-when-downgrade",
    )
    page.engage(15)


@scenario(
    "gtm-same-tag",
    "GTM Custom HTML tag: configuration (autotrack off, onload sets the data and "
    "tracks) and the loader in one tag, configuration first.",
)
def _gtm_same_tag(session: Session) -> None:
    page = session.open(session.visitor(), ARTICLE, referrer=SEARCH)
    page.load_gtm()
    page.configure(autotrack=False, onload=segment_hook({"_sub_status": "registered"}))
    page.load_tracker()
    page.engage(15)


@scenario(
    "gtm-sequenced",
    "GTM: the segment tag is a setup tag sequenced before the tracker tag.",
)
def _gtm_sequenced(session: Session) -> None:
    page = session.open(session.visitor(), ARTICLE, referrer=SEARCH)
    page.load_gtm()
    page.load_script("https://www.example.com/static/segments.js")
    page.configure(autotrack=False, on_ready=segment_hook({"plan": "premium"}))
    page.load_tracker()
    page.engage(15)
    page.engage(20)


@scenario(
    "gtm-unsequenced",
    "GTM fires the tracker tag first (autotrack pageview without data); the segment "
    "tag then calls updateDefaults, so only heartbeats carry the data.",
    {"page.segment-after-pageview"},
)
def _gtm_unsequenced(session: Session) -> None:
    page = session.open(session.visitor(), ARTICLE, referrer=SEARCH)
    page.load_gtm()
    page.load_tracker()
    page.load_script("https://www.example.com/static/segments.js")
    if not page.configure(autotrack=False, on_ready=segment_hook({"plan": "basic"})):
        page.parsely.update_defaults({"data": {"plan": "basic"}})
    page.engage(15)
    page.engage(20)


@scenario(
    "config-after-snippet",
    "The segment script sits after the tracker snippet and updates the defaults "
    "once the tracker has already sent the pageview.",
    {"page.segment-after-pageview"},
)
def _config_after_snippet(session: Session) -> None:
    page = session.open(session.visitor(), ARTICLE, referrer=SEARCH)
    page.load_tracker()
    page.load_script("https://www.example.com/static/segments.js")
    page.parsely.update_defaults({"data": {"plan": "premium", "logged_in": True}})
    page.engage(15)


@scenario(
    "gtm-late-pageview",
    "GTM: the tracker autotracks; the segment tag fires on Window Loaded, seconds "
    "later, and sends a second pageview with the data.",
    {"page.segment-after-pageview"},
)
def _gtm_late_pageview(session: Session) -> None:
    page = session.open(session.visitor(), ARTICLE, referrer=SEARCH)
    page.load_gtm()
    page.load_tracker()
    for number in range(1, 4):
        page.load_asset(f"/images/gallery-{number}.jpg")
    page.wait(3500)
    page.load_script("https://www.example.com/static/segments.js")
    segment_hook({"plan": "basic"})(page.parsely)
    page.engage(15)


@scenario(
    "autotrack-and-onready",
    "The configuration sets onReady (data, then trackPageView) but leaves autotrack "
    "on: an empty pageview, then one with the data.",
    {"page.duplicate-pageview"},
)
def _autotrack_and_onready(session: Session) -> None:
    page = session.open(session.visitor(), ARTICLE, referrer=SEARCH)
    page.configure(on_ready=segment_hook({"plan": "basic"}))
    page.load_tracker()
    page.engage(15)


@scenario(
    "tracker-twice",
    "The tracker is installed twice (hard-coded snippet and a GTM tag).",
    {"page.duplicate-pageview"},
)
def _tracker_twice(session: Session) -> None:
    page = session.open(session.visitor(), ARTICLE, referrer=SEARCH)
    page.configure(on_ready=lambda parsely: parsely.update_defaults({"data": {}}))
    page.load_tracker()
    page.load_gtm()
    page.load_tracker()
    page.engage(15)


@scenario(
    "router-double-fire",
    "A router hook sends a pageview on the first route too, 40 ms after onReady did.",
    {"page.duplicate-pageview"},
)
def _router_double_fire(session: Session) -> None:
    page = session.open(session.visitor(), ARTICLE, referrer="")
    page.configure(autotrack=False, on_ready=segment_hook({"plan": "basic"}))
    page.load_tracker()
    page.wait(25)
    page.parsely.track_page_view()
    page.engage(15)


@scenario(
    "spa-virtual-pageviews",
    "Infinite scroll: a virtual pageview (url, urlref, js=1) on each URL change.",
)
def _spa_virtual_pageviews(session: Session) -> None:
    page = session.open(session.visitor(), ARTICLE, referrer=SEARCH)
    page.configure(autotrack=False, on_ready=segment_hook({"plan": "basic"}))
    page.load_tracker()
    page.engage(30)
    page.push_state(SECOND_ARTICLE)
    page.parsely.track_page_view({"url": SECOND_ARTICLE, "urlref": ARTICLE, "js": 1})
    page.fetch("/api/related?article=second-article")
    page.engage(30)


@scenario(
    "spa-autotrack",
    "A tracker build with single-page-app support sends the route pageviews itself.",
)
def _spa_autotrack(session: Session) -> None:
    page = session.open(session.visitor(), ARTICLE, referrer="")
    page.configure(autotrack=False, on_ready=segment_hook({"is_logged_in": False}))
    page.load_tracker(spa_module=True)
    page.engage(20)
    page.push_state(SECOND_ARTICLE)
    page.fetch("/api/article/second-article")
    page.engage(20)


@scenario(
    "spa-without-pageview",
    "A single-page app changes route without any pageview; the reader then signs "
    "up for the newsletter on the new route.",
    {"page.spa-url-without-pageview"},
)
def _spa_without_pageview(session: Session) -> None:
    page = session.open(session.visitor(), ARTICLE, referrer=SEARCH)
    page.configure(autotrack=False, on_ready=segment_hook({"plan": "basic"}))
    page.load_tracker()
    page.engage(20)
    page.push_state(SECOND_ARTICLE)
    page.fetch("/api/article/second-article")
    page.load_asset("/images/second-lead.jpg")
    page.wait(8000)
    page.parsely.convert("newsletter_signup", "article footer")
    page.engage(20)


@scenario(
    "heartbeat-before-pageview",
    "Autotrack off and the hook waits for a slow profile API: the first heartbeat "
    "goes out before the pageview.",
    {"page.heartbeat-without-pageview"},
)
def _heartbeat_before_pageview(session: Session) -> None:
    page = session.open(session.visitor(), ARTICLE, referrer=SEARCH)
    page.configure(autotrack=False)
    page.load_tracker()
    page.fetch("/api/profile")
    page.engage(150)
    page.wait(6000)
    segment_hook({"plan": "premium"})(page.parsely)
    page.engage(15)


@scenario(
    "tracker-no-pageview",
    "Autotrack off, and the onReady hook is attached after the tracker ran, so no "
    "pageview is ever sent.",
    {"page.tracker-no-pageview"},
)
def _tracker_no_pageview(session: Session) -> None:
    page = session.open(session.visitor(), ARTICLE, referrer=SEARCH)
    page.configure(autotrack=False)
    page.load_tracker()
    page.load_script("https://www.example.com/static/segments.js")
    for number in range(1, 6):
        page.wait(1500)
        page.load_asset(f"/images/lazy-{number}.jpg")


@scenario(
    "pageview-without-tracker",
    "A correct page whose tracker script came from the browser cache.",
    {"page.pageview-without-tracker"},
)
def _pageview_without_tracker(session: Session) -> None:
    page = session.open(session.visitor(), ARTICLE, referrer=SEARCH)
    page.configure(autotrack=False, on_ready=segment_hook({"plan": "basic"}))
    page.load_tracker(cached=True)
    page.engage(15)


@scenario(
    "per-call-data",
    "The hook passes the data to trackPageView({data}) instead of updateDefaults: "
    "heartbeats go out without it.",
    {"page.heartbeat-data-differs"},
)
def _per_call_data(session: Session) -> None:
    page = session.open(session.visitor(), ARTICLE, referrer=SEARCH)
    page.configure(
        autotrack=False,
        on_ready=lambda p: p.track_page_view({"data": {"plan": "premium"}}),
    )
    page.load_tracker()
    page.engage(15)
    page.engage(20)


@scenario(
    "engaged-time-restarted",
    "Engaged time is restarted without a new pageview: tt drops within one pvid.",
    {"page.tt-decreased"},
)
def _engaged_time_restarted(session: Session) -> None:
    page = _correct_page(session, session.visitor(), ARTICLE, {"plan": "basic"})
    page.engage(20)
    page.engage(20)
    page.parsely.restart_engaged_time()
    page.engage(10)


@scenario(
    "case-variants",
    'One reader\'s plan comes out as "Premium" on one template and "premium" on '
    "another.",
    {"visitor.case-variants"},
)
def _case_variants(session: Session) -> None:
    reader = session.visitor(returning=True)
    page = _correct_page(session, reader, ARTICLE, {"plan": "Premium"})
    page.engage(15)
    session.wait(2000)
    page = _correct_page(
        session, reader, SECOND_ARTICLE, {"plan": "premium"}, referrer=ARTICLE
    )
    page.engage(15)


@scenario(
    "null-convention-mixed",
    "One template sends plan: null for an unknown plan, another leaves plan out.",
    {"visitor.null-convention-mixed"},
)
def _null_convention_mixed(session: Session) -> None:
    reader = session.visitor()
    _correct_page(session, reader, ARTICLE, {"plan": None}).engage(15)
    session.wait(2000)
    _correct_page(session, reader, SECOND_ARTICLE, {}, referrer=ARTICLE).engage(15)


@scenario(
    "segment-changed-spa",
    "In a single-page app the reader upgrades; the next virtual pageview carries "
    "the new plan.",
    {"page.segment-changed"},
)
def _segment_changed_spa(session: Session) -> None:
    page = session.open(session.visitor(), ARTICLE, referrer=SEARCH)
    page.configure(autotrack=False, on_ready=segment_hook({"plan": "basic"}))
    page.load_tracker(spa_module=True)
    page.engage(20)
    page.fetch("/api/subscribe")
    page.parsely.update_defaults({"data": {"plan": "premium"}})
    page.push_state(SECOND_ARTICLE)
    page.engage(20)


@scenario("amp", "An AMP page: pageview and heartbeat without data, by design.")
def _amp(session: Session) -> None:
    amp = AmpPage(
        session,
        "https://www-example-com.cdn.ampproject.org/c/s/www.example.com/story/amp/",
        canonical="https://www.example.com/story/",
        title="Example AMP Story",
    )
    amp.pageview()
    amp.engage(10)
    amp.engage(10)


@scenario(
    "android-heartbeat-before-pageview",
    "An Android app starts engagement tracking before tracking the screen.",
    {"page.heartbeat-without-pageview"},
)
def _android_heartbeat_before_pageview(session: Session) -> None:
    app = AndroidApp(session)
    app.engage("https://www.example.com/article/7", 30)


@scenario(
    "capture-mid-page",
    "The capture starts while a page is open: a heartbeat whose pageview was sent "
    "before recording began.",
)
def _capture_mid_page(session: Session) -> None:
    page = _correct_page(session, session.visitor(), ARTICLE, {"test": "true"})
    page.engage(5)
    session.keep_only(page.parsely.sent[-1:])


@scenario(
    "readers-by-plan",
    "Three readers, correct order: anonymous (no plan), basic and premium.",
)
def _readers_by_plan(session: Session) -> None:
    for data in ({}, {"plan": "basic"}, {"plan": "premium"}):
        page = _correct_page(session, session.visitor(), ARTICLE, data)
        page.engage(15)
        session.wait(5000)


# --------------------------------------------------------------------------------------
# Command line


def _absolute(base: str, path_or_url: str) -> str:
    if "://" in path_or_url:
        return path_or_url
    return _origin(base) + path_or_url


def _title_for(url: str) -> str:
    slug = split_url(url).path.rstrip("/").rsplit("/", 1)[-1] or "home"
    return slug.replace("-", " ").capitalize() + " | Example News"


def main(argv: list[str] | None = None) -> int:
    """`python -m inspector.traffic [NAME OUT]`: list scenarios or write one."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        for name, chosen in sorted(SCENARIOS.items()):
            codes = ", ".join(sorted(chosen.expected)) or "no diagnosis"
            print(f"{name:36} {codes}\n    {chosen.description}")
        return 0 if not args else 2

    from inspector.recordings import write_har, write_mitm

    name, out = args
    requests = generate(name)
    writer = write_mitm if out.endswith(".mitm") else write_har
    count = writer(requests, out)
    print(f"wrote {count} requests of {name} to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
