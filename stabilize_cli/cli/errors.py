"""One table from errors to exit codes, applied inside every command.

Typer's test runner calls the app directly, so a handler only in ``main()`` would never
be tested; each command body runs under :func:`guarded`.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import stat
import sys
from collections.abc import Callable, Iterator
from typing import Any, Concatenate, ParamSpec, TypeVar

import typer
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
from .int_bounds import check_integer_arguments
from .run import NO_REDACT_KEY, PROFILE_KEY, CommandRun
from .settings import busy_timeout

# Typer vendors Click and exposes no public name for its usage errors (typer_private).
from .typer_private import AVAILABLE, ClickException, NoArgsIsHelpError, UsageError

DEBUG_ENV = "STABILIZE_DEBUG"
DEBUG_HINT = f"rerun with {DEBUG_ENV}=1 for the traceback"

P = ParamSpec("P")
R = TypeVar("R")

ERROR_CODES: tuple[tuple[type[BaseException], ExitCode], ...] = (
    (NotFoundError, ExitCode.NOT_FOUND),
    (CannotWriteError, ExitCode.CANNOT_OPEN),
    (InvalidInputError, ExitCode.USAGE),
    (CannotWriteError, ExitCode.CANNOT_OPEN),
    (FormatNotAvailableError, ExitCode.USAGE),
    *(((UsageError, ExitCode.USAGE),) if AVAILABLE else ()),
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


def fail(message: str, code: ExitCode, run: CommandRun) -> typer.Exit:
    """Print one ``error:`` line on stderr; return the Exit to raise.

    The error line comes last: the count of redacted values (its own secrets included)
    is said first.
    """
    shown = run.redact(message)
    run.finish()
    try:
        sys.stderr.write(f"error: {clean(shown)}\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # stderr full or closed: the code says it
        _silence(2)
    return typer.Exit(int(code))


def guarded(command: Callable[Concatenate[CommandRun, P], R]) -> Callable[P, R]:
    """Run a command body with every expected error turned into one line and an exit code.

    The body's first parameter receives the :class:`CommandRun`; the command's signature,
    as Typer reads it, is the body's without it, plus the Typer context (where the root
    left ``--no-redact``).
    """

    @functools.wraps(command)
    def run(ctx: typer.Context, *args: P.args, **kwargs: P.kwargs) -> R:
        _tolerate_any_encoding()
        from .library_warnings import library_warnings  # noqa: PLC0415 - logging: 3 ms

        current = CommandRun(no_redact=bool(ctx.meta.get(NO_REDACT_KEY, False)))
        current.profile = ctx.meta.get(PROFILE_KEY)
        current.source_of = functools.partial(_source, ctx)
        try:
            if sys.stdout is None:  # started with descriptor 1 closed (``>&-``)
                raise fail("standard output is closed", ExitCode.OUTPUT, current)
            check_integer_arguments(kwargs)
            with library_warnings(current):
                current.busy_timeout = busy_timeout()
                result = command(current, *args, **kwargs)
            sys.stdout.flush()  # a closed pipe surfaces here (141), not in Typer's exit (1)
            if _reader_gone():
                raise BrokenPipeError
            return result
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            sys.stderr.write("interrupted\n")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except BrokenPipeError:
            _silence(1)
            raise typer.Exit(int(ExitCode.BROKEN_PIPE)) from None
        except OSError as error:  # stdout on a full disk or /dev/full, stderr full, EIO
            _silence(1)
            raise fail(_io_problem(error), ExitCode.OUTPUT, current) from None
        except Exception as error:
            code = exit_code_for(error)
            if code is None:  # a bug, not the user's input: never exit 2 for it
                if os.environ.get(DEBUG_ENV, "").strip() not in ("", "0"):
                    raise
                message = f"internal error ({type(error).__name__}: {error}); {DEBUG_HINT}"
                raise fail(message, ExitCode.INTERNAL, current) from None
            raise fail(str(error), code, current) from None
        finally:
            current.finish(quiet=_pipe_closed())

    body = inspect.signature(command)
    context = inspect.Parameter(
        "ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
    )
    shown = [context, *list(body.parameters.values())[1:]]
    run.__signature__ = body.replace(parameters=shown)  # type: ignore[attr-defined]
    hints = {k: v for k, v in command.__annotations__.items() if k != _first(body)}
    run.__annotations__ = {"ctx": typer.Context, **hints}
    return run  # type: ignore[return-value]


SOURCES = {
    "COMMANDLINE": "command line",
    "ENVIRONMENT": "environment",
    "DEFAULT_MAP": "profile",
    "DEFAULT": "default",
    "PROMPT": "prompt",
}


def _source(ctx: typer.Context, name: str) -> str:
    """Where parameter ``name`` of the running command got its value."""
    source = ctx.get_parameter_source(name)
    return "default" if source is None else SOURCES.get(source.name, source.name.lower())


def _first(signature: inspect.Signature) -> str:
    return next(iter(signature.parameters))


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


def _reader_gone() -> bool:
    """Whether stdout is a pipe whose reader has closed it.

    CPython reports one large write that the kernel cut short (the reader left part way)
    as complete and drops the rest without an error: the output was not all delivered,
    so it is a closed pipe (141) all the same. ``poll`` reports POLLERR on such a pipe.
    """
    try:
        fd = sys.stdout.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return False
        import select  # noqa: PLC0415 - only when stdout is a pipe

        watcher = select.poll()
        watcher.register(fd, select.POLLOUT)
        return any(events & select.POLLERR for _, events in watcher.poll(0))
    except (OSError, ValueError, AttributeError):  # no descriptor (a test runner's stream)
        return False


def _silence(fd: int) -> None:
    """After EPIPE or a failed write, point the descriptor at /dev/null so the
    interpreter's final flush of what is still buffered stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _io_problem(error: OSError) -> str:
    """One line for a failed read or write outside the database: what failed and where."""
    where = f" ({error.filename})" if error.filename else " (writing the output)"
    return f"I/O error: {error.strerror or error}{where}"


@contextlib.contextmanager
def _neutral_usage_errors() -> Iterator[None]:
    """A usage error is one neutralised ``error:`` line and exit 2, like every other error
    (Typer would draw a multi-line box); a bare command still gets its help. Without
    Typer's private names, Typer's own box is shown."""
    if not AVAILABLE:
        yield
        return
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
