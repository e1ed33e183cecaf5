"""Failures across many workflows, grouped by a normalised error signature.

The first question of a post-mortem is "is this the same failure as yesterday's?". Two
errors that differ only in ids, numbers, paths or times get the same signature, and the
signature gets a short stable ``fingerprint`` (the first 8 hex digits of its SHA-256):
the same failure has the same fingerprint on every day and in every database.

Failures are the ``data.error`` of ``stage.failed``, ``task.failed`` and
``workflow.failed`` events; a canceled workflow is not a failure. Missing or empty error
text reads as ``(no error text)``; a non-string error is taken as its JSON.

Normalisation rules, applied in this order:

1. Keep one line: the first non-blank one; for a Python traceback (first line
   ``Traceback (most recent call last):``) the last non-blank one, the exception itself.
2. URLs (``scheme://...`` up to a space, quote, bracket or comma) → ``<url>``.
3. ISO 8601 dates and timestamps (``2026-11-28``, ``2026-11-28T15:04:43.000614+00:00``) → ``<ts>``.
4. UUIDs → ``<uuid>``.
5. ULIDs (26 Crockford base32 characters with at least one digit) → ``<ulid>``.
6. Hex ids: ``0x`` followed by hex digits, or 8+ hex digits with at least one digit
   and one letter (hashes, commit ids, addresses) → ``<hex>``.
7. IPv4 addresses, with an optional port (``10.0.0.7:5432``) → ``<ip>``.
8. File paths: absolute (``/a/b``), home (``~/a``), relative with ``./``/``../``,
   Windows (``C:\\a\\b``), and ``dir/file.ext`` → ``<path>``.
9. Quoted strings longer than 32 characters (payload dumps) → ``'<str>'``; shorter
   ones are kept, because a quoted key, table or field name usually says which bug it is.
10. Numbers not glued to a preceding letter (``42``, ``3.14``, ``user_17``, ``30s``), and
    runs of 4+ digits anywhere (``WF00192S2`` → ``WF<n>S2``) → ``<n>``; short runs glued
    to a letter (``ipv4``, ``s3``, ``sha256``) stay as they are.
11. Whitespace runs collapse to one space; ends are stripped; the result is cut at 300
    characters.

Where the engine's workflow tables are in the file, a stage or task failure whose stage
row says it failed is grouped by its real cause instead (a script's last stderr line, a
command's stderr, the exception text; see ``runs/cause.py``): the events' ``Task failed`` /
``Unknown error`` would put every such failure in one group. ``cause_sources`` names the
table columns a group's text came from.

Per group: the event count, distinct workflows, the event types, the stage types (from
``stage.failed``'s ``data.type``) and task names (``task.failed`` carries no stage type,
only the task's ``data.name``), first and last seen (event timestamps), the last three
distinct workflow ids in sequence order, and the last raw error (cut at 10,000 characters).
Groups are ordered by count, then most recently seen.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..events.base import Event, EventType
from ..events.store import UNLIMITED, AuditableStore, EventQuery
from ..events.ulids import CHARACTER as ULID_CHARACTER
from ..events.ulids import LENGTH as ULID_LENGTH
from ..runs.cause import Cause
from .metrics import Track, check_count, check_range, scoped_events, untracked
from .runs import StageCauses, stage_causes

FAILURE_TYPES = [EventType.STAGE_FAILED, EventType.TASK_FAILED, EventType.WORKFLOW_FAILED]
NO_ERROR_TEXT = "(no error text)"
EXAMPLES = 3
SIGNATURE_LIMIT = 300
EXAMPLE_LIMIT = 10_000
DEFAULT_LIMIT = 50

_TRACEBACK = "Traceback (most recent call last)"
_MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s'\"<>()\[\]{},]+"), "<url>"),
    (
        re.compile(
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
            r"(?:Z|[+-]\d{2}:?\d{2})?)?\b"
        ),
        "<ts>",
    ),
    (
        re.compile(
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
        ),
        "<uuid>",
    ),
    (re.compile(rf"\b(?={ULID_CHARACTER}*\d){ULID_CHARACTER}{{{ULID_LENGTH}}}\b"), "<ulid>"),
    (
        re.compile(r"\b0[xX][0-9a-fA-F]+\b|\b(?=[a-fA-F]*\d)(?=\d*[a-fA-F])[0-9a-fA-F]{8,}\b"),
        "<hex>",
    ),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), "<ip>"),
    (
        re.compile(
            r"(?<![\w/.~<])(?:~|\.{1,2})?/[\w.\-~/]*[\w.\-~]"
            r"|\b[A-Za-z]:\\[^\s'\"]*"
            r"|\b[\w.\-]+(?:/[\w.\-]+)+\.[A-Za-z]\w*\b"
        ),
        "<path>",
    ),
    (re.compile(r"'[^'\n]{33,}'|\"[^\"\n]{33,}\""), "'<str>'"),
    (re.compile(r"(?<![A-Za-z0-9<])\d+(?:\.\d+)?|(?<=[A-Za-z])\d{4,}"), "<n>"),
    (re.compile(r"\s+"), " "),
)


def error_text(value: Any) -> str:
    """The raw error as a string: JSON for non-strings, a marker when there is none."""
    if value is None or value == "":
        return NO_ERROR_TEXT
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    if lines[0].strip().startswith(_TRACEBACK):
        return lines[-1]
    return lines[0]


@functools.lru_cache(maxsize=4096)
def signature(error: str) -> str:
    """The error with everything that varies between occurrences masked (rules above)."""
    line = _one_line(error[:EXAMPLE_LIMIT])[:2000]
    for pattern, replacement in _MASKS:
        line = pattern.sub(replacement, line)
    return line.strip()[:SIGNATURE_LIMIT] or NO_ERROR_TEXT


def fingerprint(sig: str) -> str:
    return hashlib.sha256(sig.encode("utf-8")).hexdigest()[:8]


@dataclass(frozen=True)
class FailureGroup:
    signature: str
    count: int
    workflows: int
    event_types: tuple[str, ...]
    stage_types: tuple[str, ...]
    task_names: tuple[str, ...]
    first_seen: datetime
    last_seen: datetime
    example_workflow_ids: tuple[str, ...]
    example_error: str
    cause_sources: tuple[str, ...] = ()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.signature)

    def record(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "signature": self.signature,
            "count": self.count,
            "workflows": self.workflows,
            "event_types": list(self.event_types),
            "stage_types": list(self.stage_types),
            "task_names": list(self.task_names),
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "example_workflow_ids": list(self.example_workflow_ids),
            "example_error": self.example_error,
            "cause_sources": list(self.cause_sources),
        }


def _add_name(names: set[str], value: Any) -> None:
    if value is not None and value != "":
        names.add(str(value))


@dataclass
class _Tally:
    """One group while the stream is read; only sets and a few examples, no events."""

    first_seen: datetime
    last_seen: datetime
    count: int = 0
    workflows: set[str] = field(default_factory=set)
    event_types: set[str] = field(default_factory=set)
    stage_types: set[str] = field(default_factory=set)
    task_names: set[str] = field(default_factory=set)
    recent: list[str] = field(default_factory=list)
    example_error: str = ""
    cause_sources: set[str] = field(default_factory=set)

    def add(self, event: Event, raw: str, cause: Cause | None = None) -> None:
        self.count += 1
        if cause is not None:
            self.cause_sources.add(cause.source)
        self.first_seen = min(self.first_seen, event.timestamp)
        self.last_seen = max(self.last_seen, event.timestamp)
        self.workflows.add(event.workflow_id)
        self.event_types.add(event.type_name)
        if event.event_type is EventType.STAGE_FAILED:
            _add_name(self.stage_types, event.data.get("type"))
        elif event.event_type is EventType.TASK_FAILED:
            _add_name(self.task_names, event.data.get("name"))
        if event.workflow_id in self.recent:
            self.recent.remove(event.workflow_id)
        self.recent = [event.workflow_id, *self.recent][:EXAMPLES]
        self.example_error = raw[:EXAMPLE_LIMIT]

    def freeze(self, sig: str) -> FailureGroup:
        return FailureGroup(
            signature=sig,
            count=self.count,
            workflows=len(self.workflows),
            event_types=tuple(sorted(self.event_types)),
            stage_types=tuple(sorted(self.stage_types)),
            task_names=tuple(sorted(self.task_names)),
            first_seen=self.first_seen,
            last_seen=self.last_seen,
            example_workflow_ids=tuple(self.recent),
            example_error=self.example_error,
            cause_sources=tuple(sorted(self.cause_sources)),
        )


@dataclass(frozen=True)
class FailureFilter:
    application: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = DEFAULT_LIMIT

    def validate(self) -> None:
        check_range(self.since, self.until)
        check_count("--limit", self.limit)

    def query(self) -> EventQuery:
        return EventQuery(
            event_types=list(FAILURE_TYPES),
            from_timestamp=self.since,
            to_timestamp=self.until,
            limit=UNLIMITED,
        )


@dataclass(frozen=True)
class FailureReport:
    groups: tuple[FailureGroup, ...]
    """The first ``limit`` groups, most frequent first."""
    total_groups: int
    total_failures: int
    total_workflows: int

    def records(self) -> Iterator[dict[str, Any]]:
        return (g.record() for g in self.groups)

    def to_json(self) -> list[dict[str, Any]]:
        return list(self.records())


def cause_texts(cause: Cause) -> tuple[str, str]:
    """What a real cause is grouped by (its one line) and shown as (its whole text)."""
    whole = cause.fields.get("stderr")
    if not isinstance(whole, str) or not whole.strip():
        whole = cause.message
    return cause.summary or NO_ERROR_TEXT, error_text(whole)


def group_failures(
    events: Iterable[Event], limit: int = DEFAULT_LIMIT, causes: StageCauses | None = None
) -> FailureReport:
    """Tally the failure events by signature; the events are read once and not kept."""
    tallies: dict[str, _Tally] = {}
    workflows: set[str] = set()
    for event in events:
        cause = None if causes is None else causes.of(event.entity_type.value, event.entity_id)
        if cause is None:
            raw = error_text(event.data.get("error"))
            sig = signature(raw)
        else:
            line, raw = cause_texts(cause)
            sig = signature(line)
        tally = tallies.get(sig)
        if tally is None:
            tally = tallies[sig] = _Tally(event.timestamp, event.timestamp)
        tally.add(event, raw, cause)
        workflows.add(event.workflow_id)
    groups = [t.freeze(sig) for sig, t in tallies.items()]
    groups.sort(key=lambda g: g.last_seen, reverse=True)
    groups.sort(key=lambda g: g.count, reverse=True)
    total = sum(g.count for g in groups)
    return FailureReport(tuple(groups[:limit]), len(groups), total, len(workflows))


def failures(
    store: AuditableStore, wanted: FailureFilter, track: Track = untracked
) -> FailureReport:
    """Failure groups over the events the filter admits, in one streamed pass."""
    wanted.validate()
    causes = stage_causes(store)
    events = scoped_events(store, wanted.query(), wanted.application, track)
    return group_failures(events, wanted.limit, causes)
