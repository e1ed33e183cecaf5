"""One table from errors to exit codes, applied inside every command.

Typer's test runner calls the app directly, so a handler only in ``main()`` would never
be tested; each command body runs under :func:`guarded`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar

import typer

# Typer vendors Click and exposes no public name for its usage errors.
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from ..events.errors import (
    EventDecodeError,
    SchemaError,
    StoreBusyError,
    StoreCorruptError,
    StoreError,
    StoreOpenError,
    SubscriptionError,
)
from ..queries.errors import CannotWriteError, InvalidInputError, NotFoundError
from ..render.formats import FormatNotAvailableError
from ..render.sanitize import clean
from .exit_codes import ExitCode
from .redact import finish_command, redact_message, start_command
from .settings import environment_settings

P = ParamSpec("P")
R = TypeVar("R")

ERROR_CODES: tuple[tuple[type[BaseException], ExitCode], ...] = (
    (NotFoundError, ExitCode.NOT_FOUND),
    (InvalidInputError, ExitCode.USAGE),
    (CannotWriteError, ExitCode.CANNOT_OPEN),
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
    """Print one ``error:`` line on stderr; return the Exit to raise.

    The error line comes last: the count of redacted values (its own secrets included)
    is said first.
    """
    shown = redact_message(message)
    finish_command()
    sys.stderr.write(f"error: {clean(shown)}\n")
    return typer.Exit(int(code))


def guarded(command: Callable[P, R]) -> Callable[P, R]:
    """Run a command body with every expected error turned into one line and an exit code."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        _tolerate_any_encoding()
        from .library_warnings import route_library_warnings  # noqa: PLC0415 - logging: 3 ms

        route_library_warnings()
        start_command()
        try:
            with environment_settings():
                result = command(*args, **kwargs)
            sys.stdout.flush()  # a closed pipe surfaces here (141), not in Typer's exit (1)
            return result
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
        finally:
            finish_command(quiet=_pipe_closed())

    return run


def _pipe_closed() -> bool:
    """A closed pipe ends silently (exit 141): not even the redaction count."""
    error = sys.exc_info()[1]
    return isinstance(error, typer.Exit) and error.exit_code == int(ExitCode.BROKEN_PIPE)


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


@contextlib.contextmanager
def _neutral_usage_errors() -> Iterator[None]:
    """A usage error is one neutralised ``error:`` line and exit 2, like every other error
    (Typer would draw a multi-line box); a bare command still gets its help."""
    try:
        yield
    except NoArgsIsHelpError:
        raise
    except UsageError as error:
        sys.stderr.write(f"error: {clean(error.format_message())}\n")
        raise typer.Exit(int(ExitCode.USAGE)) from None
    except ClickException as error:
        error.message = clean(error.message)
        raise


class NeutralUsageErrors(TyperGroup):
    """Typer's own usage errors escape C0 and C1 in what the user typed, but not bidi or
    zero-width characters (an unknown option, an extra argument): neutralise them all."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with _neutral_usage_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with _neutral_usage_errors():
            return super().invoke(ctx)
