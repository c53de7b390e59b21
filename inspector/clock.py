"""Timestamps from the traffic as dates and clock times, without ever raising.

Capture times come from recordings, and a recording can say anything: a flow with
`timestamp_start` of 1e300, a NaN, a date before year 1. `datetime.fromtimestamp`
raises `OverflowError`, `OSError` or `ValueError` for such values, so every report
and view turns a timestamp into a `datetime` through `moment`, which gives None
when it cannot, and formats that None as `unreadable_time` says. Clock readings
the traffic carries as text (`rand`, `data.ts`) become numbers through
`finite_number`, which refuses NaN and infinity (`rand=inf`, `rand=1e400`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

UNREADABLE = "?"
"""Shown in place of a clock time that no calendar can hold."""


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


def clock_text(timestamp: float, *, local: bool = False) -> str:
    """`HH:MM:SS.mmm` (UTC unless `local`), or `?` for a time no date can hold."""
    when = moment(timestamp, local=local)
    if when is None:
        return unreadable_time(timestamp)
    return when.strftime("%H:%M:%S.") + f"{when.microsecond // 1000:03d}"


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
