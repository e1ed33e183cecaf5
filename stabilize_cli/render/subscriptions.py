"""Durable subscriptions: the same records for JSON, CSV, Markdown and NDJSON; a table
that folds long URLs and filters instead of cutting them."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from ..queries.subscriptions import SubscriptionList
from .fit import FitColumn, FitTable
from .output import Column, Report, cell, table_time
from .safe import safe_text

SUBSCRIPTION_COLUMNS = (
    Column("id", "ID"),
    Column("last_sequence", "POSITION", numeric=True),
    Column("lag", "LAG", numeric=True),
    Column("event_types", "EVENT TYPES"),
    Column("entity_filter", "FILTER"),
    Column("webhook_url", "WEBHOOK"),
    Column("created_at", "CREATED"),
    Column("updated_at", "UPDATED"),
)
TABLE_COLUMNS = tuple(c for c in SUBSCRIPTION_COLUMNS if c.key != "created_at")
"""The table leaves out the creation time (JSON and CSV have it): room for the webhook."""
NO_WRAP = frozenset({"id", "last_sequence", "lag", "updated_at"})


def _types(value: Any) -> Text:
    """``null`` means every type; a list reads as names, without JSON quoting."""
    if value is None:
        return Text("all", style="dim")
    if isinstance(value, list):
        return safe_text(", ".join(str(v) for v in value))
    return safe_text(value)


def _filter(value: Any) -> Text:
    if value is None:
        return Text("none", style="dim")
    if isinstance(value, dict):
        return safe_text(", ".join(f"{k}={cell(v)}" for k, v in value.items()))
    return safe_text(value)


def _shown(key: str, value: Any) -> Text:
    if key == "event_types":
        return _types(value)
    if key == "entity_filter":
        return _filter(value)
    if key == "updated_at":
        value = table_time(value)
    return safe_text(value, style="dim" if value is None else "")


def subscriptions_table(result: SubscriptionList) -> FitTable:
    """Ids, positions and times whole; event types, filters and webhooks wrap or move."""
    columns = [
        FitColumn(c.header, "fixed" if c.key in NO_WRAP else "wrap", right=c.numeric)
        for c in TABLE_COLUMNS
    ]
    rows = [[_shown(c.key, r.get(c.key)) for c in TABLE_COLUMNS] for r in result.records()]
    return FitTable(columns, rows)


def subscriptions_report(result: SubscriptionList) -> Report:
    return Report(
        document=lambda: list(result.records()),
        columns=SUBSCRIPTION_COLUMNS,
        records=result.records,
        view=lambda: subscriptions_table(result),
    )
