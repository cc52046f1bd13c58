"""Issue 16: ``offsite scheduler``, the cluster's periodic work, with real processes on a real nats-server and the
test's database. One scheduler holds the role at a time and another takes over within the lease time when it is
killed. A case past its rectification deadline is re-checked once on the camera saved in the database, and its key
frames are sealed by the sealer, the evidence log's single writer, which the scheduler asks by request: the scheduler
never opens the log. On SQLite and PostgreSQL; the seal request's idempotence on the broker alone."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest

from cases.model.staff import Role
from cases.services.base import Actor
from evidence_store.backends import LocalBackend
from evidence_store.keys import KeyRing
from evidence_store.store import EvidenceStore, ItemIn, ItemsMissing, package_id_of, package_manifest, store_item
from offsite import camera_configs
from offsite.bootstrap import Components
from offsite.cluster.leases import CameraLeases
from offsite.cluster.scheduler import Job, finish
from offsite.cluster.sealing import SealAnswers, SealRequests, SealUnavailable
from offsite.evidence import open_evidence
from offsite.settings import SHIPPED_MODEL, Settings
from tests.integration.cluster import Roles
from tests.integration.test_automatic_recheck import noticed_stall, road_camera
from tests.integration.test_serve_cameras import until
from tests.integration.world import World
from tests.support.nats_server import NatsServer
from vision.detector import DetectorConfig, OnnxDetector

ADMIN = Actor("admin1", Role.ADMIN)
LEASE_S = 2  # Roles' lease


@pytest.fixture
def roles(settings: Settings, nats_server: NatsServer, tmp_path: Path) -> Iterator[Roles]:
    started = Roles(settings, nats_server, tmp_path, LEASE_S)
    yield started
    started.stop_all()


@pytest.fixture(scope="module")
def detector() -> OnnxDetector:
    return OnnxDetector(DetectorConfig(SHIPPED_MODEL, threads=1))


def role_holder(nats_server: NatsServer, role: str) -> str | None:
    """Who holds ``role`` now, as the leases bucket says."""

    async def look() -> str | None:
        connection = await nats.connect(nats_server.url)
        try:
            leases = CameraLeases(connection.jetstream(), "test", LEASE_S, prefix="t")
            await leases.open()
            held = await leases.holder(f"role:{role}")
            return None if held is None else held.worker
        finally:
            await connection.close()

    return asyncio.run(look())


def test_one_scheduler_works_at_a_time_and_the_other_takes_over_within_the_lease_when_it_is_killed(
    components: Components, roles: Roles, nats_server: NatsServer
) -> None:
    roles.env["OFFSITE_RECHECK_EVERY_S"] = "1"
    roles.start("scheduler", "c1")
    roles.start("scheduler", "c2")
    assert until(lambda: all("waiting for the role" in roles.log(n) for n in ("c1", "c2")), 60), roles.log("c1")[-2000:]
    assert until(lambda: role_holder(nats_server, "scheduler") is not None, 10)
    time.sleep(1)  # both have asked for the role (every third of the lease)
    holder = role_holder(nats_server, "scheduler")
    assert holder in ("c1", "c2")
    other = "c2" if holder == "c1" else "c1"
    assert "scheduling (role taken under epoch 1)" in roles.log(holder)
    assert "role taken" not in roles.log(other)  # exactly one holds it
    assert roles.stop(holder, signal.SIGKILL) == -signal.SIGKILL
    killed = time.monotonic()
    assert until(lambda: "scheduling (role taken under epoch 2)" in roles.log(other), LEASE_S + 5), roles.log(other)
    assert time.monotonic() - killed <= LEASE_S + 5
    assert role_holder(nats_server, "scheduler") == other
    assert roles.stop(other) == 0
    assert role_holder(nats_server, "scheduler") is None  # a scheduler that stops gives the role up at once


def files_open_under(pid: int, folder: Path) -> list[str]:
    """The files a running process holds open under ``folder`` (Linux's /proc)."""
    opened = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith(str(folder)):
            opened.append(target)
    return opened


def let_the_sealer_write(components: Components) -> None:
    """Issuing the notice sealed its document with the test process's own store: close it, so that the sealer
    takes the log's lock."""
    if components._evidence is not None:
        components._evidence.close()
        components._evidence = None


def test_a_case_past_its_deadline_is_rechecked_once_by_the_scheduler_and_its_key_frames_sealed_by_the_sealer(
    world: World, components: Components, settings: Settings, roles: Roles, detector: OnnxDetector
) -> None:
    case = noticed_stall(world)  # on the test's clock, months before the processes' own
    assert case.id is not None
    assert case.rectification_deadline is not None
    assert case.rectification_deadline < dt.date.today()  # so the scheduler, on the real clock, finds it due
    spec = road_camera(detector)  # cam-1 watching a file where the stall stands in the zone
    components.camera_configs.save_all({"cam-1": camera_configs.document_of(spec)}, ADMIN, "re-check in a cluster",
                                       components.registry)  # fmt: skip
    let_the_sealer_write(components)
    sealed_before = open_evidence(settings, read_only=True).log.size  # the notice's document
    roles.env |= {"OFFSITE_RECHECK_EVERY_S": "1", "OFFSITE_RECHECK_WINDOW_S": "20"}  # a third of the minute: faster
    sealer = roles.start("sealer", "s1")
    scheduler = roles.start("scheduler", "c1")  # its re-check takes longer than the sealer takes to start
    assert until(lambda: components.cases.get(case.id or 0).automatic_recheck is not None, 120), (
        roles.log("c1")[-3000:] + roles.log("s1")[-2000:]
    )
    assert until(lambda: roles.log("c1").count("automatic re-checks: ") >= 1, 10)
    time.sleep(2)  # rounds go on every second: the case is not looked at again
    state = settings.evidence_dir / "state"
    assert files_open_under(scheduler.pid, state) == []  # the scheduler holds nothing of the log
    assert (state / "lock").read_text().split() == [str(sealer.pid)]  # the log's one writer is the sealer
    assert roles.stop("c1") == 0
    assert roles.stop("s1") == 0
    stored = components.cases.get(case.id)
    assert [event.action for event in stored.events].count("automatic_recheck") == 1
    noted = stored.automatic_recheck
    assert noted is not None
    assert noted["present"] is True
    assert noted["frames"] == ["recheck-1.jpg", "recheck-2.jpg", "recheck-3.jpg"]
    package = noted["frames_package_id"]
    assert f"package {package[:12]} sealed for scheduler c1" in roles.log("s1")
    store = open_evidence(settings, read_only=True)
    assert store.verify(package).ok
    assert store.manifest(package)["context"]["case_id"] == case.id
    assert store.log.size == sealed_before + 1  # the key frames, once
    assert store.log_report().ok
    assert "the evidence store" not in roles.log("c1")  # no StoreBusy: it never tried to open the log


async def first_answer(requests: SealRequests, manifest: dict[str, object]) -> str:
    """The first request to a sealer that has just begun to answer: a loaded broker may take a moment to route to
    its new subscription, as the scheduler's next round would ask again."""
    for _ in range(20):
        try:
            return await requests.seal_stored(manifest)
        except SealUnavailable:
            await asyncio.sleep(0.25)
    return await requests.seal_stored(manifest)


def test_the_same_manifest_asked_twice_is_one_package_sealed_once(nats_server: NatsServer, tmp_path: Path) -> None:
    """The request/reply between a requester and the sealer, on the broker alone: the same manifest asked twice is
    the same package, sealed once; with no sealer listening a request fails and seals nothing; a manifest whose
    items were never stored is refused as such."""
    backend = LocalBackend(tmp_path / "objects")
    store = EvidenceStore(backend, tmp_path / "state", KeyRing(tmp_path / "keys"))
    picture = tmp_path / "recheck-1.jpg"
    picture.write_bytes(b"\xff\xd8 a re-check's key frame " * 200)
    manifest = package_manifest([store_item(backend, ItemIn("recheck-1.jpg", "image/jpeg", picture))],
                                {"purpose": "automatic_recheck", "case_id": 1})  # fmt: skip
    unstored = package_manifest([{**manifest["items"][0], "sha256": "0" * 64}], {"purpose": "automatic_recheck"})
    answered: dict[str, object] = {}

    async def ask() -> None:
        requester, sealer = await nats.connect(nats_server.url), await nats.connect(nats_server.url)
        requests = SealRequests(requester, backend, "scheduler t", prefix="t", timeout_s=2)
        with pytest.raises(SealUnavailable):  # no sealer holds the role: nobody answers
            await requests.seal_stored(manifest)
        answers = SealAnswers(lambda: store, sealer, prefix="t")
        await answers.open()
        answered["first"] = await first_answer(requests, manifest)
        answered["again"] = await requests.seal_stored(manifest)
        with pytest.raises(ItemsMissing):
            await requests.seal_stored(unstored)
        seal = requests.sealer_for(asyncio.get_running_loop())  # as a scheduler's job seals, from its thread
        answered["from_a_thread"] = await asyncio.to_thread(seal, [ItemIn("recheck-1.jpg", "image/jpeg", picture)],
                                                            {"purpose": "automatic_recheck", "case_id": 2})  # fmt: skip
        await answers.close()
        await requester.close()
        await sealer.close()

    asyncio.run(ask())
    assert answered["first"] == answered["again"] == package_id_of(manifest)
    assert answered["from_a_thread"] != answered["first"]
    assert store.log.size == 2  # the first manifest once, the thread's once; the unstored one never
    assert all(store.verify(str(package)).ok for package in (answered["first"], answered["from_a_thread"]))
    store.close()


def test_a_job_that_fails_is_logged_and_runs_again_at_its_next_turn(caplog: pytest.LogCaptureFixture) -> None:
    turns: list[float] = []

    def failing() -> None:
        turns.append(time.monotonic())
        raise RuntimeError("the database is away")

    async def schedule() -> None:
        job = Job("a failing job", 0.05, failing)
        for _ in range(3):
            job.start_if_due()
            await asyncio.sleep(0.1)
        await finish([job], 1.0)

    asyncio.run(schedule())
    assert len(turns) == 3
    assert caplog.text.count("a failing job failed; it runs again at its next turn") == 3
