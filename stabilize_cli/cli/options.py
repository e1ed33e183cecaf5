"""Options every command shares, declared once so each signature shows its real parameters."""

from __future__ import annotations

from typing import Annotated

import typer

from ..render.formats import Format
from .completion import workflow_ids
from .timeopts import TIME_HELP, TIME_METAVAR

DEFAULT_DB = "stabilize.db"

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        metavar="DB",
        envvar="STABILIZE_DB",
        help="Event database, a path or sqlite:///path (default: $STABILIZE_DB or ./stabilize.db).",
        show_default=False,
    ),
]
FORMAT_NAMES = ("--output", "-o", "--format", "-f")
"""``-o/--output`` as kubectl, Temporal and Prefect spell it; ``--format``/``-f`` as this
tool always did. No command uses ``-f`` for anything else (``events --follow`` has no
short form), so scripts written with ``-f ndjson`` keep working."""
ROW_FORMATS_HELP = "Output format: table, json, ndjson, csv or markdown."
TREE_FORMATS_HELP = "Output format: table or json."
FormatOption = Annotated[
    Format,
    typer.Option(*FORMAT_NAMES, case_sensitive=False, metavar="FORMAT", help=ROW_FORMATS_HELP),
]
TreeFormatOption = Annotated[
    Format,
    typer.Option(*FORMAT_NAMES, case_sensitive=False, metavar="FORMAT", help=TREE_FORMATS_HELP),
]
"""For outputs that are a tree, not rows (timeline, state, diff, a snapshot)."""
JsonFlag = Annotated[bool, typer.Option("--json", help="Short for --output json.")]
WorkflowArg = Annotated[
    str,
    typer.Argument(
        metavar="WF",
        autocompletion=workflow_ids,
        help="Workflow id, a unique prefix of one, 'latest' or 'latest-failed'.",
        show_default=False,
    ),
]
SinceOption = Annotated[
    str | None,
    typer.Option("--since", metavar=TIME_METAVAR, help=f"Only from this time: {TIME_HELP}."),
]
UntilOption = Annotated[
    str | None,
    typer.Option("--until", metavar=TIME_METAVAR, help=f"Only up to this time: {TIME_HELP}."),
]
ExitStatusFlag = Annotated[
    bool,
    typer.Option(
        "--exit-status",
        help="Exit 1 when the workflow did not succeed, 8 while it is still running.",
    ),
]


def pick_format(fmt: Format, json_flag: bool) -> Format:
    """``--json`` is ``--format json``; asking for both json and something else is a mistake."""
    if not json_flag:
        return fmt
    if fmt not in (Format.TABLE, Format.JSON):
        raise typer.BadParameter(f"--json contradicts --format {fmt.value}", param_hint="--json")
    return Format.JSON
