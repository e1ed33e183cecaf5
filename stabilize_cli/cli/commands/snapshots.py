"""`stabilize snapshots`: list, show, verify (read-only); create and prune (they write)."""

from typing import Annotated

import typer

from ...render.formats import Format
from ..errors import guarded
from ..exit_codes import ExitCode
from ..options import DbOption, FormatOption, JsonFlag, TreeFormatOption, WorkflowArg
from ..run import CommandRun

app = typer.Typer(
    help="Snapshots of rebuilt workflow state: list, show, verify, create, prune.",
    no_args_is_help=True,
)


@app.command("list")
@guarded
def list_(
    run: CommandRun,
    workflow: Annotated[
        str | None,
        typer.Argument(help="Only this workflow (id, prefix, 'latest', 'latest-failed')."),
    ] = None,
    db: DbOption = "stabilize.db",
    fmt: FormatOption = Format.TABLE,
    json_flag: JsonFlag = False,
) -> None:
    """List snapshots, each checked against its state_hash."""
    from ...queries.snapshots import list_snapshots
    from ...render.output import write
    from ...render.snapshots import list_report

    chosen = run.output(fmt, json_flag)
    with run.open(db) as store:
        result = list_snapshots(store, workflow)
    write(list_report(result), chosen)


@app.command("show")
@guarded
def show(
    run: CommandRun,
    snapshot_id: Annotated[int, typer.Argument(help="Snapshot id (see 'snapshots list').")],
    db: DbOption = "stabilize.db",
    fmt: TreeFormatOption = Format.TABLE,
    json_flag: JsonFlag = False,
) -> None:
    """Show one snapshot: its metadata, its hash check and its state."""
    from ...queries.snapshots import show_snapshot
    from ...render.output import write
    from ...render.snapshots import detail_report

    chosen = run.output(fmt, json_flag)
    with run.open(db) as store:
        result = show_snapshot(store, snapshot_id, run.redactor)
    write(detail_report(result), chosen)


@app.command("verify")
@guarded
def verify(
    run: CommandRun,
    db: DbOption = "stabilize.db",
    fmt: FormatOption = Format.TABLE,
    json_flag: JsonFlag = False,
) -> None:
    """Check every snapshot's state_hash; exit 1 if any cannot be trusted."""
    from ...queries.snapshots import verify_snapshots
    from ...render.output import write
    from ...render.snapshots import audit_report

    chosen = run.output(fmt, json_flag)
    with run.open(db) as store:
        result = verify_snapshots(store)
    write(audit_report(result), chosen)
    if not result.ok:
        raise typer.Exit(int(ExitCode.FINDINGS))


@app.command("create")
@guarded
def create(
    run: CommandRun,
    workflow: WorkflowArg,
    at: Annotated[
        int | None,
        typer.Option("--at", help="As of this global sequence (default: the workflow's last)."),
    ] = None,
    db: DbOption = "stabilize.db",
    fmt: FormatOption = Format.TABLE,
    json_flag: JsonFlag = False,
) -> None:
    """Rebuild a workflow's state from its events and save it as a snapshot (writes)."""
    from ...queries.snapshots import create_snapshot
    from ...render.output import write
    from ...render.snapshots import created_message, created_report, say

    chosen = run.output(fmt, json_flag)
    with run.open_for_writing(db) as store:
        result = create_snapshot(store, workflow, at)
    say(created_message(result))
    write(created_report(result), chosen)


@app.command("prune")
@guarded
def prune(
    run: CommandRun,
    keep: Annotated[int, typer.Option("--keep", help="Snapshots to keep per entity, the newest.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what would be deleted.")
    ] = False,
    db: DbOption = "stabilize.db",
    fmt: FormatOption = Format.TABLE,
    json_flag: JsonFlag = False,
) -> None:
    """Delete all but the newest N snapshots of every entity (writes, unless --dry-run)."""
    from ...queries.snapshots import prune as prune_snapshots
    from ...render.output import write
    from ...render.snapshots import prune_messages, prune_report, say

    chosen = run.output(fmt, json_flag)
    opener = run.open if dry_run else run.open_for_writing
    with opener(db) as store:
        result = prune_snapshots(store, keep, dry_run=dry_run)
    for line in prune_messages(result):
        say(line)
    write(prune_report(result), chosen)
