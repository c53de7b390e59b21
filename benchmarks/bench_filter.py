"""What typing a free-text filter costs per key press, with and without the cache.

    python3 benchmarks/bench_filter.py [--events 5000] [--huge-mb 20] [--rounds 3]

Judges `--events` ordinary pixels and one pixel of about `--huge-mb` MB (a long
page address and a large segment value, in mixed case) with a real `Inspection`,
then "types" a filter one character at a time, as the UI's filter box applies
it: each prefix of the needle is parsed and matched against every event. Once
the text is lowered afresh for every event at every key press (`parse_filter`
without a cache, as the UI did before), once with a `SearchTexts` that lowers
each event's text the first time and keeps it (what the UI does now).

It prints the median time of a key press for both, their ratio, and the
characters the cache holds against those one fresh search lowers. Timings vary
with the machine; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inspector.inspection import Inspection  # noqa: E402
from inspector.model import CapturedRequest  # noqa: E402
from inspector.tui.filtering import (  # noqa: E402
    SearchTexts,
    parse_filter,
    searchable_text,
)

START_S = 1_718_000_000.0
NEEDLE = "premium-reader"


def pixel(number: int, page: str, data: dict) -> CapturedRequest:
    query = {
        "rand": str(int((START_S + number) * 1000)),
        "idsite": "example.com",
        "url": page,
        "action": "pageview",
        "pvid": str(number),
        "u": f"pid={number:032x}",
        "title": f"Story {number} | Example",
        "data": json.dumps(data),
    }
    return CapturedRequest(
        "GET",
        "https://p1.parsely.com/plogger/?" + urlencode(query),
        timestamp=START_S + number,
        request_id=f"r{number}",
    )


def reports(events: int, huge_mb: float):
    # Half of the huge pixel's address is its page address, half its `data`.
    pairs = int(huge_mb * 1_000_000 / 4)
    requests = [
        pixel(n, f"https://www.example.com/news/{n}", {"plan": "basic"})
        for n in range(events)
    ]
    requests.append(
        pixel(
            events,
            "https://www.example.com/" + "Ab" * pairs,
            {"plan": "Cd" * pairs},
        )
    )
    inspection = Inspection()
    return [report for request in requests for report in inspection.process(request)]


def key_presses(judged, texts: SearchTexts | None) -> list[float]:
    """Seconds per key press while the needle is typed."""
    took = []
    for end in range(1, len(NEEDLE) + 1):
        started = time.perf_counter()
        event_filter = parse_filter(NEEDLE[:end], texts)
        for report in judged:
            event_filter.matches(report)
        took.append(time.perf_counter() - started)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--huge-mb", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    judged = reports(args.events, args.huge_mb)
    fresh, cached = [], []
    texts = SearchTexts()
    for _ in range(args.rounds):
        fresh.extend(key_presses(judged, None))
        texts.clear()
        cached.extend(key_presses(judged, texts))

    lowered_afresh = sum(len(searchable_text(report)) for report in judged)
    fresh_ms = statistics.median(fresh) * 1000
    cached_ms = statistics.median(cached) * 1000
    huge = len(judged[-1].event.request.url) / 1_000_000
    print(f"{args.events} events and one of {huge:.1f} MB,")
    print(f"typing {NEEDLE!r}, {args.rounds} rounds:")
    print(f"  lowered afresh at each key press: median {fresh_ms:8.1f} ms")
    print(f"  lowered once, kept:               median {cached_ms:8.1f} ms")
    print(f"  ratio {fresh_ms / cached_ms:.1f}x")
    print(
        f"  cache holds {texts.size:,} characters; one fresh search lowers "
        f"{lowered_afresh:,}"
    )


if __name__ == "__main__":
    main()
