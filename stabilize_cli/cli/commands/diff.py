"""`stabilize diff WF SEQ1 SEQ2`: what changed in a workflow's state between two sequences."""

from typing import Annotated

import typer

from ...render.formats import Format
from ..errors import guarded
from ..options import DbOption, FormatOption, JsonFlag, WorkflowArg
from ..run import CommandRun

SequenceArg = Annotated[
    int, typer.Argument(help="A global sequence number (as timeline and history print them).")
]


@guarded
def diff(
    run: CommandRun,
    workflow: WorkflowArg,
    seq1: SequenceArg,
    seq2: SequenceArg,
    db: DbOption = "stabilize.db",
    fmt: FormatOption = Format.TABLE,
    json_flag: JsonFlag = False,
) -> None:
    """Show what changed in a workflow's state between sequence SEQ1 and SEQ2."""
    from ...queries.state import diff_states
    from ...queries.workflows import resolve_workflow
    from ...render.incomplete import mark_incomplete
    from ...render.output import write
    from ...render.state import diff_report

    chosen = run.output(fmt, json_flag)
    notes = run.read_notes()
    with run.open(db, notes=True) as store:
        result = diff_states(store, resolve_workflow(store, workflow), seq1, seq2)
    write(mark_incomplete(diff_report(result), notes.unreadable), chosen)
    run.conclude()
