"""Issue 16 with real processes: ``offsite worker`` and ``offsite sealer`` started as an operator starts them, on a
real nats-server and the test's database, the camera saved in the database watching a generated street video with
the shipped model. Every true violation of the video becomes one sealed package and one detection; the evidence
log verifies. With the broker stopped while the worker raises its events, they wait in the worker's outbox and are
sealed once the broker is back. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cases.persistence import tables
from offsite.bootstrap import Components
from offsite.evidence import open_evidence
from offsite.settings import Settings
from tests.integration.cluster import Roles, configure_road, detections
from tests.integration.test_cluster_events import published, stored_events
from tests.integration.test_serve_cameras import until
from tests.integration.world import World
from tests.support.nats_server import NatsServer


@pytest.fixture
def road(components: Components) -> int:
    return configure_road(components)


def test_a_worker_and_a_sealer_turn_each_true_violation_into_one_sealed_detection(
    components: Components, settings: Settings, road: int, roles: Roles
) -> None:
    assert road >= 1
    roles.start("sealer", "s1")
    roles.start("worker", "w1")
    assert until(lambda: len(detections(components)) >= road, 180), roles.log("w1")[-3000:] + roles.log("s1")[-2000:]
    time.sleep(3)  # nothing more comes
    assert roles.stop("w1") == 0
    assert roles.stop("s1") == 0
    found = detections(components)
    assert len(found) == road
    assert len({package for _event, package in found}) == road
    store = open_evidence(settings, read_only=True)
    assert all(store.verify(package).ok for _event, package in found)
    assert store.log_report().ok
    assert "taken under epoch 1" in roles.log("w1")


def test_events_raised_while_the_broker_is_down_wait_in_the_outbox_and_are_sealed_when_it_is_back(
    components: Components, settings: Settings, road: int, roles: Roles, nats_server: NatsServer, tmp_path: Path
) -> None:
    roles.env["OFFSITE_LEASE_S"] = "60"  # a lease outlasting the outage: the camera runs on meanwhile
    roles.start("sealer", "s1")
    worker = roles.start("worker", "w1")
    assert until(lambda: "taken under epoch" in roles.log("w1"), 60), roles.log("w1")[-3000:]
    nats_server.stop()  # the broker goes away while the camera runs
    outbox = settings.evidence_dir.parent / "work" / "w1" / "outbox"
    assert until(lambda: any(outbox.glob("*.json")), 180), roles.log("w1")[-3000:]
    assert detections(components) == []
    nats_server.start()  # back on the same port and storage
    assert until(lambda: len(detections(components)) >= road, 120), roles.log("w1")[-3000:] + roles.log("s1")[-3000:]
    assert until(lambda: not any(outbox.glob("*.json")), 30)
    assert worker.poll() is None  # the worker rode it out
    roles.stop_all()
    with components.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(tables.detections)).scalar_one() == road


@pytest.mark.usefixtures("components")  # an emptied database: no release left by an earlier test in this worker
def test_roles_started_while_the_broker_is_away_wait_for_it_and_take_up_their_work_when_it_is_back(
    nats_server: NatsServer, roles: Roles
) -> None:
    """The broker is down (or restarting) as the roles start: each says it waits for it and stays up; when it is
    back, the sealer and the scheduler take their roles and the worker takes cameras. None of them needs a restart."""
    nats_server.stop()
    for role, name in (("sealer", "s1"), ("scheduler", "c1"), ("worker", "w1")):
        roles.start(role, name)
    assert until(lambda: all("waiting for the broker" in roles.log(n) for n in ("s1", "c1", "w1")), 60), [
        roles.log(n)[-2000:] for n in ("s1", "c1", "w1")
    ]
    assert all(process.poll() is None for process in roles.running.values())
    nats_server.start()
    assert until(lambda: "sealing (role taken under epoch" in roles.log("s1"), 60), roles.log("s1")[-3000:]
    assert until(lambda: "scheduling (role taken under epoch" in roles.log("c1"), 60), roles.log("c1")[-3000:]
    assert until(lambda: "taking cameras" in roles.log("w1"), 60), roles.log("w1")[-3000:]
    assert [roles.stop(name) for name in ("w1", "c1", "s1")] == [0, 0, 0]


def test_a_sealer_killed_mid_stream_loses_nothing_and_seals_nothing_twice(
    components: Components, world: World, settings: Settings, roles: Roles, nats_server: NatsServer, tmp_path: Path
) -> None:
    """Forty events in the stream, each with its items stored by hash; the sealer is killed with SIGKILL while it
    works through them and started again."""
    made = stored_events(components, world, settings, tmp_path / "items", 40)
    asyncio.run(published(nats_server.url, made))
    roles.start("sealer", "s1")
    assert until(lambda: len(detections(components)) >= 8, 60), roles.log("s1")[-3000:]
    assert roles.stop("s1", signal.SIGKILL) == -signal.SIGKILL  # mid-stream, whatever it was doing
    killed_at = len(detections(components))
    assert killed_at < len(made)
    roles.start("sealer", "s2")  # the role's lease of the killed one runs out; the new one takes it and goes on
    assert until(lambda: len(detections(components)) == len(made), 90), roles.log("s2")[-3000:]
    time.sleep(2)
    roles.stop("s2")
    found = detections(components)
    assert sorted(found) == sorted((event.event_id, event.evidence_package_id) for event, _ in made)  # each once
    store = open_evidence(settings, read_only=True)
    assert store.log.size == len(made)  # nothing sealed twice
    assert store.log_report().ok
    assert all(store.verify(package).ok for _event, package in found)
