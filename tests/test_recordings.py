"""Reading and writing recordings: request lists, mitmproxy flow files and HAR."""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import re
import threading
import zlib
from pathlib import Path

import pytest
from mitmproxy import io as mitm_io

from inspector.model import CapturedRequest
from inspector.recordings import (
    HTTP_METHODS,
    RecordingError,
    flows_from_requests,
    load_each,
    load_requests,
    read_requests,
    recording_label,
    recording_labels,
    replay,
    wire_url,
    write_har,
    write_mitm,
)
from inspector.spec import load_spec

QUIRK_CASES = Path(__file__).resolve().parent.parent / "fixtures" / "requests"
PIXEL = "https://p1.parsely.com/plogger/"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def pixel_url(rand: int, **params: str) -> str:
    query = "&".join([f"rand={rand}", *(f"{k}={v}" for k, v in params.items())])
    return f"{PIXEL}?{query}"


def sample_requests() -> list[CapturedRequest]:
    return [
        CapturedRequest(
            method="GET",
            url=pixel_url(1700000000500, action="pageview", data="%7B%22a%22%3A1%7D"),
            headers=(("User-Agent", "ExampleBrowser/1.0"),),
            timestamp=1700000000.5,
            client_address="203.0.113.7",
            request_id="sample:1",
            response_status=200,
            content_type="image/gif",
        ),
        CapturedRequest(
            method="POST",
            url="https://p1.parsely.com/mobileproxy",
            headers=(("Content-Type", "application/json"),),
            body=b'{"events":[{"action":"pageview","data":{"plan":"basic"}}]}',
            timestamp=1700000001.25,
            request_id="sample:2",
        ),
        CapturedRequest(
            method="GET",
            url="https://www.example.com/article/",
            timestamp=1700000000.125,
            client_address="203.0.113.7",
            request_id="sample:3",
            response_status=200,
            content_type="text/html; charset=utf-8",
        ),
    ]


# --------------------------------------------------------------------------------------
# Request lists


def test_request_list_blocks_headers_and_body(tmp_path):
    path = write(
        tmp_path,
        "session.txt",
        "# A header comment describing the file\n"
        "# expected: nothing in particular\n"
        "\n"
        f"GET {pixel_url(1700000000500, action='pageview')}\n"
        "User-Agent: ExampleBrowser/1.0\n"
        "---\n"
        "POST https://p1.parsely.com/mobileproxy\n"
        "Content-Type: application/json\n"
        "\n"
        '{"events": [\n'
        '  {"action": "pageview"}\n'
        "]}\n"
        "\n",
    )

    first, second = read_requests(path)

    assert first.method == "GET"
    assert first.url == pixel_url(1700000000500, action="pageview")
    assert first.headers == (("User-Agent", "ExampleBrowser/1.0"),)
    assert first.header("user-agent") == "ExampleBrowser/1.0"
    assert first.body == b""
    assert first.origin == "session.txt line 4"
    assert first.request_id == "session.txt:4"
    assert second.method == "POST"
    assert second.headers == (("Content-Type", "application/json"),)
    assert second.body == b'{"events": [\n  {"action": "pageview"}\n]}'
    assert json.loads(second.body) == {"events": [{"action": "pageview"}]}


def test_bare_url_list_reads_one_get_per_line(tmp_path):
    path = write(
        tmp_path,
        "urls.txt",
        f"{pixel_url(1700000000000, action='pageview')}\n"
        f"{pixel_url(1700000002000, action='heartbeat')}\n"
        "\n"
        f"{pixel_url(1700000004000, action='heartbeat')}\n",
    )

    requests = list(read_requests(path))

    assert [r.method for r in requests] == ["GET", "GET", "GET"]
    assert [r.origin for r in requests] == [
        "urls.txt line 1",
        "urls.txt line 2",
        "urls.txt line 4",
    ]
    assert [r.body for r in requests] == [b"", b"", b""]


def test_time_comes_from_annotations_then_rand_then_order(tmp_path):
    path = write(
        tmp_path,
        "timed.txt",
        f"GET {pixel_url(1700000000500)}\n"
        "---\n"
        "# @t=+40ms (no navigation in between)\n"
        f"GET {pixel_url(1700000099999)}\n"
        "---\n"
        f"GET {pixel_url(1700000060500)}\n"
        "---\n"
        "GET https://www.example.com/no-clock\n"
        "---\n"
        "# @t=+2.5s\n"
        "GET https://www.example.com/later\n",
    )

    times = [request.timestamp for request in read_requests(path)]

    assert times == pytest.approx(
        [1700000000.5, 1700000000.54, 1700000060.5, 1700000060.501, 1700000003.0]
    )


def test_list_without_any_clock_leaves_times_at_zero(tmp_path):
    path = write(
        tmp_path,
        "plain.txt",
        "GET https://www.example.com/a\n---\n"
        "GET https://www.example.com/b\n---\n"
        "# @t=+1000ms\nGET https://www.example.com/c\n",
    )

    times = [request.timestamp for request in read_requests(path)]

    assert times == pytest.approx([0.0, 0.0, 1.0])


def test_client_annotation_applies_to_later_requests(tmp_path):
    path = write(
        tmp_path,
        "clients.txt",
        "GET https://www.example.com/before\n---\n"
        "# @client=203.0.113.7 (a reader in the test range)\n"
        "GET https://www.example.com/one\n---\n"
        "GET https://www.example.com/two\n---\n"
        "# @client=198.51.100.2\n"
        "GET https://www.example.com/three\n",
    )

    addresses = [request.client_address for request in read_requests(path)]

    assert addresses == [None, "203.0.113.7", "203.0.113.7", "198.51.100.2"]


def test_raw_http_request_with_host_header_and_version(tmp_path):
    path = write(
        tmp_path,
        "raw.txt",
        "GET /plogger/?rand=1700000000500&action=pageview HTTP/1.1\n"
        "Host: p1.parsely.com\n"
        "Accept: image/*\n",
    )

    (request,) = read_requests(path)

    assert (
        request.url
        == "https://p1.parsely.com/plogger/?rand=1700000000500&action=pageview"
    )
    assert request.host == "p1.parsely.com"
    assert request.header("accept") == "image/*"


def test_pasted_unicode_and_spaces_are_percent_encoded(tmp_path):
    path = write(
        tmp_path, "u.txt", "https://www.example.com/?title=What we’re reading\n"
    )

    (request,) = read_requests(path)

    assert request.url == (
        "https://www.example.com/?title=What%20we%E2%80%99re%20reading"
    )
    assert wire_url(request.url) == request.url


def test_crlf_and_bom_are_accepted(tmp_path):
    path = tmp_path / "windows.txt"
    path.write_bytes(
        "\ufeff# exported on another system\r\n"
        "POST https://p1.parsely.com/mobileproxy\r\n"
        "Content-Type: application/json\r\n\r\n"
        '{"events":[]}\r\n'.encode()
    )

    (request,) = read_requests(path)

    assert request.method == "POST"
    assert request.body == b'{"events":[]}'


def test_bad_request_list_lines_are_reported_and_the_rest_read(tmp_path):
    path = write(
        tmp_path,
        "broken.txt",
        "GET https://www.example.com/good-1\n"
        "this is not a header\n"
        "---\n"
        "hello there\n"
        "---\n"
        "GET https://www.example.com/good-2\n"
        "---\n"
        "GET /relative/without/host\n",
    )
    errors: list[RecordingError] = []

    requests = list(read_requests(path, errors=errors))

    # A GET is whole without headers, so the bad line costs only itself.
    assert [r.url for r in requests] == [
        "https://www.example.com/good-1",
        "https://www.example.com/good-2",
    ]
    assert [e.location for e in errors] == ["line 2", "line 4", "line 8"]
    assert errors[0].message == (
        "expected a header `Name: value` or a blank line before the body, "
        "found `this is not a header`; line skipped"
    )
    assert errors[1].message == (
        "expected a request line such as `GET https://...` or a bare URL, "
        "found `hello there`; line skipped"
    )
    assert errors[2].message == (
        "the target `/relative/without/host` is a path; give a full URL or a "
        "Host header"
    )
    assert str(errors[1]).startswith("broken.txt: line 4: expected a request line")
    assert errors[1].path == str(path)


def test_a_junk_line_in_a_url_list_costs_only_that_line(tmp_path):
    path = write(
        tmp_path,
        "pasted.txt",
        f"{pixel_url(1700000000000)}\n"
        "some junk line\n"
        f"{pixel_url(1700000001000)}\n"
        f"{pixel_url(1700000002000)}\n",
    )

    requests, errors = load_requests([path])

    assert [r.origin for r in requests] == [
        "pasted.txt line 1",
        "pasted.txt line 3",
        "pasted.txt line 4",
    ]
    assert errors == [
        RecordingError(
            path,
            "line 2",
            "expected a URL, a request line or a header `Name: value`, found "
            "`some junk line`; line skipped",
        )
    ]


@pytest.mark.parametrize("method", HTTP_METHODS)
def test_every_http_method_starts_a_request(tmp_path, method):
    path = write(tmp_path, "methods.txt", f"{method} https://www.example.com/x\n")

    requests, errors = load_requests([path])

    assert [(r.method, r.url) for r in requests] == [
        (method, "https://www.example.com/x")
    ]
    assert errors == []


def test_a_word_that_is_not_an_http_method_is_reported_at_its_line(tmp_path):
    path = write(
        tmp_path,
        "methods.txt",
        "POST https://p1.parsely.com/mobileproxy\n"
        "Content-Type: application/json\n"
        "\n"
        '{"events": []}\n'
        f"FETCH {pixel_url(1700000000000)}\n"
        "Accept: */*\n"
        "\n"
        f"GTE {pixel_url(1700000001000)}\n"
        f"{pixel_url(1700000002000)}\n"
        "User-Agent: ExampleBrowser/1.0\n"
        "DELETE /basket\n"
        "Host: www.example.com\n",
    )

    requests, errors = load_requests([path])

    # The POST before the bad line is whole; the bare URL and its header after it
    # still read, and so does a real method with a path and a Host header.
    assert [(r.method, r.origin, r.headers) for r in requests] == [
        (
            "POST",
            "methods.txt line 1",
            (("Content-Type", "application/json"),),
        ),
        ("GET", "methods.txt line 9", (("User-Agent", "ExampleBrowser/1.0"),)),
        ("DELETE", "methods.txt line 11", (("Host", "www.example.com"),)),
    ]
    assert requests[0].body == b'{"events": []}'
    assert requests[2].url == "https://www.example.com/basket"
    assert errors == [
        RecordingError(
            path,
            "line 5",
            "`FETCH` is not an HTTP method; use one of GET, POST, HEAD, PUT, DELETE, "
            "OPTIONS, PATCH, CONNECT, TRACE (a pixel is a GET); lines 5 to 6 skipped",
        ),
        RecordingError(
            path,
            "line 8",
            "`GTE` is not an HTTP method (did you mean GET?); line skipped",
        ),
    ]


def test_after_a_bad_line_reading_resumes_at_the_next_request_line(tmp_path):
    path = write(
        tmp_path,
        "blocks.txt",
        "POST https://p1.parsely.com/mobileproxy\n"
        "Content-Type: application/json\n"
        '{"events": [\n'
        '  {"action": "pageview"}\n'
        "]}\n"
        "GET https://www.example.com/next\n"
        "User-Agent: ExampleBrowser/1.0\n"
        "not a header\n"
        "Accept: */*\n"
        "\n"
        "https://www.example.com/last\n"
        "\n"
        "stray words\n"
        "more of them\n"
        "\n",
    )

    requests, errors = load_requests([path])

    # The POST's body cannot be told apart any more, so the POST is dropped; the
    # GET keeps what came before the bad line.
    assert [(r.method, r.url, r.headers) for r in requests] == [
        (
            "GET",
            "https://www.example.com/next",
            (("User-Agent", "ExampleBrowser/1.0"),),
        ),
        ("GET", "https://www.example.com/last", ()),
    ]
    assert [(e.location, e.message) for e in errors] == [
        (
            "line 3",
            "expected a header `Name: value` or a blank line before the body, found "
            '`{"events": [` (a body must come after a blank line); request skipped',
        ),
        (
            "line 8",
            "expected a header `Name: value` or a blank line before the body, found "
            "`not a header`; lines 8 to 9 skipped",
        ),
        (
            "line 13",
            "expected a URL or a request line, found `stray words`; lines 13 to 14 "
            "skipped",
        ),
    ]


def test_a_get_request_has_no_body(tmp_path):
    path = write(
        tmp_path,
        "get.txt",
        "GET https://www.example.com/a\n\nseen in the console\n---\n"
        "GET https://www.example.com/b\n",
    )

    requests, errors = load_requests([path])

    assert [(r.url, r.body) for r in requests] == [
        ("https://www.example.com/a", b""),
        ("https://www.example.com/b", b""),
    ]
    assert [(e.location, e.message) for e in errors] == [
        (
            "line 3",
            "a GET request has no body, found `seen in the console`; line skipped",
        )
    ]


def test_a_pipe_is_read_like_a_file(tmp_path):
    # A named pipe, as the shell's `<(...)` passes one: it cannot seek.
    fifo = tmp_path / "urls"
    os.mkfifo(fifo)
    writer = threading.Thread(
        target=fifo.write_text, args=(f"{pixel_url(1700000000000)}\n",)
    )
    writer.start()

    requests, errors = load_requests([fifo])

    writer.join(timeout=30)
    assert errors == []
    assert [r.url for r in requests] == [pixel_url(1700000000000)]
    assert requests[0].origin == "urls line 1"


def test_quoted_bare_urls_are_read_without_their_quotes(tmp_path):
    path = write(
        tmp_path,
        "quoted.txt",
        f'"{pixel_url(1700000000000)}"\n'
        f"'{pixel_url(1700000001000)}'\n"
        f'"{pixel_url(1700000002000)}\n'
        f"'{pixel_url(1700000003000)}',\n"
        f'"{pixel_url(1700000004000)}";\n',
    )

    requests, errors = load_requests([path])

    assert [r.url for r in requests] == [
        pixel_url(1700000000000),
        pixel_url(1700000001000),
        pixel_url(1700000003000),
        pixel_url(1700000004000),
    ]
    # Only a matching pair is taken off: the third line stays a bad line.
    assert [error.location for error in errors] == ["line 3"]


def test_list_punctuation_after_a_bare_url_is_not_part_of_it(tmp_path):
    path = write(
        tmp_path,
        "list.txt",
        f"{pixel_url(1700000000000)},\n"
        f"  {pixel_url(1700000001000)};\n"
        f"<{pixel_url(1700000002000)}>\n"
        # A comma of the URL's own (pasted decoded) keeps the last one too.
        f"{pixel_url(1700000003000, title='a,b')},\n"
        f"GET {pixel_url(1700000004000)},\n",
    )

    requests, errors = load_requests([path])

    assert errors == []
    assert [r.url for r in requests] == [
        pixel_url(1700000000000),
        pixel_url(1700000001000),
        pixel_url(1700000002000),
        pixel_url(1700000003000, title="a,b") + ",",
        pixel_url(1700000004000) + ",",
    ]


def test_urls_side_by_side_on_one_line_are_requests_of_their_own(tmp_path):
    first, second, third = (pixel_url(1700000000000 + n * 1000) for n in range(3))
    path = write(
        tmp_path,
        "pasted.txt",
        f"{first} {second}\n"
        f'"{first}", "{second}",\t"{third}"\n'
        # Not all of it is URLs: one request, as before.
        f"{first} and {second}\n",
    )

    requests, errors = load_requests([path])

    assert errors == []
    assert [(r.request_id, r.origin, r.url) for r in requests] == [
        ("pasted.txt:1.1", "pasted.txt line 1, URL 1", first),
        ("pasted.txt:1.2", "pasted.txt line 1, URL 2", second),
        ("pasted.txt:2.1", "pasted.txt line 2, URL 1", first),
        ("pasted.txt:2.2", "pasted.txt line 2, URL 2", second),
        ("pasted.txt:2.3", "pasted.txt line 2, URL 3", third),
        ("pasted.txt:3", "pasted.txt line 3", f"{first}%20and%20{second}"),
    ]


def test_several_urls_after_one_method_are_requests_of_their_own(tmp_path):
    first, second, third = (pixel_url(1700000000000 + n * 1000) for n in range(3))
    path = write(
        tmp_path,
        "pasted.txt",
        f"GET {first} {second}\n"
        f"HEAD {first}\t{second} {third} HTTP/1.1\n"
        f'GET "{first}", "{second}"\n'
        # Not all of it is URLs: one request, as for bare URLs.
        f"GET {first} and {second}\n",
    )

    requests, errors = load_requests([path])

    assert errors == []
    assert [(r.request_id, r.origin, r.method, r.url) for r in requests] == [
        ("pasted.txt:1.1", "pasted.txt line 1, URL 1", "GET", first),
        ("pasted.txt:1.2", "pasted.txt line 1, URL 2", "GET", second),
        ("pasted.txt:2.1", "pasted.txt line 2, URL 1", "HEAD", first),
        ("pasted.txt:2.2", "pasted.txt line 2, URL 2", "HEAD", second),
        ("pasted.txt:2.3", "pasted.txt line 2, URL 3", "HEAD", third),
        ("pasted.txt:3.1", "pasted.txt line 3, URL 1", "GET", first),
        ("pasted.txt:3.2", "pasted.txt line 3, URL 2", "GET", second),
        ("pasted.txt:4", "pasted.txt line 4", "GET", f"{first}%20and%20{second}"),
    ]


def test_a_word_that_is_no_method_before_several_urls_is_reported(tmp_path):
    first, second = pixel_url(1700000000000), pixel_url(1700000001000)
    path = write(tmp_path, "pasted.txt", f"FETCH {first} {second}\n{first}\n")

    requests, errors = load_requests([path])

    assert [r.request_id for r in requests] == ["pasted.txt:2"]
    assert [(e.location, e.message) for e in errors] == [
        (
            "line 1",
            "`FETCH` is not an HTTP method; use one of GET, POST, HEAD, PUT, "
            "DELETE, OPTIONS, PATCH, CONNECT, TRACE (a pixel is a GET); line skipped",
        )
    ]


@pytest.mark.parametrize("request_line", ["{0} {1}", "GET {0} {1}"])
def test_a_header_after_several_urls_is_not_given_to_one_of_them(
    tmp_path, request_line
):
    first, second = pixel_url(1700000000000), pixel_url(1700000001000)
    path = write(
        tmp_path,
        "pasted.txt",
        request_line.format(first, second)
        + "\nUser-Agent: ExampleBrowser/1.0\nAccept: image/*\n"
        + f"{pixel_url(1700000002000)}\nUser-Agent: ExampleBrowser/1.0\n",
    )

    requests, errors = load_requests([path])

    # The GETs are whole without headers; the last URL is alone on its line.
    assert [(r.request_id, r.headers) for r in requests] == [
        ("pasted.txt:1.1", ()),
        ("pasted.txt:1.2", ()),
        ("pasted.txt:4", (("User-Agent", "ExampleBrowser/1.0"),)),
    ]
    assert errors == [
        RecordingError(
            path,
            "line 2",
            "a header after the 2 URLs of line 1 could belong to any of them, found "
            "`User-Agent: ExampleBrowser/1.0`; give each request a line of its own; "
            "lines 2 to 3 skipped",
        )
    ]


def test_a_body_after_several_urls_drops_their_requests(tmp_path):
    first, second = pixel_url(1700000000000), pixel_url(1700000001000)
    path = write(
        tmp_path,
        "pasted.txt",
        f"POST {first} {second}\nContent-Type: application/json\n\n"
        '{"events": []}\n'
        "---\n"
        f"POST {first} {second}\n\n"
        '{"events": []}\n'
        "---\n"
        # Nothing follows: two requests without a body, as written.
        f"POST {first} {second}\n",
    )

    requests, errors = load_requests([path])

    assert [(r.request_id, r.method, r.body) for r in requests] == [
        ("pasted.txt:10.1", "POST", b""),
        ("pasted.txt:10.2", "POST", b""),
    ]
    assert errors == [
        RecordingError(
            path,
            "line 2",
            "a header after the 2 URLs of line 1 could belong to any of them, found "
            "`Content-Type: application/json`; give each request a line of its own; "
            "the 2 requests of line 1 skipped",
        ),
        RecordingError(
            path,
            "line 8",
            "a body after the 2 URLs of line 6 could belong to any of them, found "
            '`{"events": []}`; give each request a line of its own; the 2 requests '
            "of line 6 skipped",
        ),
    ]


def test_lines_after_several_urls_that_are_no_header_or_body(tmp_path):
    first, second = pixel_url(1700000000000), pixel_url(1700000001000)
    path = write(
        tmp_path,
        "pasted.txt",
        f"{first} {second}\nnot a header\n{first} {second}\n\nnot a URL\n"
        f"GET {first} {second}\n\nnot a body\n",
    )

    requests, errors = load_requests([path])

    assert len(requests) == 6
    assert [(e.location, e.message) for e in errors] == [
        (
            "line 2",
            "expected a URL or a request line, found `not a header`; line skipped",
        ),
        ("line 5", "expected a URL or a request line, found `not a URL`; line skipped"),
        ("line 8", "a GET request has no body, found `not a body`; line skipped"),
    ]


def test_a_bad_url_among_several_is_named_by_its_place_on_the_line(tmp_path):
    first, second = pixel_url(1700000000000), pixel_url(1700000001000)
    path = write(tmp_path, "pasted.txt", f"{first} http://[::1/x {second}\n")

    requests, errors = load_requests([path])

    assert [r.request_id for r in requests] == ["pasted.txt:1.1", "pasted.txt:1.3"]
    [error] = errors
    assert error.location == "line 1, URL 2"
    assert error.message.startswith("`http://[::1/x` is not a valid URL (")


def test_a_json_list_on_a_line_of_a_request_list_is_split(tmp_path):
    first, second = pixel_url(1700000000000), pixel_url(1700000001000)
    path = write(
        tmp_path,
        "pasted.txt",
        "# copied from the console\n"
        f'["{first}","{second}"]\n'
        f'  [ "{first}" ],\n'
        # Not all URLs: not split, and reported as a line that fits nowhere.
        f'["{first}", 3]\n',
    )

    requests, errors = load_requests([path])

    assert [(r.request_id, r.url) for r in requests] == [
        ("pasted.txt:2.1", first),
        ("pasted.txt:2.2", second),
        ("pasted.txt:3", first),
    ]
    assert [e.location for e in errors] == ["line 4"]


def test_a_url_with_an_unmatched_quote_is_reported_not_taken_for_a_header(tmp_path):
    path = write(
        tmp_path, "quote.txt", f"{pixel_url(1700000000000)}\n'{pixel_url(1)}\n"
    )

    requests, errors = load_requests([path])

    assert [r.headers for r in requests] == [()]
    assert [error.location for error in errors] == ["line 2"]
    assert "expected a URL, a request line or a header" in errors[0].message


def test_scheme_relative_urls_are_read_as_https(tmp_path):
    path = write(
        tmp_path,
        "relative.txt",
        "//p1.parsely.com/plogger/?rand=1700000000000&action=pageview\n"
        f"{pixel_url(1700000001000)}\n"
        "POST //p1.parsely.com/mobileproxy\n"
        "\n"
        '{"events": []}\n'
        "---\n"
        "GET //plogger/?rand=1700000003000 HTTP/1.1\n"
        "Host: p1.parsely.com\n",
    )

    requests, errors = load_requests([path])

    assert errors == []
    assert [(r.method, r.url) for r in requests] == [
        ("GET", "https://p1.parsely.com/plogger/?rand=1700000000000&action=pageview"),
        ("GET", pixel_url(1700000001000)),
        ("POST", "https://p1.parsely.com/mobileproxy"),
        # An origin-form path that merely starts with two slashes stays a path.
        ("GET", "https://p1.parsely.com//plogger/?rand=1700000003000"),
    ]


def test_a_url_without_scheme_gets_a_hint(tmp_path):
    path = write(tmp_path, "bare.txt", "GET p1.parsely.com/plogger/?rand=1\n")

    requests, errors = load_requests([path])

    assert requests == []
    assert [e.message for e in errors] == [
        "the URL `p1.parsely.com/plogger/?rand=1` has no scheme; start it with "
        "`https://`; line skipped"
    ]


def test_lines_that_are_not_utf8_are_reported_and_the_rest_read(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(
        f"{pixel_url(1700000000000, title='plain')}\n".encode()
        + f"{pixel_url(1700000001000, title='caf')}".encode()
        + b"\xe9\n"
        + f"{pixel_url(1700000002000, title='also plain')}\n".encode()
    )
    column = len(pixel_url(1700000001000, title="caf")) + 1

    requests, errors = load_requests([path])

    assert [r.url for r in requests] == [
        pixel_url(1700000000000, title="plain"),
        pixel_url(1700000001000, title="caf%EF%BF%BD"),
        pixel_url(1700000002000, title="also%20plain"),
    ]
    assert errors == [
        RecordingError(
            path,
            "line 2",
            f"not UTF-8 text: byte 0xE9 at column {column} was read as U+FFFD; "
            "save the list as UTF-8 to keep the character",
        )
    ]


def _list_with_bad_lines_1_2_3_and_5(tmp_path: Path) -> Path:
    """Problems found in three passes: URLs (1, 2), bytes (3), lines (3, 5)."""
    path = tmp_path / "garbage.txt"
    path.write_bytes(
        b"GET http://[::1\n"
        b"http://example.com:port/\n"
        b"caf\xe9\n" + pixel_url(1700000000000).encode() + b"\nbad five\n"
    )
    return path


def test_problems_are_reported_in_line_order(tmp_path):
    path = _list_with_bad_lines_1_2_3_and_5(tmp_path)

    requests, errors = load_requests([path])

    assert [r.request_id for r in requests] == ["garbage.txt:4"]
    assert [(error.location, error.message) for error in errors] == [
        (
            "line 1",
            "`http://[::1` is not a valid URL (an IPv6 address in brackets that is "
            "not closed or not valid); request skipped",
        ),
        (
            "line 2",
            "`http://example.com:port/` is not a valid URL (the port 'port' is not a "
            "number); request skipped",
        ),
        (
            "line 3",
            "not UTF-8 text: byte 0xE9 at column 4 was read as U+FFFD; save the "
            "list as UTF-8 to keep the character",
        ),
        (
            "line 3",
            "expected a URL, a request line or a header `Name: value`, found "
            "`caf\ufffd`; line skipped",
        ),
        (
            "line 5",
            "expected a URL, a request line or a header `Name: value`, found "
            "`bad five`; line skipped",
        ),
    ]


def test_strict_reading_stops_at_the_first_problem_in_the_file(tmp_path):
    path = write(
        tmp_path,
        "list.txt",
        f"{pixel_url(1700000000000)}\nGET http://[::1\n{pixel_url(1)}\nnope\n",
    )
    read = []

    with pytest.raises(RecordingError) as raised:
        read.extend(read_requests(path))

    # The bad URL is found last, but stands first: the request above it is read.
    assert raised.value.location == "line 2"
    assert [request.request_id for request in read] == ["list.txt:1"]


def test_curl_commands_get_a_hint(tmp_path):
    path = write(
        tmp_path, "curl.txt", "curl 'https://p1.parsely.com/plogger/?rand=1'\n"
    )

    requests, errors = load_requests([path])

    assert requests == []
    assert errors[0].location == "line 1"
    assert errors[0].message.startswith("a curl command is not a request line")


def test_strict_reading_raises_at_the_first_bad_block(tmp_path):
    path = write(tmp_path, "broken.txt", "GET https://www.example.com/\nnope\n")

    with pytest.raises(RecordingError) as raised:
        list(read_requests(path))

    assert raised.value.location == "line 2"


def test_binary_garbage_is_not_read_as_text(tmp_path):
    path = tmp_path / "capture.bin"
    path.write_bytes(b"\x00\xff\xfe\x81garbage")

    requests, errors = load_requests([path])

    assert requests == []
    assert errors == [
        RecordingError(
            path,
            "line 1",
            "not UTF-8 text, and not a mitmproxy flow file or HAR either",
        )
    ]


def test_a_binary_line_is_one_problem_and_the_other_lines_are_read(tmp_path):
    first, second = pixel_url(1700000000000), pixel_url(1700000001000)
    path = tmp_path / "midbin.txt"
    path.write_bytes(
        f"{first}\n".encode() + b"\x00\x01\x02binary\xff\xfe\n" + f"{second}\n".encode()
    )

    requests, errors = load_requests([path])

    assert [(r.request_id, r.url) for r in requests] == [
        ("midbin.txt:1", first),
        ("midbin.txt:3", second),
    ]
    assert errors == [
        RecordingError(
            path,
            "line 2",
            "binary data, not text (byte 0x00 at column 1), found "
            "`\x00\x01\x02binary\ufffd\ufffd`; line skipped",
        )
    ]


@pytest.mark.parametrize(
    ("binary", "column"),
    [
        (b"\x00", 1),
        (b"x\x07", 2),
        (b"\x7f\xff", 1),
        (b"ab\x1c\x0bcd\x1f", 3),
        (b"x\x1b", 2),
        (b"\x0bx", 1),
        (b"ab\x0c", 3),
    ],
)
def test_every_kind_of_binary_line_is_named_by_its_line(tmp_path, binary, column):
    path = tmp_path / "list.txt"
    path.write_bytes(
        b"# a list\n" + binary + b"\r\n" + pixel_url(1700000000000).encode() + b"\n"
    )

    requests, errors = load_requests([path])

    # Line breaks only end a line: \x0b and \x1c in it do not shift the numbers.
    assert [r.request_id for r in requests] == ["list.txt:3"]
    assert [(e.location, e.message.split(" (")[0]) for e in errors] == [
        ("line 2", "binary data, not text")
    ]
    assert f"(byte 0x{binary[column - 1]:02X} at column {column})" in errors[0].message


@pytest.mark.parametrize(
    "coloured",
    [
        "\x1b[32m{url}\x1b[0m",
        "\x1b[1;31mGET {url}\x1b[0m",
        "\x1b[38;5;208m{url}\x1b[m",
        "\x1b(B\x1b[m{url}",
        "\x1b]0;tail -f pixels.log\x07{url}",
        "\x1b]8;;{url}\x1b\\{url}\x1b]8;;\x1b\\",
    ],
    ids=["csi", "csi-params", "csi-256", "charset", "osc-bel", "osc-link"],
)
def test_a_coloured_log_line_is_read_without_its_colours(tmp_path, coloured):
    url = pixel_url(1700000000000)
    path = write(tmp_path, "tail.log", f"{coloured.format(url=url)}\n{url}\n")

    requests, errors = load_requests([path])

    assert errors == []
    assert [(r.request_id, r.method, r.url) for r in requests] == [
        ("tail.log:1", "GET", url),
        ("tail.log:2", "GET", url),
    ]


@pytest.mark.parametrize(
    ("line", "byte", "column"),
    [
        ("https://www.example.com/a\x1b", 0x1B, 26),
        ("https://www.example.com/a\x1b[", 0x1B, 26),
        ("\x1bhttps://www.example.com/a", 0x1B, 1),
        ("https://www.example.com/a\x0b", 0x0B, 26),
        ("GET\x0chttps://www.example.com/a", 0x0C, 4),
    ],
    ids=["lone-esc", "unfinished-csi", "esc-first", "vt", "ff"],
)
def test_a_control_character_left_in_a_line_is_no_part_of_a_url(
    tmp_path, line, byte, column
):
    path = write(tmp_path, "odd.txt", f"{line}\nhttps://www.example.com/b\n")

    requests, errors = load_requests([path])

    assert [r.url for r in requests] == ["https://www.example.com/b"]
    shown = line.strip()
    assert errors == [
        RecordingError(
            path,
            "line 1",
            f"binary data, not text (byte 0x{byte:02X} at column {column}), found "
            f"`{shown}`; line skipped",
        )
    ]


def test_a_log_dense_with_colours_is_text_not_binary(tmp_path):
    # More ESC bytes than one in ten: the sequences go before the file is judged.
    lines = [
        f"\x1b[2m\x1b[36m\x1b[1mhttps://x.example/{n}\x1b[0m\x1b[0m" for n in range(300)
    ]
    path = write(tmp_path, "dense.log", "\n".join(lines) + "\n")

    requests, errors = load_requests([path])

    assert errors == []
    assert [r.url for r in requests[:2]] == [
        "https://x.example/0",
        "https://x.example/1",
    ]
    assert len(requests) == 300


def test_a_file_of_lone_escapes_is_refused_as_binary(tmp_path):
    path = tmp_path / "escapes.txt"
    path.write_bytes(b"\x1b\x0b\x0c\x1bx" * 400)

    requests, errors = load_requests([path])

    assert requests == []
    assert errors == [
        RecordingError(
            path,
            "line 1",
            "not UTF-8 text, and not a mitmproxy flow file or HAR either",
        )
    ]


def test_a_binary_line_drops_the_request_whose_body_it_interrupts(tmp_path):
    path = tmp_path / "list.txt"
    path.write_bytes(
        b'POST https://p1.parsely.com/mobileproxy\n\n{"events": []}\n\x00\x00\n'
        b"more\n---\nGET https://www.example.com/\n\x01\nPOST https://x.example/\n"
    )

    requests, errors = load_requests([path])

    assert [(r.request_id, r.method) for r in requests] == [
        ("list.txt:7", "GET"),
        ("list.txt:9", "POST"),
    ]
    assert [(e.location, e.message.rsplit("; ", 1)[1]) for e in errors] == [
        ("line 4", "request skipped"),
        ("line 8", "line skipped"),
    ]


@pytest.mark.parametrize(
    ("data", "line"),
    [
        # Binary from the start, text after it.
        (bytes(range(256)) * 8 + (pixel_url(1700000000000) + "\n").encode() * 2, 1),
        # Text at the start, binary after it.
        ((pixel_url(1700000000000) + "\n").encode() + bytes(range(256)) * 40, 2),
        # NULs are valid UTF-8, and no text.
        (b"\x00" * 5000, 1),
    ],
    ids=["binary-head", "binary-tail", "nuls"],
)
def test_a_file_that_is_mostly_binary_is_refused_whole(tmp_path, data, line):
    path = tmp_path / "capture.txt"
    path.write_bytes(data)

    requests, errors = load_requests([path])

    assert requests == []
    assert errors == [
        RecordingError(
            path,
            f"line {line}",
            "not UTF-8 text, and not a mitmproxy flow file or HAR either",
        )
    ]


def test_quirk_cases_parse_without_errors():
    cases = sorted(QUIRK_CASES.glob("[0-9][0-9]-*.txt"))
    assert len(cases) >= 19
    for case in cases:
        text = case.read_text(encoding="utf-8")
        blocks = text.count("\n---\n") + 1

        requests, errors = load_requests([case])

        assert errors == [], case.name
        assert len(requests) == blocks, case.name
        for request in requests:
            assert request.url.startswith(("http://", "https://")), case.name
            assert request.method in {"GET", "POST"}, case.name
            if request.method == "GET":
                assert request.timestamp > 1e9, case.name


# --------------------------------------------------------------------------------------
# mitmproxy flow files


def test_mitm_round_trip_keeps_every_field(tmp_path):
    path = tmp_path / "session.mitm"
    originals = sample_requests()

    written = write_mitm(originals, path)
    read_back = list(read_requests(path))

    assert written == 3
    assert len(read_back) == 3
    for original, copy in zip(originals, read_back, strict=True):
        assert copy.method == original.method
        assert copy.url == original.url
        assert copy.body == original.body
        assert copy.timestamp == pytest.approx(original.timestamp)
        assert copy.client_address == original.client_address
        assert copy.response_status == original.response_status
        assert copy.content_type == original.content_type
        assert set(original.headers) <= set(copy.headers)
    assert read_back[0].headers == (("User-Agent", "ExampleBrowser/1.0"),)
    assert read_back[1].header("content-length") == str(len(originals[1].body))
    assert [r.origin for r in read_back] == [
        "session.mitm flow 1",
        "session.mitm flow 2",
        "session.mitm flow 3",
    ]


def test_written_flows_are_readable_by_mitmproxy_itself(tmp_path):
    path = tmp_path / "session.mitm"
    write_mitm(sample_requests(), path)

    with open(path, "rb") as stream:
        flows = list(mitm_io.FlowReader(stream).stream())

    assert [flow.request.method for flow in flows] == ["GET", "POST", "GET"]
    assert flows[0].request.query["action"] == "pageview"
    assert flows[0].response.status_code == 200
    assert flows[1].response is None
    assert flows[0].client_conn.peername == ("203.0.113.7", 0)


def test_writing_twice_gives_identical_bytes(tmp_path):
    first, second = tmp_path / "a.mitm", tmp_path / "b.mitm"

    write_mitm(sample_requests(), first)
    write_mitm(sample_requests(), second)

    assert first.read_bytes() == second.read_bytes()


def test_live_flow_fields_are_read(tmp_path, flow_factory):
    flow = flow_factory(
        pixel_url(1700000000500, action="pageview"),
        client_address="192.0.2.10",
        status=204,
        response_headers={"Content-Type": "image/gif"},
    )
    path = tmp_path / "live.mitm"
    with open(path, "wb") as stream:
        mitm_io.FlowWriter(stream).add(flow)

    (request,) = read_requests(path)

    assert request.request_id == "live.mitm:1"
    assert request.client_address == "192.0.2.10"
    assert request.timestamp == flow.request.timestamp_start
    assert request.response_status == 204
    assert request.content_type == "image/gif"
    assert request.origin == "live.mitm flow 1"


def test_flow_ids_are_the_file_and_the_flow_number(tmp_path, flow_factory):
    from mitmproxy.test import tflow

    first = flow_factory(pixel_url(1700000000000, action="pageview"))
    connect = flow_factory("https://p1.parsely.com:443/")
    connect.request.method = "CONNECT"
    last = flow_factory(pixel_url(1700000001000, action="heartbeat"))
    path = tmp_path / "session.mitm"
    with open(path, "wb") as stream:
        writer = mitm_io.FlowWriter(stream)
        for flow in (first, tflow.ttcpflow(), connect, last):
            writer.add(flow)

    requests = list(read_requests(path))

    # Every flow counts, read or not, as in the flow file's messages.
    assert [(r.request_id, r.origin) for r in requests] == [
        ("session.mitm:1", "session.mitm flow 1"),
        ("session.mitm:4", "session.mitm flow 4"),
    ]


def test_corrupt_flow_file_keeps_the_flows_before_the_break(tmp_path):
    whole = tmp_path / "whole.mitm"
    write_mitm(sample_requests(), whole)
    data = whole.read_bytes()
    with open(whole, "rb") as stream:
        reader = mitm_io.FlowReader(stream)
        next(iter(reader.stream()))
        end_of_first_flow = stream.tell()
    broken = tmp_path / "broken.mitm"
    broken.write_bytes(data[: end_of_first_flow + 40])

    requests, errors = load_requests([broken])

    assert [r.method for r in requests] == ["GET"]
    assert errors == [
        RecordingError(
            broken,
            f"flow 2 (byte {end_of_first_flow})",
            "the file ends in the middle of this flow: it was cut short; the flow "
            "before it was read",
        )
    ]


def test_damaged_data_between_flows_stops_with_the_count_read(tmp_path):
    whole = tmp_path / "whole.mitm"
    write_mitm(sample_requests(), whole)
    data = whole.read_bytes()
    with open(whole, "rb") as stream:
        reader = mitm_io.FlowReader(stream)
        iterator = iter(reader.stream())
        next(iterator)
        next(iterator)
        end_of_second_flow = stream.tell()
    damaged = tmp_path / "damaged.mitm"
    damaged.write_bytes(
        data[:end_of_second_flow] + b"garbage" + data[end_of_second_flow:]
    )

    requests, errors = load_requests([damaged])

    assert [r.method for r in requests] == ["GET", "POST"]
    assert errors == [
        RecordingError(
            damaged,
            f"flow 3 (byte {end_of_second_flow})",
            "the data is not a mitmproxy flow (a damaged file, or not a flow "
            "file); the 2 flows before it were read",
        )
    ]


def test_flow_errors_are_kept_only_when_no_answer_came(tmp_path, flow_factory):
    from inspector.addon import captured_from_flow

    refused = flow_factory(pixel_url(1), status=None, error="Connection refused.")
    late_error = flow_factory(pixel_url(2), status=200, error="Client disconnected.")
    path = tmp_path / "errors.mitm"
    with open(path, "wb") as stream:
        writer = mitm_io.FlowWriter(stream)
        writer.add(refused)
        writer.add(late_error)

    requests = list(read_requests(path))

    assert [r.error for r in requests] == ["Connection refused.", None]
    assert [captured_from_flow(f).error for f in (refused, late_error)] == [
        "Connection refused.",
        None,
    ]


def test_request_errors_survive_writing_both_formats(tmp_path):
    failed = CapturedRequest(
        method="GET",
        url=pixel_url(1700000000500),
        timestamp=1700000000.5,
        request_id="blocked:1",
        error="net::ERR_BLOCKED_BY_CLIENT",
    )
    flows, har = tmp_path / "blocked.mitm", tmp_path / "blocked.har"
    write_mitm([failed], flows)
    write_har([failed], har)

    assert [r.error for r in read_requests(flows)] == ["net::ERR_BLOCKED_BY_CLIENT"]
    assert [r.error for r in read_requests(har)] == ["net::ERR_BLOCKED_BY_CLIENT"]


def test_file_named_mitm_that_is_not_a_flow_file(tmp_path):
    path = write(tmp_path, "notes.mitm", "just some notes\n")

    requests, errors = load_requests([path])

    assert requests == []
    assert [(e.location, e.message) for e in errors] == [
        (
            "flow 1 (byte 0)",
            "the data is not a mitmproxy flow (a damaged file, or not a flow file); "
            "no flow before it could be read",
        )
    ]


def test_flow_file_is_detected_by_content_whatever_its_name(tmp_path):
    path = tmp_path / "capture.dat"
    write_mitm(sample_requests(), path)

    assert len(list(read_requests(path))) == 3


# --------------------------------------------------------------------------------------
# HAR


def test_har_round_trip_through_mitmproxy_exporter(tmp_path):
    path = tmp_path / "session.har"
    originals = sample_requests()

    write_har(originals, path)
    read_back = list(read_requests(path))
    document = json.loads(path.read_text(encoding="utf-8"))

    assert document["log"]["creator"]["name"] == "mitmproxy"
    assert len(read_back) == 3
    for original, copy in zip(originals, read_back, strict=True):
        assert copy.method == original.method
        assert copy.url == original.url
        assert copy.body == original.body
        assert copy.timestamp == pytest.approx(original.timestamp, abs=1e-6)
        assert copy.client_address == original.client_address
        assert copy.response_status == original.response_status
        assert copy.content_type == original.content_type
    assert [r.origin for r in read_back] == [
        "session.har entry 1",
        "session.har entry 2",
        "session.har entry 3",
    ]
    assert read_back[0].request_id == "session.har:1"


def test_mitmproxy_reads_our_har_too(tmp_path):
    path = tmp_path / "session.har"
    write_har(sample_requests(), path)

    with open(path, "rb") as stream:
        flows = list(mitm_io.FlowReader(stream).stream())

    assert [flow.request.pretty_url for flow in flows] == [
        request.url for request in sample_requests()
    ]


def test_compressed_har(tmp_path):
    path = tmp_path / "session.zhar"

    write_har(sample_requests(), path)

    assert json.loads(zlib.decompress(path.read_bytes()))["log"]["entries"]
    assert len(list(read_requests(path))) == 3


def test_gzip_compressed_har_is_read_too(tmp_path):
    import gzip

    har = tmp_path / "session.har"
    write_har(sample_requests(), har)
    zhar = tmp_path / "session.zhar"
    zhar.write_bytes(gzip.compress(har.read_bytes()))

    requests, errors = load_requests([zhar])

    assert errors == []
    assert [r.url for r in requests] == [r.url for r in sample_requests()]


@pytest.mark.parametrize("name", ["demo.har.gz", "gz.har", "capture", "day.mitm"])
def test_gzip_is_recognised_by_its_magic_bytes_whatever_the_name(tmp_path, name):
    import gzip

    har = tmp_path / "session.har"
    write_har(sample_requests(), har)
    path = tmp_path / name
    path.write_bytes(gzip.compress(har.read_bytes()))

    requests, errors = load_requests([path])

    assert errors == []
    assert [r.url for r in requests] == [r.url for r in sample_requests()]
    assert requests[0].request_id == f"{name}:1"


def test_a_gzip_file_holds_any_format(tmp_path):
    import gzip

    flows = tmp_path / "session.mitm"
    write_mitm(sample_requests(), flows)
    listed = "\n".join(pixel_url(1700000000000 + n) for n in range(3)) + "\nnope\n"
    mitm_gz = tmp_path / "session.mitm.gz"
    mitm_gz.write_bytes(gzip.compress(flows.read_bytes()))
    list_gz = tmp_path / "list.txt.gz"
    list_gz.write_bytes(gzip.compress(listed.encode()))
    empty_gz = tmp_path / "empty.gz"
    empty_gz.write_bytes(gzip.compress(b"\n"))

    per_file, errors = load_each([mitm_gz, list_gz, empty_gz])

    assert [len(requests) for requests in per_file] == [3, 3, 0]
    assert per_file[1][2].request_id == "list.txt.gz:3"
    assert [str(error) for error in errors] == [
        "list.txt.gz: line 4: expected a URL, a request line or a header "
        "`Name: value`, found `nope`; line skipped",
        "empty.gz: the file is empty once decompressed",
    ]


def test_a_gzip_file_is_decompressed_only_up_to_the_limit(tmp_path, monkeypatch):
    import gzip

    from inspector import recordings

    monkeypatch.setattr(recordings, "INFLATED_LIMIT_BYTES", 1000)
    line = pixel_url(1700000000000) + "\n"
    path = tmp_path / "day.txt.gz"
    path.write_bytes(gzip.compress(line.encode() * 100))

    requests, errors = load_requests([path])

    # The line the limit cuts is left out.
    assert len(requests) == 1000 // len(line)
    assert errors == [
        RecordingError(
            path,
            None,
            "reading stopped after the first 1000 bytes of what it holds: a gzip "
            "file is decompressed up to that much; decompress it (gunzip) to read "
            "all of it",
        )
    ]


def _zhar_of(
    tmp_path: Path, entries: int, padding: int = 0, *, noise: bool = False
) -> Path:
    """A .zhar of `entries` pixel entries, each with `padding` bytes of header:
    repeated, so that it compresses very well, or with `noise`, hardly at all."""
    requests = [
        CapturedRequest(
            method="GET",
            url=pixel_url(1700000000000 + n),
            headers=(
                (
                    "X-Padding",
                    random.Random(n).randbytes(padding // 2).hex()
                    if noise
                    else "x" * padding,
                ),
            ),
            timestamp=1700000000.0 + n,
            request_id=f"padded:{n}",
        )
        for n in range(entries)
    ]
    path = tmp_path / "padded.zhar"
    write_har(requests, path)
    return path


def test_a_zhar_is_decompressed_only_up_to_the_limit(tmp_path, monkeypatch):
    from inspector import recordings

    # 100 entries of about 10 KB each: about 1 MB of HAR in a few KB of zlib.
    path = _zhar_of(tmp_path, 100, padding=10_000)
    inflated = zlib.decompress(path.read_bytes())
    limit = 1 << 18
    monkeypatch.setattr(recordings, "INFLATED_LIMIT_BYTES", limit)
    # The entries that end before the limit, and the one it cuts.
    ends = [m.end() for m in re.finditer(rb"\n      }", inflated)]
    complete = sum(1 for end in ends if end <= limit)

    requests, errors = load_requests([path])

    assert len(inflated) > 4 * limit > 4 * path.stat().st_size
    assert 0 < len(requests) == complete < 100
    assert [r.url for r in requests] == [
        pixel_url(1700000000000 + n) for n in range(complete)
    ]
    # One problem: the limit, not a file that "ends" where the limit cut it.
    assert errors == [
        RecordingError(
            path,
            None,
            "reading stopped after the first 256 KiB of the HAR it holds: a .zhar "
            "file is decompressed up to that much; decompress it to a .har file to "
            f"read all of it; the {complete} entries before the cut were read",
        )
    ]


def test_the_zhar_limit_is_64_mib_and_a_bomb_is_not_inflated(tmp_path):
    import tracemalloc

    from inspector import recordings

    # 200 MiB of JSON white space inside the entries list, in about 200 KB.
    bomb = zlib.compressobj(9)
    parts = [bomb.compress(b'{"log": {"entries": [')]
    spaces = b" " * (1 << 20)
    parts += [bomb.compress(spaces) for _ in range(200)]
    parts.append(bomb.flush())
    path = tmp_path / "bomb.zhar"
    path.write_bytes(b"".join(parts))

    tracemalloc.start()
    try:
        requests, errors = load_requests([path])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert recordings.INFLATED_LIMIT_BYTES == 64 << 20
    assert path.stat().st_size < 1 << 20
    assert requests == []
    assert [e.message for e in errors] == [
        "reading stopped after the first 64 MiB of the HAR it holds: a .zhar "
        "file is decompressed up to that much; decompress it to a .har file to "
        "read all of it; no entry before the cut could be read",
    ]
    # What is held is bounded by the limit, not by the 200 MiB inside.
    assert peak < 5 * (64 << 20)


def test_a_zhar_cut_short_gives_the_entries_before_the_cut(tmp_path):
    path = _zhar_of(tmp_path, 3, padding=2000, noise=True)
    compressed = path.read_bytes()
    path.write_bytes(compressed[: len(compressed) * 3 // 4])

    requests, errors = load_requests([path])

    assert 0 < len(requests) < 3
    read = "the entry before the cut was read"
    if len(requests) == 2:
        read = "the 2 entries before the cut were read"
    assert errors == [
        RecordingError(
            path,
            None,
            f"the compressed data ends early: the file was cut short; {read}",
        )
    ]


CUT_SHORT = "the compressed data ends early: the file was cut short"
FIXTURE_RECORDINGS = Path(__file__).resolve().parent.parent / "fixtures" / "recordings"


def _cut_sizes(compressed: bytes) -> list[int]:
    """Where to cut: after each of the first 400 bytes (the document's start,
    where a cut leaves part of a key or a string) and of the 8-byte gzip trailer,
    and every 23 bytes between."""
    end = len(compressed)
    return sorted(
        {*range(1, min(400, end)), *range(400, end, 23), *range(end - 8, end)}
    )


def _cut_messages(tmp_path: Path, name: str, compressed: bytes) -> set[str]:
    """What reading `compressed` cut at each of `_cut_sizes` says, all cuts
    together (nothing is raised: each cut is one problem at least)."""
    messages = set()
    path = tmp_path / name
    for size in _cut_sizes(compressed):
        path.write_bytes(compressed[:size])
        _, errors = load_requests([path])
        assert errors, size
        assert all(error.message.startswith(CUT_SHORT) for error in errors), (
            size,
            [str(error) for error in errors],
        )
        messages.update(error.message for error in errors)
    return messages


def _read_before_the_cut(count: int, thing: str, things: str) -> str:
    if count == 0:
        return f"no {thing} before the cut could be read"
    if count == 1:
        return f"the {thing} before the cut was read"
    return f"the {count} {things} before the cut were read"


@pytest.mark.parametrize("name", ["demo.har", "demo.har.gz", "demo.zhar", "demo.txt"])
def test_a_gzip_har_cut_anywhere_says_the_compressed_data_ends_early(tmp_path, name):
    har = (FIXTURE_RECORDINGS / "demo.har").read_bytes()
    entries = len(json.loads(har)["log"]["entries"])
    compressed = gzip.compress(har, mtime=0)

    messages = _cut_messages(tmp_path, name, compressed)

    # Whatever the JSON made of what came out: a cut in a key, a string, a value.
    assert messages <= {CUT_SHORT} | {
        f"{CUT_SHORT}; {_read_before_the_cut(count, 'entry', 'entries')}"
        for count in range(entries + 1)
    }
    first_cut = f"{CUT_SHORT}; no entry before the cut could be read"
    last_cut = f"{CUT_SHORT}; the {entries - 1} entries before the cut were read"
    assert {CUT_SHORT, first_cut, last_cut} <= messages


def test_a_zlib_zhar_cut_anywhere_says_the_compressed_data_ends_early(tmp_path):
    har = (FIXTURE_RECORDINGS / "demo.har").read_bytes()

    messages = _cut_messages(tmp_path, "demo.zhar", zlib.compress(har))

    assert f"{CUT_SHORT}; no entry before the cut could be read" in messages
    assert all(message.startswith(CUT_SHORT) for message in messages)


def test_a_gzip_flow_file_cut_anywhere_says_the_compressed_data_ends_early(tmp_path):
    flows = (FIXTURE_RECORDINGS / "demo.mitm").read_bytes()
    count = len(list(mitm_io.FlowReader(io.BytesIO(flows)).stream()))
    compressed = gzip.compress(flows, mtime=0)

    messages = _cut_messages(tmp_path, "flows.gz", compressed)

    # Not a record "not a mitmproxy flow", nor a list line `2139`, nor two problems.
    assert messages <= {CUT_SHORT} | {
        f"{CUT_SHORT}; {_read_before_the_cut(n, 'flow', 'flows')}" for n in range(count)
    }
    last_cut = f"{CUT_SHORT}; {_read_before_the_cut(count - 1, 'flow', 'flows')}"
    assert {f"{CUT_SHORT}; no flow before the cut could be read", last_cut} <= messages


def test_a_gzip_request_list_cut_anywhere_says_the_compressed_data_ends_early(
    tmp_path,
):
    lines = [pixel_url(1700000000000 + n * 1000) for n in range(5)]
    compressed = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
    path = tmp_path / "list.txt.gz"

    assert _cut_messages(tmp_path, "list.txt.gz", compressed) == {CUT_SHORT}
    for size in range(1, len(compressed)):
        path.write_bytes(compressed[:size])
        requests, _ = load_requests([path])
        # Only whole lines are read: never a URL cut in the middle.
        assert [r.url for r in requests] == lines[: len(requests)]


def test_a_gzip_json_list_cut_anywhere_says_the_compressed_data_ends_early(tmp_path):
    urls = [pixel_url(1700000000000 + n * 1000) for n in range(4)]
    compressed = gzip.compress(json.dumps(urls, indent=1).encode(), mtime=0)

    messages = _cut_messages(tmp_path, "urls.json.gz", compressed)

    assert messages == {CUT_SHORT} | {
        f"{CUT_SHORT}; {_read_before_the_cut(n, 'item', 'items')}"
        for n in range(len(urls) + 1)
    }


def test_a_gzip_json_list_cut_inside_a_character_is_cut_short(tmp_path):
    data = '["https://www.example.com/?x=é"]'.encode()
    # A gzip stream that stops after the first byte of `é`, never ended.
    compressor = zlib.compressobj(wbits=31)
    path = tmp_path / "urls.gz"
    path.write_bytes(
        compressor.compress(data[: data.index("é".encode()) + 1])
        + compressor.flush(zlib.Z_SYNC_FLUSH)
    )

    requests, errors = load_requests([path])

    assert requests == []
    assert errors == [
        RecordingError(path, None, f"{CUT_SHORT}; no item before the cut could be read")
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'{"log": {"entries": []}}',
            "not a compressed HAR: a .zhar file holds a HAR compressed with zlib "
            "(as mitmproxy writes it) or gzip",
        ),
        (
            zlib.compress(b'{"log": {"entries": []}}')[:2],
            "the compressed data ends early: the file was cut short",
        ),
        (b"\x78\x9c" + b"\xff" * 40, "the compressed data is damaged"),
    ],
    ids=["not-compressed", "header-only", "damaged"],
)
def test_a_zhar_that_cannot_be_decompressed_is_one_plain_error(tmp_path, data, message):
    path = tmp_path / "broken.zhar"
    path.write_bytes(data)

    requests, errors = load_requests([path])

    assert requests == []
    assert errors == [RecordingError(path, None, message)]


def har_entry(url: str = PIXEL, **overrides) -> dict:
    entry = {
        "startedDateTime": "2023-11-14T22:13:20.500Z",
        "time": 12,
        "request": {
            "method": "GET",
            "url": url,
            "httpVersion": "HTTP/2",
            "headers": [{"name": "Accept", "value": "image/*"}],
        },
        "response": {
            "status": 200,
            "httpVersion": "HTTP/2",
            "headers": [],
            "content": {"size": 43, "mimeType": "image/gif"},
        },
    }
    entry.update(overrides)
    return entry


def write_har_document(tmp_path: Path, name: str, entries: list) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))
    return path


def test_bad_har_entries_are_named_and_good_ones_read(tmp_path):
    no_url = har_entry()
    del no_url["request"]["url"]
    bad_time = har_entry(startedDateTime="yesterday")
    bad_header = har_entry()
    bad_header["request"]["headers"] = [{"name": 7}]
    text_request = har_entry()
    text_request["request"] = "GET /"
    entries = [har_entry(), no_url, bad_time, "not an entry", bad_header]
    path = write_har_document(
        tmp_path, "devtools.har", [*entries, text_request, har_entry()]
    )

    requests, errors = load_requests([path])

    # An entry whose only fault is its time is still read, timed by its pixel.
    assert [r.origin for r in requests] == [
        "devtools.har entry 1",
        "devtools.har entry 3",
        "devtools.har entry 7",
    ]
    assert requests[1].timestamp == 0.0  # its URL has no `rand` either
    assert str(errors[0]) == "devtools.har: entry 2: request.url is missing"
    assert errors[1].location == "entry 3"
    assert errors[1].message == (
        'startedDateTime: `"yesterday"` is not a date and time as HAR writes them '
        "(ISO 8601, such as 2024-03-09T10:15:00.000Z); the pixel's own clock is "
        "used instead"
    )
    assert errors[2].message == "the entry is not a JSON object"
    assert errors[3].message == (
        "request.headers[0].name: input should be a valid string; "
        "request.headers[0].value is missing"
    )
    assert str(errors[4]) == "devtools.har: entry 6: request: should be a JSON object"


@pytest.mark.parametrize(
    ("started", "problem"),
    [
        (None, "startedDateTime is missing"),
        (
            "10/06/2024 07:30",
            'startedDateTime: `"10/06/2024 07:30"` is not a date and time as HAR '
            "writes them (ISO 8601, such as 2024-03-09T10:15:00.000Z)",
        ),
    ],
    ids=["missing", "unparseable"],
)
def test_a_har_entry_without_a_start_time_is_timed_by_its_pixel(
    tmp_path, started, problem
):
    untimed = har_entry(pixel_url(1700000000250, action="pageview"))
    if started is None:
        del untimed["startedDateTime"]
    else:
        untimed["startedDateTime"] = started
    path = write_har_document(tmp_path, "badentries.har", [har_entry(), untimed])

    requests, errors = load_requests([path])
    result, _ = replay([path])

    assert [r.request_id for r in requests] == ["badentries.har:1", "badentries.har:2"]
    assert requests[1].timestamp == 1700000000.25
    assert errors == [
        RecordingError(
            path, "entry 2", f"{problem}; the pixel's own clock is used instead"
        )
    ]
    # Checked, at the time its `rand` gives.
    (report,) = [r for r in result.reports if r.event.request.request_id.endswith(":2")]
    assert report.event.timestamp == 1700000000.25


@pytest.mark.parametrize(
    ("started", "shown"),
    [
        (12345, "12345"),
        (1600000000, "1600000000"),
        (1600000000.5, "1600000000.5"),
        ("1600000000", '"1600000000"'),
        (None, "null"),
        (True, "true"),
        ("", '""'),
        ([], "[]"),
        ("2024-06-10", '"2024-06-10"'),
        ("20240610T073000Z", '"20240610T073000Z"'),
        ("2024-06-10T25:30:00Z", '"2024-06-10T25:30:00Z"'),
        (" 2024-06-10T07:30:00Z", '" 2024-06-10T07:30:00Z"'),
    ],
)
def test_a_start_time_that_is_no_iso_date_and_time_is_not_guessed_at(
    tmp_path, started, shown
):
    # A number is no HAR date: read as epoch seconds it would beat the pixel's clock.
    entry = har_entry(pixel_url(1700000000250), startedDateTime=started)
    path = write_har_document(tmp_path, "numbers.har", [entry])

    requests, errors = load_requests([path])

    assert [r.timestamp for r in requests] == [1700000000.25]
    assert errors == [
        RecordingError(
            path,
            "entry 1",
            f"startedDateTime: `{shown}` is not a date and time as HAR writes them "
            "(ISO 8601, such as 2024-03-09T10:15:00.000Z); the pixel's own clock is "
            "used instead",
        )
    ]


@pytest.mark.parametrize(
    ("started", "seconds"),
    [
        ("2024-06-10T07:30:00.120Z", 1718004600.12),
        ("2024-06-10T09:30:00.120+02:00", 1718004600.12),
        ("2024-06-10T07:30:00.123456Z", 1718004600.123456),
        ("2024-06-10T07:30:00Z", 1718004600.0),
        ("2024-06-10T07:30:00", 1718004600.0),
        ("2024-06-10 07:30:00.120Z", 1718004600.12),
    ],
)
def test_start_times_as_har_writers_write_them_are_read(tmp_path, started, seconds):
    entry = har_entry(pixel_url(1700000000250), startedDateTime=started)
    path = write_har_document(tmp_path, "browser.har", [entry])

    requests, errors = load_requests([path])

    assert errors == []
    assert [r.timestamp for r in requests] == [pytest.approx(seconds, abs=1e-6)]


def test_a_har_entry_with_more_wrong_than_its_time_is_still_skipped(tmp_path):
    entry = har_entry()
    del entry["startedDateTime"]
    del entry["request"]["url"]
    path = write_har_document(tmp_path, "bad.har", [entry])

    requests, errors = load_requests([path])

    assert requests == []
    assert errors == [
        RecordingError(
            path, "entry 1", "startedDateTime is missing; request.url is missing"
        )
    ]


def test_har_details_devtools_write(tmp_path):
    form = har_entry(
        "https://p1.parsely.com/mobileproxy",
        response={"status": 0, "headers": [], "content": {}},
    )
    form["request"]["method"] = "post"
    form["request"]["postData"] = {
        "mimeType": "application/x-www-form-urlencoded",
        "params": [{"name": "rqs", "value": '{"events":[]}'}],
    }
    inline = har_entry("data:image/gif;base64,R0lGODlh")
    path = write_har_document(tmp_path, "chrome.har", [form, inline])

    (request,) = read_requests(path)

    assert request.method == "POST"
    assert request.body == b"rqs=%7B%22events%22%3A%5B%5D%7D"
    assert request.response_status is None
    assert request.timestamp == pytest.approx(1700000000.5)
    assert request.headers == (("Accept", "image/*"),)


def test_har_is_detected_by_content_and_may_start_with_a_bom(tmp_path):
    path = tmp_path / "export.txt"
    document = {"log": {"entries": [har_entry()]}}
    path.write_bytes(b"\xef\xbb\xbf  " + json.dumps(document).encode())

    (request,) = read_requests(path)

    assert request.content_type == "image/gif"
    assert request.origin == "export.txt entry 1"


def test_har_that_is_not_json_or_not_har(tmp_path):
    broken = write(tmp_path, "broken.har", '{"log": {"entries": [\n  {]\n}')
    other = write(tmp_path, "other.har", '{"hello": "world"}')
    listed = write(tmp_path, "list.har", "[1, 2, 3]\n")
    text = write(tmp_path, "notes.har", "some notes\n")
    headless = write(tmp_path, "head.har", '{"log": {"version": "1.2", "crea')

    requests, errors = load_requests([broken, other, listed, text, headless])

    assert requests == []
    assert [str(e) for e in errors] == [
        "broken.har: entry 1 (line 2 column 4): the HAR stops being valid JSON here "
        "(expecting property name enclosed in double quotes); no entry before it "
        "could be read",
        "other.har: not a HAR file: it has no log.entries list",
        "list.har: not a HAR file (an object) or a list of URLs (strings): the JSON "
        "document is a list of numbers",
        "notes.har: line 1 column 1: not valid JSON: expecting value",
        "head.har: line 1 column 28: not valid JSON: a string is never closed",
    ]


def test_a_json_list_of_urls_is_one_request_per_url(tmp_path):
    first, second, third = (pixel_url(1700000000000 + n * 1000) for n in range(3))
    one_line = write(tmp_path, "console.json", json.dumps([first, second]))
    pretty = write(tmp_path, "log.txt", json.dumps([first, second, third], indent=2))
    # As code has it: a comma before the bracket, URLs quoted twice, a BOM.
    code = tmp_path / "code.js.txt"
    code.write_bytes(
        b"\xef\xbb\xbf"
        + f'[\n  "{first}", "\\"{second}\\"",\n  "{third}",\n]\n'.encode()
    )

    requests, errors = load_requests([one_line, pretty, code])

    assert errors == []
    assert [(r.request_id, r.origin, r.method, r.url) for r in requests] == [
        ("console.json:1.1", "console.json line 1, URL 1", "GET", first),
        ("console.json:1.2", "console.json line 1, URL 2", "GET", second),
        ("log.txt:2", "log.txt line 2", "GET", first),
        ("log.txt:3", "log.txt line 3", "GET", second),
        ("log.txt:4", "log.txt line 4", "GET", third),
        ("code.js.txt:2.1", "code.js.txt line 2, URL 1", "GET", first),
        ("code.js.txt:2.2", "code.js.txt line 2, URL 2", "GET", second),
        ("code.js.txt:3", "code.js.txt line 3", "GET", third),
    ]
    assert [r.timestamp for r in requests[:2]] == [1700000000.0, 1700000001.0]


def test_items_of_a_json_list_that_are_no_url_are_reported_and_skipped(tmp_path):
    first, second = pixel_url(1700000000000), pixel_url(1700000001000)
    path = write(
        tmp_path,
        "urls.json",
        json.dumps([first, 42, "p1.parsely.com/plogger/?rand=1", {"url": second}])[:-1]
        + ",\n"
        + json.dumps([second, None, f"GET {first}", f"PSOT {first}", "curl x"])[1:],
    )

    requests, errors = load_requests([path])

    assert [(r.request_id, r.method, r.url) for r in requests] == [
        ("urls.json:1.1", "GET", first),
        ("urls.json:2.1", "GET", second),
        ("urls.json:2.3", "GET", first),
    ]
    assert [(e.location, e.message) for e in errors] == [
        ("line 1, URL 2", "expected a URL in quotes, found a number; skipped"),
        (
            "line 1, URL 3",
            "the URL `p1.parsely.com/plogger/?rand=1` has no scheme; start it with "
            "`https://`; skipped",
        ),
        ("line 1, URL 4", "expected a URL in quotes, found an object; skipped"),
        ("line 2, URL 2", "expected a URL in quotes, found null; skipped"),
        (
            "line 2, URL 4",
            "`PSOT` is not an HTTP method (did you mean POST?); skipped",
        ),
        (
            "line 2, URL 5",
            "a curl command is not a request line; paste the URL it fetches, or "
            "`METHOD URL` followed by its headers; skipped",
        ),
    ]


def test_a_json_lists_problems_come_in_line_order(tmp_path):
    good = pixel_url(1700000000000)
    path = write(
        tmp_path, "urls.json", f'[\n"http://[::1",\n42,\n"{good}",\n"x:port/"\n]\n'
    )

    requests, errors = load_requests([path])

    assert [r.request_id for r in requests] == ["urls.json:4"]
    # The URL that cannot be taken apart is found after the items are read.
    assert [error.location for error in errors] == ["line 2", "line 3", "line 5"]


def test_a_json_list_cut_short_gives_the_urls_before_the_cut(tmp_path):
    first, second = pixel_url(1700000000000), pixel_url(1700000001000)
    cut = write(tmp_path, "cut.json", f'[\n  "{first}",\n  "{second}",\n  "http')
    broken = write(tmp_path, "broken.json", f'["{first}" "{second}"]')
    after = write(tmp_path, "after.json", f'["{first}"] trailing words')

    requests, errors = load_requests([cut, broken, after])

    assert [r.request_id for r in requests] == [
        "cut.json:2",
        "cut.json:3",
        "broken.json:1",
        "after.json:1",
    ]
    assert errors == [
        RecordingError(
            cut,
            "line 4",
            "the file ends inside the list; the 2 items before it were read",
        ),
        RecordingError(
            broken,
            f"line 1 column {broken.read_text().index(second)}",
            "the list stops being valid JSON here (expected `,` or `]` after an "
            "item); the item before it was read",
        ),
        RecordingError(
            after,
            f"line 1 column {after.read_text().index('trailing') + 1}",
            "the list stops being valid JSON here (more text after the list); the "
            "item before it was read",
        ),
    ]


@pytest.mark.parametrize(
    ("text", "location", "message"),
    [
        (
            json.dumps([har_entry(), har_entry()]),
            None,
            "not a HAR file: the JSON document is a list of HAR entries; a HAR file "
            "is an object that holds them in log.entries",
        ),
        (
            "[]",
            None,
            "the JSON list is empty: it holds no URL, and it is not a HAR file",
        ),
        (
            '[1, {"a": 2}, [3], true]',
            None,
            "not a HAR file (an object) or a list of URLs (strings): the JSON "
            "document is a list of booleans, lists, numbers and objects",
        ),
        (
            '[{"a": 1}]',
            None,
            "not a HAR file (an object) or a list of URLs "
            "(strings): the JSON document is a list of objects",
        ),
        (
            "[1, 2",
            "line 1 column 6",
            "not valid JSON: expected `,` or `]` after an item",
        ),
    ],
    ids=["har-entries", "empty", "mixed", "objects", "broken"],
)
def test_a_json_list_that_holds_no_url_is_named_for_what_it_is(
    tmp_path, text, location, message
):
    path = write(tmp_path, "export.har", text)

    requests, errors = load_requests([path])

    assert requests == []
    assert errors == [RecordingError(path, location, message)]


def test_truncated_har_keeps_the_entries_before_the_break(tmp_path):
    whole = tmp_path / "whole.har"
    write_har(sample_requests(), whole)
    # Cut inside the third entry, a few bytes into its first field.
    key = b'"startedDateTime"'
    before_third = key.join(whole.read_bytes().split(key)[:3])
    cut = before_third + key + b': "20'
    broken = tmp_path / "cut.har"
    broken.write_bytes(cut)

    requests, errors = load_requests([broken])

    assert [r.request_id for r in requests] == ["cut.har:1", "cut.har:2"]
    assert [r.url for r in requests] == [r.url for r in sample_requests()[:2]]
    assert errors == [
        RecordingError(
            broken,
            f"entry 3 (byte {len(cut)})",
            "the file ends in the middle of this entry; the 2 entries before it "
            "were read",
        )
    ]


def test_truncated_har_read_strictly_raises_after_the_good_entries(tmp_path):
    whole = tmp_path / "whole.har"
    write_har(sample_requests()[:2], whole)
    broken = tmp_path / "cut.har"
    broken.write_bytes(whole.read_bytes()[:-30])

    reader = read_requests(broken)
    first = next(reader)
    with pytest.raises(RecordingError) as raised:
        next(reader)

    assert first.url == sample_requests()[0].url
    assert raised.value.location == f"entry 2 (byte {broken.stat().st_size})"
    assert raised.value.message.endswith("; the entry before it was read")


def test_har_broken_after_its_entries_keeps_them_all(tmp_path):
    document = {"log": {"entries": [har_entry(), har_entry()], "pages": []}}
    text = json.dumps(document)
    path = write(tmp_path, "tail.har", text[:-3])

    requests, errors = load_requests([path])

    assert len(requests) == 2
    assert errors == [
        RecordingError(
            path,
            f"line 1 column {len(text) - 2}",
            "not valid JSON after the entries list (expecting value); "
            "all entries were read",
        )
    ]


@pytest.mark.parametrize("stray", [b"\xff", b"}", b"@"])
def test_har_broken_before_its_entries_says_so_and_where(tmp_path, stray):
    data = json.dumps(
        {"log": {"version": "1.2", "pages": [], "entries": [har_entry()]}}, indent=2
    ).encode()
    at = data.index(b'"entries"')
    path = tmp_path / "early.har"
    path.write_bytes(data[:at] + stray + data[at:])
    line = data.count(b"\n", 0, at) + 1
    column = at - data.rindex(b"\n", 0, at)

    requests, errors = load_requests([path])

    assert [r.request_id for r in requests] == ["early.har:1"]
    (break_error,) = [e for e in errors if "JSON" in e.message]
    assert break_error.location == f"line {line} column {column}"
    assert break_error.message.startswith("not valid JSON before the entries list (")
    assert break_error.message.endswith("); the entries are read all the same")


def test_har_broken_before_and_inside_its_entries_reports_both_in_order(tmp_path):
    entries = [har_entry(), har_entry(), har_entry()]
    data = json.dumps({"log": {"pages": [], "entries": entries}}, indent=2)
    at = data.index('"entries"')
    second = data.index('"startedDateTime"', data.index('"startedDateTime"') + 1)
    broken = data[:at] + "}" + data[at:second] + "@" + data[second:]
    path = write(tmp_path, "twice.har", broken)

    requests, errors = load_requests([path])

    assert [r.request_id for r in requests] == ["twice.har:1"]
    assert [(e.location, e.message) for e in errors] == [
        (
            f"line {data.count(chr(10), 0, at) + 1} column 5",
            "not valid JSON before the entries list (expecting property name "
            "enclosed in double quotes); the entries are read all the same",
        ),
        (
            f"entry 2 (line {broken.count(chr(10), 0, second) + 1} column 9)",
            "the HAR stops being valid JSON here (expecting property name "
            "enclosed in double quotes); the entry before it was read",
        ),
    ]


def test_har_records_requests_that_never_got_an_answer(tmp_path):
    blocked = har_entry(
        response={
            "status": 0,
            "headers": [],
            "content": {},
            "_error": "net::ERR_BLOCKED_BY_CLIENT",
        }
    )
    on_entry = har_entry(response={"status": 0}, _error="net::ERR_ABORTED")
    answered_then_failed = har_entry()
    answered_then_failed["response"]["_error"] = "net::ERR_CONNECTION_RESET"
    unanswered = har_entry(response={"status": 0, "_error": None})
    path = write_har_document(
        tmp_path, "chrome.har", [blocked, on_entry, answered_then_failed, unanswered]
    )

    requests = list(read_requests(path))

    assert [(r.error, r.response_status) for r in requests] == [
        ("net::ERR_BLOCKED_BY_CLIENT", None),
        ("net::ERR_ABORTED", None),
        (None, 200),
        # Status 0 alone is how mitmproxy (and write_har) keep a request without
        # its response; nothing says it failed.
        (None, None),
    ]


# --------------------------------------------------------------------------------------
# HAR files that are not all UTF-8


def har_bytes(entries: list, *, creator: str = "devtools") -> bytes:
    """A HAR document as a browser writes it, indented, with `@XX@` in its
    strings written as the raw byte 0xXX (which UTF-8 may not allow)."""
    document = {"log": {"version": "1.2", "creator": {"name": creator}}}
    document["log"]["entries"] = entries
    text = json.dumps(document, indent=2)
    return re.sub(
        rb"@([0-9A-F]{2})@", lambda m: bytes.fromhex(m[1].decode()), text.encode()
    )


def line_and_column(data: bytes, byte: bytes) -> tuple[int, int]:
    position = data.index(byte)
    return data.count(b"\n", 0, position) + 1, position - data.rfind(b"\n", 0, position)


def test_a_byte_that_is_not_utf8_in_a_har_url_is_named_and_the_entries_read(
    tmp_path,
):
    entries = [
        har_entry(pixel_url(1700000000000, action="pageview", title="Caf@E9@")),
        har_entry(pixel_url(1700000001000, action="heartbeat")),
    ]
    path = tmp_path / "latin1.har"
    path.write_bytes(data := har_bytes([har_entry(), *entries]))
    line, column = line_and_column(data, b"\xe9")

    requests, errors = load_requests([path])

    assert [r.origin for r in requests] == [
        "latin1.har entry 1",
        "latin1.har entry 2",
        "latin1.har entry 3",
    ]
    # The URL keeps the byte as it would have gone over the wire.
    assert "&title=Caf%E9" in requests[1].url
    assert [str(error) for error in errors] == [
        f"latin1.har: entry 2 (line {line}): not UTF-8 text: byte 0xE9 at column "
        f"{column} was read as U+FFFD (kept as `%E9` in a URL); save the HAR as UTF-8 "
        "to keep the characters"
    ]

    # The pixel itself is flagged, as any URL with such a byte is.
    result, _ = replay([path])
    (flagged,) = [r for r in result.reports if r.event.id == "latin1.har:2"]
    invalid = [f for f in flagged.findings if f.code == "params.invalid-utf8"]
    assert [f.path for f in invalid] == ["title"]
    assert flagged.event.params["title"] == "Caf\ufffd"


def test_bytes_that_are_not_utf8_are_named_once_per_entry_and_per_line(tmp_path):
    # Two bytes in one entry (its URL and a header), one in the file's header.
    several = har_entry(pixel_url(1700000000000, action="pageview", t="a@FF@"))
    several["request"]["headers"] = [{"name": "X-Note", "value": "b@FE@c"}]
    path = tmp_path / "mixed.har"
    path.write_bytes(data := har_bytes([har_entry(), several], creator="ed@E9@"))
    creator_line, creator_column = line_and_column(data, b"\xe9")
    entry_line, entry_column = line_and_column(data, b"\xff")

    requests, errors = load_requests([path])

    assert len(requests) == 2
    assert requests[1].url.endswith("&t=a%FF")
    assert ("X-Note", "b\ufffdc") in requests[1].headers
    assert [(e.location, e.message.split(";")[0]) for e in errors] == [
        (
            f"line {creator_line}",
            f"not UTF-8 text: byte 0xE9 at column {creator_column} was read as "
            "U+FFFD (kept as `%E9` in a URL)",
        ),
        (
            f"entry 2 (line {entry_line})",
            f"not UTF-8 text: 2 bytes, the first 0xFF at column {entry_column}, "
            "were read as U+FFFD (kept percent-escaped in a URL)",
        ),
    ]


def test_a_byte_that_is_not_utf8_where_json_is_expected_breaks_the_har_there(
    tmp_path,
):
    """The byte stands for white space: the HAR stops being JSON at it, as it
    would at any other stray character, and the note says why."""
    entries = [
        har_entry(pixel_url(1700000000000 + n, action="pageview")) for n in range(3)
    ]
    data = har_bytes(entries)
    second = data.index(b'"startedDateTime"', data.index(b'"startedDateTime"') + 1)
    damaged = data[: second - 1] + b"\xff" + data[second:]
    path = tmp_path / "damaged.har"
    path.write_bytes(damaged)
    line, column = line_and_column(damaged, b"\xff")

    requests, errors = load_requests([path])

    assert [r.origin for r in requests] == ["damaged.har entry 1"]
    assert [(e.location, e.message) for e in errors] == [
        (
            f"entry 2 (line {line})",
            f"not UTF-8 text: byte 0xFF at column {column} was read as U+FFFD (kept "
            "as `%FF` in a URL); save the HAR as UTF-8 to keep the characters",
        ),
        (
            f"entry 2 (line {line} column {column})",
            "the HAR stops being valid JSON here (expecting property name enclosed "
            "in double quotes); the entry before it was read",
        ),
    ]


def test_a_har_cut_short_after_a_byte_that_is_not_utf8_counts_bytes_right(tmp_path):
    entries = [
        har_entry(pixel_url(1700000000000, action="pageview", title="@E9@t@E9@")),
        har_entry(pixel_url(1700000001000, action="pageview", title="@E8@")),
    ]
    data = har_bytes(entries)
    cut_at = data.index(b"\xe8") + 1  # the byte is there; what follows is not
    path = tmp_path / "cut.har"
    path.write_bytes(data[:cut_at])
    first_line, first_column = line_and_column(data, b"\xe9")

    requests, errors = load_requests([path])

    # The byte in the string the file ends in is past the break: not read.
    assert [r.origin for r in requests] == ["cut.har entry 1"]
    assert [(e.location, e.message.split(";")[0]) for e in errors] == [
        (
            f"entry 1 (line {first_line})",
            f"not UTF-8 text: 2 bytes, the first 0xE9 at column {first_column}, "
            "were read as U+FFFD (kept percent-escaped in a URL)",
        ),
        (f"entry 2 (byte {cut_at})", "the file ends in the middle of this entry"),
    ]


def test_bytes_after_the_point_a_har_breaks_are_not_named(tmp_path):
    entries = [
        har_entry(pixel_url(1700000000000, action="pageview")),
        har_entry(pixel_url(1700000001000, action="pageview", title="@E9@")),
    ]
    data = har_bytes(entries)
    second = data.index(b'"startedDateTime"', data.index(b'"startedDateTime"') + 1)
    path = tmp_path / "broken.har"
    path.write_bytes(data[:second] + b"oops " + data[second:])

    requests, errors = load_requests([path])

    assert len(requests) == 1
    assert [e.message.split(" (")[0] for e in errors] == [
        "the HAR stops being valid JSON here"
    ]


def test_form_fields_with_bytes_that_are_not_utf8_are_sent_percent_escaped(
    tmp_path,
):
    form = har_entry("https://p1.parsely.com/mobileproxy", method="POST")
    form["request"]["method"] = "POST"
    form["request"]["postData"] = {
        "mimeType": "application/x-www-form-urlencoded",
        "params": [{"name": "title", "value": "Caf@E9@"}],
    }
    path = tmp_path / "form.har"
    path.write_bytes(har_bytes([form]))

    line, _ = line_and_column(path.read_bytes(), b"\xe9")

    (request,), errors = load_requests([path])

    assert request.body == b"title=Caf%E9"
    assert [error.location for error in errors] == [f"entry 1 (line {line})"]


def test_a_har_that_is_not_text_at_all_is_refused_whole(tmp_path):
    path = tmp_path / "compressed.har"
    path.write_bytes(b"{" + zlib.compress(har_bytes([har_entry()]) * 20, 9))

    with pytest.raises(RecordingError) as raised:
        list(read_requests(path))

    assert raised.value.message == "a HAR file must be UTF-8 text"
    assert raised.value.location.startswith("byte ")


# --------------------------------------------------------------------------------------
# Several files


def test_load_requests_collects_errors_and_reads_the_rest(tmp_path):
    good = write(tmp_path, "good.txt", "https://www.example.com/\n")
    missing = tmp_path / "missing.har"

    requests, errors = load_requests([missing, good, tmp_path])

    assert [r.url for r in requests] == ["https://www.example.com/"]
    # Named by the path as given: the bare name may not say which file was meant.
    assert [str(e) for e in errors] == [
        f"{missing}: no such file",
        f"{tmp_path}: is a directory, not a recording",
    ]
    assert [e.label for e in errors] == ["missing.har", tmp_path.name]


def test_a_file_that_cannot_be_opened_is_named_as_typed(tmp_path):
    deep = tmp_path / "a" / "b" / "nonexist.txt"
    locked = write(tmp_path, "locked.txt", "https://www.example.com/\n")
    locked.chmod(0)
    readable = os.access(locked, os.R_OK)  # root reads it all the same
    good = write(tmp_path, "good.txt", "https://www.example.com/\n")
    relative = os.path.relpath(deep, Path.cwd())

    _, errors = load_requests([deep, relative, tmp_path, good, locked])

    expected = [
        f"{deep}: no such file",
        f"{relative}: no such file",
        f"{tmp_path}: is a directory, not a recording",
    ]
    if not readable:
        expected.append(f"{locked}: cannot be opened: permission denied")
    assert [str(error) for error in errors] == expected
    # The label, the file's name among the recordings, stays as `load_each` gives.
    assert [error.label for error in errors[:3]] == [
        str(deep),
        relative,
        tmp_path.name,
    ]
    assert all(error.unopened for error in errors)


@pytest.mark.parametrize("name", ["empty.txt", "empty.har", "empty.mitm", "x"])
@pytest.mark.parametrize("content", [b"", b"  \n\r\n\t", b"\xef\xbb\xbf\n"])
def test_an_empty_file_is_an_error(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)

    requests, errors = load_requests([path])

    assert requests == []
    assert errors == [RecordingError(path, None, "the file is empty")]


def test_empty_standard_input_is_an_error(monkeypatch):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\n")))

    with pytest.raises(RecordingError) as raised:
        list(read_requests("-"))

    assert str(raised.value) == "<stdin>: standard input is empty"


@pytest.mark.parametrize(
    ("given", "label"),
    [
        ("session.mitm", "session.mitm"),
        ("captures/monday/session.har", "session.har"),
        ("-", "<stdin>"),
        # What `<(...)` and a passed descriptor look like: the number says nothing.
        ("/dev/fd/63", "/dev/fd/63"),
        ("/proc/self/fd/7", "/proc/self/fd/7"),
        ("/proc/4242/fd/12", "/proc/4242/fd/12"),
        # A device is named by its path: `null` alone would look like a file.
        ("/dev/stdin", "/dev/stdin"),
        ("/dev/null", "/dev/null"),
        ("reports/fd/notes.txt", "notes.txt"),
    ],
)
def test_recording_label(given, label):
    assert recording_label(given) == label
    assert recording_labels([given]) == [label]


def test_a_pipe_given_by_its_descriptor_path_is_named_by_that_path():
    read_end, write_end = os.pipe()
    with open(write_end, "wb") as writer:
        writer.write(f"GET {PIXEL}\n".encode())
    path = f"/dev/fd/{read_end}"
    try:
        per_file, errors = load_each([path])
    finally:
        os.close(read_end)

    assert errors == []
    [[request]] = per_file
    assert request.source == path
    assert request.origin == f"{path} line 1"


def test_recordings_without_pixels_are_not_errors(tmp_path):
    listed = write(tmp_path, "other.txt", "https://www.example.com/\n")
    har = write_har_document(tmp_path, "none.har", [])

    requests, errors = load_requests([listed, har])

    assert [r.url for r in requests] == ["https://www.example.com/"]
    assert errors == []


def test_standard_input_is_read_with_a_dash(monkeypatch):
    import io
    import sys

    fake_stdin = io.TextIOWrapper(io.BytesIO(b"https://www.example.com/from-stdin\n"))
    monkeypatch.setattr(sys, "stdin", fake_stdin)

    (request,) = read_requests("-")

    assert request.url == "https://www.example.com/from-stdin"
    assert request.origin == "<stdin> line 1"


def test_recording_error_equality_and_text():
    error = RecordingError("a.har", "entry 7", "request.url is missing")

    assert str(error) == "a.har: entry 7: request.url is missing"
    assert error == RecordingError(Path("a.har"), "entry 7", "request.url is missing")
    assert str(RecordingError("a.har", None, "no such file")) == "a.har: no such file"


# --------------------------------------------------------------------------------------
# Replay and the demo recordings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DEMO_FILES = [
    FIXTURES / "requests" / "demo.txt",
    FIXTURES / "recordings" / "demo.mitm",
    FIXTURES / "recordings" / "demo.har",
]


def event_summary(result) -> list[tuple]:
    """What an inspection saw, without the ids that differ between formats."""
    return [
        (
            round(report.event.timestamp, 3),
            report.event.request.client_address,
            report.event.action,
            report.event.url,
            report.event.data_state,
            json.dumps(dict(report.event.segments), sort_keys=True),
            tuple(sorted(finding.code for finding in report.findings)),
        )
        for report in result.reports
    ]


def test_demo_recordings_hold_the_same_events_as_the_demo_list():
    spec = load_spec(FIXTURES / "specs" / "example.yaml")
    summaries = []
    for path in DEMO_FILES:
        result, errors = replay([path], spec)
        assert errors == [], path
        summaries.append(event_summary(result))

    from_list, from_mitm, from_har = summaries
    assert len(from_list) == 15
    assert from_mitm == from_list
    assert from_har == from_list


def test_demo_recordings_are_up_to_date(tmp_path):
    import importlib.util

    script = FIXTURES.parent / "scripts" / "build_recordings.py"
    loader = importlib.util.spec_from_file_location("build_recordings", script)
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)

    built = module.build(DEMO_FILES[0], tmp_path)

    for path in built:
        committed = FIXTURES / "recordings" / path.name
        assert path.read_bytes() == committed.read_bytes(), path.name


def test_the_packaged_demo_is_the_fixture_recording():
    packaged = FIXTURES.parent / "inspector" / "data" / "demo.mitm"

    assert packaged.read_bytes() == (FIXTURES / "recordings" / "demo.mitm").read_bytes()


def test_replay_judges_what_could_be_read(tmp_path):
    missing = tmp_path / "missing.mitm"

    result, errors = replay([DEMO_FILES[0], missing])

    assert len(result.reports) == 15
    assert result.requests_seen == 15
    assert [str(error) for error in errors] == [f"{missing}: no such file"]
    assert errors[0].path == str(missing)


# --------------------------------------------------------------------------------------
# Text that cannot be written as UTF-8


def test_raw_bytes_in_a_flow_url_come_back_percent_escaped(tmp_path, flow_factory):
    flow = flow_factory(pixel_url(1700000000500, action="pageview"))
    flow.request.path = flow.request.path.encode() + b"&title=caf\xe9"
    flow.request.headers["X-Label"] = "caf\udce9"
    path = tmp_path / "bytes.mitm"
    with open(path, "wb") as stream:
        mitm_io.FlowWriter(stream).add(flow)

    (request,) = read_requests(path)

    assert request.url.endswith("&title=caf%E9")
    assert ("X-Label", "caf\ufffd") in request.headers
    assert request.url.encode("utf-8")


def test_half_a_surrogate_pair_in_a_har_entry_is_replaced(tmp_path):
    entry = har_entry(pixel_url(1700000000500, action="pageview") + "&t=\ud83d")
    entry["request"]["headers"] = [{"name": "X-Note", "value": "a\ud83db"}]
    entry["request"]["method"] = "POST"
    entry["request"]["postData"] = {"mimeType": "text/plain", "text": "x\ud83dy\udce9"}
    path = write_har_document(tmp_path, "cut.har", [entry])

    (request,), errors = load_requests([path])

    assert errors == []
    assert request.url.endswith("&t=\ufffd")
    assert ("X-Note", "a\ufffdb") in request.headers
    assert request.body == "x\ufffdy".encode() + b"\xe9"


# --------------------------------------------------------------------------------------
# URLs that cannot be taken apart

BAD_URLS = [
    ("http://[::1", "an IPv6 address in brackets that is not closed or not valid"),
    ("http://ex\u2100ample.com/", "the host changes under Unicode normalisation"),
    ("http://example.com:99999/", "the port is out of range (0 to 65535)"),
    ("http://example.com:abc/", "the port 'abc' is not a number"),
]


# A request list's URLs are %-encoded as a browser sends them, which makes the
# NFKC host valid there.
@pytest.mark.parametrize(("url", "reason"), [BAD_URLS[0], *BAD_URLS[2:]])
def test_a_request_line_with_an_invalid_url_is_reported_and_the_rest_read(
    tmp_path, url, reason
):
    good = pixel_url(1700000000000, action="pageview")
    recording = write(tmp_path, "list.txt", f"GET {url}\n---\n{good}\n")

    requests, errors = load_requests([recording])

    assert [r.url for r in requests] == [good]
    [error] = errors
    assert error.path == str(recording)
    assert error.location == "line 1"
    assert error.message.startswith(f"`{url}` is not a valid URL (")
    assert reason in error.message
    assert error.message.endswith("; request skipped")


def test_a_host_header_that_makes_an_invalid_url_is_reported(tmp_path):
    recording = write(tmp_path, "list.txt", "GET /plogger/?rand=1\nHost: [::1\n")

    requests, errors = load_requests([recording])

    assert requests == []
    assert [(e.location, "IPv6 address in brackets" in e.message) for e in errors] == [
        ("line 1", True)
    ]


@pytest.mark.parametrize(("url", "reason"), BAD_URLS)
def test_a_har_entry_with_an_invalid_url_is_reported_and_the_rest_read(
    tmp_path, url, reason
):
    har = tmp_path / "bad.har"
    write_har(sample_requests(), har)
    document = json.loads(har.read_text())
    document["log"]["entries"][1]["request"]["url"] = url
    har.write_text(json.dumps(document))

    requests, errors = load_requests([har])

    assert len(requests) == 2
    [error] = errors
    assert error.location == "entry 2"
    assert reason in error.message


def _tnetstring(value: object) -> bytes:
    from mitmproxy.io import tnetstring

    return tnetstring.dumps(value)


def _first_flow_state() -> dict:
    """The state of a real flow as `write_mitm` stores it, to be spoilt."""
    from mitmproxy.io import tnetstring

    [flow] = flows_from_requests(sample_requests()[:1])
    return tnetstring.loads(tnetstring.dumps(flow.get_state()))


def _spoilt(**changes: object) -> dict:
    """A flow state with request fields changed (`...` removes the field)."""
    state = _first_flow_state()
    for field, value in changes.items():
        if value is ...:
            del state["request"][field]
        else:
            state["request"][field] = value
    return state


def _nested(levels: int) -> bytes:
    record = b"0:]"
    for _ in range(levels):
        record = b"%d:%s]" % (len(record), record)
    return record


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({b"version": 20, b"type": b"http"}, "the `client_conn` field is missing"),
        ([1, 2, 3], "the record is a list, not a flow"),
        (b"hello", "the record is a byte string, not a flow"),
        (None, "the record is null, not a flow"),
        (
            {b"id": b"x", b"version": 20, b"type": b"tcp"},
            "the `client_conn` field is missing",
        ),
        (_spoilt(port="443"), "the `port` field is a text string, not a whole number"),
        (_spoilt(method=None), "the `method` field is null, not a byte string"),
        (_spoilt(host=...), "the `host` field is missing"),
        (_spoilt(host=..., port=...), "the `host` and `port` fields are missing"),
        (_spoilt(colour=b"red"), "it has a field mitmproxy does not know, `colour`"),
        (_spoilt(headers=5), "a field holds a value of the wrong kind"),
        (
            {**_first_flow_state(), "type": "fax"},
            "`fax` is not a kind of flow mitmproxy knows",
        ),
        (b"3:abc#", "its contents are damaged"),
        (_nested(3000), "it is nested too deeply to be read"),
    ],
    ids=[
        "no-client",
        "list",
        "bytes",
        "null",
        "tcp-no-client",
        "port-text",
        "method-null",
        "no-host",
        "no-host-no-port",
        "unknown-field",
        "headers-number",
        "unknown-type",
        "bad-integer",
        "too-deep",
    ],
)
def test_a_tnetstring_record_that_is_no_flow_is_reported_and_the_rest_read(
    tmp_path, record, reason
):
    flows = tmp_path / "flows.mitm"
    write_mitm(sample_requests(), flows)
    with open(flows, "rb") as stream:
        reader = mitm_io.FlowReader(stream)
        next(iter(reader.stream()))
        end_of_first_flow = stream.tell()
    data = flows.read_bytes()
    bad = record if isinstance(record, bytes) and b":" in record else None
    bad = bad or _tnetstring(record)
    mixed = tmp_path / "mixed.mitm"
    mixed.write_bytes(bad + data[:end_of_first_flow] + bad + data[end_of_first_flow:])

    requests, errors = load_requests([mixed])

    assert [r.url for r in requests] == [r.url for r in sample_requests()]
    # The records skipped keep their numbers, so the ids match the messages.
    assert [r.request_id for r in requests] == [
        "mixed.mitm:2",
        "mixed.mitm:4",
        "mixed.mitm:5",
    ]
    assert errors == [
        RecordingError(mixed, where, f"not a mitmproxy flow ({reason}); skipped")
        for where in (
            "flow 1 (byte 0)",
            f"flow 3 (byte {len(bad) + end_of_first_flow})",
        )
    ]


def test_no_flow_file_message_shows_python_internals(tmp_path):
    """Every way a flow file can fail is worded without exception classes,
    type names or Python reprs of what the file holds."""
    flows = tmp_path / "flows.mitm"
    write_mitm(sample_requests(), flows)
    good = flows.read_bytes()
    broken = [
        _tnetstring(_spoilt(port="443")),
        _tnetstring(_spoilt(timestamp_start="noon")),
        _tnetstring(_spoilt(headers=[[b"a"]])),
        _tnetstring({**_first_flow_state(), "client_conn": 5}),
        _tnetstring([b"\xff", {"a": 1}]),
        b"5:hello!",
        b"not a flow at all",
    ]
    messages = []
    for number, record in enumerate(broken):
        path = tmp_path / f"broken{number}.mitm"
        path.write_bytes(record + good)
        messages += [error.message for error in load_requests([path])[1]]

    assert len(messages) == len(broken)
    for message in messages:
        assert not re.search(r"Error\b|Exception|<class|\bb'|\\x|Traceback", message)
        assert "mitmproxy flow" in message


def test_a_flow_file_from_a_newer_mitmproxy_stops_with_what_to_do(tmp_path):
    from mitmproxy import version

    state = _first_flow_state()
    newer = _tnetstring({**state, "version": version.FLOW_FORMAT_VERSION + 5})
    path = tmp_path / "newer.mitm"
    write_mitm(sample_requests()[:1], path)
    first = path.read_bytes()
    path.write_bytes(first + newer + newer)

    requests, errors = load_requests([path])

    assert len(requests) == 1
    assert errors == [
        RecordingError(
            path,
            f"flow 2 (byte {len(first)})",
            f"this flow is in flow format version "
            f"{version.FLOW_FORMAT_VERSION + 5}, which mitmproxy {version.VERSION} "
            "cannot read (a newer mitmproxy wrote it: update mitmproxy to read it); "
            "the flow before it was read",
        )
    ]


def test_an_old_flow_format_version_is_shown_as_a_version(tmp_path):
    from mitmproxy import version

    path = tmp_path / "ancient.mitm"
    path.write_bytes(_tnetstring({**_first_flow_state(), "version": [0, 3]}))

    requests, errors = load_requests([path])

    assert requests == []
    assert [error.message for error in errors] == [
        f"this flow is in flow format version 0.3, which mitmproxy {version.VERSION} "
        "cannot read; no flow before it could be read"
    ]


# --------------------------------------------------------------------------------------
# Nesting deeper than the JSON parser follows


def _deep(levels: int) -> str:
    # A string with brackets and an escaped quote inside, which must not count.
    return "[" * levels + '"a]\\"}"' + "]" * levels


def _har_with(entries: list[str], before: str = "") -> str:
    return '{"log": {' + before + '"entries": [' + ", ".join(entries) + "]}}"


def test_an_entry_nested_too_deeply_is_reported_and_the_rest_read(tmp_path):
    har = tmp_path / "sample.har"
    write_har(sample_requests(), har)
    good = [
        json.dumps(entry) for entry in json.loads(har.read_text())["log"]["entries"]
    ]
    deep = '{"request": {"x": ' + _deep(100_000) + "}}"
    har.write_text(_har_with([good[0], deep, good[1], good[2]]))

    requests, errors = load_requests([har])

    assert len(requests) == 3
    [error] = errors
    assert (error.path, error.location) == (str(har), "entry 2")
    assert error.message.startswith("JSON nested more than about ")
    assert error.message.endswith(" levels deep cannot be read; entry skipped")


def test_deep_nesting_outside_the_entries_costs_nothing(tmp_path):
    har = tmp_path / "sample.har"
    write_har(sample_requests(), har)
    good = [
        json.dumps(entry) for entry in json.loads(har.read_text())["log"]["entries"]
    ]
    har.write_text(_har_with(good, before=f'"_extra": {_deep(100_000)}, '))

    requests, errors = load_requests([har])

    assert (len(requests), errors) == (3, [])


def test_a_deep_entry_that_never_closes_is_where_the_file_breaks(tmp_path):
    har = tmp_path / "sample.har"
    write_har(sample_requests(), har)
    good = json.dumps(json.loads(har.read_text())["log"]["entries"][0])
    har.write_text('{"log": {"entries": [' + good + ", " + "[" * 100_000)

    requests, errors = load_requests([har])

    assert len(requests) == 1
    [error] = errors
    assert error.location.startswith("entry 2 (")
    assert error.message.endswith(
        "(an entry is nested too deeply and never closes); the entry before it was read"
    )


# --------------------------------------------------------------------------------------
# Streams that may never end


def test_a_pipe_is_read_up_to_the_limit_and_the_cut_is_reported(tmp_path, monkeypatch):
    from inspector import recordings

    line = f"{pixel_url(1700000000000)}\n"
    monkeypatch.setattr(recordings, "STREAM_LIMIT_BYTES", len(line) * 3 + 10)
    fifo = tmp_path / "endless"
    os.mkfifo(fifo)

    def write_more_than_the_limit() -> None:
        with open(fifo, "w") as stream:
            try:
                stream.write(line * 50)
            except BrokenPipeError:
                pass

    writer = threading.Thread(target=write_more_than_the_limit)
    writer.start()

    requests, errors = load_requests([fifo])

    writer.join(timeout=30)
    # Three whole lines fit; the fourth was cut and is left out, not misread.
    assert [r.origin for r in requests] == [f"endless line {n}" for n in (1, 2, 3)]
    [error] = errors
    assert (error.path, error.location) == (str(fifo), None)
    assert error.message.startswith(
        f"reading stopped after the first {len(line) * 3 + 10} bytes: standard input,"
    )


def test_a_har_on_a_pipe_cut_at_the_limit_is_one_problem_with_what_was_read(
    tmp_path, monkeypatch
):
    from inspector import recordings

    har = tmp_path / "day.har"
    write_har(
        [
            CapturedRequest(method="GET", url=pixel_url(1700000000000 + n))
            for n in range(5)
        ],
        har,
    )
    data = har.read_bytes()
    # The limit falls inside the third entry.
    third = [m.start() for m in re.finditer(rb'"startedDateTime"', data)][2]
    monkeypatch.setattr(recordings, "STREAM_LIMIT_BYTES", third + 20)
    fifo = tmp_path / "day-pipe"
    os.mkfifo(fifo)

    def write_it() -> None:
        with open(fifo, "wb") as stream:
            try:
                stream.write(data)
            except BrokenPipeError:
                pass

    writer = threading.Thread(target=write_it)
    writer.start()
    requests, errors = load_requests([fifo])
    writer.join(timeout=30)

    assert len(requests) == 2
    [error] = errors
    assert error.message.startswith(f"reading stopped after the first {third + 20} ")
    assert error.message.endswith("; the 2 entries before the cut were read")


def test_a_device_is_read_up_to_the_limit(monkeypatch):
    from inspector import recordings

    monkeypatch.setattr(recordings, "STREAM_LIMIT_BYTES", 1 << 16)

    requests, errors = load_requests(["/dev/zero"])

    # It never ends, so only the first 64 KiB are read: NULs, which are no text.
    assert requests == []
    assert errors == [
        RecordingError(
            "/dev/zero",
            "line 1",
            "not UTF-8 text, and not a mitmproxy flow file or HAR either",
        )
    ]


def test_a_regular_file_is_read_whole_whatever_the_limit(tmp_path, monkeypatch):
    from inspector import recordings

    monkeypatch.setattr(recordings, "STREAM_LIMIT_BYTES", 10)
    recording = write(tmp_path, "list.txt", f"{pixel_url(1700000000000)}\n" * 3)

    requests, errors = load_requests([recording])

    assert (len(requests), errors) == (3, [])
