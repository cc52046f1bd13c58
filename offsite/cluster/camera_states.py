"""The cameras' states across a cluster, for the command centre's pages on any API node (issue 16).

At every tick (a third of the lease time) each worker tells the states of the cameras it holds, in one message on
``<prefix>.camera-states.<worker>``: for each camera, its counters, whether it waits for its gateway, and the
fingerprint of the configuration it runs. Each API node listens (``ClusterCameraStates``) and keeps, per camera,
the latest it heard, timed by its own clock. A camera moves between workers at a failover; the last word heard wins.
A camera not heard of for three lease times runs nowhere, as far as the pages can tell.

This is core NATS, not JetStream. A state is only worth its latest value, and a node that starts hears every camera
within one tick, so nothing needs to be kept.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg

from offsite.camera_states import CameraState, state_of_pipeline
from offsite.cluster.frames import subject_token
from offsite.cluster.link import BrokerLink, BrokerUnreachable
from offsite.parts import RunningCameras

log = logging.getLogger("offsite.cluster.camera_states")
SILENT_LEASES = 3  # how many lease times a camera may go unheard of before it runs nowhere


def states_subject(prefix: str, worker_id: str) -> str:
    return f"{prefix}.camera-states.{subject_token(worker_id)}"


async def tell_states(
    connection: Client, prefix: str, worker_id: str, running: RunningCameras, held: Iterable[str]
) -> None:
    """A worker's word on the cameras it holds (at each tick)."""
    cameras = {}
    for camera in held:
        state = state_of_pipeline(running, camera, worker_id)
        if state is not None:
            cameras[camera] = state.as_json()
    message = {"worker": worker_id, "cameras": cameras}
    await connection.publish(states_subject(prefix, worker_id), json.dumps(message).encode())


class ClusterCameraStates:
    """``CameraStates`` for an API node of a cluster: the latest each worker told of its cameras."""

    def __init__(self, link: BrokerLink, prefix: str, lease_s: float) -> None:
        self.link, self.prefix, self.silent_s = link, prefix, SILENT_LEASES * lease_s
        self._heard: dict[str, tuple[float, CameraState]] = {}
        self._lock = threading.Lock()
        self._listening = False

    def state_of(self, camera_id: str) -> CameraState | None:
        self._listen()
        with self._lock:
            heard = self._heard.get(camera_id)
        if heard is None or time.time() - heard[0] > self.silent_s:
            return None
        return heard[1]

    def _listen(self) -> None:
        """Subscribe on first use (the node's link opens then); a broker away now is tried again at the next look."""
        with self._lock:
            if self._listening:
                return
            self._listening = True
        try:
            connection = self.link.connection()
            self.link.run(connection.subscribe(f"{self.prefix}.camera-states.*", cb=self._heard_of), 5.0)
        except (BrokerUnreachable, TimeoutError) as exc:
            log.warning("the cameras' states cannot be heard now: %s", exc)
            with self._lock:
                self._listening = False

    async def _heard_of(self, message: Msg) -> None:
        heard_at = time.time()  # this node's clock: the workers' clocks may differ from it and from each other
        try:
            told: dict[str, Any] = json.loads(message.data)
            states = {camera: CameraState.from_json(state) for camera, state in told["cameras"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("a camera-states message that cannot be read was ignored: %s", exc)
            return
        with self._lock:
            for camera, state in states.items():
                self._heard[camera] = (heard_at, state)
