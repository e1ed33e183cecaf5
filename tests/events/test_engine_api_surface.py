"""Every public name of the engine's ``stabilize.events`` (0.33.1) exists here, under the
same module paths, with the same parameters and defaults.

The engine's side is ``tests/data/engine_api_0_33_1.json``, recorded from the released
engine by ``tests/oracle/describe_api.py`` (its docstring says how); ours is described
by the same code, so the two are compared like for like. Ours may add parameters after
the engine's (with defaults), methods, dataclass fields after the engine's, and names.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..oracle.describe_api import describe_value

ENGINE_API = json.loads(
    (Path(__file__).parent.parent / "data" / "engine_api_0_33_1.json").read_text()
)
OURS = "stabilize_cli.events"

# Engine API another branch brings; checked like the rest as soon as it exists here.
PENDING_ELSEWHERE: dict[str, str] = {}


def module(suffix: str) -> Any:
    return importlib.import_module(OURS + ("" if suffix == "." else suffix))


def module_names() -> list[tuple[str, str]]:
    return [(mod, name) for mod, names in ENGINE_API["modules"].items() for name in names]


def pending(key: str, present: bool) -> bool:
    return key in PENDING_ELSEWHERE and not present


@pytest.mark.parametrize(("suffix", "name"), module_names())
def test_the_engines_name_is_importable_from_the_same_module_path(suffix: str, name: str) -> None:
    present = hasattr(module(suffix), name)
    if pending(name, present):
        pytest.skip(f"{name}: {PENDING_ELSEWHERE[name]}")
    assert present, f"{OURS}{'' if suffix == '.' else suffix} has no {name}"


def test_the_package_lists_every_engine_name_in_all() -> None:
    ours = set(module(".").__all__)
    missing = set(ENGINE_API["modules"]["."]) - ours - set(PENDING_ELSEWHERE)
    assert missing == set()


def compatible(engine: list[dict[str, Any]] | None, ours: list[dict[str, Any]] | None) -> bool:
    """Ours takes every call the engine's takes: the same parameters first, and any
    extra ones optional."""
    if engine is None or ours is None:
        return engine == ours
    head, extra = ours[: len(engine)], ours[len(engine) :]
    optional = all("default" in p or p["kind"] in {"VAR_POSITIONAL", "VAR_KEYWORD"} for p in extra)
    return head == engine and optional


def ours_for(name: str) -> Any:
    for suffix, names in ENGINE_API["modules"].items():
        if name in names and hasattr(module(suffix), name):
            return getattr(module(suffix), name)
    return None


@pytest.mark.parametrize("name", sorted(ENGINE_API["objects"]))
def test_the_engines_signatures_defaults_and_members_match(name: str) -> None:
    engine = ENGINE_API["objects"][name]
    value = ours_for(name)
    if pending(name, value is not None):
        pytest.skip(f"{name}: {PENDING_ELSEWHERE[name]}")
    ours = describe_value(value)
    assert ours["kind"] == engine["kind"]
    if engine["kind"] == "function":
        assert compatible(engine["params"], ours["params"]), (engine, ours)
    elif engine["kind"] == "enum":
        # Ours may add members; every engine member has the engine's value.
        assert {k: ours["members"].get(k) for k in engine["members"]} == engine["members"]
    elif engine["kind"] == "constant":
        assert ours == engine
    else:
        ours_params = {p["name"] for p in ours["init"] or []}
        init = [
            p
            for p in engine["init"] or []
            if not pending(f"{name}.{p['name']}", p["name"] in ours_params)
        ]
        assert compatible(init, ours["init"]), (init, ours["init"])
        problems = []
        for method, params in engine["methods"].items():
            present = method in ours["methods"]
            if pending(f"{name}.{method}", present):
                continue
            if not present:
                problems.append(f"missing method {method}")
            elif not compatible(params, ours["methods"][method]):
                problems.append(f"{method}: {params} != {ours['methods'][method]}")
        have_properties = ours["properties"]
        problems += [f"no property {p}" for p in engine["properties"] if p not in have_properties]
        fields = engine.get("fields")
        if fields is not None:
            have = ours.get("fields") or []
            expected = [f for f in fields if not pending(f"{name}.{f}", f in have)]
            if have[: len(expected)] != expected:
                problems.append(f"fields {have} do not start with {expected}")
        assert problems == []


def test_the_new_names_keep_the_cli_start_up_free_of_the_api() -> None:
    """Exporting more names lazily must not make ``import stabilize_cli.cli.app`` load
    the event-sourcing modules (every Tab imports the app)."""
    code = (
        "import sys, stabilize_cli.cli.app\n"
        "heavy = [m for m in ('stabilize_cli.events.base', 'stabilize_cli.events.replay',"
        " 'stabilize_cli.events.bus', 'ulid') if m in sys.modules]\n"
        "print(heavy)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert run.stdout.strip() == "[]"


def test_the_comparison_rejects_what_would_break_a_caller_of_the_engine() -> None:
    def describe(fn: Any) -> Any:
        return describe_value(fn)["params"]

    def engine(a: int, b: int = 1) -> None: ...
    def extra_optional(a: int, b: int = 1, c: int = 2) -> None: ...
    def extra_required(a: int, b: int = 1, *, c: int) -> None: ...
    def other_default(a: int, b: int = 2) -> None: ...
    def renamed(a: int, bb: int = 1) -> None: ...
    def keyword_only(a: int, *, b: int = 1) -> None: ...

    assert compatible(describe(engine), describe(extra_optional))
    for broken in (extra_required, other_default, renamed, keyword_only):
        assert not compatible(describe(engine), describe(broken)), broken.__name__
