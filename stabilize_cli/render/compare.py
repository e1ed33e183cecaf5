"""Two runs compared: a tree like ``diff`` in the terminal, JSON, or Markdown for a PR
comment. B is "before", A "after"; every value from the database is inert and redacted
(it was read through the redacting store)."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Any

from rich.text import Text
from rich.tree import Tree

from ..runs.cause import TAIL_LINES, tail
from ..runs.compare import Change, Comparison, Duration, StageChange
from .cause import add_cause
from .console import make_console
from .output import write_json
from .sanitize import clean
from .timeline import plain, seconds, status_style

SHOWN_VALUE = 80
"""Characters of a changed value shown in the tree (JSON has them whole)."""


class CompareFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"


def short(value: Any) -> str:
    text = plain(value)
    return text if len(text) <= SHOWN_VALUE else text[: SHOWN_VALUE - 1] + "\u2026"


def duration_text(duration: Duration) -> str:
    """``0.20s → 0.22s (+20ms, +10.0%)``; one side alone when the other is unknown."""
    before, after = duration.before, duration.after
    if before is None and after is None:
        return ""
    if before is None or after is None:
        shown = [None if v is None else seconds(v) for v in (before, after)]
        return " \u2192 ".join(v or "\u2013" for v in shown)
    delta, percent = duration.delta_ms, duration.percent
    sign = "+" if (delta or 0) >= 0 else "-"
    pct = "" if percent is None else f", {percent:+.1f}%"
    return f"{seconds(before)} \u2192 {seconds(after)} ({sign}{seconds(abs(delta or 0))}{pct})"


def status_text(before: Any, after: Any) -> Text:
    if before == after:
        return Text(plain(after), style=status_style(after))
    return Text.assemble(
        (plain(before), status_style(before)), " \u2192 ", (plain(after), status_style(after))
    )


def change_line(change: Change) -> Text:
    path = ".".join(plain(p) for p in change.path)
    if change.op == "added":
        return Text.assemble(("+ ", "green"), f"{path}: {short(change.after)}")
    if change.op == "removed":
        return Text.assemble(("- ", "red"), f"{path}: {short(change.before)}")
    return Text.assemble(
        ("~ ", "yellow"), f"{path}: {short(change.before)} \u2192 {short(change.after)}"
    )


def _stage_label(stage: StageChange) -> Text:
    mark = {"added": ("+ ", "green"), "missing": ("- ", "red")}.get(stage.presence, ("", ""))
    label = Text.assemble(mark, (plain(stage.ref_id), "bold"), "  ", plain(stage.name), "  ")
    label.append_text(status_text(*stage.status))
    timing = duration_text(stage.duration)
    if timing:
        label.append(f"  {timing}")
    if stage.presence == "added":
        label.append("  only in A", style="dim")
    elif stage.presence == "missing":
        label.append("  only in B", style="dim")
    if stage.new_failure:
        label.append("  NEW FAILURE", style="bold red")
    return label


def compare_view(result: Comparison, *, full: bool = False, all_stages: bool = False) -> Tree:
    a, b = result.after, result.before
    title = Text.assemble(
        ("A ", "bold"),
        (clean(a.workflow_id), "bold"),
        "  ",
        status_text(a.status, a.status),
        ("  vs  B ", "bold"),
        (clean(b.workflow_id), "bold"),
        "  ",
        status_text(b.status, b.status),
        f"  {plain(a.name)}  ",
        (plain(a.application), "dim"),
    )
    timing = duration_text(result.duration)
    if timing:
        title.append(f"\ntotal {timing}  (B \u2192 A)")
    tree = Tree(title, guide_style="dim")
    for note in result.notes:
        tree.add(Text(note, style="yellow"))
    if result.context:
        context = tree.add(Text("trigger and context", style="bold"))
        for change in result.context:
            context.add(change_line(change))
    else:
        tree.add(Text("trigger and context: the same", style="dim"))
    stages = tree.add(Text("stages", style="bold"))
    for stage in result.stages:
        if not (all_stages or stage.changed or stage.new_failure):
            continue
        node = stages.add(_stage_label(stage))
        if stage.new_failure and stage.cause is not None:
            add_cause(node, stage.cause, full=full)
        elif stage.new_failure and stage.error is not None:
            node.add(Text.assemble(("error: ", "bold red"), (plain(stage.error), "red")))
        for task in stage.tasks:
            if task.presence == "both" and task.status[0] == task.status[1] and not all_stages:
                continue
            line = Text.assemble(plain(task.name), "  ")
            line.append_text(status_text(*task.status))
            timing = duration_text(task.duration)
            if timing:
                line.append(f"  {timing}")
            node.add(line)
        if stage.outputs:
            outputs = node.add(Text("outputs", style="dim"))
            for change in stage.outputs:
                outputs.add(change_line(change))
    unchanged = sum(1 for s in result.stages if not s.changed and not s.new_failure)
    if unchanged and not all_stages:
        noun = "stage" if unchanged == 1 else "stages"
        stages.add(Text(f"{unchanged} {noun} with the same status (--all lists them)", style="dim"))
    return tree


# -- Markdown ------------------------------------------------------------------------------

_MD_SPECIAL = "\\`*_[]|~"


def md(value: Any) -> str:
    """Database text as literal Markdown: specials escaped, HTML inert, one line."""
    text = plain(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in text)


def fenced(text: str) -> str:
    longest = max((len(run) for run in text.split("\n") for run in _backtick_runs(run)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _backtick_runs(line: str) -> list[str]:
    runs, current = [], ""
    for ch in line:
        if ch == "`":
            current += ch
        elif current:
            runs.append(current)
            current = ""
    return [*runs, current] if current else runs


def compare_markdown(result: Comparison, *, full: bool = False) -> str:
    a, b = result.after, result.before
    out = [
        f"### {md(a.name)} ({md(a.application)}): A {md(a.workflow_id)} "
        f"{md(a.status)} vs B {md(b.workflow_id)} {md(b.status)}",
        "",
    ]
    if result.duration.before is not None:
        out += [f"Total: {md(duration_text(result.duration))}", ""]
    out += [f"> {md(note)}" for note in result.notes]
    if result.context:
        out += ["| trigger / context | B | A |", "| --- | --- | --- |"]
        out += [
            f"| {md('.'.join(c.path))} | {md(short(c.before))} | {md(short(c.after))} |"
            for c in result.context
        ]
        out.append("")
    out += ["| stage | status B → A | duration B → A | |", "| --- | --- | --- | --- |"]
    for stage in result.stages:
        flag = (
            "**new failure**"
            if stage.new_failure
            else stage.presence
            if stage.presence != "both"
            else ""
        )
        statuses = f"{md(stage.status[0])} → {md(stage.status[1])}"
        out.append(
            f"| {md(stage.ref_id)} {md(stage.name)} | {statuses} "
            f"| {md(duration_text(stage.duration))} | {flag} |"
        )
    for stage in result.new_failures:
        out += ["", f"#### New failure: {md(stage.ref_id)} {md(stage.name)}"]
        cause = stage.cause
        if cause is None:
            out.append(md(stage.error))
            continue
        out.append(f"{md(cause.summary)} (from `{cause.source}`)")
        for key in ("stderr", "stdout"):
            value = cause.fields.get(key)
            if isinstance(value, str) and value.strip():
                shown = tail(value, None if full else TAIL_LINES)
                more = f" (last {len(shown.lines)} lines)" if shown.left_out else ""
                out += ["", f"{key}{more}:", fenced(clean("\n".join(shown.lines), multiline=True))]
    return "\n".join(out) + "\n"


def write_comparison(
    result: Comparison,
    fmt: CompareFormat,
    *,
    full: bool = False,
    all_stages: bool = False,
    left_out: tuple[dict[str, Any], str] | None = None,
) -> None:
    """``left_out``: the incomplete mark and its line (``render.incomplete.left_out_of``)."""
    if fmt is CompareFormat.JSON:
        write_json({**result.to_json(), **({} if left_out is None else left_out[0])})
    elif fmt is CompareFormat.MARKDOWN:
        sys.stdout.write(compare_markdown(result, full=full))
        if left_out is not None:
            sys.stdout.write(f"\n**INCOMPLETE**: {md(left_out[1])}\n")
    else:
        console = make_console()
        console.print(compare_view(result, full=full, all_stages=all_stages))
        if left_out is not None:
            console.print(Text(f"INCOMPLETE: {clean(left_out[1])}", style="bold"))
