"""`stabilize state WF [--at SEQ | --at-time TIME]`: the rebuilt state, now or at any point."""

import sys
from typing import Annotated

import typer

from ...render.formats import Format
from ..errors import guarded
from ..exit_codes import exit_with_outcome
from ..options import DbOption, ExitStatusFlag, JsonFlag, TreeFormatOption, WorkflowArg
from ..run import CommandRun
from ..timeopts import TIME_HELP, TIME_METAVAR, as_utc


@guarded
def state(
    run: CommandRun,
    workflow: WorkflowArg,
    at: Annotated[
        int | None,
        typer.Option("--at", help="As of this global sequence number.", metavar="SEQ"),
    ] = None,
    at_time: Annotated[
        str | None,
        typer.Option("--at-time", metavar=TIME_METAVAR, help=f"As of this time: {TIME_HELP}."),
    ] = None,
    exit_status: ExitStatusFlag = False,
    db: DbOption = "stabilize.db",
    fmt: TreeFormatOption = Format.TABLE,
    json_flag: JsonFlag = False,
) -> None:
    """Show a workflow's state rebuilt from its events, now or as of a sequence or time."""
    from ...queries.state import outcome, workflow_state
    from ...queries.workflows import resolve_workflow
    from ...render.incomplete import mark_incomplete
    from ...render.output import write
    from ...render.sanitize import clean
    from ...render.state import state_report

    chosen = run.output(fmt, json_flag)
    when = as_utc(at_time, "--at-time")
    notes = run.read_notes()
    with run.open(db, notes=True) as store:
        result = workflow_state(store, resolve_workflow(store, workflow), at=at, at_time=when)
    write(mark_incomplete(state_report(result), notes), chosen)
    note = result.existence_note()
    if note is not None and chosen is not Format.TABLE:  # the table says it in its header
        sys.stderr.write(f"note: {clean(note)}\n")
    run.conclude()
    if exit_status:
        exit_with_outcome(outcome(result.state))
