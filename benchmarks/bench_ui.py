"""How many pixel events per second the terminal UI absorbs while staying responsive.

    python3 benchmarks/bench_ui.py [--seconds 3] [--rates 500,1000,2000,5000]
                                   [--max-rows 5000] [--pipeline]

Runs the real `InspectorApp` headless (`App.run_test`), with the default row cap, and
for each offered rate feeds it reports for that many seconds, the way the proxy
does: small batches every 10 ms into `receive_reports`, which the app adds to the
table every 100 ms. Every 250 ms during the flood a `p` key press is posted and the
time until the app's pause action runs is measured (then `p` again to resume).

By default the reports are made beforehand, so the figure is the UI's own cost.
With `--pipeline` each request is judged by the app's `Inspection` on the event
loop as it arrives, as in `segment-inspector live` (decoding, checks, standard
segments and page tracking included).

It prints, per rate: the rate achieved, how many events reached the table, and the
median and worst key-press latency. The target is at least 1,000 events/s with
key presses answered within 100 ms. Timings vary with the machine; nothing here
is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual import events  # noqa: E402

from inspector.inspection import Inspection  # noqa: E402
from inspector.model import CapturedRequest  # noqa: E402
from inspector.tui.app import InspectorApp  # noqa: E402

logger = logging.getLogger("bench_ui")

TICK_S = 0.01
KEY_EVERY_S = 0.25
LATENCY_TARGET_MS = 100
RATE_TARGET = 1000
PLANS = ["basic", "premium", "subscriber", None]
START_S = 1_718_000_000.0


def pixel_requests(count: int) -> Iterator[CapturedRequest]:
    """Pageviews and heartbeats from many readers, with a few type mismatches."""
    for number in range(count):
        reader = number // 4
        plan = PLANS[reader % len(PLANS)]
        data = {"plan": plan, "logged_in": plan is not None}
        if reader % 7 == 0:
            data["logged_in"] = "true"
        action = "pageview" if number % 4 == 0 else "heartbeat"
        query = {
            "rand": str(int((START_S + number * 0.01) * 1000)),
            "idsite": "example.com",
            "url": f"https://www.example.com/news/story-{reader}/",
            "urlref": "https://www.google.com/",
            "action": action,
            "plid": str(uuid.UUID(int=reader << 64)),
            "pvid": str(uuid.UUID(int=(reader << 64) + 1)),
            "sid": "1",
            "sts": "1717990000000",
            "slts": "0",
            "u": f"pid={uuid.UUID(int=reader)}",
            "data": json.dumps(data),
        }
        if action == "heartbeat":
            query.update(inc="5", tt=str(5000 * (number % 4)))
        yield CapturedRequest(
            method="GET",
            url="https://p1.parsely.com/plogger/?" + urlencode(query),
            timestamp=START_S + number * 0.01,
            request_id=f"bench-{number}",
            origin="benchmark",
            response_status=200,
        )


class TimedApp(InspectorApp):
    """The real app, noting when each pause key press is acted on."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.handled_at: list[float] = []

    def action_toggle_pause(self) -> None:
        self.handled_at.append(time.perf_counter())
        super().action_toggle_pause()


async def flood(
    rate: int, seconds: float, max_rows: int, pipeline: bool
) -> dict[str, float]:
    """Offer `rate` events/s for `seconds`; returns what the app managed."""
    inspection = Inspection(max_reports=max_rows)
    requests = list(pixel_requests(int(rate * seconds) + rate))
    if pipeline:
        items: list = requests
    else:
        prepared = Inspection()
        items = [report for r in requests for report in prepared.process(r)]

    app = TimedApp(inspection, max_rows=max_rows)
    latencies: list[float] = []
    per_tick = max(1, round(rate * TICK_S))

    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        loop = asyncio.get_running_loop()
        started = loop.time()
        next_key = started + KEY_EVERY_S
        sent = 0

        while loop.time() - started < seconds:
            # Offer the events due by now (catching up if the loop fell behind).
            due = min(int((loop.time() - started) * rate) + per_tick, len(items))
            batch, sent = items[sent:due], due
            if pipeline:
                for request in batch:
                    reports = inspection.process(request)
                    if reports:
                        app.receive_reports(reports)
            elif batch:
                app.receive_reports(batch)

            if loop.time() >= next_key:
                next_key += KEY_EVERY_S
                latencies.extend(await press_and_time(app, "p"))
                latencies.extend(await press_and_time(app, "p"))
            await asyncio.sleep(TICK_S)

        elapsed = loop.time() - started
        app.flush()
        await pilot.pause()
        shown = app.events_table.row_count
        received = app.counts.total

    return {
        "offered": rate,
        "achieved": received / elapsed,
        "received": received,
        "rows": shown,
        "median_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
        "worst_ms": max(latencies) * 1000 if latencies else 0.0,
        "presses": len(latencies),
    }


async def press_and_time(app: TimedApp, key: str, timeout: float = 5.0) -> list[float]:
    """Post one key press as the terminal driver would; seconds until handled."""
    before = len(app.handled_at)
    sent_at = time.perf_counter()
    app.post_message(events.Key(key, key))
    while len(app.handled_at) == before:
        if time.perf_counter() - sent_at > timeout:
            return [timeout]
        await asyncio.sleep(0.001)
    return [app.handled_at[-1] - sent_at]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rates", default="500,1000,2000,5000")
    parser.add_argument("--max-rows", type=int, default=5000)
    parser.add_argument(
        "--pipeline",
        action="store_true",
        help="judge each request on the event loop too, as the live proxy does",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    rates = [int(rate) for rate in args.rates.split(",")]
    what = "requests judged and shown" if args.pipeline else "reports shown"
    print(f"UI flood benchmark ({what}), {args.seconds:g} s per rate,")
    print(f"table cap {args.max_rows} rows, a key press every {KEY_EVERY_S} s")
    print()
    print(
        f"{'offered/s':>10} {'achieved/s':>11} {'events':>8} {'rows':>6} "
        f"{'key median':>11} {'key worst':>10} {'presses':>8}"
    )
    # A short first run, not shown: imports, stylesheet parsing and first renders.
    asyncio.run(flood(rates[0], 0.5, args.max_rows, args.pipeline))

    for rate in rates:
        result = asyncio.run(flood(rate, args.seconds, args.max_rows, args.pipeline))
        kept_up = result["achieved"] >= 0.9 * rate
        responsive = result["worst_ms"] <= LATENCY_TARGET_MS
        verdict = {
            (True, True): "kept up, responsive",
            (True, False): "kept up, slow keys",
            (False, True): "fell behind, responsive",
            (False, False): "fell behind, slow keys",
        }[(kept_up, responsive)]
        print(
            f"{result['offered']:>10,} {result['achieved']:>11,.0f} "
            f"{result['received']:>8,} {result['rows']:>6,} "
            f"{result['median_ms']:>9.1f}ms {result['worst_ms']:>8.1f}ms "
            f"{result['presses']:>8}  {verdict}"
        )
    print()
    print(
        f"Target: >= {RATE_TARGET:,} events/s absorbed with every key press answered "
        f"within {LATENCY_TARGET_MS} ms."
    )


if __name__ == "__main__":
    main()
