"""Real scenes held still: a held-out real-dev photo streamed as a fixed camera would send it if nothing in it moved
(``tests.support.footage.still_camera``: the same picture under fresh sensor noise, H.264, 30 s), through `offsite camera
run` with zones over the whole picture and every rule at a short dwell. Noise and compression move the detector's
scores from frame to frame: a false box that they lift over the threshold now and then must not build a violation
(the rules' presence, decision 0036), while a real stall that stays is still one event."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_cli import run
from tests.support.footage import still_camera

WHOLE = [[0.02, 0.02], [0.98, 0.02], [0.98, 0.98], [0.02, 0.98]]
SHOPS = {"id": "shops", "kind": "shop_strip", "polygon": [[0.02, 0.4], [0.98, 0.4], [0.98, 0.98], [0.02, 0.98]],
         "front_line": {"start": [0.02, 0.42], "end": [0.98, 0.42], "street_side": [0.5, 0.8]}}  # fmt: skip
# Held out of training: a plain street (its best stall box 0.21 to 0.30 under this noise, threshold 0.4), a shop front
# whose best stall box the noise holds at the threshold, and a real kiosk.
PLAIN = ("neg_03.jpg",)
NOT_YET = "issue 14 not met yet: noise holds the ninth model's stall score on this plain street at about the threshold"
HELD_FALSE = pytest.param("neg_05.jpg", marks=pytest.mark.xfail(strict=True, reason=f"{NOT_YET} (0.22 to 0.52, over it in 10 frames of 30, on the shop front's hanging goods behind a parked scooter; decision 0036)"))  # fmt: skip
KIOSK = "stall_02.jpg"
SECONDS = 30.0


def camera_id(photo: str) -> str:
    return Path(photo).stem.replace("_", "-")


def camera(photo: str, video: Path) -> dict[str, Any]:
    times = {"min_dwell_s": 10}
    return {
        "camera_id": camera_id(photo),
        "source": {"url": str(video), "interval_s": 1.0},
        "zones": [{"id": "road", "kind": "no_vending", "polygon": WHOLE}, SHOPS,
                  {"id": "site", "kind": "site", "polygon": WHOLE}],
        "rules": [{"id": "stall", "kind": "stall", "zones": ["road"]} | times,
                  {"id": "door", "kind": "cross_door", "zones": ["shops"]} | times,
                  {"id": "dust", "kind": "dust", "zones": ["site"]} | times,
                  {"id": "pile", "kind": "bare_pile", "zones": ["site"]} | times],
    }  # fmt: skip


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """One `offsite camera run` over the three still cameras: each camera's violation codes, and the summary."""
    work = tmp_path_factory.mktemp("stills")
    photos = (*PLAIN, "neg_05.jpg", KIOSK)  # 30 s each: three times the dwell
    cameras = [camera(photo, still_camera(photo, work / f"{Path(photo).stem}.mp4", SECONDS)) for photo in photos]
    (work / "cameras.yaml").write_text(json.dumps({"cameras": cameras}))  # JSON is YAML
    env = {"OFFSITE_DATABASE_URL": f"sqlite:///{work}/c.db", "OFFSITE_EVIDENCE_DIR": str(work / "evidence")}
    result = run("camera", "run", str(work / "cameras.yaml"), "--no-record", "--json", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    *raised, summary = (json.loads(line) for line in result.stdout.strip().splitlines())
    codes: dict[str, list[str]] = {entry["camera_id"]: [] for entry in cameras}
    for event in raised:
        codes[event["camera_id"]].append(event["violation_code"])
    return codes, summary["cameras"]


@pytest.mark.parametrize("photo", [*PLAIN, HELD_FALSE])
def test_a_plain_street_held_still_under_noise_raises_nothing(
    events: tuple[dict[str, list[str]], dict[str, Any]], photo: str
) -> None:
    codes, summary = events
    assert summary[camera_id(photo)]["frames_analysed"] >= SECONDS - 1
    assert codes[camera_id(photo)] == []


def test_a_real_kiosk_held_still_under_noise_is_one_stall_event(
    events: tuple[dict[str, list[str]], dict[str, Any]],
) -> None:
    codes, _ = events
    assert codes[camera_id(KIOSK)] == ["street_stall"]
