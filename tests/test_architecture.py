"""The layers' import direction: cli -> queries, render -> events, never back.

Checked on the source text, so a violation fails here before anyone notices a slow
Tab-completion or a library that suddenly needs Typer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "stabilize_cli"

# layer -> modules it must never import (absolute names, or relative-to-package names)
FORBIDDEN = {
    "events": (
        "typer",
        "rich",
        "stabilize_cli.cli",
        "stabilize_cli.queries",
        "stabilize_cli.render",
    ),
    "queries": ("typer", "rich", "stabilize_cli.cli", "stabilize_cli.render"),
    "render": ("typer", "stabilize_cli.cli"),
    "runs": ("typer", "rich", "stabilize_cli.cli", "stabilize_cli.queries", "stabilize_cli.render"),
    "demo": ("typer", "rich", "stabilize_cli.cli", "stabilize_cli.queries", "stabilize_cli.render"),
}


def imported_modules(path: Path) -> set[str]:
    """Absolute names of everything a module imports, relative imports resolved."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
    return names


def layer_files(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_a_layer_above_it(layer: str) -> None:
    violations = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in layer_files(layer)
        for name in imported_modules(path)
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[layer])
    ]
    assert violations == []


def test_the_architecture_check_sees_relative_imports() -> None:
    sample = PACKAGE / "cli" / "commands" / "workflows.py"
    assert "stabilize_cli.cli.errors" in imported_modules(sample)


def test_no_sql_outside_the_store_package() -> None:
    keywords = ("SELECT ", "INSERT INTO", "DELETE FROM", "UPDATE events", "PRAGMA ")
    offenders = [
        str(path.relative_to(PACKAGE))
        for layer in ("cli", "queries", "render")
        for path in layer_files(layer)
        if any(k in path.read_text() for k in keywords)
    ]
    assert offenders == []
