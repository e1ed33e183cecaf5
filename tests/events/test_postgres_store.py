"""What only PostgreSQL has: commit order, its failure modes, errors, roles, real data.

Each test gets a fresh database on the test server (``tests/postgres_support.py``).
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from stabilize_cli.events import (
    EntityType,
    Event,
    EventMetadata,
    EventReplayer,
    EventType,
    PostgresEventStore,
    SubscriptionManager,
    WorkflowTimelineProjection,
)
from stabilize_cli.events.errors import (
    DuplicateEventError,
    SchemaError,
    StoreBusyError,
    StoreConnectionLostError,
    StoreError,
    StoreOpenError,
)
from stabilize_cli.events.store import UNLIMITED, EventQuery
from stabilize_cli.events.store.postgres import FeedPosition, is_postgres_dsn, redact_dsn
from stabilize_cli.events.store.postgres.dsn import scrub

from ..postgres_support import REAL_PG_SQL, admin_execute, database_url, load_sql, settle

T0 = datetime(2026, 11, 28, 14, 40, 58, 128463, tzinfo=UTC)


def make_event(n: int, workflow: str = "W1") -> Event:
    return Event(
        event_type=EventType.STAGE_STARTED,
        timestamp=T0 + timedelta(seconds=n),
        entity_type=EntityType.STAGE,
        entity_id=f"S{n}",
        workflow_id=workflow,
        version=1,
        data={"n": n},
        metadata=EventMetadata(correlation_id=workflow),
    )


def events(count: int, start: int = 0) -> list[Event]:
    return [make_event(start + i) for i in range(count)]


@pytest.fixture
def store(pg_url: str) -> Iterator[PostgresEventStore]:
    with PostgresEventStore(pg_url, create_tables=True) as opened:
        yield opened


def drain(store: PostgresEventStore, position: FeedPosition, limit: int) -> list[Event]:
    """Every event after ``position``, page by page, once the frontier passed them all."""
    settle(store)
    seen: list[Event] = []
    while True:
        page = store.read_feed(position, limit)
        seen.extend(page.events)
        if page.end == position:
            return seen
        position = page.end


# -- the engine's format ----------------------------------------------------------------


def test_tables_are_the_engines(store: PostgresEventStore, pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
        ).fetchall()
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes")}
    types = {(t, c): d for t, c, d in columns}
    assert types[("events", "commit_xid")] == "xid8"
    assert types[("events", "data")] == "jsonb"
    assert types[("events", "timestamp")] == "timestamp with time zone"
    assert types[("event_subscriptions", "event_types")] == "ARRAY"
    assert types[("event_subscriptions", "last_commit_cursor")] == "text"
    assert {
        "idx_events_entity",
        "idx_events_workflow",
        "idx_events_type",
        "idx_events_correlation",
        "idx_events_timestamp",
        "idx_events_commit",
        "idx_snapshots_entity",
    } <= indexes


def test_an_append_records_the_writing_transaction(store: PostgresEventStore, pg_url: str) -> None:
    store.append_batch(events(3))
    store.append_batch(events(2, 10))
    with psycopg.connect(pg_url) as conn:
        xids = [r[0] for r in conn.execute("SELECT commit_xid::text FROM events ORDER BY sequence")]
    assert xids[0] == xids[1] == xids[2] != xids[3] == xids[4]
    assert int(xids[3]) > int(xids[0])


def test_a_nul_character_is_refused_naming_the_event_and_nothing_is_written(
    store: PostgresEventStore,
) -> None:
    bad = Event(
        event_type=EventType.TASK_COMPLETED,
        workflow_id="W1",
        entity_id="T1",
        data={"outputs": {"log": "before\x00after"}},
        metadata=EventMetadata(correlation_id="W1"),
    )
    with pytest.raises(StoreError, match=re.escape(bad.event_id)) as caught:
        store.append_batch([*events(3), bad])
    assert "NUL" in str(caught.value)
    assert store.count_events() == 0
    backslash = dataclasses_replace_data(bad, {"log": "a literal \\u0000 is fine"})
    store.append(backslash)
    assert store.get_events_for_workflow("W1")[0].data == {"log": "a literal \\u0000 is fine"}


def dataclasses_replace_data(event: Event, data: dict[str, Any]) -> Event:
    return dataclasses.replace(event, data=data)


# -- commit order -------------------------------------------------------------------------


def test_a_lower_sequence_committed_later_is_delivered_once(
    store: PostgresEventStore, pg_url: str
) -> None:
    store.append_batch(events(2))
    delivered = drain(store, FeedPosition(), 10)
    position = store.read_feed(FeedPosition(), 10).end
    assert position.commit_cursor != "0"
    with psycopg.connect(pg_url) as slow, slow.transaction():
        (held,) = store.append_batch([make_event(100)], connection=slow)
        later = store.append_batch([make_event(101)])
        assert held.sequence < later[0].sequence
        # A sequence poller steps past the open transaction's row for good:
        assert [e.sequence for e in store.get_events_since(delivered[-1].sequence)] == [
            later[0].sequence
        ]
        # The commit-ordered reader holds everything behind the open transaction.
        page = store.read_feed(position, 10)
        assert page.events == []
        position = page.end
    rest = drain(store, position, 10)
    assert [e.sequence for e in rest] == [held.sequence, later[0].sequence]


def test_a_window_larger_than_the_page_is_read_to_its_end(store: PostgresEventStore) -> None:
    written = store.append_batch(events(1_500))  # one transaction: one commit window
    settle(store)
    first = store.read_feed(FeedPosition(), 1_000)
    assert len(first.events) == 1_000
    second = store.read_feed(first.end, 1_000)
    assert len(second.events) == 500
    assert [e.sequence for e in first.events + second.events] == [e.sequence for e in written]
    assert store.read_feed(second.end, 1_000).events == []


def test_the_engines_cursor_api_does_not_skip_a_cut_window(store: PostgresEventStore) -> None:
    written = store.append_batch(events(1_500))
    settle(store)
    got, cursor = store.get_events_since_committed("0", limit=1_000)
    more, cursor = store.get_events_since_committed(cursor, limit=1_000)
    assert [e.sequence for e in got + more] == [e.sequence for e in written]
    assert store.get_events_since_committed(cursor, limit=1_000)[0] == []
    assert ":" not in cursor  # a drained window ends on a plain xid, as the engine's


def test_a_subscription_over_a_cut_window_delivers_each_event_once(
    store: PostgresEventStore,
) -> None:
    written = store.append_batch(events(150))
    settle(store)
    seen: list[int] = []
    manager = SubscriptionManager(store, batch_size=100)
    manager.create_subscription("s", lambda e: seen.append(e.sequence), start_from="beginning")
    manager.process_once()
    assert len(seen) == 100
    restarted = SubscriptionManager(store, batch_size=100)
    restarted.load_subscription("s", lambda e: seen.append(e.sequence))
    while restarted.process_once():
        pass
    assert seen == [e.sequence for e in written]
    row = store.get_subscription("s")
    assert row is not None
    assert row["last_sequence"] == written[-1].sequence


def test_a_failing_handler_resumes_inside_the_transaction(store: PostgresEventStore) -> None:
    written = store.append_batch(events(10))
    settle(store)
    seen: list[int] = []

    def flaky(event: Event) -> None:
        if event.sequence == written[4].sequence and written[4].sequence not in failed:
            failed.add(event.sequence)
            raise RuntimeError("once")
        seen.append(event.sequence)

    failed: set[int] = set()
    manager = SubscriptionManager(store, batch_size=100, backoff_base=0)
    manager.create_subscription("s", flaky, start_from="beginning")
    manager.process_once()
    assert seen == [e.sequence for e in written[:4]]
    restarted = SubscriptionManager(store, batch_size=100, backoff_base=0)
    restarted.load_subscription("s", flaky)
    restarted.process_once()
    assert seen == [e.sequence for e in written]


def test_latest_persists_the_head_so_a_restart_does_not_replay(
    store: PostgresEventStore,
) -> None:
    store.append_batch(events(40))
    manager = SubscriptionManager(store)
    manager.create_subscription("s", lambda e: None, start_from="latest")
    row = store.get_subscription("s")
    assert row is not None
    assert row["last_commit_cursor"] != "0"
    seen: list[int] = []
    restarted = SubscriptionManager(store)
    restarted.load_subscription("s", lambda e: seen.append(e.sequence))
    settle(store)
    assert restarted.process_once() == 0
    new = store.append(make_event(77))
    settle(store)
    restarted.process_once()
    assert seen == [new.sequence]


def test_rows_without_commit_xid_come_first_in_sequence_order(
    store: PostgresEventStore, pg_url: str
) -> None:
    old = store.append_batch(events(5))
    new = store.append_batch(events(3, 10))
    with psycopg.connect(pg_url) as conn:
        conn.execute(
            "UPDATE events SET commit_xid = NULL WHERE sequence <= %s", (old[-1].sequence,)
        )
    got = drain(store, FeedPosition(), 2)
    assert [e.sequence for e in got] == [e.sequence for e in old + new]


def test_xids_ahead_of_the_server_are_detected_and_nothing_is_hidden(
    store: PostgresEventStore, pg_url: str
) -> None:
    written = store.append_batch(events(6))
    with psycopg.connect(pg_url) as conn:
        conn.execute(
            "UPDATE events SET commit_xid = '4000000000'::xid8 WHERE sequence > %s",
            (written[2].sequence,),
        )
    problem = store.commit_order_problem()
    assert problem is not None
    assert "ahead" in problem
    page = store.read_feed(FeedPosition(), 100)
    assert not page.commit_ordered
    assert page.fallback_reason == problem
    assert [e.sequence for e in page.events] == [e.sequence for e in written]
    seen: list[int] = []
    manager = SubscriptionManager(store)
    manager.create_subscription("s", lambda e: seen.append(e.sequence), start_from="beginning")
    manager.process_once()
    assert seen == [e.sequence for e in written]


# -- errors, each one of the library's own, never showing a password --------------------


def test_an_unreachable_server_is_cannot_open_without_the_password() -> None:
    url = "postgresql://someone:s3cr%21t@127.0.0.1:1/db"
    with pytest.raises(StoreOpenError) as caught:
        PostgresEventStore(url)
    message = str(caught.value)
    assert "s3cr" not in message
    assert "***" in message
    assert "cannot connect" in message


def test_a_missing_database_or_role_is_cannot_open(pg_url: str) -> None:
    with pytest.raises(StoreOpenError, match="does not exist"):
        PostgresEventStore(database_url(f"missing_{uuid.uuid4().hex[:8]}"))
    with pytest.raises(StoreOpenError, match="does not exist"):
        PostgresEventStore(database_url("postgres", user=f"nobody_{uuid.uuid4().hex[:8]}"))


def test_a_database_without_the_engines_tables_names_them(pg_url: str) -> None:
    with pytest.raises(SchemaError, match="events, snapshots, event_subscriptions"):
        PostgresEventStore(pg_url)


def test_a_held_lock_becomes_busy_after_the_timeout(store: PostgresEventStore, pg_url: str) -> None:
    store.append_batch(events(3))
    with PostgresEventStore(pg_url, busy_timeout=0.2) as impatient:
        with psycopg.connect(pg_url) as locker, locker.transaction():
            locker.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
            with pytest.raises(StoreBusyError, match="timeout"):
                impatient.count_events()
        assert impatient.count_events() == 3  # the session is usable again


def test_a_server_gone_mid_read_is_connection_lost(store: PostgresEventStore) -> None:
    store.append_batch(events(2_500))
    stream = store.get_events(EventQuery(limit=UNLIMITED))
    first = [next(stream) for _ in range(10)]
    assert len(first) == 10
    pid = store._conn().info.backend_pid
    admin_execute(f"SELECT pg_terminate_backend({pid})")
    with pytest.raises(StoreConnectionLostError):
        list(stream)


def test_a_select_only_role_reads_everything_an_audit_needs(
    store: PostgresEventStore, pg_url: str
) -> None:
    written = store.append_batch(events(5))
    store.save_snapshot(EntityType.WORKFLOW, "W1", "W1", 1, 1, {"a": 1})
    role = f"auditor_{uuid.uuid4().hex[:8]}"
    name = psycopg.conninfo.conninfo_to_dict(pg_url)["dbname"]
    admin_execute(f"CREATE ROLE {role} LOGIN")
    try:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"GRANT SELECT ON events, snapshots, event_subscriptions TO {role}")
        with PostgresEventStore(database_url(str(name), user=role), read_only=True) as audit:
            settle(audit)  # the commit-ordered feed below waits for the cluster's frontier
            assert [e.sequence for e in audit.get_events(EventQuery())] == [
                e.sequence for e in written
            ]
            assert len(audit.list_snapshots()) == 1
            assert audit.head_position().last_sequence == written[-1].sequence
            assert len(audit.read_feed(FeedPosition(), 10).events) == 5
            with audit.consistent_reads():
                assert audit.count_events() == 5
                assert audit.get_current_sequence() == written[-1].sequence
            with pytest.raises(StoreError):
                audit.append(make_event(9))
    finally:
        admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f"DROP ROLE {role}")


def test_consistent_reads_share_one_snapshot(store: PostgresEventStore, pg_url: str) -> None:
    store.append_batch(events(3))
    with PostgresEventStore(pg_url, read_only=True) as audit, audit.consistent_reads():
        before = audit.count_events()
        store.append_batch(events(2, 10))
        assert audit.count_events() == before == 3
    assert store.count_events() == 5


# -- connection strings -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dsn", "hidden"),
    [
        ("postgresql://u:pa55@h:5432/db", "pa55"),
        ("postgres://u:p%40ss@h/db?sslmode=disable", "p%40ss"),
        ("postgresql://u@h/db?password=qwerty&sslmode=disable", "qwerty"),
        ("host=h user=u password=hunter2 dbname=db", "hunter2"),
        ("host=h password='two words' dbname=db", "two words"),
    ],
)
def test_passwords_never_appear_in_what_is_shown(dsn: str, hidden: str) -> None:
    assert is_postgres_dsn(dsn)
    assert hidden not in redact_dsn(dsn)
    assert "***" in redact_dsn(dsn)
    raw = hidden.replace("%40", "@")
    assert raw not in scrub(f"failed for {dsn} with {raw}", dsn)


@pytest.mark.parametrize("path", ["events.db", "a=b.db", "/tmp/x.db", "sqlite:///x.db", "./host"])
def test_sqlite_paths_are_not_postgres(path: str) -> None:
    assert not is_postgres_dsn(path)


# -- the real engine's dump -----------------------------------------------------------------


def real_statuses() -> dict[str, str]:
    lines = (REAL_PG_SQL.parent / "real-pg.workflows.txt").read_text().split("\n")
    return {line.split()[0]: line.split()[-1] for line in lines if line.strip()}


def test_the_real_engines_dump_reads_completely(pg_url: str) -> None:
    load_sql(pg_url, REAL_PG_SQL)
    with PostgresEventStore(pg_url, read_only=True) as store:
        read = list(store.get_events(EventQuery(limit=UNLIMITED)))
        assert len(read) == 173 == store.count_events()
        assert all(e.timestamp.tzinfo is UTC for e in read)
        replayer = EventReplayer(store)
        statuses = {
            workflow: replayer.rebuild_workflow_state(workflow)["status"]
            for workflow in {e.workflow_id for e in read}
        }
        assert statuses == real_statuses()
        for workflow in statuses:
            timeline = WorkflowTimelineProjection(workflow)
            timeline.apply_all(store.get_events_for_workflow(workflow))
            assert timeline.get_state().workflow_id == workflow
        # Its commit_xids belong to the cluster that wrote them: nothing may be hidden.
        assert [e.sequence for e in drain(store, FeedPosition(), 50)] == [e.sequence for e in read]


def test_a_dump_whose_xids_are_ahead_is_flagged(pg_url: str) -> None:
    load_sql(pg_url, REAL_PG_SQL)
    with psycopg.connect(pg_url) as conn:
        xmax = int(
            conn.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text").fetchone()[0]
        )  # type: ignore[index]
        conn.execute(
            "UPDATE events SET commit_xid = (commit_xid::text::bigint + %s)::text::xid8",
            (xmax + 1_000_000,),
        )
    with PostgresEventStore(pg_url, read_only=True) as store:
        assert store.commit_order_problem() is not None
        assert len(drain(store, FeedPosition(), 50)) == 173


def test_a_sequence_not_owned_by_the_column_still_appends_in_order(pg_url: str) -> None:
    with PostgresEventStore(pg_url, create_tables=True) as first:
        first.append_batch(events(3))
    with psycopg.connect(pg_url) as conn:
        conn.execute("ALTER SEQUENCE events_sequence_seq OWNED BY NONE")
    with PostgresEventStore(pg_url) as store:
        written = store.append_batch(events(5, 10))
        assert [e.sequence for e in written] == [4, 5, 6, 7, 8]
        assert [e.to_dict() for e in store.get_events(EventQuery(from_sequence=3))] == [
            e.to_dict() for e in written
        ]


def test_a_batch_in_the_callers_transaction_goes_with_it(
    store: PostgresEventStore, pg_url: str
) -> None:
    with psycopg.connect(pg_url) as conn:
        store.append_batch(events(4), connection=conn)
        conn.rollback()
    assert store.count_events() == 0
    with psycopg.connect(pg_url) as conn:
        written = store.append_batch(events(4), connection=conn)
        conn.commit()
    assert [e.sequence for e in store.get_events(EventQuery())] == [e.sequence for e in written]


def test_a_refused_batch_leaves_the_callers_transaction_usable(
    store: PostgresEventStore, pg_url: str
) -> None:
    existing = store.append(make_event(1))
    with psycopg.connect(pg_url) as conn:
        kept = store.append_batch(events(2, 10), connection=conn)
        with pytest.raises(DuplicateEventError):
            store.append_batch([make_event(20), existing], connection=conn)
        conn.commit()
    assert [e.sequence for e in store.get_events(EventQuery())] == [
        existing.sequence,
        *(e.sequence for e in kept),
    ]


def test_the_engines_schema_option_places_and_checks_the_tables(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA audit_events")
    with PostgresEventStore(pg_url, True, "audit_events") as store:
        written = store.append_batch(events(3))
        assert store.resolved_schema() == "audit_events"
    with PostgresEventStore(pg_url, schema="audit_events", read_only=True) as reader:
        assert [e.sequence for e in reader.get_events(EventQuery())] == [
            e.sequence for e in written
        ]
    with pytest.raises(SchemaError, match="missing tables"):
        PostgresEventStore(pg_url)  # not on the default search_path
    with PostgresEventStore(pg_url, create_tables=True) as public:  # a second set, in public
        assert public.resolved_schema() == "public"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA shadow")
        conn.execute("CREATE TABLE shadow.events (LIKE audit_events.events)")
    shadowed = pg_url + " options='-c search_path=shadow,audit_events'"
    with pytest.raises(SchemaError, match="more than one schema"):
        PostgresEventStore(shadowed)
