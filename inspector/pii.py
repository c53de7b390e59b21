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

import codecs
import logging
import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, NamedTuple
from urllib.parse import unquote, unquote_plus

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

# Characters an address may start with that, before one, are far more often the
# quotes or braces of the text around it (`'a@b.org'`, a `{}` template, a Markdown
# code span) than part of it. They are left out of the match, never masked away.
_ENCLOSING = "'`{|}"

# Things that are made of digits but are not about a person.
_UUID = re.compile(
    r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.IGNORECASE
)
_SCREEN_SIZE = re.compile(r"\d+x\d+", re.IGNORECASE)

_PHONE_PREFILTER = re.compile(r"(?:\d[^\d]{0,3}){7}")

# A percent escape (`%22`) is never part of a number: its hex digits stay out.
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_PERCENT_ESCAPE_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")

_MAX_DECODING_LAYERS = 3
"""How many times `mask` percent-decodes a text looking for hidden personal data
(a page URL inside a pixel URL inside a HAR file is encoded three times)."""

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
        self._masked: dict[str, str] = {}

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
            if "%" in cleaned:
                cleaned = _blank(cleaned, _PERCENT_ESCAPE)
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
        """`text` with every piece of personal data replaced by a placeholder.

        Percent-encoded text (URLs, query strings, a pixel's `data`) is also
        searched once decoded, up to three times over, and each piece found there
        is replaced in the text as written: the whole of its encoded form, and
        nothing else, so that escapes and the rest of the URL stay intact.
        """
        cached = self._masked.get(text)
        if cached is not None:
            return cached

        masked = self._mask(text)
        if len(self._masked) >= _CACHE_SIZE:
            self._masked.clear()
        self._masked[text] = masked
        return masked

    def _mask(self, text: str) -> str:
        spans = [(found.start, found.end, found.kind) for found in self.scan(text)]

        # Look again in each decoded form, mapping what is found back to `text`.
        # The maps are only drawn when something is found there, which is rare.
        layers = [text]
        maps: list[_DecodedText | None] = []
        for _ in range(_MAX_DECODING_LAYERS):
            decoded = _percent_decoded(layers[-1])
            if decoded is None:
                break
            layers.append(decoded)
            found = self.scan(decoded)
            if not found:
                continue
            while len(maps) < len(layers) - 1:
                maps.append(_decoding_map(layers[len(maps)]))
            for item in found:
                start, end = item.start, item.end
                for layer_map in reversed(maps):
                    if layer_map is None:
                        start, end = 0, len(text)
                        break
                    start, end = layer_map.source_span(start, end)
                spans.append((start, end, item.kind))

        if not spans:
            return text
        return _replace_spans(text, spans)

    def _emails(self, text: str) -> list[PersonalData]:
        from email_validator import EmailNotValidError, validate_email

        found = []
        for match in _EMAIL_CANDIDATE.finditer(text):
            start = match.start()

            # In percent-encoded text (`e%3Dreader%40...`) the hex digits of the
            # escape before the address are not part of it.
            if start > 0 and text[start - 1] == "%":
                start += 2
            while text[start] in _ENCLOSING:
                start += 1
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


class _DecodedText(NamedTuple):
    """A text percent-decoded once (`+` read as a space), with a map back.

    The decoded text is made of stretches; stretch `i` starts at `starts[i]` in the
    decoded text and at `sources[i][0]` in the source, where each of its characters
    took `sources[i][1]` source characters (1 for plain text, 3 for `%41`...).
    """

    text: str
    starts: list[int]
    sources: list[tuple[int, int]]

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """Where the decoded characters `start:end` were written in the source."""
        first, _ = self._source_of(start)
        _, last = self._source_of(max(end - 1, start))
        return first, last

    def _source_of(self, position: int) -> tuple[int, int]:
        index = bisect_right(self.starts, position) - 1
        source_start, width = self.sources[index]
        offset = source_start + (position - self.starts[index]) * width
        return offset, offset + width


def _percent_decoded(text: str) -> str | None:
    """`text` decoded once as a URL component (`+` is a space), or None when it
    holds no percent escapes."""
    if "%" not in text or not _PERCENT_ESCAPE.search(text):
        return None
    return unquote_plus(text)


def _decoding_map(text: str) -> _DecodedText | None:
    """`text` decoded as `_percent_decoded` does, with a map back to `text`."""
    runs = _PERCENT_ESCAPE_RUN.finditer(text)

    pieces: list[str] = []
    starts: list[int] = []
    sources: list[tuple[int, int]] = []
    length = 0

    def plain(start: int, end: int) -> None:
        nonlocal length
        if start < end:
            pieces.append(text[start:end].replace("+", " "))
            starts.append(length)
            sources.append((start, 1))
            length += end - start

    position = 0
    for run in runs:
        plain(position, run.start())
        raw = bytes.fromhex(run.group().replace("%", ""))
        if raw.isascii():
            pieces.append(raw.decode("ascii"))
            starts.append(length)
            sources.append((run.start(), 3))
            length += len(raw)
        else:
            # Multi-byte characters: each maps to all the escapes it took.
            decoder = codecs.getincrementaldecoder("utf-8")("replace")
            first_byte = 0
            for index in range(len(raw) + 1):
                last = index == len(raw)
                chunk = decoder.decode(raw[index : index + 1], final=last)
                if not chunk:
                    continue
                pending = len(decoder.getstate()[0])
                consumed = min(index + 1, len(raw)) - pending - first_byte
                source = (run.start() + 3 * first_byte, 3 * max(consumed, 1))
                for character in chunk:
                    pieces.append(character)
                    starts.append(length)
                    sources.append(source)
                    length += 1
                first_byte += consumed
        position = run.end()
    plain(position, len(text))

    decoded = "".join(pieces)
    if decoded != unquote_plus(text):
        # Not expected; the caller then masks the whole text, too much rather
        # than too little.
        logger.warning("percent-decoding map disagrees with unquote_plus")
        return None
    return _DecodedText(decoded, starts, sources)


def _replace_spans(text: str, spans: list[tuple[int, int, PiiKind]]) -> str:
    """`text` with each span (overlapping ones merged) replaced by a placeholder."""
    pieces = []
    position = 0
    for start, end, kind in _merge_spans(spans):
        pieces.append(text[position:start])
        pieces.append(PLACEHOLDERS[kind])
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _merge_spans(
    spans: list[tuple[int, int, PiiKind]],
) -> list[tuple[int, int, PiiKind]]:
    merged: list[tuple[int, int, PiiKind]] = []
    for start, end, kind in sorted(spans, key=lambda span: (span[0], -span[1])):
        if merged and start < merged[-1][1]:
            first_start, first_end, first_kind = merged[-1]
            merged[-1] = (first_start, max(first_end, end), first_kind)
        else:
            merged.append((start, end, kind))
    return merged


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
