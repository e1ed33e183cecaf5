"""Values at the edges of their types (issue 13, section 1), generated, through the CLI.

A stored time such as ``9999-12-31T23:59:59-01:00`` is valid ISO 8601 but its UTC
instant is past ``datetime.max``: such a row is unreadable (shown as stored, warned,
exit 0 or 4; ``verify`` reports it), never a traceback. Typed times at those edges,
integers beyond 64 bits and huge floats are one ``error:`` line and exit 2, or clamped
where the value is a limit.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from stabilize_cli.cli.settings import MAX_BUSY_TIMEOUT, busy_timeout
from stabilize_cli.events.store.sqlite.connection import (
    MAX_BUSY_TIMEOUT_SECONDS,
    resolve_busy_timeout,
)
from stabilize_cli.events.timeutil import TimeRangeError, parse_timestamp

from ..conftest import REAL_DB
from .conftest import Invoke

WF = "01M8HAZVN51R0GZ2NVTT2DCYFJ"
SEQ = 65
EDGE = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_NAIVE_MIN, _NAIVE_MAX = datetime.min, datetime.max
_SPAN = timedelta(days=2)


@st.composite
def edge_times(draw: st.DrawFn) -> tuple[str, bool]:
    """An ISO text within two days of datetime's min or max with any whole-minute offset
    (and sometimes none), and whether its UTC instant exists."""
    near_max = draw(st.booleans())
    low, high = (_NAIVE_MAX - _SPAN, _NAIVE_MAX) if near_max else (_NAIVE_MIN, _NAIVE_MIN + _SPAN)
    local = draw(st.datetimes(min_value=low, max_value=high))
    if draw(st.integers(0, 9)) == 0:
        return local.isoformat(), True  # naive: read as UTC, always placeable
    minutes = draw(st.integers(-(24 * 60 - 1), 24 * 60 - 1))
    sign = "+" if minutes >= 0 else "-"
    text = f"{local.isoformat()}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return text, _placeable(local, minutes)


def _placeable(local: datetime, offset_minutes: int) -> bool:
    """Whether ``local - offset`` lies in datetime's range, in whole microseconds (ints:
    this test's own arithmetic must not overflow either)."""
    micros = (local - _NAIVE_MIN) // timedelta(microseconds=1) - offset_minutes * 60_000_000
    return 0 <= micros <= (_NAIVE_MAX - _NAIVE_MIN) // timedelta(microseconds=1)


def _with_timestamp(tmp_path: Path, text: str, sequence: int = SEQ) -> Path:
    path = tmp_path / "edge.db"
    shutil.copyfile(REAL_DB, path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE events SET timestamp = ? WHERE sequence = ?", (text, sequence))
    conn.commit()
    conn.close()
    return path


@EDGE
@given(case=edge_times())
@example(case=("9999-12-31T23:59:59-01:00", False))
@example(case=("0001-01-01T00:00:00+00:01", False))
@example(case=("0001-01-01T00:00:00-00:01", True))
@example(case=("9999-12-31T23:59:59.999999+00:00", True))
def test_library_places_a_time_or_says_it_cannot(case: tuple[str, bool]) -> None:
    text, placeable = case
    if placeable:
        assert parse_timestamp(text).tzinfo is UTC
    else:
        with pytest.raises(TimeRangeError):
            parse_timestamp(text)


@EDGE
@given(case=edge_times())
@example(case=("9999-12-31T23:59:59-01:00", False))
@example(case=("0001-01-01T00:00:00+00:01", False))
def test_a_stored_time_at_the_edges_is_read_or_marked_unreadable(
    invoke: Invoke, tmp_path: Path, case: tuple[str, bool]
) -> None:
    text, placeable = case
    db = _with_timestamp(tmp_path, text)
    listed = invoke("history", WF, "--all", "--json", db=db)
    assert listed.exit_code == 0, listed.stderr
    (row,) = [r for r in json.loads(listed.stdout) if r["sequence"] == SEQ]
    assert ("unreadable" in row) is not placeable
    assert (row["timestamp"] == text) if not placeable else parse_timestamp(row["timestamp"])
    table = invoke("events", "--workflow", WF, db=db, env={"COLUMNS": "400"})
    assert table.exit_code == 0
    assert "65 " in table.stdout
    for command in (["timeline", WF], ["state", WF], ["diff", WF, "62", "70"]):
        result = invoke(*command, "--json", db=db)
        assert result.exit_code == (0 if placeable else 4), (command, result.stderr)
        assert json.loads(result.stdout).get("incomplete", False) is not placeable
    for command in (["metrics", "--no-cache"], ["metrics"]):
        result = invoke(*command, "--json", db=db)
        assert result.exit_code == (0 if placeable else 4), (command, result.stderr)
    checked = invoke("verify", "--json", db=db)
    kinds = {f["code"] for f in json.loads(checked.stdout)["findings"]}
    assert ("bad-timestamp" in kinds) is not placeable
    assert checked.exit_code in (0, 1)


@pytest.mark.parametrize(
    ("earlier", "later", "tolerance", "reported"),
    [
        ("0001-01-01T00:00:01+00:00", "0001-01-01T00:00:00+00:00", "5", False),
        ("0001-01-01T00:00:10+00:00", "0001-01-01T00:00:00+00:00", "5", True),
        ("0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59.999999+00:00", "0", False),
        ("9999-12-31T23:59:59.999999+00:00", "0001-01-01T00:00:00+00:00", "999999", True),
    ],
)
def test_verify_compares_times_at_the_ends_of_the_range_without_overflow(
    invoke: Invoke, tmp_path: Path, earlier: str, later: str, tolerance: str, reported: bool
) -> None:
    """Time running backwards is measured as a difference, never ``time - tolerance``
    (which underflows at datetime.min)."""
    db = _with_timestamp(tmp_path, earlier, 64)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE events SET timestamp = ? WHERE sequence = 65", (later,))
    conn.commit()
    conn.close()
    result = invoke("verify", "--json", "--tolerance", tolerance, db=db)
    findings = json.loads(result.stdout)["findings"]
    backwards = [
        f for f in findings if f["code"] == "timestamp-backwards" and f["sequences"] == [64, 65]
    ]
    assert bool(backwards) is reported


# -- typed values ---------------------------------------------------------------------

TIME_OPTIONS = [
    ("events", "--since"),
    ("events", "--until"),
    ("workflows", "--since"),
    ("workflows", "--until"),
    ("metrics", "--since"),
    ("failures", "--until"),
    ("state", WF, "--at-time"),
]


@EDGE
@given(case=edge_times(), which=st.sampled_from(TIME_OPTIONS))
@example(case=("9999-12-31T23:59:59-01:00", False), which=("state", WF, "--at-time"))
def test_a_typed_time_at_the_edges_is_used_or_refused_in_one_line(
    invoke: Invoke, case: tuple[str, bool], which: tuple[str, ...]
) -> None:
    text, placeable = case
    result = invoke(*which, text, "--json")
    if placeable:
        assert result.exit_code in (0, 6), result.stderr  # 6: state found no such time's state
    else:
        assert result.exit_code == 2
        assert result.stderr.splitlines() == [
            f"error: {which[-1]} {datetime.fromisoformat(text).isoformat()} is outside the "
            "times this tool can hold (0001-01-01 to 9999-12-31 UTC)"
        ]


INTEGER_PARAMETERS = [
    ("events", "--from-seq"),
    ("events", "--to-seq"),
    ("events", "--limit"),
    ("workflows", "--limit"),
    ("failures", "--limit"),
    ("metrics", "--top"),
    ("state", WF, "--at"),
    ("diff", WF, "1"),
    ("snapshots", "show"),
    ("snapshots", "create", WF, "--at"),
    ("snapshots", "prune", "--keep"),
]


@EDGE
@given(
    number=st.one_of(
        st.integers(2**63 - 3, 2**63 + 3),
        st.integers(10**19, 10**20 - 1),
        st.integers(10**19, 10**40),
    ),
    which=st.sampled_from(INTEGER_PARAMETERS),
)
def test_an_integer_beyond_64_bits_is_one_error_line_and_exit_2(
    invoke: Invoke, tmp_path: Path, number: int, which: tuple[str, ...]
) -> None:
    db = tmp_path / "copy.db"  # snapshots create/prune write: never the shared fixture
    if not db.exists():
        shutil.copyfile(REAL_DB, db)
    result = invoke(*which, str(number), "--json", db=db)
    if number <= 2**63 - 1:
        assert result.exit_code in (0, 2, 6), result.stderr  # in range: used (or not found)
    else:
        assert result.exit_code == 2
        (line,) = result.stderr.splitlines()
        assert line.startswith("error: ")
        assert f"at most 2^63-1 (got {number})" in line


@given(seconds=st.floats(min_value=0, allow_nan=False, allow_infinity=False))
@example(seconds=1e308)
@example(seconds=(2**31 - 1) / 1000 + 1e-3)
def test_a_busy_timeout_is_clamped_to_what_sqlite_can_wait(seconds: float) -> None:
    assert resolve_busy_timeout(seconds) == min(seconds, MAX_BUSY_TIMEOUT_SECONDS)
    assert busy_timeout({"STABILIZE_BUSY_TIMEOUT": repr(seconds)}) == min(seconds, MAX_BUSY_TIMEOUT)
    assert int(MAX_BUSY_TIMEOUT * 1000) == 2**31 - 1


@EDGE
@given(seconds=st.floats(min_value=86_400.001, allow_nan=False, allow_infinity=False))
@example(seconds=1e308)
def test_a_huge_follow_interval_is_refused(invoke: Invoke, seconds: float) -> None:
    result = invoke("events", "--follow", "--interval", repr(seconds))
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: --interval must be at most 86400 seconds")


def test_a_huge_busy_timeout_still_waits_for_the_lock(tmp_path: Path) -> None:
    """``STABILIZE_BUSY_TIMEOUT=1e308`` used to overflow SQLite's int and not wait at all."""
    db = tmp_path / "locked.db"
    shutil.copyfile(REAL_DB, db)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    process = subprocess.Popen(
        [sys.executable, "-m", "stabilize_cli", "events", "--limit", "1", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "STABILIZE_BUSY_TIMEOUT": "1e308"},
    )
    try:
        time.sleep(2.5)
        assert process.poll() is None, process.communicate()  # still waiting
    finally:
        holder.execute("COMMIT")
        holder.close()
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert out.strip()
