"""What each camera's pipeline is doing, as the command centre's pages read it, wherever the pipeline runs.

A page (the camera wall, a camera's page) asks ``state_of(camera)``: is a pipeline running it, which configuration it
runs (by the configuration's fingerprint), whether it waits for its gateway, its counters, and where it runs.
- In one process (``offsite serve --cameras``) the answer comes from this process's camera supervisor
  (``LocalCameraStates``).
- In a cluster, each worker tells its cameras' states on the broker at every tick (a third of the lease time), and
  each API node keeps the latest it heard (``offsite.cluster.camera_states``). A camera whose worker fell silent is
  shown as run nowhere after three lease times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from cases.services.camera_configs import fingerprint
from offsite.camera_configs import document_of
from offsite.parts import RunningCameras
from vision.pipeline import CameraMetrics


@dataclass(frozen=True)
class CameraState:
    metrics: CameraMetrics | None  # None: the pipeline has not reported yet
    waiting: bool  # a gateway-stream camera whose gateway has registered no address yet
    config_sha256: str | None  # the fingerprint of the configuration it runs
    runs_on: str | None = None  # the worker running it (None: this process)

    def as_json(self) -> dict[str, Any]:
        return {"metrics": None if self.metrics is None else asdict(self.metrics), "waiting": self.waiting,
                "config_sha256": self.config_sha256, "runs_on": self.runs_on}  # fmt: skip

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> CameraState:
        metrics = value.get("metrics")
        known = set(CameraMetrics.__dataclass_fields__)
        return cls(
            metrics=None if metrics is None else CameraMetrics(**{k: v for k, v in metrics.items() if k in known}),
            waiting=bool(value.get("waiting")),
            config_sha256=value.get("config_sha256"),
            runs_on=value.get("runs_on"),
        )


class CameraStates(Protocol):
    def state_of(self, camera_id: str) -> CameraState | None:
        """The camera's pipeline's state; None when no pipeline runs it (here, or anywhere the cluster knows)."""
        ...


def state_of_pipeline(running: RunningCameras, camera_id: str, runs_on: str | None = None) -> CameraState | None:
    """A camera's state as a process running its pipeline knows it."""
    spec = running.specs.get(camera_id)
    if spec is None:
        return None
    sha256 = fingerprint(document_of(spec))
    return CameraState(running.metrics().get(camera_id), camera_id in running.waiting, sha256, runs_on)


class LocalCameraStates:
    """The states of the cameras this process runs (none when it runs none)."""

    def __init__(self, running: Callable[[], RunningCameras | None]) -> None:
        self.running = running

    def state_of(self, camera_id: str) -> CameraState | None:
        running = self.running()
        return None if running is None else state_of_pipeline(running, camera_id)
