"""One module per `segment-inspector` subcommand.

Each module exposes `add_arguments(parser)` and `run(args) -> int` (the exit status).
They are imported only when their subcommand runs, so `check` never pays for Textual.
"""

from __future__ import annotations

import argparse
import sys

DEFAULT_MAX_ROWS = 5000
"""Events the UI keeps unless `--max-rows` says otherwise."""
MOST_ROWS = 10_000_000
"""The largest `--max-rows`: each kept event holds its decoded pixel in memory."""


def complain(command: str, message: object) -> None:
    """Tell the user on standard error what went wrong, prefixed by `command`.

    Messages quote file names, recorded URLs and lines of the user's files, so
    control characters in them are written as escapes: a crafted recording cannot
    drive the terminal from an error message any more than from the report.
    """
    from inspector.report import escape_controls

    text = escape_controls(str(message), keep_newlines=True)
    print(f"{command}: {text}", file=sys.stderr)


def say(text: object) -> None:
    """Print one line of a command's output, control characters written as
    escapes: it may quote a file name, and a name can hold anything."""
    from inspector.report import escape_controls

    print(escape_controls(str(text), keep_newlines=True), flush=True)


def row_cap(text: str) -> int:
    """`--max-rows`: a whole number from 1 to `MOST_ROWS`."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    if number > MOST_ROWS:
        raise argparse.ArgumentTypeError(
            f"must be at most {MOST_ROWS:,} (each row keeps its event in memory)"
        )
    return number
