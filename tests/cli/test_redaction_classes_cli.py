"""Generated secrets of every class, planted in a store, never reach any output format of
any command that shows text: tables, JSON, NDJSON, CSV, Markdown (as rendered).

Each example plants a value under a secret-named key (nested), a secret in a free-text
form inside an error with punctuation around it, a vendor token in another error and a
secret in the workflow's name; then runs every command in every format it has.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from stabilize_cli.cli.app import app
from stabilize_cli.events import EntityType, EventType, SqliteEventStore

from ..test_redaction_classes import (
    AROUND,
    Form,
    forms,
    leaked,
    nest,
    secret_key_names,
    secrets,
    vendor_tokens,
)
from .conftest import make_event
from .rendered import shown

WF = "01JC0000000000000000000001"
STAGE = "01JC00000000000000000000S1"
TASK = "01JC0000000000000000000T1"
ROWS = ("table", "json", "ndjson", "csv", "markdown")
TREE = ("table", "json")
COMMANDS: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (("timeline", WF), TREE),
    (("state", WF), TREE),
    (("diff", WF, "1", "8"), TREE),
    (("history", WF, "--all"), ROWS),
    (("history", TASK), ROWS),
    (("events",), ROWS),
    (("failures",), ROWS),
    (("workflows",), ROWS),
    (("metrics",), ROWS),
]
distinct = secrets().map(lambda s: "".join(f"{c}{i % 10}" for i, c in enumerate(s)))
"""Every other character a counting digit: no piece of it can occur in the output by
chance (a secret holding "TERMINAL" would be found in every table)."""


def store_with(
    path: Path, key: str, keyed: str, form: Form, text: str, around: tuple[str, str], token: str
) -> None:
    wf, stage, task = EntityType.WORKFLOW, EntityType.STAGE, EntityType.TASK
    before, after = around

    def at(kind: EventType, entity: EntityType, entity_id: str, second: int, **data: Any) -> Any:
        return make_event(kind, entity, entity_id, second, workflow_id=WF, **data)

    events = [
        at(EventType.WORKFLOW_CREATED, wf, WF, 0, application="pay", name=f"deploy {form(text)}"),
        at(EventType.WORKFLOW_STARTED, wf, WF, 1, context=nest({key: keyed}, ["deploy", 0])),
        at(EventType.STAGE_STARTED, stage, STAGE, 2, ref_id="d", type="deploy", name="Deploy"),
        at(EventType.TASK_STARTED, task, TASK, 3, name="Push", stage_id=STAGE),
        at(
            EventType.TASK_FAILED,
            task,
            TASK,
            4,
            name="Push",
            status="TERMINAL",
            error=f"{before}{form(text)}{after}",
        ),
        at(
            EventType.STAGE_FAILED,
            stage,
            STAGE,
            5,
            ref_id="d",
            type="deploy",
            name="Deploy",
            status="TERMINAL",
            error=f"push refused ({token})",
        ),
        at(EventType.CONTEXT_UPDATED, wf, WF, 6, context={"note": f"retry with {token}"}),
        at(EventType.WORKFLOW_FAILED, wf, WF, 7, status="TERMINAL", error="stage Deploy failed"),
    ]
    with SqliteEventStore(str(path)) as store:
        store.append_batch(events)


def visible(output: str) -> str:
    """Without line breaks, padding and box drawing: a secret a table folded is found."""
    return re.sub(r"[\s\u2500-\u257f…]+", "", output)


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    key=secret_key_names(),
    keyed=distinct,
    form=forms(),
    text=distinct,
    around=st.sampled_from(AROUND),
    token=vendor_tokens().filter(lambda token: re.search(r"(.)\1\1", token[1]) is None),
)
def test_no_generated_secret_reaches_any_format_of_any_command(
    key: str,
    keyed: str,
    form: Form,
    text: str,
    around: tuple[str, str],
    token: tuple[str, str],
) -> None:
    prefix, body = token
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "secrets.db"
        store_with(db, key, keyed, form, text, around, prefix + body)
        runner = CliRunner()
        for args, formats in COMMANDS:
            for fmt in formats:
                argv = [*args, "--db", str(db), "--format", fmt]
                result = runner.invoke(app, argv, env={"COLUMNS": "300"}, catch_exceptions=False)
                assert result.exit_code == 0, (argv, result.stderr)
                said = re.sub(r"redacted \d+ values? \(use '.*' to show them\)", "", result.stderr)
                out = visible(shown(result.stdout, fmt)) + visible(said)
                context = visible(form("")) + visible("".join(around))
                for secret in (keyed, text, body):
                    assert not leaked(secret, out, context), (argv, secret, result.stdout)
