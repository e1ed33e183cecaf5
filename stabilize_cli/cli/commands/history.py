"""`stabilize history`: every event of one workflow, stage or task, in sequence order."""

from enum import StrEnum
from typing import Annotated

import typer

from ...render.formats import Format
from ..errors import guarded
from ..options import DbOption, FormatOption, JsonFlag
from ..run import CommandRun


class EntityKind(StrEnum):
    """The entity types, without importing the library at startup."""

    WORKFLOW = "workflow"
    STAGE = "stage"
    TASK = "task"


@guarded
def history(
    run: CommandRun,
    entity_id: Annotated[
        str, typer.Argument(help="Id of a workflow, stage or task.", show_default=False)
    ],
    entity_type: Annotated[
        EntityKind | None,
        typer.Option(
            "--type",
            "-t",
            case_sensitive=False,
            help="Which kind of entity the id names; needed only when two kinds share it.",
        ),
    ] = None,
    whole_workflow: Annotated[
        bool,
        typer.Option("--all", help="For a workflow: also its stages' and tasks' events."),
    ] = False,
    db: DbOption = "stabilize.db",
    fmt: FormatOption = Format.TABLE,
    json_flag: JsonFlag = False,
) -> None:
    """Show one entity's events: sequence, time, type, version, actor, handler, summary.

    JSON is a list of events in the engine's Event form; NDJSON one such event per line.

    A row that cannot be read is shown as stored: in JSON its columns plus
    "unreadable": {column, reason, raw}; in the table a summary saying why.

    CSV and Markdown hold the table's rows.
    """
    from ...queries.events import entity_history
    from ...render.events import history_report, history_table, write_events
    from ...render.incomplete import mark_incomplete, tables_left_out

    chosen = run.output(fmt, json_flag)
    kind = None if entity_type is None else entity_type.value
    notes = run.read_notes()
    with run.open(db, notes=True) as store:
        found = entity_history(store, entity_id, kind, whole_workflow=whole_workflow)
        # the real causes are read by now: a damaged engine table marks the report
        report = mark_incomplete(history_report(found), tables_left_out(notes))
        # Written while the store is open: the events stream from it, never held.
        write_events(report, found.with_causes, chosen, history_table(found))
    run.conclude(shown_raw=True)
