"""Violation events in flight from camera workers to the sealer (issue 16), through a NATS JetStream stream.

A worker's pipeline does not seal: its ``StoringSealer`` stores the evidence items in the shared evidence backend
(S3 in production) under their hashes and composes the package's manifest. The package id is the hash of that
manifest, so it is known at once and the event carries it as if sealed. The event and the manifest go to the stream
as one message (``EventMessage``):
- its message id is the event id, so the stream drops a duplicate within its duplicate window;
- it carries the camera's lease epoch (``offsite.cluster.leases``);
- the stream is a work queue: a message is gone once the sealer acknowledges it, so NATS holds only what is in
  flight.

The sealer (``EventSealer``, the evidence log's single writer) takes the messages in order. For each it:
1. drops an event its camera's fence refuses (made under an epoch whose camera was taken over before the event was
   published);
2. seals the manifest (``EvidenceStore.seal_stored``: the items must be there; the same manifest again is the same
   package);
3. takes the event in as a detection (the event id is unique there too);
4. acknowledges it, after the commit.
Killed at any point, it is sent the message again and seals nothing twice. ``max_ack_pending`` bounds what is
handed out unacknowledged: back-pressure on a slow sealer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from nats.js import api
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError, NotFoundError

from cases.errors import OffsiteError, RetryLater
from evidence_store.backends import EvidenceBackend
from evidence_store.store import EvidenceError, ItemIn, ItemsMissing, package_id_of, package_manifest, store_item
from offsite.bootstrap import Components
from offsite.cameras import EvidenceContext
from offsite.cluster.leases import CameraLeases, key_of
from vision.capture import CapturedEvidence
from vision.events import ViolationEvent

log = logging.getLogger("offsite.cluster.events")
SEALER = "sealer"
ITEM_WAIT_S, ITEM_WAITS = 5.0, 60  # a worker's items still spooled: asked again every 5 s, for five minutes


@dataclass(frozen=True)
class EventMessage:
    event: ViolationEvent
    manifest: dict[str, Any]
    epoch: int  # the camera's lease epoch the worker held when it made the event
    worker: str

    def to_bytes(self) -> bytes:
        body = {"event": self.event.as_json(), "manifest": self.manifest, "epoch": self.epoch, "worker": self.worker}
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> EventMessage:
        body = json.loads(data)
        return cls(ViolationEvent.from_json(body["event"]), body["manifest"], int(body["epoch"]), str(body["worker"]))


@dataclass
class StoringSealer(EvidenceContext):
    """A worker's sealer: stores the items by hash and answers the package id its manifest will have; the manifest
    waits here for the event that names it (``take``)."""

    backend: EvidenceBackend = field(kw_only=True)
    _manifests: dict[str, dict[str, Any]] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def seal(self, evidence: CapturedEvidence) -> str:
        items = [store_item(self.backend, ItemIn(i.name, i.media_type, i.path)) for i in evidence.items]
        manifest = package_manifest(items, self.context(evidence))
        package_id = package_id_of(manifest)
        with self._lock:
            self._manifests[package_id] = manifest
        return package_id

    def take(self, package_id: str) -> dict[str, Any]:
        with self._lock:
            return self._manifests.pop(package_id)


class EventsStream:
    """The events stream and its sealer's consumer, on one JetStream context."""

    def __init__(self, js: JetStreamContext, prefix: str = "offsite", duplicate_window_s: float = 600.0) -> None:
        self.js, self.prefix = js, prefix
        self.name = f"{prefix}-events"
        self.duplicate_window_s = duplicate_window_s

    def subject(self, camera_id: str) -> str:
        return f"{self.prefix}.events.{key_of(camera_id)}"

    async def open(self) -> None:
        config = api.StreamConfig(
            name=self.name, subjects=[f"{self.prefix}.events.>"], retention=api.RetentionPolicy.WORK_QUEUE,
            storage=api.StorageType.FILE, duplicate_window=self.duplicate_window_s,
        )  # fmt: skip
        try:
            await self.js.stream_info(self.name)
        except NotFoundError:
            try:
                await self.js.add_stream(config)
            except BadRequestError:  # another process created it meanwhile
                await self.js.stream_info(self.name)

    async def publish(self, message: EventMessage) -> tuple[int, bool]:
        """The message's stream sequence, and whether the stream had it already (a duplicate it dropped)."""
        ack = await self.js.publish(self.subject(message.event.camera_id), message.to_bytes(),
                                    headers={"Nats-Msg-Id": message.event.event_id})  # fmt: skip
        return ack.seq, bool(ack.duplicate)

    async def last_sequence(self) -> int:
        info = await self.js.stream_info(self.name)
        return int(info.state.last_seq)

    async def sealer_subscription(self, max_ack_pending: int = 64, ack_wait_s: float = 30.0) -> Any:
        config = api.ConsumerConfig(
            durable_name=SEALER, ack_policy=api.AckPolicy.EXPLICIT, max_ack_pending=max_ack_pending,
            ack_wait=ack_wait_s, deliver_policy=api.DeliverPolicy.ALL,
        )  # fmt: skip
        return await self.js.pull_subscribe(f"{self.prefix}.events.>", durable=SEALER, stream=self.name, config=config)


@dataclass
class Outcome:
    sealed: int = 0
    already: int = 0  # sealed before (a redelivery after a crash): nothing sealed twice
    fenced: int = 0
    refused: int = 0


class EventSealer:
    """The sealer role's work: messages in, packages sealed and detections recorded, then acknowledged."""

    def __init__(self, components: Components, stream: EventsStream, leases: CameraLeases) -> None:
        self.components, self.stream, self.leases = components, stream, leases
        self.outcome = Outcome()
        self._subscription: Any = None

    async def open(self, max_ack_pending: int = 64) -> None:
        """Subscribe to the stream's events (once: opened already, nothing more is done)."""
        if self._subscription is None:
            self._subscription = await self.stream.sealer_subscription(max_ack_pending)

    async def take(
        self, batch: int = 16, timeout_s: float = 1.0, between: Callable[[], Awaitable[None]] | None = None
    ) -> int:
        """Handle the messages waiting (at most ``batch``, waiting up to ``timeout_s`` for the first); how many.

        ``between`` is awaited before each message: the sealer keeps its role there, so that a batch of slow seals
        does not outlast the role's lease. What it raises ends the batch, the rest unacknowledged (sent again)."""
        try:
            messages = await self._subscription.fetch(batch, timeout=timeout_s)
        except TimeoutError:
            return 0
        for message in messages:
            if between is not None:
                await between()
            await self.handle(message)
        return len(messages)

    async def handle(self, message: Any) -> None:
        try:
            event_message = EventMessage.from_bytes(message.data)
        except (ValueError, KeyError, TypeError) as exc:
            log.error("a message that is no event message was dropped: %s", exc)
            self.outcome.refused += 1
            await message.term()
            return
        event = event_message.event
        fence = await self.leases.fence(event.camera_id)
        if not fence.sealable(event_message.epoch, message.metadata.sequence.stream):
            log.warning("camera %s: event %s from %s under epoch %d fenced off (the camera is at epoch %d)",
                        event.camera_id, event.event_id, event_message.worker, event_message.epoch, fence.epoch)  # fmt: skip
            self.outcome.fenced += 1
            await message.ack()
            return
        try:
            created = await asyncio.to_thread(self._seal_and_record, event_message)
        except ItemsMissing as exc:  # the worker's upload may still be on its way (its spool): later
            if message.metadata.num_delivered >= ITEM_WAITS:
                log.error("camera %s: event %s refused, its items never came: %s", event.camera_id, event.event_id,
                          exc)  # fmt: skip
                self.outcome.refused += 1
                await message.term()
                return
            log.warning("camera %s: event %s waits for its items: %s", event.camera_id, event.event_id, exc)
            await message.nak(delay=ITEM_WAIT_S)
            return
        except EvidenceError as exc:  # items missing or a malformed manifest: it will not seal later either
            log.error("camera %s: event %s refused: %s", event.camera_id, event.event_id, exc)
            self.outcome.refused += 1
            await message.term()
            return
        except RetryLater:  # the database or a store cannot answer now: the message comes back
            log.warning("camera %s: event %s not recorded yet; it will be sent again", event.camera_id, event.event_id)
            await message.nak(delay=2.0)
            return
        except OffsiteError as exc:  # the case system refuses the detection: it will refuse it again
            log.error("camera %s: event %s sealed, its detection refused (%s): %s; the reconciliation of sealed "
                      "packages tries it again", event.camera_id, event.event_id, exc.code, exc.message)  # fmt: skip
            self.outcome.refused += 1
            await message.term()
            return
        except Exception:  # the store or the database cannot answer now: the message comes back
            log.exception("camera %s: event %s not sealed yet; it will be sent again", event.camera_id,
                          event.event_id)  # fmt: skip
            await message.nak(delay=2.0)
            return
        if created:
            self.outcome.sealed += 1
        else:
            self.outcome.already += 1
        await message.ack()

    def _seal_and_record(self, message: EventMessage) -> bool:
        sealed = self.components.evidence().seal_stored(message.manifest)
        if sealed.package_id != message.event.evidence_package_id:
            raise EvidenceError(f"event {message.event.event_id} names package {message.event.evidence_package_id}, "
                                f"its manifest is {sealed.package_id}")  # fmt: skip
        detection, created = self.components.detections.intake(message.event, self.components.registry,
                                                               flag_unknown_zone=True)  # fmt: skip
        log.info("camera %s: event %s sealed as %s, detection %s", message.event.camera_id, message.event.event_id,
                 sealed.package_id[:12], detection.id)  # fmt: skip
        return bool(sealed.created or created)
