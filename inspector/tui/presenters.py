"""How events, findings and segment values look on screen.

Pure functions from the core's values to Rich `Text`, kept apart from the widgets so
that the table cells and the detail pane are easy to test and to reuse. The one rule
that matters most: JSON types stay visible, so `true`, `"true"`, `null` and a key that
was never sent never look alike.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from rich.console import Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from inspector.model import DataState, Finding, PixelEvent, Severity

if TYPE_CHECKING:
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
RAW_LIMIT = 16_000
SEGMENTS_CELL_LIMIT = 200

Masker = Callable[[str], str]
"""Hides personal data in a string (see `inspector.report.make_masker`)."""


def unmasked(text: str) -> str:
    return text


def severity_style(severity: Severity | None) -> str:
    return SEVERITY_STYLES.get(severity, "") if severity else ""


def verdict_style(verdict: str) -> str:
    """The style of a page verdict (`error`, `warning`, `info` or `ok`)."""
    try:
        return severity_style(Severity(verdict))
    except ValueError:
        return "green" if verdict == "ok" else ""


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
    """Local wall-clock time with milliseconds, or a dash when unknown."""
    if not timestamp:
        return "—"
    moment = datetime.fromtimestamp(timestamp)
    return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


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
    parts = urlsplit(url)
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


def worst_summary(report: EventReport) -> str:
    worst = report.worst
    if worst is None:
        return "ok"
    worst_findings = [f for f in report.findings if f.severity == worst]
    label = f"{SEVERITY_MARKS[worst]} {worst_findings[0].code}"
    others = len(report.findings) - 1
    return f"{label} +{others}" if others else label


def event_cell_values(
    report: EventReport, masker: Masker = unmasked
) -> tuple[str, ...]:
    """The events table's cell texts for one report."""
    event = report.event
    return (
        event_time(event),
        event.idsite or "—",
        event.action or "—",
        masker(url_path(event)),
        masker(segments_summary(event.segments, event)),
        worst_summary(report),
    )


# ---------------------------------------------------------------- detail pane


class DetailDocument:
    """The detail pane's content: text lines and label/value fields, in order.

    `text()` gives it as one Rich `Text` (for tests, copying and searching);
    `renderable()` lays the fields out in a grid, so that a long value (a URL, a
    title) wraps within its own column instead of under the labels.
    """

    LABEL_WIDTH = 10

    def __init__(self, masker: Masker = unmasked) -> None:
        self.blocks: list[Text | Padding | list[tuple[str, Text]]] = []
        self.mask = masker
        """Applied to every value shown, so personal data can stay hidden."""

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
            shown = Text(self.mask(value))
        if not self.blocks or not isinstance(self.blocks[-1], list):
            self.blocks.append([])
        self.blocks[-1].append((label, shown))

    def _text_block(self) -> Text:
        if not self.blocks or not isinstance(self.blocks[-1], Text):
            self.blocks.append(Text())
        return self.blocks[-1]

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
            for label, value in block:
                combined.append(f"  {label:<{self.LABEL_WIDTH}} ", style="bold")
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
            grid.add_column(width=self.LABEL_WIDTH, no_wrap=True, style="bold")
            grid.add_column(overflow="fold")
            for label, value in block:
                grid.add_row(label, value)
            parts.append(Padding(grid, (0, 0, 0, 2)))
        return Group(*parts)


def detail_document(
    report: EventReport, spec: Spec | None = None, masker: Masker = unmasked
) -> DetailDocument:
    """Everything about one event, grouped the way a QA engineer reads it."""
    event = report.event
    text = DetailDocument(masker)

    _section(text, "General")
    request = event.request
    endpoint = f"{request.host}{request.path}"
    _line(text, "action", event.action, missing="(none)")
    _line(text, "idsite", event.idsite, missing="(none)")
    _line(text, "endpoint", endpoint)
    _line(text, "method", request.method)
    _line(text, "transport", event.transport.value)
    if event.batch_index is not None:
        _line(text, "batch entry", str(event.batch_index))
    if request.response_status is not None:
        _line(text, "response", str(request.response_status))
    for name in ("inc", "tt"):
        if name in event.params:
            _line(text, name, event.params[name])
    if request.origin:
        _line(text, "source", request.origin)

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

    _section(text, "Segment data")
    _segment_data(text, event, spec)

    other = _other_params(event.params)
    if other:
        _section(text, "Other parameters")
        for name, value in other:
            _line(text, name, value)

    if report.standard is not None:
        _section(text, "Standard segments")
        _standard(text, report.standard)

    _section(text, "Raw")
    text.append(text.mask(_raw_request(event)) + "\n", style="dim")

    _section(text, f"Findings ({len(report.findings)})")
    if not report.findings:
        text.append("  none\n", style="green")
    for finding in sorted(report.findings, key=_severity_first):
        finding_text(text, finding)

    return text


def detail_text(
    report: EventReport, spec: Spec | None = None, masker: Masker = unmasked
) -> Text:
    """The detail pane's content as one `Text`."""
    return detail_document(report, spec, masker).text()


def finding_text(text: DetailDocument, finding: Finding) -> None:
    """Append one finding: severity, code, message, path and explanation."""
    style = severity_style(finding.severity)
    mark = SEVERITY_MARKS[finding.severity]
    text.append(f"  {mark} {finding.severity.value} ", style=style)
    text.append(finding.code, style=f"{style} bold")
    if finding.path:
        text.append(f"  at {finding.path}", style="dim")
    text.append("\n")
    text.paragraph(finding.message, 4)
    if finding.explanation:
        text.paragraph(finding.explanation, 4, style="dim")


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
        text.append(f"  {text.mask(event.data_raw or '')}\n", style="dim")
    elif state is DataState.NOT_OBJECT:
        text.append("  data is JSON but not an object; as sent:\n", style="red")
        text.append(f"  {text.mask(event.data_raw or '')}\n", style="dim")
    elif state is DataState.DOUBLE_ENCODED:
        text.append("  data was encoded twice; recovered object:\n", style="yellow")

    if event.segments:
        for key, value in event.segments.items():
            _tree(text, key, value, depth=1)
    elif state in (DataState.OK, DataState.DOUBLE_ENCODED):
        text.append("  no custom segment keys\n", style="dim italic")

    for key in _absent_spec_keys(event, spec):
        text.append(f"  {key}: ", style="bold")
        text.append("absent", style="dim italic")
        text.append("  (declared in the spec, not sent)\n", style="dim")

    tracker_keys = {
        key: value
        for key, value in (event.data or {}).items()
        if key not in event.segments
    }
    if tracker_keys:
        text.append("  tracker keys\n", style="dim")
        for key, value in tracker_keys.items():
            _tree(text, key, value, depth=2, dim=True)


def _tree(
    text: DetailDocument, key: str, value: Any, depth: int, dim: bool = False
) -> None:
    indent = "  " * depth
    key_style = "dim" if dim else "bold"
    kind = json_type(value)
    text.append(f"{indent}{text.mask(key)}: ", style=key_style)

    if kind == "object" and value:
        text.append("{object}\n", style="dim")
        for child_key, child in value.items():
            _tree(text, str(child_key), child, depth + 1, dim)
        return
    if kind == "array" and value:
        text.append(f"[array of {len(value)}]\n", style="dim")
        for index, child in enumerate(value):
            _tree(text, f"[{index}]", child, depth + 1, dim)
        return

    text.append(text.mask(json_literal(value)), style=VALUE_STYLES[kind])
    text.append(f"  {kind}\n", style="dim")


def _absent_spec_keys(event: PixelEvent, spec: Spec | None) -> list[str]:
    if spec is None or event.data_state not in (DataState.OK, DataState.DOUBLE_ENCODED):
        return []
    spec_sites = getattr(spec, "sites", None) or ()
    if spec_sites and event.idsite not in spec_sites:
        return []
    declared = getattr(spec, "segments", {}) or {}
    absent = []
    for key, segment in declared.items():
        sites = getattr(segment, "sites", None) or []
        if sites and event.idsite not in sites:
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
        text.append(f"  {geo_note}\n", style="dim italic")
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
        raw = urlsplit(request.url).query or request.url
    if len(raw) > RAW_LIMIT:
        return raw[:RAW_LIMIT] + f"… ({len(raw) - RAW_LIMIT} more characters)"
    return raw


# ---------------------------------------------------------------- page loads


def page_document(page: PageLoad, masker: Masker = unmasked) -> DetailDocument:
    """A page load: what it is, its requests in order, and its diagnoses."""
    text = DetailDocument(masker)
    text.append(masker(page.url or "(address unknown)"), style="bold")
    text.append(f"\n  {page.key}", style="dim")
    if page.visitor:
        text.append(f"  visitor {masker(page.visitor)}", style="dim")
    text.append("  verdict ")
    text.append(page.verdict, style=verdict_style(page.verdict) or "bold")
    text.append("\n")
    if len(page.urls) > 1:
        addresses = ", ".join(masker(url) for url in page.urls)
        text.append(f"  addresses: {addresses}\n", style="dim")
    if page.scenarios:
        text.append("  scenarios: " + ", ".join(page.scenarios) + "\n", style="dim")

    _section(text, f"Timeline ({len(page.timeline)} requests)")
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


def diagnosis_text(text: DetailDocument, diagnosis: PageDiagnosis) -> None:
    """Append one page-level diagnosis with its evidence and explanation."""
    style = severity_style(diagnosis.severity)
    text.append(f"  {SEVERITY_MARKS[diagnosis.severity]} ", style=style)
    text.append(f"{diagnosis.severity.value} ", style=style)
    text.append(diagnosis.code, style=f"{style} bold")
    text.append("\n")
    text.paragraph(diagnosis.title, 4)
    if diagnosis.evidence:
        text.paragraph("evidence: " + ", ".join(diagnosis.evidence), 4, "dim")
    if diagnosis.uncertain:
        text.paragraph("(partly matched by timing: likely, not certain)", 4, "dim")
    if diagnosis.explanation:
        text.paragraph(diagnosis.explanation, 4, style="dim")


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
        text.append(text.mask(entry.url))
    else:
        worst = worst_by_event.get(event.id)
        style = severity_style(worst) or "bold"
        text.append(f"● {'pixel ' + (event.action or '?'):<18}", style=style)
        text.append(text.mask(segments_summary(event.segments, event)))
        if worst is not None:
            text.append(f"  {SEVERITY_MARKS[worst]}", style=style)
    if entry.uncertain:
        text.append("  (matched by timing)", style="dim italic")
    text.append("\n")
