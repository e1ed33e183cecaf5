"""The explorer driven headless: what each screen shows, what ``e`` writes, and that it
reads like the commands (same JSON, same redaction, inert untrusted text)."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from rich.console import Console, RenderableType
from textual.pilot import Pilot
from textual.widgets import Static, Tree
from typer.testing import CliRunner

from stabilize_cli.cli.app import app as cli
from stabilize_cli.events.base import EntityType, EventType
from stabilize_cli.events.store.sqlite import SqliteEventStore
from stabilize_cli.explore.app import ExploreApp, HelpScreen
from stabilize_cli.explore.events import EventList, EventsScreen
from stabilize_cli.explore.lists import TableList
from stabilize_cli.explore.pane import LinePane
from stabilize_cli.explore.run import RunScreen
from stabilize_cli.explore.runs import RunsScreen
from stabilize_cli.explore.tables import FailuresScreen, MetricsScreen

from ..cli.conftest import make_event
from ..conftest import REAL_DB
from .conftest import FAILED, FLAKY, settle

Explore = Any


def plain(renderable: RenderableType, width: int = 120) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    console.print(renderable)
    output = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in output.splitlines())


def pane(app: ExploreApp, selector: str) -> str:
    """A pane's text as it reads (a line pane: every line, also those scrolled away)."""
    widget = app.screen.query_one(selector)
    if isinstance(widget, LinePane):
        return "\n".join(line.plain.rstrip() for line in widget.lines)
    assert isinstance(widget, Static)
    return plain(widget.content)  # type: ignore[arg-type]


def command_json(*args: str, db: Path | str = REAL_DB, code: int = 0) -> Any:
    result = CliRunner().invoke(cli, [*args, "--db", str(db)], catch_exceptions=False)
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def exported(app: ExploreApp, tmp_path: Path) -> tuple[Path, Any]:
    before = set(tmp_path.glob("*.json"))
    app.screen.action_export()  # type: ignore[attr-defined]
    (path,) = set(tmp_path.glob("*.json")) - before
    return path, json.loads(path.read_text())


async def press(pilot: Pilot[None], *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
    await pilot.pause()


# -- a run's events: cursor, state, marks, diff ------------------------------------------


def test_open_a_run_move_the_cursor_mark_two_points_and_read_the_diff(
    explore: Explore, tmp_path: Path
) -> None:
    async def script(app: ExploreApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, RunScreen)
        await press(pilot, "v")
        screen = app.screen
        assert isinstance(screen, EventsScreen)
        assert "event 1  workflow.created" in pane(app, "#state-pane")
        await press(pilot, "down", "down", "down", "down", "down")
        assert screen.query_one(EventList).cursor == 5
        shown = pane(app, "#state-pane")
        assert "event 6  stage.completed" in shown
        assert "Fetch (01M8HAZSBBC9YVRF09H4BCF2ZH)" in shown
        await press(pilot, "m", "down", "down", "down", "m")
        shown = pane(app, "#state-pane")
        assert "sequence 6 → 9  2 changes" in shown
        assert "+ Build (01M8HAZSBBC9YVRF09H4BCF2ZK)" in shown
        assert "+ Run Build (01M8HAZSBBC9YVRF09H4BCF2ZJ)" in shown
        command = command_json("diff", FAILED, "6", "9", "--json")
        assert screen.view_diff is not None
        assert screen.view_diff.to_json() == command
        assert "stabilize diff 01M8HAZSBBC9YVRF09H4BCF2ZP 6 9 --db" in pane(app, "#command")
        path, document = exported(app, tmp_path)
        assert document == command
        assert path.name == "stabilize-diff-01M8HAZSBBC9YVRF09H4BCF2ZP-6-9.json"
        await press(pilot, "c")
        assert "event 9  task.failed" in pane(app, "#state-pane")
        _, state = exported(app, tmp_path)
        assert state == command_json("state", FAILED, "--at", "9", "--json")

    explore(script, workflow=FAILED)


def test_a_third_mark_replaces_the_oldest_and_marking_again_unmarks(explore: Explore) -> None:
    async def script(app: ExploreApp, pilot: Pilot[None]) -> list[list[int]]:
        await press(pilot, "v", "m", "down", "m", "down", "m")
        listing = app.screen.query_one(EventList)
        seen = [list(listing.marks)]
        await press(pilot, "m")
        seen.append(list(listing.marks))
        return seen

    first = [61, 62, 63]
    assert explore(script, workflow=FLAKY) == [first[1:], first[1:2]]


def test_the_list_jumps_to_the_selected_stages_first_event(explore: Explore) -> None:
    async def script(app: ExploreApp, pilot: Pilot[None]) -> int:
        await press(pilot, "down", "down", "down", "v")  # root, Fetch, Run Fetch, Build
        screen = app.screen
        assert isinstance(screen, EventsScreen)
        return screen.events.sequences[screen.query_one(EventList).cursor]

    assert explore(script, workflow=FAILED) == 7


# -- the run screen ----------------------------------------------------------------------


def test_selecting_a_failed_stage_shows_the_real_cause_from_the_engines_tables(
    explore: Explore,
) -> None:
    async def script(app: ExploreApp, pilot: Pilot[None]) -> str:
        await press(pilot, "down", "down", "down")  # root, Fetch, Run Fetch, Build
        return pane(app, "#detail-text")

    detail = explore(script, workflow=FAILED)
    assert detail.startswith("stage Build (")
    assert "cause (exit code 1): RuntimeError: compiler exploded" in detail
    assert "raise RuntimeError('compiler exploded')" in detail  # the stderr, in full
    assert "from stage_executions.context" in detail


def test_selecting_a_failed_task_shows_its_error_in_full_and_its_events(
    explore: Explore, tmp_path: Path
) -> None:
    async def script(app: ExploreApp, pilot: Pilot[None]) -> None:
        await press(pilot, "down", "down", "down", "down")  # Run Build
        detail = pane(app, "#detail-text")
        assert detail.startswith("task Run Build (01M8HAZSBBC9YVRF09H4BCF2ZJ)  TERMINAL")
        assert "error:\nTask failed" in detail
        assert "       8  task.started" in detail
        assert "       9  task.failed" in detail
        _, document = exported(app, tmp_path)
        assert document == command_json("timeline", FAILED, "--json")
        await press(pilot, "f")
        assert "--failures" in pane(app, "#command")
        _, failing = exported(app, tmp_path)
        assert failing == command_json("timeline", FAILED, "--failures", "--json")

    explore(script, workflow=FAILED)


def test_the_tree_shows_every_stage_and_task_with_its_range(explore: Explore) -> None:
    async def script(app: ExploreApp, pilot: Pilot[None]) -> list[str]:
        tree = app.screen.query_one(Tree)
        return [str(node.label) for node in tree.root.children]

    labels = explore(script, workflow=FAILED)
    assert [label.split()[0:2] for label in labels] == [
        ["Fetch", "SUCCEEDED"],
        ["Build", "TERMINAL"],
        ["Deploy", "NOT_STARTED"],  # no events: known from the engine's stage_executions
    ]
    assert "seq 3-6" in labels[0]
    assert "seq 7-10" in labels[1]


# -- runs --------------------------------------------------------------------------------


def test_slash_filters_the_runs_as_you_type_and_escape_clears(
    explore: Explore, tmp_path: Path
) -> None:
    async def script(app: ExploreApp, pilot: Pilot[None]) -> list[int]:
        table = app.screen.query_one("#runs", TableList)
        counts = [table.row_count]
        await press(pilot, "slash", "f", "l", "a")
        counts.append(table.row_count)
        await press(pilot, "k", "y")
        counts.append(table.row_count)
        await press(pilot, "enter")
        assert "then only rows with: flaky" in pane(app, "#command")
        _, document = exported(app, tmp_path)
        assert [d["name"] for d in document] == ["flaky-api", "flaky-api"]
        await press(pilot, "escape")
        counts.append(table.row_count)
        return counts

    assert explore(script) == [14, 2, 2, 14]


def test_enter_on_a_run_opens_it(explore: Explore) -> None:
    async def script(app: ExploreApp, pilot: Pilot[None]) -> str:
        await press(pilot, "down", "enter")
        assert isinstance(app.screen, RunScreen)
        return app.screen.workflow_id

    assert explore(script) == "01M8HB07W5GCNVDAVY6YB568Q8"


def test_the_runs_export_is_the_workflows_commands_json(explore: Explore, tmp_path: Path) -> None:
    async def script(app: ExploreApp, pilot: Pilot[None]) -> Any:
        assert "stabilize workflows --limit 200 --db" in pane(app, "#command")
        return exported(app, tmp_path)[1]

    assert explore(script) == command_json("workflows", "--limit", "200", "--json")


def test_new_runs_appear_without_a_key_press(explore: Explore, tmp_path: Path) -> None:
    db = tmp_path / "growing.db"
    shutil.copyfile(REAL_DB, db)
    wf = "01M9ZZZZZZZZZZZZZZZZZZZZZZ"

    async def script(app: ExploreApp, pilot: Pilot[None]) -> list[str]:
        table = app.screen.query_one("#runs", TableList)
        before = table.row_count
        with SqliteEventStore(str(db), create_tables=False) as writer:
            writer.append_batch(
                [make_event(EventType.WORKFLOW_CREATED, EntityType.WORKFLOW, wf, 0, workflow_id=wf)]
            )
        await pilot.pause(0.5)
        assert table.row_count == before + 1
        return [table.rows[0][0].plain]

    assert explore(script, db=db, refresh_seconds=0.1) == [wf]


# -- following a running workflow ---------------------------------------------------------


def test_a_running_workflows_tree_follows_its_events(explore: Explore, tmp_path: Path) -> None:
    db, wf = tmp_path / "running.db", "wf-running"
    w, s = EntityType.WORKFLOW, EntityType.STAGE
    with SqliteEventStore(str(db)) as writer:
        writer.append_batch(
            [
                make_event(EventType.WORKFLOW_CREATED, w, wf, 0, workflow_id=wf, name="run"),
                make_event(EventType.WORKFLOW_STARTED, w, wf, 1, workflow_id=wf, context={}),
                make_event(EventType.STAGE_STARTED, s, "st-1", 2, workflow_id=wf, name="Build"),
            ]
        )

    def later(*events: Any) -> None:
        with SqliteEventStore(str(db), create_tables=False) as writer:
            writer.append_batch(list(events))

    async def script(app: ExploreApp, pilot: Pilot[None]) -> None:
        screen = app.screen
        assert isinstance(screen, RunScreen)
        assert "following new events" in pane(app, "#title")
        assert "RUNNING" in str(screen.query_one(Tree).root.children[0].label)
        later(make_event(EventType.STAGE_STARTED, s, "st-2", 3, workflow_id=wf, name="Test"))
        await pilot.pause(0.5)
        assert [str(n.label).split()[0] for n in screen.query_one(Tree).root.children] == [
            "Build",
            "Test",
        ]
        later(
            make_event(EventType.STAGE_COMPLETED, s, "st-1", 4, workflow_id=wf, status="SUCCEEDED"),
            make_event(EventType.STAGE_COMPLETED, s, "st-2", 4, workflow_id=wf, status="SUCCEEDED"),
            make_event(EventType.WORKFLOW_COMPLETED, w, wf, 5, workflow_id=wf, status="SUCCEEDED"),
        )
        await pilot.pause(0.5)
        assert "following" not in pane(app, "#title")
        assert "SUCCEEDED" in str(screen.query_one(Tree).root.children[1].label)

    explore(script, db=db, workflow=wf, refresh_seconds=0.1)


# -- failures and metrics ------------------------------------------------------------------


def test_from_a_failure_group_to_one_of_its_runs(explore: Explore, tmp_path: Path) -> None:
    async def script(app: ExploreApp, pilot: Pilot[None]) -> str:
        await press(pilot, "F")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, FailuresScreen)
        _, document = exported(app, tmp_path)
        assert document == command_json("failures", "--json")
        groups = screen.query_one("#groups", TableList)
        assert groups.row_count == len(document)
        assert "last error:" in pane(app, "#group-text")
        await press(pilot, "enter")
        examples = screen.query_one("#examples", TableList)
        assert examples.has_focus
        assert examples.row_count == len(document[0]["example_workflow_ids"])
        await press(pilot, "enter")
        assert isinstance(app.screen, RunScreen)
        assert app.screen.workflow_id == document[0]["example_workflow_ids"][0]
        return app.screen.workflow_id

    explore(script)


def test_the_metrics_screen_is_the_metrics_command(explore: Explore, tmp_path: Path) -> None:
    async def script(app: ExploreApp, pilot: Pilot[None]) -> None:
        await press(pilot, "M")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, MetricsScreen)
        _, document = exported(app, tmp_path)
        assert document == command_json("metrics", "--json")
        stages = screen.query_one("#stages", TableList)
        assert [row[0].plain for row in stages.rows] == list(document["stages"])

    explore(script)


def test_help_opens_on_question_mark_and_closes_on_escape(explore: Explore) -> None:
    async def script(app: ExploreApp, pilot: Pilot[None]) -> list[str]:
        seen = []
        await press(pilot, "question_mark")
        seen.append(type(app.screen).__name__)
        await press(pilot, "escape")
        seen.append(type(app.screen).__name__)
        return seen

    assert explore(script) == [HelpScreen.__name__, RunsScreen.__name__]


def test_escape_goes_back_and_w_returns_to_the_runs(explore: Explore) -> None:
    async def script(app: ExploreApp, pilot: Pilot[None]) -> list[str]:
        seen = [type(app.screen).__name__]
        await press(pilot, "v")
        seen.append(type(app.screen).__name__)
        await press(pilot, "escape")
        seen.append(type(app.screen).__name__)
        await press(pilot, "v", "w")
        seen.append(type(app.screen).__name__)
        await press(pilot, "escape")  # the runs screen is the bottom: escape stays
        seen.append(type(app.screen).__name__)
        return seen

    assert explore(script, workflow=FAILED) == [
        "RunScreen",
        "EventsScreen",
        "RunScreen",
        "RunsScreen",
        "RunsScreen",
    ]


def test_an_export_never_replaces_a_file(explore: Explore, tmp_path: Path) -> None:
    taken = tmp_path / f"stabilize-timeline-{FAILED}.json"
    taken.write_text("mine")

    async def script(app: ExploreApp, pilot: Pilot[None]) -> str:
        path, _ = exported(app, tmp_path)
        return path.name

    assert explore(script, workflow=FAILED) == f"stabilize-timeline-{FAILED}-2.json"
    assert taken.read_text() == "mine"


def test_an_unreadable_event_is_listed_as_stored_and_the_state_says_incomplete(
    explore: Explore, tmp_path: Path
) -> None:
    db = tmp_path / "unreadable.db"
    shutil.copyfile(REAL_DB, db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE events SET data = '{\"status\": ' WHERE sequence = 65")
    conn.close()

    async def script(app: ExploreApp, pilot: Pilot[None]) -> None:
        await press(pilot, "v", "down", "down", "down", "down")  # 61 .. 65
        screen = app.screen
        assert isinstance(screen, EventsScreen)
        line = screen.query_one(EventList).line(4).plain
        assert line.startswith(" 65 task.completed unreadable")
        shown = " ".join(pane(app, "#state-pane").split())  # the head wraps at the pane's width
        assert "INCOMPLETE: 1 unreadable event(s) left out of this state" in shown
        _, document = exported(app, tmp_path)
        assert document["unreadable_sequences"] == [65]
        assert document == command_json("state", FLAKY, "--at", "65", "--json", db=db, code=4)

    explore(script, db=db, workflow=FLAKY)


def test_a_damaged_engine_table_shows_the_run_from_its_events_marked(
    explore: Explore, tmp_path: Path
) -> None:
    """The detail of a run whose stage rows sit on a damaged page: the timeline from the
    events, INCOMPLETE in the title, and the export is timeline's JSON with the mark."""
    db = tmp_path / "damaged.db"
    shutil.copyfile(REAL_DB, db)
    with sqlite3.connect(f"{REAL_DB.as_uri()}?mode=ro", uri=True) as conn:
        (page,) = conn.execute(
            "SELECT MIN(pageno) FROM dbstat WHERE name = 'stage_executions' AND pagetype = 'leaf'"
        ).fetchone()
    conn.close()
    with db.open("r+b") as stream:  # the page header: type 0 is no page type
        stream.seek((page - 1) * 4096)
        stream.write(b"\x00" * 8)

    async def script(app: ExploreApp, pilot: Pilot[None]) -> None:
        assert isinstance(app.screen, RunScreen)
        assert "INCOMPLETE: stage_executions damaged" in pane(app, "#title")
        _, document = exported(app, tmp_path)
        assert document["damaged_tables"] == ["stage_executions"]
        assert document == command_json("timeline", FAILED, "--json", db=db, code=4)

    explore(script, db=db, workflow=FAILED)
