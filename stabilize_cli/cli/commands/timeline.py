"""`stabilize timeline WF`: stages and tasks with timing, a Gantt strip, and every error."""

import math
import sys
from datetime import timedelta
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
            "--export",
            help="Also draw the run as a Gantt chart in FILE.svg, or a page with it in FILE.html.",
            metavar="FILE",
        ),
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Show failure output in full, not its last lines.")
    ] = False,
    gap: Annotated[
        float,
        typer.Option(
            "--gap",
            help="Mark stretches with no event longer than SECONDS (the engine writes no "
            "pause event).",
            metavar="SECONDS",
        ),
    ] = 10.0,
    exit_status: ExitStatusFlag = False,
    db: DbOption = "stabilize.db",
    fmt: TreeFormatOption = Format.TABLE,
    json_flag: JsonFlag = False,
) -> None:
    """Show a workflow's stages and tasks: status, timing, retries and errors in full."""
    from ...queries.timeline import workflow_timeline
    from ...queries.workflows import resolve_workflow
    from ...render.incomplete import left_out_of, mark_incomplete
    from ...render.output import write
    from ...render.sanitize import clean
    from ...render.timeline import timeline_report

    if not math.isfinite(gap) or not 0 <= gap <= 1e12:
        raise typer.BadParameter("must be a number of seconds, 0 or more", param_hint="--gap")
    chosen = run.output(fmt, json_flag)
    notes = run.read_notes()
    if export:
        from ...render.export import export_kind, render_export, reserved
    # every entry, in JSON alone: written as a second read of the events gives them
    streamed = chosen is Format.JSON and not export and not failures
    with run.open(db, notes=True) as store:
        kind = export_kind(export, store.path) if export else None  # fails before any output
        result = workflow_timeline(
            store,
            resolve_workflow(store, workflow),
            failures_only=failures,
            # the table shows no per-event entries; the chart draws retries from them
            keep_entries=bool(export) or (chosen is not Format.TABLE and not streamed),
            gap_threshold=timedelta(seconds=gap),
        )
        if streamed:
            from ...queries.timeline import TimelineEntries

            report = timeline_report(result, entries=TimelineEntries(store, result))
            write(mark_incomplete(report, notes), chosen)
    if export and kind:  # written in full before any output: a bad path prints nothing
        left_out = left_out_of(notes)  # the chart says it under its header
        with reserved(export) as target:
            target.commit(render_export(result, kind, None if left_out is None else left_out[1]))
    if not streamed:
        write(mark_incomplete(timeline_report(result, full=full), notes), chosen)
    if export and kind:
        sys.stderr.write(clean(f"wrote {kind.upper()} timeline to {export}") + "\n")
    run.conclude()
    if exit_status:
        from ...queries.state import outcome

        exit_with_outcome(outcome(result.state))
