"""The real engine and our store on one PostgreSQL database, both ways, and the engine's
two commit-order bugs reproduced next to our reader delivering exactly once.

Needs ``STABILIZE_ENGINE_PYTHON`` (a Python with ``stabilize[postgres]==0.33.1``) and a
test server (``tests/postgres_support.py``); skipped without the engine.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from stabilize_cli.events import (
    EventQuery,
    EventRecorder,
    EventReplayer,
    PostgresEventStore,
    StageMetricsProjection,
    SubscriptionManager,
    WorkflowTimelineProjection,
)
from stabilize_cli.events.store import UNLIMITED
from stabilize_cli.events.store.postgres import FeedPosition

from ..events.test_recorder import Clock, record_every_type
from ..events.test_store_contract import make_event
from ..postgres_support import settle

ENGINE_PYTHON = os.environ.get("STABILIZE_ENGINE_PYTHON")
pytestmark = pytest.mark.skipif(not ENGINE_PYTHON, reason="STABILIZE_ENGINE_PYTHON is not set")

READ_SCRIPT = """
import json, sys
from stabilize.events import (EventQuery, EventReplayer, StageMetricsProjection,
    WorkflowTimelineProjection)
from stabilize.events.store.postgres import PostgresEventStore
store = PostgresEventStore(sys.argv[1])
events = list(store.get_events(EventQuery(limit=10**9)))
timeline = WorkflowTimelineProjection("W1")
metrics = StageMetricsProjection()
for event in events:
    timeline.apply(event)
    metrics.apply(event)
print(json.dumps({
    "events": [e.to_dict() for e in events],
    "state": EventReplayer(store).rebuild_workflow_state("W1"),
    "timeline": timeline.get_state().to_dict(),
    "metrics": metrics.to_dict(),
}, default=str))
store.close()
"""

WRITE_SCRIPT = """
import json, sys
from datetime import datetime, timedelta, timezone
from stabilize.events import EntityType, Event, EventMetadata, EventType
from stabilize.events.store.postgres import PostgresEventStore
store = PostgresEventStore(sys.argv[1], create_tables=True)
t0 = datetime(2026, 11, 28, 14, 40, 58, 128463, tzinfo=timezone.utc)
kinds = [EventType.WORKFLOW_STARTED, EventType.STAGE_STARTED, EventType.TASK_FAILED]
written = store.append_batch([
    Event(event_type=kinds[i % 3], timestamp=t0 + timedelta(seconds=i),
          entity_type=EntityType.WORKFLOW, entity_id="W1", workflow_id="W1", version=i,
          data={"i": i, "nested": {"b": [1, 2.5, None], "a": "ü"}},
          metadata=EventMetadata(correlation_id="W1", actor="engine"))
    for i in range(25)
])
print(json.dumps([e.to_dict() for e in written], default=str))
store.close()
"""

BUGS_SCRIPT = """
import json, sys
from stabilize.events import SubscriptionManager
from stabilize.events.store.postgres import PostgresEventStore
store = PostgresEventStore(sys.argv[1])
first, cursor = store.get_events_since_committed("0", limit=1000)
second, _ = store.get_events_since_committed(cursor, limit=1000)
latest = []
manager = SubscriptionManager(store, batch_size=100)
manager.create_subscription("engine-latest", latest.append, start_from="latest")
manager._process_pending_events()
paged = []
manager2 = SubscriptionManager(store, batch_size=100)
manager2.create_subscription("engine-beginning", paged.append, start_from="beginning")
for _ in range(20):
    manager2._process_pending_events()
print(json.dumps({"pages": [len(first), len(second)], "latest": len(latest),
                  "beginning": len(paged)}))
store.close()
"""


def run_engine(script: str, url: str) -> Any:
    assert ENGINE_PYTHON is not None
    run = subprocess.run(
        [ENGINE_PYTHON, "-c", script, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_the_engine_reads_what_we_write(pg_url: str) -> None:
    with PostgresEventStore(pg_url, create_tables=True) as store:
        record_every_type(EventRecorder(store, publish_to_bus=False, clock=Clock()), Clock())
        events = list(store.get_events(EventQuery(limit=UNLIMITED)))
        timeline = WorkflowTimelineProjection("W1")
        metrics = StageMetricsProjection()
        timeline.apply_all(events)
        metrics.apply_all(events)
        ours = {
            "events": [e.to_dict() for e in events],
            "state": EventReplayer(store).rebuild_workflow_state("W1"),
            "timeline": timeline.get_state().to_dict(),
            "metrics": metrics.to_dict(),
        }
    engine = run_engine(READ_SCRIPT, pg_url)
    assert engine == json.loads(json.dumps(ours, default=str))


def test_we_read_what_the_engine_writes(pg_url: str) -> None:
    engine = run_engine(WRITE_SCRIPT, pg_url)
    with PostgresEventStore(pg_url, read_only=True) as store:
        ours = [e.to_dict() for e in store.get_events(EventQuery(limit=UNLIMITED))]
        assert store.supports_commit_cursor()
    assert len(ours) == 25
    assert ours == engine


def test_the_engines_two_commit_order_bugs_and_ours_exactly_once(pg_url: str) -> None:
    with PostgresEventStore(pg_url, create_tables=True) as store:
        written = store.append_batch([make_event(i) for i in range(1_500)])
        settle(store)
    engine = run_engine(BUGS_SCRIPT, pg_url)
    # The engine: the cut window's rest is skipped, and "latest" replays history.
    assert engine["pages"] == [1_000, 0]
    assert engine["latest"] == 100
    assert engine["beginning"] < 1_500
    with PostgresEventStore(pg_url) as store:
        settle(store)
        first = store.read_feed(FeedPosition(), 1_000)
        second = store.read_feed(first.end, 1_000)
        assert [len(first.events), len(second.events)] == [1_000, 500]
        latest: list[int] = []
        paged: list[int] = []
        manager = SubscriptionManager(store, batch_size=100)
        manager.create_subscription("ours-latest", lambda e: latest.append(e.sequence))
        manager.create_subscription(
            "ours-beginning", lambda e: paged.append(e.sequence), start_from="beginning"
        )
        for _ in range(20):
            manager.process_once()
        assert latest == []
        assert paged == [e.sequence for e in written]
