"""`segment-inspector check`: judge recorded traffic and report, with an exit status.

    segment-inspector check session.har --spec segments.yaml
    segment-inspector check capture.mitm pasted.txt --format json --output report.json
    pbpaste | segment-inspector check - --fail-on warning

Recordings are mitmproxy flow files, HAR files or request lists (`-` reads one from
standard input). The exit status is 0 when nothing reached `--fail-on`, 1 when a
finding did, 2 for a bad command line, spec or recording (what could be read is
still reported then), and 3 when the recordings were read but held no pixel event
at all, or one of several held none, so nothing (in it) was checked (0 with
`--fail-on never`).
"""

from __future__ import annotations

import argparse
import codecs
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from inspector.commands import complain

if TYPE_CHECKING:
    from inspector.inspection import InspectionResult
    from inspector.recordings import RecordingError
    from inspector.spec import Spec

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
"""A bad command line (argparse's own status too), spec, output or recording."""
EXIT_NO_PIXELS = 3
"""Everything was read, but there was not a single pixel event to judge."""

FORMATS = ("text", "json", "jsonl", "junit")
FAIL_ON = ("error", "warning", "info", "never")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        f"exit status: {EXIT_OK} nothing reached --fail-on; {EXIT_FINDINGS} a finding "
        f"did; {EXIT_USAGE} a bad command line, spec, output or recording; "
        f"{EXIT_NO_PIXELS} no pixel event in the recordings (or in one of them), so "
        "nothing (in it) was checked"
    )
    parser.add_argument(
        "recordings",
        nargs="+",
        metavar="RECORDING",
        help="a .mitm flow file, a HAR file or a request list (`-`: standard input)",
    )
    parser.add_argument(
        "--spec",
        metavar="FILE",
        help="segment spec (YAML); default: built-in checks; - reads standard input",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="report format (default text)",
    )
    parser.add_argument(
        "--output", metavar="FILE", help="write the report to FILE instead of stdout"
    )
    parser.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        default="error",
        help="exit with 1 when a finding is at least this severe, and with 3 when "
        "there is no pixel event at all (default error; never: 0 for both)",
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
        "--show-pii",
        action="store_true",
        help="show emails, phone numbers and long numbers instead of masking them",
    )


def run(args: argparse.Namespace) -> int:
    if clash := _output_clash(args):
        _complain(clash, False)
        return EXIT_USAGE
    if args.spec == "-" and "-" in args.recordings:
        _complain(
            "--spec - and the recording - both name standard input, which can be "
            "read only once; give one of them as a file",
            False,
        )
        return EXIT_USAGE

    # The spec first: without a usable spec there is nothing to judge against.
    spec = _load_spec(args)
    if spec is None:
        return EXIT_USAGE

    # Read and judge whatever can be read.
    result, errors = _inspect(args, spec)
    if result is None:
        return EXIT_USAGE
    for error in errors:
        _complain(str(error), args.show_pii)

    # Report.
    try:
        text = _render(args, result, errors, spec)
    except ImportError as error:
        _complain(f"--format {args.format} is not available: {error}", False)
        return EXIT_USAGE
    if not _emit(args, text):
        return EXIT_USAGE

    if errors:
        return EXIT_USAGE
    from inspector.recordings import recording_labels

    return _status(result, args.fail_on, recording_labels(args.recordings))


def _output_clash(args: argparse.Namespace) -> str | None:
    """Why --output must not be written, when it names one of the inputs."""
    from inspector.outputs import output_clash

    inputs = [(given, given) for given in (*args.recordings, args.spec, args.geoip_db)]
    return output_clash([("--output", args.output)], inputs, "the report")


def _load_spec(args: argparse.Namespace) -> Spec | None:
    from inspector.spec import (
        SpecError,
        default_spec,
        host_pattern,
        load_spec_argument,
    )

    try:
        spec = load_spec_argument(args.spec) if args.spec else default_spec()
    except SpecError as error:
        complain("segment-inspector", f"the spec cannot be used:\n{error}")
        return None

    if args.pixel_host:
        try:
            extra = [host_pattern(host) for host in args.pixel_host]
        except ValueError as error:
            _complain(f"--pixel-host: {error}", False)
            return None
        hosts = (*spec.first_party_hosts, *extra)
        spec = spec.model_copy(update={"first_party_hosts": hosts})
    return spec


def _inspect(
    args: argparse.Namespace, spec: Spec
) -> tuple[InspectionResult | None, list[RecordingError]]:
    from inspector.inspection import Inspection
    from inspector.recordings import load_requests
    from inspector.standard import GeoIPError

    requests, errors = load_requests(args.recordings)

    try:
        inspection = Inspection(spec, geoip_db=args.geoip_db)
    except GeoIPError as error:
        _complain(f"--geoip-db: {error}", False)
        return None, errors
    return inspection.process_all(requests), errors


def _render(
    args: argparse.Namespace,
    result: InspectionResult,
    errors: list[RecordingError],
    spec: Spec,
) -> str:
    from inspector import report
    from inspector.recordings import recording_labels

    masker = report.make_masker(
        args.show_pii,
        long_number_digits=spec.pii.long_number_digits,
        phone_region=spec.pii.phone_region,
    )

    sources = recording_labels(args.recordings)
    if args.format == "json":
        return report.render_json(
            result, errors, masker=masker, sources=sources, scenarios=spec.scenarios
        )
    if args.format == "jsonl":
        return report.render_jsonl(result, errors, masker=masker, sources=sources)
    if args.format == "junit":
        from inspector.junit import render_junit

        fail_on = None if args.fail_on == "never" else args.fail_on
        return render_junit(
            result, errors, fail_on=fail_on, show_pii=args.show_pii, sources=sources
        )

    on_terminal = args.output is None and _stdout_is_terminal()
    return report.render_text(
        result,
        errors,
        color=on_terminal,
        sources=sources,
        spec_source=spec.source if args.spec else None,
        width=_terminal_width() if on_terminal else report.DEFAULT_WIDTH,
        masker=masker,
        scenarios=spec.scenarios,
    )


def _json_escape(error: UnicodeError) -> tuple[str, int]:
    """An encoding error handler writing `\\u2019`, valid inside JSON strings."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    escapes = []
    for character in error.object[error.start : error.end]:
        code = ord(character)
        if code > 0xFFFF:
            code -= 0x10000
            escapes.append(f"\\u{0xD800 + (code >> 10):04x}")
            code = 0xDC00 + (code & 0x3FF)
        escapes.append(f"\\u{code:04x}")
    return "".join(escapes), error.end


codecs.register_error("segment-inspector-json", _json_escape)

_UNENCODABLE = {
    "json": "segment-inspector-json",
    "jsonl": "segment-inspector-json",
    "junit": "xmlcharrefreplace",
    "text": "backslashreplace",
}
"""How each format writes a character the output's encoding lacks, staying valid."""


def _emit(args: argparse.Namespace, text: str) -> bool:
    """Write the report to --output or stdout; False when the file cannot be written."""
    errors = _UNENCODABLE[args.format]
    if args.output is None:
        reconfigure = getattr(sys.stdout, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors=errors)
        sys.stdout.write(text)
        sys.stdout.flush()
        return True

    try:
        Path(args.output).write_text(text, encoding="utf-8", errors=errors)
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        _complain(f"--output {args.output}: cannot write: {reason}", False)
        return False
    logger.info("report written to %s", args.output)
    return True


def _status(result: InspectionResult, fail_on: str, sources: list[str]) -> int:
    from inspector.model import Severity
    from inspector.report import recordings_without_pixels

    if fail_on == "never":
        return EXIT_OK
    if not result.reports:
        # Nothing was checked: findings then only echo that (a scenario not seen).
        return EXIT_NO_PIXELS
    worst = result.worst()
    if worst is not None and worst >= Severity(fail_on):
        return EXIT_FINDINGS  # what was checked failed, whatever was not checked
    if recordings_without_pixels(result, sources):
        return EXIT_NO_PIXELS  # nothing in one recording was checked: not a pass
    return EXIT_OK


def _complain(message: str, show_pii: bool) -> None:
    if not show_pii:
        from inspector.pii import mask

        message = mask(message)
    complain("segment-inspector", message)


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _terminal_width() -> int:
    """The terminal's width, within reason: very wide lines are hard to read."""
    import shutil

    columns = shutil.get_terminal_size(fallback=(100, 24)).columns
    return max(60, min(columns, 120))
