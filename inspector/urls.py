"""Taking apart URLs that came off the wire, without ever raising.

Every URL the inspector looks at was written by someone else: a page, a tracker, a
recording. `urllib.parse.urlsplit` raises `ValueError` for some of them (an
unclosed IPv6 bracket such as `http://[::1`, a host that changes under NFKC
normalisation such as `ex℀ample.com`), and `SplitResult.port` raises for a port
that is not a number or out of range. A malformed URL is something to report, not a
reason to stop, so code that handles traffic splits URLs through these functions:

* `split_url` gives the five parts. When `urlsplit` refuses a URL, the parts come
  from the generic pattern of RFC 3986 (appendix B), which matches any string, so
  the path and query of a URL with a broken host are still there.
* `url_host` and `url_port` give the host (lower case) and port, or an empty
  string and None when the URL has none that can be read.
* `url_problem` says why `urlsplit` refuses a URL or its port, and `is_valid_url`
  whether it does, for code that reports the fault.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import SplitResult, unquote, urlsplit

_CACHE_SIZE = 4096

_RFC3986 = re.compile(
    r"^(?:(?P<scheme>[^:/?#]+):)?(?://(?P<netloc>[^/?#]*))?"
    r"(?P<path>[^?#]*)(?:\?(?P<query>[^#]*))?(?:#(?P<fragment>.*))?$",
    re.DOTALL,
)


@lru_cache(maxsize=_CACHE_SIZE)
def split_url(url: str) -> SplitResult:
    """`urlsplit(url)`, or the parts RFC 3986's pattern finds when it raises."""
    try:
        return urlsplit(url)
    except ValueError:
        pass
    match = _RFC3986.match(url)
    assert match is not None  # every group is optional: any string matches
    return SplitResult(
        scheme=(match["scheme"] or "").lower(),
        netloc=match["netloc"] or "",
        path=match["path"] or "",
        query=match["query"] or "",
        fragment=match["fragment"] or "",
    )


def url_host(url: str) -> str:
    """The URL's host name in lower case; an empty string when there is none."""
    try:
        return (split_url(url).hostname or "").lower()
    except ValueError:
        return ""


def url_port(url: str) -> int | None:
    """The URL's explicit port; None when it has none or it is not a valid port."""
    try:
        return split_url(url).port
    except ValueError:
        return None


def url_path(url: str) -> str:
    """The URL's path (possibly empty)."""
    return split_url(url).path


def url_problem(url: str) -> str | None:
    """Why the URL cannot be taken apart, in words; None when it can.

    `urlsplit` refuses some URLs (an unclosed IPv6 bracket, a port that is no
    number) with messages written for programmers: they are said plainly here. A
    host holding a space, a control character or a character no host name may
    hold (after percent-decoding, as a browser reads it) is refused too, although
    `urlsplit` takes it.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading the port validates it
    except ValueError as error:
        return _plain_reason(str(error))

    host = unquote(parts.hostname or "")
    for character in host:
        if character in _FORBIDDEN_IN_HOST or not character.isprintable():
            return f"the host holds {_character_name(character)}"
    return None


_FORBIDDEN_IN_HOST = frozenset(' #%/<>?@"\\^`{|}')
"""Characters no host name holds, even percent-encoded (WHATWG's forbidden domain
code points, but for `:` of IPv6 addresses and the brackets around them)."""


def _plain_reason(message: str) -> str:
    """`urlsplit`'s message for a URL it refuses, as a user would put it."""
    if message == "Invalid IPv6 URL":
        return "an IPv6 address in brackets that is not closed or not valid"
    if message.startswith("Port could not be cast to integer value as "):
        port = message.removeprefix("Port could not be cast to integer value as ")
        return f"the port {port} is not a number"
    if message.startswith("Port out of range"):
        return "the port is out of range (0 to 65535)"
    if "NFKC" in message:
        return "the host changes under Unicode normalisation (NFKC)"
    return message[:1].lower() + message[1:] or "not a valid URL"


def _character_name(character: str) -> str:
    if character == " ":
        return "a space"
    if not character.isprintable():
        return f"the control character U+{ord(character):04X}"
    return f"the character {character!r}"


def is_valid_url(url: str) -> bool:
    """True when `urlsplit` accepts the URL and its port (if any) is a valid one."""
    return url_problem(url) is None
