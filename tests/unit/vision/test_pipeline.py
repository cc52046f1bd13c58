"""The camera pipeline from a generated video to violation events with their evidence.

The rules are checked against the video's own ground truth with an *oracle* detector that reads the true boxes
from the video's sidecar: the detector is not what these tests test (its own tests run the real model), so any
disagreement here is the pipeline's. One test runs the real shipped model end to end.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

from bench.pipeline import SHORT_TIMES, T0, match_events
from offsite.settings import PROJECT_ROOT, SHIPPED_MODEL
from vision.capture import CapturedEvidence
from vision.config import ConfigError, build_pipeline, camera_from_sidecar, camera_spec
from vision.detections import Detections
from vision.detector import DetectorConfig, OnnxDetector
from vision.events import SubjectKind, ViolationEvent
from vision.frames import Frame
from vision.pipeline import CameraPipeline, DropPolicy, Runner
from vision.synthetic import CLASS_NAMES, VideoSpec, render_video


@pytest.fixture(scope="module")
def street(tmp_path_factory: pytest.TempPathFactory) -> Path:
    video = tmp_path_factory.mktemp("video") / "street.mp4"
    render_video(VideoSpec(out=video, scenario="street", seconds=50, width=640, height=360, seed=21))
    return video


class OracleDetector:
    """Answers each frame with the sidecar's true boxes at that frame's time."""

    class_names = CLASS_NAMES

    def __init__(self, video: Path, origin: dt.datetime = T0) -> None:
        self.origin = origin  # the capture time of the video's first frame
        sidecar = json.loads(video.with_suffix(".json").read_text())
        self.frames, self.fps = sidecar["frames"], sidecar["fps"]
        self.size = (sidecar["width"], sidecar["height"])
        self.clock: dict[int, dt.datetime] = {}  # each image's frame time, fed by the test's source wrapper

    def detect(self, image: Any) -> Detections:
        ts = self.clock.pop(id(image))
        index = min(len(self.frames) - 1, round((ts - self.origin).total_seconds() * self.fps))
        boxes = self.frames[index]
        if not boxes:
            return Detections.empty()
        width, height = self.size
        xyxy = np.array([[b[2] * width, b[3] * height, b[4] * width, b[5] * height] for b in boxes], np.float32)
        return Detections(xyxy, np.full(len(boxes), 0.9, np.float32), np.array([b[1] for b in boxes], np.int64))


class Clocked:
    """A source wrapper telling the oracle which frame is being analysed."""

    def __init__(self, inner: Any, oracle: OracleDetector) -> None:
        self.inner, self.oracle, self.camera_id = inner, oracle, inner.camera_id

    @property
    def clip_buffer(self) -> Any:
        return self.inner.clip_buffer

    def frames(self) -> Iterator[Frame]:
        for frame in self.inner.frames():
            self.oracle.clock[id(frame.image)] = frame.ts
            yield frame

    def close(self) -> None:
        self.inner.close()


class FolderSeal:
    def __init__(self, root: Path) -> None:
        self.root, self.sealed = root, []

    def seal(self, evidence: CapturedEvidence) -> str:
        package = f"pkg-{len(self.sealed) + 1}"
        target = self.root / package
        target.mkdir(parents=True)
        for item in evidence.items:
            (target / item.name).write_bytes(item.path.read_bytes())
        self.sealed.append(evidence)
        return package


def oracle_run(video: Path, tmp_path: Path, interval_s: float = 1.0) -> tuple[list[ViolationEvent], FolderSeal]:
    sidecar = json.loads(video.with_suffix(".json").read_text())
    spec = camera_spec(camera_from_sidecar(sidecar, "cam-1", video, SHORT_TIMES, interval_s, T0), CLASS_NAMES)
    oracle, seal, events = OracleDetector(video), FolderSeal(tmp_path / "sealed"), []
    pipeline = build_pipeline(spec, oracle, seal, lambda event, _: events.append(event), tmp_path)
    pipeline.source = Clocked(pipeline.source, oracle)
    runner = Runner([pipeline])
    runner.start()
    assert runner.wait(120), "the pipeline did not finish"
    assert pipeline.metrics.failed is None
    return events, seal


def truth_of(video: Path) -> list[dict[str, Any]]:
    sidecar = json.loads(video.with_suffix(".json").read_text())
    return [v for v in sidecar["violations"] if v["dwell_s"] >= SHORT_TIMES[v["kind"]].min_dwell_s]


@pytest.mark.parametrize("interval_s", [1.0, 2.0])
def test_with_true_boxes_every_violation_of_the_timeline_gives_exactly_one_event(
    street: Path, tmp_path: Path, interval_s: float
) -> None:
    events, _ = oracle_run(street, tmp_path, interval_s)
    truth = truth_of(street)
    correct, found = match_events(events, truth)
    assert {v["kind"] for v in truth} >= {"stall", "cross_door", "dust", "bare_pile"}
    assert (correct, found) == (len(events), len(truth)), (events, truth)
    assert len({e.event_id for e in events}) == len(events)


def test_each_event_carries_key_frames_annotated_frames_a_clip_quality_figures_and_the_boxes_seen(
    street: Path, tmp_path: Path
) -> None:
    events, _ = oracle_run(street, tmp_path)
    stall = next(e for e in events if e.violation_code == "street_stall")
    assert stall.subject.kind is SubjectKind.UNKNOWN
    folder = tmp_path / "sealed" / stall.evidence_package_id
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(
        [f"{kind}-{role}.jpg" for kind in ("frame", "annotated") for role in ("first", "middle", "confirming")]
        + ["boxes.json", "clip.mp4", "quality.json"]
    )
    first = cv2.imread(str(folder / "frame-first.jpg"))
    assert first.shape == (360, 640, 3)
    assert not np.array_equal(first, cv2.imread(str(folder / "annotated-first.jpg")))
    with av.open(str(folder / "clip.mp4")) as clip:
        stream = clip.streams.video[0]
        assert stream.codec_context.name == "h264"
        frames = sum(1 for _ in clip.decode(stream))
    assert frames >= 25 * 10  # pre 10 s + post 5 s at the camera's full 25 fps, from a key frame on
    quality = json.loads((folder / "quality.json").read_text())
    assert quality["clip_error"] is None
    assert quality["first"]["sharpness"] > 0
    assert 0 < quality["confirming"]["brightness"] < 255
    boxes = json.loads((folder / "boxes.json").read_text())
    assert boxes["format"] == "offsite-boxes/1"
    assert [f["role"] for f in boxes["frames"]] == ["first", "middle", "confirming"]
    assert [f["image"] for f in boxes["frames"]] == ["frame-first.jpg", "frame-middle.jpg", "frame-confirming.jpg"]
    times = [dt.datetime.fromisoformat(f["taken_at"]) for f in boxes["frames"]]
    assert times == sorted(times)
    assert stall.first_seen <= times[0]
    assert times[-1] <= stall.last_seen
    for frame in boxes["frames"]:
        assert (frame["width"], frame["height"]) == (640, 360)
        assert frame["sighting"]["class"] == "stall"
        # the occurrence's box is one of the boxes the detector reported on that frame, beside the others it saw
        assert frame["sighting"]["xyxy"] in [b["xyxy"] for b in frame["boxes"] if b["class"] == "stall"]
        assert {b["class"] for b in frame["boxes"]} > {"stall"}


def test_a_quiet_street_raises_nothing(tmp_path: Path) -> None:
    video = tmp_path / "quiet.mp4"
    render_video(VideoSpec(out=video, scenario="quiet", seconds=30, width=480, height=270, seed=5))
    sidecar = json.loads(video.with_suffix(".json").read_text())
    assert sidecar["violations"] == []
    events, _ = oracle_run(video, tmp_path)
    assert events == []


def test_the_shipped_model_runs_the_whole_pipeline(street: Path, tmp_path: Path) -> None:
    detector = OnnxDetector(DetectorConfig(SHIPPED_MODEL, threads=1))
    sidecar = json.loads(street.with_suffix(".json").read_text())
    spec = camera_spec(camera_from_sidecar(sidecar, "cam-1", street, SHORT_TIMES, 2.0, T0), detector.class_names)
    events: list[ViolationEvent] = []
    pipeline = build_pipeline(spec, detector, FolderSeal(tmp_path / "s"), lambda e, _: events.append(e), tmp_path)
    runner = Runner([pipeline])
    runner.start()
    assert runner.wait(120)
    metrics = pipeline.metrics
    assert metrics.failed is None
    assert metrics.frames_analysed == metrics.frames_in == 25  # one key frame every 2 s of 50 s
    assert metrics.frames_dropped == 0
    assert metrics.inference_ms_mean > 0
    correct, _ = match_events(events, truth_of(street))
    assert correct == len(events)  # whatever it finds is real


class SlowDetector:
    class_names = CLASS_NAMES

    def detect(self, image: Any) -> Detections:
        time.sleep(0.05)
        return Detections.empty()


class BurstSource:
    """A live source that delivers 40 frames at once, faster than the detector can take them."""

    camera_id = "cam-live"
    clip_buffer = None

    def frames(self) -> Iterator[Frame]:
        image = np.zeros((36, 64, 3), np.uint8)
        for seq in range(40):
            yield Frame(self.camera_id, seq, T0 + dt.timedelta(seconds=seq), image)

    def close(self) -> None:
        pass


class BrokenSource(BurstSource):
    camera_id = "cam-broken"

    def frames(self) -> Iterator[Frame]:
        yield from list(super().frames())[:2]
        raise OSError("stream reset by peer")


def live_pipeline(source: Any, tmp_path: Path, policy: DropPolicy = DropPolicy.DROP_OLDEST) -> CameraPipeline:
    sidecar = {"zones": [{"id": "A", "kind": "no_vending", "polygon": [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]]}]}
    spec = camera_spec(camera_from_sidecar(sidecar, source.camera_id, Path("live"), SHORT_TIMES), CLASS_NAMES)
    pipeline = build_pipeline(spec, SlowDetector(), FolderSeal(tmp_path), lambda e, _: None, tmp_path, source=source)
    pipeline.drop_policy = policy
    return pipeline


def test_a_live_camera_that_outruns_its_detector_drops_its_oldest_frames_and_counts_them(tmp_path: Path) -> None:
    pipeline = live_pipeline(BurstSource(), tmp_path)
    runner = Runner([pipeline])
    runner.start()
    assert runner.wait(30)
    metrics = pipeline.metrics
    assert metrics.frames_in == 40
    assert metrics.frames_dropped > 0
    assert metrics.frames_analysed + metrics.frames_dropped == 40


def test_a_file_blocks_instead_of_dropping(tmp_path: Path) -> None:
    pipeline = live_pipeline(BurstSource(), tmp_path, DropPolicy.BLOCK)
    runner = Runner([pipeline])
    runner.start()
    assert runner.wait(30)
    assert (pipeline.metrics.frames_analysed, pipeline.metrics.frames_dropped) == (40, 0)


def test_one_cameras_failure_leaves_the_others_running(tmp_path: Path) -> None:
    broken = live_pipeline(BrokenSource(), tmp_path / "b", DropPolicy.BLOCK)
    healthy = live_pipeline(BurstSource(), tmp_path / "h", DropPolicy.BLOCK)
    runner = Runner([broken, healthy])
    runner.start()
    assert runner.wait(30)
    assert broken.metrics.failed == "OSError: stream reset by peer"
    assert healthy.metrics.failed is None
    assert healthy.metrics.frames_analysed == 40


def test_stop_ends_every_camera_promptly(tmp_path: Path) -> None:
    class Endless(BurstSource):
        def __init__(self) -> None:
            self.closed = threading.Event()

        def frames(self) -> Iterator[Frame]:
            seq = 0
            while not self.closed.is_set():
                yield Frame(self.camera_id, seq, T0 + dt.timedelta(seconds=seq), np.zeros((8, 8, 3), np.uint8))
                seq += 1
                time.sleep(0.01)

        def close(self) -> None:
            self.closed.set()

    runner = Runner([live_pipeline(Endless(), tmp_path)])
    runner.start()
    time.sleep(0.3)
    assert runner.stop(timeout_s=10)


def one_zone_camera() -> dict[str, Any]:
    """A cameras-file entry: one no-vending zone A and a stall rule on it."""
    return {
        "camera_id": "cam-9",
        "source": {"url": "x.mp4"},
        "zones": [{"id": "A", "kind": "no_vending", "polygon": [[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]]}],
        "rules": [{"id": "stall-A", "kind": "stall", "zones": ["A"]}],
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rules": [{"id": "r", "kind": "stall", "zones": ["A"], "classes": ["cart"]}]}, "unknown classes ['cart']"),
        ({"rules": [{"id": "r", "kind": "stall", "zones": ["B"]}]}, "unknown zone 'B'"),
        (
            {"zones": [{"id": "A", "kind": "no_vending", "polygon": [[0, 0], [1, 1], [1, 0], [0, 1]]}]},
            "not simple",
        ),
        (
            {"zones": [{"id": "A", "kind": "no_vending", "polygon": [[0, 0], [1.5, 0], [1, 1]]}]},
            "less than or equal to 1",
        ),
        ({"source": {"url": "x.mp4", "interval_s": 0}}, "interval_s"),
        ({"surprise": 1}, "Extra inputs are not permitted"),
        ({"rules": [{"id": "r", "kind": "stall", "zones": ["A"], "min_presence": 1.5}]}, "min_presence"),
    ],
)
def test_a_bad_camera_configuration_is_refused_naming_the_camera_and_the_problem(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        camera_spec(one_zone_camera() | change, CLASS_NAMES)
    assert "camera cam-9" in str(caught.value)
    assert message in str(caught.value)


@pytest.mark.parametrize(("given", "expected"), [({}, 0.25), ({"min_presence": 0.6}, 0.6), ({"min_presence": 0}, 0.0)])
def test_a_rule_asks_for_the_presence_its_camera_file_gives_or_its_kind_s(
    given: dict[str, Any], expected: float
) -> None:
    entry = one_zone_camera()
    (rule,) = camera_spec(entry | {"rules": [entry["rules"][0] | given]}, CLASS_NAMES).rules
    assert rule.min_presence == expected


def test_the_pipeline_remembers_when_each_violation_was_present(street: Path, tmp_path: Path) -> None:
    sidecar = json.loads(street.with_suffix(".json").read_text())
    spec = camera_spec(camera_from_sidecar(sidecar, "cam-1", street, SHORT_TIMES, 1.0, T0), CLASS_NAMES)
    oracle = OracleDetector(street)
    pipeline = build_pipeline(spec, oracle, FolderSeal(tmp_path / "s"), lambda e, _: None, tmp_path)
    pipeline.source = Clocked(pipeline.source, oracle)
    runner = Runner([pipeline])
    runner.start()
    assert runner.wait(120)
    stall = next(v for v in sidecar["violations"] if v["kind"] == "stall")
    inside = T0 + dt.timedelta(seconds=(stall["start_s"] + stall["end_s"]) / 2)
    after = T0 + dt.timedelta(seconds=stall["end_s"] + 5)
    assert pipeline.presence.present("stall-A", "A", inside)
    assert not pipeline.presence.present("stall-A", "A", after)


@pytest.mark.parametrize(("offset_s", "window_s", "expected"), [("start", 12.0, True), ("end", 8.0, False)])
def test_a_recheck_looks_again_at_the_zone_and_tells_whether_the_violation_persists(
    street: Path, offset_s: str, window_s: float, expected: bool
) -> None:
    from vision.recheck import recheck
    from vision.rules import RuleEngine
    from vision.sources import VideoSource

    sidecar = json.loads(street.with_suffix(".json").read_text())
    spec = camera_spec(camera_from_sidecar(sidecar, "cam-1", street, SHORT_TIMES, 1.0, T0), CLASS_NAMES)
    stall = next(v for v in sidecar["violations"] if v["kind"] == "stall")
    at = T0 + dt.timedelta(seconds=stall["start_s"] + 2 if offset_s == "start" else stall["end_s"] + 1)
    oracle = OracleDetector(street)
    source = Clocked(VideoSource(spec.source), oracle)
    result = recheck(source, oracle, RuleEngine(spec.zones, spec.rules, CLASS_NAMES), "stall-A", "A", at, window_s, 1.0)
    assert result.present is expected
    assert result.frames_checked >= window_s - 1
    if expected:
        assert result.seen_s >= window_s / 2
    # the window's first, middle and last frames, kept for the officer to see, in capture order
    times = [frame.ts for frame in result.key_frames]
    assert len(times) == 3
    assert times == sorted(times)
    assert at <= times[0]
    assert times[-1] <= at + dt.timedelta(seconds=window_s)
    assert abs((times[1] - at).total_seconds() - window_s / 2) <= 1.0


def test_a_recheck_of_a_rule_the_camera_does_not_have_is_refused(street: Path) -> None:
    from vision.recheck import recheck
    from vision.rules import RuleEngine, RuleError

    sidecar = json.loads(street.with_suffix(".json").read_text())
    spec = camera_spec(camera_from_sidecar(sidecar, "cam-1", street, SHORT_TIMES, 1.0, T0), CLASS_NAMES)
    engine = RuleEngine(spec.zones, spec.rules, CLASS_NAMES)
    with pytest.raises(RuleError, match="no rule 'stall-Z'"):
        recheck(BurstSource(), OracleDetector(street), engine, "stall-Z", "A", T0)
    with pytest.raises(RuleError, match="does not watch zone 'S1'"):
        recheck(BurstSource(), OracleDetector(street), engine, "stall-A", "S1", T0)


def test_the_example_cameras_file_loads() -> None:
    from vision.config import load_cameras

    specs = load_cameras(PROJECT_ROOT / "configs" / "cameras.example.yaml", CLASS_NAMES)
    assert [s.camera_id for s in specs] == ["cam-zhangyang-001", "cam-qiantan-site-002"]
    assert specs[0].gateway_stream
    assert specs[1].pushed
    assert specs[0].drop_policy is DropPolicy.DROP_OLDEST


def test_a_cameras_file_naming_a_camera_twice_is_refused(tmp_path: Path) -> None:
    from vision.config import load_cameras

    text = (PROJECT_ROOT / "configs" / "cameras.example.yaml").read_text()
    doubled = tmp_path / "cameras.yaml"
    doubled.write_text(text.replace("cam-qiantan-site-002", "cam-zhangyang-001"))
    with pytest.raises(ConfigError, match=r"cameras \['cam-zhangyang-001'\] appear more than once"):
        load_cameras(doubled, CLASS_NAMES)


def test_a_cameras_file_saved_in_gbk_is_refused_naming_the_line(tmp_path: Path) -> None:
    """Chinese Windows saves text as GBK by default: the file is refused, not read as other characters."""
    from vision.config import load_cameras

    text = (PROJECT_ROOT / "configs" / "cameras.example.yaml").read_text(encoding="utf-8")
    saved = tmp_path / "cameras.yaml"
    saved.write_bytes(("# 浦东新区\n# 张杨路东方路口\n" + text).encode("gbk"))
    with pytest.raises(ConfigError, match=r"cameras\.yaml: not UTF-8 text \(line 1\); save it as UTF-8"):
        load_cameras(saved, CLASS_NAMES)
    saved.write_bytes(b"\xef\xbb\xbf" + ("# 浦东新区\n" + text).encode())  # as Notepad saves UTF-8: it loads
    assert len(load_cameras(saved, CLASS_NAMES)) == len(load_cameras(PROJECT_ROOT / "configs" / "cameras.example.yaml",
                                                                      CLASS_NAMES))  # fmt: skip


def test_pushed_frames_are_never_dropped_behind_a_slow_detector(tmp_path: Path) -> None:
    from vision.pushed import FrameQueueFull, PushedFrames

    intake = PushedFrames("cam-push", capacity=2)
    sidecar = {"zones": [{"id": "A", "kind": "no_vending", "polygon": [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]]}]}
    entry = camera_from_sidecar(sidecar, "cam-push", Path("push"), SHORT_TIMES)
    entry["source"]["url"] = "push"
    spec = camera_spec(entry, CLASS_NAMES)
    assert spec.drop_policy is DropPolicy.BLOCK
    pipeline = build_pipeline(spec, SlowDetector(), FolderSeal(tmp_path), lambda e, _: None, tmp_path, source=intake)
    runner = Runner([pipeline])
    runner.start()
    _ok, encoded = cv2.imencode(".jpg", np.zeros((36, 64, 3), np.uint8))
    accepted = refused = 0
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    for second in range(40):
        try:
            intake.push(encoded.tobytes(), start + dt.timedelta(seconds=second))
            accepted += 1
        except FrameQueueFull:
            refused += 1
    deadline = time.monotonic() + 20
    while pipeline.metrics.frames_analysed < accepted and time.monotonic() < deadline:
        time.sleep(0.05)
    intake.close()
    assert runner.wait(20)
    assert refused > 0  # the gateway was told to wait (429)
    assert pipeline.metrics.frames_dropped == 0
    assert pipeline.metrics.frames_analysed == accepted


def test_a_frame_from_the_past_is_skipped_and_the_camera_goes_on(tmp_path: Path) -> None:
    class SteppingBack(BurstSource):
        camera_id = "cam-back"

        def frames(self) -> Iterator[Frame]:
            image = np.zeros((8, 8, 3), np.uint8)
            for second in (0, 1, 2, 1, 3, 4):  # the camera's clock steps back once
                yield Frame(self.camera_id, second, T0 + dt.timedelta(seconds=second), image)

    pipeline = live_pipeline(SteppingBack(), tmp_path, DropPolicy.BLOCK)
    runner = Runner([pipeline])
    runner.start()
    assert runner.wait(30)
    assert pipeline.metrics.failed is None
    assert (pipeline.metrics.frames_analysed, pipeline.metrics.frames_stale) == (5, 1)


def test_the_confirming_key_frame_is_the_frame_of_the_confirmation() -> None:
    from vision.capture import KeyFrameKeeper
    from vision.rules import Sighting

    keeper = KeyFrameKeeper(limit=4)
    sighting = Sighting(T0, (0, 0, 4, 4), 0.9, "stall", 1)
    for second in range(20):
        image = np.full((8, 8, 3), second, np.uint8)
        keeper.offer(Frame("cam", second, T0 + dt.timedelta(seconds=second), image), sighting)
    assert keeper.frames[-1].ts >= T0 + dt.timedelta(seconds=16)  # thinning keeps the newest, not the oldest
    confirming = Frame("cam", 20, T0 + dt.timedelta(seconds=20), np.full((8, 8, 3), 200, np.uint8))
    keeper.confirm(confirming, sighting)
    first, middle, last = keeper.key_frames()
    assert (first.ts, last.ts) == (T0, T0 + dt.timedelta(seconds=20))
    assert T0 < middle.ts < last.ts
