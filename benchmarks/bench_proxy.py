"""How much the inspector costs the proxy, and how much memory a long session takes.

Throughput: the same loopback load (keep-alive clients in another process, one pixel
in ten, a local origin in a third process) goes through an embedded mitmproxy built
the way `inspector.proxy` builds it, once with only mitmproxy's default addons and
once with the inspector addon too. Both configurations forward every request to the
origin, so the only difference is the judging. Rounds alternate to even out noise.

Memory: a fresh process feeds a news site's traffic (`benchmarks/workload.py`, with
the page requests around the pixels and its long tail of values that never repeat)
through an `Inspection(max_reports=N)`, and reports its resident set size along the
way and the size of the tables the inspection keeps.

Targets (printed, never asserted): addon/no-addon throughput ratio >= 0.90, and
<= 300 MB resident after 1,000,000 events.

    python benchmarks/bench_proxy.py                 # both
    python benchmarks/bench_proxy.py throughput --seconds 10 --clients 8
    python benchmarks/bench_proxy.py memory --events 1000000 --max-reports 5000
                                            [--spec fixtures/specs/example.yaml]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import logging
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for benchmarks.workload

THROUGHPUT_TARGET = 0.90
MEMORY_TARGET_MB = 300
PIXEL_EVERY = 10
"""One request in this many is a pixel."""

# Fresh interpreters for helper processes: forking a process with a running event
# loop and mitmproxy's global state is asking for trouble.
_processes = multiprocessing.get_context("spawn")


# ------------------------------------------------------------------ the origin


class _OriginHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    body = b"<!doctype html><title>bench</title>" + b"x" * 2000

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _serve_origin(port_out: multiprocessing.Queue) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OriginHandler)
    server.daemon_threads = True
    port_out.put(server.server_address[1])
    server.serve_forever()


# ------------------------------------------------------------------ the load


def pixel_url(
    host: str,
    number: int,
    *,
    action: str = "pageview",
    page_url: str | None = None,
    visitor: str = "pid=0f8f2b6c-9a5e-4b7c-8d1e-2a3b4c5d6e7f",
    **extra: str,
) -> str:
    data = {"plan": ["basic", "premium"][number % 2], "logged_in": number % 3 == 0}
    query = {
        "rand": str(1_700_000_000_000 + number),
        "plid": str(number),
        "idsite": "example.com",
        "url": page_url or f"https://example.com/story/{number % 50}",
        "urlref": "https://www.google.com/",
        "data": json.dumps(data),
        "sid": "1",
        "sts": "1700000000000",
        "slts": "0",
        "action": action,
        "pvid": str(number),
        **extra,
        "u": visitor,
    }
    return f"http://{host}/plogger/?{urlencode(query)}"


def _client(
    proxy_port: int, origin: str, deadline: float, counts: list[int], index: int
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=30)
    number = index * 10_000_000
    while time.monotonic() < deadline:
        number += 1
        if number % PIXEL_EVERY == 0:
            url = pixel_url(origin, number)
        else:
            url = f"http://{origin}/assets/{number % 200}.js"
        connection.request("GET", url, headers={"Host": origin})
        response = connection.getresponse()
        response.read()
        counts[index] += 1
    connection.close()


def _run_load(
    proxy_port: int, origin: str, clients: int, seconds: float, result_out
) -> None:
    # Warm up connections and caches, then measure.
    warmup = [0] * clients
    _start_clients(proxy_port, origin, clients, 1.0, warmup)

    counts = [0] * clients
    started = time.monotonic()
    _start_clients(proxy_port, origin, clients, seconds, counts)
    elapsed = time.monotonic() - started
    result_out.put(sum(counts) / elapsed)


def _start_clients(
    proxy_port: int, origin: str, clients: int, seconds: float, counts: list[int]
) -> None:
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=_client, args=(proxy_port, origin, deadline, counts, index)
        )
        for index in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# ------------------------------------------------------------------ the proxy


async def _measure(with_addon: bool, origin: str, clients: int, seconds: float):
    from mitmproxy.addons import default_addons
    from mitmproxy.master import Master
    from mitmproxy.options import Options

    from inspector.addon import SegmentInspector
    from inspector.inspection import Inspection
    from inspector.spec import default_spec

    options = Options(listen_host="127.0.0.1", listen_port=0, confdir=_confdir())
    master = Master(options)
    master.addons.add(*default_addons())
    if with_addon:
        # The origin stands in for a first-party pixel host, so pixels are
        # forwarded (not answered) in both configurations.
        spec = default_spec().model_copy(update={"first_party_hosts": ("127.0.0.1",)})
        inspection = Inspection(spec, max_reports=5000)
        master.addons.add(SegmentInspector(inspection, on_reports=lambda r: None))

    runner = asyncio.create_task(master.run())
    proxyserver = master.addons.get("proxyserver")
    while not proxyserver.listen_addrs():
        await asyncio.sleep(0.05)
    proxy_port = proxyserver.listen_addrs()[0][1]

    results: multiprocessing.Queue = _processes.Queue()
    load = _processes.Process(
        target=_run_load, args=(proxy_port, origin, clients, seconds, results)
    )
    load.start()
    while load.is_alive():
        await asyncio.sleep(0.1)
    rate = results.get(timeout=5)

    master.shutdown()
    await runner
    await proxyserver.servers.update([])
    return rate


def _confdir() -> str:
    path = Path(os.environ.get("TMPDIR", "/tmp")) / "segment-inspector-bench"
    path.mkdir(exist_ok=True)
    return str(path)


def throughput(clients: int, seconds: float, rounds: int) -> None:
    ports: multiprocessing.Queue = _processes.Queue()
    origin_process = _processes.Process(
        target=_serve_origin, args=(ports,), daemon=True
    )
    origin_process.start()
    origin = f"127.0.0.1:{ports.get(timeout=10)}"

    rates: dict[bool, list[float]] = {False: [], True: []}
    try:
        for round_number in range(rounds):
            for with_addon in (False, True) if round_number % 2 == 0 else (True, False):
                rate = asyncio.run(_measure(with_addon, origin, clients, seconds))
                rates[with_addon].append(rate)
                label = "with addon   " if with_addon else "without addon"
                print(f"  round {round_number + 1} {label}: {rate:8.0f} requests/s")
    finally:
        origin_process.terminate()

    without = statistics.median(rates[False])
    with_ = statistics.median(rates[True])
    ratio = with_ / without
    verdict = "meets" if ratio >= THROUGHPUT_TARGET else "MISSES"
    print(
        f"throughput ({clients} clients, 1 pixel in {PIXEL_EVERY}, median of "
        f"{rounds}): without addon {without:.0f}/s, with addon {with_:.0f}/s, "
        f"ratio {ratio:.3f} ({verdict} the {THROUGHPUT_TARGET:.2f} target)"
    )


# ------------------------------------------------------------------ memory


def memory(events: int, max_reports: int, spec_path: str | None) -> None:
    from benchmarks.workload import news_site_traffic
    from inspector.inspection import Inspection
    from inspector.spec import load_spec

    spec = load_spec(spec_path) if spec_path else None
    inspection = Inspection(spec, max_reports=max_reports)
    traffic = news_site_traffic(events, pages=True, long_tail=True)
    before = _rss_mb()
    started = time.process_time()

    # Pixels and the page requests around them, as a long live session sees them.
    seen = 0
    for request in traffic:
        inspection.process(request)
        if request.url.startswith("https://p1.parsely.com/"):
            seen += 1
            if seen % (events // 4 or 1) == 0:
                print(f"  {seen:>9,} events: resident {_rss_mb():.0f} MB")
    inspection.result()  # what a report or a UI refresh asks for
    cpu = time.process_time() - started
    after = _rss_mb()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    verdict = "meets" if peak <= MEMORY_TARGET_MB else "MISSES"
    print(
        f"memory: {events:,} events (with {inspection.requests_seen - seen:,} page "
        f"requests) through Inspection(max_reports={max_reports}) in {cpu:.0f} s "
        f"CPU, traffic generation included; resident {before:.0f} MB before, "
        f"{after:.0f} MB after (+{after - before:.0f} MB), peak {peak:.0f} MB "
        f"({verdict} the {MEMORY_TARGET_MB} MB target)"
    )
    print("state kept:", ", ".join(f"{k} {v:,}" for k, v in _state(inspection)))


def _state(inspection) -> list[tuple[str, int]]:
    """How big the inspection's long-lived tables are (each should be bounded)."""
    pages = inspection.pages
    standard = inspection.standard
    checker = inspection.checker
    return [
        ("reports", len(inspection.reports)),
        ("page loads", len(pages._pages)),
        ("page ids", len(pages._by_identity)),
        (
            "address index entries",
            sum(map(len, pages._by_url.values()))
            + sum(map(len, pages._by_origin.values())),
        ),
        ("known addresses", len(pages._known_urls)),
        ("visitors", len(pages._visitors)),
        ("retired diagnoses", len(pages._retired)),
        ("segment keys counted", len(inspection.segment_counts)),
        ("segment values counted", sum(map(len, inspection.segment_counts.values()))),
        ("segment values tallied only", inspection.uncounted_segment_values),
        ("key histories", len(checker._history)),
        ("campaign spellings", len(standard._spellings)),
        ("page views with campaign findings", len(standard._reported)),
    ]


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


# ------------------------------------------------------------------ entry point


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("part", nargs="?", choices=["throughput", "memory", "all"])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--max-reports", type=int, default=5000)
    parser.add_argument("--spec", help="spec for the memory run (default: built-in)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    if args.part in ("throughput", None, "all"):
        throughput(args.clients, args.seconds, args.rounds)
    if args.part == "memory":
        memory(args.events, args.max_reports, args.spec)
    elif args.part in (None, "all"):
        # A fresh process, so the proxy run does not inflate the numbers.
        subprocess.run(
            [
                sys.executable,
                __file__,
                "memory",
                "--events",
                str(args.events),
                "--max-reports",
                str(args.max_reports),
                *(["--spec", args.spec] if args.spec else []),
            ],
            check=False,
        )


if __name__ == "__main__":
    main()
