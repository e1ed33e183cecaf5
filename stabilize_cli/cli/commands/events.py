"""`stabilize events`: a raw query over the store, or `--follow` it like `tail -f`."""

from typing import Annotated

import typer

from ...render.formats import Format
from ..completion import event_types, workflow_ids
from ..errors import guarded
from ..options import DbOption, FormatOption, JsonFlag, SinceOption, UntilOption
from ..run import CommandRun
from ..timeopts import as_utc
from .history import EntityKind


@guarded
def events(
    run: CommandRun,
    workflow: Annotated[
        str | None,
        typer.Option(
            "--workflow",
            "-w",
            help="Only this workflow: an id, a unique prefix, 'latest'.",
            autocompletion=workflow_ids,
        ),
    ] = None,
    event_type: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            "-t",
            help="Only this event type (repeatable), e.g. stage.failed.",
            autocompletion=event_types,
        ),
    ] = None,
    entity_type: Annotated[
        EntityKind | None,
        typer.Option("--entity-type", case_sensitive=False, help="Only this kind of entity."),
    ] = None,
    from_seq: Annotated[
        int | None, typer.Option("--from-seq", help="Only from this sequence on.")
    ] = None,
    to_seq: Annotated[
        int | None, typer.Option("--to-seq", help="Only up to this sequence.")
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[
        int, typer.Option("--limit", help="At most this many events (with --follow: backlog).")
    ] = 100,
    reverse: Annotated[bool, typer.Option("--reverse", help="Newest first.")] = False,
    follow: Annotated[
        bool,
        typer.Option("--follow", help="Print the last --limit events, then new ones until Ctrl-C."),
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", help="Seconds between polls with --follow.")
    ] = 1.0,
    db: DbOption = "stabilize.db",
    fmt: FormatOption = Format.TABLE,
    json_flag: JsonFlag = False,
) -> None:
    """Query events by workflow, type, entity type, sequence and time.

    JSON and NDJSON (streamed, one per line) carry events in the engine's Event form.

    A row that cannot be read is shown as stored: in JSON its columns plus
    "unreadable": {column, reason, raw}; in the table a summary saying why.

    --follow works like tail -f: the table becomes one plain line per event; not with json.
    """
    import sys
    import time

    from ...queries.errors import InvalidInputError
    from ...queries.events import EventFilter, follow_events, query_events
    from ...render.events import events_report, events_table, write_events, write_followed
    from ...render.sanitize import clean

    chosen = run.output(fmt, json_flag)
    if follow and chosen is Format.JSON:
        raise InvalidInputError("--follow writes a stream with no end: use --format ndjson")
    wanted = EventFilter(
        workflow=workflow,
        event_types=tuple(event_type or ()),
        entity_type=None if entity_type is None else entity_type.value,
        from_sequence=from_seq,
        to_sequence=to_seq,
        since=as_utc(since, "--since"),
        until=as_utc(until, "--until"),
        limit=limit,
        reverse=reverse,
    )
    with run.open(db, notes=True, consistent=not follow) as store:
        stream = query_events(store, wanted)
        if not follow:
            write_events(events_report(stream), stream.events, chosen, events_table(stream))
            sys.stdout.flush()  # a closed pipe ends here, silently, before any note
            if stream.full_page():
                order = "newest" if reverse else "first"
                sys.stderr.write(
                    f"showing the {order} {limit} matching events; more match "
                    "(--limit N, or --from-seq / --to-seq for the next page)\n"
                )
            run.conclude(shown_raw=True)
            return
        followed = follow_events(
            store,
            stream.query,
            interval=interval,
            sleep=time.sleep,
            stop=lambda: False,
            warn=lambda text: sys.stderr.write(f"warning: {clean(text)}\n"),
        )
        write_followed(followed, chosen)
    run.conclude(shown_raw=True)  # --to-seq reached
