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
from urllib.parse import SplitResult, urlsplit

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
    """Why `urlsplit` refuses the URL or its port, in lower case; None when neither.

    For example `invalid IPv6 URL` or `port out of range 0-65535`.
    """
    try:
        urlsplit(url).port  # noqa: B018 - reading the port validates it
    except ValueError as error:
        reason = str(error) or "not a valid URL"
        return reason[:1].lower() + reason[1:]
    return None


def is_valid_url(url: str) -> bool:
    """True when `urlsplit` accepts the URL and its port (if any) is a valid one."""
    return url_problem(url) is None
