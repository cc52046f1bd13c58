"""The cameras' states across a cluster (issue 16): what a worker tells of the cameras it holds, an API node's pages
read, on a real nats-server; a camera whose worker fell silent runs nowhere after three lease times."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import nats
import pytest

from cases.services.camera_configs import fingerprint
from offsite.camera_configs import document_of
from offsite.camera_states import CameraState
from offsite.cluster.camera_states import ClusterCameraStates, tell_states
from offsite.cluster.link import BrokerLink
from tests.integration.test_serve_cameras import until
from tests.support.nats_server import NatsServer
from vision.config import CameraSpec, camera_spec
from vision.pipeline import CameraMetrics
from vision.synthetic import CLASS_NAMES

LEASE_S = 0.5
SPEC = {"camera_id": "district.7:cam-1", "source": {"url": "push", "interval_s": 1.0},
        "zones": [{"id": "Z-1", "kind": "no_vending", "polygon": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]}],
        "rules": [{"id": "stall-1", "kind": "stall", "zones": ["Z-1"]}]}  # fmt: skip


@dataclass
class Running:
    """A worker's pipelines as ``tell_states`` reads them."""

    specs: dict[str, CameraSpec]
    waiting: set[str] = field(default_factory=set)
    counters: dict[str, CameraMetrics] = field(default_factory=dict)

    def metrics(self) -> dict[str, CameraMetrics]:
        return self.counters


@pytest.fixture
def link(nats_server: NatsServer) -> Iterator[BrokerLink]:
    opened = BrokerLink([nats_server.url], "test-api-node")
    yield opened
    opened.close()


def test_an_api_node_reads_what_the_worker_holding_a_camera_tells_until_it_falls_silent(
    link: BrokerLink, nats_server: NatsServer
) -> None:
    spec = camera_spec(SPEC, CLASS_NAMES, "test")
    running = Running({spec.camera_id: spec}, counters={spec.camera_id: CameraMetrics(frames_analysed=12, online=True)})
    states = ClusterCameraStates(link, "t", LEASE_S)
    assert states.state_of(spec.camera_id) is None  # nobody has told anything yet (and the node listens now)

    async def tell() -> None:
        connection = await nats.connect(nats_server.url)
        await tell_states(connection, "t", "w.1", running, [spec.camera_id])  # type: ignore[arg-type]
        await connection.flush()
        await connection.close()

    asyncio.run(tell())
    assert until(lambda: states.state_of(spec.camera_id) is not None, 5)
    told = states.state_of(spec.camera_id)
    assert told == CameraState(CameraMetrics(frames_analysed=12, online=True), False,
                               _fingerprint(spec), "w.1")  # fmt: skip
    time.sleep(3 * LEASE_S + 0.2)  # the worker said nothing more: it may be dead
    assert states.state_of(spec.camera_id) is None


def _fingerprint(spec: CameraSpec) -> str:
    return fingerprint(document_of(spec))


def test_a_state_round_trips_through_its_json_and_ignores_counters_it_does_not_know() -> None:
    state = CameraState(CameraMetrics(frames_in=3, failed="source ended"), True, "ab" * 32, "w1")
    assert CameraState.from_json(state.as_json()) == state
    newer = state.as_json()
    newer["metrics"]["frames_from_the_future"] = 7  # a worker of a newer release
    assert CameraState.from_json(newer) == state
