"""`segment-inspector spec check | init | schema`, through the real CLI entry point."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from inspector.cli import main
from inspector.spec import load_spec, spec_json_schema

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "fixtures" / "specs"
COMMITTED_SCHEMA = ROOT / "inspector" / "data" / "segments.schema.json"


def test_check_reports_a_valid_spec(capsys):
    example = SPECS / "example.yaml"

    status = main(["spec", "check", str(example)])

    assert status == 0
    assert capsys.readouterr().out == f"{example}: OK (4 segment keys, 2 scenarios)\n"


def test_check_lists_every_problem_and_fails(capsys):
    broken = SPECS / "invalid" / "several_problems.yaml"

    status = main(["spec", "check", str(broken)])

    lines = capsys.readouterr().out.splitlines()
    assert status == 1
    assert lines == [
        f"{broken}:1:15: unknown_keys: \"warnign\" is not one of 'allow', 'info', "
        "'warning', 'error' (did you mean 'warning'?)",
        f"{broken}:5:5: segments.plan.requird: unknown key 'requird' "
        "(did you mean 'required'?)",
        f'{broken}:8:14: segments.logged_in.values[0]: "false" is a string, but '
        "this is a boolean segment (write false without quotes)",
        f"{broken}: 3 problems",
    ]


def test_check_prints_warnings_and_passes(capsys, tmp_path):
    spec = tmp_path / "cases.yaml"
    spec.write_text("segments:\n  plan: {type: string, values: [a, A]}\n")

    status = main(["spec", "check", str(spec)])

    captured = capsys.readouterr()
    assert status == 0
    assert captured.out.splitlines() == [
        f'{spec}:2:36: warning: segments.plan.values[1]: "A" differs from "a" '
        "(values[0]) only by case: both are allowed, but a value sent in any other "
        "case is reported against one of them only (keep one spelling, unless the "
        "site sends both on purpose)",
        f"{spec}: OK (1 segment key, 0 scenarios, 1 warning)",
    ]
    assert captured.err == ""


def test_check_lists_warnings_beside_the_problems_of_a_broken_spec(capsys, tmp_path):
    spec = tmp_path / "both.yaml"
    spec.write_text(
        "segments:\n"
        "  n: {type: number, values: [1, 1.0, .nan]}\n"
        "  w: {type: string, values: [basic, Basic]}\n"
    )

    status = main(["spec", "check", str(spec)])

    lines = capsys.readouterr().out.splitlines()
    assert status == 1
    assert [line.split(": ", 2)[:2] for line in lines[:3]] == [
        [f"{spec}:2:33", "segments.n.values[1]"],
        [f"{spec}:2:38", "segments.n.values[2]"],
        [f"{spec}:3:37", "warning"],
    ]
    assert lines[0].endswith("1.0 repeats 1 (values[0])")
    assert lines[3] == f"{spec}: 2 problems, 1 warning"


def test_check_goes_through_every_file(capsys):
    example = SPECS / "example.yaml"
    missing = SPECS / "no-such-spec.yaml"

    status = main(["spec", "check", str(missing), str(example)])

    out = capsys.readouterr().out.splitlines()
    assert status == 1
    assert out == [
        f"{missing}: spec file not found",
        f"{missing}: 1 problem",
        f"{example}: OK (4 segment keys, 2 scenarios)",
    ]


@pytest.mark.parametrize("path", [[], ["-"]], ids=["no-path", "dash"])
def test_init_prints_the_starter_without_a_path(capsys, tmp_path, monkeypatch, path):
    monkeypatch.chdir(tmp_path)
    status = main(["spec", "init", *path])

    printed = capsys.readouterr().out
    assert status == 0
    assert printed.startswith("# Segment spec for Segment Inspector.")
    written = tmp_path / "printed.yaml"
    written.write_text(printed, encoding="utf-8")
    assert set(load_spec(written).segments) == {"plan", "logged_in"}
    assert not (tmp_path / "-").exists()


def test_init_writes_a_starter_that_checks_cleanly(capsys, tmp_path):
    target = tmp_path / "segments.yaml"

    status = main(["spec", "init", str(target)])
    assert status == 0
    assert capsys.readouterr().out == (
        f"wrote {target}; check it with: segment-inspector spec check {target}\n"
    )

    assert main(["spec", "check", str(target)]) == 0
    assert capsys.readouterr().out == f"{target}: OK (2 segment keys, 2 scenarios)\n"


def test_init_refuses_to_overwrite_without_force(capsys, tmp_path):
    target = tmp_path / "segments.yaml"
    target.write_text("sites: [mine.example]\n", encoding="utf-8")

    status = main(["spec", "init", str(target)])

    assert status == 1
    assert "already exists (use --force to overwrite it)" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "sites: [mine.example]\n"

    assert main(["spec", "init", "--force", str(target)]) == 0
    assert target.read_text(encoding="utf-8").startswith("# Segment spec")


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_init_into_a_directory_asks_for_a_file_name(capsys, tmp_path, force):
    status = main(["spec", "init", *force, str(tmp_path)])

    assert status == 1
    assert capsys.readouterr().err == (
        f"segment-inspector spec init: {tmp_path} is a directory; give a file name "
        f"such as {tmp_path / 'segments.yaml'}\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_init_reports_an_unwritable_path(capsys, tmp_path):
    target = tmp_path / "no-such-dir" / "segments.yaml"

    status = main(["spec", "init", str(target)])

    assert status == 1
    assert f"cannot write {target}" in capsys.readouterr().err


def test_schema_prints_the_spec_schema(capsys):
    status = main(["spec", "schema"])

    printed = capsys.readouterr().out
    assert status == 0
    assert json.loads(printed) == spec_json_schema()


def test_committed_schema_is_current(capsys):
    main(["spec", "schema"])

    printed = capsys.readouterr().out
    assert COMMITTED_SCHEMA.read_text(encoding="utf-8") == printed, (
        "inspector/data/segments.schema.json is stale; regenerate it with "
        "`segment-inspector spec schema > inspector/data/segments.schema.json`"
    )


def test_spec_needs_an_action(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["spec"])

    assert exited.value.code == 2
    assert "ACTION" in capsys.readouterr().err


def test_check_reads_standard_input_for_a_dash(capsys, monkeypatch):
    pasted = "version: 1\nsegments:\n  plan: {type: strng}\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(pasted.encode())))

    status = main(["spec", "check", "-"])

    assert status == 1
    assert capsys.readouterr().out.splitlines() == [
        '<stdin>:3:16: segments.plan.type: unknown segment type "strng"; use '
        "string, boolean or number (did you mean 'string'?)",
        "<stdin>: 1 problem",
    ]


def test_check_reads_no_more_of_standard_input_than_a_spec_may_hold(
    capsys, monkeypatch
):
    from inspector.spec import MAX_SPEC_BYTES

    endless = _Endless()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(endless))

    status = main(["spec", "check", "-"])

    assert status == 1
    assert endless.given <= MAX_SPEC_BYTES + 1 + io.DEFAULT_BUFFER_SIZE
    assert capsys.readouterr().out.splitlines() == [
        "<stdin>: standard input holds more than 5 MB; a spec may be at most 5 MB "
        "(a site's spec is a few kilobytes: is this the right input?)",
        "<stdin>: 1 problem",
    ]


class _Endless(io.RawIOBase):
    """A stream like `/dev/zero` that counts what it gave; it ends after 20 MB
    only so that a reader without a bound fails the test instead of hanging."""

    def __init__(self) -> None:
        self.given = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        size = min(len(buffer), 20_000_000 - self.given)
        buffer[:size] = b"a" * size
        self.given += size
        return size


def test_file_names_with_control_characters_are_printed_escaped(capsys, tmp_path):
    odd = tmp_path / "sp\x1b[2Jec.yaml"
    odd.write_text("version: 2\n")
    starter = tmp_path / "in\x1bit.yaml"

    main(["spec", "check", str(odd)])
    main(["spec", "init", str(starter)])

    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert out.count("sp\\x1b[2Jec.yaml") == 2  # the problem and the count
    assert "wrote " + str(tmp_path / "in\\x1bit.yaml") in out
