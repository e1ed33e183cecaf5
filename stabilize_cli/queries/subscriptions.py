"""Durable subscriptions as stored: position, lag behind the store, filters, webhook.

Rows are read undecoded, so a filter that is not valid JSON is shown as stored rather
than failing the listing. Webhook URLs are redacted here, before any output form (a
webhook URL is a capability: userinfo, every query value and random path parts hidden).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..audit import read_models_for
from ..audit.contracts import RawSubscription
from ..events.store import AuditableStore
from ..redaction import Redactor
from .snapshots import iso_time


@dataclass(frozen=True)
class SubscriptionRow:
    id: Any
    last_sequence: Any
    lag: int | None
    """Current sequence minus position; negative when the position is ahead of the store."""
    event_types: Any
    entity_filter: Any
    webhook_url: str | None
    created_at: Any
    updated_at: Any

    def to_json(self, current: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "last_sequence": self.last_sequence,
            "current_sequence": current,
            "lag": self.lag,
            "event_types": self.event_types,
            "entity_filter": self.entity_filter,
            "webhook_url": self.webhook_url,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class SubscriptionList:
    current_sequence: int
    subscriptions: tuple[SubscriptionRow, ...]

    def records(self) -> Iterable[dict[str, Any]]:
        return (s.to_json(self.current_sequence) for s in self.subscriptions)


def list_subscriptions(store: AuditableStore, redactor: Redactor | None = None) -> SubscriptionList:
    """Webhook URLs redacted (None: by a fresh redactor); filters by the value rules."""
    redactor = Redactor() if redactor is None else redactor
    rows = read_models_for(store).integrity.raw_subscriptions()
    current = store.get_current_sequence()  # after the positions, so lag is never understated
    return SubscriptionList(current, tuple(_row(r, current, redactor) for r in rows))


def _row(raw: RawSubscription, current: int, redactor: Redactor) -> SubscriptionRow:
    position = raw.last_sequence
    whole = isinstance(position, int) and not isinstance(position, bool)
    return SubscriptionRow(
        id=raw.id,
        last_sequence=position,
        lag=current - position if whole else None,
        event_types=_json_or_raw(raw.event_types),
        entity_filter=redactor.redact_value(_json_or_raw(raw.entity_filter)),
        webhook_url=None if raw.webhook_url is None else _webhook(redactor, raw.webhook_url),
        created_at=iso_time(raw.created_at),
        updated_at=iso_time(raw.updated_at),
    )


def _json_or_raw(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return value


def _webhook(redactor: Redactor, url: Any) -> str:
    return redactor.redact_webhook_url(str(url))
