"""The engine's workflow tables for one run, redacted like the events read beside them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..audit import read_models_for
from ..audit.contracts import RunTables
from ..events.store import AuditableStore
from ..runs.cause import Cause, stage_cause
from ..runs.model import RunRow, StageRow
from .redacting import EventRedaction


def run_tables(store: AuditableStore) -> RunTables:
    return read_models_for(store).runs


Hide = Callable[[Any, str | None], Any]
"""A table value, and the key it is stored under (a name is structural: see redaction)."""


def _hider(store: AuditableStore, workflow_id: str) -> Hide | None:
    """The redaction the store's events get, for table values of one workflow."""
    redaction = store.event_filter
    if not isinstance(redaction, EventRedaction):
        return None
    secrets = redaction.secrets.of(workflow_id)

    def hide(value: Any, key: str | None = None) -> Any:
        return redaction.redactor.redact_value(value, key=key, secrets=secrets)

    return hide


def _hidden_stage(stage: StageRow, hide: Hide) -> StageRow:
    return replace(
        stage,
        name=hide(stage.name, "name"),
        context=hide(stage.context, None),
        outputs=hide(stage.outputs, None),
        tasks=tuple(
            replace(t, name=hide(t.name, "name"), exception_details=hide(t.exception_details, None))
            for t in stage.tasks
        ),
    )


@dataclass(frozen=True)
class StageCauses:
    """The real cause of every failed stage in the store, and which stage each task is in."""

    by_stage: dict[str, Cause]
    stage_of_task: dict[str, str]

    def of(self, entity_type: str, entity_id: str) -> Cause | None:
        stage_id = self.stage_of_task.get(entity_id) if entity_type == "task" else entity_id
        return None if stage_id is None else self.by_stage.get(stage_id)


NO_CAUSES = StageCauses({}, {})
"""A store without the engine's tables, or an entity whose run has no failed stage."""


def stage_causes(store: AuditableStore) -> StageCauses:
    """Causes of the stages the engine's rows say failed (redacted); empty without tables."""
    by_stage: dict[str, Cause] = {}
    stage_of_task: dict[str, str] = {}
    for workflow_id, stage in run_tables(store).failed_stages():
        hide = _hider(store, workflow_id)
        cause = stage_cause(stage if hide is None else _hidden_stage(stage, hide))
        if cause is None:
            continue
        by_stage[stage.id] = cause
        stage_of_task.update((t.id, stage.id) for t in stage.tasks)
    return StageCauses(by_stage, stage_of_task)


def run_causes(store: AuditableStore, workflow_id: str) -> StageCauses:
    """The causes of one run's failed stages: reads that run's rows only (history, state)."""
    run = load_run(store, workflow_id)
    by_stage: dict[str, Cause] = {}
    stage_of_task: dict[str, str] = {}
    for stage in () if run is None else run.stages:
        cause = stage_cause(stage)
        if cause is not None:
            by_stage[stage.id] = cause
            stage_of_task.update((t.id, stage.id) for t in stage.tasks)
    return StageCauses(by_stage, stage_of_task)


def load_run(store: AuditableStore, workflow_id: str) -> RunRow | None:
    """The run's rows, or None on a store without the engine's tables (or without its row).

    Table text is as untrusted as event text: every value goes through the redactor the
    store's events go through, with the secrets the workflow declares.
    """
    run = run_tables(store).run(workflow_id)
    hide = _hider(store, workflow_id)
    if run is None or hide is None:
        return run
    return replace(
        run,
        name=hide(run.name, "name"),
        context=hide(run.context, None),
        trigger=hide(run.trigger, None),
        canceled_by=hide(run.canceled_by, None),
        cancellation_reason=hide(run.cancellation_reason, None),
        paused=hide(run.paused, None),
        stages=tuple(_hidden_stage(stage, hide) for stage in run.stages),
    )
