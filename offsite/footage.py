"""Footage for the demo: generated street videos with their ground truth, and the camera entries that watch them.

A video is rendered once per (scenario, seed, length, size, generator revision) into a cache folder and reused;
the sidecar beside it holds the zones and the true violations. The rules' times are scaled from minutes down to
seconds (``MINUTE_VIDEO_TIMES``) so that a one-minute video can hold a whole occurrence.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vision.config import DEFAULT_VIOLATION, MINUTE_VIDEO_TIMES, CameraSpec, camera_from_sidecar, camera_spec
from vision.rules import RuleKind
from vision.synthetic import REVISION, VideoSpec, render_video


@dataclass(frozen=True)
class Footage:
    """One camera's generated video: which street scene, which seed."""

    camera_id: str
    scenario: str  # stall, goods, dust, street, quiet
    seed: int
    seconds: float = 60.0
    width: int = 960
    height: int = 540
    watches: tuple[str, ...] = ("no_vending", "shop_strip", "site")  # the zone kinds this camera's rules watch

    @property
    def file_name(self) -> str:
        """Named by everything that decides its pixels, the generator's revision included."""
        return f"{self.scenario}-{self.seed}-{self.seconds:g}s-{self.width}x{self.height}-r{REVISION}.mp4"

    def video(self, cache: Path) -> Path:
        """The video, rendered on first use. Rendering goes to a scratch folder and is moved in whole, so an
        interrupted render never leaves a half-written video in the cache."""
        path = cache / self.file_name
        if path.exists() and path.with_suffix(".json").exists():
            return path
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as scratch:
            spec = VideoSpec(
                out=Path(scratch) / self.file_name,
                scenario=self.scenario,
                seconds=self.seconds,
                width=self.width,
                height=self.height,
                seed=self.seed,
            )
            render_video(spec)
            shutil.move(spec.sidecar, path.with_suffix(".json"))
            shutil.move(spec.out, path)
        return path

    def sidecar(self, cache: Path) -> dict[str, Any]:
        """The video's sidecar, with only the zones (and their violations) this camera watches."""
        sidecar: dict[str, Any] = json.loads(self.video(cache).with_suffix(".json").read_text())
        sidecar["zones"] = [zone for zone in sidecar["zones"] if zone["kind"] in self.watches]
        kept = {zone["id"] for zone in sidecar["zones"]}
        sidecar["violations"] = [v for v in sidecar["violations"] if v["zone"] in kept]
        return sidecar

    def camera(self, cache: Path, start: dt.datetime, class_names: tuple[str, ...]) -> CameraSpec:
        """The camera entry watching this video, whose first frame was captured at ``start``."""
        entry = camera_from_sidecar(
            self.sidecar(cache), self.camera_id, self.video(cache), MINUTE_VIDEO_TIMES, 1.0, start
        )
        return camera_spec(entry, class_names)

    def true_violations(self, cache: Path) -> list[dict[str, Any]]:
        """The sidecar's violations a rule can confirm (long enough for its dwell), each with its violation code."""
        found = []
        for violation in self.sidecar(cache)["violations"]:
            kind = _RULE_OF_TRUTH.get(violation["kind"])
            if kind is None or violation["dwell_s"] < MINUTE_VIDEO_TIMES[kind].min_dwell_s:
                continue
            found.append(violation | {"violation_code": DEFAULT_VIOLATION[kind], "rule_kind": kind.value})
        return found


_RULE_OF_TRUTH = {
    "stall": RuleKind.STALL,
    "cross_door": RuleKind.CROSS_DOOR,
    "dust": RuleKind.DUST,
    "bare_pile": RuleKind.BARE_PILE,
}


def matches(truth: dict[str, Any], zone_id: str, violation_code: str, start_s: float, end_s: float) -> bool:
    """Whether an event (times in seconds from the video's start) is this true violation: same zone, same
    violation, overlapping in time within ten seconds."""
    tolerance = 10.0
    same_place = truth["zone"] == zone_id and truth["violation_code"] == violation_code
    return bool(same_place and start_s <= truth["end_s"] + tolerance and end_s >= truth["start_s"] - tolerance)
