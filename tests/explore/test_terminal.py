"""`stabilize explore` as a real process in a pseudo-terminal: it starts, draws, quits on
``q`` with the exit code of the other commands, and leaves the database as it was."""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import sqlite3
import struct
import sys
import time
from pathlib import Path

import pytest

from ..conftest import REAL_DB

pty = pytest.importorskip("pty", reason="needs a POSIX pseudo-terminal")
termios = pytest.importorskip("termios", reason="needs a POSIX pseudo-terminal")
fcntl = pytest.importorskip("fcntl", reason="needs a POSIX pseudo-terminal")

FLAKY = "01M8HAZVN51R0GZ2NVTT2DCYFJ"


LEAVE_ALTERNATE_SCREEN = b"\x1b[?1049l"
CONTROL_SEQUENCE = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]")


def session(db: Path, *args: str, keys: list[bytes], wait_for: bytes) -> tuple[int, bytes, bytes]:
    """Run explore in an 80x24 terminal; once ``wait_for`` is drawn, type ``keys``.

    Returns the exit code, what was drawn, and what was written after the app left the
    alternate screen (Textual draws on stderr, so both go to the terminal).
    """
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command in the terminal
        os.environ.update(TERM="xterm-256color", COLUMNS="80", LINES="24")
        argv = [sys.executable, "-m", "stabilize_cli", "explore", *args, "--db", str(db)]
        os.execv(sys.executable, argv)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    seen = b""
    deadline = time.monotonic() + 60
    sent = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        if not sent and wait_for in seen:
            time.sleep(0.3)
            for key in keys:
                os.write(fd, key)
                time.sleep(0.2)
            sent = True
    if not sent:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    drawn, _, after = seen.rpartition(LEAVE_ALTERNATE_SCREEN)
    told = CONTROL_SEQUENCE.sub(b"", after).replace(b"\r\n", b"\n")  # the mode resets
    return os.waitstatus_to_exitcode(status), drawn, told


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "real.db"
    shutil.copyfile(REAL_DB, target)
    return target


def test_it_draws_the_run_and_quits_on_q_leaving_the_database_alone(copy: Path) -> None:
    before = copy.read_bytes()
    code, screen, stderr = session(copy, FLAKY, keys=[b"v", b"q"], wait_for=b"Call API")
    assert code == 0, stderr
    assert b"flaky-api" in screen
    assert stderr.strip(b"\n") == b""
    assert copy.read_bytes() == before
    assert sorted(p.name for p in copy.parent.iterdir()) == ["real.db"]


def test_after_quitting_an_unreadable_event_is_told_and_the_exit_code_is_4(copy: Path) -> None:
    conn = sqlite3.connect(copy)
    conn.execute("UPDATE events SET data = '{\"status\": ' WHERE sequence = 65")
    conn.commit()
    conn.close()
    code, _, stderr = session(copy, FLAKY, keys=[b"q"], wait_for=b"Call API")
    assert code == 4
    assert b"warning: event 65 could not be read (data: not valid JSON)" in stderr
