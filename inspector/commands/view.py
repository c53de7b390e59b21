"""`segment-inspector view`: open recordings in the terminal UI, without a proxy.

With no recording (or with `--demo`) it opens the bundled demo recording, which is
the quickest way to see what the tool shows. The recordings are read before the UI
opens: when none of them could be read, the problems are printed and the command
exits with status 2 instead of opening an empty UI. Several recordings are merged
in time order. Neither a recording nor the spec can come from standard input
(`-`), where the UI reads its keys: that is refused at once.
"""

from __future__ import annotations

import argparse
import logging

from inspector.commands import DEFAULT_MAX_ROWS, complain, row_cap

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "recordings",
        nargs="*",
        metavar="RECORDING",
        help="a .mitm flow file, a HAR file or a request list (several are merged "
        "in time order); none opens the demo",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open the bundled demo recording (alongside any RECORDING given)",
    )
    parser.add_argument(
        "--spec", metavar="FILE", help="the segment spec to judge events against"
    )
    parser.add_argument(
        "--geoip-db",
        metavar="PATH",
        help="a MaxMind .mmdb database, to show the geography standard segments",
    )
    parser.add_argument(
        "--show-pii",
        action="store_true",
        help="show e-mail addresses, phone numbers and long numbers instead of "
        "masking them",
    )
    parser.add_argument(
        "--max-rows",
        type=row_cap,
        default=DEFAULT_MAX_ROWS,
        metavar="N",
        help=f"most events kept in the table; counts stay exact (default "
        f"{DEFAULT_MAX_ROWS})",
    )


def run(args: argparse.Namespace) -> int:
    from inspector.spec import SpecError, load_spec
    from inspector.standard import GeoIPError
    from inspector.tui.launch import (
        DemoNotFound,
        demo_recording,
        read_recordings,
        run_view,
    )

    # The UI reads its keys from standard input: nothing else may come from there.
    if "-" in args.recordings:
        complain(
            "segment-inspector view",
            "-: the terminal UI reads its keys from standard input, so a "
            "recording cannot come from there; save the input to a file first "
            "and view that file",
        )
        return 2
    if args.spec == "-":
        complain(
            "segment-inspector view",
            "--spec -: the terminal UI reads its keys from standard input, so the "
            "spec cannot come from there; give the spec's file",
        )
        return 2

    recordings = list(args.recordings)
    source_label = None
    if args.demo or not recordings:
        try:
            demo = demo_recording()
        except DemoNotFound as problem:
            complain("segment-inspector view", problem)
            return 2
        recordings.insert(0, demo)
        if len(recordings) == 1:
            source_label = f"demo: {demo.name}"

    spec = None
    if args.spec:
        try:
            spec = load_spec(args.spec)
        except SpecError as problem:
            complain("segment-inspector view", f"the spec cannot be used:\n{problem}")
            return 2

    requests, errors = read_recordings(recordings)
    if errors and not requests:
        for error in errors:
            complain("segment-inspector view", error)
        complain("segment-inspector view", "nothing could be read; no UI opened")
        return 2

    verbosity = getattr(args, "verbose", 0)
    log_level = logging.INFO if verbosity else logging.WARNING
    try:
        return run_view(
            recordings,
            loaded=(requests, errors),
            spec=spec,
            geoip_db=args.geoip_db,
            max_rows=args.max_rows,
            log_level=log_level,
            source_label=source_label,
            show_pii=args.show_pii,
        )
    except GeoIPError as problem:
        complain("segment-inspector view", problem)
        return 2
