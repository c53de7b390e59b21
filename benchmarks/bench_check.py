"""How fast `check` judges a large recording, against mitmproxy merely reading it.

    python3 benchmarks/bench_check.py [--events 100000] [--spec FILE] [--keep FILE]

Writes a .mitm flow file of web pixels (readers who each send a pageview and a few
heartbeats, with a realistic spread of segment values) to a temporary directory, then
measures in this one process:

a. mitmproxy's `FlowReader` reading every flow and nothing else;
b. the same file read into `CapturedRequest`s, decoded and judged by an `Inspection`
   (decoder, per-event checks, standard segments, page-load rules), as `check` does.

It prints events per second for both and how many times slower (b) is than (a). Timings
vary with the machine; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inspector.model import CapturedRequest  # noqa: E402
from inspector.recordings import read_requests, write_mitm  # noqa: E402

logger = logging.getLogger("bench_check")

HEARTBEATS_PER_PAGEVIEW = 3
PLANS = ["basic", "premium", "subscriber", None]
SECTIONS = ["city", "business", "sport", "culture", "opinion", "science"]
START_MS = 1_718_000_000_000


def pixel_requests(count: int) -> Iterator[CapturedRequest]:
    """`count` web pixels: per reader a pageview, then heartbeats on the same pvid."""
    sent = 0
    reader = 0
    while sent < count:
        reader += 1
        plan = PLANS[reader % len(PLANS)]
        data = {"plan": plan, "logged_in": plan is not None}
        if reader % 7 == 0:
            data["logged_in"] = "true"  # a type mismatch now and then
        section = SECTIONS[reader % len(SECTIONS)]
        day = reader % 28 + 1
        page = f"https://www.example.com/{section}/2024/06/{day:02d}/story-{reader}/"
        visitor = f"pid={uuid.UUID(int=reader)}"
        plid = str(uuid.UUID(int=reader << 64))
        pvid = str(uuid.UUID(int=(reader << 64) + 1))
        started = START_MS + reader * 900

        for beat in range(HEARTBEATS_PER_PAGEVIEW + 1):
            if sent >= count:
                return
            rand = started + beat * 15_000
            params = [
                ("rand", str(rand)),
                ("plid", plid),
                ("idsite", "example.com"),
                ("url", page),
                ("urlref", "https://www.google.com/"),
                ("screen", "1920x1080|1920x1040|24"),
                ("data", json.dumps(data, separators=(",", ":"))),
                ("sid", "1"),
                ("surl", page),
                ("sref", "https://www.google.com/"),
                ("sts", str(started - 300)),
                ("slts", "0"),
            ]
            if beat == 0:
                params += [
                    ("title", f"Story {reader} | Example"),
                    ("action", "pageview"),
                ]
            else:
                params += [
                    ("action", "heartbeat"),
                    ("inc", "15"),
                    ("tt", str(beat * 15_000)),
                ]
            params += [("pvid", pvid), ("u", visitor)]
            query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params)
            yield CapturedRequest(
                method="GET",
                url=f"https://p1.parsely.com/plogger/?{query}",
                headers=(("Accept", "image/avif,image/webp,*/*"),),
                timestamp=rand / 1000,
                client_address="203.0.113.10",
                request_id=str(uuid.UUID(int=(reader << 64) + 2 + beat)),
                response_status=200,
                content_type="image/gif",
            )
            sent += 1


def time_flow_reader(path: Path) -> tuple[int, float]:
    from mitmproxy.io import FlowReader

    started = time.perf_counter()
    with open(path, "rb") as stream:
        flows = sum(1 for _ in FlowReader(stream).stream())
    return flows, time.perf_counter() - started


def time_read_requests(path: Path) -> tuple[int, float]:
    started = time.perf_counter()
    requests = sum(1 for _ in read_requests(path))
    return requests, time.perf_counter() - started


def time_inspection(path: Path, spec_path: str | None) -> tuple[int, float, int]:
    from inspector.inspection import Inspection
    from inspector.spec import load_spec

    spec = load_spec(spec_path) if spec_path else None

    started = time.perf_counter()
    inspection = Inspection(spec)
    for request in read_requests(path):
        inspection.process(request)
    result = inspection.result()
    elapsed = time.perf_counter() - started
    return len(result.reports), elapsed, len(result.findings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument(
        "--spec",
        default=str(ROOT / "fixtures" / "specs" / "example.yaml"),
        help="spec to judge against (default: the example spec)",
    )
    parser.add_argument("--keep", metavar="FILE", help="also keep the .mitm file here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(args.keep) if args.keep else Path(scratch) / "bench.mitm"

        started = time.perf_counter()
        written = write_mitm(pixel_requests(args.events), path)
        size_mb = path.stat().st_size / 1e6
        print(
            f"wrote {written:,} pixel flows ({size_mb:.1f} MB) "
            f"in {time.perf_counter() - started:.1f} s"
        )

        flows, read_s = time_flow_reader(path)
        requests, convert_s = time_read_requests(path)
        events, judge_s, findings = time_inspection(path, args.spec)

    read_rate = flows / read_s
    convert_rate = requests / convert_s
    judge_rate = events / judge_s
    print(f"(a) FlowReader only:           {flows:>9,} flows   {read_rate:>10,.0f}/s")
    print(
        f"    read into CapturedRequest: {requests:>9,} requests{convert_rate:>9,.0f}/s"
    )
    print(
        f"(b) read + decode + validate:  {events:>9,} events  {judge_rate:>10,.0f}/s"
        f"  ({findings:,} findings)"
    )
    print(f"(b) takes {read_rate / judge_rate:.1f}x as long per event as (a)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
