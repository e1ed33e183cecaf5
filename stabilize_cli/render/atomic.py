"""Files the tool writes for the user, written whole or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile

from ..queries.errors import InvalidInputError


def write_whole(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it, renamed over it at
    the end: a full disk leaves the old file (or none), never a truncated one.

    A path that cannot be created (no such directory, no permission) is a usage error
    (exit 2); a write that fails part way (disk full, file size limit, I/O error) raises
    the OSError, naming ``path`` (exit 7).
    """
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise InvalidInputError(f"cannot write {path}: is a directory")
    try:
        fd, temporary = tempfile.mkstemp(
            prefix=f".{os.path.basename(path)}.", suffix=".partial", dir=directory
        )
    except OSError as error:
        raise InvalidInputError(f"cannot write {path}: {error.strerror or error}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise OSError(error.errno, error.strerror, path) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
