"""What the requests around a pixel are, and which page they came from.

A page load's timeline holds the document request, Google Tag Manager's `gtm.js`, the
Parse.ly tracker script and other tag scripts next to the pixel events, each with its
time. This module classifies a non-pixel request into one of those kinds and holds the
URL helpers used to match a request to its page through the `Referer` header.

Browsers send the full page URL as `Referer` only to the page's own origin by default
(`strict-origin-when-cross-origin`); third-party scripts such as the tracker see only
the origin. A match made from an origin alone is therefore marked uncertain.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlunsplit

from inspector.clock import finite_number
from inspector.model import CapturedRequest, PixelEvent
from inspector.urls import split_url, url_host, url_path


class EntryKind(enum.StrEnum):
    """What a timeline entry is."""

    DOCUMENT = "document"
    """The page's HTML, requested by a navigation."""
    GTM = "gtm"
    """Google Tag Manager's container script, `gtm.js?id=GTM-...`."""
    TRACKER_SCRIPT = "tracker-script"
    """The Parse.ly tracker, `cdn.parsely.com/keys/<site>/p.js` or an older loader."""
    OTHER_TAG = "other-tag"
    """Any other script."""
    PIXEL = "pixel"
    """A Parse.ly event."""
    OTHER = "other"
    """Images, styles, API calls, frames: context only."""


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One request in a page load's timeline."""

    time: float
    """Seconds since the epoch."""
    offset_ms: int
    """Milliseconds since the page load's first request."""
    kind: EntryKind
    url: str
    request_id: str = ""
    event: PixelEvent | None = None
    """The pixel event, for `pixel` entries."""
    uncertain: bool = False
    """True when the request was matched to this page by timing only (for example
    when its `Referer` held just the site's origin)."""


# Hosts that served the Parse.ly tracker over the years: the keyed, config-free
# script since 2019, and the older bootstrap loader.
_TRACKER_HOSTS = frozenset(
    {"cdn.parsely.com", "static.parsely.com", "d1z2jf7jlzjs58.cloudfront.net"}
)
_KEYED_TRACKER_PATH = re.compile(r"^/keys/(?P<site>[^/]+)/p\.js$")
_SCRIPT_TYPES = ("javascript", "ecmascript")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_FRAME_DESTINATIONS = frozenset({"iframe", "frame", "embed", "object"})
_URL_CACHE_SIZE = 8192
"""Addresses whose comparison key and origin are remembered: page loads, their
rules and their requests compare the same few addresses over and over."""


def classify_request(request: CapturedRequest) -> EntryKind:
    """The kind of a non-pixel request, from its URL, headers and response type."""
    host, path = _host_and_path(request.url)

    if is_tracker_script(request):
        return EntryKind.TRACKER_SCRIPT

    # Server-side tag manager containers keep the path on a custom domain.
    if path.endswith("/gtm.js"):
        return EntryKind.GTM

    if is_document(request):
        return EntryKind.DOCUMENT

    destination = (request.header("Sec-Fetch-Dest") or "").lower()
    content_type = (request.content_type or "").lower()
    if (
        destination == "script"
        or any(kind in content_type for kind in _SCRIPT_TYPES)
        or (path.endswith(".js") and destination in ("", "script"))
        or host.endswith("googletagmanager.com")
    ):
        return EntryKind.OTHER_TAG

    return EntryKind.OTHER


def is_tracker_script(request: CapturedRequest) -> bool:
    """True for a request that loads the Parse.ly tracker."""
    host, path = _host_and_path(request.url)
    if _KEYED_TRACKER_PATH.match(path):
        return True
    return host in _TRACKER_HOSTS and path.endswith("/p.js")


def tracker_site(request: CapturedRequest) -> str | None:
    """The Site ID in a keyed tracker URL (`/keys/<site>/p.js`), if there is one."""
    match = _KEYED_TRACKER_PATH.match(_host_and_path(request.url)[1])
    return match.group("site") if match else None


def _host_and_path(url: str) -> tuple[str, str]:
    """A URL's lower-case host and its path; empty strings for a malformed URL."""
    return url_host(url), url_path(url)


def is_document(request: CapturedRequest) -> bool:
    """True for a top-level navigation: the page's own HTML.

    Fetch metadata decides when the browser sent it. Without it, an `Accept` header
    that asks for HTML marks a navigation (scripts' `fetch()` asks for `*/*`), and a
    recording without request headers falls back on the response's content type.
    """
    if request.method.upper() != "GET":
        return False

    destination = (request.header("Sec-Fetch-Dest") or "").lower()
    if destination:
        return destination == "document"

    accept = (request.header("Accept") or "").lower()
    if accept:
        return "text/html" in accept

    content_type = (request.content_type or "").lower()
    return content_type.startswith(_HTML_TYPES)


def is_frame(request: CapturedRequest) -> bool:
    """True for an embedded document (an ad or widget frame), which is no page load."""
    destination = (request.header("Sec-Fetch-Dest") or "").lower()
    return destination in _FRAME_DESTINATIONS


@lru_cache(maxsize=_URL_CACHE_SIZE)
def page_url_key(url: str | None) -> str:
    """The form in which page URLs are compared: no fragment, lower-case host."""
    if not url:
        return ""
    parts = split_url(url.strip())
    netloc = parts.netloc.lower()
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), netloc, path, parts.query, ""))


@lru_cache(maxsize=_URL_CACHE_SIZE)
def origin_of(url: str | None) -> str:
    """`scheme://host[:port]` of a URL, or an empty string."""
    if not url:
        return ""
    parts = split_url(url.strip())
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def is_origin_only(url: str | None) -> bool:
    """True when a URL names only an origin, as cross-origin `Referer` headers do."""
    if not url:
        return False
    parts = split_url(url.strip())
    return bool(parts.netloc) and parts.path in ("", "/") and not parts.query


def event_time(event: PixelEvent) -> float:
    """When an event happened, in seconds since the epoch.

    The capture time when there is one; otherwise the tracker's own clock (`rand` is
    the event time in milliseconds on the web and on AMP, mobile SDKs put it in
    `data.ts`), so that pasted requests without capture times still order and space
    correctly. Zero when nothing says.
    """
    if event.request.timestamp > 0:
        return event.request.timestamp

    rand = _as_epoch_ms(event.params.get("rand"))
    if rand is not None:
        return rand / 1000

    if event.data:
        sent_at = _as_epoch_ms(event.data.get("ts"))
        if sent_at is not None:
            return sent_at / 1000
    return 0.0


def _as_epoch_ms(value: object) -> float | None:
    """A plausible epoch-milliseconds number (after 2001), or None."""
    number = finite_number(value)
    return number if number is not None and number > 1e12 else None
