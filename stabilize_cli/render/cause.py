"""A failure's real cause as a few inert lines: what failed, the exit code, the output's tail.

Shared by the timeline, failures and compare, so a cause reads the same everywhere.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from rich.tree import Tree

from ..runs.cause import TAIL_LINES, Cause, tail
from .sanitize import clean


def _inert(value: Any) -> str:
    return clean(value if isinstance(value, str) else str(value))


def cause_headline(cause: Cause) -> Text:
    """``cause (exit code 1): RuntimeError: ...``: the one line a reader needs first."""
    bits = []
    if cause.exit_code is not None:
        bits.append(f"exit code {_inert(cause.exit_code)}")
    code = cause.fields.get("error_code")
    if code is not None:
        bits.append(_inert(code))
    if cause.fields.get("transient") is True:
        bits.append("transient")
    label = f"cause ({', '.join(bits)}): " if bits else "cause: "
    return Text.assemble((label, "bold red"), (_inert(cause.summary), "red"))


def cause_details(cause: Cause, *, full: bool = False) -> list[Text]:
    """Below the headline: the message when it adds something, each output's tail
    (``full``: every line), and where the text was found."""
    lines: list[Text] = []
    stderr = cause.fields.get("stderr")
    message = cause.message
    repeats = isinstance(stderr, str) and stderr.strip()[:40] in str(message)
    if isinstance(message, str) and "\n" in message.strip() and not repeats:
        lines.append(_tail("message", message, full))
    for key in ("stderr", "stdout"):
        value = cause.fields.get(key)
        if isinstance(value, str) and value.strip():
            lines.append(_tail(key, value, full))
    if cause.fields.get("truncated") is True:
        lines.append(Text("the engine cut this output short (truncated)", style="dim"))
    lines.append(Text(f"from {cause.source}", style="dim"))
    return lines


def _tail(key: str, value: str, full: bool) -> Text:
    """A long text as its last lines, saying how many were left out."""
    shown = tail(value, None if full else TAIL_LINES)
    more = f" (last {len(shown.lines)} lines; {shown.left_out} more with --full)"
    return Text.assemble(
        (f"{key}{more if shown.left_out else ''}:\n", "dim"),
        clean("\n".join(shown.lines), multiline=True),
    )


def add_cause(parent: Tree, cause: Cause, *, full: bool = False, label: str | None = None) -> None:
    """The cause as a branch of ``parent``: its headline, the details below it."""
    head = cause_headline(cause)
    if label:
        head = Text.assemble((label + " ", "yellow"), head)
    node = parent.add(head)
    for line in cause_details(cause, full=full):
        node.add(line)
