"""`stabilize subscriptions`: durable subscriptions, their positions and lag."""

import typer

from ...render.formats import Format
from ..errors import guarded
from ..options import DbOption, FormatOption, JsonFlag
from ..run import CommandRun

app = typer.Typer(
    help="Durable subscriptions: position, lag, filters, webhook.", no_args_is_help=True
)


@app.command("list")
@guarded
def list_(
    run: CommandRun,
    db: DbOption = "stabilize.db",
    fmt: FormatOption = Format.TABLE,
    json_flag: JsonFlag = False,
) -> None:
    """List durable subscriptions: position, lag behind the store, filters, webhook (redacted)."""
    from ...queries.subscriptions import list_subscriptions
    from ...render.output import write
    from ...render.subscriptions import subscriptions_report

    chosen = run.output(fmt, json_flag)
    with run.open(db) as store:
        result = list_subscriptions(store, run.redactor)
    write(subscriptions_report(result), chosen)
