"""A rebuilt state and a state diff as Rich trees; JSON is the query's own document.

Stages and tasks are labelled ``name (id)`` so a change reads as
``stages → Build (01M…) → ~ status: RUNNING → SUCCEEDED``.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from rich.tree import Tree

from ..queries.state import StateDiff, StateResult
from .cause import add_cause
from .console import Deferred
from .formats import Format
from .output import Report, dumps
from .sanitize import NULL_MARK, inert

ENTITY_KEYS = ("stages", "tasks")
WORKFLOW_FIELDS = ("status", "application", "name", "start_time", "end_time")
STATE_VALUE_LIMIT = 1000
DIFF_VALUE_LIMIT = 200
MARKS = {"added": ("+", "green"), "removed": ("-", "red"), "changed": ("~", "yellow")}
ELLIPSIS = "\u2026"
TREE_FORMATS = frozenset({Format.TABLE, Format.JSON})


def shown(value: Any, limit: int, *, ascii_only: bool = False) -> Text:
    """A value in one line: strings as they are, others as JSON, cut at ``limit`` characters."""
    if value is None:
        return Text(NULL_MARK, style="dim")
    if value == "":
        return Text('""', style="dim")
    text = inert(value) if isinstance(value, str) else dumps(value)  # JSON: ASCII, escaped
    if len(text) > limit:
        more = len(text) - limit
        cut = "..." if ascii_only else ELLIPSIS
        text = f"{text[:limit]}{cut} ({more} more characters)"
    return Text(text)


def key_text(key: Any) -> Text:
    return Text(inert(str(key)), style="bold")


def entity_label(kind: Any, entity_id: Any, *states: dict[str, Any]) -> Text:
    """``name (id)`` for a stage or task, its name taken from whichever state knows it."""
    name = None
    for state in states:
        entity = (state.get(kind) or {}).get(entity_id)
        if isinstance(entity, dict) and entity.get("name") is not None:
            name = entity["name"]
            break
    label = Text(inert(str(name)) if name is not None else NULL_MARK, style="bold")
    return label.append(f" ({inert(str(entity_id))})", style="dim")


def add_value(node: Tree, label: Text, value: Any) -> None:
    """A value under ``node``: objects and lists of objects branch, the rest is one line."""
    if isinstance(value, dict) and value:
        branch = node.add(label)
        for key, item in value.items():
            add_value(branch, key_text(key), item)
    elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        branch = node.add(label)
        for index, item in enumerate(value):
            add_value(branch, Text(f"[{index}]", style="bold"), item)
    else:
        node.add(Text.assemble(label, ": ", shown(value, STATE_VALUE_LIMIT)))


def state_header(result: StateResult) -> Text:
    header = Text(inert(result.workflow_id), style="bold")
    if result.as_of_sequence is not None:
        header.append(f"  as of sequence {result.as_of_sequence}")
    elif result.as_of_time is not None:
        header.append(f"  as of {result.as_of_time.isoformat()}")
    return header


def state_view(result: StateResult) -> Tree:
    state = result.state
    tree = Tree(state_header(result), guide_style="dim")
    for key in WORKFLOW_FIELDS:
        add_value(tree, key_text(key), state.get(key))
    add_value(tree, key_text("context"), state.get("context"))
    for kind in ENTITY_KEYS:
        entities = state.get(kind) or {}
        branch = tree.add(Text.assemble(key_text(kind), f" ({len(entities)})"))
        for entity_id, entity in entities.items():
            fields = {k: v for k, v in entity.items() if k not in ("id", "name")}
            label = entity_label(kind, entity_id, state)
            add_value(branch, label, fields) if fields else branch.add(label)
            cause = result.causes.get(entity_id) if kind == "stages" else None
            if cause is not None:
                add_cause(branch.add(Text.assemble("real cause of ", label)), cause)
    for key, value in state.items():
        if key not in (*WORKFLOW_FIELDS, "workflow_id", "context", *ENTITY_KEYS):
            add_value(tree, key_text(key), value)
    return tree


def state_report(result: StateResult) -> Report:
    return Report(document=result.to_json, view=lambda: state_view(result), formats=TREE_FORMATS)


def diff_header(result: StateDiff, arrow: str) -> Text:
    count = len(result.changes)
    return Text.assemble(
        (inert(result.workflow_id), "bold"),
        f"  sequence {result.from_sequence} {arrow} {result.to_sequence}  ",
        f"{count} change{'' if count == 1 else 's'}",
    )


def path_label(path: tuple[Any, ...], result: StateDiff) -> Text:
    """The last key of ``path``; a stage or task id reads as ``name (id)``."""
    if len(path) == 2 and path[0] in ENTITY_KEYS:
        return entity_label(path[0], path[1], result.after, result.before)
    return key_text(path[-1]) if path else Text("(whole state)", style="bold")


def change_line(change: dict[str, Any], label: Text, ascii_only: bool) -> Text:
    mark, style = MARKS.get(change["op"], ("?", ""))
    line = Text.assemble((mark, f"bold {style}"), " ", label, ": ")
    before = shown(change["before"], DIFF_VALUE_LIMIT, ascii_only=ascii_only)
    after = shown(change["after"], DIFF_VALUE_LIMIT, ascii_only=ascii_only)
    if change["op"] == "added":
        return line.append_text(after)
    if change["op"] == "removed":
        return line.append_text(before)
    return line.append_text(before).append(" -> " if ascii_only else " \u2192 ").append_text(after)


def diff_view(result: StateDiff, ascii_only: bool = False) -> Tree:
    tree = Tree(diff_header(result, "->" if ascii_only else "\u2192"), guide_style="dim")
    if not result.changes:
        tree.add(Text("no changes", style="dim"))
    groups: dict[tuple[Any, ...], Tree] = {(): tree}
    for change in result.changes:
        path = tuple(change["path"])
        parent = _group(groups, path[:-1], result)
        add_change(parent, change, path_label(path, result), ascii_only)
    return tree


def add_change(parent: Tree, change: dict[str, Any], label: Text, ascii_only: bool) -> None:
    """One change; an added or removed object (a whole stage) is spread one key per line."""
    op = change["op"]
    value = change["after"] if op == "added" else change["before"]
    if op == "changed" or not isinstance(value, dict) or not value:
        parent.add(change_line(change, label, ascii_only))
        return
    mark, style = MARKS[op]
    node = parent.add(Text.assemble((mark, f"bold {style}"), " ", label))
    for key, item in value.items():
        part = {"op": op, "before": item, "after": item}
        node.add(change_line(part, key_text(key), ascii_only))


def _group(groups: dict[tuple[Any, ...], Tree], path: tuple[Any, ...], result: StateDiff) -> Tree:
    """The node for ``path``, made (with its parents) on first use."""
    if path not in groups:
        parent = _group(groups, path[:-1], result)
        groups[path] = parent.add(path_label(path, result))
    return groups[path]


def diff_report(result: StateDiff) -> Report:
    return Report(
        document=result.to_json,
        view=lambda: Deferred(lambda options: diff_view(result, options.ascii_only)),
        formats=TREE_FORMATS,
    )
