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

import cv2
import yaml

from cases import messages
from cases.errors import InvalidInput
from cases.services.base import Actor
from cases.services.camera_configs import CameraConfig, Saved, fingerprint
from offsite.cameras import CameraSupervisor
from offsite.parts import CameraConfigParts
from vision import recent_frames
from vision.config import CODE, CameraSpec, ConfigError, FieldProblem, camera_entries, camera_spec

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
    components: CameraConfigParts, path: Path, class_names: tuple[str, ...], actor: Actor, reason: str
) -> list[Saved]:
    documents = documents_from_file(path, class_names)
    return components.camera_configs.save_all(documents, actor, reason, components.registry)


def save_one(
    components: CameraConfigParts, document: dict[str, Any], class_names: tuple[str, ...], actor: Actor, reason: str
) -> Saved:
    """One camera's configuration drawn in the console (or sent to the API) as its next version, validated as the
    pipeline reads it; refused in the catalogue's words, naming the field or the zone or rule, and nothing saved."""
    camera_id = str(document.get("camera_id", ""))[:64]
    if not reason.strip():
        raise InvalidInput(variant="camera_config_reason", camera=camera_id)
    try:
        spec = camera_spec(document, class_names, "console")
    except ConfigError as exc:
        raise refusal(camera_id, exc) from exc
    url = spec.raw.source.url
    if url not in SPECIAL_SOURCES and "://" not in url and not Path(url).is_absolute():
        raise InvalidInput(variant="camera_source_relative", camera=camera_id, url=url[:200])
    [saved] = components.camera_configs.save_all({spec.camera_id: document_of(spec)}, actor, reason,
                                                 components.registry)  # fmt: skip
    return saved


def refusal(camera_id: str, exc: ConfigError) -> InvalidInput:
    """A configuration's first problem, told from the catalogue: a field pydantic refused, or a zone's or a rule's."""
    if exc.fields:
        problem = exc.fields[0]
        return InvalidInput(variant="camera_field", camera=camera_id, field=field_term(problem.loc),
                            reason=reason_term(problem))  # fmt: skip
    if exc.key is not None and messages.entry(f"camera_config.{exc.key}", messages.CHINESE) is not None:
        params = {k: _zone_kind(k, v) for k, v in exc.params.items()}
        return InvalidInput(variant="camera_config", camera=camera_id,
                            reason=messages.Term(f"camera_config.{exc.key}", params))  # fmt: skip
    return InvalidInput(variant="camera_config_other", camera=camera_id)


def _zone_kind(name: str, value: object) -> object:
    return messages.Term(f"term.zone_kind.{value}") if name == "needed" else value


def field_term(loc: tuple[str | int, ...]) -> messages.Term:
    """Where a field lies, as a reader says it: ``("zones", 0, "polygon", 3)`` is the first zone's polygon."""
    named = [part for part in loc if isinstance(part, str)]
    if len(loc) >= 2 and loc[0] in ("zones", "rules") and isinstance(loc[1], int):
        of = "zone" if loc[0] == "zones" else "rule"
        if len(named) == 1:
            return messages.Term(f"camera_field.{of}", {"n": loc[1] + 1})
        return messages.Term(f"camera_field.{of}_field", {"n": loc[1] + 1, "field": _field_name(named[1:])})
    return _field_name(named or ["camera"])


def _field_name(named: list[str]) -> messages.Term:
    leaf = named[-1]
    if "front_line" in named[:-1]:
        leaf = f"front_line_{leaf}"
    key = f"camera_field.{leaf}"
    return messages.Term(key if messages.entry(key, messages.CHINESE) else "camera_field.other", {"name": leaf})


def reason_term(problem: FieldProblem) -> messages.Term:
    """What is wrong with the field: the catalogue's ``invalid_request.<pydantic type>`` (as the API tells a
    schema's finding), the pattern of a code told in words; else the general entry."""
    kind = (
        "code_pattern"
        if problem.type == "string_pattern_mismatch" and problem.ctx.get("pattern") == CODE
        else problem.type
    )
    text = messages.entry(f"invalid_request.{kind}", messages.CHINESE)
    if text is None or not messages.placeholders(text) <= problem.ctx.keys():
        return messages.Term("invalid_request")
    return messages.Term(f"invalid_request.{kind}", problem.ctx)


def snapshot(components: CameraConfigParts, reader: Actor, device_id: str) -> bytes | None:
    """The camera's latest picture as JPEG, for drawing its zones: its newest recent frame (kept by its running
    pipeline every ``recent_frame_every_s``), else the first frame of a file source; None when there is neither.
    The picture shows people: the look is logged."""
    components.registry.find_camera(device_id)  # 404 for a camera the registry lacks
    found = recent_frames.listed(components.settings.recent_frames_dir, device_id)
    picture = found[0].image.read_bytes() if found else _first_frame(components, device_id)
    if picture is not None:
        components.camera_configs.log_snapshot_read(reader, device_id)
    return picture


def _first_frame(components: CameraConfigParts, device_id: str) -> bytes | None:
    history = components.camera_configs.history(device_id)
    url = str(history[-1].document["source"]["url"]) if history else ""
    if not url or url in SPECIAL_SOURCES or "://" in url or not Path(url).is_file():
        return None
    capture = cv2.VideoCapture(url)
    try:
        read, image = capture.read()
    finally:
        capture.release()
    if not read:
        return None
    encoded, data = cv2.imencode(".jpg", image)
    return data.tobytes() if encoded else None


def spec_of(config: CameraConfig, class_names: tuple[str, ...]) -> CameraSpec:
    return camera_spec(config.document, class_names, f"camera {config.device_id} version {config.version}")


def current_specs(components: CameraConfigParts, class_names: tuple[str, ...]) -> list[CameraSpec]:
    """The cameras' current versions, ready for pipelines (a version the model cannot run is refused, named)."""
    return [spec_of(c, class_names) for _, c in sorted(components.camera_configs.current().items())]


def export_file(components: CameraConfigParts, out: Path) -> int:
    """The current versions as a cameras file (``offsite import cameras`` takes it back unchanged)."""
    current = components.camera_configs.current()
    cameras = [current[device_id].document for device_id in sorted(current)]
    out.write_text(yaml.safe_dump({"cameras": cameras}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return len(cameras)


def take_up_changes(
    components: CameraConfigParts, cameras: CameraSupervisor, class_names: tuple[str, ...], running: dict[str, str]
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
    components: CameraConfigParts, cameras: CameraSupervisor, class_names: tuple[str, ...], stop: threading.Event,
    interval_s: float,
) -> None:  # fmt: skip
    """Every ``interval_s``, take up the configurations saved meanwhile."""
    running = {spec.camera_id: fingerprint(document_of(spec)) for spec in cameras.specs.values()}
    while not stop.wait(interval_s):
        try:
            take_up_changes(components, cameras, class_names, running)
        except Exception:  # keep following: one failed look must not freeze the cameras' configurations for good
            log.exception("looking for new camera configurations failed")
