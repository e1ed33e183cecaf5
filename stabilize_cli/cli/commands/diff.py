"""`stabilize diff WF SEQ1 SEQ2`: what changed in a workflow's state between two sequences."""

from typing import Annotated, Any

import typer

from ...render.formats import Format
from ..errors import guarded
from ..options import DbOption, JsonFlag, TreeFormatOption, WorkflowArg
from ..run import CommandRun
from ..timeopts import TIME_HELP, as_utc


def _point(name: str) -> Any:
    return typer.Argument(
        metavar=name,
        help="A global sequence number (as timeline and history print them), or a time: "
        f"{TIME_HELP} (the workflow's last event by then).",
        show_default=False,
    )


@guarded
def diff(
    run: CommandRun,
    workflow: WorkflowArg,
    seq1: Annotated[str, _point("SEQ1")],
    seq2: Annotated[str, _point("SEQ2")],
    db: DbOption = "stabilize.db",
    fmt: TreeFormatOption = Format.TABLE,
    json_flag: JsonFlag = False,
) -> None:
    """Show what changed in a workflow's state between SEQ1 and SEQ2 (sequences or times)."""
    from ...queries.state import diff_states, sequence_at
    from ...queries.workflows import resolve_workflow
    from ...render.incomplete import mark_incomplete
    from ...render.output import write
    from ...render.state import diff_report

    chosen = run.output(fmt, json_flag)
    notes = run.read_notes()
    with run.open(db, notes=True) as store:
        workflow_id = resolve_workflow(store, workflow)

        def point(text: str, what: str) -> int:
            """A sequence as typed, or the workflow's last one at a time."""
            if text.strip().lstrip("-").isdigit():
                return int(text)
            when = as_utc(text, what=what)
            assert when is not None
            return sequence_at(store, workflow_id, when)

        result = diff_states(store, workflow_id, point(seq1, "SEQ1"), point(seq2, "SEQ2"))
    write(mark_incomplete(diff_report(result), notes), chosen)
    run.conclude()
