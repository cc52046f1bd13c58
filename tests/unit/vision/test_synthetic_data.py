"""Generated training sets and labelled videos: their layout, their determinism, and ground truth that agrees
with itself."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import av
import pytest
import yaml
from typer.testing import CliRunner

from offsite.cli import app
from vision.synthetic import CLASS_NAMES, DatasetSpec, SyntheticInputError, VideoSpec, render_video, write_dataset
from vision.synthetic.video import seen_violations
from vision.zones import FrontLine, PolygonZone


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_dataset_is_laid_out_as_ultralytics_expects(tmp_path: Path) -> None:
    summary = write_dataset(DatasetSpec(tmp_path / "ds", images=6, val_fraction=0.34, imgsz=160, seed=1))
    root = tmp_path / "ds"
    assert (summary.train_images, summary.val_images) == (4, 2)
    data = yaml.safe_load((root / "data.yaml").read_text())
    assert data == {
        "path": str(root.resolve()),
        "train": "images/train",
        "val": "images/val",
        "names": dict(enumerate(CLASS_NAMES)),
    }
    for split, count in (("train", 4), ("val", 2)):
        images = sorted(p.stem for p in (root / "images" / split).glob("*.jpg"))
        labels = sorted(p.stem for p in (root / "labels" / split).glob("*.txt"))
        assert images == labels
        assert len(images) == count
        for label_file in (root / "labels" / split).glob("*.txt"):
            for line in label_file.read_text().splitlines():
                kind, *box = line.split()
                assert 0 <= int(kind) < len(CLASS_NAMES)
                assert all(0 < float(v) <= 1 for v in box)
    note = json.loads((root / "generator.json").read_text())
    assert (note["seed"], note["images"], note["val_images"]) == (1, 6, 2)
    assert set(note["label_rules"]) == {"mask_opacity", "min_visible_fraction", "min_box_pixels", "goods_gap"}


def test_the_same_seed_writes_the_same_dataset_byte_for_byte(tmp_path: Path) -> None:
    for name in ("a", "b"):
        write_dataset(DatasetSpec(tmp_path / name, images=3, imgsz=128, seed=5))
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    first.pop("data.yaml"), second.pop("data.yaml")  # it names its own folder
    assert first == second


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"images": 0}, "images"),
        ({"val_fraction": 1.0}, "val_fraction"),
        ({"imgsz": 10}, "imgsz"),
        ({"seed": -1}, "seed"),
    ],
)
def test_a_bad_dataset_request_is_refused_naming_the_parameter(
    tmp_path: Path, changes: dict[str, Any], named: str
) -> None:
    request: dict[str, Any] = {"out": tmp_path / "ds", "images": 2} | changes
    with pytest.raises(SyntheticInputError, match=named):
        DatasetSpec(**request)


def test_a_dataset_is_not_written_over_another_folders_files(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(SyntheticInputError, match="not an empty folder"):
        DatasetSpec(tmp_path, images=2)


SHORT: dict[str, Any] = {"seconds": 4.0, "fps": 10, "width": 192, "height": 108, "keyframe_seconds": 1.0}


@pytest.fixture(scope="module")
def stall_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[VideoSpec, dict[str, Any]]:
    spec = VideoSpec(tmp_path_factory.mktemp("video") / "stall.mp4", scenario="stall", seed=2, **SHORT)
    render_video(spec)
    return spec, json.loads(spec.sidecar.read_text())


def test_a_video_decodes_to_the_asked_frames_rate_size_and_key_frames(stall_video: tuple[VideoSpec, Any]) -> None:
    spec, _ = stall_video
    with av.open(str(spec.out)) as container:
        stream = container.streams.video[0]
        assert stream.average_rate == 10
        frames = list(container.decode(stream))
    assert len(frames) == 40
    assert {(f.width, f.height) for f in frames} == {(192, 108)}
    assert [i for i, f in enumerate(frames) if f.key_frame] == [0, 10, 20, 30]


def test_the_sidecar_describes_the_video_and_its_zones(stall_video: tuple[VideoSpec, Any]) -> None:
    _, truth = stall_video
    assert (truth["fps"], truth["frame_count"], truth["keyframe_interval_s"]) == (10, 40, 1.0)
    assert truth["classes"] == list(CLASS_NAMES)
    assert len(truth["frames"]) == 40
    kinds = {zone["kind"] for zone in truth["zones"]}
    assert {"no_vending", "shop_strip"} <= kinds
    for zone in truth["zones"]:  # usable as the pipeline's zones: inside the frame, simple
        PolygonZone(zone["id"], tuple(map(tuple, zone["polygon"])))
        if zone["kind"] == "shop_strip":
            start, end = zone["shop_front_line"]
            FrontLine(zone["id"], tuple(start), tuple(end), tuple(zone["street_side"]))


def test_each_objects_boxes_lie_inside_its_time_on_screen(stall_video: tuple[VideoSpec, Any]) -> None:
    _, truth = stall_video
    for entry in truth["objects"]:
        seen = [i / truth["fps"] for i, boxes in enumerate(truth["frames"]) if any(b[0] == entry["id"] for b in boxes)]
        assert all(entry["appear_s"] <= t < entry["leave_s"] for t in seen), entry


def test_the_stall_is_boxed_exactly_while_its_violation_lasts(stall_video: tuple[VideoSpec, Any]) -> None:
    _, truth = stall_video
    (violation,) = [v for v in truth["violations"] if v["kind"] == "stall"]
    assert violation["zone"] == "A"
    assert "enters zone A" in violation["text"]
    stall = violation["object"]
    boxed = [i / truth["fps"] for i, boxes in enumerate(truth["frames"]) if any(b[0] == stall for b in boxes)]
    during = [
        i / truth["fps"]
        for i in range(truth["frame_count"])
        if violation["start_s"] <= i / truth["fps"] < violation["end_s"]
    ]
    assert set(during) <= set(boxed)  # standing in zone A: always seen
    stall_class = CLASS_NAMES.index("stall")
    assert all(b[1] == stall_class for boxes in truth["frames"] for b in boxes if b[0] == stall)


def test_dust_rises_then_crosses_the_site_boundary(tmp_path: Path) -> None:
    spec = VideoSpec(tmp_path / "dust.mp4", scenario="dust", seed=4, **SHORT)
    summary = render_video(spec)
    truth = json.loads(spec.sidecar.read_text())
    (dust,) = [v for v in truth["violations"] if v["kind"] == "dust"]
    assert dust["start_s"] <= dust["crosses_boundary_s"] < dust["end_s"]
    assert any(v["kind"] == "bare_pile" for v in truth["violations"])
    assert "site" in {zone["kind"] for zone in truth["zones"]}
    assert summary.rendered_frames <= summary.frames


@pytest.mark.parametrize("seed", range(6))
def test_every_pile_of_a_scenario_lies_where_the_camera_sees_it(tmp_path: Path, seed: int) -> None:
    spec = VideoSpec(tmp_path / "site.mp4", scenario="dust", seconds=1, fps=2, width=480, height=270, seed=seed)
    render_video(spec)
    truth = json.loads(spec.sidecar.read_text())
    piles = {o["id"] for o in truth["objects"] if o["class"] in ("bare_pile", "covered_pile") and o["appear_s"] == 0}
    labelled = {int(box[0]) for box in truth["frames"][0]}
    assert piles
    assert piles <= labelled
    assert truth["unseen_violations"] == []


def test_a_violation_the_camera_never_sees_is_kept_apart_from_the_truth() -> None:
    found = [
        {"kind": "bare_pile", "object": 1, "start_s": 0.0, "end_s": 2.0},
        {"kind": "stall", "object": 2, "start_s": 1.0, "end_s": 2.0},
        {"kind": "cross_door", "object": 3, "start_s": 0.0, "end_s": 1.0},
    ]
    # object 1 is boxed in the first frame; object 2 only before its violation; object 3 never
    boxes = [[[1, 5, 0.1, 0.1, 0.2, 0.2], [2, 0, 0.5, 0.5, 0.6, 0.6]], [], [], []]
    split = seen_violations(found, boxes, fps=2)
    assert split == {"violations": [found[0]], "unseen_violations": [found[1], found[2]]}


def test_the_same_seed_renders_the_same_video(tmp_path: Path, stall_video: tuple[VideoSpec, Any]) -> None:
    spec, truth = stall_video
    again = VideoSpec(tmp_path / "stall.mp4", scenario="stall", seed=2, **SHORT)
    render_video(again)
    assert json.loads(again.sidecar.read_text()) == truth
    assert again.out.read_bytes() == spec.out.read_bytes()


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"seconds": -5.0}, "seconds"),
        ({"seconds": 0.0}, "seconds"),
        ({"scenario": "parade"}, "unknown scenario 'parade'"),
        ({"width": 191}, "width"),
        ({"fps": 0}, "fps"),
        ({"keyframe_seconds": 0.0}, "keyframe_seconds"),
        ({"out": Path("video.avi")}, "mp4"),
    ],
)
def test_a_bad_video_request_is_refused_naming_the_problem(changes: dict[str, Any], named: str) -> None:
    request: dict[str, Any] = {"out": Path("v.mp4")} | changes
    with pytest.raises(SyntheticInputError, match=named):
        VideoSpec(**request)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["model", "dataset", "generate", "--out", "{tmp}/ds", "--images", "0"], "images must be at least 1"),
        (["model", "video", "--out", "{tmp}/v.mp4", "--seconds", "-1"], "seconds must be positive"),
        (["model", "video", "--out", "{tmp}/v.mp4", "--scenario", "parade"], "unknown scenario"),
        (["model", "train", "{tmp}/data.yaml", "--freeze", "10"], "freeze keeps an initial model's layers"),
        (["model", "train", "{tmp}/data.yaml", "--freeze", "23", "--initial", "{tmp}/data.yaml"], "between 0 and 22"),
    ],
)
def test_the_cli_refuses_bad_requests_with_exit_code_2(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "data.yaml").write_text("names: [stall]\n")
    result = CliRunner().invoke(app, [a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 2
    assert message in result.output


def test_the_cli_writes_a_small_dataset(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["model", "dataset", "generate", "--out", str(tmp_path / "ds"), "--images", "2", "--imgsz", "128"]
    )
    assert result.exit_code == 0, result.output
    assert "wrote 1 train + 1 val images" in result.output
    assert (tmp_path / "ds" / "data.yaml").exists()


def test_the_same_seed_renders_the_same_pictures(tmp_path: Path) -> None:
    """Ground truth and the demo's expectations hold only if a seed gives one video, every time."""

    def pictures(out: Path) -> str:
        render_video(VideoSpec(out=out, scenario="dust", seconds=3, width=320, height=180, seed=5031))
        digest = hashlib.sha256()
        with av.open(str(out)) as container:
            for frame in container.decode(video=0):
                digest.update(frame.to_ndarray(format="bgr24").tobytes())
        return digest.hexdigest()

    assert pictures(tmp_path / "a.mp4") == pictures(tmp_path / "b.mp4")
