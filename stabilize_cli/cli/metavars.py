"""Human placeholders in help (``WF``, ``SEQ``, ``TIME``, ``N``), never ``<bool>`` or
``<list[str]>``: set once, on every parameter of the command about to run or show help."""

from __future__ import annotations

from enum import Enum
from typing import Any

NAMED = {
    "--workflow": "WF",
    "--type": "TYPE",
    "--stage-type": "TYPE",
    "--app": "APP",
    "--status": "STATUS",
    "--name": "NAME",
    "--profile": "NAME",
    "--limit": "N",
    "--top": "N",
    "--keep": "N",
    "--from-seq": "SEQ",
    "--to-seq": "SEQ",
    "--at": "SEQ",
    "--interval": "SECONDS",
}
BY_TYPE = {int: "N", float: "NUMBER", str: "TEXT"}


def human_metavar(param: Any, annotation: Any) -> None:
    """Give ``param`` a placeholder people read: none for a flag, a name for a value."""
    if param.param_type_name == "argument":
        # Typer prints an argument's Python type (<str>) beside its name: the name says it.
        param.display_type_rich = _no_type
    if param.metavar is not None:
        return
    if getattr(param, "is_flag", False):
        param.metavar = ""
        return
    if param.param_type_name == "argument":
        param.metavar = str(param.name).upper()
        return
    long = next((o for o in param.opts if o.startswith("--")), "")
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        param.metavar = "|".join(str(choice.value) for choice in annotation)
    elif long in NAMED:
        param.metavar = NAMED[long]
    elif annotation in BY_TYPE or annotation == list[str]:
        param.metavar = BY_TYPE.get(annotation, long.lstrip("-").upper() or "TEXT")


def _no_type(ctx: Any) -> None:
    return None
