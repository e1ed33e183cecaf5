"""`stabilize explore [WF]`: runs, a run's timeline, its events and state, failures and
metrics in one interactive terminal app (the optional ``tui`` extra, Textual)."""

import importlib.util
import sys
from typing import Annotated

import typer

from ..errors import fail, guarded
from ..exit_codes import ExitCode
from ..options import DbOption, SinceOption
from ..run import CommandRun
from ..timeopts import as_utc

INSTALL_HINT = (
    "stabilize explore needs the optional 'tui' extra (Textual): pip install 'stabilize-cli[tui]'"
)
NO_TERMINAL = (
    "stabilize explore needs a terminal (for scripts, the command line it shows under "
    "each view prints the same JSON)"
)


@guarded
def explore(
    run: CommandRun,
    workflow: Annotated[
        str | None,
        typer.Argument(
            help="Open this run first: an id, a unique prefix, 'latest' or 'latest-failed'.",
            show_default=False,
        ),
    ] = None,
    db: DbOption = "stabilize.db",
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="Runs screen: only these statuses (repeatable)."),
    ] = None,
    app: Annotated[str | None, typer.Option("--app", help="Runs screen: only this app.")] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Runs screen: only names containing this.")
    ] = None,
    since: SinceOption = None,
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="Runs screen: at most this many runs.")
    ] = 200,
) -> None:
    """Explore the store interactively: runs, timelines, events with the state at each,
    diffs between two marked points, failures and metrics (keys: ? for help)."""
    if importlib.util.find_spec("textual") is None:
        raise fail(INSTALL_HINT, ExitCode.USAGE, run)
    from ...audit.metrics_cache import MetricsCache
    from ...explore.source import RunFilter
    from ...queries.workflows import resolve_workflow
    from ..settings import cache_directory

    def metrics_cache() -> MetricsCache | None:
        directory = cache_directory()
        return None if directory is None else MetricsCache(directory)

    runs = RunFilter(
        statuses=frozenset(s.upper() for s in status or ()),
        application=app,
        name=name,
        since=as_utc(since, "--since"),
        limit=limit,
    )
    notes = run.read_notes()
    with run.open(db, notes=True) as store:
        chosen = resolve_workflow(store, workflow) if workflow is not None else None
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise fail(NO_TERMINAL, ExitCode.USAGE, run)
        from ...explore.app import run_explorer
        from ...explore.source import ExploreSource

        source = ExploreSource(
            store, run.redactor, db, notes=notes, runs=runs, metrics_cache=metrics_cache
        )
        run_explorer(source, chosen)
    run.conclude()
