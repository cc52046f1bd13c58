"""``offsite scheduler`` (issue 16): the cluster's periodic work, done by one process at a time.

One scheduler works at a time, across machines: the role is a lease (``role:scheduler``, held as
``offsite.cluster.role_lease`` says). A second scheduler started beside it waits, and takes over within the lease
time when the first dies. While it holds the role it runs three jobs, each on a thread of its own and on its own
period, so that a long re-check delays neither the others nor the role's renewal. A job that fails is logged and
runs again at its next turn. Each job starts at once when the role is taken (a takeover does not wait a period),
then every period from its last start.

- **Automatic re-checks** (``offsite.rechecks``) of the cases whose rectification deadline has passed, every
  ``OFFSITE_RECHECK_EVERY_S``, each camera watched for ``OFFSITE_RECHECK_WINDOW_S``. They run on the registry's
  active model (a newly promoted one is taken up before the next round) and the cameras as saved in the database
  (a camera whose version the model cannot run fails its own cases only). The key frames are sealed by the sealer
  (``offsite.cluster.sealing``): the scheduler stores them in the shared backend by hash and asks for the manifest
  to be sealed. With no sealer answering, the case is not noted and the next round looks again.
- **Reconciliation** of sealed camera packages without a detection (``offsite.reconcile``), every ten minutes. It
  reads the packages' manifests from the shared backend and takes events in through the detections' idempotent
  intake: it never needs the log.
- **Notification dispatch**, every 15 s. It is safe beside the API nodes' own dispatch: ``SKIP LOCKED`` hands each
  message to one dispatcher.

The scheduler never opens the evidence log: the sealer is its single writer. Should two schedulers overlap (the
first cut off from the broker while its lease runs out), a case is still noted once: each step names the case's
version, and the second step on the same version is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from nats.aio.client import Client

from cases.services import notifications
from offsite import camera_configs, model_registry
from offsite.bootstrap import Components
from offsite.cluster.leases import CameraLeases
from offsite.cluster.opening import open_with_broker
from offsite.cluster.role_lease import BrokerAway, RoleHolder
from offsite.cluster.sealing import SealRequests
from offsite.cluster.worker import ClusterSettings
from offsite.evidence import evidence_backend
from offsite.parts import Seal
from offsite.rechecks import run_due_rechecks
from offsite.reconcile import RECONCILE_EVERY_S, SealedEvents, StoredPackages
from vision.config import CameraSpec
from vision.detector import OnnxDetector

log = logging.getLogger("offsite.cluster.scheduler")
ROLE = "scheduler"
DISPATCH_EVERY_S = 15.0  # as offsite serve dispatches
JOBS_FINISH_S = 60.0  # how long a stopping scheduler waits for its jobs: a re-check's window, 60 s by default


@dataclass
class Job:
    """One periodic task of the scheduler, run on a thread of its own, one run at a time."""

    name: str
    every_s: float
    work: Callable[[], object]
    _running: asyncio.Future[None] | None = field(default=None, init=False)
    _started_at: float | None = field(default=None, init=False)

    def start_if_due(self) -> None:
        if self.running is not None:  # one run at a time: a long one delays its own next turn, nothing else
            return
        now = time.monotonic()
        if self._started_at is not None and now - self._started_at < self.every_s:
            return
        self._started_at = now
        self._running = asyncio.ensure_future(asyncio.to_thread(self._run))

    def _run(self) -> None:
        try:
            self.work()
        except Exception:  # the database or the store may be away for a while: the next turn tries again
            log.exception("%s failed; it runs again at its next turn", self.name)

    @property
    def running(self) -> asyncio.Future[None] | None:
        return self._running if self._running is not None and not self._running.done() else None


async def finish(jobs: list[Job], timeout_s: float) -> None:
    """Wait for the runs in progress (a stopping scheduler, its jobs asked to halt); a thread still busy after
    ``timeout_s`` is left to end with the process."""
    running: dict[asyncio.Future[None], str] = {}
    for job in jobs:
        if (future := job.running) is not None:
            running[future] = job.name
    if not running:
        return
    _done, pending = await asyncio.wait(running, timeout=timeout_s)
    for future in pending:
        log.warning("%s still runs; the scheduler stops without waiting for it", running[future])


class ClusterRechecks:
    """The automatic re-checks as the cluster runs them: cameras from the database, key frames sealed by request."""

    def __init__(self, components: Components, detector: OnnxDetector, seal: Seal, stop: threading.Event) -> None:
        self.components, self.detector, self.seal, self.stop = components, detector, seal, stop

    def run(self) -> None:
        model_registry.take_up_promoted(self.components, self._use, self.detector.manifest.sha256)
        saved = self.components.camera_configs.current()
        class_names = self.detector.class_names

        def camera_of(device_id: str) -> CameraSpec | None:
            config = saved.get(device_id)
            return None if config is None else camera_configs.spec_of(config, class_names)

        window_s = self.components.settings.recheck_window_s
        done = run_due_rechecks(self.components, self.detector, camera_of, window_s, self.seal, self.stop)
        if done:
            log.info("automatic re-checks: %d cases looked at, %d noted", len(done),
                     sum(1 for d in done if d.present is not None))  # fmt: skip

    def _use(self, detector: OnnxDetector) -> bool:
        log.info("automatic re-checks take up model %s", detector.manifest.sha256[:12])
        self.detector = detector
        return True


def scheduler_jobs(components: Components, detector: OnnxDetector, seal: Seal, stop: threading.Event) -> list[Job]:
    rechecks = ClusterRechecks(components, detector, seal, stop)
    packages = StoredPackages(evidence_backend(components.settings))
    orphans = SealedEvents(lambda: packages, components.detections, components.registry)

    def dispatch() -> None:
        notifications.dispatch(components.session_factory, components.channels, components.clock.now())

    return [
        Job("notification dispatch", DISPATCH_EVERY_S, dispatch),
        Job("automatic re-checks", components.settings.recheck_every_s, rechecks.run),
        Job("reconciling sealed packages with detections", RECONCILE_EVERY_S, orphans.run),
    ]


async def _leases(cluster: ClusterSettings, name: str, connection: Client) -> CameraLeases:
    """The leases (the role's among them), opened on the broker's connection."""
    leases = CameraLeases(connection.jetstream(), name, cluster.lease_s, cluster.prefix)
    await leases.open()
    return leases


async def run_scheduler(
    components: Components, cluster: ClusterSettings, name: str, stopping: asyncio.Event, detector: OnnxDetector
) -> None:
    opened = await open_with_broker(f"scheduler {name}", cluster.servers,
                                    lambda connection: _leases(cluster, name, connection), stopping)  # fmt: skip
    if opened is None:  # asked to stop before the broker answered
        return
    connection, leases = opened
    role = RoleHolder(leases, ROLE, name, "scheduling")
    requests = SealRequests(connection, evidence_backend(components.settings), f"scheduler {name}", cluster.prefix)
    halt = threading.Event()  # the jobs' threads: stop between two cases
    jobs = scheduler_jobs(components, detector, requests.sealer_for(asyncio.get_running_loop()), halt)
    log.info("scheduler %s: waiting for the role (lease %.0f s)", name, cluster.lease_s)
    try:
        while not stopping.is_set():
            try:
                held = await role.keep()
            except BrokerAway:
                await asyncio.sleep(1.0)
                continue
            if held:
                for job in jobs:
                    job.start_if_due()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), role.renew_every_s)
    finally:
        halt.set()
        await finish(jobs, JOBS_FINISH_S)
        await role.release()
        await connection.close()
        log.info("scheduler %s: stopped", name)
