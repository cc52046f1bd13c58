"""Cameras' configurations in the database (issue 16, first part): one source of truth for what each camera watches.

``offsite import cameras FILE`` takes today's cameras files: every camera is validated as the pipeline reads it
(``vision.config``: zones, lines, rules and their times, the model's classes), a file source named relative to the
file is made absolute, and each camera whose configuration changed gets its next version (``camera_configs``), with
who saved it and why; a file with one bad camera, or a camera the registry lacks, saves nothing. ``offsite serve
--cameras-from-db`` runs the current versions and takes up a new one without a restart: the camera's pipeline is
rebuilt on it between two frames, its counters and what it saw kept. ``offsite camera export`` writes the current
versions back as a cameras file.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import yaml

from cases.services.base import Actor
from cases.services.camera_configs import CameraConfig, Saved, fingerprint
from offsite.bootstrap import Components
from offsite.cameras import CameraSupervisor
from vision.config import CameraSpec, ConfigError, camera_entries, camera_spec

log = logging.getLogger("offsite.camera_configs")
SPECIAL_SOURCES = ("push", "gateway")


def documents_from_file(path: Path, class_names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Each camera of a cameras file as the document to save, by device id; the first problem refuses the file,
    naming the camera and the field."""
    documents: dict[str, dict[str, Any]] = {}
    for entry in camera_entries(path):
        spec = camera_spec(_with_absolute_source(entry, path.parent), class_names, str(path))
        if spec.camera_id in documents:
            raise ConfigError(f"{path}: camera {spec.camera_id} appears more than once")
        documents[spec.camera_id] = document_of(spec)
    return documents


def _with_absolute_source(entry: Any, base: Path) -> Any:
    """A file source named relative to the cameras file, made absolute: the database outlives the file's folder."""
    if not isinstance(entry, dict) or not isinstance(entry.get("source"), dict):
        return entry
    url = entry["source"].get("url")
    if not isinstance(url, str) or url in SPECIAL_SOURCES or "://" in url or Path(url).is_absolute():
        return entry
    return entry | {"source": entry["source"] | {"url": str((base / url).resolve())}}


def document_of(spec: CameraSpec) -> dict[str, Any]:
    return spec.raw.model_dump(mode="json")


def import_file(
    components: Components, path: Path, class_names: tuple[str, ...], actor: Actor, reason: str
) -> list[Saved]:
    documents = documents_from_file(path, class_names)
    return components.camera_configs.save_all(documents, actor, reason, components.registry)


def spec_of(config: CameraConfig, class_names: tuple[str, ...]) -> CameraSpec:
    return camera_spec(config.document, class_names, f"camera {config.device_id} version {config.version}")


def current_specs(components: Components, class_names: tuple[str, ...]) -> list[CameraSpec]:
    """The cameras' current versions, ready for pipelines (a version the model cannot run is refused, named)."""
    return [spec_of(c, class_names) for _, c in sorted(components.camera_configs.current().items())]


def export_file(components: Components, out: Path) -> int:
    """The current versions as a cameras file (``offsite import cameras`` takes it back unchanged)."""
    current = components.camera_configs.current()
    cameras = [current[device_id].document for device_id in sorted(current)]
    out.write_text(yaml.safe_dump({"cameras": cameras}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return len(cameras)


def take_up_changes(
    components: Components, cameras: CameraSupervisor, class_names: tuple[str, ...], running: dict[str, str]
) -> list[str]:
    """Give the cameras every configuration saved since ``running`` (device id → fingerprint, updated here); the
    device ids taken up. A version the model cannot run is logged and skipped: the camera keeps the one it has."""
    taken = []
    for device_id, config in sorted(components.camera_configs.current().items()):
        if running.get(device_id) == config.sha256:
            continue
        try:
            cameras.reconfigure(spec_of(config, class_names))
        except ConfigError as exc:
            log.error("camera %s: version %d cannot run, the camera keeps its configuration: %s", device_id,
                      config.version, exc)  # fmt: skip
        else:
            log.info("camera %s: now on configuration version %d by %s", device_id, config.version, config.saved_by)
            taken.append(device_id)
        running[device_id] = config.sha256
    return taken


def follow_configs(
    components: Components, cameras: CameraSupervisor, class_names: tuple[str, ...], stop: threading.Event,
    interval_s: float,
) -> None:  # fmt: skip
    """Every ``interval_s``, take up the configurations saved meanwhile."""
    running = {spec.camera_id: fingerprint(document_of(spec)) for spec in cameras.specs.values()}
    while not stop.wait(interval_s):
        try:
            take_up_changes(components, cameras, class_names, running)
        except Exception:  # keep following: one failed look must not freeze the cameras' configurations for good
            log.exception("looking for new camera configurations failed")
