"""``offsite worker`` (issue 16): camera pipelines on one machine of many, the cameras taken by lease.

Every third of the lease time the worker:
1. announces itself;
2. reads the live workers and the cameras' current configurations (the database);
3. renews its leases. It stops a camera whose lease it lost, and gives back one whose owner (rendezvous hashing
   over the live workers) is another worker now;
4. takes the free cameras it owns, and starts them;
5. hands a camera whose configuration changed its new version (taken up before its next frame, as in
   ``offsite serve``).

Beside this, unless it was started on a model file of its own (``--model``), it follows the registry as
``offsite serve --cameras`` does: a promoted (or rolled back) model is taken up by its pipelines between two frames,
and a model in shadow mode runs beside it, every ``model_poll_s``.

A camera's evidence items are stored by hash in the shared backend, and its events go to the sealer through the
stream (``offsite.cluster.events``). An event is first written to the worker's outbox on disk and removed once
the stream acknowledged it. So a broker that is down, or restarted, loses nothing: the outbox is sent when it is
back, and on the worker's next start if it was killed meanwhile. Each event carries its camera's lease epoch, and
the sealer fences off what came too late.

The lease time bounds a failover: a killed worker's cameras are taken by the others within it (plus one tick). A
worker that cannot reach NATS stops its cameras when the lease it last renewed has run out by its own clock, so it
never runs a camera another worker may hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nats.aio.client import Client
from nats.js.errors import KeyDeletedError, KeyNotFoundError

from cases.services.camera_configs import CameraConfig
from evidence_store.durable import write_atomic
from offsite import camera_configs
from offsite.bootstrap import Components
from offsite.cameras import registry_certification, supervisor_of
from offsite.cluster.camera_states import tell_states
from offsite.cluster.events import EventMessage, EventsStream, StoringSealer
from offsite.cluster.frames import CameraInbox
from offsite.cluster.leases import CameraLeases, Lease, key_of, open_bucket, owner
from offsite.cluster.opening import open_with_broker
from offsite.evidence import evidence_backend
from vision.capture import CapturedEvidence
from vision.config import CameraSpec, ConfigError
from vision.detector import OnnxDetector
from vision.events import ViolationEvent

log = logging.getLogger("offsite.cluster.worker")


@dataclass(frozen=True)
class ClusterSettings:
    nats_url: str  # one server, or a cluster's servers separated by commas
    prefix: str = "offsite"
    lease_s: float = 10.0

    @property
    def servers(self) -> list[str]:
        return [server.strip() for server in self.nats_url.split(",") if server.strip()]


class Outbox:
    """Events waiting for the stream's acknowledgement, one file each, in the order they were made."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        existing = [int(p.name.split("-", 1)[0]) for p in folder.glob("*.json") if p.name.split("-", 1)[0].isdigit()]
        self._next = max(existing, default=0) + 1

    def put(self, message: EventMessage) -> Path:
        path = self.folder / f"{self._next:012d}-{message.event.event_id}.json"
        self._next += 1
        write_atomic(path, message.to_bytes(), 0o600)
        return path

    def pending(self) -> list[Path]:
        return sorted(self.folder.glob("*.json"))


@dataclass
class _Held:
    lease: Lease
    renewed_at: float  # monotonic: when the lease was last renewed (the worker's own reckoning of when it ends)
    sha256: str  # the configuration it runs
    resume: dict[str, Any] | None = None  # the previous holder's snapshot, for the camera's first pipeline here


@dataclass
class CameraWorker:
    components: Components
    detector: OnnxDetector
    cluster: ClusterSettings
    worker_id: str
    work_dir: Path
    held: dict[str, _Held] = field(default_factory=dict)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    follow_models: bool = True  # take up the registry's active and shadow models (not with a model file given)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False)  # run()'s, for the pipelines' threads

    def __post_init__(self) -> None:
        self.outbox = Outbox(self.work_dir / "outbox")
        registry = self.components.registry
        self.sealer = StoringSealer(self.detector.manifest.name, self.detector.manifest.sha256, {},
                                    registry_certification(registry.find_camera),
                                    backend=evidence_backend(self.components.settings))  # fmt: skip
        self.cameras = supervisor_of(
            [], self.detector, self._emit, self.work_dir / "cameras", registry=registry,
            frames=self.components.frames, settings=self.components.settings, sealer=self.sealer,
        )  # fmt: skip
        self._sent = asyncio.Event()  # set when the outbox has something to send
        self._closing = False

    def _emit(self, event: ViolationEvent, evidence: CapturedEvidence) -> None:
        """A pipeline's event (on its thread): into the outbox, with the epoch its camera is held under."""
        manifest = self.sealer.take(event.evidence_package_id)
        held = self.held.get(event.camera_id)
        epoch = held.lease.epoch if held is not None else 0  # stopped meanwhile: the fence decides
        self.outbox.put(EventMessage(event, manifest, epoch, self.worker_id))
        log.info("camera %s: event %s (%s) waits to be sent", event.camera_id, event.event_id, event.violation_code)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._sent.set)
            # what it raised, known to whoever takes the camera next, at once rather than at the next tick
            asyncio.run_coroutine_threadsafe(self._save_state(event.camera_id), self._loop)

    async def _parts(self, connection: Client) -> None:
        """The events stream, the leases and the cameras' states, opened on the broker's connection."""
        js = connection.jetstream()
        self.stream = EventsStream(js, self.cluster.prefix)
        self.leases = CameraLeases(js, self.worker_id, self.cluster.lease_s, self.cluster.prefix)
        await self.stream.open()
        await self.leases.open()
        self.states = await open_bucket(js, f"{self.cluster.prefix}-camera-state", ttl=None)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        opened = await open_with_broker(f"worker {self.worker_id}", self.cluster.servers, self._parts, self.stopping)
        if opened is None:  # asked to stop before the broker answered: nothing was taken
            return
        connection, _ = opened
        self.inbox = CameraInbox(connection, self.cluster.prefix, self.components.frames, self.cameras.stream_changed)
        self.connection = connection
        self.cameras.start()
        following = self._follow_models()
        sender = asyncio.create_task(self._send_outbox())
        log.info("worker %s: taking cameras (lease %.0f s)", self.worker_id, self.cluster.lease_s)
        try:
            while not self.stopping.is_set():
                try:
                    await self.tick()
                except Exception:  # NATS or the database cannot answer now: cameras run on while their leases last
                    log.exception("worker %s: a look at the leases failed", self.worker_id)
                    await asyncio.to_thread(self._stop_expired)
                    for camera in set(self.inbox.open) - set(self.held):
                        await self.inbox.stop(camera)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), self.cluster.lease_s / 3)
        finally:
            following.set()
            log.info("worker %s: stopping %d cameras", self.worker_id, len(self.held))
            await asyncio.to_thread(self.cameras.stop, 30)
            log.info("worker %s: cameras stopped", self.worker_id)
            with contextlib.suppress(Exception):
                for held in list(self.held.values()):
                    await self.leases.release(held.lease)
                await self.leases.leave()
            self._closing = True  # the sender sends what the stopping cameras raised last, then ends
            self._sent.set()
            try:
                await asyncio.wait_for(sender, 10.0)
            except TimeoutError:
                log.warning("worker %s: the broker did not take the last events; they wait in the outbox for the "
                            "next start", self.worker_id)  # fmt: skip
            await connection.close()
            log.info("worker %s: stopped", self.worker_id)

    def _follow_models(self) -> threading.Event:
        """The registry followed on a thread of its own (set the event to stop it)."""
        stop = threading.Event()
        if self.follow_models:
            threading.Thread(target=self.cameras.follow_registry, name="model-follower", daemon=True,
                             args=(self.components, stop, self.components.settings.model_poll_s)).start()  # fmt: skip
        return stop

    async def tick(self) -> None:
        await self.leases.announce(len(self.held))
        live = await self.leases.live_workers()
        if self.worker_id not in live:
            live = sorted([*live, self.worker_id])
        configs = await asyncio.to_thread(self.components.camera_configs.current)
        mine = {camera for camera in configs if owner(camera, live) == self.worker_id}
        for camera, held in list(self.held.items()):
            renewed = await self.leases.renew(held.lease)
            if renewed is None:
                log.warning("worker %s: camera %s lost (its lease ran out or was taken over): stopped", self.worker_id,
                            camera)  # fmt: skip
                await self._drop(camera)
            elif camera not in mine or camera not in configs:
                await self.leases.release(renewed)
                await self._drop(camera)
                log.info("worker %s: camera %s given back to its owner", self.worker_id, camera)
            else:
                held.lease, held.renewed_at = renewed, time.monotonic()
                await self._save_state(camera)
        for camera in sorted(mine - set(self.held)):
            lease = await self.leases.acquire(camera, await self.stream.last_sequence())
            if lease is None:
                continue
            self.held[camera] = _Held(lease, time.monotonic(), "", await self._previous_state(camera))
            await self.inbox.listen(camera)  # its gateway's frames, pushed to any API node, come here now
            log.info("worker %s: camera %s taken under epoch %d", self.worker_id, camera, lease.epoch)
        for camera, held in self.held.items():
            config = configs[camera]
            if held.sha256 != config.sha256:
                await asyncio.to_thread(self._run_version, camera, config, held.resume)
                held.sha256, held.resume = config.sha256, None
        # what its cameras are doing, for the command centre's pages on the API nodes
        await tell_states(self.connection, self.cluster.prefix, self.worker_id, self.cameras, list(self.held))

    def _run_version(self, camera: str, config: CameraConfig, resume: dict[str, Any] | None) -> None:
        try:
            spec: CameraSpec = camera_configs.spec_of(config, self.detector.class_names)
        except ConfigError as exc:
            log.error("camera %s: version %d cannot run: %s", camera, config.version, exc)
            return
        self.cameras.reconfigure(spec, resume)  # a camera new here starts; a running one takes the version up
        log.info("worker %s: camera %s runs version %d", self.worker_id, camera, config.version)

    async def _save_state(self, camera: str) -> None:
        """The camera's rule engine as another worker would carry on from it (``RuleEngine.snapshot``)."""
        pipeline, held = self.cameras.runner.pipelines.get(camera), self.held.get(camera)
        if pipeline is None or held is None:
            return
        state = {"worker": self.worker_id, "epoch": held.lease.epoch, "snapshot": pipeline.rules.snapshot()}
        await self.states.put(key_of(camera), json.dumps(state).encode())

    async def _previous_state(self, camera: str) -> dict[str, Any] | None:
        try:
            entry = await self.states.get(key_of(camera))
        except (KeyNotFoundError, KeyDeletedError):
            return None
        state = json.loads(entry.value or b"{}")
        log.info("worker %s: camera %s carries on from %s's state under epoch %s", self.worker_id, camera,
                 state.get("worker"), state.get("epoch"))  # fmt: skip
        snapshot = state.get("snapshot")
        return snapshot if isinstance(snapshot, dict) else None

    async def _drop(self, camera: str) -> None:
        self.held.pop(camera, None)
        await self.inbox.stop(camera)
        await asyncio.to_thread(self.cameras.remove, camera)

    def _stop_expired(self) -> None:
        """Cut off from NATS: stop every camera whose lease has run out by this worker's clock."""
        now = time.monotonic()
        for camera, held in list(self.held.items()):
            if now - held.renewed_at >= self.cluster.lease_s:
                log.warning("worker %s: camera %s stopped: its lease ran out while NATS could not be reached",
                            self.worker_id, camera)  # fmt: skip
                self.held.pop(camera, None)
                self.cameras.remove(camera)

    async def _send_outbox(self) -> None:
        while True:
            try:
                await self._flush()
            except Exception as exc:  # the broker is away: the outbox keeps the events until it is back
                log.warning("worker %s: events wait in the outbox: %s", self.worker_id, exc)
                await asyncio.sleep(1.0)
                continue
            if self._closing:
                return
            self._sent.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sent.wait(), 5.0)

    async def _flush(self) -> None:
        for path in self.outbox.pending():
            message = EventMessage.from_bytes(path.read_bytes())
            sequence, duplicate = await self.stream.publish(message)
            log.info("camera %s: event %s sent (stream %d%s)", message.event.camera_id, message.event.event_id,
                     sequence, ", already there" if duplicate else "")  # fmt: skip
            path.unlink()


def worker_id_default() -> str:
    return f"{os.uname().nodename}-{os.getpid()}"
