"""The same calls on every public name give the same results on ours and on the engine.

``api_scenarios.py`` runs each scenario under the engine's Python (``stabilize==0.33.1``,
named by ``STABILIZE_ENGINE_PYTHON``) and under ours, each in a fresh process; this test
compares the outputs scenario by scenario. Skipped without the engine, since the project
must not depend on it. The deliberate differences (README, "Where it differs from the
engine") are listed below and left out of the comparison; nothing else may differ.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .api_scenarios import SCENARIOS

ENGINE_PYTHON = os.environ.get("STABILIZE_ENGINE_PYTHON")
SCRIPT = Path(__file__).with_name("api_scenarios.py")

KNOWN_DIFFERENCES = {
    ("bus_sync", "disabled", "subscriptions_active"): "ours counts only enabled subscriptions",
    ("store_reads", "counts", "time"): "the engine's count_events ignores timestamp filters",
    ("store_reads", "queries", "by_type"): "the engine's SQLite store ignores order_by",
}

pytestmark = pytest.mark.skipif(not ENGINE_PYTHON, reason="STABILIZE_ENGINE_PYTHON is not set")


def run(python: str, package: str, workdir: Path) -> dict[str, Any]:
    workdir.mkdir()
    done = subprocess.run(
        [python, str(SCRIPT), package, str(workdir)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    results: dict[str, Any] = json.loads(done.stdout)
    for path in KNOWN_DIFFERENCES:
        holder = results
        for key in path[:-1]:
            holder = holder[key]
        holder.pop(path[-1], None)
    return results


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    assert ENGINE_PYTHON is not None
    root = tmp_path_factory.mktemp("differential")
    return (
        run(ENGINE_PYTHON, "stabilize", root / "engine"),
        run(sys.executable, "stabilize_cli", root / "ours"),
    )


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_ours_gives_what_the_engine_gives(
    name: str, outputs: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    engine, ours = outputs
    assert "crashed" not in engine[name], engine[name]
    assert ours[name] == engine[name]
