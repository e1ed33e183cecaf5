"""Terminal safety (reliability-matrix.md, TS): text from the database, the command line or
SQLite never takes over the terminal, in any command and any output format.

TS-01 Rich markup in data is shown verbatim and never raises MarkupError.
TS-02 ESC sequences (CSI, SGR, OSC 8 links, window titles, DCS) never reach output raw.
TS-03 C1 controls, DEL, bidi overrides/isolates and zero-width characters become escapes.
TS-04 JSON and NDJSON are ASCII-only, valid, and identical whatever the terminal says.
TS-05 No emoji substitution and no highlighting; only the tool's own styling adds SGR
      codes, and NO_COLOR removes all of them.
TS-06 Strings from the user or SQLite (paths, ids, error messages, export names) are
      neutralised in ``error:`` lines and notes too.

ONE hostile store carries every hostile string in every field; :data:`CASES` lists every
command with the formats it supports, so a new command or format is covered by adding a row.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from stabilize_cli.cli.app import app
from stabilize_cli.events import (
    EntityType,
    Event,
    EventMetadata,
    EventRecorder,
    EventReplayer,
    EventType,
    SqliteEventStore,
    StageRecord,
    TaskRecord,
    WorkflowRecord,
    event_context,
)
from stabilize_cli.events.base import RAW_EVENT_TYPE_KEY

from ..conftest import sha256
from .conftest import run_process
from .rendered import shown

# -- the hostile strings ------------------------------------------------------------------

MARKUP = ("[red]x[/]", "[/]", "[link=http://evil]click[/link]", "[bold")
"""TS-01: Rich would colour, close, link or choke on these."""
ESCAPES = (
    "\x1b[2J",  # clear screen
    "\x1b[5A\x1b[10;20H",  # cursor up, cursor to
    "\x1b[6;8m",  # SGR no style of ours uses (blink2, conceal): a leak is recognisable
    "\x1b]8;;http://evil\x07x\x1b]8;;\x07",  # OSC 8 hyperlink
    "\x1b]0;pwned\x07",  # window title
    "\x1bP1$r0m\x1b\\",  # DCS
)
"""TS-02."""
INVISIBLE = (
    "\x9b\x85\x7f\u202e\u2066\u2067\u2068\u2069\u200b\u2060\ufeff\u061c"
    "\U000e0041\xad\u2028\u2029\u180e\ufff9\u115f\u1160\u3164\uffa0\u034f\ufe00\ue000"
)
"""TS-03: C1, DEL, bidi overrides and isolates, zero-width, the Arabic letter mark; tag
characters, the soft hyphen, line and paragraph separators, the Mongolian vowel separator,
interlinear annotation, Hangul fillers, the grapheme joiner, a variation selector outside
an emoji sequence, private use (issue 13)."""
OTHER_C0 = "\x00\x07\x08\t\r\x0b\x0c"
TRAPS = ":warning: 12345 http://example.com/x /etc/passwd"
"""TS-05: an emoji code, a number, a URL and a path Rich would colour if it highlighted."""
SCRIPT = "<script>alert(1)</script>"
HOSTILE = " ".join((*MARKUP, TRAPS, SCRIPT, "".join(ESCAPES), INVISIBLE, OTHER_C0, "\nline 2"))
"""Markup first: views that cut long values still show it."""

T0 = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)


@dataclass
class Hostile:
    """The hostile store and the ids a command line needs to reach its entities."""

    path: Path
    failed: str
    canceled: str
    stage: str
    task: str
    last_sequence: int = 0
    snapshot: int = 1
    bad_snapshot: int = 2


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=250)
        return self.now


def _ids() -> Callable[[], str]:
    count = iter(range(10_000))
    return lambda: f"ev{next(count):03d}{HOSTILE}"


def _failed_run(recorder: EventRecorder, wf_id: str, stage_id: str, task_id: str) -> None:
    h = HOSTILE
    task = TaskRecord(id=task_id, name=h, stage_id=stage_id, implementing_class=h, last_error=h)
    stage = StageRecord(id=stage_id, ref_id=h, name=h, type=h, workflow_id=wf_id, tasks=[task])
    skipped = StageRecord(id=f"sk-{h}", ref_id=h, name=h, type=h, workflow_id=wf_id)
    done = StageRecord(id=f"ok-{h}", ref_id=h, name=h, type=h, workflow_id=wf_id)
    done.outputs = {h: h, "nested": {h: [h, 1.5, None]}}
    wf = WorkflowRecord(id=wf_id, application=h, name=h, trigger_type=h, stages=[stage])
    wf.context = {h: h, "deep": {h: {h: [h]}}}
    r, w = recorder, wf_id
    r.record_workflow_created(wf, source_handler=h)
    r.record_workflow_started(wf, source_handler=h)
    r.record_context_updated(EntityType.WORKFLOW, w, w, {h: h}, source_handler=h)
    r.record_stage_started(done, source_handler=h)
    r.record_stage_completed(done, source_handler=h)
    r.record_stage_started(stage, source_handler=h)
    r.record_task_started(task, w, source_handler=h)
    r.record_task_retried(task, w, 1, source_handler=h)
    r.record_outputs_updated(EntityType.TASK, task_id, w, {h: h}, source_handler=h)
    task.exception_details = {h: h}
    r.record_task_failed(task, w, h, source_handler=h)
    r.record_stage_failed(stage, h, source_handler=h)
    r.record_stage_skipped(skipped, h, source_handler=h)
    r.record_status_change(EntityType.STAGE, stage_id, w, h, h, source_handler=h)
    r.record_jump_executed(w, stage_id, f"sk-{h}", h, source_handler=h)
    r.record(EventType.UNKNOWN, EntityType.WORKFLOW, w, w, {RAW_EVENT_TYPE_KEY: f"custom.{h}"})
    r.record_workflow_failed(wf, h, source_handler=h)


def _canceled_run(recorder: EventRecorder, wf_id: str) -> None:
    h = HOSTILE
    wf = WorkflowRecord(id=wf_id, application=h, name=h, canceled_by=h, cancellation_reason=h)
    wf.paused_by = h
    recorder.record_workflow_created(wf, source_handler=h)
    recorder.record_workflow_started(wf, source_handler=h)
    recorder.record_workflow_paused(wf, source_handler=h)
    recorder.record_workflow_resumed(wf, source_handler=h)
    recorder.record_workflow_canceled(wf, source_handler=h)


def _newer_schema_event(wf_id: str) -> Event:
    """An event a reader must skip (schema too new), with a warning naming its id."""
    return Event(
        event_id=f"new-schema-{HOSTILE}",
        event_type=EventType.CONTEXT_UPDATED,
        timestamp=T0 + timedelta(hours=1),
        entity_type=EntityType.WORKFLOW,
        entity_id=wf_id,
        workflow_id=wf_id,
        version=99,
        data={"context": {HOSTILE: HOSTILE}},
        metadata=EventMetadata(correlation_id=HOSTILE, actor=HOSTILE, source_handler=HOSTILE),
        schema_version=99,
    )


def build_hostile_db(path: Path) -> Hostile:
    """Every text field the tool shows, holding every hostile string."""
    h = HOSTILE
    found = Hostile(path, failed=f"wf1-{h}", canceled=f"wf2-{h}", stage=f"st-{h}", task=f"tk-{h}")
    with SqliteEventStore(str(path)) as store:
        recorder = EventRecorder(store, publish_to_bus=False, clock=Clock(), id_factory=_ids())
        with event_context(correlation_id=h, causation_id=f"cause-{h}", actor=h):
            _canceled_run(recorder, found.canceled)
            _failed_run(recorder, found.failed, found.stage, found.task)
        store.append_batch([_newer_schema_event(found.failed)])
        found.last_sequence = store.get_current_sequence()
        resumable = EventReplayer(store).rebuild_workflow_state(found.failed, 12)
        resumable[h] = {h: [h]}  # replay resumes from it: the hostile key rides along
        store.save_snapshot(EntityType.WORKFLOW, found.failed, found.failed, 1, 12, resumable)
        state = {h: h, "status": h, "stages": {h: {"name": h}}}
        store.save_snapshot(EntityType.STAGE, found.stage, found.failed, 1, 4, state)
        store.save_subscription(h, None, {h: h}, 2, f"https://{h}:pw@example.com/{h}?token={h}")
        store.save_subscription(f"b-{h}", [EventType.STAGE_FAILED], None, 999, h)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE snapshots SET state = ? WHERE id = 2", (f"{{broken {h}",))
    conn.close()
    return found


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Hostile:
    return build_hostile_db(tmp_path_factory.mktemp("hostile") / "hostile.db")


# -- invariants -----------------------------------------------------------------------------

SGR = re.compile(r"\x1b\[[0-9;]*m")
C0_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f]")
NEVER = re.compile(
    "[\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u061c\xad\u2028\u2029\u180e"
    "\ufff9-\ufffb\u115f\u1160\u3164\uffa0\u034f\ufe00-\ufe0d\ue000-\uf8ff\U000e0000-\U000e0fff]"
)


def assert_terminal_safe(text: str) -> None:
    """No C0 but newline (ESC and tab included), no DEL, C1, bidi or zero-width character."""
    for pattern in (C0_BUT_NEWLINE, NEVER):
        found = pattern.search(text)
        assert found is None, f"raw {found.group()!r} in {_around(text, found.start())!r}"


def _around(text: str, index: int) -> str:
    return text[max(0, index - 60) : index + 60]


def assert_markup_verbatim(text: str) -> None:
    for payload in MARKUP:
        assert payload in text


def assert_json_safe(text: str, *, lines: bool) -> list[Any]:
    """ASCII only, nothing but printable characters and newlines, every document valid."""
    assert text.isascii()
    assert_terminal_safe(text)
    docs = [json.loads(line) for line in text.splitlines()] if lines else [json.loads(text)]
    assert MARKUP[0] in "".join(_strings(docs)), "JSON carries the text as stored"
    return docs


def _strings(value: Any) -> Iterator[str]:
    """Every key and string value of a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


# -- every command, every format ------------------------------------------------------------

ROWS = ("table", "json", "ndjson", "csv", "markdown")
TREE = ("table", "json")


@dataclass(frozen=True)
class Case:
    name: str
    args: Callable[[Hostile], list[str]]
    formats: tuple[str, ...] = ROWS
    codes: frozenset[int] = frozenset({0})
    writes: bool = False
    notes: bool = False
    """It tells the user on stderr what it changed (or would), whatever the format."""
    shows_payload: tuple[str, ...] = ROWS
    """Formats whose output must contain the markup payloads (a summary may not)."""


CASES = (
    Case("workflows", lambda h: ["workflows"]),
    Case("timeline failed", lambda h: ["timeline", h.failed], TREE),
    Case("timeline canceled", lambda h: ["timeline", h.canceled], TREE),
    Case("timeline --failures", lambda h: ["timeline", "latest-failed", "--failures"], TREE),
    Case("state", lambda h: ["state", h.failed], TREE),
    Case("state canceled", lambda h: ["state", h.canceled], TREE),
    Case("state --at", lambda h: ["state", h.failed, "--at", "9"], TREE),
    Case("diff", lambda h: ["diff", h.failed, "1", str(h.last_sequence)], TREE),
    Case("history task", lambda h: ["history", h.task]),
    Case("history stage", lambda h: ["history", h.stage]),
    Case("history --all", lambda h: ["history", h.failed, "--all"]),
    Case("events", lambda h: ["events"]),
    Case("events --reverse", lambda h: ["events", "--reverse", "--limit", "5"]),
    Case("metrics", lambda h: ["metrics", "--top", "5"]),
    Case("failures", lambda h: ["failures"]),
    Case("verify", lambda h: ["verify"], codes=frozenset({0, 1}), shows_payload=("table",)),
    Case("snapshots list", lambda h: ["snapshots", "list"]),
    Case("snapshots list WF", lambda h: ["snapshots", "list", h.failed]),
    Case("snapshots show", lambda h: ["snapshots", "show", str(h.snapshot)], TREE),
    Case("snapshots show bad", lambda h: ["snapshots", "show", str(h.bad_snapshot)], TREE),
    Case("snapshots verify", lambda h: ["snapshots", "verify"], codes=frozenset({1})),
    Case(
        "snapshots prune --dry-run",
        lambda h: ["snapshots", "prune", "--keep", "0", "--dry-run"],
        notes=True,
        shows_payload=("csv", "markdown"),
    ),
    Case("snapshots create", lambda h: ["snapshots", "create", h.failed], writes=True, notes=True),
    Case(
        "snapshots prune",
        lambda h: ["snapshots", "prune", "--keep", "0"],
        writes=True,
        notes=True,
        shows_payload=("csv", "markdown"),
    ),
    Case("subscriptions list", lambda h: ["subscriptions", "list"]),
    Case(
        "graph",
        lambda h: ["graph", h.failed],
        ("table", "json", "mermaid", "dot"),
        shows_payload=("table",),
    ),
    Case(
        "compare",
        lambda h: ["compare", h.failed, h.canceled],
        ("table", "json", "markdown"),
        shows_payload=(),
    ),
)
MATRIX = [pytest.param(c, f, id=f"{c.name}-{f}") for c in CASES for f in c.formats]

WIDE: dict[str, str | None] = {"COLUMNS": "4000"}
"""Wide enough that no value wraps, so payloads can be looked for verbatim."""
COLOUR: dict[str, str | None] = {"FORCE_COLOR": "1", "TERM": "xterm-256color", "NO_COLOR": None}


def run(args: list[str], env: dict[str, str | None] | None = None) -> Result:
    """In process, exceptions kept (a MarkupError must fail the test, not be an exit 1)."""
    runner = CliRunner()
    return runner.invoke(app, args, prog_name="stabilize", env=env, catch_exceptions=False)


@pytest.fixture
def db_for(hostile: Hostile, tmp_path: Path) -> Callable[[Case], Path]:
    """The shared hostile store, or a private copy for a command that writes."""

    def pick(case: Case) -> Path:
        if not case.writes:
            return hostile.path
        copy = tmp_path / "hostile-copy.db"
        shutil.copyfile(hostile.path, copy)
        return copy

    return pick


def run_case(
    case: Case, fmt: str, db: Path, hostile: Hostile, env: dict[str, str | None] | None = None
) -> Result:
    result = run([*case.args(hostile), "--db", str(db), "--format", fmt], env)
    assert result.exit_code in case.codes, result.stderr
    return result


@pytest.mark.parametrize(("case", "fmt"), MATRIX)
def test_ts01_ts02_ts03_every_command_and_format_is_terminal_safe_and_shows_markup_verbatim(
    case: Case, fmt: str, hostile: Hostile, db_for: Callable[[Case], Path]
) -> None:
    """TS-01/02/03 over the whole matrix, output piped and NO_COLOR set (tests/conftest.py)."""
    db = db_for(case)
    before = sha256(db)
    result = run_case(case, fmt, db, hostile, WIDE)
    assert_terminal_safe(result.stderr)
    if fmt in ("json", "ndjson"):
        assert_json_safe(result.stdout, lines=fmt == "ndjson")
        said = ("warning: ", "redacted ")  # "redacted N values": a key names /etc/passwd
        warnings = all(line.startswith(said) for line in result.stderr.splitlines())
        assert warnings or case.notes, "JSON runs say nothing on stderr but warnings"
    else:
        assert_terminal_safe(result.stdout)
        assert "\x1b" not in result.stdout
        if fmt in case.shows_payload:
            assert_markup_verbatim(shown(result.stdout, fmt))
    if not case.writes:
        assert sha256(db) == before


@pytest.mark.parametrize("case", [c for c in CASES if "table" in c.formats], ids=lambda c: c.name)
def test_ts02_a_narrow_terminal_wraps_but_never_cuts_an_escape_into_raw_bytes(
    case: Case, hostile: Hostile, db_for: Callable[[Case], Path]
) -> None:
    result = run_case(case, "table", db_for(case), hostile, {"COLUMNS": "20"})
    assert_terminal_safe(result.stdout + result.stderr)


@pytest.mark.parametrize("case", [c for c in CASES if "table" in c.formats], ids=lambda c: c.name)
def test_ts02_ts05_with_force_color_only_the_tools_sgr_codes_are_added(
    case: Case, hostile: Hostile, db_for: Callable[[Case], Path]
) -> None:
    """Stripping SGR from the coloured output gives exactly the plain output: every
    escape sequence in it was added by the tool's styling, none came from the data."""
    plain = run_case(case, "table", db_for(case), hostile, WIDE)
    coloured = run_case(case, "table", db_for(case), hostile, {**WIDE, **COLOUR})
    for stream in (coloured.stdout, coloured.stderr):
        assert "\x1b]" not in stream, "no OSC"
        assert "\x1bP" not in stream, "no DCS"
        assert_terminal_safe(SGR.sub("", stream))
    assert SGR.sub("", coloured.stdout) == plain.stdout
    assert "\x1b[6;8m" not in coloured.stdout


@pytest.mark.parametrize("case", [c for c in CASES if "table" in c.formats], ids=lambda c: c.name)
def test_ts05_no_color_removes_every_escape_even_when_colour_is_forced(
    case: Case, hostile: Hostile, db_for: Callable[[Case], Path]
) -> None:
    env = {**WIDE, "FORCE_COLOR": "1", "TERM": "xterm-256color", "NO_COLOR": "1"}
    result = run_case(case, "table", db_for(case), hostile, env)
    assert "\x1b" not in result.stdout + result.stderr


@pytest.mark.parametrize("case", [c for c in CASES if "table" in c.formats], ids=lambda c: c.name)
def test_ts05_piped_output_has_no_escape_even_without_no_color(
    case: Case, hostile: Hostile, db_for: Callable[[Case], Path]
) -> None:
    env = {**WIDE, "NO_COLOR": None, "FORCE_COLOR": None, "TERM": "xterm-256color"}
    result = run_case(case, "table", db_for(case), hostile, env)
    assert "\x1b" not in result.stdout + result.stderr


def test_ts05_a_real_process_under_force_color_adds_only_sgr_and_no_color_removes_it(
    hostile: Hostile,
) -> None:
    args = ("timeline", "latest-failed", "--db", str(hostile.path))
    coloured = run_process(*args, env={"FORCE_COLOR": "1", "NO_COLOR": "", "COLUMNS": "4000"})
    assert coloured.returncode == 0, coloured.stderr
    assert SGR.search(coloured.stdout)
    assert_terminal_safe(SGR.sub("", coloured.stdout + coloured.stderr))
    plain = run_process(*args, env={"FORCE_COLOR": "1", "NO_COLOR": "1", "COLUMNS": "4000"})
    assert "\x1b" not in plain.stdout + plain.stderr
    assert SGR.sub("", coloured.stdout) == plain.stdout


def test_ts05_emoji_codes_stay_text_and_nothing_is_highlighted_even_in_colour(
    hostile: Hostile,
) -> None:
    """Highlighting would wrap the number, URL and path in SGR codes of their own."""
    for args in (["timeline", hostile.failed], ["history", hostile.task], ["workflows"]):
        result = run([*args, "--db", str(hostile.path)], {**WIDE, **COLOUR})
        assert result.exit_code == 0, result.stderr
        assert SGR.search(result.stdout), "colour is on: the test can see highlighting"
        assert TRAPS in result.stdout
        assert "\u26a0" not in result.stdout


@pytest.mark.parametrize(
    ("case", "fmt"), [(c, f) for c in CASES for f in ("json", "ndjson") if f in c.formats]
)
def test_ts04_json_is_the_same_bytes_whatever_the_terminal_says(
    case: Case, fmt: str, hostile: Hostile, db_for: Callable[[Case], Path]
) -> None:
    """Never through Rich: no colour under FORCE_COLOR, no wrapping at 20 columns."""
    plain = run_case(case, fmt, db_for(case), hostile)
    env = {"FORCE_COLOR": "1", "TERM": "xterm-256color", "COLUMNS": "20", "NO_COLOR": None}
    styled = run_case(case, fmt, db_for(case), hostile, env)
    assert styled.stdout == plain.stdout
    assert_json_safe(styled.stdout, lines=fmt == "ndjson")


# -- exports ----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".svg", ".html"])
@pytest.mark.parametrize("which", ["failed", "canceled"])
def test_ts02_exports_escape_the_payload_and_carry_no_control_character(
    suffix: str, which: str, hostile: Hostile, tmp_path: Path
) -> None:
    target = tmp_path / f"run{suffix}"
    args = ["timeline", getattr(hostile, which), "--export", str(target), "--format", "json"]
    result = run([*args, "--db", str(hostile.path)])
    assert result.exit_code == 0, result.stderr
    text = target.read_text(encoding="utf-8")
    assert "<script>" not in text
    assert "&lt;script&gt;" in text
    assert_terminal_safe(text.replace("\t", " "))
    assert "\\x1b]0;pwned\\x07" in text.replace("&#160;", " ")


# -- events --follow ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["table", "ndjson", "csv", "markdown"])
def test_ts02_events_follow_lines_are_terminal_safe(
    fmt: str, hostile: Hostile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The backlog is printed, then the first poll's sleep is a Ctrl-C (exit 130)."""

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("time.sleep", interrupt)
    result = run(["events", "--follow", "--db", str(hostile.path), "--format", fmt], WIDE)
    assert result.exit_code == 130, result.stderr
    assert_terminal_safe(result.stdout + result.stderr)
    if fmt == "ndjson":
        assert_json_safe(result.stdout, lines=True)
    else:
        assert_markup_verbatim(shown(result.stdout, fmt))


# -- TS-06: strings from the user and from SQLite ---------------------------------------------


def _schema_error_db(path: Path) -> Path:
    """A store whose schema SQLite reports as malformed, naming a hostile object."""
    with SqliteEventStore(str(path)):
        pass
    conn = sqlite3.connect(path)
    name = "v" + HOSTILE.replace("\x00", "")
    conn.execute(f'CREATE VIEW "{name.replace(chr(34), chr(34) * 2)}" AS SELECT 1')
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET sql = 'CREATE VIEW x AS SELEC' WHERE type = 'view'")
    conn.commit()
    conn.close()
    return path


def _error_line(result: Result) -> str:
    lines = result.stderr.splitlines()
    assert lines, "an error line"
    assert lines[-1].startswith("error: "), result.stderr
    assert_terminal_safe(result.stderr)
    return lines[-1]


@pytest.mark.parametrize(
    "args",
    [
        ["timeline", HOSTILE],
        ["state", HOSTILE],
        ["history", HOSTILE],
        ["events", "--workflow", HOSTILE],
        ["events", "--type", HOSTILE],
        ["snapshots", "list", HOSTILE],
        ["snapshots", "create", HOSTILE],
        ["diff", HOSTILE, "1", "2"],
        ["timeline", "latest", "--export", HOSTILE.replace("\x00", "") + ".svg"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_ts06_ids_typed_on_the_command_line_are_neutralised_in_errors(
    args: list[str], hostile: Hostile
) -> None:
    result = run([*args, "--db", str(hostile.path)])
    assert result.exit_code in (2, 6)
    assert "\\x1b]0;pwned\\x07" in _error_line(result)


def test_ts06_a_hostile_database_path_is_neutralised(tmp_path: Path) -> None:
    missing = tmp_path / f"nope{HOSTILE.replace(chr(0), '')}.db"
    result = run(["workflows", "--db", str(missing)])
    assert result.exit_code == 3
    assert "\\x1b]0;pwned\\x07" in _error_line(result)


def test_ts06_a_hostile_file_that_is_not_a_database_is_neutralised(tmp_path: Path) -> None:
    name = HOSTILE.split(INVISIBLE)[0] + INVISIBLE[:12]  # a file name has at most 255 bytes
    bogus = tmp_path / f"bogus{name.replace('/', '_')}.db"
    bogus.write_bytes(b"not sqlite at all" * 100)
    result = run(["workflows", "--db", str(bogus)])
    assert result.exit_code in (3, 4)
    assert "\\x1b[2J" in _error_line(result)


def test_ts06_a_sqlite_error_message_naming_a_hostile_object_is_neutralised(
    tmp_path: Path,
) -> None:
    db = _schema_error_db(tmp_path / "schema.db")
    result = run(["workflows", "--db", str(db)])
    assert result.exit_code in (3, 4)
    assert "malformed database schema (v[red]x[/]" in _error_line(result)
    assert "\\x1b]0;pwned\\x07" in _error_line(result)


@pytest.mark.parametrize("suffix", [".svg", ".txt"])
def test_ts06_export_file_names_are_neutralised_in_notes_and_errors(
    suffix: str, hostile: Hostile, tmp_path: Path
) -> None:
    name = "out" + "".join(ESCAPES).replace("/", "_") + INVISIBLE + suffix
    target = tmp_path / name
    args = ["timeline", hostile.failed, "--export", str(target), "--format", "json"]
    result = run([*args, "--db", str(hostile.path)])
    assert_terminal_safe(result.stderr)
    assert "\\x1b]0;pwned\\x07" in result.stderr
    assert result.exit_code == (0 if suffix == ".svg" else 2)


def test_ts06_the_demo_path_is_neutralised_in_its_note(tmp_path: Path) -> None:
    target = tmp_path / f"demo{ESCAPES[0]}{INVISIBLE}.db"
    result = run(["demo", str(target)])
    assert result.exit_code == 0, result.stderr
    assert_terminal_safe(result.stderr)


def test_ts06_a_library_warning_naming_a_hostile_event_id_is_neutralised(
    hostile: Hostile,
) -> None:
    """The too-new event is skipped with a warning; Python's last-resort handler would
    have printed its id raw."""
    done = run_process("state", "latest-failed", "--db", str(hostile.path), "--json")
    assert done.returncode == 0, done.stderr
    skipped = [line for line in done.stderr.splitlines() if "event new-schema-[red]x[/]" in line]
    assert skipped, done.stderr
    assert skipped[0].startswith("warning: ")
    assert "\\x1b]0;pwned\\x07" in skipped[0]
    assert_terminal_safe(done.stderr)


def test_ts06_library_warnings_go_through_the_same_neutraliser_in_process(
    hostile: Hostile,
) -> None:
    result = run(["timeline", hostile.failed, "--db", str(hostile.path)], WIDE)
    assert result.exit_code == 0, result.stderr
    assert "new-schema-[red]x[/]" in result.stderr
    assert_terminal_safe(result.stderr)


# -- Typer's own usage errors -----------------------------------------------------------------

USAGE_ERRORS = {
    "a --format value": ["workflows", "--format", HOSTILE],
    "an unknown command": [HOSTILE],
    "an unknown option": ["workflows", f"--{HOSTILE}"],
    "an extra argument": ["workflows", HOSTILE],
    "a number": ["workflows", "--limit", HOSTILE],
    "a time": ["workflows", "--since", HOSTILE],
    "an entity type": ["history", "x", "--type", HOSTILE],
    "a snapshot id": ["snapshots", "show", HOSTILE],
    "a subcommand": ["snapshots", HOSTILE],
    "a sequence": ["diff", "latest", HOSTILE, "2"],
}


@pytest.mark.parametrize("args", USAGE_ERRORS.values(), ids=USAGE_ERRORS.keys())
def test_ts06_typer_usage_errors_never_echo_control_bidi_or_zero_width_characters(
    args: list[str], hostile: Hostile
) -> None:
    result = run([*args, "--db", str(hostile.path)])
    assert result.exit_code == 2
    assert_terminal_safe(result.stdout + result.stderr)


def test_ts06_a_real_process_gets_no_raw_escape_from_a_bad_format_value() -> None:
    """``--format $'\\x1b[2Jx'``: Typer's error box shows the value as an escape."""
    done = run_process("workflows", "--format", "\x1b[2Jx\u202e")
    assert done.returncode == 2
    assert_terminal_safe(done.stdout + done.stderr)
    assert "\\x1b[2Jx" in done.stderr


# -- the fixture itself -------------------------------------------------------------------


def test_the_hostile_store_carries_the_payload_in_every_text_column(hostile: Hostile) -> None:
    """If a field stopped holding the payload, the matrix above would prove less."""
    conn = sqlite3.connect(f"file:{hostile.path}?mode=ro", uri=True)
    try:
        columns = {
            "events": (
                "event_id",
                "event_type",
                "entity_id",
                "workflow_id",
                "data",
                "correlation_id",
                "causation_id",
                "actor",
                "source_handler",
            ),
            "snapshots": ("entity_id", "workflow_id", "state"),
            "event_subscriptions": ("id", "entity_filter", "webhook_url"),
        }
        for table, names in columns.items():
            for name in names:
                sql = f"SELECT COUNT(*) FROM {table} WHERE instr({name}, ?) OR instr({name}, ?)"
                needle = "\x1b]0;pwned"
                hits = conn.execute(sql, (needle, json.dumps(needle)[1:-1])).fetchone()[0]
                assert hits, f"{table}.{name}"
    finally:
        conn.close()
