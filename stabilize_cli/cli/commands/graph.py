"""`stabilize graph WF`: the stage DAG, in the terminal or as Mermaid / Graphviz DOT."""

from typing import Annotated

import typer

from ...render.graph import GraphFormat
from ..errors import guarded
from ..options import FORMAT_NAMES, DbOption, JsonFlag, WorkflowArg
from ..run import CommandRun


@guarded
def graph(
    run: CommandRun,
    workflow: WorkflowArg,
    db: DbOption = "stabilize.db",
    fmt: Annotated[
        GraphFormat,
        typer.Option(
            *FORMAT_NAMES,
            case_sensitive=False,
            metavar="FORMAT",
            help="Output format: table, json, mermaid or dot.",
        ),
    ] = GraphFormat.TABLE,
    json_flag: JsonFlag = False,
) -> None:
    """Draw a workflow's stage graph (edges from the engine's stage_executions), by status."""
    from ...queries.graph import stage_graph
    from ...queries.workflows import resolve_workflow
    from ...render.graph import write_graph
    from ...render.incomplete import the_mark

    if json_flag and fmt not in (GraphFormat.TABLE, GraphFormat.JSON):
        raise typer.BadParameter(f"--json contradicts --format {fmt.value}", param_hint="--json")
    notes = run.read_notes()
    with run.open(db, notes=True) as store:
        result = stage_graph(store, resolve_workflow(store, workflow))
    write_graph(result, GraphFormat.JSON if json_flag else fmt, the_mark(notes))
    run.conclude()
