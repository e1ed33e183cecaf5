"""The declared-secret scan on PostgreSQL finds every workflow Python would read a
declaration in (its pre-filter may find more, never fewer), whatever the key's case."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stabilize_cli.audit import read_models_for
from stabilize_cli.events import EntityType, Event, EventMetadata, EventType, PostgresEventStore
from stabilize_cli.redaction import DECLARATION_KEY
from stabilize_cli.redaction.declared import declarations

from ..postgres_support import fresh_database

T0 = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
LONG_S = "\N{LATIN SMALL LETTER LONG S}ecrets"
spellings = st.sampled_from(
    ["secrets", "SECRETS", "Secrets", "sEcReTs", "secret", "my_secrets", LONG_S, "sécrets"]
)
values = st.one_of(st.just(["db_password"]), st.just("token"), st.just({"api_key": "k3y-v4lue"}))


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    key, value = draw(spellings), draw(values)
    entry: dict[str, Any] = {key: value}
    for _ in range(draw(st.integers(0, 2))):  # at any depth, in objects and lists
        entry = draw(st.sampled_from([{"context": entry}, {"items": [1, entry]}]))
    return {"note": draw(st.sampled_from(["plain", "ünïcode", "secrets as a value"])), **entry}


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with fresh_database() as url:
        with PostgresEventStore(url, create_tables=True):
            pass
        yield url


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.lists(payloads(), min_size=1, max_size=6))
def test_every_declaring_workflow_is_found(server_url: str, data: list[dict[str, Any]]) -> None:
    events = [
        Event(
            event_type=EventType.WORKFLOW_CREATED,
            timestamp=T0 + timedelta(seconds=n),
            entity_type=EntityType.WORKFLOW,
            entity_id=f"W{n}",
            workflow_id=f"W{n}",
            version=0,
            data=payload,
            metadata=EventMetadata(correlation_id=f"W{n}"),
        )
        for n, payload in enumerate(data)
    ]
    with PostgresEventStore(server_url) as store:
        with store.transaction() as conn:
            conn.execute("TRUNCATE events")
        store.append_batch(events)
        found = read_models_for(store).secrets.workflows_declaring(DECLARATION_KEY)
    texts = {e.workflow_id: json.dumps(e.data, ensure_ascii=False) for e in events}
    mentioning = {workflow for workflow, text in texts.items() if '"secrets"' in text.lower()}
    assert found == mentioning  # the pre-filter: the key's text, in any ASCII case
    declaring = {e.workflow_id for e in events if any(declarations(e.data))}
    # Python casefolds a long s to "s", no collation lowers it: a known gap of the
    # pre-filter on both stores, left as it was.
    long_s = {workflow for workflow, text in texts.items() if LONG_S in text}
    assert declaring - long_s <= found
