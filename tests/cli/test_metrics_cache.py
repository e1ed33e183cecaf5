"""`stabilize metrics` keeps its figures in the cache directory and gives, every time,
exactly what computing afresh (--no-cache) gives."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli.audit.metrics_cache import FORMAT, STALE_DAYS
from stabilize_cli.audit.sqlite import analytics as queries_metrics
from stabilize_cli.events import EntityType, Event, EventType, SqliteEventStore

from ..conftest import REAL_DB, sha256
from .conftest import Invoke, make_event


def metrics(invoke: Invoke, db: Path, *args: str) -> dict[str, Any]:
    result = invoke("metrics", "--json", "--top", "5", *args, db=db)
    assert result.exit_code == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def cache_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("metrics-*.json"))


def checkpoint(directory: Path) -> int:
    (entry,) = cache_files(directory)
    return int(json.loads(entry.read_text())["checkpoint"])


def stage_completed(
    entity_id: str, at: float, workflow_id: str, stage_type: str, duration_ms: int
) -> Event:
    return make_event(
        EventType.STAGE_COMPLETED,
        EntityType.STAGE,
        entity_id,
        at,
        workflow_id=workflow_id,
        type=stage_type,
        duration_ms=duration_ms,
    )


def append(db: Path, *events: Event) -> None:
    with SqliteEventStore(str(db)) as store:
        store.append_batch(list(events))


def refuse(*args: object, **kwargs: object) -> None:
    raise AssertionError("computed afresh")


def a_retried_task(db: Path) -> tuple[str, str, int, str]:
    with sqlite3.connect(db) as conn:
        entity_id, workflow_id, version, data = conn.execute(
            "SELECT entity_id, workflow_id, version, data FROM events "
            "WHERE event_type = 'task.retried' ORDER BY sequence LIMIT 1"
        ).fetchone()
    return entity_id, workflow_id, version, json.loads(data)["name"]


@pytest.fixture
def db(real_db_copy: Path) -> Path:
    return real_db_copy


def test_the_first_run_writes_figures_the_second_reads_them(
    invoke: Invoke, db: Path, private_cache: Path
) -> None:
    fresh = metrics(invoke, db, "--no-cache")
    assert cache_files(private_cache) == []
    assert metrics(invoke, db) == fresh
    with sqlite3.connect(db) as conn:
        (top,) = conn.execute("SELECT max(sequence) FROM events").fetchone()
    assert checkpoint(private_cache) == top
    assert metrics(invoke, db) == fresh


def test_new_events_are_folded_in_and_a_repeated_transition_is_not_counted_twice(
    invoke: Invoke, db: Path, private_cache: Path
) -> None:
    first = metrics(invoke, db)
    before = checkpoint(private_cache)
    entity_id, workflow_id, version, name = a_retried_task(db)
    retried_again = make_event(
        EventType.TASK_RETRIED, EntityType.TASK, entity_id, 900, workflow_id=workflow_id, name=name
    )
    new_task = make_event(
        EventType.TASK_COMPLETED,
        EntityType.TASK,
        "t-new",
        901,
        workflow_id=workflow_id,
        name="Brand new task",
        duration_ms=1234,
    )
    with SqliteEventStore(str(db)) as store:
        store.append_batch([dataclasses.replace(retried_again, version=version), new_task])

    with pytest.MonkeyPatch.context() as patch:  # the cached figures, brought up to date
        patch.setattr(queries_metrics, "stage_and_task_figures", refuse)
        updated = metrics(invoke, db)
    assert updated == metrics(invoke, db, "--no-cache")
    assert checkpoint(private_cache) == before + 2
    assert updated["tasks"][name]["retry_count"] == first["tasks"][name]["retry_count"]
    assert updated["tasks"]["Brand new task"]["success_count"] == 1


@pytest.mark.parametrize(
    "damage",
    [
        "not json",
        '{"format": 1}',
        '{"format": 99, "checkpoint": 0}',
        "[]",
        "",
        "[" * 100_000,
        "{FORMAT, CHECKPOINT: Infinity}",
        "{FORMAT, CHECKPOINT: 1e30}",
        "{FORMAT, CHECKPOINT: 99999999999999999999999}",
    ],
)
def test_a_damaged_cache_file_is_ignored_and_rewritten(
    invoke: Invoke, db: Path, private_cache: Path, damage: str
) -> None:
    fresh = metrics(invoke, db, "--no-cache")
    metrics(invoke, db)
    (entry,) = cache_files(private_cache)
    kept = json.loads(entry.read_text())
    entry.write_text(
        damage.replace(
            "FORMAT", f'"format": "{FORMAT}", "path": {json.dumps(kept["path"])}'
        ).replace("CHECKPOINT", '"checkpoint"')
    )
    assert metrics(invoke, db) == fresh
    assert json.loads(entry.read_text())["format"] == FORMAT


def test_figures_do_not_survive_the_database_being_rewritten_in_place(
    invoke: Invoke, db: Path, tmp_path: Path, private_cache: Path
) -> None:
    metrics(invoke, db)
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute("SELECT count(*) FROM events").fetchone()
    other = tmp_path / "other.db"
    append(
        other,
        *(
            stage_completed(f"s{i}", i, "wf-other", "elsewhere", 10 * i)
            for i in range(1, count + 1)
        ),
    )
    inode = os.stat(db).st_ino
    with open(db, "r+b") as target:  # same path, same inode, other events
        target.truncate(0)
        target.write(other.read_bytes())
    assert os.stat(db).st_ino == inode  # and as many events: only the sampled ids differ
    rewritten = metrics(invoke, db)
    assert rewritten == metrics(invoke, db, "--no-cache")
    assert list(rewritten["stages"]) == ["elsewhere"]


def test_a_database_replaced_by_a_copy_is_computed_afresh(
    invoke: Invoke, db: Path, tmp_path: Path, private_cache: Path
) -> None:
    metrics(invoke, db)
    replacement = tmp_path / "replacement.db"
    shutil.copyfile(db, replacement)
    with sqlite3.connect(replacement) as conn:  # same count, other ids: a different store
        conn.execute("UPDATE events SET event_id = 'x' || event_id")
    os.replace(replacement, db)
    stale = json.loads(cache_files(private_cache)[0].read_text())
    assert metrics(invoke, db) == metrics(invoke, db, "--no-cache")
    assert json.loads(cache_files(private_cache)[0].read_text())["prefix"] != stale["prefix"]


def test_filtered_metrics_and_no_cache_leave_the_cache_directory_alone(
    invoke: Invoke, db: Path, private_cache: Path
) -> None:
    metrics(invoke, db, "--no-cache")
    metrics(invoke, db, "--since", "2020-01-01")
    metrics(invoke, db, "--app", "nothing-by-this-name")
    assert cache_files(private_cache) == []


def test_an_unwritable_cache_directory_is_no_error(
    invoke: Invoke, db: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = {"STABILIZE_CACHE_DIR": str(blocker / "cache")}
    result = invoke("metrics", "--json", "--top", "5", db=db, env=env)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert json.loads(result.stdout) == metrics(invoke, db, "--no-cache")


def test_the_audited_database_is_not_written(invoke: Invoke, private_cache: Path) -> None:
    before = sha256(REAL_DB)
    metrics(invoke, REAL_DB)
    metrics(invoke, REAL_DB)
    assert sha256(REAL_DB) == before
    assert len(cache_files(private_cache)) == 1


def test_without_redaction_new_events_are_folded_in_the_same(
    invoke: Invoke, db: Path, private_cache: Path
) -> None:
    metrics(invoke, db)
    _, workflow_id, _, _ = a_retried_task(db)
    append(db, stage_completed("s-late", 950, workflow_id, "late-type", 77))
    result = invoke("--no-redact", "metrics", "--json", "--top", "5", "--db", str(db), db=None)
    assert result.exit_code == 0, result.stderr
    fresh = invoke(
        "--no-redact", "metrics", "--json", "--top", "5", "--no-cache", "--db", str(db), db=None
    )
    assert json.loads(result.stdout) == json.loads(fresh.stdout)
    assert json.loads(result.stdout)["stages"]["late-type"]["max_duration_ms"] == 77


def test_names_that_look_like_secrets_are_not_kept_on_disk(
    invoke: Invoke, tmp_path: Path, private_cache: Path
) -> None:
    db = tmp_path / "secretive.db"
    append(db, stage_completed("s1", 1, "wf-1", "deploy ghp_" + "a" * 36, 5))
    shown = metrics(invoke, db)
    assert "ghp_" + "a" * 36 not in json.dumps(shown)
    assert cache_files(private_cache) == []


def test_entries_unused_for_a_month_are_removed_when_another_is_written(
    invoke: Invoke, db: Path, tmp_path: Path, private_cache: Path
) -> None:
    def entry_for(database: str) -> Path:
        """An entry as the tool writes it: named by the hash of the path it records."""
        name = hashlib.sha256(database.encode()).hexdigest()[:32]
        entry = private_cache / f"metrics-{name}.json"
        entry.write_text(
            json.dumps({"format": "1/0", "path": database, "checkpoint": 0, "prefix": {}})
        )
        return entry

    stale, recent = entry_for("/gone/stale.db"), entry_for("/gone/recent.db")
    month_ago = time.time() - (STALE_DAYS + 1) * 86_400
    os.utime(stale, (month_ago, month_ago))
    metrics(invoke, db)
    assert not stale.exists()
    assert recent.exists()
    (mine,) = [p for p in cache_files(private_cache) if p != recent]
    os.utime(mine, (month_ago, month_ago))  # a hit marks the entry as in use
    metrics(invoke, db)
    assert mine.stat().st_mtime > month_ago + 86_400
