"""`stabilize failures`: failures across workflows, grouped by a normalised error signature."""

from typing import Annotated

import typer

from ...render.formats import Format
from ..errors import guarded
from ..options import DbOption, FormatOption, JsonFlag, SinceOption, UntilOption
from ..run import CommandRun
from ..timeopts import as_utc


@guarded
def failures(
    run: CommandRun,
    db: DbOption = "stabilize.db",
    since: SinceOption = None,
    until: UntilOption = None,
    app: Annotated[
        str | None, typer.Option("--app", help="Only workflows of this application.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", help="At most this many signatures, most frequent first.")
    ] = 50,
    fmt: FormatOption = Format.TABLE,
    json_flag: JsonFlag = False,
) -> None:
    """Group stage, task and workflow failures by error signature (ids, numbers, paths masked).

    The ID column is a fingerprint of the signature: the same failure has the same ID on
    every day and in every database. Canceled workflows are not failures.
    """
    from ...queries.failures import FailureFilter
    from ...queries.failures import failures as group_failures
    from ...render.failures import failures_report
    from ...render.incomplete import mark_incomplete
    from ...render.metrics import scan_progress
    from ...render.output import write

    chosen = run.output(fmt, json_flag)
    wanted = FailureFilter(
        application=app,
        since=as_utc(since, "--since"),
        until=as_utc(until, "--until"),
        limit=limit,
    )
    wanted.validate()
    notes = run.read_notes()
    with (
        run.open(db, notes=True) as store,
        scan_progress("Reading failure events") as track,
    ):
        report = group_failures(store, wanted, track)
    write(mark_incomplete(failures_report(report), notes), chosen)
    run.conclude()
