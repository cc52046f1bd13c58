"""The scene generator: deterministic, and every label is the tight box of its object's visible pixels."""

from __future__ import annotations

import numpy as np
import pytest

from vision.synthetic import CLASS_NAMES, SceneClass, render_still
from vision.synthetic.scene import (
    GOODS_GAP,
    MIN_VISIBLE_FRACTION,
    FrameRenderer,
    Placement,
    compose,
    sample_placements,
    sample_scenery,
)
from vision.synthetic.sprites import Sprite, table_stall

WIDTH, HEIGHT = 320, 180


def test_the_same_seed_renders_the_same_pixels_and_labels() -> None:
    first, second = render_still(7, WIDTH, HEIGHT), render_still(7, WIDTH, HEIGHT)
    assert np.array_equal(first.image, second.image)
    assert first.labels == second.labels
    assert not np.array_equal(first.image, render_still(8, WIDTH, HEIGHT).image)


@pytest.mark.parametrize("seed", range(12))
def test_every_label_is_a_known_class_with_a_positive_box_inside_the_image(seed: int) -> None:
    frame = render_still(seed, WIDTH, HEIGHT)
    assert frame.image.shape == (HEIGHT, WIDTH, 3)
    for label in frame.labels:
        x0, y0, x1, y1 = label.box
        assert 0 <= x0 < x1 <= WIDTH
        assert 0 <= y0 < y1 <= HEIGHT
        assert label.visible_fraction >= MIN_VISIBLE_FRACTION
        kind, cx, cy, w, h = label.yolo_line(WIDTH, HEIGHT).split()
        assert 0 <= int(kind) < len(CLASS_NAMES)
        assert all(0 < float(v) <= 1 for v in (cx, cy, w, h))


def test_the_generator_draws_every_class_across_a_few_scenes() -> None:
    seen = {label.kind for seed in range(30) for label in render_still(seed, WIDTH, HEIGHT).labels}
    assert seen == set(SceneClass)


@pytest.mark.parametrize("seed", range(6))
def test_each_box_is_the_tight_bounds_of_pixels_the_object_really_changed(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scenery = sample_scenery(rng, WIDTH, HEIGHT)
    renderer = FrameRenderer(scenery)
    frame = renderer.render(sample_placements(scenery.layout, rng), with_masks=True)
    empty = renderer.empty_frame()
    assert frame.masks is not None
    for label in frame.labels:
        mask = frame.masks[label.object_id]
        rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        assert (columns[0], rows[0], columns[-1] + 1, rows[-1] + 1) == label.box
        changed = np.abs(frame.image.astype(int) - empty.astype(int)).sum(axis=2) > 0
        assert changed[mask].mean() > 0.5, f"{CLASS_NAMES[label.kind]} box covers pixels it did not draw"


def _stall_and_wall(hidden: bool) -> tuple[Placement, ...]:
    """A table stall on the sidewalk, and a grey wall (standing nearer the camera) in front of it or beside it."""
    rng = np.random.default_rng(3)
    scenery = sample_scenery(rng, WIDTH, HEIGHT, with_site=False)
    layout = scenery.layout
    x, y = layout.width / 2, (layout.shop_front_y + layout.curb_y) / 2
    stall = Placement(SceneClass.STALL, table_stall(rng, layout.px_per_m(y)), x, y, 1)
    size = (stall.sprite.height * 2, stall.sprite.width * 2)
    wall = Sprite(np.full((*size, 3), 128, np.uint8), np.full(size, 255, np.uint8))
    wall_x = x if hidden else x + 3 * stall.sprite.width
    return Placement(SceneClass.VEHICLE, wall, wall_x, y + 2, 2), stall


@pytest.mark.parametrize(("hidden", "stall_labelled"), [(True, False), (False, True)])
def test_a_stall_hidden_behind_something_nearer_gets_no_label(hidden: bool, stall_labelled: bool) -> None:
    rng = np.random.default_rng(3)
    renderer = FrameRenderer(sample_scenery(rng, WIDTH, HEIGHT, with_site=False))
    labels = renderer.render(list(_stall_and_wall(hidden))).labels
    assert (SceneClass.STALL in {label.kind for label in labels}) is stall_labelled


def test_an_object_mostly_outside_the_frame_gets_no_label() -> None:
    rng = np.random.default_rng(3)
    scenery = sample_scenery(rng, WIDTH, HEIGHT, with_site=False)
    layout = scenery.layout
    y = (layout.shop_front_y + layout.curb_y) / 2
    stall = table_stall(rng, layout.px_per_m(y))
    outside = Placement(SceneClass.STALL, stall, stall.width / 2, y, 1)  # in the canvas margin, left of the frame
    assert FrameRenderer(scenery).render([outside]).labels == ()


def _plume_over_the_site(colour_of: str) -> tuple[FrameRenderer, Placement]:
    """A solid-looking square plume in the site's yard, painted either in the very colours of the ground behind it
    and fence (it changes nothing) or in their opposite."""
    rng = np.random.default_rng(5)
    scenery = sample_scenery(rng, WIDTH, HEIGHT, with_site=True)
    site = scenery.layout.site
    assert site is not None
    side = 40
    x, y = (site.x0 + site.x1) / 2, site.y_fence - 0.5 * site.fence_height
    probe = Placement(
        SceneClass.DUST, Sprite(np.zeros((side, side, 3), np.uint8), np.zeros((side, side), np.uint8)), x, y
    )
    x0, y0, x1, y1 = probe.canvas_rect
    street, _, _ = compose(scenery.background, [], scenery.fence)
    ground = street[y0:y1, x0:x1].copy()
    image = ground if colour_of == "ground" else 255 - ground
    plume = Placement(SceneClass.DUST, Sprite(image, np.full((side, side), 230, np.uint8)), x, y, 1)
    return FrameRenderer(scenery), plume


@pytest.mark.parametrize(("colour_of", "labelled"), [("ground", False), ("opposite", True)])
def test_a_plume_is_labelled_only_where_it_shows(colour_of: str, labelled: bool) -> None:
    renderer, plume = _plume_over_the_site(colour_of)
    kinds = {label.kind for label in renderer.render([plume]).labels}
    assert (SceneClass.DUST in kinds) is labelled


def _goods_in(seed: int) -> list[Placement]:
    rng = np.random.default_rng(seed)
    scenery = sample_scenery(rng, 640, 360)
    return [p for p in sample_placements(scenery.layout, rng) if p.kind is SceneClass.GOODS]


def test_displays_of_goods_stand_apart_with_a_gap_between_them() -> None:
    """Touching displays show no edge between them; the generator never lays two displays touching."""
    pairs = 0
    for seed in range(40):
        goods = _goods_in(seed)
        for index, first in enumerate(goods):
            for second in goods[index + 1 :]:
                pairs += 1
                gap = GOODS_GAP * min(first.sprite.width, second.sprite.width)
                a, b = first.canvas_rect, second.canvas_rect
                apart_x = max(b[0] - a[2], a[0] - b[2]) >= gap
                apart_y = max(b[1] - a[3], a[1] - b[3]) >= gap
                assert apart_x or apart_y, f"seed {seed}: goods {first.object_id} and {second.object_id} touch"
    assert pairs > 40  # scenes with several displays were drawn, so the rule was really tested


def test_goods_boxes_in_the_frame_never_overlap() -> None:
    for seed in range(40):
        boxes = [label.box for label in render_still(seed, 640, 360).labels if label.kind is SceneClass.GOODS]
        for index, a in enumerate(boxes):
            for b in boxes[index + 1 :]:
                assert min(a[2], b[2]) <= max(a[0], b[0]) or min(a[3], b[3]) <= max(a[1], b[1]), seed


def test_scenes_still_hold_from_none_to_several_displays_of_goods() -> None:
    counts = [len(_goods_in(seed)) for seed in range(60)]
    assert max(counts) >= 5
    assert min(counts) == 0
