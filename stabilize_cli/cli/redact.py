"""The ``--no-redact`` switch, read by the root callback.

``stabilize --no-redact timeline ...`` (or ``STABILIZE_NO_REDACT=1``) is left in the
invocation's context; :func:`~stabilize_cli.cli.errors.guarded` gives the command's
:class:`~stabilize_cli.cli.run.CommandRun` a redactor enabled or not accordingly.
"""

from __future__ import annotations

NO_REDACT_ENV = "STABILIZE_NO_REDACT"
