"""The library's warnings on stderr, one neutralised line each.

The library warns with ids from the database (a skipped event, an ignored snapshot);
without a handler Python would print them raw. Imported when a command runs, not at start
(``--version`` and Tab-completion need no logging).
"""

from __future__ import annotations

import logging
import sys

from ..render.sanitize import clean
from .redact import redact_message


class _NeutralWarning(logging.Handler):
    """One ``warning:`` line per record, redacted and with control characters escaped."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(f"warning: {clean(redact_message(record.getMessage()))}\n")
        except Exception:
            self.handleError(record)


def route_library_warnings() -> None:
    library = logging.getLogger("stabilize_cli")
    if not any(isinstance(h, _NeutralWarning) for h in library.handlers):
        library.addHandler(_NeutralWarning(logging.WARNING))
