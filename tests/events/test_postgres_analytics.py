"""The metrics PostgreSQL aggregates are exactly the projection's, or it says it cannot tell.

Payloads are drawn to hit what differs between SQL and Python: repeated transitions,
version 0, decimals and huge numbers as durations, booleans, names that are empty,
null, missing, numbers or objects, an implementing class that changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stabilize_cli.audit import read_models_for
from stabilize_cli.audit.contracts import FastPathUnavailable, MetricsFigures
from stabilize_cli.events import (
    EntityType,
    Event,
    EventMetadata,
    EventType,
    PostgresEventStore,
    StageMetricsProjection,
)
from stabilize_cli.events.base import new_event_id
from stabilize_cli.events.store import UNLIMITED, EventQuery

from ..postgres_support import fresh_database

T0 = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
KINDS = [t for t in EventType if t.value.startswith(("stage.", "task."))]
names = st.one_of(
    st.sampled_from(["build", "deploy", "", "ünïcode", "a b"]),
    st.none(),
    st.just(0),
    st.just(1.5),
    st.just({"x": 1}),
    st.just(False),
)
durations = st.one_of(
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.just("12"),
    st.none(),
    st.just(9007199254740993.0),
)


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, values in (("type", names), ("name", names), ("duration_ms", durations)):
        if draw(st.booleans()):
            data[key] = draw(values)
    if draw(st.booleans()):
        data["implementing_class"] = draw(st.sampled_from(["a.B", "c.D", None, 3]))
    return data


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    count = draw(st.integers(1, 40))
    events = []
    for n in range(count):
        entity = draw(st.sampled_from([EntityType.STAGE, EntityType.TASK, EntityType.WORKFLOW]))
        events.append(
            Event(
                event_type=draw(st.sampled_from(KINDS)),
                timestamp=T0 + timedelta(seconds=n),
                entity_type=entity,
                entity_id=draw(st.sampled_from(["S1", "S2", "T1"])),
                workflow_id="W1",
                version=draw(st.integers(0, 2)),
                data=draw(payloads()),
                metadata=EventMetadata(correlation_id="W1"),
            )
        )
    return events


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with fresh_database() as url:
        with PostgresEventStore(url, create_tables=True):
            pass
        yield url


def projected(store: PostgresEventStore) -> MetricsFigures:
    projection = StageMetricsProjection()
    counted = {t.value for t in KINDS}
    for event in store.get_events(EventQuery(limit=UNLIMITED)):
        if event.entity_type is not EntityType.WORKFLOW and event.event_type.value in counted:
            projection.apply(event)
    return MetricsFigures(projection.get_state(), projection.get_task_state())


def as_data(figures: MetricsFigures) -> tuple[list[Any], list[Any]]:
    """Every figure, in the projection's order of names; durations as a multiset (the
    server returns them grouped by value, and every statistic is order-free)."""
    stages = [(k, {**vars(v), "durations": sorted(v.durations)}) for k, v in figures.stages.items()]
    tasks = [(k, {**vars(v), "durations": sorted(v.durations)}) for k, v in figures.tasks.items()]
    return stages, tasks


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=histories())
def test_server_figures_are_the_projections(server_url: str, events: list[Event]) -> None:
    with PostgresEventStore(server_url) as store:
        with store.transaction() as conn:
            conn.execute("TRUNCATE events")
        store.append_batch(events)
        expected = projected(store)
        try:
            figures = read_models_for(store).analytics.stage_and_task_figures()
        except FastPathUnavailable:
            return  # the caller folds every event instead: never a wrong answer
        assert as_data(figures) == as_data(expected)


def test_plain_payloads_take_the_fast_path(server_url: str) -> None:
    events = [
        Event(
            event_type=kind,
            timestamp=T0 + timedelta(seconds=n),
            entity_type=EntityType.STAGE if kind.value.startswith("stage") else EntityType.TASK,
            entity_id=f"E{n % 4}",
            workflow_id="W1",
            version=1 + n // 8,
            data={"type": "build", "name": "Run", "duration_ms": 100 + n},
            metadata=EventMetadata(correlation_id="W1"),
        )
        for n, kind in enumerate(KINDS * 3)
    ]
    # The engine writes a transition twice at times (task.retried repeats the version):
    # the projection counts the first only, and so must the server.
    repeats = [
        dataclasses.replace(e, event_id=new_event_id(), data={**e.data, "duration_ms": 7})
        for e in events[5:25]
    ]
    events += repeats
    with PostgresEventStore(server_url) as store:
        with store.transaction() as conn:
            conn.execute("TRUNCATE events")
        store.append_batch(events)
        figures = read_models_for(store).analytics.stage_and_task_figures()
        assert as_data(figures) == as_data(projected(store))
        assert figures.stages["build"].durations
        assert 7 not in figures.stages["build"].durations  # the repeats' were taken out
