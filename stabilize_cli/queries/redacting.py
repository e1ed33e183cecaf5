"""Redaction bound to one store: each workflow's declared secrets, known before its events
are shown.

A workflow's declarations are read lazily, the first time one of its events is decoded,
and cached with the sequence they were read at; an event newer than that (``--follow``, or
an engine appending while a report runs) reads them again, since it may declare more.
Commands that decode many workflows (metrics, failures) would pay one short query per
workflow; after :data:`LAZY_WORKFLOWS` of them, one pass over the table finds the few
workflows that declare anything, and the rest need no query at all.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from contextlib import suppress
from typing import Any

from ..audit import read_models_for
from ..audit.contracts import json_needle
from ..events.base import Event
from ..events.errors import StoreCorruptError
from ..events.snapshots import check_snapshot_row
from ..events.store import AuditableStore, state_hash
from ..events.store.raw import UnreadableRow
from ..redaction import (
    DECLARATION_KEY,
    NO_SECRETS,
    DeclaredSecrets,
    Redactor,
    declarations,
    values_under,
)

LAZY_WORKFLOWS = 64
IDS = frozenset({"event_id", "entity_id", "workflow_id", "correlation_id", "causation_id"})
"""Columns of an unreadable row shown as stored, never redacted: users copy them."""


class WorkflowSecrets:
    """What each workflow of a store declares as secret, scanned once and cached."""

    def __init__(self, store: AuditableStore) -> None:
        self._store = store
        self._scans = read_models_for(store).secrets
        self._known: dict[str | None, tuple[int, DeclaredSecrets]] = {}
        self._declaring: tuple[int, set[str | None]] | None = None
        self._lock = threading.RLock()

    def of(self, workflow_id: str | None, sequence: int | None = None) -> DeclaredSecrets:
        """The workflow's secrets, as declared up to at least ``sequence`` (None: now)."""
        with self._lock:
            known = self._known.get(workflow_id)
            if known is not None and sequence is not None and sequence <= known[0]:
                return known[1]
            if self._declares_nothing(workflow_id, sequence):
                return NO_SECRETS
            head = self._store.get_current_sequence()
            secrets = self._scan(workflow_id)
            self._known[workflow_id] = (head, secrets)
            return secrets

    def _declares_nothing(self, workflow_id: str | None, sequence: int | None) -> bool:
        if self._declaring is None and len(self._known) >= LAZY_WORKFLOWS:
            head = self._store.get_current_sequence()
            self._declaring = (head, self._scans.workflows_declaring(DECLARATION_KEY))
        if self._declaring is None or sequence is None:
            return False
        head, declaring = self._declaring
        return sequence <= head and workflow_id not in declaring

    def _scan(self, workflow_id: str | None) -> DeclaredSecrets:
        """Declared names and their values. On a damaged page the scan keeps what it read
        before it (the pattern redaction still applies to every value), so the readable
        events are still shown; the read that meets the damage reports it (exit 4)."""
        names: set[str] = set()
        values: list[str] = []
        with suppress(StoreCorruptError):
            needles = [json_needle(DECLARATION_KEY)]
            for payload in self._scans.payloads_mentioning(workflow_id, needles):
                declared, inline = declarations(payload)
                names |= declared
                values += inline
        if not names:
            return DeclaredSecrets.build((), values)
        folded = frozenset(n.casefold() for n in names)
        with suppress(StoreCorruptError):
            for payload in self._scans.payloads_mentioning(workflow_id, map(json_needle, names)):
                values += values_under(payload, folded)
        return DeclaredSecrets.build(names, values)


class EventRedaction:
    """The store's ``event_filter``: every decoded event comes out redacted."""

    def __init__(self, store: AuditableStore, redactor: Redactor) -> None:
        self.redactor = redactor
        self.secrets = WorkflowSecrets(store)

    def __call__(self, event: Event) -> Event:
        secrets = self.secrets.of(event.workflow_id, event.sequence)
        meta = event.metadata
        data, actor, handler = self.redactor.redact_value(
            [event.data, meta.actor, meta.source_handler],
            secrets=secrets,
            origin=("event", event.sequence),
        )
        if data is event.data and actor is meta.actor and handler is meta.source_handler:
            return event  # nothing hidden (most events): no copy
        if actor != meta.actor or handler != meta.source_handler:
            meta = dataclasses.replace(meta, actor=actor, source_handler=handler)
        return dataclasses.replace(event, data=data, metadata=meta)

    def unreadable(self, row: UnreadableRow) -> UnreadableRow:
        """A row shown as stored: its text columns (the raw payload above all), not its ids."""
        workflow_id = row.workflow_id if isinstance(row.workflow_id, str) else None
        secrets = self.secrets.of(workflow_id, row.sequence)
        texts = {k: v for k, v in row.columns.items() if k not in IDS and isinstance(v, str)}
        shown = self.redactor.redact_value(texts, secrets=secrets, origin=("row", row.sequence))
        if shown is texts:
            return row
        return dataclasses.replace(row, columns={**row.columns, **shown})

    def snapshot_row(self, row: dict[str, Any]) -> dict[str, Any]:
        """A sound snapshot row a replay may start from, its state redacted (and its hash
        recomputed, so it stays usable); an unsound row is left as it is, never used."""
        if check_snapshot_row(row) is not None:
            return row
        state = json.loads(row["state"])
        sequence = row["sequence"] if isinstance(row["sequence"], int) else None
        secrets = self.secrets.of(row["workflow_id"], sequence)
        shown = self.redactor.redact_value(state, secrets=secrets, origin=("snapshot", row["id"]))
        if shown is state:
            return row
        return {**row, "state": json.dumps(shown, default=str), "state_hash": state_hash(shown)}


def redact_state(
    store: AuditableStore, redactor: Redactor, workflow_id: str | None, state: Any
) -> Any:
    """A stored state (a snapshot's) redacted with its workflow's declared secrets."""
    if not redactor.enabled:
        return state
    return redactor.redact_value(state, secrets=WorkflowSecrets(store).of(workflow_id))
