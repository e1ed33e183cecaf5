"""`compare`: which two runs, and each read as its timeline (the same facts the timeline
shows), then compared stage by stage."""

from __future__ import annotations

from typing import Any

from ..audit import read_models_for
from ..events.store import AuditableStore
from ..runs.compare import Comparison, Side, SideStage, SideTask, compare_runs
from .errors import NotFoundError
from .timeline import StageLine, TimelineResult, workflow_timeline
from .workflows import LATEST_FAILED, resolve_workflow


def pick_runs(store: AuditableStore, a: str, b: str | None) -> tuple[str, str]:
    """A as given (default ``latest-failed``); B as given, else the last run of the same
    name and application that succeeded and began before A."""
    after = resolve_workflow(store, a or LATEST_FAILED)
    if b is not None:
        return after, resolve_workflow(store, b)
    later: str | None = None
    mine = None
    newest = read_models_for(store).newest
    summaries = newest.newest_first()
    for summary in summaries:  # newest first: runs after A, then A
        if summary.workflow_id == after:
            mine = summary
            break
        if later is None and summary.status == "SUCCEEDED":
            later = summary.workflow_id
    if mine is None:
        raise NotFoundError(f"no workflow {after!r} in the store")
    same = (mine.name, mine.application, "SUCCEEDED")
    for other in summaries:  # the rest of the walk: runs that began before A
        if (other.name, other.application, other.status) == same:
            return after, other.workflow_id
    hint = "name the run to compare with as B"
    newer = [
        s.workflow_id
        for s in newest.newest_first()
        if (s.name, s.application, s.status) == same and s.workflow_id != after
    ]
    if newer:
        hint += f" (a later success: {newer[-1]})"
    raise NotFoundError(
        f"no successful run of {mine.name!r} ({mine.application!r}) before {after}: {hint}"
    )


def _duration(start: Any, end: Any) -> int | None:
    if start is None or end is None:
        return None
    return int((end - start).total_seconds() * 1000)


def _stage(line: StageLine, outputs: Any) -> SideStage:
    return SideStage(
        ref_id=str(line.ref_id if line.ref_id is not None else line.id),
        name=line.name,
        status=line.status,
        duration_ms=_duration(line.start, line.end),
        cause=line.cause,
        error=line.error,
        outputs=outputs,
        tasks=tuple(SideTask(t.name, t.status, _duration(t.start, t.end)) for t in line.tasks),
    )


def side(result: TimelineResult) -> Side:
    states = result.state.get("stages", {})
    return Side(
        workflow_id=result.workflow_id,
        name=result.state.get("name"),
        application=result.state.get("application"),
        status=result.state.get("status"),
        start_time=result.state.get("start_time"),
        duration_ms=_duration(result.start, result.end),
        trigger=result.facts.trigger,
        context=result.facts.context,
        stages=tuple(_stage(s, states.get(s.id, {}).get("outputs")) for s in result.stages),
    )


def compare(store: AuditableStore, a: str, b: str | None) -> Comparison:
    after, before = pick_runs(store, a, b)
    return compare_runs(
        side(workflow_timeline(store, after)), side(workflow_timeline(store, before))
    )
