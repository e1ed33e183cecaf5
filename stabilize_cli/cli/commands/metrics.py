"""`stabilize metrics`: per stage type and per task, how often, how well, how long."""

from typing import Annotated

import typer

from ...render.formats import Format
from ..completion import stage_types
from ..errors import guarded
from ..options import DbOption, FormatOption, JsonFlag, SinceOption, UntilOption
from ..run import CommandRun
from ..timeopts import as_utc


@guarded
def metrics(
    run: CommandRun,
    db: DbOption = "stabilize.db",
    top: Annotated[
        int | None,
        typer.Option(
            "--top",
            help="Only the N slowest stage types and tasks by average, in every format "
            "(JSON's top_slowest lists N, default 10).",
            show_default=False,
        ),
    ] = None,
    app: Annotated[
        str | None, typer.Option("--app", help="Only workflows of this application.")
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    stage_type: Annotated[
        list[str] | None,
        typer.Option(
            "--stage-type",
            help="Only these stage types, and the tasks of stages of these types (repeatable).",
            autocompletion=stage_types,
        ),
    ] = None,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache",
            help="Compute from the events alone, neither reading nor updating the figures "
            "kept in $STABILIZE_CACHE_DIR (default ~/.cache/stabilize-cli).",
        ),
    ] = False,
    fmt: FormatOption = Format.TABLE,
    json_flag: JsonFlag = False,
) -> None:
    """Stage and task metrics: runs, outcomes, success rates, average/median/p95 durations."""
    from ...audit.metrics_cache import MetricsCache
    from ...queries.metrics import MetricsFilter, stage_metrics
    from ...render.incomplete import mark_incomplete
    from ...render.metrics import metrics_report, scan_progress
    from ...render.output import write
    from ..settings import cache_directory

    chosen = run.output(fmt, json_flag)
    wanted = MetricsFilter(
        application=app,
        since=as_utc(since, "--since"),
        until=as_utc(until, "--until"),
        stage_types=frozenset(stage_type or ()),
        top=top,
    )
    wanted.validate()
    notes = run.read_notes()
    with (
        run.open(db, notes=True) as store,
        scan_progress("Reading stage and task events") as track,
    ):
        directory = None if no_cache else cache_directory()
        cache = None if directory is None else MetricsCache(directory)
        result = stage_metrics(store, wanted, track, cache)
    write(mark_incomplete(metrics_report(result), notes), chosen)
    run.conclude()
