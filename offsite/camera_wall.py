"""The command centre's camera wall (issue 16): every camera's state in one place, by district and street.

A tile tells whether the camera's pipeline is online, failed, waiting for its gateway or not run by this process;
how many frames it analysed and dropped, and at how many frames a second lately; when its newest recent frame was
taken (the wall shows that frame); and its last detection. The pipelines' state is read wherever they run
(``offsite.camera_states``: this process's supervisor, or a cluster's workers as they tell it); registry and
detections from the database; frames from the recent-frame folder, by name only. The console's wall page receives the tiles as server-sent events while it is open.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from cases.messages import DEFAULT_LANGUAGE
from cases.services.command_centre import LastDetection, WallCamera
from offsite.parts import WallParts
from vision import recent_frames


@dataclass(frozen=True)
class Tile:
    device_id: str
    name: str
    district: str
    street: str | None
    state: str  # online, offline, failed, waiting (for its gateway's stream), elsewhere (not run by this process)
    analysed: int | None
    dropped: int | None
    fps: float | None  # frames analysed a second since the last look
    frame: str | None  # the newest recent frame's name
    frame_at: str | None  # its local time
    event: dict[str, Any] | None  # the last detection: its violation, when it was seen, its review status

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class Looks:
    """What one open wall remembers between two looks: each camera's analysed-frame counter, for its frames a
    second; and each camera's last detection with the highest detection id seen, so that each look asks the
    database only for the detections received since (by primary key), not for every camera's latest again."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[int, float]] = {}
        self._detections: dict[str, LastDetection] = {}
        self._after = 0

    def detections(self, components: WallParts) -> dict[str, LastDetection]:
        new = components.command_centre.last_detections(after_id=self._after)
        self._detections.update(new)
        self._after = max([self._after, *(d.detection_id for d in new.values())])
        return self._detections

    def fps(self, device_id: str, analysed: int, now: float | None = None) -> float | None:
        now = time.monotonic() if now is None else now
        before, self._last[device_id] = self._last.get(device_id), (analysed, now)
        if before is None or now <= before[1] or analysed < before[0]:
            return None
        return round((analysed - before[0]) / (now - before[1]), 2)


def tiles(
    components: WallParts, district: str | None, street: str | None, looks: Looks, language: str = DEFAULT_LANGUAGE
) -> list[Tile]:
    """Every camera's tile, its last detection's violation named in the reader's language."""
    cameras = components.command_centre.cameras(district, street)
    last = looks.detections(components)
    names = components.statistics.violation_names(language)
    return [_tile(components, camera, last.get(camera.device_id), names, looks) for camera in cameras]


def _tile(
    components: WallParts, camera: WallCamera, last: LastDetection | None, names: dict[str, str], looks: Looks
) -> Tile:
    state, analysed, dropped, fps = _pipeline_state(components, camera.device_id, looks)
    newest = recent_frames.newest(components.settings.recent_frames_dir, camera.device_id)
    event = None
    if last is not None:
        event = {"code": last.violation_code, "name": names.get(last.violation_code, last.violation_code),
                 "at": _local(components, last.first_seen), "status": last.status.value, "id": last.detection_id}  # fmt: skip
    return Tile(camera.device_id, camera.name, camera.district, camera.street, state, analysed, dropped, fps,
                newest[0] if newest else None, _local(components, newest[1]) if newest else None, event)  # fmt: skip


def _pipeline_state(
    components: WallParts, device_id: str, looks: Looks
) -> tuple[str, int | None, int | None, float | None]:
    found = components.states.state_of(device_id)
    if found is None:
        return "elsewhere", None, None, None
    if found.waiting:
        return "waiting", None, None, None
    metrics = found.metrics
    if metrics is None:
        return "elsewhere", None, None, None
    state = "failed" if metrics.failed else "online" if metrics.online else "offline"
    return state, metrics.frames_analysed, metrics.frames_dropped, looks.fps(device_id, metrics.frames_analysed)


def _local(components: WallParts, moment: Any) -> str:
    return str(moment.astimezone(components.clock.tz).strftime("%m-%d %H:%M:%S"))


def places(components: WallParts) -> dict[str, list[str]]:
    """Each district's streets, for the wall's filters."""
    found: dict[str, set[str]] = {}
    for camera in components.command_centre.cameras():
        found.setdefault(camera.district, set()).update({camera.street} if camera.street else set())
    return {district: sorted(streets) for district, streets in sorted(found.items())}
