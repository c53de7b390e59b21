"""Read and write recorded traffic: mitmproxy flow files, HAR and request lists.

Three formats are understood, told apart by their content rather than their name:

* **mitmproxy flow files** (`.mitm`), as written by `mitmdump -w` or `write_mitm`.
* **HAR** (`.har`, or zlib-compressed `.zhar`), as exported by browser devtools or
  written by mitmproxy's `save.har`. A gzip file, known by its first bytes
  whatever its name, is read as the recording it holds (HAR, or any other).
  Entries are validated one by one, so a bad entry is reported with its number
  and the good ones are still read; a file cut short still gives the entries
  before the break. A `.zhar` (zlib or gzip) or a gzip file is decompressed as it
  is read and only up to `INFLATED_LIMIT_BYTES`, so that a small file cannot fill
  the memory; the entries before that point are read. A request
  the browser recorded as failed (`_error`, such as `net::ERR_BLOCKED_BY_CLIENT`)
  keeps that error. Bytes that are not UTF-8 are reported with the entry (or
  line) holding them and read as U+FFFD, percent-escaped in a URL. An entry whose
  only fault is its `startedDateTime` (missing, or no date) is reported and read,
  timed by its pixel's `rand` as a flow with no capture time is.
* **Request lists**: plain text, the shape users paste from logs and devtools. Blocks
  are separated by `---` lines; each block is a request line (`METHOD URL` with one
  of `HTTP_METHODS`, or a bare URL meaning GET; `//host/path` means https), optional
  `Name: value` header lines, then a blank line and a body. A request line starts a
  new request even without a `---`, so a file of bare URLs, one per line, is a
  request list too. A line of several URLs (side by side, after one method, or as a
  JSON list) is one request each; a header or body after it is reported, since it
  could belong to any of them. A whole file that is a JSON list of URLs is read
  the same way, each string named by its line. Lines starting with `#` are
  comments, except annotations such as `# @t=+2000ms` (the next request was sent
  2 s after the first one) and `# @client=203.0.113.7` (the client address of this
  and later requests).

  A line that fits nowhere is reported, and the lines after it are skipped up to the
  next request line or `---`. The request it interrupts is kept when it is a GET
  (the URL is all of it) and dropped otherwise (its body cannot be told apart any
  more). Lines that are not UTF-8 are reported and read with U+FFFD in place of the
  bad bytes. Terminal escape sequences (a coloured log's `ESC[32m`) are taken out
  of the lines; a line of binary data (a control character left in it) is a line
  that fits nowhere. A file mostly binary at its start or as a whole is refused.

A request whose own URL `urlsplit` refuses (an unclosed IPv6 bracket, a port that is
no number) is reported at its line, entry or flow and skipped, as is a flow file
record that is whole (its length frames it) but no flow; the rest of the file is
still read. Problems are worded for the user, in the terms of the file: what is
wrong and where, never an exception's class or a Python repr.

An empty file (nothing but white space) is an error: it is never a recording of
anything.

Requests without a `@t` annotation are timed by their `rand` parameter (the pixel's
own epoch-milliseconds clock) when it has one, else 1 ms after the previous request;
a list with no clock at all leaves the times at 0.

`load_requests` reads whatever it can from several files and collects the problems as
`RecordingError`s instead of stopping at the first one; `replay` then judges the
requests with an `Inspection`.
"""

from __future__ import annotations

import bisect
import dataclasses
import difflib
import io
import json
import logging
import os
import re
import stat
import sys
import uuid
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, NamedTuple
from urllib.parse import parse_qsl, quote, urlencode

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from inspector.clock import finite_number
from inspector.model import CapturedRequest
from inspector.urls import split_url, url_host, url_port, url_problem
from inspector.wire import json_reason

if TYPE_CHECKING:
    from inspector.inspection import InspectionResult
    from inspector.spec import Spec

logger = logging.getLogger(__name__)

PathLike = str | Path

STDIN_LABEL = "<stdin>"
"""How standard input (`-`) is named in ids, reports and error messages."""

STREAM_LIMIT_BYTES = 64 << 20
"""How much of standard input, a pipe or a device is read (64 MiB). Such a source
may never end; a regular file is read whole, whatever its size."""
_READ_CHUNK_BYTES = 1 << 20

INFLATED_LIMIT_BYTES = STREAM_LIMIT_BYTES
"""How much of the HAR inside a `.zhar` file is decompressed (64 MiB, as for
streams): a small file can decompress to gigabytes."""
_ZLIB_OR_GZIP = zlib.MAX_WBITS | 32
"""`wbits` for `zlib.decompressobj` that accepts either header."""
_GZIP_MAGIC = b"\x1f\x8b"

_HEAD_BYTES = 64
_UTF8_BOM = b"\xef\xbb\xbf"
_TNETSTRING_START = re.compile(rb"^\d+:")
_HAR_ENTRIES_START = re.compile(r'"entries"\s*:\s*\[')

_METHOD = re.compile(r"^[A-Z]{3,10}$")
"""A word in the place of a request line's method: checked against HTTP_METHODS."""
HTTP_METHODS = (
    "GET",
    "POST",
    "HEAD",
    "PUT",
    "DELETE",
    "OPTIONS",
    "PATCH",
    "CONNECT",
    "TRACE",
)
"""The methods a request list's `METHOD URL` line may name (RFC 9110 and PATCH)."""
_HTTP_VERSION_SUFFIX = re.compile(r"\s+HTTP/\d(?:\.\d)?$")
_HEADER_LINE = re.compile(
    r"^(?P<name>[!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(?P<value>.*)$"
)
_TIME_ANNOTATION = re.compile(r"@t=\+?(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>ms|s)?\b")
_NOT_WIRE_SAFE = re.compile(r"[^\x21-\x7e]+")
_CLIENT_ANNOTATION = re.compile(r"@client=(?P<address>[^\s,;]+)")
_HOST_NAME = r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::\d+)?"
_SCHEME_RELATIVE_URL = re.compile(rf"^//{_HOST_NAME}(?:[/?#]|$)")
_SCHEMELESS_URL = re.compile(rf"^{_HOST_NAME}[/?]")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
"""Text that cannot be written as UTF-8: escaped bytes, or half a UTF-16 pair."""
_HALF_PAIR = re.compile("[\ud800-\udc7f\udd00-\udfff]")
"""A lone surrogate that is not an escaped byte (U+DC80 to U+DCFF)."""
_TERMINAL_SEQUENCE = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x00-\x1f\x7f]*(?:\x07|\x1b\\)|[ -/]+[0-~])"
)
"""A terminal escape sequence, as a coloured log holds them: a CSI sequence
(`ESC [32m`, `ESC [0m`, `ESC [1;31m`), an OSC sequence (a window title, a link)
ended by BEL or `ESC \\`, or a character set choice (`ESC (B`)."""
_BINARY_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""What no line of text holds once terminal sequences are taken out: a control
character other than a tab or a line break (a lone ESC, VT and FF included)."""
_LINE_BREAK = re.compile("\r\n|\r|\n")
_SNIFF_CHARACTERS = 4096
"""How much of the start of a file (about 4 KiB) decides whether it is text."""
_BODYLESS_METHODS = frozenset({"GET", "HEAD"})
_URL_WRAPPERS = frozenset({'""', "''", "<>"})
"""The first and last characters of a bare URL quoted or bracketed in a paste."""

# `rand` is the tracker's epoch-milliseconds clock; only trust plausible values.
_EARLIEST_RAND_MS = 946_684_800_000  # 2000-01-01
_LATEST_RAND_MS = 4_102_444_800_000  # 2100-01-01
_UNTIMED_STEP_S = 0.001

# A flow file must name a client address; this one stands for "not known".
_UNSPECIFIED_ADDRESS = "0.0.0.0"


class RecordingError(Exception):
    """A recording, or part of one, that could not be read.

    Attributes:
        path: The file as the user named it (`<stdin>` for standard input).
        location: Where in the file (`line 12`, `entry 7`, `flow 3`), or None when
            the whole file is concerned.
        message: What is wrong, in words a user can act on.
        label: How the file is named among the recordings read together (as
            `recording_labels` names it; by default its file name,
            `recording_label(path)`), and so how the message names it.
        unopened: The file could not be opened at all (missing, a directory, no
            permission): the message names it by `path`, as the user typed it,
            since its bare name may not say which file was meant.
    """

    def __init__(
        self,
        path: PathLike,
        location: str | None,
        message: str,
        *,
        label: str | None = None,
        unopened: bool = False,
    ):
        self.path = str(path)
        self.location = location
        self.message = message
        self.label = label or recording_label(self.path)
        self.unopened = unopened
        super().__init__(str(self))

    def __str__(self) -> str:
        named = self.path if self.unopened else self.label
        if self.location:
            return f"{named}: {self.location}: {self.message}"
        return f"{named}: {self.message}"

    def __repr__(self) -> str:
        unopened = ", unopened=True" if self.unopened else ""
        return (
            f"RecordingError({self.path!r}, {self.location!r}, {self.message!r}, "
            f"label={self.label!r}{unopened})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RecordingError):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[str, str | None, str, str, bool]:
        return (self.path, self.location, self.message, self.label, self.unopened)

    def relabel(self, label: str) -> RecordingError:
        """Name the file `label` from now on; returns the error itself."""
        self.label = label
        self.args = (str(self),)
        return self


# --------------------------------------------------------------------------------------
# Reading


def read_requests(
    path: PathLike,
    *,
    errors: list[RecordingError] | None = None,
    label: str | None = None,
) -> Iterator[CapturedRequest]:
    """Yield the HTTP requests kept in one recording, in the order they were sent.

    Args:
        path: A `.mitm` flow file, a HAR file or a request list; `-` reads standard
            input.
        errors: When given, problems with a part of the file (a bad HAR entry, a
            malformed request block, a flow file that breaks off) are appended here
            and reading goes on with the rest. When None, the first such problem is
            raised.
        label: How the requests name the file in their ids, origins and `source`,
            and the errors in their messages (default: `recording_label(path)`).

    Raises:
        RecordingError: The file cannot be read at all, or (without `errors`) part
            of it is malformed. Raised while iterating, after the requests read so
            far have been yielded.
    """
    name = STDIN_LABEL if str(path) == "-" else str(path)
    label = label or recording_label(path)
    report = _error_sink(errors, label)

    try:
        stream, cut_short = _open_binary(path)
        with stream:
            head = _peek(stream, _HEAD_BYTES)
            if not head.removeprefix(_UTF8_BOM).strip():
                _reject_if_empty(stream, name)
            kind = _detect_format(head, name)
            logger.debug("reading %s as %s", name, kind)

            cut = _stream_limit_error(name) if cut_short else None
            if kind == "mitm":
                yield from _read_mitm(stream, name, label, report, cut=cut)
                cut_short = False  # said, with what was read
            elif kind == "har":
                yield from _read_har(stream.read(), name, label, report, cut=cut)
                cut_short = False
            elif kind in ("zhar", "gzip"):
                yield from _read_compressed(stream, kind, name, label, report)
            else:
                data = stream.read()
                if cut_short and b"\n" in data:
                    # Not when there is no line at all: 64 MiB of one line is
                    # no list cut, but binary data (`/dev/zero`), said as such.
                    data = _whole_lines(data)
                yield from _read_request_list(data, name, label, report)
        if cut_short:
            report(_stream_limit_error(name))
    except RecordingError as error:
        error.relabel(label)
        raise
    except OSError as error:
        # The file went away or broke while being read (a disk or network error).
        reason = (error.strerror or str(error)).lower()
        raise RecordingError(
            name, None, f"could not be read: {reason}", label=label
        ) from None


def load_requests(
    paths: Iterable[PathLike],
) -> tuple[list[CapturedRequest], list[RecordingError]]:
    """Read every request that can be read from several recordings.

    Files are read in the order given and their requests concatenated. Nothing is
    raised for bad input: missing or unreadable files, bad HAR entries, malformed
    request blocks and broken flow files are returned as errors alongside whatever
    could be read. Each file stays its own `source` (see `load_each`).
    """
    per_file, errors = load_each(paths)
    return [request for requests in per_file for request in requests], errors


def load_each(
    paths: Iterable[PathLike],
) -> tuple[list[list[CapturedRequest]], list[RecordingError]]:
    """Like `load_requests`, with the requests of each file in a list of their own.

    Each recording is a capture of its own, so its requests carry it as their
    `source` and page loads and visitors are never merged across files, even when
    they share page and visitor ids (copies of one session, test cases made from
    one template). Files are named by `recording_labels`: by their file name; by
    the path as given when two files share a name, and with a number when one is
    given twice. Request ids and error messages start with that label, so ids stay
    unique across the files.
    """
    paths = [str(path) for path in paths]
    per_file: list[list[CapturedRequest]] = []
    errors: list[RecordingError] = []

    for path, label in zip(paths, recording_labels(paths), strict=True):
        requests: list[CapturedRequest] = []
        try:
            requests.extend(read_requests(path, errors=errors, label=label))
        except RecordingError as error:
            errors.append(error)
        per_file.append(requests)

    return per_file, errors


def recording_label(path: PathLike) -> str:
    """How one recording is named in ids, origins and reports.

    Its file name without the folder; `<stdin>` for `-`; and the path as given for
    a device or a file descriptor the shell passes by name (`/dev/null`, `<(...)`
    gives `/dev/fd/63`), whose bare name says nothing.
    """
    text = str(path)
    if text == "-":
        return STDIN_LABEL
    given = Path(text)
    special = given.is_absolute() and given.parts[1:2] in (("dev",), ("proc",))
    if (
        not given.name
        or special
        or (given.parent.name == "fd" and given.name.isdigit())
    ):
        return text
    return given.name


def recording_labels(paths: Iterable[PathLike]) -> list[str]:
    """How each recording is named in ids and messages: unique within `paths`."""
    paths = [str(path) for path in paths]
    names = {path: recording_label(path) for path in paths}
    name_counts = Counter(names.values())
    labels: list[str] = []
    for path in paths:
        name = names[path]
        given = name if name_counts[name] == 1 else path
        # A file given again is numbered, past any label already in use.
        label, copy = given, 1
        while label in labels:
            copy += 1
            label = f"{given} ({copy})"
        labels.append(label)
    return labels


def replay(
    paths: Iterable[PathLike],
    spec: Spec | None = None,
    *,
    geoip_db: str | None = None,
) -> tuple[InspectionResult, list[RecordingError]]:
    """Judge the pixels in recordings: read them, then run them through an Inspection.

    Returns the inspection's result and the problems met while reading; a file that
    could only be read in part still contributes the requests before the problem.
    """
    from inspector.inspection import Inspection

    requests, errors = load_requests(paths)
    inspection = Inspection(spec, geoip_db=geoip_db)
    return inspection.process_all(requests), errors


def _error_sink(errors: list[RecordingError] | None, label: str):
    """A callable that collects recoverable errors, or raises them in strict mode,
    naming their file `label`."""

    def report(error: RecordingError) -> None:
        error.relabel(label)
        if errors is None:
            raise error
        logger.debug("recording problem: %s", error)
        errors.append(error)

    return report


def _open_binary(path: PathLike) -> tuple[IO[bytes], bool]:
    """The recording as a seekable binary stream, and whether it was cut short.

    A regular file is read in place. Standard input, a pipe, a shell's `<(...)` or
    a device is read up front (so that the format can be sniffed and the data read
    again), up to `STREAM_LIMIT_BYTES`: such a source may never end (`/dev/zero`,
    `<(yes URL)`).
    """
    if str(path) == "-":
        return _read_bounded(sys.stdin.buffer)

    try:
        stream = open(path, "rb")  # closed by the caller
    except FileNotFoundError:
        problem = "no such file"
    except IsADirectoryError:
        problem = "is a directory, not a recording"
    except OSError as error:
        problem = f"cannot be opened: {(error.strerror or str(error)).lower()}"
    else:
        if stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            return stream, False
        with stream:
            return _read_bounded(stream)

    raise RecordingError(path, None, problem, unopened=True)


def _read_bounded(source: IO[bytes]) -> tuple[IO[bytes], bool]:
    """Up to `STREAM_LIMIT_BYTES` of a stream, and whether there was more."""
    limit = STREAM_LIMIT_BYTES
    chunks = []
    size = 0
    while size <= limit:
        chunk = source.read(min(_READ_CHUNK_BYTES, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    data = b"".join(chunks)
    return io.BytesIO(data[:limit]), size > limit


def _stream_limit_error(name: str) -> RecordingError:
    limit = _size_text(STREAM_LIMIT_BYTES)
    return RecordingError(
        name,
        None,
        f"reading stopped after the first {limit}: standard input, pipes and "
        "devices are read up to that much; save the recording to a file to read "
        "all of it",
    )


def _size_text(size: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def _reject_if_empty(stream: IO[bytes], name: str) -> None:
    """Raise when the whole file is blank: nothing was recorded, or the paste failed.

    A recording that holds requests but no pixels is fine; an empty one is most
    likely the wrong file, and must not pass a check unnoticed.
    """
    position = stream.tell()
    if stream.read().removeprefix(_UTF8_BOM).strip():
        stream.seek(position)
        return

    if name == STDIN_LABEL:
        raise RecordingError(name, None, "standard input is empty")
    raise RecordingError(name, None, "the file is empty")


def _peek(stream: IO[bytes], size: int) -> bytes:
    position = stream.tell()
    head = stream.read(size)
    stream.seek(position)
    return head


def _detect_format(head: bytes, name: str) -> str:
    """Decide how to read a file from its first bytes (and, for .zhar, its name)."""
    if name.lower().endswith(".zhar"):
        return "zhar"
    if head.startswith(_GZIP_MAGIC) or head == _GZIP_MAGIC[:1]:
        # Whatever the name: `day.har.gz`, or gzip data saved as `day.har` (or
        # cut after its first byte).
        return "gzip"

    text_start = head.removeprefix(_UTF8_BOM).lstrip()
    if text_start.startswith((b"{", b"[")):
        # No request list starts with a bracket: HAR, or a JSON list of URLs.
        return "har"
    if _TNETSTRING_START.match(head) or name.lower().endswith((".mitm", ".flows")):
        return "mitm"
    if name.lower().endswith(".har"):
        return "har"
    return "text"


def _read_compressed(
    stream: IO[bytes], kind: str, name: str, label: str, report
) -> Iterator[CapturedRequest]:
    """The requests of a compressed recording: a `.zhar`, or any gzip file.

    A `.zhar` holds a HAR; a gzip file (`day.har.gz`, `list.txt.gz`) holds any
    of the formats, told apart by their content as for a file of its own.
    """
    data, inflate_error = _inflate(stream, name, kind)
    if not data.removeprefix(_UTF8_BOM).strip() and inflate_error is None:
        raise RecordingError(name, None, "the file is empty once decompressed")

    inner = "har" if kind == "zhar" else _detect_format(data[:_HEAD_BYTES], "")
    inner_name = name.lower().removesuffix(".gz")
    if inner == "text" and inner_name.endswith(".har"):
        inner = "har"
    elif inner == "text" and inner_name.endswith((".mitm", ".flows")):
        inner = "mitm"
    logger.debug("reading %s as %s inside %s", name, inner, kind)

    if inner == "har":
        yield from _read_har(data, name, label, report, cut=inflate_error)
    elif inner == "mitm":
        yield from _read_mitm(io.BytesIO(data), name, label, report, cut=inflate_error)
    elif inflate_error is None:
        yield from _read_request_list(data, name, label, report)
    else:
        yield from _read_request_list(_whole_lines(data), name, label, report)
        report(inflate_error)


def _whole_lines(data: bytes) -> bytes:
    """The lines of `data`, cut short, that it holds whole: the last one, cut in
    the middle, is left out rather than misread (`https://p1.pars`)."""
    return data[: data.rfind(b"\n") + 1]


def _inflate(
    stream: IO[bytes], name: str, kind: str = "zhar"
) -> tuple[bytes, RecordingError | None]:
    """What a `.zhar` (a HAR) or a gzip file holds, and why it stops early when it
    does.

    The file is decompressed as it is read, and only up to `INFLATED_LIMIT_BYTES`:
    a few kilobytes of compressed data can stand for gigabytes. What came out
    before the limit, the end of a file cut short or damaged data is returned all
    the same, so that the entries in it can still be read.
    """
    head = _peek(stream, 2)
    inflater = zlib.decompressobj(_ZLIB_OR_GZIP)
    limit = INFLATED_LIMIT_BYTES
    chunks: list[bytes] = []
    size = 0
    problem = None
    try:
        while size <= limit and not inflater.eof:
            compressed = inflater.unconsumed_tail or stream.read(_READ_CHUNK_BYTES)
            if not compressed:
                problem = "the compressed data ends early: the file was cut short"
                break
            chunk = inflater.decompress(compressed, limit + 1 - size)
            chunks.append(chunk)
            size += len(chunk)
    except zlib.error:
        if not _compressed_header(head):
            raise RecordingError(
                name,
                None,
                "not a compressed HAR: a .zhar file holds a HAR compressed with "
                "zlib (as mitmproxy writes it) or gzip",
            ) from None
        problem = "the compressed data is damaged"

    if size > limit:
        chunks[-1] = chunks[-1][: len(chunks[-1]) - (size - limit)]
        if kind == "zhar":
            problem = (
                f"reading stopped after the first {_size_text(limit)} of the HAR "
                "it holds: a .zhar file is decompressed up to that much; "
                "decompress it to a .har file to read all of it"
            )
        else:
            problem = (
                f"reading stopped after the first {_size_text(limit)} of what it "
                "holds: a gzip file is decompressed up to that much; decompress "
                "it (gunzip) to read all of it"
            )
    elif inflater.eof and inflater.unused_data:
        logger.debug("%s: data after the end of the compressed HAR ignored", name)
    if problem is None:
        return b"".join(chunks), None
    if not size:
        raise RecordingError(name, None, problem)
    return b"".join(chunks), RecordingError(name, None, problem)


def _compressed_header(head: bytes) -> bool:
    """True when `head`, two bytes, starts a zlib or a gzip stream."""
    if head == _GZIP_MAGIC:
        return True
    return len(head) == 2 and head[0] & 0x0F == 8 and int.from_bytes(head) % 31 == 0


# -- mitmproxy flow files --------------------------------------------------------------


def _read_mitm(
    stream: IO[bytes],
    name: str,
    label: str,
    report,
    *,
    cut: RecordingError | None = None,
) -> Iterator[CapturedRequest]:
    """The requests of a mitmproxy flow file.

    `cut`, as for `_read_har`, says why the data stops early: it is said in place
    of a last record that breaks off, or after the last flow.
    """
    from mitmproxy import http
    from mitmproxy.io import FlowReader

    flows = FlowReader(stream).stream()
    flows_read = 0
    whole_flows = 0
    end_of_last_flow = stream.tell()

    while True:
        try:
            flow = next(flows)
        except StopIteration:
            if cut is not None:
                report(cut)
            return
        except Exception as error:  # noqa: BLE001 - mitmproxy does not validate
            # mitmproxy's migration and `from_state` index into a record unchecked
            # (KeyError, AttributeError, TypeError, ...): see what the record is.
            logger.debug("%s: flow %d", name, flows_read + 1, exc_info=True)
            where = f"flow {flows_read + 1} (byte {end_of_last_flow})"
            problem, next_record = _unreadable_flow(stream, end_of_last_flow, error)
            if next_record is None and cut is not None and problem in _BROKEN_FRAMES:
                # The record breaks off where the data does.
                report(_cut_error(cut, whole_flows, "flow"))
                return
            if next_record is None:
                # Where the next record starts is not known, or it would fail the
                # same way: reading stops here.
                read = _what_was_read(whole_flows, "flow")
                report(RecordingError(name, where, f"{problem}; {read}"))
                if cut is not None:
                    report(cut)
                return
            flows_read += 1
            message = f"not a mitmproxy flow ({problem}); skipped"
            report(RecordingError(name, where, message))
            stream.seek(next_record)
            flows = FlowReader(stream).stream()
            end_of_last_flow = next_record
            continue

        flows_read += 1
        whole_flows += 1
        end_of_last_flow = stream.tell()
        if not isinstance(flow, http.HTTPFlow):
            logger.debug(
                "%s flow %d is a %s flow; skipped", name, flows_read, flow.type
            )
            continue
        if flow.request.method == "CONNECT":
            continue
        request = _request_from_flow(
            flow,
            f"{label} flow {flows_read}",
            source=label,
            request_id=f"{label}:{flows_read}",
        )
        problem = url_problem(request.url)
        if problem:
            report(_bad_url_error(name, f"flow {flows_read}", request.url, problem))
            continue
        if finite_number(request.timestamp) is None:
            # NaN or infinity is no time: every difference with it is NaN.
            report(
                RecordingError(
                    name,
                    f"flow {flows_read}",
                    f"the capture time {request.timestamp!r} is not a time; the "
                    "pixel's own clock is used instead",
                )
            )
            request = dataclasses.replace(request, timestamp=_pixel_time(request.url))
        yield request


def _pixel_time(url: str) -> float:
    """When a request without a capture time was sent, by the pixel's own clock:
    its `rand`, else 0, which lets the pipeline use a mobile batch's `data.ts`."""
    rand_time = _rand_seconds(url)
    return rand_time if rand_time is not None else 0.0


def _url_text(url: str) -> str:
    """A URL as valid text: raw bytes that are not UTF-8 percent-escaped again.

    mitmproxy (and HAR files written from it) carry such bytes as lone surrogates
    (U+DC80 to U+DCFF); `%E9` is what went over the wire, and the decoder reports
    it as not UTF-8. Any other lone surrogate becomes U+FFFD.
    """
    if not _SURROGATE.search(url):
        return url
    return _SURROGATE.sub(_escape_surrogate, url)


def _escape_surrogate(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:
        return f"%{code - 0xDC00:02X}"
    return "\ufffd"


def _header_text(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Header names and values as valid text: undecodable bytes become U+FFFD."""
    return tuple(
        (_SURROGATE.sub("\ufffd", name), _SURROGATE.sub("\ufffd", value))
        for name, value in headers
    )


_TNETSTRING_TAGS = b",;#^!~]}"
_TNETSTRING_FRAME = re.compile(rb"(\d{1,12}):")
"""A tnetstring record: its length in digits and a colon, the data, a type tag."""
_RECORD_KINDS = {
    dict: "a mapping",
    list: "a list",
    bytes: "a byte string",
    str: "a text string",
    bool: "a boolean",
    int: "a whole number",
    float: "a number",
    type(None): "null",
}
_MITMPROXY_FIELD_PROBLEMS = (
    # How mitmproxy 11 words the faults of a record's fields, and ours for them.
    (
        re.compile(r"Expected <class '(\w+)'> for (\w+), but got <class '(\w+)'>"),
        lambda m: f"the `{m[2]}` field is {_type_kind(m[3])}, not {_type_kind(m[1])}",
    ),
    (
        re.compile(r"missing \d+ required [\w-]+ arguments?: (.*)"),
        lambda m: _missing_fields(re.findall(r"'(\w+)'", m[1])),
    ),
    (
        re.compile(r"unexpected keyword argument '(\w+)'"),
        lambda m: f"it has a field mitmproxy does not know, `{m[1]}`",
    ),
    (
        re.compile(r"(?:Invalid value for|Invalid data for|Attribute) (\w+)"),
        lambda m: f"the `{m[1]}` field holds a value mitmproxy cannot use",
    ),
)


_FLOW_CUT_SHORT = "the file ends in the middle of this flow: it was cut short"
_NOT_A_FLOW_FRAME = (
    "the data is not a mitmproxy flow (a damaged file, or not a flow file)"
)
_BROKEN_FRAMES = (_FLOW_CUT_SHORT, _NOT_A_FLOW_FRAME)
"""Why a record's frame (its length, its type tag) cannot be read, as it cannot
where the data is cut."""


def _unreadable_flow(
    stream: IO[bytes], start: int, error: Exception
) -> tuple[str, int | None]:
    """Why the record at `start` is no flow, and where the record after it starts.

    A record is framed by its length, so one that is whole but no flow (damaged
    inside, or made by another program) can be stepped over. The position is None
    when reading cannot go on: the frame itself is broken or cut off, or the file
    is in a flow format this mitmproxy cannot read, as every record after it is.
    """
    from mitmproxy import exceptions
    from mitmproxy.io import tnetstring

    # The record's frame: its length, and the type tag after its data.
    size = stream.seek(0, os.SEEK_END)
    stream.seek(start)
    frame = _TNETSTRING_FRAME.match(stream.read(13))
    end = None if frame is None else start + frame.end() + int(frame[1]) + 1
    if end is not None and end > size:
        return _FLOW_CUT_SHORT, None
    if end is not None:
        stream.seek(end - 1)
        if stream.read(1) not in _TNETSTRING_TAGS:
            end = None
    if end is None:
        return _NOT_A_FLOW_FRAME, None

    stream.seek(start)
    try:
        record = tnetstring.loads(stream.read(end - start))
    except RecursionError:
        return "it is nested too deeply to be read", end
    except (ValueError, TypeError, IndexError):
        return "its contents are damaged", end
    if isinstance(error, exceptions.FlowReadException) and (
        "flow format version" in str(error)
    ):
        return _unknown_flow_format(record), None
    return _why_no_flow(record, error), end


def _why_no_flow(record: Any, error: Exception) -> str:
    """What keeps a whole record from being a flow, in the terms of the file."""
    if not isinstance(record, dict):
        return f"the record is {_RECORD_KINDS.get(type(record), 'a value')}, not a flow"
    cause = error.__cause__ or error
    if isinstance(cause, KeyError) and cause.args:
        return _missing_fields([_field_text(cause.args[0])])
    if "Unknown flow type" in str(cause):
        kind = record.get("type", record.get(b"type"))
        return f"{_quote(_field_text(kind))} is not a kind of flow mitmproxy knows"
    for pattern, describe in _MITMPROXY_FIELD_PROBLEMS:
        if match := pattern.search(str(cause)):
            return describe(match)
    if isinstance(cause, (TypeError, AttributeError)):
        return "a field holds a value of the wrong kind"
    return "mitmproxy cannot make a flow of it"


def _unknown_flow_format(record: dict[Any, Any]) -> str:
    """The flow format version this mitmproxy refused, and what to do about it."""
    from mitmproxy import version

    number = record.get("version", record.get(b"version"))
    if isinstance(number, list) and all(isinstance(part, int) for part in number):
        shown = ".".join(str(part) for part in number)
    else:
        shown = _field_text(number)
    problem = (
        f"this flow is in flow format version {shown}, which mitmproxy "
        f"{version.VERSION} cannot read"
    )
    if isinstance(number, int) and number > version.FLOW_FORMAT_VERSION:
        problem += " (a newer mitmproxy wrote it: update mitmproxy to read it)"
    return problem


def _missing_fields(names: list[str]) -> str:
    if len(names) == 1:
        return f"the {_quote(names[0])} field is missing"
    listed = ", ".join(_quote(name) for name in names[:-1])
    return f"the {listed} and {_quote(names[-1])} fields are missing"


def _type_kind(python_type: str) -> str:
    kinds = {kind.__name__: text for kind, text in _RECORD_KINDS.items()}
    return kinds.get(python_type, "a value of another kind")


def _field_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _what_was_read(count: int, thing: str, before: str = "it") -> str:
    if count == 0:
        return f"no {thing} before {before} could be read"
    if count == 1:
        return f"the {thing} before {before} was read"
    things = f"{thing.removesuffix('y')}ies" if thing.endswith("y") else f"{thing}s"
    return f"the {count} {things} before {before} were read"


def _cut_error(cut: RecordingError, count: int, thing: str) -> RecordingError:
    """Why the data stops early (`cut`), with what was read before it: where it
    stops is no fault of the recording, so this is said in place of whatever
    the format's reader made of the cut."""
    read = _what_was_read(count, thing, "the cut")
    return RecordingError(cut.path, cut.location, f"{cut.message}; {read}")


def _request_from_flow(
    flow: Any, origin: str, *, source: str = "", request_id: str | None = None
) -> CapturedRequest:
    """A CapturedRequest from a mitmproxy HTTPFlow (recorded or live).

    Its id is `request_id` when given (`demo.mitm:12` for the 12th flow of a
    file), else mitmproxy's flow id, as for live traffic.
    """
    request = flow.request
    body = request.get_content(strict=False) or b""

    response_status = None
    content_type = None
    failure = flow.error.msg if flow.error is not None else None
    if flow.response is not None:
        response_status = flow.response.status_code
        content_type = flow.response.headers.get("content-type") or None
        # An answer came back, so the request arrived whatever went wrong later.
        failure = None

    peername = flow.client_conn.peername if flow.client_conn else None
    client_address = str(peername[0]) if peername else None
    if client_address in (_UNSPECIFIED_ADDRESS, "::"):
        client_address = None
    return CapturedRequest(
        method=request.method,
        url=_url_text(request.pretty_url),
        headers=_header_text(request.headers.items(multi=True)),
        body=body,
        timestamp=request.timestamp_start,
        client_address=client_address,
        origin=origin,
        request_id=flow.id if request_id is None else request_id,
        response_status=response_status,
        content_type=content_type,
        error=failure or None,
        source=source,
    )


# -- HAR -------------------------------------------------------------------------------


class _HarModel(BaseModel):
    """Base of the HAR entry models; field names follow HAR's own camelCase."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)


class _HarNameValue(_HarModel):
    name: str
    value: str


class _HarPostData(_HarModel):
    mimeType: str = ""
    text: str | None = None
    params: list[_HarNameValue] = []


class _HarRequest(_HarModel):
    method: str
    url: str
    headers: list[_HarNameValue] = []
    postData: _HarPostData | None = None


class _HarContent(_HarModel):
    mimeType: str | None = None


class _HarResponse(_HarModel):
    status: int = 0
    headers: list[_HarNameValue] = []
    content: _HarContent | None = None
    error: str | None = Field(default=None, alias="_error")
    """Not part of HAR 1.2: Chromium and mitmproxy say here why a request failed."""


_HAR_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
"""How every HAR writer starts its ISO 8601 date and time: `2024-06-10T07:30`."""


def _har_date_time(value: Any) -> datetime:
    """`startedDateTime` read as HAR 1.2 has it: an ISO 8601 date and time string
    (`2024-06-10T07:30:00.120Z`, `2024-06-10T09:30:00.120+02:00`).

    Anything else is refused rather than guessed at: a number (or a string of
    digits) is no date in HAR, and read as epoch seconds it would override the
    pixel's own clock with a time of some other meaning; a date alone has no time.
    """
    if isinstance(value, str) and _HAR_DATE_TIME.match(value):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise PydanticCustomError("datetime_har", "not an ISO 8601 date and time")


class _HarEntry(_HarModel):
    startedDateTime: Annotated[datetime, BeforeValidator(_har_date_time)]
    request: _HarRequest
    response: _HarResponse | None = None
    client_address: str | None = Field(default=None, alias="_clientAddress")
    """Not part of HAR 1.2: `write_har` adds it so GeoIP works on HAR fixtures."""
    error: str | None = Field(default=None, alias="_error")
    """Some tools put the failure on the entry rather than on its response."""


def _read_har(
    data: bytes,
    name: str,
    label: str,
    report,
    *,
    cut: RecordingError | None = None,
) -> Iterator[CapturedRequest]:
    """The requests of a HAR document.

    `cut` says why `data` stops early, when it does (a size limit, a compressed
    file cut short or damaged): where the JSON then breaks off is no fault of the
    file, so `cut` is reported in its place, with the entries read before it.
    """
    if _JSON_LIST_START.match(data):
        # HAR is an object: a list is URLs, as pasted from devtools or a log.
        yield from _read_json_list(data, name, label, report, cut=cut)
        return

    try:
        entries, break_error, notes = _har_entries(data, name)
    except RecordingError:
        if cut is None:
            raise
        # Cut before a single entry: the JSON breaks wherever the cut fell.
        raise _cut_error(cut, 0, "entry") from None
    for note in notes.get(0, ()):
        report(note)

    for number, raw_entry in enumerate(entries, start=1):
        for note in notes.get(number, ()):
            report(note)
        if raw_entry is _TOO_DEEP:
            message = f"{_TOO_DEEP_MESSAGE}; entry skipped"
            report(RecordingError(name, f"entry {number}", message))
            continue
        try:
            entry, time_problem = _validated_entry(raw_entry)
        except ValidationError as error:
            report(RecordingError(name, f"entry {number}", _describe_har_error(error)))
            continue

        if not entry.request.url.lower().startswith(("http://", "https://")):
            logger.debug("%s entry %d is not HTTP; skipped", name, number)
            continue
        problem = url_problem(entry.request.url)
        if problem:
            report(_bad_url_error(name, f"entry {number}", entry.request.url, problem))
            continue
        request = _request_from_har(entry, label, number)
        if time_problem:
            # As for a flow whose capture time is no time.
            message = f"{time_problem}; the pixel's own clock is used instead"
            report(RecordingError(name, f"entry {number}", message))
            request = dataclasses.replace(request, timestamp=_pixel_time(request.url))
        yield request

    # What stands in the entry the HAR breaks off in, or after the entries.
    for note in notes.get(len(entries) + 1, ()):
        report(note)
    if cut is not None and break_error is not None:
        report(_cut_error(cut, len(entries), "entry"))
    elif cut is not None:
        report(cut)
    elif break_error is not None:
        report(break_error)


def _har_entries(
    data: bytes, name: str
) -> tuple[list[Any], RecordingError | None, dict[int, list[RecordingError]]]:
    """The raw entries of a HAR document, where it breaks off when it does, and
    what in it is not UTF-8.

    A file cut short (a download or an export that stopped half-way) still gives
    the entries before the break; the error says where it broke. Bytes that are
    not UTF-8 do not stop the reading (see `_har_text`); the notes that say where
    they are come keyed by the number of the entry they are in (0: before the
    entries list; one past the last entry read: the entry the HAR breaks off in,
    or after the list).
    """
    text, bad_bytes = _har_text(data, name)

    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        # Broken, or nested deeper than the parser can follow: read the entries
        # one by one, so that only those from the break on (or nested that deep)
        # are lost.
        document_error = error if isinstance(error, json.JSONDecodeError) else None
        salvaged = _salvage_har_entries(text, data, name, document_error)
        if salvaged is None and document_error is not None:
            raise RecordingError(
                name,
                f"line {document_error.lineno} column {document_error.colno}",
                f"not valid JSON: {json_reason(document_error.msg)}",
            ) from None
        if salvaged is None:
            raise RecordingError(
                name, None, f"not a HAR file: {_TOO_DEEP_MESSAGE}"
            ) from None
        entries, before_error, break_error, layout = salvaged
        notes = _encoding_notes(name, text, bad_bytes, layout)
        if before_error is not None:
            # Said before the entries, as it stands there.
            notes.setdefault(0, []).append(before_error)
        return entries, break_error, notes

    log = document.get("log") if isinstance(document, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise RecordingError(name, None, _not_har(document))
    if not bad_bytes:
        return entries, None, {}

    # Where each entry stands, to name the ones that hold the bad bytes.
    scanned = _scan_har_entries(text)
    layout = None
    if scanned is not None and len(scanned[0]) == len(entries):
        layout = scanned[1]
    return entries, None, _encoding_notes(name, text, bad_bytes, layout)


def _har_text(data: bytes, name: str) -> tuple[str, list[int]]:
    """The text of a HAR file, and where in it the bytes that are not UTF-8 are.

    Each such byte is read as an escaped byte (U+DC80 to U+DCFF, as mitmproxy
    keeps one), so that its entry is still read: a URL keeps it percent-escaped,
    which the decoder reports, and other text shows U+FFFD. Data that is not
    text at all is refused.
    """
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as error:
        first_bad_byte = error.start

    text = data.decode("utf-8-sig", errors="surrogateescape")
    if b"\0" in data or _looks_binary(text):
        raise RecordingError(
            name, f"byte {first_bad_byte}", "a HAR file must be UTF-8 text"
        )
    return text, [match.start() for match in _ESCAPED_BYTE.finditer(text)]


class _EntryLayout(NamedTuple):
    """Where the entries of a HAR stand in its text."""

    start: int
    """Where the entries list starts (after its `[`)."""
    spans: list[tuple[int, int]]
    """Where each complete entry starts and ends."""
    stop: int | None
    """Where the list stops being JSON, if it does."""


def _encoding_notes(
    name: str, text: str, bad_bytes: list[int], layout: _EntryLayout | None
) -> dict[int, list[RecordingError]]:
    """The notes on bytes that are not UTF-8: one per entry holding some, and one
    per line holding some outside every entry; keyed as `_har_entries` says.

    Bytes after the point where the HAR stops being JSON are never read, so
    nothing is said of them. Without a `layout`, every note names a line.
    """
    places: dict[tuple[int, str], list[int]] = {}
    starts = [start for start, _ in layout.spans] if layout is not None else []
    for position in bad_bytes:
        number = _entry_holding(layout, position)
        if number is not None:
            place = (number, f"entry {number}")
        elif layout is not None and layout.stop is not None and position > layout.stop:
            continue
        else:
            # Between entries (or after them): said before the entry that follows.
            inside = layout is not None and position >= layout.start
            key = bisect.bisect_right(starts, position) + 1 if inside else 0
            place = (key, f"line {text.count(chr(10), 0, position) + 1}")
        places.setdefault(place, []).append(position)

    notes: dict[int, list[RecordingError]] = {}
    for (key, where), positions in places.items():
        if where.startswith("entry"):
            where += f" (line {text.count(chr(10), 0, positions[0]) + 1})"
        message = _replaced_bytes_message(text, positions)
        notes.setdefault(key, []).append(RecordingError(name, where, message))
    return notes


def _entry_holding(layout: _EntryLayout | None, position: int) -> int | None:
    """The number of the entry whose text holds `position`, if one does; the
    entry the list breaks off in counts, up to the point where it breaks."""
    if layout is None:
        return None
    spans = layout.spans
    index = bisect.bisect_right(spans, (position, sys.maxsize)) - 1
    if index >= 0 and spans[index][0] <= position < spans[index][1]:
        return index + 1
    broken_from = spans[-1][1] if spans else layout.start
    if layout.stop is not None and broken_from <= position <= layout.stop:
        return len(spans) + 1
    return None


def _replaced_bytes_message(text: str, positions: list[int]) -> str:
    """What became of the bytes that are not UTF-8 at `positions`, on one line
    or in one entry."""
    first = positions[0]
    byte = ord(text[first]) - 0xDC00
    column = first - text.rfind("\n", 0, first)
    if len(positions) == 1:
        what = (
            f"byte 0x{byte:02X} at column {column} was read as U+FFFD (kept as "
            f"`%{byte:02X}` in a URL)"
        )
    else:
        what = (
            f"{len(positions)} bytes, the first 0x{byte:02X} at column {column}, "
            "were read as U+FFFD (kept percent-escaped in a URL)"
        )
    return f"not UTF-8 text: {what}; save the HAR as UTF-8 to keep the characters"


def _not_har(document: Any) -> str:
    if isinstance(document, dict):
        return "not a HAR file: it has no log.entries list"
    kinds = {str: "a string", bool: "a boolean", type(None): "null"}
    kind = kinds.get(type(document), "a number")
    return f"not a HAR file: the JSON document is {kind}, not an object"


# -- JSON lists of URLs ----------------------------------------------------------------

_JSON_LIST_START = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*\[")
_JSON_KINDS = {
    dict: ("an object", "objects"),
    list: ("a list", "lists"),
    str: ("a string", "strings"),
    bool: ("a boolean", "booleans"),
    int: ("a number", "numbers"),
    float: ("a number", "numbers"),
    type(None): ("null", "nulls"),
}
"""How a JSON value is named in messages: one of them, and several."""


def _read_json_list(
    data: bytes,
    name: str,
    label: str,
    report,
    *,
    cut: RecordingError | None = None,
) -> Iterator[CapturedRequest]:
    """The requests of a JSON list of URLs (`["https://…", "https://…"]`).

    Each string is read as a line of a request list would be, and named by its
    line, with `URL 2` for the second on a line that holds several (as for URLs
    side by side). An item that is no URL is reported and skipped; a list cut
    short gives the URLs before the cut. A list with no string in it at all is
    not taken for a list of URLs: it is named for what it is. `cut`, as for
    `_read_har`, says why `data` stops early, and is said in place of where the
    list then breaks off.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if cut is None or error.reason != "unexpected end of data":
            raise RecordingError(
                name, f"byte {error.start}", "a JSON list of URLs must be UTF-8 text"
            ) from None
        # The cut fell inside a character.
        text = data[: error.start].decode("utf-8-sig")
    items, break_at = _json_list_items(text)

    # The line of each item, counted as the items go.
    lines = []
    line, counted_to = 1, 0
    for _, start in items:
        line += text.count("\n", counted_to, start)
        counted_to = start
        lines.append(line)

    problems: list[RecordingError] = []
    values = [value for value, _ in items]
    if not any(isinstance(value, str) for value in values):
        if cut is not None:
            raise _cut_error(cut, len(items), "item")
        if break_at is not None:
            position, reason = break_at
            raise RecordingError(
                name,
                _line_column(text, position),
                f"not valid JSON: {json_reason(reason)}",
            )
        raise RecordingError(name, None, _not_a_url_list(values))

    # Several items on one line are told apart as URLs side by side are.
    per_line = Counter(lines)
    seen_on_line: Counter[int] = Counter()
    blocks = []
    for value, lineno in zip(values, lines, strict=True):
        seen_on_line[lineno] += 1
        part = seen_on_line[lineno] if per_line[lineno] > 1 else None
        block = _json_list_block(value, lineno, part, name, problems.append)
        if block is not None:
            blocks.append(block)
    requests = list(_requests_from_blocks(blocks, name, label, problems.append))
    if cut is not None:
        problems.append(_cut_error(cut, len(items), "item"))
    elif break_at is not None:
        problems.append(_json_list_break(name, text, break_at, len(items)))
    yield from _in_line_order(requests, problems, report)


def _json_list_block(
    value: Any, lineno: int, part: int | None, name: str, report
) -> _Block | None:
    """The request one item of a JSON list stands for; None (reported) if none."""
    where = f"line {lineno}" if part is None else f"line {lineno}, URL {part}"
    if value is _TOO_DEEP:
        problem = "expected a URL in quotes, found a value nested too deeply to read"
    elif not isinstance(value, str):
        kind = _JSON_KINDS[type(value)][0]
        problem = f"expected a URL in quotes, found {kind}"
    elif (request_line := _split_request_line(value.strip())) is None:
        problem = _not_a_request(value.strip())
    elif request_line[0] not in HTTP_METHODS:
        problem = _not_a_method(request_line[0])
    else:
        method, target, bare = request_line
        block = _Block(lineno, method, target, bare=bare)
        block.part = part
        return block
    report(RecordingError(name, where, f"{problem}; skipped"))
    return None


def _json_list_items(text: str) -> tuple[list[tuple[Any, int]], tuple[int, str] | None]:
    """The items of the JSON list in `text`, each with where it starts, and where
    and why the text stops being that list, if it does.

    Items are read one by one, so that a list cut short or broken still gives
    the items before the break. A comma before the closing bracket, as code has
    it, is allowed.
    """
    decoder = json.JSONDecoder()
    items: list[tuple[Any, int]] = []
    position = _skip_whitespace(text, text.index("[") + 1)
    while not text.startswith("]", position):
        start = position
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            return items, (error.pos, error.msg)
        except RecursionError:
            end = _end_of_json_value(text, position)
            if end is None:
                return items, (
                    position,
                    "an item is nested too deeply and never closes",
                )
            value, position = _TOO_DEEP, end
        items.append((value, start))

        position = _skip_whitespace(text, position)
        if text.startswith(",", position):
            position = _skip_whitespace(text, position + 1)
        elif not text.startswith("]", position):
            return items, (position, "expected `,` or `]` after an item")

    position = _skip_whitespace(text, position + 1)
    if position < len(text):
        return items, (position, "more text after the list")
    return items, None


def _json_list_break(
    name: str, text: str, break_at: tuple[int, str], items: int
) -> RecordingError:
    """Where a JSON list of URLs breaks off, and what was read before."""
    position, reason = break_at
    read = _what_was_read(items, "item")
    if not text[position:].strip() or reason.startswith("Unterminated"):
        where = f"line {text.count(chr(10)) + 1}"
        return RecordingError(name, where, f"the file ends inside the list; {read}")
    return RecordingError(
        name,
        _line_column(text, position),
        f"the list stops being valid JSON here ({json_reason(reason)}); {read}",
    )


def _line_column(text: str, position: int) -> str:
    line = text.count("\n", 0, position) + 1
    column = position - text.rfind("\n", 0, position)
    return f"line {line} column {column}"


def _not_a_url_list(values: list[Any]) -> str:
    """Why a JSON list without a single string is neither HAR nor a list of URLs."""
    if not values:
        return "the JSON list is empty: it holds no URL, and it is not a HAR file"
    if all(isinstance(value, dict) for value in values) and any(
        "request" in value for value in values
    ):
        return (
            "not a HAR file: the JSON document is a list of HAR entries; a HAR file "
            "is an object that holds them in log.entries"
        )
    kinds = sorted(
        {
            "too deeply nested values"
            if value is _TOO_DEEP
            else _JSON_KINDS[type(value)][1]
            for value in values
        }
    )
    listed = (
        kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + f" and {kinds[-1]}"
    )
    return (
        "not a HAR file (an object) or a list of URLs (strings): the JSON document "
        f"is a list of {listed}"
    )


def _salvage_har_entries(
    text: str, data: bytes, name: str, document_error: json.JSONDecodeError | None
) -> (
    tuple[list[Any], RecordingError | None, RecordingError | None, _EntryLayout] | None
):
    """The complete entries before the point where a broken HAR stops being JSON;
    where the document breaks before the entries list, if it does; why the list
    or what follows it stops being JSON; and where the entries stand in `text`.

    An entry nested too deeply to parse is kept as `_TOO_DEEP` (and reported at its
    number by `_read_har`); `document_error` is None when the document is valid
    JSON that is merely nested that deeply. None when not even the start of the
    entries list can be found.
    """
    scanned = _scan_har_entries(text)
    if scanned is None:
        return None
    entries, layout, reason = scanned

    before_error = None
    if document_error is not None and document_error.pos < layout.start:
        # The first break stands before the list, which is read all the same.
        before_error = RecordingError(
            name,
            _line_column(text, document_error.pos),
            f"not valid JSON before the entries list "
            f"({json_reason(document_error.msg)}); the entries are read all the same",
        )
    if layout.stop is not None:
        error = _har_break(name, text, data, layout.stop, entries, reason)
        return entries, before_error, error, layout
    if document_error is None or before_error is not None:
        return entries, before_error, None, layout

    # Every entry is there: the document breaks somewhere after the list.
    read = {0: "the list is empty", 1: "the entry was read"}.get(
        len(entries), "all entries were read"
    )
    error = RecordingError(
        name,
        _line_column(text, document_error.pos),
        f"not valid JSON after the entries list "
        f"({json_reason(document_error.msg)}); {read}",
    )
    return entries, None, error, layout


def _scan_har_entries(text: str) -> tuple[list[Any], _EntryLayout, str] | None:
    """The entries of a HAR, read one by one; where they stand; and why the list
    stops being JSON when it does (else ""). None when the start of the entries
    list cannot be found."""
    start = _HAR_ENTRIES_START.search(text)
    if start is None:
        return None

    decoder = json.JSONDecoder()
    entries: list[Any] = []
    spans: list[tuple[int, int]] = []

    def stopped(position: int, reason: str):
        return entries, _EntryLayout(start.end(), spans, position), reason

    position = start.end()
    while True:
        position = _skip_whitespace(text, position)
        if text.startswith("]", position):
            return entries, _EntryLayout(start.end(), spans, None), ""
        entry_start = position
        try:
            entry, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            return stopped(error.pos, error.msg)
        except RecursionError:
            end = _end_of_json_value(text, position)
            if end is None:
                return stopped(
                    position, "an entry is nested too deeply and never closes"
                )
            entry, position = _TOO_DEEP, end
        entries.append(entry)
        spans.append((entry_start, position))

        position = _skip_whitespace(text, position)
        if text.startswith(",", position):
            position += 1
        elif not text.startswith("]", position):
            return stopped(position, "expected `,` or `]` after an entry")


_TOO_DEEP = object()
"""Stands for an entry nested too deeply for the JSON parser."""
_TOO_DEEP_MESSAGE = (
    f"JSON nested more than about {sys.getrecursionlimit()} levels deep cannot be read"
)
_JSON_WHITESPACE = re.compile(r"[ \t\r\n]*")
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def _end_of_json_value(text: str, position: int) -> int | None:
    """Where the array or object starting at `position` ends (None: it never does).

    Only brackets and strings are followed, so that an entry too deep to parse can
    be stepped over without parsing it.
    """
    depth = 0
    for token in _JSON_TOKEN.finditer(text, position):
        mark = token.group()
        if mark in "[{":
            depth += 1
        elif mark in "]}":
            depth -= 1
            if depth == 0:
                return token.end()
    return None


def _har_break(
    name: str, text: str, data: bytes, position: int, entries: list[Any], reason: str
) -> RecordingError:
    # The decoder points an unclosed string at its start; either way, a file that
    # runs out before the entry is complete was cut short rather than garbled.
    cut_short = not text[position:].strip() or reason.startswith("Unterminated")
    if cut_short:
        where = f"byte {_byte_offset(text, data, len(text))}"
        what = "the file ends in the middle of this entry"
    else:
        line = text.count("\n", 0, position) + 1
        column = position - text.rfind("\n", 0, position)
        where = f"line {line} column {column}"
        what = f"the HAR stops being valid JSON here ({json_reason(reason)})"

    if not entries:
        read = "no entry before it could be read"
    elif len(entries) == 1:
        read = "the entry before it was read"
    else:
        read = f"the {len(entries)} entries before it were read"
    return RecordingError(
        name,
        f"entry {len(entries) + 1} ({where})",
        f"{what}; {read}",
    )


def _skip_whitespace(text: str, position: int) -> int:
    return _JSON_WHITESPACE.match(text, position).end()


def _byte_offset(text: str, data: bytes, position: int) -> int:
    """The byte offset in the file of a position in its decoded text."""
    bom = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    return bom + len(text[:position].encode("utf-8", "surrogateescape"))


_STAND_IN_TIME = "1970-01-01T00:00:00Z"
"""Stands in for an entry's startedDateTime that is missing or no time."""


def _validated_entry(raw_entry: Any) -> tuple[_HarEntry, str | None]:
    """A HAR entry, and what is wrong with its startedDateTime when only that is.

    An entry is still a request without its start time (a tool that leaves it
    out, a date in a local format): it is read with a stand-in time, which
    `_read_har` replaces, and the problem is returned. An entry with anything
    else wrong raises, every problem named.
    """
    try:
        return _HarEntry.model_validate(raw_entry), None
    except ValidationError as error:
        only_time = all(
            detail["loc"][:1] == ("startedDateTime",) for detail in error.errors()
        )
        if not only_time:
            raise
        time_problem = _describe_har_error(error)
    stand_in = {**raw_entry, "startedDateTime": _STAND_IN_TIME}
    return _HarEntry.model_validate(stand_in), time_problem


def _describe_har_error(error: ValidationError) -> str:
    """One line per problem: `request.url is missing`, `startedDateTime: ...`."""
    problems = []
    for detail in error.errors(include_url=False):
        where = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}"
            for part in detail["loc"]
        ).removeprefix(".")
        if detail["type"] == "missing":
            problems.append(f"{where} is missing")
        elif not where:
            problems.append("the entry is not a JSON object")
        elif detail["type"] == "model_type":
            # pydantic would name the internal model class here.
            problems.append(f"{where}: should be a JSON object")
        elif detail["type"].startswith(("datetime_", "date_from_")):
            given = _quote(json.dumps(detail.get("input"), ensure_ascii=False))
            problems.append(
                f"{where}: {given} is not a date and time as HAR writes them "
                "(ISO 8601, such as 2024-03-09T10:15:00.000Z)"
            )
        else:
            message = detail["msg"]
            problems.append(f"{where}: {message[:1].lower()}{message[1:]}")
    return "; ".join(problems)


def _request_from_har(
    entry: _HarEntry, display_name: str, number: int
) -> CapturedRequest:
    started = entry.startedDateTime
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)

    post_data = entry.request.postData
    body = b""
    if post_data is not None:
        if post_data.text is not None:
            # Escaped bytes go back to bytes; half a UTF-16 pair cannot.
            text = _HALF_PAIR.sub("\ufffd", post_data.text)
            body = text.encode("utf-8", "surrogateescape")
        elif post_data.params:
            # Escaped bytes are sent percent-escaped, as in a URL.
            pairs = [
                (_HALF_PAIR.sub("\ufffd", p.name), _HALF_PAIR.sub("\ufffd", p.value))
                for p in post_data.params
            ]
            body = urlencode(pairs, errors="surrogateescape").encode()

    response_status = None
    content_type = None
    failure = entry.error
    if entry.response is not None:
        failure = entry.response.error or failure
    if entry.response is not None and entry.response.status > 0:
        response_status = entry.response.status
        content_type = _header_value(entry.response.headers, "content-type")
        if not content_type and entry.response.content is not None:
            content_type = entry.response.content.mimeType
        # An answer came back, so the request arrived whatever went wrong later.
        failure = None
    return CapturedRequest(
        method=_valid_text(entry.request.method).upper(),
        url=_url_text(entry.request.url),
        headers=_header_text((h.name, h.value) for h in entry.request.headers),
        body=body,
        timestamp=started.timestamp(),
        client_address=_valid_text(entry.client_address) or None,
        origin=f"{display_name} entry {number}",
        request_id=f"{display_name}:{number}",
        response_status=response_status,
        content_type=_valid_text(content_type) or None,
        error=_valid_text(failure) or None,
        source=display_name,
    )


def _valid_text(text: str | None) -> str:
    """`text` (or "") with any lone surrogate, an escaped byte included, as U+FFFD."""
    return _SURROGATE.sub("\ufffd", text) if text else ""


def _header_value(headers: list[_HarNameValue], wanted: str) -> str | None:
    for header in headers:
        if header.name.lower() == wanted:
            return header.value
    return None


# -- request lists ---------------------------------------------------------------------


class _Block:
    """A request being assembled from the lines of a request list."""

    def __init__(self, lineno: int, method: str, target: str, *, bare: bool):
        self.lineno = lineno
        self.method = method
        self.target = target
        self.bare = bare
        """Written as a URL alone, as in a plain list of URLs."""
        self.headers: list[tuple[str, str]] = []
        self.body_lines: list[str] = []
        self.in_body = False
        self.offset_s: float | None = None
        self.client_address: str | None = None
        self.part: int | None = None
        """Which of the URLs on its line this is, when the line has several."""

    @property
    def where(self) -> str:
        """Its place in the file, as errors name it: `line 4`, `line 4, URL 2`."""
        if self.part is None:
            return f"line {self.lineno}"
        return f"line {self.lineno}, URL {self.part}"


class _BadLine:
    """A line that fits nowhere, and the lines skipped after it.

    Reading resumes at the next request line or `---`; until then the lines are
    skipped without a word each, since they are most likely the rest of whatever
    went wrong (a body without the blank line before it, a multi-line paste).
    """

    def __init__(
        self, lineno: int, problem: str, dropped: tuple[_Block, ...] = ()
    ) -> None:
        self.lineno = lineno
        self.problem = problem
        self.last_skipped = lineno
        self.dropped = dropped
        """The requests given up because of this line, if any."""

    def error(self, name: str) -> RecordingError:
        if len(self.dropped) == 1:
            consequence = "request skipped"
        elif self.dropped:
            line = self.dropped[0].lineno
            consequence = f"the {len(self.dropped)} requests of line {line} skipped"
        elif self.last_skipped == self.lineno:
            consequence = "line skipped"
        else:
            consequence = f"lines {self.lineno} to {self.last_skipped} skipped"
        return RecordingError(
            name, f"line {self.lineno}", f"{self.problem}; {consequence}"
        )


class _SharedLine:
    """The requests of one line that holds several URLs, and what may follow it.

    A header or a body after such a line could belong to any of its requests, so
    it is reported rather than given to one of them; requests that carry a body
    are dropped then, as their body is lost.
    """

    def __init__(self, blocks: list[_Block]) -> None:
        self.blocks = blocks
        self.after_blank = False
        """A blank line came after the request line: next would be a body."""

    def bad_line(self, lineno: int, line: str) -> _BadLine:
        first = self.blocks[0]
        bodyless = first.method in _BODYLESS_METHODS
        dropped = () if bodyless else tuple(self.blocks)
        header = _HEADER_LINE.match(line)
        if self.after_blank and bodyless:
            return _BadLine(lineno, _not_a_body(first, line))
        if self.after_blank or (header and not _mangled_url(header)):
            what = "a body" if self.after_blank else "a header"
            count = len(self.blocks)
            problem = (
                f"{what} after the {count} URLs of line {first.lineno} could belong "
                f"to any of them, found {_quote(line)}; give each request a line of "
                "its own"
            )
            return _BadLine(lineno, problem, dropped=dropped)
        problem = f"expected a URL or a request line, found {_quote(line)}"
        return _BadLine(lineno, problem, dropped=dropped)


def _read_request_list(
    data: bytes, name: str, label: str, report
) -> Iterator[CapturedRequest]:
    problems: list[RecordingError] = []
    text, binary_lines = _decode_text(data, name, problems.append)
    blocks = _parse_request_list(text, name, problems.append, binary_lines)
    requests = list(_requests_from_blocks(blocks, name, label, problems.append))
    yield from _in_line_order(requests, problems, report)


_LINE_LOCATION = re.compile(r"line (?P<line>\d+)(?:, URL (?P<part>\d+))?")


def _in_line_order(
    requests: list[tuple[_Block, CapturedRequest]],
    problems: list[RecordingError],
    report,
) -> Iterator[CapturedRequest]:
    """The requests of a list, with its problems reported between them, all in
    the order of the lines they stand on.

    The problems are found in passes (the bytes, then the lines, then the URLs),
    so they come out of order; a problem goes before a request on its own line
    (`line 4: not UTF-8 text` before the request of line 4). In strict mode the
    first problem in the file raises, after the requests above it.
    """

    def place(location: str | None) -> tuple[float, int]:
        match = _LINE_LOCATION.match(location or "")
        if match is None:
            return (float("inf"), 0)
        return (int(match["line"]), int(match["part"] or 0))

    items: list[tuple[float, int, int, int, Any]] = [
        (*place(problem.location), 0, order, problem)
        for order, problem in enumerate(problems)
    ]
    items.extend(
        (block.lineno, block.part or 0, 1, order, request)
        for order, (block, request) in enumerate(requests)
    )
    items.sort(key=lambda item: item[:4])

    for *_, item in items:
        if isinstance(item, RecordingError):
            report(item)
        else:
            yield item


def _requests_from_blocks(
    blocks: list[_Block], name: str, label: str, report
) -> Iterator[tuple[_Block, CapturedRequest]]:
    """The requests of a request list's blocks, each with its block, timed as the
    module says."""
    base_time: float | None = None
    previous_time: float | None = None
    for block in blocks:
        url = _absolute_url(block, name, report)
        if url is None:
            continue

        rand_time = _rand_seconds(url)
        if base_time is None:
            base_time = rand_time if rand_time is not None else 0.0
        if block.offset_s is not None:
            timestamp = base_time + block.offset_s
        elif rand_time is not None:
            timestamp = rand_time
        elif previous_time:
            timestamp = previous_time + _UNTIMED_STEP_S
        else:
            # Nothing says when: leave 0 so the pipeline falls back on the event's
            # own clock (a mobile batch's `data.ts`).
            timestamp = base_time
        previous_time = timestamp

        origin, request_id = f"{label} line {block.lineno}", f"{label}:{block.lineno}"
        if block.part is not None:
            origin += f", URL {block.part}"
            request_id += f".{block.part}"
        yield (
            block,
            CapturedRequest(
                method=block.method,
                url=url,
                headers=tuple(block.headers),
                body="\n".join(block.body_lines).strip("\n").encode("utf-8"),
                timestamp=timestamp,
                client_address=block.client_address,
                origin=origin,
                request_id=request_id,
                source=label,
            ),
        )


def _decode_text(data: bytes, name: str, report) -> tuple[str, dict[int, str]]:
    """The text of a request list, and the lines in it that are binary data.

    Whether the file is text at all is decided from its start and from the
    whole: a file that is mostly not text there (an image, an archive, a flow
    file renamed) is refused whole. In a text file, a line of binary data
    (control characters, NUL) is returned by number with what is wrong with it,
    for the parser to report and skip; a line that is merely not UTF-8 (a paste
    from a Latin-1 terminal, say) is reported here and read with the bytes that
    are not UTF-8 replaced by U+FFFD, so the rest of the list still reads as
    usual. Terminal escape sequences (the colours of a pasted log) are taken
    out first; a control character left over, a lone ESC included, makes its
    line binary data.
    """
    try:
        escaped = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        escaped = data.decode("utf-8-sig", errors="surrogateescape")
    # Colours and the like from a pasted terminal log are no part of a request.
    escaped = _TERMINAL_SEQUENCE.sub("", escaped)

    head = escaped[:_SNIFF_CHARACTERS]
    if _looks_binary(head) or _looks_binary(escaped):
        first_odd = _ODD_CHARACTER.search(escaped)
        position = first_odd.start() if first_odd else 0
        raise RecordingError(
            name,
            f"line {escaped.count(chr(10), 0, position) + 1}",
            "not UTF-8 text, and not a mitmproxy flow file or HAR either",
        )

    binary_lines: dict[int, str] = {}
    if not _ODD_CHARACTER.search(escaped):
        return escaped, binary_lines
    for lineno, line in enumerate(_text_lines(escaped), start=1):
        if binary := _BINARY_CHARACTER.search(line):
            byte = ord(binary.group())
            shown = _ESCAPED_BYTE.sub("\ufffd", line.strip())
            binary_lines[lineno] = (
                f"binary data, not text (byte 0x{byte:02X} at column "
                f"{binary.start() + 1}), found {_quote(shown)}"
            )
            continue
        escape = _ESCAPED_BYTE.search(line)
        if escape is None:
            continue
        byte = ord(escape.group()) - 0xDC00
        report(
            RecordingError(
                name,
                f"line {lineno}",
                f"not UTF-8 text: byte 0x{byte:02X} at column {escape.start() + 1} "
                "was read as U+FFFD; save the list as UTF-8 to keep the character",
            )
        )
    return _ESCAPED_BYTE.sub("\ufffd", escaped), binary_lines


_ODD_CHARACTER = re.compile("[\udc80-\udcff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""A byte that is not UTF-8 (escaped), or a control character that no line of
text holds (see `_BINARY_CHARACTER`)."""


def _looks_binary(escaped: str) -> bool:
    """True for text that is no text in any encoding: many bytes that are not
    UTF-8 or are control characters."""
    return len(_ODD_CHARACTER.findall(escaped)) * 10 > len(escaped)


def _text_lines(text: str) -> list[str]:
    """The lines of `text`, split at line breaks only (`\\n`, `\\r\\n`, `\\r`),
    so that line numbers are those of an editor even where a line holds binary
    data."""
    lines = _LINE_BREAK.split(text)
    if lines and not lines[-1]:
        lines.pop()
    return lines


def _parse_request_list(
    text: str, name: str, report, binary_lines: dict[int, str] | None = None
) -> list[_Block]:
    """Split a request list into request blocks, reporting lines that make no sense.

    A request line (a URL, or `METHOD URL`) starts a new request wherever it
    stands, with or without a `---` before it: that is what makes a plain list of
    URLs one request per line, and what ends the skipping after a bad line. Inside
    a block come header lines, then after a blank line the body. A line of
    `binary_lines` is a bad line wherever it stands, reported with its problem.
    """
    binary_lines = binary_lines or {}
    blocks: list[_Block] = []
    current: _Block | None = None
    shared: _SharedLine | None = None
    pending_offset: float | None = None
    client_address: str | None = None
    bad_line: _BadLine | None = None

    def start_block(lineno: int, method: str, target: str, bare: bool) -> _Block:
        nonlocal pending_offset
        block = _Block(lineno, method, target, bare=bare)
        block.offset_s = pending_offset
        block.client_address = client_address
        pending_offset = None
        blocks.append(block)
        return block

    def end_skipping() -> None:
        nonlocal bad_line
        if bad_line is not None:
            report(bad_line.error(name))
            bad_line = None

    for lineno, line in enumerate(_text_lines(text), start=1):
        stripped = line.strip()

        if lineno in binary_lines:
            # Never part of a request: the one it interrupts is kept only when
            # its URL is all of it.
            end_skipping()
            interrupted = [*(shared.blocks if shared else ()), current]
            dropped = tuple(
                block
                for block in interrupted
                if block is not None and block.method not in _BODYLESS_METHODS
            )
            for block in dropped:
                blocks.remove(block)
            bad_line = _BadLine(lineno, binary_lines[lineno], dropped=dropped)
            current = shared = None
            continue

        # A `---` line ends the block; comments and annotations may appear anywhere.
        if stripped == "---":
            end_skipping()
            current = shared = None
            continue
        if stripped.startswith("#"):
            if time_match := _TIME_ANNOTATION.search(stripped):
                amount = finite_number(time_match["amount"])
                if amount is None:
                    report(
                        RecordingError(
                            name,
                            f"line {lineno}",
                            f"{_quote(time_match.group())} is too large to be a "
                            "time; annotation ignored",
                        )
                    )
                else:
                    unit = time_match["unit"]
                    pending_offset = amount if unit == "s" else amount / 1000
            if client_match := _CLIENT_ANNOTATION.search(stripped):
                client_address = client_match["address"]
            continue

        if several := _several_urls(stripped):
            # URLs pasted side by side: one request each, never one glued URL.
            # What follows them could belong to any, so it is not taken.
            end_skipping()
            method, targets, bare = several
            shared = _SharedLine(
                [start_block(lineno, method, target, bare) for target in targets]
            )
            if len(targets) > 1:
                for part, block in enumerate(shared.blocks, start=1):
                    block.part = part
            current = None
            continue

        if request_line := _split_request_line(stripped):
            end_skipping()
            shared = None
            if request_line[0] not in HTTP_METHODS:
                # A request line all the same: it ends the request before it, and
                # its headers and body go with it.
                bad_line = _BadLine(lineno, _not_a_method(request_line[0]))
                current = None
                continue
            current = start_block(lineno, *request_line)
            continue

        if bad_line is not None:
            if stripped:
                bad_line.last_skipped = lineno
            continue

        if shared is not None:
            if stripped:
                bad_line = shared.bad_line(lineno, stripped)
                for block in bad_line.dropped:
                    blocks.remove(block)
                shared = None
            else:
                shared.after_blank = True
        elif current is None:
            if stripped:
                bad_line = _BadLine(lineno, _not_a_request(stripped))
        elif current.in_body:
            if stripped and current.method in _BODYLESS_METHODS:
                bad_line = _BadLine(lineno, _not_a_body(current, stripped))
                current = None
            else:
                current.body_lines.append(line)
        elif not stripped:
            current.in_body = True
        elif (header_match := _HEADER_LINE.match(stripped)) and not _mangled_url(
            header_match
        ):
            current.headers.append((header_match["name"], header_match["value"]))
        else:
            bad_line = _bad_line_in_head(current, lineno, stripped)
            for block in bad_line.dropped:
                blocks.remove(block)
            current = None

    end_skipping()
    return blocks


def _bad_line_in_head(block: _Block, lineno: int, line: str) -> _BadLine:
    """A line between a request line and its body that is not a header.

    A GET (all a pixel request is) is complete without headers, so it is kept; a
    request with a body is dropped, since where its body starts is anyone's guess.
    """
    if block.bare and not block.headers:
        problem = "expected a URL, a request line or a header `Name: value`"
    else:
        problem = "expected a header `Name: value` or a blank line before the body"
    problem = f"{problem}, found {_quote(line)}"
    if block.method in _BODYLESS_METHODS:
        return _BadLine(lineno, problem)

    if line.startswith(("{", "[")):
        problem += " (a body must come after a blank line)"
    return _BadLine(lineno, problem, dropped=(block,))


def _not_a_body(block: _Block, line: str) -> str:
    if block.bare:
        # A list of URLs with blank lines in between: this line is not a URL.
        return f"expected a URL or a request line, found {_quote(line)}"
    return f"a {block.method} request has no body, found {_quote(line)}"


def _not_a_request(line: str) -> str:
    if line.startswith("curl "):
        return (
            "a curl command is not a request line; paste the URL it fetches, or "
            "`METHOD URL` followed by its headers"
        )
    target = line.split(None, 1)[-1] if _METHOD.match(line.split(None, 1)[0]) else line
    if _SCHEMELESS_URL.match(target):
        return f"the URL {_quote(target)} has no scheme; start it with `https://`"
    return (
        "expected a request line such as `GET https://...` or a bare URL, "
        f"found {_quote(line)}"
    )


def _not_a_method(word: str) -> str:
    """Why a request line's first word is refused, with the method meant if clear."""
    close = difflib.get_close_matches(word, HTTP_METHODS, n=1, cutoff=0.65)
    if close:
        return f"{_quote(word)} is not an HTTP method (did you mean {close[0]}?)"
    return (
        f"{_quote(word)} is not an HTTP method; use one of "
        + ", ".join(HTTP_METHODS)
        + " (a pixel is a GET)"
    )


def _mangled_url(header: re.Match[str]) -> bool:
    """True for a "header" that is a URL with something stuck to its scheme
    (`'https://...` with an unmatched quote): reported, never taken as a header."""
    name = header["name"].lower()
    return name.endswith(("http", "https")) and header["value"].startswith("//")


def _several_urls(line: str) -> tuple[str, list[str], bool] | None:
    """`(method, targets, bare)` for a line of several URLs, else None.

    Such a line is URLs side by side (each perhaps quoted, or followed by the
    comma of a list), a method followed by URLs (`GET URL URL`), or a JSON list
    of URLs on one line (`["https://…","https://…"]`); the method is GET for bare
    ones. A URL with a space pasted in stays one request, since not all of its
    words are URLs.
    """
    if line.startswith("[") and line.rstrip(",; \t").endswith("]"):
        targets = _json_line_urls(line.rstrip(",; \t"))
        return None if targets is None else ("GET", targets, True)

    if line.count("://") < 2 or " " not in line and "\t" not in line:
        return None
    method, bare = "GET", True
    words = line.split()
    if words[0] in HTTP_METHODS:
        method, bare = words[0], False
        words = _HTTP_VERSION_SUFFIX.sub("", line).split()[1:]
    targets = []
    for word in words:
        request_line = _split_request_line(word)
        if request_line is None or not request_line[2]:
            return None
        targets.append(request_line[1])
    return (method, targets, bare) if len(targets) > 1 else None


def _json_line_urls(line: str) -> list[str] | None:
    """The URLs of a line that is a JSON list of bare URLs, else None."""
    try:
        items = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not items or not all(isinstance(item, str) for item in items):
        return None
    targets = []
    for item in items:
        request_line = _split_request_line(item.strip())
        if request_line is None or not request_line[2]:
            return None
        targets.append(request_line[1])
    return targets


def _split_request_line(line: str) -> tuple[str, str, bool] | None:
    """`(method, target, bare)` for `METHOD URL [HTTP/1.1]` or a bare URL, else None.

    A scheme-relative URL (`//host/path`, as devtools sometimes copy one) is read
    as https; a bare URL in quotes, as logs and JSON print one, or in angle
    brackets, as mail and Markdown do, is read without them. So is the comma or
    semicolon after one of a list pasted from code, unless the URL holds another
    (a pixel's own are always percent-encoded, so one there was pasted decoded).
    """
    quoted = line.rstrip(",; \t")  # an item of a list pasted from code
    if len(quoted) > 2 and (quoted[0] + quoted[-1]) in _URL_WRAPPERS:
        line = quoted[1:-1].strip()
    elif (
        quoted != line
        and quoted.lower().startswith(("http://", "https://", "//"))
        and not any(mark in quoted for mark in ",;")
    ):
        line = quoted
    if line.lower().startswith(("http://", "https://")):
        return "GET", line, True
    if _SCHEME_RELATIVE_URL.match(line):
        return "GET", f"https:{line}", True

    parts = line.split(None, 1)
    if len(parts) != 2 or not _METHOD.match(parts[0]):
        return None
    target = _HTTP_VERSION_SUFFIX.sub("", parts[1].strip())
    if _SCHEME_RELATIVE_URL.match(target):
        return parts[0], f"https:{target}", False
    if target.lower().startswith(("http://", "https://", "/")):
        return parts[0], target, False
    return None


def _absolute_url(block: _Block, name: str, report) -> str | None:
    """The block's URL; a `/path` target is completed with its Host header.

    A URL that cannot be taken apart (an unclosed IPv6 bracket, a port that is no
    number) is reported and its request skipped.
    """
    if not block.target.startswith("/"):
        url = wire_url(block.target)
    else:
        host = next((v for k, v in block.headers if k.lower() == "host"), None)
        if not host:
            report(
                RecordingError(
                    name,
                    block.where,
                    f"the target {_quote(block.target)} is a path; give a full URL "
                    "or a Host header",
                )
            )
            return None
        url = wire_url(f"https://{host.strip()}{block.target}")

    problem = url_problem(url)
    if problem:
        report(_bad_url_error(name, block.where, url, problem))
        return None
    return url


def _bad_url_error(name: str, where: str, url: str, problem: str) -> RecordingError:
    return RecordingError(
        name, where, f"{_quote(url)} is not a valid URL ({problem}); request skipped"
    )


def wire_url(url: str) -> str:
    """The URL as a browser sends it: spaces and non-ASCII characters %-encoded.

    URLs pasted from devtools or logs are often shown decoded; percent signs that
    are already there are kept, so encoding twice changes nothing.
    """
    return _NOT_WIRE_SAFE.sub(lambda match: quote(match.group(), safe=""), url)


def _rand_seconds(url: str) -> float | None:
    """The pixel's `rand` parameter as epoch seconds, when it looks like a clock."""
    query = split_url(url).query
    if "rand=" not in query:
        return None
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == "rand" and value.isdigit():
            milliseconds = int(value)
            if _EARLIEST_RAND_MS <= milliseconds <= _LATEST_RAND_MS:
                return milliseconds / 1000
    return None


def _quote(text: str, limit: int = 60) -> str:
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return f"`{shown}`"


# --------------------------------------------------------------------------------------
# Writing


def write_mitm(requests: Iterable[CapturedRequest], path: PathLike) -> int:
    """Write requests as a mitmproxy flow file; returns how many flows were written.

    The flows are built the way mitmproxy builds live ones, so `mitmproxy -r`,
    `mitmdump -r` and `read_requests` read them back. Ids and connection times are
    derived from the requests, so writing the same requests twice gives the same
    file.
    """
    from mitmproxy.io import FlowWriter

    count = 0
    with open(path, "wb") as stream:
        writer = FlowWriter(stream)
        for flow in flows_from_requests(requests):
            writer.add(flow)
            count += 1
    return count


def write_har(requests: Iterable[CapturedRequest], path: PathLike) -> int:
    """Write requests as a HAR 1.2 file (zlib-compressed when the name ends .zhar).

    The HAR document is made by mitmproxy's own HAR exporter from the same flows
    `write_mitm` writes; each entry also gets a `_clientAddress` field when the
    client address is known. Returns the number of entries.
    """
    from mitmproxy.addons.savehar import SaveHar

    requests = list(requests)
    har = SaveHar().make_har(flows_from_requests(requests))
    for entry, request in zip(har["log"]["entries"], requests, strict=True):
        if request.client_address:
            entry["_clientAddress"] = request.client_address

    text = json.dumps(har, indent=2, ensure_ascii=False) + "\n"
    data = text.encode("utf-8")
    if str(path).lower().endswith(".zhar"):
        data = zlib.compress(data, 9)
    Path(path).write_bytes(data)
    return len(har["log"]["entries"])


def flows_from_requests(requests: Iterable[CapturedRequest]) -> list[Any]:
    """Real mitmproxy `HTTPFlow`s carrying the given requests (and their responses)."""
    return [
        _flow_from_request(index, request) for index, request in enumerate(requests)
    ]


def _flow_from_request(index: int, captured: CapturedRequest) -> Any:
    from mitmproxy import connection, http
    from mitmproxy import flow as flow_module

    parts = split_url(captured.url)
    port = url_port(captured.url) or (443 if parts.scheme == "https" else 80)
    sent_at = captured.timestamp
    flow_id = _stable_id(index, captured)

    client = connection.Client(
        peername=(captured.client_address or _UNSPECIFIED_ADDRESS, 0),
        sockname=("127.0.0.1", 8080),
        timestamp_start=sent_at,
        id=str(uuid.uuid5(uuid.NAMESPACE_OID, f"client:{flow_id}")),
    )
    server = connection.Server(
        address=(url_host(captured.url), port),
        id=str(uuid.uuid5(uuid.NAMESPACE_OID, f"server:{flow_id}")),
    )
    flow = http.HTTPFlow(client, server)
    flow.id = flow_id
    flow.timestamp_created = sent_at

    headers = [(k.encode("utf-8"), v.encode("utf-8")) for k, v in captured.headers]
    request = http.Request.make(
        captured.method, wire_url(captured.url), captured.body, headers
    )
    if not captured.body and captured.header("content-length") is None:
        # `make` adds `content-length: 0`; a browser's GET carries none.
        del request.headers["content-length"]
    request.timestamp_start = sent_at
    request.timestamp_end = sent_at
    flow.request = request

    if captured.response_status is not None:
        response_headers = {}
        if captured.content_type:
            response_headers["content-type"] = captured.content_type
        response = http.Response.make(captured.response_status, b"", response_headers)
        response.timestamp_start = sent_at
        response.timestamp_end = sent_at
        flow.response = response
    elif captured.error:
        flow.error = flow_module.Error(captured.error, timestamp=sent_at)
    return flow


def _stable_id(index: int, captured: CapturedRequest) -> str:
    try:
        return str(uuid.UUID(captured.request_id))
    except ValueError:
        seed = f"{index}|{captured.request_id}|{captured.method}|{captured.url}"
        return str(uuid.uuid5(uuid.NAMESPACE_URL, seed))
