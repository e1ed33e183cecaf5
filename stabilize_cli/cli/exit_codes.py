"""Exit codes: one table, shown in ``--help`` and the README (reliability-matrix.md)."""

from __future__ import annotations

from enum import IntEnum
from typing import NoReturn

import typer


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1
    USAGE = 2
    CANNOT_OPEN = 3
    CORRUPT = 4
    BUSY = 5
    NOT_FOUND = 6
    OUTPUT = 7
    RUNNING = 8
    INTERNAL = 70
    INTERRUPTED = 130
    BROKEN_PIPE = 141


MEANINGS = {
    ExitCode.OK: "ok, including an empty result",
    ExitCode.FINDINGS: "findings (verify), or --exit-status and the workflow did not succeed",
    ExitCode.USAGE: "usage: bad option or argument values, reversed or negative ranges",
    ExitCode.CANNOT_OPEN: "cannot open: missing, directory, not SQLite, not an event store",
    ExitCode.CORRUPT: "the database is corrupt or a row cannot be read",
    ExitCode.BUSY: "busy: still locked after the busy timeout (retry)",
    ExitCode.NOT_FOUND: "no such workflow, entity, event or snapshot",
    ExitCode.OUTPUT: "cannot write: output closed, disk full or an I/O error",
    ExitCode.RUNNING: "--exit-status and the workflow is still running",
    ExitCode.INTERNAL: "internal error (a bug): STABILIZE_DEBUG=1 shows the traceback",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
    ExitCode.BROKEN_PIPE: "broken pipe (output closed early): silent",
}


def help_table() -> str:
    """The table as help text (Typer's rich help keeps the line breaks)."""
    return "\n".join(f"{int(code):>3}  {text}" for code, text in MEANINGS.items())


def exit_with_outcome(outcome: str) -> NoReturn:
    """``--exit-status``: 0 succeeded, 1 ended otherwise, 8 still running (output already out)."""
    codes = {"succeeded": ExitCode.OK, "failed": ExitCode.FINDINGS}
    raise typer.Exit(int(codes.get(outcome, ExitCode.RUNNING)))
