"""The filter language of the events table.

A filter is a list of space-separated terms, all of which must match:

- `action:pageview`: the event's action;
- `site:example.com`: the idsite contains this text;
- `severity:warning` (or `severity:w`): the worst finding is at least this severe;
- `code:segment.case-mismatch`: a finding's code starts with this text;
- `plan=premium`: the segment `plan` holds this value. A value that reads as JSON
  (`true`, `3`, `null`, `"true"`) must match with its type; anything else is compared
  as a string. `plan=*` only asks for the key to be present;
- anything else: free text, searched case-insensitively in the event id, the
  request URL, every parameter (title, urlref...), segment values, raw data and
  findings.

An event's findings include the page, visitor and scenario diagnoses it is evidence
of, so `severity:` and `code:` see them too. A leading `-` negates a term. Double
quotes keep spaces inside one term. A term that cannot be understood (an unknown
severity, a field with no value) is an error: the filter is not applied, rather
than quietly matching everything.

Free text is searched in the lower-cased text of each event. Lower-casing a pixel of
many megabytes at every key press made typing slow, so a `SearchTexts` cache, which
the app keeps, lower-cases each event's text once, the first time a filter searches
it, and keeps it while the UI keeps the event's row. The matches are the same as
searching `searchable_text` afresh. To keep memory in bounds, a long part (a long
URL, a large `data`) is kept without the copies that text holds (`data` on its own
and again as the `data=` parameter), the lower-cased part being the original text
when it had nothing to lower; and the cache keeps at most `SEARCH_CACHE_CHARACTERS`
in all, beyond which an event is lower-cased at each search as before.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from inspector.model import Severity

if TYPE_CHECKING:
    from inspector.inspection import EventReport
    from inspector.pages import PageDiagnosis

logger = logging.getLogger(__name__)

Predicate = Callable[["EventReport", "Sequence[PageDiagnosis]"], bool]
"""Whether an event (with the diagnoses it is evidence of) matches one term."""

FIELD_PREFIXES = ("action", "site", "severity", "code")

TERM = re.compile(r'(?:[^\s"]+|"[^"]*"?)+')
"""A run of non-blank characters, where double-quoted parts may hold blanks."""

SEARCH_CACHE_CHARACTERS = 64_000_000
"""The most lower-cased characters a `SearchTexts` keeps, over all its events."""

LONG_PART = 4096
"""Characters from which a part of an event's text is kept on its own, unjoined:
with the original string when it is already lower-case, and without its copies."""


@dataclass(frozen=True)
class EventFilter:
    """A parsed filter: the text the user typed and one predicate per term."""

    text: str = ""
    predicates: tuple[Predicate, ...] = ()
    errors: tuple[str, ...] = field(default=())
    """Terms that could not be understood. A filter with errors is not meant to be
    applied: its other terms alone would show more than the user asked for."""

    @property
    def is_empty(self) -> bool:
        return not self.predicates

    @property
    def is_valid(self) -> bool:
        return not self.errors

    def matches(
        self, report: EventReport, diagnoses: Sequence[PageDiagnosis] = ()
    ) -> bool:
        return all(predicate(report, diagnoses) for predicate in self.predicates)


def parse_filter(text: str, texts: SearchTexts | None = None) -> EventFilter:
    """Turn what the user typed after `/` into an `EventFilter`.

    Args:
        text: the filter as typed.
        texts: where free text finds each event's lower-cased text, computed once
            per event; without it, the text is made again at every match.
    """
    terms = [_unquoted(term) for term in TERM.findall(text)]

    predicates: list[Predicate] = []
    errors: list[str] = []
    for term in terms:
        negate = term.startswith("-") and len(term) > 1
        body = term[1:] if negate else term
        try:
            predicate = _term_predicate(body, texts)
        except ValueError as problem:
            errors.append(str(problem))
            continue
        predicates.append(_negated(predicate) if negate else predicate)

    return EventFilter(text=text, predicates=tuple(predicates), errors=tuple(errors))


def _unquoted(term: str) -> str:
    """Drop the quotes around a whole term (`"two words"`), not inside one:
    `plan="true"` keeps them, so its value is the JSON string `"true"`."""
    if len(term) >= 2 and term[0] == term[-1] == '"':
        return term[1:-1]
    return term


def _negated(predicate: Predicate) -> Predicate:
    return lambda report, diagnoses: not predicate(report, diagnoses)


def _term_predicate(term: str, texts: SearchTexts | None) -> Predicate:
    prefix, colon, value = term.partition(":")
    if colon and prefix.lower() in FIELD_PREFIXES:
        return _field_predicate(prefix.lower(), value)

    key, equals, wanted = term.partition("=")
    if equals and key:
        return _segment_predicate(key, wanted)

    return _text_predicate(term, texts)


FIELD_EXAMPLES = {
    "action": "action:pageview",
    "site": "site:example.com",
    "code": "code:segment.",
    "severity": "severity:warning",
}


def _field_predicate(name: str, value: str) -> Predicate:
    wanted = value.lower()
    if not wanted:
        raise ValueError(f"{name}: needs a value, such as {FIELD_EXAMPLES[name]}")
    if name == "action":
        return lambda report, _diagnoses: (report.event.action or "").lower() == wanted
    if name == "site":
        return lambda report, _diagnoses: wanted in (report.event.idsite or "").lower()
    if name == "code":
        return lambda report, diagnoses: (
            any(finding.code.lower().startswith(wanted) for finding in report.findings)
            or any(diagnosis.code.lower().startswith(wanted) for diagnosis in diagnoses)
        )

    # A prefix is enough (`severity:w`), so the filter works while being typed.
    candidates = [s for s in Severity if s.value.startswith(wanted)]
    if len(candidates) != 1:
        raise ValueError(
            f"unknown severity {value!r}: use error, warning or info (or e, w, i)"
        )
    threshold = candidates[0]

    def at_least(report: EventReport, diagnoses: Sequence[PageDiagnosis]) -> bool:
        worst = report.worst
        if worst is not None and worst >= threshold:
            return True
        return any(diagnosis.severity >= threshold for diagnosis in diagnoses)

    return at_least


def _segment_predicate(key: str, wanted: str) -> Predicate:
    if wanted == "*":
        return lambda report, _diagnoses: key in report.event.segments

    try:
        expected: Any = json.loads(wanted)
    except ValueError:
        expected = wanted

    def matches(report: EventReport, _diagnoses: Sequence[PageDiagnosis]) -> bool:
        segments = report.event.segments
        if key not in segments:
            return False
        return _same_json_value(segments[key], expected)

    return matches


def _same_json_value(actual: Any, expected: Any) -> bool:
    """Equality that keeps JSON types apart (`true` is not `1`, `"1"` is not `1`)."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return (
            isinstance(actual, bool)
            and isinstance(expected, bool)
            and (actual is expected)
        )
    if isinstance(actual, str) != isinstance(expected, str):
        return False
    return actual == expected


def _text_predicate(text: str, texts: SearchTexts | None) -> Predicate:
    needle = text.lower()
    if "\n" in needle:
        # Only a needle with a line break can match across the parts of the text,
        # which the lowered form keeps apart. The filter box never holds one.
        return lambda report, diagnoses: needle in searchable_text(report, diagnoses)

    lowered = texts.lowered if texts is not None else _lowered_text

    def contains(report: EventReport, diagnoses: Sequence[PageDiagnosis]) -> bool:
        if lowered(report).contains(needle):
            return True
        # Diagnoses come and go as page loads are judged again: never cached, and
        # they are a few short lines.
        return bool(diagnoses) and needle in _diagnoses_text(diagnoses).lower()

    return contains


def searchable_text(
    report: EventReport, diagnoses: Sequence[PageDiagnosis] = ()
) -> str:
    """Everything free text is searched in, lower-cased.

    This defines what free text matches; `SearchTexts` keeps the same text in a
    form made once per event, which every needle without a line break matches
    exactly when it matches this.
    """
    event = report.event
    parts = [event.id, event.request.url, event.data_raw or ""]
    parts.extend(f"{name}={value}" for name, value in event.params.items())
    parts.extend(f"{key}={json.dumps(value)}" for key, value in event.segments.items())
    for finding in report.findings:
        parts.append(finding.code)
        parts.append(finding.message)
    if diagnoses:
        parts.append(_diagnoses_text(diagnoses))
    return "\n".join(parts).lower()


def _diagnoses_text(diagnoses: Sequence[PageDiagnosis]) -> str:
    return "\n".join(
        part for diagnosis in diagnoses for part in (diagnosis.code, diagnosis.title)
    )


@dataclass(frozen=True, slots=True)
class LoweredText:
    """An event's `searchable_text` without its diagnoses, lower-cased, in parts.

    The short parts are one string joined by line breaks, as in `searchable_text`;
    each long one stands alone. A needle without a line break is found in the
    joined text exactly when it is found in one of its parts, so keeping parts
    apart changes no match.
    """

    joined: str
    """The short parts, lower-cased and joined by line breaks."""
    long_parts: tuple[str, ...]
    """Each long part on its own, lower-cased."""
    long_values: tuple[tuple[str, str], ...]
    """Long parameters and segments as (`name=`, value), lower-cased, so that the
    value need not be copied into one string with its name."""
    size: int
    """Characters held here that the event itself does not hold."""

    def contains(self, needle: str) -> bool:
        """Whether `needle` (lower-case, no line break) occurs in the text."""
        if needle in self.joined:
            return True
        if any(needle in part for part in self.long_parts):
            return True
        # `needle` is in `name=value` when it is in the value or when it starts
        # in the name, so ends within the value's first len(needle) - 1 characters.
        reach = len(needle) - 1
        return any(
            needle in value or needle in name + value[:reach]
            for name, value in self.long_values
        )


def _lowered_text(report: EventReport) -> LoweredText:
    """Lower-case an event's text: the costly step, done once per event."""
    event = report.event
    short: list[str] = [event.id]
    long_parts: list[str] = []
    long_values: list[tuple[str, str]] = []
    copied = 0

    def lowered(text: str) -> str:
        """The text lower-cased: the original string when nothing changes."""
        nonlocal copied
        lower = text.lower()
        if lower == text:
            return text
        copied += len(lower)
        return lower

    def add(text: str) -> None:
        if len(text) < LONG_PART:
            short.append(text)
        else:
            long_parts.append(lowered(text))

    def add_named(name: str, value: str, *, owned: bool = False) -> None:
        """`name=value`; `owned` when the value was made here (not the event's)."""
        nonlocal copied
        if len(name) + len(value) < LONG_PART:
            short.append(f"{name}={value}")
            return
        lower = lowered(value)
        if owned and lower is value:
            copied += len(value)
        long_values.append((f"{name}=".lower(), lower))

    add(event.request.url)
    data_raw = event.data_raw or ""
    if not (len(data_raw) >= LONG_PART and event.params.get("data") == data_raw):
        # A long `data` is searched once, in its `data=` parameter, which holds
        # every needle the bare text holds.
        add(data_raw)
    for name, value in event.params.items():
        add_named(name, value)
    for key, value in event.segments.items():
        add_named(key, json.dumps(value), owned=True)
    for finding in report.findings:
        add(finding.code)
        add(finding.message)

    joined = "\n".join(short).lower()
    return LoweredText(
        joined=joined,
        long_parts=tuple(long_parts),
        long_values=tuple(long_values),
        size=len(joined) + copied,
    )


class SearchTexts:
    """Each event's lower-cased text, made the first time a filter searches it.

    The app keeps one for the events it retains and tells it which ones it drops,
    so the cache lives as long as the rows do. It holds at most `limit`
    characters: past that, events are lowered at every search, with the same
    matches, rather than memory growing with the size of the pixels.
    """

    def __init__(self, limit: int = SEARCH_CACHE_CHARACTERS) -> None:
        self.limit = limit
        self.size = 0
        """Characters held now."""
        self._texts: dict[int, tuple[EventReport, LoweredText]] = {}

    def __len__(self) -> int:
        return len(self._texts)

    def lowered(self, report: EventReport) -> LoweredText:
        """The report's lowered text, from the cache when it is there."""
        # Keyed by identity: reports are not hashable, and the entry holds the
        # report, so its id cannot pass to another object while it is here.
        entry = self._texts.get(id(report))
        if entry is not None:
            return entry[1]
        text = _lowered_text(report)
        if self.size + text.size <= self.limit:
            self._texts[id(report)] = (report, text)
            self.size += text.size
        return text

    def forget(self, reports: Iterable[EventReport]) -> None:
        """Drop these reports' texts (their rows are gone)."""
        for report in reports:
            entry = self._texts.pop(id(report), None)
            if entry is not None:
                self.size -= entry[1].size

    def clear(self) -> None:
        self._texts.clear()
        self.size = 0
