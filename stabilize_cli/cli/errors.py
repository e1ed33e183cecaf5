"""One table from errors to exit codes, applied inside every command.

Typer's test runner calls the app directly, so a handler only in ``main()`` would never
be tested; each command body runs under :func:`guarded`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer

from ..events.errors import (
    EventDecodeError,
    SchemaError,
    StoreBusyError,
    StoreCorruptError,
    StoreError,
    StoreOpenError,
    SubscriptionError,
)
from ..queries.errors import InvalidInputError, NotFoundError
from ..render.formats import FormatNotAvailableError
from ..render.sanitize import clean
from .exit_codes import ExitCode

P = ParamSpec("P")
R = TypeVar("R")

ERROR_CODES: tuple[tuple[type[BaseException], ExitCode], ...] = (
    (NotFoundError, ExitCode.NOT_FOUND),
    (InvalidInputError, ExitCode.USAGE),
    (FormatNotAvailableError, ExitCode.USAGE),
    (ValueError, ExitCode.USAGE),
    (StoreOpenError, ExitCode.CANNOT_OPEN),
    (SchemaError, ExitCode.CANNOT_OPEN),
    (StoreCorruptError, ExitCode.CORRUPT),
    (EventDecodeError, ExitCode.CORRUPT),
    (StoreBusyError, ExitCode.BUSY),
    (SubscriptionError, ExitCode.USAGE),
    (StoreError, ExitCode.CORRUPT),
)


def exit_code_for(error: BaseException) -> ExitCode | None:
    for kind, code in ERROR_CODES:
        if isinstance(error, kind):
            return code
    return None


def fail(message: str, code: ExitCode) -> typer.Exit:
    """Print one ``error:`` line on stderr; return the Exit to raise."""
    sys.stderr.write(f"error: {clean(message)}\n")
    return typer.Exit(int(code))


def guarded(command: Callable[P, R]) -> Callable[P, R]:
    """Run a command body with every expected error turned into one line and an exit code."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        _tolerate_any_encoding()
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            sys.stderr.write("interrupted\n")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except BrokenPipeError:
            _silence_stdout()
            raise typer.Exit(int(ExitCode.BROKEN_PIPE)) from None
        except Exception as error:
            code = exit_code_for(error)
            if code is None:
                raise
            raise fail(str(error), code) from None

    return run


def _tolerate_any_encoding() -> None:
    """On an ASCII terminal (LANG=C), show other characters as escapes instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="backslashreplace")


def _silence_stdout() -> None:
    """After EPIPE, point stdout at /dev/null so the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
