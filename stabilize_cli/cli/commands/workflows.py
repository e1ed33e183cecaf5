"""`stabilize workflows`: one row per workflow, newest first."""

import sys
from typing import Annotated

import typer

from ...render.formats import Format
from ..completion import statuses
from ..errors import guarded
from ..options import DbOption, FormatOption, JsonFlag, SinceOption, UntilOption
from ..run import CommandRun
from ..timeopts import as_utc


@guarded
def workflows(
    run: CommandRun,
    db: DbOption = "stabilize.db",
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            help="Only these statuses (repeatable): TERMINAL, SUCCEEDED, RUNNING, ...",
            autocompletion=statuses,
        ),
    ] = None,
    app: Annotated[str | None, typer.Option("--app", help="Only this application.")] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Only workflows of this name, e.g. nightly-etl.")
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="At most this many rows.")] = 50,
    fmt: FormatOption = Format.TABLE,
    json_flag: JsonFlag = False,
) -> None:
    """List workflows: status, timing, event count and failed stages."""
    from ...queries.workflows import WorkflowFilter, list_workflows
    from ...render.incomplete import mark_incomplete
    from ...render.output import write
    from ...render.workflows import workflows_report

    chosen = run.output(fmt, json_flag)
    wanted = WorkflowFilter(
        statuses=frozenset(s.upper() for s in status or ()),
        application=app,
        name=name,
        since=as_utc(since, "--since"),
        until=as_utc(until, "--until"),
        limit=limit,
    )
    notes = run.read_notes()
    with run.open(db, notes=True) as store:
        result = list_workflows(store, wanted, run.redactor)
    write(mark_incomplete(workflows_report(result), notes), chosen)
    sys.stdout.flush()  # a closed pipe ends here, silently, before the note
    if limit and len(result.workflows) == limit:  # said on stderr, whatever the format
        sys.stderr.write(f"showing the newest {limit} workflows; --limit N for more\n")
    run.conclude()
