"""The engine's workflow tables for one run, redacted like the events read beside them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..events.store import SqliteEventStore
from ..runs.model import RunRow
from ..runs.sqlite import SqliteRunTables
from .redacting import EventRedaction


def run_tables(store: SqliteEventStore) -> SqliteRunTables:
    return SqliteRunTables(store)


def load_run(store: SqliteEventStore, workflow_id: str) -> RunRow | None:
    """The run's rows, or None on a store without the engine's tables (or without its row).

    Table text is as untrusted as event text: every value goes through the redactor the
    store's events go through, with the secrets the workflow declares.
    """
    run = run_tables(store).run(workflow_id)
    redaction = store.event_filter
    if run is None or not isinstance(redaction, EventRedaction):
        return run
    secrets = redaction.secrets.of(workflow_id)

    def hide(value: Any) -> Any:
        return redaction.redactor.redact_value(value, secrets=secrets)

    stages = tuple(
        replace(
            stage,
            name=hide(stage.name),
            context=hide(stage.context),
            outputs=hide(stage.outputs),
            tasks=tuple(
                replace(t, name=hide(t.name), exception_details=hide(t.exception_details))
                for t in stage.tasks
            ),
        )
        for stage in run.stages
    )
    return replace(
        run,
        name=hide(run.name),
        context=hide(run.context),
        trigger=hide(run.trigger),
        canceled_by=hide(run.canceled_by),
        cancellation_reason=hide(run.cancellation_reason),
        paused=hide(run.paused),
        stages=stages,
    )
