"""Tests for inspector.wire: the wire-format helpers shared by the decoder."""

import json
from collections import OrderedDict

import pytest

from inspector.wire import describe_json_error, json_reason, json_type_name


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("{}", "an object"),
        ("[]", "a list"),
        ('"x"', "a string"),
        ("1", "a number"),
        ("1.5", "a number"),
        ("true", "a boolean"),
        ("null", "null"),
    ],
)
def test_json_values_are_named_in_json_words(text, name):
    assert json_type_name(json.loads(text)) == name


def test_a_mapping_from_a_json_hook_is_still_an_object():
    assert json_type_name(OrderedDict(a=1)) == "an object"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"a": "b', "a string is never closed"),
        ('{"a\\q": 1}', "invalid backslash escape"),
        ('["\x01"]', "invalid control character"),
        ("[1 2]", "expecting ',' delimiter"),
        ("", "expecting value"),
    ],
)
def test_json_reasons_read_whole_in_a_sentence(text, reason):
    with pytest.raises(json.JSONDecodeError) as caught:
        json.loads(text)

    assert json_reason(caught.value.msg) == reason


def test_a_string_never_closed_is_said_where_it_starts():
    with pytest.raises(json.JSONDecodeError) as caught:
        json.loads('{"url": "https://p1')

    assert describe_json_error(caught.value) == (
        "a string starting at character 8 is never closed ('\"https://p1')"
    )
