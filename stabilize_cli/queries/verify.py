"""The integrity audit: every anomaly of the matrix's ES list, each reported once.

Events are streamed once, in sequence order, as raw rows (a row the codec would refuse
is a finding, not a crash); memory grows with the number of entities and workflows, not
events. Most checks compare an event with the one before it (of the store, or of its
entity), so one tampered row gives one finding, not one per later event.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from ..audit import read_models_for
from ..audit.contracts import RawEvent, RawSubscription
from ..events.base import EntityType, EventType
from ..events.errors import StoreCorruptError
from ..events.snapshots import check_snapshot_row
from ..events.store import AuditableStore
from ..events.timeutil import OUT_OF_RANGE, TimeRangeError, parse_timestamp
from ..events.ulids import is_ulid, timestamp_ms
from .errors import InvalidInputError

TOLERANCE = timedelta(seconds=5)
MAX_LISTED = 100
"""At most this many sequence numbers per finding (the message gives the full count)."""

KNOWN_EVENT_TYPES = frozenset(t.value for t in EventType)
KNOWN_ENTITY_TYPES = frozenset(t.value for t in EntityType)
TERMINAL_TYPES = frozenset({"workflow.completed", "workflow.failed", "workflow.canceled"})
STAGE_ENDS = frozenset({"stage.completed", "stage.failed", "stage.canceled", "stage.skipped"})
PLAIN = re.compile(r"[A-Za-z0-9_.:/+-]{1,80}")


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True)
class Finding:
    """One anomaly; ``sequences`` are the events involved, ascending."""

    severity: Severity
    code: str
    message: str
    sequences: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "sequences": list(self.sequences),
        }


@dataclass(frozen=True)
class VerifyOptions:
    full: bool = False
    """SQLite's full ``integrity_check`` instead of the faster ``quick_check``."""
    tolerance: timedelta = TOLERANCE
    """How far a timestamp (or event id time) may run backwards before it is reported."""


@dataclass(frozen=True)
class Audit:
    findings: tuple[Finding, ...]
    events: int
    snapshots: int
    subscriptions: int
    incomplete: bool
    """The database is corrupt: findings may be missing, counts may be short."""

    @property
    def has_errors(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)

    @property
    def ok(self) -> bool:
        return not self.incomplete and not self.has_errors

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    def records(self) -> Iterable[dict[str, Any]]:
        return (f.to_json() for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": {
                "events": self.events,
                "snapshots": self.snapshots,
                "subscriptions": self.subscriptions,
            },
            "findings": list(self.records()),
            "incomplete": self.incomplete,
        }


def verify_store(store: AuditableStore, options: VerifyOptions | None = None) -> Audit:
    options = options or VerifyOptions()
    if options.tolerance < timedelta(0):
        raise InvalidInputError("--tolerance must not be negative")
    return _Auditor(store, options).run()


class _Auditor:
    def __init__(self, store: AuditableStore, options: VerifyOptions) -> None:
        self.store = store
        self.audit = read_models_for(store)
        self.options = options
        self.findings: list[Finding] = []
        self.events = _EventChecks(options.tolerance, self.findings.append)
        self.snapshots = 0
        self.subscriptions = 0
        self.incomplete = False

    def run(self) -> Audit:
        sections: tuple[tuple[str, Callable[[], None]], ...] = (
            ("the integrity check", self._integrity),
            ("reading events", self._scan_events),
            ("reading the sequence counter", self._tail),
            ("checking causation ids", self._causations),
            ("checking snapshots", self._snapshots),
            ("checking subscriptions", self._subscriptions),
            ("checking what the backend alone can tell", self._backend),
        )
        for name, section in sections:  # a corrupt page stops one section, not the audit
            try:
                section()
            except StoreCorruptError as exc:
                self._corrupt(f"{name} failed: {exc}")
        ordered = sorted(self.findings, key=_order)
        return Audit(
            tuple(ordered), self.events.count, self.snapshots, self.subscriptions, self.incomplete
        )

    def _add(self, severity: Severity, code: str, message: str, *sequences: int) -> None:
        self.findings.append(Finding(severity, code, message, tuple(sorted(sequences))))

    def _corrupt(self, message: str) -> None:
        self.incomplete = True
        self._add(Severity.ERROR, "corrupt", message)

    def _integrity(self) -> None:
        pragma = "integrity_check" if self.options.full else "quick_check"
        lines = [
            line.strip()
            for problem in self.audit.integrity.integrity_problems(full=self.options.full)
            for line in problem.splitlines()
            if line.strip() and not line.startswith("*** in database")
        ]
        if lines:
            more = f" (and {len(lines) - 3} more)" if len(lines) > 3 else ""
            self._corrupt(f"SQLite {pragma}: {'; '.join(lines[:3])}{more}")

    def _scan_events(self) -> None:
        complete = False
        try:
            for row in self.audit.integrity.iter_raw_events():
                self.events.check(row)
            complete = True
        except StoreCorruptError as exc:
            after = self.events.previous
            where = "" if after is None else f" after sequence {after}"
            self._corrupt(f"cannot read events{where}: {exc}")
        finally:
            self.events.finish(complete=complete)

    def _tail(self) -> None:
        present, issued = self.audit.integrity.sequence_head()
        if issued is not None and issued > (present or 0):
            last = "no event is left" if present is None else f"the last event is {present}"
            self._add(
                Severity.WARNING,
                "deleted-tail",
                f"sequence numbers up to {issued} were issued but {last}: "
                f"{_span(present or 0, issued)} deleted",
                *(() if present is None else (present,)),
            )

    def _causations(self) -> None:
        for sequence, cause in self.audit.integrity.dangling_causations():
            self._add(
                Severity.WARNING,
                "dangling-causation",
                f"causation_id {_shown(cause)} names no stored event",
                sequence,
            )

    def _snapshots(self) -> None:
        if not self.audit.integrity.has_table("snapshots"):
            return
        for row in self.audit.snapshots.iter_snapshot_rows():
            self.snapshots += 1
            problem = check_snapshot_row(row)
            if problem is not None:
                sequence = row.get("sequence")
                self._add(
                    Severity.ERROR,
                    "bad-snapshot",
                    f"snapshot {row.get('id')} of {_shown(row.get('entity_type'))} "
                    f"{_shown(row.get('entity_id'))}: {problem}",
                    *((sequence,) if isinstance(sequence, int) else ()),
                )

    def _subscriptions(self) -> None:
        rows = self.audit.integrity.raw_subscriptions()
        head = self.store.get_current_sequence()  # read after the positions: never behind them
        self.subscriptions = len(rows)
        for row in rows:
            self._subscription(row, head)

    def _backend(self) -> None:
        """Findings only one backend can make (PostgreSQL: commit order, what it does not
        check in place of SQLite's quick_check)."""
        for note in self.audit.integrity.backend_notes():
            self._add(Severity(note.severity), note.code, note.message, *note.sequences)

    def _subscription(self, row: RawSubscription, head: int) -> None:
        name, position = f"subscription {_shown(row.id)}", row.last_sequence
        if row.storage != "integer":
            message = f"{name}: position {_shown(position)} is not a whole number"
            self._add(Severity.ERROR, "subscription-not-a-number", message)
        elif position < 0:
            message = f"{name}: position {position} is negative"
            self._add(Severity.ERROR, "subscription-negative", message, position)
        elif position > head:
            message = f"{name} is at sequence {position}, beyond the last event ({head})"
            self._add(Severity.ERROR, "subscription-ahead", message, head, position)


@dataclass(slots=True)
class _Workflow:
    """What the lifecycle check remembers per workflow (a few numbers, bounded lists)."""

    created: int | None = None
    terminal: int | None = None
    terminal_type: str = ""
    early: list[int] = field(default_factory=list)
    early_count: int = 0
    late: list[int] = field(default_factory=list)
    late_count: int = 0


class _EventChecks:
    """Per-event checks over one ordered pass; state per entity and per workflow only."""

    def __init__(self, tolerance: timedelta, report: Callable[[Finding], None]) -> None:
        self.tolerance = tolerance
        self.report = report
        self.count = 0
        self.previous: int | None = None
        self.last_time: tuple[datetime, int] | None = None
        self.last_id_ms: tuple[int, int] | None = None
        self.versions: dict[tuple[Any, Any], tuple[int, int]] = {}
        self.workflows: dict[Any, _Workflow] = {}
        self.unknown_types: dict[Any, list[int]] = {}
        self.unknown_counts: dict[Any, int] = {}
        self.started: set[int] = set()
        """Hashes of (workflow, stage) started so far: a restart starts one of them again.
        One set of ints for the whole pass, not one per workflow: a 1.4M-event store has
        300,000 stages."""
        self.running: set[int] = set()
        """Stages started and not yet ended: a failed workflow cancels them after its end."""

    def _add(self, severity: Severity, code: str, message: str, *sequences: int) -> None:
        self.report(Finding(severity, code, message, tuple(sorted(sequences))))

    def check(self, row: RawEvent) -> None:
        self.count += 1
        self._sequence(row.sequence)
        self._payload(row)
        self._types(row)
        self._timestamp(row)
        self._event_id(row)
        self._version(row)
        self._lifecycle(row)

    def _sequence(self, sequence: int) -> None:
        previous, self.previous = self.previous, sequence
        if previous is None and sequence > 1:
            message = f"the first event has sequence {sequence}: 1..{sequence - 1} are unused"
            self._add(Severity.INFO, "sequence-gap", message, sequence)
        elif previous is not None and sequence > previous + 1:
            unused = sequence - previous - 1
            message = f"sequence jumps from {previous} to {sequence} ({unused} unused)"
            self._add(Severity.INFO, "sequence-gap", message, previous, sequence)

    def _payload(self, row: RawEvent) -> None:
        problem = _payload_problem(row.data)
        if problem is not None:
            self._add(Severity.ERROR, "data-not-object", f"data {problem}", row.sequence)

    def _types(self, row: RawEvent) -> None:
        if row.event_type not in KNOWN_EVENT_TYPES:
            listed = self.unknown_types.setdefault(row.event_type, [])
            if len(listed) < MAX_LISTED:
                listed.append(row.sequence)
            self.unknown_counts[row.event_type] = self.unknown_counts.get(row.event_type, 0) + 1
        if row.entity_type not in KNOWN_ENTITY_TYPES:
            message = f"unknown entity type {_shown(row.entity_type)}"
            self._add(Severity.ERROR, "unknown-entity-type", message, row.sequence)

    def _timestamp(self, row: RawEvent) -> None:
        try:
            moment = parse_timestamp(row.timestamp)
        except TimeRangeError:
            message = f"timestamp {_shown(row.timestamp)} is {OUT_OF_RANGE}"
            self._add(Severity.ERROR, "bad-timestamp", message, row.sequence)
            return
        except (TypeError, ValueError, AttributeError):
            message = f"timestamp {_shown(row.timestamp)} is not an ISO 8601 time"
            self._add(Severity.ERROR, "bad-timestamp", message, row.sequence)
            return
        last, self.last_time = self.last_time, (moment, row.sequence)
        # last - moment, not last - tolerance: the latter underflows at datetime.min.
        if last is not None and last[0] - moment > self.tolerance:
            message = (
                f"timestamp {moment.isoformat()} is {_seconds(last[0] - moment)} earlier than "
                f"that of sequence {last[1]} ({last[0].isoformat()})"
            )
            self._add(Severity.WARNING, "timestamp-backwards", message, last[1], row.sequence)

    def _event_id(self, row: RawEvent) -> None:
        if not is_ulid(row.event_id):
            message = f"event_id {_shown(row.event_id)} is not a ULID"
            self._add(Severity.WARNING, "bad-event-id", message, row.sequence)
            return
        moment = timestamp_ms(str(row.event_id))
        last, self.last_id_ms = self.last_id_ms, (moment, row.sequence)
        slack = self.tolerance // timedelta(milliseconds=1)
        if last is not None and moment < last[0] - slack:
            message = (
                f"event_id {row.event_id} is {_seconds(timedelta(milliseconds=last[0] - moment))}"
                f" older than the id of sequence {last[1]}"
            )
            self._add(Severity.WARNING, "event-id-out-of-order", message, last[1], row.sequence)

    def _version(self, row: RawEvent) -> None:
        version = row.version
        if not isinstance(version, int) or isinstance(version, bool):
            message = f"version {_shown(version)} is not an integer"
            self._add(Severity.ERROR, "bad-version", message, row.sequence)
            return
        key = (row.entity_type, row.entity_id)
        last = self.versions.get(key)
        self.versions[key] = (version, row.sequence)
        if last is not None and version < last[0]:  # equal is normal: task.retried
            message = (
                f"{_shown(row.entity_type)} {_shown(row.entity_id)}: version {version} "
                f"after version {last[0]} (sequence {last[1]})"
            )
            self._add(Severity.ERROR, "version-backwards", message, last[1], row.sequence)

    def _lifecycle(self, row: RawEvent) -> None:
        track = self.workflows.setdefault(row.workflow_id, _Workflow())
        if track.terminal is not None and not self._explained(track, row):
            track.late_count += 1
            if len(track.late) < MAX_LISTED:
                track.late.append(row.sequence)
            return
        self._stages(row)
        if row.event_type == "workflow.created" and track.created is None:
            track.created = row.sequence
            self._early(row.workflow_id, track)
        elif track.created is None:
            track.early_count += 1
            if len(track.early) < MAX_LISTED:
                track.early.append(row.sequence)
        if row.event_type in TERMINAL_TYPES:
            track.terminal, track.terminal_type = row.sequence, str(row.event_type)

    def _stages(self, row: RawEvent) -> None:
        if row.entity_type != "stage":
            return
        key = _stage_key(row)
        if row.event_type == "stage.started":
            self.started.add(key)
            self.running.add(key)
        elif row.event_type in STAGE_ENDS:
            self.running.discard(key)

    def _explained(self, track: _Workflow, row: RawEvent) -> bool:
        """Events after a terminal one that the engine writes on purpose.

        A restart (no event marks it): a stage that already ran starts again, and the
        workflow is open until its next end. A failed workflow then cancels the stages
        still running: their ``stage.canceled`` follows ``workflow.failed``.
        """
        if row.entity_type != "stage" or track.late_count:
            return False
        key = _stage_key(row)
        if row.event_type == "stage.started" and key in self.started:
            message = (
                f"workflow {_shown(row.workflow_id)}: restarted after its {track.terminal_type} "
                f"(sequence {track.terminal}): stage {_shown(row.entity_id)} started again"
            )
            assert track.terminal is not None
            self._add(Severity.INFO, "restart", message, track.terminal, row.sequence)
            track.terminal = None
            return True
        return (
            row.event_type == "stage.canceled"
            and track.terminal_type == "workflow.failed"
            and key in self.running
        )

    def _early(self, workflow_id: Any, track: _Workflow) -> None:
        if track.early_count and track.created is not None:
            message = (
                f"workflow {_shown(workflow_id)}: {_events(track.early_count)} come before its "
                f"workflow.created (sequence {track.created})"
            )
            self._add(Severity.ERROR, "before-created", message, *track.early, track.created)
        track.early, track.early_count = [], 0

    def finish(self, *, complete: bool) -> None:
        """Findings that need the whole pass (a cut-short pass reports only certain ones)."""
        for raw_type, listed in self.unknown_types.items():
            count = self.unknown_counts[raw_type]
            message = f"{_events(count)} of unknown type {_shown(raw_type)}"
            self._add(Severity.WARNING, "unknown-event-type", message, *listed)
        for workflow_id, track in self.workflows.items():
            if track.late_count:
                message = (
                    f"workflow {_shown(workflow_id)}: {_events(track.late_count)} come after "
                    f"its {track.terminal_type} (sequence {track.terminal})"
                )
                assert track.terminal is not None
                self._add(Severity.ERROR, "after-terminal", message, track.terminal, *track.late)
            if complete and track.early_count:
                message = (
                    f"workflow {_shown(workflow_id)}: {_events(track.early_count)} "
                    "but no workflow.created"
                )
                self._add(Severity.ERROR, "missing-created", message, *track.early)


def _stage_key(row: RawEvent) -> int:
    try:
        return hash((row.workflow_id, row.entity_id))
    except TypeError:  # an unhashable value cannot come from SQLite; be safe anyway
        return hash((repr(row.workflow_id), repr(row.entity_id)))


def _payload_problem(raw: object) -> str | None:
    if raw is None:
        return "is NULL"
    if not isinstance(raw, str):
        kind = "a BLOB" if isinstance(raw, bytes) else "a number"
        return f"is stored as {kind}, not JSON text"
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return "is not valid JSON"
    if not isinstance(value, dict):
        return f"is a JSON {type(value).__name__}, not an object"
    return None


def _order(finding: Finding) -> tuple[int, int, str]:
    first = finding.sequences[0] if finding.sequences else -1
    return (_RANK[finding.severity], first, finding.code)


def _events(count: int) -> str:
    listed = f" (the first {MAX_LISTED} listed)" if count > MAX_LISTED else ""
    return f"{count} event" + ("" if count == 1 else "s") + listed


def _span(present: int, issued: int) -> str:
    first = present + 1
    return f"event {first} was" if first == issued else f"events {first}..{issued} were"


def _seconds(delta: timedelta) -> str:
    return f"{delta.total_seconds():.3f} s"


def _shown(value: object, limit: int = 80) -> str:
    """A raw value for a message: plain if it is a simple word, else quoted; cut short."""
    text = value if isinstance(value, str) and PLAIN.fullmatch(value) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
