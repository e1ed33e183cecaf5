"""`stabilize compare A B`: what changed between two runs of a pipeline."""

from typing import Annotated

import typer

from ...render.compare import CompareFormat
from ..errors import guarded
from ..options import FORMAT_NAMES, DbOption, JsonFlag
from ..run import CommandRun


@guarded
def compare(
    run: CommandRun,
    a: Annotated[
        str,
        typer.Argument(
            help="The run to explain (default: latest-failed).", show_default=False, metavar="A"
        ),
    ] = "latest-failed",
    b: Annotated[
        str | None,
        typer.Argument(
            help="The run to compare with (default: the last success of the same name and "
            "application before A).",
            show_default=False,
            metavar="B",
        ),
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Show failure output in full, not its last lines.")
    ] = False,
    all_stages: Annotated[
        bool, typer.Option("--all", help="List every stage and task, changed or not.")
    ] = False,
    db: DbOption = "stabilize.db",
    fmt: Annotated[
        CompareFormat,
        typer.Option(
            *FORMAT_NAMES,
            case_sensitive=False,
            metavar="FORMAT",
            help="Output format: table, json or markdown.",
        ),
    ] = CompareFormat.TABLE,
    json_flag: JsonFlag = False,
) -> None:
    """Compare two runs of a pipeline: what changed from B to A.

    Trigger and context, stages added or missing, status and duration changes per stage
    and task, new failures with their causes, outputs that differ.
    """
    from ...queries.compare import compare as compare_runs
    from ...render.compare import write_comparison
    from ...render.incomplete import the_mark

    if json_flag and fmt not in (CompareFormat.TABLE, CompareFormat.JSON):
        raise typer.BadParameter(f"--json contradicts --format {fmt.value}", param_hint="--json")
    notes = run.read_notes()
    with run.open(db, notes=True) as store:
        result = compare_runs(store, a, b)
    write_comparison(
        result,
        CompareFormat.JSON if json_flag else fmt,
        full=full,
        all_stages=all_stages,
        left_out=the_mark(notes),
    )
    run.conclude()
