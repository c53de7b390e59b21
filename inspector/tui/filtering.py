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
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
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


def parse_filter(text: str) -> EventFilter:
    """Turn what the user typed after `/` into an `EventFilter`."""
    terms = [_unquoted(term) for term in TERM.findall(text)]

    predicates: list[Predicate] = []
    errors: list[str] = []
    for term in terms:
        negate = term.startswith("-") and len(term) > 1
        body = term[1:] if negate else term
        try:
            predicate = _term_predicate(body)
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


def _term_predicate(term: str) -> Predicate:
    prefix, colon, value = term.partition(":")
    if colon and prefix.lower() in FIELD_PREFIXES:
        return _field_predicate(prefix.lower(), value)

    key, equals, wanted = term.partition("=")
    if equals and key:
        return _segment_predicate(key, wanted)

    return _text_predicate(term)


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


def _text_predicate(text: str) -> Predicate:
    needle = text.lower()
    return lambda report, diagnoses: needle in searchable_text(report, diagnoses)


def searchable_text(
    report: EventReport, diagnoses: Sequence[PageDiagnosis] = ()
) -> str:
    """Everything free text is searched in, lower-cased."""
    event = report.event
    parts = [event.id, event.request.url, event.data_raw or ""]
    parts.extend(f"{name}={value}" for name, value in event.params.items())
    parts.extend(f"{key}={json.dumps(value)}" for key, value in event.segments.items())
    for finding in report.findings:
        parts.append(finding.code)
        parts.append(finding.message)
    for diagnosis in diagnoses:
        parts.append(diagnosis.code)
        parts.append(diagnosis.title)
    return "\n".join(parts).lower()
