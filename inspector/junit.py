"""JUnit XML for CI systems: one test case per pixel event and per page load.

Jenkins, GitLab, GitHub Actions reporters and most other CI systems read this format,
so a tracking regression shows up next to the team's other test results. Findings at
or above the `fail_on` severity become `<failure>`s; milder ones go to the case's
`system-out` so they are visible without failing the build. Every event of a site
that the spec's `sites` leaves out says so on the last line of its `system-out`, as
the other reports mark every such event: a note, never a failure (the first such
event's `spec.site-not-covered` info finding fails only at `--fail-on info`).
Unreadable recording input becomes an `<error>` case, and no pixel event at all a
failing "pixel events found" case. The XML itself is written by the `junit-xml`
library.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from junit_xml import TestCase, TestSuite, to_xml_report_string

from inspector.model import Finding, Severity
from inspector.report import (
    NO_PIXELS_HINT,
    NOT_COVERED_NOTE,
    finding_message,
    make_masker,
    no_pixels_line,
    recordings_without_pixels,
)
from inspector.urls import split_url

if TYPE_CHECKING:
    from inspector.inspection import InspectionResult
    from inspector.recordings import RecordingError

SITE_NOT_COVERED_OUTPUT = f"{NOT_COVERED_NOTE}: only the built-in checks ran"
"""The last line of the `system-out` of each event of a site outside the spec."""


def render_junit(
    result: InspectionResult,
    errors: Sequence[RecordingError] = (),
    *,
    fail_on: Severity | str | None = Severity.ERROR,
    show_pii: bool = False,
    sources: Sequence[str] = (),
) -> str:
    """The inspection as a JUnit XML document.

    Args:
        result: what the inspection found.
        errors: recording problems, each reported as an errored test case.
        fail_on: the lowest severity that fails a case; None fails nothing.
        show_pii: keep personal data instead of masking it.
        sources: the recordings read, so that one of several without a pixel
            event gets its own failing "pixel events found in ..." case.
    """
    mask = make_masker(show_pii)
    threshold = Severity(fail_on) if fail_on is not None else None

    suites = [
        TestSuite("pixel events", list(_event_cases(result, threshold, mask))),
        TestSuite("page loads", list(_page_cases(result, threshold, mask))),
    ]
    if nothing := no_pixels_line(result):
        suites[0].test_cases.append(_no_pixels_case(nothing, threshold))
    for source in recordings_without_pixels(result, sources):
        suites[0].test_cases.append(
            _no_pixels_case(
                f"no pixel event in {source}",
                threshold,
                name=f"pixel events found in {source}",
            )
        )
    if errors:
        suites.append(TestSuite("recordings", list(_error_cases(errors))))
    return to_xml_report_string(suites, prettyprint=True, encoding="utf-8")


def _event_cases(result, threshold, mask) -> Iterable[TestCase]:
    for report in result.reports:
        event = report.event
        path = split_url(event.url or "").path or event.url or "?"
        case = TestCase(
            name=mask(f"{event.action or '?'} {path} [{event.id}]"),
            classname=f"pixels.{event.idsite or 'unknown-site'}",
            file=event.request.source or None,
        )
        _attach(case, report.findings, threshold, mask)
        if not report.site_covered:
            notes = [case.stdout] if case.stdout else []
            case.stdout = "\n".join([*notes, SITE_NOT_COVERED_OUTPUT])
        yield case


def _page_cases(result, threshold, mask) -> Iterable[TestCase]:
    diagnoses_by_page: dict[str, list[Finding]] = {}
    for diagnosis in result.diagnoses:
        key = str(getattr(diagnosis, "page_key", "") or "")
        diagnoses_by_page.setdefault(key, []).extend(diagnosis.findings)

    for page in result.pages:
        key = str(page.key)
        url = mask(str(getattr(page, "url", "") or ""))
        case = TestCase(
            name=f"page load {key}" + (f" {url}" if url else ""),
            classname=f"pages.{getattr(page, 'site', None) or 'unknown-site'}",
            file=getattr(page, "source", None) or None,
        )
        _attach(case, diagnoses_by_page.pop(key, []), threshold, mask)
        yield case

    # Diagnoses not tied to one page (scenario coverage, visitor-wide faults).
    for key, findings in diagnoses_by_page.items():
        case = TestCase(
            name=f"session {key}" if key else "session", classname="pages.session"
        )
        _attach(case, findings, threshold, mask)
        yield case


def _no_pixels_case(
    nothing: str, threshold: Severity | None, name: str = "pixel events found"
) -> TestCase:
    """A recording without pixels has nothing to pass: say so as a failure."""
    case = TestCase(name=name, classname="pixels")
    if threshold is None:
        case.stdout = f"{nothing}; {NO_PIXELS_HINT}"
    else:
        case.add_failure_info(
            message=nothing, output=NO_PIXELS_HINT, failure_type="no-pixel-events"
        )
    return case


def _error_cases(errors) -> Iterable[TestCase]:
    for error in errors:
        case = TestCase(name=f"read {error.label}", classname="recordings")
        case.add_error_info(message=str(error), error_type="unreadable-recording")
        yield case


def _attach(
    case: TestCase,
    findings: Iterable[Finding],
    threshold: Severity | None,
    mask: Callable[[str], str],
) -> None:
    failing: list[Finding] = []
    notes: list[str] = []
    for finding in findings:
        line = f"{finding.severity} {finding.code}: {finding_message(finding, mask)}"
        if threshold is not None and finding.severity >= threshold:
            failing.append(finding)
        notes.append(line)

    if failing:
        first = failing[0]
        summary = f"{first.code}: {finding_message(first, mask)}"
        if len(failing) > 1:
            summary += f" (and {len(failing) - 1} more)"
        details = "\n".join(_describe(finding, mask) for finding in failing)
        case.add_failure_info(message=summary, output=details, failure_type=first.code)
    if notes:
        case.stdout = "\n".join(notes)


def _describe(finding: Finding, mask: Callable[[str], str]) -> str:
    message = finding_message(finding, mask)
    text = f"{finding.severity} {finding.code}"
    if finding.path:
        # A page-level diagnosis belongs to the page load, not to one parameter.
        text += f" at {mask(finding.path)}"
    text += f": {message}"
    if finding.explanation:
        text += f"\n  {mask(finding.explanation)}"
    return text
