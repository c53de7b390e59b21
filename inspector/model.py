"""The values that flow through Segment Inspector.

A `CapturedRequest` is one HTTP request as the proxy saw it or as a recording kept it.
The decoder turns it into zero or more `PixelEvent`s; checks attach `Finding`s. All of
them are immutable so that the live UI, the report writers and the pytest plugin can
share them without copying.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from inspector.urls import url_host, url_path


class Severity(enum.StrEnum):
    """How bad a finding is. Ordered: `ERROR > WARNING > INFO`."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    def __ge__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __le__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:  # type: ignore[override]
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


@dataclass(frozen=True, slots=True)
class CapturedRequest:
    """One HTTP request, live or recorded, before we know whether it is a pixel."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    timestamp: float = 0.0
    """Seconds since the epoch when the request was sent."""
    client_address: str | None = None
    """The client's IP address, used for GeoIP."""
    origin: str = ""
    """Where the request came from, for messages: `session.har entry 12`, `live`."""
    request_id: str = ""
    """Stable id: live traffic's mitmproxy flow id, or the recording and the
    request's place in it (`demo.mitm:12`, `demo.har:3`, `list.txt:4.2`)."""
    response_status: int | None = None
    content_type: str | None = None
    """The response's content type, when known (used to tell documents from assets)."""
    error: str | None = None
    """Why the request never got a response, as the browser or proxy put it
    (`net::ERR_BLOCKED_BY_CLIENT`, `Connection killed.`); None when it did, or when
    nothing is known."""
    source: str = ""
    """The capture the request belongs to: a recording, named as `check` names it;
    empty for live traffic. Page loads and visitors never span two sources."""

    def header(self, name: str) -> str | None:
        """The first value of a header, matched case-insensitively."""
        wanted = name.lower()
        size = len(wanted)
        for key, value in self.headers:
            if len(key) == size and key.lower() == wanted:
                return value
        return None

    @property
    def host(self) -> str:
        return url_host(self.url)

    @property
    def path(self) -> str:
        return url_path(self.url)


class Transport(enum.StrEnum):
    """How a pixel was sent, which decides what a valid request looks like."""

    WEB = "web"
    """The JavaScript tracker: GET with a query string."""
    AMP = "amp"
    """AMP's vendor config: GET, `ampid` instead of `u`, epoch `date`, `tt` in s."""
    MOBILE = "mobile"
    """The iOS/Android SDKs: POST of a JSON `{"events": [...]}` batch."""
    MOBILE_LEGACY = "mobile-legacy"
    """Old SDKs: form-encoded POST with one `rqs=<JSON>` field."""


class DataState(enum.StrEnum):
    """What the decoder made of the `data` parameter."""

    ABSENT = "absent"
    """No `data` parameter at all (normal on AMP)."""
    OK = "ok"
    """A JSON object."""
    INVALID = "invalid"
    """Present but not JSON."""
    NOT_OBJECT = "not-object"
    """JSON, but not an object (a list, a number...)."""
    DOUBLE_ENCODED = "double-encoded"
    """Encoded twice: a JSON string holding JSON, or JSON percent-encoded once
    more than the query; `data` holds the recovered object."""


FINDING_CODES = frozenset(
    {
        "action.custom",
        "action.missing",
        "batch.malformed",
        "conversion.type-missing",
        "conversion.unknown-type",
        "body.not-json",
        "campaign.case-variants",
        "campaign.itm-external",
        "campaign.on-referrer-only",
        "campaign.utm-internal",
        "data.absent",
        "data.double-encoded",
        "data.double-percent-encoded",
        "data.duplicate-key",
        "data.not-json",
        "data.not-object",
        "data.swallowed",
        "decode.failed",
        "heartbeat.inc-out-of-range",
        "heartbeat.tt-invalid",
        "page.duplicate-pageview",
        "page.heartbeat-data-differs",
        "page.heartbeat-without-pageview",
        "page.pageview-without-tracker",
        "page.segment-after-pageview",
        "page.segment-changed",
        "page.spa-url-without-pageview",
        "page.tracker-no-pageview",
        "page.tt-decreased",
        "params.bracket-encoded",
        "params.invalid-url",
        "params.js-flag",
        "params.legacy-ids",
        "params.list-or-object",
        "params.missing",
        "params.repeated",
        "params.top-level-segment",
        "pii.email",
        "pii.long-number",
        "pii.phone",
        "request.failed",
        "scenario.not-covered",
        "segment.case-mismatch",
        "segment.high-cardinality",
        "segment.null-convention-mixed",
        "segment.not-a-category",
        "segment.null-not-allowed",
        "segment.omitted",
        "segment.placeholder",
        "segment.required-missing",
        "segment.reserved-prefix",
        "segment.type-mismatch",
        "segment.unknown-key",
        "segment.value-not-allowed",
        "segment.value-too-long",
        "session.sts-zero",
        "spec.site-not-covered",
        "url.oversized",
        "url.truncated",
        "visitor.case-variants",
        "visitor.null-convention-mixed",
    }
)
"""Every code a check or page-level diagnosis can give a `Finding`, for telling a
misspelt code from one that was simply not found."""


@dataclass(frozen=True, slots=True)
class Finding:
    """Something a check noticed about an event or a page load."""

    code: str
    """Stable dotted identifier, such as `data.not-json` or `segment.case-mismatch`."""
    severity: Severity
    message: str
    """One sentence a QA engineer understands."""
    path: str | None = None
    """JSON path concerned, such as `data.plan` or `url`."""
    explanation: str = ""
    """Why it matters and what to do, shown in the detail pane."""
    event_id: str | None = None
    evidence: str | None = None
    """The personal data a `pii.*` message names in shortened form, kept whole so
    that a report asked to show personal data can show it (see
    `inspector.report.finding_message`). Never rendered otherwise."""


@dataclass(frozen=True, slots=True)
class PixelEvent:
    """One decoded Parse.ly event (a GET pixel, or one entry of a mobile batch)."""

    id: str
    """`<request_id>` or `<request_id>#<n>` for batch entries."""
    request: CapturedRequest
    transport: Transport
    action: str | None
    params: Mapping[str, str]
    """Top-level parameters, decoded (`+` is a space), last value wins."""
    data_state: DataState
    data: Mapping[str, Any] | None
    """The decoded `data` object (recovered when double-encoded), else None."""
    data_raw: str | None
    """`data` exactly as sent, after URL decoding."""
    segments: Mapping[str, Any]
    """The custom segment keys of `data`: tracker-owned keys removed."""
    metadata: Any = None
    metadata_raw: str | None = None
    batch_index: int | None = None
    findings: tuple[Finding, ...] = ()
    """What the decoder noticed: wire-format faults."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Anything else the decoder wants to keep (raw batch entry, etc.)."""

    def param(self, name: str) -> str | None:
        return self.params.get(name)

    @property
    def idsite(self) -> str | None:
        return self.params.get("idsite")

    @property
    def url(self) -> str | None:
        return self.params.get("url")

    @property
    def urlref(self) -> str | None:
        return self.params.get("urlref")

    @property
    def plid(self) -> str | None:
        return self.params.get("plid") or None

    @property
    def pvid(self) -> str | None:
        return self.params.get("pvid") or None

    @property
    def visitor(self) -> str | None:
        """The visitor id: `u`, AMP's `ampid`, or legacy `parsely_site_uuid`."""
        for name in ("u", "ampid"):
            value = self.params.get(name)
            if value:
                return value
        if self.data:
            legacy = self.data.get("parsely_site_uuid")
            if isinstance(legacy, str) and legacy:
                return legacy
        return None

    @property
    def timestamp(self) -> float:
        return self.request.timestamp
