"""Low-level reading of the Parse.ly wire format: query strings and JSON text.

These helpers know nothing about findings or events. They split a query string the
way the tracker's serialiser builds it (`+` is a space, `%2B` a plus, keys and values
percent-encoded UTF-8), and they read a JSON text into one of the `DataState`s with a
human-readable account of where it breaks. `inspector.decode` builds events on top.
"""

from __future__ import annotations

import binascii
import gzip
import json
import logging
import math
import re
import zlib
from typing import Any, NamedTuple
from urllib.parse import unquote

from inspector.model import DataState

logger = logging.getLogger(__name__)

_SNIPPET_CHARS = 24
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_GZIP_MAGIC = b"\x1f\x8b"
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT_CHARACTER = "\ufffd"
_ALL_BUT_SEPARATORS = bytes(set(range(256)) - set(b"&="))
"""Every byte but `&` and `=`: deleting them leaves a query's separators."""


class ParsedQuery(NamedTuple):
    """A query string or form body split into decoded `key=value` pairs."""

    pairs: list[tuple[str, str]]
    """Decoded (key, value) pairs in order; `+` is a space, escapes resolved."""
    last_is_bare: bool
    """The last piece had no `=` at all (as when a URL is cut inside a key)."""
    invalid_utf8: list[str]
    """Keys whose key or value held escaped bytes that are not UTF-8."""


def decode_component(raw: str) -> tuple[str, bool]:
    """Decode one form-encoded key or value; also say whether it was valid UTF-8."""
    if "+" in raw:
        raw = raw.replace("+", " ")

    if "%" not in raw:
        return raw, True

    try:
        return unquote(raw, errors="strict"), True
    except UnicodeDecodeError:
        return unquote(raw, errors="replace"), False


def split_query(query: str) -> ParsedQuery:
    """Split a query string (without the `?`) into decoded pairs, in order.

    Empty pieces (`a=1&&b=2`) are skipped; a bare `key` without `=` is kept with an
    empty value, as form parsers do when blank values are kept.
    """
    whole = _split_whole(query)
    if whole is not None:
        return ParsedQuery(whole, False, [])

    pieces = [piece for piece in query.split("&") if piece]
    if not pieces:
        return ParsedQuery([], False, [])

    raw_parts = []
    for piece in pieces:
        raw_key, _, raw_value = piece.partition("=")
        raw_parts.append(raw_key)
        raw_parts.append(raw_value)
    last_is_bare = "=" not in pieces[-1]

    decoded = _decode_all(raw_parts)
    if decoded is not None:
        pairs = list(zip(decoded[::2], decoded[1::2], strict=True))
        return ParsedQuery(pairs, last_is_bare, [])

    # Slow path, one component at a time: bad escapes or bytes that are not UTF-8.
    pairs = []
    invalid_utf8 = []
    for index in range(0, len(raw_parts), 2):
        key, key_ok = decode_component(raw_parts[index])
        value, value_ok = decode_component(raw_parts[index + 1])
        pairs.append((key, value))
        if not (key_ok and value_ok):
            invalid_utf8.append(key)
    return ParsedQuery(pairs, last_is_bare, invalid_utf8)


def _split_whole(query: str) -> list[tuple[str, str]] | None:
    """The pairs of a query in which every piece is one `key=value`, or None.

    That is how the tracker writes every pixel, so it is worth a pass that decodes
    the whole string at once, as bytes: both separators become NUL and the
    %-escapes quoted-printable ones, which `binascii.a2b_qp` resolves in C. It
    leaves a bad escape (`%zz`, a `%` at the end) as it was or drops it, so the
    text comes out shorter by two bytes per escape only when every escape was
    complete. A `%00` shows up as a wrong part count.
    """
    raw = query.encode("utf-8", "surrogatepass")
    separators = raw.translate(None, _ALL_BUT_SEPARATORS)
    pieces = len(separators) // 2 + 1
    if separators != b"=&" * (pieces - 1) + b"=":
        return None

    joined = raw.replace(b"&", b"\x00").replace(b"=", b"\x00")
    escapes = joined.count(b"%")
    if escapes:
        if b"\n" in joined or b"\r" in joined:
            return None  # quoted-printable reads `=` before a line break as a join
        quoted = joined.replace(b"%", b"=").replace(b"+", b" ")
        joined = binascii.a2b_qp(quoted)
        if len(joined) != len(quoted) - 2 * escapes:
            return None
    elif b"+" in joined:
        joined = joined.replace(b"+", b" ")

    try:
        parts = joined.decode("utf-8").split("\x00")
    except UnicodeDecodeError:
        return None
    if len(parts) != 2 * pieces:
        return None
    return list(zip(parts[::2], parts[1::2], strict=True))


def _decode_all(raw_parts: list[str]) -> list[str] | None:
    """Decode every key and value in one pass, or None when the slow path is needed.

    The parts are joined with NUL and their %-escapes rewritten as quoted-printable
    `=XX` escapes, which `binascii.a2b_qp` resolves in C. That is only equivalent to
    percent-decoding when every `%` starts a full escape and there are no line
    breaks; a NUL produced by `%00` shows up as a wrong part count.
    """
    joined = "\x00".join(raw_parts)
    if "\n" in joined or "\r" in joined or _BAD_ESCAPE.search(joined):
        return None

    if "%" in joined:
        quoted = joined.replace("=", "=3D").replace("%", "=").replace("+", " ")
        try:
            as_bytes = quoted.encode("utf-8", "surrogatepass")
            joined = binascii.a2b_qp(as_bytes).decode("utf-8")
        except UnicodeError:
            return None
    elif "+" in joined:
        joined = joined.replace("+", " ")

    decoded = joined.split("\x00")
    return decoded if len(decoded) == len(raw_parts) else None


def query_of(url: str) -> str:
    """The query string of a URL: after the first `?`, before any `#`."""
    _, question, rest = url.partition("?")
    if not question:
        return ""
    query, _, _ = rest.partition("#")
    return query


def decode_body_text(body: bytes) -> tuple[str, bool]:
    """A request body as text (gunzipped when it is gzip), and whether it was UTF-8."""
    if body.startswith(_GZIP_MAGIC):
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error):
            logger.debug("body looks gzipped but does not decompress")

    try:
        return body.decode("utf-8"), True
    except UnicodeDecodeError:
        return body.decode("utf-8", errors="replace"), False


_UNCLOSED_STRING = "Unterminated string starting at"
"""The json module's message for a string with no closing quote; the position it
gives is where the string starts."""
_PLAIN_JSON_REASONS = {
    _UNCLOSED_STRING: "a string is never closed",
    "Invalid \\escape": "invalid backslash escape",
}
"""The json module's messages that do not read whole once their trailing `at`
(which the position follows) is taken off, in plain words."""


def json_reason(message: str) -> str:
    """The json module's message for a break, as words in a sentence:
    `Invalid control character at` becomes `invalid control character`,
    `Unterminated string starting at` becomes `a string is never closed`."""
    if message in _PLAIN_JSON_REASONS:
        return _PLAIN_JSON_REASONS[message]
    reason = message[:1].lower() + message[1:]
    return reason.removesuffix(" at")


def describe_json_error(error: json.JSONDecodeError) -> str:
    """Say where a JSON text breaks: `expecting value at character 0 ('TODO')`,
    `a string starting at character 9 is never closed ('"ab')`."""
    reason = json_reason(error.msg)
    document = error.doc or ""

    if "\n" in document:
        where = f"line {error.lineno}, column {error.colno}"
    else:
        where = f"character {error.pos}"
    if error.msg == _UNCLOSED_STRING:
        # The position is the string's start, not where anything went wrong.
        reason, where = "a string starting", f"{where} is never closed"

    snippet = document[error.pos : error.pos + _SNIPPET_CHARS]
    if not snippet:
        shown = "end of text" if document else "empty value"
    else:
        ellipsis = "…" if len(document) - error.pos > _SNIPPET_CHARS else ""
        # Shown escaped: the text may hold terminal escape sequences.
        snippet = _CONTROL_CHARACTER.sub(
            lambda match: f"\\x{ord(match.group()):02x}", snippet
        )
        shown = f"'{snippet}{ellipsis}'"
    return f"{reason} at {where} ({shown})"


def json_error_at_end(error: json.JSONDecodeError) -> bool:
    """True when the JSON text simply stopped early, as a cut-off text does."""
    document = error.doc or ""
    if error.msg == _UNCLOSED_STRING:
        return True
    return error.pos >= len(document.rstrip())


class JsonReading(NamedTuple):
    """What a JSON text turned out to hold."""

    state: DataState
    value: dict[str, Any] | None
    """The object (recovered from inside a string when double-encoded)."""
    problem: str | None
    """For INVALID and NOT_OBJECT: what is wrong, in words."""
    cut_short: bool = False
    """For INVALID: the text ends before the JSON does."""
    parsed: Any = None
    """Whatever JSON value was read, even when it is not an object."""
    repaired: bool = False
    """Lone surrogate escapes in the text were replaced by U+FFFD."""
    percent_encoded: bool = False
    """For DOUBLE_ENCODED: the text was percent-encoded once more than the query
    (`%7B%22...`), and the object was read after decoding it again."""


_JSON_TYPE_NAMES = {
    dict: "an object",
    list: "a list",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def json_type_name(value: Any) -> str:
    """`an object`, `a list`, `a number`... for messages, in JSON's words."""
    for python_type, name in _JSON_TYPE_NAMES.items():
        if type(value) is python_type:
            return name

    # Subclasses (bool is an int, a mapping from a JSON hook is a dict) by kind.
    for python_type, name in _JSON_TYPE_NAMES.items():
        if isinstance(value, python_type):
            return name
    return "a value of an unknown kind"


def _reject_constant(name: str) -> Any:
    raise ValueError(
        f"{name} is not a JSON value (JSON.stringify writes null in its place)"
    )


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"the number {text[:24]} is too large to store")
    return number


_JSON_DECODER = json.JSONDecoder(
    parse_constant=_reject_constant, parse_float=_finite_float
)


def load_json(text: str) -> tuple[Any, bool]:
    """Parse a JSON text as a browser's `JSON.parse` would.

    `NaN` and `Infinity`, which Python accepts, raise `ValueError`, and so does a
    number too large for a float (which would come out as `Infinity`). A `\\udXXX`
    escape without its other half (a JavaScript string cut inside an emoji) is
    valid JSON but no Unicode text: it becomes U+FFFD, and the second value of
    the result says that happened.
    """
    value = _JSON_DECODER.decode(text)
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        return _without_surrogates(value)
    return value, False


def _without_surrogates(value: Any) -> tuple[Any, bool]:
    """`value` with lone surrogates in its strings (keys too) replaced by U+FFFD."""
    if isinstance(value, str):
        repaired = _SURROGATE.sub(REPLACEMENT_CHARACTER, value)
        return repaired, repaired != value
    if isinstance(value, list):
        items = [_without_surrogates(item) for item in value]
        if any(changed for _, changed in items):
            return [item for item, _ in items], True
        return value, False
    if isinstance(value, dict):
        changed = False
        repaired_map = {}
        for key, item in value.items():
            new_key, key_changed = _without_surrogates(key)
            new_item, item_changed = _without_surrogates(item)
            repaired_map[new_key] = new_item
            changed = changed or key_changed or item_changed
        return (repaired_map, True) if changed else (value, False)
    return value, False


def without_surrogates(text: str) -> str:
    """Text with any lone surrogate (not encodable as UTF-8) replaced by U+FFFD."""
    return _SURROGATE.sub(REPLACEMENT_CHARACTER, text)


_KEY_END = re.compile(r'"\s*:')


def duplicate_keys(text: str, value: dict[str, Any]) -> list[str]:
    """Keys that a JSON object text gives more than once, at any depth.

    `JSON.parse` (and Parse.ly after it) keeps the last of them without a word.
    Counting the places a key could end is cheap; only when they outnumber the keys
    read is the text parsed again, pair by pair, to name the repeated ones.
    """
    if len(_KEY_END.findall(text)) <= _count_keys(value):
        return []

    repeated: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _item in items:
            if key in seen and key not in repeated:
                repeated.append(key)
            seen.add(key)
        return dict(items)

    try:
        json.JSONDecoder(object_pairs_hook=pairs).decode(text)
    except (ValueError, RecursionError):
        return []
    return repeated


def _count_keys(value: Any) -> int:
    if isinstance(value, dict):
        return len(value) + sum(_count_keys(item) for item in value.values())
    if isinstance(value, list):
        return sum(_count_keys(item) for item in value)
    return 0


def read_json_object(text: str) -> JsonReading:
    """Read a JSON text that should hold an object (the `data` parameter)."""
    try:
        parsed, repaired = load_json(text)
    except json.JSONDecodeError as error:
        if text[:1] == "%":
            recovered = _percent_decoded_object(text)
            if recovered is not None:
                return recovered
        return JsonReading(
            DataState.INVALID,
            None,
            describe_json_error(error),
            cut_short=bool(text) and json_error_at_end(error),
        )
    except RecursionError:
        return JsonReading(DataState.INVALID, None, "nested too deeply to read")
    except ValueError as error:
        return JsonReading(DataState.INVALID, None, str(error) or type(error).__name__)

    reading = classify_json_value(parsed)
    if reading.repaired != repaired:
        reading = reading._replace(repaired=repaired)
    return reading


def _percent_decoded_object(text: str) -> JsonReading | None:
    """The object in a text percent-encoded twice (`%7B%22plan%22...` once the
    query is decoded), or None when decoding it again gives no JSON object."""
    decoded = unquote(text)
    if decoded == text:
        return None
    try:
        parsed, repaired = load_json(decoded)
    except (ValueError, RecursionError):
        return None
    if not isinstance(parsed, dict):
        return None
    return JsonReading(
        DataState.DOUBLE_ENCODED,
        parsed,
        None,
        parsed=parsed,
        repaired=repaired,
        percent_encoded=True,
    )


def classify_json_value(parsed: Any) -> JsonReading:
    """Sort an already parsed JSON value into a `DataState`."""
    if isinstance(parsed, dict):
        return JsonReading(DataState.OK, parsed, None, parsed=parsed)

    if isinstance(parsed, str):
        if parsed[:1] == "%":
            recovered = _percent_decoded_object(parsed)
            if recovered is not None:
                return recovered
        inner = parsed.strip()
        if inner[:1] in ("{", "["):
            try:
                recovered, repaired = load_json(inner)
            except (ValueError, RecursionError):
                recovered, repaired = None, False
            if isinstance(recovered, dict):
                return JsonReading(
                    DataState.DOUBLE_ENCODED,
                    recovered,
                    None,
                    parsed=parsed,
                    repaired=repaired,
                )
            if recovered is not None:
                problem = (
                    f"a JSON string holding {json_type_name(recovered)}, not an object"
                )
                return JsonReading(DataState.NOT_OBJECT, None, problem, parsed=parsed)

    return JsonReading(
        DataState.NOT_OBJECT,
        None,
        f"{json_type_name(parsed)}, not an object",
        parsed=parsed,
    )


def compact_json(value: Any, limit: int = 200) -> str:
    """A short one-line JSON rendering of a value for messages."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text
