"""Timestamps from the traffic as dates and clock times, without ever raising.

Capture times come from recordings, and a recording can say anything: a flow with
`timestamp_start` of 1e300, a NaN, a date before year 1. `datetime.fromtimestamp`
raises `OverflowError`, `OSError` or `ValueError` for such values, so every report
and view turns a timestamp into a `datetime` through `moment`, which gives None
when it cannot, and formats that None as `unreadable_time` says. Clock readings
the traffic carries as text (`rand`, `data.ts`) become numbers through
`finite_number`, which refuses NaN and infinity (`rand=inf`, `rand=1e400`).

Every output that shows when an event happened (the text report, the UI, the
pytest plugin's failure tables, the headless and addon lines, the `time` of the
JSON formats) formats it through `clock_text` (or `iso_time`, built on it), so
one event reads the same everywhere: cut to the millisecond, never rounded up,
so that a clock never shows a moment later than the event, nor the next second
or day (`…20.9996` is `…20.999`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

UNREADABLE = "?"
"""Shown in place of a clock time that no calendar can hold."""

REAL_CLOCK_AFTER = 1_000_000_000
"""Times from 0 up to this (2001-09-09) are offsets from the start of a request list
that carries no clock readings, not moments: `+1.500s`."""


def moment(timestamp: float, *, local: bool = False) -> datetime | None:
    """The timestamp (seconds since the epoch) as an aware UTC `datetime`, or as
    naive local time with `local`; None when it is not a time any date can hold."""
    try:
        if not math.isfinite(timestamp):
            return None
        if local:
            return datetime.fromtimestamp(timestamp)
        return datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError, TypeError):
        return None


def clock_text(
    timestamp: float, *, local: bool = False, milliseconds: bool = True
) -> str:
    """When an event happened, as every output shows it.

    Args:
        timestamp: seconds since the epoch, or, under `REAL_CLOCK_AFTER`, since
            the start of a request list without clock readings.
        local: local time instead of UTC.
        milliseconds: keep the milliseconds (without, whole seconds).

    Returns:
        `HH:MM:SS.mmm` for a clock reading, `+S.mmms` for an offset, cut (not
        rounded) to the millisecond or second; `?` and the number for a time no
        date can hold.
    """
    if 0 <= timestamp < REAL_CLOCK_AFTER:
        # Round to the microsecond first, as `datetime` does with a clock reading,
        # so that a float just under a millisecond (0.29 is 0.28999…) is not cut.
        whole_ms = round(timestamp * 1_000_000) // 1000
        seconds, ms = divmod(whole_ms, 1000)
        return f"+{seconds}.{ms:03d}s" if milliseconds else f"+{seconds}s"
    when = moment(timestamp, local=local)
    if when is None:
        return unreadable_time(timestamp)
    if not milliseconds:
        return f"{when:%H:%M:%S}"
    return f"{when:%H:%M:%S}.{when.microsecond // 1000:03d}"


def iso_time(timestamp: float) -> str | None:
    """A clock reading as ISO 8601 UTC (`2023-11-14T22:13:20.999Z`), with the
    milliseconds `clock_text` shows; None for an offset or a time no date holds."""
    if not REAL_CLOCK_AFTER <= timestamp:
        return None
    when = moment(timestamp)
    if when is None:
        return None
    return f"{when:%Y-%m-%d}T{clock_text(timestamp)}Z"


def finite_number(value: object) -> float | None:
    """`value` (a number or its text, such as a `rand` parameter) as a float;
    None when it is none, or is NaN or infinite (`inf`, `1e400`): a clock reading
    that would turn every difference of times into NaN."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def unreadable_time(timestamp: object) -> str:
    """How a timestamp that is no date is shown: `?` and the number itself."""
    return f"{UNREADABLE} ({timestamp!r})" if timestamp is not None else UNREADABLE
