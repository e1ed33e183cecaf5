"""Shell completions: the committed scripts are current, and completing really works."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import typer
from typer.testing import CliRunner

from stabilize_cli.cli.app import app

from ..conftest import REAL_DB

COMPLETIONS = Path(__file__).resolve().parents[2] / "completions"
GENERATED = (
    *("stabilize.bash", "_stabilize", "stabilize.fish"),
    *("stabilize-audit.bash", "_stabilize-audit", "stabilize-audit.fish"),
)


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "completions_generate", COMPLETIONS / "generate.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def typer_output(**env: str) -> str:
    result = CliRunner().invoke(app, [], prog_name="stabilize", env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def visible_commands() -> list[str]:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    return sorted(name for name, command in group.commands.items() if not command.hidden)


def test_the_folder_holds_only_the_generated_scripts_and_their_generator() -> None:
    names = {p.name for p in COMPLETIONS.iterdir() if p.name != "__pycache__"}
    assert names == {*GENERATED, "generate.py"}


@pytest.mark.parametrize("name", GENERATED)
def test_committed_script_is_what_generate_writes_now(name: str) -> None:
    """If this fails, run `python completions/generate.py` and commit the result."""
    committed = (COMPLETIONS / name).read_bytes().decode("utf-8")
    assert committed == load_generator().render(name)


@pytest.mark.parametrize(
    ("name", "shell"), [("stabilize.bash", "bash"), ("stabilize.fish", "fish")]
)
def test_bash_and_fish_scripts_are_typer_own(name: str, shell: str) -> None:
    script = typer_output(_STABILIZE_COMPLETE=f"source_{shell}")
    assert (COMPLETIONS / name).read_text() == script.strip() + "\n"


def test_zsh_script_is_the_two_line_fpath_form_of_typer_own() -> None:
    script = typer_output(_STABILIZE_COMPLETE="source_zsh")
    lines = (COMPLETIONS / "_stabilize").read_text().splitlines()
    assert lines[0] == "#compdef stabilize"
    assert len(lines) == 2
    assert lines[1] in [line.strip() for line in script.splitlines()]
    assert "_STABILIZE_COMPLETE=complete_zsh stabilize" in lines[1]


@pytest.mark.parametrize("command", visible_commands())
def test_bash_completion_of_a_prefix_lists_the_command(command: str) -> None:
    words = f"stabilize {command[:3]}"
    out = typer_output(_STABILIZE_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD="1")
    assert command in out.splitlines()


def test_registered_commands_include_timeline_and_demo() -> None:
    assert {"timeline", "workflows", "demo"} <= set(visible_commands())


def test_engine_commands_are_not_offered() -> None:
    out = typer_output(
        _STABILIZE_COMPLETE="complete_bash", COMP_WORDS="stabilize mg", COMP_CWORD="1"
    )
    assert out.split() == []


def test_bash_completion_lists_a_command_options() -> None:
    words = "stabilize demo --"
    out = typer_output(_STABILIZE_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD="2")
    assert {"--seed", "--force"} <= set(out.splitlines())


def test_zsh_completion_lists_the_command_with_its_help() -> None:
    out = typer_output(_STABILIZE_COMPLETE="complete_zsh", _TYPER_COMPLETE_ARGS="stabilize tim")
    assert '"timeline":' in out


def test_fish_completion_lists_the_command() -> None:
    out = typer_output(
        _STABILIZE_COMPLETE="complete_fish",
        _TYPER_COMPLETE_FISH_ACTION="get-args",
        _TYPER_COMPLETE_ARGS="stabilize tim",
    )
    assert [line.split("\t")[0] for line in out.splitlines()] == ["timeline"]


COMPLETE_AND_REPORT_IMPORTS = """
import sys
from stabilize_cli.cli.app import main
try:
    main()
except SystemExit:
    pass
prefixes = ("rich.", "stabilize_cli.events.store")
heavy = sorted(m for m in sys.modules if m == "rich" or m.startswith(prefixes))
print("HEAVY:" + ",".join(heavy))
"""


def test_completing_imports_neither_rich_nor_the_event_store() -> None:
    """Every Tab runs the program: it must not pay for Rich or the library."""
    env = {**os.environ, "_STABILIZE_COMPLETE": "complete_bash"}
    env.update(COMP_WORDS="stabilize tim", COMP_CWORD="1")
    done = subprocess.run(
        [sys.executable, "-c", COMPLETE_AND_REPORT_IMPORTS],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["timeline", "HEAVY:"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_sourced_bash_script_completes_in_a_real_bash(tmp_path: Path) -> None:
    stabilize = Path(sys.executable).with_name("stabilize")
    if not stabilize.exists():
        pytest.skip("the stabilize script is not installed next to this Python")
    script = (
        f"source {COMPLETIONS / 'stabilize.bash'}\n"
        "COMP_WORDS=(stabilize work); COMP_CWORD=1\n"
        "_stabilize_completion stabilize\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{stabilize.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["workflows"]


VALUE_CASES = [
    ("stabilize timeline 01M8HB0", ["01M8HB00A8KDNY0HF3P6W3DFN6", "01M8HB08C9H7SYB8SPXPFPZ44M"]),
    ("stabilize state lat", ["latest", "latest-failed"]),
    ("stabilize events --workflow 01M8HAZV", ["01M8HAZVN51R0GZ2NVTT2DCYFJ"]),
    ("stabilize workflows --status TE", ["TERMINAL"]),
    ("stabilize events --type stage.f", ["stage.failed"]),
    ("stabilize metrics --stage-type fl", ["flaky"]),
]


@pytest.mark.parametrize(("words", "expected"), VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_values_complete_from_the_database_in_use(words: str, expected: list[str]) -> None:
    out = typer_output(
        _STABILIZE_COMPLETE="complete_bash",
        COMP_WORDS=words,
        COMP_CWORD=str(len(words.split()) - 1),
        STABILIZE_DB=str(REAL_DB),
    ).splitlines()
    assert set(expected) <= set(out)
    typed = words.rsplit(maxsplit=1)[-1]
    assert all(line.upper().startswith(typed.upper()) for line in out)


def test_a_missing_database_completes_nothing_and_says_nothing() -> None:
    result = CliRunner().invoke(
        app,
        [],
        prog_name="stabilize",
        env={
            "_STABILIZE_COMPLETE": "complete_bash",
            "COMP_WORDS": "stabilize timeline 01",
            "COMP_CWORD": "2",
            "STABILIZE_DB": "/nonexistent/x.db",
        },
    )
    assert result.exit_code == 0
    assert result.stdout.strip() == ""  # no candidates (bash gets an empty reply)
    assert result.stderr == ""


VALUE_REPORT = """
import sys
from stabilize_cli.cli.app import main
try:
    main()
except SystemExit:
    pass
loaded = [m for m in sys.modules if m == "rich" or m.startswith("rich.")]
sys.stderr.write(f"rich modules: {len(loaded)}\\n")
"""


@pytest.mark.parametrize("program", ["stabilize", "stabilize-audit"])
def test_completing_values_reads_the_database_without_rich(program: str) -> None:
    var = "_" + program.replace("-", "_").upper() + "_COMPLETE"
    env = {**os.environ, var: "complete_bash", "STABILIZE_DB": str(REAL_DB)}
    env.update(COMP_WORDS=f"{program} timeline 01M8HB0", COMP_CWORD="2")
    done = subprocess.run(
        [sys.executable, "-c", VALUE_REPORT.replace("main()", f"sys.argv = ['{program}']; main()")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert "01M8HB0192C39KFA3JFF10TM4D" in done.stdout.splitlines()
    assert "rich modules: 0" in done.stderr
