"""The local evidence directory (the embedded default): items stored under their SHA-256, packages as manifests.

Layout::

    ROOT/items/<sha256>             each item's bytes, read-only
    ROOT/packages/<package_id>.json the package manifest, canonical JSON; package_id = SHA-256 of those bytes

Every file is written to a temporary name in its folder, fsynced, renamed into place and the folder fsynced, so a
crash leaves either the whole file or nothing under its final name. Items are written before the manifest that
lists them: a package that can be seen is complete. Sealing the same content twice gives the same package id and
writes nothing new.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST_FORMAT = "offsite-evidence-package/1"
_HEX64 = re.compile(r"[0-9a-f]{64}")


class EvidenceError(RuntimeError):
    """Evidence that cannot be stored or read: names the package or item and what is wrong."""


@dataclass(frozen=True)
class ItemIn:
    name: str  # "frame-first.jpg"
    media_type: str  # "image/jpeg"
    path: Path


@dataclass(frozen=True)
class StoredPackage:
    package_id: str  # SHA-256 of the manifest bytes
    manifest: dict[str, Any]
    manifest_bytes: bytes


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical form for what manifests hold (strings, integers, booleans, null, arrays, objects):
    keys sorted by code point, no insignificant whitespace, UTF-8. Floats are refused: JCS number formatting is
    not Python's, and a manifest has no need of them."""

    def check(node: Any, where: str) -> None:
        if isinstance(node, float):
            raise EvidenceError(f"manifest field {where} is a float; use an integer or a string")
        if isinstance(node, dict):
            for key, child in node.items():
                if not isinstance(key, str):
                    raise EvidenceError(f"manifest key {key!r} at {where} is not a string")
                check(child, f"{where}.{key}")
        elif isinstance(node, list):
            for index, child in enumerate(node):
                check(child, f"{where}[{index}]")

    check(value, "$")
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sha256_file(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_once(target: Path, write: Any) -> None:
    """Write through a temporary file in the same folder, then rename into place; leaves the file read-only."""
    if target.exists():
        return
    handle, temporary = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o444)
        os.replace(temporary, target)
        _fsync_dir(target.parent)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class LocalEvidenceStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.items = root / "items"
        self.packages = root / "packages"
        for folder in (self.items, self.packages):
            folder.mkdir(parents=True, exist_ok=True)

    def put_item(self, path: Path) -> tuple[str, int]:
        """Store a file under its SHA-256 (once); returns (sha256, size)."""
        digest, size = sha256_file(path)

        def copy(out: Any) -> None:
            with path.open("rb") as source:
                while chunk := source.read(1 << 20):
                    out.write(chunk)

        _write_once(self.items / digest, copy)
        stored, stored_size = sha256_file(self.items / digest)
        if stored != digest or stored_size != size:
            raise EvidenceError(f"item {path.name}: stored copy does not match (changed while being sealed?)")
        return digest, size

    def seal(self, items: list[ItemIn], context: dict[str, Any]) -> StoredPackage:
        """Store the items, then the manifest listing them with the context it is given."""
        names = [item.name for item in items]
        if not items or len(set(names)) != len(names):
            raise EvidenceError("a package needs at least one item, and item names must be distinct")
        listed = []
        for item in items:
            digest, size = self.put_item(item.path)
            listed.append({"name": item.name, "media_type": item.media_type, "size": size, "sha256": digest})
        manifest = {"format": MANIFEST_FORMAT, "items": listed, "context": context}
        data = canonical_json(manifest)
        package_id = hashlib.sha256(data).hexdigest()
        _write_once(self.packages / f"{package_id}.json", lambda out: out.write(data))
        return StoredPackage(package_id, manifest, data)

    def read(self, package_id: str) -> StoredPackage:
        if not _HEX64.fullmatch(package_id):
            raise EvidenceError(f"package id {package_id!r} is not 64 lowercase hex digits")
        path = self.packages / f"{package_id}.json"
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise EvidenceError(f"package {package_id} does not exist") from exc
        if hashlib.sha256(data).hexdigest() != package_id:
            raise EvidenceError(f"package {package_id}: manifest bytes do not hash to its id (altered)")
        return StoredPackage(package_id, json.loads(data), data)

    def item_path(self, sha256: str) -> Path:
        if not _HEX64.fullmatch(sha256):
            raise EvidenceError(f"item id {sha256!r} is not 64 lowercase hex digits")
        return self.items / sha256

    def verify_items(self, package_id: str) -> list[str]:
        """What is wrong with a package's items (empty when every item is present and hashes right)."""
        problems = []
        for item in self.read(package_id).manifest["items"]:
            path = self.item_path(item["sha256"])
            if not path.exists():
                problems.append(f"item {item['name']} ({item['sha256'][:12]}…) is missing")
                continue
            digest, size = sha256_file(path)
            if digest != item["sha256"] or size != item["size"]:
                problems.append(f"item {item['name']}: SHA-256 {digest[:12]}… does not match {item['sha256'][:12]}…")
        return problems
