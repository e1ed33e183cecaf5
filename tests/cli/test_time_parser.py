"""One time parser for every option that takes a time: ISO 8601 and relative spellings."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stabilize_cli.cli.timeopts import parse_time
from stabilize_cli.queries.errors import InvalidInputError

from .conftest import Invoke

NOW = datetime(2026, 11, 28, 15, 30, 45, 123000, tzinfo=UTC)


def clock() -> datetime:
    return NOW


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", NOW - timedelta(hours=2)),
        ("30m", NOW - timedelta(minutes=30)),
        ("45s", NOW - timedelta(seconds=45)),
        ("7d", NOW - timedelta(days=7)),
        ("1w", NOW - timedelta(weeks=1)),
        ("1h30m", NOW - timedelta(hours=1, minutes=30)),
        ("2h ago", NOW - timedelta(hours=2)),
        (" 2H ", NOW - timedelta(hours=2)),
        ("now", NOW),
        ("today", datetime(2026, 11, 28, tzinfo=UTC)),
        ("yesterday", datetime(2026, 11, 27, tzinfo=UTC)),
        ("2026-11-28T15:04:50", datetime(2026, 11, 28, 15, 4, 50, tzinfo=UTC)),
        ("2026-11-28", datetime(2026, 11, 28, tzinfo=UTC)),
        ("2026-11-28T17:04:50+02:00", datetime(2026, 11, 28, 15, 4, 50, tzinfo=UTC)),
        ("2026-11-28T15:04:50Z", datetime(2026, 11, 28, 15, 4, 50, tzinfo=UTC)),
    ],
)
def test_spellings(text: str, expected: datetime) -> None:
    parsed = parse_time(text, now=clock)
    assert parsed == expected
    assert parsed.tzinfo is UTC


def test_today_is_the_utc_day_whatever_the_clock_offset() -> None:
    late = datetime(2026, 11, 28, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert parse_time("today", now=lambda: late) == datetime(2026, 11, 29, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "2x", "h", "-2h", "2 h", "1y", "tomorrow", "99999999999d"])
def test_non_times_name_the_option(text: str) -> None:
    with pytest.raises(InvalidInputError, match=r"--since: not a time: .*2h, 30m, 7d"):
        parse_time(text, now=clock, what="--since")


@given(st.integers(0, 10**5), st.sampled_from("smhdw"))
def test_relative_is_that_long_before_now(amount: int, unit: str) -> None:
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]
    assert NOW - parse_time(f"{amount}{unit}", now=clock) == timedelta(seconds=amount * seconds)


def test_huge_relative_time_is_a_usage_error_not_a_crash(invoke: Invoke) -> None:
    result = invoke("events", "--since", "999999999w")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --since: not a time")


@pytest.mark.parametrize(
    "argv",
    [
        ["workflows", "--since", "bad"],
        ["events", "--until", "bad"],
        ["metrics", "--since", "bad"],
        ["failures", "--until", "bad"],
        ["state", "latest", "--at-time", "bad"],
        ["diff", "latest", "1", "bad"],
    ],
)
def test_every_time_option_uses_the_parser(invoke: Invoke, argv: list[str]) -> None:
    result = invoke(*argv)
    assert result.exit_code == 2, result.output
    assert "not a time: 'bad'; use ISO 8601 or 2h" in result.stderr
    assert result.stdout == ""


def test_relative_since_selects_like_the_absolute_time(invoke: Invoke) -> None:
    # Every event of the fixture is long before "1h" ago and after "10000w" ago.
    assert "01M8HB08C9H7SYB8SPXPFPZ44M" not in invoke("workflows", "--since", "1h").stdout
    assert "01M8HB08C9H7SYB8SPXPFPZ44M" in invoke("workflows", "--since", "10000w").stdout


def test_diff_takes_times_as_the_workflows_last_event_by_then(invoke: Invoke) -> None:
    by_time = invoke("diff", "01M8HAZVN51R0GZ2NVTT2DCYFJ", "2026-11-28T15:04:45", "now", "--json")
    by_seq = invoke("diff", "01M8HAZVN51R0GZ2NVTT2DCYFJ", "66", "72", "--json")
    assert by_time.exit_code == 0, by_time.stderr
    t, s = json.loads(by_time.stdout), json.loads(by_seq.stdout)
    assert t["to_sequence"] == 72
    assert t["after"] == s["after"]
