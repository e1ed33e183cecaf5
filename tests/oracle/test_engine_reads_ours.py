"""The real engine reads a database our recorder wrote, and agrees with us about it.

Needs a Python with ``stabilize==0.33.1`` installed, named by ``STABILIZE_ENGINE_PYTHON``
(for example a separate virtualenv: ``python -m venv /tmp/engine && /tmp/engine/bin/pip
install stabilize==0.33.1``); skipped without it, since the project must not depend on
the engine.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from stabilize_cli.events import (
    EventQuery,
    EventRecorder,
    EventReplayer,
    SqliteEventStore,
    StageMetricsProjection,
    WorkflowTimelineProjection,
)
from stabilize_cli.events.store import UNLIMITED

from ..events.test_recorder import Clock, record_every_type

ENGINE_PYTHON = os.environ.get("STABILIZE_ENGINE_PYTHON")

ENGINE_SCRIPT = """
import json, sys
from stabilize.events import (EventQuery, EventReplayer, SqliteEventStore,
    StageMetricsProjection, WorkflowTimelineProjection)
store = SqliteEventStore("sqlite:///" + sys.argv[1], create_tables=False)
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
"""


@pytest.mark.skipif(not ENGINE_PYTHON, reason="STABILIZE_ENGINE_PYTHON is not set")
def test_the_engine_reads_our_database_and_computes_what_we_compute(tmp_path: Path) -> None:
    db = tmp_path / "ours.db"
    with SqliteEventStore(str(db)) as store:
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
    assert ENGINE_PYTHON is not None
    run = subprocess.run(
        [ENGINE_PYTHON, "-c", ENGINE_SCRIPT, str(db)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    engine = json.loads(run.stdout.strip().splitlines()[-1])
    assert engine["metrics"] == json.loads(json.dumps(ours["metrics"]))
    assert engine == json.loads(json.dumps(ours, default=str))
