"""Huge results (issue 13, section 5): tables of many rows are printed page by page, say
so, and lose or repeat no row; history streams from the open store. The time and memory
figures are in tests/benchmarks/huge_workflow.py, not here."""

from __future__ import annotations

import re

import pytest

from stabilize_cli.render import events as event_render

from .conftest import Invoke

WF = "01M8HAZVN51R0GZ2NVTT2DCYFJ"
ROW = re.compile(r"^\s*(\d+)\s{2}")


def _sequences(stdout: str) -> list[int]:
    return [int(m.group(1)) for line in stdout.splitlines() if (m := ROW.match(line))]


@pytest.mark.parametrize("page", [1, 7, 50, 188])
def test_an_events_table_longer_than_a_page_is_paged_and_says_so(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, page: int
) -> None:
    monkeypatch.setattr(event_render, "PAGE_ROWS", page)
    result = invoke("events", "--limit", "1000", env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert _sequences(result.stdout) == list(range(1, 190))
    headers = [line for line in result.stdout.splitlines() if line.lstrip().startswith("SEQ")]
    assert len(headers) == -(-189 // page)  # one header per page
    (note,) = result.stderr.splitlines()
    assert note.startswith(f"note: more than {page:,} rows: the table is printed in pages")


def test_a_table_that_fits_one_page_has_no_note(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_render, "PAGE_ROWS", 189)
    result = invoke("events", "--limit", "1000")
    assert result.stderr == ""
    assert _sequences(result.stdout) == list(range(1, 190))


def test_history_pages_keep_the_title_once_with_the_whole_count(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_render, "PAGE_ROWS", 5)
    result = invoke("history", WF, "--all", env={"COLUMNS": "200"})
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"every event of workflow {WF}: 12 events"
    assert _sequences(result.stdout) == list(range(61, 73))
    assert sum(line.lstrip().startswith("SEQ") for line in lines) == 3
    assert result.stderr.startswith("note: more than 5 rows")


def test_a_task_history_names_its_workflow(invoke: Invoke) -> None:
    result = invoke("history", "01M8HAZVN51R0GZ2NVTT2DCYFE")
    assert result.stdout.splitlines()[0] == (
        f"task 01M8HAZVN51R0GZ2NVTT2DCYFE in workflow {WF}: 2 events"
    )
