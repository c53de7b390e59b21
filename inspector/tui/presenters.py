"""How events, findings and segment values look on screen.

Pure functions from the core's values to Rich `Text`, kept apart from the widgets so
that the table cells and the detail pane are easy to test and to reuse. Two rules
matter most:

- JSON types stay visible, so `true`, `"true"`, `null` and a key that was never sent
  never look alike;
- text that came from traffic (parameters, data, URLs, finding messages, log lines)
  goes through `printable` before it reaches the screen, so a control character or
  a terminal escape sequence in a pixel is shown as `\\x1b`, never obeyed; and it is
  only ever put in Rich `Text` objects, never parsed as markup.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.console import Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from inspector.clock import clock_text
from inspector.model import DataState, Finding, PixelEvent, Severity
from inspector.report import finding_message, plural
from inspector.urls import split_url

if TYPE_CHECKING:
    from rich.text import JustifyMethod

    from inspector.inspection import EventReport
    from inspector.pages import PageDiagnosis, PageLoad
    from inspector.spec import Spec
    from inspector.timeline import TimelineEntry

logger = logging.getLogger(__name__)

SEVERITY_STYLES = {
    Severity.ERROR: "bold red",
    Severity.WARNING: "yellow",
    Severity.INFO: "cyan",
}
SEVERITY_MARKS = {Severity.ERROR: "✖", Severity.WARNING: "▲", Severity.INFO: "ℹ"}

VALUE_STYLES = {
    "string": "green",
    "boolean": "bold magenta",
    "number": "bold blue",
    "null": "italic red",
    "array": "",
    "object": "",
}

GENERAL_PARAMS = ("action", "idsite", "inc", "tt")
PAGE_PARAMS = ("url", "urlref", "title")
SESSION_PARAMS = (
    "plid",
    "pvid",
    "vsid",
    "sid",
    "sts",
    "slts",
    "surl",
    "sref",
    "u",
    "ampid",
)
TEXT_LIMIT = 2_000
"""The most characters of one value (a URL, a segment value, a message) shown on
screen; the rest is summed up as `… 998000 more characters`. Rendering grows
faster than the text, so a pixel with a 20 MB URL would take minutes to draw and
to quit; the whole value stays in what `s` saves."""
MASK_SLACK = 256
"""Characters past the cut that the masker still sees, so that personal data
across the cut is recognised whole and masked."""
ENTRIES_LIMIT = 200
"""The most entries of one list (keys of an object, parameters, findings) shown
in the detail pane; the rest is summed up as `… 3 more keys`."""
RAW_LIMIT = 16_000
SEGMENTS_CELL_LIMIT = 200
NOT_COVERED = "not covered by the spec"
"""Said of an event of a site outside the spec's `sites`, in its worst-finding cell."""

Masker = Callable[[str], str]
"""Hides personal data in a string (see `inspector.report.make_masker`)."""


_REORDERING = r"\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
UNSAFE_CHARACTERS = re.compile(rf"[\x00-\x1f\x7f-\x9f{_REORDERING}]")
"""C0 and C1 control characters (ESC starts terminal escape sequences), line and
paragraph separators, and the bidirectional marks, embeddings, overrides and
isolates that make text display in another order than it is written."""
_UNSAFE_BUT_NEWLINE = re.compile(rf"[\x00-\x09\x0b-\x1f\x7f-\x9f{_REORDERING}]")
NAMED_ESCAPES = {"\t": r"\t", "\n": r"\n", "\r": r"\r"}


def printable(
    text: str, *, keep_newlines: bool = False, limit: int | None = TEXT_LIMIT
) -> str:
    r"""`text` with every control or reordering character written as an escape,
    and cut after `limit` characters (None: never).

    >>> printable("a\x1b[2Jb\u202e")
    'a\\x1b[2Jb\\u202e'
    >>> printable("abcdef", limit=4)
    'abcd… 2 more characters (s saves the requests whole)'

    Everything shown that came from traffic goes through here: an escape sequence
    in a pixel parameter must be seen, not clear the screen or retitle the terminal;
    and a huge parameter must not stall drawing.
    """
    more = len(text) - limit if limit is not None else 0
    if more > 0:
        text = text[:limit]
    pattern = _UNSAFE_BUT_NEWLINE if keep_newlines else UNSAFE_CHARACTERS
    if pattern.search(text):
        text = pattern.sub(_escape, text)
    return text + cut_marker(more) if more > 0 else text


def cut_marker(more: int) -> str:
    """What ends a value cut short: how much of it is not shown, and where it is."""
    return f"… {plural(more, 'more character')} (s saves the requests whole)"


def _escape(match: re.Match[str]) -> str:
    character = match.group()
    named = NAMED_ESCAPES.get(character)
    if named:
        return named
    code = ord(character)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def unmasked(text: str) -> str:
    return text


def shown(text: str, masker: Masker = unmasked) -> str:
    """Traffic text as it may appear on screen: personal data masked, then made
    printable (masking first, so that it sees the text as sent) and cut after
    `TEXT_LIMIT` characters (the masker sees only a little more of a huge text)."""
    more = len(text) - TEXT_LIMIT
    if more <= 0:
        return printable(masker(text))
    head = masker(text[: TEXT_LIMIT + MASK_SLACK])[:TEXT_LIMIT]
    return printable(head, limit=None) + cut_marker(more)


def severity_style(severity: Severity | None) -> str:
    return SEVERITY_STYLES.get(severity, "") if severity else ""


def verdict_style(verdict: str) -> str:
    """The style of a page verdict (`error`, `warning`, `info` or `ok`)."""
    try:
        return severity_style(Severity(verdict))
    except ValueError:
        return "green" if verdict == "ok" else ""


def table_cell(
    text: str, style: str = "", *, justify: JustifyMethod | None = None
) -> Text:
    """A `DataTable` cell of fixed width: one line, cut with an ellipsis.

    A plain `Text` is cropped at the column's edge with nothing to show it was
    cut, so that `10800.0 s` and `10800.0` would look alike.
    """
    return Text(text, style=style, justify=justify, no_wrap=True, overflow="ellipsis")


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    return "object"


def json_literal(value: Any) -> str:
    """A value as JSON text, so strings keep their quotes."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# ---------------------------------------------------------------- table cells


def clock_time(timestamp: float) -> str:
    """Local wall-clock time with milliseconds, as `check` shows it in UTC (an
    offset from the start for a request list without clock readings)."""
    return clock_text(timestamp, local=True)


def event_time(event: PixelEvent) -> str:
    return clock_time(event.timestamp)


def duration_label(milliseconds: int) -> str:
    """`850 ms` under a second, else seconds with one decimal (`331.0 s`)."""
    if milliseconds < 1000:
        return f"{milliseconds} ms"
    return f"{milliseconds / 1000:.1f} s"


def page_path(url: str | None) -> str:
    """A page address without scheme and host, for narrow columns."""
    if not url:
        return "—"
    parts = split_url(url)
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def url_path(event: PixelEvent) -> str:
    """The tracked page's path (and query), or the pixel's own path if none."""
    return page_path(event.url)


def segments_summary(segments: Mapping[str, Any], event: PixelEvent) -> str:
    """`key=value` pairs with JSON values, or the state of `data` when no pairs."""
    if not segments:
        if event.data_state is DataState.OK:
            return "{}"
        return f"<data {event.data_state.value}>"
    pairs = " ".join(f"{key}={json_literal(value)}" for key, value in segments.items())
    if len(pairs) > SEGMENTS_CELL_LIMIT:
        return pairs[: SEGMENTS_CELL_LIMIT - 1] + "…"
    return pairs


def diagnosis_finding(diagnosis: PageDiagnosis) -> Finding:
    """A page, visitor or scenario diagnosis as one finding (as `check` counts it)."""
    if diagnosis.findings:
        return diagnosis.findings[0]
    return Finding(
        code=diagnosis.code,
        severity=diagnosis.severity,
        message=diagnosis.title,
        explanation=diagnosis.explanation,
    )


def event_worst(
    report: EventReport, diagnoses: Sequence[PageDiagnosis] = ()
) -> Severity | None:
    """The worst of an event's own findings and of the diagnoses it is evidence of."""
    worst = report.worst
    for diagnosis in diagnoses:
        if worst is None or diagnosis.severity > worst:
            worst = diagnosis.severity
    return worst


def worst_summary(
    report: EventReport,
    diagnoses: Sequence[PageDiagnosis] = (),
    *,
    covered: bool = True,
) -> str:
    """`✖ data.not-json +2`: the worst finding's code and how many more there are.

    An event without findings is `ok`, or `ok (not covered by the spec)` when the
    spec does not cover its site (`covered`): only the first such event has the
    `spec.site-not-covered` finding that says so.
    """
    worst = event_worst(report, diagnoses)
    if worst is None:
        return "ok" if covered else f"ok ({NOT_COVERED})"
    codes = [f.code for f in report.findings if f.severity == worst]
    codes.extend(d.code for d in diagnoses if d.severity == worst)
    label = f"{SEVERITY_MARKS[worst]} {codes[0]}"
    others = len(report.findings) + len(diagnoses) - 1
    return f"{label} +{others}" if others else label


def event_cell_values(
    report: EventReport,
    masker: Masker = unmasked,
    diagnoses: Sequence[PageDiagnosis] = (),
    *,
    covered: bool = True,
) -> tuple[str, ...]:
    """The events table's cell texts for one report, safe to print; `covered`
    says whether the spec covers the event's site."""
    event = report.event
    return (
        event_time(event),
        printable(event.idsite or "—"),
        printable(event.action or "—"),
        shown(url_path(event), masker),
        shown(segments_summary(event.segments, event), masker),
        worst_summary(report, diagnoses, covered=covered),
    )


def spec_covers(spec: Spec | None, event: PixelEvent) -> bool:
    """Whether the spec's own rules judged this event (see `Spec.applies_to_site`)."""
    applies = getattr(spec, "applies_to_site", None)
    return applies is None or applies(event.idsite)


# ---------------------------------------------------------------- detail pane


class DetailDocument:
    """The detail pane's content: text lines and label/value fields, in order.

    `text()` gives it as one Rich `Text` (for tests, copying and searching);
    `renderable()` lays the fields out in a grid, so that a long value (a URL, a
    title) wraps within its own column instead of under the labels.
    """

    LABEL_WIDTH = 10
    """The narrowest label column; a block with longer labels widens its own."""
    MAX_LABEL_WIDTH = 20
    """Labels longer than this are cut, so that values keep most of the width."""

    def __init__(self, masker: Masker = unmasked) -> None:
        self.blocks: list[Text | Padding | list[tuple[str, Text]]] = []
        self.mask = masker
        """Applied to every value shown, so personal data can stay hidden."""

    def shown(self, text: str) -> str:
        """Traffic text masked, made printable and cut (see `shown`)."""
        return shown(text, self.mask)

    def __bool__(self) -> bool:
        return bool(self.blocks)

    def append(self, text: str, style: str = "") -> None:
        self._text_block().append(text, style=style)

    def append_text(self, text: Text) -> None:
        self._text_block().append_text(text)

    def paragraph(self, text: str, indent: int, style: str = "") -> None:
        """A paragraph that wraps under its own first column, not the margin."""
        self.blocks.append(Padding(Text(text, style=style), (0, 0, 0, indent)))

    def field(self, label: str, value: str | None, missing: str = "—") -> None:
        if value is None:
            shown = Text(missing, style="dim italic")
        elif value == "":
            shown = Text('""', style="dim")
        else:
            shown = Text(self.shown(value))
        if not self.blocks or not isinstance(self.blocks[-1], list):
            self.blocks.append([])
        self.blocks[-1].append((self.shown(label), shown))

    def _text_block(self) -> Text:
        if not self.blocks or not isinstance(self.blocks[-1], Text):
            self.blocks.append(Text())
        return self.blocks[-1]

    def _label_width(self, block: list[tuple[str, Text]]) -> int:
        """The label column of one block of fields: as wide as its longest label,
        so `Client address` or `Session campaign` is not cut short."""
        longest = max((cell_len(label) for label, _ in block), default=0)
        return max(self.LABEL_WIDTH, min(longest, self.MAX_LABEL_WIDTH))

    def text(self) -> Text:
        combined = Text()
        for block in self.blocks:
            if isinstance(block, Text):
                combined.append_text(block)
                continue
            if isinstance(block, Padding):
                combined.append(" " * block.left)
                combined.append_text(block.renderable)
                combined.append("\n")
                continue
            width = self._label_width(block)
            for label, value in block:
                combined.append(f"  {label:<{width}} ", style="bold")
                combined.append_text(value)
                combined.append("\n")
        combined.rstrip()
        return combined

    def renderable(self) -> Group:
        parts: list[Any] = []
        for index, block in enumerate(self.blocks):
            if isinstance(block, Text):
                text = block.copy()
                if index == len(self.blocks) - 1:
                    text.rstrip()
                elif text.plain.endswith("\n"):
                    text.right_crop(1)
                parts.append(text)
                continue
            if isinstance(block, Padding):
                parts.append(block)
                continue
            grid = Table.grid(padding=(0, 1))
            grid.add_column(width=self._label_width(block), no_wrap=True, style="bold")
            grid.add_column(overflow="fold")
            for label, value in block:
                grid.add_row(Text(label), value)
            parts.append(Padding(grid, (0, 0, 0, 2)))
        return Group(*parts)


ANSWERED_LOCALLY = "answered locally (1x1 GIF)"
SPEC_NOT_APPLIED = (
    "does not cover this site (not in its sites): checked with the built-in rules only"
)


def detail_document(
    report: EventReport,
    spec: Spec | None = None,
    masker: Masker = unmasked,
    diagnoses: Sequence[PageDiagnosis] = (),
    *,
    answered_locally: bool = False,
) -> DetailDocument:
    """Everything about one event, grouped the way a QA engineer reads it.

    What is wrong comes right after the general facts: the event's own findings,
    then the page, visitor or scenario `diagnoses` it is evidence of. The raw
    request comes last. `answered_locally` says the proxy answered the pixel itself.
    """
    event = report.event
    text = DetailDocument(masker)

    _section(text, "General")
    request = event.request
    _line(text, "event id", event.id)
    _line(text, "action", event.action, missing="(none)")
    _line(text, "idsite", event.idsite, missing="(none)")
    _line(text, "endpoint", f"{request.host}{request.path}")
    _line(text, "method", request.method)
    _line(text, "transport", event.transport.value)
    if event.batch_index is not None:
        _line(text, "batch entry", str(event.batch_index))
    if answered_locally:
        _line(text, "response", ANSWERED_LOCALLY)
    elif request.response_status is not None:
        _line(text, "response", str(request.response_status))
    elif request.error:
        _line(text, "response", f"none: {request.error}")
    for name in ("inc", "tt"):
        if name in event.params:
            _line(text, name, event.params[name])
    if request.origin:
        _line(text, "origin", request.origin)
    if not spec_covers(spec, event):
        _line(text, "spec", SPEC_NOT_APPLIED)

    _section(text, f"Findings ({len(report.findings) + len(diagnoses)})")
    if not report.findings and not diagnoses:
        text.append("  none\n", style="green")
    findings = sorted(report.findings, key=_severity_first)
    for finding in findings[:ENTRIES_LIMIT]:
        finding_text(text, finding)
    _more_entries(text, len(findings), "finding", depth=1)
    for diagnosis in sorted(diagnoses, key=_diagnosis_order):
        diagnosis_text(text, diagnosis, this_event=event.id)

    _section(text, "Segment data")
    _segment_data(text, event, spec)

    _section(text, "Page")
    for name in PAGE_PARAMS:
        _line(text, name, event.params.get(name), missing="(not sent)")

    _section(text, "Session and IDs")
    for name in SESSION_PARAMS:
        if name in event.params:
            _line(text, name, event.params[name])
    visitor = event.visitor
    if visitor and "u" not in event.params and "ampid" not in event.params:
        _line(text, "visitor", visitor)

    other = _other_params(event.params)
    if other:
        _section(text, "Other parameters")
        for name, value in other[:ENTRIES_LIMIT]:
            _line(text, name, value)
        _more_entries(text, len(other), "parameter", depth=1)

    if report.standard is not None:
        _section(text, "Standard segments")
        _standard(text, report.standard)

    _section(text, "Raw")
    raw = printable(text.mask(_raw_request(event)), keep_newlines=True, limit=None)
    text.append(raw + "\n", style="dim")
    return text


def detail_text(
    report: EventReport,
    spec: Spec | None = None,
    masker: Masker = unmasked,
    diagnoses: Sequence[PageDiagnosis] = (),
    *,
    answered_locally: bool = False,
) -> Text:
    """The detail pane's content as one `Text`."""
    document = detail_document(
        report, spec, masker, diagnoses, answered_locally=answered_locally
    )
    return document.text()


def finding_text(text: DetailDocument, finding: Finding) -> None:
    """Append one finding: severity, code, message, path and explanation."""
    style = severity_style(finding.severity)
    mark = SEVERITY_MARKS[finding.severity]
    text.append(f"  {mark} {finding.severity.value} ", style=style)
    text.append(printable(finding.code), style=f"{style} bold")
    if finding.path:
        text.append(f"  at {text.shown(finding.path)}", style="dim")
    text.append("\n")
    text.paragraph(printable(finding_message(finding, text.mask)), 4)
    if finding.explanation:
        text.paragraph(text.shown(finding.explanation), 4, style="dim")


def _severity_first(finding: Finding) -> tuple[int, str]:
    return (-finding.severity.rank, finding.code)


def _section(text: DetailDocument, title: str) -> None:
    if text:
        text.append("\n")
    text.append(f"{title}\n", style="bold underline")


def _line(
    text: DetailDocument, label: str, value: str | None, missing: str = "—"
) -> None:
    text.field(label, value, missing)


def _segment_data(text: DetailDocument, event: PixelEvent, spec: Spec | None) -> None:
    state = event.data_state
    if state is DataState.ABSENT:
        text.append("  no data parameter sent\n", style="dim italic")
    elif state is DataState.INVALID:
        text.append("  data is not valid JSON; as sent:\n", style="red")
        text.append(f"  {text.shown(event.data_raw or '')}\n", style="dim")
    elif state is DataState.NOT_OBJECT:
        text.append("  data is JSON but not an object; as sent:\n", style="red")
        text.append(f"  {text.shown(event.data_raw or '')}\n", style="dim")
    elif state is DataState.DOUBLE_ENCODED:
        text.append("  data was encoded twice; recovered object:\n", style="yellow")

    if event.segments:
        for key, value in _first_entries(event.segments.items()):
            _tree(text, key, value, depth=1)
        _more_entries(text, len(event.segments), "key", depth=1)
    elif state in (DataState.OK, DataState.DOUBLE_ENCODED):
        text.append("  no custom segment keys\n", style="dim italic")

    for key in _absent_spec_keys(event, spec):
        text.append(f"  {printable(key)}: ", style="bold")
        text.append("absent", style="dim italic")
        text.append("  (declared in the spec, not sent)\n", style="dim")

    tracker_keys = {
        key: value
        for key, value in (event.data or {}).items()
        if key not in event.segments
    }
    if tracker_keys:
        text.append("  tracker keys\n", style="dim")
        for key, value in _first_entries(tracker_keys.items()):
            _tree(text, key, value, depth=2, dim=True)
        _more_entries(text, len(tracker_keys), "key", depth=2)


def _tree(
    text: DetailDocument, key: str, value: Any, depth: int, dim: bool = False
) -> None:
    indent = "  " * depth
    key_style = "dim" if dim else "bold"
    kind = json_type(value)
    text.append(f"{indent}{text.shown(key)}: ", style=key_style)

    if kind == "object" and value:
        text.append("{object}\n", style="dim")
        for child_key, child in _first_entries(value.items()):
            _tree(text, str(child_key), child, depth + 1, dim)
        _more_entries(text, len(value), "key", depth + 1)
        return
    if kind == "array" and value:
        text.append(f"[array of {len(value)}]\n", style="dim")
        for index, child in _first_entries(enumerate(value)):
            _tree(text, f"[{index}]", child, depth + 1, dim)
        _more_entries(text, len(value), "item", depth + 1)
        return

    text.append(text.shown(json_literal(value)), style=VALUE_STYLES[kind])
    text.append(f"  {kind}\n", style="dim")


def _first_entries(entries: Iterable[Any]) -> Iterator[Any]:
    """The entries of a list the detail pane shows (see `ENTRIES_LIMIT`)."""
    return itertools.islice(entries, ENTRIES_LIMIT)


def _more_entries(text: DetailDocument, count: int, noun: str, depth: int) -> None:
    """Say how many of `count` entries were left out, if any."""
    more = count - ENTRIES_LIMIT
    if more > 0:
        nouns = plural(more, f"more {noun}")
        text.append(f"{'  ' * depth}… {nouns} (s saves the requests whole)\n", "dim")


def _absent_spec_keys(event: PixelEvent, spec: Spec | None) -> list[str]:
    if spec is None or event.data_state not in (DataState.OK, DataState.DOUBLE_ENCODED):
        return []
    if not spec_covers(spec, event):
        return []
    declared = getattr(spec, "segments", {}) or {}
    site = (event.idsite or "").lower()  # the spec's site ids are lower case
    absent = []
    for key, segment in declared.items():
        sites = getattr(segment, "sites", None) or []
        if sites and site not in sites:
            continue
        if key not in event.segments and key not in (event.data or {}):
            absent.append(key)
    return absent


def _other_params(params: Mapping[str, str]) -> list[tuple[str, str]]:
    shown = {*GENERAL_PARAMS, *PAGE_PARAMS, *SESSION_PARAMS, "data"}
    return [(name, value) for name, value in params.items() if name not in shown]


def _standard(text: DetailDocument, standard: Any) -> None:
    rows = list(standard.rows())
    for row in rows:
        label, value = _standard_row(row)
        _line(text, label, value)
    geo_note = getattr(standard, "geo_note", None)
    if geo_note and geo_note not in {_standard_row(row)[1] for row in rows}:
        text.append(f"  {text.shown(geo_note)}\n", style="dim italic")
    if not rows and not geo_note:
        text.append("  none\n", style="dim italic")


def _standard_row(row: Any) -> tuple[str, str | None]:
    if isinstance(row, tuple | list) and len(row) >= 2:
        label = str(row[0])
        rest = [str(part) for part in row[1:] if part not in (None, "")]
        return label, " · ".join(rest) if rest else None
    return str(row), ""


def _raw_request(event: PixelEvent) -> str:
    request = event.request
    if request.body:
        raw = request.body.decode("utf-8", errors="replace")
    else:
        raw = split_url(request.url).query or request.url
    if len(raw) > RAW_LIMIT:
        return raw[:RAW_LIMIT] + cut_marker(len(raw) - RAW_LIMIT)
    return raw


# ---------------------------------------------------------------- page loads


def page_verdict(page: PageLoad) -> str:
    """The worst of a page load's diagnoses and of its events' own findings.

    `PageLoad.verdict` judges the page rules only; on screen a page whose pageview
    has an error is not `ok`, as its events' rows say too.
    """
    worst = _severity_of(page.verdict)
    for report in page.events:
        event_worst_severity = report.worst
        if event_worst_severity is not None and (
            worst is None or event_worst_severity > worst
        ):
            worst = event_worst_severity
    return worst.value if worst is not None else "ok"


def event_finding_counts(page: PageLoad) -> dict[Severity, int]:
    """How many findings of each severity the page load's events carry themselves."""
    counts: dict[Severity, int] = {}
    for report in page.events:
        for finding in report.findings:
            counts[finding.severity] = counts.get(finding.severity, 0) + 1
    return counts


def _severity_of(verdict: str) -> Severity | None:
    try:
        return Severity(verdict)
    except ValueError:
        return None


def page_document(page: PageLoad, masker: Masker = unmasked) -> DetailDocument:
    """A page load: what it is, its requests in order, and its diagnoses."""
    text = DetailDocument(masker)
    text.append(text.shown(page.url or "(address unknown)"), style="bold")
    text.append(f"\n  {printable(page.key)}", style="dim")
    if page.visitor:
        text.append(f"  visitor {text.shown(page.visitor)}", style="dim")
    if page.source:
        text.append(f"  in {printable(page.source)}", style="dim")
    verdict = page_verdict(page)
    text.append("  verdict ")
    text.append(verdict, style=verdict_style(verdict) or "bold")
    event_counts = event_finding_counts(page)
    if event_counts:
        parts = [
            plural(event_counts[severity], severity.value)
            for severity in sorted(event_counts, key=lambda s: -s.rank)
        ]
        text.append(
            f"  (page rules: {page.verdict}; its events: {', '.join(parts)})",
            style="dim",
        )
    text.append("\n")
    if len(page.urls) > 1:
        addresses = printable(", ".join(text.shown(url) for url in page.urls))
        text.append(f"  addresses: {addresses}\n", style="dim")
    if page.scenarios:
        names = ", ".join(printable(name) for name in page.scenarios)
        text.append(f"  scenarios: {names}\n", style="dim")

    _section(text, f"Timeline ({plural(len(page.timeline), 'request')})")
    worst_by_event = {report.event.id: report.worst for report in page.events}
    for entry in page.timeline:
        _timeline_entry(text, entry, worst_by_event)
    if page.dropped_entries:
        text.append(f"  … {page.dropped_entries} more not kept\n", style="dim")

    _section(text, f"Diagnoses ({len(page.diagnoses)})")
    if not page.diagnoses:
        text.append("  none\n", style="green")
    for diagnosis in sorted(page.diagnoses, key=_diagnosis_order):
        diagnosis_text(text, diagnosis)
    return text


def page_text(page: PageLoad, masker: Masker = unmasked) -> Text:
    return page_document(page, masker).text()


def diagnosis_scope(diagnosis: PageDiagnosis) -> str:
    """What a diagnosis is about: a page load, a visitor or the whole session."""
    if diagnosis.page_key:
        return "page load"
    if diagnosis.visitor:
        return "visitor"
    return "session"


def diagnosis_text(
    text: DetailDocument, diagnosis: PageDiagnosis, this_event: str | None = None
) -> None:
    """Append one page-level diagnosis with its evidence and explanation.

    In an event's detail (`this_event`), it says the diagnosis is about the page
    load (or visitor) and marks the event among the evidence.
    """
    style = severity_style(diagnosis.severity)
    text.append(f"  {SEVERITY_MARKS[diagnosis.severity]} ", style=style)
    text.append(f"{diagnosis.severity.value} ", style=style)
    text.append(printable(diagnosis.code), style=f"{style} bold")
    if this_event is not None:
        text.append(f"  ({diagnosis_scope(diagnosis)})", style="dim")
    text.append("\n")
    text.paragraph(text.shown(diagnosis.title), 4)
    if diagnosis.evidence:
        ids = [
            f"{printable(event_id)} (this event)"
            if event_id == this_event
            else printable(event_id)
            for event_id in diagnosis.evidence
        ]
        text.paragraph(printable("evidence: " + ", ".join(ids)), 4, "dim")
    if diagnosis.uncertain:
        text.paragraph("(partly matched by timing: likely, not certain)", 4, "dim")
    if diagnosis.explanation:
        text.paragraph(text.shown(diagnosis.explanation), 4, style="dim")


def _diagnosis_order(diagnosis: PageDiagnosis) -> tuple[int, str]:
    return (-diagnosis.severity.rank, diagnosis.code)


def _timeline_entry(
    text: DetailDocument,
    entry: TimelineEntry,
    worst_by_event: Mapping[str, Severity | None],
) -> None:
    text.append(f"  {'+' + str(entry.offset_ms):>8} ms  ", style="dim")
    event = entry.event
    if event is None:
        text.append(f"  {entry.kind.value:<18}", style="dim")
        text.append(text.shown(entry.url))
    else:
        worst = worst_by_event.get(event.id)
        style = severity_style(worst) or "bold"
        action = printable(event.action or "?")
        text.append(f"● {'pixel ' + action:<18}", style=style)
        text.append(text.shown(segments_summary(event.segments, event)))
        if worst is not None:
            text.append(f"  {SEVERITY_MARKS[worst]}", style=style)
    if entry.uncertain:
        text.append("  (matched by timing)", style="dim italic")
    text.append("\n")
