"""`segment-inspector live`: run the proxy and watch pixels as a site sends them.

Point a browser (or a phone, with `--listen-host 0.0.0.0`) at the proxy and every
Parse.ly pixel is decoded and judged against the spec as it passes. By default the
terminal UI shows the events; `--headless` prints one line per event instead, which
suits SSH sessions, CI jobs and piping into other tools.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from inspector.commands import DEFAULT_MAX_ROWS, complain, row_cap, say

if TYPE_CHECKING:
    from textual.app import App

    from inspector.inspection import DiagnosisNotice, EventReport, Inspection
    from inspector.proxy import ProxySession

logger = logging.getLogger(__name__)

EXIT_USAGE = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spec",
        metavar="FILE",
        help="segment spec (YAML); default: built-in checks; - reads standard "
        "input, with --headless only",
    )
    parser.add_argument(
        "--listen-host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; 0.0.0.0 lets phones connect)",
    )
    parser.add_argument(
        "--listen-port", type=int, default=8080, help="port (default 8080; 0: any)"
    )
    parser.add_argument(
        "--record",
        metavar="FILE",
        help="keep every flow in a .mitm (written as flows finish) or .har file",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing --record or --jsonl file instead of refusing to "
        "start",
    )
    parser.add_argument(
        "--answer-pixels",
        action="store_true",
        help="answer pixels locally with a 1x1 GIF instead of sending them to Parse.ly",
    )
    parser.add_argument(
        "--jsonl", metavar="FILE", help="write one JSON object per pixel event"
    )
    parser.add_argument(
        "--pixel-host",
        action="append",
        default=[],
        metavar="HOST",
        help="extra first-party pixel host, added to the spec's (repeatable)",
    )
    parser.add_argument(
        "--geoip-db", metavar="PATH", help="MaxMind database for the geography segment"
    )
    parser.add_argument(
        "--confdir",
        metavar="DIR",
        help="mitmproxy's directory for its CA (default ~/.mitmproxy)",
    )
    parser.add_argument(
        "--max-rows",
        type=row_cap,
        default=DEFAULT_MAX_ROWS,
        metavar="N",
        help=f"events kept in memory and on screen (default {DEFAULT_MAX_ROWS}); "
        "counts stay exact",
    )
    parser.add_argument(
        "--show-pii",
        action="store_true",
        help="show emails, phone numbers and long numbers instead of masking them",
    )
    parser.add_argument(
        "--headless",
        action="store_true",
        help="no terminal UI: print one line per event, and each page-level fault "
        "as soon as it is known, until Ctrl-C",
    )


def run(args: argparse.Namespace) -> int:
    from inspector.proxy import ProxyStartError

    try:
        inspection = _build_inspection(args)
        _check_outputs(args)
    except (ProxyStartError, _UsageError) as problem:
        _fail(problem)
        return EXIT_USAGE

    if args.headless:
        return asyncio.run(_run_headless(args, inspection))
    return _run_interface(args, inspection)


class _UsageError(Exception):
    """A problem with the command line, reported in one line."""


def _fail(problem: object) -> None:
    complain("segment-inspector live", problem)


def _build_inspection(args: argparse.Namespace) -> Inspection:
    from inspector.inspection import Inspection
    from inspector.spec import (
        STDIN_SPEC,
        SpecError,
        default_spec,
        host_pattern,
        load_spec_argument,
    )
    from inspector.standard import GeoIPError

    if not 0 <= args.listen_port <= 65535:
        raise _UsageError(f"--listen-port {args.listen_port} is not a port number")
    if args.spec == STDIN_SPEC and not args.headless:
        raise _UsageError(
            "--spec -: the terminal UI reads its keys from standard input, so the "
            "spec cannot come from there; give the spec's file, or add --headless"
        )

    try:
        spec = load_spec_argument(args.spec) if args.spec else default_spec()
    except SpecError as problem:
        raise _UsageError(str(problem)) from problem
    if args.pixel_host:
        try:
            extra = [host_pattern(host) for host in args.pixel_host]
        except ValueError as problem:
            raise _UsageError(f"--pixel-host: {problem}") from None
        hosts = (*spec.first_party_hosts, *extra)
        spec = spec.model_copy(update={"first_party_hosts": hosts})

    try:
        # The clock lets a tracker that never sends its pageview time out while
        # no more traffic comes.
        return Inspection(
            spec, geoip_db=args.geoip_db, max_reports=args.max_rows, clock=time.time
        )
    except GeoIPError as problem:
        raise _UsageError(str(problem)) from problem


def _check_outputs(args: argparse.Namespace) -> None:
    """Fail before anything listens if the output files or mitmproxy's directory
    cannot be written, or the listen host is a name that does not resolve."""
    from inspector.outputs import output_clash
    from inspector.proxy import (
        DEFAULT_CONFDIR,
        check_confdir,
        check_listen_host,
        check_recording_path,
        check_writable,
    )

    outputs = [("--record", args.record), ("--jsonl", args.jsonl)]
    inputs = [
        (f"{option} {path}", path)
        for option, path in (("--spec", args.spec), ("--geoip-db", args.geoip_db))
    ]
    clash = output_clash(outputs, inputs, "the session's output")
    if clash:
        raise _UsageError(clash)

    if args.record:
        _refuse_to_replace("--record", args.record, args.overwrite)
        check_recording_path(args.record)
    if args.jsonl:
        _refuse_to_replace("--jsonl", args.jsonl, args.overwrite)
        check_writable(args.jsonl)
    check_confdir(args.confdir or DEFAULT_CONFDIR)
    check_listen_host(args.listen_host)


def _refuse_to_replace(option: str, path: str, overwrite: bool) -> None:
    """The session's own rule (see `check_not_replacing`), worded for the command
    line and checked before anything listens."""
    from inspector.proxy import check_not_replacing

    if not overwrite:
        check_not_replacing(path, what=option, remedy="add --overwrite")


def _make_session(
    args: argparse.Namespace,
    inspection: Inspection,
    on_reports,
    on_request,
    on_diagnoses=None,
) -> ProxySession:
    from inspector.proxy import ProxySession

    return ProxySession(
        inspection=inspection,
        listen_host=args.listen_host,
        listen_port=args.listen_port,
        confdir=args.confdir,
        record_path=args.record,
        answer_pixels=args.answer_pixels,
        on_reports=on_reports,
        on_request=on_request,
        jsonl_path=args.jsonl,
        show_pii=args.show_pii,
        on_diagnoses=on_diagnoses,
        overwrite=args.overwrite,
    )


def _warn_if_exposed(listen_host: str) -> None:
    from inspector.proxy import exposure_warning

    warning = exposure_warning(listen_host)
    if warning:
        complain("warning", warning)


# ------------------------------------------------------------------ headless


async def _run_headless(args: argparse.Namespace, inspection: Inspection) -> int:
    from inspector.addon import diagnosis_summary, summary_line
    from inspector.proxy import ProxyStartError, connection_instructions

    tally = _Tally()

    def print_reports(reports: list[EventReport]) -> None:
        for report in reports:
            tally.add(report.findings)
            line = summary_line(report, show_pii=args.show_pii, spec=inspection.spec)
            print(line, flush=True)

    def print_diagnoses(notices: list[DiagnosisNotice]) -> None:
        for notice in notices:
            line = diagnosis_summary(
                notice.diagnosis, show_pii=args.show_pii, updated=notice.updated
            )
            print(line, flush=True)

    session = _make_session(args, inspection, print_reports, None, print_diagnoses)
    try:
        addresses = await session.start()
    except ProxyStartError as problem:
        _fail(problem)
        return EXIT_USAGE

    _warn_if_exposed(args.listen_host)
    for line in connection_instructions(
        addresses, session.ca_cert_path, args.listen_host
    ):
        say(line)
    for line in _output_notes(args):
        say(line)
    say("Press Ctrl-C to stop.")

    _install_stop_signals(session)
    try:
        await session.run()
    finally:
        _print_totals(inspection, tally, args)
    return 0


class _Tally:
    """Counts events and findings as they stream by (reports kept are capped)."""

    def __init__(self) -> None:
        self.events = 0
        self.by_severity: dict[str, int] = {"error": 0, "warning": 0, "info": 0}

    def add(self, findings) -> None:
        self.events += 1
        self.count(findings)

    def count(self, findings) -> None:
        for finding in findings:
            self.by_severity[str(finding.severity)] += 1


def _install_stop_signals(session: ProxySession) -> None:
    """SIGINT, SIGTERM and SIGHUP (a closed terminal or a dropped SSH session) stop
    the proxy cleanly, so the recording and the JSON Lines file are finished.

    Stopping waits a moment for requests in flight; a second signal stops waiting,
    still cleanly. Only a third Ctrl-C falls back to Python's default and
    interrupts at once, whatever is half written.
    """
    loop = asyncio.get_running_loop()
    received = 0

    def stop(signum: int) -> None:
        nonlocal received
        received += 1
        logger.info("stopping on signal %d", signum)
        session.request_stop(hurry=received > 1)
        if received > 1 and signum == signal.SIGINT:
            loop.remove_signal_handler(signal.SIGINT)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            loop.add_signal_handler(signum, stop, signum)
        except (NotImplementedError, RuntimeError):
            pass  # not the main thread, or a platform without signal handlers


def _output_notes(args: argparse.Namespace) -> list[str]:
    notes = []
    if args.answer_pixels:
        notes.append("  Pixels are answered here and never reach Parse.ly.")
    if args.record:
        notes.append(f"  Recording to {args.record}")
    if args.jsonl:
        notes.append(f"  Events as JSON Lines in {args.jsonl}")
    return notes


def _print_totals(inspection: Inspection, tally: _Tally, args) -> None:
    try:
        diagnoses = inspection.pages.diagnoses()
    except Exception:
        logger.exception("could not diagnose the page loads")
        diagnoses = []
    for diagnosis in diagnoses:
        tally.count(diagnosis.findings)

    from inspector.report import plural

    counts = tally.by_severity
    totals = [
        plural(inspection.requests_seen, "request"),
        plural(tally.events, "pixel event"),
        plural(counts["error"], "error"),
        plural(counts["warning"], "warning"),
        plural(counts["info"], "info"),
    ]
    print(", ".join(totals), flush=True)
    if args.record:
        say(f"Recording saved to {args.record}")


# ------------------------------------------------------------------ terminal UI


def _run_interface(args: argparse.Namespace, inspection: Inspection) -> int:
    from inspector.proxy import check_listen_address
    from inspector.tui.launch import build_live_app, exit_status
    from inspector.tui.logsink import console_logging_silenced

    # The UI reports a failed start in its status bar; catch the common case (port
    # taken) here so that it gets the same one-line error and exit status as
    # --headless.
    problem = check_listen_address(args.listen_host, args.listen_port)
    if problem:
        _fail(problem)
        return EXIT_USAGE
    _warn_if_exposed(args.listen_host)

    app = build_live_app(
        inspection=inspection,
        listen_host=args.listen_host,
        listen_port=args.listen_port,
        confdir=args.confdir,
        record_path=args.record,
        answer_pixels=args.answer_pixels,
        jsonl_path=args.jsonl,
        show_pii=args.show_pii,
        overwrite=args.overwrite,
        max_rows=args.max_rows,
        log_level=logging.INFO if getattr(args, "verbose", 0) else logging.WARNING,
    )
    with console_logging_silenced(), _signals_close(app):
        status = app.run()

    if app.startup_error:
        _fail(app.startup_error)
        return EXIT_USAGE
    if args.record:
        say(f"Recording saved to {args.record}")
    return exit_status(app, status)


@contextlib.contextmanager
def _signals_close(app: App) -> Iterator[None]:
    """SIGTERM, SIGHUP (the terminal went away) and a SIGINT from outside close the
    app the normal way, so the proxy stops and a HAR recording is written."""

    def close(signum: int, frame: object) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise KeyboardInterrupt from None
        loop.call_soon_threadsafe(app.exit)

    previous = {
        signum: signal.signal(signum, close)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
