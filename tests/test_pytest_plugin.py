"""The pytest plugin, exercised through pytest's own `pytester`."""

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "fixtures" / "recordings" / "demo.har"
EXAMPLE_SPEC = ROOT / "fixtures" / "specs" / "example.yaml"


# Plugins of this suite that the user's test runs never use: Hypothesis' spends
# seconds in its summary hook, and pytest-asyncio warns about a setting it lacks.
QUIET = ("-p", "no:hypothesispytest", "-p", "no:asyncio")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A user's project: one recording and one spec, beside their tests."""
    shutil.copy(DEMO, pytester.path / "session.har")
    shutil.copy(EXAMPLE_SPEC, pytester.path / "segments.yaml")
    return pytester


def test_plugin_is_registered_through_the_entry_point(pytester: pytest.Pytester):
    result = pytester.runpytest("--help", *QUIET)

    result.stdout.fnmatch_lines(["*segment-inspector*", "*--segment-spec=FILE*"])


def test_passing_suite(project: pytest.Pytester):
    project.makepyfile(
        test_tracking="""
        def test_subscriber_scenario_is_tracked(segment_replay):
            session = segment_replay("session.har", spec="segments.yaml")
            session.assert_scenarios_covered("subscriber")
            session.assert_no_diagnosis("page.duplicate-pageview")
        """
    )

    result = project.runpytest(*QUIET)

    result.assert_outcomes(passed=1)


def test_failing_suite_reads_well(project: pytest.Pytester):
    project.makepyfile(
        test_tracking="""
        def test_every_pageview_is_premium(segment_replay):
            session = segment_replay("session.har", spec="segments.yaml")
            session.assert_segment("plan", "premium")
        """
    )

    result = project.runpytest(*QUIET)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            '*7 of 9 pageview event(s) did not send plan="premium":*',
            "*time*action*url*plan*finding*",
            '*pageview*https://www.example.com/*"basic"*',
        ]
    )
    output = result.stdout.str()
    assert "Traceback" not in output
    assert "self = Replay(" not in output, "the helper's own frame is hidden"
    assert "def assert_segment" not in output


def test_spec_from_the_command_line(project: pytest.Pytester):
    project.makepyfile(
        test_tracking="""
        def test_no_errors(segment_replay):
            segment_replay("session.har").assert_no_findings(at_least="error")
        """
    )

    with_default_spec = project.runpytest(*QUIET)
    with_option = project.runpytest("--segment-spec", "segments.yaml", *QUIET)

    with_default_spec.assert_outcomes(failed=1)
    with_option.assert_outcomes(failed=1)
    assert "segment.required-missing" not in with_default_spec.stdout.str()
    with_option.stdout.fnmatch_lines(["*segment.required-missing*logged_in*"])


def test_a_key_no_event_sent_without_a_spec_speaks_of_no_spec(
    project: pytest.Pytester,
):
    project.makepyfile(
        test_tracking="""
        def test_plan(segment_replay):
            segment_replay("session.har").assert_segment("plna", "premium")
        """
    )

    result = project.runpytest(*QUIET)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*'plna' was sent by no event (no spec was given to declare keys); "
            "did you mean 'plan'?*"
        ]
    )
    assert "in the spec" not in result.stdout.str()


def test_spec_from_the_ini_file(project: pytest.Pytester):
    project.makeini(
        """
        [pytest]
        segment_spec = segments.yaml
        """
    )
    project.makepyfile(
        test_tracking="""
        def test_spec_is_picked_up(segment_replay, segment_spec):
            assert segment_spec.name == "segments.yaml"
            session = segment_replay("session.har")
            assert "anonymous" in session.scenario_coverage
        """
    )

    result = project.runpytest(*QUIET)

    result.assert_outcomes(passed=1)


def test_changed_spec_gives_a_readable_failure(project: pytest.Pytester):
    spec = project.path / "segments.yaml"
    spec.write_text(
        spec.read_text().replace("[basic, premium, subscriber]", "[basic, subscriber]")
    )
    project.makepyfile(
        test_tracking="""
        def test_no_errors(segment_replay):
            session = segment_replay("session.har", spec="segments.yaml")
            session.assert_no_findings(at_least="error", ignore=["pii.email"])
        """
    )

    result = project.runpytest(*QUIET)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*segment.value-not-allowed*premium*"])


def test_broken_spec_fails_the_test_with_its_location(project: pytest.Pytester):
    (project.path / "segments.yaml").write_text(
        "segments:\n  plan:\n    type: string\n    vaules: [basic]\n"
    )
    project.makepyfile(
        test_tracking="""
        def test_uses_spec(segment_replay):
            segment_replay("session.har", spec="segments.yaml")
        """
    )

    result = project.runpytest(*QUIET)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*segments.yaml:4:5: segments.plan.vaules*did you mean 'values'*"]
    )
    assert "Traceback" not in result.stdout.str()
    assert "During handling" not in result.stdout.str()


def test_a_missing_recording_names_where_it_was_looked_for(project: pytest.Pytester):
    project.mkdir("tests")
    (project.path / "tests" / "test_tracking.py").write_text(
        "def test_replay(segment_replay):\n"
        '    segment_replay("checkout.mitm", spec="segments.yaml")\n'
    )

    result = project.runpytest(*QUIET)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            f"recording checkout.mitm not found: looked for "
            f"{project.path}/tests/checkout.mitm or {project.path}/checkout.mitm"
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_a_bad_recording_is_named_without_its_folder(project: pytest.Pytester):
    project.mkdir("tests")
    (project.path / "tests" / "pasted.txt").write_text("GET http://[::1\n")
    (project.path / "tests" / "test_tracking.py").write_text(
        "def test_replay(segment_replay):\n"
        '    segment_replay("pasted.txt", spec="segments.yaml")\n'
    )

    result = project.runpytest(*QUIET)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["pasted.txt: line 1: `http://[::1` is not a valid URL (*); request skipped"]
    )
    assert f"{project.path}/tests/pasted.txt" not in result.stdout.str()


def test_a_bad_recording_is_reported_with_control_characters_escaped(
    project: pytest.Pytester,
):
    # A lone ESC: no terminal sequence, which reading would take out.
    (project.path / "pasted.txt").write_text(
        "not a request \x1b\x07, in a line long enough for text\n"
    )
    (project.path / "test_tracking.py").write_text(
        "def test_replay(segment_replay):\n"
        '    segment_replay("pasted.txt", spec="segments.yaml")\n'
    )

    result = project.runpytest(*QUIET)

    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "not a request \\x1b\\x07" in output
    assert "\x1b\x07" not in output


def _readme_section(title: str) -> str:
    readme = (ROOT / "README.md").read_text()
    return readme.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def _fenced_blocks(text: str, language: str) -> list[str]:
    blocks = text.split(f"```{language}\n")[1:]
    return [block.split("```", 1)[0] for block in blocks]


def test_the_readme_example_passes_then_fails_readably(pytester: pytest.Pytester):
    """The worked example, pasted as the README shows it, against a real browser
    recording and a spec it meets; then the spec changes under it."""
    (example,) = _fenced_blocks(_readme_section("In your test suite"), "python")
    recording = ROOT / "fixtures" / "recordings" / "browser"
    shutil.copy(
        recording / "config-before-snippet.mitm", pytester.path / "checkout.mitm"
    )
    spec = pytester.path / "segments.yaml"
    spec.write_text(
        "version: 1\n"
        "sites: [example.com]\n"
        "segments:\n"
        "  plan: {type: string, values: [free, registered, premium]}\n"
        "  logged_in: {type: boolean, required: true}\n"
        "scenarios:\n"
        "  - name: premium reader\n"
        "    segments: {plan: premium, logged_in: true}\n"
    )
    pytester.makepyfile(test_tracking=example)

    pytester.runpytest(*QUIET).assert_outcomes(passed=1)

    # The plan is renamed in the spec but not yet on the site.
    spec.write_text(spec.read_text().replace("premium", "gold"))
    result = pytester.runpytest(*QUIET)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E * 2 finding(s) at or above error:",
            "E *time*action*url*segments*finding",
            'E *pageview*/config-before-snippet.html*plan="premium"*'
            "error segment.value-not-allowed*",
        ]
    )


def test_the_readme_ci_jobs_are_valid_yaml_running_the_tools():
    from ruamel.yaml import YAML

    github, gitlab = (
        YAML(typ="safe").load(block)
        for block in _fenced_blocks(_readme_section("In your test suite"), "yaml")
    )

    steps = github["jobs"]["tracking"]["steps"]
    commands = [step["run"] for step in steps if "run" in step]
    assert any(command.startswith("pytest") for command in commands)
    (check,) = [c for c in commands if c.startswith("segment-inspector check")]
    assert "--format junit" in check and "--output tracking.xml" in check
    (upload,) = [step for step in steps if "tracking.xml" in str(step.get("with"))]
    assert upload["if"] == "always()"

    job = gitlab["tracking"]
    assert any("--output tracking.xml" in line for line in job["script"])
    assert job["artifacts"]["reports"]["junit"] == "tracking.xml"


def test_geography_from_a_database_beside_the_test(pytester: pytest.Pytester):
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=4, database_type="GeoLite2-Country")
    writer.insert_network(
        IPSet(["81.2.69.0/24"]),
        {
            "continent": {"code": "EU", "names": {"en": "Europe"}},
            "country": {"iso_code": "GB", "names": {"en": "United Kingdom"}},
        },
    )
    tests = pytester.mkdir("tests")
    writer.to_db_file(str(tests / "geo.mmdb"))
    (tests / "broken.mmdb").write_text("not a database")
    (tests / "visit.txt").write_text(
        "GET https://p1.parsely.com/plogger/?rand=1&idsite=example.com"
        "&action=pageview&url=https%3A%2F%2Fwww.example.com%2F&urlref="
        "&pvid=1&plid=1&sid=1&sts=1&slts=0&u=x&data=%7B%7D\n"
        "X-Parsely-IP: 81.2.69.160\n"
    )
    (tests / "test_geo.py").write_text(
        "def test_country(segment_replay):\n"
        '    session = segment_replay("visit.txt", geoip_db="geo.mmdb")\n'
        '    assert session.standard_counts["country"] == {"GB": 1}\n'
        "\n"
        "def test_broken(segment_replay):\n"
        '    segment_replay("visit.txt", geoip_db="broken.mmdb")\n'
    )

    # Run from elsewhere: the paths are found next to the test, not in the cwd.
    result = pytester.runpytest(str(tests), *QUIET)

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*broken.mmdb is not a valid MaxMind .mmdb file*"])
    assert "Traceback" not in result.stdout.str()


def test_a_recording_with_an_invalid_url_fails_with_its_line(project: pytest.Pytester):
    (project.path / "pasted.txt").write_text(
        "GET https://p1.parsely.com/plogger/?rand=1&idsite=example.com"
        "&action=pageview&url=https%3A%2F%2Fwww.example.com%2F&data=%7B%7D\n"
        "---\n"
        "GET http://[::1\n"
    )
    project.makepyfile(
        test_tracking="""
        def test_replay(segment_replay):
            segment_replay("pasted.txt")
        """
    )

    result = project.runpytest(*QUIET)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*pasted.txt: line 3: `http://[::1` is not a valid URL (an IPv6 address "
            "in brackets that is not closed or not valid)*"
        ]
    )
    assert "Traceback" not in result.stdout.str()
