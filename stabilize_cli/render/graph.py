"""The stage graph in the terminal (layers top-down, a box per stage, coloured by status),
as JSON, or as Mermaid / Graphviz DOT text for CI artifacts and docs."""

from __future__ import annotations

import sys
from dataclasses import replace
from enum import StrEnum
from typing import Any

from rich.columns import Columns
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from ..runs.graph import Node, StageGraph, to_dot, to_mermaid
from .console import make_console
from .output import write_json
from .timeline import plain, status_style


class GraphFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    MERMAID = "mermaid"
    DOT = "dot"


def _box(node: Node, previous: set[str]) -> Panel:
    """One stage: ref_id, name, status; what it waits for unless that is the layer above."""
    body = Text(plain(node.ref_id), style="bold")
    if node.name is not None and node.name != node.ref_id:
        body.append("\n" + plain(node.name))
    body.append("\n")
    body.append(plain(node.status), style=status_style(node.status))
    if node.requires and set(node.requires) != previous:
        body.append("\n\u2190 " + ", ".join(plain(r) for r in node.requires), style="dim")
    return Panel(body, border_style=status_style(node.status), expand=False)


def graph_view(graph: StageGraph) -> RenderableType:
    title = Text.assemble(
        (plain(graph.workflow_id), "bold"),
        "  ",
        plain(graph.name),
        "  ",
        (plain(graph.status), status_style(graph.status)),
        f"  {len(graph.nodes)} stages, {len(graph.edges)} edges",
    )
    parts: list[RenderableType] = [title]
    previous: set[str] = set()
    for index, layer in enumerate(graph.layers()):
        if index:
            sources = sorted({r for n in layer for r in n.requires if r in previous})
            arrow = "\u2193 " + ", ".join(plain(s) for s in sources) if sources else "\u2193"
            parts.append(Text(f"  {arrow}", style="dim"))
        parts.append(Columns([_box(n, previous) for n in layer], padding=(0, 1)))
        previous = {n.ref_id for n in layer}
    for stage, ref in graph.missing:
        parts.append(
            Text(
                f"{plain(stage)} waits for {plain(ref)}, which this run has no stage for",
                style="yellow",
            )
        )
    if not graph.edges_known:
        parts.append(
            Text(
                "edges unknown: no stage_executions rows of this run could be read "
                "(events carry no edges)",
                style="yellow",
            )
        )
    return Group(*parts)


def _inert(graph: StageGraph) -> StageGraph:
    """Names and statuses with every control, bidi, zero-width or invisible character shown
    as an escape, before Mermaid or DOT quoting (which only keeps the diagram's structure)."""

    def shown(value: object) -> str | None:
        return None if value is None else plain(value)

    nodes = tuple(replace(n, name=shown(n.name), status=shown(n.status)) for n in graph.nodes)
    return replace(graph, name=shown(graph.name), status=shown(graph.status), nodes=nodes)


def write_graph(
    graph: StageGraph, fmt: GraphFormat, left_out: tuple[dict[str, Any], str] | None = None
) -> None:
    """``left_out``: the incomplete mark and its line (``render.incomplete.left_out_of``);
    Mermaid and DOT say it in a comment, inside the diagram."""
    said = None if left_out is None else f"INCOMPLETE: {plain(left_out[1])}"
    if fmt is GraphFormat.JSON:
        write_json({**graph.to_json(), **({} if left_out is None else left_out[0])})
    elif fmt is GraphFormat.MERMAID:
        sys.stdout.write(to_mermaid(_inert(graph)) + ("" if said is None else f"%% {said}\n"))
    elif fmt is GraphFormat.DOT:
        text = to_dot(_inert(graph))
        if said is not None:  # a comment before the closing brace: one graph per file
            head, _, tail = text.rstrip("\n").rpartition("}")
            text = f"{head}    // {said}\n}}{tail}\n"
        sys.stdout.write(text)
    else:
        console = make_console()
        console.print(graph_view(graph))
        if said is not None:
            console.print(Text(said, style="bold"))
