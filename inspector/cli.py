"""The `segment-inspector` command line."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from inspector import __version__

SUBCOMMANDS = {
    "live": "Run the proxy and watch pixels in the terminal UI.",
    "view": "Open recordings in the terminal UI, without a proxy.",
    "check": "Judge recorded flows (.mitm, .har, request lists) against a spec.",
    "spec": "Check a segment spec, write a starter, or print its JSON Schema.",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segment-inspector",
        description="See and check the Parse.ly pageview pixels your site sends.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log more (repeatable)"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, summary in SUBCOMMANDS.items():
        module = importlib.import_module(f"inspector.commands.{name}")
        sub = subparsers.add_parser(name, help=summary, description=summary)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2

    _tolerate_narrow_output()
    level = logging.WARNING - 10 * args.verbose
    stderr = logging.StreamHandler()
    stderr.setFormatter(EscapingFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=max(level, logging.DEBUG), handlers=[stderr])

    try:
        return args.run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0


class EscapingFormatter(logging.Formatter):
    """Log lines with control characters escaped, line breaks kept.

    Messages carry text from the traffic (URLs, mitmproxy's protocol errors,
    exception texts); an escape sequence in it must be shown, not obeyed.
    """

    def format(self, record: logging.LogRecord) -> str:
        from inspector.report import escape_controls

        return escape_controls(super().format(record), keep_newlines=True)


def _tolerate_narrow_output() -> None:
    """Write what the terminal's encoding cannot show as `\\xd7`, not a crash.

    Reports hold `×`, `…` and whatever text the traffic carried; a terminal or
    pipe set to ASCII or Latin-1 would otherwise stop the command half-way.
    """
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")
