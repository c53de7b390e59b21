"""Regenerate the browser recordings in fixtures/recordings/browser/.

Each scenario of the test site (`python -m inspector.browser list`) is walked in a
fresh headless Chromium through a fresh Segment Inspector proxy, which answers the
pixels itself and records every flow. The result is one `.mitm` file per scenario,
written by mitmproxy, plus the same flows as HAR. Each new recording is then replayed
through the inspector and checked against the scenario's expected verdict, so a
recording that no longer shows its fault is reported rather than committed.

    python scripts/record_scenarios.py                    # every scenario
    python scripts/record_scenarios.py pii-email --no-har

The site is served on a fixed port (8731 by default) so that page addresses in the
recordings stay the same from one run to the next.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from pathlib import Path

from inspector.browser import (
    SCENARIOS,
    SITE_SPEC,
    ChromiumNotFoundError,
    Scenario,
    ScenarioTimeoutError,
    SiteServer,
    record_scenario,
    write_har_copy,
)

logger = logging.getLogger("record_scenarios")

REPOSITORY = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPOSITORY / "fixtures" / "recordings" / "browser"
DEFAULT_SITE_PORT = 8731


def verdict_problems(scenario: Scenario, recording: Path) -> list[str]:
    """How a recording's verdict differs from the scenario's expected one."""
    from inspector.recordings import replay
    from inspector.spec import load_spec

    result, errors = replay([recording], load_spec(SITE_SPEC))
    problems = [f"cannot read back: {error}" for error in errors]
    return problems + scenario.verdict_problems(result)


async def record_all(args: argparse.Namespace) -> int:
    names = args.scenarios or list(SCENARIOS)
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}", file=sys.stderr)
        return 2

    args.output.mkdir(parents=True, exist_ok=True)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="record-scenarios-") as confdir:
        with SiteServer(port=args.site_port) as site:
            for name in names:
                scenario = SCENARIOS[name]
                recording = args.output / f"{name}.mitm"

                run = await record_scenario(
                    scenario,
                    site,
                    recording,
                    confdir=confdir,
                    executable=args.chromium,
                )
                if not args.no_har:
                    write_har_copy(recording, recording.with_suffix(".har"))

                problems = verdict_problems(scenario, recording)
                failures += bool(problems)
                status = "ok" if not problems else "MISMATCH: " + "; ".join(problems)
                print(f"{name}: {len(run.pixels)} pixels -> {recording.name}  {status}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Record the test site's scenarios through Segment Inspector's "
        "proxy into fixtures/recordings/browser/."
    )
    parser.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--site-port", type=int, default=DEFAULT_SITE_PORT)
    parser.add_argument("--chromium", help="the Chromium executable")
    parser.add_argument("--no-har", action="store_true", help="write .mitm only")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return asyncio.run(record_all(args))
    except (ChromiumNotFoundError, ScenarioTimeoutError) as error:
        print(error, file=sys.stderr)
        return 1
    except OSError as error:
        print(
            f"cannot serve the site on port {args.site_port}: {error}", file=sys.stderr
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
