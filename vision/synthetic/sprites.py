"""Objects drawn as sprites: a BGR patch and its opacity, anchored at the bottom centre (where the object stands).

Sizes are in metres and turned into pixels by ``px_per_m``, so that the scene's depth scale decides how big an
object looks. Every style choice comes from the ``rng`` given, so an actor drawn twice with the same seed looks
the same (a video's stall does not change colour from frame to frame).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from vision.synthetic.classes import SceneClass

Image = npt.NDArray[np.uint8]
Colour = tuple[int, int, int]
Point = tuple[float, float]


@dataclass(frozen=True, eq=False)
class Sprite:
    """An object's pixels (``image``, h×w×3 BGR) and opacity (``alpha``, h×w, 0..255); the anchor is the middle of
    the bottom row."""

    image: Image
    alpha: Image

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


class Pen:
    """Draws each shape into the picture and its opacity at once, so a sprite's mask is exactly what was drawn."""

    def __init__(self, width_m: float, height_m: float, px_per_m: float) -> None:
        self.s = px_per_m
        self.w = max(4, math.ceil(width_m * px_per_m) + 2)
        self.h = max(4, math.ceil(height_m * px_per_m) + 2)
        self.image = np.zeros((self.h, self.w, 3), np.uint8)
        self.alpha = np.zeros((self.h, self.w), np.uint8)

    def at(self, x_m: float, y_m: float) -> tuple[int, int]:
        """Pixel of a point given in metres from the anchor: x to the right of the centre, y up from the ground."""
        return round(self.w / 2 + x_m * self.s), round(self.h - 1 - y_m * self.s)

    def px(self, metres: float) -> int:
        return max(1, round(metres * self.s))

    def rect(self, x0: float, y0: float, x1: float, y1: float, colour: Colour) -> None:
        self.poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], colour)

    def poly(self, points_m: list[Point], colour: Colour) -> None:
        points = np.array([self.at(x, y) for x, y in points_m], np.int32)
        cv2.fillPoly(self.image, [points], colour, cv2.LINE_AA)
        cv2.fillPoly(self.alpha, [points], 255)

    def circle(self, x: float, y: float, radius_m: float, colour: Colour) -> None:
        centre = self.at(x, y)
        cv2.circle(self.image, centre, self.px(radius_m), colour, -1, cv2.LINE_AA)
        cv2.circle(self.alpha, centre, self.px(radius_m), 255, -1)

    def ellipse(self, x: float, y: float, rx: float, ry: float, colour: Colour, start: int = 0, end: int = 360) -> None:
        centre, axes = self.at(x, y), (self.px(rx), self.px(ry))
        cv2.ellipse(self.image, centre, axes, 0, start, end, colour, -1, cv2.LINE_AA)
        cv2.ellipse(self.alpha, centre, axes, 0, start, end, 255, -1)

    def line(self, a: Point, b: Point, width_m: float, colour: Colour) -> None:
        thickness = self.px(width_m)
        cv2.line(self.image, self.at(*a), self.at(*b), colour, thickness, cv2.LINE_AA)
        cv2.line(self.alpha, self.at(*a), self.at(*b), 255, thickness)

    def sprite(self) -> Sprite:
        return Sprite(self.image, self.alpha)


# -- colours -----------------------------------------------------------------------------------------------------


def hsv_colour(hue: float, saturation: float, value: float) -> Colour:
    pixel = np.array([[[hue % 180, saturation, value]]], np.uint8)
    b, g, r = cv2.cvtColor(pixel, cv2.COLOR_HSV2BGR)[0, 0]
    return int(b), int(g), int(r)


def vivid(rng: np.random.Generator) -> Colour:
    return hsv_colour(rng.uniform(0, 180), rng.uniform(140, 255), rng.uniform(120, 250))


def dull(rng: np.random.Generator) -> Colour:
    return hsv_colour(rng.uniform(0, 180), rng.uniform(0, 90), rng.uniform(40, 220))


def shade(colour: Colour, factor: float) -> Colour:
    b, g, r = (min(255, max(0, round(c * factor))) for c in colour)
    return b, g, r


def skin(rng: np.random.Generator) -> Colour:
    return hsv_colour(rng.uniform(8, 18), rng.uniform(70, 140), rng.uniform(120, 230))


# -- goods that sit on stalls and outside shops ------------------------------------------------------------------


def lay_goods(pen: Pen, rng: np.random.Generator, x0: float, x1: float, y: float, depth: float) -> None:
    """Fruit, packets and bottles in rows on a surface from x0 to x1 at height y."""
    kind = rng.integers(3)
    x = x0 + 0.05
    while x < x1 - 0.08:
        colour = vivid(rng)
        if kind == 0:  # fruit
            r = rng.uniform(0.05, 0.09)
            pen.circle(x + r, y + r * 0.8, r, colour)
            x += 2 * r * rng.uniform(0.8, 1.1)
        elif kind == 1:  # packets
            w, h = rng.uniform(0.08, 0.2), rng.uniform(0.08, depth)
            pen.rect(x, y, x + w, y + h, colour)
            x += w + 0.02
        else:  # bottles
            h = rng.uniform(0.15, 0.3)
            pen.rect(x, y, x + 0.06, y + h, colour)
            pen.rect(x + 0.015, y + h, x + 0.045, y + h + 0.05, shade(colour, 0.6))
            x += 0.09


def cart_stall(rng: np.random.Generator, s: float) -> Sprite:
    length, body_h = rng.uniform(1.6, 2.3), rng.uniform(0.5, 0.8)
    canopy = rng.random() < 0.6
    pen = Pen(length + 0.3, 2.3 if canopy else 1.4, s)
    body, half = vivid(rng), length / 2
    wheel = rng.uniform(0.2, 0.3)
    pen.rect(-half, wheel, half, wheel + body_h, body)
    pen.rect(-half, wheel + body_h - 0.06, half, wheel + body_h, shade(body, 0.7))
    for x in (-half + 0.35, half - 0.35):
        pen.circle(x, wheel, wheel, (30, 30, 30))
        pen.circle(x, wheel, wheel * 0.4, (150, 150, 150))
    pen.line((half, wheel + body_h), (half + 0.3, wheel + body_h + 0.2), 0.04, (60, 60, 60))
    lay_goods(pen, rng, -half, half, wheel + body_h, 0.25)
    if canopy:
        top = 2.2
        for x in (-half + 0.05, half - 0.05):
            pen.line((x, wheel + body_h), (x, top - 0.1), 0.04, (90, 90, 90))
        pen.poly([(-half - 0.1, top - 0.2), (half + 0.1, top - 0.2), (half - 0.1, top), (-half + 0.1, top)], vivid(rng))
    return pen.sprite()


def table_stall(rng: np.random.Generator, s: float) -> Sprite:
    length, height = rng.uniform(1.0, 2.0), rng.uniform(0.7, 0.9)
    pen = Pen(length + 0.2, height + 0.6, s)
    half, cloth = length / 2, vivid(rng)
    for x in (-half + 0.08, half - 0.08):
        pen.line((x, 0), (x, height), 0.05, (70, 70, 70))
    pen.rect(-half, height - 0.3, half, height, cloth)
    if rng.random() < 0.5:  # a hanging price board
        pen.rect(-0.25, height - 0.28, 0.25, height - 0.08, (235, 235, 235))
        pen.rect(-0.18, height - 0.22, 0.18, height - 0.16, (30, 30, 200))
    lay_goods(pen, rng, -half, half, height, 0.3)
    return pen.sprite()


def umbrella_stall(rng: np.random.Generator, s: float) -> Sprite:
    radius, height = rng.uniform(0.9, 1.3), rng.uniform(2.0, 2.4)
    pen = Pen(2 * radius + 0.2, height + 0.1, s)
    pen.line((0, 0), (0, height - 0.2), 0.05, (80, 80, 80))
    table_half = rng.uniform(0.4, 0.7)
    pen.rect(-table_half, 0.0, table_half, 0.55, vivid(rng))  # crates under the umbrella
    lay_goods(pen, rng, -table_half, table_half, 0.55, 0.25)
    first, second = vivid(rng), (240, 240, 240) if rng.random() < 0.5 else vivid(rng)
    segments = int(rng.integers(4, 8))
    base, peak = height - 0.55, height
    for i in range(segments):
        xa, xb = -radius + 2 * radius * i / segments, -radius + 2 * radius * (i + 1) / segments
        pen.poly([(xa, base), (xb, base), (xb * 0.15, peak), (xa * 0.15, peak)], first if i % 2 == 0 else second)
    return pen.sprite()


def mat_stall(rng: np.random.Generator, s: float) -> Sprite:
    """A ground stall (地摊): a blanket seen from the raised camera, goods spread on it."""
    length, depth = rng.uniform(1.2, 2.2), rng.uniform(0.35, 0.6)
    pen = Pen(length + 0.4, depth + 0.5, s)
    half, skew = length / 2, rng.uniform(0.05, 0.2)
    pen.poly([(-half, 0), (half, 0), (half - skew, depth), (-half - skew, depth)], dull(rng))
    for row in range(2):
        lay_goods(pen, rng, -half + 0.1, half - 0.1, 0.05 + row * depth * 0.5, 0.15)
    return pen.sprite()


def box_goods(rng: np.random.Generator, s: float) -> Sprite:
    columns = int(rng.integers(1, 4))
    pen = Pen(columns * 0.7 + 0.2, 2.0, s)
    x = -columns * 0.32
    for _ in range(columns):
        y, w = 0.0, rng.uniform(0.45, 0.65)
        for _ in range(int(rng.integers(1, 4))):
            h = rng.uniform(0.3, 0.5)
            card = hsv_colour(rng.uniform(10, 22), rng.uniform(80, 170), rng.uniform(110, 200))
            pen.rect(x, y, x + w, y + h, card)
            pen.rect(x + w * 0.45, y + h * 0.6, x + w * 0.55, y + h, shade(card, 1.25))  # tape
            pen.rect(x, y + h - 0.03, x + w, y + h, shade(card, 0.7))
            y += h
        x += w + 0.04
    return pen.sprite()


def rack_goods(rng: np.random.Generator, s: float) -> Sprite:
    length, height = rng.uniform(0.9, 1.6), rng.uniform(1.4, 1.8)
    pen = Pen(length + 0.2, height + 0.1, s)
    half, metal = length / 2, (170, 170, 175)
    for x in (-half, half):
        pen.line((x, 0), (x, height), 0.04, metal)
    pen.line((-half, height), (half, height), 0.04, metal)
    pen.line((-half - 0.1, 0.02), (half + 0.1, 0.02), 0.05, metal)
    x = -half + 0.08
    while x < half - 0.2:
        garment, w = vivid(rng) if rng.random() < 0.7 else dull(rng), rng.uniform(0.25, 0.35)
        top = height - 0.05
        pen.poly([(x, top - 0.1), (x + w / 2, top), (x + w, top - 0.1), (x + w, top - 0.9), (x, top - 0.9)], garment)
        x += w * rng.uniform(0.55, 0.9)
    return pen.sprite()


def crate_goods(rng: np.random.Generator, s: float) -> Sprite:
    columns = int(rng.integers(1, 4))
    pen = Pen(columns * 0.5 + 0.2, 1.6, s)
    x, crate = -columns * 0.24, vivid(rng)
    for _ in range(columns):
        y = 0.0
        for _ in range(int(rng.integers(1, 5))):
            pen.rect(x, y, x + 0.45, y + 0.3, crate)
            for k in range(4):
                pen.rect(x + 0.04 + k * 0.1, y + 0.22, x + 0.09 + k * 0.1, y + 0.36, vivid(rng))
            pen.rect(x + 0.05, y + 0.08, x + 0.4, y + 0.14, shade(crate, 0.6))  # hand hole
            y += 0.3
        x += 0.48
    return pen.sprite()


def shelf_goods(rng: np.random.Generator, s: float) -> Sprite:
    length, tiers = rng.uniform(0.8, 1.5), int(rng.integers(2, 5))
    pen = Pen(length + 0.2, tiers * 0.4 + 0.3, s)
    half, frame = length / 2, dull(rng)
    pen.rect(-half, 0, half, 0.08, frame)
    for tier in range(tiers):
        y = 0.08 + tier * 0.4
        pen.rect(-half, y, half, y + 0.04, frame)
        lay_goods(pen, rng, -half, half, y + 0.04, 0.3)
    for x in (-half, half - 0.05):
        pen.rect(x, 0, x + 0.05, tiers * 0.4 + 0.1, frame)
    return pen.sprite()


def sack_goods(rng: np.random.Generator, s: float) -> Sprite:
    count = int(rng.integers(2, 6))
    pen = Pen(count * 0.35 + 0.4, 1.2, s)
    cloth = hsv_colour(rng.uniform(15, 30), rng.uniform(10, 60), rng.uniform(170, 240))
    for i in range(count):
        x, y = -count * 0.17 + i * 0.32 + rng.uniform(-0.05, 0.05), 0.0 if i % 3 else rng.uniform(0, 0.35)
        pen.ellipse(x + 0.2, y + 0.3, 0.2, 0.3, shade(cloth, rng.uniform(0.85, 1.05)))
        pen.rect(x + 0.08, y + 0.25, x + 0.32, y + 0.35, vivid(rng))  # printed brand band
    return pen.sprite()


# -- people and vehicles -------------------------------------------------------------------------------------------


def person(rng: np.random.Generator, s: float, stride_phase: float = 0.0) -> Sprite:
    """A pedestrian; ``stride_phase`` (radians) swings the legs and arms so a walker moves."""
    height = rng.uniform(1.5, 1.85)
    pen = Pen(0.75, height + 0.05, s)
    h, swing = height, 0.22 * math.sin(stride_phase)
    hip, shoulder = 0.48 * h, 0.82 * h
    trousers, shirt = dull(rng), vivid(rng) if rng.random() < 0.6 else dull(rng)
    for side in (-1, 1):
        pen.line((side * 0.06, hip), (side * 0.06 + side * swing * 0.5, 0.04), 0.12, trousers)
        pen.ellipse(side * 0.06 + side * swing * 0.5, 0.03, 0.08, 0.035, (40, 40, 40))
    pen.poly([(-0.19, shoulder), (0.19, shoulder), (0.16, hip - 0.05), (-0.16, hip - 0.05)], shirt)
    for side in (-1, 1):
        pen.line((side * 0.18, shoulder - 0.03), (side * 0.2 - side * swing * 0.4, hip - 0.02), 0.08, shirt)
    pen.circle(0, h * 0.9, h * 0.065, skin(rng))
    if rng.random() < 0.3:  # a hat or cap
        pen.ellipse(0, h * 0.94, h * 0.08, h * 0.035, dull(rng), 180, 360)
    else:
        pen.ellipse(0, h * 0.92, h * 0.066, h * 0.045, (25, 25, 30), 180, 360)
    if rng.random() < 0.35:  # a bag
        pen.rect(0.17, hip - 0.05, 0.32, hip + 0.2, dull(rng))
    return pen.sprite()


def car(rng: np.random.Generator, s: float) -> Sprite:
    length, height = rng.uniform(3.9, 4.9), rng.uniform(1.35, 1.75)
    pen = Pen(length, height, s)
    half, paint, wheel = length / 2, vivid(rng) if rng.random() < 0.4 else dull(rng), 0.32
    pen.poly([(-half, 0.3), (half, 0.3), (half, 0.75), (half - 0.3, 0.85), (-half + 0.2, 0.85), (-half, 0.75)], paint)
    roof, front = height, rng.uniform(0.2, 0.5) * half
    pen.poly([(-half + 0.5, 0.84), (half - front, 0.84), (half - front - 0.6, roof), (-half + 0.8, roof)], paint)
    glass = (90, 70, 55)
    pen.poly([(-half + 0.75, 0.88), (-0.05, 0.88), (-0.05, roof - 0.08), (-half + 0.95, roof - 0.08)], glass)
    pen.poly([(0.05, 0.88), (half - front - 0.1, 0.88), (half - front - 0.6, roof - 0.08), (0.05, roof - 0.08)], glass)
    pen.rect(half - 0.15, 0.55, half, 0.68, (200, 230, 250))  # head light
    pen.rect(-half, 0.55, -half + 0.12, 0.68, (40, 40, 200))  # tail light
    for x in (-half + 0.8, half - 0.9):
        pen.circle(x, wheel, wheel, (25, 25, 25))
        pen.circle(x, wheel, wheel * 0.5, (160, 160, 165))
    return _maybe_mirrored(pen.sprite(), rng)


def truck(rng: np.random.Generator, s: float) -> Sprite:
    length, height = rng.uniform(6.0, 8.5), rng.uniform(2.7, 3.3)
    pen = Pen(length, height, s)
    half, cab_len, wheel = length / 2, 1.8, 0.48
    cab = vivid(rng)
    pen.poly([(half - cab_len, 0.45), (half, 0.45), (half, 2.0), (half - 0.4, height), (half - cab_len, height)], cab)
    pen.poly(
        [(half - 0.95, 1.7), (half - 0.05, 1.7), (half - 0.45, height - 0.15), (half - 0.95, height - 0.15)],
        (90, 70, 55),
    )
    if rng.random() < 0.5:  # box van
        pen.rect(-half, 0.5, half - cab_len - 0.1, height - 0.1, dull(rng))
    else:  # dump truck (渣土车), sometimes with its load showing
        bed = vivid(rng)
        pen.rect(-half, 0.6, half - cab_len - 0.1, 1.9, bed)
        if rng.random() < 0.5:
            pen.ellipse(-0.3, 1.9, half - 1.2, 0.35, hsv_colour(15, 120, 110), 180, 360)
    pen.rect(-half, 0.45, half, 0.6, (40, 40, 40))
    for x in (-half + 0.9, -half + 2.0, half - 1.1):
        pen.circle(x, wheel, wheel, (25, 25, 25))
        pen.circle(x, wheel, wheel * 0.45, (150, 150, 150))
    return _maybe_mirrored(pen.sprite(), rng)


def _maybe_mirrored(sprite: Sprite, rng: np.random.Generator) -> Sprite:
    """Vehicles drive both ways."""
    if rng.random() < 0.5:
        return sprite
    return Sprite(np.ascontiguousarray(sprite.image[:, ::-1]), np.ascontiguousarray(sprite.alpha[:, ::-1]))


# -- construction site ----------------------------------------------------------------------------------------------


def _mound(rng: np.random.Generator, s: float, colour: Colour) -> Pen:
    """A heap seen from a raised camera: a ridge over an elliptic footprint, its far flank in shade."""
    width = rng.uniform(2.5, 6.5)
    height, base = width * rng.uniform(0.25, 0.5), width * rng.uniform(0.08, 0.16)
    pen = Pen(width + 0.2, height + base + 0.2, s)
    half, bumps, roundness = width / 2, rng.uniform(0, 0.1, 7), rng.uniform(0.6, 1.3)
    peak_x = rng.uniform(-0.25, 0.25) * half
    ridge: list[Point] = []
    for i in range(25):
        x = -half + width * i / 24
        reach = (
            (x - peak_x) / (half - peak_x) if x > peak_x else (peak_x - x) / (half + peak_x)
        )  # 0 at the top, 1 at the foot
        bump = bumps[i % 7] * height if 0 < i < 24 else 0.0
        ridge.append((x, base / 2 + height * max(0.0, 1 - abs(reach) ** 1.6) ** roundness + bump))
    footprint = [(half * math.cos(a), base / 2 - base / 2 * math.sin(a)) for a in np.linspace(0, math.pi, 13)]
    pen.poly([*ridge, *footprint], colour)
    lit_side = [p for p in ridge if p[0] >= peak_x]
    pen.poly([(peak_x, base / 2), *lit_side, (half, base / 2)], shade(colour, 0.78))
    return pen


def bare_pile(rng: np.random.Generator, s: float) -> Sprite:
    shape_rng = np.random.default_rng(int(rng.integers(2**31)))  # first draw: a pile keeps its shape when covered
    soil = hsv_colour(rng.uniform(8, 22), rng.uniform(60, 170), rng.uniform(70, 180))
    pen = _mound(shape_rng, s, soil)
    speckles = rng.random(pen.alpha.shape) < 0.12
    grain = rng.integers(-45, 45, pen.image.shape, dtype=np.int16)
    textured = np.clip(pen.image.astype(np.int16) + grain * speckles[..., None], 0, 255).astype(np.uint8)
    pen.image[:] = np.where(pen.alpha[..., None] > 0, textured, pen.image)
    return pen.sprite()


def covered_pile(rng: np.random.Generator, s: float) -> Sprite:
    shape_rng = np.random.default_rng(int(rng.integers(2**31)))
    net = hsv_colour(rng.uniform(50, 75), rng.uniform(120, 230), rng.uniform(60, 150))
    if rng.random() < 0.15:  # black netting is used too
        net = (45, 50, 45)
    pen = _mound(shape_rng, s, net)
    step = max(2, pen.px(0.25))
    mesh = shade(net, 1.45)
    for offset in range(-pen.h, pen.w, step):  # a diagonal mesh, drawn only where the net is
        cv2.line(pen.image, (offset, 0), (offset + pen.h, pen.h), mesh, 1)
        cv2.line(pen.image, (offset + pen.h, 0), (offset, pen.h), mesh, 1)
    pen.image[pen.alpha == 0] = 0
    for _ in range(int(rng.integers(0, 5))):  # sandbags or stones holding the net down
        pen.circle(rng.uniform(-1, 1), rng.uniform(0.05, 0.4), 0.12, (150, 160, 170))
    return pen.sprite()


def dust_plume(rng: np.random.Generator, s: float, growth: float = 1.0, drift: float = 0.0) -> Sprite:
    """A billowing plume of pale puffs; ``growth`` (0..1] swells it and ``drift`` (metres) carries its top sideways
    with the wind.

    Construction dust is pale (grey-beige, lighter than the soil it rises from) and lumpy: each puff is lit from
    above and shaded below, so the plume reads as a cloud rather than as a smudge of the backdrop's colour.
    Opacity is soft, so a pixel counts as dust where the opacity is at least ``scene.MASK_OPACITY`` and the plume
    visibly changes the picture there (``scene.DUST_CONTRAST``).
    """
    growth = max(0.05, min(1.0, growth))
    width, height = rng.uniform(4, 9) * (0.3 + 0.7 * growth), rng.uniform(3, 7) * (0.3 + 0.7 * growth)
    margin = 0.3 * max(width, height)  # room for the soft edge: a plume has no straight side
    pen = Pen(width + 2 * abs(drift) + 2 * margin, height + margin, s)
    density = np.zeros(pen.alpha.shape, np.float32)
    light = np.zeros(pen.alpha.shape, np.float32)
    for _ in range(int(rng.integers(9, 16))):
        up = rng.uniform(0.1, 0.85)
        radius = rng.uniform(0.5, 1.0) * width / 5 * (0.6 + 0.6 * up)
        cx, cy = pen.at(rng.normal(0, width / 7) + drift * up, up * height)
        r = max(1, round(radius * s))
        cv2.circle(density, (cx, cy), r, 1.0, -1)
        cv2.circle(light, (cx, cy - r // 3), max(1, round(r * 0.7)), 1.0, -1)  # the puff's sunlit crown
    blur = max(1.0, width * s / 18)
    density = np.asarray(cv2.GaussianBlur(density, (0, 0), blur), np.float32)
    light = np.asarray(cv2.GaussianBlur(light, (0, 0), blur * 0.8), np.float32)
    wisps = cv2.resize(rng.uniform(0.75, 1.0, (6, 6)).astype(np.float32), (pen.w, pen.h))
    density = density / max(float(density.max()), 1e-6) * wisps
    light = light / max(float(light.max()), 1e-6)
    opacity = rng.uniform(0.8, 0.97) * min(1.0, 0.6 + growth)
    alpha = np.clip(density * 1.4, 0, 1) * opacity
    tint = np.array(hsv_colour(rng.uniform(10, 28), rng.uniform(8, 55), rng.uniform(175, 235)), np.float32)
    lift = np.linspace(1.05, 0.88, pen.h, dtype=np.float32)[:, None, None]  # a darker, denser base
    relief = (0.82 + 0.26 * light)[..., None]  # crowns bright, the folds between puffs shaded
    image = np.clip(tint * lift * relief, 0, 255).astype(np.uint8)
    return Sprite(image, (alpha * 255).astype(np.uint8))


STALL_STYLES: tuple[Callable[[np.random.Generator, float], Sprite], ...] = (
    cart_stall,
    table_stall,
    umbrella_stall,
    mat_stall,
)
GOODS_STYLES: tuple[Callable[[np.random.Generator, float], Sprite], ...] = (
    box_goods,
    rack_goods,
    crate_goods,
    shelf_goods,
    sack_goods,
)


def draw_object(
    kind: SceneClass, rng: np.random.Generator, px_per_m: float, phase: float = 0.0, growth: float = 1.0
) -> Sprite:
    """Draw one object of ``kind``; ``phase`` is a walker's stride, ``growth`` and ``phase`` a plume's size and
    drift."""
    if kind is SceneClass.STALL:
        return STALL_STYLES[int(rng.integers(len(STALL_STYLES)))](rng, px_per_m)
    if kind is SceneClass.GOODS:
        return GOODS_STYLES[int(rng.integers(len(GOODS_STYLES)))](rng, px_per_m)
    if kind is SceneClass.PERSON:
        return person(rng, px_per_m, phase)
    if kind is SceneClass.VEHICLE:
        return truck(rng, px_per_m) if rng.random() < 0.3 else car(rng, px_per_m)
    if kind is SceneClass.DUST:
        return dust_plume(rng, px_per_m, growth, phase)
    if kind is SceneClass.BARE_PILE:
        return bare_pile(rng, px_per_m)
    return covered_pile(rng, px_per_m)
