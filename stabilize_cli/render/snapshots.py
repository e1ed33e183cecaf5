"""Snapshot reports: the list, one snapshot as a tree, the hash audit, create and prune."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text
from rich.tree import Tree

from ..queries.snapshots import (
    CreatedSnapshot,
    PruneResult,
    SnapshotAudit,
    SnapshotDetail,
    SnapshotList,
)
from .formats import Format
from .output import Column, Report, rows_table
from .safe import safe_text
from .sanitize import clean, display

HASH_SHOWN = 8
EMPTY_SHOWN = {"str": '""', "dict": "{}", "list": "[]"}

SNAPSHOT_COLUMNS = (
    Column("id", "ID", numeric=True),
    Column("entity_type", "TYPE"),
    Column("entity_id", "ENTITY"),
    Column("workflow_id", "WORKFLOW"),
    Column("version", "VER", numeric=True),
    Column("sequence", "SEQ", numeric=True),
    Column("created_at", "CREATED"),
    Column("state_hash", "HASH"),
    Column("ok", "OK"),
    Column("problem", "PROBLEM"),
)
PRUNED_COLUMNS = (
    Column("id", "ID", numeric=True),
    Column("entity_type", "TYPE"),
    Column("entity_id", "ENTITY"),
    Column("workflow_id", "WORKFLOW"),
    Column("version", "VER", numeric=True),
    Column("sequence", "SEQ", numeric=True),
)
AUDIT_VIEW_COLUMNS = tuple(
    c for c in SNAPSHOT_COLUMNS if c.key not in ("workflow_id", "created_at", "ok")
)
CREATED_COLUMNS = (*PRUNED_COLUMNS, Column("state_hash", "HASH"), Column("replaced", "REPLACED"))


def _for_table(records: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    """The table fits ids uncut: a hash prefix (enough to tell rows apart), UTC as 'Z'."""
    for record in records:
        shown = dict(record)
        if isinstance(shown.get("state_hash"), str):
            shown["state_hash"] = shown["state_hash"][:HASH_SHOWN]
        created = shown.get("created_at")
        if isinstance(created, str) and created.endswith("+00:00"):
            shown["created_at"] = created.removesuffix("+00:00") + "Z"
        if "ok" in shown:
            shown["ok"] = "ok" if shown["ok"] else "BAD"
        yield shown


def _table_view(columns: tuple[Column, ...], records: Iterable[dict[str, Any]]) -> RenderableType:
    return rows_table(columns, _for_table(records))


def list_report(result: SnapshotList) -> Report:
    return Report(
        document=lambda: list(result.records()),
        columns=SNAPSHOT_COLUMNS,
        records=result.records,
        view=lambda: _table_view(SNAPSHOT_COLUMNS[:-1], result.records()),
    )


def audit_report(result: SnapshotAudit) -> Report:
    def view() -> RenderableType:
        summary = f"{result.checked} snapshots checked: " + (
            "all sound" if result.ok else f"{len(result.problems)} cannot be trusted"
        )
        if result.ok:
            return Text(summary)
        return Group(_table_view(AUDIT_VIEW_COLUMNS, result.records()), Text(""), Text(summary))

    return Report(
        document=result.to_json, columns=SNAPSHOT_COLUMNS, records=result.records, view=view
    )


def created_report(result: CreatedSnapshot) -> Report:
    return Report(
        document=result.to_json,
        columns=CREATED_COLUMNS,
        records=lambda: [result.to_json()],
        view=lambda: _table_view(CREATED_COLUMNS, [result.to_json()]),
    )


def prune_report(result: PruneResult) -> Report:
    return Report(document=result.to_json, columns=PRUNED_COLUMNS, records=result.records)


def detail_report(result: SnapshotDetail) -> Report:
    return Report(
        document=result.to_json,
        view=lambda: detail_tree(result),
        formats=frozenset({Format.TABLE, Format.JSON}),
    )


def detail_tree(result: SnapshotDetail) -> Tree:
    info = result.info
    tree = Tree(Text(f"snapshot {info.id}", style="bold"))
    for key, value in info.to_json().items():
        if key not in ("id", "problem"):
            tree.add(_leaf(key, value))
    if info.problem is not None:
        tree.add(_leaf("problem", info.problem))
    if result.state_raw is not None:
        tree.add(Text.assemble("state (not JSON, as stored): ", safe_text(result.state_raw)))
    else:
        value_tree(tree.add(Text("state", style="bold")), result.state)
    return tree


def value_tree(node: Tree, value: Any) -> None:
    """Nested objects and lists as branches; every key and value made terminal-safe."""
    items: Iterable[tuple[str, Any]]
    if isinstance(value, dict):
        items = ((str(k), v) for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"[{i}]", v) for i, v in enumerate(value))
    else:
        node.add(safe_text(value))
        return
    for key, child in items:
        if isinstance(child, dict | list) and child:
            value_tree(node.add(safe_text(key)), child)
        else:
            node.add(_leaf(key, child))


def _leaf(key: str, value: Any) -> Text:
    shown = _empty(value) or display(value)
    return Text.assemble(safe_text(key), ": ", safe_text(shown))


def _empty(value: Any) -> str | None:
    """How an empty string, object or list reads (a bare blank would look like a gap)."""
    if isinstance(value, str | dict | list) and not value:
        return EMPTY_SHOWN[type(value).__name__]
    return None


def say(message: str) -> None:
    """A note for the user on stderr (what a writing command changed), never on stdout."""
    sys.stderr.write(clean(message) + "\n")


def prune_messages(result: PruneResult) -> list[str]:
    verb = "would delete" if result.dry_run else "deleted"
    lines = [
        f"{verb} {n} snapshot{'s' if n != 1 else ''} of {kind} {entity} (keeping {result.keep})"
        for kind, entity, n in result.per_entity()
    ]
    return lines or [f"nothing to prune: no entity has more than {result.keep} snapshots"]


def created_message(result: CreatedSnapshot) -> str:
    verb = "replaced" if result.replaced else "created"
    return f"{verb} snapshot {result.id} of {result.workflow_id} at sequence {result.sequence}"
