"""Where sealed evidence objects live: the ``EvidenceBackend`` protocol and the local directory.

Objects are addressed by keys such as ``items/<sha256>`` or ``packages/<package_id>.json``. Every backend is
write-once: putting a key that exists with the same bytes does nothing; with other bytes it is refused
(``ObjectExists``) — evidence is never rewritten, only added to.

The local directory writes each object to a temporary name in its folder, fsyncs it, renames it into place and
fsyncs the folder, so a crash leaves either the whole object or nothing under its key (and perhaps a ``.tmp-*``
file, which listing skips and ``discard_unfinished_writes`` removes when the store is next opened for writing);
objects are read-only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from evidence_store.durable import TEMPORARY_PREFIX, discard_temporary, write_atomic

_KEY = re.compile(r"[a-z0-9_-]+(/[A-Za-z0-9_.-]+)+")


class BackendError(RuntimeError):
    """An object that cannot be written or read; names the key and why."""


class ObjectExists(BackendError):
    """A key that already holds other bytes: evidence is never overwritten."""


class ObjectMissing(BackendError):
    """No object under that key."""


class BackendUnavailable(BackendError):
    """The store cannot be reached or is failing (an S3 endpoint down, hung or answering 5xx): nothing was
    changed, and the same call may work later. Never a sign of tampering: verification reports it apart."""


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key) or ".." in key:
        raise BackendError(f"object key {key!r} is not a relative path of safe names (e.g. items/<sha256>)")
    return key


@runtime_checkable
class LeavesTemporaryFiles(Protocol):
    """A backend whose writes can leave temporary files behind when the writing process is killed."""

    def discard_unfinished_writes(self) -> list[Path]: ...


class EvidenceBackend(Protocol):
    def put(self, key: str, data: bytes, media_type: str = "application/octet-stream") -> None:
        """Store ``data`` under ``key`` once; the same bytes again are a no-op, other bytes raise ObjectExists."""
        ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def keys(self, prefix: str) -> Iterator[str]:
        """Every key that starts with ``prefix``, in lexicographic order."""
        ...


class LocalBackend:
    """The local evidence directory (the embedded default)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes, media_type: str = "application/octet-stream") -> None:
        target = self.path(key)
        if target.exists():
            if hashlib.sha256(target.read_bytes()).digest() != hashlib.sha256(data).digest():
                raise ObjectExists(f"{key} already holds other bytes: evidence is never overwritten")
            return
        write_atomic(target, data)

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError as exc:
            raise ObjectMissing(f"no object {key}") from exc

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def discard_unfinished_writes(self) -> list[Path]:
        """Remove the temporary files of writes a killed process left (only the sealing process, holding the
        store's lock, calls this: no write of its own is in flight)."""
        return discard_temporary(self.root.rglob(f"{TEMPORARY_PREFIX}*"))

    def keys(self, prefix: str) -> Iterator[str]:
        folder = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        if not folder.is_dir():
            return
        found = sorted(
            p.relative_to(self.root).as_posix()
            for p in folder.rglob("*")
            if p.is_file() and not p.name.startswith(TEMPORARY_PREFIX)
        )
        yield from (key for key in found if key.startswith(prefix))
