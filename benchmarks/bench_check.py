"""How fast `check` judges a large recording, against mitmproxy merely reading it.

    python3 benchmarks/bench_check.py [--events 100000] [--rounds 3] [--spec FILE]
                                      [--pages] [--keep FILE] [--profile N]

Writes a .mitm flow file of a news site's pixel traffic (`benchmarks/workload.py`:
readers with pageviews and heartbeats, varied referrers and campaigns, a few percent
of faulty pixels) to a temporary directory, then measures in this one process, each
part `--rounds` times, keeping the fastest:

a. mitmproxy's `FlowReader` reading every flow and nothing else;
b. `check`'s work, as `check` does it: the whole file read into `CapturedRequest`s,
   then decoded and judged by an `Inspection` (decoder, per-event checks, standard
   segments, page-load rules);
c. decode + validate, on requests already in memory: the decoder and the per-event
   checks of the segment data against the spec (`EventChecker`), nothing else;
d. everything an `Inspection` judges, on requests already in memory: (c) plus
   standard segments, page loads and visitors, and the counts reports show.

Times are CPU time of this process (`time.process_time`), so other work on a shared
machine disturbs them less than wall-clock time would. It prints events per second
for each part and compares them with the targets: (c) at least 20,000 events/s, and
(b) at least half as fast as (a). Nothing is asserted; figures vary with the machine.
`--profile N` also prints the N most expensive functions of (d), by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import logging
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.workload import news_site_traffic  # noqa: E402
from inspector.model import CapturedRequest  # noqa: E402
from inspector.recordings import read_requests, write_mitm  # noqa: E402
from inspector.spec import default_spec  # noqa: E402

logger = logging.getLogger("bench_check")

JUDGE_TARGET = 20_000
"""Events per second that decode + validate should reach on one core."""
RATIO_TARGET = 0.5
"""`check`'s rate as a share of FlowReader's, reading the same file."""


def cpu_seconds(work: Callable[[], object], rounds: int) -> tuple[float, object]:
    """The least CPU time `work` took over `rounds` runs, and its last result."""
    best = float("inf")
    result = None
    for _ in range(rounds):
        gc.collect()
        started = time.process_time()
        result = work()
        best = min(best, time.process_time() - started)
    return best, result


def read_flows(path: Path) -> int:
    from mitmproxy.io import FlowReader

    with open(path, "rb") as stream:
        return sum(1 for _ in FlowReader(stream).stream())


def check_file(path: Path, spec) -> tuple[int, int]:
    """What `check` does with the file, short of writing the report: read every
    request (`load_requests`, which also puts several files in time order), then
    judge them all."""
    from inspector.inspection import Inspection
    from inspector.recordings import load_requests

    requests, _errors = load_requests([path])
    result = Inspection(spec).process_all(requests)
    return len(result.reports), len(result.findings)


def validate(requests: list[CapturedRequest], spec) -> int:
    """Decode every request and check each event's segment data against the spec."""
    from inspector.checks import EventChecker
    from inspector.decode import PixelMatcher, decode_request

    matcher = PixelMatcher(spec.first_party_hosts if spec else ())
    checker = EventChecker(spec) if spec else EventChecker(default_spec())
    findings = 0
    for request in requests:
        endpoint = matcher.endpoint(request)
        if endpoint is None:
            continue
        for event in decode_request(request, matcher, endpoint=endpoint):
            findings += len(event.findings) + len(checker.check(event))
    return findings


def judge(requests: list[CapturedRequest], spec) -> tuple[int, int]:
    from inspector.inspection import Inspection

    inspection = Inspection(spec)
    for request in requests:
        inspection.process(request)
    result = inspection.result()
    return len(result.reports), len(result.findings)


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def verdict(value: float, target: float) -> str:
    return "meets" if value >= target else "MISSES"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--spec",
        default=str(ROOT / "fixtures" / "specs" / "example.yaml"),
        help="spec to judge against (default: the example spec)",
    )
    parser.add_argument(
        "--pages",
        action="store_true",
        help="also record documents, scripts and styles around the pixels",
    )
    parser.add_argument("--keep", metavar="FILE", help="also keep the .mitm file here")
    parser.add_argument(
        "--profile", type=int, metavar="N", help="print the N costliest functions"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from inspector.spec import load_spec

    spec = load_spec(args.spec) if args.spec else None

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(args.keep) if args.keep else Path(scratch) / "bench.mitm"

        started = time.process_time()
        written = write_mitm(news_site_traffic(args.events, pages=args.pages), path)
        size_mb = path.stat().st_size / 1e6
        print(
            f"wrote {written:,} flows ({size_mb:.1f} MB) in "
            f"{time.process_time() - started:.1f} s CPU"
        )

        requests = list(read_requests(path))
        read_s, flows = cpu_seconds(lambda: read_flows(path), args.rounds)
        convert_s, _ = cpu_seconds(lambda: list(read_requests(path)), args.rounds)
        check_s, (events, findings) = cpu_seconds(
            lambda: check_file(path, spec), args.rounds
        )
        validate_s, validated = cpu_seconds(
            lambda: validate(requests, spec), args.rounds
        )
        judge_s, _ = cpu_seconds(lambda: judge(requests, spec), args.rounds)

        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(judge, requests, spec)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)

    # Per flow, so that the parts compare even when the file holds more than pixels.
    read_rate = rate(flows, read_s)
    check_rate = rate(flows, check_s)
    print(f"CPU seconds, fastest of {args.rounds} rounds, {events:,} pixel events:")
    print(
        f"(a) FlowReader only:             {read_s:7.2f} s {read_rate:>9,.0f} flows/s"
    )
    print(
        f"    read into CapturedRequest:   {convert_s:7.2f} s "
        f"{rate(flows, convert_s):>9,.0f} flows/s"
    )
    print(
        f"(b) read + decode + judge:       {check_s:7.2f} s "
        f"{check_rate:>9,.0f} flows/s {rate(events, check_s):>9,.0f} events/s"
    )
    print(
        f"(c) decode + validate, in memory:{validate_s:7.2f} s "
        f"{'':>16}{rate(events, validate_s):>9,.0f} events/s  "
        f"({validated:,} findings)"
    )
    print(
        f"(d) everything judged, in memory:{judge_s:7.2f} s "
        f"{'':>16}{rate(events, judge_s):>9,.0f} events/s  ({findings:,} findings)"
    )
    ratio = check_rate / read_rate
    print(
        f"(c) {verdict(rate(events, validate_s), JUDGE_TARGET)} the "
        f"{JUDGE_TARGET:,} events/s target; (b)/(a) = {ratio:.2f} "
        f"({verdict(ratio, RATIO_TARGET)} the {RATIO_TARGET} target)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
