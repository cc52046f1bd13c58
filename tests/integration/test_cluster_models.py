"""Issue 15 in a cluster: `offsite worker` processes follow the model registry as `offsite serve --cameras` does. A
model promoted while a worker runs its camera is taken up by the camera's pipeline without a restart, a model put in
shadow mode runs beside it, and a rollback brings the old model back; a worker started on a model file of its own
stays on it. Real worker processes on a real nats-server, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

from cases.clock import ManualClock
from cases.model.staff import Role
from cases.services.base import Actor
from offsite import camera_configs, model_registry
from offsite.settings import Settings
from tests.integration.cluster import Roles
from tests.integration.test_cluster_api_node import PUSHED
from tests.integration.test_model_registry import variant
from tests.integration.test_serve_cameras import until
from tests.integration.world import World
from vision.synthetic import CLASS_NAMES

ADMIN = Actor("admin1", Role.ADMIN)


def running_camera(world: World, roles: Roles, *options: str) -> subprocess.Popen[bytes]:
    """Worker w1 (started with ``options``) holding a camera, looking at the registry every half second."""
    camera_configs.save_one(world.components, PUSHED, CLASS_NAMES, ADMIN, "网关推送画面")
    roles.env["OFFSITE_MODEL_POLL_S"] = "0.5"
    worker = roles.start("worker", "w1", *options)
    assert until(lambda: "camera cam-1 taken under epoch" in roles.log("w1"), 90), roles.log("w1")[-3000:]
    return worker


def test_a_worker_takes_up_a_promoted_model_a_shadow_and_a_rollback_without_a_restart(
    world: World,
    clock: ManualClock,
    settings: Settings,
    roles: Roles,
    tmp_path: Path,
) -> None:
    components = world.components
    worker = running_camera(world, roles)
    shipped = model_registry.active_release(components, ADMIN)  # the worker adopted the shipped model

    keen = variant(tmp_path / "made", "keen", 7)
    release, _created = model_registry.register(components, keen, ADMIN)
    components.releases.decide(release.sha256, ADMIN, True, {"test": "promoted as the gate would"})
    taken = f"cameras now use model keen ({release.sha256[:12]})"
    assert until(lambda: taken in roles.log("w1"), 30), roles.log("w1")[-3000:]

    shadowed, _ = model_registry.register(components, variant(tmp_path / "made", "wary", 8), ADMIN)
    clock.set(dt.datetime.now(dt.UTC))  # the worker reads its shadow period by the real clock
    components.releases.shadow(shadowed.sha256, ADMIN, hours=1)
    assert until(lambda: f"shadow model: {shadowed.sha256[:12]}" in roles.log("w1"), 30), roles.log("w1")[-3000:]

    components.releases.rollback(ADMIN)
    back = f"cameras now use model {shipped.name} ({shipped.sha256[:12]})"
    assert until(lambda: back in roles.log("w1"), 30), roles.log("w1")[-3000:]
    assert worker.poll() is None  # the same process throughout: nothing was restarted
    assert roles.log("w1").count("camera cam-1 taken under epoch") == 1  # nor the camera
    assert roles.stop("w1") == 0


def test_a_worker_started_on_a_model_file_stays_on_it(
    world: World,
    settings: Settings,
    roles: Roles,
    tmp_path: Path,
) -> None:
    components = world.components
    worker = running_camera(world, roles, "--model", str(variant(tmp_path / "made", "pinned", 9)))
    release, _created = model_registry.register(components, variant(tmp_path / "made", "keen", 7), ADMIN)
    components.releases.decide(release.sha256, ADMIN, True, {"test": "promoted as the gate would"})
    assert model_registry.active_release(components, ADMIN).sha256 == release.sha256
    assert not until(lambda: "cameras now use model" in roles.log("w1"), 3)  # six looks it would have taken
    assert worker.poll() is None
    assert roles.stop("w1") == 0
