"""Tests for inspector.wire: the wire-format helpers shared by the decoder."""

import json
from collections import OrderedDict

import pytest

from inspector.wire import json_type_name


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
