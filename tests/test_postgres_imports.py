"""psycopg is paid for only by PostgreSQL runs: SQLite commands and Tab never import it
(nor the PostgreSQL store, only the few lines that tell a server's URL from a file)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import REAL_DB

RUN_AND_REPORT = """
import sys
from stabilize_cli.cli.app import main
try:
    main()
except SystemExit:
    pass
backend = "stabilize_cli.events.store.postgres.store"
loaded = any(m.split(".")[0] == "psycopg" for m in sys.modules) or backend in sys.modules
print("PSYCOPG:" + str(loaded), file=sys.stderr)
"""


def psycopg_loaded(args: list[str], **env: str) -> bool:
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_REPORT, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
        check=False,
    )
    last = done.stderr.splitlines()[-1]
    assert last.startswith("PSYCOPG:"), done.stderr
    return last == "PSYCOPG:True"


@pytest.mark.parametrize(
    "args",
    [["timeline", "latest"], ["events", "--limit", "3"], ["verify"], ["metrics"]],
)
def test_an_sqlite_run_does_not_import_psycopg(args: list[str]) -> None:
    assert not psycopg_loaded(args, STABILIZE_DB=str(REAL_DB))


def test_tab_completion_does_not_import_psycopg() -> None:
    assert not psycopg_loaded(
        [], _STABILIZE_COMPLETE="complete_bash", COMP_WORDS="stabilize tim", COMP_CWORD="1"
    )


def test_naming_the_postgres_store_does_not_import_the_driver() -> None:
    code = (
        "import sys\n"
        "from stabilize_cli.events import PostgresEventStore\n"
        "print(any(m.split('.')[0] == 'psycopg' for m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False"
