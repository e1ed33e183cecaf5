"""The one parser for times typed by users (``--since``, ``--until``, ``--at-time``, diff).

People type what journalctl, kubectl and docker taught them: ``2h``, ``30m``, ``7d``,
``1w`` (that long ago), ``1h30m``, ``yesterday``, ``today``, ``now``, besides ISO 8601.
A time without an offset is UTC, as everything in the store is. The clock is a
parameter, so tests pin it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ..events.timeutil import TIME_RANGE, TimeRangeError, ensure_utc, parse_timestamp, utc_now
from ..queries.errors import InvalidInputError

TIME_METAVAR = "TIME"
TIME_HELP = "ISO 8601 (UTC unless an offset is given), or 2h, 30m, 7d, 1w, yesterday, today"

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_RELATIVE = re.compile(r"(?:\d{1,9}[smhdw])+")
_PART = re.compile(r"(\d{1,9})([smhdw])")
_WORDS = ("now", "today", "yesterday")

Clock = Callable[[], datetime]


def parse_time(text: str, *, now: Clock = utc_now, what: str = "time") -> datetime:
    """``text`` as an aware UTC datetime; an ``InvalidInputError`` (exit 2) naming ``what``
    and the spellings taken when it is none of them."""
    raw = text.strip()
    word = raw.lower().removesuffix(" ago").strip()
    try:
        if word in _WORDS:
            return _word(word, ensure_utc(now()))
        if _RELATIVE.fullmatch(word):
            seconds = sum(int(n) * _UNITS[unit] for n, unit in _PART.findall(word))
            return ensure_utc(now()) - timedelta(seconds=seconds)
        return parse_timestamp(raw)  # the one ISO 8601 reading, stored times' too
    except TimeRangeError:
        raise InvalidInputError(
            f"{what} {raw} is outside the times this tool can hold ({TIME_RANGE})"
        ) from None
    except (ValueError, OverflowError):
        pass
    raise InvalidInputError(
        f"{what}: not a time: {raw!r}; use ISO 8601 or 2h, 30m, 7d, 1w, yesterday, today"
    )


def _word(word: str, moment: datetime) -> datetime:
    if word == "now":
        return moment
    midnight = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return midnight if word == "today" else midnight - timedelta(days=1)


def as_utc(
    value: str | datetime | None, what: str = "time", *, now: Clock = utc_now
) -> datetime | None:
    """An option's value as a UTC datetime (None stays None); one that has no UTC
    datetime (``9999-12-31T23:59-01:00``) is a usage error naming ``what``, not an
    overflow deep inside a query."""
    if value is None:
        return None
    if isinstance(value, datetime):
        try:
            return ensure_utc(value)
        except TimeRangeError:
            raise InvalidInputError(
                f"{what} {value.isoformat()} is outside the times this tool can hold ({TIME_RANGE})"
            ) from None
    return parse_time(value, now=now, what=what)
