"""Writing files so that a crash leaves the old state or the new one, never half of it: fsync the file, rename it
into place, fsync its folder."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

TEMPORARY_PREFIX = ".tmp-"  # a file being written; renamed into place once whole, or left by a killed writer


def fsync_folder(folder: Path) -> None:
    """Make a folder's entries (a new or renamed file in it) durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, mode: int = 0o444) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder: whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
        fsync_folder(path.parent)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def discard_temporary(found: Iterable[Path]) -> list[Path]:
    """Remove temporary files killed writers left (the caller holds the lock: none of its own is in flight); the
    files removed, sorted."""
    left = sorted(found)
    for path in left:
        path.unlink(missing_ok=True)
    return left
