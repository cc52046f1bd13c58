"""Sealing and verifying evidence packages: hashed items, a signed canonical manifest, an append-only Merkle log.

Sealing a package, in this order (each object write-once on the backend):

1. every item is stored under its SHA-256 (``items/<sha256>``);
2. the manifest — canonical JSON listing each item (name, media type, size, SHA-256, and the SHA-256 of each
   1 MiB chunk, so damage can be located) with the context it is given — is stored as
   ``packages/<package_id>.json``, where the package id is the SHA-256 of the manifest bytes;
3. the manifest bytes are signed with the instance's Ed25519 key (``signatures/<package_id>.json``);
4. the manifest's SHA-256 is appended to the Merkle log (RFC 9162), and a new tree head (size, root, time) is
   signed and stored (``heads/<size>.json`` on the backend, and in the local ``heads.jsonl``).

A marker in ``pending/`` is written before step 2 and removed after step 4, so a process killed mid-seal is
completed when the store opens again: a package that can be seen is complete, and one that never got its
manifest is simply absent. The same content sealed twice gives the same package and changes nothing. Opening
for writing also removes the temporary files of writes a killed process left.

Verification tells three things apart: tampering or damage (``problems``), checks that could not be made because
the backend cannot be reached (``unavailable``), and an interrupted seal — a package whose marker is still in
``pending/``, or log entries the levels do not cover yet — which the next writer completes (``interrupted``).
A read-only verifier between a killed seal and the next writer sees the last two, never the first.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import itertools
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from evidence_store.backends import (
    BackendError,
    BackendUnavailable,
    EvidenceBackend,
    LeavesTemporaryFiles,
    ObjectExists,
    ObjectMissing,
)
from evidence_store.canonical import canonical_json
from evidence_store.durable import TEMPORARY_PREFIX, discard_temporary, write_atomic
from evidence_store.keys import KeyRing, SigningKeyError, key_id_of, load_public_pem
from evidence_store.merkle import MerkleLog, ProofError, leaf_hash, verify_consistency, verify_inclusion

log = logging.getLogger("evidence_store")

MANIFEST_FORMAT = "offsite-evidence-package/1"
CHUNK_SIZE = 1 << 20
_HEX64 = frozenset("0123456789abcdef")


class EvidenceError(RuntimeError):
    """Evidence that cannot be sealed, found or exported; names the package or item."""


@dataclass(frozen=True)
class ItemIn:
    name: str  # "frame-first.jpg"
    media_type: str  # "image/jpeg"
    path: Path


@dataclass(frozen=True)
class TreeHead:
    tree_size: int
    root_hash: bytes
    timestamp: str  # ISO 8601, UTC
    key_id: str
    signature: bytes

    @staticmethod
    def signed_bytes_of(tree_size: int, root_hash: bytes, timestamp: str) -> bytes:
        """What a tree head's signature covers: canonical JSON of its size, root (hex) and time."""
        return canonical_json({"root_hash": root_hash.hex(), "timestamp": timestamp, "tree_size": tree_size})

    @property
    def signed_bytes(self) -> bytes:
        return self.signed_bytes_of(self.tree_size, self.root_hash, self.timestamp)

    def as_json(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "timestamp": self.timestamp,
            "key_id": self.key_id,
            "signature": self.signature.hex(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TreeHead:
        return cls(
            int(data["tree_size"]),
            bytes.fromhex(data["root_hash"]),
            str(data["timestamp"]),
            str(data["key_id"]),
            bytes.fromhex(data["signature"]),
        )


@dataclass(frozen=True)
class SealedPackage:
    package_id: str  # = SHA-256 of the manifest bytes
    leaf_index: int
    tree_head: TreeHead
    created: bool  # False when the same content had been sealed before

    @property
    def manifest_sha256(self) -> str:
        return self.package_id


INTERRUPTED = "an interrupted seal, repaired by the next writer"


Outcome = Literal["verified", "tampered", "interrupted", "unavailable"]


FindingOutcome = Literal["passed", "failed", "not_checked", "interrupted"]


@dataclass(frozen=True)
class Finding:
    """One check as a key and its parameters, for pages that tell it in their reader's language (the key names
    an entry ``verify.<key>`` of the project's message catalogue); ``text`` is the same in English."""

    outcome: FindingOutcome
    key: str
    params: dict[str, str]
    text: str


@dataclass
class Verification:
    package_id: str
    problems: list[str] = field(default_factory=list)  # tampering or damage
    checks: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)  # checks not made: the backend cannot be reached now
    interrupted: list[str] = field(default_factory=list)  # a seal in progress or killed: not tampering
    findings: list[Finding] = field(default_factory=list)  # every one of the above, keyed, in order

    @property
    def ok(self) -> bool:
        """Every check made and passed."""
        return not (self.problems or self.unavailable or self.interrupted)

    @property
    def outcome(self) -> Outcome:
        """One word for people and clients: ``verified``; ``tampered`` (a check failed: altered or damaged);
        ``interrupted`` (a seal killed half-way, completed by the next writer: not tampering); ``unavailable``
        (checks not made because the store cannot be reached now: not tampering either)."""
        if self.problems:
            return "tampered"
        if self.interrupted:
            return "interrupted"
        if self.unavailable:
            return "unavailable"
        return "verified"

    def passed(self, what: str, key: str, **params: object) -> None:
        self.checks.append(what)
        self.findings.append(Finding("passed", key, _texts(params), what))

    def failed(self, what: str, key: str = "failed", **params: object) -> None:
        """A check that failed; without a key of its own, told as the general ``failed`` with its English."""
        self.problems.append(what)
        self.findings.append(Finding("failed", key, _texts(params or {"detail": what}), what))

    def could_not(self, what: str, exc: BackendUnavailable, key: str = "not_checked", **params: object) -> None:
        """A check not made; without a key of its own, told as the general ``not_checked`` naming ``what``."""
        text = f"{what}: not checked, the store cannot be reached ({exc})"
        self.unavailable.append(text)
        self.findings.append(Finding("not_checked", key, _texts(params or {"what": what}), text))

    def was_interrupted(self, what: str) -> None:
        self.interrupted.append(what)
        self.findings.append(Finding("interrupted", "interrupted", {"package": self.package_id[:12]}, what))


def _texts(params: dict[str, object]) -> dict[str, str]:
    return {name: str(value) for name, value in params.items()}


def chunk_hashes(data: bytes) -> list[str]:
    view = memoryview(data)
    return [hashlib.sha256(view[i : i + CHUNK_SIZE]).hexdigest() for i in range(0, len(data), CHUNK_SIZE)]


def store_item(backend: EvidenceBackend, item: ItemIn) -> dict[str, Any]:
    """An item stored under its hash, and its entry in a package's manifest. Read once, hash once: what is hashed is
    exactly what is stored. Any process with the backend may do it (a camera worker); only the sealer seals."""
    data = item.path.read_bytes()
    chunks = chunk_hashes(data)
    digest = chunks[0] if len(chunks) == 1 else hashlib.sha256(data).hexdigest()
    backend.put(f"items/{digest}", data, item.media_type)
    return {
        "name": item.name,
        "media_type": item.media_type,
        "size": len(data),
        "sha256": digest,
        "chunk_size": CHUNK_SIZE,
        "chunks": chunks if len(chunks) > 1 else [],
    }


def package_manifest(
    items: list[dict[str, Any]], context: dict[str, Any], links: dict[str, str] | None = None
) -> dict[str, Any]:
    """A package's manifest; its id is the SHA-256 of its canonical JSON (``package_id_of``), known before sealing."""
    manifest: dict[str, Any] = {"format": MANIFEST_FORMAT, "items": items, "context": context}
    if links:
        manifest["links"] = dict(links)
    return manifest


def package_id_of(manifest: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(manifest)).hexdigest()


class ItemsMissing(EvidenceError):
    """A manifest names items the backend does not hold (yet: a worker's upload may still be on its way)."""


class StoreBusy(EvidenceError):
    """Another process holds the evidence state folder: one sealing process per folder."""


def _lock_folder(folder: Path) -> int:
    import fcntl

    fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise StoreBusy(
            f"the evidence store in {folder} is in use by process {holder}; verify and export read-only, "
            "or stop that process"
        ) from exc
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def check_package_id(package_id: str) -> str:
    if len(package_id) != 64 or not set(package_id) <= _HEX64:
        raise EvidenceError(f"package id {package_id!r} is not 64 lowercase hex digits")
    return package_id


class EvidenceStore:
    """The instance's evidence: objects on a backend, the Merkle log and tree heads in a local state folder."""

    def __init__(
        self,
        backend: EvidenceBackend,
        state_dir: Path,
        keys: KeyRing,
        clock: Callable[[], dt.datetime] | None = None,
        read_only: bool = False,
    ) -> None:
        """``read_only``: a verifier or exporter beside the sealing process — it takes no lock, repairs, signs
        or creates nothing. Otherwise the store takes the state folder's lock: one sealing process per folder."""
        self.backend = backend
        self.state_dir = state_dir
        self.keys = keys
        self.read_only = read_only
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._heads_path = state_dir / "heads.jsonl"
        self._lock = threading.RLock()
        self._published: set[str] = set()
        self._lock_fd: int | None = None
        self._latest: TreeHead | None = None  # the sealing process's newest tree head, kept off the hot path
        if read_only:
            try:
                self.log = MerkleLog.open(state_dir / "log", read_only=True)
            except FileNotFoundError as exc:
                raise EvidenceError(f"no evidence log in {state_dir}: nothing has been sealed there") from exc
            return
        state_dir.mkdir(parents=True, exist_ok=True)
        (state_dir / "pending").mkdir(exist_ok=True)
        self._lock_fd = _lock_folder(state_dir)
        self._discard_unfinished_writes()
        self.log = MerkleLog.open(state_dir / "log")
        self.keys.ensure()
        self._recover()

    def close(self) -> None:
        self.log.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None

    # -- sealing -----------------------------------------------------------------------------------------------------

    def seal(self, items: list[ItemIn], context: dict[str, Any], links: dict[str, str] | None = None) -> SealedPackage:
        """Seal items as a package. ``links`` relates it to earlier packages ({"corrects": package_id}): a
        package is never changed after sealing; a correction is a new package that names the one it corrects."""
        names = [item.name for item in items]
        if not items:
            raise EvidenceError("a package needs at least one item")
        if len(set(names)) != len(names):
            raise EvidenceError(f"item names must be distinct, got {sorted(n for n in names if names.count(n) > 1)}")
        for item in items:
            if not item.path.is_file():
                raise EvidenceError(f"item {item.name}: {item.path} is not a readable file")
        self._check_links(links)
        return self._seal(package_manifest([store_item(self.backend, item) for item in items], context, links))

    def seal_stored(self, manifest: dict[str, Any]) -> SealedPackage:
        """Seal a package whose items another process stored already (a camera worker on another machine: it stored
        them by hash with ``store_item`` and sends the manifest, ``package_manifest``): the sealer moves hashes, not
        megabytes. Every item must be in the backend at its hash and size; the same manifest sealed again is the
        same package (``created`` False), so a redelivered request seals nothing twice."""
        if manifest.get("format") != MANIFEST_FORMAT or not isinstance(manifest.get("items"), list):
            raise EvidenceError(f"not a package manifest of format {MANIFEST_FORMAT}")
        if not manifest["items"] or not isinstance(manifest.get("context"), dict):
            raise EvidenceError("a package needs at least one item and its context")
        names = [item.get("name") for item in manifest["items"] if isinstance(item, dict)]
        if len(names) != len(manifest["items"]) or len(set(names)) != len(names):
            raise EvidenceError("every item must be named, each name once")
        for item in manifest["items"]:
            digest = str(item.get("sha256", ""))
            if len(digest) != 64 or not set(digest) <= _HEX64 or not isinstance(item.get("size"), int):
                raise EvidenceError(f"item {item['name']}: no hash and size")
            if not self.backend.exists(f"items/{digest}"):
                raise ItemsMissing(f"item {item['name']}: the store holds no item {digest} (yet): store it first")
        links = manifest.get("links")
        self._check_links(links if isinstance(links, dict) else None)
        return self._seal(manifest)

    def _check_links(self, links: dict[str, str] | None) -> None:
        for relation, linked in (links or {}).items():
            if self.log.find(bytes.fromhex(check_package_id(linked))) is None:
                raise EvidenceError(f"link {relation}: package {linked} is not in this store's log")

    def _seal(self, manifest: dict[str, Any]) -> SealedPackage:
        data = canonical_json(manifest)
        package_id = hashlib.sha256(data).hexdigest()
        with self._lock:
            index = self.log.find(bytes.fromhex(package_id))
            if index is not None:  # the log takes a manifest only once it is stored
                return SealedPackage(package_id, index, self.latest_head(), created=False)
            if self.read_only:
                raise EvidenceError("this evidence store was opened read-only")
            marker = self.state_dir / "pending" / package_id
            write_atomic(marker, data, 0o644)
            self._complete(package_id, data)
            marker.unlink()
            index = self.log.find(bytes.fromhex(package_id))
            assert index is not None
            return SealedPackage(package_id, index, self.latest_head(), created=True)

    def _complete(self, package_id: str, data: bytes) -> None:
        """Steps 2–4 for a manifest; each is harmless when already done, so it also finishes a crashed seal.

        Needs nothing read back from the backend (which may be an S3 store behind a spool, unreachable now):
        Ed25519 signatures are deterministic, so signing again gives the same bytes, and the log says whether
        the manifest was appended."""
        self.backend.put(f"packages/{package_id}.json", data, "application/json")
        key_id, signature = self.keys.sign(data)
        self._publish_key(key_id)
        record = {"algorithm": "Ed25519", "key_id": key_id, "signature": signature.hex()}
        with contextlib.suppress(ObjectExists):  # signed before a key rotation, then interrupted: the first stands
            self.backend.put(f"signatures/{package_id}.json", canonical_json(record), "application/json")
        if self.log.find(bytes.fromhex(package_id)) is None:
            self.log.append(bytes.fromhex(package_id))
            self._sign_tree_head()

    def _publish_key(self, key_id: str) -> None:
        if key_id not in self._published:
            self.backend.put(f"keys/{key_id}.pem", self.keys.public_key_pem(key_id), "application/x-pem-file")
            self._published.add(key_id)

    def _sign_tree_head(self) -> TreeHead:
        size = self.log.size
        root = self.log.root(size)
        timestamp = self.clock().astimezone(dt.UTC).isoformat(timespec="microseconds")
        key_id, signature = self.keys.sign(TreeHead.signed_bytes_of(size, root, timestamp))
        self._publish_key(key_id)
        head = TreeHead(size, root, timestamp, key_id, signature)
        line = canonical_json(head.as_json())
        with self._heads_path.open("ab") as out:  # the local record first: recovery re-publishes it as it is
            out.write(line + b"\n")
            out.flush()
            os.fsync(out.fileno())
        self.backend.put(f"heads/{size:012d}.json", line, "application/json")
        self._latest = head
        return head

    def _discard_unfinished_writes(self) -> None:
        """Remove the temporary files of writes a killed process left (this process holds the lock: none of its
        own writes is in flight)."""
        left = discard_temporary(
            [*(self.state_dir / "pending").glob(f"{TEMPORARY_PREFIX}*"), *(self.state_dir / "log").glob("*.tmp")]
        )
        if isinstance(self.backend, LeavesTemporaryFiles):
            left += self.backend.discard_unfinished_writes()
        if left:
            log.info("removed %d temporary file(s) of interrupted writes: %s", len(left), ", ".join(map(str, left[:5])))

    def _recover(self) -> None:
        """Finish seals a killed process left half done (their manifest bytes wait in pending/)."""
        for marker in self._pending_markers():
            data = marker.read_bytes()
            if hashlib.sha256(data).hexdigest() == marker.name:
                self._complete(marker.name, data)
            marker.unlink()
        heads = self.heads()
        if self.log.size and (not heads or heads[-1].tree_size < self.log.size):
            self._sign_tree_head()  # the log grew but its tree head was never written
        elif heads:  # written locally, perhaps never reached the backend: publish the same bytes
            self.backend.put(f"heads/{heads[-1].tree_size:012d}.json", canonical_json(heads[-1].as_json()))
            self._latest = heads[-1]

    def set_legal_hold(self, package_id: str, on: bool) -> list[str]:
        """Place or lift an S3 legal hold on every object of a package (a case under litigation); returns the keys.

        A hold keeps an object even after its retention ends, until it is lifted."""
        backend: Any = self.backend
        backend = getattr(backend, "remote", backend)  # through the spool, to the store itself
        if not hasattr(backend, "set_legal_hold"):
            raise EvidenceError("this evidence backend has no legal hold (only S3 with Object Lock has)")
        manifest = self.manifest(package_id)
        keys = [f"packages/{package_id}.json", f"signatures/{package_id}.json"]
        keys += [f"items/{item['sha256']}" for item in manifest["items"]]
        for key in keys:
            backend.set_legal_hold(key, on)
        return keys

    def _pending_markers(self) -> list[Path]:
        folder = self.state_dir / "pending"
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if not p.name.startswith(".") and len(p.name) == 64)

    def interrupted_seals(self) -> set[str]:
        """Packages whose seal began and has not finished: in progress now, or killed and completed by the next
        writer."""
        return {marker.name for marker in self._pending_markers()}

    def _refresh(self) -> None:
        """A read-only store: see what the sealing process has added. The log is read after the tree heads (which
        are written after it), so every head read is covered by the log."""
        if self.read_only:
            self.log.refresh()

    # -- reading -----------------------------------------------------------------------------------------------------

    def heads(self) -> list[TreeHead]:
        if not self._heads_path.exists():
            return []
        lines = self._heads_path.read_bytes().splitlines()
        heads = []
        for line in lines:
            try:
                heads.append(TreeHead.from_json(json.loads(line)))
            except (ValueError, KeyError):
                continue  # a torn last line: verify reports heads that do not check out
        return heads

    def latest_head(self) -> TreeHead:
        if self._latest is not None and not self.read_only:  # only this process appends: no need to read the file
            return self._latest
        heads = self.heads()
        if not heads:
            raise EvidenceError("the log has no signed tree head yet: nothing has been sealed")
        return heads[-1]

    def manifest_bytes(self, package_id: str) -> bytes:
        try:
            return self.backend.get(f"packages/{check_package_id(package_id)}.json")
        except ObjectMissing as exc:
            raise EvidenceError(f"package {package_id} does not exist") from exc

    def manifest(self, package_id: str) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.manifest_bytes(package_id))
        return parsed

    def signature(self, package_id: str) -> tuple[str, bytes]:
        record = json.loads(self.backend.get(f"signatures/{check_package_id(package_id)}.json"))
        return str(record["key_id"]), bytes.fromhex(record["signature"])

    def item(self, package_id: str, name: str) -> tuple[str, bytes]:
        """One item of a package by its name: (media type, bytes), checked against its SHA-256 as it is read, so
        a viewer is never shown what the package does not hold."""
        entry = next((i for i in self.manifest(package_id)["items"] if i.get("name") == name), None)
        if entry is None:
            raise EvidenceError(f"package {package_id[:12]}… has no item {name!r}")
        data = self.backend.get(f"items/{entry['sha256']}")
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise EvidenceError(f"item {name} of package {package_id[:12]}… does not match its SHA-256")
        return str(entry["media_type"]), data

    def package_ids(self) -> Iterator[str]:
        for key in self.backend.keys("packages/"):
            yield key.removeprefix("packages/").removesuffix(".json")

    def packages_to_verify(self) -> tuple[list[str], BackendUnavailable | None]:
        """Every package the log names, in log order, then any other the backend holds (which will fail its
        inclusion check); when the backend cannot list, the log's alone, and why."""
        self._refresh()
        logged = [self.log.leaf_input(index).hex() for index in range(self.log.size)]
        try:
            listed = list(self.package_ids())
        except BackendUnavailable as exc:
            return logged, exc
        known = set(logged)
        return logged + [pid for pid in listed if pid not in known], None

    def proof(self, package_id: str, head: TreeHead | None = None) -> dict[str, Any]:
        """The inclusion proof of a package against a tree head (the latest by default), as exported."""
        head = head or self.latest_head()
        self._refresh()
        index = self.log.find(bytes.fromhex(check_package_id(package_id)))
        if index is None or index >= head.tree_size:
            raise EvidenceError(f"package {package_id} is not in the log at tree size {head.tree_size}")
        path = self.log.inclusion_proof(index, head.tree_size)
        return {
            "leaf_index": index,
            "tree_size": head.tree_size,
            "audit_path": [node.hex() for node in path],
            "root_hash": head.root_hash.hex(),
        }

    # -- verification ------------------------------------------------------------------------------------------------

    def verify(self, package_id: str) -> Verification:
        """Every check a third party could make, each named when it fails."""
        report = Verification(package_id)
        if package_id in self.interrupted_seals():
            return self._interrupted(report)
        try:
            data = self.manifest_bytes(package_id)
        except EvidenceError as exc:
            report.failed(str(exc), "package_missing", package=f"{package_id[:12]}…")
            return report
        except BackendUnavailable as exc:
            report.could_not("manifest", exc, "not_checked_manifest")
            return report
        heads = self.heads()  # after the manifest, before the log: each is written after the one before it
        self._refresh()
        self._verify_manifest(report, package_id, data)
        self._verify_signature(report, package_id, data)
        self._verify_in_log(report, package_id, heads)
        if report.problems and package_id in self.interrupted_seals():  # its seal began while this looked
            return self._interrupted(Verification(package_id))
        return report

    @staticmethod
    def _interrupted(report: Verification) -> Verification:
        report.was_interrupted(f"package {report.package_id[:12]}…: {INTERRUPTED}")
        return report

    def _verify_manifest(self, report: Verification, package_id: str, data: bytes) -> None:
        actual = hashlib.sha256(data).hexdigest()
        if actual != package_id:
            report.failed(
                f"manifest: its bytes hash to {actual[:16]}…, not to the package id (edited)", "manifest_edited"
            )
        try:
            manifest = json.loads(data)
            items = manifest["items"]
            links = manifest.get("links") or {}
            if not isinstance(items, list) or not isinstance(links, dict):
                raise TypeError("items must be a list and links an object")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            report.failed(f"manifest: not a readable package manifest ({exc})", "manifest_unreadable")
            return
        if actual == package_id:
            report.passed("manifest hash", "manifest_hash")
        else:
            report.passed("manifest read", "manifest_read")
        for item in items:
            self._verify_item(report, item)
        for relation, linked in links.items():
            try:
                self.manifest_bytes(str(linked))
                report.passed(f"link {relation} {linked[:12]}…", "link", relation=relation, linked=f"{linked[:12]}…")
            except EvidenceError as exc:
                report.failed(
                    f"link {relation}: {exc}", "link_missing", relation=relation, linked=f"{str(linked)[:12]}…"
                )
            except BackendUnavailable as exc:
                report.could_not(f"link {relation}", exc, "not_checked_link", relation=relation)

    def _verify_item(self, report: Verification, item: Any) -> None:
        if not isinstance(item, dict) or not isinstance(item.get("sha256"), str):
            report.failed(f"manifest: an item entry is malformed ({str(item)[:80]})", "item_malformed")
            return
        name, digest = item.get("name", "?"), item["sha256"]
        if len(digest) != 64 or not set(digest) <= _HEX64:
            report.failed(
                f"item {name}: its listed SHA-256 {digest[:70]!r} is not 64 hex digits", "item_digest", name=name
            )
            return
        try:
            data = self.backend.get(f"items/{digest}")
        except BackendUnavailable as exc:
            report.could_not(f"item {name}", exc, "not_checked_item", name=name)
            return
        except (BackendError, ValueError) as exc:
            report.failed(f"item {name}: missing ({exc})", "item_missing", name=name)
            return
        if hashlib.sha256(data).hexdigest() == digest and len(data) == item.get("size"):
            report.passed(f"item {name}", "item", name=name)
            return
        problem = f"item {name}: SHA-256 {hashlib.sha256(data).hexdigest()[:16]}… ≠ {digest[:16]}… listed"
        if len(data) != item.get("size"):
            problem += f"; {len(data)} bytes, {item.get('size')} listed (truncated or extended)"
        bad = [
            i
            for i, (now, then) in enumerate(zip(chunk_hashes(data), item.get("chunks", []), strict=False))
            if now != then
        ]
        if bad:
            ranges = ", ".join(f"{i * CHUNK_SIZE}–{min(len(data), (i + 1) * CHUNK_SIZE) - 1}" for i in bad[:5])
            problem += f"; altered bytes in {ranges}"
        report.failed(problem, "item_altered", name=name)

    def _verify_signature(self, report: Verification, package_id: str, data: bytes) -> None:
        try:
            key_id, signature = self.signature(package_id)
            if len(key_id) != 16 or not set(key_id) <= _HEX64:
                raise ValueError(f"key id {key_id[:40]!r} is not 16 hex digits")
        except BackendUnavailable as exc:
            report.could_not("signature", exc, "not_checked_signature")
            return
        except (BackendError, ValueError, KeyError, TypeError) as exc:
            report.failed(f"signature: missing or unreadable ({exc})", "signature_missing")
            return
        key = self._published_key(report, key_id)
        if key is None:
            return
        try:
            key.verify(signature, data)
        except Exception:  # cryptography's InvalidSignature: the manifest or the signature was altered
            report.failed(
                f"signature: the Ed25519 signature by key {key_id} does not match the manifest bytes",
                "signature_mismatch",
                key_id=key_id,
            )
            return
        report.passed(f"signature by key {key_id}", "signature", key_id=key_id)

    def _published_key(self, report: Verification, key_id: str, at: str | None = None) -> Any:
        """The public key as published on the backend, checked against the key ring: one of its keys, endorsed
        by its predecessor, active at ``at``."""
        try:
            published = self.backend.get(f"keys/{key_id}.pem")
            key = load_public_pem(published, f"published key {key_id}")
        except BackendUnavailable as exc:
            report.could_not(f"signature: published key {key_id}", exc, "not_checked_key", key_id=key_id)
            return None
        except (BackendError, SigningKeyError) as exc:
            report.failed(f"signature: key {key_id} is not published ({exc})", "key_not_published", key_id=key_id)
            return None
        try:
            distrust = self.keys.trust_problem(key_id, at)
        except SigningKeyError as exc:
            report.failed(f"signature: {exc}", "key_ring_unreadable", key_id=key_id)
            return None
        if distrust is not None:
            report.failed(f"signature: {distrust}", distrust.key, **distrust.params)
            return None
        if key_id_of(key) != key_id:
            replaced = key_id_of(key)
            report.failed(f"signature: the published key {key_id} has been replaced (it is key {replaced})",
                          "key_replaced", key_id=key_id, actual=replaced)  # fmt: skip
            return None
        try:
            if self.keys.public_key_pem(key_id) != published:
                report.failed(f"signature: key {key_id} differs between the key ring and the store", "key_differs",
                              key_id=key_id)  # fmt: skip
                return None
        except SigningKeyError as exc:
            report.failed(f"signature: {exc}", "key_ring_unreadable", key_id=key_id)
            return None
        return key

    def _verify_in_log(self, report: Verification, package_id: str, heads: list[TreeHead]) -> None:
        if not heads:
            report.failed("log: no signed tree head", "log_no_head")
            return
        head = heads[-1]
        if not self._verify_head(report, head):
            return
        if self.log.size < head.tree_size:
            report.failed(
                f"log: it holds {self.log.size} entries but tree head {head.tree_size} was signed: rolled back",
                "log_rolled_back",
                size=self.log.size,
                tree_size=head.tree_size,
            )
            return
        try:
            proof = self.proof(package_id, head)
            path = [bytes.fromhex(node) for node in proof["audit_path"]]
            verify_inclusion(
                leaf_hash(bytes.fromhex(package_id)), proof["leaf_index"], head.tree_size, path, head.root_hash
            )
        except (EvidenceError, ProofError) as exc:
            report.failed(
                f"log: inclusion proof against tree head {head.tree_size}: {exc}",
                "inclusion_failed",
                tree_size=head.tree_size,
            )
            return
        if self.log.leaf_input(proof["leaf_index"]).hex() != package_id:
            report.failed(f"log: entry {proof['leaf_index']} is not this package's manifest hash", "log_entry_other",
                          leaf_index=proof["leaf_index"])  # fmt: skip
            return
        report.passed(
            f"inclusion in tree head {head.tree_size} (leaf {proof['leaf_index']})",
            "inclusion",
            tree_size=head.tree_size,
            leaf_index=proof["leaf_index"],
        )
        sealed_in = next((h for h in heads if h.tree_size > proof["leaf_index"]), head)
        self._verify_consistency(report, sealed_in, head)

    def _verify_head(self, report: Verification, head: TreeHead) -> bool:
        key = self._published_key(report, head.key_id, head.timestamp[:19] + "+00:00")
        if key is None:
            return False
        try:
            key.verify(head.signature, head.signed_bytes)
        except Exception:
            report.failed(f"tree head {head.tree_size}: its signature does not match (edited)", "head_signature",
                          tree_size=head.tree_size)  # fmt: skip
            return False
        if head.tree_size <= self.log.size and self.log.root(head.tree_size) != head.root_hash:
            report.failed(
                f"log: root at size {head.tree_size} is {self.log.root(head.tree_size).hex()[:16]}…, the signed tree "
                f"head says {head.root_hash.hex()[:16]}… (entries dropped, reordered or inserted)",
                "head_root",
                tree_size=head.tree_size,
            )
            return False
        return True

    def _verify_consistency(self, report: Verification, old: TreeHead, new: TreeHead) -> None:
        if old.tree_size == new.tree_size:
            return
        try:
            proof = self.log.consistency_proof(old.tree_size, new.tree_size)
            verify_consistency(old.tree_size, new.tree_size, old.root_hash, new.root_hash, proof)
        except ProofError as exc:
            report.failed(f"log: tree heads {old.tree_size} → {new.tree_size} are not consistent: {exc}",
                          "consistency_failed", old_size=old.tree_size, new_size=new.tree_size)  # fmt: skip
            return
        report.passed(
            f"consistency {old.tree_size} → {new.tree_size}",
            "consistency",
            old_size=old.tree_size,
            new_size=new.tree_size,
        )

    def verify_log(self) -> list[str]:
        """The problems ``log_report`` finds (tampering or damage only)."""
        return self.log_report().problems

    def log_report(self) -> Verification:
        """The whole log: stored levels, every tree head's signature and root, consistency of each with the next,
        the backend's copy of every head, and a package for every entry; an interrupted seal is reported as one."""
        report = Verification("log")
        # Read in the order a seal writes backwards: the backend's heads, then the local heads, then the log, so
        # that a seal beside this reader never shows as a head without its log entries.
        try:
            on_backend = {int(k.removeprefix("heads/").removesuffix(".json")) for k in self.backend.keys("heads/")}
        except BackendUnavailable as exc:
            report.could_not("the backend's copies of the tree heads", exc)
            on_backend = set()
        heads = self.heads()
        self._refresh()
        self._note_interrupted_seals(report)
        stored = self.log.check()
        if stored:
            report.failed(
                "log: leaves.bin disagrees with the log's stored hashes (entries dropped, reordered or inserted): "
                + "; ".join(stored[:5])
            )
        local_sizes = {h.tree_size for h in heads}
        missing = sorted(on_backend - local_sizes)
        if missing:
            report.failed(f"tree heads {missing[:5]} are stored on the backend but not in heads.jsonl (rolled back)")
        if on_backend and max(on_backend) > self.log.size:
            report.failed(
                f"the log holds {self.log.size} entries but a tree head of {max(on_backend)} was signed: rolled back"
            )
        for head in heads:
            self._verify_head(report, head)
        for old, new in itertools.pairwise(heads):
            if new.tree_size < old.tree_size:
                report.failed(f"tree head {new.tree_size} follows {old.tree_size}: the log shrank")
            elif new.tree_size <= self.log.size:
                self._verify_consistency(report, old, new)
        self._verify_entries_stored(report)
        return report

    def _note_interrupted_seals(self, report: Verification) -> None:
        for package_id in sorted(self.interrupted_seals()):
            report.interrupted.append(f"package {package_id[:12]}…: {INTERRUPTED}")
        if self.log.unindexed:
            report.interrupted.append(
                f"log: {self.log.unindexed} entr{'y' if self.log.unindexed == 1 else 'ies'} appended but not yet "
                f"hashed into its levels: {INTERRUPTED}"
            )

    def _verify_entries_stored(self, report: Verification) -> None:
        for index in range(self.log.size):
            package_id = self.log.leaf_input(index).hex()
            try:
                if not self.backend.exists(f"packages/{package_id}.json"):
                    report.failed(f"log entry {index} names package {package_id[:16]}…, which does not exist")
            except BackendUnavailable as exc:
                report.could_not(f"log entries {index}–{self.log.size - 1}: their packages", exc)
                return
