"""The embedded proxy, for real: mitmproxy on 127.0.0.1, a local origin, raw sockets."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import ssl

import pytest

from inspector.inspection import EventReport, Inspection
from inspector.model import CapturedRequest
from inspector.proxy import (
    ProxySession,
    ProxyStartError,
    check_confdir,
    check_listen_address,
    check_listen_host,
    check_not_replacing,
    connection_instructions,
    exposure_warning,
    is_loopback,
)
from inspector.recordings import read_requests
from inspector.spec import parse_spec

SPEC_TEXT = """\
version: 1
sites: [example.com]
first_party_hosts: [fpa-events.example.com]
segments:
  plan:
    type: string
    values: [basic, premium]
"""
WIDE_DUPLICATE_WINDOW = """\
pages:
  duplicate_window_ms: 600000
"""


@pytest.fixture
def spec():
    return parse_spec(SPEC_TEXT, "segments.yaml")


class Collected:
    def __init__(self) -> None:
        self.reports: list[EventReport] = []
        self.requests: list[CapturedRequest] = []

    def on_reports(self, reports: list[EventReport]) -> None:
        self.reports.extend(reports)

    def on_request(self, request: CapturedRequest) -> None:
        self.requests.append(request)


@pytest.fixture
async def start_session(tmp_path, spec):
    """Factory for sessions on a free port with a throwaway confdir; stops them all."""
    sessions: list[ProxySession] = []

    def make(**overrides) -> tuple[ProxySession, Collected]:
        collected = Collected()
        settings = {
            "inspection": Inspection(spec),
            "listen_port": 0,
            "confdir": tmp_path / "confdir",
            "on_reports": collected.on_reports,
            "on_request": collected.on_request,
        }
        settings.update(overrides)
        session = ProxySession(**settings)
        sessions.append(session)
        return session, collected

    yield make

    for session in sessions:
        await session.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def segments_by_action(reports) -> list[tuple[str | None, dict]]:
    return [(r.event.action, dict(r.event.segments)) for r in reports]


# ------------------------------------------------------------------ traffic


async def test_other_traffic_passes_through_byte_for_byte(
    start_session, origin_server, proxy_client
):
    session, collected = start_session(answer_pixels=True)
    [address] = await session.start()
    request = proxy_client.raw_get(
        origin_server.base_url + "/news/today?id=7&q=a%20b",
        [("User-Agent", "Example/1.0"), ("accept", "text/html"), ("X-Odd", "a  b")],
    )

    response = await proxy_client.send(address, request)

    # A proxy turns the absolute URL into a path; every other byte is the client's.
    origin_form = request.replace(origin_server.base_url.encode(), b"", 1)
    assert origin_server.received == [origin_form]
    assert response.raw == origin_server.response.raw()
    assert [r.url for r in collected.requests] == [
        origin_server.base_url + "/news/today?id=7&q=a%20b"
    ]
    assert collected.reports == []


async def test_request_bodies_pass_through_unchanged(
    start_session, origin_server, proxy_client
):
    session, _ = start_session()
    [address] = await session.start()
    body = bytes(range(256)) * 4
    head = (
        f"POST {origin_server.base_url}/upload HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{origin_server.port}\r\n"
        "Content-Type: application/octet-stream\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()

    response = await proxy_client.send(address, head + body)

    [received] = origin_server.received
    assert received.endswith(b"\r\n\r\n" + body)
    assert received.startswith(b"POST /upload HTTP/1.1\r\n")
    assert response.body == origin_server.response.body


async def test_answered_pixels_are_judged_and_never_leave(
    start_session, origin_server, proxy_client, pixel_url_factory
):
    session, collected = start_session(answer_pixels=True)
    [address] = await session.start()

    response = await proxy_client.get(address, pixel_url_factory(data={"plan": "gold"}))
    await proxy_client.get(
        address,
        pixel_url_factory(
            host="fpa-events.example.com", action="heartbeat", data={"plan": "basic"}
        ),
    )
    await session.stop()

    assert response.status == 200
    assert response.header(b"content-type") == b"image/gif"
    assert response.body.startswith(b"GIF89a")
    assert origin_server.received == []
    assert segments_by_action(collected.reports) == [
        ("pageview", {"plan": "gold"}),
        ("heartbeat", {"plan": "basic"}),
    ]
    assert "segment.value-not-allowed" in {
        finding.code for finding in collected.reports[0].findings
    }


async def test_https_pixels_are_answered_without_reaching_parsely(
    start_session, pixel_url_factory
):
    # Nothing here resolves p1.parsely.com: the proxy must answer the CONNECT and
    # the pixel itself on its own, trusting only its own CA on the client side.
    session, collected = start_session(answer_pixels=True)
    [address] = await session.start()
    url = pixel_url_factory(data={"plan": "premium"}).replace("http://", "https://")
    path = url.split("p1.parsely.com", 1)[1]

    def fetch() -> bytes:
        context = ssl.create_default_context(cafile=str(session.ca_cert_path))
        with socket.create_connection(address, timeout=10) as raw:
            raw.sendall(b"CONNECT p1.parsely.com:443 HTTP/1.1\r\n\r\n")
            assert raw.recv(4096).startswith(b"HTTP/1.1 200")
            with context.wrap_socket(raw, server_hostname="p1.parsely.com") as tls:
                tls.sendall(
                    f"GET {path} HTTP/1.1\r\nHost: p1.parsely.com\r\n"
                    "Connection: close\r\n\r\n".encode()
                )
                chunks = []
                while chunk := tls.recv(65536):
                    chunks.append(chunk)
                return b"".join(chunks)

    response = await asyncio.to_thread(fetch)
    await session.stop()

    assert response.startswith(b"HTTP/1.1 200")
    assert b"image/gif" in response.split(b"\r\n\r\n", 1)[0].lower()
    assert segments_by_action(collected.reports) == [("pageview", {"plan": "premium"})]


async def test_a_client_that_distrusts_the_ca_is_reported_once_per_host(
    start_session, caplog, tmp_path
):
    # Three handshakes with a client that trusts only the system's CAs (as a
    # browser does before the proxy's CA is installed): two hosts, two lines.
    session, _collected = start_session(answer_pixels=True)
    [address] = await session.start()
    other_ca = _unrelated_ca_pem(tmp_path / "other-ca")

    def handshake(host: str) -> None:
        context = ssl.create_default_context(cadata=other_ca)
        with socket.create_connection(address, timeout=10) as raw:
            raw.sendall(f"CONNECT {host}:443 HTTP/1.1\r\n\r\n".encode())
            assert raw.recv(4096).startswith(b"HTTP/1.1 200")
            with pytest.raises(ssl.SSLError):
                context.wrap_socket(raw, server_hostname=host)

    caplog.set_level(logging.INFO, logger="mitmproxy.proxy.server")
    for host in ("update.example.net", "update.example.net", "p1.parsely.com"):
        await asyncio.to_thread(handshake, host)
    for _ in range(100):
        failures = [
            r.getMessage()
            for r in caplog.records
            if r.getMessage().startswith("Client TLS handshake failed")
        ]
        if session._handshake_filter.hidden + len(failures) >= 3:
            break
        await asyncio.sleep(0.1)
    await session.stop()

    assert len(failures) == 2, failures
    assert "for update.example.net" in failures[0]
    assert "for p1.parsely.com" in failures[1]
    assert all(line.endswith("(shown once per host)") for line in failures)
    assert session._handshake_filter.hidden == 1


def _unrelated_ca_pem(folder) -> str:
    """A CA certificate that signed nothing the proxy presents."""
    from mitmproxy.certs import CertStore

    CertStore.create_store(folder, "other", 2048)
    return (folder / "other-ca-cert.pem").read_text()


async def test_pixels_are_forwarded_unless_answered(
    start_session, origin_server, proxy_client, pixel_url_factory, spec
):
    local_pixels = spec.model_copy(update={"first_party_hosts": ("127.0.0.1",)})
    session, collected = start_session(inspection=Inspection(local_pixels))
    [address] = await session.start()
    url = pixel_url_factory(
        host=f"127.0.0.1:{origin_server.port}", data={"plan": "basic"}
    )

    response = await proxy_client.get(address, url)
    await session.stop()

    [received] = origin_server.received
    assert received.startswith(b"GET /plogger/?rand=")
    assert response.raw == origin_server.response.raw()
    [report] = collected.reports
    assert report.event.request.response_status == 200
    assert dict(report.event.segments) == {"plan": "basic"}


async def test_jsonl_output_through_the_session(
    start_session, proxy_client, pixel_url_factory, tmp_path
):
    output = tmp_path / "events.jsonl"
    session, _ = start_session(answer_pixels=True, jsonl_path=output)
    [address] = await session.start()

    await proxy_client.get(address, pixel_url_factory(data={"plan": "basic"}))
    await session.stop()

    [line, summary] = output.read_text().splitlines()
    assert json.loads(line)["segments"] == {"plan": "basic"}
    assert json.loads(summary) == {
        "type": "summary",
        "events": 1,
        "requests": 1,
        "errors": 0,
        "warnings": 0,
        "infos": 0,
        "worst": None,
        "recording_errors": 0,
        "no_pixel_events": False,
        "sources": [],
    }


async def test_page_faults_reach_the_diagnosis_sink_and_the_jsonl(
    start_session, proxy_client, pixel_url_factory, tmp_path
):
    output = tmp_path / "events.jsonl"
    announced = asyncio.Event()
    notices = []

    def on_diagnoses(new_notices) -> None:
        notices.extend(new_notices)
        announced.set()

    # The duplicate window is wide, so however slowly a loaded machine sends the
    # second pageview it still falls within it.
    patient = parse_spec(SPEC_TEXT + WIDE_DUPLICATE_WINDOW, "segments.yaml")
    session, collected = start_session(
        inspection=Inspection(patient),
        answer_pixels=True,
        jsonl_path=output,
        on_diagnoses=on_diagnoses,
    )
    [address] = await session.start()

    for rand in ("1", "2"):
        url = pixel_url_factory(data={"plan": "basic"}, rand=rand)
        await proxy_client.get(address, url)
    await asyncio.wait_for(announced.wait(), timeout=30)
    await session.stop()

    [notice] = notices
    assert notice.diagnosis.code == "page.duplicate-pageview"
    assert notice.diagnosis.evidence == [r.event.id for r in collected.reports]
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert [record["type"] for record in records] == [
        "event",
        "event",
        "diagnosis",
        "summary",
    ]
    assert records[2]["code"] == "page.duplicate-pageview"


# ------------------------------------------------------------------ lifecycle


async def test_stop_closes_the_port(start_session, proxy_client):
    session, _ = start_session()
    [address] = await session.start()
    assert address[0] == "127.0.0.1" and address[1] > 0
    assert session.listen_addrs == [address]
    assert not proxy_client.port_is_closed(address)

    await session.stop()
    await session.stop()

    assert proxy_client.port_is_closed(address)
    assert not session.running


async def test_run_serves_until_stopped(start_session, proxy_client, origin_server):
    import asyncio

    session, _ = start_session()
    [address] = await session.start()
    runner = asyncio.create_task(session.run())

    response = await proxy_client.get(address, origin_server.base_url + "/")
    session.request_stop()
    await asyncio.wait_for(runner, timeout=10)

    assert response.status == 200
    assert proxy_client.port_is_closed(address)


async def test_cancelling_run_still_stops_the_proxy(start_session, proxy_client):
    import asyncio

    session, _ = start_session()
    [address] = await session.start()
    runner = asyncio.create_task(session.run())
    await asyncio.sleep(0)

    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner

    assert proxy_client.port_is_closed(address)


def _local_pixels(spec):
    """The spec, with pixels to 127.0.0.1 (the local origin) taken as first-party."""
    return spec.model_copy(update={"first_party_hosts": ("127.0.0.1",)})


def _slow_pixel(origin_server, pixel_url_factory, *, delay: float) -> str:
    """A pixel URL to the local origin, which answers it after `delay` seconds."""
    origin_server.delay = delay
    return pixel_url_factory(
        host=f"127.0.0.1:{origin_server.port}", data={"plan": "basic"}
    )


async def _until_in_flight(session: ProxySession, count: int = 1) -> None:
    for _ in range(500):
        if session.addon.flows_in_flight >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the request never reached the proxy")


@pytest.mark.parametrize("suffix", [".mitm", ".har"])
async def test_a_request_answered_while_stopping_is_recorded_and_judged(
    start_session,
    origin_server,
    proxy_client,
    pixel_url_factory,
    spec,
    tmp_path,
    suffix,
):
    recording = tmp_path / f"session{suffix}"
    jsonl = tmp_path / "events.jsonl"
    session, collected = start_session(
        inspection=Inspection(_local_pixels(spec)),
        record_path=recording,
        jsonl_path=jsonl,
    )
    [address] = await session.start()
    runner = asyncio.create_task(session.run())
    url = _slow_pixel(origin_server, pixel_url_factory, delay=0.5)

    client = asyncio.create_task(proxy_client.get(address, url))
    await _until_in_flight(session)
    session.request_stop()
    await asyncio.wait_for(runner, timeout=10)

    assert (await client).status == 200
    [report] = collected.reports
    assert report.event.request.response_status == 200
    [recorded] = read_requests(recording)
    assert (recorded.url, recorded.response_status) == (url, 200)
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [record["type"] for record in records] == ["event", "summary"]
    assert records[1]["events"] == 1


async def test_a_request_still_in_flight_at_exit_is_kept_without_a_response(
    start_session,
    origin_server,
    proxy_client,
    pixel_url_factory,
    spec,
    tmp_path,
    monkeypatch,
):
    from inspector import proxy

    monkeypatch.setattr(proxy, "FLOW_COMPLETION_WAIT_S", 0.2)
    recording = tmp_path / "session.mitm"
    session, collected = start_session(
        inspection=Inspection(_local_pixels(spec)), record_path=recording
    )
    [address] = await session.start()
    url = _slow_pixel(origin_server, pixel_url_factory, delay=5)

    client = asyncio.create_task(proxy_client.get(address, url))
    await _until_in_flight(session)
    await session.stop()
    client.cancel()

    [report] = collected.reports
    assert report.event.request.response_status is None
    assert dict(report.event.segments) == {"plan": "basic"}
    [recorded] = read_requests(recording)
    assert (recorded.url, recorded.response_status) == (url, None)
    assert session.addon.flows_in_flight == 0


async def test_a_hurried_stop_keeps_a_request_in_flight_without_waiting_for_it(
    start_session,
    origin_server,
    proxy_client,
    pixel_url_factory,
    spec,
    tmp_path,
    monkeypatch,
):
    from inspector import proxy

    monkeypatch.setattr(proxy, "FLOW_COMPLETION_WAIT_S", 60)
    recording = tmp_path / "session.mitm"
    session, collected = start_session(
        inspection=Inspection(_local_pixels(spec)), record_path=recording
    )
    [address] = await session.start()
    runner = asyncio.create_task(session.run())
    url = _slow_pixel(origin_server, pixel_url_factory, delay=30)

    client = asyncio.create_task(proxy_client.get(address, url))
    await _until_in_flight(session)
    session.request_stop()
    await asyncio.sleep(0.1)
    session.request_stop(hurry=True)
    await asyncio.wait_for(runner, timeout=10)
    client.cancel()

    [report] = collected.reports
    assert report.event.request.response_status is None
    [recorded] = read_requests(recording)
    assert (recorded.url, recorded.response_status) == (url, None)


async def test_the_ca_certificate_is_created_in_the_confdir(start_session, tmp_path):
    session, _ = start_session()

    await session.start()

    assert session.ca_cert_path == tmp_path / "confdir" / "mitmproxy-ca-cert.pem"
    assert session.ca_cert_path.read_text().startswith("-----BEGIN CERTIFICATE")


async def test_a_taken_port_is_a_plain_start_error(
    start_session, proxy_client, origin_server
):
    first, _ = start_session()
    [address] = await first.start()
    second, _ = start_session(listen_port=address[1])

    with pytest.raises(ProxyStartError) as raised:
        await second.start()

    assert str(raised.value) == (
        f"cannot listen on 127.0.0.1:{address[1]}: Address already in use"
    )
    # The first session keeps working.
    response = await proxy_client.get(address, origin_server.base_url + "/")
    assert response.status == 200


async def test_a_file_as_confdir_is_a_plain_start_error(start_session, tmp_path):
    not_a_directory = tmp_path / "garbage.bin"
    not_a_directory.write_bytes(b"\x00\x01")
    session, _ = start_session(confdir=not_a_directory)

    with pytest.raises(ProxyStartError) as raised:
        await session.start()

    assert str(raised.value) == (
        f"cannot use {not_a_directory} as mitmproxy's certificate directory "
        "(--confdir): it is not a directory"
    )
    assert session.master is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x00\xff" * 250, "Could not deserialize key data"),
        (b"", "Could not deserialize key data"),
    ],
    ids=["garbage", "empty"],
)
async def test_a_corrupt_ca_is_a_plain_start_error(
    start_session, tmp_path, content, reason
):
    confdir = tmp_path / "badconf"
    confdir.mkdir()
    (confdir / "mitmproxy-ca.pem").write_bytes(content)
    session, _ = start_session(confdir=confdir)

    with pytest.raises(ProxyStartError) as raised:
        await session.start()

    assert str(raised.value) == (
        f"cannot use mitmproxy's CA {confdir / 'mitmproxy-ca.pem'}: {reason}; move "
        "it away (or use another --confdir) to have a new CA created"
    )
    assert session.master is None


def test_a_ca_key_without_its_certificate_is_refused(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "mitmproxy-ca.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    with pytest.raises(ProxyStartError) as raised:
        check_confdir(tmp_path)

    assert str(raised.value).startswith(
        f"cannot use mitmproxy's CA {tmp_path / 'mitmproxy-ca.pem'}: "
    )


def test_the_ca_mitmproxy_creates_passes_the_check(tmp_path):
    from mitmproxy.certs import CertStore

    CertStore.create_store(tmp_path, "mitmproxy", 2048)

    check_confdir(tmp_path)  # no error


async def test_an_unresolvable_listen_host_is_a_plain_start_error(start_session):
    session, _ = start_session(listen_host="nonexistent.invalid")

    with pytest.raises(ProxyStartError) as raised:
        await session.start()

    assert str(raised.value).startswith(
        "cannot resolve listen host 'nonexistent.invalid'"
    )
    assert session.master is None


def test_check_confdir_creates_a_missing_directory(tmp_path):
    confdir = tmp_path / "new" / "mitmproxy"

    check_confdir(confdir)

    assert confdir.is_dir()
    assert list(confdir.iterdir()) == []


def test_check_confdir_reports_a_directory_it_cannot_create():
    with pytest.raises(ProxyStartError) as raised:
        check_confdir("/proc/nope")

    assert str(raised.value).startswith(
        "cannot create mitmproxy's certificate directory (--confdir) /proc/nope: "
    )


def test_unresolvable_hosts_are_named_the_same_way_everywhere():
    with pytest.raises(ProxyStartError) as raised:
        check_listen_host("nonexistent.invalid")

    problem = check_listen_address("nonexistent.invalid", 8080)

    assert str(raised.value) == problem
    assert problem.startswith("cannot resolve listen host 'nonexistent.invalid': ")
    check_listen_host("0.0.0.0")
    check_listen_host("localhost")


def test_check_listen_address_reports_a_taken_port():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]

        problem = check_listen_address("127.0.0.1", port)

    assert problem == f"cannot listen on 127.0.0.1:{port}: Address already in use"
    assert check_listen_address("127.0.0.1", free_port()) is None


# ------------------------------------------------------------------ recording


@pytest.mark.parametrize("suffix", [".mitm", ".har"])
async def test_a_recording_reads_back_as_the_same_events(
    start_session,
    origin_server,
    proxy_client,
    pixel_url_factory,
    tmp_path,
    spec,
    suffix,
):
    recording = tmp_path / f"session{suffix}"
    session, collected = start_session(answer_pixels=True, record_path=recording)
    [address] = await session.start()

    await proxy_client.get(address, origin_server.base_url + "/news/today")
    await proxy_client.get(address, pixel_url_factory(data={"plan": "basic"}))
    await proxy_client.get(
        address,
        pixel_url_factory(action="heartbeat", data={"plan": "premium"}, inc="5"),
    )
    await session.stop()

    read_back = list(read_requests(recording))
    assert [(r.method, r.url) for r in read_back] == [
        (r.method, r.url) for r in collected.requests
    ]
    replayed = Inspection(spec).process_all(read_back)
    assert segments_by_action(replayed.reports) == segments_by_action(collected.reports)
    assert [r.response_status for r in read_back] == [200, 200, 200]


async def test_a_mitm_recording_is_current_after_every_flow(
    start_session, proxy_client, pixel_url_factory, tmp_path
):
    recording = tmp_path / "session.mitm"
    session, _ = start_session(answer_pixels=True, record_path=recording)
    [address] = await session.start()

    await proxy_client.get(address, pixel_url_factory(data={"plan": "basic"}))
    first = list(read_requests(recording))
    await proxy_client.get(address, pixel_url_factory(data={"plan": "premium"}))
    second = list(read_requests(recording))

    assert (len(first), len(second)) == (1, 2)


async def test_save_writes_the_har_during_the_session(
    start_session, proxy_client, pixel_url_factory, tmp_path
):
    recording = tmp_path / "session.har"
    session, _ = start_session(answer_pixels=True, record_path=recording)
    [address] = await session.start()
    assert json.loads(recording.read_text())["log"]["entries"] == []

    await proxy_client.get(address, pixel_url_factory(data={"plan": "basic"}))
    session.save()

    assert len(json.loads(recording.read_text())["log"]["entries"]) == 1


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("no-such-dir/session.mitm", "No such file or directory"),
        ("session.txt", "use a .mitm or .har file name"),
    ],
)
async def test_an_unusable_recording_path_fails_before_listening(
    start_session, proxy_client, tmp_path, name, message
):
    port = free_port()

    with pytest.raises(ProxyStartError, match=message):
        session, _ = start_session(record_path=tmp_path / name, listen_port=port)
        await session.start()

    assert proxy_client.port_is_closed(("127.0.0.1", port))


async def test_a_failed_start_leaves_an_earlier_recording_alone(
    start_session, tmp_path
):
    recording = tmp_path / "yesterday.mitm"
    recording.write_bytes(b"earlier flows")
    first, _ = start_session()
    [address] = await first.start()
    # Allowed to replace it, but the port is taken: the file must survive.
    second, _ = start_session(
        record_path=recording, listen_port=address[1], overwrite=True
    )

    with pytest.raises(ProxyStartError, match="in use"):
        await second.start()

    assert recording.read_bytes() == b"earlier flows"


@pytest.mark.parametrize(
    ("option", "name", "what"),
    [
        ("record_path", "kept.mitm", "recording"),
        ("record_path", "kept.har", "recording"),
        ("jsonl_path", "kept.jsonl", "JSON Lines file"),
    ],
)
async def test_an_existing_output_is_not_replaced_without_overwrite(
    start_session, proxy_client, tmp_path, option, name, what
):
    kept = tmp_path / name
    kept.write_bytes(b"an earlier session")
    port = free_port()
    session, _ = start_session(listen_port=port, **{option: kept})

    with pytest.raises(ProxyStartError) as raised:
        await session.start()

    assert str(raised.value) == (
        f"{what} {kept} already exists (18 bytes); pass overwrite=True to replace "
        "it, or choose another file name"
    )
    assert kept.read_bytes() == b"an earlier session"
    assert proxy_client.port_is_closed(("127.0.0.1", port))


async def test_overwrite_replaces_an_existing_recording(
    start_session, proxy_client, pixel_url_factory, tmp_path
):
    recording = tmp_path / "kept.mitm"
    recording.write_bytes(b"an earlier session")
    session, _ = start_session(
        answer_pixels=True, record_path=recording, overwrite=True
    )
    [address] = await session.start()

    await proxy_client.get(address, pixel_url_factory(data={"plan": "basic"}))
    await session.stop()

    assert len(list(read_requests(recording))) == 1


async def test_an_empty_output_file_is_used_without_overwrite(
    start_session, proxy_client, pixel_url_factory, tmp_path
):
    recording = tmp_path / "empty.mitm"
    recording.touch()
    session, _ = start_session(answer_pixels=True, record_path=recording)
    [address] = await session.start()

    await proxy_client.get(address, pixel_url_factory(data={"plan": "basic"}))
    await session.stop()

    assert len(list(read_requests(recording))) == 1


def test_check_not_replacing_leaves_missing_and_empty_files_alone(tmp_path):
    empty = tmp_path / "empty.mitm"
    empty.touch()

    check_not_replacing(empty, what="recording")
    check_not_replacing(tmp_path / "new.mitm", what="recording")
    check_not_replacing(tmp_path, what="recording")  # a directory: not this check's
    check_not_replacing(None, what="recording")


async def test_a_failed_start_leaves_no_new_files(start_session, tmp_path):
    first, _ = start_session()
    [address] = await first.start()
    second, _ = start_session(
        record_path=tmp_path / "new.har",
        jsonl_path=tmp_path / "new.jsonl",
        listen_port=address[1],
    )

    with pytest.raises(ProxyStartError):
        await second.start()

    assert not (tmp_path / "new.har").exists()
    assert not (tmp_path / "new.jsonl").exists()


# ------------------------------------------------------------------ instructions


def test_instructions_for_a_loopback_proxy(tmp_path):
    lines = connection_instructions(
        [("127.0.0.1", 8080)], tmp_path / "mitmproxy-ca-cert.pem", "127.0.0.1"
    )

    text = "\n".join(lines)
    assert "--proxy-server=127.0.0.1:8080" in text
    assert "--proxy-bypass-list='<-loopback>'" in text
    assert "--listen-host 0.0.0.0" in text
    assert "http://mitm.it" in text
    assert str(tmp_path / "mitmproxy-ca-cert.pem") in text


def test_instructions_for_a_lan_proxy(tmp_path):
    lines = connection_instructions([("0.0.0.0", 8080)], tmp_path / "ca.pem", "0.0.0.0")

    text = "\n".join(lines)
    assert "--proxy-server=127.0.0.1:8080" in text
    assert "--listen-host" not in text
    assert "Wi-Fi proxy to" in text


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.20", False),
        ("", False),
    ],
)
def test_is_loopback(host, expected):
    assert is_loopback(host) is expected


def test_instructions_put_an_ipv6_address_in_brackets(tmp_path):
    lines = connection_instructions([("::1", 8080)], tmp_path / "ca.pem", "::1")

    text = "\n".join(lines)
    assert "Proxy listening on [::1]:8080" in text
    assert "--proxy-server=[::1]:8080" in text


@pytest.mark.parametrize(
    ("host", "where"),
    [("0.0.0.0", "all interfaces"), ("", "all interfaces"), ("10.0.0.5", "10.0.0.5")],
)
def test_exposure_warning_names_where_the_proxy_listens(host, where):
    warning = exposure_warning(host)
    assert warning.startswith(f"listening on {where}: other machines")


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_no_exposure_warning_on_loopback(host):
    assert exposure_warning(host) is None
