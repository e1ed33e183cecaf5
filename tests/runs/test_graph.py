"""Layers and diagram text of the stage graph, for any DAG (and any text in its names)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from stabilize_cli.runs.graph import Node, layered, to_dot, to_mermaid


@st.composite
def graphs(draw: st.DrawFn, *, acyclic: bool = True) -> list[Node]:
    count = draw(st.integers(1, 12))
    refs = [f"r{i}" for i in range(count)]
    nodes = []
    for i, ref in enumerate(refs):
        pool = refs[:i] if acyclic else refs
        needs = draw(st.lists(st.sampled_from(pool), unique=True, max_size=3)) if pool else []
        name = draw(st.text(max_size=20))
        nodes.append(
            Node(ref, name, draw(st.sampled_from(["SUCCEEDED", "TERMINAL", "x"])), tuple(needs))
        )
    return nodes


@given(graphs())
def test_every_edge_points_to_a_later_layer_and_roots_are_layer_0(nodes: list[Node]) -> None:
    graph = layered("wf", "n", "s", nodes)
    layer = {n.ref_id: n.layer for n in graph.nodes}
    assert sorted(layer) == sorted(n.ref_id for n in nodes)
    assert all(layer[a] < layer[b] for a, b in graph.edges)
    assert all(layer[n.ref_id] == 0 for n in nodes if not n.requires)
    # each stage sits right below the deepest stage it waits for
    for n in graph.nodes:
        if n.requires:
            assert n.layer == 1 + max(layer[r] for r in n.requires)


@given(graphs(acyclic=False))
def test_a_cycle_still_places_every_stage(nodes: list[Node]) -> None:
    graph = layered("wf", "n", "s", nodes)
    assert len(graph.nodes) == len(nodes)


@given(graphs())
def test_names_cannot_add_edges_or_nodes_to_the_diagrams(nodes: list[Node]) -> None:
    graph = layered("wf", "n", "s", nodes)
    mermaid = to_mermaid(graph).splitlines()
    assert sum("-->" in line for line in mermaid) == len(graph.edges)
    labels = [line for line in mermaid if re.fullmatch(r'    s\d+\["[^"]*"\]', line)]
    assert len(labels) == len(graph.nodes)
    dot = to_dot(graph).splitlines()
    assert sum(bool(re.fullmatch(r"    s\d+ -> s\d+;", line)) for line in dot) == len(graph.edges)
    node_lines = [
        line
        for line in dot
        if re.fullmatch(r'    s\d+ \[label="(?:[^"\\]|\\.)*", fillcolor="#[0-9a-f]{6}"\];', line)
    ]
    assert len(node_lines) == len(graph.nodes)


def test_a_requirement_the_run_lacks_is_reported_not_drawn() -> None:
    graph = layered("wf", "n", "s", [Node("a", "A", "SUCCEEDED", ("ghost",))])
    assert graph.missing == (("a", "ghost"),)
    assert graph.edges == []
