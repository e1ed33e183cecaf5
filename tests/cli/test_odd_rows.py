"""Rows the library can read but that are odd (reliability matrix, BI "Rows"), through the CLI.

Sequence 65 of the engine's database (``task.completed`` of task ...YFE) rewritten: the
value is shown as it is, JSON output stays valid, NULL is a mark and never "None" or a
default, times are compared as instants, and nothing is invented.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import Invoke
from .test_unreadable_rows import SEQ, TASK, WF, rewritten

ONE = ["--from-seq", str(SEQ), "--to-seq", str(SEQ)]


def _strict_json(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def _event_json(invoke: Invoke, db: Path) -> dict[str, Any]:
    result = invoke("events", "--json", *ONE, db=db)
    assert result.exit_code == 0, result.stderr
    (event,) = _strict_json(result.stdout)
    assert isinstance(event, dict)
    return event


def _table_line(invoke: Invoke, db: Path, *args: str) -> str:
    result = invoke("history", TASK, *args, db=db, env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith(f" {SEQ} ")]
    return line


def test_nan_and_infinity_keep_the_json_output_valid(invoke: Invoke, tmp_path: Path) -> None:
    db = rewritten(tmp_path, """data = '{"x": NaN, "y": Infinity, "z": -Infinity}'""")
    assert _event_json(invoke, db)["data"] == {"x": "nan", "y": "inf", "z": "-inf"}
    _strict_json(invoke("state", WF, "--json", db=db).stdout)


def test_nan_and_infinity_are_shown_in_the_table(invoke: Invoke, tmp_path: Path) -> None:
    db = rewritten(tmp_path, """data = '{"x": NaN, "y": Infinity, "z": -Infinity}'""")
    assert "x=NaN y=Infinity z=-Infinity" in _table_line(invoke, db)


def test_duplicate_keys_read_as_the_engine_reads_them_the_last_wins(
    invoke: Invoke, tmp_path: Path
) -> None:
    db = rewritten(tmp_path, """data = '{"status": "FAILED", "status": "SUCCEEDED"}'""")
    assert _event_json(invoke, db)["data"] == {"status": "SUCCEEDED"}
    assert "status=SUCCEEDED" in _table_line(invoke, db)


def test_a_lone_surrogate_is_an_escape_in_json_and_in_the_table(
    invoke: Invoke, tmp_path: Path
) -> None:
    db = rewritten(tmp_path, r"""data = '{"name": "a\ud800b"}'""")
    result = invoke("events", "--json", *ONE, db=db)
    assert '"name": "a\\ud800b"' in result.stdout
    assert "name=a\\ud800b" in _table_line(invoke, db)


def test_invalid_utf8_in_a_payload_is_shown_as_visible_escapes(
    invoke: Invoke, tmp_path: Path
) -> None:
    db = rewritten(tmp_path, """data = CAST(X'7B226E616D65223A2280FF227D' AS TEXT)""")
    assert _event_json(invoke, db)["data"] == {"name": "\\x80\\xff"}
    # The library reads each invalid byte as the text "\x80"; a table shows that text so
    # that it cannot be taken for a real U+0080 (shown "\x80"): its backslash doubled.
    # "\xff" stays single: U+00FF is never escaped, so nothing can be mistaken for it.
    assert "name=\\\\x80\\xff" in _table_line(invoke, db)


def test_invalid_utf8_in_a_text_column_is_shown_as_visible_escapes(
    invoke: Invoke, tmp_path: Path
) -> None:
    db = rewritten(tmp_path, "source_handler = CAST(X'48616E646C6572FF' AS TEXT)")
    assert _event_json(invoke, db)["metadata"]["source_handler"] == "Handler\\xff"
    assert " Handler\\xff " in _table_line(invoke, db)


def test_null_actor_and_handler_are_null_in_json_never_a_default(
    invoke: Invoke, tmp_path: Path
) -> None:
    db = rewritten(tmp_path, "actor = NULL, source_handler = NULL, causation_id = NULL")
    metadata = _event_json(invoke, db)["metadata"]
    assert (metadata["actor"], metadata["source_handler"], metadata["causation_id"]) == (
        None,
        None,
        None,
    )


def test_null_actor_and_handler_are_a_null_mark_in_the_table(
    invoke: Invoke, tmp_path: Path
) -> None:
    db = rewritten(tmp_path, "actor = NULL, source_handler = NULL")
    words = _table_line(invoke, db).split()  # the time is two words: date and clock
    assert words[5:7] == ["∅", "∅"]
    assert "None" not in words
    assert "system" not in words


def test_an_unknown_event_type_is_shown_verbatim(invoke: Invoke, tmp_path: Path) -> None:
    db = rewritten(tmp_path, "event_type = 'task.teleported'")
    event = _event_json(invoke, db)
    assert (event["event_type"], event["data"]["_raw_event_type"]) == (
        "unknown.event",
        "task.teleported",
    )
    assert _table_line(invoke, db).split()[3] == "task.teleported"


def test_a_naive_timestamp_is_read_as_utc_and_said_so(invoke: Invoke, tmp_path: Path) -> None:
    db = rewritten(tmp_path, "timestamp = '2026-11-28T15:04:45.145333'")
    result = invoke("events", "--json", *ONE, db=db)
    assert result.exit_code == 0
    assert json.loads(result.stdout)[0]["timestamp"] == "2026-11-28T15:04:45.145333+00:00"
    assert result.stderr == (
        "warning: event 65 has a timestamp without a UTC offset: read as UTC\n"
    )


def test_another_offset_is_shown_in_utc(invoke: Invoke, tmp_path: Path) -> None:
    db = rewritten(tmp_path, "timestamp = '2026-11-28T20:04:45.145333+05:00'")
    assert _event_json(invoke, db)["timestamp"] == "2026-11-28T15:04:45.145333+00:00"


@pytest.mark.parametrize(
    ("window", "first", "last"),
    [
        (["--until", "2026-11-28T15:04:45.1455"], 61, 65),
        (["--since", "2026-11-28T15:04:45.1455"], 66, 72),
        (["--since", "2026-11-28T15:04:45.145", "--until", "2026-11-28T15:04:45.146"], 65, 65),
    ],
)
def test_times_with_other_offsets_are_filtered_as_instants_not_as_text(
    invoke: Invoke, tmp_path: Path, window: list[str], first: int, last: int
) -> None:
    db = rewritten(tmp_path, "timestamp = '2026-11-28T20:04:45.145333+05:00'")
    result = invoke("events", "--json", "--workflow", WF, *window, db=db)
    found = [e["sequence"] for e in json.loads(result.stdout)]
    assert (found[0], found[-1]) == (first, last)


def test_nanoseconds_are_read_to_the_microsecond(invoke: Invoke, tmp_path: Path) -> None:
    db = rewritten(tmp_path, "timestamp = '2026-11-28T15:04:45.145333789+00:00'")
    result = invoke("events", "--json", *ONE, db=db)
    assert (result.exit_code, result.stderr) == (0, "")
    assert json.loads(result.stdout)[0]["timestamp"] == "2026-11-28T15:04:45.145333+00:00"


HUGE = 20 * 1024 * 1024


@pytest.fixture(scope="module")
def huge_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 20 MiB payload value (the matrix's 200 MiB case, at a size that tests fast)."""
    return rewritten(
        tmp_path_factory.mktemp("huge"),
        f"""data = '{{"log": "' || replace(hex(zeroblob({HUGE // 2})), '0', 'x') || '"}}'""",
    )


def test_a_huge_value_is_cut_and_marked_in_the_table(invoke: Invoke, huge_db: Path) -> None:
    started = time.monotonic()
    line = _table_line(invoke, huge_db)
    assert time.monotonic() - started < 20
    assert len(line) <= 300
    assert line.rstrip().endswith("…")


def test_a_huge_value_is_whole_in_json(invoke: Invoke, huge_db: Path) -> None:
    assert len(_event_json(invoke, huge_db)["data"]["log"]) == HUGE
