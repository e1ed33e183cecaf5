"""Describe the public surface of an event-sourcing package: names, kinds, signatures.

The same description is made of the engine's ``stabilize.events`` and of our
``stabilize_cli.events``, so a test can compare them. It runs under any Python and
imports only the package it describes. To re-record the engine's description
(committed as ``tests/data/engine_api_0_33_1.json``):

    /tmp/engine-venv/bin/python tests/oracle/describe_api.py stabilize.events \
        > tests/data/engine_api_0_33_1.json

where ``/tmp/engine-venv`` holds ``pip install 'stabilize[postgres]==0.33.1'``.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import inspect
import json
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

# The engine's submodules a user imports from, relative to the package; its private
# plumbing (recorder mixins, txn_scope, the per-backend store internals) is left out.
SUBMODULES = (
    "",
    ".base",
    ".bus",
    ".replay",
    ".snapshots",
    ".subscriptions",
    ".projections",
    ".projections.base",
    ".projections.metrics",
    ".projections.timeline",
    ".recorder",
    ".recorder.context",
    ".recorder.instance",
    ".store",
    ".store.interface",
)

_NOT_API = frozenset({"annotations", "TYPE_CHECKING", "logger"})

# Names re-exported into a module from the standard library or typing are not its API.
_FOREIGN_PREFIXES = ("typing", "collections", "dataclasses", "datetime", "enum", "abc")


def _default(value: Any) -> Any:
    if value is inspect.Parameter.empty:
        return {"required": True}
    if isinstance(value, enum.Enum):
        return {"default": f"{type(value).__name__}.{value.name}"}
    if value is None or isinstance(value, bool | int | float | str):
        return {"default": value}
    return {"default": repr(value)}


def describe_callable(obj: Any) -> list[dict[str, Any]] | None:
    """Each parameter's name, kind and default (annotations differ in spelling only)."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    return [
        {"name": p.name, "kind": p.kind.name, **_default(p.default)}
        for p in sig.parameters.values()
        if p.name != "self"
    ]


def describe_class(cls: type) -> dict[str, Any]:
    if issubclass(cls, enum.Enum):
        return {"kind": "enum", "members": {m.name: m.value for m in cls}}
    out: dict[str, Any] = {"kind": "class", "init": describe_callable(cls)}
    if dataclasses.is_dataclass(cls):
        out["fields"] = [f.name for f in dataclasses.fields(cls)]
    methods: dict[str, Any] = {}
    properties: list[str] = []
    for name in dir(cls):
        if name.startswith("_"):
            continue
        raw = inspect.getattr_static(cls, name)
        if isinstance(raw, property):
            properties.append(name)
        elif isinstance(raw, staticmethod | classmethod) or inspect.isfunction(raw):
            methods[name] = describe_callable(getattr(cls, name))
    out["methods"] = methods
    out["properties"] = sorted(properties)
    return out


def describe_value(value: Any) -> dict[str, Any]:
    if isinstance(value, type):
        return describe_class(value)
    if callable(value):
        return {"kind": "function", "params": describe_callable(value)}
    if value is None or isinstance(value, bool | int | float | str):
        return {"kind": "constant", "value": value}
    return {"kind": "constant", "type": type(value).__name__}


def public_names(module: Any) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is not None:
        return sorted(names)
    found = []
    for name, value in vars(module).items():
        if name.startswith("_") or inspect.ismodule(value) or name in _NOT_API:
            continue
        home = getattr(value, "__module__", None)
        if home is not None and home.split(".")[0] in _FOREIGN_PREFIXES:
            continue
        if home is None and not isinstance(value, bool | int | float | str):
            continue
        if home is not None and not home.startswith(module.__name__.split(".")[0]):
            continue
        found.append(name)
    return sorted(found)


def describe(package: str, submodules: tuple[str, ...] = SUBMODULES) -> dict[str, Any]:
    """``modules``: each submodule's public names; ``objects``: each name described once
    (the engine's public names are unique across its submodules)."""
    modules: dict[str, list[str]] = {}
    objects: dict[str, Any] = {}
    for suffix in submodules:
        module = importlib.import_module(package + suffix)
        names = public_names(module)
        modules[suffix or "."] = names
        for name in names:
            objects.setdefault(name, describe_value(getattr(module, name)))
    return {"package": package, "modules": modules, "objects": objects}


def main() -> None:
    package = sys.argv[1] if len(sys.argv) > 1 else "stabilize.events"
    try:
        dist = version(package.split(".")[0])
    except PackageNotFoundError:
        dist = "unknown"
    record = {
        "_produced_by": (
            f"python tests/oracle/describe_api.py {package} under {package.split('.')[0]}"
            f" {dist}; see that script's docstring"
        ),
        **describe(package),
    }
    json.dump(record, sys.stdout, indent=1, sort_keys=True, default=repr)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
