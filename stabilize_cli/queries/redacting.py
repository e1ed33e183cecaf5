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
from collections.abc import Iterable, Iterator
from typing import Any

from ..audit import read_models_for
from ..audit.contracts import UNPARSEABLE, json_needle
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
DAMAGED_PAGE = "on a damaged page"
UNREADABLE_ROW = "in a row that cannot be parsed"
NO_WORKFLOW = "(none)"


class WorkflowSecrets:
    """What each workflow of a store declares as secret, scanned once and cached.

    A scan that cannot read every payload it needs (a damaged page among the workflow's
    rows, a payload that mentions the declaration but does not parse) marks the
    workflow's secrets ``unread``: the redactor then hides every value of it but its
    structural fields, since any of them may be a secret it declared there. ``redactor``
    (optional) is told, so that the command can say it once."""

    def __init__(self, store: AuditableStore, redactor: Redactor | None = None) -> None:
        self._store = store
        self._scans = read_models_for(store).secrets
        self._redactor = redactor
        self._known: dict[str | None, tuple[int, DeclaredSecrets]] = {}
        self._declaring: tuple[int, set[str | None]] | None = None
        self._no_shortcut = False
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
        if self._declaring is None and not self._no_shortcut and len(self._known) >= LAZY_WORKFLOWS:
            head = self._store.get_current_sequence()
            try:
                self._declaring = (head, self._scans.workflows_declaring(DECLARATION_KEY))
            except StoreCorruptError:  # which workflows have damaged rows is unknown
                self._no_shortcut = True  # so each is scanned, and meets its own damage
        if self._declaring is None or sequence is None:
            return False
        head, declaring = self._declaring
        return sequence <= head and workflow_id not in declaring

    def _scan(self, workflow_id: str | None) -> DeclaredSecrets:
        """Declared names and their values. On a damaged page or an unparseable payload
        the scan keeps what it read and marks the result ``unread``; the events are still
        shown (redacted as such), and the read that meets the damage reports it (exit 4)."""
        names: set[str] = set()
        values: list[str] = []
        declaring = self._read(workflow_id, [json_needle(DECLARATION_KEY)])
        for payload in declaring:
            declared, inline = declarations(payload)
            names |= declared
            values += inline
        unread = declaring.unread
        if names:
            folded = frozenset(n.casefold() for n in names)
            holding = self._read(workflow_id, map(json_needle, names))
            for payload in holding:
                values += values_under(payload, folded)
            unread = unread or holding.unread
        if unread is not None and self._redactor is not None:
            self._redactor.note_unread(NO_WORKFLOW if workflow_id is None else workflow_id, unread)
        return DeclaredSecrets.build(names, values, unread=unread)

    def _read(self, workflow_id: str | None, needles: Iterable[str]) -> _Payloads:
        return _Payloads(self._scans.payloads_mentioning(workflow_id, needles))


class _Payloads:
    """The parsed payloads of a scan; ``unread`` says, once iterated, what it could not read."""

    def __init__(self, payloads: Iterator[Any]) -> None:
        self._payloads = payloads
        self.unread: str | None = None

    def __iter__(self) -> Iterator[Any]:
        try:
            for payload in self._payloads:
                if payload is UNPARSEABLE:
                    self.unread = self.unread or UNREADABLE_ROW
                else:
                    yield payload
        except StoreCorruptError:
            self.unread = DAMAGED_PAGE


class EventRedaction:
    """The store's ``event_filter``: every decoded event comes out redacted."""

    def __init__(self, store: AuditableStore, redactor: Redactor) -> None:
        self.redactor = redactor
        self.secrets = WorkflowSecrets(store, redactor)

    def __call__(self, event: Event) -> Event:
        secrets = self.secrets.of(event.workflow_id, event.sequence)
        meta = event.metadata
        if secrets.unread is None:
            data, actor, handler = self.redactor.redact_value(
                [event.data, meta.actor, meta.source_handler],
                secrets=secrets,
                origin=("event", event.sequence),
            )
        else:  # every payload value hidden; the actor and handler are structural
            shown = self.redactor.redact_value(
                {"data": event.data, "actor": meta.actor, "source_handler": meta.source_handler},
                secrets=secrets,
                origin=("event", event.sequence),
            )
            data, actor, handler = shown["data"], shown["actor"], shown["source_handler"]
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
    return redactor.redact_value(state, secrets=WorkflowSecrets(store, redactor).of(workflow_id))
