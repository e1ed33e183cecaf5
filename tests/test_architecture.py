"""The layers' import direction and where SQL may live, checked on the source text.

cli -> queries, render -> audit -> events, never back; each backend's SQL in its own
package (``events/store/<backend>``, ``audit/<backend>``), so that a second backend is
a second package and nothing above the backends changes. Checked on the source text, so
a violation fails here before anyone notices a slow Tab-completion or a library that
suddenly needs Typer. The package's comments and docstrings name only files and modules
that exist (a moved module leaves no stale pointer behind). Every rule is also shown to
catch a planted violation.
"""

from __future__ import annotations

import ast
import io
import re
import shutil
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "stabilize_cli"
REPO = PACKAGE.parent

BACKENDS = ("sqlite", "postgres")
BACKEND_PACKAGES = tuple(
    f"{layer}/{backend}" for layer in ("events/store", "audit") for backend in BACKENDS
)
"""The only places SQL may be written (``postgres`` ones may not exist yet)."""
BACKEND_MODULES = tuple(f"stabilize_cli.{p.replace('/', '.')}" for p in BACKEND_PACKAGES)

# layer (a folder of the package) -> modules it must never import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "events": (
        "typer",
        "rich",
        "textual",
        "stabilize_cli.audit",
        "stabilize_cli.cli",
        "stabilize_cli.queries",
        "stabilize_cli.render",
    ),
    "audit": (
        "typer",
        "rich",
        "textual",
        "stabilize_cli.cli",
        "stabilize_cli.queries",
        "stabilize_cli.render",
    ),
    "queries": (
        "typer",
        "rich",
        "textual",
        "stabilize_cli.cli",
        "stabilize_cli.render",
        *BACKEND_MODULES,
    ),
    "render": ("typer", "textual", "stabilize_cli.cli"),
    "demo": (
        "typer",
        "rich",
        "textual",
        "stabilize_cli.cli",
        "stabilize_cli.queries",
        "stabilize_cli.render",
    ),
    "runs": (
        "typer",
        "rich",
        "textual",
        "stabilize_cli.cli",
        "stabilize_cli.queries",
        "stabilize_cli.render",
    ),
    "cli/commands": (*BACKEND_MODULES, "stabilize_cli.events.store"),
    # the interactive explorer sits beside the CLI: it is handed the store the command opened
    "explore": ("typer", "stabilize_cli.cli", *BACKEND_MODULES),
}
"""``cli/commands`` open their source through ``cli.run`` and never touch a store module."""

NEUTRAL_AUDIT = ("audit/contracts.py", "audit/metrics_cache.py")
"""Backend-neutral parts of ``audit``: no dialect (``audit/__init__`` is the factory that
imports one, on use)."""

SQL_KEYWORDS = (
    "SELECT ",
    "INSERT INTO",
    "DELETE FROM",
    "UPDATE events",
    "UPDATE snapshots",
    "UPDATE event_subscriptions",
    "PRAGMA ",
    "CREATE TABLE",
    "CREATE INDEX",
)


def imported_modules(path: Path, package_root: Path = PACKAGE) -> set[str]:
    """Absolute names of everything a module imports, relative imports resolved."""
    package = ".".join(path.relative_to(package_root.parent).with_suffix("").parts[:-1])
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


def layer_files(layer: str, package_root: Path = PACKAGE) -> list[Path]:
    return sorted((package_root / layer).rglob("*.py"))


def _matches(name: str, bad: str) -> bool:
    return name == bad or name.startswith(bad + ".")


def import_violations(layer: str, package_root: Path = PACKAGE) -> list[str]:
    return [
        f"{path.relative_to(package_root)} imports {name}"
        for path in layer_files(layer, package_root)
        for name in sorted(imported_modules(path, package_root))
        if any(_matches(name, bad) for bad in FORBIDDEN[layer])
    ]


def neutral_audit_violations(package_root: Path = PACKAGE) -> list[str]:
    return [
        f"{name} imports {module}"
        for name in NEUTRAL_AUDIT
        for module in sorted(imported_modules(package_root / name, package_root))
        if any(_matches(module, bad) for bad in BACKEND_MODULES)
    ]


def sql_outside_backends(package_root: Path = PACKAGE) -> list[str]:
    """Modules with SQL in them that are not in a backend package."""
    return [
        str(path.relative_to(package_root))
        for path in sorted(package_root.rglob("*.py"))
        if not path.relative_to(package_root).as_posix().startswith(BACKEND_PACKAGES)
        and any(k in path.read_text() for k in SQL_KEYWORDS)
    ]


PATH_REFERENCE = re.compile(
    r"(?<![\w/.:<>-])((?:\.\./)*(?:[\w-]+/)+[\w.-]+\.(?:py|md|toml|sql|txt))\b"
)
"""A file named by its path (``audit/metrics_cache.py``, ``../shared/style.md``)."""
BARE_REFERENCE = re.compile(r"(?<![\w/.:<>-])([\w-]+\.(?:py|md))\b")
"""A file named alone (``options.py``, ``stabilize-format.md``): it exists somewhere."""
MODULE_REFERENCE = re.compile(r"\bstabilize_cli(?:\.\w+)+")


def comments_and_docstrings(path: Path) -> Iterator[tuple[int, str]]:
    """Every comment and docstring of a module, with its line: where prose names files."""
    source = path.read_text()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string
    for node in ast.walk(ast.parse(source)):
        value = node.value if isinstance(node, ast.Expr) else None
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            yield node.lineno, value.value


def _known_files(package_root: Path) -> set[str]:
    """Paths, from the repository's root, of the package (as given) and of everything
    else in the repository (tests, docs, fixtures), and of ``../shared`` where present."""
    inside = {
        f"stabilize_cli/{p.relative_to(package_root).as_posix()}"
        for p in package_root.rglob("*")
        if p.is_file()
    }
    outside = {
        p.relative_to(REPO).as_posix()
        for top in REPO.iterdir()
        if top.name not in ("stabilize_cli", ".git")
        for p in ([top] if top.is_file() else top.rglob("*"))
        if p.is_file()
    }
    return inside | outside


def _bare_resolves(name: str, known: set[str]) -> bool:
    shared = REPO.parent / "shared"
    if not shared.is_dir() and name.endswith(".md"):
        return True  # shared/ is beside the repository in CI, not in every checkout
    in_shared = shared.is_dir() and any(shared.rglob(name))
    return in_shared or any(n == name or n.endswith("/" + name) for n in known)


def _path_resolves(reference: str, known: set[str]) -> bool:
    if reference.startswith("../shared/"):
        shared = REPO.parent / "shared"
        return not shared.is_dir() or (REPO.parent / reference[3:]).is_file()
    bare = reference.lstrip("./")
    return any(name == bare or name.endswith("/" + bare) for name in known)


def _module_resolves(reference: str, package_root: Path) -> bool:
    """``stabilize_cli.a.b`` is a module or package, or a name defined at the top of one."""
    parts = reference.split(".")[1:]
    for cut in range(len(parts), -1, -1):
        base = package_root.joinpath(*parts[:cut])
        module = base.with_suffix(".py") if cut else None
        if module is not None and module.is_file():
            source = module
        elif base.is_dir() and (base / "__init__.py").is_file():
            source = base / "__init__.py"
        else:
            continue
        rest = parts[cut:]
        if not rest:
            return True
        name = rest[0]
        defined = rf"^(?:async def|def|class)\s+{name}\b|^{name}\s*[:=]"
        imported = rf"^\s*(?:from .* )?import .*\b{name}\b|^\s+{name},$|\"{name}\""
        pattern = f"{defined}|{imported}"
        return re.search(pattern, source.read_text(), re.MULTILINE) is not None
    return False


def dangling_references(package_root: Path = PACKAGE) -> list[str]:
    """Files and modules named in the package's comments and docstrings that do not exist."""
    known = _known_files(package_root)
    found = []
    for path in sorted(package_root.rglob("*.py")):
        where = path.relative_to(package_root).as_posix()
        for line, text in comments_and_docstrings(path):
            found += [
                f"{where}:{line}: {m.group(1)}"
                for m in PATH_REFERENCE.finditer(text)
                if not _path_resolves(m.group(1), known)
            ]
            found += [
                f"{where}:{line}: {m.group(1)}"
                for m in BARE_REFERENCE.finditer(text)
                if not _bare_resolves(m.group(1), known)
            ]
            found += [
                f"{where}:{line}: {m.group(0)}"
                for m in MODULE_REFERENCE.finditer(text)
                if not _module_resolves(m.group(0), package_root)
            ]
    return found


# -- the rules, on the real tree ---------------------------------------------------------------


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_what_it_must_not(layer: str) -> None:
    assert import_violations(layer) == []


def test_sql_lives_only_in_backend_modules() -> None:
    assert sql_outside_backends() == []


def test_the_neutral_audit_modules_name_no_backend() -> None:
    assert neutral_audit_violations() == []


def test_the_backends_hold_sql() -> None:
    """The rule above is not vacuous: the SQLite packages are where the SQL went."""
    with_sql = {
        path.relative_to(PACKAGE).parts[:-1]
        for path in PACKAGE.rglob("*.py")
        if any(k in path.read_text() for k in SQL_KEYWORDS)
    }
    assert {("events", "store", "sqlite"), ("audit", "sqlite")} <= with_sql


def test_only_the_explorer_imports_textual() -> None:
    """Textual is an optional extra: anything else importing it breaks a plain install
    (the command checks for it with ``importlib.util.find_spec`` and imports the app)."""
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.parent.name != "explore"
        if any(_matches(name, "textual") for name in imported_modules(path))
    ]
    assert offenders == []


def test_comments_and_docstrings_name_only_files_that_exist() -> None:
    assert dangling_references() == []


def test_the_reference_check_reads_paths_and_modules() -> None:
    """Not vacuous: the package's prose does name files and modules, and they resolve."""
    named = [
        m.group(1)
        for path in PACKAGE.rglob("*.py")
        for _, text in comments_and_docstrings(path)
        for m in PATH_REFERENCE.finditer(text)
    ]
    assert "runs/model.py" in named
    assert any(n.startswith("../shared/") for n in named)
    assert len(named) >= 10


def test_the_architecture_check_sees_relative_imports() -> None:
    sample = PACKAGE / "cli" / "commands" / "workflows.py"
    assert "stabilize_cli.cli.errors" in imported_modules(sample)
    package_init = PACKAGE / "events" / "store" / "sqlite" / "__init__.py"
    assert "stabilize_cli.events.store.sqlite.store" in imported_modules(package_init)


# -- each rule fails on a planted violation --------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the package to plant violations in."""
    copy = tmp_path / "stabilize_cli"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    return copy


PLANTED_IMPORTS = [
    ("events", "events/leak.py", "from ..audit import read_models_for\n"),
    ("events", "events/store/leak.py", "from ...cli.run import CommandRun\n"),
    ("audit", "audit/leak.py", "from ..queries.errors import NotFoundError\n"),
    ("queries", "queries/leak.py", "from ..events.store.sqlite import SqliteEventStore\n"),
    ("queries", "queries/leak.py", "from ..audit.sqlite.catalog import WorkflowCatalog\n"),
    ("queries", "queries/leak.py", "import stabilize_cli.events.store.postgres\n"),
    ("queries", "queries/leak.py", "def f() -> None:\n    from ..audit.postgres import x\n"),
    ("cli/commands", "cli/commands/leak.py", "from ...events.store.raw import ReadNotes\n"),
    ("cli/commands", "cli/commands/leak.py", "from ...audit.sqlite import sqlite_read_models\n"),
    ("render", "render/leak.py", "import typer\n"),
    ("queries", "queries/leak.py", "from textual.app import App\n"),
    ("explore", "explore/leak.py", "from ..cli.run import CommandRun\n"),
    ("explore", "explore/leak.py", "from ..events.store.sqlite import SqliteEventStore\n"),
]


@pytest.mark.parametrize(("layer", "where", "code"), PLANTED_IMPORTS)
def test_a_planted_forbidden_import_is_caught(
    tree: Path, layer: str, where: str, code: str
) -> None:
    assert import_violations(layer, tree) == []
    (tree / where).write_text(code)
    assert [v.split(" imports ")[0] for v in import_violations(layer, tree)] == [where]


@pytest.mark.parametrize("where", NEUTRAL_AUDIT)
def test_a_backend_in_a_neutral_audit_module_is_caught(tree: Path, where: str) -> None:
    target = tree / where
    target.write_text(target.read_text() + "\nfrom .sqlite import sqlite_read_models\n")
    assert [v.split(" imports ")[0] for v in neutral_audit_violations(tree)] == [where]


@pytest.mark.parametrize(
    "where",
    [
        "cli/run.py",
        "queries/events.py",
        "render/output.py",
        "audit/contracts.py",
        "events/store/interface.py",
        "events/replay.py",
        "demo/__init__.py",
    ],
)
@pytest.mark.parametrize("sql", ["SELECT 1 FROM events", "PRAGMA table_info(events)"])
def test_planted_sql_outside_a_backend_is_caught(tree: Path, where: str, sql: str) -> None:
    assert sql_outside_backends(tree) == []
    target = tree / where
    target.write_text(target.read_text() + f"\nPLANTED = {sql!r}\n")
    assert sql_outside_backends(tree) == [where]


@pytest.mark.parametrize("where", ["events/store/postgres/reads.py", "audit/postgres/catalog.py"])
def test_sql_in_a_future_backend_package_is_allowed(tree: Path, where: str) -> None:
    target = tree / where
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("LATEST = 'SELECT workflow_id FROM events ORDER BY sequence DESC'\n")
    assert sql_outside_backends(tree) == []


@pytest.mark.parametrize(
    ("where", "prose", "named"),
    [
        (
            "audit/leak.py",
            '"""Figures kept in events/store/metrics_cache.py."""\n',
            "events/store/metrics_cache.py",
        ),
        (
            "cli/leak.py",
            "# see stabilize_cli/cli/nowhere.py for why\nX = 1\n",
            "stabilize_cli/cli/nowhere.py",
        ),
        (
            "queries/leak.py",
            'def f() -> None:\n    """As in ``runs/sqlite.py``."""\n',
            "runs/sqlite.py",
        ),
        (
            "render/leak.py",
            '"""Uses stabilize_cli.render.no_such_module."""\n',
            "stabilize_cli.render.no_such_module",
        ),
        (
            "events/leak.py",
            '"""Calls stabilize_cli.events.base.no_such_name."""\n',
            "stabilize_cli.events.base.no_such_name",
        ),
        ("runs/leak.py", "# kept in timeline_cache.py\n", "timeline_cache.py"),
        ("demo/leak.py", '"""As stabilize-format.md says."""\n', None),
    ],
)
def test_a_reference_to_a_missing_file_is_caught(
    tree: Path, where: str, prose: str, named: str | None
) -> None:
    assert dangling_references(tree) == []
    (tree / where).write_text(prose)
    if named is None:  # exists (in ../shared, or not checkable where shared/ is absent)
        assert dangling_references(tree) == []
        return
    assert [v.split(": ", 1)[1] for v in dangling_references(tree)] == [named]
    assert dangling_references(tree)[0].startswith(f"{where}:")


def test_a_reference_to_a_file_that_exists_is_not_caught(tree: Path) -> None:
    prose = (
        '"""Kept by audit/metrics_cache.py and stabilize_cli.events.base.new_event_id;'
        ' see cli/commands/<name>.py and tests/test_architecture.py."""\n'
    )
    (tree / "audit" / "fine.py").write_text(prose)
    assert dangling_references(tree) == []
