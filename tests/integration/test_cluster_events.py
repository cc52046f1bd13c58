"""Issue 16: a camera worker's events reach the sealer through NATS JetStream, on a real nats-server. The worker's
pipeline stores its evidence items by hash and sends the manifest with the event; the sealer seals each package
once and records each detection once — a duplicate publish is dropped by the stream, a redelivery after a crash
seals nothing twice — and fences off the late events of a worker whose camera was taken over. On SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import nats
import pytest
from sqlalchemy import select

from cases.persistence import tables
from evidence_store.store import ItemIn, package_id_of, package_manifest, store_item
from offsite.bootstrap import Components
from offsite.cameras import build_runner
from offsite.cluster.events import EventMessage, EventSealer, EventsStream, StoringSealer
from offsite.cluster.leases import CameraLeases
from offsite.cluster.sealer import run_sealer
from offsite.cluster.worker import ClusterSettings
from offsite.evidence import evidence_backend
from offsite.settings import Settings
from tests.conftest import SHANGHAI
from tests.integration.test_camera_pipeline import SealedOracle, registered_stall_camera
from tests.integration.world import World
from tests.support.nats_server import NatsServer
from tests.unit.evidence.test_store import open_store
from tests.unit.vision.test_pipeline import Clocked
from vision.events import SubjectKind, SubjectRef, ViolationEvent
from vision.synthetic import VideoSpec, render_video


@pytest.fixture(scope="module")
def stall_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    video = tmp_path_factory.mktemp("cluster") / "stall.mp4"
    render_video(VideoSpec(out=video, scenario="stall", seconds=60, width=480, height=270, seed=31))
    return video


def worker_events(components: Components, video: Path, tmp_path: Path) -> list[tuple[ViolationEvent, dict[str, Any]]]:
    """cam-1's pipeline run as a worker runs it: items stored by hash in the shared backend, nothing sealed; the
    events it raised, each with its package's manifest."""
    sidecar = json.loads(video.with_suffix(".json").read_text())
    start = components.clock.now() - dt.timedelta(hours=1)
    oracle = SealedOracle(video, origin=start)
    spec = registered_stall_camera(sidecar, video, start)
    storing = StoringSealer(oracle.manifest.name, oracle.manifest.sha256, {"cam-1": "r" * 64},
                            backend=evidence_backend(components.settings))  # fmt: skip
    events: list[tuple[ViolationEvent, dict[str, Any]]] = []
    runner = build_runner([spec], oracle, open_store(tmp_path / "unused"),  # type: ignore[arg-type]
                          lambda event, _: events.append((event, storing.take(event.evidence_package_id))),
                          tmp_path / "work", caption_tz=SHANGHAI)  # fmt: skip
    pipeline = runner.pipelines["cam-1"]
    pipeline.sealer = storing
    pipeline.source = Clocked(pipeline.source, oracle)
    runner.start()
    assert runner.wait(120)
    assert pipeline.metrics.failed is None
    return events


async def connected(nats_server: NatsServer) -> tuple[Any, EventsStream, CameraLeases]:
    connection = await nats.connect(nats_server.url)
    stream = EventsStream(connection.jetstream(), prefix="t")
    leases = CameraLeases(connection.jetstream(), "sealer-1", lease_s=2.0, prefix="t")
    await stream.open()
    await leases.open()
    return connection, stream, leases


def test_a_worker_s_events_are_sealed_once_and_recorded_once_by_the_sealer(
    components: Components, world: World, stall_video: Path, nats_server: NatsServer, tmp_path: Path
) -> None:
    made = worker_events(components, stall_video, tmp_path)
    assert [e.violation_code for e, _ in made] == ["street_stall"]
    assert not components.evidence().backend.exists(f"packages/{made[0][0].evidence_package_id}.json")  # not sealed

    async def body() -> tuple[Any, list[tuple[int, bool]]]:
        connection, stream, leases = await connected(nats_server)
        lease = await leases.acquire("cam-1", await stream.last_sequence())
        assert lease is not None
        published = []
        for event, manifest in made + made:  # the worker sends again after a reconnect: the same event id
            published.append(await stream.publish(EventMessage(event, manifest, lease.epoch, "w1")))
        sealer = EventSealer(components, stream, leases)
        await sealer.open()
        while await sealer.take(timeout_s=0.5):
            pass
        await connection.close()
        return sealer.outcome, published

    outcome, published = asyncio.run(body())
    assert [duplicate for _seq, duplicate in published] == [False, True]  # the stream dropped the second
    assert (outcome.sealed, outcome.already, outcome.fenced, outcome.refused) == (1, 0, 0, 0)
    event = made[0][0]
    store = components.evidence()
    assert store.verify(event.evidence_package_id).ok
    context = store.manifest(event.evidence_package_id)["context"]
    assert (context["event_id"], context["model"]["name"]) == (event.event_id, "oracle")
    assert recorded(components) == [(event.event_id, event.evidence_package_id)]


def test_a_message_sent_again_after_the_sealer_died_seals_nothing_twice(
    components: Components, world: World, stall_video: Path, nats_server: NatsServer, tmp_path: Path
) -> None:
    (event, manifest), *_ = worker_events(components, stall_video, tmp_path)

    async def body() -> Any:
        connection, stream, leases = await connected(nats_server)
        lease = await leases.acquire("cam-1", 0)
        assert lease is not None
        message = EventMessage(event, manifest, lease.epoch, "w1")
        await stream.publish(message)
        sealer = EventSealer(components, stream, leases)
        sealer._seal_and_record(message)  # sealed and recorded, then the sealer died before its acknowledgement
        entries = components.evidence().log.size
        await sealer.open()
        assert await sealer.take(timeout_s=0.5) == 1  # so the stream sends the message again
        await connection.close()
        assert components.evidence().log.size == entries  # nothing appended the second time
        return sealer.outcome

    outcome = asyncio.run(body())
    assert (outcome.sealed, outcome.already) == (0, 1)
    assert recorded(components) == [(event.event_id, event.evidence_package_id)]


def recorded(components: Components) -> list[tuple[str, str]]:
    """Every detection's event id and package."""
    query = select(tables.detections.c.event_id, tables.detections.c.evidence_package_id)
    with components.engine.connect() as connection:
        return [(r.event_id, r.evidence_package_id) for r in connection.execute(query)]


def test_a_late_event_of_a_worker_whose_camera_was_taken_over_is_fenced_off(
    components: Components, world: World, stall_video: Path, nats_server: NatsServer, tmp_path: Path
) -> None:
    (event, manifest), *_ = worker_events(components, stall_video, tmp_path)
    late = ViolationEvent(**{**event.__dict__, "event_id": event.event_id + "-late"})

    async def body() -> Any:
        connection, stream, leases = await connected(nats_server)
        other = CameraLeases(connection.jetstream(), "w2", lease_s=2.0, prefix="t")
        await other.open()
        old = await leases.acquire("cam-1", await stream.last_sequence())
        assert old is not None
        await stream.publish(EventMessage(event, manifest, old.epoch, "w1"))  # in time
        await leases.release(old)  # w1 is cut off; w2 takes the camera over
        new = await other.acquire("cam-1", await stream.last_sequence())
        assert new is not None
        assert new.epoch == old.epoch + 1
        await stream.publish(EventMessage(late, manifest, old.epoch, "w1"))  # w1's late event, after the takeover
        sealer = EventSealer(components, stream, leases)
        await sealer.open()
        while await sealer.take(timeout_s=0.5):
            pass
        await connection.close()
        return sealer.outcome

    outcome = asyncio.run(body())
    assert (outcome.sealed, outcome.fenced) == (1, 1)
    assert recorded(components) == [(event.event_id, event.evidence_package_id)]  # in time; not the late one


def test_a_manifest_whose_items_were_never_stored_is_refused_and_nothing_is_sealed(
    components: Components, world: World, stall_video: Path, nats_server: NatsServer, tmp_path: Path
) -> None:
    (event, manifest), *_ = worker_events(components, stall_video, tmp_path)
    forged = manifest | {"items": [manifest["items"][0] | {"sha256": "f" * 64}]}

    async def body() -> Any:
        connection, stream, leases = await connected(nats_server)
        lease = await leases.acquire("cam-1", 0)
        assert lease is not None
        await stream.publish(EventMessage(event, forged, lease.epoch, "w1"))
        sealer = EventSealer(components, stream, leases)
        await sealer.open()
        await sealer.take(timeout_s=0.5)
        await connection.close()
        return sealer.outcome

    outcome = asyncio.run(body())
    assert (outcome.sealed, outcome.refused) == (0, 0)  # not refused for good: the items may still be on their way
    assert recorded(components) == []
    assert not components.evidence().backend.exists(f"packages/{event.evidence_package_id}.json")


def test_an_event_whose_detection_the_case_system_refuses_is_sealed_refused_once_and_not_sent_again(
    components: Components, world: World, nats_server: NatsServer, settings: Settings, tmp_path: Path
) -> None:
    """The worker's event reuses an event id the case system holds for another occurrence (a camera whose counter
    was reset, say): the case system refuses it, and will every time. Its evidence is sealed and kept for the
    reconciliation of sealed packages to report; the message is refused once, not sent back every two seconds for
    ever."""
    ((event, manifest),) = stored_events(components, world, settings, tmp_path / "items", 1)
    other = dataclasses.replace(world.event(), event_id=event.event_id)  # the same id, another occurrence
    components.detections.intake(other, components.registry)

    async def body() -> tuple[Any, int]:
        connection, stream, leases = await connected(nats_server)
        lease = await leases.acquire("cam-1", 0)
        assert lease is not None
        await stream.publish(EventMessage(event, manifest, lease.epoch, "w1"))
        sealer = EventSealer(components, stream, leases)
        await sealer.open()
        assert await sealer.take(timeout_s=0.5) == 1
        again = await sealer.take(timeout_s=3.0)  # past the two seconds a message the sealer gives back waits
        await connection.close()
        return sealer.outcome, again

    outcome, again = asyncio.run(body())
    assert (outcome.sealed, outcome.already, outcome.refused, again) == (0, 0, 1, 0)
    assert components.evidence().verify(event.evidence_package_id).ok  # the evidence is kept
    assert recorded(components) == [(other.event_id, other.evidence_package_id)]


def stored_events(
    components: Components, world: World, settings: Settings, folder: Path, count: int
) -> list[tuple[ViolationEvent, dict[str, Any]]]:
    """``count`` stall events of cam-1, a minute apart, each with its key frame stored by hash in the shared backend
    and its package's manifest, as a worker sends them: nothing sealed yet."""
    backend = evidence_backend(settings)
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for n in range(count):
        picture = folder / f"{n}.jpg"
        picture.write_bytes(b"\xff\xd8 key frame " + str(n).encode() * 2000)
        event_id = f"evt-{n}"
        manifest = package_manifest([store_item(backend, ItemIn("first.jpg", "image/jpeg", picture))],
                                    {"event_id": event_id, "n": n})  # fmt: skip
        first_seen = components.clock.now() - dt.timedelta(hours=2, minutes=-n)
        event = ViolationEvent(event_id, "cam-1", world.zones["road"].code, "stall-dwell", "street_stall",
                               SubjectRef(SubjectKind.UNKNOWN), first_seen, first_seen + dt.timedelta(minutes=5),
                               package_id_of(manifest))  # fmt: skip
        made.append((event, manifest))
    return made


async def published(nats_url: str, made: list[tuple[ViolationEvent, dict[str, Any]]]) -> None:
    """The events sent to the stream by worker w1, under its lease of cam-1."""
    connection = await nats.connect(nats_url)
    stream = EventsStream(connection.jetstream(), prefix="t")
    leases = CameraLeases(connection.jetstream(), "w1", lease_s=60, prefix="t")
    await stream.open()
    await leases.open()
    lease = await leases.acquire("cam-1", await stream.last_sequence())
    assert lease is not None
    for event, manifest in made:
        await stream.publish(EventMessage(event, manifest, lease.epoch, "w1"))
    await connection.close()


def test_a_sealer_whose_seals_are_slow_keeps_its_role_through_a_long_batch(
    components: Components, world: World, settings: Settings, nats_server: NatsServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The evidence store answers slowly (a quarter of a second a seal, as a loaded database or object store may): a
    batch of sixteen messages takes twice the role's two-second lease. The sealer renews its role between two
    seals, so it keeps the role and seals every event, rather than stopping halfway as if another sealer had taken
    over (what CI saw of a sealer on a loaded machine)."""
    made = stored_events(components, world, settings, tmp_path / "items", 24)
    asyncio.run(published(nats_server.url, made))
    seal = EventSealer._seal_and_record

    def seal_slowly(sealer: EventSealer, message: EventMessage) -> Any:
        time.sleep(0.25)
        return seal(sealer, message)

    monkeypatch.setattr(EventSealer, "_seal_and_record", seal_slowly)
    asyncio.run(sealed_by_one_sealer(components, nats_server.url, len(made)))
    assert sorted(recorded(components)) == sorted((e.event_id, e.evidence_package_id) for e, _ in made)


def test_a_sealer_whose_opening_outlasts_its_lease_keeps_its_role(
    components: Components, world: World, settings: Settings, nats_server: NatsServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Opening the evidence store is slow on a loaded machine: three seconds, more than the role's two-second lease,
    between taking the role and the first message. The sealer keeps the role meanwhile
    and seals every event, rather than stopping as if another sealer had taken over."""
    made = stored_events(components, world, settings, tmp_path / "items", 4)
    asyncio.run(published(nats_server.url, made))
    opened, slow = Components.evidence, [3.0]  # the first opening only: the seals after it use the open store

    def open_slowly(parts: Components) -> Any:
        time.sleep(slow.pop() if slow else 0.0)
        return opened(parts)

    monkeypatch.setattr(Components, "evidence", open_slowly)
    asyncio.run(sealed_by_one_sealer(components, nats_server.url, len(made)))
    assert sorted(recorded(components)) == sorted((e.event_id, e.evidence_package_id) for e, _ in made)


async def sealed_by_one_sealer(components: Components, nats_url: str, events: int) -> None:
    """``run_sealer`` with a two-second lease until it has recorded ``events`` detections (a minute at most), then
    stopped; what it raised, ``RoleLost`` above all, is raised here."""
    stopping = asyncio.Event()
    sealing = asyncio.create_task(run_sealer(components, ClusterSettings(nats_url, "t", 2.0), "s1", stopping))
    deadline = time.monotonic() + 60
    while len(recorded(components)) < events and not sealing.done() and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    stopping.set()
    await sealing
