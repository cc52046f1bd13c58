"""A local spool in front of a remote evidence backend: evidence is never lost while the remote is down.

``put`` first makes the object durable in the spool folder, then uploads what is pending, oldest first. When the
remote cannot be reached (``BackendUnavailable``) the objects simply wait; ``flush()`` tries again, and so does the
next ``put``. How long a failing remote may keep a ``put`` waiting is the remote's business: the S3 backend's
timeouts and circuit breaker make it fail at once while it is known to be unhealthy, and probe it now and then. An
uploaded object leaves the spool.

Layout::

    SPOOL/000000000001-<random>.spool
                                one object per file, numbered in arrival order: a JSON header line
                                {"key", "media_type", "sha256", "size"}, then the object's bytes; the random
                                part keeps a name from ever being reused when numbering restarts
    SPOOL/conflicts/…           objects the remote refused because their key holds other bytes (kept, never
                                deleted: they are evidence someone meant to store)
    SPOOL/.lock                 an flock taken for each operation that changes the spool or uploads, so two
                                processes never interleave

Each file is written under a temporary name, fsynced, renamed into place and the folder fsynced: after a crash
an object is either wholly pending or was never accepted (its temporary file is removed by
``discard_unfinished_writes`` when the store is next opened for writing). The order of the numbers is the upload
order, and it survives restarts: a new ``SpooledBackend`` on the folder finds what is pending. An object is removed only after
the remote accepted it; a crash in between uploads it again, which the remote's write-once ``put`` takes as a
no-op. Operations hold the lock while they upload, so a ``put`` behind a slow remote waits for it (bounded by
the remote's timeouts): that is what keeps the upload order. Listing the backlog takes no lock: it reads the folder
as it is, so it answers at once even while a writer waits on the remote (an object uploaded meanwhile simply drops
out of the list).

Write-once holds across both places: a key pending with other bytes is refused at once (``ObjectExists``); a key
the remote holds with other bytes is found when its turn to upload comes — raised to the caller of that ``put`` if
the remote is reachable then, otherwise moved to ``conflicts/`` and logged, so that one refused object never blocks
the queue behind it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from evidence_store.backends import (
    BackendError,
    BackendUnavailable,
    EvidenceBackend,
    ObjectExists,
    ObjectMissing,
    check_key,
)
from evidence_store.durable import TEMPORARY_PREFIX, discard_temporary, fsync_folder

log = logging.getLogger("evidence_store.spool")

_ENTRY = re.compile(r"(\d{12})-[0-9a-f]{16}\.spool")
_HEADER_LIMIT = 4096


@dataclass(frozen=True)
class SpooledObject:
    sequence: int
    key: str
    media_type: str
    sha256: str
    size: int
    path: Path


class SpooledBackend:
    """An ``EvidenceBackend`` that queues objects on local disk and uploads them, in order, to ``remote``."""

    def __init__(self, spool_dir: Path, remote: EvidenceBackend) -> None:
        """Opening takes no lock: a process that only lists the backlog never waits for one that uploads."""
        self.spool_dir = spool_dir
        self.remote = remote
        self._thread_lock = threading.Lock()
        self._headers: dict[str, SpooledObject] = {}  # by file name: a committed file never changes
        spool_dir.mkdir(parents=True, exist_ok=True)

    def discard_unfinished_writes(self) -> list[Path]:
        """Remove what puts killed before they were accepted left behind (their temporary files)."""
        with self._locked():
            return discard_temporary(self.spool_dir.glob(f"{TEMPORARY_PREFIX}*"))

    # -- the EvidenceBackend protocol ------------------------------------------------------------------------

    def put(self, key: str, data: bytes, media_type: str = "application/octet-stream") -> None:
        """Keep ``data`` in the spool (durably, before returning), then upload what is pending, oldest first,
        until the remote cannot take more now."""
        check_key(key)
        digest = hashlib.sha256(data).hexdigest()
        with self._locked():
            pending = self._find(key)
            if pending is not None:
                if pending.sha256 != digest:
                    raise ObjectExists(f"{key} already holds other bytes: evidence is never overwritten")
                return
            entry = self._write(key, data, media_type, digest)
            refused: list[SpooledObject] = []
            try:
                self._upload_pending(refused)
            except BackendError as exc:
                log.warning("%s: spooled in %s; upload stopped: %s", key, self.spool_dir, exc)
            if entry in refused:
                raise ObjectExists(f"{key} already holds other bytes on the remote: evidence is never overwritten")

    def get(self, key: str) -> bytes:
        """Reads take no lock (a spooled file never changes once in place): a reader never waits for a writer."""
        pending = self._find(check_key(key))
        if pending is not None:
            try:
                return self._read(pending)
            except ObjectMissing:
                pass  # uploaded since the folder was read: the remote has it now
        return self.remote.get(key)

    def exists(self, key: str) -> bool:
        if self._find(check_key(key)) is not None:
            return True
        return self.remote.exists(key)

    def keys(self, prefix: str) -> Iterator[str]:
        """Pending and uploaded keys together; needs the remote, like any listing of what is stored."""
        pending = {entry.key for entry in self._pending() if entry.key.startswith(prefix)}
        yield from sorted(pending | set(self.remote.keys(prefix)))

    # -- the queue -------------------------------------------------------------------------------------------

    def flush(self) -> int:
        """Upload what is pending, oldest first; stop at the first object the remote cannot take now.

        Returns how many objects were uploaded. An unavailable remote is not an error here (the objects wait);
        any other refusal is raised, since waiting will not cure it."""
        with self._locked():
            return self._upload_pending([])

    def backlog(self) -> list[str]:
        """The keys waiting for upload, in upload order, as the folder holds them now; takes no lock, so it never
        waits for a writer (an object uploaded while this reads is left out)."""
        return [entry.key for entry in self._pending()]

    def conflicts(self) -> list[str]:
        """Keys the remote refused because it holds other bytes under them; their objects are kept aside."""
        with self._locked():
            folder = self.spool_dir / "conflicts"
            if not folder.is_dir():
                return []
            return [self._header(path).key for path in sorted(folder.iterdir()) if _ENTRY.fullmatch(path.name)]

    # -- helpers ---------------------------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock, open(self.spool_dir / ".lock", "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def _upload_pending(self, refused: list[SpooledObject]) -> int:
        """Upload in order; objects whose key the remote holds with other bytes are set aside into ``refused``."""
        uploaded = 0
        for entry in self._pending():
            try:
                self.remote.put(entry.key, self._read(entry), entry.media_type)
            except BackendUnavailable as exc:
                log.info("remote unavailable, %d object(s) wait in %s: %s", len(self._pending()), self.spool_dir, exc)
                return uploaded
            except ObjectExists:
                self._set_aside(entry)
                refused.append(entry)
                continue
            entry.path.unlink()
            fsync_folder(self.spool_dir)
            uploaded += 1
        return uploaded

    def _set_aside(self, entry: SpooledObject) -> None:
        folder = self.spool_dir / "conflicts"
        folder.mkdir(exist_ok=True)
        target = folder / entry.path.name
        os.rename(entry.path, target)
        fsync_folder(folder)
        fsync_folder(self.spool_dir)
        log.error(
            "%s: the remote holds other bytes under this key; the spooled object is kept in %s", entry.key, target
        )

    def _pending(self) -> list[SpooledObject]:
        """What waits, in upload order. Safe without the lock: a file removed (uploaded) while the folder is read
        is left out."""
        headers: dict[str, SpooledObject] = {}
        for name in _entry_names(self.spool_dir):
            entry = self._headers.get(name)
            if entry is None:
                try:
                    entry = self._header(self.spool_dir / name)
                except FileNotFoundError:
                    continue
            headers[name] = entry
        self._headers = headers
        return list(headers.values())

    def _find(self, key: str) -> SpooledObject | None:
        return next((entry for entry in self._pending() if entry.key == key), None)

    def _write(self, key: str, data: bytes, media_type: str, digest: str) -> SpooledObject:
        pending = self._pending()
        sequence = pending[-1].sequence + 1 if pending else 1
        header = json.dumps({"key": key, "media_type": media_type, "sha256": digest, "size": len(data)}).encode()
        if len(header) >= _HEADER_LIMIT:
            raise BackendError(f"object key {key[:80]!r}… is too long to spool")
        target = self.spool_dir / f"{sequence:012d}-{secrets.token_hex(8)}.spool"
        handle, temporary = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, dir=self.spool_dir)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(header + b"\n")
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o444)
            os.replace(temporary, target)
            fsync_folder(self.spool_dir)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return SpooledObject(sequence, key, media_type, digest, len(data), target)

    @staticmethod
    def _header(path: Path) -> SpooledObject:
        match = _ENTRY.fullmatch(path.name)
        try:
            with path.open("rb") as spooled:
                header = json.loads(spooled.readline(_HEADER_LIMIT))
        except FileNotFoundError:
            raise
        except (OSError, ValueError) as exc:
            raise BackendError(f"spooled object {path} is unreadable: {exc}") from exc
        try:
            return SpooledObject(
                sequence=int(match.group(1)) if match else 0,
                key=check_key(str(header["key"])),
                media_type=str(header["media_type"]),
                sha256=str(header["sha256"]),
                size=int(header["size"]),
                path=path,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BackendError(f"spooled object {path} is unreadable: {exc}") from exc

    @staticmethod
    def _read(entry: SpooledObject) -> bytes:
        try:
            with entry.path.open("rb") as spooled:
                spooled.readline(_HEADER_LIMIT)
                data = spooled.read()
        except FileNotFoundError as exc:
            raise ObjectMissing(f"{entry.key} left the spool while being read") from exc
        if len(data) != entry.size or hashlib.sha256(data).hexdigest() != entry.sha256:
            raise BackendError(f"spooled object {entry.path} ({entry.key}) does not match its recorded SHA-256")
        return data


def _entry_names(folder: Path) -> list[str]:
    """The spooled objects' file names in upload order (not temporary files, not conflicts/)."""
    return sorted(name for name in os.listdir(folder) if _ENTRY.fullmatch(name))
