"""A run's stage graph: edges only the engine's ``stage_executions`` holds.

Statuses come from the same rows (the engine's final word on each stage, NOT_STARTED
included). A store without the tables has no edges to give: the stages its events name
are listed in one layer and the graph says the edges are unknown.
"""

from __future__ import annotations

from ..events.replay import EventReplayer
from ..events.store import AuditableStore
from ..runs.graph import Node, StageGraph, layered
from .runs import load_run


def stage_graph(store: AuditableStore, workflow_id: str) -> StageGraph:
    run = load_run(store, workflow_id)
    if run is not None and run.stages:  # else the stages the events name (damaged rows)
        nodes = [
            Node(s.ref_id or s.id, s.name, s.status, s.requires)
            for s in run.stages
            if s.parent_stage_id is None
        ]
        return layered(workflow_id, run.name, run.status, nodes)
    state = EventReplayer(store).rebuild_workflow_state(workflow_id)
    nodes = [
        Node(str(s.get("ref_id") or stage_id), s.get("name"), s.get("status"), ())
        for stage_id, s in state.get("stages", {}).items()
    ]
    graph = layered(workflow_id, state.get("name"), state.get("status"), nodes)
    return StageGraph(graph.workflow_id, graph.name, graph.status, graph.nodes, (), False)
