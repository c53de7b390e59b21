"""The list of finding codes stays in step with the codes the checks give."""

import ast
import re
import typing
from pathlib import Path

from inspector.diagnoses import DIAGNOSIS_CODES
from inspector.model import FINDING_CODES
from inspector.pii import PiiKind

SOURCES = Path(__file__).resolve().parent.parent / "inspector"
_CODE = re.compile(r"^[a-z]+\.[a-z]+(-[a-z]+)*$")


def _code_literals() -> set[str]:
    prefixes = {code.split(".", 1)[0] for code in FINDING_CODES}
    found = set()
    for path in SOURCES.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and _CODE.match(node.value)
                and node.value.split(".", 1)[0] in prefixes
            ):
                found.add(node.value)
    return found


def test_every_code_in_the_sources_is_listed():
    assert _code_literals() - FINDING_CODES == set()


def test_every_listed_code_is_given_somewhere():
    derived = {f"pii.{kind}" for kind in typing.get_args(PiiKind)}

    assert FINDING_CODES - derived - _code_literals() == set()


def test_diagnosis_codes_are_finding_codes():
    assert DIAGNOSIS_CODES <= FINDING_CODES
