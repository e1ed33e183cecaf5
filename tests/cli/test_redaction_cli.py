"""Redaction end to end: on by default in every command and format, `--no-redact` explicit.

A small store holds one workflow whose payloads carry every kind of secret the matrix
(RD) names, in every place a command shows data; the engine's own databases hold none,
so redaction must change nothing in their output.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli.cli.run import open_for_audit
from stabilize_cli.events.base import EntityType, Event, EventMetadata, EventType
from stabilize_cli.events.replay import EventReplayer
from stabilize_cli.events.store.sqlite import SqliteEventStore
from stabilize_cli.redaction import Redactor

from ..conftest import ENGINE_STATUSES, FIXTURES, REAL_DB
from .conftest import Invoke, run_process

WF = "01JB0000000000000000000001"
OTHER = "01JB0000000000000000000002"
STAGE = "01JB00000000000000000000S1"
TASK = "01JB00000000000000000000T1"
T0 = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)

DECLARED = "Hunter2Hunter2"
GITHUB = "ghp_" + "Zq9XwV8uT7sR6pQ5oN4m" * 2
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhcHAifQ.SjwtSigPart42xyz"
SECRETS = {
    "declared": DECLARED,
    "dsn password": "PgPass99xx",
    "query token": "QueryTok77",
    "bearer": "BearerTok123xyz",
    "github": GITHUB[4:],
    "jwt": JWT,
    "aws": "IOSFODNN7EXAMPLE",
    "api key": "ApiKey555x",
    "slack": "1234567890-SlackBody99",
    "pem body": "MIIEpAIBAAKCAQEAzPemBody",
    "name password": "NamePass44",
    "snapshot": "SnapOnly7788",
    "webhook password": "SubPass77x",
    "webhook signature": "SigVal88xx",
    "filter token": "FilterTok66",
}
"""The secret part of each secret: none may appear in redacted output, whole or cut."""
PEM = f"-----BEGIN PRIVATE KEY-----\n{SECRETS['pem body']}\n-----END PRIVATE KEY-----"
KEPT = ("author-ann", "monkey-george", "keyboard-us")
"""Values under keys that only look like secret names: they must stay."""


def event(kind: EventType, entity: EntityType, entity_id: str, at: int, **data: Any) -> Event:
    return Event(
        event_type=kind,
        timestamp=T0 + timedelta(seconds=at),
        entity_type=entity,
        entity_id=entity_id,
        workflow_id=WF,
        version=1,
        data=data,
        metadata=EventMetadata(correlation_id=WF),
    )


def secret_workflow() -> list[Event]:
    wf, stage, task = EntityType.WORKFLOW, EntityType.STAGE, EntityType.TASK
    return [
        event(
            EventType.WORKFLOW_CREATED,
            wf,
            WF,
            0,
            application="payments",
            name=f"deploy via postgres://u:{SECRETS['name password']}@db",
        ),
        event(
            EventType.WORKFLOW_STARTED,
            wf,
            WF,
            1,
            context={
                "secrets": ["db_login"],
                "db_login": DECLARED,
                "database": f"postgres://app:{SECRETS['dsn password']}@db.internal/pay",
                "author": KEPT[0],
                "monkey": KEPT[1],
                "keyboard": KEPT[2],
                "deep": [[[{"api_key": SECRETS["api key"]}]]],
            },
        ),
        event(EventType.STAGE_STARTED, stage, STAGE, 2, ref_id="d", type="deploy", name="Deploy"),
        event(EventType.TASK_STARTED, task, TASK, 3, name="Push", stage_id=STAGE),
        event(
            EventType.TASK_FAILED,
            task,
            TASK,
            4,
            name="Push",
            status="TERMINAL",
            error=(
                f"login as app/{DECLARED} refused by "
                f"https://api.example/v1?token={SECRETS['query token']}&page=2; "
                f"Authorization: Bearer {SECRETS['bearer']}"
            ),
        ),
        event(
            EventType.STAGE_FAILED,
            stage,
            STAGE,
            5,
            ref_id="d",
            type="deploy",
            name="Deploy",
            status="TERMINAL",
            error=f"push with {GITHUB} denied; jwt {JWT}; key AKIA{SECRETS['aws']}",
        ),
        event(
            EventType.CONTEXT_UPDATED,
            wf,
            WF,
            6,
            context={"notify": f"xoxb-{SECRETS['slack']}", "tls": PEM},
        ),
        event(EventType.WORKFLOW_FAILED, wf, WF, 7, status="TERMINAL", error="stage Deploy failed"),
    ]


@pytest.fixture
def secret_db(tmp_path: Path) -> Path:
    """The secret workflow, a snapshot of it, and a subscription with a secret webhook."""
    path = tmp_path / "secrets.db"
    with SqliteEventStore(str(path)) as store:
        store.append_batch(secret_workflow())
        state = EventReplayer(store).rebuild_workflow_state(WF, as_of_sequence=6)
        state["context"].update(password=SECRETS["snapshot"], note=f"copy {DECLARED}")
        store.save_snapshot(EntityType.WORKFLOW, WF, WF, 6, 6, state)
        store.save_subscription(  # as the engine may have written it: no URL checks
            "hook",
            None,
            {"workflow_id": WF, "token": SECRETS["filter token"]},
            0,
            webhook_url=(
                f"https://ops:{SECRETS['webhook password']}@hooks.example/in"
                f"?sig={SECRETS['webhook signature']}"
            ),
        )
    return path


def visible(output: str) -> str:
    """Output with line breaks, padding and tree/box drawing removed, so that a secret a
    table folded over two lines is still found."""
    return re.sub(r"[\s\u2500-\u257f]+", "", output)


def leaks(output: str) -> list[str]:
    """The secrets whose first eight characters appear anywhere in the output."""
    flat = visible(output)
    return [name for name, secret in SECRETS.items() if secret[:8] in flat]


COMMANDS = [
    ("timeline", WF),
    ("state", WF),
    ("diff", WF, "1", "8"),
    ("history", WF, "--all"),
    ("history", TASK),
    ("events", "--workflow", WF),
    ("failures",),
    ("workflows",),
    ("metrics",),
    ("snapshots", "show", "1"),
    ("subscriptions", "list"),
    ("graph", WF),
    ("compare", WF, WF),
]
ROW_COMMANDS = [("events", "--workflow", WF), ("history", WF, "--all"), ("failures",)]


def run(invoke: Invoke, db: Path, *args: str) -> tuple[str, str]:
    result = invoke(*args, db=db)
    assert result.exit_code == 0, result.stderr
    return result.stdout, result.stderr


@pytest.mark.parametrize("fmt", ["table", "json"])
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_no_secret_appears_in_any_command_output(
    invoke: Invoke, secret_db: Path, command: tuple[str, ...], fmt: str
) -> None:
    out, err = run(invoke, secret_db, *command, "--format", fmt)
    assert leaks(out) == []
    assert leaks(err) == []


@pytest.mark.parametrize("fmt", ["ndjson", "csv", "markdown"])
@pytest.mark.parametrize("command", ROW_COMMANDS, ids=" ".join)
def test_no_secret_appears_in_any_row_format(
    invoke: Invoke, secret_db: Path, command: tuple[str, ...], fmt: str
) -> None:
    out, err = run(invoke, secret_db, *command, "--format", fmt)
    assert leaks(out) == []
    assert leaks(err) == []


@pytest.mark.parametrize("command", [c for c in COMMANDS if c[0] not in ("metrics",)], ids=" ".join)
def test_the_count_of_hidden_values_goes_to_stderr_alone(
    invoke: Invoke, secret_db: Path, command: tuple[str, ...]
) -> None:
    out, err = run(invoke, secret_db, *command, "--json")
    json.loads(out)
    assert re.fullmatch(
        r"redacted \d+ values? \(use 'stabilize --no-redact COMMAND \.\.\.' to show them\)\n", err
    )


def test_the_count_is_of_distinct_values_hidden(invoke: Invoke, secret_db: Path) -> None:
    _, err = run(invoke, secret_db, "history", TASK, "--json")
    assert err.startswith("redacted 3 values ")  # the declared password, the token, the bearer


def test_keys_that_only_look_like_secret_names_are_kept(invoke: Invoke, secret_db: Path) -> None:
    out, _ = run(invoke, secret_db, "state", WF, "--json")
    context = json.loads(out)["context"]
    assert [context["author"], context["monkey"], context["keyboard"]] == list(KEPT)
    assert context["db_login"] == "***"
    assert context["secrets"] == "***"
    assert context["deep"] == [[[{"api_key": "***"}]]]


def test_only_the_secret_part_of_a_string_is_hidden(invoke: Invoke, secret_db: Path) -> None:
    out, _ = run(invoke, secret_db, "history", TASK, "--json")
    failed = json.loads(out)[-1]["data"]["error"]
    assert failed == (
        "login as app/*** refused by https://api.example/v1?token=***&page=2; "
        "Authorization: Bearer ***"
    )


def test_a_pem_key_and_a_slack_token_keep_their_frame(invoke: Invoke, secret_db: Path) -> None:
    out, _ = run(invoke, secret_db, "state", WF, "--json")
    context = json.loads(out)["context"]
    assert context["tls"] == "-----BEGIN PRIVATE KEY-----***-----END PRIVATE KEY-----"
    assert context["notify"] == "xoxb-***"


def test_the_webhook_and_filter_of_a_subscription_are_redacted(
    invoke: Invoke, secret_db: Path
) -> None:
    out, _ = run(invoke, secret_db, "subscriptions", "list", "--json")
    (row,) = json.loads(out)
    assert row["webhook_url"] == "https://***@hooks.example/in?sig=***"
    assert row["entity_filter"] == {"workflow_id": WF, "token": "***"}


def test_a_snapshot_is_checked_as_stored_and_shown_redacted(
    invoke: Invoke, secret_db: Path
) -> None:
    out, _ = run(invoke, secret_db, "snapshots", "show", "1", "--json")
    shown = json.loads(out)
    assert shown["ok"] is True
    context = shown["state"]["context"]
    assert [context["db_login"], context["note"], context["password"]] == ["***", "copy ***", "***"]


def test_a_replay_that_starts_from_a_snapshot_shows_it_redacted(
    invoke: Invoke, secret_db: Path
) -> None:
    out, _ = run(invoke, secret_db, "state", WF, "--json")
    context = json.loads(out)["context"]
    assert context["password"] == "***"  # only the snapshot has it: the replay started there
    assert context["note"] == "copy ***"
    assert context["db_login"] == "***"


def test_declared_secrets_of_one_workflow_are_not_hidden_in_another(
    invoke: Invoke, tmp_path: Path
) -> None:
    db = tmp_path / "two.db"
    other = event(EventType.WORKFLOW_CREATED, EntityType.WORKFLOW, OTHER, 9, name=DECLARED)
    with SqliteEventStore(str(db)) as store:
        store.append_batch([*secret_workflow(), Event(**{**_fields(other), "workflow_id": OTHER})])
    out, err = run(invoke, db, "history", OTHER, "--json")
    assert json.loads(out)[0]["data"]["name"] == DECLARED
    assert err == ""


def _fields(e: Event) -> dict[str, Any]:
    return {name: getattr(e, name) for name in Event.__dataclass_fields__}


def test_a_secret_declared_after_its_value_was_written_is_still_hidden(
    invoke: Invoke, tmp_path: Path
) -> None:
    db = tmp_path / "late.db"
    early = event(EventType.WORKFLOW_STARTED, EntityType.WORKFLOW, WF, 0, context={"door": "8642"})
    late = event(EventType.CONTEXT_UPDATED, EntityType.WORKFLOW, WF, 1, context={"secrets": "door"})
    with SqliteEventStore(str(db)) as store:
        store.append_batch([early, late])
    out, _ = run(invoke, db, "events", "--workflow", WF, "--to-seq", "1", "--json")
    assert json.loads(out)[0]["data"]["context"] == {"door": "***"}


def test_an_error_line_quoting_credentials_is_redacted_and_comes_last(invoke: Invoke) -> None:
    result = invoke("workflows", db="mysql://app:DbPass33@db/x")
    assert result.exit_code == 3
    assert result.stderr.splitlines() == [
        "redacted 1 value (use 'stabilize --no-redact COMMAND ...' to show them)",
        "error: unsupported connection string 'mysql://app:***@db/x'",
    ]


def test_a_postgres_url_in_an_error_line_never_shows_its_password(invoke: Invoke) -> None:
    result = invoke("workflows", db="postgres://app:DbPass33@db.invalid/x")
    assert result.exit_code == 3
    assert "DbPass33" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith("error: postgres://app:***@db.invalid/x:")


# -- --no-redact ---------------------------------------------------------------------------

WARNING = "warning: --no-redact: secrets in the output are shown in clear\n"


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_no_redact_shows_the_secrets_and_warns(
    invoke: Invoke, secret_db: Path, command: tuple[str, ...]
) -> None:
    result = invoke("--no-redact", *command, "--json", db=secret_db)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == WARNING
    redacted = run(invoke, secret_db, *command, "--json")[0]
    assert leaks(result.stdout) != [] or result.stdout == redacted


def test_no_redact_shows_every_secret_somewhere(invoke: Invoke, secret_db: Path) -> None:
    outputs = [
        invoke("--no-redact", *command, "--json", db=secret_db).stdout for command in COMMANDS
    ]
    assert sorted(leaks("".join(outputs))) == sorted(SECRETS)


def test_the_environment_can_turn_redaction_off(invoke: Invoke, secret_db: Path) -> None:
    result = invoke("state", WF, "--json", db=secret_db, env={"STABILIZE_NO_REDACT": "1"})
    assert result.stderr == WARNING
    assert json.loads(result.stdout)["context"]["db_login"] == DECLARED


def test_redaction_is_back_on_for_the_next_command(invoke: Invoke, secret_db: Path) -> None:
    invoke("--no-redact", "state", WF, "--json", db=secret_db)
    out, _ = run(invoke, secret_db, "state", WF, "--json")
    assert json.loads(out)["context"]["db_login"] == "***"


def test_a_real_process_redacts_by_default_and_not_when_asked(secret_db: Path) -> None:
    shown = run_process("timeline", WF, "--json", "--db", str(secret_db))
    assert shown.returncode == 0
    assert leaks(shown.stdout) == []
    assert shown.stderr.startswith("redacted ")
    clear = run_process("--no-redact", "timeline", WF, "--json", "--db", str(secret_db))
    assert clear.returncode == 0
    assert DECLARED in clear.stdout
    assert clear.stderr == WARNING


# -- no false positives on the engine's own data -------------------------------------------

ENGINE_WORKFLOWS = [
    line.split()[0] for line in ENGINE_STATUSES.read_text().splitlines() if line.strip()
]
STORE_COMMANDS = [
    ("workflows",),
    ("events", "--limit", "100000"),
    ("failures",),
    ("metrics",),
    ("snapshots", "list"),
    ("subscriptions", "list"),
]
PER_WORKFLOW = [("timeline",), ("state",), ("history", "--all")]


def assert_unchanged(invoke: Invoke, db: Path, *args: str) -> None:
    redacted = invoke(*args, "--json", db=db)
    clear = invoke("--no-redact", *args, "--json", db=db)
    assert redacted.exit_code == clear.exit_code == 0
    assert redacted.stderr == ""
    assert redacted.stdout == clear.stdout


@pytest.mark.parametrize("db", [REAL_DB, FIXTURES / "demo.db"], ids=lambda p: p.name)
@pytest.mark.parametrize("command", STORE_COMMANDS, ids=" ".join)
def test_the_engines_data_is_unchanged_by_redaction(
    invoke: Invoke, db: Path, command: tuple[str, ...]
) -> None:
    assert_unchanged(invoke, db, *command)


@pytest.mark.parametrize("workflow", ENGINE_WORKFLOWS)
def test_each_engine_workflow_is_unchanged_by_redaction(invoke: Invoke, workflow: str) -> None:
    for command in PER_WORKFLOW:
        assert_unchanged(invoke, REAL_DB, command[0], workflow, *command[1:])


# -- rows shown as stored ------------------------------------------------------------------


def test_an_unreadable_row_shown_as_stored_is_redacted(invoke: Invoke, tmp_path: Path) -> None:
    db = tmp_path / "raw.db"
    with SqliteEventStore(str(db)) as store:
        store.append_batch(secret_workflow()[:2])
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "INSERT INTO events (event_id, event_type, timestamp, entity_type, entity_id, "
            "workflow_id, version, data, correlation_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                "01JB000000000000000000RAW1",
                "task.failed",
                "2026-11-28T14:00:09+00:00",
                "task",
                TASK,
                WF,
                1,
                f'{{"password": "RawPass55", "error": "as {DECLARED} via postgres://u:PgRaw77@h',
                WF,
            ),
        )
    conn.close()
    for fmt in ("json", "table", "ndjson"):
        result = invoke("events", "--workflow", WF, "--format", fmt, db=db)
        assert "unreadable" in result.stdout
        for secret in ("RawPass55", DECLARED, "PgRaw77"):
            assert secret not in visible(result.stdout)


def test_a_snapshot_state_that_is_not_json_is_shown_redacted(
    invoke: Invoke, secret_db: Path
) -> None:
    conn = sqlite3.connect(secret_db)
    with conn:
        conn.execute("UPDATE snapshots SET state = ? WHERE id = 1", (f'{{"x": "{DECLARED}", ',))
    conn.close()
    out, _ = run(invoke, secret_db, "snapshots", "show", "1", "--json")
    assert json.loads(out)["state_raw"] == '{"x": "***", '


def test_a_declaration_appended_while_reading_is_picked_up(tmp_path: Path) -> None:
    """``--follow`` and a live engine: a newer event makes its workflow be scanned again."""
    db = tmp_path / "live.db"
    first = event(EventType.WORKFLOW_STARTED, EntityType.WORKFLOW, WF, 0, context={"door": "8642"})
    declared = event(
        EventType.CONTEXT_UPDATED, EntityType.WORKFLOW, WF, 1, context={"secrets": ["door"]}
    )
    quoted = event(EventType.WORKFLOW_FAILED, EntityType.WORKFLOW, WF, 2, error="door 8642 refused")
    writer = SqliteEventStore(str(db))
    writer.append_batch([first])
    with open_for_audit(str(db), Redactor()) as store:
        assert store.get_events_for_workflow(WF)[0].data == {"context": {"door": "8642"}}
        writer.append_batch([declared, quoted])
        *_, failed = store.get_events_for_workflow(WF)
        assert failed.data["error"] == "door *** refused"
    writer.close()


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("password=S3CRET.", "password=***."),
        ("token=S3CRET)", "token=***)"),
        ("see (password=S3CRET), then", "see (password=***), then"),
        ("DB_PASS=S3CRET;x", "DB_PASS=***;x"),
        ("curl -u a:S3CRET!", "curl -u a:***!"),
        ("the password is S3CRET?", "the password is ***?"),
        ("https://h/x?sig=S3CRET).", "https://h/x?sig=***)."),
    ],
)
def test_an_error_line_keeps_the_characters_after_a_hidden_value(
    invoke: Invoke, typed: str, shown: str
) -> None:
    result = invoke("timeline", typed)
    assert result.exit_code == 6
    assert result.stderr.splitlines()[-1] == f"error: no workflow '{shown}' in the store"
