"""The street a fixed camera watches: its geometry (shop fronts, sidewalk, road, construction site) and its static
picture, painted once per scene or video.

Everything here is in *canvas* pixels: the canvas is larger than the camera's frame by a margin on every side, so
that the camera's perspective warp always has scene to show and never a black corner.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vision.synthetic.sprites import Colour, Image, Sprite, dull, hsv_colour, shade, vivid

CANVAS_MARGIN = 0.15  # of the frame's size, on every side


@dataclass(frozen=True)
class Shop:
    code: str  # "S1", "S2" … the shop's name in zones and the ground truth
    x0: float
    x1: float
    door_x0: float
    door_x1: float


@dataclass(frozen=True)
class Site:
    """A construction site: its yard from ``y_back`` to the front fence at ``y_fence``, fenced on every side."""

    code: str
    x0: float
    x1: float
    y_back: float
    y_fence: float
    fence_height: float  # pixels


@dataclass(frozen=True)
class StreetLayout:
    width: int  # canvas size
    height: int
    shop_front_y: float  # the shop-front line: where the shops' outer walls meet the sidewalk
    curb_y: float  # sidewalk ends, road begins
    shops: tuple[Shop, ...]
    site: Site | None
    no_vending: tuple[float, float]  # x-range of no-vending zone "A" on the sidewalk
    px_per_m_bottom: float  # how many pixels one metre spans at the bottom row

    def px_per_m(self, y: float) -> float:
        """Farther up the canvas is farther from the camera: objects shrink to 35% at the top row."""
        return self.px_per_m_bottom * (0.35 + 0.65 * max(0.0, y) / self.height)

    @property
    def sidewalk_depth(self) -> float:
        return self.curb_y - self.shop_front_y

    def in_view(self, x: float) -> bool:
        """Whether x lies within the frame's part of the canvas (before the camera's warp, which keeps most of it)."""
        margin = self.width * CANVAS_MARGIN / (1 + 2 * CANVAS_MARGIN)
        return margin * 1.3 <= x <= self.width - margin * 1.3

    def shops_x_range(self) -> tuple[float, float]:
        """Where shops stand (the part of the street the site does not take)."""
        if self.site is None:
            return 0.0, float(self.width)
        if self.site.x0 <= 0:
            return self.site.x1, float(self.width)
        return 0.0, self.site.x0


def sample_layout(
    rng: np.random.Generator, frame_width: int, frame_height: int, with_site: bool | None = None
) -> StreetLayout:
    """A random street; ``with_site`` forces a construction site in or out (None: seven streets in ten have one)."""
    width = round(frame_width * (1 + 2 * CANVAS_MARGIN))
    height = round(frame_height * (1 + 2 * CANVAS_MARGIN))
    shop_front_y = height * rng.uniform(0.3, 0.42)
    curb_y = shop_front_y + height * rng.uniform(0.15, 0.32)
    px_per_m_bottom = height * rng.uniform(0.055, 0.1)
    has_site = rng.random() < 0.7 if with_site is None else with_site
    site = _sample_site(rng, width, height, shop_front_y, curb_y, px_per_m_bottom) if has_site else None
    layout = StreetLayout(width, height, shop_front_y, curb_y, (), site, (0.0, 0.0), px_per_m_bottom)
    shops = _sample_shops(rng, layout)
    lo, hi = layout.shops_x_range()
    margin = width * CANVAS_MARGIN / (1 + 2 * CANVAS_MARGIN) * 1.3  # zone A lies where the camera sees
    lo, hi = max(lo, margin), min(hi, width - margin)
    zone_width = (hi - lo) * rng.uniform(0.4, 0.8)
    zone_x0 = lo + rng.uniform(0, hi - lo - zone_width)
    return StreetLayout(
        width, height, shop_front_y, curb_y, shops, site, (zone_x0, zone_x0 + zone_width), px_per_m_bottom
    )


def _sample_site(
    rng: np.random.Generator, width: int, height: int, shop_front_y: float, curb_y: float, px_per_m_bottom: float
) -> Site:
    site_width = width * rng.uniform(0.35, 0.55)
    on_left = rng.random() < 0.5
    x0, x1 = (0.0, site_width) if on_left else (width - site_width, float(width))
    y_fence = shop_front_y + (curb_y - shop_front_y) * rng.uniform(0.35, 0.7)
    y_back = shop_front_y - height * rng.uniform(0.14, 0.22)
    scale = px_per_m_bottom * (0.35 + 0.65 * y_fence / height)
    return Site("site-1", x0, x1, y_back, y_fence, rng.uniform(1.8, 2.5) * scale)


def _sample_shops(rng: np.random.Generator, layout: StreetLayout) -> tuple[Shop, ...]:
    lo, hi = layout.shops_x_range()
    scale = layout.px_per_m(layout.shop_front_y)
    shops: list[Shop] = []
    x = lo
    while x < hi - 2 * scale:
        shop_width = min(hi - x, rng.uniform(4.5, 9.0) * scale)
        door_width = rng.uniform(1.2, 2.5) * scale
        door_x0 = x + rng.uniform(0.15, 0.85) * max(0.0, shop_width - door_width)
        shops.append(Shop(f"S{len(shops) + 1}", x, x + shop_width, door_x0, door_x0 + door_width))
        x += shop_width
    return tuple(shops)


# -- painting ------------------------------------------------------------------------------------------------------


def paint_street(layout: StreetLayout, rng: np.random.Generator) -> Image:
    """The static picture: sky, buildings and shop fronts, sidewalk, road and the site's yard."""
    canvas = np.empty((layout.height, layout.width, 3), np.uint8)
    _paint_sky_and_buildings(canvas, layout, rng)
    _paint_sidewalk(canvas, layout, rng)
    _paint_road(canvas, layout, rng)
    for shop in layout.shops:
        _paint_shop(canvas, layout, shop, rng)
    if layout.site is not None:
        _paint_site_yard(canvas, layout, layout.site, rng)
    _paint_street_furniture(canvas, layout, rng)
    grain = rng.normal(0, 4, canvas.shape[:2]).astype(np.float32)
    return np.asarray(np.clip(canvas.astype(np.float32) + grain[..., None], 0, 255), np.uint8)


def _paint_sky_and_buildings(canvas: Image, layout: StreetLayout, rng: np.random.Generator) -> None:
    canvas[:] = _sky(layout.height, rng)
    scale = layout.px_per_m(layout.shop_front_y)
    x = 0.0
    while x < layout.width:  # building blocks above the shop fronts
        block = rng.uniform(8, 20) * scale
        roof = layout.shop_front_y - rng.uniform(8, 25) * scale
        wall = hsv_colour(rng.uniform(0, 180), rng.uniform(0, 50), rng.uniform(150, 230))
        cv2.rectangle(canvas, (int(x), int(roof)), (int(x + block), int(layout.shop_front_y)), wall, -1)
        window = shade(wall, rng.uniform(0.45, 0.7))
        floor = 3.0 * scale
        y = layout.shop_front_y - 4.5 * scale
        while y - floor * 0.5 > roof:
            for wx in np.arange(x + scale, x + block - 1.5 * scale, 2.4 * scale):
                cv2.rectangle(canvas, (int(wx), int(y - floor * 0.55)), (int(wx + 1.4 * scale), int(y)), window, -1)
            y -= floor
        x += block


def _sky(height: int, rng: np.random.Generator) -> Image:
    """A column of sky colours, top to bottom (clear blue to overcast grey)."""
    top = np.array(hsv_colour(105, rng.uniform(20, 90), 250), np.float32)
    bottom = np.array(hsv_colour(100, 20, 215), np.float32)
    ramp = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    return (top * (1 - ramp) + bottom * ramp).astype(np.uint8)


def _paint_shop(canvas: Image, layout: StreetLayout, shop: Shop, rng: np.random.Generator) -> None:
    scale = layout.px_per_m(layout.shop_front_y)
    base, storey = int(layout.shop_front_y), 3.4 * scale
    front = hsv_colour(rng.uniform(0, 180), rng.uniform(0, 60), rng.uniform(120, 220))
    cv2.rectangle(canvas, (int(shop.x0), int(base - storey)), (int(shop.x1), base), front, -1)
    sign = vivid(rng)  # the shop sign with pseudo characters
    sign_top, sign_bottom = int(base - storey), int(base - storey + 0.9 * scale)
    cv2.rectangle(canvas, (int(shop.x0), sign_top), (int(shop.x1), sign_bottom), sign, -1)
    glyph = max(2, int(0.5 * scale))
    for gx in range(int(shop.x0 + scale), int(shop.x1 - scale), int(glyph * 1.5)):
        cv2.rectangle(canvas, (gx, sign_top + glyph // 3), (gx + glyph, sign_top + glyph), (245, 245, 245), 1)
        cv2.line(canvas, (gx, sign_top + glyph * 2 // 3), (gx + glyph, sign_top + glyph * 2 // 3), (245, 245, 245), 1)
    door_top = int(base - 2.4 * scale)
    inside = shade(dull(rng), 0.45)
    cv2.rectangle(canvas, (int(shop.door_x0), door_top), (int(shop.door_x1), base), inside, -1)
    cv2.rectangle(canvas, (int(shop.door_x0), door_top), (int(shop.door_x1), base), (60, 60, 60), 2)
    for wx0, wx1 in (
        (shop.x0 + 0.4 * scale, shop.door_x0 - 0.4 * scale),
        (shop.door_x1 + 0.4 * scale, shop.x1 - 0.4 * scale),
    ):
        if wx1 - wx0 > scale:  # shop windows either side of the door
            cv2.rectangle(
                canvas, (int(wx0), int(base - 2.2 * scale)), (int(wx1), int(base - 0.6 * scale)), (150, 130, 110), -1
            )
    # the shop-front line: the wall's plinth, a dark strip the camera sees along every shop
    cv2.rectangle(canvas, (int(shop.x0), base - max(2, int(0.15 * scale))), (int(shop.x1), base + 1), (70, 70, 75), -1)
    cv2.line(canvas, (int(shop.x0), int(base - storey)), (int(shop.x0), base), shade(front, 0.6), 2)


def _paint_sidewalk(canvas: Image, layout: StreetLayout, rng: np.random.Generator) -> None:
    paving = hsv_colour(rng.uniform(0, 30), rng.uniform(0, 80), rng.uniform(130, 200))
    y0, y1 = int(layout.shop_front_y), int(layout.curb_y)
    canvas[y0:y1] = paving
    joint = shade(paving, 0.82)
    y = float(y0)
    while y < y1:  # tile joints, closer together farther away
        step = 0.6 * layout.px_per_m(y)
        cv2.line(canvas, (0, int(y)), (layout.width, int(y)), joint, 1)
        for x in np.arange(0, layout.width, step * 1.0):
            cv2.line(canvas, (int(x), int(y)), (int(x), int(y + step)), joint, 1)
        y += step
    if rng.random() < 0.6:  # tactile paving strip
        ty = int(y0 + (y1 - y0) * rng.uniform(0.5, 0.75))
        cv2.rectangle(canvas, (0, ty), (layout.width, ty + max(2, int(0.3 * layout.px_per_m(ty)))), (40, 190, 220), -1)
    curb = max(2, int(0.2 * layout.px_per_m(y1)))
    cv2.rectangle(canvas, (0, y1 - curb), (layout.width, y1), (185, 185, 190), -1)


def _paint_road(canvas: Image, layout: StreetLayout, rng: np.random.Generator) -> None:
    asphalt = hsv_colour(rng.uniform(90, 120), rng.uniform(0, 25), rng.uniform(60, 110))
    y0 = int(layout.curb_y)
    canvas[y0:] = asphalt
    lanes = int(rng.integers(1, 4))
    for lane in range(1, lanes + 1):
        y = y0 + (layout.height - y0) * lane / (lanes + 0.6)
        thick = max(1, int(0.15 * layout.px_per_m(y)))
        colour: Colour = (0, 200, 230) if lane == lanes and rng.random() < 0.4 else (235, 235, 235)
        dash = int(3 * layout.px_per_m(y))
        for x in range(int(rng.uniform(0, dash)), layout.width, 2 * dash):
            cv2.rectangle(canvas, (x, int(y)), (x + dash, int(y) + thick), colour, -1)
    if rng.random() < 0.3:  # a zebra crossing
        x0, stripe = rng.uniform(0, layout.width * 0.7), int(0.5 * layout.px_per_m(layout.height))
        for k in range(6):
            x = int(x0 + 2 * k * stripe)
            cv2.rectangle(canvas, (x, y0 + 3), (x + stripe, layout.height), (225, 225, 225), -1)


def _paint_site_yard(canvas: Image, layout: StreetLayout, site: Site, rng: np.random.Generator) -> None:
    if rng.random() < 0.5:
        soil = hsv_colour(rng.uniform(10, 22), rng.uniform(50, 120), rng.uniform(90, 160))
    else:  # a hardened (concrete) yard
        soil = hsv_colour(rng.uniform(0, 180), rng.uniform(0, 25), rng.uniform(110, 190))
    x0, x1, y0, y1 = int(site.x0), int(site.x1), int(site.y_back), int(site.y_fence)
    canvas[:y0, x0:x1] = _sky(layout.height, rng)[:y0]  # no buildings behind the yard: it was cleared
    cv2.rectangle(canvas, (x0, y0), (x1, y1), soil, -1)
    ruts = rng.random((y1 - y0, x1 - x0)) < 0.02
    canvas[y0:y1, x0:x1][ruts] = shade(soil, 0.7)
    scale = layout.px_per_m(y0)
    frame_x0 = x0 + (x1 - x0) * rng.uniform(0.1, 0.4)
    floors = int(rng.integers(2, 6))  # the building going up: a concrete frame
    concrete = (165, 170, 175)
    frame_x1 = frame_x0 + 12 * scale
    for f in range(floors + 1):
        y = y0 - f * 3 * scale
        cv2.line(canvas, (int(frame_x0), int(y)), (int(frame_x1), int(y)), concrete, max(2, int(0.3 * scale)))
    for column in np.linspace(frame_x0, frame_x1, 5):
        cv2.line(
            canvas, (int(column), y0), (int(column), int(y0 - floors * 3 * scale)), concrete, max(2, int(0.3 * scale))
        )
    if rng.random() < 0.7:  # a tower crane
        mast_x, top = int(frame_x1 + 2 * scale), int(y0 - (floors * 3 + 12) * scale)
        yellow = (20, 180, 230)
        cv2.line(canvas, (mast_x, y0), (mast_x, top), yellow, max(2, int(0.5 * scale)))
        cv2.line(
            canvas, (int(mast_x - 20 * scale), top), (int(mast_x + 8 * scale), top), yellow, max(2, int(0.35 * scale))
        )


def _paint_street_furniture(canvas: Image, layout: StreetLayout, rng: np.random.Generator) -> None:
    """Trees, lamp posts and litter bins: unlabelled things the detector must learn to leave alone."""
    y = layout.curb_y - 0.1 * layout.sidewalk_depth
    scale = layout.px_per_m(y)
    for x in np.arange(rng.uniform(0, 8 * scale), layout.width, rng.uniform(8, 14) * scale):
        if layout.site is not None and layout.site.x0 <= x <= layout.site.x1:
            continue
        kind = rng.integers(3)
        if kind == 0:
            cv2.line(canvas, (int(x), int(y)), (int(x), int(y - 3 * scale)), (40, 60, 80), max(2, int(0.25 * scale)))
            cv2.circle(
                canvas, (int(x), int(y - 4 * scale)), int(1.6 * scale), hsv_colour(rng.uniform(40, 70), 150, 110), -1
            )
        elif kind == 1:
            cv2.line(canvas, (int(x), int(y)), (int(x), int(y - 6 * scale)), (90, 90, 95), max(2, int(0.15 * scale)))
            cv2.line(
                canvas,
                (int(x), int(y - 6 * scale)),
                (int(x + scale), int(y - 6 * scale)),
                (90, 90, 95),
                max(2, int(0.12 * scale)),
            )
        else:
            cv2.rectangle(canvas, (int(x), int(y - 0.9 * scale)), (int(x + 0.5 * scale), int(y)), (60, 130, 40), -1)


def fence_sprite(layout: StreetLayout, site: Site, rng: np.random.Generator) -> Sprite:
    """The site's front hoarding (围挡): drawn in depth order like an object, so that what stands behind it is
    hidden, but never labelled."""
    width, height = round(site.x1 - site.x0), max(3, round(site.fence_height))
    image = np.empty((height, width, 3), np.uint8)
    panel = [(170, 110, 20), (60, 140, 40), (200, 200, 200)][int(rng.integers(3))]
    image[:] = panel
    stripe = max(1, height // 8)
    image[:stripe] = (235, 235, 235)
    image[-stripe:] = shade(panel, 0.6)
    step = max(4, int(2.0 * layout.px_per_m(site.y_fence)))
    for x in range(0, width, step):
        image[:, x : x + max(1, step // 20)] = shade(panel, 0.7)
    if rng.random() < 0.6:  # slogan boards
        for x in range(step // 4, width - step, step * 2):
            cv2.rectangle(image, (x, height // 3), (x + step, height * 2 // 3), (40, 40, 200), -1)
    return Sprite(image, np.full((height, width), 255, np.uint8))
