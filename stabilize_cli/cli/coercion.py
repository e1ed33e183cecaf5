"""Parameter coercion without Pydantic for the spellings that need none.

Typer 0.29 coerces every non-flag parameter, defaults included, through a Pydantic
``TypeAdapter``; importing Pydantic and building the adapters costs more than the whole
``timeline`` query. Strings, canonical integers and decimals, enum choices and lists of
strings are parsed here, with Typer's own choice rule; any other value (a datetime, a bad
integer, an unknown choice, a flag from the environment) goes to Typer's coercion
unchanged, so results and error messages stay Typer's.
``tests/cli/test_coercion.py`` checks both paths agree on every parameter of the app.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, get_args, get_origin

from typer.core import TyperGroup

from .metavars import human_metavar

# Typer exposes no public hook for coercion: its private names come from one module, and
# without them (AVAILABLE False) the root group is plain Typer's.
from .typer_private import (
    AVAILABLE,
    Command,
    Context,
    RuntimeParam,
    build_runtime_param,
    coerce_cli_choice,
)

_CANONICAL_INT = re.compile(r"-?(0|[1-9][0-9]{0,17})")
_PLAIN_DECIMAL = re.compile(r"-?(0|[1-9][0-9]{0,14})(\.[0-9]{1,6})?")
_UNSURE = object()


@dataclass(frozen=True)
class QuickCoercion(RuntimeParam):  # type: ignore[misc]
    """Simple values parsed here; everything else handed to Typer's own coercion."""

    def _coerce_value(self, value: Any, param: Any, ctx: Context) -> Any:
        quick = self.quick(value, ctx)
        if quick is not _UNSURE:
            return quick
        return build_runtime_param(param.type_descriptor)._coerce_value(value, param, ctx)

    def quick(self, value: Any, ctx: Context | None) -> Any:
        annotation: Any = self.annotation
        info = self.parameter_info
        if info.parser is not None:
            return _UNSURE
        if annotation is str:
            return value if type(value) is str else _UNSURE
        if annotation is int:
            return _integer(value, info.min, info.max) if not info.clamp else _UNSURE
        if annotation is float:
            plain = info.min is None and info.max is None and not info.clamp
            return _decimal(value) if plain else _UNSURE
        if isinstance(annotation, type) and issubclass(annotation, Enum):
            try:
                return coerce_cli_choice(
                    value, choices=list(annotation), case_sensitive=info.case_sensitive, ctx=ctx
                )
            except ValueError:
                return _UNSURE
        if get_origin(annotation) is list and get_args(annotation) == (str,):
            items = value if isinstance(value, list | tuple) else [value]
            return list(items) if all(isinstance(item, str) for item in items) else _UNSURE
        return _UNSURE


def _integer(value: Any, low: float | None, high: float | None) -> Any:
    """A canonical spelling, or an int as it stands (a default)."""
    if type(value) is int:
        number = value
    elif isinstance(value, str) and _CANONICAL_INT.fullmatch(value):
        number = int(value)
    else:
        return _UNSURE
    if (low is not None and number < low) or (high is not None and number > high):
        return _UNSURE
    return number


def _decimal(value: Any) -> Any:
    """A float as it stands (a default), or a plain decimal spelling."""
    if type(value) is float:
        return value
    if isinstance(value, str) and _PLAIN_DECIMAL.fullmatch(value):
        return float(value)
    return _UNSURE


def install_quick_coercion(command: Command, ctx: Context) -> None:
    """Give every Typer parameter of a command (and of a group's subcommands) the quick
    coercion, before it parses.

    Help options are made on demand from the context's names; subcommands inherit the
    root's names, so the ones made here are the ones their own contexts will use.
    """
    _install(command, ctx)
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            install_quick_coercion(sub, ctx)


def _install(command: Command, ctx: Context) -> None:
    for param in [*command.params, command.get_help_option(ctx)]:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None:
            continue
        if AVAILABLE and param._runtime_param is None:
            param._runtime_param = QuickCoercion(
                parameter_info=descriptor.parameter_info, annotation=descriptor.annotation
            )
        human_metavar(param, descriptor.annotation)


class QuickCoercionGroup(TyperGroup):
    """A root group whose own parameters, and each subcommand it hands a run to, are
    parsed with :class:`QuickCoercion`."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        _install(self, ctx)
        return super().parse_args(ctx, args)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            install_quick_coercion(command, ctx)
        return command
