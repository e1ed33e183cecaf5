"""Keyset pages carry the query's sequence bounds themselves (issue 13, section 5).

With a second pair of ``sequence`` clauses SQLite could range its index on the query's
lower bound instead of the page's, and every page rescanned the workflow from its first
event: decoding one workflow of 1M events took 38 s of CPU instead of 8. Any query must
give exactly the rows a plain filter gives, in statements with one pair of bounds.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stabilize_cli.events import EventQuery
from stabilize_cli.events.store.sqlite import SqliteEventStore
from stabilize_cli.events.store.sqlite import store as store_module

from ..conftest import REAL_DB

WF = "01M8HAZVN51R0GZ2NVTT2DCYFJ"


@pytest.fixture(scope="module")
def store() -> Iterator[SqliteEventStore]:
    with SqliteEventStore(str(REAL_DB), create_tables=False, read_only=True) as opened:
        yield opened


@pytest.fixture(scope="module")
def everything(store: SqliteEventStore) -> list[tuple[int, str]]:
    return [(e.sequence, e.workflow_id) for e in store.get_events(EventQuery(limit=10**6))]


@settings(max_examples=150, deadline=None)
@given(
    low=st.one_of(st.none(), st.integers(0, 200)),
    high=st.one_of(st.none(), st.integers(0, 200)),
    ascending=st.booleans(),
    limit=st.integers(0, 300),
    offset=st.integers(0, 50),
    workflow=st.sampled_from([None, WF]),
    page=st.sampled_from([1, 3, 1000]),
)
def test_every_sequence_range_gives_the_rows_a_plain_filter_gives(
    store: SqliteEventStore,
    everything: list[tuple[int, str]],
    monkeypatch_page: None,
    low: int | None,
    high: int | None,
    ascending: bool,
    limit: int,
    offset: int,
    workflow: str | None,
    page: int,
) -> None:
    store_module.PAGE_SIZE = page
    query = EventQuery(
        workflow_id=workflow,
        from_sequence=low,
        to_sequence=high,
        ascending=ascending,
        limit=limit,
        offset=offset,
    )
    expected = [
        seq
        for seq, wf in everything
        if (low is None or seq > low)
        and (high is None or seq <= high)
        and (workflow is None or wf == workflow)
    ]
    expected = (expected if ascending else expected[::-1])[offset : offset + limit]
    assert [e.sequence for e in store.get_rows(query)] == expected
    assert [e.sequence for e in store.iter_workflow_events(WF, low or 0, high)] == [
        seq
        for seq, wf in everything
        if wf == WF and seq > (low or 0) and (high is None or seq <= high)
    ]


@pytest.fixture(scope="module")
def monkeypatch_page() -> Iterator[None]:
    kept = store_module.PAGE_SIZE
    yield
    store_module.PAGE_SIZE = kept


def test_each_page_statement_bounds_the_sequence_once(store: SqliteEventStore) -> None:
    statements: list[str] = []
    store.read(lambda conn: conn.set_trace_callback(statements.append))
    try:
        list(store.get_rows(EventQuery(workflow_id=WF, from_sequence=62, to_sequence=70)))
        list(store.iter_workflow_events(WF, 61, 72))
        store.get_events_for_workflow(WF, 63)
    finally:
        store.read(lambda conn: conn.set_trace_callback(None))
    pages = [s for s in statements if s.startswith("SELECT") and "ORDER BY sequence" in s]
    assert len(pages) >= 3  # one or more pages for each of the three reads
    for statement in pages:
        assert statement.count("sequence >") == 1
        assert statement.count("sequence <=") == 1
