"""Tab on a value answered without Typer (``cli/quick_complete.py``): its table is the
app's, and wherever it answers, it answers exactly as Typer does."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from stabilize_cli.cli import completion, quick_complete
from stabilize_cli.cli.app import app

from ..conftest import REAL_DB, SHAPES_DB, sha256

# -- the table is the app's -------------------------------------------------------------------


def _kind(ctx: Any, param: Any, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """Which kind of value the app's callback for ``param`` asks ``candidates`` for."""
    asked: list[str] = []
    monkeypatch.setattr(completion, "candidates", lambda kind, *_: asked.append(kind) or [])
    param.shell_complete(ctx, "")
    monkeypatch.undo()
    return asked[0] if asked else None


def _spec_of(command: Any, ctx: Any, monkeypatch: pytest.MonkeyPatch) -> quick_complete.Spec:
    valued: set[str] = set()
    flags: set[str] = set()
    options: dict[str, str] = {}
    arguments: list[str | None] = []
    for param in command.get_params(ctx):
        if param.param_type_name == "argument":
            assert param.nargs == 1, "quick_complete counts one word per argument"
            arguments.append(_kind(ctx, param, monkeypatch))
        elif param.is_flag or param.count:
            flags.update(param.opts, param.secondary_opts)
        else:
            valued.update(param.opts)
            kind = _kind(ctx, param, monkeypatch)
            if kind is not None:
                options.update(dict.fromkeys(param.opts, kind))
    return quick_complete.Spec(frozenset(valued), frozenset(flags), options, tuple(arguments))


def _app_table(monkeypatch: pytest.MonkeyPatch) -> dict[str, quick_complete.Spec]:
    root = typer.main.get_command(app)
    root_ctx = root.make_context("stabilize", [], resilient_parsing=True)
    table: dict[str, quick_complete.Spec] = {}
    for name in root.list_commands(root_ctx):
        command = root.get_command(root_ctx, name)
        if command is None or command.hidden:
            continue
        ctx = command.make_context(name, [], parent=root_ctx, resilient_parsing=True)
        if hasattr(command, "list_commands"):
            for sub in command.list_commands(ctx):
                leaf = command.get_command(ctx, sub)
                leaf_ctx = leaf.make_context(sub, [], parent=ctx, resilient_parsing=True)
                table[f"{name} {sub}"] = _spec_of(leaf, leaf_ctx, monkeypatch)
        else:
            table[name] = _spec_of(command, ctx, monkeypatch)
    return table


def test_the_table_is_the_apps(monkeypatch: pytest.MonkeyPatch) -> None:
    """If this fails, a command's options changed: update ``COMMANDS`` to match."""
    assert _app_table(monkeypatch) == quick_complete.COMMANDS


def test_the_root_is_the_apps(monkeypatch: pytest.MonkeyPatch) -> None:
    root = typer.main.get_command(app)
    ctx = root.make_context("stabilize", [], resilient_parsing=True)
    spec = _spec_of(root, ctx, monkeypatch)
    assert spec.valued == quick_complete.ROOT.valued
    assert spec.flags - {"--version"} == quick_complete.ROOT.flags
    assert spec.options == {}


# -- wherever it answers, Typer gives the same answer -----------------------------------------


def _typer(env: dict[str, str]) -> tuple[str, int]:
    result = CliRunner().invoke(app, [], prog_name="stabilize", env=env)
    return result.stdout, result.exit_code


SHELLS = ["bash", "zsh", "fish get-args", "fish is-args"]


def _env(shell: str, words: str, **extra: str) -> dict[str, str]:
    name, _, action = shell.partition(" ")
    env = {"_STABILIZE_COMPLETE": f"complete_{name}", **extra}
    if name == "bash":
        parts = words.split()
        env.update(COMP_WORDS=words, COMP_CWORD=str(len(parts) - (0 if words.endswith(" ") else 1)))
    else:
        env["_TYPER_COMPLETE_ARGS"] = words
    if action:
        env["_TYPER_COMPLETE_FISH_ACTION"] = action
    return env


ANSWERED = [
    "stabilize timeline 01M8HB0",
    "stabilize timeline ",
    "stabilize timeline lat",
    "stabilize timeline zz",
    "stabilize --db {db} state 01M8HAZ",
    "stabilize diff --json 01M8HAZV",
    "stabilize graph --no-redact 01",
    "stabilize snapshots create 01M8",
    "stabilize events --type stage.",
    "stabilize events -t wor",
    "stabilize events -w 01M8HAZV",
    "stabilize events --workflow ",
    "stabilize --no-redact events --reverse --type task.",
    "stabilize workflows --status T",
    "stabilize workflows --status ",
    "stabilize workflows --status=T --status t",
    "stabilize -o json workflows --status S",
    "stabilize metrics --stage-type fl",
    "stabilize metrics --no-cache --stage-type ",
    "stabilize metrics --db={db} --stage-type p",
    "stabilize metrics --profile none --stage-type p",
]
LEFT_TO_TYPER = [
    "stabilize tim",
    "stabilize ",
    "stabilize timeline --",
    "stabilize timeline -- 01",
    "stabilize workflows --app ",
    "stabilize workflows -o ",
    "stabilize snapshots ",
    "stabilize snapshots li",
    "stabilize diff 01M8HAZVN51R0GZ2NVTT2DCYFJ ",
    "stabilize compare ",
    "stabilize --version timeline 01",
    "stabilize timeline --bogus 01",
    "stabilize workflows --app --status ",
    "stabilize nosuch 01",
]


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("words", ANSWERED)
def test_a_value_is_answered_as_typer_answers_it(shell: str, words: str) -> None:
    env = _env(shell, words.format(db=SHAPES_DB), STABILIZE_DB=str(REAL_DB))
    quick = quick_complete.answer("stabilize", env)
    assert quick is not None
    assert quick == _typer(env)


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("words", LEFT_TO_TYPER)
def test_what_it_is_not_sure_of_goes_to_typer(shell: str, words: str) -> None:
    assert quick_complete.answer("stabilize", _env(shell, words)) is None


def test_the_answers_hold_real_candidates() -> None:
    """The comparison above is not between two empty answers."""
    env = _env("bash", "stabilize timeline 01M8HB0", STABILIZE_DB=str(REAL_DB))
    out = quick_complete.answer("stabilize", env)
    assert out is not None
    assert "01M8HB00A8KDNY0HF3P6W3DFN6" in out[0].split()
    env = _env("bash", f"stabilize --db {SHAPES_DB} metrics --stage-type ")
    out = quick_complete.answer("stabilize", env)
    assert out is not None
    assert len(out[0].split()) >= 2


WORDS = st.sampled_from(
    [
        *("timeline", "state", "diff", "events", "workflows", "metrics", "snapshots", "create"),
        *("--db", str(REAL_DB), "--type", "-t", "--status", "--stage-type", "--workflow"),
        *("--json", "--no-redact", "--profile", "p", "-o", "json", "--limit", "5", "-"),
        *("01M8HB0", "stage.", "T", "fl", "--all", "--", "--reverse", "-ojson", "--db=x.db"),
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(WORDS, max_size=6), st.sampled_from(["", "0", "st", "T", "p"]), st.sampled_from(SHELLS)
)
def test_any_words_it_answers_typer_answers_the_same(
    before: list[str], incomplete: str, shell: str
) -> None:
    words = " ".join(["stabilize", *before, incomplete])
    if not incomplete:
        words += " " if before else ""
    env = _env(shell, words or "stabilize ", STABILIZE_DB=str(REAL_DB))
    quick = quick_complete.answer("stabilize", env)
    if quick is not None:
        assert quick == _typer(env), words


# -- the database in use, and what a Tab loads ------------------------------------------------


@pytest.fixture
def profile_config(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'default_profile = "fixture"\n[profiles.fixture]\ndb = "{REAL_DB}"\n')
    return config


def test_ids_come_from_the_profiles_database(profile_config: Path) -> None:
    env = _env("bash", "stabilize timeline 01M8HB0", STABILIZE_CONFIG=str(profile_config))
    env.pop("STABILIZE_DB", None)
    quick = quick_complete.answer("stabilize", {**env, "HOME": str(profile_config.parent)})
    assert quick is not None
    assert "01M8HB00A8KDNY0HF3P6W3DFN6" in quick[0].split()
    assert quick == _typer(env)


def test_the_environment_wins_over_the_profile(profile_config: Path, tmp_path: Path) -> None:
    env = _env(
        "bash",
        "stabilize timeline 01M8HB0",
        STABILIZE_CONFIG=str(profile_config),
        STABILIZE_DB=str(tmp_path / "missing.db"),
    )
    assert quick_complete.answer("stabilize", env) == ("\n", 0)


LOADED = """
import sys
sys.argv = [sys.argv[1]]
from stabilize_cli.cli.quick_complete import main
try:
    main()
except SystemExit:
    pass
heavy = sorted(m for m in ("typer", "rich", "psycopg", "stabilize_cli.events.store.sqlite.store")
               if m in sys.modules)
sys.stderr.write(f"loaded: {heavy}\\n")
"""


@pytest.mark.parametrize("program", ["stabilize", "stabilize-audit"])
@pytest.mark.parametrize(
    "words",
    ["timeline 01M8HB0", "metrics --stage-type fl", "workflows --status T"],
)
def test_a_tab_on_a_value_loads_neither_typer_rich_nor_the_store(program: str, words: str) -> None:
    env = {**os.environ, **_env("bash", f"{program} {words}", STABILIZE_DB=str(REAL_DB))}
    env.pop("_STABILIZE_COMPLETE")
    env["_" + program.replace("-", "_").upper() + "_COMPLETE"] = "complete_bash"
    done = subprocess.run(
        [sys.executable, "-c", LOADED, program],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "loaded: []" in done.stderr
    assert done.stdout.split()


def test_a_tab_on_a_wal_database_without_side_files_changes_nothing(tmp_path: Path) -> None:
    """The engine's closed WAL file is read as every audit reads it: nothing written beside
    it, its bytes untouched, and the answer the same as Typer's."""
    db = tmp_path / "wal.db"
    db.write_bytes(REAL_DB.read_bytes())
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wal.db"]
    before = sha256(db)
    for words in ("stabilize timeline 01M8HB0", "stabilize metrics --stage-type "):
        env = _env("bash", words, STABILIZE_DB=str(db))
        quick = quick_complete.answer("stabilize", env)
        assert quick is not None
        assert len(quick[0].split()) >= 2
        assert quick == _typer(env)
    assert sha256(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wal.db"]
