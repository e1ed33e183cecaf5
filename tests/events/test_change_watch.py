"""The watch that vouches for a database read in place (``sqlite/watch.py``): every kind
of change to the file or its side files is seen, whoever makes it and however the
file's times come out; reading it, and changes to other files beside it, are not."""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from stabilize_cli.events.store.sqlite.watch import ChangeWatch, file_system_type, mount_type

from ..conftest import REAL_DB

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    directory = tmp_path / "store"
    directory.mkdir()
    path = directory / "events.db"
    shutil.copyfile(REAL_DB, path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    return path


def _write_same_times(db: Path) -> None:
    """Bytes changed, then mtime put back: the file's times alone would say nothing."""
    info = db.stat()
    with open(db, "r+b") as handle:
        handle.seek(4096)
        handle.write(handle.read(16)[::-1])
    os.utime(db, ns=(info.st_atime_ns, info.st_mtime_ns))


def _writer_opens_and_closes(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("SELECT count(*) FROM events").fetchone()
    conn.close()


def _checkpointed_append(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _replaced(db: Path) -> None:
    other = db.with_name("other.db")
    shutil.copyfile(db, other)
    os.replace(other, db)


def _truncated(db: Path) -> None:
    os.truncate(db, db.stat().st_size - 4096)


def _hard_link_written(db: Path) -> None:
    elsewhere = db.parent.parent / "elsewhere"
    elsewhere.mkdir()
    os.link(db, elsewhere / "alias.db")
    with open(elsewhere / "alias.db", "r+b") as handle:
        handle.seek(8192)
        handle.write(b"x")


CHANGES: dict[str, Callable[[Path], None]] = {
    "bytes written, mtime put back": _write_same_times,
    "a writer opens and closes (side files come and go)": _writer_opens_and_closes,
    "a commit checkpointed into the file": _checkpointed_append,
    "renamed over": _replaced,
    "truncated": _truncated,
    "written through a hard link elsewhere": _hard_link_written,
    "deleted": lambda db: db.unlink(),
    "a -journal appears": lambda db: Path(f"{db}-journal").touch(),
    "its times touched": os.utime,
}


def _read_immutable(db: Path) -> None:
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro&immutable=1", uri=True)
    conn.execute("SELECT count(*) FROM events").fetchone()
    conn.close()


def _other_database_changed(db: Path) -> None:
    other = db.with_name("other.db")
    shutil.copyfile(db, other)
    _checkpointed_append(other)


UNRELATED: dict[str, Callable[[Path], object]] = {
    "read in full": Path.read_bytes,
    "read by SQLite with immutable=1": _read_immutable,
    "another file beside it written": lambda db: db.with_name("engine.log").write_text("x"),
    "another database beside it changed": _other_database_changed,
}


def test_the_test_directory_is_on_a_file_system_the_watch_trusts(db: Path) -> None:
    assert file_system_type(str(db)) in {"ext4", "xfs", "btrfs", "tmpfs"}


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
def test_every_kind_of_change_is_seen(db: Path, change: str) -> None:
    watch = ChangeWatch.open(str(db))
    assert watch is not None
    try:
        assert not watch.changed()
        CHANGES[change](db)
        assert watch.changed()
        assert watch.changed()  # and stays seen
    finally:
        watch.close()


@pytest.mark.parametrize("action", list(UNRELATED), ids=list(UNRELATED))
def test_reading_it_or_changing_other_files_is_not_a_change(db: Path, action: str) -> None:
    watch = ChangeWatch.open(str(db))
    assert watch is not None
    try:
        UNRELATED[action](db)
        assert not watch.changed()
    finally:
        watch.close()


def test_a_closed_watch_vouches_for_nothing(db: Path) -> None:
    watch = ChangeWatch.open(str(db))
    assert watch is not None
    watch.close()
    assert watch.changed()


OVERLAY_MOUNTS = [
    "22 1 0:21 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w",
    "31 22 254:0 /u/data /data rw,relatime - ext4 /dev/vda rw",
    "32 22 254:0 / /mnt/with\\040space rw - ext4 /dev/vda rw",
    "33 22 0:40 / /data/nfs rw - nfs4 server:/x rw",
    "34 22 0:41 / /data/nfs rw - tmpfs tmpfs rw",
]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/work/events.db", "overlay"),  # on the overlay, whatever device the file reports
        ("/data/events.db", "ext4"),
        ("/database/events.db", "overlay"),  # a prefix of the name is not the mount point
        ("/mnt/with space/events.db", "ext4"),
        ("/data/nfs/events.db", "tmpfs"),  # the later mount on one point hides the earlier
        ("/data/nfsx/events.db", "ext4"),
    ],
)
def test_the_mount_is_found_by_the_path_not_by_the_device(path: str, expected: str) -> None:
    assert mount_type(path, OVERLAY_MOUNTS) == expected


def test_a_forked_child_gets_no_vouching_and_takes_no_events_from_the_parent(db: Path) -> None:
    watch = ChangeWatch.open(str(db))
    assert watch is not None
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its answer goes up the pipe; it must not drain the queue
        os.write(write, b"1" if watch.changed() else b"0")
        os._exit(0)
    os.waitpid(child, 0)
    assert os.read(read, 1) == b"1"
    assert not watch.changed()
    db.write_bytes(db.read_bytes())  # a write after the fork is still the parent's to see
    assert watch.changed()
    watch.close()
