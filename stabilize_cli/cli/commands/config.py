"""`stabilize config show`: the settings a run would use, and where each came from."""

import typer

from ...render.formats import Format
from ..errors import guarded
from ..options import DbOption, FormatOption, JsonFlag
from ..run import CommandRun

app = typer.Typer(help="The settings in use: config file, profile, database.", no_args_is_help=True)


@app.command("show")
@guarded
def show(
    run: CommandRun,
    db: DbOption = "stabilize.db",
    fmt: FormatOption = Format.TABLE,
    json_flag: JsonFlag = False,
) -> None:
    """Show the resolved settings (config file, profile, database, output, defaults, cache)
    and where each came from; passwords are shown as ***."""
    from ...render.output import Column, Report, write
    from ..profiles import HIDDEN
    from ..settings import busy_timeout, cache_directory

    chosen = run.output(fmt, json_flag)
    profile = run.profile
    rows: list[dict[str, object]] = []

    def add(setting: str, value: object, origin: str) -> None:
        rows.append({"setting": setting, "value": value, "from": origin})

    if profile is not None:
        state = "exists" if profile.path.is_file() else "absent"
        add("config_file", str(profile.path), state)
        add("profile", profile.name, profile.source)
    origin = run.source_of("db")
    shown_db = run.redact(db)
    if origin == "profile" and profile is not None:
        shown_db = profile.db(shown=True) or shown_db
    add("db", shown_db, origin)
    if profile is not None and profile.password_env:
        import os

        present = "set" if profile.password_env in os.environ else "not set"
        add("password", f"{HIDDEN} from ${profile.password_env} ({present})", "profile")
    add("output", chosen.value, run.source_of("fmt"))
    if profile is not None:
        for key, value in dict(profile.settings.get("defaults", {})).items():
            add(f"defaults.{key}", value, "profile")
    add("cache_dir", str(cache_directory() or "none"), "environment or platform")
    add("busy_timeout", busy_timeout(), "environment or default")
    add("redaction", "on" if run.redactor.enabled else "off", "--no-redact or default")
    columns = (Column("setting", "SETTING"), Column("value", "VALUE"), Column("from", "FROM"))
    document = {row["setting"]: row["value"] for row in rows}
    write(Report(document=lambda: document, columns=columns, records=lambda: rows), chosen)
