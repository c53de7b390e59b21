"""Output files that would be written over a file the same run reads or writes.

A report, a recording or a JSON Lines file named like the spec, a recording being
read or another output would destroy it; every command checks its outputs here
before it writes anything::

    clash = output_clash([("--output", "d.mitm")], [("d.mitm", "d.mitm")], "the report")
    # '--output d.mitm is also an input (d.mitm); writing the report there would
    #  overwrite it, so nothing was done'
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

PathLike = str | os.PathLike[str]
Named = tuple[str, PathLike | None]
"""An option or description and the path it names (None or `-`: no file)."""


def output_clash(
    outputs: Sequence[Named], inputs: Sequence[Named], what: str
) -> str | None:
    """Why the outputs must not be written, or None when every one is a file of
    its own.

    Args:
        outputs: each output option and its path, such as `("--jsonl", "x.jsonl")`.
        inputs: what the run reads, each as it should be named in the message
            (`"--spec segments.yaml"`) and its path.
        what: what would be written, for the message (`"the report"`).
    """
    given = [(name, path) for name, path in outputs if _names_a_file(path)]
    for index, (option, path) in enumerate(given):
        for name, other in inputs:
            if _names_a_file(other) and same_file(path, other):
                return (
                    f"{option} {path} is also an input ({name}); writing {what} "
                    "there would overwrite it, so nothing was done"
                )
        for other_option, other in given[:index]:
            if same_file(path, other):
                return (
                    f"{option} {path} is the same file as {other_option} {other}; "
                    "both writing there would corrupt it, so nothing was done"
                )
    return None


def same_file(first: PathLike, second: PathLike) -> bool:
    """Whether two paths name one file, however each is spelled."""
    try:
        return Path(first).samefile(second)
    except OSError:
        # One of them does not exist (yet): compare where they would be.
        return Path(first).resolve() == Path(second).resolve()


def _names_a_file(path: PathLike | None) -> bool:
    return path is not None and str(path) not in ("", "-")
