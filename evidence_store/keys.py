"""The instance's Ed25519 signing keys: generated, listed and rotated; old public keys stay published.

Layout (in the evidence directory's ``keys/``)::

    keyring.json             every key: id, created, retired (null while active); exactly one active
    public/<key_id>.pem      SubjectPublicKeyInfo PEM, kept for ever so old packages keep verifying
    private/<key_id>.pem     PKCS#8 PEM, mode 0600; encrypted when OFFSITE_EVIDENCE_KEY_PASSPHRASE is set

A key's id is the first 16 hex digits of the SHA-256 of its raw 32-byte public key, so anyone holding the
public key can check which key an id names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from evidence_store.durable import write_atomic

PASSPHRASE_ENV = "OFFSITE_EVIDENCE_KEY_PASSPHRASE"
ENDORSEMENT = b"offsite-key-endorsement/1\n"  # signed by the outgoing key, followed by the new raw public key


class SigningKeyError(RuntimeError):
    """A key that is missing, unreadable or unknown; names the key id."""


@dataclass(frozen=True)
class Distrust:
    """Why a key is not to be trusted: ``text`` in English; ``key`` and ``params`` name it for a reader of another
    language (the project's message catalogue has ``verify.<key>``)."""

    key: str
    text: str
    params: dict[str, object]

    def __init__(self, key: str, text: str, **params: object) -> None:
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "params", params)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    created: str
    retired: str | None

    @property
    def active(self) -> bool:
        return self.retired is None


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_pem(data: bytes, where: str = "public key") -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise SigningKeyError(f"{where}: not a PEM public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{where}: not an Ed25519 key")
    return key


class KeyRing:
    def __init__(self, folder: Path, passphrase: bytes | None = None) -> None:
        self.folder = folder
        env = os.environ.get(PASSPHRASE_ENV)
        self.passphrase = passphrase if passphrase is not None else (env.encode() if env else None)
        self._lock = threading.Lock()
        self._private: dict[str, Ed25519PrivateKey] = {}

    @property
    def _ring_path(self) -> Path:
        return self.folder / "keyring.json"

    def entries(self) -> list[KeyInfo]:
        if not self._ring_path.exists():
            return []
        try:
            entries = json.loads(self._ring_path.read_text(encoding="utf-8"))["keys"]
            return [KeyInfo(e["key_id"], e["created"], e["retired"]) for e in entries]
        except (ValueError, KeyError, TypeError) as exc:
            raise SigningKeyError(f"{self._ring_path}: unreadable key ring ({exc})") from exc

    def _save(self, keys: list[KeyInfo]) -> None:
        data = {"keys": [{"key_id": k.key_id, "created": k.created, "retired": k.retired} for k in keys]}
        write_atomic(self._ring_path, (json.dumps(data, indent=2) + "\n").encode(), 0o644)

    def generate(self) -> KeyInfo:
        """A new active key; the previously active one is retired (its public key stays published)."""
        with self._lock:
            private = Ed25519PrivateKey.generate()
            public = private.public_key()
            key_id = key_id_of(public)
            encryption: serialization.KeySerializationEncryption = (
                serialization.BestAvailableEncryption(self.passphrase)
                if self.passphrase
                else serialization.NoEncryption()
            )
            pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
            write_atomic(self.folder / "private" / f"{key_id}.pem", pem, 0o600)
            write_atomic(self.folder / "public" / f"{key_id}.pem", public_pem(public), 0o444)
            now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            previous = [k for k in self.entries() if k.active]
            if previous:  # the outgoing key vouches for its successor: a key slipped into the ring has no such word
                raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
                endorsement = self._private_key(previous[-1].key_id).sign(ENDORSEMENT + raw)
                write_atomic(self.folder / "endorsements" / f"{key_id}.sig", endorsement, 0o444)
            keys = [KeyInfo(k.key_id, k.created, k.retired or now) for k in self.entries()]
            info = KeyInfo(key_id, now, None)
            self._save([*keys, info])
            self._private[key_id] = private
            return info

    rotate = generate

    def active(self) -> KeyInfo:
        active = [k for k in self.entries() if k.active]
        if not active:
            raise SigningKeyError(f"no active signing key in {self.folder}: run `offsite evidence keys generate`")
        return active[-1]

    def ensure(self) -> KeyInfo:
        """The active key, generating the first one when the ring is empty."""
        return self.active() if self.entries() else self.generate()

    def _private_key(self, key_id: str) -> Ed25519PrivateKey:
        if key_id not in self._private:
            path = self.folder / "private" / f"{key_id}.pem"
            try:
                key = serialization.load_pem_private_key(path.read_bytes(), password=self.passphrase)
            except FileNotFoundError as exc:
                raise SigningKeyError(f"private key {key_id} is missing ({path})") from exc
            except (ValueError, TypeError) as exc:
                raise SigningKeyError(f"private key {key_id} cannot be read: {exc}") from exc
            if not isinstance(key, Ed25519PrivateKey):
                raise SigningKeyError(f"private key {key_id} is not an Ed25519 key")
            self._private[key_id] = key
        return self._private[key_id]

    def sign(self, data: bytes) -> tuple[str, bytes]:
        """(key id, 64-byte Ed25519 signature) with the active key."""
        key_id = self.active().key_id
        return key_id, self._private_key(key_id).sign(data)

    def public_key_pem(self, key_id: str) -> bytes:
        path = self.folder / "public" / f"{key_id}.pem"
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise SigningKeyError(f"key {key_id} is not published in {self.folder / 'public'}") from exc

    def public_key(self, key_id: str) -> Ed25519PublicKey:
        key = load_public_pem(self.public_key_pem(key_id), f"public key {key_id}")
        if key_id_of(key) != key_id:
            raise SigningKeyError(f"public key file {key_id}.pem holds key {key_id_of(key)}: replaced")
        return key

    def endorsement(self, key_id: str) -> bytes | None:
        path = self.folder / "endorsements" / f"{key_id}.sig"
        return path.read_bytes() if path.exists() else None

    def trust_problem(self, key_id: str, at: str | None = None) -> Distrust | None:
        """Why a signature by ``key_id`` (made at ``at``, ISO 8601, when known) is not to be trusted, or None.

        The key must be in the ring, every key after the first endorsed by the one before it, and ``at`` within
        the key's active time. The first key is the trust anchor: publish its id where the parties can see it."""
        entries = self.entries()
        ids = [k.key_id for k in entries]
        if key_id not in ids:
            return Distrust("key_unknown", f"key {key_id} is not one of this instance's signing keys", key_id=key_id)
        for before, key in itertools.pairwise(entries):
            endorsement = self.endorsement(key.key_id)
            raw = self.public_key(key.key_id).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            try:
                if endorsement is None:
                    raise InvalidSignature
                self.public_key(before.key_id).verify(endorsement, ENDORSEMENT + raw)
            except InvalidSignature:
                return Distrust("key_not_endorsed",
                                f"key {key.key_id} is not endorsed by key {before.key_id}, which it claims to follow",
                                key_id=key.key_id, before=before.key_id)  # fmt: skip
            if key.key_id == key_id:
                break
        info = entries[ids.index(key_id)]
        if at is not None and (at < info.created or (info.retired is not None and at > info.retired)):
            text = f"key {key_id} was not active at {at} (active {info.created} to {info.retired or 'now'})"
            if info.retired is None:
                return Distrust("key_not_yet_active", text, key_id=key_id, at=at, created=info.created)
            return Distrust("key_not_active", text, key_id=key_id, at=at, created=info.created, retired=info.retired)
        return None

    def verify(self, key_id: str, data: bytes, signature: bytes) -> bool:
        try:
            self.public_key(key_id).verify(signature, data)
        except InvalidSignature:
            return False
        return True
