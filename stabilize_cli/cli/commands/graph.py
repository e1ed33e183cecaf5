"""`stabilize graph WF`: the stage DAG, in the terminal or as Mermaid / Graphviz DOT."""

from typing import Annotated

import typer

from ...render.graph import GraphFormat
from ..errors import guarded
from ..options import DbOption, JsonFlag, WorkflowArg
from ..run import CommandRun


@guarded
def graph(
    run: CommandRun,
    workflow: WorkflowArg,
    db: DbOption = "stabilize.db",
    fmt: Annotated[
        GraphFormat,
        typer.Option("--format", "-f", case_sensitive=False, help="Output format."),
    ] = GraphFormat.TABLE,
    json_flag: JsonFlag = False,
) -> None:
    """Draw a workflow's stage graph (edges from the engine's stage_executions), by status."""
    from ...queries.graph import stage_graph
    from ...queries.workflows import resolve_workflow
    from ...render.graph import write_graph

    if json_flag and fmt not in (GraphFormat.TABLE, GraphFormat.JSON):
        raise typer.BadParameter(f"--json contradicts --format {fmt.value}", param_hint="--json")
    with run.open(db) as store:
        result = stage_graph(store, resolve_workflow(store, workflow))
    write_graph(result, GraphFormat.JSON if json_flag else fmt)
