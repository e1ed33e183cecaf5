"""A workflow's secrets declaration that cannot be read: its values are never shown.

A workflow declares ``"secrets": ["db_login"]`` in one event and uses the value in others
(under the key, and in error text). On copies of the store, the declaring event is made
unreadable three ways: its page damaged with the workflow first in the file (the scan
meets the damage), its page damaged behind more than ``LAZY_WORKFLOWS`` other workflows
(the one-pass shortcut over the table must not skip it), and its ``data`` made invalid
JSON (the codec refuses the row). Every command and format that shows payload text,
exports included, must then never show the value, say once why, and still show the
workflow's structure; the undamaged store's output keeps the usual redaction.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stabilize_cli.events.base import EntityType, Event, EventType
from stabilize_cli.events.replay import EventReplayer
from stabilize_cli.events.store.sqlite import SqliteEventStore
from stabilize_cli.queries.redacting import LAZY_WORKFLOWS
from stabilize_cli.redaction import MARK, DeclaredSecrets, Redactor
from stabilize_cli.redaction.keys import is_structural_key

from .conftest import Invoke, make_event

WF = "01JB00000000000000000000W1"
STAGE = "01JB00000000000000000000S1"
TASK = "01JB00000000000000000000T1"
FILL = "01JB00000000000000000000F1"
SECRET = "Zx7Qv9Lm3Kp2Wr8"
KEPT = "eu-west-kept"
"""A plain value of the workflow: shown when the declaration is read, hidden when not."""
PAGE_SIZE = 4096
WARNING = (
    f"warning: workflow {WF}: its secrets declaration may be {{}}: every value of it is"
    " hidden; --no-redact shows them"
)


def event(
    kind: EventType, entity: EntityType, entity_id: str, workflow: str, at: int, **data: Any
) -> Event:
    return make_event(kind, entity, entity_id, at, workflow_id=workflow, **data)


def filler(workflow: str, at: int, size: int) -> Event:
    """Another workflow's event, ``size`` characters of plain text: it fills pages."""
    return event(
        EventType.WORKFLOW_CREATED,
        EntityType.WORKFLOW,
        workflow,
        workflow,
        at,
        application="other",
        name="other run",
        note="plain text " * (size // 11),
    )


def declaring_workflow(at: int) -> tuple[list[Event], list[Event]]:
    """(the events up to the declaring one, the events after it that use the value)."""
    wf, stage, task = EntityType.WORKFLOW, EntityType.STAGE, EntityType.TASK
    first = [
        event(EventType.WORKFLOW_CREATED, wf, WF, WF, at, application="payments", name="deploy"),
        event(
            EventType.WORKFLOW_STARTED,
            wf,
            WF,
            WF,
            at + 1,
            context={"secrets": ["db_login"], "db_login": SECRET, "pad": "p" * 2500},
        ),
    ]
    after = [
        event(
            EventType.STAGE_STARTED,
            stage,
            STAGE,
            WF,
            at + 2,
            ref_id="d",
            type="deploy",
            name="Deploy",
        ),
        event(EventType.TASK_STARTED, task, TASK, WF, at + 3, name="Push", stage_id=STAGE),
        event(
            EventType.CONTEXT_UPDATED,
            wf,
            WF,
            WF,
            at + 4,
            context={"db_login": SECRET, "region": KEPT},
        ),
        event(
            EventType.TASK_FAILED,
            task,
            TASK,
            WF,
            at + 5,
            name="Push",
            status="TERMINAL",
            error=f"login as app/{SECRET} refused",
        ),
        event(
            EventType.STAGE_FAILED,
            stage,
            STAGE,
            WF,
            at + 6,
            ref_id="d",
            type="deploy",
            name="Deploy",
            status="TERMINAL",
            error=f"deploy with {SECRET} failed",
        ),
        event(
            EventType.WORKFLOW_FAILED,
            wf,
            WF,
            WF,
            at + 7,
            status="TERMINAL",
            error="stage Deploy failed",
        ),
    ]
    return first, after


def build(path: Path, *, others_first: int) -> Path:
    """The declaring workflow, ``others_first`` one-event workflows before it, and pages
    of another workflow's events between its declaration and the events using it."""
    before = [filler(f"01JB0000000000000000{n:06d}", n, 100) for n in range(others_first)]
    first, after = declaring_workflow(others_first)
    between = [filler(FILL, others_first + 1, 1000) for _ in range(12)]
    with SqliteEventStore(str(path)) as store:
        store.append_batch(before)
        store.append_batch(first)
        store.append_batch(between)
        store.append_batch(after)
        last = store.get_current_sequence()
        state = EventReplayer(store).rebuild_workflow_state(WF, as_of_sequence=last)
        store.save_snapshot(EntityType.WORKFLOW, WF, WF, 1, last, state)
    return path


def declaring_sequence(db: Path) -> int:
    with sqlite3.connect(db) as con:
        row = con.execute(
            "SELECT sequence FROM events WHERE workflow_id = ? AND data LIKE '%\"secrets\"%'", (WF,)
        ).fetchone()
    return int(row[0])


def readable(db: Path, sequence: int) -> bool:
    try:
        with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as con:
            con.execute("SELECT data FROM events WHERE sequence = ?", (sequence,)).fetchall()
    except sqlite3.DatabaseError:
        return False
    return True


def damage_page_of(source: Path, target: Path, sequence: int) -> Path:
    """A copy whose ``events`` leaf page holding ``sequence`` has its header zeroed
    (found by damaging each leaf of SQLite's own page map until that row cannot be read)."""
    with sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True) as con:
        leaves = [
            r[0]
            for r in con.execute(
                "SELECT pageno FROM dbstat WHERE name = 'events' AND pagetype = 'leaf'"
            )
        ]
    for page in sorted(leaves):
        shutil.copyfile(source, target)
        with target.open("r+b") as stream:
            stream.seek((page - 1) * PAGE_SIZE)
            stream.write(b"\x00" * 8)
        if not readable(target, sequence):
            return target
    raise AssertionError("no leaf page holds the declaring event")


def damage_index(source: Path, target: Path) -> Path:
    """A copy (or the file itself, ``source is target``) with every leaf of the index
    on ``workflow_id`` damaged: the table's rows all read, the index's fast path fails."""
    with sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True) as con:
        leaves = [
            r[0]
            for r in con.execute(
                "SELECT pageno FROM dbstat WHERE name = 'idx_events_workflow' AND pagetype = 'leaf'"
            )
        ]
    if source != target:
        shutil.copyfile(source, target)
    with target.open("r+b") as stream:
        for page in leaves:
            stream.seek((page - 1) * PAGE_SIZE)
            stream.write(b"\x00" * 8)
    return target


def unparseable_declaration(source: Path, target: Path, sequence: int) -> Path:
    """A copy whose declaring row's ``data`` is cut short: the codec refuses the row."""
    shutil.copyfile(source, target)
    with sqlite3.connect(target) as con:
        con.execute("UPDATE events SET data = substr(data, 1, 60) WHERE sequence = ?", (sequence,))
    return target


@cache
def stores(root: Path) -> dict[str, Path]:
    """Every kind of store the commands run on, built once."""
    early = build(root / "early.db", others_first=0)
    late = build(root / "late.db", others_first=LAZY_WORKFLOWS + 6)
    damaged = damage_page_of(early, root / "damaged.db", declaring_sequence(early))
    both = damage_page_of(early, root / "both.db", declaring_sequence(early))
    return {
        "undamaged": early,
        "index-damaged": damage_index(early, root / "index.db"),
        "damaged-page": damaged,
        "damaged-page-and-index": damage_index(both, both),
        "damaged-page-late": damage_page_of(
            late, root / "damaged-late.db", declaring_sequence(late)
        ),
        "unparseable-row": unparseable_declaration(
            early, root / "unparseable.db", declaring_sequence(early)
        ),
    }


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return stores(tmp_path_factory.mktemp("declaration"))


TABLES = ("table", "json", "ndjson", "csv", "markdown")
COMMANDS: list[tuple[str, ...]] = [
    *[("events", "--limit", "1000", "-o", f) for f in TABLES],
    *[("events", "--workflow", WF, "-o", f) for f in TABLES],
    *[("history", TASK, "-o", f) for f in TABLES],
    *[("history", WF, "-o", f) for f in TABLES],
    *[("failures", "-o", f) for f in TABLES],
    *[("workflows", "-o", f) for f in ("table", "json")],
    *[("metrics", "--no-cache", "-o", f) for f in ("table", "json")],
    *[("timeline", WF, "-o", f) for f in ("table", "json")],
    *[("state", WF, "-o", f) for f in ("table", "json")],
    *[("diff", WF, "1", "1000", "-o", f) for f in ("table", "json")],
    *[("snapshots", "list", "-o", f) for f in ("table", "json")],
    *[("snapshots", "show", "1", "-o", f) for f in ("table", "json")],
    ("verify", "-o", "json"),
]
BROKEN = ("damaged-page", "damaged-page-and-index", "damaged-page-late", "unparseable-row")


def visible(text: str) -> str:
    """Output without line breaks, padding and box drawing: a folded value is found."""
    return re.sub(r"[\s\u2500-\u257f]+", "", text)


def leaked(text: str, value: str = SECRET) -> bool:
    """Whether any eight characters of the value appear in the output."""
    shown = visible(text)
    return any(value[i : i + 8] in shown for i in range(len(value) - 7))


def of_the_workflow(invoke: Invoke, db: Path) -> list[dict[str, Any]]:
    """The workflow's events, read in sequence order (a damaged index fails --workflow)."""
    result = invoke("events", "--limit", "1000", "-o", "ndjson", db=db)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    return [r for r in rows if r.get("workflow_id") == WF]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: "-".join(c).replace(WF, "wf"))
@pytest.mark.parametrize("kind", BROKEN)
def test_an_unread_declaration_never_shows_the_declared_value(
    made: dict[str, Path], invoke: Invoke, kind: str, command: tuple[str, ...], tmp_path: Path
) -> None:
    result = invoke(*command, db=made[kind])
    assert "Traceback" not in result.stderr
    assert result.exit_code in (0, 1, 4), (result.stdout, result.stderr)  # verify: 1
    assert not leaked(result.stdout), result.stdout
    assert not leaked(result.stderr), result.stderr
    assert not leaked(result.stdout, KEPT)  # every value of the workflow is hidden


@pytest.mark.parametrize("kind", BROKEN)
def test_the_damaged_store_says_once_why_the_workflow_is_hidden(
    made: dict[str, Path], invoke: Invoke, kind: str
) -> None:
    why = "in a row that cannot be parsed" if kind == "unparseable-row" else "on a damaged page"
    result = invoke("events", "--limit", "1000", "-o", "json", db=made[kind])
    assert result.exit_code in (0, 4)  # an unparseable row is shown as stored: exit 0
    assert result.stderr.count(WARNING.format(why)) == 1, result.stderr
    assert "redacted" in result.stderr


@pytest.mark.parametrize("kind", BROKEN)
def test_the_hidden_workflow_keeps_its_structure(
    made: dict[str, Path], invoke: Invoke, kind: str
) -> None:
    events = of_the_workflow(invoke, made[kind])
    failed = next(e for e in events if e.get("event_type") == "stage.failed")
    assert failed["data"] == {
        "ref_id": "d",
        "type": "deploy",
        "name": "Deploy",
        "status": "TERMINAL",
        "error": MARK,
    }
    updated = next(e for e in events if e.get("event_type") == "context.updated")
    assert updated["data"] == {"context": {"db_login": MARK, "region": MARK}}


@pytest.mark.parametrize("kind", BROKEN)
def test_the_value_events_are_still_read(made: dict[str, Path], invoke: Invoke, kind: str) -> None:
    """The test is only worth something if the events holding the value are shown."""
    types = [e.get("event_type") for e in of_the_workflow(invoke, made[kind])]
    assert {"context.updated", "task.failed", "stage.failed"} <= set(types)


@pytest.mark.parametrize("kind", BROKEN)
def test_no_redact_still_shows_everything(made: dict[str, Path], invoke: Invoke, kind: str) -> None:
    result = invoke("--no-redact", "events", "--limit", "1000", "-o", "json", db=made[kind])
    assert SECRET in result.stdout
    assert KEPT in result.stdout
    assert "every value of it is hidden" not in result.stderr


@pytest.mark.parametrize("kind", BROKEN)
def test_timeline_exports_never_show_the_value(
    made: dict[str, Path], invoke: Invoke, kind: str, tmp_path: Path
) -> None:
    for suffix in ("svg", "html"):
        target = tmp_path / f"run.{suffix}"
        result = invoke("timeline", WF, "--export", str(target), db=made[kind])
        assert "Traceback" not in result.stderr
        assert not leaked(result.stdout + result.stderr)
        assert result.exit_code == 4
        assert target.exists() or kind != "unparseable-row"  # damaged pages: no chart
        if target.exists():
            assert not leaked(target.read_text())


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: "-".join(c).replace(WF, "wf"))
def test_the_undamaged_store_is_redacted_as_before(
    made: dict[str, Path], invoke: Invoke, command: tuple[str, ...]
) -> None:
    result = invoke(*command, db=made["undamaged"])
    assert result.exit_code == 0, result.stderr
    assert not leaked(result.stdout + result.stderr)
    assert "every value of it is hidden" not in result.stderr


def test_a_damaged_index_alone_changes_nothing_shown(made: dict[str, Path], invoke: Invoke) -> None:
    """The declaration is read from the table itself: the workflow is redacted as usual."""
    whole = invoke("events", "--limit", "1000", "-o", "ndjson", db=made["undamaged"])
    result = invoke("events", "--limit", "1000", "-o", "ndjson", db=made["index-damaged"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == whole.stdout
    assert "every value of it is hidden" not in result.stderr


def test_the_undamaged_store_shows_the_plain_values(made: dict[str, Path], invoke: Invoke) -> None:
    result = invoke("events", "--workflow", WF, "-o", "ndjson", db=made["undamaged"])
    events = [json.loads(line) for line in result.stdout.splitlines()]
    updated = next(e for e in events if e.get("event_type") == "context.updated")
    assert updated["data"] == {"context": {"db_login": MARK, "region": KEPT}}
    failed = next(e for e in events if e.get("event_type") == "task.failed")
    assert failed["data"]["error"] == f"login as app/{MARK} refused"


def test_other_workflows_are_shown_as_on_the_undamaged_store(
    made: dict[str, Path], invoke: Invoke
) -> None:
    whole = invoke("events", "--workflow", FILL, "-o", "ndjson", db=made["undamaged"])
    damaged = invoke("events", "--workflow", FILL, "-o", "ndjson", db=made["damaged-page"])
    rows = [json.loads(line) for line in damaged.stdout.splitlines()]
    before = {e["sequence"]: e for e in map(json.loads, whole.stdout.splitlines())}
    shown = [r for r in rows if "sequence" in r and not r.get("incomplete")]
    assert shown
    assert all(r == before[r["sequence"]] for r in shown)
    assert f"workflow {FILL}" not in damaged.stderr


# -- the redactor's rule, as a class ------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(min_size=1, max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def scalars(value: Any, structural: Callable[[str], bool], under: bool = False) -> list[Any]:
    """The strings and numbers of a value not under a structural key."""
    found: list[Any] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found += scalars(item, structural, under or structural(key))
    elif isinstance(value, list):
        for item in value:
            found += scalars(item, structural, under)
    elif not under and isinstance(value, str | int) and not isinstance(value, bool):
        found.append(value)
    return found


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=JSON)
def test_an_unread_declaration_hides_every_value_but_the_structural_ones(value: Any) -> None:
    unread = DeclaredSecrets.build((), (), unread="on a damaged page")
    redactor = Redactor()
    shown = redactor.redact_value(value, secrets=unread)
    kept = [v for v in scalars(shown, is_structural_key) if v not in ("", MARK)]
    assert kept == []
    hidden = [v for v in scalars(value, is_structural_key) if v not in ("", MARK)]
    assert redactor.hidden > 0 or not hidden
    assert Redactor(enabled=False).redact_value(value, secrets=unread) is value
