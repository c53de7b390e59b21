"""Finding and masking personal data, without firing on what pixels normally carry."""

from __future__ import annotations

import pytest

from inspector.pii import PersonalData, PiiScanner, find_personal_data, mask, redact


def kinds(text: str, **settings) -> list[tuple[str, str]]:
    return [(found.kind, found.text) for found in find_personal_data(text, **settings)]


# --------------------------------------------------------------------------- e-mail


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("reader@example.com", "reader@example.com"),
        (
            "contact: first.last+news@mail.example.co.uk.",
            "first.last+news@mail.example.co.uk",
        ),
        ("e=reader%40example.com", "reader%40example.com"),
        ("e%3Dreader%2540example.com", "reader%2540example.com"),
    ],
)
def test_email_addresses_are_found_even_when_percent_encoded(text, expected):
    assert kinds(text) == [("email", expected)]


@pytest.mark.parametrize(
    "text", ["a@b", "user@localhost", "x@example.test", "@example.com", "plan@"]
)
def test_things_that_are_not_deliverable_addresses_are_ignored(text):
    assert kinds(text) == []


# --------------------------------------------------------------------------- phones


@pytest.mark.parametrize(
    "text",
    [
        "+44 20 7946 0958",
        "(212) 555-0123",
        "212-555-0199",
        "+1-650-253-0000",
        "+16502530000",
    ],
)
def test_written_phone_numbers_are_found(text):
    assert kinds(f"call {text} today") == [("phone", text)]


def test_national_numbers_follow_the_region():
    assert kinds("020 7946 0958", phone_region="GB") == [("phone", "020 7946 0958")]
    assert kinds("020 7946 0958", phone_region="US") == []


@pytest.mark.parametrize(
    "text",
    [
        "1700000000123",
        "1699990000456",
        "1920x1080|1920x1040|24",
        "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
        "12345678-1234-4234-8234-123456789012",
        "pid=0f1e2d3c4b5a49688776a5b4c3d2e1f0",
        "2023-11-14 22:13:20",
        "Tue Nov 14 2023 22:13:20 GMT+0000 (Coordinated Universal Time)",
        "192.168.100.200",
        "order 2024-000123",
        "48213377",
        "v1.2.3.45678",
    ],
)
def test_timestamps_ids_sizes_and_dates_are_not_personal(text):
    assert kinds(text) == []


# --------------------------------------------------------------------------- numbers


def test_long_digit_runs_are_ids_but_short_ones_are_not():
    assert kinds("customer 123456789012") == [("long-number", "123456789012")]
    assert kinds("article 12345678") == []
    assert kinds("6502530000") == [("long-number", "6502530000")]


def test_the_digit_threshold_is_configurable():
    assert kinds("id 1234567", long_number_digits=6) == [("long-number", "1234567")]
    assert kinds("id 1234567", long_number_digits=8) == []


def test_digits_inside_hex_tokens_are_not_ids():
    assert kinds("hash ab123456789012cd") == []


def test_numbers_are_ids_when_long_enough_and_not_timestamps():
    scanner = PiiScanner(long_number_digits=9)

    assert [found.kind for found in scanner.scan_number(123456789012)] == [
        "long-number"
    ]
    assert scanner.scan_number(1700000000123) == ()
    assert scanner.scan_number(12345) == ()
    assert scanner.scan_number(True) == ()
    assert scanner.scan_number(12345678901.5) == ()


# --------------------------------------------------------------------------- masking


def test_mask_replaces_each_kind_with_its_placeholder():
    text = "mail reader@example.com, call +44 20 7946 0958, customer 123456789012"

    assert mask(text) == "mail «email», call «phone», customer «number»"


def test_mask_handles_urls_with_encoded_addresses():
    url = "https://www.example.com/landing?nl=pets&e=reader%40example.com&ts=1700000000123"

    assert (
        mask(url)
        == "https://www.example.com/landing?nl=pets&e=«email»&ts=1700000000123"
    )


def test_mask_leaves_clean_text_alone():
    text = "rand=1700000000123&screen=1920x1080%7C1920x1040%7C24"

    assert mask(text) == text


def test_mask_hides_the_whole_address_in_a_twice_encoded_url():
    page = "https://www.example.com/a?mail=jane.doe%2Btag%40example.org&x=1"

    assert mask(page) == "https://www.example.com/a?mail=«email»&x=1"


def test_mask_finds_personal_data_in_every_encoding_layer_of_a_pixel_url():
    pixel = (
        "https://p1.parsely.com/plogger/?rand=1700000000500&idsite=example.com"
        "&url=https%3A%2F%2Fwww.example.com%2Fa%3Fmail%3Djane.doe%252Btag%2540"
        "example.org&title=Hello+there&action=pageview"
        "&data=%7B%22phone%22%3A%22%2B44+20+7946+0958%22%2C%22n%22%3A%22"
        "1700000000123%22%7D"
    )

    assert mask(pixel) == (
        "https://p1.parsely.com/plogger/?rand=1700000000500&idsite=example.com"
        "&url=https%3A%2F%2Fwww.example.com%2Fa%3Fmail%3D«email»"
        "&title=Hello+there&action=pageview"
        "&data=%7B%22phone%22%3A%22«phone»%22%2C%22n%22%3A%22"
        "1700000000123%22%7D"
    )


def test_mask_never_takes_the_digits_of_a_percent_escape():
    # `%22` followed by digits once became `%«number»`, hiding an epoch timestamp.
    assert mask("data=%7B%22ts%22%3A%221700000000123%22%7D") == (
        "data=%7B%22ts%22%3A%221700000000123%22%7D"
    )
    assert mask("%22123456789012%22") == "%22«number»%22"
    assert kinds("%221700000000123") == []


def test_mask_replaces_multibyte_escapes_whole():
    # The e-mail sits between two encoded non-ASCII characters.
    text = "to=%C3%A9jane%40example.org%E2%82%AC"

    assert mask(text) == "to=%C3%A9«email»%E2%82%AC"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Quotes and code spans around an address stay: messages quote names.
        ("'ivan.lee@example.org=1' is a parameter", "'«email»=1' is a parameter"),
        ("lacks `carol@example.org`, `phone`", "lacks `«email»`, `phone`"),
        ("{e:'ab@example.org'}", "{e:'«email»'}"),
        ("{{reader@example.org}}", "{{«email»}}"),
        ("| reader@example.org |", "| «email» |"),
        ("|reader@example.org|", "|«email»|"),
        # Inside an address an apostrophe is a letter like any other.
        ("o'brien@example.org", "«email»"),
    ],
)
def test_mask_keeps_the_quotes_and_braces_around_an_address(text, expected):
    assert mask(text) == expected


def test_mask_leaves_broken_escapes_alone():
    text = "100%25 of %ZZ and %E2 reader%40example.com %"

    assert mask(text) == "100%25 of %ZZ and %E2 «email» %"


def test_an_address_and_a_number_next_to_each_other_do_not_overlap():
    found = find_personal_data("123456789012@example.com")

    assert [item.kind for item in found] == ["email"]


# --------------------------------------------------------------------------- redaction


def test_redact_shows_enough_to_recognise_the_match():
    assert redact(PersonalData("email", "reader%40example.com", 0, 20)) == (
        "r•••@example.com"
    )
    assert redact(PersonalData("phone", "+44 20 7946 0958", 0, 16)) == (
        "•••58 (12 digits)"
    )
    assert redact(PersonalData("long-number", "123456789012", 0, 12)) == (
        "12•••12 (12 digits)"
    )
