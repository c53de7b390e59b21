"""Turn captured HTTP requests into Parse.ly pixel events.

`PixelMatcher` says cheaply whether a request goes to a Parse.ly collect endpoint (it
runs for every request the proxy sees). `decode_request` turns a matching request into
`PixelEvent`s: one for a web or AMP GET pixel, one per entry for a mobile batch. While
decoding it notes wire-format faults as `Finding`s on the event: unreadable `data`,
segment keys outside `data`, cut-off URLs, missing parameters and so on.

Decoding never raises. A request the decoder cannot make sense of still becomes an
event, carrying a finding that says what went wrong.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from inspector.model import (
    CapturedRequest,
    DataState,
    Finding,
    PixelEvent,
    Severity,
    Transport,
)
from inspector.urls import split_url, url_problem
from inspector.wire import (
    JsonReading,
    ParsedQuery,
    classify_json_value,
    compact_json,
    decode_body_text,
    describe_json_error,
    duplicate_keys,
    json_type_name,
    load_json,
    query_of,
    read_json_object,
    split_query,
)

logger = logging.getLogger(__name__)

__all__ = [
    "KNOWN_PARAMS",
    "MOBILE_SDK_DATA_KEYS",
    "STANDARD_ACTIONS",
    "TRACKER_DATA_KEYS",
    "WEB_TRACKER_DATA_KEYS",
    "PixelMatcher",
    "decode_request",
]


# --- What the wire format defines ------------------------------------------------

KNOWN_PARAMS: frozenset[str] = frozenset(
    {
        # request and identity
        "rand",
        "idsite",
        "u",
        "ampid",
        # page context
        "url",
        "urlref",
        "screen",
        "title",
        "date",
        # event data
        "action",
        "data",
        "metadata",
        "inc",
        "tt",
        # session and correlation
        "plid",
        "pvid",
        "vsid",
        "sid",
        "surl",
        "sref",
        "sts",
        "slts",
        # optional and special-case
        "sl_xp",
        "sl_x",
        "sl_y",
        "sl_h",
        "tpab",
        "js",
        "callback",
        "ip_address",
    }
)
"""Every documented top-level parameter of a pixel (web, AMP and mobile entries)."""

WEB_TRACKER_DATA_KEYS: frozenset[str] = frozenset(
    {
        "parsely_uuid",
        "parsely_site_uuid",
        "_conversion_type",
        "_conversion_label",
        "flashlight",
        "parsely:metadata-detection",
    }
)
"""Keys the JavaScript tracker (or a server-side sender) writes into `data` itself."""

MOBILE_SDK_DATA_KEYS: frozenset[str] = frozenset(
    {"ts", "os", "os_version", "manufacturer", "appname"}
)
"""Device keys the iOS and Android SDKs add to `data`."""

TRACKER_DATA_KEYS: frozenset[str] = WEB_TRACKER_DATA_KEYS | MOBILE_SDK_DATA_KEYS
"""Every `data` key that is not a custom segment (mobile keys only on mobile events)."""

STANDARD_ACTIONS: frozenset[str] = frozenset(
    {"pageview", "heartbeat", "videostart", "vheartbeat", "conversion"}
)
HEARTBEAT_ACTIONS: frozenset[str] = frozenset({"heartbeat", "vheartbeat"})

CONVERSION_TYPES: frozenset[str] = frozenset(
    {
        "lead_capture",
        "link_click",
        "newsletter_signup",
        "subscription",
        "purchase",
        "custom",
    }
)
"""The `_conversion_type` values the tracker's PARSELY.conversions functions send."""

_ADDRESS_PARAMS = ("url", "urlref", "surl", "sref")
_PAGE_ADDRESS_PARAMS = frozenset({"url", "surl"})
_WEB_REQUIRED = ("rand", "idsite", "url")
_WEB_SESSION_IDS = ("u", "plid", "sid", "sts", "slts")
_MODERN_ONLY_PARAMS = ("u", "plid", "pvid", "sid", "sts", "slts", "surl", "sref")
_AMP_REQUIRED = ("rand", "idsite", "url")
_MOBILE_REQUIRED = ("idsite", "url")
_MOBILE_KNOWN_FIELDS = KNOWN_PARAMS | MOBILE_SDK_DATA_KEYS | {"parsely_site_uuid"}
_LEGACY_VISITOR_KEYS = ("parsely_uuid", "parsely_site_uuid")

URL_LIMIT_BYTES = 8192
"""Longer pixel URLs are refused or cut by many servers, proxies and CDNs."""
_TRUNCATION_LENGTHS = frozenset({8190, 8192})
_MAX_INC_SECONDS = 3600

_WEB_PATHS = frozenset({"/plogger", "/px", "/event", "/eventx"})
_MOBILE_PATH = "/mobileproxy"
_PARSELY_HOST = re.compile(
    r"(?:p1[a-z0-9-]*\.parsely\.com"
    r"|srv[a-z0-9-]*\.pixel\.parsely\.com"
    r"|pixel\.parsely\.com)\Z"
)
_AMP_HOST = "srv.pixel.parsely.com"
_URL_PARAMS = frozenset({"url", "urlref", "surl", "sref", "sl_h"})
_BRACKETED_KEY = re.compile(r"([^\[\]]+)(?:\[[^\]]*\])+\Z")
_SWALLOWED_DATA = re.compile(r"(?:^|[&?;])data=\s*[{\[\"]", re.IGNORECASE)
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_WHOLE_NUMBER = re.compile(r"[0-9]+\Z")
_ENDPOINT_CACHE_LIMIT = 4096
_MAX_REMEMBERED_DATA_TEXTS = 4_096
_MAX_REMEMBERED_DATA_CHARS = 2_048
_DATA_READINGS: dict[str, tuple[JsonReading, tuple[str, ...]]] = {}
"""`_data_reading`'s memory: at most 4,096 texts of up to 2,048 characters."""


# --- Finding texts -----------------------------------------------------------------

_SEVERITY: dict[str, Severity] = {
    "data.not-json": Severity.ERROR,
    "data.double-encoded": Severity.ERROR,
    "data.double-percent-encoded": Severity.ERROR,
    "data.not-object": Severity.ERROR,
    "data.swallowed": Severity.ERROR,
    "data.duplicate-key": Severity.WARNING,
    "data.absent": Severity.WARNING,
    "params.bracket-encoded": Severity.WARNING,
    "params.list-or-object": Severity.WARNING,
    "params.top-level-segment": Severity.WARNING,
    "params.missing": Severity.ERROR,
    "params.legacy-ids": Severity.INFO,
    "params.js-flag": Severity.INFO,
    "params.invalid-utf8": Severity.WARNING,
    "params.invalid-url": Severity.WARNING,
    "params.repeated": Severity.WARNING,
    "url.oversized": Severity.WARNING,
    "url.truncated": Severity.ERROR,
    "action.missing": Severity.ERROR,
    "action.custom": Severity.INFO,
    "heartbeat.inc-out-of-range": Severity.ERROR,
    "heartbeat.tt-invalid": Severity.ERROR,
    "conversion.type-missing": Severity.WARNING,
    "conversion.unknown-type": Severity.WARNING,
    "session.sts-zero": Severity.WARNING,
    "body.not-json": Severity.ERROR,
    "batch.malformed": Severity.ERROR,
    "decode.failed": Severity.ERROR,
    "request.failed": Severity.WARNING,
}

_EXPLANATION: dict[str, str] = {
    "data.not-json": (
        "Parse.ly reads custom segments from `data` as a JSON object; when the text "
        "cannot be parsed every segment in it is lost. Pass a plain object to "
        "PARSELY.updateDefaults({data: {...}}) and let the tracker serialise it, "
        "rather than building the string by hand or leaving a template placeholder."
    ),
    "data.double-encoded": (
        "The tracker JSON-encodes `data` itself. Handing it a string that is already "
        "JSON (the result of JSON.stringify) sends a string inside a string, which "
        "Parse.ly does not unpack, and it also wipes the default data. Pass the "
        "object, not its string form."
    ),
    "data.double-percent-encoded": (
        "The query is percent-decoded once, so this `data` reaches Parse.ly as "
        "`%7B%22...` rather than JSON, and every segment in it is lost. It comes "
        "from encoding the JSON (encodeURIComponent, or a tag template's URL "
        "encoding) before handing it to code that encodes it again. Pass the "
        "object to PARSELY.updateDefaults({data: {...}}) and let the tracker "
        "encode it once."
    ),
    "params.repeated": (
        "A parameter given twice leaves it to the collector which value it keeps, "
        "and that choice is not documented: the segment data or the site may be "
        "read from the copy you did not mean. It usually comes from adding a "
        "parameter to a URL that already had it (a tag template and the tracker "
        "both setting it); send each parameter once."
    ),
    "data.duplicate-key": (
        "A JSON object with the same key twice is read like JSON.parse reads it: "
        "the last value wins and the others are lost. The tracker's own "
        "serialisation never repeats a key, so the text was built by hand (often "
        "string concatenation in a tag manager); pass an object to "
        "PARSELY.updateDefaults instead."
    ),
    "data.not-object": (
        "Segments are the keys of a JSON object; a list, number or bare string has "
        'no keys. Send an object such as {"plan": "basic"}.'
    ),
    "data.swallowed": (
        "The `=` after `data` was percent-encoded (%3D), and often the `&` before it "
        "too (%26), so the text `data=...` became part of another parameter's value "
        "or a parameter name of its own. Parse.ly sees no `data` parameter, so the "
        "segments are lost. Encode the query once (leave it to the tracker)."
    ),
    "data.absent": (
        "The JavaScript tracker and the mobile SDKs always send `data` ({} when it "
        "is empty), so its absence means the request was built by hand, cut short "
        "or changed on the way. No custom segments reach Parse.ly from this event."
    ),
    "params.bracket-encoded": (
        "An object or list was passed as a top-level field (to updateDefaults or "
        "trackPageView), so it was serialised as `name[key]=` parameters. Parse.ly "
        "does not read these as segment data; move the keys inside `data`."
    ),
    "params.list-or-object": (
        "Each pixel parameter, such as `idsite` or `url`, takes one value. One sent "
        "as a list or object (`idsite[]=` parameters from the page, a JSON list in "
        "an SDK batch) gives Parse.ly no value for it; an event without a site id "
        "or URL cannot be counted. Send the one value as text."
    ),
    "params.top-level-segment": (
        "Segment keys must sit inside `data`: PARSELY.updateDefaults({data: {plan: "
        "'basic'}}). Calling updateDefaults({plan: 'basic'}) without the `data` "
        "wrapper sends the key as its own query parameter, which Parse.ly does not "
        "treat as segment data."
    ),
    "params.missing": (
        "The sender always includes these parameters; without them Parse.ly may "
        "drop the event or be unable to tie it to a visitor, session or page load."
    ),
    "params.legacy-ids": (
        "Trackers from before about 2019 did not send the modern ids (u, plid, "
        "session fields) and put the visitor id in data.parsely_site_uuid. Expected "
        "in old recordings; a live site sending this shape runs an outdated tracker."
    ),
    "params.js-flag": (
        "js=1 is passed through trackPageView by dynamic (SPA, infinite scroll) "
        "tracking code. It is harmless; its meaning on the server is not documented."
    ),
    "params.invalid-url": (
        "The page address (url), its referrer (urlref) and the session's first page "
        "and referrer (surl, sref) are where Parse.ly finds the page, the referrer "
        "category and the campaign. A page address must be an http or https URL "
        "with a host; a referrer is empty for direct traffic or an absolute URL. An "
        "address that is relative, has no scheme, or cannot be taken apart (an "
        "unclosed IPv6 bracket, a port that is no number, a host that changes under "
        "Unicode normalisation) may be dropped or counted as another page. Send the "
        "address as the browser has it (location.href, document.referrer)."
    ),
    "params.invalid-utf8": (
        "Parameters are percent-encoded UTF-8, and JSON escapes must make whole "
        "characters. Bytes that are not valid UTF-8, and halves of a UTF-16 "
        "surrogate pair (left when JavaScript cuts a string inside an emoji), were "
        "shown as U+FFFD; the value Parse.ly stores may not be what the page meant. "
        "Check the page's character encoding and how the value was escaped or cut."
    ),
    "url.oversized": (
        "Many servers, proxies and CDNs refuse or cut URLs longer than 8 KB, which "
        "loses the event or the end of its data. Keep segment values short and "
        "few; lists of interests or ids do not belong in segments."
    ),
    "url.truncated": (
        "The request was cut before the sender finished it, usually by a URL length "
        "limit. Everything after the cut (often action, pvid and u) is lost and "
        "`data` may be unreadable. Shrink what goes into the pixel."
    ),
    "action.missing": (
        "Without `action` Parse.ly cannot tell a pageview from a heartbeat or a "
        "conversion, so the event is not counted."
    ),
    "action.custom": (
        "Actions other than pageview, heartbeat, videostart, vheartbeat and "
        "conversion are custom events sent with trackPageView({action: ...}). They "
        "are not counted as pageviews; check that this is what was intended."
    ),
    "heartbeat.inc-out-of-range": (
        "`inc` is the number of engaged seconds since the previous heartbeat; the "
        "tracker only sends whole numbers from 1 to 3600. Other values are dropped "
        "or distort engaged time."
    ),
    "heartbeat.tt-invalid": (
        "`tt` is the total engaged time on the page (milliseconds on web and mobile, "
        "seconds on AMP), a whole number that is never negative."
    ),
    "conversion.type-missing": (
        "A conversion says what kind it was in data._conversion_type; the "
        "tracker's PARSELY.conversions functions always set it. Without it "
        "Parse.ly cannot file the conversion under a type. Send conversions "
        "through those functions rather than a hand-made trackPageView."
    ),
    "conversion.unknown-type": (
        "Parse.ly files conversions under the types the tracker's "
        "PARSELY.conversions functions send: lead_capture, link_click, "
        "newsletter_signup, subscription, purchase and custom. Any other value "
        "was written by hand; use trackCustom for a kind of your own."
    ),
    "session.sts-zero": (
        "`sts` is the session start in epoch milliseconds; 0 means the sender could "
        "not read it (an iOS SDK bug of 2021 did this). Session metrics for the "
        "visitor will be wrong. `slts=0` on a first session is normal."
    ),
    "body.not-json": (
        'The mobile SDKs POST a JSON object {"events": [...]}. A body that cannot be '
        "read loses every event of the batch."
    ),
    "batch.malformed": (
        'A mobile batch must be an object whose "events" list holds one object per '
        "event. Entries of another shape cannot be recorded by Parse.ly."
    ),
    "decode.failed": (
        "The inspector could not decode this request. This is a fault in the "
        "inspector, not necessarily in the pixel; please report it with the request."
    ),
    "request.failed": (
        "The browser or proxy recorded that this request got no answer, so what it "
        "carried is not in Parse.ly. ERR_BLOCKED_BY_CLIENT means an extension, "
        "usually an ad or tracking blocker, stopped it: a classic reason why "
        "segments look missing. Test with blockers off, and expect some readers "
        "to block the pixel."
    ),
}

# Browser error codes (Chromium's `net::ERR_*`) worth saying in words.
_FAILURE_REASONS: dict[str, str] = {
    "ERR_BLOCKED_BY_CLIENT": "blocked by the browser",
    "ERR_BLOCKED_BY_ADMINISTRATOR": "blocked by the browser's policy",
    "ERR_NAME_NOT_RESOLVED": "the pixel host name could not be resolved",
    "ERR_INTERNET_DISCONNECTED": "the browser was offline",
}


def _finding(
    code: str,
    message: str,
    event_id: str,
    path: str | None = None,
    severity: Severity | None = None,
) -> Finding:
    return Finding(
        code=code,
        severity=severity or _SEVERITY[code],
        message=message,
        path=path,
        explanation=_EXPLANATION[code],
        event_id=event_id,
    )


# --- Matching ------------------------------------------------------------------------


def _normalise_host_pattern(pattern: str) -> str:
    """`https://FPA.example.com:443/x` -> `fpa.example.com`."""
    pattern = pattern.strip().lower()
    if "://" in pattern:
        pattern = pattern.split("://", 1)[1]
    pattern = pattern.split("/", 1)[0]
    if pattern.count(":") == 1:
        pattern = pattern.split(":", 1)[0]
    return pattern


def _glob_to_regex(pattern: str) -> str:
    return ".*".join(re.escape(part) for part in pattern.split("*"))


class PixelMatcher:
    """Decides whether a request goes to a Parse.ly collect endpoint.

    Parse.ly's own hosts are always matched (`p1*.parsely.com`,
    `srv*.pixel.parsely.com`, `pixel.parsely.com`); first-party hosts can be added
    exactly (`fpa-events.example.com`) or as globs (`*.example.com`,
    `fpa-events.*`). Only the collect paths count: `/plogger/`, `/px/`, `/event/`,
    `/eventx/` and `/mobileproxy`, with or without the trailing slash.
    """

    def __init__(self, first_party_hosts: Iterable[str] = ()):
        exact_hosts: set[str] = set()
        globs: list[str] = []
        for entry in first_party_hosts:
            host = _normalise_host_pattern(entry)
            if not host:
                continue
            if "*" in host:
                globs.append(_glob_to_regex(host))
            else:
                exact_hosts.add(host)

        self.first_party_hosts: frozenset[str] = frozenset(exact_hosts)
        self._first_party_glob = (
            re.compile("(?:" + "|".join(globs) + r")\Z") if globs else None
        )
        self._endpoint_cache: dict[str, str | None] = {}

    def is_pixel_host(self, host: str) -> bool:
        """True for a Parse.ly collect host or a configured first-party one."""
        host = host.lower().rstrip(".")
        return bool(
            _PARSELY_HOST.match(host)
            or host in self.first_party_hosts
            or (self._first_party_glob and self._first_party_glob.match(host))
        )

    def endpoint(self, request: CapturedRequest) -> str | None:
        """`"web"` or `"mobile"` for a pixel request, else None."""
        url = request.url
        # A cheap test that nearly every other request fails: collect paths.
        if not (
            "/plogger" in url
            or "/px" in url
            or "/event" in url
            or "/mobileproxy" in url
        ):
            return None

        # Pixels share a handful of scheme/host/path prefixes: remember them.
        prefix = url.partition("?")[0].partition("#")[0]
        try:
            return self._endpoint_cache[prefix]
        except KeyError:
            pass

        kind = self._classify(prefix)
        if len(self._endpoint_cache) >= _ENDPOINT_CACHE_LIMIT:
            self._endpoint_cache.clear()
        self._endpoint_cache[prefix] = kind
        return kind

    def _classify(self, url: str) -> str | None:
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
        except ValueError:
            return None

        path = parts.path.rstrip("/").lower()
        if path == _MOBILE_PATH:
            kind = "mobile"
        elif path in _WEB_PATHS:
            kind = "web"
        else:
            return None

        return kind if self.is_pixel_host(host) else None

    def matches(self, request: CapturedRequest) -> bool:
        """True when the request goes to a pixel host and collect path."""
        return self.endpoint(request) is not None


_DEFAULT_MATCHER = PixelMatcher()


# --- Decoding ----------------------------------------------------------------------


def decode_request(
    request: CapturedRequest,
    matcher: PixelMatcher | None = None,
    *,
    endpoint: str | None = None,
) -> list[PixelEvent]:
    """Decode one request into the pixel events it carries.

    Returns an empty list for requests that are not pixel events (other hosts, the
    tracker's blocker probe `/plogger/` without a query, CORS preflights). Never
    raises: an unexpected error becomes one event with a `decode.failed` finding.
    `endpoint` is `matcher.endpoint(request)` when the caller has asked already.
    """
    try:
        if endpoint is None:
            endpoint = (matcher or _DEFAULT_MATCHER).endpoint(request)
        if endpoint is None or request.method.upper() in ("OPTIONS", "HEAD"):
            return []

        if endpoint == "mobile":
            events = _decode_mobile(request)
        else:
            events = _decode_web(request)
        if request.error is not None:
            events = [_with_request_failure(event, request.error) for event in events]
        return events
    except Exception as error:  # noqa: BLE001 - the decoder must never raise
        from inspector.report import escape_controls

        logger.exception(
            "could not decode %s %s",
            escape_controls(request.method),
            escape_controls(request.url[:200]),
        )
        return [_failed_event(request, error)]


# Failures after which the pixel may still have been sent on, and why: the page or
# the browser gave up waiting for the answer, not the request itself.
_MAYBE_SENT: dict[str, str] = {
    # Cancelled by the page, often because it was left.
    "ERR_ABORTED": "the browser cancelled it",
    # mitmproxy's word for a browser that left (a page closed, the browser quit).
    "Client disconnected.": "the browser went away before the answer came",
}


def _failure_code(error: str) -> str:
    return error.strip().removeprefix("net::")


def never_arrived(request: CapturedRequest) -> bool:
    """True when the request failed in a way that kept it from Parse.ly (blocked,
    refused, unresolvable), as opposed to a wait cut short or no failure at all."""
    return bool(request.error) and _failure_code(request.error) not in _MAYBE_SENT


def _with_request_failure(event: PixelEvent, error: str) -> PixelEvent:
    """The event with a `request.failed` finding: the request never got an answer."""
    code = _failure_code(error)
    if code in _MAYBE_SENT:
        message = f"This pixel may not have reached Parse.ly: {_MAYBE_SENT[code]}"
    else:
        reason = _FAILURE_REASONS.get(code, "the request failed")
        message = f"This pixel never reached Parse.ly: {reason}"
    finding = _finding("request.failed", f"{message} ({code.rstrip('.')}).", event.id)
    return _with_findings(event, (*event.findings, finding))


def _failed_event(request: CapturedRequest, error: BaseException) -> PixelEvent:
    finding = _finding(
        "decode.failed",
        f"The inspector failed to decode this request ({type(error).__name__}: "
        f"{error}).",
        request.request_id,
    )
    return unjudged_event(request, finding)


def unjudged_event(request: CapturedRequest, finding: Finding) -> PixelEvent:
    """An event that stands for a request the inspector could not take apart: no
    parameters, no data, only the one finding that says why."""
    return PixelEvent(
        id=request.request_id,
        request=request,
        transport=Transport.MOBILE if request.method == "POST" else Transport.WEB,
        action=None,
        params={},
        data_state=DataState.ABSENT,
        data=None,
        data_raw=None,
        segments={},
        findings=(finding,),
    )


class _EventDraft:
    """The pieces of an event while its findings are being collected."""

    __slots__ = (
        "event_id",
        "transport",
        "params",
        "data_raw",
        "reading",
        "metadata",
        "metadata_raw",
        "findings",
        "truncation",
        "not_one_value",
    )

    def __init__(self, event_id: str, transport: Transport, params: dict[str, str]):
        self.event_id = event_id
        self.transport = transport
        self.params = params
        self.data_raw: str | None = None
        self.reading: JsonReading | None = None
        self.metadata: Any = None
        self.metadata_raw: str | None = None
        self.findings: list[Finding] = []
        self.truncation: list[str] = []
        """Reasons to think the request was cut short."""
        self.not_one_value: set[str] = set()
        """Parameters sent as a list or object: reported as such, not as missing."""

    def add(
        self,
        code: str,
        message: str,
        path: str | None = None,
        severity: Severity | None = None,
    ) -> None:
        self.findings.append(_finding(code, message, self.event_id, path, severity))


# --- Web and AMP: GET with a query string -------------------------------------------


def _decode_web(request: CapturedRequest) -> list[PixelEvent]:
    url = request.url
    query = query_of(url)
    if not query:
        if not request.body:
            # The tracker's blocker probe: a bare `/plogger/` image request.
            return []
        logger.debug("pixel %s carries a body but no query", request.request_id)

    parsed = split_query(query)
    pairs = parsed.pairs
    params = dict(pairs)
    transport = _web_transport(request, params)
    draft = _EventDraft(request.request_id, transport, params)

    # Parameters and the URL as a whole.
    _check_encoding(draft, parsed)
    _check_url_shape(draft, url, query, parsed)
    _check_stray_params(draft, query, parsed)
    if len(params) < len(pairs):
        # A bare last piece is a key cut short (`&url` of `&urlref=`), no repeat.
        _report_repeated_params(draft, pairs[:-1] if parsed.last_is_bare else pairs)

    # The `data` and `metadata` JSON.
    if "data" in params:
        _read_data_text(draft, params["data"], data_is_last=pairs[-1][0] == "data")
    if "metadata" in params:
        draft.metadata_raw = params["metadata"]
        draft.metadata = _read_metadata_text(draft, params["metadata"])

    # What the event kind requires.
    _check_required(draft)
    _check_event_values(draft)
    _report_truncation(draft)
    _report_data_absence(draft)

    if not query and request.body:
        draft.add(
            "params.missing",
            f"This {request.method} carries its parameters in the body; pixels send "
            "them in the query string, so none were read.",
            path="url",
        )
    return [_build_event(request, draft)]


def _report_repeated_params(draft: _EventDraft, pairs: list[tuple[str, str]]) -> None:
    counts: dict[str, int] = {}
    for key, _value in pairs:
        counts[key] = counts.get(key, 0) + 1
    for key, count in counts.items():
        # `name[]=` once per item is how a list is sent: reported as bracketed.
        if count > 1 and not (key.endswith("[]") and _BRACKETED_KEY.match(key)):
            draft.add(
                "params.repeated",
                f"{_short(key)} is sent {count} times in one pixel; only one value "
                "can count (shown here: the last)",
                path=key,
            )


def _web_transport(request: CapturedRequest, params: dict[str, str]) -> Transport:
    """AMP when `ampid` (or AMP's `amp` flag) is sent; else, on AMP's host, when
    none of the JavaScript tracker's ids are there either."""
    if "ampid" in params or "amp" in params:
        return Transport.AMP

    if (
        "u" not in params
        and "plid" not in params
        and "sid" not in params
        and "sts" not in params
        and request.host == _AMP_HOST
    ):
        data_text = params.get("data", "")
        if not any(key in data_text for key in _LEGACY_VISITOR_KEYS):
            return Transport.AMP
    return Transport.WEB


def _check_encoding(draft: _EventDraft, parsed: ParsedQuery) -> None:
    for key in parsed.invalid_utf8:
        draft.add(
            "params.invalid-utf8",
            f"Parameter '{_short(key)}' holds percent-escaped bytes that are not "
            "UTF-8; they are shown as �.",
            path=key,
        )


def _check_url_shape(
    draft: _EventDraft, url: str, query: str, parsed: ParsedQuery
) -> None:
    # Only URLs of more than 2048 characters can exceed 8192 bytes.
    size = len(url) if len(url) <= 2048 else len(url.encode("utf-8", "surrogatepass"))
    if size > URL_LIMIT_BYTES:
        draft.add(
            "url.oversized",
            f"The pixel URL is {size:,} bytes, over the {URL_LIMIT_BYTES:,}-byte "
            "limit many servers and proxies enforce.",
            path="url",
        )
    if size in _TRUNCATION_LENGTHS:
        draft.truncation.append(
            f"the URL is exactly {size:,} bytes long, a common length limit"
        )

    if _ends_in_partial_escape(query):
        draft.truncation.append("it ends in the middle of a %-escape")

    last_key = parsed.pairs[-1][0] if parsed.last_is_bare else ""
    if last_key and last_key not in KNOWN_PARAMS and not last_key.startswith("data="):
        last_key = _short(last_key)
        draft.truncation.append(f"its last parameter '{last_key}' has no value")


def _ends_in_partial_escape(query: str) -> bool:
    """`...%` or `...%E`: the text stops inside a percent escape."""
    if query.endswith("%"):
        return True
    return len(query) >= 2 and query[-2] == "%" and query[-1] in _HEX_DIGITS


def _may_hold_swallowed_data(query: str) -> bool:
    """A quick look for an encoded `data=` before checking pair by pair."""
    lowered = query.lower()
    return "data%3d" in lowered or "%26data=" in lowered or "%3fdata=" in lowered


def _check_stray_params(draft: _EventDraft, query: str, parsed: ParsedQuery) -> None:
    """Segment keys outside `data`: bracketed objects, top-level keys, and a
    `data=` swallowed into another parameter's value."""
    unknown_keys = draft.params.keys() - KNOWN_PARAMS
    if not unknown_keys and not _may_hold_swallowed_data(query):
        return  # the usual case, decided without looking at every pair

    bracketed: dict[str, list[str]] = {}
    pairs = parsed.pairs
    last_index = len(pairs) - 1
    for index, (key, value) in enumerate(pairs):
        if key == "data" or not key:
            continue
        if key.startswith("data="):
            _report_swallowed_name(draft, key, value, is_last=index == last_index)
            continue
        if index == last_index and parsed.last_is_bare:
            continue  # a bare last key is a sign of truncation, reported as such

        if "=" in value and _holds_swallowed_data(draft, key, value):
            draft.add(
                "data.swallowed",
                f"'data=' is inside the value of '{key}' (sent as %26data%3D...), so "
                f"Parse.ly receives no data parameter: {compact_json(value)}",
                path=key,
            )

        if key in KNOWN_PARAMS:
            continue

        bracket = _BRACKETED_KEY.match(key)
        if bracket:
            bracketed.setdefault(bracket.group(1), []).append(key)
            continue

        _report_unknown_param(draft, key, value)

    for base, keys in bracketed.items():
        shown = ", ".join(keys[:5]) + (", …" if len(keys) > 5 else "")
        if base in KNOWN_PARAMS and base not in draft.params:
            _report_not_one_value(draft, base, f"bracketed parameters ({shown})")
            continue
        draft.add(
            "params.bracket-encoded",
            f"'{base}' was sent as bracketed parameters ({shown}): an object passed "
            "at the top level instead of inside data.",
            path=base,
        )


def _holds_swallowed_data(draft: _EventDraft, key: str, value: str) -> bool:
    """True when a value holds `data=<JSON>` that was meant as its own parameter.

    A page URL may carry a `data=` of its own, so in URL-valued parameters it only
    counts when the pixel has no `data` parameter.
    """
    if not _SWALLOWED_DATA.search(value):
        return False
    return key not in _URL_PARAMS or "data" not in draft.params


def _report_swallowed_name(
    draft: _EventDraft, key: str, value: str, *, is_last: bool
) -> None:
    """`data%3D{...}`: the pair has no `=` of its own, so all of it is a name."""
    text = key.removeprefix("data=")
    if value:
        text += "=" + value
    reading, _ = _data_reading(text)
    if reading.value is not None:
        shown = f"recovered object: {compact_json(reading.value)}"
    else:
        shown = f"the text after it is not a JSON object either: {_short(text)}"
        if reading.cut_short and is_last:
            draft.truncation.append("the data JSON stops before it is complete")
    if "data" in draft.params:
        lost = "that Parse.ly ignores (it reads the other data parameter)"
    else:
        lost = "and Parse.ly receives no data parameter"
    draft.add(
        "data.swallowed",
        "data was sent as 'data%3D...', with its '=' percent-encoded, so the "
        f"whole of it is a parameter name {lost}; {shown}",
        path="data",
    )


def _report_unknown_param(draft: _EventDraft, key: str, value: str) -> None:
    if draft.transport is Transport.WEB:
        draft.add(
            "params.top-level-segment",
            f"'{key}={_short(value)}' is a top-level parameter, not a key inside "
            "data, so it is not segment data (updateDefaults without the data "
            "wrapper?).",
            path=key,
        )
        return

    # AMP and the SDKs have no updateDefaults: an unknown field comes from their
    # configuration, so it is only worth a note.
    draft.add(
        "params.top-level-segment",
        f"'{key}={_short(value)}' is not a documented parameter; Parse.ly does not "
        "treat it as segment data.",
        path=key,
        severity=Severity.INFO,
    )


def _short(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


# --- The data and metadata JSON -----------------------------------------------------


def _read_data_text(draft: _EventDraft, text: str, data_is_last: bool) -> None:
    draft.data_raw = text
    reading, repeated = _data_reading(text)
    draft.reading = reading
    _report_data_reading(draft, reading)
    if repeated:
        names = ", ".join(repr(key) for key in repeated)
        draft.add(
            "data.duplicate-key",
            f"data gives {names} more than once; only the last value counts",
            path="data",
        )

    if reading.cut_short and data_is_last:
        draft.truncation.append("the data JSON stops before it is complete")


def _data_reading(text: str) -> tuple[JsonReading, tuple[str, ...]]:
    """`read_json_object(text)` and the keys it repeats, remembered per text.

    A site sends the same few `data` texts again and again (every heartbeat repeats
    its pageview's), so each is read once. The object read is shared by the events
    that sent it: events are immutable, and nothing changes it.
    """
    try:
        return _DATA_READINGS[text]
    except KeyError:
        pass

    reading = read_json_object(text)
    repeated: tuple[str, ...] = ()
    if reading.state is DataState.OK and reading.value:
        repeated = tuple(duplicate_keys(text, reading.value))

    if len(text) <= _MAX_REMEMBERED_DATA_CHARS:
        if len(_DATA_READINGS) >= _MAX_REMEMBERED_DATA_TEXTS:
            _DATA_READINGS.clear()
        _DATA_READINGS[text] = (reading, repeated)
    return reading, repeated


def _read_data_value(draft: _EventDraft, value: Any) -> None:
    """`data` of a mobile entry: an object, or wrongly a string holding JSON."""
    if isinstance(value, str):
        draft.data_raw = value
    else:
        draft.data_raw = compact_json(value, limit=1 << 30)
    reading = classify_json_value(value)
    draft.reading = reading
    _report_data_reading(draft, reading)


def _report_data_reading(draft: _EventDraft, reading: JsonReading) -> None:
    if reading.repaired:
        _report_lone_surrogate(draft, "data")
    if reading.state is DataState.INVALID:
        draft.add(
            "data.not-json",
            f"data is not JSON: {reading.problem}",
            path="data",
        )
    elif reading.percent_encoded:
        draft.add(
            "data.double-percent-encoded",
            "data is percent-encoded twice: it is JSON only once decoded again "
            f"(%7B... for {{...}}); recovered object: {compact_json(reading.value)}",
            path="data",
        )
    elif reading.state is DataState.DOUBLE_ENCODED:
        draft.add(
            "data.double-encoded",
            "data is a JSON string that itself holds JSON (encoded twice); "
            f"recovered object: {compact_json(reading.value)}",
            path="data",
        )
    elif reading.state is DataState.NOT_OBJECT:
        draft.add(
            "data.not-object",
            f"data is JSON but {reading.problem}: {compact_json(reading.parsed)}",
            path="data",
        )


def _read_metadata_text(draft: _EventDraft, text: str) -> Any:
    try:
        value, repaired = load_json(text)
    except (ValueError, RecursionError):
        return None
    if repaired:
        _report_lone_surrogate(draft, "metadata")
    return value


def _report_lone_surrogate(draft: _EventDraft, path: str) -> None:
    draft.add(
        "params.invalid-utf8",
        f"{path} holds a \\u escape for half of a UTF-16 surrogate pair (a "
        "character such as an emoji cut in two); it is shown as �.",
        path=path,
    )


# --- Rules shared by every transport -------------------------------------------------


def _required_params(transport: Transport) -> tuple[str, ...]:
    if transport is Transport.AMP:
        return _AMP_REQUIRED
    if transport is Transport.WEB:
        return _WEB_REQUIRED
    return _MOBILE_REQUIRED


def _report_not_one_value(draft: _EventDraft, name: str, sent_as: str) -> None:
    """A parameter that takes one value, sent as a list or object: the event has
    no value for it, an error when the event needs one."""
    draft.not_one_value.add(name)
    # Without an action the event type cannot be told: as much an error.
    required = name == "action" or name in _required_params(draft.transport)
    draft.add(
        "params.list-or-object",
        f"{_short(name)} is sent as {sent_as}, but takes one value: Parse.ly reads no "
        f"{_short(name)} from it" + (", and the event needs one." if required else "."),
        path=name,
        severity=Severity.ERROR if required else None,
    )


def _check_required(draft: _EventDraft) -> None:
    params = draft.params
    transport = draft.transport

    # A parameter sent as a list or object is reported as such, not as missing.
    sent = params.keys() | draft.not_one_value
    missing = [name for name in _required_params(transport) if name not in sent]

    if transport is Transport.WEB:
        missing_ids = [name for name in _WEB_SESSION_IDS if name not in sent]
        if missing_ids and _looks_legacy(draft):
            draft.add(
                "params.legacy-ids",
                "Legacy tracker format: no " + ", ".join(missing_ids) + " (trackers "
                "before about 2019 did not send them).",
                path=missing_ids[0],
            )
        else:
            missing.extend(missing_ids)

    action = params.get("action")
    if action in HEARTBEAT_ACTIONS and "inc" not in sent:
        missing.append("inc")

    if draft.truncation:
        # A cut-off URL explains every missing parameter; say it once.
        if missing:
            draft.truncation.append("missing after the cut: " + ", ".join(missing))
    elif missing:
        draft.add(
            "params.missing",
            f"Missing required parameter{'s' if len(missing) > 1 else ''} for a "
            f"{transport.value} {action or 'event'}: " + ", ".join(missing) + ".",
            path=missing[0],
        )

    if not action and "action" not in draft.not_one_value:
        draft.add(
            "action.missing",
            "No action parameter: the event type cannot be told."
            if action is None
            else "The action parameter is empty: the event type cannot be told.",
            path="action",
        )


def _looks_legacy(draft: _EventDraft) -> bool:
    """Old trackers put visitor ids in data and sent none of the modern ids."""
    reading = draft.reading
    if reading is not None and reading.value is not None:
        if any(key in reading.value for key in _LEGACY_VISITOR_KEYS):
            return True
    return not any(name in draft.params for name in _MODERN_ONLY_PARAMS)


def _check_event_values(draft: _EventDraft) -> None:
    params = draft.params
    action = params.get("action")

    if action and action not in STANDARD_ACTIONS:
        hint = ""
        if action.lower() in STANDARD_ACTIONS:
            hint = f" (the tracker sends '{action.lower()}' in lower case)"
        draft.add(
            "action.custom",
            f"Custom action '{_short(action)}': not a standard event type{hint}.",
            path="action",
        )

    if action in HEARTBEAT_ACTIONS:
        _check_heartbeat(draft)
    elif action == "conversion":
        _check_conversion(draft)

    if params.get("sts") == "0":
        draft.add(
            "session.sts-zero",
            "sts (session start) is 0 instead of an epoch timestamp in milliseconds.",
            path="sts",
        )

    for name in _ADDRESS_PARAMS:
        address = params.get(name)
        if isinstance(address, str) and (problem := _address_problem(name, address)):
            draft.add(
                "params.invalid-url",
                f"{name} is not a valid URL ({_short(problem)}): {_short(address)}",
                path=name,
            )

    js_flag = params.get("js")
    if js_flag is not None:
        draft.add(
            "params.js-flag",
            f"js={_short(js_flag)} is set, as dynamic (SPA) tracking code does.",
            path="js",
        )


def _address_problem(name: str, address: str) -> str | None:
    """Why a page or referrer address is no URL Parse.ly can use; None when it is.

    The page addresses (url, surl) must be web pages: http or https with a host. A
    referrer (urlref, sref) may be empty (direct traffic) or have another scheme,
    as Android's `android-app://` referrers do, but must be an absolute URL.
    """
    if not address:
        return None
    problem = url_problem(address)
    if problem:
        return problem

    parts = split_url(address)
    if not parts.scheme:
        return "no scheme such as https://"
    if name in _PAGE_ADDRESS_PARAMS and parts.scheme not in ("http", "https"):
        return f"the scheme is {parts.scheme}, not http or https"
    if not parts.netloc and (name in _PAGE_ADDRESS_PARAMS or not parts.path):
        return "no host"
    return None


def _check_heartbeat(draft: _EventDraft) -> None:
    params = draft.params

    inc = params.get("inc")
    if inc is not None:
        valid = (
            len(inc) <= 6
            and _WHOLE_NUMBER.match(inc)
            and 1 <= int(inc) <= _MAX_INC_SECONDS
        )
        if not valid:
            draft.add(
                "heartbeat.inc-out-of-range",
                f"inc={_short(inc)!r} is not a whole number of seconds from 1 to "
                f"{_MAX_INC_SECONDS}.",
                path="inc",
            )

    tt = params.get("tt")
    if tt is not None and not _WHOLE_NUMBER.match(tt):
        unit = "seconds" if draft.transport is Transport.AMP else "milliseconds"
        draft.add(
            "heartbeat.tt-invalid",
            f"tt={_short(tt)!r} is not a non-negative whole number of {unit}.",
            path="tt",
        )


def _check_conversion(draft: _EventDraft) -> None:
    data = draft.reading.value if draft.reading is not None else None
    if data is None:
        # No data, or none readable: findings about `data` itself say so.
        return

    if "_conversion_type" not in data:
        draft.add(
            "conversion.type-missing",
            "This conversion has no data._conversion_type, so it has no type.",
            path="data._conversion_type",
        )
        return

    kind = data["_conversion_type"]
    if isinstance(kind, str) and kind in CONVERSION_TYPES:
        return

    known = ", ".join(sorted(CONVERSION_TYPES))
    shown = f"'{_short(kind)}'" if isinstance(kind, str) else compact_json(kind)
    hint = ""
    if isinstance(kind, str) and kind.strip().lower() in CONVERSION_TYPES:
        hint = f" (the tracker sends '{kind.strip().lower()}')"
    draft.add(
        "conversion.unknown-type",
        f"_conversion_type {shown} is not a conversion type the tracker "
        f"sends{hint}; they are: {known}.",
        path="data._conversion_type",
    )


def _report_truncation(draft: _EventDraft) -> None:
    if not draft.truncation:
        return
    draft.add(
        "url.truncated",
        "The request looks cut short: " + "; ".join(draft.truncation) + ".",
        path="url",
    )


def _report_data_absence(draft: _EventDraft) -> None:
    if draft.reading is not None or draft.truncation:
        return
    if any(finding.code == "data.swallowed" for finding in draft.findings):
        return

    if draft.transport is Transport.AMP:
        draft.add(
            "data.absent",
            "No data parameter: AMP pixels carry no custom segments by design.",
            path="data",
            severity=Severity.INFO,
        )
    else:
        draft.add(
            "data.absent",
            "No data parameter, although the tracker always sends one: no custom "
            "segments reach Parse.ly from this event.",
            path="data",
        )


def _build_event(
    request: CapturedRequest,
    draft: _EventDraft,
    batch_index: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> PixelEvent:
    reading = draft.reading
    data = reading.value if reading is not None else None
    state = reading.state if reading is not None else DataState.ABSENT

    segments: dict[str, Any] = {}
    if data is not None:
        owned = (
            WEB_TRACKER_DATA_KEYS
            if draft.transport in (Transport.WEB, Transport.AMP)
            else TRACKER_DATA_KEYS
        )
        segments = {key: value for key, value in data.items() if key not in owned}

    action = draft.params.get("action")
    return PixelEvent(
        id=draft.event_id,
        request=request,
        transport=draft.transport,
        action=action or None,
        params=draft.params,
        data_state=state,
        data=data,
        data_raw=draft.data_raw,
        segments=segments,
        metadata=draft.metadata,
        metadata_raw=draft.metadata_raw,
        batch_index=batch_index,
        findings=tuple(draft.findings),
        extra=extra if extra is not None else {},
    )


# --- Mobile: POST /mobileproxy -----------------------------------------------------


def _decode_mobile(request: CapturedRequest) -> list[PixelEvent]:
    body = request.body
    if not body.strip():
        if query_of(request.url):
            # Not something the SDKs send, but a query is readable like a web pixel.
            return _decode_web(request)
        # A POST with nothing in it: whatever the app meant to send was lost.
        return [
            _request_level_event(
                request,
                Transport.MOBILE,
                "batch.malformed",
                "The mobile batch body is empty: this request carried no events.",
                "body",
            )
        ]

    text, utf8_ok = decode_body_text(body)
    stripped = text.lstrip()
    looks_like_form = not stripped.startswith(("{", "["))
    if looks_like_form and (stripped.startswith("rqs=") or "&rqs=" in stripped):
        return _decode_legacy_batch(request, stripped, utf8_ok)
    return _decode_json_batch(request, stripped, utf8_ok)


def _request_level_event(
    request: CapturedRequest,
    transport: Transport,
    code: str,
    message: str,
    path: str,
    extra_findings: Iterable[Finding] = (),
) -> PixelEvent:
    """One event standing for a whole batch that could not be split."""
    draft = _EventDraft(request.request_id, transport, {})
    draft.findings.extend(extra_findings)
    draft.add(code, message, path=path)
    return _build_event(request, draft)


def _body_encoding_findings(request: CapturedRequest, utf8_ok: bool) -> list[Finding]:
    if utf8_ok:
        return []
    return [
        _finding(
            "params.invalid-utf8",
            "The request body is not valid UTF-8; bad bytes are shown as �.",
            request.request_id,
            path="body",
        )
    ]


def _lone_surrogate_in_body(request: CapturedRequest, path: str) -> Finding:
    return _finding(
        "params.invalid-utf8",
        f"The {path} JSON holds a \\u escape for half of a UTF-16 surrogate pair (a "
        "character such as an emoji cut in two); it is shown as �.",
        request.request_id,
        path=path,
    )


def _decode_json_batch(
    request: CapturedRequest, text: str, utf8_ok: bool
) -> list[PixelEvent]:
    return _decode_batch(
        request,
        Transport.MOBILE,
        text,
        _body_encoding_findings(request, utf8_ok),
        what="The mobile batch body",
        path="body",
    )


def _decode_legacy_batch(
    request: CapturedRequest, text: str, utf8_ok: bool
) -> list[PixelEvent]:
    fields = dict(split_query(text.strip()).pairs)
    return _decode_batch(
        request,
        Transport.MOBILE_LEGACY,
        fields.get("rqs", ""),
        _body_encoding_findings(request, utf8_ok),
        what="The rqs field",
        path="rqs",
    )


def _decode_batch(
    request: CapturedRequest,
    transport: Transport,
    payload: str,
    encoding_findings: list[Finding],
    *,
    what: str,
    path: str,
) -> list[PixelEvent]:
    """Decode one JSON batch of SDK events: the POST body, or the legacy `rqs=`."""
    legacy = transport is Transport.MOBILE_LEGACY

    def unreadable(code: str, problem: str, problem_path: str) -> list[PixelEvent]:
        return [
            _request_level_event(
                request, transport, code, problem, problem_path, encoding_findings
            )
        ]

    try:
        batch, repaired = load_json(payload)
    except json.JSONDecodeError as error:
        return unreadable(
            "body.not-json", f"{what} is not JSON: {describe_json_error(error)}", path
        )
    except (ValueError, RecursionError) as error:
        return unreadable("body.not-json", f"{what} is not JSON: {error}", path)

    if repaired:
        encoding_findings.append(_lone_surrogate_in_body(request, path))
    entries = batch.get("events") if isinstance(batch, dict) else None
    problem = _batch_problem(batch, entries)
    if problem and legacy:
        return unreadable(
            "batch.malformed", problem.replace("mobile batch", "rqs batch"), "rqs"
        )
    if problem:
        return unreadable("batch.malformed", problem, "events")

    # The legacy batch's fields beside "events" (shared data, and any scalars)
    # apply to every entry.
    shared = (
        {key: value for key, value in batch.items() if key != "events"}
        if legacy
        else {}
    )
    return _decode_entries(request, transport, entries, shared, encoding_findings)


def _batch_problem(batch: Any, entries: Any) -> str | None:
    if not isinstance(batch, dict):
        return f'The mobile batch is {json_type_name(batch)}, not {{"events": [...]}}.'
    if "events" not in batch:
        return 'The mobile batch has no "events" list.'
    if not isinstance(entries, list):
        return f'The batch\'s "events" is {json_type_name(entries)}, not a list.'
    if not entries:
        return 'The batch\'s "events" list is empty.'
    return None


def _decode_entries(
    request: CapturedRequest,
    transport: Transport,
    entries: list[Any],
    shared: dict[str, Any],
    request_findings: list[Finding],
) -> list[PixelEvent]:
    events = []
    for index, entry in enumerate(entries):
        event_id = f"{request.request_id}#{index}"
        try:
            event = _decode_entry(request, transport, index, entry, shared)
        except Exception as error:  # noqa: BLE001 - one bad entry must not lose others
            from inspector.report import escape_controls

            logger.exception(
                "could not decode batch entry %s", escape_controls(event_id)
            )
            event = _failed_event(request, error)
            event = _with_identity(event, event_id, transport, index)

        if request_findings:
            moved = tuple(_reassign(finding, event.id) for finding in request_findings)
            event = _with_findings(event, moved + event.findings)
        events.append(event)
    return events


def _decode_entry(
    request: CapturedRequest,
    transport: Transport,
    index: int,
    entry: Any,
    shared: dict[str, Any],
) -> PixelEvent:
    event_id = f"{request.request_id}#{index}"
    if not isinstance(entry, dict):
        draft = _EventDraft(event_id, transport, {})
        draft.add(
            "batch.malformed",
            f"Batch entry {index} is {json_type_name(entry)}, not an object: "
            f"{compact_json(entry)}",
            path=f"events[{index}]",
        )
        return _build_event(request, draft, batch_index=index, extra={"entry": entry})

    merged = _merge_shared(shared, entry)
    params: dict[str, str] = {}
    structured: dict[str, Any] = {}
    for key, value in merged.items():
        if key in ("data", "metadata"):
            continue
        as_text = _scalar_text(value)
        if as_text is not None:
            params[str(key)] = as_text
        elif key in KNOWN_PARAMS:
            structured[str(key)] = value
    draft = _EventDraft(event_id, transport, params)
    for key, value in structured.items():
        kind = "a list" if isinstance(value, list) else "an object"
        _report_not_one_value(draft, key, f"{kind} ({compact_json(value)})")

    for key in params:
        if key not in _MOBILE_KNOWN_FIELDS:
            _report_unknown_param(draft, key, params[key])

    if "data" in merged:
        _read_data_value(draft, merged["data"])
    if "metadata" in merged:
        metadata = merged["metadata"]
        if isinstance(metadata, str):
            draft.metadata_raw = metadata
            draft.metadata = _read_metadata_text(draft, metadata)
        else:
            draft.metadata_raw = compact_json(metadata, limit=1 << 30)
            draft.metadata = metadata

    _check_required(draft)
    _check_event_values(draft)
    _report_data_absence(draft)
    return _build_event(request, draft, batch_index=index, extra={"entry": entry})


def _merge_shared(shared: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """The legacy batch's shared fields under the entry's own; `data` key by key."""
    if not shared:
        return entry

    merged = {**shared, **entry}
    shared_data = shared.get("data")
    entry_data = entry.get("data")
    if isinstance(shared_data, dict) and isinstance(entry_data, dict):
        merged["data"] = {**shared_data, **entry_data}
    elif isinstance(shared_data, dict) and "data" not in entry:
        merged["data"] = dict(shared_data)
    return merged


def _scalar_text(value: Any) -> str | None:
    """A batch field as a query-style string: text as is, others as JSON text."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return None


def _reassign(finding: Finding, event_id: str) -> Finding:
    return Finding(
        code=finding.code,
        severity=finding.severity,
        message=finding.message,
        path=finding.path,
        explanation=finding.explanation,
        event_id=event_id,
    )


def _with_findings(event: PixelEvent, findings: tuple[Finding, ...]) -> PixelEvent:
    return _replace_event(event, findings=findings)


def _with_identity(
    event: PixelEvent, event_id: str, transport: Transport, index: int
) -> PixelEvent:
    findings = tuple(_reassign(finding, event_id) for finding in event.findings)
    return _replace_event(
        event,
        id=event_id,
        transport=transport,
        batch_index=index,
        findings=findings,
    )


def _replace_event(event: PixelEvent, **changes: Any) -> PixelEvent:
    return dataclasses.replace(event, **changes)
