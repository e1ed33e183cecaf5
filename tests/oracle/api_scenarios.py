"""The same calls on every public name of an event-sourcing package, results as JSON.

Run as ``python api_scenarios.py PACKAGE WORKDIR`` under the engine's Python with
``stabilize`` and under ours with ``stabilize_cli``; the differential test compares the
two outputs scenario by scenario. Everything random (ids, clocks) is fixed or left out,
and only what the engine returns is kept: where ours returns more (extra keys or stats
fields), the extra is not read here. Runs under Python 3.11+ with no test framework.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import json
import sys
import threading
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# The package under test, bound by main(): importing this module (as the differential
# test does, for the scenario names) loads neither package.
ev: Any = None
base: Any = None
replay_module: Any = None
WORK = Path(".")

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SCENARIOS: dict[str, Callable[[], Any]] = {}


def scenario(fn: Callable[[], Any]) -> Callable[[], Any]:
    SCENARIOS[fn.__name__] = fn
    return fn


def outcome(call: Callable[[], Any]) -> Any:
    """A call's result, or the exception it raised (type name and message)."""
    try:
        return call()
    except Exception as exc:
        return {"raises": type(exc).__name__, "message": str(exc)}


def plain(value: Any) -> Any:
    """JSON-ready, enums as their values (the engine's are Enum, ours StrEnum)."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(plain(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return repr(value)


def unstamped(event_dict: dict[str, Any]) -> dict[str, Any]:
    """An event's dict without what a recorder draws at random (id, clock)."""
    return {k: v for k, v in event_dict.items() if k not in {"event_id", "timestamp"}}


def event(n: int, kind: str, entity: str = "workflow", entity_id: str = "wf-1", **data: Any) -> Any:
    return ev.Event(
        event_id=f"E{n:03d}",
        event_type=ev.EventType(kind),
        timestamp=T0 + timedelta(seconds=n),
        entity_type=ev.EntityType(entity),
        entity_id=entity_id,
        workflow_id="wf-1",
        version=n,
        data=data,
        metadata=ev.EventMetadata(correlation_id="wf-1", actor="alice"),
    )


def story() -> list[Any]:
    """One workflow: a stage with a task that fails once, is retried and succeeds, a
    second stage that fails."""
    return [
        event(1, "workflow.created", application="shop", name="deploy"),
        event(2, "workflow.started", context={"env": "prod"}),
        event(3, "stage.started", "stage", "s1", name="build", type="shell", ref_id="b"),
        event(4, "task.started", "task", "t1", name="compile", stage_id="s1"),
        event(5, "task.failed", "task", "t1", name="compile", error="boom", duration_ms=40),
        event(6, "task.retried", "task", "t1", name="compile", retry_count=1),
        event(7, "task.completed", "task", "t1", name="compile", outputs={"a": 1}, duration_ms=90),
        event(8, "stage.completed", "stage", "s1", name="build", type="shell", duration_ms=200),
        event(9, "stage.started", "stage", "s2", name="test", type="python"),
        event(10, "stage.failed", "stage", "s2", name="test", type="python", error="red"),
        event(11, "context.updated", context={"step": 2}),
        event(12, "workflow.failed", status="TERMINAL"),
    ]


def new_store(name: str) -> Any:
    return ev.SqliteEventStore(f"sqlite:///{WORK / name}", create_tables=True)


# -- base ----------------------------------------------------------------------------


@scenario
def base_types() -> Any:
    e = story()[4]
    metadata = ev.EventMetadata(correlation_id="c")
    return {
        "event_types": [[m.name, m.value] for m in ev.EventType],
        "entity_types": [[m.name, m.value] for m in ev.EntityType],
        "metadata_defaults": metadata.to_dict(),
        "metadata_from_dict": ev.EventMetadata.from_dict({"correlation_id": "x"}).to_dict(),
        "event": e.to_dict(),
        "round_trip": ev.Event.from_dict(e.to_dict()).to_dict(),
        "with_sequence": e.with_sequence(42).to_dict(),
        "frozen": outcome(lambda: setattr(e, "version", 1)).get("raises"),
        "parse": [base.parse_event_type(s).value for s in ("stage.failed", "no.such.type")],
        "unknown_from_dict": ev.Event.from_dict({**e.to_dict(), "event_type": "x.y"}).data,
        "constants": [base.CURRENT_SCHEMA_VERSION, base.RAW_EVENT_TYPE],
        "defaults": unstamped(ev.Event().to_dict()),
    }


@scenario
def factories() -> Any:
    metadata = ev.EventMetadata(correlation_id="wf-1", causation_id="E0", actor="bob")
    made = [
        ev.create_workflow_event(ev.EventType.WORKFLOW_STARTED, "wf-1", 2, {"a": 1}, metadata),
        ev.create_stage_event(ev.EventType.STAGE_SKIPPED, "s1", "wf-1", 3, {}, metadata),
        ev.create_task_event(ev.EventType.TASK_FAILED, "t1", "wf-1", 4, {"e": "x"}, metadata),
    ]
    return [unstamped(e.to_dict()) for e in made]


@scenario
def migrator() -> Any:
    def bump(version: int) -> Callable[[Any], Any]:
        def step(e: Any) -> Any:
            return dataclasses.replace(
                e, data={**e.data, f"v{version}": True}, schema_version=version
            )

        return step

    m = ev.EventMigrator()
    m.register(2, 3)(bump(3))
    m.register(1, 2)(bump(2))
    m.register(4, 6)(bump(6))
    at = [dataclasses.replace(story()[0], schema_version=v) for v in range(0, 5)]

    def shown(e: Any) -> Any:
        return [e.schema_version, e.data]

    calls = []
    for e in at:
        for target in (None, 1, 3, 5):
            for strict in (True, False):
                calls.append(outcome(lambda e=e, t=target, s=strict: shown(m.migrate(e, t, s))))
    same = at[1]
    return {
        "registered": m.registered_migrations,
        "calls": calls,
        "same_is_identity": m.migrate(same, 1) is same,
        "lenient_gap_is_identity": ev.EventMigrator().migrate(same, 2, strict=False) is same,
    }


@scenario
def global_migrator() -> Any:
    first = ev.get_event_migrator()
    first.register(1, 2)(lambda e: e)
    again = ev.get_event_migrator()
    ev.reset_event_migrator()
    fresh = ev.get_event_migrator()
    return [again is first, fresh is first, fresh.registered_migrations]


# -- bus -----------------------------------------------------------------------------

STATS = (
    "events_published",
    "events_delivered",
    "errors",
    "subscriptions_active",
    "async_fallbacks",
)


def stats(bus: Any) -> dict[str, Any]:
    s = bus.stats
    return {name: getattr(s, name) for name in STATS}


@scenario
def bus_sync() -> Any:
    bus = ev.EventBus()
    got: dict[str, list[str]] = {"all": [], "types": [], "stages": [], "wf": []}
    bus.subscribe("all", lambda e: got["all"].append(e.event_id))
    bus.subscribe(
        "types", lambda e: got["types"].append(e.event_id), event_types={ev.EventType.TASK_FAILED}
    )
    bus.subscribe(
        "stages", lambda e: got["stages"].append(e.event_id), entity_types={ev.EntityType.STAGE}
    )
    bus.subscribe("wf", lambda e: got["wf"].append(e.event_id), workflow_filter="other")
    bus.publish_batch(story()[:6])
    bus.disable_subscription("all")
    bus.publish(story()[6])
    disabled = stats(bus)
    bus.enable_subscription("all")
    removed = [bus.unsubscribe("types"), bus.unsubscribe("types")]
    bus.publish(story()[7])
    out = {"got": got, "stats": stats(bus), "disabled": disabled, "removed": removed}
    out["subscriptions"] = bus.get_subscriptions()
    bus.shutdown()
    return out


@scenario
def bus_errors() -> Any:
    errors: list[Any] = []
    bus = ev.EventBus(error_handler=lambda sid, e, exc: errors.append([sid, e.event_id, repr(exc)]))
    bus.subscribe("bad", lambda e: 1 / 0)
    bus.subscribe("good", lambda e: None)
    bus.publish(story()[0])
    return {"errors": errors, "stats": stats(bus)}


@scenario
def bus_shutdown() -> Any:
    bus = ev.EventBus()
    got: list[str] = []
    bus.subscribe("sync", lambda e: got.append("sync:" + e.event_id))
    bus.subscribe(
        "async", lambda e: got.append("async:" + e.event_id), mode=ev.SubscriptionMode.ASYNC
    )
    bus.shutdown()
    bus.publish(story()[0])
    bus.publish_batch(story()[1:3])
    after_shutdown = {"got": list(got), "stats": stats(bus)}
    bus.reset()
    bus.subscribe("sync", lambda e: got.append("sync:" + e.event_id))
    bus.publish(story()[3])
    bus.shutdown()
    return {"after_shutdown": after_shutdown, "after_reset": got, "stats": stats(bus)}


@scenario
def bus_async_order() -> Any:
    bus = ev.EventBus(max_workers=4)
    got: dict[str, list[int]] = {"a": [], "b": [], "c": []}
    done = threading.Event()
    lock = threading.Lock()

    def handler(name: str) -> Callable[[Any], None]:
        def handle(e: Any) -> None:
            if e.version % 5 == 0:
                threading.Event().wait(0.001)
            with lock:
                got[name].append(e.version)
                if sum(map(len, got.values())) == 3 * 60:
                    done.set()

        return handle

    for name in got:
        bus.subscribe(name, handler(name), mode=ev.SubscriptionMode.ASYNC)
    for n in range(60):
        bus.publish(dataclasses.replace(story()[0], version=n))
    done.wait(10)
    bus.shutdown(wait=True)
    return {"got": got, "stats": stats(bus)}


@scenario
def global_bus() -> Any:
    ev.reset_event_bus()
    first = ev.get_event_bus()
    same = ev.get_event_bus() is first
    configured = ev.configure_event_bus(max_workers=2)
    out = [same, configured is not first, ev.get_event_bus() is configured]
    ev.reset_event_bus()
    out.append(ev.get_event_bus() is not configured)
    ev.reset_event_bus()
    return out


# -- store ---------------------------------------------------------------------------


@scenario
def store_reads() -> Any:
    store = new_store("reads.db")
    first = store.append(story()[0])
    rest = store.append_batch(story()[1:])
    q = ev.EventQuery
    queries = {
        "types": q(event_types=[ev.EventType.TASK_FAILED, ev.EventType.STAGE_FAILED]),
        "entity": q(entity_type=ev.EntityType.TASK, entity_id="t1"),
        "range": q(from_sequence=3, to_sequence=6),
        "page": q(limit=3, offset=2),
        "desc": q(ascending=False, limit=4),
        "time": q(from_timestamp=T0 + timedelta(seconds=4), to_timestamp=T0 + timedelta(seconds=6)),
        "zero": q(limit=0),
        "by_type": q(order_by="event_type"),
    }
    return {
        "appended": [first.sequence] + [e.sequence for e in rest],
        "query_defaults": plain(dataclasses.asdict(q())),
        "queries": {k: [e.event_id for e in store.get_events(v)] for k, v in queries.items()},
        "counts": {k: store.count_events(v) for k, v in queries.items()},
        "entity": [e.event_id for e in store.get_events_for_entity(ev.EntityType.STAGE, "s1")],
        "entity_from": [
            e.event_id for e in store.get_events_for_entity(ev.EntityType.TASK, "t1", 5)
        ],
        "workflow": [e.to_dict() for e in store.get_events_for_workflow("wf-1", 10)],
        "since": [e.sequence for e in store.get_events_since(4, limit=3)],
        "current": store.get_current_sequence(),
        "count_all": store.count_events(),
        "by_id": [store.get_event_by_id("E007").to_dict(), store.get_event_by_id("nope")],
        "duplicate": outcome(lambda: store.append(story()[0])).get("raises") is not None,
    }


@scenario
def store_commit_cursor() -> Any:
    store = new_store("cursor.db")
    first = store.get_events_since_committed("0")
    store.append_batch(story()[:5])
    pages, cursor = [], "0"
    for _ in range(4):
        events, cursor = store.get_events_since_committed(cursor, limit=2)
        pages.append([[e.event_id for e in events], cursor])
    store.save_subscription("s", None, None, 1)
    store.update_subscription_cursor("s", 4, "4")
    row = store.get_subscription("s")
    return {
        "first": [[e.event_id for e in first[0]], first[1]],
        "pages": pages,
        "supports": store.supports_commit_cursor(),
        "row": [row["last_sequence"], row["last_commit_cursor"]],
    }


@scenario
def store_snapshots() -> Any:
    store = new_store("snaps.db")
    empty = store.get_latest_snapshot(ev.EntityType.WORKFLOW, "wf-1")
    store.save_snapshot(ev.EntityType.WORKFLOW, "wf-1", "wf-1", 7, 10, {"v": 7})
    store.save_snapshot(ev.EntityType.WORKFLOW, "wf-1", "wf-1", 5, 100, {"v": 5, "l": [1]})
    newest = store.get_latest_snapshot(ev.EntityType.WORKFLOW, "wf-1")
    store.save_snapshot(ev.EntityType.WORKFLOW, "wf-1", "wf-1", 7, 11, {"v": "7b"})
    return [empty, newest, store.get_latest_snapshot(ev.EntityType.WORKFLOW, "wf-1")]


# -- projections ---------------------------------------------------------------------


@scenario
def timeline() -> Any:
    p = ev.WorkflowTimelineProjection("wf-1")
    for e in story():
        p.apply(e.with_sequence(e.version))
    p.apply(dataclasses.replace(story()[0], workflow_id="other"))
    out = {
        "state": p.get_state().to_dict(),
        "stages": [t.to_dict() for t in p.get_stages()],
        "tasks": [t.to_dict() for t in p.get_tasks()],
        "failures": [t.to_dict() for t in p.get_failures()],
        "handles": [p.handles_event_type(e) for e in story()[:3]],
    }
    p.reset()
    out["after_reset"] = p.get_state().to_dict()
    return out


@scenario
def metrics() -> Any:
    p = ev.StageMetricsProjection()
    for _ in range(2):  # the second pass is de-duplicated
        for e in story():
            p.apply(e)
    shell = p.get_metrics_for_type("shell")
    compile_task = p.get_task_metrics_for_name("compile")
    return {
        "dict": p.to_dict(),
        "slowest": plain(p.get_top_slowest_stages(5)),
        "failing": plain(p.get_top_failing_stages(5)),
        "shell": [shell.execution_count, shell.success_rate, shell.avg_duration_ms],
        "missing": [p.get_metrics_for_type("nope"), p.get_task_metrics_for_name("nope")],
        "task": [compile_task.retry_count, compile_task.success_count],
        "state_keys": sorted(p.get_state()),
        "task_keys": sorted(p.get_task_state()),
    }


# -- replay and snapshots ------------------------------------------------------------


@scenario
def replay() -> Any:
    store = new_store("replay.db")
    stored = store.append_batch(story())
    r = ev.EventReplayer(store)
    seqs = [e.sequence for e in stored]
    handed: list[str] = []
    r.replay_workflow_from_checkpoint("wf-1", seqs[5], lambda e: handed.append(e.event_id))
    compared = r.compare_states("wf-1", seqs[2], seqs[9])
    return {
        "state": r.rebuild_workflow_state("wf-1"),
        "as_of": [r.rebuild_workflow_state("wf-1", s) for s in (0, seqs[3], seqs[7])],
        "compare": {k: compared[k] for k in ("before", "after", "sequence_range")},
        "time_travel": r.time_travel_query("wf-1", T0 + timedelta(seconds=6)),
        "history": r.get_entity_history(ev.EntityType.TASK, "t1"),
        "handed": handed,
        "unknown_workflow": r.rebuild_workflow_state("nope"),
        "workflow_state": ev.WorkflowState(workflow_id="w").to_dict(),
        "replay_result": plain(ev.ReplayResult(ev.EntityType.WORKFLOW, "w")),
    }


@scenario
def replay_upcasting() -> Any:
    store = new_store("upcast.db")
    old = dataclasses.replace(story()[11], data={"legacy_status": "DONE"}, schema_version=1)
    future = dataclasses.replace(story()[10], event_id="F", schema_version=9)
    store.append_batch([story()[0], old, future])
    ev.reset_event_migrator()
    saved = base.CURRENT_SCHEMA_VERSION
    try:
        base.CURRENT_SCHEMA_VERSION = 2
        if hasattr(replay_module, "CURRENT_SCHEMA_VERSION"):
            replay_module.CURRENT_SCHEMA_VERSION = 2

        @ev.get_event_migrator().register(1, 2)
        def up(e: Any) -> Any:
            data = dict(e.data)
            data["status"] = data.pop("legacy_status", None)
            return dataclasses.replace(e, data=data, schema_version=2)

        r = ev.EventReplayer(store)
        handed: list[Any] = []
        r.replay_workflow_from_checkpoint("wf-1", 0, lambda e: handed.append(e.to_dict()))
        return {"state": r.rebuild_workflow_state("wf-1"), "handed": handed}
    finally:
        base.CURRENT_SCHEMA_VERSION = saved
        if hasattr(replay_module, "CURRENT_SCHEMA_VERSION"):
            replay_module.CURRENT_SCHEMA_VERSION = saved
        ev.reset_event_migrator()


@scenario
def snapshots() -> Any:
    policy = ev.SnapshotPolicy(event_interval=3, time_interval_seconds=3600)
    decisions = [policy.should_snapshot("wf-1", n) for n in (0, 2, 3, 4)]
    store = new_store("snapshot-store.db")
    snaps = ev.SnapshotStore(store, ev.SnapshotPolicy(event_interval=2))
    state = {"workflow_id": "wf-1", "status": "RUNNING", "context": {}, "stages": {}, "tasks": {}}
    made = snaps.create_workflow_snapshot(state, "wf-1", 4, 12)
    latest = snaps.get_latest_snapshot(ev.EntityType.WORKFLOW, "wf-1")
    shown = {k: v for k, v in made.to_dict().items() if k != "created_at"}
    round_trip = ev.Snapshot.from_dict(made.to_dict()).to_dict()
    return {
        "policy": decisions,
        "made": shown,
        "latest": {k: v for k, v in latest.to_dict().items() if k != "created_at"},
        "round_trip_same": round_trip == made.to_dict(),
        "should": [snaps.should_snapshot("wf-1", n) for n in (1, 2)],
        "none": snaps.get_latest_snapshot(ev.EntityType.STAGE, "wf-1"),
    }


# -- recorder and durable subscriptions ----------------------------------------------


@scenario
def recorder() -> Any:
    store = new_store("recorder.db")
    ev.reset_event_recorder()
    before = ev.get_event_recorder()
    rec = ev.configure_event_recorder(store, publish_to_bus=False)
    ev.set_event_context("corr-1", causation_id="cause", actor="carol")
    metadata = ev.get_event_metadata(source_handler="H").to_dict()
    made = [
        rec.record_context_updated(ev.EntityType.STAGE, "s1", "wf-1", {"k": 1}, version=2),
        rec.record_outputs_updated(ev.EntityType.TASK, "t1", "wf-1", {"o": 2}),
        rec.record_jump_executed("wf-1", "s2", "s1", "backward", version=3),
    ]
    stored = [unstamped(e.to_dict()) for e in store.get_events_for_workflow("wf-1")]
    same = ev.get_event_recorder() is rec
    ev.reset_event_recorder()
    sourcing = ev.configure_event_sourcing(store, publish_to_bus=False, bus_max_workers=2)
    out = {
        "before": before,
        "metadata": metadata,
        "made": [unstamped(e.to_dict()) for e in made],
        "stored": stored,
        "global": [same, ev.get_event_recorder() is sourcing],
    }
    ev.reset_event_recorder()
    ev.reset_event_bus()
    return out


@scenario
def durable_subscriptions() -> Any:
    store = new_store("subs.db")
    store.append_batch(story()[:5])
    got: dict[str, list[str]] = {"all": [], "failed": [], "late": []}
    manager = ev.SubscriptionManager(store, poll_interval=0.01, batch_size=2)
    manager.create_subscription(
        "all", lambda e: got["all"].append(e.event_id), start_from="beginning"
    )
    manager.create_subscription(
        "failed",
        lambda e: got["failed"].append(e.event_id),
        event_types=[ev.EventType.TASK_FAILED],
        start_from="beginning",
    )
    manager.create_subscription("late", lambda e: got["late"].append(e.event_id))
    store.append_batch(story()[5:8])
    processed = [manager.process_once() for _ in range(6)]
    status = manager.get_subscription_status("failed")
    sub = ev.DurableSubscription(
        id="x", handler=lambda e: None, event_types=[ev.EventType.TASK_FAILED]
    )
    return {
        "got": got,
        "processed": processed,
        "status": {k: status[k] for k in ("id", "last_sequence", "enabled")} if status else status,
        "matches": [sub.matches(e) for e in story()[3:6]],
        "deleted": [manager.delete_subscription("late"), manager.get_subscription_status("late")],
    }


def main() -> None:
    global ev, base, replay_module, WORK  # noqa: PLW0603 - bound once, before any scenario
    package = sys.argv[1] if len(sys.argv) > 1 else "stabilize"
    WORK = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(".")
    ev = importlib.import_module(f"{package}.events")
    base = importlib.import_module(f"{package}.events.base")
    replay_module = importlib.import_module(f"{package}.events.replay")
    results = {}
    for name, run in SCENARIOS.items():
        try:
            results[name] = plain(run())
        except Exception:
            results[name] = {"crashed": traceback.format_exc().splitlines()[-1]}
    print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
