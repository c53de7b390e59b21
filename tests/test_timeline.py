"""Classifying the requests around pixels, and the URL helpers that match them."""

from __future__ import annotations

import pytest

from inspector.model import CapturedRequest, DataState, PixelEvent, Transport
from inspector.timeline import (
    EntryKind,
    classify_request,
    event_time,
    is_origin_only,
    origin_of,
    page_url_key,
    tracker_site,
)


def request(url, *headers, content_type=None, method="GET", timestamp=0.0):
    return CapturedRequest(
        method=method,
        url=url,
        headers=tuple(headers),
        content_type=content_type,
        timestamp=timestamp,
    )


@pytest.mark.parametrize(
    ("captured", "kind"),
    [
        (request("https://cdn.parsely.com/keys/example.com/p.js"), "tracker-script"),
        (
            request("https://cdn.parsely.com/keys/example.com/p.js?ver=3.1"),
            "tracker-script",
        ),
        (request("http://static.parsely.com/p.js"), "tracker-script"),
        (request("https://www.googletagmanager.com/gtm.js?id=GTM-X1"), "gtm"),
        (request("https://tags.example.com/gtm.js?id=GTM-X1"), "gtm"),
        (request("https://www.googletagmanager.com/gtag/js?id=G-1"), "other-tag"),
        (
            request("https://www.example.com/", ("Sec-Fetch-Dest", "document")),
            "document",
        ),
        (
            request("https://www.example.com/a", ("Accept", "text/html,*/*;q=0.8")),
            "document",
        ),
        (request("https://www.example.com/a", content_type="text/html"), "document"),
        (
            request(
                "https://ads.example.net/frame",
                ("Sec-Fetch-Dest", "iframe"),
                ("Accept", "text/html"),
            ),
            "other",
        ),
        (
            request(
                "https://www.example.com/fragment",
                ("Accept", "*/*"),
                content_type="text/html",
            ),
            "other",
        ),
        (request("https://www.example.com/a", method="POST"), "other"),
        (request("https://cdn.example.net/widget.js"), "other-tag"),
        (
            request("https://cdn.example.net/bundle", content_type="text/javascript"),
            "other-tag",
        ),
        (
            request("https://www.example.com/lead.jpg", content_type="image/jpeg"),
            "other",
        ),
    ],
)
def test_classify_request(captured, kind):
    assert classify_request(captured) is EntryKind(kind)


def test_tracker_site_reads_the_key_path():
    keyed = request("https://cdn.parsely.com/keys/example.com/p.js")

    assert tracker_site(keyed) == "example.com"
    assert tracker_site(request("http://static.parsely.com/p.js")) is None


def test_page_url_key_drops_the_fragment_and_lowercases_the_host():
    assert page_url_key("HTTPS://WWW.Example.com/A?b=1#c") == (
        "https://www.example.com/A?b=1"
    )
    assert page_url_key("https://www.example.com") == "https://www.example.com/"
    assert page_url_key(None) == ""


def test_origins():
    assert origin_of("https://www.example.com:8443/a?b") == (
        "https://www.example.com:8443"
    )
    assert origin_of("not a url") == ""
    assert is_origin_only("https://www.example.com/")
    assert is_origin_only("https://www.example.com")
    assert not is_origin_only("https://www.example.com/a")
    assert not is_origin_only("https://www.example.com/?page=2")
    assert not is_origin_only("")


def event(params, *, timestamp=0.0, data=None):
    return PixelEvent(
        id="e1",
        request=request("https://p1.parsely.com/plogger/", timestamp=timestamp),
        transport=Transport.WEB,
        action=params.get("action"),
        params=params,
        data_state=DataState.OK,
        data=data,
        data_raw=None,
        segments={},
    )


def test_event_time_prefers_capture_time_then_rand_then_data_ts():
    assert event_time(event({"rand": "1700000000500"}, timestamp=1_700_000_009.0)) == (
        1_700_000_009.0
    )
    assert event_time(event({"rand": "1700000000500"})) == 1_700_000_000.5
    assert event_time(event({}, data={"ts": 1_626_963_869_621})) == 1_626_963_869.621
    assert event_time(event({"rand": "12"})) == 0.0
