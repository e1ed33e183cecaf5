"""Integers a user types must fit SQLite's 64 bits before any query binds them.

A number beyond them is otherwise an ``OverflowError`` from the binding (a traceback)
or, worse, a value SQLite reads as a float. Checked for every parameter of every command,
so a new option cannot forget it.
"""

from __future__ import annotations

from collections.abc import Mapping

from typer._click.globals import get_current_context

from ..queries.errors import InvalidInputError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def check_integer_arguments(values: Mapping[str, object]) -> None:
    """Raise InvalidInputError (exit 2) naming the first integer outside 64 bits."""
    for key, value in values.items():
        if type(value) is not int or INT64_MIN <= value <= INT64_MAX:
            continue
        bound = "at most 2^63-1" if value > 0 else "at least -2^63"
        raise InvalidInputError(f"{_shown_name(key)} must be {bound} (got {value})")


def _shown_name(key: str) -> str:
    """The option as typed (``--keep``) or the argument's metavar (``SNAPSHOT_ID``)."""
    ctx = get_current_context(silent=True)
    if ctx is not None:
        for param in ctx.command.params:
            if param.name == key:
                options = [o for o in param.opts if o.startswith("--")]
                return options[0] if options else key.upper()
    return key
