"""The `segment-inspector` entry point: how its own log lines reach the terminal."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from inspector.cli import EscapingFormatter

ROOT = Path(__file__).resolve().parents[1]


def test_log_lines_escape_control_characters_but_keep_line_breaks():
    formatter = EscapingFormatter("%(levelname)s %(name)s: %(message)s")
    try:
        raise ValueError("bad value \x1b[2J")
    except ValueError:
        record = logging.LogRecord(
            "inspector.addon",
            logging.WARNING,
            __file__,
            1,
            "could not follow %s",
            ("http://example.com/\x1b]0;pwn\x07",),
            sys.exc_info(),
        )

    text = formatter.format(record)

    assert text.startswith(
        "WARNING inspector.addon: could not follow http://example.com/\\x1b]0;pwn\\x07"
    )
    assert "ValueError: bad value \\x1b[2J" in text
    assert "\x1b" not in text and "\x07" not in text
    assert "\nTraceback (most recent call last):\n" in text


def test_the_command_line_logs_through_the_escaping_formatter(tmp_path):
    program = (
        "import logging, sys\n"
        "from inspector import cli\n"
        "from inspector.commands import spec\n"
        "def run(args):\n"
        "    logging.getLogger('inspector.x').warning('seen %s', 'a\\x1b[31mb')\n"
        "    return 0\n"
        "spec.run = run\n"
        "sys.exit(cli.main(['spec', 'check', 'x.yaml']))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr == "WARNING inspector.x: seen a\\x1b[31mb\n"
