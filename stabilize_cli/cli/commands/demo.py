"""`stabilize demo`: write a realistic demo database, so a newcomer can try every command."""

import shlex
import sys
from typing import Annotated

import typer

from ...render.sanitize import clean
from ..errors import fail, guarded
from ..exit_codes import ExitCode
from ..run import CommandRun

DEFAULT_PATH = "stabilize-demo.db"
DEFAULT_SEED = 2026
"""The library's ``demo.DEFAULT_SEED``, repeated so that Tab completion imports no library."""


@guarded
def demo(
    run: CommandRun,
    path: Annotated[
        str,
        typer.Argument(
            metavar="PATH",
            help="Where to write the database: a path, sqlite:///path, or an empty "
            "PostgreSQL database (postgresql://..., postgres://... or key=value).",
        ),
    ] = DEFAULT_PATH,
    seed: Annotated[
        int,
        typer.Option(
            "--seed", help="Seed for durations, outcomes and ids; same seed, same events."
        ),
    ] = DEFAULT_SEED,
    force: Annotated[
        bool, typer.Option("--force", help="Replace PATH if it exists (atomically).")
    ] = False,
) -> None:
    """Write a demo event store: deploys, a DAG, a fan-out, failures, retries, a skip,
    a pause and a cancel, across four applications over a few simulated hours.

    Exit 2 if PATH exists (without --force), 3 if it cannot be written.
    """
    from ...demo import DemoTargetNotEmptyError, demo_path, shown_target, write_demo

    target = demo_path(path)
    try:
        summary = write_demo(path, seed, overwrite=force)
    except DemoTargetNotEmptyError as error:
        raise fail(str(error), ExitCode.USAGE, run) from None
    except FileExistsError:
        raise fail(
            f"{path} already exists; use --force to replace it", ExitCode.USAGE, run
        ) from None
    except OSError as error:
        reason = error.strerror or str(error)
        if error.filename is not None and str(error.filename) != str(target):
            reason += f": {error.filename}"
        raise fail(f"cannot write {path}: {reason}", ExitCode.CANNOT_OPEN, run) from None
    sys.stderr.write(
        clean(
            f"wrote {summary.events} events, {summary.workflows} workflows to "
            f"{shown_target(path)}; try: stabilize timeline latest-failed --db "
            f"{shlex.quote(shown_target(path))}"
        )
        + "\n"
    )
