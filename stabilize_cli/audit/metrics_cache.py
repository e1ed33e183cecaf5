"""Stage and task figures kept beside a database (never in it), so that the next
``metrics`` reads only the events appended since.

One JSON file per database, in a directory the caller chooses (the CLI: the user's cache
directory), readable by its owner only. An entry covers every event up to its checkpoint
sequence; it is trusted only while the database is the same one (the identity its backend
gives: for SQLite the file's device and inode), still holds as many events up to the
checkpoint, and has the same rows (every column) at 33 sampled sequences: the engine only
ever appends. Anything else (another tool version, a file that will not parse, another
user's file) is a miss: the figures are computed afresh and the entry rewritten. A cache
that cannot be written is skipped. Rewriting old events in place elsewhere than at a
sampled row goes unseen: ``--no-cache`` is the forensic mode. Only the questions asked of
the database (:class:`CacheSubject`) differ per backend; this file is backend-neutral.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..events.errors import StoreError
from ..events.projections.metrics import StageMetrics, TaskMetrics
from .contracts import CacheSubject, MetricsFigures

FORMAT = f"1/{__version__}"
"""Entries written by another version of this tool are recomputed, not trusted."""
STALE_DAYS = 30
"""An entry not written for this long is removed when another is written."""
SAMPLES = 32
"""Rows checked at sequences spread over the covered range (and the last one)."""


@dataclass(frozen=True)
class CachedFigures:
    """Figures over every event up to ``checkpoint``, and the workflows whose payloads
    declare secrets among those events (the redaction check needs them)."""

    checkpoint: int
    figures: MetricsFigures
    declaring: frozenset[str | None]


@dataclass(frozen=True)
class _Prefix:
    """What must not have changed for an entry to hold."""

    stamp: tuple[tuple[str, int | str], ...]
    """The backend's identity stamp (SQLite: the file's device and inode)."""
    count: int
    samples: tuple[tuple[int, str], ...]


class MetricsCache:
    """Entries for many databases in one directory, one file each."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def file_for(self, store: CacheSubject) -> Path:
        real = os.fsencode(store.identity().name)
        return self.directory / f"metrics-{hashlib.sha256(real).hexdigest()[:32]}.json"

    def load(self, store: CacheSubject) -> CachedFigures | None:
        """The entry for this database, if there is one and it still holds; anything wrong
        with the file (or with reading the database to check it) is a miss."""
        try:
            return self._load(store)
        except (Exception, RecursionError):  # a damaged or hostile file: compute afresh
            return None

    def _load(self, store: CacheSubject) -> CachedFigures | None:
        path = self.file_for(store)
        if path.stat().st_uid != os.getuid():  # another user's file in a shared directory
            return None
        entry = json.loads(path.read_text(encoding="utf-8"), parse_constant=_refuse)
        if entry.get("format") != FORMAT or entry.get("path") != store.identity().name:
            return None
        checkpoint = entry["checkpoint"]
        if type(checkpoint) is not int or not 0 <= checkpoint < 2**63:
            return None
        kept = _prefix_from_json(entry["prefix"])
        if _prefix(store, checkpoint, [s for s, _ in kept.samples]) != kept:
            return None
        figures = _figures_from_json(entry["stages"], entry["tasks"])
        declaring = frozenset(w if w is None else str(w) for w in entry["declaring"])
        with contextlib.suppress(OSError):
            os.utime(path)  # in use: not stale
        return CachedFigures(checkpoint, figures, declaring)

    def save(self, store: CacheSubject, cached: CachedFigures) -> None:
        """Write the entry (atomically, readable by this user only); a cache that cannot be
        written, or a database that went away meanwhile, is no error: it is skipped.
        Figures that had to leave events out (a damaged page) are never kept."""
        if not cached.figures.complete:
            return
        with contextlib.suppress(OSError, StoreError, *store.driver_errors):
            self._save(store, cached)

    def _save(self, store: CacheSubject, cached: CachedFigures) -> None:
        sequences = _sample_sequences(store, cached.checkpoint)
        entry = {
            "format": FORMAT,
            "path": store.identity().name,
            "checkpoint": cached.checkpoint,
            "prefix": _prefix_to_json(_prefix(store, cached.checkpoint, sequences)),
            "stages": [_stage_to_json(m) for m in cached.figures.stages.values()],
            "tasks": [_task_to_json(m) for m in cached.figures.tasks.values()],
            "declaring": sorted(cached.declaring, key=lambda w: (w is None, w or "")),
        }
        target = self.file_for(store)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".metrics-", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(entry, out, separators=(",", ":"))
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        self._forget_stale(keep=target)

    def _forget_stale(self, keep: Path) -> None:
        """Entries unused for :data:`STALE_DAYS` (databases long gone, CI scratch copies)
        are removed, so the directory does not grow without end."""
        cutoff = time.time() - STALE_DAYS * 86_400
        for entry in self.directory.glob("metrics-*.json"):
            with contextlib.suppress(OSError, ValueError, RecursionError):
                info = entry.lstat()
                if entry != keep and info.st_mtime < cutoff and _provably_ours(entry, info):
                    entry.unlink()


ENTRY_NAME = re.compile(r"metrics-([0-9a-f]{32})\.json")
MAX_ENTRY_BYTES = 64 * 2**20


def _provably_ours(entry: Path, info: os.stat_result) -> bool:
    """Only an entry this tool wrote may be removed: a cache directory can be shared with
    the user's own ``metrics-*.json`` reports. Ours is a regular file of this user, named
    by the hash of the database path it records, in our entry format."""
    match = ENTRY_NAME.fullmatch(entry.name)
    if match is None or not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
        return False
    if info.st_size > MAX_ENTRY_BYTES:
        return False
    document = json.loads(entry.read_text(encoding="utf-8"), parse_constant=_refuse)
    if not isinstance(document, dict) or not str(document.get("format", "")).startswith("1/"):
        return False
    recorded = document.get("path")
    if not isinstance(recorded, str) or not {"checkpoint", "prefix"} <= document.keys():
        return False
    return hashlib.sha256(os.fsencode(recorded)).hexdigest()[:32] == match.group(1)


def _refuse(constant: str) -> None:
    raise ValueError(f"{constant} in a cache file")


def _sample_sequences(store: CacheSubject, checkpoint: int) -> list[int]:
    """Up to :data:`SAMPLES` existing sequences spread over ``1..checkpoint``."""
    targets = sorted({1 + checkpoint * i // SAMPLES for i in range(SAMPLES)} | {checkpoint})
    return store.sample_sequences(targets, checkpoint)


def _prefix(store: CacheSubject, checkpoint: int, sequences: list[int]) -> _Prefix:
    """The database's identity, the count of events up to ``checkpoint`` and a digest of
    each sampled row, every column included."""
    stamp = tuple(store.identity().stamp.items())
    count, rows = store.prefix_rows(checkpoint, sequences)
    samples = tuple((int(row[0]), _digest(row)) for row in rows)
    return _Prefix(stamp, int(count), samples)


def _digest(row: tuple[Any, ...]) -> str:
    return hashlib.sha256(repr(row).encode("utf-8", "backslashreplace")).hexdigest()


def _prefix_to_json(prefix: _Prefix) -> dict[str, Any]:
    return {
        **dict(prefix.stamp),
        "count": prefix.count,
        "samples": [list(s) for s in prefix.samples],
    }


def _prefix_from_json(raw: dict[str, Any]) -> _Prefix:
    samples = tuple((int(s), str(d)) for s, d in raw["samples"])
    stamp = tuple((k, v) for k, v in raw.items() if k not in ("count", "samples"))
    return _Prefix(stamp, int(raw["count"]), samples)


def _stage_to_json(m: StageMetrics) -> list[Any]:
    return [
        m.stage_type,
        m.execution_count,
        m.success_count,
        m.failure_count,
        m.skip_count,
        m.durations,
    ]


def _task_to_json(m: TaskMetrics) -> list[Any]:
    return [
        m.task_name,
        m.implementing_class,
        m.execution_count,
        m.success_count,
        m.failure_count,
        m.retry_count,
        m.durations,
    ]


def _figures_from_json(stages: list[list[Any]], tasks: list[list[Any]]) -> MetricsFigures:
    figures = MetricsFigures()
    for name, executed, succeeded, failed, skipped, durations in stages:
        figures.stages[str(name)] = StageMetrics(
            str(name),
            int(executed),
            int(succeeded),
            int(failed),
            int(skipped),
            [int(d) for d in durations],
        )
    for name, implementing, executed, succeeded, failed, retried, durations in tasks:
        figures.tasks[str(name)] = TaskMetrics(
            str(name),
            None if implementing is None else str(implementing),
            int(executed),
            int(succeeded),
            int(failed),
            int(retried),
            [int(d) for d in durations],
        )
    return figures
