"""One CommandRun per command: nothing of one run reaches the next, and the --db string
is read in one place."""

from __future__ import annotations

import inspect
import logging
import os
import shutil
from pathlib import Path

import pytest
import typer

from stabilize_cli.audit import UnsupportedBackendError, read_models_for
from stabilize_cli.audit.contracts import ReadModels
from stabilize_cli.cli.commands.timeline import timeline
from stabilize_cli.cli.run import STATE_LOGGER, CommandRun, open_for_audit
from stabilize_cli.events.errors import StoreOpenError
from stabilize_cli.events.store import AuditableStore
from stabilize_cli.events.store.sqlite import SqliteEventStore

from ..conftest import REAL_DB
from .conftest import Invoke


def test_typer_sees_the_options_and_the_context_never_the_run() -> None:
    shown = inspect.signature(timeline).parameters
    assert "run" not in shown
    assert next(iter(shown.values())).annotation is typer.Context
    assert {"workflow", "db", "fmt", "json_flag"} <= set(shown)


def test_no_redact_in_one_invocation_does_not_reach_the_next(invoke: Invoke) -> None:
    clear = invoke("--no-redact", "events", "--json", "--limit", "50")
    again = invoke("events", "--json", "--limit", "50")
    assert clear.exit_code == again.exit_code == 0
    assert "shown in clear" in clear.stderr
    assert "shown in clear" not in again.stderr


def test_a_run_takes_its_replay_filter_away_when_it_ends() -> None:
    state_logger = logging.getLogger(STATE_LOGGER)
    before = list(state_logger.filters)
    run = CommandRun()
    run.read_notes()
    assert len(state_logger.filters) == len(before) + 1
    run.finish()
    assert state_logger.filters == before


def test_two_runs_keep_their_own_notes_and_redactors() -> None:
    first, second = CommandRun(), CommandRun(no_redact=True)
    assert first.read_notes() is not second.read_notes()
    assert first.redactor.enabled
    assert not second.redactor.enabled
    first.finish()
    second.finish()


def test_the_run_opens_read_only_and_closes_what_it_opened(tmp_path: Path) -> None:
    db = tmp_path / "copy.db"
    shutil.copyfile(REAL_DB, db)
    before = db.read_bytes()
    run = CommandRun()
    with run.open(str(db), notes=True) as store:
        assert isinstance(store, AuditableStore)
        assert store.get_current_sequence() > 0
        assert store.event_filter is not None  # redacted by the run's redactor
    assert db.read_bytes() == before
    assert run.notes is not None
    run.finish()


def test_another_servers_url_answers_unsupported() -> None:
    with pytest.raises(StoreOpenError, match="unsupported connection string"):
        open_for_audit("mysql://host/db")


@pytest.mark.parametrize(
    "url", ["postgresql://user:pw@no-such-host.invalid/db", "postgres://no-such-host.invalid/db"]
)
def test_a_postgres_url_opens_postgres_and_an_unknown_host_cannot_open(url: str) -> None:
    with pytest.raises(StoreOpenError, match="cannot connect") as caught:
        open_for_audit(url)
    assert ":pw@" not in str(caught.value)


def test_the_factory_gives_sqlite_read_models_keyed_by_the_file(tmp_path: Path) -> None:
    with SqliteEventStore(str(REAL_DB), create_tables=False, read_only=True) as store:
        models = read_models_for(store)
        assert isinstance(models, ReadModels)
        assert models.catalog.latest() is not None
        assert models.cache is not None
        identity = models.cache.identity()
        assert identity.name == os.path.realpath(REAL_DB)
        stat = os.stat(REAL_DB)
        assert identity.stamp == {"device": stat.st_dev, "inode": stat.st_ino}
    with SqliteEventStore(":memory:") as memory:
        assert read_models_for(memory).cache is None


def test_an_unknown_backend_is_a_clear_error() -> None:
    class Elsewhere(SqliteEventStore):
        backend = "oracle"

    with Elsewhere(":memory:") as store, pytest.raises(UnsupportedBackendError) as caught:
        read_models_for(store)
    assert "no audit read models for the 'oracle' backend (Elsewhere)" in str(caught.value)
