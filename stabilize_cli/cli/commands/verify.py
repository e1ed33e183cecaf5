"""`stabilize verify`: an integrity audit of the event store."""

from typing import Annotated

import typer

from ...render.formats import Format
from ..errors import fail, guarded
from ..exit_codes import ExitCode
from ..options import DbOption, FormatOption, JsonFlag
from ..run import CommandRun


@guarded
def verify(
    run: CommandRun,
    full: Annotated[
        bool,
        typer.Option("--full", help="Run SQLite's full integrity_check (default: quick_check)."),
    ] = False,
    tolerance: Annotated[
        float,
        typer.Option(
            "--tolerance",
            help="Seconds a timestamp may run backwards against sequence before it is reported.",
        ),
    ] = 5.0,
    db: DbOption = "stabilize.db",
    fmt: FormatOption = Format.TABLE,
    json_flag: JsonFlag = False,
) -> None:
    """Audit the store's integrity; exit 1 if any finding is an error, 4 if it is corrupt."""
    from datetime import timedelta

    from ...queries.verify import VerifyOptions, verify_store
    from ...render.output import write
    from ...render.verify import verify_report

    chosen = run.output(fmt, json_flag)
    if not 0 <= tolerance < 10**9:
        raise fail(
            f"--tolerance must be a number of seconds >= 0 (got {tolerance})", ExitCode.USAGE, run
        )
    options = VerifyOptions(full=full, tolerance=timedelta(seconds=tolerance))
    with run.open(db) as store:
        audit = verify_store(store, options)
    write(verify_report(audit), chosen)
    if audit.incomplete:
        raise fail("the database is corrupt: the audit above is incomplete", ExitCode.CORRUPT, run)
    if audit.has_errors:
        raise typer.Exit(int(ExitCode.FINDINGS))
