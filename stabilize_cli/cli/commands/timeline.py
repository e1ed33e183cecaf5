"""`stabilize timeline WF`: stages and tasks with timing, a Gantt strip, and every error."""

import sys
from typing import Annotated

import typer

from ...render.formats import Format
from ..errors import guarded
from ..exit_codes import exit_with_outcome
from ..options import DbOption, ExitStatusFlag, JsonFlag, TreeFormatOption, WorkflowArg
from ..run import CommandRun


@guarded
def timeline(
    run: CommandRun,
    workflow: WorkflowArg,
    failures: Annotated[
        bool, typer.Option("--failures", help="Only the failing path: failed stages and tasks.")
    ] = False,
    export: Annotated[
        str | None,
        typer.Option(
            "--export", help="Also write the tree to FILE.svg or FILE.html.", metavar="FILE"
        ),
    ] = None,
    exit_status: ExitStatusFlag = False,
    db: DbOption = "stabilize.db",
    fmt: TreeFormatOption = Format.TABLE,
    json_flag: JsonFlag = False,
) -> None:
    """Show a workflow's stages and tasks: status, timing, retries and errors in full."""
    from ...queries.timeline import workflow_timeline
    from ...queries.workflows import resolve_workflow
    from ...render.incomplete import mark_incomplete
    from ...render.output import write
    from ...render.sanitize import clean
    from ...render.timeline import timeline_report

    chosen = run.output(fmt, json_flag)
    notes = run.read_notes()
    if export:
        from ...render.export import export_kind, export_view
    with run.open(db, notes=True) as store:
        kind = export_kind(export, store.path) if export else None  # fails before any output
        result = workflow_timeline(
            store,
            resolve_workflow(store, workflow),
            failures_only=failures,
            keep_entries=chosen is not Format.TABLE,  # the table shows no per-event entries
        )
    write(mark_incomplete(timeline_report(result), notes.unreadable), chosen)
    if export and kind:
        export_view(result, export, kind)
        sys.stderr.write(clean(f"wrote {kind.upper()} timeline to {export}") + "\n")
    run.conclude()
    if exit_status:
        from ...queries.state import outcome

        exit_with_outcome(outcome(result.state))
