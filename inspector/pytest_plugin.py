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


def _configured_spec(config: pytest.Config) -> Path | None:
    """The default spec: `--segment-spec` first, then the `segment_spec` ini value."""
    option = config.getoption("--segment-spec")
    if option:
        return Path(option).resolve()
    ini_value = config.getini("segment_spec")
    if ini_value:
        return (config.rootpath / str(ini_value)).resolve()
    return None


@pytest.fixture
def segment_spec(request: pytest.FixtureRequest) -> Path | None:
    """The spec file configured for this run, or None for the built-in default."""
    return _configured_spec(request.config)


@pytest.fixture
def segment_replay(request: pytest.FixtureRequest, segment_spec: Path | None):
    """Replay recordings against the configured spec, giving a `testing.Replay`.

    Relative paths (recordings, the spec, a `geoip_db`) are looked up next to the
    test file first, then from the rootdir. Keyword arguments are those of
    `inspector.testing.replay`.
    """
    from inspector.recordings import RecordingError
    from inspector.report import escape_controls
    from inspector.spec import SpecError
    from inspector.standard import GeoIPError
    from inspector.testing import ReplayError, replay

    test_dir = request.path.parent
    rootdir = request.config.rootpath

    def locate(path: str | Path, what: str) -> Path:
        candidate = Path(path)
        if candidate.is_absolute() or str(path) == "-":
            return candidate
        bases = list(dict.fromkeys((test_dir, rootdir)))
        for base in bases:
            if (base / candidate).exists():
                return base / candidate
        # Name every place looked in: a wrong working directory is the usual cause.
        places = " or ".join(str(base / candidate) for base in bases)
        pytest.fail(f"{what} {path} not found: looked for {places}", pytrace=False)

    def run(*paths: str | Path, spec=None, **kwargs):
        chosen_spec = spec if spec is not None else segment_spec
        if isinstance(chosen_spec, str | Path):
            chosen_spec = locate(chosen_spec, "spec")
        located = [locate(path, "recording") for path in paths]
        if isinstance(kwargs.get("geoip_db"), str | Path):
            kwargs["geoip_db"] = locate(kwargs["geoip_db"], "GeoIP database")
        try:
            return replay(*located, spec=chosen_spec, **kwargs)
        except (SpecError, ReplayError, RecordingError, GeoIPError) as error:
            problem = escape_controls(str(error), keep_newlines=True)
        # The user's inputs are wrong, not their test: say where, without a trace.
        pytest.fail(problem, pytrace=False)

    return run
