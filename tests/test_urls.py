"""URLs from the traffic are taken apart without ever raising."""

from urllib.parse import urlsplit

import pytest

from inspector.urls import is_valid_url, split_url, url_host, url_path, url_port

# Each of these makes `urlsplit` (or `SplitResult.port`) raise ValueError.
UNCLOSED_IPV6 = "http://[::1/news?a=1#top"
NFKC_HOST = "http://ex\u2100ample.com/news?a=1"
BAD_PORT = "http://example.com:abc/news"
PORT_OUT_OF_RANGE = "http://example.com:99999/news"


@pytest.mark.parametrize("url", [UNCLOSED_IPV6, NFKC_HOST])
def test_urlsplit_refuses_these(url):
    with pytest.raises(ValueError):
        urlsplit(url)


def test_a_url_urlsplit_refuses_still_gives_its_parts():
    parts = split_url(UNCLOSED_IPV6)

    assert (parts.scheme, parts.netloc, parts.path, parts.query, parts.fragment) == (
        "http",
        "[::1",
        "/news",
        "a=1",
        "top",
    )


def test_a_host_that_changes_under_nfkc_keeps_path_and_query():
    parts = split_url(NFKC_HOST)

    assert (parts.netloc, parts.path, parts.query) == (
        "ex\u2100ample.com",
        "/news",
        "a=1",
    )


def test_a_good_url_is_split_as_urlsplit_splits_it():
    url = "HTTPS://User@WWW.Example.com:8443/a/b?x=1&y=2#f"

    assert split_url(url) == urlsplit(url)
    assert url_host(url) == "www.example.com"
    assert url_port(url) == 8443
    assert url_path(url) == "/a/b"


@pytest.mark.parametrize("url", [BAD_PORT, PORT_OUT_OF_RANGE])
def test_a_port_that_cannot_be_read_is_none(url):
    assert url_port(url) is None
    assert url_host(url) == "example.com"
    assert url_path(url) == "/news"


@pytest.mark.parametrize(
    ("url", "host"),
    [(UNCLOSED_IPV6, "::1"), (NFKC_HOST, "ex\u2100ample.com")],
)
def test_the_host_of_a_url_urlsplit_refuses_is_what_its_netloc_holds(url, host):
    assert url_host(url) == host


@pytest.mark.parametrize(
    "url", [UNCLOSED_IPV6, NFKC_HOST, BAD_PORT, PORT_OUT_OF_RANGE, "http://[x"]
)
def test_invalid_urls_are_told_apart(url):
    assert not is_valid_url(url)


@pytest.mark.parametrize("url", ["", "/", "example.com", "http://[::1]:8080/"])
def test_valid_urls_are_told_apart(url):
    assert is_valid_url(url)


# --- Pixels that carry such addresses --------------------------------------------


def _pageview(**params: str):
    from urllib.parse import urlencode

    from inspector.decode import PixelMatcher, decode_request
    from inspector.model import CapturedRequest

    query = {
        "rand": "1710000000111",
        "idsite": "example.com",
        "url": "https://example.com/a",
        "urlref": "https://www.google.com/",
        "action": "pageview",
        "data": "{}",
    }
    query.update(params)
    url = "https://p1.parsely.com/plogger/?" + urlencode(query)
    [event] = decode_request(CapturedRequest("GET", url), PixelMatcher())
    return event


@pytest.mark.parametrize("parameter", ["url", "urlref", "surl", "sref"])
@pytest.mark.parametrize(
    ("address", "reason"),
    [
        (UNCLOSED_IPV6, "an IPv6 address in brackets that is not closed or not valid"),
        (PORT_OUT_OF_RANGE, "the port is out of range (0 to 65535)"),
        (BAD_PORT, "the port 'abc' is not a number"),
        (NFKC_HOST, "the host changes under Unicode normalisation (NFKC)"),
        ("http://exa mple.com/", "the host holds a space"),
        ("http://a%1Bb/", "the host holds the control character U+001B"),
        ("http://a%2Fb.example/", "the host holds the character '/'"),
    ],
)
def test_an_address_parameter_that_is_no_url_is_a_finding(parameter, address, reason):
    from inspector.model import Severity

    event = _pageview(**{parameter: address})

    [finding] = [f for f in event.findings if f.code == "params.invalid-url"]
    assert finding.severity is Severity.WARNING
    assert finding.path == parameter
    assert finding.message == f"{parameter} is not a valid URL ({reason}): {address}"


def test_valid_addresses_are_no_finding():
    event = _pageview(surl="https://example.com/", sref="", urlref="")

    assert "params.invalid-url" not in {finding.code for finding in event.findings}


@pytest.mark.parametrize(
    ("parameter", "address", "reason"),
    [
        ("url", "x", "no scheme such as https://"),
        ("url", "www.example.com/a", "no scheme such as https://"),
        ("surl", "/relative/path", "no scheme such as https://"),
        ("url", "ftp://example.com/", "the scheme is ftp, not http or https"),
        (
            "surl",
            "android-app://com.example/",
            "the scheme is android-app, not http or https",
        ),
        ("url", "https:///a", "no host"),
        ("urlref", "not a url", "no scheme such as https://"),
        ("sref", "example.com", "no scheme such as https://"),
        ("urlref", "https:", "no host"),
    ],
)
def test_an_address_that_is_no_absolute_url_is_a_finding(parameter, address, reason):
    event = _pageview(**{parameter: address})

    [finding] = [f for f in event.findings if f.code == "params.invalid-url"]
    assert finding.path == parameter
    assert finding.message == f"{parameter} is not a valid URL ({reason}): {address}"


@pytest.mark.parametrize(
    "referrer",
    ["", "android-app://com.google.android.gm/", "https://t.co/x", "about:blank"],
)
def test_a_referrer_may_be_empty_or_of_another_scheme(referrer):
    event = _pageview(urlref=referrer, sref=referrer)

    assert "params.invalid-url" not in {finding.code for finding in event.findings}
