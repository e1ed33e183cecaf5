"""One command run: everything a command decides once, and the store it opened.

:func:`~stabilize_cli.cli.errors.guarded` makes one :class:`CommandRun` per command (the
root's ``--no-redact`` choice, ``STABILIZE_BUSY_TIMEOUT``) and hands it to the command body,
which then only parses, opens (:meth:`CommandRun.open`), asks a query and shows the answer.
Nothing here lives longer than the run: no context variable, module global or weak set.

Imported at start-up (by ``errors``): the redactor, the store and the renderers are
imported only when a run needs them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..events.store import AuditableStore
    from ..events.store.raw import ReadNotes
    from ..redaction import Redactor
    from ..render.formats import Format
    from .profiles import Profile

NO_REDACT_KEY = "stabilize.no_redact"
"""Where the root callback leaves ``--no-redact`` in the invocation's shared ``ctx.meta``."""
PROFILE_KEY = "stabilize.profile"
"""Where the root callback leaves the :class:`~.profiles.Profile` in use."""
NO_REDACT_WARNING = "warning: --no-redact: secrets in the output are shown in clear\n"
STATE_LOGGER = "stabilize_cli.events.state"


class CommandRun:
    """Format, redactor, read notes, busy timeout and the opened source of one command."""

    def __init__(self, *, no_redact: bool = False) -> None:
        from ..redaction import Redactor  # noqa: PLC0415 - 10 ms of patterns: not for Tab

        self.redactor: Redactor = Redactor(enabled=not no_redact)
        self.busy_timeout: float | None = None
        """Seconds each connection waits for a lock (None: the library's default)."""
        self.format: Format | None = None
        self.profile: Profile | None = None
        """The profile of ``config.toml`` in use (``config show`` reports it)."""
        self.source_of: Callable[[str], str] = _default_source
        """Where a parameter's value came from: command line, environment, profile, default."""
        self.notes: ReadNotes | None = None
        self._noted = _AlreadyNoted(self)
        self._told = False
        if no_redact:
            sys.stderr.write(NO_REDACT_WARNING)

    # -- parse ------------------------------------------------------------------------------

    def output(self, fmt: Format, json_flag: bool) -> Format:
        """The output format (``--json`` is ``--format json``), kept for the run."""
        from .options import pick_format  # noqa: PLC0415 - typer is loaded already

        self.format = pick_format(fmt, json_flag)
        return self.format

    def read_notes(self) -> ReadNotes:
        """Notes for the reads of this run; while the run lasts, the replay's own per-event
        warnings about events they hold are dropped (:meth:`conclude` says it once)."""
        if self.notes is None:
            from ..events.store.raw import ReadNotes  # noqa: PLC0415 - the store is lazy

            self.notes = ReadNotes()
            logging.getLogger(STATE_LOGGER).addFilter(self._noted)
        return self.notes

    # -- open -------------------------------------------------------------------------------

    @contextmanager
    def open(
        self, db: str, *, notes: bool = False, consistent: bool = True
    ) -> Iterator[AuditableStore]:
        """The audited store, read-only: auditing never changes the evidence. Every event
        read from it is redacted by the run's redactor; with ``notes``, an unreadable row is
        left out of event reads and noted in :attr:`notes`. With ``consistent`` (all but a
        follower, which must see what comes later), the run's reads share one snapshot
        where the backend offers it, so a report's numbers agree while writers go on."""
        with _db_input():
            store = open_for_audit(
                db,
                self.redactor,
                notes=self.read_notes() if notes else None,
                busy_timeout=self.busy_timeout,
            )
        with _closing(store), store.consistent_reads() if consistent else nullcontext():
            yield store

    @contextmanager
    def open_for_writing(self, db: str) -> Iterator[AuditableStore]:
        """For the few commands that write (``snapshots create|prune``): never creates a file."""
        with _db_input():
            store = open_for_writing(db, busy_timeout=self.busy_timeout)
        with _closing(store):
            yield store

    # -- show -------------------------------------------------------------------------------

    def conclude(self, *, shown_raw: bool = False) -> None:
        """Warn about what the reads met, after the output; exit 4 if events were left out."""
        if self.notes is not None:
            from .reading import conclude  # noqa: PLC0415 - render helpers, on use

            self._release_notes()
            conclude(self.notes, shown_raw=shown_raw)

    def redact(self, message: str) -> str:
        """An error or warning line may quote a path or URL with credentials in it."""
        return self.redactor.redact_text(message)

    def finish(self, *, quiet: bool = False) -> None:
        """Say which workflows had every value hidden, and how many values were hidden
        (stderr: stdout stays clean JSON)."""
        self._release_notes()
        n, told = self.redactor.hidden, self._told
        self._told = True  # said once: an error line finishes the run before it ends
        if quiet or told:
            return
        unread = self.redactor.unread
        if unread:
            from ..render.sanitize import clean  # noqa: PLC0415 - render helpers, on use

            sys.stderr.writelines(
                f"warning: workflow {clean(workflow_id)}: its secrets declaration may be "
                f"{why}: every value of it is hidden; --no-redact shows them\n"
                for workflow_id, why in sorted(unread.items())
            )
        if not n:
            return
        noun = "value" if n == 1 else "values"
        sys.stderr.write(
            f"redacted {n} {noun} (use 'stabilize --no-redact COMMAND ...' to show them)\n"
        )

    def _release_notes(self) -> None:
        logging.getLogger(STATE_LOGGER).removeFilter(self._noted)


def _default_source(name: str) -> str:
    return "default"


class _AlreadyNoted(logging.Filter):
    """Drops the replay's warning about an event the run's notes will report once."""

    def __init__(self, run: CommandRun) -> None:
        super().__init__()
        self.run = run

    def filter(self, record: logging.LogRecord) -> bool:
        notes = self.run.notes
        args = record.args if isinstance(record.args, tuple) else ()
        event_id = args[0] if args else None
        return notes is None or event_id not in notes.newer_schema_ids


@contextmanager
def _db_input() -> Iterator[None]:
    """The library refuses a ``--db`` value it cannot take (``:memory:``, an unknown URL
    scheme) with ValueError, as the engine does: that is the user's input (exit 2); any
    other ValueError is a bug (exit 70)."""
    from ..queries.errors import InvalidInputError  # noqa: PLC0415 - light, on use

    try:
        yield
    except ValueError as error:
        raise InvalidInputError(str(error)) from None


@contextmanager
def _closing(store: AuditableStore) -> Iterator[AuditableStore]:
    try:
        yield store
    finally:
        store.close()


# -- opening a source: the one place that reads the --db string ---------------------------------


def open_for_audit(
    db: str,
    redactor: Redactor | None = None,
    *,
    notes: ReadNotes | None = None,
    busy_timeout: float | None = None,
) -> AuditableStore:
    """The store, opened so that auditing never changes the evidence.

    Every event read from it is redacted by ``redactor`` (None: a fresh one, so a caller
    that forgets to pass the command's still hides secrets; a disabled one: as stored).
    With ``notes``, an unreadable row is left out of event reads and noted there.
    """
    from ..queries.redacting import EventRedaction  # noqa: PLC0415 - on use
    from ..redaction import Redactor  # noqa: PLC0415 - on use

    store = _open(db, read_only=True, busy_timeout=busy_timeout, notes=notes)
    redactor = Redactor() if redactor is None else redactor
    if redactor.enabled:
        redaction = EventRedaction(store, redactor)
        store.event_filter, store.unreadable_filter = redaction, redaction.unreadable
        store.snapshot_filter = redaction.snapshot_row
    return store


def open_for_writing(db: str, *, busy_timeout: float | None = None) -> AuditableStore:
    """For the few commands that write (snapshots create/prune): never creates a file."""
    return _open(db, read_only=False, busy_timeout=busy_timeout, notes=None)


def _open(
    db: str, *, read_only: bool, busy_timeout: float | None, notes: ReadNotes | None
) -> AuditableStore:
    """Dispatch on the ``--db`` string: the only place that knows which backend it names.

    ``postgresql://``, ``postgres://`` and libpq ``key=value`` strings open the
    PostgreSQL store (psycopg is imported then, and only then); anything else is SQLite.
    """
    from ..events.store.postgres.dsn import is_postgres_dsn  # noqa: PLC0415 - no driver

    if is_postgres_dsn(db):
        from ..events.store.postgres import PostgresEventStore  # noqa: PLC0415 - on use

        return PostgresEventStore(db, read_only=read_only, busy_timeout=busy_timeout, notes=notes)
    from ..events.store.sqlite import SqliteEventStore  # noqa: PLC0415 - sqlite3 on use

    if read_only:
        return SqliteEventStore(
            db, create_tables=False, read_only=True, busy_timeout=busy_timeout, notes=notes
        )
    return SqliteEventStore(db, create_tables=False, busy_timeout=busy_timeout)
