"""The timeline written to SVG or HTML, for CI artifacts; never over the evidence.

The file is reserved before anything is printed (a path that cannot be written fails first,
exit 3) and written beside its target under a temporary name, then renamed over it: a
reader never sees half a chart, and an interrupted run leaves no partial file behind.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from ..queries.errors import CannotWriteError, InvalidInputError
from ..queries.timeline import TimelineResult

EXPORT_KINDS = {".svg": "svg", ".html": "html", ".htm": "html"}
SIDECARS = ("", "-wal", "-shm", "-journal")


def export_kind(path: str, db_path: str) -> str:
    """``svg`` or ``html`` for an export path that is safe to write; never the evidence."""
    target = Path(path).resolve()
    for suffix in SIDECARS:
        evidence = Path(db_path + suffix)
        if target == evidence.resolve() or _same_file(target, evidence):
            raise InvalidInputError(f"--export {path} would overwrite the database {db_path}")
    kind = EXPORT_KINDS.get(Path(path).suffix.lower())
    if kind is None:
        raise InvalidInputError(f"--export {path}: the file name must end in .svg or .html")
    return kind


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def render_export(result: TimelineResult, kind: str, left_out: str | None = None) -> str:
    """The chart as an SVG document, or the page with the chart and the tables;
    ``left_out`` (what the reads left out) is said under the chart's header."""
    from dataclasses import replace  # noqa: PLC0415

    from .gantt import build_chart  # noqa: PLC0415 - only an export needs the chart

    chart = build_chart(result)
    if left_out is not None:
        chart = replace(chart, notes=(*chart.notes, f"INCOMPLETE: {left_out}"))
    if kind == "svg":
        from .gantt_svg import render_svg  # noqa: PLC0415

        return render_svg(chart)
    from .timeline_html import render_html  # noqa: PLC0415

    return render_html(result, chart)


class ExportFile:
    """A reserved temporary file beside the target; :meth:`commit` renames it into place."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.target = Path(path).resolve()
        self.temporary: Path | None = None
        self._reserve()

    def _fail(self, error: OSError) -> CannotWriteError:
        return CannotWriteError(f"cannot write {self.path}: {error.strerror or error}")

    def _reserve(self) -> None:
        if self.target.is_dir():
            raise self._fail(IsADirectoryError(21, "Is a directory"))
        if self.target.exists() and not os.access(self.target, os.W_OK):
            raise self._fail(PermissionError(13, "Permission denied"))
        for number in range(100):
            candidate = self.target.parent / f".stabilize-export-{os.getpid()}-{number}.tmp"
            try:
                descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                continue
            except OSError as error:
                raise self._fail(error) from None
            os.close(descriptor)
            self.temporary = candidate
            return
        raise self._fail(FileExistsError(17, "no free temporary name beside it"))

    def commit(self, content: str) -> None:
        """Write and rename into place. A write that fails part way (disk full, file size
        limit, I/O error) raises the OSError naming the path (exit 7); nothing is left."""
        assert self.temporary is not None
        try:
            with self.temporary.open("w", encoding="utf-8") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            if self.target.exists():
                os.chmod(self.temporary, stat.S_IMODE(self.target.stat().st_mode))
            os.replace(self.temporary, self.target)
        except OSError as error:
            self.discard()
            raise OSError(error.errno, error.strerror, self.path) from None
        self.temporary = None

    def discard(self) -> None:
        if self.temporary is not None:
            with contextlib.suppress(OSError):
                self.temporary.unlink()
            self.temporary = None


@contextlib.contextmanager
def reserved(path: str) -> Iterator[ExportFile]:
    """The export file reserved for the block; its temporary file is removed unless committed."""
    export = ExportFile(path)
    try:
        yield export
    finally:
        export.discard()
