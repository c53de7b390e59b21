"""Each recording is a capture of its own: page loads and visitors never span files.

Test cases made from one template share their page and visitor ids; checked
together, they must give each file the page-level verdicts it gets alone. Every
front end is covered: `check` (text, JSON, JUnit), the pytest plugin's `replay`
and the `view` UI's Pages view.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from urllib.parse import quote

import pytest

from inspector.cli import main
from inspector.recordings import load_each, load_requests, recording_labels
from inspector.testing import replay

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CASES = FIXTURES / "requests"
EXAMPLE_SPEC = FIXTURES / "specs" / "example.yaml"
DUPLICATE = "page.duplicate-pageview"
NULLS_MIXED = "visitor.null-convention-mixed"


def blocks(name: str) -> list[str]:
    """The request blocks of a case file, without its header comments."""
    (path,) = CASES.glob(f"{name}-*.txt")
    body = "\n".join(
        line
        for line in path.read_text().splitlines()
        if not line.startswith("#") or line.startswith("# @")
    )
    return [block.strip() for block in body.split("\n---\n")]


@pytest.fixture
def split_duplicate(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Case 29's two pageviews (one plid, one visitor, 35 ms apart): both in one
    file, and one in each of two files."""
    first, second = blocks("29")
    together = tmp_path / "together.txt"
    together.write_text(f"{first}\n---\n{second}\n")
    one = tmp_path / "one.txt"
    one.write_text(first + "\n")
    two = tmp_path / "two.txt"
    two.write_text(second.replace("# @t=+35ms", "# @t=+0ms") + "\n")
    return together, one, two


def codes(diagnoses) -> list[str]:
    return sorted(d.code for d in diagnoses if not d.code.startswith("scenario."))


def check(capsys, *arguments) -> tuple[int, str]:
    status = main(["check", "--fail-on", "never", *map(str, arguments)])
    return status, capsys.readouterr().out


# --------------------------------------------------------------------------------------
# Page loads


def test_one_file_with_two_pageviews_is_a_duplicate(split_duplicate):
    together, _one, _two = split_duplicate

    result = replay(together)

    assert codes(result.diagnoses) == [DUPLICATE]
    assert len(result.pages) == 1


def test_two_files_sharing_a_pageload_id_are_two_page_loads(split_duplicate):
    _together, one, two = split_duplicate

    result = replay(one, two)

    assert codes(result.diagnoses) == []
    assert [page.source for page in result.pages] == ["one.txt", "two.txt"]
    assert [len(page.events) for page in result.pages] == [1, 1]
    # Both keep the pageload id; the second is told apart by a suffix.
    assert len({page.key for page in result.pages}) == 2


def test_check_keeps_files_apart_in_every_format(capsys, split_duplicate, tmp_path):
    together, one, two = split_duplicate

    _, text = check(capsys, one, two)
    assert DUPLICATE not in text
    _, text = check(capsys, together)
    assert DUPLICATE in text

    _, report = check(capsys, one, two, "--format", "json")
    assert DUPLICATE not in {d["code"] for d in json.loads(report)["diagnoses"]}
    _, report = check(capsys, together, "--format", "json")
    (duplicate,) = [
        d for d in json.loads(report)["diagnoses"] if d["code"] == DUPLICATE
    ]
    assert duplicate["source"] == "together.txt"

    _, lines = check(capsys, one, two, "--format", "jsonl")
    assert DUPLICATE not in lines

    status, xml = check(capsys, one, two, "--format", "junit")
    root = ElementTree.fromstring(xml.encode())
    pages = [
        case
        for case in root.iter("testcase")
        if case.get("classname", "").startswith("pages.")
        and case.get("name", "").startswith("page load")
    ]
    assert [case.get("file") for case in pages] == ["one.txt", "two.txt"]
    assert root.find(".//failure") is None
    assert status == 0


def test_text_report_names_the_recording_when_there_are_several(capsys, tmp_path):
    first, second = blocks("29")
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(f"{first}\n---\n{second}\n")

    _, text = check(capsys, tmp_path / "a.txt", tmp_path / "b.txt")

    wheres = [line for line in text.splitlines() if line.strip().startswith("where:")]
    assert len(wheres) == 2
    assert wheres[0].endswith(" in a.txt")
    assert wheres[1].endswith(" in b.txt")

    _, alone = check(capsys, tmp_path / "a.txt")
    assert " in a.txt" not in alone


# --------------------------------------------------------------------------------------
# Visitors


def pageview(data: dict | None, rand: int) -> str:
    """A pageview of one visitor and page, with `data` as given (None: no plan)."""
    address = "https://www.example.com/story"
    url = (
        "https://p1.parsely.com/plogger/?action=pageview&idsite=example.com"
        f"&url={quote(address, safe='')}&rand={rand}&u=pid%3Dvisitor-1"
        f"&plid=pl-{rand}&pvid=pv-{rand}"
    )
    if data is not None:
        url += "&data=" + quote(json.dumps(data), safe="")
    return f"GET {url}"


def test_null_conventions_are_compared_within_one_recording(tmp_path):
    sent_null = pageview({"plan": None}, 1_700_000_000_000)
    omitted = pageview({}, 1_700_000_100_000)
    (tmp_path / "both.txt").write_text(f"{sent_null}\n---\n{omitted}\n")
    (tmp_path / "null.txt").write_text(sent_null + "\n")
    (tmp_path / "omitted.txt").write_text(omitted + "\n")

    one_visitor = replay(tmp_path / "both.txt", spec=EXAMPLE_SPEC)
    assert NULLS_MIXED in codes(one_visitor.diagnoses)

    two_captures = replay(
        tmp_path / "null.txt", tmp_path / "omitted.txt", spec=EXAMPLE_SPEC
    )
    assert NULLS_MIXED not in codes(two_captures.diagnoses)


# --------------------------------------------------------------------------------------
# The project's cases, together and one by one


def page_verdicts(diagnoses) -> set[tuple[str, str, str, tuple[str, ...]]]:
    return {
        (d.source, d.code, str(d.severity), tuple(d.evidence))
        for d in diagnoses
        if not d.code.startswith("scenario.")
    }


def test_cases_checked_together_get_the_verdicts_they_get_alone():
    paths = sorted(CASES.glob("[0-9]*.txt"))

    together = page_verdicts(replay(*paths, spec=EXAMPLE_SPEC).diagnoses)
    alone = set()
    for path in paths:
        alone |= page_verdicts(replay(path, spec=EXAMPLE_SPEC).diagnoses)

    assert together == alone
    by_file = {source for source, *_ in together}
    assert {
        "15-android-heartbeat-before-pageview.txt",
        "22-synthetic-updatedefaults-after-pageview.txt",
        "29-synthetic-duplicate-pageview.txt",
    } <= by_file
    assert not any(source.startswith(("16-", "19-")) for source in by_file)


# --------------------------------------------------------------------------------------
# Naming the files


def test_labels_are_file_names_unless_they_clash():
    assert recording_labels(["a/x.txt", "b/y.har"]) == ["x.txt", "y.har"]
    assert recording_labels(["a/x.txt", "b/x.txt"]) == ["a/x.txt", "b/x.txt"]
    assert recording_labels(["x.txt", "x.txt"]) == ["x.txt", "x.txt (2)"]
    assert recording_labels(["-"]) == ["<stdin>"]
    assert recording_labels(["/dev/fd/63", "/dev/fd/62"]) == [
        "/dev/fd/63",
        "/dev/fd/62",
    ]


def test_one_file_given_twice_is_two_captures_with_distinct_ids(split_duplicate):
    together, _one, _two = split_duplicate

    requests, errors = load_requests([together, together])

    assert errors == []
    assert [r.source for r in requests] == ["together.txt"] * 2 + [
        "together.txt (2)"
    ] * 2
    assert len({r.request_id for r in requests}) == 4
    result = replay(together, together)
    assert codes(result.diagnoses) == [DUPLICATE, DUPLICATE]


def test_a_flow_file_given_twice_gets_fresh_ids_for_the_copy(tmp_path):
    from inspector.recordings import write_mitm

    requests, _ = load_requests([CASES / "29-synthetic-duplicate-pageview.txt"])
    path = tmp_path / "session.mitm"
    write_mitm(requests, path)

    (first, second), errors = load_each([path, path])

    assert errors == []
    ids = [r.request_id for r in first + second]
    assert len(set(ids)) == 4
    assert all(r.request_id.startswith("session.mitm (2):") for r in second)


def test_labels_stay_unique_when_a_numbered_name_is_taken():
    # The second copy of x.txt cannot be "x.txt (2)": a file has that name.
    assert recording_labels(["x.txt (2)", "x.txt", "x.txt"]) == [
        "x.txt (2)",
        "x.txt",
        "x.txt (3)",
    ]


def test_ids_stay_unique_when_a_numbered_name_is_taken(tmp_path, monkeypatch):
    (tmp_path / "x.txt").write_text(f"GET {_pixel()}\n")
    (tmp_path / "x.txt (2)").write_text(f"GET {_pixel()}\n")
    monkeypatch.chdir(tmp_path)

    per_file, errors = load_each(["x.txt (2)", "x.txt", "x.txt"])

    assert errors == []
    assert [r.request_id for requests in per_file for r in requests] == [
        "x.txt (2):1",
        "x.txt:1",
        "x.txt (3):1",
    ]


def test_recording_errors_name_files_as_the_reports_do(capsys, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tmp_path / "a" / "day.har", tmp_path / "b" / "day.har"
    first.write_text('{"log": {"entries": [{"request": {}}]}}')
    missing = tmp_path / "gone" / "session.mitm"
    given = [first, second, missing]

    status = main(["check", *map(str, given)])
    captured = capsys.readouterr()

    # Two files called day.har keep their paths; so does a file that could not
    # be opened, in its message.
    assert status == 2
    assert captured.err.splitlines() == [
        f"segment-inspector: {first}: entry 1: startedDateTime is missing; "
        "request.method is missing; request.url is missing",
        f"segment-inspector: {second}: no such file",
        f"segment-inspector: {missing}: no such file",
    ]
    assert f"  ERROR {missing}: no such file" in captured.out

    main(["check", "--format", "json", *map(str, given)])
    errors = json.loads(capsys.readouterr().out)["recording_errors"]
    assert [(e["source"], e["path"]) for e in errors] == [
        (str(first), str(first)),
        (str(second), str(second)),
        ("session.mitm", str(missing)),
    ]

    main(["check", "--format", "junit", *map(str, given)])
    root = ElementTree.fromstring(capsys.readouterr().out)
    cases = root.findall("testsuite[@name='recordings']/testcase")
    assert [case.get("name") for case in cases] == [
        f"read {first}",
        f"read {second}",
        "read session.mitm",
    ]
    assert cases[2].find("error").get("message") == f"{missing}: no such file"


def _pixel() -> str:
    return (
        "https://p1.parsely.com/plogger/?rand=1700000000000&idsite=example.com"
        "&action=pageview&url=https%3A%2F%2Fexample.com%2F"
    )
