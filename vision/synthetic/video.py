"""Labelled videos: a scenario (who appears where, when) rendered from a fixed camera into an H.264 MP4, with a
JSON sidecar holding the ground truth: the zones, the timeline of violations and every frame's boxes.

Scenarios are built on the street they play in (the stall goes into that street's zone A, the goods out of one of
its shops, the dust rises in its site); their times are fractions of the duration asked for, so any length works.
The static street is rendered once; a frame only re-renders where its objects are, and a frame whose objects did
not move reuses the last one — a stall standing for six minutes costs almost nothing but the encoder's time.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from vision.synthetic.camera import CameraView, Rect
from vision.synthetic.classes import CLASS_NAMES, SceneClass
from vision.synthetic.errors import SyntheticInputError
from vision.synthetic.scene import (
    MASK_OPACITY,
    FrameRenderer,
    Label,
    Placement,
    RenderedFrame,
    Scenery,
    clip_rect,
    rect_area,
    sample_scenery,
    spare_generator,
)
from vision.synthetic.sprites import Image, Sprite, draw_object
from vision.synthetic.street import StreetLayout

# Raised whenever the same spec would render other pictures or another truth: caches of rendered videos key on it,
# so that a cache filled by an older generator is not taken for the current one's.
REVISION = 4
NOISE_POOL = 4  # sensor noise fields cycled through: fresh noise for every 1080p frame would double the cost
PILE_SPOT_TRIES = 50
PILE_IN_PICTURE = 0.8  # of a heap's box that must lie in the frame
PILE_OVERLAP = 0.2  # of the smaller of two heaps' boxes that the other may cover


@dataclass(frozen=True)
class Waypoint:
    t: float  # seconds
    x: float  # canvas pixels
    y: float


@dataclass(frozen=True)
class Actor:
    """One object of a video: it exists from ``appear_s`` (inclusive) to ``leave_s`` (exclusive) and follows
    ``path`` (held at its ends)."""

    actor_id: int
    kind: SceneClass
    style_seed: int
    appear_s: float
    leave_s: float
    path: tuple[Waypoint, ...]
    grow_s: float = 0.0  # a plume reaches full size this long after appearing
    wind_m: float = 0.0  # how far the wind carries a full plume's top (metres, signed)

    def present(self, t: float) -> bool:
        return self.appear_s <= t < self.leave_s

    def position(self, t: float) -> tuple[float, float]:
        points = self.path
        if t <= points[0].t:
            return points[0].x, points[0].y
        for a, b in itertools.pairwise(points):
            if t <= b.t:
                share = (t - a.t) / (b.t - a.t) if b.t > a.t else 1.0
                return a.x + (b.x - a.x) * share, a.y + (b.y - a.y) * share
        return points[-1].x, points[-1].y

    def growth(self, t: float) -> float:
        return 1.0 if self.grow_s <= 0 else min(1.0, max(0.05, (t - self.appear_s) / self.grow_s))


@dataclass(frozen=True)
class Scenario:
    name: str
    duration_s: float
    actors: tuple[Actor, ...]


@dataclass(frozen=True)
class VideoSpec:
    out: Path  # the MP4; the sidecar is the same path with .json
    scenario: str = "street"
    seconds: float = 60.0
    fps: int = 25
    width: int = 1280
    height: int = 720
    keyframe_seconds: float = 2.0
    seed: int = 0
    preset: str = "superfast"  # x264 speed preset: a 1080p minute in about a minute on two cores

    def __post_init__(self) -> None:
        if self.scenario not in SCENARIOS and self.scenario != "random":
            known = ", ".join([*SCENARIOS, "random"])
            raise SyntheticInputError(f"unknown scenario {self.scenario!r}; known: {known}")
        if not self.seconds > 0:
            raise SyntheticInputError(f"seconds must be positive, got {self.seconds}")
        if not 1 <= self.fps <= 120:
            raise SyntheticInputError(f"fps must be between 1 and 120, got {self.fps}")
        for name in ("width", "height"):
            size = getattr(self, name)
            if not 64 <= size <= 4096 or size % 2:
                raise SyntheticInputError(f"{name} must be an even number of pixels from 64 to 4096, got {size}")
        if not self.keyframe_seconds > 0:
            raise SyntheticInputError(f"keyframe_seconds must be positive, got {self.keyframe_seconds}")
        if self.seed < 0:
            raise SyntheticInputError(f"seed must not be negative, got {self.seed}")
        if self.out.suffix.lower() != ".mp4":
            raise SyntheticInputError(f"out must be an .mp4 file, got {self.out}")

    @property
    def frame_count(self) -> int:
        return max(1, round(self.seconds * self.fps))

    @property
    def gop(self) -> int:
        return max(1, round(self.keyframe_seconds * self.fps))

    @property
    def sidecar(self) -> Path:
        return self.out.with_suffix(".json")


@dataclass(frozen=True)
class VideoSummary:
    video: Path
    sidecar: Path
    frames: int
    violations: tuple[str, ...]
    seconds: float = 0.0
    rendered_frames: int = 0  # frames drawn anew; the others repeated an unchanged predecessor
    boxes_per_class: dict[str, int] = field(default_factory=dict)
    unseen: tuple[str, ...] = ()  # violations of the scenario the camera never sees (kept out of the truth)


# -- scenarios -------------------------------------------------------------------------------------------------------


class _Cast:
    """Builds a scenario's actors on a street, with ids in order and style seeds from the scenario's rng."""

    def __init__(
        self, layout: StreetLayout, rng: np.random.Generator, duration: float, view: CameraView | None = None
    ) -> None:
        self.layout, self.rng, self.duration, self.view = layout, rng, duration, view
        self.actors: list[Actor] = []
        self._pile_boxes: list[Rect] = []  # in frame pixels

    def add(self, kind: SceneClass, appear: float, leave: float, path: list[Waypoint], **extra: float) -> None:
        style = int(self.rng.integers(2**31))
        self.actors.append(Actor(len(self.actors) + 1, kind, style, appear, leave, tuple(path), **extra))

    def walker(self, start: float) -> None:
        """A person walking across the whole street, on the sidewalk or crossing the road's near edge."""
        layout = self.layout
        y = self.rng.uniform(layout.shop_front_y + 0.15 * layout.sidewalk_depth, layout.curb_y)
        speed = self.rng.uniform(1.0, 1.6) * layout.px_per_m(y)
        self._crossing(SceneClass.PERSON, start, y, speed)

    def passing_vehicle(self, start: float) -> None:
        layout = self.layout
        y = self.rng.uniform(layout.curb_y + 0.3 * (layout.height - layout.curb_y), layout.height)
        speed = self.rng.uniform(5, 11) * layout.px_per_m(y)
        self._crossing(SceneClass.VEHICLE, start, y, speed)

    def _crossing(self, kind: SceneClass, start: float, y: float, speed: float) -> None:
        width = self.layout.width
        left_to_right = self.rng.random() < 0.5
        x0, x1 = (-0.05 * width, 1.05 * width) if left_to_right else (1.05 * width, -0.05 * width)
        end = start + 1.1 * width / speed
        self.add(kind, start, min(end, self.duration + 1), [Waypoint(start, x0, y), Waypoint(end, x1, y)])

    def stall(self, arrive: float, leave: float) -> None:
        """A stall wheeled in along the sidewalk into zone A, standing, then wheeled away."""
        layout = self.layout
        zone_x0, zone_x1 = layout.no_vending
        x = self.rng.uniform(zone_x0 + 0.25 * (zone_x1 - zone_x0), zone_x1 - 0.25 * (zone_x1 - zone_x0))
        y = self.rng.uniform(
            layout.shop_front_y + 0.45 * layout.sidewalk_depth, layout.curb_y - 0.08 * layout.sidewalk_depth
        )
        approach = max(1.0, min(6.0, 0.05 * self.duration))
        side = zone_x0 - 0.05 * layout.width if self.rng.random() < 0.5 else zone_x1 + 0.05 * layout.width
        path = [Waypoint(arrive, side, y), Waypoint(arrive + approach, x, y), Waypoint(leave - approach, x, y)]
        self.add(SceneClass.STALL, arrive, leave, [*path, Waypoint(leave, side, y)])

    def goods(self, shop_index: int, out: float, removed: float) -> None:
        """Goods set out just beyond a shop's door, then taken in."""
        layout = self.layout
        seen = [shop for shop in layout.shops if layout.in_view((shop.door_x0 + shop.door_x1) / 2)] or list(
            layout.shops
        )
        shop = seen[shop_index % len(seen)]
        x = self.rng.uniform(shop.door_x0, shop.door_x1)
        y = layout.shop_front_y + self.rng.uniform(0.1, 0.3) * layout.sidewalk_depth
        self.add(SceneClass.GOODS, out, removed, [Waypoint(out, x, y)])

    def dust(self, rise: float, settle: float) -> None:
        """A plume near the site's fence on the shops' side, growing and drifting across the fence."""
        site = self.layout.site
        assert site is not None
        toward_shops = 1.0 if site.x0 <= 0 else -1.0
        edge = site.x1 if toward_shops > 0 else site.x0
        x = edge - toward_shops * self.rng.uniform(0.25, 0.4) * (site.x1 - site.x0)
        y = site.y_fence - 0.6 * site.fence_height
        grow = max(1.0, 0.25 * (settle - rise))
        wind = toward_shops * self.rng.uniform(4, 8)
        self.add(SceneClass.DUST, rise, settle, [Waypoint(rise, x, y)], grow_s=grow, wind_m=wind)

    def pile(self, kind: SceneClass, start: float, end: float) -> None:
        """A heap lying in the yard where the camera sees it, beside the other heaps rather than behind them (a
        scenario about a pile out of the picture would judge nothing). Spots that fail are drawn again from a
        generator of their own, so the rest of the cast stays what it was; in a yard too small for that, the
        heap goes where it is best seen."""
        x, y = self._yard_spot(self.rng)
        self.add(kind, start, end, [Waypoint(start, x, y)])
        if self.view is None:
            return
        spare = spare_generator(x, y)
        best: tuple[float, Actor, Rect] | None = None
        for _ in range(PILE_SPOT_TRIES):
            heap = replace(self.actors[-1], path=(Waypoint(start, x, y),))
            box = self._box_in_frame(heap, self.view)
            badness = self._hidden_share(box, self.view)
            if best is None or badness < best[0]:
                best = (badness, heap, box)
            if badness == 0:
                break
            x, y = self._yard_spot(spare)
        assert best is not None
        self.actors[-1] = best[1]
        self._pile_boxes.append(best[2])

    def _yard_spot(self, rng: np.random.Generator) -> tuple[float, float]:
        site = self.layout.site
        assert site is not None
        yard = site.y_fence - site.y_back
        x = rng.uniform(site.x0 + 0.15 * (site.x1 - site.x0), site.x1 - 0.15 * (site.x1 - site.x0))
        return x, rng.uniform(site.y_back + 0.2 * yard, site.y_fence - 0.8 * site.fence_height)

    def _box_in_frame(self, actor: Actor, view: CameraView) -> Rect:
        """The frame box of a standing actor's sprite."""
        sprite = _ActorSprites(self.layout).sprite(actor, 0, 0)
        spot = actor.path[0]
        return view.projected_rect(*Placement(actor.kind, sprite, spot.x, spot.y).canvas_rect)

    def _hidden_share(self, box: Rect, view: CameraView) -> float:
        """How badly a heap's box is placed: 0 when at least ``PILE_IN_PICTURE`` of it lies in the frame and no
        other heap covers more than ``PILE_OVERLAP`` of either; else the share out of the frame or covered."""
        outside = 1 - rect_area(clip_rect(box, view.frame_rect)) / max(1, rect_area(box))
        covered = max(
            (
                rect_area(clip_rect(box, other)) / max(1, min(rect_area(box), rect_area(other)))
                for other in self._pile_boxes
            ),
            default=0.0,
        )
        fits = outside <= 1 - PILE_IN_PICTURE and covered <= PILE_OVERLAP
        return 0.0 if fits else max(outside, covered)

    def traffic(self, people_per_minute: float, vehicles_per_minute: float) -> None:
        for rate, make in ((people_per_minute, self.walker), (vehicles_per_minute, self.passing_vehicle)):
            t = self.rng.exponential(60 / rate) if rate > 0 else math.inf
            while t < self.duration:
                make(t)
                t += self.rng.exponential(60 / rate)


def _stall_scenario(cast: _Cast) -> None:
    d = cast.duration
    cast.stall(0.07 * d, 0.93 * d)
    cast.traffic(4, 2)


def _goods_scenario(cast: _Cast) -> None:
    d = cast.duration
    cast.goods(0, 0.15 * d, 0.6 * d)
    cast.goods(1, 0.3 * d, 0.9 * d)
    cast.traffic(4, 2)


def _dust_scenario(cast: _Cast) -> None:
    d = cast.duration
    cast.pile(SceneClass.COVERED_PILE, 0, d + 1)
    cast.pile(SceneClass.BARE_PILE, 0, 0.7 * d)  # then covered with netting: the rectification
    cast.actors.append(
        Actor(
            len(cast.actors) + 1,
            SceneClass.COVERED_PILE,
            cast.actors[-1].style_seed,
            0.7 * d,
            d + 1,
            cast.actors[-1].path,
        )
    )
    cast.dust(0.2 * d, 0.85 * d)
    cast.traffic(2, 2)


def _street_scenario(cast: _Cast) -> None:
    d = cast.duration
    cast.stall(0.1 * d, 0.8 * d)
    cast.goods(0, 0.25 * d, 0.65 * d)
    if cast.layout.site is not None:
        cast.pile(SceneClass.BARE_PILE, 0, d + 1)
        cast.dust(0.4 * d, 0.9 * d)
    cast.traffic(5, 3)


def _quiet_scenario(cast: _Cast) -> None:
    """Only passers-by: a video on which a detector and its rules must raise nothing."""
    cast.traffic(6, 4)


def _random_scenario(cast: _Cast) -> None:
    d, rng = cast.duration, cast.rng
    for _ in range(int(rng.integers(0, 3))):
        start = rng.uniform(0, 0.6) * d
        cast.stall(start, min(d + 1, start + rng.uniform(0.2, 0.8) * d))
    for _ in range(int(rng.integers(0, 4))):
        start = rng.uniform(0, 0.7) * d
        cast.goods(int(rng.integers(len(cast.layout.shops))), start, start + rng.uniform(0.1, 0.6) * d)
    if cast.layout.site is not None:
        for kind in (SceneClass.BARE_PILE, SceneClass.COVERED_PILE):
            for _ in range(int(rng.integers(0, 3))):
                cast.pile(kind, 0, d + 1)
        if rng.random() < 0.6:
            start = rng.uniform(0, 0.5) * d
            cast.dust(start, start + rng.uniform(0.3, 0.5) * d)
    cast.traffic(rng.uniform(1, 8), rng.uniform(0.5, 5))


# name → (whether the street needs a construction site, the builder)
SCENARIOS: dict[str, tuple[bool | None, Callable[[_Cast], None]]] = {
    "stall": (None, _stall_scenario),
    "goods": (None, _goods_scenario),
    "dust": (True, _dust_scenario),
    "street": (True, _street_scenario),
    "quiet": (None, _quiet_scenario),
}


def build_scenario(
    name: str, layout: StreetLayout, duration: float, rng: np.random.Generator, view: CameraView | None = None
) -> Scenario:
    """The scenario's actors on ``layout``; given the camera's ``view``, its heaps lie where the camera sees them."""
    builder = _random_scenario if name == "random" else SCENARIOS[name][1]
    cast = _Cast(layout, rng, duration, view)
    builder(cast)
    return Scenario(name, duration, tuple(cast.actors))


# -- rendering -------------------------------------------------------------------------------------------------------


class _ActorSprites:
    """Sprites of actors, drawn once per (actor, stride step, growth step): an actor looks the same all video."""

    def __init__(self, layout: StreetLayout) -> None:
        self.layout = layout
        self._cache: dict[tuple[int, int, int], Sprite] = {}

    def state(self, actor: Actor, t: float) -> tuple[int, int]:
        if actor.kind is SceneClass.PERSON:
            x, _ = actor.position(t)
            walked = abs(x - actor.path[0].x) / self.layout.px_per_m(actor.path[0].y)
            return int(walked / 0.35) % 8, 0  # a stride of 0.7 m in eight poses
        if actor.kind is SceneClass.DUST:
            return 0, round(actor.growth(t) * 40)
        return 0, 0

    def sprite(self, actor: Actor, step: int, growth_step: int) -> Sprite:
        key = (actor.actor_id, step, growth_step)
        if key not in self._cache:
            rng = np.random.default_rng(actor.style_seed)
            scale = self.layout.px_per_m(actor.path[0].y) * rng.uniform(0.9, 1.1)
            growth = growth_step / 40
            phase = step * math.pi / 4 if actor.kind is SceneClass.PERSON else actor.wind_m * growth
            self._cache[key] = draw_object(actor.kind, rng, scale, phase=phase, growth=growth)
        return self._cache[key]


def render_video(spec: VideoSpec, on_frame: Callable[[], None] | None = None) -> VideoSummary:
    started = time.perf_counter()
    rng = np.random.default_rng(spec.seed)
    needs_site = None if spec.scenario == "random" else SCENARIOS[spec.scenario][0]
    scenery = sample_scenery(rng, spec.width, spec.height, video=True, with_site=needs_site)
    scenario = build_scenario(spec.scenario, scenery.layout, spec.seconds, rng, scenery.view)
    renderer = FrameRenderer(scenery)
    sprites = _ActorSprites(scenery.layout)
    noise = _noise_pool(rng, scenery, spec)
    boxes: list[list[list[float]]] = []
    plume_crossings: dict[int, float] = {}
    rendered = 0
    spec.out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(spec.out), "w", format="mp4") as container:
        stream = _h264_stream(container, spec)
        last_key: tuple[Any, ...] | None = None
        frame = RenderedFrame(renderer.empty_frame(), ())
        for index in range(spec.frame_count):
            t = index / spec.fps
            placements, key = _placements(scenario, sprites, t)
            if key != last_key:
                frame, last_key, rendered = renderer.render(placements), key, rendered + 1
                _note_crossings(placements, scenery, t, plume_crossings)
            boxes.append(_frame_boxes(frame.labels, spec))
            image = _with_noise(frame.image, noise[index % len(noise)])
            _encode(container, stream, image, index)
            if on_frame is not None:
                on_frame()
        for packet in stream.encode(None):
            container.mux(packet)
    truth = ground_truth(spec, scenery, scenario, boxes, plume_crossings)
    spec.sidecar.write_text(json.dumps(truth, ensure_ascii=False, separators=(",", ":")) + "\n")
    per_class = {
        name: sum(1 for frame_boxes in boxes for b in frame_boxes if CLASS_NAMES[int(b[1])] == name)
        for name in CLASS_NAMES
    }
    return VideoSummary(
        spec.out,
        spec.sidecar,
        spec.frame_count,
        tuple(v["text"] for v in truth["violations"]),
        time.perf_counter() - started,
        rendered,
        per_class,
        tuple(v["text"] for v in truth["unseen_violations"]),
    )


def _placements(scenario: Scenario, sprites: _ActorSprites, t: float) -> tuple[list[Placement], tuple[Any, ...]]:
    placements: list[Placement] = []
    key: list[tuple[int, int, int, int, int]] = []
    for actor in scenario.actors:
        if not actor.present(t):
            continue
        x, y = actor.position(t)
        step, growth_step = sprites.state(actor, t)
        sprite = sprites.sprite(actor, step, growth_step)
        placements.append(Placement(actor.kind, sprite, x, y, actor.actor_id))
        key.append((actor.actor_id, round(x), round(y), step, growth_step))
    return placements, tuple(key)


def _note_crossings(placements: list[Placement], scenery: Scenery, t: float, crossings: dict[int, float]) -> None:
    """The first time each plume's dust (its opaque part) reaches past the site's side fences."""
    site = scenery.layout.site
    if site is None:
        return
    for placement in placements:
        if placement.kind is not SceneClass.DUST or placement.object_id in crossings:
            continue
        columns = np.flatnonzero((placement.sprite.alpha >= MASK_OPACITY).any(axis=0))
        if columns.size == 0:
            continue
        left, _ = placement.top_left
        if left + columns[0] < site.x0 or left + columns[-1] > site.x1:
            crossings[placement.object_id] = t


def _h264_stream(container: Any, spec: VideoSpec) -> Any:
    stream = container.add_stream("libx264", rate=spec.fps)
    stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
    stream.codec_context.gop_size = spec.gop
    stream.codec_context.time_base = Fraction(1, spec.fps)
    # A key frame exactly every `gop` frames (no scene-cut key frames in between), and a bit-rate cap as street
    # cameras have (4 Mbit/s at 1080p, scaled by area): sensor noise would otherwise cost hundreds of megabytes.
    kbits = max(200, round(4000 * spec.width * spec.height / (1920 * 1080)))
    params = f"keyint={spec.gop}:min-keyint={spec.gop}:scenecut=0:vbv-maxrate={kbits}:vbv-bufsize={2 * kbits}"
    # One encoder thread: x264's frame threads with a VBV cap make the bytes (and the decoded pictures) differ
    # from run to run, and the same seed must give the same video, ground truth and all.
    stream.options = {"preset": spec.preset, "crf": "23", "x264-params": params, "threads": "1"}
    return stream


def _encode(container: Any, stream: Any, image: Image, index: int) -> None:
    frame = av.VideoFrame.from_ndarray(image, format="bgr24")
    frame.pts = index
    frame.time_base = Fraction(1, stream.codec_context.time_base.denominator)
    for packet in stream.encode(frame):
        container.mux(packet)


def _noise_pool(rng: np.random.Generator, scenery: Scenery, spec: VideoSpec) -> list[tuple[Image, Image]]:
    sigma = scenery.look.noise_sigma
    if sigma <= 0:
        return [(np.zeros((1, 1, 3), np.uint8), np.zeros((1, 1, 3), np.uint8))]
    pool = []
    for _ in range(NOISE_POOL):
        field = rng.normal(0, sigma, (spec.height, spec.width, 1)).astype(np.float32)
        rounded = np.repeat(np.rint(field), 3, axis=2)
        pool.append((np.clip(rounded, 0, 255).astype(np.uint8), np.clip(-rounded, 0, 255).astype(np.uint8)))
    return pool


def _with_noise(image: Image, noise: tuple[Image, Image]) -> Image:
    raised, lowered = noise
    if raised.shape != image.shape:
        return image
    return _as_image(cv2.subtract(cv2.add(image, raised), lowered))


def _as_image(array: Any) -> Image:
    return np.asarray(array, np.uint8)


def _frame_boxes(labels: tuple[Label, ...], spec: VideoSpec) -> list[list[float]]:
    return [
        [
            label.object_id,
            int(label.kind),
            round(label.box[0] / spec.width, 5),
            round(label.box[1] / spec.height, 5),
            round(label.box[2] / spec.width, 5),
            round(label.box[3] / spec.height, 5),
        ]
        for label in labels
    ]


# -- ground truth ----------------------------------------------------------------------------------------------------


def clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60:02d}:{whole % 60:02d}"


def ground_truth(
    spec: VideoSpec,
    scenery: Scenery,
    scenario: Scenario,
    boxes: list[list[list[float]]],
    crossings: dict[int, float],
) -> dict[str, Any]:
    return {
        "format": "offsite-synthetic-video/1",
        "revision": REVISION,
        "video": spec.out.name,
        "scenario": scenario.name,
        "seed": spec.seed,
        "fps": spec.fps,
        "width": spec.width,
        "height": spec.height,
        "frame_count": spec.frame_count,
        "duration_s": spec.frame_count / spec.fps,
        "keyframe_interval_s": spec.gop / spec.fps,
        "classes": list(CLASS_NAMES),
        "zones": zones(scenery),
        "objects": [
            {
                "id": actor.actor_id,
                "class": CLASS_NAMES[actor.kind],
                "appear_s": round(max(0.0, actor.appear_s), 3),
                "leave_s": round(min(actor.leave_s, spec.frame_count / spec.fps), 3),
            }
            for actor in scenario.actors
        ],
        **seen_violations(violations(spec, scenery, scenario, crossings), boxes, spec.fps),
        "frame_boxes_format": ["object_id", "class", "x0", "y0", "x1", "y1"],
        "frames": boxes,
    }


def zones(scenery: Scenery) -> list[dict[str, Any]]:
    """Zones in normalised frame coordinates: zone A (no vending), each shop's sidewalk strip with its shop-front
    line, and the site with its boundary (the enclosure)."""
    layout, view = scenery.layout, scenery.view
    front, curb = layout.shop_front_y, layout.curb_y
    x0, x1 = layout.no_vending
    found: list[dict[str, Any]] = [
        {
            "id": "A",
            "kind": "no_vending",
            "polygon": view.zone_in_frame([(x0, front), (x1, front), (x1, curb), (x0, curb)]),
        }
    ]
    for shop in layout.shops:
        strip = view.zone_in_frame([(shop.x0, front), (shop.x1, front), (shop.x1, curb), (shop.x0, curb)])
        line = view.line_in_frame([(shop.x0, front), (shop.x1, front)])
        if strip and line:
            street_side = tuple(round(float(v), 5) for v in np.mean(strip, axis=0))  # inside the strip: the street side
            found.append(
                {
                    "id": shop.code,
                    "kind": "shop_strip",
                    "polygon": strip,
                    "shop_front_line": line,
                    "street_side": street_side,
                }
            )
    if layout.site is not None:
        site = layout.site
        yard = [(site.x0, site.y_back), (site.x1, site.y_back), (site.x1, site.y_fence), (site.x0, site.y_fence)]
        polygon = view.zone_in_frame(yard)
        found.append({"id": site.code, "kind": "site", "polygon": polygon, "boundary": polygon})
    return [zone for zone in found if zone["polygon"]]


def _inside_interval(
    actor: Actor, frame_times: list[float], inside: Callable[[float, float], bool]
) -> tuple[float, float] | None:
    """The first and last frame (end exclusive) during which the actor stands inside a zone."""
    hits = [t for t in frame_times if actor.present(t) and inside(*actor.position(t))]
    if not hits:
        return None
    return hits[0], hits[-1] + (frame_times[1] - frame_times[0] if len(frame_times) > 1 else 0.0)


def violations(
    spec: VideoSpec, scenery: Scenery, scenario: Scenario, crossings: dict[int, float]
) -> list[dict[str, Any]]:
    layout = scenery.layout
    times = [i / spec.fps for i in range(spec.frame_count)]
    end_of_video = spec.frame_count / spec.fps
    found: list[dict[str, Any]] = []
    for actor in scenario.actors:
        if actor.kind is SceneClass.STALL:
            span = _inside_interval(actor, times, _in_sidewalk_stretch(layout, *layout.no_vending))
            if span:
                text = f"a stall enters zone A at {clock(span[0])} and stays {clock(span[1] - span[0])}"
                found.append(_violation("stall", "A", actor, span, text))
        elif actor.kind is SceneClass.GOODS:
            for shop in layout.shops:
                span = _inside_interval(actor, times, _in_sidewalk_stretch(layout, shop.x0, shop.x1))
                if span:
                    after = ", then removed" if span[1] < end_of_video else ", still out at the end"
                    text = f"goods outside shop {shop.code} from {clock(span[0])} to {clock(span[1])}{after}"
                    found.append(_violation("cross_door", shop.code, actor, span, text))
        elif actor.kind is SceneClass.DUST and layout.site is not None:
            span = (max(0.0, actor.appear_s), min(actor.leave_s, end_of_video))
            crossing = crossings.get(actor.actor_id)
            text = f"dust rises in {layout.site.code} at {clock(span[0])}" + (
                f" and crosses the site boundary at {clock(crossing)}" if crossing is not None else ""
            )
            entry = _violation("dust", layout.site.code, actor, span, text)
            found.append(entry | {"crosses_boundary_s": None if crossing is None else round(crossing, 3)})
        elif actor.kind is SceneClass.BARE_PILE and layout.site is not None:
            site = layout.site
            span = (max(0.0, actor.appear_s), min(actor.leave_s, end_of_video))
            inside = site.x0 <= actor.path[0].x <= site.x1 and actor.path[0].y <= site.y_fence
            kind = "bare_pile" if inside else "pile_outside_site"
            text = f"a bare pile lies uncovered in {site.code} from {clock(span[0])} to {clock(span[1])}"
            found.append(_violation(kind, site.code, actor, span, text))
    return sorted(found, key=lambda v: (v["start_s"], v["object"]))


def seen_violations(found: list[dict[str, Any]], boxes: list[list[list[float]]], fps: int) -> dict[str, Any]:
    """Split the violations into those the camera sees (their object is labelled in some frame of the violation's
    span) and those it never sees (out of the picture or hidden all along): no one could judge the second from this
    video, so they are kept apart as ``unseen_violations``, not in the truth a detector is scored against."""
    labelled: dict[int, list[float]] = {}
    for index, frame_boxes in enumerate(boxes):
        for box in frame_boxes:
            labelled.setdefault(int(box[0]), []).append(index / fps)
    seen: list[dict[str, Any]] = []
    unseen: list[dict[str, Any]] = []
    for violation in found:
        times = labelled.get(violation["object"], [])
        shown = any(violation["start_s"] <= t < violation["end_s"] for t in times)
        (seen if shown else unseen).append(violation)
    return {"violations": seen, "unseen_violations": unseen}


def _in_sidewalk_stretch(layout: StreetLayout, x0: float, x1: float) -> Callable[[float, float], bool]:
    """Whether feet at (x, y) stand on the sidewalk between x0 and x1: beyond the shop-front line, before the curb."""

    def inside(x: float, y: float) -> bool:
        return x0 <= x <= x1 and layout.shop_front_y < y <= layout.curb_y

    return inside


def _violation(kind: str, zone: str, actor: Actor, span: tuple[float, float], text: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "zone": zone,
        "object": actor.actor_id,
        "start_s": round(span[0], 3),
        "end_s": round(span[1], 3),
        "dwell_s": round(span[1] - span[0], 3),
        "text": text,
    }
