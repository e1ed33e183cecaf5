"""The ``--no-redact`` switch and the redactor of the command being run.

The root callback records the switch (``stabilize --no-redact timeline ...`` or
``STABILIZE_NO_REDACT=1``); :func:`~stabilize_cli.cli.errors.guarded` starts one
:class:`Redactor` per command, which the command hands to ``open_for_audit`` and to the
queries that read more than events, and which counts what it hid for one stderr line.
"""

from __future__ import annotations

import sys
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the redactor's patterns take 10 ms to compile: not for Tab-completion
    from ..redaction import Redactor

NO_REDACT_ENV = "STABILIZE_NO_REDACT"
WARNING = "warning: --no-redact: secrets in the output are shown in clear\n"

_no_redact: ContextVar[bool] = ContextVar("no_redact", default=False)
_current: ContextVar[Redactor | None] = ContextVar("redactor", default=None)


def choose(no_redact: bool) -> None:
    """The root callback's decision, for the command that follows."""
    _no_redact.set(no_redact)


def start_command() -> Redactor:
    """A fresh redactor for this command; with ``--no-redact``, a disabled one and a warning."""
    from ..redaction import Redactor  # noqa: PLC0415 - see the import above

    redactor = Redactor(enabled=not _no_redact.get())
    _current.set(redactor)
    if not redactor.enabled:
        sys.stderr.write(WARNING)
    return redactor


def current_redactor() -> Redactor:
    """The running command's redactor (outside a command: a fresh one, redacting)."""
    redactor = _current.get()
    if redactor is None:
        from ..redaction import Redactor  # noqa: PLC0415 - see the import above

        redactor = Redactor()
        _current.set(redactor)
    return redactor


def redact_message(message: str) -> str:
    """An error or warning line may quote a path or URL with credentials in it."""
    return current_redactor().redact_text(message)


def finish_command(*, quiet: bool = False) -> None:
    """Say how many values were hidden (stderr: stdout stays clean JSON); forget the switch."""
    redactor = _current.get()
    _current.set(None)
    _no_redact.set(False)
    if quiet or redactor is None or not redactor.hidden:
        return
    n = redactor.hidden
    noun = "value" if n == 1 else "values"
    sys.stderr.write(
        f"redacted {n} {noun} (use 'stabilize --no-redact COMMAND ...' to show them)\n"
    )
