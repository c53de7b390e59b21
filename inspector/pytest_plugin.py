"""pytest plugin: replay recorded sessions and assert on their segment data.

Installed through the `pytest11` entry point, so any test suite in an environment
with `segment-inspector` gets the `segment_replay` fixture and the
`--segment-spec` option. Heavy imports wait until a test asks for a replay, so the
plugin costs nothing to suites that never use it.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("segment-inspector")
    group.addoption(
        "--segment-spec",
        action="store",
        default=None,
        metavar="FILE",
        help="segment spec used by the segment_replay fixture when a test names none",
    )
    parser.addini(
        "segment_spec",
        "default segment spec for the segment_replay fixture (relative to rootdir)",
        default=None,
    )
