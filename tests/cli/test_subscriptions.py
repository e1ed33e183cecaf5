"""`stabilize subscriptions list`: positions, lag and filters, webhook secrets redacted."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli.events import (
    EntityType,
    Event,
    EventType,
    SqliteEventStore,
    SubscriptionManager,
)
from stabilize_cli.redaction import Redactor

from ..conftest import REAL_DB, sha256
from .conftest import Invoke, run_process
from .rendered import shown

SECRET_URL = "https://user:secret@host.example/x?token=abc"


def ignore(event: Event) -> None:
    """A handler: this test never delivers."""


def make_store(path: Path, events: int) -> SqliteEventStore:
    store = SqliteEventStore(str(path))
    store.append_batch(
        [
            Event(
                event_type=EventType.STAGE_STARTED,
                entity_type=EntityType.STAGE,
                entity_id=f"st{i}",
                workflow_id="wf",
            )
            for i in range(events)
        ]
    )
    return store


@pytest.fixture
def subscribed_db(tmp_path: Path) -> Path:
    """Ten events; subscriptions at the start, at sequence 4 and at the head."""
    db = tmp_path / "subs.db"
    store = make_store(db, 10)
    manager = SubscriptionManager(store)
    manager.create_subscription("from-start", ignore, start_from="beginning")
    manager.create_subscription(
        "failures",
        ignore,
        event_types=[EventType.STAGE_FAILED, EventType.TASK_FAILED],
        entity_filter={"workflow_id": "wf"},
        start_from="4",
    )
    manager.create_subscription("at-head", ignore, webhook_url="https://hooks.example/in?sig=xyz")
    # The engine stores credentials as given; our manager refuses them, so write the row as
    # the engine would have.
    store.save_subscription("engine-made", None, None, 7, SECRET_URL)
    store.close()
    return db


def listed(invoke: Invoke, db: Path) -> dict[str, dict[str, Any]]:
    result = invoke("subscriptions", "list", "--json", db=db)
    assert result.exit_code == 0, result.stderr
    # the webhook secrets hidden are counted, on stderr only
    assert result.stderr.startswith("redacted ")
    assert result.stderr.count("\n") == 1
    return {row["id"]: row for row in json.loads(result.stdout)}


def test_lag_is_the_current_sequence_minus_each_position(
    invoke: Invoke, subscribed_db: Path
) -> None:
    rows = listed(invoke, subscribed_db)
    assert {sid: (r["last_sequence"], r["lag"]) for sid, r in rows.items()} == {
        "from-start": (0, 10),
        "failures": (4, 6),
        "at-head": (10, 0),
        "engine-made": (7, 3),
    }
    assert {r["current_sequence"] for r in rows.values()} == {10}


def test_filters_are_shown_as_stored(invoke: Invoke, subscribed_db: Path) -> None:
    row = listed(invoke, subscribed_db)["failures"]
    assert row["event_types"] == ["stage.failed", "task.failed"]
    assert row["entity_filter"] == {"workflow_id": "wf"}
    assert listed(invoke, subscribed_db)["from-start"]["event_types"] is None


def test_webhook_credentials_and_query_values_are_redacted_in_every_format(
    invoke: Invoke, subscribed_db: Path
) -> None:
    rows = listed(invoke, subscribed_db)
    assert rows["engine-made"]["webhook_url"] == "https://***@host.example/x?token=***"
    assert rows["at-head"]["webhook_url"] == "https://hooks.example/in?sig=***"
    for fmt in ("table", "csv", "ndjson", "markdown", "json"):
        out = shown(invoke("subscriptions", "list", "--format", fmt, db=subscribed_db).stdout, fmt)
        assert "secret" not in out
        assert "abc" not in out
        assert "xyz" not in out
        assert "***" in out
        if fmt != "table":  # the table folds long URLs over lines
            assert "https://***@host.example/x?token=***" in out


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example/path", "https://hooks.example/path"),
        ("http://u@10.0.0.1:8080/p?a=1&b=2", "http://***@10.0.0.1:8080/p?a=***&b=***"),
        ("https://[::1]:9/x#access_token=t", "https://[::1]:9/x#access_token=***"),
        ("https://h/x?opaque-secret", "https://h/x?opaque-secret=***"),
        ("https://[bad/x", "***"),
    ],
)
def test_redact_url_keeps_only_scheme_host_port_path_and_keys(url: str, shown: str) -> None:
    assert Redactor().redact_webhook_url(url) == shown


def test_an_unreadable_filter_is_shown_raw_not_fatal(invoke: Invoke, subscribed_db: Path) -> None:
    conn = sqlite3.connect(subscribed_db)
    with conn:
        conn.execute("UPDATE event_subscriptions SET entity_filter = '{oops' WHERE id = 'failures'")
    conn.close()
    assert listed(invoke, subscribed_db)["failures"]["entity_filter"] == "{oops"


def test_an_empty_store_lists_no_subscriptions(invoke: Invoke, tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    SqliteEventStore(str(db)).close()
    result = invoke("subscriptions", "list", db=db)
    assert result.exit_code == 0
    assert result.stdout.split() == [
        "ID",
        "POSITION",
        "LAG",
        "EVENT",
        "TYPES",
        "FILTER",
        "WEBHOOK",
        "UPDATED",
    ]
    assert json.loads(invoke("subscriptions", "list", "--json", db=db).stdout) == []


def test_listing_leaves_the_file_byte_identical(invoke: Invoke, subscribed_db: Path) -> None:
    before = sha256(subscribed_db)
    assert invoke("subscriptions", "list", db=subscribed_db).exit_code == 0
    assert sha256(subscribed_db) == before


def test_the_real_process_lists_the_engine_databases_none() -> None:
    done = run_process("subscriptions", "list", "--db", str(REAL_DB), "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "id,last_sequence,lag,event_types,entity_filter,webhook_url,created_at,updated_at\n"
    )


def test_markup_and_escapes_in_an_id_are_shown_literally(invoke: Invoke, tmp_path: Path) -> None:
    store = make_store(tmp_path / "evil.db", 1)
    store.save_subscription("[red]boom[/] \x1b[2J \u202e", None, {"k": "[link=x]y[/]"}, 0)
    store.close()
    out = invoke("subscriptions", "list", db=tmp_path / "evil.db").stdout
    assert "[red]boom[/]" in out
    assert "[link=x]y[/]" in out
    assert "\x1b" not in out
    assert "\u202e" not in out
