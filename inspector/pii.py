"""Finding personal data in text: e-mail addresses, phone numbers and long numeric ids.

Segment values, page URLs and visitor ids must never carry personal data; Parse.ly's
terms forbid it and a segment per person is useless anyway. `PiiScanner` finds such
data in one string, `mask` replaces it with placeholders (`«email»`, `«phone»`,
`«number»`) so that reports and exports can be shared, and `redact` shortens one match
to a form that is safe to show in a message.

The scanner is tuned against false positives on what pixels normally carry: epoch
timestamps (`rand`, `sts`), UUIDs and hex visitor ids, screen sizes and dates.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal
from urllib.parse import unquote

logger = logging.getLogger(__name__)

PiiKind = Literal["email", "phone", "long-number"]

PLACEHOLDERS: dict[str, str] = {
    "email": "«email»",
    "phone": "«phone»",
    "long-number": "«number»",
}

# A cheap first pass; candidates are confirmed with email-validator. The at-sign may
# still be percent-encoded (`%40`, or `%2540` when encoded twice) in raw URLs.
_EMAIL_CANDIDATE = re.compile(
    r"[A-Za-z0-9.!#$'*+^_`{|}~-]+"
    r"(?:@|%40|%2540)"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+",
    re.IGNORECASE,
)

# Things that are made of digits but are not about a person.
_UUID = re.compile(
    r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.IGNORECASE
)
_SCREEN_SIZE = re.compile(r"\d+x\d+", re.IGNORECASE)

_PHONE_PREFILTER = re.compile(r"(?:\d[^\d]{0,3}){7}")

_CACHE_SIZE = 20_000
"""Scanned strings remembered per scanner; pixels repeat URLs and values a lot."""

# Epoch seconds (10 digits) and milliseconds (13 digits) from 2001 to 2040.
_EPOCH_SECONDS = range(1_000_000_000, 2_210_000_000)


@dataclass(frozen=True, slots=True)
class PersonalData:
    """One piece of personal data found in a string."""

    kind: PiiKind
    text: str
    """The text as it appears in the scanned string."""
    start: int
    end: int


def _is_epoch(digits: str) -> bool:
    if len(digits) == 10:
        return int(digits) in _EPOCH_SECONDS
    if len(digits) == 13:
        return int(digits[:10]) in _EPOCH_SECONDS
    return False


def _blank(text: str, pattern: re.Pattern[str]) -> str:
    """Replace what `pattern` matches with spaces, keeping offsets."""
    return pattern.sub(lambda match: " " * len(match.group()), text)


class PiiScanner:
    """Finds personal data in strings and numbers.

    Args:
        long_number_digits: a run of this many digits (or more) is a personal id.
        phone_region: ISO region for phone numbers without an international prefix.
    """

    def __init__(self, long_number_digits: int = 9, phone_region: str = "US"):
        self.long_number_digits = long_number_digits
        self.phone_region = phone_region
        self._long_number = re.compile(
            rf"(?<![0-9A-Za-z])\d{{{long_number_digits},}}(?![0-9A-Za-z])"
        )
        self._cache: dict[str, tuple[PersonalData, ...]] = {}

    def scan(self, text: str) -> tuple[PersonalData, ...]:
        """Everything personal in `text`, in order, without overlaps."""
        cached = self._cache.get(text)
        if cached is not None:
            return cached

        found = self._scan(text)
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        self._cache[text] = found
        return found

    def _scan(self, text: str) -> tuple[PersonalData, ...]:
        found: list[PersonalData] = []

        if "@" in text or "%40" in text or "%2540" in text:
            found.extend(self._emails(text))

        # Digits: only worth a look when there are enough of them.
        if _PHONE_PREFILTER.search(text):
            cleaned = _blank(_blank(text, _UUID), _SCREEN_SIZE)
            for match in found:
                cleaned = (
                    cleaned[: match.start]
                    + " " * (match.end - match.start)
                    + cleaned[match.end :]
                )
            emails = list(found)
            found.extend(self._phones(cleaned, text, emails))
            found.extend(self._long_numbers(cleaned, text))

        return _without_overlaps(found) if found else ()

    def scan_number(self, number: int | float) -> tuple[PersonalData, ...]:
        """A JSON number that is really an id: an integer with enough digits."""
        if isinstance(number, bool) or not isinstance(number, int):
            return ()
        digits = str(abs(number))
        if len(digits) < self.long_number_digits or _is_epoch(digits):
            return ()
        return (PersonalData("long-number", digits, 0, len(digits)),)

    def mask(self, text: str) -> str:
        """`text` with every piece of personal data replaced by a placeholder."""
        found = self.scan(text)
        if not found:
            return text
        pieces = []
        position = 0
        for match in found:
            pieces.append(text[position : match.start])
            pieces.append(PLACEHOLDERS[match.kind])
            position = match.end
        pieces.append(text[position:])
        return "".join(pieces)

    def _emails(self, text: str) -> list[PersonalData]:
        from email_validator import EmailNotValidError, validate_email

        found = []
        for match in _EMAIL_CANDIDATE.finditer(text):
            start = match.start()

            # In percent-encoded text (`e%3Dreader%40...`) the hex digits of the
            # escape before the address are not part of it.
            if start > 0 and text[start - 1] == "%":
                start += 2
            candidate = text[start : match.end()]
            address = unquote(unquote(candidate))
            try:
                validate_email(address, check_deliverability=False)
            except EmailNotValidError:
                continue
            found.append(PersonalData("email", candidate, start, match.end()))
        return found

    def _long_numbers(self, cleaned: str, text: str) -> list[PersonalData]:
        found = []
        for match in self._long_number.finditer(cleaned):
            if _is_epoch(match.group()):
                continue
            found.append(
                PersonalData(
                    "long-number",
                    text[match.start() : match.end()],
                    match.start(),
                    match.end(),
                )
            )
        return found

    def _phones(
        self, cleaned: str, text: str, emails: list[PersonalData]
    ) -> list[PersonalData]:
        import phonenumbers

        found = []
        # Strict grouping: the digits must be grouped as the region writes numbers,
        # which keeps order numbers such as `2024-000123` out.
        matcher = phonenumbers.PhoneNumberMatcher(
            cleaned, self.phone_region, leniency=phonenumbers.Leniency.STRICT_GROUPING
        )
        for match in matcher:
            raw = match.raw_string

            # A bare run of digits is an id or a timestamp, not a written phone
            # number; long ones are reported as long numbers already.
            if raw.isdigit():
                continue
            if any(
                item.start < match.end and match.start < item.end for item in emails
            ):
                continue
            found.append(
                PersonalData(
                    "phone", text[match.start : match.end], match.start, match.end
                )
            )
        return found


def _without_overlaps(found: list[PersonalData]) -> tuple[PersonalData, ...]:
    """Keep the earliest (then longest) of overlapping matches, in text order."""
    kept: list[PersonalData] = []
    for match in sorted(found, key=lambda item: (item.start, -item.end)):
        if kept and match.start < kept[-1].end:
            continue
        kept.append(match)
    return tuple(kept)


@lru_cache(maxsize=8)
def scanner_for(long_number_digits: int = 9, phone_region: str = "US") -> PiiScanner:
    """A shared scanner for these settings."""
    return PiiScanner(long_number_digits, phone_region)


def find_personal_data(
    text: str, *, long_number_digits: int = 9, phone_region: str = "US"
) -> tuple[PersonalData, ...]:
    """Everything personal in `text` (see `PiiScanner`)."""
    return scanner_for(long_number_digits, phone_region).scan(text)


def mask(text: str, *, long_number_digits: int = 9, phone_region: str = "US") -> str:
    """`text` with e-mail addresses, phone numbers and long ids replaced.

    >>> mask("mail reader@example.com or call +44 20 7946 0958")
    'mail «email» or call «phone»'
    """
    return scanner_for(long_number_digits, phone_region).mask(text)


def redact(found: PersonalData) -> str:
    """A shortened form of a match that shows what it was without repeating it."""
    text = found.text
    if found.kind == "email":
        address = unquote(unquote(text))
        local, _, domain = address.rpartition("@")
        return f"{local[:1]}•••@{domain}"
    digits = [character for character in text if character.isdigit()]
    if found.kind == "phone":
        return f"•••{''.join(digits[-2:])} ({len(digits)} digits)"
    return f"{''.join(digits[:2])}•••{''.join(digits[-2:])} ({len(digits)} digits)"
