"""The segment spec: what a site's pixels should carry, written by the site's team.

A spec is a YAML file (see `segment-inspector spec init` for a commented starter). It
declares the custom segment keys the site sends in `data`, their types and allowed
values, how "value unknown" is expressed (JSON `null` or leaving the key out), the
scenarios QA should walk through, and a few knobs for the other checks.

`load_spec` builds the YAML node tree from ruamel.yaml's parser events (libyaml's
when its C extension is installed), refusing a file beyond MAX_SPEC_BYTES,
MAX_SPEC_VALUES or MAX_SPEC_DEPTH as soon as that is known, and keeps the tree so
that every problem pydantic finds can be reported at its own line and column,
together with a "did you mean" hint for misspelt keys and values. All problems are
collected and reported at once in a `SpecError`.
"""

from __future__ import annotations

import datetime
import difflib
import functools
import json
import logging
import math
import re
import sys
import types
import typing
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

logger = logging.getLogger(__name__)

SegmentType = Literal["string", "boolean", "number"]
NullConvention = Literal["null", "omit"]
UnknownKeysPolicy = Literal["allow", "info", "warning", "error"]
ReferrerCategory = Literal[
    "social", "search", "aggregator", "ai", "other", "internal", "direct"
]

KNOWN_EVENT_KINDS = ("pageview", "heartbeat", "videostart", "vheartbeat", "conversion")
"""The `action` values the Parse.ly trackers send themselves."""

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


# --------------------------------------------------------------------------- values


def _yaml(value: Any) -> str:
    """A spec value as YAML writes it, for messages: text in double quotes, so that
    `"true"` and `true` differ; `null`, `.inf` and `[a, b]` rather than Python's
    `None`, `inf` and `('a', 'b')`."""
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    if isinstance(value, Mapping):
        return (
            "{"
            + ", ".join(f"{_yaml(key)}: {_yaml(item)}" for key, item in value.items())
            + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_yaml(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _kind_of(value: Any) -> str:
    """A short description of a JSON value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, Sequence):
        return "a list"
    return type(value).__name__


def value_has_type(value: Any, segment_type: str) -> bool:
    """Whether a JSON value has a segment type (`True` is not a number here)."""
    if segment_type == "string":
        return isinstance(value, str)
    if segment_type == "boolean":
        return isinstance(value, bool)
    if segment_type == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return False


def _type_hint(value: Any, segment_type: str) -> str:
    """How to write `value` so that it has `segment_type`, when that is obvious."""
    if segment_type == "string" and isinstance(value, bool | int | float):
        return f'quote it: "{_yaml(value)}"'
    if segment_type == "boolean" and isinstance(value, str):
        if value.strip().lower() in {"true", "false"}:
            return f"write {value.strip().lower()} without quotes"
    if segment_type == "number" and isinstance(value, str):
        try:
            number = json.loads(value.strip())
        except ValueError:
            return ""
        # json.loads reads "Infinity" and "NaN" too: no number a spec may hold.
        if (
            isinstance(number, int | float)
            and not isinstance(number, bool)
            and math.isfinite(number)
        ):
            return f"write {_yaml(number)} without quotes"
    return ""


def _allowed_value_checker(segment_type: SegmentType):
    """An after-validator that rejects allowed values not of the segment's type."""

    def check(value: Any) -> Any:
        if value is None:
            raise PydanticCustomError(
                "null_value",
                "null cannot be an allowed value",
                {
                    "hint": "say how an unknown value is sent with null_convention "
                    "(null or omit)"
                },
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise PydanticCustomError(
                "value_not_finite",
                "{shown} cannot be an allowed value: JSON has no such number",
                {"shown": _yaml(value), "hint": "give a finite number"},
            )
        if not value_has_type(value, segment_type):
            raise PydanticCustomError(
                "value_type_mismatch",
                "{shown} is {kind}, but this is a {segment_type} segment",
                {
                    "shown": _yaml(value),
                    "kind": _kind_of(value),
                    "segment_type": segment_type,
                    "hint": _type_hint(value, segment_type),
                },
            )
        return value

    return check


def _allowed_values(segment_type: SegmentType, json_type: dict[str, Any]) -> Any:
    item = Annotated[
        Any,
        AfterValidator(_allowed_value_checker(segment_type)),
        WithJsonSchema(json_type),
    ]
    return tuple[item, ...] | None


def _null_means_null(value: Any) -> Any:
    """YAML reads `null_convention: null` as None; it means "send JSON null"."""
    return "null" if value is None else value


NullConventionSetting = Annotated[
    NullConvention | None, BeforeValidator(_null_means_null)
]

_HOST_PATTERN = re.compile(r"^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_-]+)*$")


def _check_host_pattern(value: str) -> str:
    return _host_name(value, wildcard=True)


def _check_site_id(value: str) -> str:
    return _host_name(value, wildcard=False)


def _host_name(value: str, *, wildcard: bool) -> str:
    """`value` as a lower-case host name (or `*.domain` pattern, with `wildcard`).

    Site ids are domain names too, and Parse.ly's are written in lower case, so they
    are read the same way: a scheme, path or port is an error that names the bare
    host to write instead.
    """
    host = value.strip().lower()
    if _HOST_PATTERN.match(host) and (wildcard or not host.startswith("*.")):
        return host

    hint = ""
    bare = host.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    if not wildcard:
        bare = bare.removeprefix("*.")
    if bare and _HOST_PATTERN.match(bare):
        hint = f"write the host name only: {bare!r}"
    if wildcard:
        raise PydanticCustomError(
            "host_pattern",
            "{shown} is not a host name or a `*.domain` pattern",
            {"shown": _yaml(value), "hint": hint},
        )
    if hint:
        hint = f"write {bare}"
    raise PydanticCustomError(
        "site_id",
        "{shown} is not a site id: Parse.ly site ids are bare domains",
        {"shown": _yaml(value), "hint": hint},
    )


def host_pattern(value: str) -> str:
    """A host name or `*.domain` pattern given on a command line, lower-cased.

    Raises ValueError with one line that says what to write instead.
    """
    try:
        return _check_host_pattern(value)
    except PydanticCustomError as error:
        hint = (error.context or {}).get("hint")
        raise ValueError(f"{error.message()}" + (f"; {hint}" if hint else "")) from None


HostPattern = Annotated[str, AfterValidator(_check_host_pattern)]
SiteId = Annotated[str, Field(min_length=1), AfterValidator(_check_site_id)]


def _check_event_kind(value: str) -> str:
    kind = value.strip()
    if not kind:
        raise PydanticCustomError("empty_event_kind", "an event kind cannot be empty")
    if kind in KNOWN_EVENT_KINDS:
        return kind

    # Custom actions are legitimate, but a near miss of a tracker action is a typo.
    close = difflib.get_close_matches(kind.lower(), KNOWN_EVENT_KINDS, n=1, cutoff=0.8)
    if close:
        raise PydanticCustomError(
            "event_kind_typo",
            "{shown} looks like a misspelt event kind",
            {"shown": _yaml(value), "hint": f"did you mean {close[0]!r}?"},
        )
    return kind


EventKind = Annotated[str, AfterValidator(_check_event_kind)]

NonEmptyText = Annotated[str, Field(min_length=1)]

_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
"""Unicode categories of characters that cannot be seen in a key: control and
format characters (a tab, a zero-width space) and line or paragraph separators."""


def _check_segment_key(value: str) -> str:
    """A segment key as the pixels send it: visible text without padding.

    A key is compared exactly with the keys of `data`, so a tab, a zero-width
    space or a trailing blank copied into the spec would make a key that no page
    sends on purpose, and the real key would then count as undeclared.
    """
    if not value.strip():
        raise PydanticCustomError(
            "segment_key_blank",
            "a key cannot be empty" if not value else "a key cannot be only spaces",
        )
    for character in value:
        if unicodedata.category(character) in _INVISIBLE_CATEGORIES:
            raise PydanticCustomError(
                "segment_key_invisible",
                "the key holds an invisible character, {code}",
                {
                    "code": f"U+{ord(character):04X}",
                    "hint": "write the key as the page sends it, without it",
                },
            )
    if value != value.strip():
        raise PydanticCustomError(
            "segment_key_padded",
            "the key has spaces around it",
            {"hint": f"write {value.strip()!r}"},
        )
    return value


SegmentKey = Annotated[str, Field(min_length=1), AfterValidator(_check_segment_key)]
"""A custom segment key in a spec: not empty, no invisible characters, no spaces
around it."""


# --------------------------------------------------------------------------- models


class _Strict(BaseModel):
    """Base of every spec model: unknown keys are errors, loaded specs are frozen."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True
    )


class SegmentSpec(_Strict):
    """One custom segment key sent inside `data`."""

    type: SegmentType
    """The JSON type of the value: string, boolean or number."""

    values: tuple[Any, ...] | None = None
    """The allowed values. Leave out to allow any value of the type."""

    required: StrictBool = False
    """Every event of the kinds in `events` must carry this key."""

    case_sensitive: StrictBool = True
    """Compare string values exactly. When false, `Premium` counts as `premium`."""

    null_convention: NullConventionSetting = None
    """How an unknown value is sent for this key: `null` (the key is sent as JSON
    null) or `omit` (the key is left out). Leave out to use the spec-wide setting."""

    events: tuple[EventKind, ...] = ("pageview",)
    """The event kinds (`action` values) that must carry this key."""

    sites: tuple[SiteId, ...] = ()
    """The site ids (`idsite`) this key applies to. Empty: every site of the spec."""

    description: str = ""
    """What the key means, for people reading the spec and the reports."""

    @model_validator(mode="after")
    def _check_values(self) -> SegmentSpec:
        if self.values is None:
            return self
        if not self.values:
            raise _problems(
                [
                    (
                        ("values",),
                        "the list of allowed values is empty",
                        "leave `values` out to allow any value",
                    )
                ]
            )

        problems = _repeated_values(enumerate(self.values), self.case_sensitive)
        if problems:
            raise _problems(problems)
        return self

    def allows(self, value: Any) -> bool:
        """Whether a value of the right type is among the allowed values."""
        if self.values is None:
            return True
        try:
            return _comparable(value, self.case_sensitive) in self._allowed
        except TypeError:  # not hashable: no allowed value is a list or mapping
            return False

    @functools.cached_property
    def _allowed(self) -> frozenset[Any]:
        """The allowed values as `_comparable` keys, so a lookup takes constant
        time even for a key that lists every section of a site."""
        return frozenset(
            _comparable(allowed, self.case_sensitive) for allowed in self.values or ()
        )


def _repeated_values(
    values: Iterable[tuple[int, Any]], case_sensitive: bool
) -> list[tuple[tuple[Any, ...], str, str]]:
    """The allowed values that repeat an earlier one, counting case variants when
    case does not matter, each at `("values", index)`."""
    problems = []
    seen: dict[Any, tuple[int, Any]] = {}
    for index, value in values:
        comparable = _comparable(value, case_sensitive)
        if comparable in seen:
            first_index, first = seen[comparable]
            problems.append(
                (
                    ("values", index),
                    f"{_yaml(value)} repeats {_yaml(first)} (values[{first_index}])",
                    "",
                )
            )
        else:
            seen[comparable] = (index, value)
    return problems


def _comparable(value: Any, case_sensitive: bool) -> Any:
    """A key under which two allowed values count as the same."""
    if isinstance(value, str) and not case_sensitive:
        return ("str", value.casefold())
    return (type(value) is bool, value)


class StringSegment(SegmentSpec):
    """A segment key whose values are strings, such as a plan name."""

    type: Literal["string"]
    """The JSON type of the value: string, boolean or number."""

    values: _allowed_values("string", {"type": "string"}) = None  # type: ignore[valid-type]
    """The allowed values. Leave out to allow any string."""


class BooleanSegment(SegmentSpec):
    """A segment key whose values are JSON `true` / `false`."""

    type: Literal["boolean"]
    """The JSON type of the value: string, boolean or number."""

    values: _allowed_values("boolean", {"type": "boolean"}) = None  # type: ignore[valid-type]
    """The allowed values. Leave out to allow both true and false."""


class NumberSegment(SegmentSpec):
    """A segment key whose values are JSON numbers."""

    type: Literal["number"]
    """The JSON type of the value: string, boolean or number."""

    values: _allowed_values("number", {"type": "number"}) = None  # type: ignore[valid-type]
    """The allowed values. Leave out to allow any number."""


AnySegmentSpec = Annotated[
    StringSegment | BooleanSegment | NumberSegment, Field(discriminator="type")
]


class _UntypedSegment(SegmentSpec):
    """A segment whose `type` is missing or unknown, to check its other keys."""

    type: Any = None


class PiiSettings(_Strict):
    """Looking for personal data (e-mail addresses, phone numbers, long ids)."""

    enabled: StrictBool = True
    """Look for personal data in segment values, page URLs and visitor ids."""

    long_number_digits: StrictInt = Field(default=9, ge=5, le=40)
    """A run of at least this many digits counts as a personal id (customer number,
    phone number without formatting...)."""

    phone_region: str = "US"
    """The region (ISO country code) used to read phone numbers written without an
    international prefix, such as `(212) 555-0123`."""

    skip_keys: tuple[SegmentKey, ...] = ()
    """Segment keys never searched for personal data (known-safe ids)."""


class CardinalitySettings(_Strict):
    """Warning when a segment key has more distinct values than a segment should."""

    max_values: StrictInt = Field(default=50, ge=1)
    """More distinct values than this for one key suggests per-person values."""

    max_value_length: StrictInt = Field(default=100, ge=1)
    """A string value longer than this is a list or an id packed into one value."""


class ReferrerExtensions(_Strict):
    """Extra referrer domains per category, on top of the built-in lists."""

    social: tuple[NonEmptyText, ...] = ()
    """Domains that count as social networks."""

    search: tuple[NonEmptyText, ...] = ()
    """Domains that count as search engines."""

    aggregator: tuple[NonEmptyText, ...] = ()
    """Domains that count as news aggregators."""

    ai: tuple[NonEmptyText, ...] = ()
    """Domains that count as AI assistants."""

    other: tuple[NonEmptyText, ...] = ()
    """Domains that count as other, overriding a built-in list (for example
    `news.google.com`, which older Parse.ly reports count as other)."""


class StandardSettings(_Strict):
    """How standard segments (referrer, campaign, geography) are worked out."""

    internal_domains: tuple[NonEmptyText, ...] = ()
    """Domains whose referrals count as internal, besides the site's own."""

    referrers: ReferrerExtensions = ReferrerExtensions()
    """Extra referrer domains per category."""


class PageSettings(_Strict):
    """Page-load checks: duplicates and a tracker that never fires."""

    duplicate_window_ms: StrictInt = Field(default=2000, ge=0)
    """Two pageviews of the same URL within this many milliseconds are a duplicate."""

    tracker_timeout_ms: StrictInt = Field(default=5000, gt=0)
    """A page that loaded the tracker but sent no pageview within this many
    milliseconds is reported."""


def _document_standard_aliases(schema: dict[str, Any]) -> None:
    """List Parse.ly's names for each standard field in the JSON Schema too, so an
    editor accepts `utm_medium` wherever the loader does."""
    from inspector.standard import STANDARD_FIELD_ALIASES

    properties = schema.get("properties", {})
    for alias, field in STANDARD_FIELD_ALIASES.items():
        if alias in properties or field not in properties:
            continue
        properties[alias] = {
            **properties[field],
            "title": alias,
            "description": f"Parse.ly's name for `{field}`; give one of the two.",
        }


class ScenarioStandard(_Strict):
    """Standard segments a scenario expects (any left out are not checked).

    Parse.ly's own names are accepted for each field: the parameter names
    (`utm_medium`, `itm_source`) and the raw-data columns (`ref_category`,
    `ip_country`).
    """

    model_config = ConfigDict(
        **_Strict.model_config, json_schema_extra=_document_standard_aliases
    )

    @model_validator(mode="before")
    @classmethod
    def _accept_parsely_names(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        from inspector.standard import STANDARD_FIELD_ALIASES

        renamed: dict[Any, Any] = {}
        given_as: dict[str, str] = {}
        for key, item in value.items():
            name = key
            if isinstance(key, str) and key not in cls.model_fields:
                name = STANDARD_FIELD_ALIASES.get(key.strip().lower(), key)
            if name in given_as:
                raise PydanticCustomError(
                    "standard_field_twice",
                    "{first} and {second} both set the standard segment {name}",
                    {"first": given_as[name], "second": key, "name": name},
                )
            given_as[name] = str(key)
            renamed[name] = item
        return renamed

    referrer: ReferrerCategory | None = None
    """Referrer category: social, search, aggregator, ai, other, internal or direct."""

    campaign: str | None = None
    """Campaign name, from `utm_campaign` and the like."""

    medium: str | None = None
    """Campaign medium (`utm_medium` / `itm_medium`)."""

    source: str | None = None
    """Campaign source (`utm_source` / `itm_source`)."""

    content: str | None = None
    """Campaign content (`utm_content` / `itm_content`)."""

    term: str | None = None
    """Campaign term (`utm_term` / `itm_term`)."""

    country: NonEmptyText | None = None
    """Country from the visitor's IP address: an ISO code such as `US`, or a name."""

    continent: NonEmptyText | None = None
    """Continent from the visitor's IP address: a code such as `EU`, or a name."""

    subdivision: NonEmptyText | None = None
    """State, province or region from the visitor's IP address: a code or a name."""


class Scenario(_Strict):
    """A situation QA should reproduce, and what the pixels must show in it."""

    name: NonEmptyText
    """A short unique name, such as `anonymous` or `subscriber`."""

    description: str = ""
    """What the tester does to reproduce it."""

    segments: dict[str, Any] = {}
    """Key -> expected value; `null` means the key is sent as JSON null."""

    absent: tuple[NonEmptyText, ...] = ()
    """Keys that must not be sent at all in this scenario."""

    standard: ScenarioStandard = ScenarioStandard()
    """Expected standard segments."""


class Spec(_Strict):
    """What a site's Parse.ly pixels should carry."""

    version: Literal[1] = 1
    """The spec format version. Only 1 exists."""

    sites: tuple[SiteId, ...] = ()
    """The site ids (`idsite`) this spec applies to, as bare domains such as
    `example.com`; compared ignoring case. Empty: every site."""

    first_party_hosts: tuple[HostPattern, ...] = ()
    """Extra pixel hosts, for first-party tracking. `*.example.com` matches any
    subdomain."""

    unknown_keys: UnknownKeysPolicy = "warning"
    """What a custom key that is not declared under `segments` is: allow (nothing
    reported), info, warning or error."""

    null_convention: NullConventionSetting = None
    """How an unknown value is sent: `null` (the key is sent as JSON null) or `omit`
    (the key is left out). Leave out to accept either, as long as each key sticks to
    one."""

    pii: PiiSettings = PiiSettings()
    """Looking for personal data."""

    high_cardinality: CardinalitySettings = CardinalitySettings()
    """Warning about keys with too many distinct values."""

    segments: dict[SegmentKey, AnySegmentSpec] = {}
    """The custom segment keys, by name as sent in `data`."""

    scenarios: tuple[Scenario, ...] = ()
    """Situations to reproduce and what each must show."""

    standard: StandardSettings = StandardSettings()
    """Standard segments: referrer, campaign and geography."""

    pages: PageSettings = PageSettings()
    """Page-load checks."""

    _source: str = PrivateAttr(default="<default>")
    _warnings: tuple[SpecProblem, ...] = PrivateAttr(default=())
    _given: bool = PrivateAttr(default=True)

    @property
    def source(self) -> str:
        """Where the spec came from: its file path, or `<default>`."""
        return self._source

    @property
    def given(self) -> bool:
        """False for the built-in spec used when none is given (`default_spec`),
        so that messages do not speak of a spec the user never wrote; true for a
        loaded file and for a `Spec` built in Python."""
        return self._given

    @property
    def warnings(self) -> tuple[SpecProblem, ...]:
        """What the loaded file says that is legal but probably not meant, each at
        its line and column (`SpecProblem.warning` is true)."""
        return self._warnings

    def null_convention_for(self, key: str) -> NullConvention | None:
        """The convention a key follows: its own, else the spec-wide one, else None."""
        segment = self.segments.get(key)
        if segment is not None and segment.null_convention is not None:
            return segment.null_convention
        return self.null_convention

    def applies_to_site(self, idsite: str | None) -> bool:
        """Whether events of a site are judged against this spec."""
        return not self.sites or (idsite or "").lower() in self.sites

    @model_validator(mode="after")
    def _check_cross_references(self) -> Spec:
        problems: list[tuple[tuple[Any, ...], str, str]] = []
        problems.extend(self._segment_site_problems())
        problems.extend(self._scenario_problems())
        if problems:
            raise _problems(problems)
        return self

    def _segment_site_problems(self) -> Iterable[tuple[tuple[Any, ...], str, str]]:
        if not self.sites:
            return
        for key, segment in self.segments.items():
            if segment is None:  # declared, but its own problems are reported
                continue
            for index, site in enumerate(segment.sites):
                if site not in self.sites:
                    yield (
                        ("segments", key, "sites", index),
                        f"site {site!r} is not one of the spec's sites",
                        did_you_mean(site, self.sites) or "add it to `sites`",
                    )

    def _scenario_problems(self) -> Iterable[tuple[tuple[Any, ...], str, str]]:
        declared = list(self.segments)
        seen_names: dict[str, int] = {}

        for index, scenario in enumerate(self.scenarios):
            where = ("scenarios", index)
            if scenario.name is None:
                pass
            elif scenario.name in seen_names:
                yield (
                    (*where, "name"),
                    f"scenario name {scenario.name!r} is already used by "
                    f"scenarios[{seen_names[scenario.name]}]",
                    "",
                )
            else:
                seen_names[scenario.name] = index

            for key, value in scenario.segments.items():
                segment = self.segments.get(key)
                if key not in self.segments:
                    yield (
                        (*where, "segments", key, KEY),
                        f"{key!r} is not declared under `segments`",
                        did_you_mean(key, declared) or "declare it under `segments`",
                    )
                    continue
                if segment is None:
                    continue
                yield from self._scenario_value_problems(
                    (*where, "segments", key), key, segment, value
                )

            for absent_index, key in enumerate(scenario.absent):
                if not isinstance(key, str) or not key:
                    continue
                if key not in self.segments:
                    yield (
                        (*where, "absent", absent_index),
                        f"{key!r} is not declared under `segments`",
                        did_you_mean(key, declared) or "declare it under `segments`",
                    )
                elif key in scenario.segments:
                    yield (
                        (*where, "absent", absent_index),
                        f"{key!r} is listed as absent but also has an expected value",
                        "keep only one of the two",
                    )

    def _scenario_value_problems(
        self, loc: tuple[Any, ...], key: str, segment: SegmentSpec, value: Any
    ) -> Iterable[tuple[tuple[Any, ...], str, str]]:
        if value is None:
            if self.null_convention_for(key) == "omit":
                yield (
                    loc,
                    f"{key!r} follows the omit convention, so it is never sent as null",
                    "list it under `absent` instead",
                )
            return
        if not value_has_type(value, segment.type):
            yield (
                loc,
                f"{_yaml(value)} is {_kind_of(value)}, but {key!r} is a "
                f"{segment.type} segment",
                _type_hint(value, segment.type),
            )
            return
        if not segment.allows(value):
            # Only text can be misspelt: 12 is no near miss of an allowed 10.
            near = ""
            if isinstance(value, str):
                allowed_text = [v for v in segment.values or () if isinstance(v, str)]
                near = did_you_mean(value, allowed_text)
            yield (
                loc,
                f"{_yaml(value)} is not an allowed value of {key!r}",
                near or "allowed: " + ", ".join(_yaml(v) for v in segment.values or ()),
            )


@dataclass(frozen=True, slots=True)
class _ScenarioParts:
    """The parts of a scenario the cross-reference rules read, as far as valid."""

    name: str | None
    segments: Mapping[str, Any]
    absent: Sequence[Any]


class _SalvagedSpec:
    """What can be validated of a spec that failed, for its cross-references.

    pydantic runs `Spec`'s rules across fields only once every field is valid, so
    a misspelt key in one scenario would hide an undeclared key in another until
    the first was fixed. This rebuilds the parts those rules read (the sites, each
    segment that validates, each scenario's name, segments and absent keys) and
    runs the same rules on them. A segment that does not validate still counts as
    declared; its own rules run again without the keys that are wrong.
    """

    null_convention_for = Spec.null_convention_for
    _segment_site_problems = Spec._segment_site_problems
    _scenario_problems = Spec._scenario_problems
    _scenario_value_problems = Spec._scenario_value_problems

    def __init__(self, plain: Mapping[str, Any]) -> None:
        self.segment_failures: list[ValidationError] = []
        self.value_problems: list[tuple[tuple[Any, ...], str, str]] = []
        self.case_sensitive_valid_values: dict[str, list[tuple[int, Any]]] = {}
        """The right values of each case-sensitive key whose list holds wrong ones."""
        self.sites = _valid_or(tuple[SiteId, ...], plain.get("sites", ()), ())
        self.null_convention = _valid_or(
            NullConventionSetting, plain.get("null_convention"), None
        )
        segments = plain.get("segments")
        self.segments: dict[str, SegmentSpec | None] = {}
        if isinstance(segments, Mapping):
            for key, value in segments.items():
                self.segments[key] = self._segment(key, value)
        scenarios = plain.get("scenarios")
        self.scenarios = [
            _scenario_parts(item)
            for item in (scenarios if isinstance(scenarios, list) else ())
        ]

    def _segment(self, key: str, value: Any) -> SegmentSpec | None:
        try:
            return Spec.model_validate({"segments": {key: value}}).segments[key]
        except ValidationError as error:
            wrong = {
                detail["loc"][3]
                for detail in error.errors(include_url=False)
                if len(detail["loc"]) > 3
            }
        if not isinstance(value, Mapping) or "type" in wrong or "type" not in value:
            return None
        if "values" in wrong:
            self._repeats_among_valid_values(key, value)
        rest = {name: item for name, item in value.items() if name not in wrong}
        try:
            return Spec.model_validate({"segments": {key: rest}}).segments[key]
        except ValidationError as error:
            self.segment_failures.append(error)
            return None

    def _repeats_among_valid_values(self, key: str, segment: Mapping[str, Any]) -> None:
        """Repeated values in a list that also holds values that are wrong: the
        duplicate rule runs only once every value is valid."""
        values = segment.get("values")
        segment_type = segment.get("type")
        case_sensitive = segment.get("case_sensitive", True)
        if not isinstance(values, list) or segment_type not in typing.get_args(
            SegmentType
        ):
            return
        valid = [
            (index, item)
            for index, item in enumerate(values)
            if value_has_type(item, segment_type)
            and not (isinstance(item, float) and not math.isfinite(item))
        ]
        case_sensitive = case_sensitive if isinstance(case_sensitive, bool) else True
        self.value_problems.extend(
            (("segments", key, *loc), message, hint)
            for loc, message, hint in _repeated_values(valid, case_sensitive)
        )
        if case_sensitive:
            self.case_sensitive_valid_values[key] = valid

    def problems(self) -> list[tuple[tuple[Any, ...], str, str]]:
        return [
            *self.value_problems,
            *self._segment_site_problems(),
            *self._scenario_problems(),
        ]


def _valid_or(annotation: Any, value: Any, default: Any) -> Any:
    from pydantic import TypeAdapter

    try:
        return TypeAdapter(annotation).validate_python(value)
    except ValidationError:
        return default


def _scenario_parts(item: Any) -> _ScenarioParts:
    if not isinstance(item, Mapping):
        return _ScenarioParts(None, {}, ())
    name = item.get("name")
    segments = item.get("segments")
    absent = item.get("absent")
    return _ScenarioParts(
        name if isinstance(name, str) and name else None,
        segments if isinstance(segments, Mapping) else {},
        absent if isinstance(absent, list) else (),
    )


def _salvaged_problems(
    plain: Mapping[str, Any], document: Any, file: str
) -> list[SpecProblem]:
    """The problems `Spec`'s cross-field rules find in a spec that failed."""
    salvaged = _SalvagedSpec(plain)
    problems = []
    for loc, message, hint in salvaged.problems():
        line, column = _position(document, loc)
        problems.append(
            SpecProblem(file, line, column, _render_path(loc), message, hint)
        )
    for error in salvaged.segment_failures:
        problems.extend(_problems_from(error, document, file))
    return problems


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A "did you mean" hint for a near miss, or an empty string."""
    choices = [str(choice) for choice in choices]
    by_fold = {choice.casefold(): choice for choice in choices}
    if word.casefold() in by_fold:
        return f"did you mean {by_fold[word.casefold()]!r}?"
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def _problems(found: list[tuple[tuple[Any, ...], str, str]]) -> PydanticCustomError:
    """One pydantic error that carries several problems, each at its own location.

    A validator can raise only one error, but a cross-field rule may be broken in
    several places at once; `load_spec` expands `problems` into one report line each.
    """
    summary = "; ".join(message for _, message, _ in found)
    return PydanticCustomError(
        "spec_rules", "{summary}", {"summary": summary, "problems": found}
    )


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True, slots=True)
class SpecProblem:
    """One thing wrong with a spec file, with the place it was found."""

    file: str
    line: int
    """1-based line, 0 when the problem is with the file as a whole."""
    column: int
    """1-based column, 0 when unknown."""
    path: str
    """Where in the spec, such as `segments.plan.values[2]`; empty for syntax errors."""
    message: str
    hint: str = ""
    """How to fix it, such as `did you mean 'values'?`."""
    warning: bool = False
    """A spec that loads but may not mean what it says (`Spec.warnings`)."""

    def __str__(self) -> str:
        place = self.file
        if self.line:
            place += f":{self.line}:{self.column}"
        if self.warning:
            place += ": warning"
        text = (
            f"{place}: {self.path}: {self.message}"
            if self.path
            else (f"{place}: {self.message}")
        )
        return f"{text} ({self.hint})" if self.hint else text


class SpecError(Exception):
    """A spec file that cannot be used; `problems` lists everything wrong with it."""

    def __init__(
        self,
        problems: Sequence[SpecProblem],
        warnings: Sequence[SpecProblem] = (),
    ):
        self.problems = list(problems)
        self.warnings = list(warnings)
        """What would be warned about in the same file, for tools that list all."""
        super().__init__("\n".join(str(problem) for problem in self.problems))

    def all_in_file_order(self) -> list[SpecProblem]:
        """The problems and the warnings together, as they stand in the file."""
        return _in_file_order([*self.problems, *self.warnings])

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


# --------------------------------------------------------------------------- loading


def load_spec(path: str | PathLike[str], *, log_warnings: bool = True) -> Spec:
    """Read and validate a spec file.

    Its `warnings` are logged, one line each, unless `log_warnings` is false.

    Raises:
        SpecError: with every problem found, each at its file, line and column.
    """
    file = str(path)

    # Read the text.
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise SpecError([SpecProblem(file, 0, 0, "", "spec file not found")]) from None
    except IsADirectoryError:
        raise SpecError(
            [SpecProblem(file, 0, 0, "", "is a directory, not a spec file")]
        ) from None
    except OSError as error:
        raise SpecError(
            [SpecProblem(file, 0, 0, "", f"cannot read: {error.strerror}")]
        ) from None

    return parse_spec(_spec_text(data, file), file, log_warnings=log_warnings)


def _spec_text(data: bytes, file: str) -> str:
    """A spec file's bytes as text, line breaks as `\\n`; bytes that are not UTF-8
    are a problem at the first of them, naming the byte."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SpecError([_not_utf8_problem(data, error.start, file)]) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _not_utf8_problem(data: bytes, start: int, file: str) -> SpecProblem:
    """The problem of spec bytes whose first byte that is not UTF-8 is at `start`,
    at its line and column (counted in characters, as YAML's are)."""
    hint = "save the spec as UTF-8"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        message = "not UTF-8 text: it starts with the byte order mark of UTF-16"
        return SpecProblem(file, 1, 1, "", message, hint)

    before = data[:start].decode("utf-8").removeprefix("\ufeff")
    lines = before.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    byte = data[start]
    message = f"not UTF-8 text: byte 0x{byte:02X}"
    if b"\0" in data:
        hint = "the file holds NUL bytes, as binary files do: is it a spec?"
    else:
        # Text saved in another encoding: say which character the byte was meant as.
        as_windows_1252 = bytes([byte]).decode("cp1252", errors="replace")
        if as_windows_1252.isprintable() and as_windows_1252 != "\ufffd":
            message += f" ({as_windows_1252} in Windows-1252)"
    return SpecProblem(file, len(lines), len(lines[-1]) + 1, "", message, hint)


STDIN_SPEC = "-"
"""The `--spec` (and `spec check` file) that stands for standard input."""


def load_spec_argument(
    given: str | PathLike[str], *, log_warnings: bool = True
) -> Spec:
    """The spec a command line names: a file, or `-` for standard input.

    Standard input is named `<stdin>` in problems, and read up to MAX_SPEC_BYTES
    (and a byte more, to tell a spec that is too large), since a pipe may never
    end. Only a command that leaves standard input alone may offer `-`: the
    terminal UI reads its keys there.

    Raises:
        SpecError: as `load_spec` does.
    """
    if str(given) != STDIN_SPEC:
        return load_spec(given, log_warnings=log_warnings)

    from inspector.recordings import STDIN_LABEL

    def problem(message: str, hint: str = "") -> SpecError:
        return SpecError([SpecProblem(STDIN_LABEL, 0, 0, "", message, hint)])

    try:
        data = sys.stdin.buffer.read(MAX_SPEC_BYTES + 1)
    except OSError as error:
        raise problem(f"cannot read: {error.strerror}") from None
    if len(data) > MAX_SPEC_BYTES:
        raise problem(
            f"standard input holds more than {MAX_SPEC_BYTES / 1e6:g} MB; a spec "
            f"may be at most {MAX_SPEC_BYTES / 1e6:g} MB",
            "a site's spec is a few kilobytes: is this the right input?",
        )
    return parse_spec(
        _spec_text(data, STDIN_LABEL), STDIN_LABEL, log_warnings=log_warnings
    )


def parse_spec(text: str, file: str = "<spec>", *, log_warnings: bool = True) -> Spec:
    """Validate spec text; `file` names it in problems. Raises `SpecError`.

    Its `warnings` are logged, one line each, unless `log_warnings` is false.
    """
    # A byte order mark is no part of the YAML; libyaml's marks would count from
    # after it, ruamel.yaml's own from before.
    text = text.removeprefix("\ufeff")
    root, duplicates = _load_yaml(text, file)

    if root is None:
        raise SpecError(
            [
                SpecProblem(
                    file,
                    0,
                    0,
                    "",
                    "the spec is empty",
                    "run `segment-inspector spec init` for a starter",
                )
            ]
        )
    document = _Tree(root, text)
    converter = _PlainConverter(document)
    plain = converter.convert(root)
    if not isinstance(plain, dict) and not converter.unsupported:
        raise SpecError(
            [
                SpecProblem(
                    file,
                    1,
                    1,
                    "",
                    f"the spec must be a mapping of keys, not {_kind_of(plain)}",
                )
            ]
        )

    # Validate plain Python values; keep the node tree for positions. Duplicate
    # keys are reported together with everything else (the first value was kept).
    if converter.unsupported:
        unsupported_problems = []
        for unsupported in converter.unsupported:
            line, column = _position(document, unsupported.loc)
            unsupported_problems.append(
                SpecProblem(
                    file,
                    line,
                    column,
                    _render_path(unsupported.loc),
                    str(unsupported),
                    unsupported.hint,
                )
            )
        # What could be converted is still validated, short of the places above.
        if isinstance(plain, dict):
            unsupported_paths = [problem.path for problem in unsupported_problems]
            try:
                Spec.model_validate(plain)
            except ValidationError as error:
                unsupported_problems.extend(
                    problem
                    for problem in _validation_problems(error, plain, document, file)
                    if not any(
                        _within(problem.path, path) for path in unsupported_paths
                    )
                )
        raise SpecError(
            _in_file_order([*duplicates, *unsupported_problems]),
            _salvaged_warnings(plain, document, file),
        )
    try:
        spec = Spec.model_validate(plain)
    except ValidationError as error:
        problems = [*duplicates, *_validation_problems(error, plain, document, file)]
        raise SpecError(
            _in_file_order(problems), _salvaged_warnings(plain, document, file)
        ) from None
    warnings = list(
        _case_variant_warnings(_case_sensitive_values(spec.segments), document, file)
    )
    if duplicates:
        raise SpecError(duplicates, warnings)

    spec._source = file
    spec._warnings = tuple(warnings)
    if log_warnings:
        for warning in spec._warnings:
            logger.warning("%s", warning)
    logger.debug("loaded spec %s: %d segment keys", file, len(spec.segments))
    return spec


def _validation_problems(
    error: ValidationError, plain: Mapping[str, Any], document: Any, file: str
) -> list[SpecProblem]:
    """Every problem of a spec that failed validation, each once.

    Those of the cross-field rules are added to pydantic's, which would leave them
    out while another field is wrong.
    """
    problems = _problems_from(error, document, file)
    seen = {(problem.path, problem.message) for problem in problems}
    for problem in _salvaged_problems(plain, document, file):
        if (problem.path, problem.message) not in seen:
            seen.add((problem.path, problem.message))
            problems.append(problem)
    return problems


def _salvaged_warnings(plain: Any, document: Any, file: str) -> list[SpecProblem]:
    """The warnings about the segments that validate, in a spec that failed."""
    if not isinstance(plain, Mapping):
        return []
    salvaged = _SalvagedSpec(plain)
    segments = {
        key: segment
        for key, segment in salvaged.segments.items()
        if segment is not None
    }
    # A key whose list holds a wrong value keeps the values that are right.
    values_by_key = {
        **_case_sensitive_values(segments),
        **salvaged.case_sensitive_valid_values,
    }
    return _in_file_order(list(_case_variant_warnings(values_by_key, document, file)))


def _case_sensitive_values(
    segments: Mapping[str, SegmentSpec],
) -> dict[str, list[tuple[int, Any]]]:
    """The allowed values of each case-sensitive key, with their indexes."""
    return {
        key: list(enumerate(segment.values))
        for key, segment in segments.items()
        if segment.case_sensitive and segment.values
    }


def _case_variant_warnings(
    values_by_key: Mapping[str, Sequence[tuple[int, Any]]], document: Any, file: str
) -> Iterable[SpecProblem]:
    """Allowed values of a case-sensitive key that differ only by case.

    Parse.ly keeps `a` and `A` apart, so both may be allowed; but a value sent in
    a third spelling then differs by case from two allowed values, and the
    case-mismatch finding can name only one of them. `values_by_key` gives each
    case-sensitive key's values with their indexes in the file.
    """
    for key, values in values_by_key.items():
        first_by_fold: dict[str, tuple[int, str]] = {}
        for index, value in values:
            if not isinstance(value, str):
                continue
            first, first_value = first_by_fold.setdefault(
                value.casefold(), (index, value)
            )
            if first == index or first_value == value:
                continue
            loc = ("segments", key, "values", index)
            line, column = _position(document, loc)
            yield SpecProblem(
                file,
                line,
                column,
                _render_path(loc),
                f"{_yaml(value)} differs from {_yaml(first_value)} "
                f"(values[{first}]) only by case: both are allowed, but a value sent "
                "in any other case is reported against one of them only",
                "keep one spelling, unless the site sends both on purpose",
                warning=True,
            )


def _within(path: str, outer: str) -> bool:
    """Whether spec path `path` is `outer` or lies inside it."""
    if not outer:
        return True
    return path == outer or (path.startswith(outer) and path[len(outer)] in ".[")


def default_spec() -> Spec:
    """The spec used when none is given: no declared keys, unknown keys allowed."""
    spec = Spec(unknown_keys="allow")
    spec._given = False
    return spec


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema of the spec format, for editor completion and validation."""
    schema = Spec.model_json_schema()
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "Segment Inspector spec",
        **{key: value for key, value in schema.items() if key != "title"},
    }


MAX_SPEC_BYTES = 5_000_000
"""The largest spec file read, in bytes of UTF-8 (5 MB).

A site's spec is a few kilobytes: hundreds of keys and thousands of values. The
limit leaves room for a key that lists every section or author of a large site,
and refuses anything bigger before the YAML is parsed.
"""

MAX_SPEC_VALUES = 250_000
"""How many values (scalars, lists and mappings) a spec may hold, counting each
YAML alias (`*name`) as a copy of what it names.

That is room for a key with 100,000 allowed values and as much again elsewhere;
aliases of aliases (`&a [*b, *b, …]`) can make a small file stand for billions
of values, which would take forever to validate.
"""

MAX_SPEC_DEPTH = 64
"""How deeply mappings and lists may nest; a spec needs about five levels."""

_CORE_TAG = "tag:yaml.org,2002:"
_MERGE_TAG = _CORE_TAG + "merge"
_SCALAR_TAGS = frozenset(
    _CORE_TAG + name for name in ("str", "null", "bool", "int", "float", "timestamp")
)


def _load_yaml(text: str, file: str) -> tuple[Any, list[SpecProblem]]:
    """The YAML node tree of a spec, and a problem for every duplicated key.

    A file beyond MAX_SPEC_BYTES is refused before it is parsed; the nodes carry
    every line and column a report needs, at a fraction of the cost of ruamel's
    round-trip loader.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_SPEC_BYTES:
        raise SpecError(
            [
                SpecProblem(
                    file,
                    0,
                    0,
                    "",
                    f"the spec is {size / 1e6:.1f} MB; a spec may be at most "
                    f"{MAX_SPEC_BYTES / 1e6:g} MB",
                    "a site's spec is a few kilobytes: is this the right file?",
                )
            ]
        )

    root = _compose_checked(text, file)
    if root is None:
        return None, []
    return root, _duplicate_keys(root, file)


def _compose(text: str, file: str, *, pure: bool) -> Any:
    """Compose `text` with ruamel.yaml, for its messages; a YAML error becomes a
    `SpecError` at its place."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    try:
        return YAML(typ="safe", pure=pure).compose(text)
    except RecursionError:
        raise SpecError(
            [SpecProblem(file, 0, 0, "", "YAML nested too deeply to read")]
        ) from None
    except MarkedYAMLError as error:
        raise SpecError([_syntax_problem(error, file)]) from None
    except ReaderError as error:
        raise SpecError([_character_problem(error, text, file)]) from None
    except YAMLError as error:  # any other kind ruamel.yaml may add
        raise SpecError([SpecProblem(file, 0, 0, "", f"YAML error: {error}")]) from None


def _syntax_problem(error: Any, file: str) -> SpecProblem:
    mark = error.problem_mark or error.context_mark
    message = error.problem or error.context or "invalid YAML"
    if error.context and error.problem:
        context = error.context
        start = error.context_mark
        if start is not None and start is not mark:
            context += f" that starts at line {start.line + 1}, column "
            context += str(start.column + 1)
        message = f"{error.problem} ({context})"
    return SpecProblem(
        file,
        mark.line + 1 if mark else 0,
        mark.column + 1 if mark else 0,
        "",
        f"YAML syntax error: {message}",
    )


def _character_problem(error: Any, text: str, file: str) -> SpecProblem:
    """A character YAML does not allow in a file (NUL, ESC, DEL, U+FFFE...), at its
    line and column."""
    position = error.position
    line = text.count("\n", 0, position) + 1
    column = position - text.rfind("\n", 0, position)
    code = error.character
    kind = (
        "control character" if unicodedata.category(chr(code)) == "Cc" else "character"
    )
    escape = f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return SpecProblem(
        file,
        line,
        column,
        "",
        f"YAML syntax error: the {kind} U+{code:04X} is not allowed in a YAML "
        f"file; inside double quotes it can be written as {escape}",
    )


class _Node:
    """A YAML node: its resolved tag, value and where it starts.

    `value` is the text of a scalar, the items of a list, or the (key, value)
    node pairs of a mapping; `end_mark` is where it ends, once that is known.
    """

    __slots__ = ("tag", "value", "start_mark", "end_mark")

    def __init__(
        self, tag: str, value: Any, start_mark: Any, end_mark: Any = None
    ) -> None:
        self.tag = tag
        self.value = value
        self.start_mark = start_mark
        self.end_mark = end_mark


class ScalarNode(_Node):
    """A YAML scalar."""

    __slots__ = ()


class SequenceNode(_Node):
    """A YAML list."""

    __slots__ = ()


class MappingNode(_Node):
    """A YAML mapping."""

    __slots__ = ()


class _Open:
    """A list or mapping being composed, with the key waiting for its value."""

    __slots__ = ("node", "key", "size")

    def __init__(self, node: _Node) -> None:
        self.node = node
        self.key: _Node | None = None
        self.size = 1


def _compose_checked(text: str, file: str, *, pure: bool = False) -> Any:
    """The node tree of one YAML document, refused as soon as it is too large.

    The nodes are built from the parser's events without recursion, so that
    depth and size are checked as the document is read: an alias bomb is refused
    after counting, never expanding, and nesting beyond MAX_SPEC_DEPTH stops the
    reading where it starts.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml import events as ev
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.nodes import ScalarNode as RuamelScalar
    from ruamel.yaml.reader import ReaderError

    yaml = YAML(typ="safe", pure=pure)
    resolve = yaml.resolver.resolve
    resolved: dict[tuple[str, Any], str] = {}
    anchors: dict[str, _Node] = {}
    sizes: dict[int, int] = {}
    stack: list[_Open] = []
    root: _Node | None = None
    documents = 0
    written = 0
    expanded = 0

    def attach(node: _Node) -> None:
        nonlocal root
        if not stack:
            root = node
            return
        parent = stack[-1]
        parent.size += sizes[id(node)]
        if isinstance(parent.node, SequenceNode):
            parent.node.value.append(node)
        elif parent.key is None:
            parent.key = node
        else:
            parent.node.value.append((parent.key, node))
            parent.key = None

    def too_large() -> SpecError:
        if written <= MAX_SPEC_VALUES:
            message = (
                f"the spec's YAML aliases expand it to more than {MAX_SPEC_VALUES:,} "
                f"values, the most a spec may hold (the file itself writes {written:,} "
                "before that)"
            )
            hint = "check what the `*name` aliases repeat"
        else:
            message = (
                f"the spec holds more than {MAX_SPEC_VALUES:,} values, the most a "
                "spec may hold"
            )
            hint = "a site's spec has hundreds of keys and thousands of values"
        return SpecError([SpecProblem(file, 1, 1, "", message, hint)])

    def refused(mark: Any, message: str, hint: str = "") -> SpecError:
        """The one problem that stops the reading, at `mark`."""
        problem = SpecProblem(file, mark.line + 1, mark.column + 1, "", message, hint)
        return SpecError([problem])

    try:
        for event in yaml.parse(text):
            kind = type(event)
            if kind is ev.ScalarEvent:
                tag = event.tag
                if tag is None or tag == "!":
                    cache_key = (event.value, event.implicit)
                    tag = resolved.get(cache_key)
                    if tag is None:
                        tag = str(resolve(RuamelScalar, event.value, event.implicit))
                        if len(resolved) < 10_000:
                            resolved[cache_key] = tag
                node = ScalarNode(
                    str(tag), event.value, event.start_mark, event.end_mark
                )
                sizes[id(node)] = 1
                written += 1
                expanded += 1
            elif kind is ev.MappingStartEvent or kind is ev.SequenceStartEvent:
                mapping = kind is ev.MappingStartEvent
                tag = event.tag
                if tag is None or tag == "!":
                    tag = _CORE_TAG + ("map" if mapping else "seq")
                node = (MappingNode if mapping else SequenceNode)(
                    str(tag), [], event.start_mark
                )
                written += 1
                expanded += 1
                if expanded > MAX_SPEC_VALUES:
                    raise too_large()
                if len(stack) >= MAX_SPEC_DEPTH:
                    raise refused(
                        event.start_mark,
                        f"nested more than {MAX_SPEC_DEPTH} levels deep",
                    )
                if event.anchor is not None:
                    anchors[event.anchor] = node
                stack.append(_Open(node))
                continue
            elif kind is ev.MappingEndEvent or kind is ev.SequenceEndEvent:
                done = stack.pop()
                done.node.end_mark = event.end_mark
                sizes[id(done.node)] = done.size
                attach(done.node)
                continue
            elif kind is ev.AliasEvent:
                node = anchors.get(event.anchor)
                if node is None:
                    raise refused(
                        event.start_mark,
                        f"YAML syntax error: found undefined alias {event.anchor!r}",
                    )
                if id(node) not in sizes:
                    raise refused(
                        event.start_mark,
                        f"the alias *{event.anchor} repeats the list or mapping it "
                        "is part of",
                        "an alias may only repeat a value written before it",
                    )
                expanded += sizes[id(node)]
                if expanded > MAX_SPEC_VALUES:
                    raise too_large()
                attach(node)
                continue
            elif kind is ev.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    # The round-trip composer says so at the right place.
                    _compose(text, file, pure=True)
                continue
            else:
                continue

            # A scalar.
            if expanded > MAX_SPEC_VALUES:
                raise too_large()
            if event.anchor is not None:
                anchors[event.anchor] = node
            attach(node)
    except MarkedYAMLError as error:
        if not pure:
            # libyaml reads YAML 1.1, which refuses some YAML 1.2 (`[https://x/]`),
            # and its messages are terser: ruamel.yaml's own parser decides.
            return _compose_checked(text, file, pure=True)
        raise SpecError([_syntax_problem(error, file)]) from None
    except ReaderError as error:
        raise SpecError([_character_problem(error, text, file)]) from None
    except YAMLError as error:  # any other kind ruamel.yaml may add
        raise SpecError([SpecProblem(file, 0, 0, "", f"YAML error: {error}")]) from None
    if isinstance(root, ScalarNode) and root.tag == _CORE_TAG + "null":
        return None
    return root


def _duplicate_keys(root: Any, file: str) -> list[SpecProblem]:
    """Every key written twice in one mapping, found in the YAML node tree.

    Each is reported with the line of the key it repeats; the first value is the
    one that counts.
    """
    problems = []
    pending = [root] if root is not None else []
    visited: set[int] = set()
    while pending:
        node = pending.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))

        if isinstance(node, SequenceNode):
            pending.extend(node.value)
        elif isinstance(node, MappingNode):
            first_lines: dict[tuple[str, str], int] = {}
            for key, value in node.value:
                pending.append(value)
                if not isinstance(key, ScalarNode) or key.tag == _MERGE_TAG:
                    continue
                mark = key.start_mark
                identity = (str(key.tag), key.value)
                if identity not in first_lines:
                    first_lines[identity] = mark.line + 1
                    continue
                problems.append(
                    SpecProblem(
                        file,
                        mark.line + 1,
                        mark.column + 1,
                        "",
                        f"duplicate key {key.value!r} (first defined on line "
                        f"{first_lines[identity]})",
                        "each key may appear once per mapping",
                    )
                )
    return _in_file_order(problems)


def _in_file_order(problems: Iterable[SpecProblem]) -> list[SpecProblem]:
    return sorted(problems, key=lambda problem: (problem.line, problem.column))


class _KeyItself:
    """The type of KEY."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "KEY"


KEY = _KeyItself()
"""The last step of a location that names a mapping key itself, not its value:
a problem with the key (not text, unknown, misspelt, invalid) is placed there."""

_PYDANTIC_KEY_STEP = "[key]"
"""The step pydantic puts after a mapping key whose own validation failed."""


@dataclass(frozen=True, eq=False, slots=True)
class _KeyStep:
    """A step of a location through a mapping key that is not text (`1`, `true`,
    `[a, b]`): the key's own node, since such keys can compare equal in Python
    (`1 == True`), and the key as the file writes it."""

    node: Any
    written: str


class _UnsupportedYaml(ValueError):
    def __init__(self, message: str, loc: tuple[Any, ...], hint: str = ""):
        super().__init__(message)
        self.loc = loc
        self.hint = hint


class _PlainConverter:
    """Turns YAML nodes into plain dicts, lists and scalars.

    What cannot become a spec value (a `!tag`, a key that is not text) is
    collected in `unsupported`, every one of them, and left out of the result.
    Merge keys (`<<: *base`) are applied. The tree is known to be within
    MAX_SPEC_VALUES and MAX_SPEC_DEPTH.
    """

    def __init__(self, tree: _Tree) -> None:
        self.unsupported: list[_UnsupportedYaml] = []
        self._tree = tree

    def convert(self, root: Any) -> Any:
        return self._plain(root, ())

    def _plain(self, node: Any, loc: tuple[Any, ...]) -> Any:
        tag = str(node.tag)
        if isinstance(node, MappingNode):
            if tag != _CORE_TAG + "map":
                return self._tagged(loc)
            plain_map: dict[str, Any] = {}
            for key_node, value_node in _pairs(node):
                key = self._tree.key_value(key_node)
                if not isinstance(key, str):
                    written = self._tree.written(key_node)
                    self.unsupported.append(
                        _UnsupportedYaml(
                            f"keys must be text, not {_kind_of(key)} ({written})",
                            (*loc, _KeyStep(key_node, written), KEY),
                            f'quote it: "{written}"'
                            if isinstance(key_node, ScalarNode) and written
                            else "",
                        )
                    )
                    continue
                if key not in plain_map:
                    plain_map[key] = self._plain(value_node, (*loc, key))
            return plain_map
        if isinstance(node, SequenceNode):
            if tag != _CORE_TAG + "seq":
                return self._tagged(loc)
            return [
                self._plain(item, (*loc, index))
                for index, item in enumerate(node.value)
            ]
        if tag not in _SCALAR_TAGS:
            return self._tagged(loc)
        value = self._tree.scalar(node)
        if isinstance(value, float) and not math.isfinite(value):
            return self._not_finite(node, value, loc)
        return value

    def _tagged(self, loc: tuple[Any, ...]) -> None:
        self.unsupported.append(
            _UnsupportedYaml("YAML tags (`!name`) are not supported", loc)
        )

    def _not_finite(self, node: Any, value: float, loc: tuple[Any, ...]) -> None:
        """A number YAML reads as infinite or not-a-number (`1e999`, `.inf`, `.nan`).

        It is a problem wherever it stands: no setting takes one, and as an allowed
        or expected value it could never match, since a pixel's `data` is JSON and
        JSON has no such numbers.
        """
        written = self._tree.written(node)
        reads_as = "not a number" if math.isnan(value) else "infinity"
        if value < 0:
            reads_as = "minus infinity"
        self.unsupported.append(
            _UnsupportedYaml(
                f"{written} is not a finite number (YAML reads it as {reads_as}); a "
                "spec takes finite numbers only, as a pixel's JSON can carry no other",
                loc,
                f'give a finite number, or write "{written}" in quotes for text',
            )
        )


def _pairs(node: Any) -> list[tuple[Any, Any]]:
    """A mapping node's (key, value) nodes with merge keys applied.

    The mapping's own keys come first, then those merged in from `<<`, so that
    keeping the first of each key lets the own keys win, as YAML says.
    """
    own: list[tuple[Any, Any]] = []
    merged: list[tuple[Any, Any]] = []
    for key, value in node.value:
        if key.tag != _MERGE_TAG:
            own.append((key, value))
            continue
        sources = value.value if isinstance(value, SequenceNode) else [value]
        for source in sources:
            if isinstance(source, MappingNode):
                merged.extend(_pairs(source))
    return own + merged


# --------------------------------------------------------------------------- messages


def _problems_from(
    error: ValidationError, document: Any, file: str
) -> list[SpecProblem]:
    problems = []
    details = error.errors(include_url=False)
    for detail in list(details):
        if detail["type"] in _SEGMENT_TYPE_ERRORS:
            details.extend(_untyped_segment_details(detail))

    for detail in details:
        if detail["type"] == "spec_rules":
            base = _clean_loc(detail["loc"])[0]
            for relative, message, hint in detail["ctx"]["problems"]:
                loc = (*base, *relative)
                line, column = _position(document, loc)
                problems.append(
                    SpecProblem(file, line, column, _render_path(loc), message, hint)
                )
            continue
        problems.append(_problem_from(detail, document, file))

    problems.sort(key=lambda problem: (problem.line, problem.column))
    return problems


_SEGMENT_TYPE_ERRORS = frozenset({"union_tag_not_found", "union_tag_invalid"})
"""Errors of a segment without a usable `type`, which pydantic validates no further."""


def _untyped_segment_details(type_error: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The problems of a typeless segment's other keys, as pydantic error details.

    A segment without a known `type` cannot be validated by its type's model, so
    its other keys are checked against the fields every segment has. A misspelt
    `type` is left out: the type error already names it.
    """
    given = type_error.get("input")
    if not isinstance(given, Mapping):
        return []
    others = {
        key: value
        for key, value in given.items()
        if key != "type" and not did_you_mean(str(key), ["type"])
    }

    try:
        _UntypedSegment.model_validate(others)
    except ValidationError as error:
        return [
            {**detail, "loc": (*type_error["loc"], *detail["loc"])}
            for detail in error.errors(include_url=False)
        ]
    return []


def _problem_from(detail: Mapping[str, Any], document: Any, file: str) -> SpecProblem:
    kind = detail["type"]
    loc, annotation = _clean_loc(detail["loc"])
    loc = _standard_field_as_written(document, loc)
    context = detail.get("ctx") or {}
    given = detail.get("input")
    message = detail["msg"]
    hint = str(context.get("hint", "")) if isinstance(context, Mapping) else ""

    if kind == "extra_forbidden":
        known = _field_names(_clean_loc(loc[:-1])[1])
        message = f"unknown key {loc[-1]!r}"
        hint = did_you_mean(str(loc[-1]), known) or (
            "known keys: " + ", ".join(known) if known else ""
        )
        loc = (*loc, KEY)
    elif kind == "standard_field_twice":
        # Placed at the second name, the one to remove.
        loc = (*loc, context.get("second"), KEY)
    elif kind == "missing":
        message = f"{loc[-1]!r} is required"
    elif kind == "union_tag_not_found":
        message = "'type' is required: string, boolean or number"
        if isinstance(given, Mapping):
            # A misspelt `type` hides every other problem of this key.
            for key in given:
                near = did_you_mean(str(key), ["type"])
                if near and key != "type":
                    hint = f"{key!r} is not a known key; {near}"
                    break
    elif kind == "union_tag_invalid":
        loc = (*loc, "type")
        tag = str(context.get("tag", given))
        message = f"unknown segment type {_yaml(tag)}; use string, boolean or number"
        hint = _type_synonym(tag) or did_you_mean(tag, typing.get_args(SegmentType))
    elif kind == "literal_error":
        choices = [str(choice) for choice in _literal_choices(annotation)]
        message = f"{_yaml(given)} is not one of " + ", ".join(
            repr(choice) for choice in choices
        )
        if loc and loc[-1] == "version" and _yaml(given).strip('" ') == "1":
            message = f"the version must be the number 1, not {_kind_of(given)}"
            message += f" ({_yaml(given)})"
            hint = "write 1 without quotes"
        elif loc and loc[-1] == "version":
            message = f"unsupported spec version {_yaml(given)}; this tool reads "
            message += "version 1"
        elif isinstance(given, str):
            hint = did_you_mean(given, choices)
    elif kind in {"string_type"}:
        message = f"expected text, got {_kind_of(given)} ({_yaml(given)})"
        if isinstance(given, bool | int | float):
            hint = f'quote it: "{_yaml(given)}"'
        elif _is_nested_list_of_text(loc, given):
            # `sites: [[a, b]]`: one list too many.
            hint = f"list each as its own item: {loc[-2]}: [{', '.join(given)}]"
    elif kind in {"bool_type", "bool_parsing"}:
        message = f"expected true or false, got {_yaml(given)}"
    elif kind in {"int_type", "int_parsing", "int_from_float"}:
        message = f"expected a whole number, got {_yaml(given)}"
    elif kind in {"dict_type", "model_type", "model_attributes_type"}:
        message = f"expected a mapping of keys, got {_kind_of(given)} ({_yaml(given)})"
    elif kind in {"list_type", "tuple_type"}:
        message = f"expected a list, got {_kind_of(given)} ({_yaml(given)})"
        if isinstance(given, str):
            hint = f"write [{given}]"
    elif kind == "string_too_short":
        message = (
            "a key cannot be empty" if loc and loc[-1] is KEY else "cannot be empty"
        )
    elif kind in _BOUNDS:
        bound = context.get(_BOUNDS[kind][0])
        message = f"must be {_BOUNDS[kind][1]} {bound}, got {_yaml(given)}"

    line, column = _position(document, loc)
    return SpecProblem(file, line, column, _render_path(loc), message, hint)


def _standard_field_as_written(tree: _Tree, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """`loc` naming a scenario's standard field by the name the file gives it.

    Parse.ly's names (`utm_medium`) are read as the field they stand for
    (`medium`) before validation, so pydantic's location names a key the file may
    not write; the problem belongs at the name that is written.
    """
    if len(loc) < 4 or loc[0] != "scenarios" or loc[2] != "standard":
        return loc
    from inspector.standard import STANDARD_FIELD_ALIASES

    field = loc[3]
    node = tree.root
    for step in loc[:3]:
        found = tree.entry(node, step) if isinstance(node, MappingNode) else None
        if found is None and isinstance(node, SequenceNode) and isinstance(step, int):
            found = (None, node.value[step]) if step < len(node.value) else None
        if found is None:
            return loc
        node = found[1]
    if not isinstance(node, MappingNode) or field in tree.entries(node):
        return loc

    for key in tree.entries(node):
        if (
            isinstance(key, str)
            and STANDARD_FIELD_ALIASES.get(key.strip().lower()) == field
        ):
            return (*loc[:3], key, *loc[4:])
    return loc


def _is_nested_list_of_text(loc: Sequence[Any], given: Any) -> bool:
    """Whether an item of the list field at `loc[-2]` is itself a list of text."""
    return (
        len(loc) >= 2
        and isinstance(loc[-1], int)
        and isinstance(loc[-2], str)
        and isinstance(given, list)
        and bool(given)
        and all(isinstance(item, str) for item in given)
    )


_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "more than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}

_TYPE_SYNONYMS = {
    "str": "string",
    "text": "string",
    "enum": "string",
    "bool": "boolean",
    "int": "number",
    "integer": "number",
    "float": "number",
    "double": "number",
}


def _type_synonym(tag: str) -> str:
    meant = _TYPE_SYNONYMS.get(tag.strip().lower())
    return f"did you mean {meant!r}?" if meant else ""


def _unwrap(annotation: Any) -> Any:
    """Strip `Annotated` and `| None` from a type annotation."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation


def _segment_members(annotation: Any) -> dict[str, type[BaseModel]] | None:
    """The models of a union discriminated on `type`, by tag; None if not one."""
    if typing.get_origin(annotation) not in (Union, types.UnionType):
        return None
    members = {}
    for member in typing.get_args(annotation):
        if not (isinstance(member, type) and issubclass(member, BaseModel)):
            return None
        field = member.model_fields.get("type")
        if field is None:
            return None
        for tag in typing.get_args(_unwrap(field.annotation)):
            members[tag] = member
    return members


def _clean_loc(raw_loc: Sequence[Any]) -> tuple[tuple[Any, ...], Any]:
    """Drop pydantic's union-tag steps from a location, and write its marker of a
    mapping key's own problems as KEY; also return the type there."""
    annotation: Any = Spec
    clean: list[Any] = []
    after_dict_key = False

    for step in raw_loc:
        if after_dict_key and step == _PYDANTIC_KEY_STEP:
            # pydantic's `[key]` follows the key it is about; a mapping key
            # written `[key]` in the file stands where a key is expected.
            clean.append(KEY)
            break
        annotation = _unwrap(annotation)
        after_dict_key = typing.get_origin(annotation) is dict
        members = _segment_members(annotation)
        if members is not None:
            if step in members:
                annotation = members[step]
                continue
            annotation = None
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(step) if isinstance(step, str) else None
            annotation = field.annotation if field else None
        elif typing.get_origin(annotation) is dict:
            annotation = typing.get_args(annotation)[1]
        elif typing.get_origin(annotation) in (tuple, list):
            annotation = typing.get_args(annotation)[0]
        else:
            annotation = None
        clean.append(step)

    return tuple(clean), annotation


def _field_names(annotation: Any) -> list[str]:
    annotation = _unwrap(annotation)
    members = _segment_members(annotation)
    if members:
        names: list[str] = []
        for model in members.values():
            names.extend(name for name in model.model_fields if name not in names)
        return names
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _literal_choices(annotation: Any) -> tuple[Any, ...]:
    annotation = _unwrap(annotation)
    if typing.get_origin(annotation) is Literal:
        return typing.get_args(annotation)
    return ()


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _render_path(loc: Sequence[Any]) -> str:
    """`("segments", "plan", "values", 2)` -> `segments.plan.values[2]`."""
    text = ""
    for step in loc:
        if step is KEY:
            # The path already names the key.
            continue
        if isinstance(step, _KeyStep):
            text += f"[{step.written}]"
        elif isinstance(step, int):
            text += f"[{step}]"
        elif _PLAIN_KEY.match(str(step)):
            text += f".{step}" if text else str(step)
        else:
            # Invisible characters (a zero-width space) are written as escapes.
            quoted = _yaml(str(step))
            text += (
                "["
                + "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in quoted)
                + "]"
            )
    return text


class _Tree:
    """A spec's YAML node tree, with the lookups that place problems in it."""

    def __init__(self, root: Any, text: str = "") -> None:
        from ruamel.yaml import YAML

        self.root = root
        self._text = text
        self._constructor = YAML(typ="safe", pure=True).constructor
        self._entries: dict[int, dict[Any, tuple[Any, Any]]] = {}

    def written(self, node: Any) -> str:
        """A node as the file writes it (`1e999`, `[a, b]`), for messages; in YAML
        flow spelling when it spans lines."""
        end = node.end_mark
        if end is not None:
            text = self._text[node.start_mark.index : end.index].strip()
            if text and "\n" not in text:
                return text
        return _yaml(self.key_value(node))

    def key_value(self, node: Any) -> Any:
        """A mapping key as a Python value; lists become tuples, as in messages."""
        if isinstance(node, SequenceNode):
            return tuple(self.key_value(item) for item in node.value)
        if isinstance(node, MappingNode):
            return {str(key.value): self.key_value(value) for key, value in node.value}
        return self.scalar(node)

    def scalar(self, node: Any) -> Any:
        """A scalar node's value as JSON would have it (dates become ISO text)."""
        tag = str(node.tag)
        if tag == _CORE_TAG + "str" or tag not in _SCALAR_TAGS:
            return str(node.value)
        from ruamel.yaml.nodes import ScalarNode as RuamelScalar

        value = self._constructor.construct_object(RuamelScalar(tag, node.value))
        if isinstance(value, datetime.date | datetime.datetime):
            return value.isoformat()
        return value

    def entry(self, node: Any, step: Any) -> tuple[Any, Any] | None:
        """The (key node, value node) of mapping `node` at location step `step`."""
        if isinstance(step, _KeyStep):
            return next((pair for pair in _pairs(node) if pair[0] is step.node), None)
        if isinstance(step, typing.Hashable):
            return self.entries(node).get(step)
        return None

    def entries(self, node: Any) -> dict[Any, tuple[Any, Any]]:
        """A mapping node's (key node, value node) by key; the first of each."""
        found = self._entries.get(id(node))
        if found is None:
            found = {}
            for key, value in _pairs(node):
                identity = self.key_value(key)
                if isinstance(identity, typing.Hashable):
                    found.setdefault(identity, (key, value))
            self._entries[id(node)] = found
        return found


def _position(tree: _Tree, loc: Sequence[Any]) -> tuple[int, int]:
    """1-based line and column of the node at `loc`, or of its nearest parent.

    A location ending in KEY is placed at that mapping key, at any depth and in
    block or flow style alike; a mapping entry whose value is a list or mapping is
    placed at its key too; any other value at the value.
    """
    names_key = bool(loc) and loc[-1] is KEY
    steps = loc[:-1] if names_key else loc
    node = tree.root
    position = (0, 0)
    for index, step in enumerate(steps):
        last = index == len(steps) - 1
        if isinstance(node, MappingNode):
            entry = tree.entry(node, step)
            if entry is None:
                break
            key, child = entry
            container = isinstance(child, MappingNode | SequenceNode)
            use_key = names_key and last or container
            mark = key.start_mark if use_key else child.start_mark
        elif (
            isinstance(node, SequenceNode)
            and isinstance(step, int)
            and 0 <= step < len(node.value)
        ):
            child = node.value[step]
            mark = child.start_mark
        else:
            break
        position = (mark.line, mark.column)
        node = child

    line, column = position
    return line + 1, column + 1
