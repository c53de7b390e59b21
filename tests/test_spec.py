"""Loading segment specs: the models, and problems reported at their line and column."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from inspector.spec import (
    BooleanSegment,
    Spec,
    SpecError,
    SpecProblem,
    StringSegment,
    default_spec,
    load_spec,
    parse_spec,
    spec_json_schema,
)

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "fixtures" / "specs"
INVALID = SPECS / "invalid"
STARTER = ROOT / "inspector" / "data" / "spec-starter.yaml"


# --------------------------------------------------------------------------- valid


def test_example_spec_loads_with_every_setting():
    spec = load_spec(SPECS / "example.yaml")

    assert spec.source == str(SPECS / "example.yaml")
    assert spec.sites == ("example.com",)
    assert spec.first_party_hosts == ("fpa-events.example.com",)
    assert spec.unknown_keys == "warning"
    assert spec.null_convention == "omit"
    assert spec.pii.enabled is True
    assert spec.pii.long_number_digits == 9
    assert spec.high_cardinality.max_values == 20
    assert spec.standard.internal_domains == ("example.net",)
    assert spec.standard.referrers.aggregator == ("news.example.org",)
    assert spec.pages.duplicate_window_ms == 1500
    assert spec.pages.tracker_timeout_ms == 4000

    plan = spec.segments["plan"]
    assert isinstance(plan, StringSegment)
    assert plan.values == ("basic", "premium", "subscriber")
    assert plan.events == ("pageview", "heartbeat")
    assert plan.null_convention == "null"
    assert isinstance(spec.segments["logged_in"], BooleanSegment)
    assert spec.segments["logged_in"].required is True
    assert spec.segments["logged_in"].events == ("pageview",)
    assert spec.segments["region"].case_sensitive is False

    assert [scenario.name for scenario in spec.scenarios] == ["anonymous", "subscriber"]
    assert spec.scenarios[0].segments == {"logged_in": False, "plan": None}
    assert spec.scenarios[0].absent == ("articles_read",)
    assert spec.scenarios[1].standard.medium == "email"
    assert spec.scenarios[1].standard.referrer == "other"


def test_a_key_convention_overrides_the_spec_wide_one():
    spec = load_spec(SPECS / "example.yaml")

    assert spec.null_convention_for("plan") == "null"
    assert spec.null_convention_for("logged_in") == "omit"
    assert spec.null_convention_for("not_declared") == "omit"


def test_yaml_null_means_the_null_convention_and_absence_means_none():
    with_null = parse_spec("null_convention: null\n")
    without = parse_spec("unknown_keys: info\n")

    assert with_null.null_convention == "null"
    assert without.null_convention is None


def test_default_spec_allows_unknown_keys_and_looks_for_personal_data():
    spec = default_spec()

    assert spec.source == "<default>"
    assert spec.segments == {}
    assert spec.unknown_keys == "allow"
    assert spec.pii.enabled is True
    assert spec.null_convention is None
    assert spec.applies_to_site("anything.example") is True


def test_only_the_built_in_spec_counts_as_no_spec_given():
    # Messages speak of "the spec" only when the user gave one.
    built_in = default_spec()
    assert built_in.given is False
    assert (
        built_in.model_copy(update={"first_party_hosts": ("t.example",)}).given is False
    )
    assert Spec().given is True
    assert load_spec(SPECS / "example.yaml").given is True


def test_loaded_specs_are_frozen():
    spec = load_spec(SPECS / "example.yaml")

    with pytest.raises(ValidationError):
        spec.unknown_keys = "error"  # type: ignore[misc]


def test_host_patterns_are_lower_cased():
    spec = parse_spec('first_party_hosts: ["*.Example.COM"]\n')

    assert spec.first_party_hosts == ("*.example.com",)


def test_site_ids_are_lower_cased_and_matched_ignoring_case():
    spec = parse_spec(
        "sites: [Example.COM]\n"
        "segments:\n  plan: {type: string, sites: [EXAMPLE.com]}\n"
    )

    assert spec.sites == ("example.com",)
    assert spec.segments["plan"].sites == ("example.com",)
    assert spec.applies_to_site("example.com")
    assert spec.applies_to_site("Example.com")
    assert not spec.applies_to_site("example.org")


@pytest.mark.parametrize(
    ("written", "hint"),
    [
        ("https://example.com/", "write example.com"),
        ("example.com/blog", "write example.com"),
        ("example.com:443", "write example.com"),
        ("*.example.com", "write example.com"),
    ],
)
def test_a_site_id_with_a_scheme_path_or_wildcard_is_an_error(written, hint):
    with pytest.raises(SpecError) as caught:
        parse_spec(f"sites: [{json.dumps(written)}]\n")

    (problem,) = caught.value.problems
    assert problem.path == "sites[0]"
    assert "is not a site id" in problem.message
    assert problem.hint == hint


def test_yaml_anchors_dates_and_hex_numbers_become_plain_values():
    spec = parse_spec(
        "segments:\n"
        "  a: {type: boolean, required: &yes true}\n"
        "  b: {type: boolean, required: *yes, description: 2024-01-31}\n"
        "  c: {type: number, values: [0x10, 1.5]}\n"
    )

    assert spec.segments["b"].required is True
    assert type(spec.segments["b"].required) is bool
    assert spec.segments["b"].description == "2024-01-31"
    assert spec.segments["c"].values == (16, 1.5)


def test_custom_event_kinds_are_accepted():
    spec = parse_spec("segments:\n  plan: {type: string, events: [pageview, signup]}\n")

    assert spec.segments["plan"].events == ("pageview", "signup")


def test_spec_sites_limit_which_events_are_judged():
    spec = load_spec(SPECS / "example.yaml")

    assert spec.applies_to_site("example.com") is True
    assert spec.applies_to_site("other.example") is False


def test_cross_field_rules_also_hold_for_specs_built_in_python():
    with pytest.raises(ValidationError) as caught:
        Spec.model_validate(
            {
                "segments": {"plan": {"type": "string"}},
                "scenarios": [{"name": "x", "segments": {"plann": "basic"}}],
            }
        )

    assert caught.value.errors()[0]["type"] == "spec_rules"
    assert "'plann' is not declared" in str(caught.value)


# --------------------------------------------------------------------------- invalid

# file -> (line, column, path, message fragment, hint)
INVALID_CASES = {
    "misspelt_key": (
        4,
        5,
        "segments.plan.vaules",
        "unknown key 'vaules'",
        "did you mean 'values'?",
    ),
    "misspelt_top_level_key": (
        2,
        1,
        "segmnets",
        "unknown key 'segmnets'",
        "did you mean 'segments'?",
    ),
    "segment_type_unknown": (
        3,
        11,
        "segments.logged_in.type",
        'unknown segment type "bool"',
        "did you mean 'boolean'?",
    ),
    "segment_type_missing": (
        2,
        3,
        "segments.plan",
        "'type' is required",
        "",
    ),
    "segment_type_misspelt": (
        2,
        3,
        "segments.plan",
        "'type' is required",
        "'tpye' is not a known key; did you mean 'type'?",
    ),
    "boolean_value_quoted": (
        4,
        14,
        "segments.logged_in.values[0]",
        '"true" is a string, but this is a boolean segment',
        "write true without quotes",
    ),
    "number_value_quoted": (
        4,
        20,
        "segments.articles_read.values[2]",
        '"3" is a string, but this is a number segment',
        "write 3 without quotes",
    ),
    "string_value_unquoted": (
        4,
        23,
        "segments.consent.values[1]",
        "true is a boolean, but this is a string segment",
        'quote it: "true"',
    ),
    "null_in_values": (
        4,
        21,
        "segments.plan.values[1]",
        "null cannot be an allowed value",
        "say how an unknown value is sent with null_convention (null or omit)",
    ),
    "empty_values": (
        4,
        5,
        "segments.plan.values",
        "the list of allowed values is empty",
        "leave `values` out to allow any value",
    ),
    "duplicate_values": (
        5,
        22,
        "segments.region.values[2]",
        '"US" repeats "us" (values[0])',
        "",
    ),
    "unknown_keys_policy_typo": (
        1,
        15,
        "unknown_keys",
        "\"warn\" is not one of 'allow', 'info', 'warning', 'error'",
        "did you mean 'warning'?",
    ),
    "null_convention_typo": (
        1,
        18,
        "null_convention",
        "\"omitted\" is not one of 'null', 'omit'",
        "did you mean 'omit'?",
    ),
    "event_kind_typo": (
        4,
        24,
        "segments.plan.events[1]",
        '"hearbeat" looks like a misspelt event kind',
        "did you mean 'heartbeat'?",
    ),
    "host_with_scheme": (
        3,
        5,
        "first_party_hosts[1]",
        "is not a host name",
        "write the host name only: 'pixels.example.com'",
    ),
    "site_with_scheme": (
        3,
        5,
        "sites[1]",
        '"https://example.org/" is not a site id',
        "write example.org",
    ),
    "sites_not_a_list": (
        1,
        8,
        "sites",
        'expected a list, got a string ("example.com")',
        "write [example.com]",
    ),
    "unsupported_version": (
        1,
        10,
        "version",
        "unsupported spec version 2",
        "",
    ),
    "negative_window": (
        2,
        24,
        "pages.duplicate_window_ms",
        "must be at least 0, got -5",
        "",
    ),
    "duplicate_key": (
        6,
        3,
        "",
        "duplicate key 'plan' (first defined on line 2)",
        "each key may appear once per mapping",
    ),
    "yaml_syntax_error": (
        2,
        9,
        "",
        "YAML syntax error: expected ',' or ']', but got ':' (while parsing a flow "
        "sequence that starts at line 1, column 8)",
        "",
    ),
    "yaml_tag": (
        2,
        3,
        "segments.plan",
        "YAML tags (`!name`) are not supported",
        "",
    ),
    "empty": (
        0,
        0,
        "",
        "the spec is empty",
        "run `segment-inspector spec init` for a starter",
    ),
    "not_a_mapping": (
        1,
        1,
        "",
        "the spec must be a mapping of keys, not a list",
        "",
    ),
    "scenario_undeclared_key": (
        6,
        16,
        "scenarios[0].segments.plann",
        "'plann' is not declared under `segments`",
        "did you mean 'plan'?",
    ),
    "scenario_absent_undeclared": (
        6,
        14,
        "scenarios[0].absent[0]",
        "'logged-in' is not declared under `segments`",
        "did you mean 'logged_in'?",
    ),
    "scenario_value_not_allowed": (
        8,
        13,
        "scenarios[0].segments.plan",
        "\"Premium\" is not an allowed value of 'plan'",
        "did you mean 'premium'?",
    ),
    "scenario_value_wrong_type": (
        7,
        18,
        "scenarios[0].segments.logged_in",
        "\"true\" is a string, but 'logged_in' is a boolean segment",
        "write true without quotes",
    ),
    "scenario_null_with_omit": (
        8,
        13,
        "scenarios[0].segments.plan",
        "'plan' follows the omit convention, so it is never sent as null",
        "list it under `absent` instead",
    ),
    "scenario_duplicate_name": (
        7,
        11,
        "scenarios[2].name",
        "scenario name 'anonymous' is already used by scenarios[0]",
        "",
    ),
    "scenario_referrer_typo": (
        4,
        17,
        "scenarios[0].standard.referrer",
        '"serach" is not one of',
        "did you mean 'search'?",
    ),
    "segment_site_outside_spec": (
        5,
        13,
        "segments.plan.sites[0]",
        "site 'example.org' is not one of the spec's sites",
        "did you mean 'example.com'?",
    ),
    "number_value_not_finite": (
        4,
        17,
        "segments.score.values[1]",
        "1e999 is not a finite number (YAML reads it as infinity); a spec takes "
        "finite numbers only, as a pixel's JSON can carry no other",
        'give a finite number, or write "1e999" in quotes for text',
    ),
    "number_setting_not_finite": (
        2,
        24,
        "pages.duplicate_window_ms",
        ".inf is not a finite number (YAML reads it as infinity); a spec takes "
        "finite numbers only, as a pixel's JSON can carry no other",
        'give a finite number, or write ".inf" in quotes for text',
    ),
    "segment_key_not_text": (
        3,
        3,
        "segments[true]",
        "keys must be text, not a boolean (true)",
        'quote it: "true"',
    ),
    "not_utf8": (
        5,
        23,
        "",
        "not UTF-8 text: byte 0xE9 (é in Windows-1252)",
        "save the spec as UTF-8",
    ),
    "segment_key_empty": (2, 3, 'segments[""]', "a key cannot be empty", ""),
    "segment_key_blank": (2, 3, 'segments["  "]', "a key cannot be only spaces", ""),
    "segment_key_padded": (
        2,
        3,
        'segments["plan "]',
        "the key has spaces around it",
        "write 'plan'",
    ),
    "segment_key_control_character": (
        4,
        3,
        'segments["logged\\tin"]',
        "the key holds an invisible character, U+0009",
        "write the key as the page sends it, without it",
    ),
    "skip_key_invisible": (
        5,
        28,
        "pii.skip_keys[1]",
        "the key holds an invisible character, U+200B",
        "write the key as the page sends it, without it",
    ),
    "duplicate_number_values": (
        4,
        20,
        "segments.score.values[2]",
        "1.0 repeats 1 (values[0])",
        "",
    ),
    "required_quoted": (
        4,
        15,
        "segments.plan.required",
        'expected true or false, got "yes"',
        "",
    ),
    "number_setting_quoted": (
        2,
        15,
        "high_cardinality.max_values",
        'expected a whole number, got "50"',
        "",
    ),
    "raw_control_character": (
        4,
        24,
        "",
        "the control character U+001B is not allowed in a YAML file; inside double "
        "quotes it can be written as \\u001b",
        "",
    ),
}


def test_every_invalid_fixture_has_a_case():
    on_disk = {path.stem for path in INVALID.glob("*.yaml")}

    assert on_disk - {"several_problems"} == set(INVALID_CASES)


@pytest.mark.parametrize("case", sorted(INVALID_CASES))
def test_invalid_spec_is_reported_at_its_place(case):
    line, column, path, message, hint = INVALID_CASES[case]
    file = INVALID / f"{case}.yaml"

    with pytest.raises(SpecError) as caught:
        load_spec(file)

    assert len(caught.value.problems) == 1, str(caught.value)
    problem = caught.value.problems[0]
    assert problem.file == str(file)
    assert (problem.line, problem.column) == (line, column)
    assert problem.path == path
    assert message in problem.message
    assert problem.hint == hint


@pytest.mark.parametrize(
    ("text", "line", "column", "named"),
    [
        ("\x00\x01binary", 1, 1, "control character U+0000"),
        (
            "segments:\n  plan: {type: string}\nx: \x7f\n",
            3,
            4,
            "control character U+007F",
        ),
        ("segments:\r\n  p\x08: {type: string}\r\n", 2, 4, "control character U+0008"),
        ("segments: {}\nnote: \ufffe\n", 2, 7, "the character U+FFFE"),
    ],
)
def test_a_character_yaml_refuses_is_reported_at_its_place(text, line, column, named):
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "odd.yaml")

    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.column) == ("odd.yaml", line, column)
    assert problem.message.startswith("YAML syntax error: ")
    assert named in problem.message


@pytest.mark.parametrize(
    "written", ["[1, 1.0]", "[1.0, 1]", "[100, 1e2]", "[0, -0.0]", "[16, 0x10]"]
)
def test_numbers_that_json_reads_as_one_value_are_duplicates(written):
    with pytest.raises(SpecError) as caught:
        parse_spec(f"segments:\n  n: {{type: number, values: {written}}}\n", "n.yaml")

    (problem,) = caught.value.problems
    assert problem.path == "segments.n.values[1]"
    assert "repeats" in problem.message
    assert problem.message.endswith("(values[0])")


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("a\u0000b", "U+0000"),
        ("a\nb", "U+000A"),
        ("a\u007fb", "U+007F"),
        ("a\u0085b", "U+0085"),
        ("\ufeffplan", "U+FEFF"),
        ("plan\u2028", "U+2028"),
    ],
)
def test_a_segment_key_with_an_invisible_character_is_refused(key, message):
    text = (
        f"segments:\n  plan: {{type: string}}\n  {json.dumps(key)}: {{type: string}}\n"
    )

    with pytest.raises(SpecError) as caught:
        parse_spec(text, "k.yaml")

    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (3, 3)
    assert problem.message == f"the key holds an invisible character, {message}"
    # The path shows the character as an escape, never as itself.
    assert problem.path.isprintable()
    assert f"\\u{message[2:].lower()}" in problem.path or "\\n" in problem.path


@pytest.mark.parametrize("key", ["\tplan", "plan\u00a0", " plan "])
def test_a_segment_key_with_spaces_around_it_is_refused(key):
    with pytest.raises(SpecError) as caught:
        parse_spec(f"segments:\n  {json.dumps(key)}: {{type: string}}\n", "k.yaml")

    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (2, 3)
    assert problem.hint in {
        "write 'plan'",
        "write the key as the page sends it, without it",
    }


def test_keys_in_other_scripts_and_with_inner_spaces_are_accepted():
    spec = parse_spec(
        "segments:\n"
        "  tarif_réduit: {type: boolean}\n"
        "  プラン: {type: string}\n"
        "  reader type: {type: string}\n"
    )

    assert list(spec.segments) == ["tarif_réduit", "プラン", "reader type"]


# --------------------------------------------------------------------------- warnings


def test_allowed_values_differing_only_by_case_load_with_a_warning(caplog):
    text = "segments:\n  plan:\n    type: string\n    values: [basic, premium, Basic]\n"

    with caplog.at_level("WARNING", logger="inspector.spec"):
        spec = parse_spec(text, "w.yaml")

    assert spec.segments["plan"].values == ("basic", "premium", "Basic")
    (warning,) = spec.warnings
    assert warning.warning is True
    assert str(warning) == (
        'w.yaml:4:30: warning: segments.plan.values[2]: "Basic" differs from "basic" '
        "(values[0]) only by case: both are allowed, but a value sent in any other "
        "case is reported against one of them only (keep one spelling, unless the "
        "site sends both on purpose)"
    )
    assert [record.getMessage() for record in caplog.records] == [str(warning)]


def test_warnings_can_be_kept_out_of_the_log(caplog, tmp_path):
    file = tmp_path / "w.yaml"
    file.write_text("segments:\n  plan: {type: string, values: [a, A]}\n")

    with caplog.at_level("WARNING", logger="inspector.spec"):
        spec = load_spec(file, log_warnings=False)

    assert len(spec.warnings) == 1
    assert caplog.records == []


def test_case_variants_are_duplicates_when_case_does_not_matter_and_fine_apart():
    ignoring_case = (
        "segments:\n  p: {type: string, case_sensitive: false, values: [a, A]}\n"
    )
    different = (
        "segments:\n"
        "  p: {type: string, values: [a, b]}\n"
        "  q: {type: string, values: [a]}\n"
    )

    with pytest.raises(SpecError, match=r'"A" repeats "a"'):
        parse_spec(ignoring_case)
    assert parse_spec(different).warnings == ()
    assert default_spec().warnings == ()


def test_all_problems_are_listed_one_per_line_in_file_order():
    file = INVALID / "several_problems.yaml"

    with pytest.raises(SpecError) as caught:
        load_spec(file)

    assert str(caught.value).splitlines() == [
        f"{file}:1:15: unknown_keys: \"warnign\" is not one of 'allow', 'info', "
        "'warning', 'error' (did you mean 'warning'?)",
        f"{file}:5:5: segments.plan.requird: unknown key 'requird' "
        "(did you mean 'required'?)",
        f'{file}:8:14: segments.logged_in.values[0]: "false" is a string, but this '
        "is a boolean segment (write false without quotes)",
    ]


def test_a_segment_without_a_usable_type_still_has_its_other_keys_checked():
    text = (
        "version: 1\n"
        "segments:\n"
        "  plan:\n"
        "    type: str\n"
        "    values: basic\n"
        "    requried: true\n"
        "  x:\n"
        "    tpye: string\n"
        "    vaules: [a]\n"
        "  y:\n"
        "    values: [a, a]\n"
    )

    with pytest.raises(SpecError) as caught:
        parse_spec(text, "t.yaml")

    assert str(caught.value).splitlines() == [
        't.yaml:4:11: segments.plan.type: unknown segment type "str"; use string, '
        "boolean or number (did you mean 'string'?)",
        't.yaml:5:13: segments.plan.values: expected a list, got a string ("basic") '
        "(write [basic])",
        "t.yaml:6:5: segments.plan.requried: unknown key 'requried' "
        "(did you mean 'required'?)",
        "t.yaml:7:3: segments.x: 'type' is required: string, boolean or number "
        "('tpye' is not a known key; did you mean 'type'?)",
        "t.yaml:9:5: segments.x.vaules: unknown key 'vaules' (did you mean 'values'?)",
        "t.yaml:10:3: segments.y: 'type' is required: string, boolean or number",
        't.yaml:11:17: segments.y.values[1]: "a" repeats "a" (values[0])',
    ]


def test_every_duplicate_key_is_reported_with_the_other_problems():
    text = (
        "version: 1\n"
        "version: 1\n"
        "unknown_keys: warn\n"
        "segments:\n"
        "  a: {type: string, type: number}\n"
        "  b: {type: string}\n"
        "  b: {type: string}\n"
        "scenarios:\n"
        "  - name: s\n"
        "    segments: {a: x, a: y}\n"
    )

    with pytest.raises(SpecError) as caught:
        parse_spec(text, "d.yaml")

    hint = " (each key may appear once per mapping)"
    assert str(caught.value).splitlines() == [
        "d.yaml:2:1: duplicate key 'version' (first defined on line 1)" + hint,
        "d.yaml:3:15: unknown_keys: \"warn\" is not one of 'allow', 'info', "
        "'warning', 'error' (did you mean 'warning'?)",
        "d.yaml:5:21: duplicate key 'type' (first defined on line 5)" + hint,
        "d.yaml:7:3: duplicate key 'b' (first defined on line 6)" + hint,
        "d.yaml:10:22: duplicate key 'a' (first defined on line 10)" + hint,
    ]


def test_duplicate_keys_alone_still_make_the_spec_invalid():
    with pytest.raises(SpecError) as caught:
        parse_spec("sites: [a]\nsites: [a]\n", "d.yaml")

    assert [(p.line, p.column) for p in caught.value.problems] == [(2, 1)]


def test_a_missing_file_is_named():
    with pytest.raises(SpecError) as caught:
        load_spec("no/such/segments.yaml")

    assert str(caught.value) == "no/such/segments.yaml: spec file not found"


def test_a_directory_is_not_a_spec(tmp_path):
    with pytest.raises(SpecError) as caught:
        load_spec(tmp_path)

    assert str(caught.value) == f"{tmp_path}: is a directory, not a spec file"


def test_a_file_that_is_not_utf8_is_named(tmp_path):
    file = tmp_path / "latin1.yaml"
    file.write_bytes("sites: [caf\xe9.example]\n".encode("latin-1"))

    with pytest.raises(SpecError) as caught:
        load_spec(file)

    assert str(caught.value) == (
        f"{file}:1:12: not UTF-8 text: byte 0xE9 (é in Windows-1252) "
        "(save the spec as UTF-8)"
    )


@pytest.mark.parametrize(
    ("data", "line", "column", "message", "hint"),
    [
        (
            "\ufeffa: 1\r\nb: [\u2014, x]\r\nc: \x81\n".encode("utf-8").replace(
                b"\xc2\x81", b"\x81"
            ),
            3,
            4,
            "not UTF-8 text: byte 0x81",
            "save the spec as UTF-8",
        ),
        (
            b"\x00\x01\xff\xfe binary",
            1,
            3,
            "not UTF-8 text: byte 0xFF",
            "the file holds NUL bytes, as binary files do: is it a spec?",
        ),
        (
            "sites: [a]\n".encode("utf-16"),
            1,
            1,
            "not UTF-8 text: it starts with the byte order mark of UTF-16",
            "save the spec as UTF-8",
        ),
    ],
    ids=["crlf-and-bom", "binary", "utf-16"],
)
def test_bytes_that_are_not_utf8_are_placed_and_named(
    tmp_path, data, line, column, message, hint
):
    file = tmp_path / "spec.yaml"
    file.write_bytes(data)

    with pytest.raises(SpecError) as caught:
        load_spec(file)

    assert caught.value.problems == [
        SpecProblem(str(file), line, column, "", message, hint)
    ]


def test_standard_input_that_is_not_utf8_is_placed_and_named(monkeypatch):
    import io
    import sys

    from inspector.spec import load_spec_argument

    pasted = io.BytesIO("segments:\n  caf\xe9: {type: string}\n".encode("latin-1"))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(pasted))

    with pytest.raises(SpecError) as caught:
        load_spec_argument("-")

    assert str(caught.value) == (
        "<stdin>:2:6: not UTF-8 text: byte 0xE9 (é in Windows-1252) "
        "(save the spec as UTF-8)"
    )


def test_an_unknown_key_without_a_close_match_lists_the_known_keys():
    with pytest.raises(SpecError) as caught:
        parse_spec("pages:\n  zzz: 1\n", "s.yaml")

    problem = caught.value.problems[0]
    assert problem.message == "unknown key 'zzz'"
    assert problem.hint == "known keys: duplicate_window_ms, tracker_timeout_ms"


def test_every_key_that_is_not_text_and_every_tag_is_reported_at_once():
    text = (
        "segments:\n"
        "  3: {type: string}\n"
        "  plan: !custom {type: string}\n"
        "  ? [a, b]\n"
        "  : {type: string}\n"
    )

    with pytest.raises(SpecError) as caught:
        parse_spec(text, "k.yaml")

    assert str(caught.value).splitlines() == [
        'k.yaml:2:3: segments[3]: keys must be text, not a number (3) (quote it: "3")',
        "k.yaml:3:3: segments.plan: YAML tags (`!name`) are not supported",
        "k.yaml:4:5: segments[[a, b]]: keys must be text, not a list ([a, b])",
    ]


def test_keys_equal_in_python_are_each_reported_at_their_own_place():
    # 1 == True and 1 == 1.0 in Python; each key is still its own YAML node.
    text = (
        "segments:\n"
        "  1: {type: string}\n"
        "  true: {type: boolean}\n"
        "  1.0: {type: number}\n"
        "  0x1: {type: number}\n"
    )

    with pytest.raises(SpecError) as caught:
        parse_spec(text, "k.yaml")

    assert str(caught.value).splitlines() == [
        'k.yaml:2:3: segments[1]: keys must be text, not a number (1) (quote it: "1")',
        "k.yaml:3:3: segments[true]: keys must be text, not a boolean (true) "
        '(quote it: "true")',
        "k.yaml:4:3: segments[1.0]: keys must be text, not a number (1.0) "
        '(quote it: "1.0")',
        "k.yaml:5:3: segments[0x1]: keys must be text, not a number (0x1) "
        '(quote it: "0x1")',
    ]


def test_keys_that_are_not_text_are_echoed_as_yaml_writes_them():
    text = (
        "segments:\n"
        "  null: {type: string}\n"
        "  ? - a\n"
        "    - 1\n"
        "  : {type: string}\n"
        "  ? {x: true}\n"
        "  : {type: string}\n"
    )

    with pytest.raises(SpecError) as caught:
        parse_spec(text, "k.yaml")

    assert str(caught.value).splitlines() == [
        "k.yaml:2:3: segments[null]: keys must be text, not null (null) "
        '(quote it: "null")',
        'k.yaml:3:5: segments[["a", 1]]: keys must be text, not a list (["a", 1])',
        "k.yaml:6:5: segments[{x: true}]: keys must be text, not a mapping ({x: true})",
    ]


def test_keys_that_are_not_text_come_with_the_other_problems():
    text = (
        "unknown_keys: warnign\n"
        "segments:\n"
        "  3: {type: string}\n"
        "  plan: !custom {type: string}\n"
        "  tier: {type: strng}\n"
    )

    with pytest.raises(SpecError) as caught:
        parse_spec(text, "m.yaml")

    assert [(p.line, p.path) for p in caught.value.problems] == [
        (1, "unknown_keys"),
        (3, "segments[3]"),
        (4, "segments.plan"),
        (5, "segments.tier.type"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "segments:\n"
            "  plan: {type: string}\n"
            "scenarios:\n"
            "  - name: a\n"
            "    description: b\n"
            "    segments:\n"
            "      1: x\n",
            "k.yaml:7:7: scenarios[0].segments[1]: keys must be text, not a number "
            '(1) (quote it: "1")',
        ),
        (
            "scenarios:\n  - name: a\n    segments: {1: x}\n",
            "k.yaml:3:16: scenarios[0].segments[1]: keys must be text, not a number "
            '(1) (quote it: "1")',
        ),
        (
            "scenarios: [{name: a, segments: {[a, b]: y}}]\n",
            "k.yaml:1:34: scenarios[0].segments[[a, b]]: keys must be text, not a "
            "list ([a, b])",
        ),
        (
            "version: 1\n1: foo\n",
            'k.yaml:2:1: [1]: keys must be text, not a number (1) (quote it: "1")',
        ),
        (
            "{version: 1, 1: foo}\n",
            'k.yaml:1:14: [1]: keys must be text, not a number (1) (quote it: "1")',
        ),
        (
            "segments:\n  plan: {type: string, true: 3}\n",
            "k.yaml:2:24: segments.plan[true]: keys must be text, not a boolean "
            '(true) (quote it: "true")',
        ),
        (
            "segments:\n  plan:\n    type: string\n    true: 3\n",
            "k.yaml:4:5: segments.plan[true]: keys must be text, not a boolean "
            '(true) (quote it: "true")',
        ),
        (
            "scenarios:\n  - name: a\n    standard: {2: email}\n",
            "k.yaml:3:16: scenarios[0].standard[2]: keys must be text, not a number "
            '(2) (quote it: "2")',
        ),
        (
            "scenarios:\n  - name: a\n    standard:\n      2: email\n",
            "k.yaml:4:7: scenarios[0].standard[2]: keys must be text, not a number "
            '(2) (quote it: "2")',
        ),
        (
            "standard:\n  referrers: {social: [a.com], null: b.com}\n",
            "k.yaml:2:32: standard.referrers[null]: keys must be text, not null "
            '(null) (quote it: "null")',
        ),
        (
            "pii:\n  enabled: true\n  5: 9\n",
            'k.yaml:3:3: pii[5]: keys must be text, not a number (5) (quote it: "5")',
        ),
    ],
)
def test_a_key_that_is_not_text_is_placed_at_the_key_at_any_depth(text, expected):
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "k.yaml")

    assert str(caught.value).splitlines() == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "pages: {1: a, true: b, 1.0: c, 0: d, false: e}\n",
            [(1, 9, "pages[1]"), (1, 15, "pages[true]"), (1, 24, "pages[1.0]")]
            + [(1, 32, "pages[0]"), (1, 38, "pages[false]")],
        ),
        (
            "scenarios:\n"
            "  - name: a\n"
            "    segments:\n"
            "      1: a\n"
            "      true: b\n"
            "      1.0: c\n"
            "      0: d\n"
            "      false: e\n",
            [
                (4, 7, "scenarios[0].segments[1]"),
                (5, 7, "scenarios[0].segments[true]"),
                (6, 7, "scenarios[0].segments[1.0]"),
                (7, 7, "scenarios[0].segments[0]"),
                (8, 7, "scenarios[0].segments[false]"),
            ],
        ),
    ],
)
def test_keys_equal_in_python_are_each_placed_at_their_own_key(text, expected):
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "k.yaml")

    assert [(p.line, p.column, p.path) for p in caught.value.problems] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "pages:\n  zzz: 1\n",
            "k.yaml:2:3: pages.zzz: unknown key 'zzz' (known keys: "
            "duplicate_window_ms, tracker_timeout_ms)",
        ),
        (
            "scenarios: [{name: a, standard: {referer: search}}]\n",
            "k.yaml:1:34: scenarios[0].standard.referer: unknown key 'referer' "
            "(did you mean 'referrer'?)",
        ),
        (
            "segments:\n  plan: {type: string}\n"
            "scenarios:\n  - name: a\n    segments:\n      plann: x\n",
            "k.yaml:6:7: scenarios[0].segments.plann: 'plann' is not declared under "
            "`segments` (did you mean 'plan'?)",
        ),
        (
            'segments: {plan : {type: string, values: [a]}, "plan ": string}\n',
            'k.yaml:1:48: segments["plan "]: the key has spaces around it '
            "(write 'plan')",
        ),
        (
            "scenarios:\n  - name: a\n    standard: {medium: a, utm_medium: b}\n",
            "k.yaml:3:27: scenarios[0].standard.utm_medium: medium and utm_medium "
            "both set the standard segment medium",
        ),
        (
            "pages: {duplicate_window_ms: 1, duplicate_window_ms: 2}\n",
            "k.yaml:1:33: duplicate key 'duplicate_window_ms' (first defined on "
            "line 1) (each key may appear once per mapping)",
        ),
    ],
)
def test_every_problem_with_a_key_is_placed_at_the_key(text, expected):
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "k.yaml")

    assert str(caught.value).splitlines()[0] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "scenarios:\n  - name: a\n    standard:\n      UTM_Medium: 3\n",
            "k.yaml:4:19: scenarios[0].standard.UTM_Medium: expected text, got a "
            'number (3) (quote it: "3")',
        ),
        (
            "scenarios: [{name: a, standard: {ref_category: serach}}]\n",
            'k.yaml:1:48: scenarios[0].standard.ref_category: "serach" is not one '
            "of 'social', 'search', 'aggregator', 'ai', 'other', 'internal', "
            "'direct' (did you mean 'search'?)",
        ),
    ],
)
def test_a_standard_field_under_parsely_name_is_reported_at_its_value(text, expected):
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "k.yaml")

    assert str(caught.value) == expected


def test_a_key_written_like_a_validation_marker_is_still_an_ordinary_key():
    with pytest.raises(SpecError) as caught:
        parse_spec('segments:\n  "[key]": string\n', "k.yaml")

    assert str(caught.value) == (
        'k.yaml:2:12: segments["[key]"]: expected a mapping of keys, got a string '
        '("string")'
    )


def test_aliases_that_expand_without_bound_are_refused_quickly():
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for name, previous in zip("bcdefgh", "abcdefg", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 10) + "]")

    with pytest.raises(SpecError) as caught:
        parse_spec("\n".join(lines) + "\n", "bomb.yaml")

    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (1, 1)
    assert problem.message == (
        "the spec's YAML aliases expand it to more than 250,000 values, the most a "
        "spec may hold (the file itself writes 23 before that)"
    )
    assert problem.hint == "check what the `*name` aliases repeat"


def test_a_few_aliases_are_fine():
    spec = parse_spec(
        "segments:\n"
        "  plan: {type: string, values: &plans [basic, premium]}\n"
        "  last_plan: {type: string, values: *plans}\n"
    )

    assert spec.segments["last_plan"].values == ("basic", "premium")


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("segments:\n  k: " + "[" * 100_000 + "]" * 100_000 + "\n", (2, 68)),
        ("segments:\n  k: " + "[" * 100 + "]" * 100 + "\n", (2, 68)),
        (
            "segments:\n  k:\n" + "".join(" " * (2 + 2 * n) + "-\n" for n in range(70)),
            (65, 127),
        ),
    ],
    ids=["beyond-a-recursive-parser", "flow", "block"],
)
def test_deep_nesting_is_a_problem_not_a_crash(text, place):
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "deep.yaml")

    (problem,) = caught.value.problems
    assert problem.message == "nested more than 64 levels deep"
    assert (problem.line, problem.column) == place


def test_problem_text_without_a_path_or_position():
    problem = SpecProblem("s.yaml", 0, 0, "", "the spec is empty")

    assert str(problem) == "s.yaml: the spec is empty"


# --------------------------------------------------------------------------- schema


def _properties(schema: dict) -> list[tuple[str, dict]]:
    found = list(schema.get("properties", {}).items())
    for name, definition in schema.get("$defs", {}).items():
        found.extend(
            (f"{name}.{prop}", value)
            for prop, value in definition.get("properties", {}).items()
        )
    return found


def test_every_field_in_the_schema_has_a_description():
    schema = spec_json_schema()

    undocumented = [
        name for name, prop in _properties(schema) if not prop.get("description")
    ]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert undocumented == []
    assert schema["additionalProperties"] is False


def test_schema_accepts_the_example_and_the_starter_and_rejects_a_typo():
    jsonschema = pytest.importorskip("jsonschema")
    from ruamel.yaml import YAML

    validator = jsonschema.Draft202012Validator(spec_json_schema())
    for path in (SPECS / "example.yaml", STARTER):
        document = json.loads(json.dumps(YAML(typ="safe").load(path.read_text())))
        assert list(validator.iter_errors(document)) == [], path

    typo = {"segments": {"plan": {"type": "string", "vaules": ["a"]}}}
    assert list(validator.iter_errors(typo)) != []


def test_schema_accepts_parsely_names_for_standard_segments_as_the_loader_does(
    tmp_path,
):
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(spec_json_schema())
    scenario = {"name": "newsletter", "standard": {"utm_medium": "email"}}
    document = {"scenarios": [scenario]}
    misspelt = {"scenarios": [{**scenario, "standard": {"utm_mediun": "email"}}]}
    file = tmp_path / "segments.yaml"
    file.write_text(
        "scenarios:\n  - name: newsletter\n    standard: {utm_medium: email}\n"
    )

    assert list(validator.iter_errors(document)) == []
    assert list(validator.iter_errors(misspelt)) != []
    assert load_spec(file).scenarios[0].standard.medium == "email"


def test_the_starter_spec_loads_cleanly():
    spec = load_spec(STARTER)

    assert set(spec.segments) == {"plan", "logged_in"}
    assert [scenario.name for scenario in spec.scenarios] == ["anonymous", "subscriber"]


# --------------------------------------------------------------------------- size


def _many_keys(keys: int, values: int) -> str:
    listed = ", ".join(f"v{n}" for n in range(values))
    rows = (f"  k{n}: {{type: string, values: [{listed}]}}\n" for n in range(keys))
    return "version: 1\nsegments:\n" + "".join(rows)


def test_a_file_beyond_the_byte_limit_is_refused_before_it_is_parsed():
    text = "version: 1\n" + "# padding\n" * 600_000

    started = time.monotonic()
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "big.yaml")
    elapsed = time.monotonic() - started

    assert str(caught.value) == (
        "big.yaml: the spec is 6.0 MB; a spec may be at most 5 MB "
        "(a site's spec is a few kilobytes: is this the right file?)"
    )
    assert elapsed < 2


def test_too_many_values_without_aliases_are_counted_not_blamed_on_aliases():
    with pytest.raises(SpecError) as caught:
        parse_spec(_many_keys(6_000, 50), "many.yaml")

    (problem,) = caught.value.problems
    assert problem.message == (
        "the spec holds more than 250,000 values, the most a spec may hold"
    )
    assert "alias" not in str(problem)


def test_one_key_with_a_hundred_thousand_values_loads():
    values = ", ".join(f"section-{n}" for n in range(100_000))
    spec = parse_spec(f"segments:\n  section: {{type: string, values: [{values}]}}\n")

    section = spec.segments["section"]
    assert len(section.values) == 100_000
    assert section.allows("section-99999")
    assert not section.allows("section-100000")


def test_two_thousand_keys_of_fifty_values_load():
    spec = parse_spec(_many_keys(2_000, 50))

    assert len(spec.segments) == 2_000
    assert spec.segments["k1999"].values[-1] == "v49"


def test_a_problem_in_a_large_spec_is_still_placed():
    text = _many_keys(2_000, 50).replace("k1500: {type: string", "k1500: {type: strng")

    with pytest.raises(SpecError) as caught:
        parse_spec(text, "large.yaml")

    (problem,) = caught.value.problems
    assert (problem.line, problem.column, problem.path) == (
        1503,
        17,
        "segments.k1500.type",
    )


def test_an_alias_inside_what_it_names_is_refused():
    with pytest.raises(SpecError) as caught:
        parse_spec("segments: &loop\n  a: *loop\n", "loop.yaml")

    assert str(caught.value) == (
        "loop.yaml:2:6: the alias *loop repeats the list or mapping it is part of "
        "(an alias may only repeat a value written before it)"
    )


def test_an_undefined_alias_is_a_syntax_error_at_its_place():
    with pytest.raises(SpecError) as caught:
        parse_spec("segments:\n  a: *nowhere\n", "a.yaml")

    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (2, 6)
    assert problem.message.startswith("YAML syntax error: found undefined alias")


def test_merge_keys_apply_and_the_mapping_own_keys_win():
    spec = parse_spec(
        "segments:\n"
        "  plan: &plan {type: string, values: [basic], required: true}\n"
        "  last_plan: {<<: *plan, values: [basic, premium]}\n"
    )

    last = spec.segments["last_plan"]
    assert (last.type, last.values, last.required) == (
        "string",
        ("basic", "premium"),
        True,
    )


def test_a_problem_in_an_aliased_value_is_placed_where_it_is_written():
    with pytest.raises(SpecError) as caught:
        parse_spec(
            "segments:\n"
            "  a: {type: number, values: &v [1, 2]}\n"
            "  b: {type: string, values: *v}\n",
            "v.yaml",
        )

    assert [(p.path, p.line, p.column) for p in caught.value.problems] == [
        ("segments.b.values[0]", 2, 33),
        ("segments.b.values[1]", 2, 36),
    ]


def test_yaml_that_only_yaml_1_2_allows_still_loads():
    # libyaml, which reads YAML 1.1, refuses a colon inside a plain flow scalar.
    spec = parse_spec("segments: {home: {type: string, values: [https://x.com/]}}\n")

    assert spec.segments["home"].values == ("https://x.com/",)


# ------------------------------------------------------------------- all at once


def test_cross_references_are_checked_while_another_field_is_wrong():
    text = (
        "version: 1\n"
        "segments:\n"
        "  plan: {type: string}\n"
        "scenarios:\n"
        "  - name: x\n"
        "    segments: {plann: basic}\n"
        "    absent: [nope]\n"
        "    standard: {mediumm: email, country: XX}\n"
    )

    with pytest.raises(SpecError) as caught:
        parse_spec(text, "scen.yaml")

    assert str(caught.value).splitlines() == [
        "scen.yaml:6:16: scenarios[0].segments.plann: 'plann' is not declared under "
        "`segments` (did you mean 'plan'?)",
        "scen.yaml:7:14: scenarios[0].absent[0]: 'nope' is not declared under "
        "`segments` (declare it under `segments`)",
        "scen.yaml:8:16: scenarios[0].standard.mediumm: unknown key 'mediumm' "
        "(did you mean 'medium'?)",
    ]


def test_every_kind_of_cross_reference_problem_comes_with_field_problems():
    text = (
        "sites: [example.com]\n"
        "unknown_keys: warn\n"
        "segments:\n"
        "  plan: {type: string, values: [basic], sites: [exampel.com]}\n"
        "  tier: {type: strng}\n"
        "scenarios:\n"
        "  - {name: a, segments: {plan: premium, tier: gold}}\n"
        "  - {name: a, segments: {}, absent: [plan, '']}\n"
        "  - {segments: {nope: 1}}\n"
    )

    with pytest.raises(SpecError) as caught:
        parse_spec(text, "x.yaml")

    assert [(p.line, p.path, p.message) for p in caught.value.problems] == [
        (
            2,
            "unknown_keys",
            "\"warn\" is not one of 'allow', 'info', 'warning', 'error'",
        ),
        (
            4,
            "segments.plan.sites[0]",
            "site 'exampel.com' is not one of the spec's sites",
        ),
        (
            5,
            "segments.tier.type",
            'unknown segment type "strng"; use string, boolean or number',
        ),
        (
            7,
            "scenarios[0].segments.plan",
            "\"premium\" is not an allowed value of 'plan'",
        ),
        (8, "scenarios[1].name", "scenario name 'a' is already used by scenarios[0]"),
        (8, "scenarios[1].absent[1]", "cannot be empty"),
        (9, "scenarios[2].name", "'name' is required"),
        (9, "scenarios[2].segments.nope", "'nope' is not declared under `segments`"),
    ]


def test_a_segment_rule_is_checked_while_another_key_of_the_segment_is_wrong():
    text = "segments:\n  plan: {type: string, values: [a, a], requird: true}\n"

    with pytest.raises(SpecError) as caught:
        parse_spec(text, "d.yaml")

    assert str(caught.value).splitlines() == [
        'd.yaml:2:36: segments.plan.values[1]: "a" repeats "a" (values[0])',
        "d.yaml:2:40: segments.plan.requird: unknown key 'requird' "
        "(did you mean 'required'?)",
    ]


@pytest.mark.parametrize(
    ("written", "message", "hint"),
    [
        (
            '"1"',
            'the version must be the number 1, not a string ("1")',
            "write 1 without quotes",
        ),
        ("2", "unsupported spec version 2; this tool reads version 1", ""),
        ('"2"', 'unsupported spec version "2"; this tool reads version 1', ""),
    ],
)
def test_a_version_that_is_not_the_number_1_says_what_to_write(written, message, hint):
    with pytest.raises(SpecError) as caught:
        parse_spec(f"version: {written}\n", "v.yaml")

    (problem,) = caught.value.problems
    assert (problem.line, problem.column, problem.path) == (1, 10, "version")
    assert (problem.message, problem.hint) == (message, hint)


def test_any_other_yaml_error_is_a_problem_naming_the_file(monkeypatch):
    # No text is known to make ruamel.yaml raise a bare YAMLError (every error it
    # raises today has a position or is a ReaderError), so the parser is replaced
    # by one that does, to show such an error still names the file.
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    def refuse(self, text):
        raise YAMLError("stream is not readable")

    monkeypatch.setattr(YAML, "parse", refuse)

    with pytest.raises(SpecError) as caught:
        parse_spec("segments: {}\n", "odd.yaml")

    [problem] = caught.value.problems
    assert (problem.file, problem.line) == ("odd.yaml", 0)
    assert problem.message == "YAML error: stream is not readable"


def test_repeated_values_are_found_beside_a_value_that_is_wrong():
    text = "segments:\n  plan: {type: string, values: [a, 3, a, null, b, b]}\n"

    with pytest.raises(SpecError) as caught:
        parse_spec(text, "s.yaml")

    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("segments.plan.values[1]", "3 is a number, but this is a string segment"),
        ("segments.plan.values[2]", '"a" repeats "a" (values[0])'),
        ("segments.plan.values[3]", "null cannot be an allowed value"),
        ("segments.plan.values[5]", '"b" repeats "b" (values[4])'),
    ]


def test_repeats_by_case_count_beside_a_wrong_value_when_case_does_not_matter():
    text = (
        "segments:\n"
        "  plan: {type: string, case_sensitive: false, values: [Gold, 7, gold]}\n"
    )

    with pytest.raises(SpecError) as caught:
        parse_spec(text, "s.yaml")

    assert [p.path for p in caught.value.problems] == [
        "segments.plan.values[1]",
        "segments.plan.values[2]",
    ]
    assert caught.value.problems[1].message == '"gold" repeats "Gold" (values[0])'


def test_a_broken_spec_still_carries_the_warnings_of_its_valid_segments():
    text = "segments:\n  plan: {type: strin}\n  tier: {type: string, values: [a, A]}\n"

    with pytest.raises(SpecError) as caught:
        parse_spec(text, "s.yaml")

    [problem] = caught.value.problems
    [warning] = caught.value.warnings
    assert problem.path == "segments.plan.type"
    assert (warning.path, warning.line, warning.warning) == (
        "segments.tier.values[1]",
        3,
        True,
    )
    assert caught.value.all_in_file_order() == [problem, warning]


def test_a_list_with_a_wrong_value_still_warns_of_case_variants_among_the_rest():
    text = "segments:\n  plan: {type: string, values: [basic, Basic, 3, basic]}\n"

    with pytest.raises(SpecError) as caught:
        parse_spec(text, "s.yaml")

    assert [p.path for p in caught.value.problems] == [
        "segments.plan.values[2]",
        "segments.plan.values[3]",
    ]
    [warning] = caught.value.warnings
    assert warning.path == "segments.plan.values[1]"
    assert warning.message.startswith('"Basic" differs from "basic" (values[0])')


@pytest.mark.parametrize(
    ("written", "reads_as"),
    [
        ("-1e999", "minus infinity"),
        ("-.inf", "minus infinity"),
        (".NaN", "not a number"),
    ],
)
def test_a_number_that_is_not_finite_is_a_problem_as_written(written, reads_as):
    text = (
        "segments:\n"
        "  score: {type: number}\n"
        "scenarios:\n"
        "  - name: top\n"
        f"    segments: {{score: {written}}}\n"
    )

    with pytest.raises(SpecError) as caught:
        parse_spec(text, "n.yaml")

    assert caught.value.problems == [
        SpecProblem(
            "n.yaml",
            5,
            23,
            "scenarios[0].segments.score",
            f"{written} is not a finite number (YAML reads it as {reads_as}); a spec "
            "takes finite numbers only, as a pixel's JSON can carry no other",
            f'give a finite number, or write "{written}" in quotes for text',
        )
    ]


def test_a_spec_built_in_python_names_a_number_that_is_not_finite_as_yaml_does():
    from inspector.spec import NumberSegment

    with pytest.raises(ValidationError) as caught:
        NumberSegment(type="number", values=(1, float("-inf")))

    assert caught.value.errors()[0]["msg"] == (
        "-.inf cannot be an allowed value: JSON has no such number"
    )


def test_a_number_not_allowed_gets_no_spelling_hint_from_its_digits():
    text = (
        "segments:\n"
        "  score: {type: number, values: [10, 20]}\n"
        "scenarios:\n"
        "  - name: top\n"
        "    segments: {score: 100}\n"
    )

    with pytest.raises(SpecError) as caught:
        parse_spec(text, "n.yaml")

    assert [(p.message, p.hint) for p in caught.value.problems] == [
        ("100 is not an allowed value of 'score'", "allowed: 10, 20")
    ]


def test_quoted_infinity_gets_no_hint_to_write_it_without_quotes():
    text = "segments:\n  score: {type: number, values: [1, 'Infinity']}\n"

    with pytest.raises(SpecError) as caught:
        parse_spec(text, "n.yaml")

    assert [(p.message, p.hint) for p in caught.value.problems] == [
        ('"Infinity" is a string, but this is a number segment', "")
    ]


@pytest.mark.parametrize(
    ("text", "line", "column", "path", "message", "hint"),
    [
        (
            "sites: [[a.example, b.example]]\n",
            1,
            9,
            "sites[0]",
            'expected text, got a list (["a.example", "b.example"])',
            "list each as its own item: sites: [a.example, b.example]",
        ),
        (
            "segments:\n  plan: {type: string, sites: [[a.example]]}\n",
            2,
            32,
            "segments.plan.sites[0]",
            'expected text, got a list (["a.example"])',
            "list each as its own item: sites: [a.example]",
        ),
        (
            "sites: a.example\n",
            1,
            8,
            "sites",
            'expected a list, got a string ("a.example")',
            "write [a.example]",
        ),
    ],
    ids=["list-in-sites", "list-in-segment-sites", "one-site-not-a-list"],
)
def test_sites_in_the_wrong_shape_say_what_is_wrong(
    text, line, column, path, message, hint
):
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "s.yaml")

    assert caught.value.problems == [
        SpecProblem("s.yaml", line, column, path, message, hint)
    ]


@pytest.mark.parametrize("pure", [False, True], ids=["libyaml", "pure"])
def test_a_key_after_a_byte_order_mark_is_echoed_as_written(monkeypatch, pure):
    from inspector import spec as spec_module

    composed = spec_module._compose_checked
    monkeypatch.setattr(
        spec_module,
        "_compose_checked",
        lambda text, file, pure_=pure, **_: composed(text, file, pure=pure_),
    )

    with pytest.raises(SpecError) as caught:
        parse_spec("\ufeffsegments:\n  true: {type: string}\n", "b.yaml")

    assert str(caught.value) == (
        "b.yaml:2:3: segments[true]: keys must be text, not a boolean (true) (quote "
        'it: "true")'
    )
