"""Which worker runs which camera (issue 16): leases in NATS JetStream key-value buckets, fenced by an epoch.

- **Workers** announce themselves in ``<prefix>-workers``. The bucket's age limit is the lease time, so a worker
  that stops announcing is gone from it by then, however it stopped.
- **A camera's lease** is a key of ``<prefix>-leases``, whose age limit is also the lease time.
  A process configured with another lease time than the buckets were made with sets them to its own, and says so
  (``open_bucket``): a lease must neither outlive the lease time nor run out between two renewals.
  - It is taken with ``create``: only when nobody holds it, so one worker wins.
  - It is kept by an ``update`` on its revision (compare-and-swap) every third of the lease time. A worker whose
    update fails has lost the camera and stops it at once.
  - A worker that dies, or is cut off from NATS, lets its leases run out: the server removes them.
- **Who should run a camera** is decided by rendezvous hashing over the live workers (``owner``). Every worker
  computes the same answer, so cameras spread evenly. When a worker joins or leaves, only the cameras whose owner
  changed move: a holder that is no longer the owner releases the camera, and the owner takes it.
- **Fencing.** Each time a camera's lease is taken, its epoch in ``<prefix>-epochs`` is raised (compare-and-swap;
  the bucket keeps no age limit). The new epoch records the events stream's last sequence at that moment. A
  camera's events carry the epoch they were made under. The sealer seals an event when its epoch is the current
  one, or when it was published (its stream sequence) before the next epoch began (``Fence.sealable``). So a worker
  cut off from NATS, whose camera was taken over meanwhile, cannot have its late events sealed beside the new
  holder's, and nothing it published in time is lost.

The server's clock alone decides expiry: workers' clocks may differ.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from dataclasses import dataclass, replace
from typing import Any

from nats.js.client import JetStreamContext
from nats.js.errors import (
    BadRequestError,
    BucketNotFoundError,
    KeyDeletedError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
    NoKeysError,
    NotFoundError,
)
from nats.js.kv import KeyValue

log = logging.getLogger("offsite.cluster.leases")

EPOCHS_KEPT = 16  # the last epochs' starting sequences kept for fencing: far more than can change in a stream's life


async def open_bucket(js: JetStreamContext, bucket: str, ttl: float | None) -> KeyValue:
    """A key-value bucket keeping each key's last value (``ttl``: its age limit), created by whoever asks first. A
    bucket made earlier with another age limit (processes configured with another lease time) is given this one:
    otherwise leases would outlive the lease time, or run out between renewals."""
    try:
        kv = await js.key_value(bucket)
    except (NotFoundError, BucketNotFoundError):
        try:
            return await js.create_key_value(bucket=bucket, history=1, ttl=ttl)
        except BadRequestError:  # another process created it meanwhile
            kv = await js.key_value(bucket)
    await _keep_for(js, bucket, (await kv.status()).ttl, ttl)
    return kv


async def _keep_for(js: JetStreamContext, bucket: str, kept_s: float | None, ttl: float | None) -> None:
    """Set the bucket's age limit to ``ttl`` (None: none) where it is ``kept_s`` now."""
    if abs((kept_s or 0) - (ttl or 0)) < 1e-3:  # no age limit is 0 to the server
        return
    stream = f"KV_{bucket}"  # the stream behind a key-value bucket
    config = (await js.stream_info(stream)).config
    window = config.duplicate_window
    if ttl and window and window > ttl:
        window = ttl  # the server refuses a duplicate window longer than the age limit
    await js.update_stream(replace(config, max_age=ttl or 0, duplicate_window=window))
    log.warning("bucket %s kept its keys for %s; it keeps them for %s from now, as this process is configured",
                bucket, f"{kept_s:g} s" if kept_s else "ever", f"{ttl:g} s" if ttl else "ever")  # fmt: skip


def key_of(camera_id: str) -> str:
    """A camera id as a key (a device id may hold ':', which keys may not; '=' is in no device id)."""
    return camera_id.replace(":", "=")


def camera_of(key: str) -> str:
    return key.replace("=", ":")


def owner(camera_id: str, workers: list[str]) -> str | None:
    """The worker that should run the camera: the highest hash of (camera, worker), the same on every worker."""
    if not workers:
        return None
    return max(workers, key=lambda worker: hashlib.sha256(f"{camera_id}\0{worker}".encode()).digest())


@dataclass(frozen=True)
class Lease:
    camera_id: str
    worker: str
    epoch: int
    revision: int  # the lease key's revision: the next renewal must name it


@dataclass(frozen=True)
class Fence:
    """A camera's epochs, as the sealer weighs an event: the current one, and where each recent one began."""

    epoch: int
    began: dict[int, int]  # epoch → the events stream's last sequence when it began

    def sealable(self, epoch: int, sequence: int) -> bool:
        """An event made under ``epoch``, published as the stream's ``sequence``: sealed if its epoch is current,
        or if it reached the stream before the next epoch began."""
        if epoch == self.epoch:
            return True
        following = self.began.get(epoch + 1)
        return epoch < self.epoch and following is not None and sequence <= following


class CameraLeases:
    """One worker's view of the leases (asyncio, on its NATS connection's JetStream context)."""

    def __init__(self, js: JetStreamContext, worker: str, lease_s: float = 10.0, prefix: str = "offsite") -> None:
        if lease_s < 1:
            raise ValueError("a lease lasts at least a second")
        self.js, self.worker, self.lease_s, self.prefix = js, worker, lease_s, prefix
        self._leases: KeyValue | None = None
        self._epochs: KeyValue | None = None
        self._workers: KeyValue | None = None

    async def open(self) -> None:
        self._leases = await self._bucket("leases", ttl=self.lease_s)
        self._workers = await self._bucket("workers", ttl=self.lease_s)
        self._epochs = await self._bucket("epochs", ttl=None)

    async def _bucket(self, name: str, ttl: float | None) -> KeyValue:
        return await open_bucket(self.js, f"{self.prefix}-{name}", ttl)

    @property
    def leases(self) -> KeyValue:
        assert self._leases is not None, "open() first"
        return self._leases

    @property
    def epochs(self) -> KeyValue:
        assert self._epochs is not None, "open() first"
        return self._epochs

    @property
    def workers(self) -> KeyValue:
        assert self._workers is not None, "open() first"
        return self._workers

    # -- workers ---------------------------------------------------------------------------------------------------
    async def announce(self, cameras: int = 0) -> None:
        """This worker is alive (its entry lasts the lease time), running ``cameras``."""
        await self.workers.put(self.worker, json.dumps({"cameras": cameras}).encode())

    async def live_workers(self) -> list[str]:
        try:
            return sorted(await self.workers.keys())
        except NoKeysError:
            return []

    async def leave(self) -> None:
        """A worker that stops on purpose is gone at once, not after the lease time."""
        await self.workers.delete(self.worker)

    # -- leases ----------------------------------------------------------------------------------------------------
    async def acquire(self, camera_id: str, events_sequence: int) -> Lease | None:
        """Take the camera if nobody holds it: the lease, then the next epoch (recording the events stream's last
        ``events_sequence``). None when another worker holds it or took it first."""
        key = key_of(camera_id)
        try:
            revision = await self.leases.create(key, self._value(0))
        except (KeyWrongLastSequenceError, KeyNotFoundError):  # held; or ran out between the two looks create takes
            return None
        epoch = await self._next_epoch(key, events_sequence)
        if epoch is None:  # cannot happen while only a lease's holder raises the epoch; give the lease back
            await self._delete(key, revision)
            return None
        try:
            revision = await self.leases.update(key, self._value(epoch), last=revision)
        except KeyWrongLastSequenceError:
            return None  # run out already (a lease time spent taking it): someone else may hold it now
        return Lease(camera_id, self.worker, epoch, revision)

    async def renew(self, lease: Lease) -> Lease | None:
        """Keep the camera; None when it was lost (run out, or taken by another worker): stop it at once.

        A renewal the server applied but whose answer was lost (a timeout while the broker restarted) moved the
        key's revision past the one this worker knows. The key then still holds this worker's name and epoch
        (another taker would have raised the epoch), and the lease is renewed on the revision found."""
        key = key_of(lease.camera_id)
        try:
            revision = await self.leases.update(key, self._value(lease.epoch), last=lease.revision)
        except KeyWrongLastSequenceError:
            found = await self.holder(lease.camera_id)
            if found is None or (found.worker, found.epoch) != (lease.worker, lease.epoch):
                return None
            try:
                revision = await self.leases.update(key, self._value(lease.epoch), last=found.revision)
            except KeyWrongLastSequenceError:
                return None
        return Lease(lease.camera_id, lease.worker, lease.epoch, revision)

    async def release(self, lease: Lease) -> None:
        """Give the camera up (its owner is another worker now, or this one stops)."""
        await self._delete(key_of(lease.camera_id), lease.revision)

    async def holder(self, camera_id: str) -> Lease | None:
        try:
            entry = await self.leases.get(key_of(camera_id))
        except (KeyNotFoundError, KeyDeletedError):
            return None
        if entry.value is None or entry.revision is None:
            return None
        value = json.loads(entry.value)
        return Lease(camera_id, value["worker"], value["epoch"], entry.revision)

    async def fence(self, camera_id: str) -> Fence:
        """The camera's epochs, for the sealer (epoch 0 and nothing began: never leased)."""
        try:
            entry = await self.epochs.get(key_of(camera_id))
        except (KeyNotFoundError, KeyDeletedError):
            return Fence(0, {})
        return _fence(entry.value)

    async def _next_epoch(self, key: str, events_sequence: int) -> int | None:
        try:
            entry = await self.epochs.get(key)
        except (KeyNotFoundError, KeyDeletedError):
            entry = None
        current = Fence(0, {}) if entry is None else _fence(entry.value)
        epoch = current.epoch + 1
        began = dict(sorted((current.began | {epoch: events_sequence}).items())[-EPOCHS_KEPT:])
        value = json.dumps({"epoch": epoch, "began": {str(e): s for e, s in began.items()}}).encode()
        try:
            if entry is None:
                await self.epochs.create(key, value)
            else:
                await self.epochs.update(key, value, last=entry.revision)
        except KeyWrongLastSequenceError:
            return None
        return epoch

    async def _delete(self, key: str, revision: int) -> None:
        with contextlib.suppress(KeyWrongLastSequenceError):  # not ours any more: nothing to give back
            await self.leases.delete(key, last=revision)

    def _value(self, epoch: int) -> bytes:
        return json.dumps({"worker": self.worker, "epoch": epoch}).encode()


def _fence(value: Any) -> Fence:
    data = json.loads(value or b"{}")
    return Fence(int(data.get("epoch", 0)), {int(e): int(s) for e, s in data.get("began", {}).items()})
