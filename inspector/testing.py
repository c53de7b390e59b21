"""Replay recordings in a test suite and assert on what their pixels carried.

`replay()` reads `.mitm`, HAR and request-list files, judges them against a spec and
returns a `Replay`: the events, findings, page loads, diagnoses, segment value counts
and scenario coverage, plus assertion helpers whose failures show the offending
events as a compact table rather than a dump::

    from inspector.testing import replay

    def test_checkout_tracking():
        session = replay("fixtures/checkout.har", spec="segments.yaml")
        session.assert_no_findings(at_least="warning")
        session.assert_segment("plan", "premium", on=["pageview", "heartbeat"])
        session.assert_scenarios_covered()

Every assertion fails on recordings without a single pixel event (see
`assert_pixels_found`): a test that checked nothing must not pass.

The pytest plugin (`inspector.pytest_plugin`) wraps this in the `segment_replay`
fixture, with the spec taken from `--segment-spec` or the `segment_spec` ini setting.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import TYPE_CHECKING, Any

from inspector.clock import clock_text
from inspector.model import FINDING_CODES, Finding, PixelEvent, Severity

if TYPE_CHECKING:
    from inspector.inspection import EventReport, InspectionResult
    from inspector.pages import PageDiagnosis, PageLoad
    from inspector.recordings import RecordingError
    from inspector.spec import Spec

ABSENT = "(absent)"
"""How a key that was not sent at all is shown in failure tables."""

_MAX_TABLE_ROWS = 20
_MAX_COMBINATIONS = 5
"""Distinct value combinations listed under a scenario that was not seen."""
_URL_WIDTH = 48
_VALUE_WIDTH = 60
"""Segment keys and values in tables are cut here, so one huge value does not pad
every row of the table to its length."""
_MESSAGE_WIDTH = 300
NO_SPEC_HINT = (
    "give one with spec= (to replay() or segment_replay()), --segment-spec or the "
    "segment_spec ini setting"
)
"""How to give a spec, for failures that need one."""


class ReplayError(Exception):
    """A recording could not be read, so the replay cannot be trusted."""


def replay(
    *paths: str | PathLike[str],
    spec: str | PathLike[str] | Spec | None = None,
    geoip_db: str | PathLike[str] | None = None,
    allow_unreadable: bool = False,
    show_pii: bool = False,
) -> Replay:
    """Judge recorded sessions against a spec.

    Args:
        paths: `.mitm`, `.har` or request-list files, or lists of them. Each file
            is a capture of its own: page loads and visitors never span two files.
        spec: a spec file, a loaded `Spec`, or None for the built-in default.
        geoip_db: a MaxMind database for the geography standard segment.
        allow_unreadable: keep going when part of a recording cannot be read;
            by default that raises `ReplayError`, naming the file and entry.
        show_pii: show personal data in failure messages instead of masking it.
    """
    from inspector.inspection import Inspection
    from inspector.recordings import load_requests, recording_labels
    from inspector.spec import Spec, load_spec

    files = [
        item
        for path in paths
        for item in (path if isinstance(path, list | tuple) else (path,))
    ]
    if not files:
        raise ReplayError("replay() needs at least one recording")

    loaded_spec = spec if isinstance(spec, Spec) or spec is None else load_spec(spec)
    requests, errors = load_requests([str(path) for path in files])
    if errors and not allow_unreadable:
        raise ReplayError("\n".join(str(error) for error in errors))

    inspection = Inspection(
        loaded_spec, geoip_db=str(geoip_db) if geoip_db is not None else None
    )
    result = inspection.process_all(requests)
    return Replay(
        result=result,
        errors=list(errors),
        spec=inspection.spec,
        show_pii=show_pii,
        sources=recording_labels(files),
    )


@dataclass
class Replay:
    """What a replay found, with assertions that explain their failures."""

    result: InspectionResult
    errors: list[RecordingError]
    spec: Spec
    show_pii: bool = False
    sources: list[str] = field(default_factory=list)
    """The recordings replayed, as ids and messages name them."""

    @property
    def reports(self) -> list[EventReport]:
        return list(self.result.reports)

    @property
    def events(self) -> list[PixelEvent]:
        return self.result.events

    @property
    def findings(self) -> list[Finding]:
        return self.result.findings

    @property
    def pages(self) -> list[PageLoad]:
        return self.result.pages

    @property
    def diagnoses(self) -> list[PageDiagnosis]:
        return self.result.diagnoses

    @property
    def segment_counts(self) -> dict[str, dict[str, int]]:
        return {key: dict(counts) for key, counts in self.result.segment_counts.items()}

    @property
    def scenario_coverage(self) -> dict[str, list[str]]:
        return self.result.scenario_coverage

    @property
    def standard_counts(self) -> dict[str, dict[str, int]]:
        """Pageviews per standard segment value (`referrer`, `medium`, `country`)."""
        return {
            name: dict(counts) for name, counts in self.result.standard_counts.items()
        }

    def events_of(self, *actions: str) -> list[PixelEvent]:
        """The events whose action is one of `actions` (all events when none)."""
        if not actions:
            return self.events
        return [event for event in self.events if event.action in actions]

    def findings_at_least(
        self, severity: Severity | str
    ) -> list[tuple[PixelEvent | None, Finding]]:
        """Each finding at or above `severity`, with its event when it has one."""
        threshold = _severity(severity)
        found: list[tuple[PixelEvent | None, Finding]] = []
        for report in self.result.reports:
            for finding in report.findings:
                if finding.severity >= threshold:
                    found.append((report.event, finding))
        events_by_id = {event.id: event for event in self.events}
        for diagnosis in self.result.diagnoses:
            for finding in diagnosis.findings:
                if finding.severity >= threshold:
                    found.append((events_by_id.get(finding.event_id or ""), finding))
        return found

    # Assertions ------------------------------------------------------------------

    def assert_pixels_found(self) -> None:
        """Fail when the recordings, or one of several, hold no pixel event: then
        nothing (in it) was checked."""
        __tracebackhide__ = True  # pytest shows the message, not this frame
        from inspector.report import no_pixels_line, recordings_without_pixels

        nothing = no_pixels_line(self.result)
        if nothing is None:
            empty = recordings_without_pixels(self.result, self.sources)
            if not empty:
                return
            nothing = f"no pixel event in {', '.join(empty)}"
        where = (
            "list it under first_party_hosts in the spec"
            if self.spec.given
            else "give a spec that lists it under first_party_hosts"
        )
        raise AssertionError(
            f"no pixels were found ({nothing}), so there is nothing to assert on: "
            f"if the site sends its pixels to a first-party host, {where}"
        )

    def assert_no_findings(
        self, at_least: Severity | str = Severity.ERROR, *, ignore: Iterable[str] = ()
    ) -> None:
        """Fail when any finding reaches `at_least`, except codes in `ignore`.

        A code in `ignore` that no check gives raises ValueError.
        """
        __tracebackhide__ = True  # pytest shows the message, not this frame
        ignored = set(ignore)
        for code in ignored:
            _known_code(code, FINDING_CODES, "finding")
        self.assert_pixels_found()
        offending = [
            (event, finding)
            for event, finding in self.findings_at_least(at_least)
            if finding.code not in ignored
        ]
        if not offending:
            return

        rows = [
            self._row(
                event, finding=f"{finding.severity} {finding.code}: {finding.message}"
            )
            for event, finding in offending
        ]
        raise AssertionError(
            f"{len(offending)} finding(s) at or above {_severity(at_least)}:\n"
            + _table(rows, ("time", "action", "url", "segments", "finding"))
        )

    def assert_segment(
        self, key: str, value: Any, *, on: str | Sequence[str] = ("pageview",)
    ) -> None:
        """Fail unless every event of the kinds in `on` sent `key` equal to `value`.

        `on` is one event kind (`"heartbeat"`) or several. Types count: `True` is
        not `"true"`, and `None` (JSON null) is not a key that was left out.
        """
        __tracebackhide__ = True  # pytest shows the message, not this frame
        on = (on,) if isinstance(on, str) else tuple(on)
        self.assert_pixels_found()
        self._known_key(key)
        self._known_kinds(on)
        events = self.events_of(*on)
        if not events:
            raise AssertionError(
                f"no {'/'.join(on)} events in the recording, so {key!r} was never sent"
            )

        wrong = [
            event
            for event in events
            if key not in event.segments or not _same_json(event.segments[key], value)
        ]
        if not wrong:
            return

        expected = _json(value)
        rows = [self._row(event, focus=key) for event in wrong]
        raise AssertionError(
            f"{len(wrong)} of {len(events)} {'/'.join(on)} event(s) did not send "
            f"{key}={expected}:\n"
            + _table(rows, ("time", "action", "url", key, "finding"))
        )

    def assert_scenarios_covered(self, *names: str) -> None:
        """Fail unless every named scenario (all of the spec's by default) was seen."""
        __tracebackhide__ = True  # pytest shows the message, not this frame
        self.assert_pixels_found()
        coverage = self.result.scenario_coverage
        wanted = list(names) or list(coverage)
        if not wanted:
            # Nothing to check would pass whatever the recording holds.
            if not self.spec.given:
                raise AssertionError(
                    f"no spec was given, so there are no scenarios to check; "
                    f"{NO_SPEC_HINT}"
                )
            raise AssertionError(
                "the spec declares no scenarios, so there is nothing to check: "
                "add them under scenarios: in the spec"
            )
        unknown = [name for name in wanted if name not in coverage]
        if unknown and not self.spec.given:
            raise AssertionError(
                f"no spec was given, so there are no scenarios: {', '.join(unknown)}; "
                f"{NO_SPEC_HINT}"
            )
        if unknown:
            raise AssertionError(
                f"scenario(s) not in the spec: {', '.join(unknown)}; "
                f"the spec names: {', '.join(coverage) or 'none'}"
            )

        missing = [name for name in wanted if not coverage[name]]
        if not missing:
            return

        from inspector.diagnoses import describe_scenario_conditions

        scenarios = {scenario.name: scenario for scenario in self.spec.scenarios}
        lines = [f"{len(missing)} of {len(wanted)} scenario(s) never seen:"]
        for name in missing:
            scenario = scenarios.get(name)
            description = getattr(scenario, "description", None) or ""
            lines.append(f"  - {name}" + (f": {description}" if description else ""))
            if scenario is None:
                continue
            conditions = describe_scenario_conditions(scenario)
            if conditions:
                lines.append(f"    needs a pageview with {conditions}")
            lines.extend(self._pageviews_sent(scenario))
        seen = [name for name in wanted if coverage[name]]
        if seen:
            lines.append("seen: " + ", ".join(seen))
        raise AssertionError("\n".join(lines))

    def assert_no_diagnosis(self, code: str | None = None) -> None:
        """Fail when a page-level diagnosis (of `code`, or of any kind) was made.

        A `code` that no diagnosis has raises ValueError, so a typo cannot pass.
        """
        __tracebackhide__ = True  # pytest shows the message, not this frame
        if code is not None:
            from inspector.diagnoses import DIAGNOSIS_CODES

            _known_code(code, DIAGNOSIS_CODES, "diagnosis")
        self.assert_pixels_found()
        found = [
            diagnosis
            for diagnosis in self.result.diagnoses
            if (code is None or diagnosis.code == code)
            and diagnosis.code != "scenario.not-covered"
        ]
        if not found:
            return

        events_by_id = {event.id: event for event in self.events}
        rows = []
        for diagnosis in found:
            evidence = [
                events_by_id[i] for i in diagnosis.evidence if i in events_by_id
            ]
            label = f"{diagnosis.severity} {diagnosis.code}: {diagnosis.title}"
            if not evidence:
                rows.append(("", "", "", "", self._clip(label, _MESSAGE_WIDTH)))
            for event in evidence:
                rows.append(self._row(event, finding=label))
        raise AssertionError(
            f"{len(found)} page-level diagnosis(es)"
            + (f" of kind {code}" if code else "")
            + ":\n"
            + _table(rows, ("time", "action", "url", "segments", "diagnosis"))
        )

    def assert_readable(self) -> None:
        """Fail when part of a recording could not be read."""
        __tracebackhide__ = True  # pytest shows the message, not this frame
        if self.errors:
            raise AssertionError(
                "unreadable recording input:\n"
                + "\n".join(f"  {error}" for error in self.errors)
            )

    def _known_key(self, key: str) -> None:
        """Fail on a key neither the spec declares nor any event sent: a typo."""
        __tracebackhide__ = True  # pytest shows the message, not this frame
        if key in self.spec.segments or key in self.result.segment_counts:
            return
        from inspector.spec import did_you_mean

        known = sorted({*self.spec.segments, *self.result.segment_counts})
        hint = did_you_mean(key, known) or (
            "known keys: " + (", ".join(known) if known else "none")
        )
        if self.spec.given:
            problem = "is not declared in the spec and no event sent it"
        else:
            problem = "was sent by no event (no spec was given to declare keys)"
        raise AssertionError(f"{self._mask(key)!r} {problem}; " + self._mask(hint))

    def _known_kinds(self, kinds: Sequence[str]) -> None:
        """Fail on an event kind that no tracker sends and no event has: a typo."""
        __tracebackhide__ = True  # pytest shows the message, not this frame
        from inspector.spec import KNOWN_EVENT_KINDS, did_you_mean

        seen = {event.action for event in self.events if event.action}
        for kind in kinds:
            if kind in KNOWN_EVENT_KINDS or kind in seen:
                continue
            known = sorted({*KNOWN_EVENT_KINDS, *seen})
            hint = did_you_mean(kind, known) or "event kinds: " + ", ".join(known)
            raise AssertionError(
                f"no event has the kind {kind!r}, and no tracker sends it; {hint}"
            )

    # Formatting ------------------------------------------------------------------

    def _pageviews_sent(self, scenario: Any) -> list[str]:
        """What the pageviews sent for the keys a scenario looks at, most common
        combinations first, so the near misses show."""
        from inspector.coverage import GEOIP_DB_NEEDED, geography_notes
        from inspector.diagnoses import standard_conditions
        from inspector.standard import canonical_standard_key, standard_fields

        keys = [*(scenario.segments or {}), *scenario.absent]
        standard_keys = list(standard_conditions(scenario))
        combinations: Counter[str] = Counter()
        for report in self.result.reports:
            if report.event.action != "pageview":
                continue
            segments = report.event.segments
            parts = [
                f"{key}={_json(segments[key]) if key in segments else ABSENT}"
                for key in keys
            ]
            if standard_keys and report.standard is not None:
                fields = standard_fields(report.standard)
                for key in standard_keys:
                    value = fields.get(canonical_standard_key(key))
                    parts.append(f"{key}={_json(value) if value else ABSENT}")
            combinations[" ".join(parts)] += 1
        if not combinations:
            return ["    no pageview was recorded"]

        total = sum(combinations.values())
        lines = [f"    the {total} pageview(s) sent:"]
        for shown, count in combinations.most_common(_MAX_COMBINATIONS):
            shown = self._clip(shown, _MESSAGE_WIDTH)
            lines.append(f"      {shown or '(nothing)'}  ×{count}")
        if len(combinations) > _MAX_COMBINATIONS:
            lines.append(f"      … and {len(combinations) - _MAX_COMBINATIONS} more")
        why = geography_notes([scenario], {}, self.result.reports)
        if why.get(scenario.name) == GEOIP_DB_NEEDED:
            lines.append(
                "    no pageview has a location: replay with geoip_db=PATH "
                "(a MaxMind .mmdb) to check geography"
            )
        elif why:
            lines.append(
                "    no pageview has a location: their client addresses are missing, "
                "private or not in the GeoIP database"
            )
        return lines

    def _row(
        self,
        event: PixelEvent | None,
        *,
        focus: str | None = None,
        finding: str = "",
    ) -> tuple[str, str, str, str, str]:
        if event is None:
            return ("", "", "", "", self._clip(finding, _MESSAGE_WIDTH))

        if focus is not None:
            shown = (
                self._clip(_json(event.segments[focus]), _VALUE_WIDTH)
                if focus in event.segments
                else ABSENT
            )
            related = [f for f in event.findings if f.path == f"data.{focus}"]
            if not finding and related:
                finding = f"{related[0].code}: {related[0].message}"
        else:
            shown = (
                " ".join(
                    f"{self._clip(key, _VALUE_WIDTH)}="
                    f"{self._clip(_json(value), _VALUE_WIDTH)}"
                    for key, value in event.segments.items()
                )
                or ABSENT
            )
        return (
            clock_text(event.timestamp),
            event.action or "?",
            # Masked before it is cut, so that a cut never splits an address
            # out of sight of the mask.
            _shorten(self._clip(event.url or "", _URL_WIDTH), _URL_WIDTH),
            shown,
            self._clip(finding, _MESSAGE_WIDTH),
        )

    def _clip(self, text: str, width: int) -> str:
        """`text` masked and cut as the text report cuts it: `…(100002 chars)`."""
        from inspector.report import clip

        return clip(text, width, self._mask)

    def _mask(self, text: str) -> str:
        if self.show_pii or not text:
            return text
        from inspector.pii import mask

        return mask(text)


def _known_code(code: str, known: Iterable[str], what: str) -> None:
    """Raise ValueError for a code that is not a known one, with a did-you-mean."""
    if code in known:
        return
    from inspector.spec import did_you_mean

    known = sorted(known)
    hint = did_you_mean(code, known) or f"the {what} codes are " + ", ".join(known)
    raise ValueError(f"{code!r} is not a {what} code; {hint}")


def _severity(value: Severity | str) -> Severity:
    """A severity from its name, in any case; a wrong name says which exist."""
    try:
        return Severity(str(value).strip().lower())
    except ValueError:
        names = ", ".join(repr(str(severity)) for severity in Severity)
        raise ValueError(f"{value!r} is not a severity: use one of {names}") from None


def _same_json(sent: Any, expected: Any) -> bool:
    """Equality as JSON sees it: `True` differs from `1`, `1` equals `1.0`."""
    if isinstance(sent, bool) or isinstance(expected, bool):
        both_bool = isinstance(sent, bool) and isinstance(expected, bool)
        return both_bool and sent == expected
    return sent == expected


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    from inspector.report import escape_controls

    # Text from the traffic is shown, never obeyed by the terminal.
    header = tuple(escape_controls(cell) for cell in header)
    shown = [
        tuple(escape_controls(cell) for cell in row) for row in rows[:_MAX_TABLE_ROWS]
    ]
    widths = [
        max(len(header[i]), *(len(row[i]) for row in shown)) for i in range(len(header))
    ]
    # The last column carries messages; let it run long rather than pad it.
    widths[-1] = 0
    lines = ["  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    for row in shown:
        lines.append(
            "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
        )
    if len(rows) > len(shown):
        lines.append(f"  … and {len(rows) - len(shown)} more")
    return "\n".join(line.rstrip() for line in lines)
