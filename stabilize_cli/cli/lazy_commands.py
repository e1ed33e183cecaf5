"""Subcommands imported and built on first use.

Typer builds every command of an app (importing its module, reading its signature) on each
start; a run uses one. The root group's ``commands`` is this mapping instead: its names
are known up front (help order, typo suggestions, completion), and a command's module is
imported and the command built the first time it is looked up.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, MutableMapping

import typer
from typer._click import Command

Builder = Callable[[], Command]


def command_from(module: str, attribute: str, name: str) -> Builder:
    """A builder for ``module.attribute``: a command function, or a Typer app (a group)."""

    def build() -> Command:
        target = getattr(importlib.import_module(module), attribute)
        command: Command
        if isinstance(target, typer.Typer):  # a group, even of one subcommand
            command = typer.main.get_group(target)
        else:
            single = typer.Typer()
            single.command(name)(target)
            command = typer.main.get_command(single)
        command.name = name
        return command

    return build


class LazyCommands(MutableMapping[str, Command]):
    """Commands by name, in registration order; each built once, when first looked up."""

    def __init__(self, builders: dict[str, Builder]) -> None:
        self._builders = dict(builders)
        self._built: dict[str, Command] = {}

    def __getitem__(self, name: str) -> Command:
        command = self._built.get(name)
        if command is None:
            command = self._built[name] = self._builders[name]()
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

    def built(self) -> list[Command]:
        """The commands built so far."""
        return list(self._built.values())
