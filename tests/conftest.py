"""Shared test fixtures: mitmproxy addon harness, a local origin server, a proxy client.

mitmproxy's test helpers (`tflow`, `taddons`) carry no API promise, so tests reach
them only through the fixtures here. The origin server and the proxy client speak
raw HTTP/1.1 over 127.0.0.1 sockets, so a test can compare the exact bytes that went
in and came out of the proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import socketserver
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import pytest
from mitmproxy import hooks, http
from mitmproxy.test import taddons, tflow

# --------------------------------------------------------------------------------------
# Addon harness


class AddonHarness:
    """Runs an addon inside mitmproxy's test context, one flow at a time."""

    def __init__(self, context: taddons.context, addon: object):
        self.context = context
        self.addon = addon

    def configure(self, **options: object) -> None:
        """Set options as mitmproxy would; raises `OptionsError` when rejected."""
        self.context.configure(self.addon, **options)

    async def cycle(self, flow: http.HTTPFlow) -> http.HTTPFlow:
        """Send a flow through every hook, then let queued judging run."""
        await self.context.cycle(self.addon, flow)
        await asyncio.sleep(0)
        flush = getattr(self.addon, "flush", None)
        if flush is not None:
            flush()
        return flow

    def done(self) -> None:
        """Fire the `done` hook, as mitmproxy does at shutdown."""
        self.context.master.addons.invoke_addon_sync(self.addon, hooks.DoneHook())


@pytest.fixture
def addon_harness():
    """Factory: `harness = addon_harness(addon)`, usable only in async tests."""
    contexts: list[taddons.context] = []

    def make(addon: object) -> AddonHarness:
        context = taddons.context(addon)
        contexts.append(context)
        return AddonHarness(context, addon)

    yield make


def make_flow(
    url: str,
    *,
    method: str = "GET",
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    status: int | None = 200,
    response_body: bytes = b"",
    response_headers: dict[str, str] | None = None,
    error: str | None = None,
    client_address: str = "127.0.0.1",
) -> http.HTTPFlow:
    """A complete test flow for `url` (absolute), answered with `status`.

    `status=None` makes a flow that got no response, as when the server is down;
    `error` attaches a flow error.
    """
    request = http.Request.make(method, url, b"", headers or {})
    # The body as it went over the wire (already compressed if the headers say so).
    request.raw_content = body
    request.timestamp_start = 1_700_000_000.0
    request.timestamp_end = 1_700_000_000.1

    response: bool | http.Response = False
    if status is not None:
        response = http.Response.make(status, response_body, response_headers or {})

    flow = tflow.tflow(req=request, resp=response)
    flow.client_conn.peername = (client_address, 50000)
    if error is not None:
        from mitmproxy import flow as mitmproxy_flow

        flow.error = mitmproxy_flow.Error(error)
    return flow


@pytest.fixture
def flow_factory():
    """`make_flow` as a fixture, so tests need not import from conftest."""
    return make_flow


def pixel_url(
    *,
    host: str = "p1.parsely.com",
    action: str = "pageview",
    data: object = None,
    page: str = "https://example.com/news/today",
    **params: str,
) -> str:
    """A web-tracker pixel URL with the usual parameters, in the tracker's order.

    `data` is JSON-encoded unless it is already a string (to send broken JSON).
    """
    query: dict[str, str] = {
        "rand": "1700000000123",
        "plid": "12345678",
        "idsite": "example.com",
        "url": page,
        "urlref": "",
        "screen": "1440x900|1440x900|24",
    }
    if data is not None:
        query["data"] = data if isinstance(data, str) else json.dumps(data)
    query.update(
        {
            "sid": "1",
            "sts": "1699999000000",
            "slts": "0",
            "date": "Tue Nov 14 2023 22:13:20 GMT+0000 (UTC)",
            "action": action,
        }
    )
    if action == "pageview":
        query["pvid"] = "42424242"
    query["u"] = "pid=0f8f2b6c-9a5e-4b7c-8d1e-2a3b4c5d6e7f"
    query.update(params)
    return f"http://{host}/plogger/?{urlencode(query)}"


@pytest.fixture
def pixel_url_factory():
    """`pixel_url` as a fixture: `pixel_url_factory(data={"plan": "premium"})`."""
    return pixel_url


# --------------------------------------------------------------------------------------
# Origin server


@dataclass
class CannedResponse:
    status_line: bytes = b"HTTP/1.1 200 OK"
    headers: list[tuple[bytes, bytes]] = field(
        default_factory=lambda: [
            (b"Content-Type", b"text/html; charset=utf-8"),
            (b"X-Origin-Marker", b"kept as is"),
            (b"Set-Cookie", b"session=abc; Path=/"),
        ]
    )
    body: bytes = b"<!doctype html><title>origin</title><p>hello</p>\n"

    def raw(self) -> bytes:
        head = [self.status_line]
        head += [name + b": " + value for name, value in self.headers]
        head.append(b"Content-Length: " + str(len(self.body)).encode())
        return b"\r\n".join(head) + b"\r\n\r\n" + self.body


class OriginServer:
    """A one-request-per-connection HTTP/1.1 server that keeps what it received."""

    def __init__(self) -> None:
        self.response = CannedResponse()
        self.delay = 0.0
        """Seconds to wait before answering, as a slow origin does."""
        self.received: list[bytes] = []
        self._lock = threading.Lock()
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        origin = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                raw = _read_http_message(self.request)
                with origin._lock:
                    origin.received.append(raw)
                time.sleep(origin.delay)
                self.request.sendall(origin.response.raw())

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@pytest.fixture
def origin_server() -> Iterator[OriginServer]:
    """A local origin on 127.0.0.1 with a canned HTML response."""
    server = OriginServer()
    server.start()
    yield server
    server.stop()


# --------------------------------------------------------------------------------------
# Proxy client


@dataclass
class RawResponse:
    raw: bytes
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


class NoResponse(ConnectionError):
    """The proxy closed the connection without answering."""


def parse_response(raw: bytes) -> RawResponse:
    if not raw:
        raise NoResponse("the connection was closed before any answer")
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ")[1])
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers.append((name, value.strip()))
    return RawResponse(raw=raw, status=status, headers=headers, body=body)


class ProxyClient:
    """Speaks raw HTTP/1.1 to a proxy, as a browser configured to use it does."""

    @staticmethod
    def raw_get(url: str, extra_headers: Sequence[tuple[str, str]] = ()) -> bytes:
        """An absolute-form GET request (`GET http://host/path HTTP/1.1`)."""
        host = urlsplit(url).netloc
        lines = [f"GET {url} HTTP/1.1", f"Host: {host}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in extra_headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def send(
        self, proxy: tuple[str, int], request: bytes, timeout: float = 60.0
    ) -> RawResponse:
        """Send raw request bytes and read one response, without blocking the loop."""
        reader, writer = await asyncio.open_connection(*proxy)
        try:
            writer.write(request)
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
            length = _content_length(head)
            body = await asyncio.wait_for(reader.readexactly(length), timeout)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        return parse_response(head + body)

    async def get(self, proxy: tuple[str, int], url: str) -> RawResponse:
        return await self.send(proxy, self.raw_get(url))

    def send_sync(
        self, proxy: tuple[str, int], request: bytes, timeout: float = 60.0
    ) -> RawResponse:
        """The blocking form, for a proxy running in another process."""
        with socket.create_connection(proxy, timeout=timeout) as connection:
            connection.sendall(request)
            raw = _read_http_message(connection)
        return parse_response(raw)

    def get_sync(self, proxy: tuple[str, int], url: str) -> RawResponse:
        return self.send_sync(proxy, self.raw_get(url))

    @staticmethod
    def port_is_closed(address: tuple[str, int]) -> bool:
        """True when nothing accepts connections on `address` any more."""
        try:
            with socket.create_connection(address, timeout=2):
                return False
        except ConnectionRefusedError:
            return True


@pytest.fixture
def proxy_client() -> ProxyClient:
    return ProxyClient()


def _read_http_message(connection: socket.socket) -> bytes:
    """One HTTP/1.1 message (head and Content-Length body) from a blocking socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = _content_length(head + b"\r\n\r\n")
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0
