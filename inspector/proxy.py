"""Run mitmproxy inside our own process, with the inspector addon loaded.

`ProxySession` is the one place that knows how to embed mitmproxy: a bare `Master`
with mitmproxy's default addons plus ours (never `DumpMaster`, whose startup check
exits the process on a port conflict). It runs on the caller's event loop, so the
terminal UI can await it as an async worker and the headless mode with
`asyncio.run`::

    session = ProxySession(inspection=Inspection(spec), on_reports=show)
    addresses = await session.start()     # ProxyStartError if it cannot listen
    await session.run()                   # until stop() or request_stop()

`stop()` closes the listening socket, finishes the recording and flushes the JSON
Lines output; it is safe to call more than once and from a cancelled task.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import re
import socket
import stat
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from mitmproxy import certs, exceptions, http, io
from mitmproxy import ctx as mitmproxy_ctx
from mitmproxy.addons import default_addons
from mitmproxy.addons.savehar import SaveHar
from mitmproxy.master import Master
from mitmproxy.options import Options

from inspector.addon import DiagnosisSink, ReportSink, RequestSink, SegmentInspector

if TYPE_CHECKING:
    from inspector.inspection import Inspection

logger = logging.getLogger(__name__)

RECORDING_SUFFIXES = (".mitm", ".har")
CA_CERT_NAME = "mitmproxy-ca-cert.pem"
CA_KEY_NAME = "mitmproxy-ca.pem"
"""The CA's key and certificate, the file mitmproxy loads (and creates if missing)."""
CA_DHPARAM_NAME = "mitmproxy-dhparam.pem"
DEFAULT_CONFDIR = "~/.mitmproxy"
FLOW_COMPLETION_WAIT_S = 2.0
"""How long stopping waits for requests in flight to get their response."""
"""mitmproxy's own default, so a CA certificate the user already trusts keeps
working."""
WILDCARD_HOSTS = ("", "0.0.0.0", "::")
"""Listen hosts that mean every interface."""

Address = tuple[str, int]


class ProxyStartError(Exception):
    """The proxy could not start; the message is meant for the user as it is."""


class FlowRecorder:
    """Keeps the flows of a live session in a `.mitm` or HAR file.

    `.mitm` flows are appended and flushed one by one as they complete, so a crash
    loses at most the flow in flight. A HAR file is one JSON document, so flows are
    kept in memory and the whole file is rewritten by `save()` and at shutdown.
    Nothing touches the file until `open()`, which the session calls once the proxy
    listens, so a failed start never clobbers an earlier recording. At shutdown, a
    request still waiting for its response is kept as it stands (the inspector
    judges it so too); what completes after that is not written.
    """

    name = "inspector_recorder"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.format = _recording_format(self.path)
        self.flows_written = 0

        self._opened = False
        self._mitm_file: IO[bytes] | None = None
        self._mitm_writer: io.FlowWriter | None = None
        self._har_flows: list[http.HTTPFlow] = []
        self._waiting: list[http.HTTPFlow] = []
        self._seen: weakref.WeakSet[http.HTTPFlow] = weakref.WeakSet()
        self._in_flight: dict[str, http.HTTPFlow] = {}
        self._closed = False

    def open(self) -> None:
        """Create (or truncate) the file and write the flows seen so far."""
        if self._opened:
            return
        self._opened = True
        if self.format == "mitm":
            self._mitm_file = open(self.path, "wb")  # noqa: SIM115
            self._mitm_writer = io.FlowWriter(self._mitm_file)
        waiting, self._waiting = self._waiting, []
        for flow in waiting:
            self._record(flow)
        self.save()

    def save(self) -> None:
        """Write the HAR file now (a no-op for `.mitm`, which is always current)."""
        if not self._opened or self.format != "har":
            return
        document = SaveHar().make_har(self._har_flows)
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps(document, indent=1), encoding="utf-8")
        os.replace(temporary, self.path)

    def close(self) -> None:
        """Finish the recording; the file stays readable by `check`."""
        if not self._opened or self._closed:
            return
        for flow in list(self._in_flight.values()):
            self._flow_done(flow)
        self._closed = True
        try:
            self.save()
        finally:
            if self._mitm_file is not None:
                self._mitm_file.close()
                self._mitm_file = None
                self._mitm_writer = None

    # mitmproxy hooks

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.live and not self._closed:
            self._in_flight[flow.id] = flow

    def response(self, flow: http.HTTPFlow) -> None:
        if flow.websocket is None:
            self._flow_done(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._flow_done(flow)

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        self._flow_done(flow)

    def done(self) -> None:
        try:
            self.close()
        except OSError:
            logger.exception("could not finish the recording %s", self.path)

    def _flow_done(self, flow: http.HTTPFlow) -> None:
        self._in_flight.pop(flow.id, None)
        # A flow can end with a response and then an error; keep it once.
        if flow in self._seen or self._closed:
            return
        self._seen.add(flow)
        if not self._opened:
            self._waiting.append(flow)
            return
        try:
            self._record(flow)
        except OSError:
            logger.exception("could not record flow %s to %s", flow.id, self.path)

    def _record(self, flow: http.HTTPFlow) -> None:
        if self._mitm_writer is not None and self._mitm_file is not None:
            self._mitm_writer.add(flow)
            self._mitm_file.flush()
        else:
            self._har_flows.append(flow)
        self.flows_written += 1


class _Readiness:
    """Tells the session when mitmproxy has finished starting its servers."""

    name = "inspector_readiness"

    def __init__(self) -> None:
        self.ready = asyncio.Event()

    def running(self) -> None:
        self.ready.set()


class ProxySession:
    """One embedded mitmproxy with the inspector addon, started and stopped by us.

    Args:
        inspection: the pipeline the addon feeds; the caller keeps it for reports.
        listen_host: the address to bind; `0.0.0.0` lets phones on the LAN connect.
        listen_port: the port to bind; 0 picks a free one (see `listen_addrs`).
        confdir: where mitmproxy keeps its CA; default `~/.mitmproxy`, so a
            certificate the user already trusts keeps working.
        record_path: a `.mitm` or `.har` file to keep every flow in.
        answer_pixels: answer pixels locally instead of sending them to Parse.ly.
        on_reports: called on the event loop with the reports of each pixel.
        on_request: called on the event loop with every request seen.
        on_diagnoses: called on the event loop with page-level faults as they
            become known, and at `stop()` with those still open.
        jsonl_path: a JSON Lines file with one object per pixel event and per
            page-level fault.
        show_pii: write personal data to the JSON Lines file unmasked.
        overwrite: replace a `record_path` or `jsonl_path` that already holds
            something. Without it `start()` refuses (see `check_not_replacing`),
            so that a recording kept as a fixture survives a second run.
    """

    def __init__(
        self,
        *,
        inspection: Inspection,
        listen_host: str = "127.0.0.1",
        listen_port: int = 8080,
        confdir: str | os.PathLike[str] | None = None,
        record_path: str | os.PathLike[str] | None = None,
        answer_pixels: bool = False,
        on_reports: ReportSink | None = None,
        on_request: RequestSink | None = None,
        jsonl_path: str | os.PathLike[str] | None = None,
        show_pii: bool = False,
        on_diagnoses: DiagnosisSink | None = None,
        overwrite: bool = False,
    ) -> None:
        self.inspection = inspection
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.confdir = Path(confdir or DEFAULT_CONFDIR).expanduser()
        self.record_path = Path(record_path) if record_path else None
        self.answer_pixels = answer_pixels
        self.jsonl_path = Path(jsonl_path) if jsonl_path else None
        self.show_pii = show_pii
        self.overwrite = overwrite

        self.addon = SegmentInspector(
            inspection,
            on_reports=on_reports,
            on_request=on_request,
            on_diagnoses=on_diagnoses,
        )
        self.recorder = FlowRecorder(self.record_path) if self.record_path else None
        self.listen_addrs: list[Address] = []

        self.master: Master | None = None
        self._readiness = _Readiness()
        self._run_task: asyncio.Task[None] | None = None
        self._stop_lock = asyncio.Lock()
        self._stop_requested = asyncio.Event()
        self._hurry = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = False
        self._handshake_filter = HandshakeFailuresOncePerHost()

    @property
    def ca_cert_path(self) -> Path:
        """The CA certificate clients must trust to have HTTPS inspected."""
        return self.confdir / CA_CERT_NAME

    @property
    def running(self) -> bool:
        return self._run_task is not None and not self._stopped

    async def start(self) -> list[Address]:
        """Bind the proxy and return the addresses it listens on.

        Raises:
            ProxyStartError: the recording or JSON Lines file cannot be written or
                already holds something (without `overwrite`), the confdir is not
                a writable directory, the listen host does not resolve, or the
                address cannot be bound.
        """
        if self._run_task is not None:
            return self.listen_addrs
        if self._stopped:
            raise ProxyStartError("this proxy session was stopped; start a new one")

        self._loop = asyncio.get_running_loop()
        _quiet_about_cancelled_connections(self._loop)

        # mitmproxy reports these with a traceback and then listens anyway.
        check_confdir(self.confdir)
        await asyncio.get_running_loop().run_in_executor(
            None, check_listen_host, self.listen_host
        )

        # Check the output files before anything listens.
        if not self.overwrite:
            check_not_replacing(self.record_path, what="recording")
            check_not_replacing(self.jsonl_path, what="JSON Lines file")
        created_files = []
        for path in (self.record_path, self.jsonl_path):
            if path is not None and _ensure_writable(path):
                created_files.append(path)

        previous_master = getattr(mitmproxy_ctx, "master", None)
        logging.getLogger(_CONNECTION_LOGGER).addFilter(self._handshake_filter)
        try:
            with _server_errors_held() as held_errors:
                self._build_master()
                self._run_task = asyncio.create_task(
                    self.master.run(), name="mitmproxy master"
                )
                self.listen_addrs = await self._wait_until_listening(held_errors)

            # Only now is it safe to truncate the outputs.
            if self.recorder is not None:
                self._open_recorder()
            if self.jsonl_path is not None:
                self._set_options(inspector_jsonl=str(self.jsonl_path))
        except BaseException:
            await self.stop()
            for path in created_files:
                with contextlib.suppress(OSError):
                    path.unlink()
            # mitmproxy keeps its current master in a module global; give it back
            # to whoever had it, so a failed second session does not break the first.
            if previous_master is not None:
                mitmproxy_ctx.master = previous_master
                mitmproxy_ctx.options = previous_master.options
            raise
        return self.listen_addrs

    async def run(self) -> None:
        """Start if needed, then serve until `stop()` or `request_stop()`.

        This is the coroutine to run as a UI worker or under `asyncio.run`. If it is
        cancelled, the proxy is stopped properly before the cancellation goes on.
        """
        await self.start()
        assert self._run_task is not None
        stop_requested = asyncio.create_task(
            self._stop_requested.wait(), name="proxy stop request"
        )
        try:
            await asyncio.wait(
                {self._run_task, stop_requested},
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            stop_requested.cancel()
            await self.stop()

    def request_stop(self, *, hurry: bool = False) -> None:
        """Ask a running session to stop; safe from signal handlers and threads.

        `run()` then stops it as `stop()` does, letting requests in flight finish.
        With `hurry` (a second Ctrl-C), it no longer waits for them: they are
        judged and recorded as they stand, and the session ends as cleanly.
        """
        if self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._stop_requested.set)
        if hurry:
            self._loop.call_soon_threadsafe(self._hurry.set)

    async def stop(self) -> None:
        """Stop the proxy: finish flows' bookkeeping, close the port and the files."""
        async with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
            logging.getLogger(_CONNECTION_LOGGER).removeFilter(self._handshake_filter)
            if self.master is None:
                return

            # 1. Take no new connections (mitmproxy does not close its listening
            #    sockets on shutdown), then give the requests already in flight a
            #    moment to complete, so that what was judged is also recorded.
            proxyserver = self.master.addons.get("proxyserver")
            if proxyserver is not None:
                # A server that never started fails to stop too; that is no news.
                with _server_errors_held() as held_errors:
                    try:
                        await proxyserver.servers.update([])
                    except Exception:
                        logger.exception("could not close the proxy's listening port")
                for record in held_errors:
                    logger.debug("while stopping the proxy: %s", record.getMessage())
                await self._let_flows_complete()

            # 2. Let the master leave its loop; its `done` hook flushes our addon and
            #    finishes the recording, with any request still in flight as it is.
            self.master.shutdown()
            if self._run_task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await self._run_task

            # 3. Belt and braces, in case the master never reached `running`.
            self.addon.done()
            if self.recorder is not None:
                self.recorder.done()

    async def _let_flows_complete(self) -> None:
        """Wait, up to `FLOW_COMPLETION_WAIT_S`, for the requests in flight."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FLOW_COMPLETION_WAIT_S
        while (
            self.addon.flows_in_flight
            and loop.time() < deadline
            and not self._hurry.is_set()
        ):
            await asyncio.sleep(0.02)
        if self.addon.flows_in_flight:
            logger.info(
                "stopping with %d request(s) still waiting for a response; they "
                "are recorded and judged without one",
                self.addon.flows_in_flight,
            )

    def save(self) -> None:
        """Write the HAR recording now (`.mitm` recordings are always current)."""
        if self.recorder is not None:
            self.recorder.save()

    # Internals

    def _build_master(self) -> None:
        options = Options(
            listen_host=self.listen_host,
            listen_port=self.listen_port,
            confdir=str(self.confdir),
        )
        self.master = Master(options)

        addons = [*default_addons(), self.addon, self._readiness]
        if self.recorder is not None:
            addons.append(self.recorder)
        self.master.addons.add(*addons)

        # A bare master configures addons only for options that change (mitmproxy's
        # own addons finish their setup in `running`), so set ours explicitly.
        self._set_options(
            inspector_answer_pixels=self.answer_pixels,
            inspector_show_pii=self.show_pii,
            # Answering pixels must work offline: with the default eager strategy
            # mitmproxy reaches the real server before it answers CONNECT, so an
            # HTTPS pixel would fail before the addon could answer it.
            connection_strategy="lazy" if self.answer_pixels else "eager",
        )

    def _set_options(self, **values: object) -> None:
        assert self.master is not None
        try:
            self.master.options.update(**values)
        except exceptions.OptionsError as exc:
            raise ProxyStartError(str(exc)) from exc

    async def _wait_until_listening(
        self, held_errors: list[logging.LogRecord]
    ) -> list[Address]:
        assert self.master is not None and self._run_task is not None
        ready = asyncio.create_task(self._readiness.ready.wait())
        await asyncio.wait([ready, self._run_task], return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            if self._run_task.done() and self._run_task.exception():
                raise ProxyStartError(
                    f"the proxy stopped while starting: {self._run_task.exception()}"
                )
            raise ProxyStartError("the proxy stopped before it was listening")

        proxyserver = self.master.addons.get("proxyserver")
        addresses = [(str(a[0]), int(a[1])) for a in proxyserver.listen_addrs()]
        if not addresses:
            raise ProxyStartError(self._listen_failure(proxyserver, held_errors))
        for record in held_errors:
            logger.warning("while starting the proxy: %s", record.getMessage())
        return addresses

    def _listen_failure(
        self, proxyserver: object, held_errors: list[logging.LogRecord]
    ) -> str:
        where = f"{self.listen_host or '*'}:{self.listen_port}"
        for server in getattr(proxyserver, "servers", []):
            failure = getattr(server, "last_exception", None)
            if isinstance(failure, socket.gaierror):
                return _unresolved(self.listen_host, failure)
            if isinstance(failure, OSError) and failure.errno:
                return f"cannot listen on {where}: {os.strerror(failure.errno)}"
            if failure is not None:
                return f"cannot listen on {where}: {failure}"
        for record in held_errors:
            if record.getMessage().strip():
                first_line = record.getMessage().strip().splitlines()[0]
                return f"cannot listen on {where}: {first_line}"
        return f"cannot listen on {where}"

    def _open_recorder(self) -> None:
        assert self.recorder is not None
        try:
            self.recorder.open()
        except OSError as exc:
            raise ProxyStartError(
                f"cannot write recording {self.recorder.path}: {exc.strerror or exc}"
            ) from exc


def _quiet_about_cancelled_connections(loop: asyncio.AbstractEventLoop) -> None:
    """Keep a connection cancelled at exit from printing a traceback.

    A client connection still open when the program ends has its task cancelled
    by `asyncio.run`; on Python 3.11, asyncio's stream protocol then asks that
    task for its exception, which raises `CancelledError` into the loop's
    exception handler. A cancellation is no error, so it is logged at debug level;
    every other exception goes to the handler there was before.
    """
    previous = loop.get_exception_handler()
    if getattr(previous, "_inspector_quiet", False):
        return

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if isinstance(context.get("exception"), asyncio.CancelledError):
            logger.debug("cancelled at exit: %s", context.get("message"))
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    handle._inspector_quiet = True  # type: ignore[attr-defined]
    loop.set_exception_handler(handle)


class HandshakeFailuresOncePerHost(logging.Filter):
    """Let mitmproxy's "Client TLS handshake failed" through once per host.

    A browser that does not trust the proxy's CA yet, or that opens background
    connections of its own (update and sign-in services), fails the handshake on
    every new connection: one line per host says it, a hundred bury the pixels.
    """

    _PREFIX = "Client TLS handshake failed."
    _HOST = re.compile(r"\bfor ([\w.:\[\]-]*\w)")

    def __init__(self) -> None:
        super().__init__()
        self.hosts_seen: set[str] = set()
        self.hidden = 0

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if not message.startswith(self._PREFIX):
            return True
        found = self._HOST.search(message)
        host = found.group(1) if found else ""
        if host in self.hosts_seen:
            self.hidden += 1
            return False
        self.hosts_seen.add(host)
        record.msg = f"{message} (shown once per host)"
        record.args = None
        return True


@contextlib.contextmanager
def _server_errors_held() -> Iterator[list[logging.LogRecord]]:
    """Keep mitmproxy's server errors instead of logging them, while we start or stop.

    A failed bind is logged by mitmproxy in several raw lines (with advice about
    its own command line); the session turns it into one `ProxyStartError`.
    """
    held: list[logging.LogRecord] = []

    def hold(record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            held.append(record)
            return False
        return True

    server_logger = logging.getLogger(_SERVER_LOGGER)
    server_logger.addFilter(hold)
    try:
        yield held
    finally:
        server_logger.removeFilter(hold)


_SERVER_LOGGER = "mitmproxy.addons.proxyserver"
_CONNECTION_LOGGER = "mitmproxy.proxy.server"
"""Where mitmproxy logs what happens on each client connection (TLS included)."""


def _recording_format(path: Path) -> str:
    if path.is_dir():
        raise ProxyStartError(
            f"recording {path}: it is a directory; give a .mitm or .har file name, "
            f"such as {path / 'live.mitm'}"
        )
    suffix = path.suffix.lower()
    if suffix not in RECORDING_SUFFIXES:
        raise ProxyStartError(
            f"recording {path}: use a .mitm or .har file name (got {suffix or 'none'})"
        )
    return suffix[1:]


def _ensure_writable(path: Path) -> bool:
    """Fail early if `path` cannot be written; True if this call created it.

    Opening for append neither truncates an existing file nor needs anything but
    write permission, and it also works for root on a read-only file system.
    """
    if path.is_dir():
        raise ProxyStartError(f"cannot write {path}: it is a directory")
    existed = path.exists()
    try:
        with open(path, "ab"):
            pass
    except OSError as exc:
        raise ProxyStartError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return not existed


def check_writable(path: str | os.PathLike[str]) -> None:
    """Raise `ProxyStartError` unless `path` can be written; leaves no file behind."""
    target = Path(path)
    if _ensure_writable(target):
        with contextlib.suppress(OSError):
            target.unlink()


def check_not_replacing(
    path: str | os.PathLike[str] | None,
    *,
    what: str,
    remedy: str = "pass overwrite=True",
) -> None:
    """Raise `ProxyStartError` when starting would replace what `path` holds.

    Recordings are kept as test fixtures and event logs compared between runs, so
    running the same session again must not wipe one. An empty file has nothing to
    lose, and a missing or unreadable one is left to the writability check. `what`
    and `remedy` word the message for the caller: `--record` and `add --overwrite`
    on the command line.
    """
    if path is None:
        return
    try:
        found = os.stat(path)
    except OSError:
        return
    if found.st_size and stat.S_ISREG(found.st_mode):
        size = "1 byte" if found.st_size == 1 else f"{found.st_size} bytes"
        raise ProxyStartError(
            f"{what} {path} already exists ({size}); {remedy} to replace it, or "
            "choose another file name"
        )


def check_recording_path(path: str | os.PathLike[str]) -> None:
    """Raise `ProxyStartError` unless `path` names a writable `.mitm` or `.har`."""
    _recording_format(Path(path))
    check_writable(path)


def check_confdir(path: str | os.PathLike[str]) -> None:
    """Raise `ProxyStartError` unless `path` is, or can be made, a writable directory.

    mitmproxy keeps its CA certificate there; creating the directory now is what
    mitmproxy would do anyway.
    """
    target = Path(path).expanduser()
    what = "mitmproxy's certificate directory (--confdir)"
    if target.exists() and not target.is_dir():
        raise ProxyStartError(f"cannot use {target} as {what}: it is not a directory")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProxyStartError(
            f"cannot create {what} {target}: {exc.strerror or exc}"
        ) from exc
    try:
        with tempfile.TemporaryFile(dir=target):
            pass
    except OSError as exc:
        raise ProxyStartError(
            f"cannot write to {what} {target}: {exc.strerror or exc}"
        ) from exc
    check_ca(target)


def check_ca(confdir: str | os.PathLike[str]) -> None:
    """Raise `ProxyStartError` if `confdir` holds a CA that mitmproxy cannot load.

    mitmproxy would log a traceback, listen anyway and fail every HTTPS
    connection. A missing CA is fine: mitmproxy creates one on first start.
    """
    directory = Path(confdir).expanduser()
    ca_file = directory / CA_KEY_NAME
    if not ca_file.exists():
        return
    try:
        # The loader mitmproxy itself uses, so that what passes here loads there.
        certs.CertStore.from_files(ca_file, directory / CA_DHPARAM_NAME)
    except OSError as exc:
        raise ProxyStartError(
            f"cannot read mitmproxy's CA {ca_file}: {exc.strerror or exc}"
        ) from exc
    except Exception as exc:
        # cryptography says ValueError, TypeError or its own UnsupportedAlgorithm.
        raise ProxyStartError(
            f"cannot use mitmproxy's CA {ca_file}: {_first_sentence(exc)}; "
            "move it away (or use another --confdir) to have a new CA created"
        ) from exc


def _first_sentence(problem: Exception) -> str:
    """The gist of a cryptography error (whose text can run to several sentences
    and an OpenSSL error list)."""
    reason = problem.args[0] if problem.args else ""
    if not isinstance(reason, str) or not reason.strip():
        return type(problem).__name__
    first = reason.strip().splitlines()[0]
    return first.split(". ")[0].rstrip(".")


def check_listen_host(host: str) -> None:
    """Raise `ProxyStartError` if `host` is a name that does not resolve."""
    if host in WILDCARD_HOSTS:
        return
    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ProxyStartError(_unresolved(host, exc)) from exc


def _unresolved(host: str, problem: socket.gaierror) -> str:
    reason = problem.strerror or str(problem)
    return f"cannot resolve listen host '{host}': {reason}"


def check_listen_address(host: str, port: int) -> str | None:
    """Why the proxy could not listen on `host:port` right now, or None if it could.

    A quick bind-and-close, so a taken port is reported before a full-screen UI
    starts; the session still reports a failure that happens later.
    """
    if port == 0:
        return None
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        return _unresolved(host, exc)

    family, kind, protocol, _, address = infos[0]
    with socket.socket(family, kind, protocol) as probe:
        # Bind as asyncio's servers do, so a port in TIME_WAIT is not "taken".
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return f"cannot listen on {host or '*'}:{port}: {exc.strerror or exc}"
    return None


def is_loopback(host: str) -> bool:
    """True when only this machine can reach `host` (`localhost`, 127.x, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(listen_host: str) -> str | None:
    """The warning to give when the proxy can be reached from other machines."""
    if is_loopback(listen_host):
        return None
    where = "all interfaces" if listen_host in WILDCARD_HOSTS else listen_host
    return (
        f"listening on {where}: other machines on the network can use this proxy "
        "and see the traffic it carries"
    )


def host_port(host: str, port: int) -> str:
    """`host:port` as a proxy setting takes it: an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def lan_address() -> str | None:
    """This machine's address on its local network, as a phone would reach it.

    Connecting a UDP socket sends nothing; it only makes the kernel pick the
    outgoing interface, whose address we read back.
    """
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def connection_instructions(
    addresses: Sequence[Address], ca_cert_path: Path, listen_host: str
) -> list[str]:
    """How to send a browser's or a phone's traffic through the proxy, line by line."""
    port = addresses[0][1] if addresses else 8080
    shown = ", ".join(host_port(host, p) for host, p in addresses) or "nowhere"
    wildcard = listen_host in WILDCARD_HOSTS
    browser = host_port("127.0.0.1" if wildcard else listen_host, port)

    lines = [
        f"Proxy listening on {shown}",
        f"  Browser: use HTTP and HTTPS proxy {browser}, for example "
        f"chromium --proxy-server={browser}",
        "  Local pages (127.0.0.1, localhost): Chromium sends them past the proxy "
        "unless also given --proxy-bypass-list='<-loopback>'",
    ]

    if is_loopback(listen_host):
        lines.append(
            "  Phone:   restart with --listen-host 0.0.0.0, then set the phone's "
            "Wi-Fi proxy to this machine's LAN address"
        )
    else:
        phone_host = (lan_address() if wildcard else listen_host) or (
            "this machine's LAN address"
        )
        lines.append(
            f"  Phone:   set the phone's Wi-Fi proxy to {host_port(phone_host, port)}"
        )

    where = str(ca_cert_path)
    if not ca_cert_path.exists():
        where += " (created on first start)"
    lines.append(
        "  HTTPS:   trust mitmproxy's CA: browse to http://mitm.it through the proxy, "
        f"or install {where}"
    )
    return lines
