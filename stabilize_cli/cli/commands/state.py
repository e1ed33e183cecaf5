"""`stabilize state WF [--at SEQ | --at-time ISO]`: the rebuilt state, now or at any point."""

from datetime import datetime
from typing import Annotated

import typer

from ...render.formats import Format
from ..errors import guarded
from ..exit_codes import exit_with_outcome
from ..options import DbOption, ExitStatusFlag, FormatOption, JsonFlag, WorkflowArg
from ..run import CommandRun


@guarded
def state(
    run: CommandRun,
    workflow: WorkflowArg,
    at: Annotated[
        int | None,
        typer.Option("--at", help="As of this global sequence number.", metavar="SEQ"),
    ] = None,
    at_time: Annotated[
        datetime | None,
        typer.Option(
            "--at-time", help="As of this time (ISO 8601; UTC unless an offset is given)."
        ),
    ] = None,
    exit_status: ExitStatusFlag = False,
    db: DbOption = "stabilize.db",
    fmt: FormatOption = Format.TABLE,
    json_flag: JsonFlag = False,
) -> None:
    """Show a workflow's state rebuilt from its events, now or as of a sequence or time."""
    from ...queries.state import outcome, workflow_state
    from ...queries.workflows import resolve_workflow
    from ...render.incomplete import mark_incomplete
    from ...render.output import write
    from ...render.state import state_report
    from ..timeopts import as_utc

    chosen = run.output(fmt, json_flag)
    at_time = as_utc(at_time, "--at-time")
    notes = run.read_notes()
    with run.open(db, notes=True) as store:
        result = workflow_state(store, resolve_workflow(store, workflow), at=at, at_time=at_time)
    write(mark_incomplete(state_report(result), notes.unreadable), chosen)
    run.conclude()
    if exit_status:
        exit_with_outcome(outcome(result.state))
