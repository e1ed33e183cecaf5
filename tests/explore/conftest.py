"""Driving the explorer headless with Textual's pilot, on stores the tests choose."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

pytest.importorskip("textual", reason="the explorer needs the 'tui' extra (textual)")

from textual.pilot import Pilot

from stabilize_cli.cli.run import open_for_audit
from stabilize_cli.events.store.raw import ReadNotes
from stabilize_cli.explore.app import ExploreApp
from stabilize_cli.explore.source import ExploreSource
from stabilize_cli.redaction import Redactor

from ..conftest import REAL_DB

T = TypeVar("T")
Script = Callable[[ExploreApp, Pilot[None]], Awaitable[T]]

FAILED = "01M8HAZSBBC9YVRF09H4BCF2ZP"
FLAKY = "01M8HAZVN51R0GZ2NVTT2DCYFJ"


@contextmanager
def opened(db: Path | str, export_dir: Path, **options: Any) -> Iterator[ExploreSource]:
    """The store as the command opens it: read-only, redacting, noting unreadable rows."""
    redactor = Redactor()
    notes = ReadNotes()
    with open_for_audit(str(db), redactor, notes=notes) as store:
        yield ExploreSource(store, redactor, str(db), notes=notes, export_dir=export_dir, **options)


def drive(
    script: Script[T],
    *,
    db: Path | str = REAL_DB,
    workflow: str | None = None,
    size: tuple[int, int] = (80, 24),
    export_dir: Path,
    **options: Any,
) -> T:
    """Run the app headless at ``size``, hand it to ``script``, return what that returns."""

    async def main() -> T:
        with opened(db, export_dir, **options) as source:
            app = ExploreApp(source, workflow)
            async with app.run_test(size=size) as pilot:
                await pilot.pause()
                return await script(app, pilot)

    no_color = os.environ.get("NO_COLOR")
    try:
        return asyncio.run(main())
    finally:  # Textual takes NO_COLOR out of the environment; later tests rely on it
        if no_color is not None:
            os.environ["NO_COLOR"] = no_color


@pytest.fixture
def explore(tmp_path: Path) -> Callable[..., Any]:
    """``explore(script, workflow=..., size=...)``: exports go to the test's directory."""

    def run(script: Script[Any], **kwargs: Any) -> Any:
        kwargs.setdefault("export_dir", tmp_path)
        return drive(script, **kwargs)

    return run


async def settle(pilot: Pilot[None], app: ExploreApp) -> None:
    """Wait until workers (failures, metrics) have finished and the screen has redrawn."""
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()
