"""One camera frame of a street: objects placed on the canvas in depth order, the camera's view of it, and labels
taken from each object's visible pixels after the warp.

Label rules (the numbers are the module constants below):
- a pixel belongs to an object where the object is drawn at least ``MASK_OPACITY`` opaque (dust is soft-edged)
  and nothing solid is drawn in front of it (dust, being see-through, hides nothing);
- a pixel belongs to a plume only where the plume also changes the picture by at least ``DUST_CONTRAST`` in some
  colour channel: pale dust against a pale sky shows nothing there, and what shows nothing is not labelled;
- an object is labelled only if at least ``MIN_VISIBLE_FRACTION`` of its own pixels are both unoccluded and inside
  the frame (mostly hidden or mostly out-of-frame objects get no label), and its box is at least ``MIN_BOX_PIXELS``
  on each side;
- the box is the tight bounds of the visible pixels in the frame (so always inside the image).

Goods outside a shop stand apart from one another (``GOODS_GAP``): two displays that touch show no edge between
them, so they would be one display to anyone boxing them, and labelling them as two teaches the detector nothing it
could see.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from vision.synthetic.camera import CameraView, Look, Optics, Rect, sample_camera, sample_look
from vision.synthetic.classes import SceneClass
from vision.synthetic.sprites import Image, Sprite, draw_object
from vision.synthetic.street import StreetLayout, fence_sprite, paint_street, sample_layout

MASK_OPACITY = 77  # of 255: 30% opaque
DUST_CONTRAST = 24  # of 255
MIN_VISIBLE_FRACTION = 0.4
MIN_BOX_PIXELS = 3
GOODS_GAP = 0.15  # of the narrower display's width: the least space between two displays of goods
GOODS_SPOT_TRIES = 20
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Placement:
    """A sprite standing on the canvas with its bottom centre at (x, y). ``kind`` None is scenery that hides
    what stands behind it (the site fence) and is never labelled."""

    kind: SceneClass | None
    sprite: Sprite
    x: float
    y: float
    object_id: int = 0

    @property
    def top_left(self) -> tuple[int, int]:
        return round(self.x - self.sprite.width / 2), round(self.y) - self.sprite.height + 1

    @property
    def canvas_rect(self) -> tuple[int, int, int, int]:
        x0, y0 = self.top_left
        return x0, y0, x0 + self.sprite.width, y0 + self.sprite.height


@dataclass(frozen=True)
class Label:
    object_id: int
    kind: SceneClass
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in frame pixels, x1 and y1 exclusive
    visible_fraction: float

    def yolo_line(self, width: int, height: int) -> str:
        x0, y0, x1, y1 = self.box
        cx, cy = (x0 + x1) / 2 / width, (y0 + y1) / 2 / height
        return f"{int(self.kind)} {cx:.6f} {cy:.6f} {(x1 - x0) / width:.6f} {(y1 - y0) / height:.6f}"


@dataclass(frozen=True, eq=False)
class RenderedFrame:
    image: Image
    labels: tuple[Label, ...]
    masks: dict[int, Mask] | None = None  # object id → its visible pixels in the frame, when asked for


@dataclass(frozen=True, eq=False)
class Scenery:
    """What does not move: the street, the camera and the light. Built once per dataset image or per video."""

    layout: StreetLayout
    background: Image  # canvas
    fence: Placement | None
    view: CameraView
    look: Look


def sample_scenery(
    rng: np.random.Generator, width: int, height: int, video: bool = False, with_site: bool | None = None
) -> Scenery:
    layout = sample_layout(rng, width, height, with_site)
    background = paint_street(layout, rng)
    fence = None
    if layout.site is not None:
        site = layout.site
        fence = Placement(None, fence_sprite(layout, site, rng), (site.x0 + site.x1) / 2, site.y_fence)
    view = sample_camera(rng, layout, width, height, strength=0.7 if video else 1.0)
    return Scenery(layout, background, fence, view, sample_look(rng, video))


class FrameRenderer:
    """Renders frames of one scenery. The static part (street seen through the camera, lit) is computed once;
    each frame re-renders only the regions its objects cover, which keeps long videos cheap."""

    def __init__(self, scenery: Scenery) -> None:
        self.scenery = scenery
        view = scenery.view
        self.optics = Optics(scenery.look, view.frame_width, view.frame_height)
        self._pad = 2 + math.ceil(3 * scenery.look.blur_sigma)
        street, _, _ = compose(scenery.background, [], scenery.fence)
        self._static = self.optics.light(_as_image(view.warp(street, view.frame_rect)), 0)

    def render(self, placements: list[Placement], with_masks: bool = False) -> RenderedFrame:
        canvas, ids, seen = compose(self.scenery.background, placements, self.scenery.fence)
        frame = self._static.copy()
        for placement in placements:
            self._repaint(frame, canvas, placement)
        labels, masks = self._labels(placements, ids, seen, with_masks)
        return RenderedFrame(frame, labels, masks)

    def empty_frame(self) -> Image:
        """The street with no objects, before sensor noise (for checking what objects changed)."""
        return self._static.copy()

    def _repaint(self, frame: Image, canvas: Image, placement: Placement) -> None:
        view, pad = self.scenery.view, self._pad
        x0, y0, x1, y1 = clip_rect(view.projected_rect(*placement.canvas_rect), view.frame_rect)
        if x1 <= x0 or y1 <= y0:
            return
        outer = clip_rect((x0 - pad, y0 - pad, x1 + pad, y1 + pad), view.frame_rect)
        region = self.optics.light(_as_image(view.warp(canvas, outer)), outer[1])
        frame[y0:y1, x0:x1] = region[y0 - outer[1] : y1 - outer[1], x0 - outer[0] : x1 - outer[0]]

    def _labels(
        self, placements: list[Placement], ids: npt.NDArray[np.uint16], seen: dict[int, Image], with_masks: bool
    ) -> tuple[tuple[Label, ...], dict[int, Mask] | None]:
        labels: list[Label] = []
        masks: dict[int, Mask] | None = {} if with_masks else None
        for placement in placements:
            if placement.kind is None:
                continue
            found = self._visible(placement, ids, seen)
            if found is None:
                continue
            label, mask, where = found
            labels.append(label)
            if masks is not None:
                full = np.zeros((self.scenery.view.frame_height, self.scenery.view.frame_width), np.bool_)
                full[where[1] : where[3], where[0] : where[2]] = mask
                masks[placement.object_id] = full
        return tuple(labels), masks

    def _visible(
        self, placement: Placement, ids: npt.NDArray[np.uint16], seen: dict[int, Image]
    ) -> tuple[Label, Mask, Rect] | None:
        view = self.scenery.view
        rect = view.projected_rect(*placement.canvas_rect)
        alpha = seen.get(placement.object_id, placement.sprite.alpha)
        own = _as_mask(view.warp_patch(alpha, placement.top_left, rect) >= MASK_OPACITY)
        own_pixels = int(own.sum())
        if own_pixels == 0:
            return None
        if placement.kind is SceneClass.DUST:
            visible = own
        else:
            visible = _as_mask(view.warp(ids, rect, nearest=True) == placement.object_id) & own
        inside = clip_rect(rect, view.frame_rect)
        if inside[2] <= inside[0] or inside[3] <= inside[1]:
            return None
        cropped = visible[inside[1] - rect[1] : inside[3] - rect[1], inside[0] - rect[0] : inside[2] - rect[0]]
        fraction = float(cropped.sum()) / own_pixels
        if fraction < MIN_VISIBLE_FRACTION:
            return None
        bx, by, bw, bh = cv2.boundingRect(cropped.astype(np.uint8))
        if bw < MIN_BOX_PIXELS or bh < MIN_BOX_PIXELS:
            return None
        box = (inside[0] + bx, inside[1] + by, inside[0] + bx + bw, inside[1] + by + bh)
        assert placement.kind is not None
        return Label(placement.object_id, placement.kind, box, round(fraction, 3)), cropped, inside


def compose(
    background: Image, placements: list[Placement], fence: Placement | None
) -> tuple[Image, npt.NDArray[np.uint16], dict[int, Image]]:
    """Paint objects far to near (by the y of their feet), then plumes on top; return the canvas, the map of
    which object owns each pixel (0: none), and each plume's opacity where it shows (see ``DUST_CONTRAST``)."""
    canvas = background.copy()
    ids = np.zeros(canvas.shape[:2], np.uint16)
    solid = [p for p in placements if p.kind is not SceneClass.DUST] + ([fence] if fence else [])
    for placement in sorted(solid, key=lambda p: p.y):
        if placement.kind is not None:
            _cast_shadow(canvas, placement)
        _paste(canvas, ids, placement)
    seen = {p.object_id: _paste_plume(canvas, p) for p in placements if p.kind is SceneClass.DUST}
    return canvas, ids, seen


Window = tuple[slice, slice]


def _overlap(canvas: Image, placement: Placement) -> tuple[Window, Window] | None:
    """Where a sprite falls on the canvas: (the canvas's rows and columns, the sprite's), or None if off it."""
    x0, y0, x1, y1 = placement.canvas_rect
    cx0, cy0, cx1, cy1 = clip_rect((x0, y0, x1, y1), (0, 0, canvas.shape[1], canvas.shape[0]))
    if cx1 <= cx0 or cy1 <= cy0:
        return None
    return (slice(cy0, cy1), slice(cx0, cx1)), (slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))


def _paste_plume(canvas: Image, placement: Placement) -> Image:
    """Paste a plume and return its opacity, cleared where it changed the canvas too little to be seen."""
    alpha = placement.sprite.alpha.copy()
    overlap = _overlap(canvas, placement)
    if overlap is None:
        return alpha
    on_canvas, on_sprite = overlap
    before = canvas[on_canvas].astype(np.int16)
    _paste(canvas, None, placement)
    change = np.abs(canvas[on_canvas].astype(np.int16) - before).max(axis=2)
    alpha[on_sprite][change < DUST_CONTRAST] = 0
    return alpha


def _paste(canvas: Image, ids: npt.NDArray[np.uint16] | None, placement: Placement) -> None:
    overlap = _overlap(canvas, placement)
    if overlap is None:
        return
    on_canvas, on_sprite = overlap
    alpha = placement.sprite.alpha[on_sprite].astype(np.uint16)[..., None]
    target = canvas[on_canvas]
    blended = (
        placement.sprite.image[on_sprite].astype(np.uint16) * alpha + target.astype(np.uint16) * (255 - alpha)
    ) // 255
    target[:] = blended.astype(np.uint8)
    if ids is not None:
        ids[on_canvas][placement.sprite.alpha[on_sprite] >= MASK_OPACITY] = placement.object_id


def _cast_shadow(canvas: Image, placement: Placement) -> None:
    """A soft dark ellipse under the object: grounds it, and is not part of its label."""
    if placement.kind is SceneClass.DUST:
        return
    centre = (round(placement.x), round(placement.y))
    axes = (max(1, placement.sprite.width // 2), max(1, placement.sprite.height // 12))
    x0, y0 = centre[0] - axes[0] - 1, centre[1] - axes[1] - 1
    x1, y1 = centre[0] + axes[0] + 2, centre[1] + axes[1] + 2
    cx0, cy0, cx1, cy1 = clip_rect((x0, y0, x1, y1), (0, 0, canvas.shape[1], canvas.shape[0]))
    if cx1 <= cx0 or cy1 <= cy0:
        return
    region = canvas[cy0:cy1, cx0:cx1]
    dark = region.copy()
    cv2.ellipse(dark, (centre[0] - cx0, centre[1] - cy0), axes, 0, 0, 360, (0, 0, 0), -1, cv2.LINE_AA)
    cv2.addWeighted(region, 0.65, dark, 0.35, 0, dst=region)


def clip_rect(rect: Rect, bounds: Rect) -> Rect:
    """The part of ``rect`` inside ``bounds`` (empty, x1 <= x0 or y1 <= y0, when they do not meet)."""
    return max(rect[0], bounds[0]), max(rect[1], bounds[1]), min(rect[2], bounds[2]), min(rect[3], bounds[3])


def spare_generator(*numbers: float) -> np.random.Generator:
    """A generator of its own, seeded by the numbers of what failed (a spot, an id), for drawing one object again:
    the scene's generator is left as it was, so nothing else in the scene moves."""
    return np.random.default_rng([abs(round(number)) for number in numbers])


def rect_area(rect: Rect) -> int:
    return max(0, rect[2] - rect[0]) * max(0, rect[3] - rect[1])


def _as_image(array: npt.NDArray[np.generic]) -> Image:
    return array.astype(np.uint8, copy=False)


def _as_mask(array: npt.NDArray[np.generic]) -> Mask:
    return array.astype(np.bool_, copy=False)


# -- a random still scene, for the training set --------------------------------------------------------------------


def spot_for(kind: SceneClass, layout: StreetLayout, rng: np.random.Generator) -> tuple[float, float] | None:
    """A plausible place for an object's feet, or None where the street has no such place (no site, no shop)."""
    front, curb, sidewalk = layout.shop_front_y, layout.curb_y, layout.sidewalk_depth
    road = layout.height - curb
    if kind is SceneClass.STALL:
        lo, hi = layout.shops_x_range()
        return rng.uniform(lo, hi), rng.uniform(front + 0.35 * sidewalk, curb - 0.03 * sidewalk)
    if kind is SceneClass.GOODS:
        if not layout.shops:
            return None
        shop = layout.shops[int(rng.integers(len(layout.shops)))]
        reach = layout.px_per_m(front) * 1.5
        return rng.uniform(shop.door_x0 - reach, shop.door_x1 + reach), rng.uniform(
            front + 0.06 * sidewalk, front + 0.3 * sidewalk
        )
    if kind is SceneClass.PERSON:
        on_road = rng.random() < 0.3
        y = rng.uniform(curb + 0.05 * road, layout.height) if on_road else rng.uniform(front + 0.05 * sidewalk, curb)
        return rng.uniform(0, layout.width), y
    if kind is SceneClass.VEHICLE:
        return rng.uniform(0, layout.width), rng.uniform(curb + 0.25 * road, layout.height + 0.05 * road)
    site = layout.site
    if site is None:
        return None
    if kind in (SceneClass.BARE_PILE, SceneClass.COVERED_PILE) and rng.random() < 0.12:
        # piled outside the enclosure, on the sidewalk in front of it (a violation of its own)
        return rng.uniform(site.x0, site.x1), rng.uniform(site.y_fence + 0.3 * (curb - site.y_fence), curb)
    yard = site.y_fence - site.y_back
    x = rng.uniform(site.x0 + 0.05 * (site.x1 - site.x0), site.x1 - 0.05 * (site.x1 - site.x0))
    return x, rng.uniform(site.y_back + 0.1 * yard, site.y_fence - 0.5 * site.fence_height)


# how many of each object a still scene holds: a choice from these counts
SCENE_COUNTS: dict[SceneClass, tuple[int, ...]] = {
    SceneClass.STALL: (0, 1, 1, 2, 3),
    SceneClass.GOODS: (0, 1, 2, 3, 4, 5, 6),  # goods are the smallest objects: give them the most examples
    SceneClass.PERSON: (0, 1, 2, 3, 4, 6),
    SceneClass.VEHICLE: (0, 1, 1, 2, 3),
    SceneClass.DUST: (0, 1, 1, 2),
    SceneClass.BARE_PILE: (0, 1, 2, 3),
    SceneClass.COVERED_PILE: (0, 1, 2, 3),
}


def sample_placements(layout: StreetLayout, rng: np.random.Generator) -> list[Placement]:
    placements: list[Placement] = []
    for kind, counts in SCENE_COUNTS.items():
        for _ in range(int(rng.choice(counts))):
            spot = spot_for(kind, layout, rng)
            if spot is None:
                continue
            drawn = _placed(kind, spot, layout, rng, len(placements) + 1)
            placement = _apart_from_goods(drawn, placements, layout) if kind is SceneClass.GOODS else drawn
            if placement is not None:
                placements.append(placement)
    _add_occluders(placements, layout, rng)
    if not placements:
        spot = spot_for(SceneClass.PERSON, layout, rng)
        assert spot is not None
        placements.append(_placed(SceneClass.PERSON, spot, layout, rng, 1))
    return placements


def _placed(
    kind: SceneClass, spot: tuple[float, float], layout: StreetLayout, rng: np.random.Generator, object_id: int
) -> Placement:
    scale = layout.px_per_m(spot[1]) * rng.uniform(0.88, 1.12)
    sprite = draw_object(kind, rng, scale, phase=rng.uniform(-3, 3), growth=rng.uniform(0.3, 1.0))
    return Placement(kind, sprite, spot[0], spot[1], object_id)


def _apart_from_goods(goods: Placement, placements: list[Placement], layout: StreetLayout) -> Placement | None:
    """``goods`` if it keeps ``GOODS_GAP`` from every display already placed, else another display drawn by a
    shop where it does; None when no such spot is found. The redrawn displays come from a generator of their
    own, so scenes whose goods already stand apart are unchanged."""
    others = [p for p in placements if p.kind is SceneClass.GOODS]
    spare = spare_generator(goods.x, goods.y, goods.object_id)
    candidate = goods
    for _ in range(GOODS_SPOT_TRIES):
        if all(_stand_apart(candidate, other) for other in others):
            return candidate
        spot = spot_for(SceneClass.GOODS, layout, spare)
        assert spot is not None  # goods were placed, so the street has shops
        candidate = _placed(SceneClass.GOODS, spot, layout, spare, goods.object_id)
    return None


def _stand_apart(first: Placement, second: Placement) -> bool:
    gap = GOODS_GAP * min(first.sprite.width, second.sprite.width)
    a, b = first.canvas_rect, second.canvas_rect
    return a[2] + gap <= b[0] or b[2] + gap <= a[0] or a[3] + gap <= b[1] or b[3] + gap <= a[1]


def _add_occluders(placements: list[Placement], layout: StreetLayout, rng: np.random.Generator) -> None:
    """People walking just in front of stalls and goods, so that the detector learns partly hidden objects."""
    for target in [p for p in placements if p.kind in (SceneClass.STALL, SceneClass.GOODS)]:
        if rng.random() < 0.35:
            x = target.x + rng.uniform(-0.5, 0.5) * target.sprite.width
            y = target.y + rng.uniform(0.02, 0.1) * layout.sidewalk_depth
            placements.append(_placed(SceneClass.PERSON, (x, y), layout, rng, len(placements) + 1))


def render_still(seed: int, width: int, height: int, with_masks: bool = False) -> RenderedFrame:
    """One random, labelled street frame; the same seed and size give the same pixels and labels."""
    rng = np.random.default_rng(seed)
    scenery = sample_scenery(rng, width, height)
    placements = sample_placements(scenery.layout, rng)
    renderer = FrameRenderer(scenery)
    frame = renderer.render(placements, with_masks)
    image = renderer.optics.sensor(frame.image, rng)
    return RenderedFrame(image, frame.labels, frame.masks)
