"""Opening PostgreSQL, and the one place where psycopg's errors become the library's.

psycopg is imported here, on the first PostgreSQL connection, never at package import.
Every message names the server by its connection string with the password masked.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import (
    DuplicateEventError,
    SchemaError,
    StoreBusyError,
    StoreConnectionLostError,
    StoreError,
    StoreOpenError,
)
from .dsn import redact_dsn, scrub

if TYPE_CHECKING:
    import psycopg

BUSY_TIMEOUT_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 10
LOST = ": output incomplete"
"""Said when the server goes away mid-command: anything already shown is partial."""
INSTALL_HINT = "PostgreSQL support needs psycopg: pip install 'stabilize-cli[postgres]'"


def load_psycopg() -> Any:
    """The driver, or a StoreOpenError saying how to install it."""
    try:
        import psycopg  # noqa: PLC0415 - only PostgreSQL users pay for the driver
    except ImportError as exc:
        raise StoreOpenError(INSTALL_HINT) from exc
    return psycopg


@dataclass(frozen=True)
class Server:
    """Where the store lives and how each session is set up."""

    dsn: str
    read_only: bool = False
    busy_timeout: float = BUSY_TIMEOUT_SECONDS
    """Seconds a statement may wait for a lock before StoreBusyError (``lock_timeout``);
    a ``statement_timeout`` the server or role sets is reported as busy too."""
    schema: str | None = None
    """Put first on each session's search_path (the engine's ``schema=``)."""

    @property
    def shown(self) -> str:
        """The connection string as messages show it (password masked)."""
        return redact_dsn(self.dsn)

    def connect(self) -> psycopg.Connection[Any]:
        """An autocommit session in UTC; read-only sessions refuse every write."""
        driver = load_psycopg()
        try:
            conn: psycopg.Connection[Any] = driver.connect(
                self.dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
            )
        except driver.OperationalError as exc:  # refused, auth, no database, no such host
            raise StoreOpenError(self._say(f"cannot connect: {_connect_reason(str(exc))}")) from exc
        except driver.ProgrammingError as exc:  # a malformed connection string
            raise StoreOpenError(self._say(f"bad connection string: {_first_line(exc)}")) from exc
        with self.translate():
            try:
                millis = max(1, round(self.busy_timeout * 1000))
                # Busy is waiting for a lock; a long aggregate over a big store is work,
                # not busy: statement_timeout stays as the server or role sets it.
                settings = [
                    "SET TIME ZONE 'UTC'",
                    f"SET lock_timeout = {millis}",
                    "SET application_name = 'stabilize-cli'",
                ]
                if self.read_only:
                    settings.append("SET default_transaction_read_only = on")
                if self.schema is not None:
                    quoted = '"' + self.schema.replace('"', '""') + '"'
                    settings.append(f"SET search_path TO {quoted}, public")
                conn.execute("; ".join(settings))  # one round trip
            except BaseException:
                conn.close()
                raise
        return conn

    @contextmanager
    def translate(self) -> Iterator[None]:
        """psycopg's exceptions as this library's, naming the server (password masked)."""
        driver = load_psycopg()
        errors = driver.errors
        try:
            yield
        except errors.UniqueViolation as exc:
            raise DuplicateEventError(
                self._say(f"event already stored ({_first_line(exc)})")
            ) from exc
        except (errors.UndefinedTable, errors.UndefinedColumn) as exc:
            raise SchemaError(
                self._say(f"not a Stabilize event store ({_first_line(exc)})")
            ) from exc
        except (errors.QueryCanceled, errors.LockNotAvailable) as exc:
            raise StoreBusyError(
                self._say(f"busy: {_first_line(exc)} (the timeout is {self.busy_timeout:g} s)")
            ) from exc
        except errors.InsufficientPrivilege as exc:
            raise StoreOpenError(self._say(f"permission denied ({_first_line(exc)})")) from exc
        except errors.ReadOnlySqlTransaction as exc:
            raise StoreError(self._say(f"refused a write: {_first_line(exc)}")) from exc
        except (errors.AdminShutdown, errors.CrashShutdown, errors.CannotConnectNow) as exc:
            raise StoreConnectionLostError(
                self._say(f"server went away ({_first_line(exc)}){LOST}")
            ) from exc
        except driver.OperationalError as exc:
            raise self._operational(exc) from exc
        except driver.InterfaceError as exc:
            raise StoreConnectionLostError(
                self._say(f"connection lost ({_first_line(exc)}){LOST}")
            ) from exc
        except driver.Error as exc:
            raise StoreError(self._say(_first_line(exc))) from exc

    def _operational(self, exc: Exception) -> StoreError:
        """Before a session exists: cannot open; once reading: the server went away."""
        text = _first_line(exc)
        if text.startswith(("connection failed", "connection is bad")) or "failed:" in text:
            return StoreOpenError(self._say(f"cannot connect: {_connect_reason(str(exc))}"))
        if "closed" in text or "terminat" in text or "lost" in text or "EOF" in text:
            return StoreConnectionLostError(self._say(f"server went away ({text}){LOST}"))
        return StoreError(self._say(text))

    def _say(self, text: str) -> str:
        return f"{self.shown}: {scrub(text, self.dsn)}"


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _connect_reason(text: str) -> str:
    """libpq's "connection to server at ... failed: FATAL:  reason": keep the reason."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    head = lines[0] if lines else text
    reason = head.rsplit("failed:", 1)[-1].strip()
    reason = reason.removeprefix("FATAL:").strip()
    return reason or head


def resolve_busy_timeout(seconds: float | None) -> float:
    """The statement and lock timeout: the given value, else the default."""
    if seconds is None:
        return BUSY_TIMEOUT_SECONDS
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"busy timeout must be a non-negative number of seconds (got {seconds})")
    return seconds
