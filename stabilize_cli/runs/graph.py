"""The stage graph of a run: nodes by ref_id, edges from ``requisite_stage_ref_ids``, layers.

A stage's layer is one more than the deepest stage it waits for, so every edge points to a
later layer and siblings share one. Edges to a ref_id the run does not have are kept as
``missing``; a cycle (not something the engine accepts) is broken by placing the rest of
its stages one layer below the deepest placed stage, never by looping.

Mermaid and Graphviz DOT are written here as text: node ids are generated (``s0``, ``s1``)
and every label is escaped, so stage names cannot change the diagram's structure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STATUS_COLOURS = {
    "SUCCEEDED": "#2da44e",
    "RUNNING": "#0969da",
    "TERMINAL": "#cf222e",
    "FAILED_CONTINUE": "#bc4c00",
    "STOPPED": "#cf222e",
    "CANCELED": "#bf8700",
    "PAUSED": "#bf8700",
    "SKIPPED": "#6e7781",
    "NOT_STARTED": "#afb8c1",
}
OTHER_COLOUR = "#8250df"


@dataclass(frozen=True)
class Node:
    ref_id: str
    name: Any
    status: Any
    requires: tuple[str, ...]
    layer: int = 0


@dataclass(frozen=True)
class StageGraph:
    workflow_id: str
    name: Any
    status: Any
    nodes: tuple[Node, ...]
    """In layer order, then in the order the run lists its stages."""
    missing: tuple[tuple[str, str], ...] = ()
    """(stage, ref_id) edges to a ref_id the run has no stage for."""
    edges_known: bool = True
    """False without the engine's tables: the events carry no edges."""

    @property
    def edges(self) -> list[tuple[str, str]]:
        known = {n.ref_id for n in self.nodes}
        return [(r, n.ref_id) for n in self.nodes for r in n.requires if r in known]

    def layers(self) -> list[list[Node]]:
        grouped: dict[int, list[Node]] = {}
        for node in self.nodes:
            grouped.setdefault(node.layer, []).append(node)
        return [grouped[k] for k in sorted(grouped)]

    def to_json(self) -> dict[str, Any]:
        return {
            "workflow_id": self.workflow_id,
            "name": self.name,
            "status": self.status,
            "edges_known": self.edges_known,
            "stages": [
                {
                    "ref_id": n.ref_id,
                    "name": n.name,
                    "status": n.status,
                    "requires": list(n.requires),
                    "layer": n.layer,
                }
                for n in self.nodes
            ],
            "edges": [{"from": a, "to": b} for a, b in self.edges],
            "missing": [{"stage": s, "requires": r} for s, r in self.missing],
        }


def layered(
    workflow_id: str, name: Any, status: Any, nodes: list[Node], *, edges_known: bool = True
) -> StageGraph:
    """Nodes placed in layers (longest path from a root), stable within a layer."""
    by_ref = {n.ref_id: n for n in nodes}
    layer: dict[str, int] = {}
    pending = [n.ref_id for n in nodes]
    while pending:
        progressed = False
        for ref in list(pending):
            needs = [r for r in by_ref[ref].requires if r in by_ref]
            if all(r in layer for r in needs):
                layer[ref] = 1 + max((layer[r] for r in needs), default=-1)
                pending.remove(ref)
                progressed = True
        if not progressed:  # a cycle: place what is left below everything placed
            below = 1 + max(layer.values(), default=-1)
            for ref in pending:
                layer[ref] = below
            pending = []
    order = {n.ref_id: i for i, n in enumerate(nodes)}
    placed = sorted(
        (Node(n.ref_id, n.name, n.status, n.requires, layer[n.ref_id]) for n in nodes),
        key=lambda n: (n.layer, order[n.ref_id]),
    )
    missing = tuple((n.ref_id, r) for n in nodes for r in n.requires if r not in by_ref)
    return StageGraph(workflow_id, name, status, tuple(placed), missing, edges_known)


def colour(status: Any) -> str:
    return STATUS_COLOURS.get(str(status), OTHER_COLOUR)


def _mermaid_text(value: Any) -> str:
    """A label Mermaid shows as text: entity codes for what its parser would read."""
    text = "" if value is None else str(value)
    codes = {
        "&": "#amp;",
        '"': "#quot;",
        "<": "#lt;",
        ">": "#gt;",
        "\n": " ",
        "\r": " ",
        "#": "#35;",
        "`": "#96;",
        "[": "#91;",
        "]": "#93;",
        "{": "#123;",
        "}": "#125;",
        "|": "#124;",
    }
    return "".join(codes.get(ch, ch) if ch.isprintable() or ch in codes else " " for ch in text)


def to_mermaid(graph: StageGraph) -> str:
    ids = {n.ref_id: f"s{i}" for i, n in enumerate(graph.nodes)}
    lines = ["flowchart TD"]
    for node in graph.nodes:
        label = f"{_mermaid_text(node.name or node.ref_id)}<br/>{_mermaid_text(node.status)}"
        lines.append(f'    {ids[node.ref_id]}["{label}"]')
    lines += [f"    {ids[a]} --> {ids[b]}" for a, b in graph.edges]
    statuses = sorted({str(n.status) for n in graph.nodes})
    for i, status in enumerate(statuses):
        members = ",".join(ids[n.ref_id] for n in graph.nodes if str(n.status) == status)
        lines.append(f"    classDef st{i} fill:{colour(status)},color:#ffffff,stroke:#24292f")
        lines.append(f"    class {members} st{i}")
    return "\n".join(lines) + "\n"


def _dot_text(value: Any) -> str:
    """A DOT double-quoted string's content: backslashes and quotes escaped, no newlines."""
    text = "" if value is None else str(value)
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return "".join(ch if ch.isprintable() else " " for ch in text)


def to_dot(graph: StageGraph) -> str:
    ids = {n.ref_id: f"s{i}" for i, n in enumerate(graph.nodes)}
    lines = [
        f'digraph "{_dot_text(graph.name or graph.workflow_id)}" {{',
        "    rankdir=TB;",
        '    node [shape=box, style="rounded,filled", fontcolor="#ffffff", fontname="Helvetica"];',
    ]
    for node in graph.nodes:
        label = f"{_dot_text(node.name or node.ref_id)}\\n{_dot_text(node.status)}"
        lines.append(
            f'    {ids[node.ref_id]} [label="{label}", fillcolor="{colour(node.status)}"];'
        )
    lines += [f"    {ids[a]} -> {ids[b]};" for a, b in graph.edges]
    lines.append("}")
    return "\n".join(lines) + "\n"
