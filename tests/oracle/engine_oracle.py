"""Record what the real Stabilize engine reports for the bundled fixture database.

Our tests compare stabilize-cli against the output of the real engine
(PyPI ``stabilize==0.33.1``), not against numbers we wrote ourselves. This
script produces that reference file. It must run under a Python that has
``stabilize==0.33.1`` installed, for example:

    python -m venv /tmp/engine-venv && /tmp/engine-venv/bin/pip install stabilize==0.33.1
    /tmp/engine-venv/bin/python tests/oracle/engine_oracle.py \
        fixtures/real-small.db fixtures/real-small.engine.json

The fixture is copied to a temporary directory first, because opening a
database with the engine may write to it; the fixture itself is never opened.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

from stabilize.events import (
    EntityType,
    Event,
    EventQuery,
    EventReplayer,
    SqliteEventStore,
    StageMetricsProjection,
    WorkflowTimelineProjection,
)


def record_workflow(store: SqliteEventStore, replayer: EventReplayer, wf: str) -> dict[str, Any]:
    events = store.get_events_for_workflow(wf)
    seqs = [e.sequence for e in events]
    proj = WorkflowTimelineProjection(wf)
    for e in events:
        proj.apply(e)
    as_of = sorted({seqs[0] - 1, seqs[0], seqs[2], seqs[len(seqs) // 2], seqs[-2]})
    middle = events[len(events) // 2].timestamp
    entities = sorted({(e.entity_type.value, e.entity_id) for e in events})
    return {
        "event_count": len(events),
        "sequences": seqs,
        "timeline": proj.get_state().to_dict(),
        "timeline_stages": [t.to_dict() for t in proj.get_stages()],
        "timeline_tasks": [t.to_dict() for t in proj.get_tasks()],
        "timeline_failures": [t.to_dict() for t in proj.get_failures()],
        "state": replayer.rebuild_workflow_state(wf),
        "states_as_of": {
            str(s): replayer.rebuild_workflow_state(wf, as_of_sequence=s) for s in as_of
        },
        "compare": replayer.compare_states(wf, seqs[2], seqs[-2]),
        "time_travel": {middle.isoformat(): replayer.time_travel_query(wf, middle)},
        "entity_histories": {
            f"{t}:{i}": replayer.get_entity_history(EntityType(t), i) for t, i in entities
        },
    }


def metrics(events: list[Event], passes: int) -> StageMetricsProjection:
    proj = StageMetricsProjection()
    for _ in range(passes):
        for e in events:
            proj.apply(e)
    return proj


def record(db_copy: Path) -> dict[str, Any]:
    store = SqliteEventStore(f"sqlite:///{db_copy.resolve()}", create_tables=False)
    replayer = EventReplayer(store)
    events = list(store.get_events(EventQuery(limit=10**9)))
    workflow_ids = sorted({e.workflow_id for e in events})
    once = metrics(events, 1)
    return {
        "engine_version": version("stabilize"),
        "current_sequence": store.get_current_sequence(),
        "count_events": store.count_events(),
        "workflows": {wf: record_workflow(store, replayer, wf) for wf in workflow_ids},
        "stage_metrics": once.to_dict(),
        "stage_metrics_idempotent": metrics(events, 2).to_dict(),
        "top_slowest": once.get_top_slowest_stages(10),
        "top_failing": once.get_top_failing_stages(10),
        "events": [e.to_dict() for e in events],
    }


def main(db: str, out: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "copy.db"
        shutil.copyfile(db, copy)
        result = record(copy)
    Path(out).write_text(json.dumps(result, indent=1, sort_keys=True, default=str) + "\n")
    for wf, w in result["workflows"].items():
        print(
            wf,
            w["state"].get("name"),
            w["timeline"].get("status"),
            w["state"].get("status"),
            w["event_count"],
        )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: engine_oracle.py FIXTURE.db OUTPUT.json")
    main(sys.argv[1], sys.argv[2])
