"""Frames pushed to an API node of a cluster reach the worker that holds the camera, through a real nats-server
(issue 16): the gateway gets the answers a local pipeline gives (accepted with its seq, 429 with Retry-After,
the frame's problem, 409 with no pipeline), and 503 with Retry-After while the broker is down. On SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import nats
import pytest
from fastapi.testclient import TestClient

from offsite.bootstrap import Components, web_app
from offsite.cluster.frames import REPLY_TIMEOUT_S, CameraInbox, RelayedFrames, _outcome, subject_token
from offsite.cluster.link import BrokerLink
from tests.integration.conftest import problem_of
from tests.integration.test_gateway_frames import jpeg, push_frame
from tests.integration.test_serve_cameras import until
from tests.integration.world import World
from tests.support.nats_server import NatsServer
from vision.pushed import FrameIntake, FrameQueueFull, FramesUnreachable, NoPipeline, PushedFrameError

PREFIX = "t"
T = TypeVar("T")


@dataclass
class Worker:
    """What a worker holding cameras does with relayed frames: its own intake, its inbox on its own loop."""

    url: str
    intake: FrameIntake = field(default_factory=FrameIntake)
    streams_changed: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.connection = self._run(nats.connect(self.url))
        self.inbox = CameraInbox(self.connection, PREFIX, self.intake, self.streams_changed.append)

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(10)

    def hold(self, camera_id: str) -> None:
        self._run(self.inbox.listen(camera_id))

    def give_up(self, camera_id: str) -> None:
        self._run(self.inbox.stop(camera_id))

    def close(self) -> None:
        self._run(self.connection.close())
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture
def worker(nats_server: NatsServer) -> Iterator[Worker]:
    held = Worker(nats_server.url)
    yield held
    held.close()


@pytest.fixture
def relay(nats_server: NatsServer) -> Iterator[RelayedFrames]:
    """An API node's relay that waits long for a worker's answer: these tests check what the answers are, on a
    machine that other tests load (a stuck worker, within the product's 5 s, is the test of its own below)."""
    link = BrokerLink([nats_server.url], "test-api-node")
    yield RelayedFrames(link, PREFIX, reply_timeout_s=60)
    link.close()


def test_a_camera_id_is_one_subject_token() -> None:
    assert subject_token("district.7:cam-1") == "district~7=cam-1"


def test_a_relayed_frame_problem_is_raised_again_with_its_key_or_undecodable_when_this_node_cannot_tell_it() -> None:
    known = {"refused": "bad_frame", "key": "too_many_bytes", "problem": "is too big", "too_large": True,
             "params": {"size": 9, "limit": 8}}  # fmt: skip
    with pytest.raises(PushedFrameError) as told:
        _outcome("cam-1", known)
    assert (told.value.key, told.value.params, told.value.too_large) == (
        "too_many_bytes",
        {"size": 9, "limit": 8},
        True,
    )
    unknown = {"refused": "bad_frame", "key": "from_a_newer_worker", "problem": "is odd", "params": {"x": 1}}
    with pytest.raises(PushedFrameError) as untold:
        _outcome("cam-1", unknown)
    assert (untold.value.key, untold.value.params) == ("undecodable", {})


def test_a_relayed_frame_is_taken_by_the_holder_s_intake_with_the_answers_a_local_intake_gives(
    worker: Worker, relay: RelayedFrames, components: Components
) -> None:
    camera = "district.7:cam-1"
    source = worker.intake.open(camera, capacity=2)
    worker.hold(camera)
    now = components.clock.now()
    with pytest.raises(PushedFrameError) as bad:
        relay.push(camera, b"not a picture", now)
    assert bad.value.key == "not_jpeg"
    assert not bad.value.too_large
    assert relay.push(camera, jpeg(64, 48), now) == 0
    assert relay.push(camera, jpeg(32, 24), now) == 1
    with pytest.raises(FrameQueueFull) as full:
        relay.push(camera, jpeg(), now)
    assert full.value.capacity == 2
    assert full.value.retry_after_s > 0
    source.close()
    assert [(f.seq, f.size, f.ts) for f in source.frames()] == [(0, (64, 48), now), (1, (32, 24), now)]
    with pytest.raises(NoPipeline):  # the holder's pipeline closed its frames
        relay.push(camera, jpeg(), now)
    with pytest.raises(NoPipeline):  # no worker holds this camera
        relay.push("cam-elsewhere", jpeg(), now)
    relay.stream_changed(camera)  # fire and forget: the holder pulls the new address when the notice arrives
    assert until(lambda: worker.streams_changed == [camera], 5)
    worker.give_up(camera)
    with pytest.raises(NoPipeline):  # given up: the next holder listens
        relay.push(camera, jpeg(), now)


def test_a_frame_sent_just_after_its_worker_gave_the_camera_up_is_no_pipeline_at_once_never_lost(
    worker: Worker, nats_server: NatsServer, components: Components
) -> None:
    """A worker that gives a camera up has the server drop its subscriptions before it goes on: a frame that reached
    its connection after that would be discarded unanswered, and the gateway would wait out the reply timeout."""
    link = BrokerLink([nats_server.url], "test-api-node")
    relay = RelayedFrames(link, PREFIX)  # the product's reply timeout: an unanswered frame fails the test
    try:
        now = components.clock.now()
        for turn in range(20):
            source = worker.intake.open("cam-1", capacity=1)
            worker.hold("cam-1")
            assert relay.push("cam-1", jpeg(), now) == 0  # a new source each turn
            worker.give_up("cam-1")
            with pytest.raises(NoPipeline):
                relay.push("cam-1", jpeg(), now)
            source.close()
            assert [frame.seq for frame in source.frames()] == [0], f"turn {turn}"
    finally:
        link.close()


class StuckIntake(FrameIntake):
    """A worker's intake that hangs on every frame until it is let go (a worker stuck in its own work)."""

    def __init__(self) -> None:
        super().__init__()
        self.let_go = threading.Event()

    def push(self, camera_id: str, jpeg: bytes, ts: dt.datetime) -> int:
        self.let_go.wait(30)
        return super().push(camera_id, jpeg, ts)


def test_a_worker_that_does_not_answer_in_time_is_unreachable_and_its_late_answer_is_dropped(
    nats_server: NatsServer,
) -> None:
    stuck = StuckIntake()
    worker = Worker(nats_server.url, intake=stuck)
    link = BrokerLink([nats_server.url], "test-api-node")
    try:
        source = stuck.open("cam-1", capacity=4)
        worker.hold("cam-1")
        relay = RelayedFrames(link, PREFIX, reply_timeout_s=0.5)
        with pytest.raises(FramesUnreachable) as unreachable:
            relay.push("cam-1", jpeg(), dt.datetime.now(dt.UTC))
        assert "did not answer in time" in str(unreachable.value)
        stuck.let_go.set()  # the worker takes the frame late; its answer finds nobody waiting and is dropped
        assert until(lambda: source.queued == 1, 5)
        assert relay.push("cam-1", jpeg(), dt.datetime.now(dt.UTC)) == 1  # and the next frame is answered
    finally:
        stuck.let_go.set()
        link.close()
        worker.close()


def test_a_frame_while_the_broker_is_down_is_unreachable_and_the_next_one_after_it_is_back_is_taken(
    worker: Worker, relay: RelayedFrames, nats_server: NatsServer, components: Components
) -> None:
    relay.reply_timeout_s = REPLY_TIMEOUT_S  # a request lost while the clients reconnect is given up as in service
    source = worker.intake.open("cam-1", capacity=4)
    worker.hold("cam-1")
    now = components.clock.now()
    assert relay.push("cam-1", jpeg(), now) == 0
    nats_server.stop()
    with pytest.raises(FramesUnreachable):
        relay.push("cam-1", jpeg(), now)
    nats_server.start()
    for _ in range(100):  # both clients reconnect on their own, and the worker's subscription is restored
        try:
            assert relay.push("cam-1", jpeg(), now) == 1
            break
        except (FramesUnreachable, NoPipeline):
            threading.Event().wait(0.1)
    else:
        pytest.fail("the relay did not carry frames again after the broker came back")
    assert source.queued == 2


def test_a_gateway_pushing_to_an_api_node_of_a_cluster_gets_the_workers_answers(
    world: World, worker: Worker, relay: RelayedFrames, nats_server: NatsServer
) -> None:
    components = world.components
    source = worker.intake.open("cam-1", capacity=1)
    worker.hold("cam-1")
    with TestClient(web_app(components, relay), headers={"Accept-Language": "zh-CN"}) as client:
        accepted = push_frame(client, components, jpeg(64, 48))
        assert accepted.status_code == 202, accepted.text
        assert accepted.json() == {"camera_id": "cam-1", "seq": 0}
        assert components.frames.get("cam-1") is None  # the API node runs no pipeline: the worker took it
        assert source.queued == 1
        full = push_frame(client, components, jpeg())
        assert full.status_code == 429
        assert int(full.headers["Retry-After"]) >= 1
        nats_server.stop()
        down = push_frame(client, components, jpeg())
        assert down.status_code == 503, down.text
        assert problem_of(down)["code"] == "frames_unreachable"
        assert "摄像头 'cam-1' 的检测流程在另一台服务器上，当前无法连接" in problem_of(down)["detail"]
        assert int(down.headers["Retry-After"]) >= 1
    assert source.queued == 1
