"""`stabilize subscriptions`: durable subscriptions, their positions and lag."""

import typer

from ...render.formats import Format
from ..errors import guarded
from ..options import DbOption, FormatOption, JsonFlag, pick_format
from ..redact import current_redactor

app = typer.Typer(
    help="Durable subscriptions: position, lag, filters, webhook.", no_args_is_help=True
)


@app.command("list")
@guarded
def list_(
    db: DbOption = "stabilize.db",
    fmt: FormatOption = Format.TABLE,
    json_flag: JsonFlag = False,
) -> None:
    """List durable subscriptions: position, lag behind the store, filters, webhook (redacted)."""
    from ...queries.source import open_for_audit
    from ...queries.subscriptions import list_subscriptions
    from ...render.output import write
    from ...render.subscriptions import subscriptions_report

    chosen = pick_format(fmt, json_flag)
    with open_for_audit(db, current_redactor()) as store:
        result = list_subscriptions(store, current_redactor())
    write(subscriptions_report(result), chosen)
