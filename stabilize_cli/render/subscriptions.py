"""Durable subscriptions: the same records for JSON, CSV, Markdown and NDJSON; a table
that folds long URLs and filters instead of cutting them."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from ..queries.subscriptions import SubscriptionList
from .output import Column, Report, cell
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
NO_WRAP = frozenset({"last_sequence", "lag", "updated_at"})


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
    if isinstance(value, str) and key == "updated_at":
        value = value.removesuffix("+00:00") + ("Z" if value.endswith("+00:00") else "")
    return safe_text(value, style="dim" if value is None else "")


def subscriptions_table(result: SubscriptionList) -> Table:
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in TABLE_COLUMNS:
        table.add_column(
            column.header,
            justify="right" if column.numeric else "left",
            no_wrap=column.key in NO_WRAP,
            overflow="fold",
        )
    for record in result.records():
        table.add_row(*(_shown(c.key, record.get(c.key)) for c in TABLE_COLUMNS))
    return table


def subscriptions_report(result: SubscriptionList) -> Report:
    return Report(
        document=lambda: list(result.records()),
        columns=SUBSCRIPTION_COLUMNS,
        records=result.records,
        view=lambda: subscriptions_table(result),
    )
