"""`stabilize failures`: signatures, grouping, and what the table and JSON show."""

from __future__ import annotations

import csv
import functools
import io
import json
import tempfile
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli.events import (
    EntityType,
    Event,
    EventMetadata,
    EventQuery,
    EventType,
    SqliteEventStore,
)
from stabilize_cli.events.store import UNLIMITED
from stabilize_cli.queries.failures import error_text, fingerprint, signature

from ..conftest import REAL_DB, sha256, without_engine_tables
from .conftest import Invoke, run_process
from .rendered import shown

GROUP_KEYS = {
    "fingerprint",
    "signature",
    "count",
    "workflows",
    "event_types",
    "stage_types",
    "task_names",
    "first_seen",
    "last_seen",
    "example_workflow_ids",
    "example_error",
    "cause_sources",
}
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
EVIL = "[red]boom[/] \x1b[2J \u202e [link=http://x]y[/link]"


@functools.cache
def events_only() -> Path:
    """real-small.db without the engine's tables: the grouping of the events' own error text
    (grouping by the tables' real cause is tested in test_run_story.py)."""
    return without_engine_tables(REAL_DB, Path(tempfile.mkdtemp()) / "events-only.db")


def failures_json(invoke: Invoke, *args: str, db: Path | None = None) -> list[dict[str, Any]]:
    result = invoke("failures", "--json", *args, db=db or events_only())
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    groups: list[dict[str, Any]] = json.loads(result.stdout)
    return groups


# -- signatures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("order 01M8HAZSBBC9YVRF09H4BCF2ZP missing", "order 01M8HB0192C39KFA3JFF10TM4D missing"),
        (
            "job 123e4567-e89b-12d3-a456-426614174000 lost",
            "job 9b2f0c1e-0000-4a1b-8c2d-00ff00ff00ff lost",
        ),
        ("bad commit 9fceb02d0ae598e95dc970b7", "bad commit 1a2b3c4d5e6f7a8b9c0d1e2f"),
        ("segfault at 0x7f3a2b", "segfault at 0xdeadbeef"),
        ("timeout after 30s (attempt 3 of 5)", "timeout after 45s (attempt 1 of 5)"),
        ("user_17 over quota by 2.5 GB", "user_934 over quota by 11.25 GB"),
        ("stage WF0001934S2 failed", "stage WF1200077S2 failed"),
        ("cannot open /var/run/job-1/out.log", "cannot open /tmp/x/y.txt"),
        ("cannot read ./cfg/a.yml", "cannot read ../b.yml"),
        ("no config at ~/.config/app", "no config at ~/other"),
        ("error in src/app/tasks.py", "error in lib/other/mod.py"),
        (r"missing C:\Users\bob\a.txt", r"missing D:\data\b.csv"),
        ("GET https://api.example.com/v1/x?id=3 failed", "GET http://10.0.0.1:8080/y failed"),
        ("no route to 10.0.0.7:5432", "no route to 192.168.1.20:6379"),
        (
            "lease expired at 2026-11-28T15:04:43.000614+00:00",
            "lease expired at 2026-01-02T03:04:05Z",
        ),
        (f"bad payload '{'a' * 40}'", f"bad payload '{'b' * 50}'"),
        ("Task   failed\t now", "Task failed now"),
        ("boom\n  at line 1", "boom\n  at line 2 of something else"),
        (
            'Traceback (most recent call last):\n  File "/a.py", line 3\nValueError: bad 1\n',
            'Traceback (most recent call last):\n  File "/b.py", line 9\nValueError: bad 2\n',
        ),
    ],
    ids=[
        "ulid",
        "uuid",
        "hex",
        "0x",
        "numbers",
        "decimals",
        "long-digit-runs",
        "absolute-path",
        "relative-path",
        "home-path",
        "file-path",
        "windows-path",
        "url",
        "ip",
        "timestamp",
        "long-quoted",
        "whitespace",
        "first-line",
        "traceback",
    ],
)
def test_errors_that_differ_only_in_variable_parts_share_a_signature(
    first: str, second: str
) -> None:
    assert signature(first) == signature(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Task failed", "Unknown error"),
        ("missing key 'name'", "missing key 'email'"),
        ("ipv4 lookup failed", "ipv6 lookup failed"),
        ("sha256 mismatch", "sha512 mismatch"),
        ("connection refused", "connection reset"),
        (
            "Traceback (most recent call last):\nValueError: x",
            "Traceback (most recent call last):\nKeyError: x",
        ),
    ],
)
def test_different_messages_keep_different_signatures(first: str, second: str) -> None:
    assert signature(first) != signature(second)


def test_masks_are_named_placeholders() -> None:
    sig = signature("wf 01M8HAZSBBC9YVRF09H4BCF2ZP: /tmp/a.log at https://x.io took 12ms")
    assert sig == "wf <ulid>: <path> at <url> took <n>ms"


@pytest.mark.parametrize("empty", ["", "   \n\t", None])
def test_missing_error_text_has_its_own_signature(empty: str | None) -> None:
    assert signature(error_text(empty)) == "(no error text)"


def test_fingerprint_is_stable_and_short() -> None:
    assert fingerprint("Task failed") == fingerprint("Task failed")
    assert len(fingerprint("Task failed")) == 8
    assert fingerprint("Task failed") != fingerprint("Unknown error")


# -- grouping on the engine's database -----------------------------------------------------


def failure_events() -> list[Event]:
    kinds = [EventType.STAGE_FAILED, EventType.TASK_FAILED, EventType.WORKFLOW_FAILED]
    with SqliteEventStore(str(REAL_DB), create_tables=False, read_only=True) as store:
        return list(store.get_events(EventQuery(event_types=kinds, limit=UNLIMITED)))


def test_groups_count_the_failure_events_of_the_engines_database(invoke: Invoke) -> None:
    events = failure_events()
    counts = Counter(signature(e.data["error"]) for e in events)
    workflows: dict[str, set[str]] = defaultdict(set)
    for e in events:
        workflows[signature(e.data["error"])].add(e.workflow_id)
    groups = failures_json(invoke)
    assert {g["signature"]: g["count"] for g in groups} == counts
    assert {g["signature"]: g["workflows"] for g in groups} == {
        s: len(ids) for s, ids in workflows.items()
    }
    assert {g["signature"]: g["event_types"] for g in groups} == {
        signature(e.data["error"]): [e.event_type.value] for e in events
    }


def test_stage_types_come_from_stage_failed_and_task_names_from_task_failed(
    invoke: Invoke,
) -> None:
    by_signature = {g["signature"]: g for g in failures_json(invoke)}
    assert by_signature["Unknown error"]["stage_types"] == ["python"]
    assert by_signature["Task failed"]["task_names"] == ["Run Build", "Run Single Step"]
    assert by_signature["Workflow ended with status TERMINAL"]["stage_types"] == []


def test_canceled_workflows_are_not_failures(invoke: Invoke) -> None:
    groups = failures_json(invoke)
    assert all("workflow.canceled" not in g["event_types"] for g in groups)
    assert sum(g["count"] for g in groups) == len(failure_events())


def test_every_group_has_the_documented_keys(invoke: Invoke) -> None:
    groups = failures_json(invoke)
    assert groups
    assert all(set(g) == GROUP_KEYS for g in groups)


def test_first_and_last_seen_are_the_event_timestamps(invoke: Invoke) -> None:
    events = [e for e in failure_events() if e.event_type is EventType.TASK_FAILED]
    group = next(g for g in failures_json(invoke) if g["signature"] == "Task failed")
    assert group["first_seen"] == min(e.timestamp for e in events).isoformat()
    assert group["last_seen"] == max(e.timestamp for e in events).isoformat()


def test_app_keeps_only_that_applications_failures(invoke: Invoke) -> None:
    groups = failures_json(invoke, "--app", "app-3")
    assert {g["count"] for g in groups} == {1}
    assert {tuple(g["example_workflow_ids"]) for g in groups} == {("01M8HB0192C39KFA3JFF10TM4D",)}
    assert failures_json(invoke, "--app", "app-4") == []


def test_since_after_every_event_gives_no_groups(invoke: Invoke) -> None:
    assert failures_json(invoke, "--since", "2030-01-01") == []
    table = invoke("failures", "--since", "2030-01-01", db=events_only())
    assert table.stdout.startswith("No failures")


def test_limit_keeps_the_most_frequent_groups(invoke: Invoke) -> None:
    every = failures_json(invoke)
    assert failures_json(invoke, "--limit", "1") == every[:1]


def test_negative_limit_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("failures", "--limit", "-2")
    assert result.exit_code == 2
    assert result.stderr == "error: --limit must not be negative (got -2)\n"


def test_reversed_time_range_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("failures", "--since", "2026-12-01", "--until", "2026-01-01")
    assert result.exit_code == 2
    assert result.stderr == "error: --since is after --until\n"


def test_table_answers_same_failure_at_a_glance(invoke: Invoke, snapshot: Any) -> None:
    result = invoke("failures", db=events_only())
    assert result.exit_code == 0
    assert result.stderr == ""
    snapshot.snapshot_dir = Path(__file__).parent / "snapshots" / "failures"
    output = "\n".join(line.rstrip() for line in result.stdout.splitlines()) + "\n"
    snapshot.assert_match(output, "failures.txt")


def test_csv_has_one_row_per_group(invoke: Invoke) -> None:
    rows = list(
        csv.DictReader(io.StringIO(invoke("failures", "-f", "csv", db=events_only()).stdout))
    )
    assert [r["signature"] for r in rows] == [g["signature"] for g in failures_json(invoke)]
    assert set(rows[0]) == GROUP_KEYS


# -- a store with repeated failures --------------------------------------------------------


def failed_stage(workflow_id: str, error: str, minutes: int, stage_type: str = "deploy") -> Event:
    return Event(
        event_type=EventType.STAGE_FAILED,
        entity_type=EntityType.STAGE,
        entity_id=f"{workflow_id}-S",
        workflow_id=workflow_id,
        version=2,
        data={"ref_id": "d", "type": stage_type, "name": "Deploy", "error": error},
        metadata=EventMetadata(correlation_id=workflow_id),
        timestamp=T0 + timedelta(minutes=minutes),
    )


def store_with(tmp_path: Path, events: list[Event]) -> Path:
    db = tmp_path / "failures.db"
    with SqliteEventStore(str(db)) as store:
        store.append_batch(events)
    return db


def test_one_failure_repeated_with_different_ids_is_one_group(
    invoke: Invoke, tmp_path: Path
) -> None:
    db = store_with(
        tmp_path,
        [
            failed_stage("01JA0000000000000000000001", "host 10.0.0.7 refused job 4411", 0),
            failed_stage("01JA0000000000000000000002", "host 10.0.0.9 refused job 52", 5),
            failed_stage("01JA0000000000000000000003", "host 10.0.1.3 refused job 7", 9),
        ],
    )
    (group,) = failures_json(invoke, db=db)
    assert group["count"] == 3
    assert group["workflows"] == 3
    assert group["signature"] == "host <ip> refused job <n>"
    assert group["example_workflow_ids"] == [
        "01JA0000000000000000000003",
        "01JA0000000000000000000002",
        "01JA0000000000000000000001",
    ]
    assert group["example_error"] == "host 10.0.1.3 refused job 7"
    assert group["first_seen"] == T0.isoformat()
    assert group["last_seen"] == (T0 + timedelta(minutes=9)).isoformat()


def test_groups_are_ordered_by_count_then_by_last_seen(invoke: Invoke, tmp_path: Path) -> None:
    db = store_with(
        tmp_path,
        [
            failed_stage("W1", "rare early", 0),
            failed_stage("W2", "common 1", 1),
            failed_stage("W3", "common 2", 2),
            failed_stage("W4", "rare late", 3),
        ],
    )
    assert [g["signature"] for g in failures_json(invoke, db=db)] == [
        "common <n>",
        "rare late",
        "rare early",
    ]


def test_markup_and_control_characters_in_errors_are_shown_literally(
    invoke: Invoke, tmp_path: Path
) -> None:
    db = store_with(tmp_path, [failed_stage("W1", EVIL, 0, stage_type=EVIL)])
    for fmt in ("table", "csv", "markdown"):
        result = invoke("failures", "--format", fmt, db=db)
        assert result.exit_code == 0, result.stderr
        assert "[red]boom[/]" in shown(result.stdout, fmt)
        assert "[link=http://x]y[/link]" in shown(result.stdout, fmt)
        assert "\x1b" not in result.stdout
        assert "\u202e" not in result.stdout


def test_the_real_process_groups_failures_and_leaves_the_database_alone() -> None:
    before = sha256(REAL_DB)
    done = run_process("failures", "--db", str(REAL_DB), "--format", "ndjson")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert len(done.stdout.splitlines()) == 3
    assert sha256(REAL_DB) == before


def test_with_the_engines_tables_the_groups_are_the_real_causes(invoke: Invoke) -> None:
    """real-small.db holds the engine's tables: its two script failures group by traceback."""
    signatures = {g["signature"]: g for g in failures_json(invoke, db=REAL_DB)}
    assert {"RuntimeError: compiler exploded", "KeyError: 'missing'"} <= set(signatures)
    assert "Unknown error" not in signatures
    assert "Task failed" not in signatures
    assert signatures["KeyError: 'missing'"]["cause_sources"] == ["stage_executions.context"]
