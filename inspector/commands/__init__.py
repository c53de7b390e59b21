"""One module per `segment-inspector` subcommand.

Each module exposes `add_arguments(parser)` and `run(args) -> int` (the exit status).
They are imported only when their subcommand runs, so `check` never pays for Textual.
"""

from __future__ import annotations

import sys


def complain(command: str, message: object) -> None:
    """Tell the user on standard error what went wrong, prefixed by `command`.

    Messages quote file names, recorded URLs and lines of the user's files, so
    control characters in them are written as escapes: a crafted recording cannot
    drive the terminal from an error message any more than from the report.
    """
    from inspector.report import escape_controls

    text = escape_controls(str(message), keep_newlines=True)
    print(f"{command}: {text}", file=sys.stderr)
