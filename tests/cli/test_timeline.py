"""`stabilize timeline` on the engine's database and on small stores written here."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli.events.base import EntityType, Event, EventType
from stabilize_cli.events.store.sqlite import SqliteEventStore

from ..conftest import ENGINE_STATUSES, REAL_DB, sha256
from .conftest import Invoke, make_event, run_process

WORKFLOWS = [line.split()[0] for line in ENGINE_STATUSES.read_text().splitlines() if line.strip()]
FAILED = "01M8HAZSBBC9YVRF09H4BCF2ZP"
FLAKY = "01M8HAZVN51R0GZ2NVTT2DCYFJ"
CANCELED = "01M8HAZYWT69QYJS5TWX7ZPJGG"
ENGINE_KEYS = ("workflow_id", "status", "start_time", "end_time", "total_duration_ms", "entries")
PAYLOAD = "[red]boom[/] \x1b[2J \u202e [link=https://evil.example]x[/link]"
WF = "wf-payload"
SCRIPT = "<script>alert(1)</script>"


event = functools.partial(make_event, workflow_id=WF)


def write_db(path: Path, events: list[Event]) -> Path:
    store = SqliteEventStore(str(path))
    try:
        store.append_batch(events)
    finally:
        store.close()
    return path


def started(at: float = 0) -> list[Event]:
    return [
        event(
            EventType.WORKFLOW_CREATED, EntityType.WORKFLOW, WF, at, application="a", name=PAYLOAD
        ),
        event(EventType.WORKFLOW_STARTED, EntityType.WORKFLOW, WF, at + 0.1, context={}),
    ]


@pytest.fixture
def running_db(tmp_path: Path) -> Path:
    stage = event(EventType.STAGE_STARTED, EntityType.STAGE, "st-1", 0.5, name="Build", ref_id="b")
    return write_db(tmp_path / "running.db", [*started(), stage])


@pytest.fixture
def payload_db(tmp_path: Path) -> Path:
    """Untrusted text in every field the tree shows: names, errors, a skip reason."""
    s, t = EntityType.STAGE, EntityType.TASK
    events = [
        *started(),
        event(EventType.STAGE_STARTED, s, "st-1", 1, name=PAYLOAD, ref_id="x", type="python"),
        event(EventType.TASK_STARTED, t, "tk-1", 1.5, name=PAYLOAD, stage_id="st-1"),
        event(EventType.TASK_RETRIED, t, "tk-1", 2, name=PAYLOAD, attempt=1),
        event(EventType.TASK_FAILED, t, "tk-1", 3, status="TERMINAL", error=f"one\n{PAYLOAD}"),
        event(EventType.STAGE_FAILED, s, "st-1", 4, name=PAYLOAD, error=f"first\nsecond {PAYLOAD}"),
        event(EventType.STAGE_SKIPPED, s, "st-2", 5, name="Later", reason=PAYLOAD),
        event(EventType.WORKFLOW_FAILED, EntityType.WORKFLOW, WF, 6, error=f"{PAYLOAD} {SCRIPT}"),
    ]
    return write_db(tmp_path / "payload.db", events)


def pinned(output: str) -> str:
    return "\n".join(line.rstrip() for line in output.splitlines()) + "\n"


def timeline_json(invoke: Invoke, *args: str, db: Path = REAL_DB) -> dict[str, Any]:
    result = invoke("timeline", *args, "--json", db=db)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.mark.parametrize("workflow_id", WORKFLOWS)
def test_json_holds_the_engines_timeline_exactly(
    invoke: Invoke, engine_report: dict[str, Any], workflow_id: str
) -> None:
    document = timeline_json(invoke, workflow_id)
    expected = engine_report["workflows"][workflow_id]
    assert {k: document[k] for k in ENGINE_KEYS} == expected["timeline"]
    assert document["workflow_status"] == expected["state"]["status"]
    assert document["name"] == expected["state"]["name"]


@pytest.mark.parametrize("workflow_id", WORKFLOWS)
def test_json_stages_and_tasks_are_the_engines_rebuilt_ones(
    invoke: Invoke, engine_report: dict[str, Any], workflow_id: str
) -> None:
    state = engine_report["workflows"][workflow_id]["state"]
    listed = timeline_json(invoke, workflow_id)["stages"]
    stages = [s for s in listed if s["first_sequence"] is not None]
    # the rest come from the engine's stage_executions: stages that never started
    assert all(s["status"] == "NOT_STARTED" and not s["attempts"] for s in listed[len(stages) :])
    assert [(s["id"], s["status"], s["error"]) for s in stages] == [
        (i, s["status"], s.get("error")) for i, s in state["stages"].items()
    ]
    tasks = {
        t["id"]: (stage["id"], t["status"], t["retry_count"])
        for stage in stages
        for t in stage["tasks"]
    }
    assert tasks == {
        i: (t["stage_id"], t["status"], t.get("retry_count", 0)) for i, t in state["tasks"].items()
    }


def test_json_of_a_canceled_workflow_keeps_the_engines_null_status(invoke: Invoke) -> None:
    document = timeline_json(invoke, CANCELED)
    assert (document["status"], document["workflow_status"]) == (None, "CANCELED")
    assert document["cancel_reason"] == "superseded by a newer release"


def test_failures_json_keeps_only_the_engines_failure_entries(
    invoke: Invoke, engine_report: dict[str, Any]
) -> None:
    document = timeline_json(invoke, FAILED, "--failures")
    assert document["entries"] == engine_report["workflows"][FAILED]["timeline_failures"]
    assert [s["name"] for s in document["stages"]] == ["Build"]
    assert [t["name"] for t in document["stages"][0]["tasks"]] == ["Run Build"]


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("failed.txt", (FAILED,)),
        ("flaky-retries.txt", (FLAKY,)),
        ("canceled.txt", (CANCELED,)),
        ("failed-failures-only.txt", (FAILED, "--failures")),
    ],
)
def test_the_tree_is_pinned(
    invoke: Invoke, snapshot: Any, name: str, args: tuple[str, ...]
) -> None:
    result = invoke("timeline", *args)
    assert result.exit_code == 0, result.stderr
    snapshot.snapshot_dir = Path(__file__).parent / "snapshots" / "timeline"
    snapshot.assert_match(pinned(result.stdout), name)


def test_failures_of_a_succeeded_workflow_says_there_are_none(invoke: Invoke) -> None:
    result = invoke("timeline", FLAKY, "--failures")
    assert "no failed stages or tasks" in result.stdout
    assert "Prepare" not in result.stdout


@pytest.mark.parametrize(
    ("workflow_id", "code"),
    [(FAILED, 1), (CANCELED, 1), (FLAKY, 0)],
)
def test_exit_status_says_how_the_workflow_ended_after_printing(
    invoke: Invoke, workflow_id: str, code: int
) -> None:
    result = invoke("timeline", workflow_id, "--exit-status")
    assert result.exit_code == code
    assert workflow_id in result.stdout


def test_exit_status_of_a_running_workflow_is_8(invoke: Invoke, running_db: Path) -> None:
    result = invoke("timeline", WF, "--exit-status", db=running_db)
    assert result.exit_code == 8
    assert "RUNNING" in result.stdout
    assert "so far" in result.stdout


def test_without_exit_status_a_failed_workflow_exits_0(invoke: Invoke) -> None:
    assert invoke("timeline", FAILED).exit_code == 0


def test_svg_export_is_byte_identical_for_identical_input(invoke: Invoke, tmp_path: Path) -> None:
    first, second = tmp_path / "a.svg", tmp_path / "b.svg"
    one = invoke("timeline", FAILED, "--export", str(first))
    two = invoke("timeline", FAILED, "--export", str(second))
    assert (one.exit_code, two.exit_code) == (0, 0)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_text().startswith("<svg")
    assert "RuntimeError: compiler exploded" in first.read_text().replace("&#160;", " ")


def test_html_export_writes_the_file_and_still_prints_the_tree(
    invoke: Invoke, tmp_path: Path
) -> None:
    target = tmp_path / "timeline.HTML"
    result = invoke("timeline", FAILED, "--export", str(target))
    assert result.exit_code == 0
    assert result.stdout == invoke("timeline", FAILED).stdout
    assert result.stderr == f"wrote HTML timeline to {target}\n"
    assert "<html" in target.read_text().lower()


def test_export_with_an_unknown_extension_is_refused(invoke: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "timeline.png"
    result = invoke("timeline", FAILED, "--export", str(target))
    assert result.exit_code == 2
    assert result.stderr == f"error: --export {target}: the file name must end in .svg or .html\n"
    assert not target.exists()


def test_export_onto_the_database_itself_is_refused(invoke: Invoke, tmp_path: Path) -> None:
    db = tmp_path / "evidence.svg"
    db.write_bytes(REAL_DB.read_bytes())
    before = sha256(db)
    result = invoke("timeline", FAILED, "--export", str(db), db=db)
    assert result.exit_code == 2
    assert result.stderr == f"error: --export {db} would overwrite the database {db}\n"
    assert result.stdout == ""
    assert sha256(db) == before


def test_export_through_a_link_to_a_sidecar_is_refused(invoke: Invoke, real_db_copy: Path) -> None:
    link = real_db_copy.parent / "out.svg"
    link.symlink_to(Path(f"{real_db_copy}-journal"))
    result = invoke("timeline", FAILED, "--export", str(link), db=real_db_copy)
    assert result.exit_code == 2
    assert "would overwrite the database" in result.stderr
    assert not Path(f"{real_db_copy}-journal").exists()


def test_export_into_a_missing_directory_is_one_error_line(invoke: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "t.svg"
    result = invoke("timeline", FAILED, "--export", str(target))
    assert result.exit_code == 2
    assert result.stderr == f"error: cannot write {target}: No such file or directory\n"


def test_markup_and_escapes_in_names_and_errors_are_shown_literally(
    invoke: Invoke, payload_db: Path
) -> None:
    result = invoke("timeline", WF, db=payload_db)
    assert result.exit_code == 0, result.stderr
    assert "[red]boom[/]" in result.stdout
    assert "[link=https://evil.example]x[/link]" in result.stdout
    assert "\\x1b[2J" in result.stdout
    assert "\x1b" not in result.stdout
    assert "\u202e" not in result.stdout


def test_multi_line_errors_and_skip_reasons_are_shown_in_full(
    invoke: Invoke, payload_db: Path
) -> None:
    lines = invoke("timeline", WF, db=payload_db).stdout.splitlines()
    error_at = next(i for i, line in enumerate(lines) if "error: first" in line)
    assert "second [red]boom[/]" in lines[error_at + 1]
    assert any("skipped: [red]boom[/]" in line for line in lines)
    assert any("1 retry" in line for line in lines)


@pytest.mark.parametrize("suffix", [".svg", ".html"])
def test_payloads_reach_an_export_only_escaped(
    invoke: Invoke, payload_db: Path, suffix: str
) -> None:
    target = payload_db.parent / f"t{suffix}"
    assert invoke("timeline", WF, "--export", str(target), db=payload_db).exit_code == 0
    text = target.read_text()
    assert "&lt;script&gt;" in text
    assert SCRIPT not in text
    assert "\x1b" not in text
    assert "\u202e" not in text


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("01M8HAZVN5", FLAKY),
        ("latest", "01M8HB08C9H7SYB8SPXPFPZ44M"),
        ("latest-failed", "01M8HB0192C39KFA3JFF10TM4D"),
    ],
)
def test_a_prefix_or_latest_resolves_to_one_workflow(
    invoke: Invoke, ref: str, expected: str
) -> None:
    assert timeline_json(invoke, ref)["workflow_id"] == expected


def test_an_unknown_workflow_is_exit_6(invoke: Invoke) -> None:
    result = invoke("timeline", "01NOPE")
    assert result.exit_code == 6
    assert result.stderr == "error: no workflow '01NOPE' in the store\n"
    assert result.stdout == ""


def test_an_ambiguous_prefix_is_exit_2_and_lists_candidates(invoke: Invoke) -> None:
    result = invoke("timeline", "01M8HAZ")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: workflow prefix '01M8HAZ' is ambiguous: 01M8HAZSBB")


def test_a_row_format_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("timeline", FAILED, "--format", "csv")
    assert result.exit_code == 2
    assert result.stderr == "error: --format csv is not available here (use table, json)\n"


def test_an_ascii_terminal_gets_ascii_strips(tmp_path: Path) -> None:
    done = run_process("timeline", FAILED, "--db", str(REAL_DB), env={"PYTHONIOENCODING": "ascii"})
    assert done.returncode == 0, done.stderr
    assert "###" in done.stdout
    assert "...." in done.stdout


def test_the_real_process_exits_1_for_a_failed_workflow_and_changes_nothing() -> None:
    before = sha256(REAL_DB)
    done = run_process("timeline", "latest-failed", "--exit-status", "--db", str(REAL_DB))
    assert done.returncode == 1, done.stderr
    assert "cause (exit code 1): KeyError: 'missing'" in done.stdout  # not "Unknown error"
    assert done.stderr == ""
    assert sha256(REAL_DB) == before
    assert not os.path.exists(f"{REAL_DB}-journal")


def test_a_lower_case_ulid_prefix_finds_the_workflow(invoke: Invoke) -> None:
    lower = invoke("timeline", "01m8hb0192", "--json")
    assert lower.exit_code == 0, lower.stderr
    assert json.loads(lower.stdout)["workflow_id"] == "01M8HB0192C39KFA3JFF10TM4D"


def test_the_table_pass_keeps_no_entries_and_arranges_the_same_stages() -> None:
    """The table streams the events once and keeps only failure entries (its memory is the
    state's, issue 13 section 5); stages, tasks and sequences equal the JSON pass's."""
    from stabilize_cli.events.projections.timeline import FAILURE_EVENTS  # noqa: PLC0415
    from stabilize_cli.queries.timeline import workflow_timeline  # noqa: PLC0415

    statuses = [line.split()[0] for line in ENGINE_STATUSES.read_text().splitlines() if line]
    with SqliteEventStore(str(REAL_DB), create_tables=False, read_only=True) as store:
        for workflow in statuses:
            full = workflow_timeline(store, workflow)
            lean = workflow_timeline(store, workflow, keep_entries=False)
            failures = {t.value for t in FAILURE_EVENTS}
            assert list(lean.entries) == [e for e in full.entries if e.event_type in failures]
            assert len(full.entries) > len(lean.entries)
            assert (lean.stages, lean.loose_tasks, lean.state) == (
                full.stages,
                full.loose_tasks,
                full.state,
            )
            assert (lean.sequences, lean.ending, lean.last_event_at) == (
                full.sequences,
                full.ending,
                full.last_event_at,
            )
