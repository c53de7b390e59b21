"""Per-event checks of custom segment data against the spec, and personal data.

`EventChecker` judges one decoded `PixelEvent` at a time and returns `Finding`s:
wrong JSON types, values outside the allowed set, case variants, missing keys, null
where the key should be left out (and the reverse), placeholder strings such as
`"undefined"`, undeclared keys, and personal data in segment values, page URLs and
visitor ids.

The checker remembers what it has seen during one inspection, so that it can warn
once per key when the null convention is mixed (some events send `null`, others leave
the key out) and when a key collects more distinct values than a segment should.

It runs on every pixel of a live capture, so all lookups are prepared once from the
spec and the per-event work is plain dictionary access.
"""

from __future__ import annotations

import difflib
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from inspector.decode import KNOWN_PARAMS, MOBILE_SDK_DATA_KEYS
from inspector.model import DataState, Finding, PixelEvent, Severity
from inspector.pii import PersonalData, PiiScanner, redact
from inspector.spec import SegmentSpec, Spec, default_spec
from inspector.standard import CAMPAIGN_PARAMETERS

logger = logging.getLogger(__name__)

PLACEHOLDER_STRINGS = frozenset({"null", "undefined", "", "NaN", "[object Object]"})
"""Strings that stand for a missing value that was stringified by mistake."""

_PLACEHOLDERS_FOLDED = frozenset({"null", "undefined", "nan", "[object object]"})

_USABLE_DATA = frozenset({DataState.OK, DataState.DOUBLE_ENCODED})

_UNDECLARED_KEY_EVENTS = frozenset({"pageview"})
"""Event kinds on which an undeclared key's null-or-absent state is compared."""

_UNKNOWN_KEY_SEVERITY = {
    "info": Severity.INFO,
    "warning": Severity.WARNING,
    "error": Severity.ERROR,
}

_TYPE_NAMES = {"string": "a string", "boolean": "a boolean", "number": "a number"}

_MAX_SHOWN = 80

_PII_NAMES = {
    "email": "an e-mail address",
    "phone": "a phone number",
    "long-number": "a long numeric id",
}

_VISITOR_PARAMS = ("u", "ampid")
_URL_PARAMS = ("url", "urlref", "surl", "sref")
_TEXT_PARAMS = frozenset({"title", "metadata"})
_NOT_FREE_TEXT_PARAMS = (KNOWN_PARAMS | MOBILE_SDK_DATA_KEYS) - _TEXT_PARAMS
"""Parameters scanned elsewhere (`data`, URLs, visitor ids) or made by the tracker."""
_LEGACY_VISITOR_KEYS = ("parsely_site_uuid", "parsely_uuid")
_NEVER_PERSONAL = (bool, float)
"""JSON values that cannot hold personal data: booleans and fractional numbers."""

_REMEMBERED_KINDS = frozenset({str, bool, int, float})
_MAX_REMEMBERED_PASSING = 1_000
"""Passing values remembered per declared key (see `_KeyRule.passing`)."""
_URL_CACHE_SIZE = 20_000
_CLEAN_KEYS_SIZE = 20_000
_HINT_CACHE_SIZE = 4096
"""Undeclared keys whose did-you-mean hint is remembered."""

CAMPAIGN_ID_PARAMETERS = frozenset(CAMPAIGN_PARAMETERS["campaign"])
"""Query parameters whose value is a campaign id, often a long number."""


def show(value: Any) -> str:
    """A segment value as JSON, so that `"true"` and `true` look different."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 1] + "…"
    return text


def json_kind(value: Any) -> str:
    """A JSON value's type in words: `a string`, `a number`, `null`..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def _is_boolean(value: Any) -> bool:
    return isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPE_TESTS = {"string": _is_string, "boolean": _is_boolean, "number": _is_number}


def placeholder_kind(value: Any) -> str | None:
    """Why a string is a placeholder rather than a value, or None when it is not."""
    if not isinstance(value, str):
        return None
    if value in PLACEHOLDER_STRINGS:
        return "an empty string" if value == "" else f"the placeholder {show(value)}"
    stripped = value.strip()
    if not stripped:
        return "a blank string"
    if len(stripped) <= 15 and stripped.casefold() in _PLACEHOLDERS_FOLDED:
        return f"the placeholder {show(value)}"
    if stripped.startswith("{{") and stripped.endswith("}}"):
        return f"an unreplaced template variable {show(value)}"
    return None


@dataclass(slots=True)
class _KeyRule:
    """A declared key, prepared for fast checks."""

    key: str
    segment: SegmentSpec
    path: str
    type_name: str
    type_test: Any
    allowed: frozenset[Any] | None
    allowed_by_fold: dict[str, str]
    convention: str | None
    events: frozenset[str]
    sites: frozenset[str]
    passing: set[tuple[type, Any]] = field(default_factory=set)
    """`(type, value)` of values that passed the value checks (no placeholder,
    the declared type, allowed), which depend on nothing but the value."""

    def applies_to(self, idsite: str | None) -> bool:
        # The spec's site ids are lower case; Parse.ly's are domain names.
        return not self.sites or (idsite or "").lower() in self.sites


@dataclass(slots=True)
class _KeyHistory:
    """What one inspection has seen of a key, for the once-per-key warnings."""

    first_null: str | None = None
    first_absent: str | None = None
    mixed_reported: bool = False
    values: set[Any] | None = field(default_factory=set)
    """Distinct values so far; None once the cardinality warning has been given."""


class EventChecker:
    """Judges pixel events against a spec; keep one per inspection."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self._rules = {
            key: self._prepare(key, segment) for key, segment in spec.segments.items()
        }
        self._rules_by_fold: dict[str, str] = {
            key.casefold(): key for key in self._rules
        }
        self._unknown_severity = _UNKNOWN_KEY_SEVERITY.get(spec.unknown_keys)
        self._max_values = spec.high_cardinality.max_values
        self._max_value_length = spec.high_cardinality.max_value_length
        self._pii = (
            PiiScanner(spec.pii.long_number_digits, spec.pii.phone_region)
            if spec.pii.enabled
            else None
        )
        self._pii_skip_keys = frozenset(spec.pii.skip_keys)

        # Caches filled as events arrive.
        self._expected: dict[tuple[str | None, str | None], tuple[_KeyRule, ...]] = {}
        self._unknown_hints: dict[str, str] = {}
        self._history: dict[str, _KeyHistory] = {}
        self._first_pageview: dict[str | None, str] = {}
        self._url_findings: dict[str, tuple[tuple[str, PersonalData], ...]] = {}
        self._clean_keys: set[str] = set()
        """Segment keys already scanned and found free of personal data."""

        # Sites the spec does not cover get the built-in checks, from a checker of
        # their own (made on first need), and one note per site.
        self._fallback: EventChecker | None = None
        self._uncovered_sites: set[str | None] = set()

    def _prepare(self, key: str, segment: SegmentSpec) -> _KeyRule:
        allowed = None
        allowed_by_fold: dict[str, str] = {}
        if segment.values is not None:
            allowed = frozenset(segment.values)
            allowed_by_fold = {
                value.casefold(): value for value in segment.values if _is_string(value)
            }
        return _KeyRule(
            key=key,
            segment=segment,
            path=_data_path(key),
            type_name=segment.type,
            type_test=_TYPE_TESTS[segment.type],
            allowed=allowed,
            allowed_by_fold=allowed_by_fold,
            convention=self.spec.null_convention_for(key),
            events=frozenset(segment.events),
            sites=frozenset(segment.sites),
        )

    # ------------------------------------------------------------------ entry point

    def check(self, event: PixelEvent) -> list[Finding]:
        """Everything wrong with one event's segment data and personal data."""
        if not self.spec.applies_to_site(event.idsite):
            return self._check_uncovered_site(event)

        findings: list[Finding] = []

        for key, value in event.segments.items():
            self._check_present(event, key, value, findings)
        if event.data_state in _USABLE_DATA:
            self._check_absent(event, findings)

        if self._pii is not None:
            self._check_personal_data(event, self._pii, findings)

        return findings

    # ------------------------------------------------------------------ other sites

    def _check_uncovered_site(self, event: PixelEvent) -> list[Finding]:
        """An event of a site outside `sites`: the built-in checks, and a note once."""
        if self._fallback is None:
            built_in = default_spec().model_copy(
                update={
                    "pii": self.spec.pii,
                    "high_cardinality": self.spec.high_cardinality,
                }
            )
            self._fallback = EventChecker(built_in)

        findings = []
        if event.idsite not in self._uncovered_sites:
            self._uncovered_sites.add(event.idsite)
            findings.append(self._site_not_covered(event))
        findings.extend(self._fallback.check(event))
        return findings

    def _site_not_covered(self, event: PixelEvent) -> Finding:
        covered = ", ".join(self.spec.sites)
        site = event.idsite or "an event without idsite"
        return Finding(
            code="spec.site-not-covered",
            severity=Severity.INFO,
            message=f"the spec covers {covered}; {site} is checked with the "
            "built-in rules only",
            path="idsite",
            explanation="The spec's `sites` list does not name this site id, so its "
            "declared segments, null convention and unknown-key policy are not "
            "applied here. The checks that need no spec still run: placeholders, "
            "personal data, null mixing and high cardinality. Add the site id to "
            "`sites` if the spec is meant for it, or load the spec that is.",
            event_id=event.id,
        )

    # ------------------------------------------------------------------ present keys

    def _check_present(
        self, event: PixelEvent, key: str, value: Any, findings: list[Finding]
    ) -> None:
        rule = self._rules.get(key)
        path = rule.path if rule else _data_path(key)

        # Keys: declared or not, and the `_` prefix the tracker uses for itself.
        if rule is None:
            self._check_unknown_key(event, key, path, findings)
        elif not rule.applies_to(event.idsite):
            rule = None
        if key.startswith("_"):
            findings.append(
                Finding(
                    code="segment.reserved-prefix",
                    severity=Severity.INFO,
                    message=f"{path} starts with '_', like the tracker's own keys "
                    "(_conversion_type, _conversion_label)",
                    path=path,
                    explanation="The tracker puts its own keys in `data` with a "
                    "leading underscore. A custom key in that namespace may clash "
                    "with a future tracker key; a name without the prefix is safer.",
                    event_id=event.id,
                )
            )

        self._remember_value(event, key, value, rule, findings)

        # Values: null, placeholders, types, allowed values.
        if value is None:
            if rule is not None and rule.convention == "omit":
                findings.append(self._null_not_allowed(event, rule))
            return

        # A declared key's value that passed once passes again (True and 1 apart).
        kind = type(value)
        passed = rule is not None and kind in _REMEMBERED_KINDS
        if passed and (kind, value) in rule.passing:
            return

        placeholder = placeholder_kind(value)
        if placeholder is not None and not (
            rule and rule.allowed and value in rule.allowed
        ):
            findings.append(self._placeholder(event, key, path, value, placeholder))
            return

        if rule is None:
            # A declared key's type check covers this case for declared keys.
            if isinstance(value, dict | list):
                findings.append(self._not_a_category(event, path, value))
            return
        if not rule.type_test(value):
            findings.append(self._type_mismatch(event, rule, value))
            return
        if rule.allowed is not None and value not in rule.allowed:
            finding = self._not_allowed(event, rule, value)
            if finding is not None:
                findings.append(finding)
                return

        if passed and len(rule.passing) < _MAX_REMEMBERED_PASSING:
            rule.passing.add((kind, value))

    def _check_unknown_key(
        self, event: PixelEvent, key: str, path: str, findings: list[Finding]
    ) -> None:
        if self._unknown_severity is None:
            return

        hint = self._unknown_hints.get(key)
        if hint is None:
            hint = self._close_declared_key(key)
            if len(self._unknown_hints) >= _HINT_CACHE_SIZE:
                self._unknown_hints.clear()
            self._unknown_hints[key] = hint
        suggestion = f" (did you mean {hint!r}?)" if hint else ""
        findings.append(
            Finding(
                code="segment.unknown-key",
                severity=self._unknown_severity,
                message=f"{path} is not declared in the spec{suggestion}",
                path=path,
                explanation="Every custom key becomes a separate segment in the "
                "dashboard. A key the spec does not know is usually a typo or a "
                "case variant of a declared key, or a new key that should be "
                "declared (or sent under a declared name).",
                event_id=event.id,
            )
        )

    def _close_declared_key(self, key: str) -> str:
        same_but_case = self._rules_by_fold.get(key.casefold())
        if same_but_case:
            return same_but_case
        close = difflib.get_close_matches(key, list(self._rules), n=1, cutoff=0.75)
        return close[0] if close else ""

    def _type_mismatch(self, event: PixelEvent, rule: _KeyRule, value: Any) -> Finding:
        expected = _TYPE_NAMES[rule.type_name]
        suggestion = _type_suggestion(value, rule.type_name)
        return Finding(
            code="segment.type-mismatch",
            severity=Severity.WARNING,
            message=f"{rule.path} is {show(value)} ({json_kind(value)}), but the spec "
            f"declares {expected}{suggestion}",
            path=rule.path,
            explanation='The pixel keeps JSON types: the string "true" and the '
            'boolean true (or "3" and 3) are different values and end up in '
            "different segments. Set the value with the right type in the page's "
            "updateDefaults({data: {...}}) call, without quotes for booleans and "
            "numbers.",
            event_id=event.id,
        )

    def _not_allowed(
        self, event: PixelEvent, rule: _KeyRule, value: Any
    ) -> Finding | None:
        if _is_string(value):
            canonical = rule.allowed_by_fold.get(value.casefold())
            if canonical is not None:
                if not rule.segment.case_sensitive:
                    return None
                return Finding(
                    code="segment.case-mismatch",
                    severity=Severity.ERROR,
                    message=f"{rule.path} is {show(value)}, which differs from the "
                    f"allowed value {show(canonical)} only by case",
                    path=rule.path,
                    explanation="Segment values are case-sensitive: "
                    f"{show(value)} and {show(canonical)} are counted as two "
                    "different segments. Send the value exactly as the spec writes "
                    "it (or set case_sensitive: false if the difference is intended "
                    "to be ignored).",
                    event_id=event.id,
                )

        allowed = ", ".join(show(item) for item in rule.segment.values or ())
        hint = ""
        if _is_string(value):
            if value.strip() in rule.allowed_by_fold.values():
                hint = f"; it has spaces around {show(value.strip())}"
            else:
                close = difflib.get_close_matches(
                    value, list(rule.allowed_by_fold.values()), n=1, cutoff=0.75
                )
                hint = f"; did you mean {show(close[0])}?" if close else ""
        return Finding(
            code="segment.value-not-allowed",
            severity=Severity.ERROR,
            message=f"{rule.path} is {show(value)}, which is not an allowed value "
            f"(allowed: {allowed}){hint}",
            path=rule.path,
            explanation="The spec lists the values this segment may take. Another "
            "value creates a segment nobody planned for, and readers who should be "
            "in an expected segment are missing from it. Fix the value where the "
            "page computes it, or add it to the spec if it is legitimate.",
            event_id=event.id,
        )

    def _placeholder(
        self, event: PixelEvent, key: str, path: str, value: Any, description: str
    ) -> Finding:
        return Finding(
            code="segment.placeholder",
            severity=Severity.WARNING,
            message=f"{path} is {description}, which looks like a missing value "
            "turned into text (it is not JSON null)",
            path=path,
            explanation="A value that was not available when the tag ran (an "
            "undefined variable, a template or tag-manager variable) was turned into "
            "a string. It shows up as its own segment value. When the value is "
            "unknown, send JSON null or leave the key out, as the spec's null "
            "convention says.",
            event_id=event.id,
        )

    def _not_a_category(self, event: PixelEvent, path: str, value: Any) -> Finding:
        return Finding(
            code="segment.not-a-category",
            severity=Severity.WARNING,
            message=f"{path} is {json_kind(value)} ({show(value)}); a segment value "
            "should be one category: a string, a boolean or a number",
            path=path,
            explanation="The tracker sends arrays and nested objects as they are, but "
            "a segment groups readers by one value per key. Send each property as a "
            "key of its own (`plan`, `plan_term`), or join a list into one agreed "
            "category, and declare the key in the spec with its type.",
            event_id=event.id,
        )

    def _null_not_allowed(self, event: PixelEvent, rule: _KeyRule) -> Finding:
        return Finding(
            code="segment.null-not-allowed",
            severity=Severity.WARNING,
            message=f"{rule.path} is null, but the spec's convention for "
            f"{rule.key!r} is to leave the key out when the value is unknown",
            path=rule.path,
            explanation="The spec says an unknown value is expressed by not sending "
            "the key (null_convention: omit). A null is counted separately from "
            "an absent key, which splits the 'unknown' readers in two. Skip the key "
            "in updateDefaults when there is no value.",
            event_id=event.id,
        )

    # ------------------------------------------------------------------ absent keys

    def _check_absent(self, event: PixelEvent, findings: list[Finding]) -> None:
        action = event.action
        segments = event.segments

        for rule in self._expected_rules(event.idsite, action):
            if rule.key in segments:
                continue
            if rule.segment.required:
                findings.append(self._required_missing(event, rule))
            elif rule.convention == "null":
                findings.append(self._omitted(event, rule))

        self._remember_absences(event, findings)

    def _expected_rules(
        self, idsite: str | None, action: str | None
    ) -> tuple[_KeyRule, ...]:
        cache_key = (idsite, action)
        rules = self._expected.get(cache_key)
        if rules is None:
            rules = tuple(
                rule
                for rule in self._rules.values()
                if action in rule.events and rule.applies_to(idsite)
            )
            self._expected[cache_key] = rules
        return rules

    def _required_missing(self, event: PixelEvent, rule: _KeyRule) -> Finding:
        kind = event.action or "event"
        return Finding(
            code="segment.required-missing",
            severity=Severity.ERROR,
            message=f"{rule.path} is missing from this {kind}; the spec requires it "
            f"on {', '.join(sorted(rule.events))}",
            path=rule.path,
            explanation="Events without the key cannot be put in any of its "
            "segments. Usually the segment code runs too late (after the tracker "
            "sent the pageview) or only on some page types. Call "
            "PARSELY.updateDefaults({data: {...}}) before the tracker loads.",
            event_id=event.id,
        )

    def _omitted(self, event: PixelEvent, rule: _KeyRule) -> Finding:
        kind = event.action or "event"
        return Finding(
            code="segment.omitted",
            severity=Severity.WARNING,
            message=f"{rule.path} is not sent on this {kind}; with the null "
            f"convention it should be sent as null when the value is unknown",
            path=rule.path,
            explanation="The spec says an unknown value is sent as JSON null "
            "(null_convention: null), so every event of the listed kinds should "
            "carry the key. An absent key is counted separately from null, which "
            "splits the 'unknown' readers in two.",
            event_id=event.id,
        )

    # ------------------------------------------------------------------ history

    def _history_of(self, key: str) -> _KeyHistory:
        history = self._history.get(key)
        if history is None:
            history = self._history[key] = _KeyHistory()
        return history

    def _remember_value(
        self,
        event: PixelEvent,
        key: str,
        value: Any,
        rule: _KeyRule | None,
        findings: list[Finding],
    ) -> None:
        """Track nulls (for mixing) and distinct values (for cardinality)."""
        history = self._history.get(key)
        new_key = history is None
        if history is None:
            history = self._history[key] = _KeyHistory()

        if value is None:
            kinds = rule.events if rule is not None else _UNDECLARED_KEY_EVENTS
            if event.action in kinds and event.data_state in _USABLE_DATA:
                if history.first_null is None:
                    history.first_null = event.id
                self._report_mixing(event, key, history, findings)
        else:
            if isinstance(value, str) and len(value) > self._max_value_length:
                findings.append(self._value_too_long(event, key, value))
            if history.values is not None:
                history.values.add(_value_identity(value))
                if len(history.values) > self._max_values:
                    history.values = None
                    findings.append(self._high_cardinality(event, key))

        # A key seen for the first time was absent from every earlier pageview.
        if new_key and rule is None and history.first_absent is None:
            first = self._first_pageview.get(event.idsite)
            if first is not None and first != event.id:
                history.first_absent = first
                self._report_mixing(event, key, history, findings)

    def _remember_absences(self, event: PixelEvent, findings: list[Finding]) -> None:
        """Note the event as the first without each known key (for mixing)."""
        action = event.action
        if action == "pageview":
            self._first_pageview.setdefault(event.idsite, event.id)

        segments = event.segments
        for key, history in self._history.items():
            if history.first_absent is not None or key in segments:
                continue
            rule = self._rules.get(key)
            if rule is not None:
                if action not in rule.events or not rule.applies_to(event.idsite):
                    continue
            elif action not in _UNDECLARED_KEY_EVENTS:
                continue
            history.first_absent = event.id
            self._report_mixing(event, key, history, findings)

        # Declared keys never seen yet are absent too.
        for rule in self._expected_rules(event.idsite, action):
            if rule.key not in segments and rule.key not in self._history:
                self._history_of(rule.key).first_absent = event.id

    def _report_mixing(
        self,
        event: PixelEvent,
        key: str,
        history: _KeyHistory,
        findings: list[Finding],
    ) -> None:
        if history.mixed_reported or not (history.first_null and history.first_absent):
            return
        history.mixed_reported = True
        path = _data_path(key)
        findings.append(
            Finding(
                code="segment.null-convention-mixed",
                severity=Severity.WARNING,
                message=f"{path} is sent as null on some events (first: "
                f"{history.first_null}) and left out on others (first: "
                f"{history.first_absent})",
                path=path,
                explanation="An unknown value should be expressed one way only: "
                "always null, or always leaving the key out. Mixing the two counts "
                "the same readers in two different segments. Pick one (and write it "
                "in the spec as null_convention) and make every code path follow it.",
                event_id=event.id,
            )
        )

    def _value_too_long(self, event: PixelEvent, key: str, value: str) -> Finding:
        path = _data_path(key)
        return Finding(
            code="segment.value-too-long",
            severity=Severity.WARNING,
            message=f"{path} is {len(value)} characters long (more than "
            f"{self._max_value_length}); a segment value should be a short category",
            path=path,
            explanation="Each distinct value becomes its own segment in the "
            "dashboard, so a long value (several values packed into one string, a "
            "serialised object, an id) splits readers into one segment each and "
            "bloats every pixel URL towards the 8 KB limit. Send one category per "
            "key, or several keys.",
            event_id=event.id,
        )

    def _high_cardinality(self, event: PixelEvent, key: str) -> Finding:
        path = _data_path(key)
        return Finding(
            code="segment.high-cardinality",
            severity=Severity.WARNING,
            message=f"{path} has taken more than {self._max_values} distinct values "
            "in this session; values look per-person or per-page",
            path=path,
            explanation="A segment is a category shared by many readers, such as a "
            "plan or a login state. A key with a value per reader (an id, a hash, a "
            "timestamp) cannot be used as a segment and may be personal data.",
            event_id=event.id,
        )

    # ------------------------------------------------------------------ personal data

    def _check_personal_data(
        self, event: PixelEvent, scanner: PiiScanner, findings: list[Finding]
    ) -> None:
        hits: list[tuple[str, str, PersonalData]] = []

        # Custom segment values, nested ones included. Plain strings and numbers
        # (the usual case) skip the recursive walk; the scanner remembers strings.
        skip_keys = self._pii_skip_keys
        clean_keys = self._clean_keys
        for key, value in event.segments.items():
            if skip_keys and key in skip_keys:
                continue
            if key not in clean_keys:
                # A key is personal data too when the page turned a value into a
                # key (`{"reader@example.org": true}`). Keys repeat: each clean one
                # is scanned once.
                found_in_key = scanner.scan(key)
                if not found_in_key:
                    if len(clean_keys) >= _CLEAN_KEYS_SIZE:
                        clean_keys.clear()
                    clean_keys.add(key)
                for found in found_in_key:
                    hits.append(("data", "a key of data", found))
            if isinstance(value, str):
                found_in_value = scanner.scan(value)
            elif value is None or isinstance(value, _NEVER_PERSONAL):
                continue
            elif isinstance(value, int):
                found_in_value = scanner.scan_number(value)
            else:
                for path, found in _scan_json(scanner, value, _data_path(key)):
                    hits.append((path, path, found))
                continue
            for found in found_in_value:
                hits.append((_data_path(key), _data_path(key), found))

        # What Parse.ly receives in `data` but the segments do not show: a text
        # that is no JSON object, and the values a repeated key overrides.
        state = event.data_state
        if state is DataState.INVALID or state is DataState.NOT_OBJECT:
            self._scan_raw_data(event, scanner, "data as sent", hits)
        elif event.findings and any(
            finding.code == "data.duplicate-key" for finding in event.findings
        ):
            where = "data (a value that a repeated key overrides)"
            self._scan_raw_data(event, scanner, where, hits)

        # Visitor ids: `u` (and AMP's id), and the legacy ids inside `data`.
        params = event.params
        for name in _VISITOR_PARAMS:
            value = params.get(name)
            if value:
                for found in scanner.scan(value):
                    hits.append((name, f"the visitor id {name!r}", found))
        data = event.data
        if data:
            for name in _LEGACY_VISITOR_KEYS:
                value = data.get(name)
                if isinstance(value, str) and value:
                    for found in scanner.scan(value):
                        path = f"data.{name}"
                        hits.append((path, f"the visitor id {path}", found))

        # Page and referrer URLs: path, query values and fragment.
        for name in _URL_PARAMS:
            value = params.get(name)
            if value:
                for part, param, found in self._scan_url_cached(scanner, value):
                    path = f"{name}.{param}" if param else name
                    hits.append((path, f"{name} ({part})", found))

        # Free text: the page title, content metadata, and parameters the wire
        # format does not define (segment keys sent outside `data`, for one).
        free_text = params.keys() - _NOT_FREE_TEXT_PARAMS
        if len(free_text) > 1:
            free_text = [name for name in params if name in free_text]  # in order
        for name in free_text:
            if name not in _TEXT_PARAMS:
                # The name of a parameter the wire format does not define is text
                # the page wrote, as a value is.
                for found in scanner.scan(name):
                    hits.append((name, "a parameter name", found))
            value = params[name]
            if value:
                where = name if name in _TEXT_PARAMS else f"the parameter {name!r}"
                for found in scanner.scan(value):
                    hits.append((name, where, found))

        # One finding per place and kind of data; copies of one value (the page
        # address in url and surl, one visitor id in u and in data) make one.
        if hits:
            for path, where, found, places in _fold_copies(hits):
                findings.append(
                    _personal_data_finding(event, path, where, found, places)
                )

    @staticmethod
    def _scan_raw_data(
        event: PixelEvent,
        scanner: PiiScanner,
        where: str,
        hits: list[tuple[str, str, PersonalData]],
    ) -> None:
        """Personal data in the text of `data`, but for what a segment shows."""
        if not event.data_raw:
            return
        shown = {found.text for _, _, found in hits}
        for found in scanner.scan(event.data_raw):
            if found.text not in shown:
                hits.append(("data", where, found))

    def _scan_url_cached(
        self, scanner: PiiScanner, url: str
    ) -> tuple[tuple[str, str | None, PersonalData], ...]:
        found = self._url_findings.get(url)
        if found is None:
            if len(self._url_findings) >= _URL_CACHE_SIZE:
                self._url_findings.clear()
            found = self._url_findings[url] = tuple(_scan_url(scanner, url))
        return found


# Parameters that repeat another's value: the session's landing page and referrer
# are the page's own on a session's first pageview.
_ADDRESS_COPIES = {
    "url": "page",
    "surl": "page",
    "urlref": "referrer",
    "sref": "referrer",
}
_VISITOR_ID_PATHS = frozenset(_VISITOR_PARAMS) | {
    f"data.{name}" for name in _LEGACY_VISITOR_KEYS
}


def _fold_copies(
    hits: list[tuple[str, str, PersonalData]],
) -> list[tuple[str, str, PersonalData, int]]:
    """The hits with repeats dropped and copies of one value merged, each with the
    number of places it stands for.

    A repeat is the same kind of data at the same path. A copy is the same text
    found in two addresses that mirror each other (`url` and `surl`, at the same
    query parameter) or in two visitor ids: one fault, fixed in one place.
    """
    groups: dict[tuple[object, ...], list[tuple[str, str, PersonalData]]] = {}
    for path, where, found in hits:
        name, _, rest = path.partition(".")
        if name in _ADDRESS_COPIES:
            key: tuple[object, ...] = (_ADDRESS_COPIES[name], rest, found.kind)
            key += (found.text,)
        elif path in _VISITOR_ID_PATHS:
            key = ("visitor", found.kind, found.text)
        else:
            key = ("at", path, found.kind)
        group = groups.setdefault(key, [])
        if all(other_path != path for other_path, _, _ in group):
            group.append((path, where, found))

    folded = []
    for group in groups.values():
        path, where, found = group[0]
        if len(group) > 1:
            where = _joined_places(group)
        folded.append((path, where, found, len(group)))
    return folded


def _joined_places(group: list[tuple[str, str, PersonalData]]) -> str:
    paths = [path for path, _, _ in group]
    if paths[0] in _VISITOR_ID_PATHS:
        names = [repr(path) if "." not in path else path for path in paths]
        return "the visitor ids " + " and ".join(names)

    # Addresses: "url (query parameter 'e')" and "surl (...)" share the part.
    first_where = group[0][1]
    part = first_where[first_where.index(" (") :] if " (" in first_where else ""
    return " and ".join(path.partition(".")[0] for path in paths) + part


def _personal_data_finding(
    event: PixelEvent, path: str, where: str, found: PersonalData, places: int = 1
) -> Finding:
    what = _PII_NAMES[found.kind]
    verb = "contains" if places == 1 else "contain"
    return Finding(
        code=f"pii.{found.kind}",
        severity=Severity.ERROR,
        message=f"{where} {verb} {what} ({redact(found)})",
        path=path,
        explanation="Pixels must not carry personal data: Parse.ly's terms forbid "
        "it, and a value per person is useless as a segment. Send a category "
        "(a plan, a login state) instead, and keep e-mail addresses, phone numbers "
        "and customer numbers out of segment values, page URLs and visitor ids. "
        "The value is shortened here so that reports do not spread it further "
        "(--show-pii shows it whole).",
        event_id=event.id,
        evidence=found.text,
    )


def _scan_json(
    scanner: PiiScanner, value: Any, path: str
) -> Iterator[tuple[str, PersonalData]]:
    """Personal data in a JSON value, recursively, with the path of each string."""
    if isinstance(value, str):
        for found in scanner.scan(value):
            yield path, found
    elif isinstance(value, int) and not isinstance(value, bool):
        for found in scanner.scan_number(value):
            yield path, found
    elif isinstance(value, Mapping):
        for key, item in value.items():
            for found in scanner.scan(key):
                yield path, found
            yield from _scan_json(scanner, item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _scan_json(scanner, item, f"{path}[{index}]")


def _scan_url(
    scanner: PiiScanner, url: str
) -> Iterator[tuple[str, str | None, PersonalData]]:
    """Personal data in a URL: the part it was found in, and the query parameter.

    Campaign parameters become Parse.ly's campaign segments, so they are scanned
    like any other query value, except that a long number is an ordinary campaign
    id there, not a customer number.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        for found in scanner.scan(url):
            yield "text", None, found
        return

    for segment in parts.path.split("/"):
        if segment:
            for found in scanner.scan(unquote(segment)):
                yield "path", None, found
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        for found in scanner.scan(name):
            yield "a query parameter name", None, found
        if not value:
            continue
        for found in scanner.scan(value):
            if found.kind == "long-number" and name in CAMPAIGN_ID_PARAMETERS:
                continue
            yield f"query parameter {name!r}", name, found
    if parts.fragment:
        for found in scanner.scan(unquote(parts.fragment)):
            yield "fragment", None, found


def _type_suggestion(value: Any, type_name: str) -> str:
    if type_name == "boolean" and isinstance(value, str):
        if value.strip().lower() in {"true", "false"}:
            return f": send {value.strip().lower()} without quotes"
    if type_name == "number" and isinstance(value, str):
        try:
            number = json.loads(value.strip())
        except ValueError:
            return ""
        if _is_number(number):
            return f": send {show(number)} without quotes"
    if type_name == "string" and isinstance(value, bool | int | float):
        return f": send {show(show(value))}"
    return ""


def _value_identity(value: Any) -> Any:
    """A hashable identity that keeps `"true"` and `true` apart."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return (type(value).__name__, value)
    return ("json", json.dumps(value, sort_keys=True, ensure_ascii=False))


def _data_path(key: str) -> str:
    return f"data.{key}"
