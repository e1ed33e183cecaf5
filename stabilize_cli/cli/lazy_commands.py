"""Subcommands imported and built on first use.

Typer builds every command of an app (importing its module, reading its signature) on each
start; a run uses one. The root group's ``commands`` is this mapping instead: its names
are known up front (help order, typo suggestions, completion), and a command's module is
imported and the command built the first time it is looked up.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import typer

from .typer_private import Command

Builder = Callable[[], Command]


def command_from(module: str, attribute: str, name: str) -> Builder:
    """A builder for ``module.attribute``: a command function, or a Typer app (a group)."""

    def build() -> Command:
        target = getattr(importlib.import_module(module), attribute)
        if isinstance(target, typer.Typer):  # a group, even of one subcommand
            group: Command = typer.main.get_group(target)
            group.name = name
            return group
        return single_command(name, target)

    return build


def single_command(name: str, function: Callable[..., Any], **options: Any) -> Command:
    """``function`` as the command ``name``, as ``app.command(name, **options)`` on the
    root would build it (without the root's own completion options)."""
    single = typer.Typer(add_completion=False)
    single.command(name, **options)(function)
    return typer.main.get_command(single)


class LazyCommands(MutableMapping[str, Command]):
    """Commands by name, in registration order; each built once, when first looked up."""

    def __init__(self, builders: dict[str, Builder]) -> None:
        self._builders = dict(builders)
        self._built: dict[str, Command] = {}

    def __getitem__(self, name: str) -> Command:
        command = self._built.get(name)
        if command is None:
            builder = self._builders[name]  # only an unknown name is a KeyError
            try:
                command = self._built[name] = builder()
            except KeyError as exc:  # a bug in the module, not "no such command"
                raise RuntimeError(f"building command {name!r} failed: {exc!r}") from exc
        return command

    def __setitem__(self, name: str, command: Command) -> None:
        self._builders.setdefault(name, lambda: command)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._builders[name]
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._builders)

    def __len__(self) -> int:
        return len(self._builders)
