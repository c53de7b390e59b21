"""`segment-inspector spec`: check a segment spec, write a starter, print its schema.

segment-inspector spec check segments.yaml
segment-inspector spec init segments.yaml     (or - for standard output)
segment-inspector spec schema > segments.schema.json
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from importlib import resources
from pathlib import Path

from inspector.commands import complain, say

logger = logging.getLogger(__name__)

STARTER_RESOURCE = "spec-starter.yaml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="spec_action", metavar="ACTION")
    actions.required = True

    check = actions.add_parser(
        "check",
        help="validate spec files and list every problem with its line",
        description="Validate spec files. Prints every problem as "
        "FILE:LINE:COLUMN: PATH: MESSAGE and exits with 1 when there is any.",
    )
    check.add_argument(
        "files", nargs="+", metavar="FILE", help="a spec file (YAML); - for stdin"
    )
    check.set_defaults(spec_run=_run_check)

    init = actions.add_parser(
        "init",
        help="write a commented starter spec",
        description="Write a commented starter spec to PATH, or to standard output "
        "when no PATH (or -) is given.",
    )
    init.add_argument(
        "path", nargs="?", metavar="PATH", help="where to write it; - for stdout"
    )
    init.add_argument(
        "--force", action="store_true", help="overwrite PATH if it already exists"
    )
    init.set_defaults(spec_run=_run_init)

    schema = actions.add_parser(
        "schema",
        help="print the JSON Schema of the spec format",
        description="Print the JSON Schema of the spec format, for editors that "
        "complete and validate YAML against a schema.",
    )
    schema.set_defaults(spec_run=_run_schema)


def run(args: argparse.Namespace) -> int:
    return args.spec_run(args)


def starter_text() -> str:
    """The commented starter spec that `spec init` writes."""
    starter = resources.files("inspector").joinpath("data", STARTER_RESOURCE)
    return starter.read_text(encoding="utf-8")


def schema_text() -> str:
    """The JSON Schema of the spec format, as `spec schema` prints it."""
    from inspector.spec import spec_json_schema

    return json.dumps(spec_json_schema(), indent=2, ensure_ascii=False) + "\n"


def _run_check(args: argparse.Namespace) -> int:
    from inspector.recordings import STDIN_LABEL
    from inspector.spec import STDIN_SPEC, SpecError, load_spec_argument

    status = 0
    for given in args.files:
        file = STDIN_LABEL if given == STDIN_SPEC else given
        try:
            spec = load_spec_argument(given, log_warnings=False)
        except SpecError as error:
            status = 1
            for problem in error.all_in_file_order():
                say(problem)
            count = len(error.problems)
            warnings = len(error.warnings)
            say(
                f"{file}: {count} problem{'s' if count != 1 else ''}"
                + (
                    f", {warnings} warning{'s' if warnings != 1 else ''}"
                    if warnings
                    else ""
                )
            )
            continue

        for warning in spec.warnings:
            say(warning)
        keys = len(spec.segments)
        scenarios = len(spec.scenarios)
        warnings = len(spec.warnings)
        say(
            f"{file}: OK ({keys} segment key{'s' if keys != 1 else ''}, "
            f"{scenarios} scenario{'s' if scenarios != 1 else ''}"
            + (
                f", {warnings} warning{'s' if warnings != 1 else ''}"
                if warnings
                else ""
            )
            + ")"
        )
    return status


def _run_init(args: argparse.Namespace) -> int:
    text = starter_text()
    if not args.path or args.path == "-":
        sys.stdout.write(text)
        return 0

    target = Path(args.path)
    if target.is_dir():
        complain(
            "segment-inspector spec init",
            f"{target} is a directory; give a file name such as "
            f"{target / 'segments.yaml'}",
        )
        return 1
    if target.exists() and not args.force:
        complain(
            "segment-inspector spec init",
            f"{target} already exists (use --force to overwrite it)",
        )
        return 1
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as error:
        complain(
            "segment-inspector spec init", f"cannot write {target}: {error.strerror}"
        )
        return 1

    say(f"wrote {target}; check it with: segment-inspector spec check {target}")
    return 0


def _run_schema(args: argparse.Namespace) -> int:
    sys.stdout.write(schema_text())
    return 0
