"""Each role's process, put together from the parts ``offsite.bootstrap.build`` makes (the composition root's
second half; the CLI only parses options and calls these).

- ``serve``: the API and the console (``web_app``), with the background jobs of a node: notification dispatch,
  training jobs, the recent-frame retention sweep; with ``--cameras`` also the camera pipelines and what only the
  process that runs them can do (automatic re-checks, reconciling sealed packages, following the active model and
  the saved configurations). That is the embedded default: one process, no broker.
- ``worker``, ``sealer``, ``scheduler``: the roles of a cluster on NATS JetStream (``offsite.cluster``).

A role that cannot start (a configuration, model, camera file or evidence-store problem) raises ``CannotStart``
with the reason; the CLI tells it and exits 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import os
import socket
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cases.model.staff import Role
from cases.services.base import Actor
from offsite.bootstrap import Components, build, database_problem, prepare_database, web_app
from offsite.settings import InsecureSettingsError, Settings

if TYPE_CHECKING:
    from evidence_store.store import EvidenceStore
    from offsite.cameras import CameraSupervisor
    from offsite.cluster.worker import CameraWorker, ClusterSettings
    from offsite.reconcile import SealedEvents
    from vision.config import CameraSpec
    from vision.detector import OnnxDetector

log = logging.getLogger("offsite")
DISPATCH_EVERY_S = 15


class CannotStart(Exception):
    """A role cannot start; the message says why, for the operator."""


def parts(settings: Settings | None = None) -> Components:
    """The parts every role is built from, on the environment's settings; a configuration problem, or a folder the
    settings name that cannot be made (the database's, the evidence's), is CannotStart."""
    from offsite.config_files import ConfigError

    try:
        return build(settings or Settings())
    except (ConfigError, InsecureSettingsError, ValueError, OSError) as exc:
        raise CannotStart(f"cannot start: {exc}") from exc


def ready_parts(settings: Settings | None = None) -> Components:
    """The parts, on a database that is reachable and migrated (a role that serves or works needs both). In
    development, a SQLite file that does not exist yet or holds nothing (the embedded default on a fresh checkout)
    is made ready with its schema and first admin, as ``offsite db upgrade`` would; a database that holds anything
    is never changed unasked."""
    components = parts(settings)
    new_file = blank_sqlite_file(components.settings)
    if new_file is not None:
        try:
            prepare_database(components)
        except Exception as exc:  # a folder it may not write in, or another process making it at the same moment
            components.close()
            raise CannotStart(f"cannot make the database {new_file}: {exc.__class__.__name__}: {exc}") from exc
        log.info("made the database %s ready (it held nothing): schema and first admin, as offsite db upgrade does",
                 new_file)  # fmt: skip
    problem = database_problem(components)
    if problem is not None:
        components.close()
        raise CannotStart(f"not ready: {problem}")
    return components


def blank_sqlite_file(settings: Settings) -> Path | None:
    """The SQLite file the settings name, in development, when it does not exist yet or holds no table at all (a
    connection made it, as SQLite does, and nothing more); else None."""
    import sqlite3

    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if settings.environment != "development" or url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        return None
    path = Path(url.database)
    if not path.exists():
        return path
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            (tables,) = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error:
        return None  # not a database SQLite can read: the check that follows says so
    return path if tables == 0 else None


def sealing_store(components: Components) -> EvidenceStore:
    """The store this process seals into; one that cannot be opened (a bucket without Object Lock, another process
    sealing into the same folder, a key that cannot be read) is CannotStart with its reason, not a traceback."""
    try:
        return components.evidence()
    except Exception as exc:  # a backend, lock or key problem: say which
        components.close()
        raise CannotStart(f"cannot open the evidence store: {exc}") from exc


def detector_and_cameras(model: Path, cameras: Path, threads: int = 0) -> tuple[OnnxDetector, list[CameraSpec]]:
    """The detector, and the cameras of a cameras file checked against its classes."""
    from vision.config import ConfigError, load_cameras
    from vision.detector import DetectorConfig, ModelError, OnnxDetector

    try:
        detector = OnnxDetector(DetectorConfig(model, threads=threads))
        return detector, load_cameras(cameras, detector.class_names)
    except (ModelError, ConfigError) as exc:
        raise CannotStart(str(exc)) from exc


def detector_and_saved_cameras(components: Components, model: Path) -> tuple[OnnxDetector, list[CameraSpec]]:
    """The detector, and the cameras as saved in the database."""
    from offsite.camera_configs import current_specs
    from vision.config import ConfigError
    from vision.detector import DetectorConfig, ModelError, OnnxDetector

    try:
        detector = OnnxDetector(DetectorConfig(model))
        return detector, current_specs(components, detector.class_names)
    except (ModelError, ConfigError) as exc:
        raise CannotStart(str(exc)) from exc


def serving_cameras(components: Components, cameras: Path | None, model: Path) -> CameraSupervisor:
    """The camera pipelines of ``serve --cameras``: a file's cameras, or (``cameras`` None) those saved in the
    database; sealing into this process's store, their events recorded as detections pending review."""
    from offsite.cameras import camera_intake, intake_sink, supervisor_of

    if cameras is not None:
        detector, specs = detector_and_cameras(model, cameras)
    else:
        detector, specs = detector_and_saved_cameras(components, model)
    return supervisor_of(
        specs, detector, intake_sink(camera_intake(components.detections, components.registry)),
        components.settings.evidence_dir.parent / "work", registry=components.registry, frames=components.frames,
        settings=components.settings, store=sealing_store(components),
    )  # fmt: skip


def orphans(components: Components) -> SealedEvents:
    """Sealed camera packages whose detection a killed process never recorded (at start, then every ten minutes)."""
    from offsite.reconcile import SealedEvents

    return SealedEvents(components.evidence, components.detections, components.registry)


def recheck_forever(components: Components, stop: threading.Event) -> None:
    """Every ``recheck_every_s`` (ten minutes), re-check the cases whose rectification deadline has passed, on the
    cameras this process runs (each case once; the result waits on the case for its officer)."""
    from offsite.rechecks import run_due_rechecks

    cameras, settings = components.cameras, components.settings
    assert cameras is not None
    while not stop.wait(settings.recheck_every_s):
        try:
            run_due_rechecks(components, cameras.detector, cameras.specs.get, settings.recheck_window_s, stop=stop)
        except Exception:  # keep looking: one failed round must not end the re-checks for good
            logging.getLogger("offsite.rechecks").exception("re-check round failed")


def dispatch_forever(components: Components, stop: threading.Event, every_s: float = DISPATCH_EVERY_S) -> None:
    """Send the notifications waiting in the outbox, every 15 s (safe on several nodes: each message is taken by
    one dispatcher)."""
    from cases.services import notifications

    while not stop.wait(every_s):
        try:
            notifications.dispatch(components.session_factory, components.channels, components.clock.now())
        except Exception:  # keep dispatching: one failed round must not end notifications for good
            logging.getLogger("offsite.notifications").exception("dispatch round failed")


def serve(
    components: Components,
    host: str,
    port: int,
    follow_models: bool = False,
    follow_configs: bool = False,
    cluster: bool = False,
) -> None:
    """Serve the API and console until stopped, with the node's background jobs (see the module's docstring).

    ``cluster``: this node is one of a cluster's API nodes. Through NATS, gateways' frames and stream addresses go to
    the workers holding the cameras, the packages it seals go to the sealer, and the cameras' states come from the
    workers."""
    import uvicorn

    from offsite.cluster.camera_states import ClusterCameraStates
    from offsite.cluster.frames import RelayedFrames
    from offsite.cluster.link import BrokerLink, RemoteSealing
    from offsite.evidence import evidence_backend
    from offsite.missed import sweep_forever
    from offsite.training_jobs import Launcher

    stop = threading.Event()
    _background("notification-dispatch", dispatch_forever, components, stop)
    _background("training-jobs", Launcher(components).run_forever, stop)
    _background("frame-retention", sweep_forever, components, stop)
    if components.cameras is not None:
        _camera_jobs(components, stop, follow_models, follow_configs)
    link = relay = states = None
    if cluster:  # the broker carries gateways' frames to the workers, and this node's packages to the sealer
        link = BrokerLink(cluster_settings(components).servers, f"offsite-api-{socket.gethostname()}-{os.getpid()}")
        relay = RelayedFrames(link, components.settings.nats_prefix)
        states = ClusterCameraStates(link, components.settings.nats_prefix, components.settings.lease_s)
        components.sealing = RemoteSealing(link, evidence_backend(components.settings), components.settings.nats_prefix,
                                           f"api {socket.gethostname()}:{os.getpid()}")  # fmt: skip
    try:
        uvicorn.run(web_app(components, relay, states), host=host, port=port, log_level="info")
    finally:
        stop.set()
        if link is not None:
            link.close()
        components.close()


def _camera_jobs(components: Components, stop: threading.Event, follow_models: bool, follow_configs: bool) -> None:
    """What only the process that runs the cameras does: re-checks on them, and (when it follows the registry)
    reconciling sealed packages, the active model and the saved configurations."""
    cameras = components.cameras
    assert cameras is not None
    _background("automatic-recheck", recheck_forever, components, stop)
    if follow_models:
        _background("model-follower", cameras.follow_registry, components, stop, components.settings.model_poll_s)
        _background("reconcile", orphans(components).run_forever, stop)
    if follow_configs:
        from offsite.camera_configs import follow_configs as follow

        _background("camera-configs", follow, components, cameras, cameras.detector.class_names, stop,
                    components.settings.model_poll_s)  # fmt: skip


def _background(name: str, target: Callable[..., object], *args: object) -> None:
    """A job of the node, on a daemon thread of its own (each job is given the node's stop event among ``args``)."""
    threading.Thread(target=target, args=args, name=name, daemon=True).start()


def machine_actor() -> Actor:
    """Who a role or a command acts as when the record must name someone: the machine account, as an
    administrator."""
    return Actor(f"cli:{getpass.getuser()}"[:64], Role.ADMIN)


def cluster_settings(components: Components) -> ClusterSettings:
    """Where the broker is, the subjects' prefix and the lease time, from the settings."""
    from offsite.cluster.worker import ClusterSettings

    settings = components.settings
    return ClusterSettings(settings.nats_url, settings.nats_prefix, settings.lease_s)


def active_detector(components: Components, model: Path | None = None) -> OnnxDetector:
    """The detector of the registry's active model (the shipped one on a new registry), or of ``model``."""
    from offsite.model_registry import NotInStore, active_model_file
    from vision.detector import DetectorConfig, ModelError, OnnxDetector

    try:
        return OnnxDetector(DetectorConfig(model or active_model_file(components, machine_actor())))
    except (ModelError, NotInStore) as exc:
        raise CannotStart(str(exc)) from exc


def camera_worker(components: Components, name: str, model: Path | None) -> CameraWorker:
    """``offsite worker``: the cameras this worker owns by lease, on the registry's active model, following it (or on
    ``model``, pinned)."""
    from offsite.cluster.worker import CameraWorker

    work_dir = components.settings.evidence_dir.parent / "work" / name
    return CameraWorker(components, active_detector(components, model), cluster_settings(components), name, work_dir,
                        follow_models=model is None)  # fmt: skip


def sealer(components: Components, name: str, stopping: asyncio.Event) -> Coroutine[Any, Any, None]:
    """``offsite sealer``: the evidence log's single writer while it holds the role; until ``stopping``."""
    from offsite.cluster.sealer import run_sealer

    return run_sealer(components, cluster_settings(components), name, stopping)


def scheduler(components: Components, name: str, stopping: asyncio.Event) -> Coroutine[Any, Any, None]:
    """``offsite scheduler``: re-checks, reconciliation and notifications while it holds the role; until
    ``stopping``. Re-checks start on the registry's active model."""
    from offsite.cluster.scheduler import run_scheduler

    return run_scheduler(components, cluster_settings(components), name, stopping, active_detector(components))
