"""Every name this tool takes from Typer's private modules, in one place.

They buy start-up speed (parameters parsed without Pydantic, ``cli/coercion.py``) and one
neutral error line for usage errors (``cli/errors.py``). Typer may rename them in any
release: then :data:`AVAILABLE` is False and the app runs on plain Typer, slower but
correct (``tests/cli/test_typer_fallback.py`` proves it by hiding these modules).
"""

from __future__ import annotations

from typing import Any

AVAILABLE = False
"""Whether the private names below were found."""

Command: Any = object
Context: Any = object
ParameterSource: Any = None
ClickException: Any = None
NoArgsIsHelpError: Any = None
UsageError: Any = None
RuntimeParam: Any = object
build_runtime_param: Any = None
coerce_cli_choice: Any = None
TyperParameter: Any = object

try:
    from typer._click import Command, Context
    from typer._click.core import ParameterSource
    from typer._click.exceptions import (
        ClickException,
        NoArgsIsHelpError,
        UsageError,
    )
    from typer._coercion import RuntimeParam, build_runtime_param
    from typer._param_types import coerce_cli_choice
    from typer.core import _TyperParameter as TyperParameter

    AVAILABLE = True
except ImportError:  # pragma: no cover - exercised by the fallback test in a subprocess
    pass

__all__ = [
    "AVAILABLE",
    "ClickException",
    "Command",
    "Context",
    "NoArgsIsHelpError",
    "ParameterSource",
    "RuntimeParam",
    "TyperParameter",
    "UsageError",
    "build_runtime_param",
    "coerce_cli_choice",
]
