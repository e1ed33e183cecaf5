"""The quick coercion agrees with Typer's own on every parameter of the app, and keeps
Pydantic out of a command's run."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer._click import Context
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param
from typer.core import TyperGroup, _TyperParameter
from typer.testing import CliRunner

from stabilize_cli.cli import coercion
from stabilize_cli.cli.app import app
from stabilize_cli.cli.coercion import QuickCoercion
from stabilize_cli.render.formats import Format

from ..conftest import REAL_DB

SAMPLES: tuple[Any, ...] = (
    "",
    "x",
    "0",
    "7",
    "-3",
    "007",
    "+5",
    " 5",
    "1_000",
    "1e3",
    "2.5",
    "99999999999999999999",
    "table",
    "JSON",
    "Csv",
    "stage",
    "TASK",
    "2026-11-28",
    "2026-11-28T10:00:00+02:00",
    "1700000000",
    "true",
    "no",
    "0.5",
    "-2.25",
    "1.",
    ".5",
    "-0",
    "3.14159265358979",
    ("a", "b"),
    ["SUCCEEDED"],
    (),
    # defaults reach coercion as they are
    50,
    0,
    -1,
    True,
    1.0,
    2.5,
    Format.TABLE,
)


def every_parameter() -> Iterator[tuple[str, _TyperParameter, Context]]:
    root = typer.main.get_command(app)
    root_ctx = Context(root, info_name="stabilize", help_option_names=["-h", "--help"])

    def walk(command: Any, path: str) -> Iterator[tuple[str, _TyperParameter, Context]]:
        ctx = Context(command, info_name=path, parent=root_ctx)
        for param in [*command.params, command.get_help_option(ctx)]:
            if isinstance(param, _TyperParameter):
                yield f"{path} {param.name}", param, ctx
        if isinstance(command, TyperGroup):
            for name, sub in command.commands.items():
                yield from walk(sub, f"{path} {name}")

    yield from walk(root, "stabilize")


PARAMETERS = list(every_parameter())


def outcome(call: Any) -> tuple[str, Any]:
    try:
        return "ok", call()
    except BadParameter as error:
        return "error", error.format_message()


@pytest.mark.parametrize(("where", "param", "ctx"), PARAMETERS, ids=[p[0] for p in PARAMETERS])
def test_quick_coercion_gives_typers_result_or_typers_error(
    where: str, param: _TyperParameter, ctx: Context
) -> None:
    descriptor = param.type_descriptor
    quick = QuickCoercion(
        parameter_info=descriptor.parameter_info, annotation=descriptor.annotation
    )
    typers = build_runtime_param(descriptor)
    for value in SAMPLES:
        ours = outcome(lambda v=value: quick._coerce_value(v, param, ctx))
        theirs = outcome(lambda v=value: typers._coerce_value(v, param, ctx))
        assert ours == theirs, (where, value)
        if ours[0] == "ok":
            assert type(ours[1]) is type(theirs[1]), (where, value)


def test_everyday_values_never_reach_typers_pydantic_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(descriptor: Any) -> Any:
        raise AssertionError("fell back to Typer's coercion")

    monkeypatch.setattr(coercion, "build_runtime_param", refuse)
    found = {where: (param, ctx) for where, param, ctx in PARAMETERS}
    cases = [
        ("stabilize timeline workflow", "01ABC", "01ABC"),
        ("stabilize workflows limit", "20", 20),
        ("stabilize workflows fmt", "JSON", Format.JSON),
        ("stabilize workflows status", ("FAILED",), ["FAILED"]),
        ("stabilize state at", "-4", -4),
    ]
    for where, value, expected in cases:
        param, ctx = found[where]
        descriptor = param.type_descriptor
        quick = QuickCoercion(
            parameter_info=descriptor.parameter_info, annotation=descriptor.annotation
        )
        assert quick._coerce_value(value, param, ctx) == expected, where


REPORT_PYDANTIC = """
import sys
from stabilize_cli.cli.app import main
try:
    main()
except SystemExit as done:
    code = done.code
print("PYDANTIC:" + str(any(m.startswith("pydantic") for m in sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args",
    [
        ["timeline", "latest", "--format", "json"],
        ["workflows", "--limit", "3", "--status", "SUCCEEDED"],
        ["workflows"],
        ["events"],
        ["events", "--interval", "0.5", "--limit", "2"],
        ["verify"],
        ["failures"],
        ["metrics", "--top", "3"],
        ["history", "--type", "stage", "nothing-here"],
        ["--version"],
    ],
)
def test_a_run_with_everyday_arguments_does_not_import_pydantic(args: list[str]) -> None:
    env = {**os.environ, "STABILIZE_DB": str(REAL_DB)}
    done = subprocess.run(
        [sys.executable, "-c", REPORT_PYDANTIC, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.stderr.splitlines()[-1] == "PYDANTIC:False", done.stderr


def test_an_odd_value_still_gets_typers_own_error() -> None:
    result = CliRunner().invoke(app, ["workflows", "--limit", "-1", "--db", str(REAL_DB)])
    assert result.exit_code == 2
    assert result.output == (
        "error: Invalid value for '--limit': Input should be greater than or equal to 0\n"
    )
