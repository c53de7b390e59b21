"""Regenerate the demo recordings from the demo request list.

    python3 scripts/build_recordings.py

reads `fixtures/requests/demo.txt` and writes the same traffic twice, with
mitmproxy's own writers: `fixtures/recordings/demo.mitm` (a flow file, as
`mitmdump -w` saves) and `fixtures/recordings/demo.har` (HAR, as `save.har` saves),
plus a copy of the flow file inside the package (`inspector/data/demo.mitm`) so that
`segment-inspector view` finds its demo in any installation.
Every pixel is given the answer Parse.ly's collector gives: 200 and a GIF. Writing is
deterministic, so running the script again changes nothing unless demo.txt changed.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inspector.recordings import read_requests, write_har, write_mitm  # noqa: E402

logger = logging.getLogger("build_recordings")

DEMO_LIST = ROOT / "fixtures" / "requests" / "demo.txt"
RECORDINGS = ROOT / "fixtures" / "recordings"
PACKAGED_DEMO = ROOT / "inspector" / "data" / "demo.mitm"


def build(source: Path = DEMO_LIST, out_dir: Path = RECORDINGS) -> list[Path]:
    """Write `<stem>.mitm` and `<stem>.har` for `source`; returns the paths."""
    requests = [
        dataclasses.replace(request, response_status=200, content_type="image/gif")
        for request in read_requests(source)
    ]

    out_dir.mkdir(parents=True, exist_ok=True)
    mitm_path = out_dir / f"{source.stem}.mitm"
    har_path = out_dir / f"{source.stem}.har"
    write_mitm(requests, mitm_path)
    write_har(requests, har_path)

    logger.info("wrote %d requests to %s and %s", len(requests), mitm_path, har_path)
    return [mitm_path, har_path]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEMO_LIST)
    parser.add_argument("--out-dir", type=Path, default=RECORDINGS)
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    mitm_path, _ = build(args.source, args.out_dir)
    if args.source == DEMO_LIST:
        PACKAGED_DEMO.write_bytes(mitm_path.read_bytes())
        logger.info("copied %s to %s", mitm_path, PACKAGED_DEMO)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
