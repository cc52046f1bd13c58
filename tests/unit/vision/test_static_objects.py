"""The static-object path finds what arrives and stays, and nothing that moves, nothing people or vehicles are
standing on, nothing a change of light or a departed object leaves behind."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import cv2
import numpy as np
import pytest

from tests.support.footage import moved_view
from vision.detections import Detections
from vision.static_objects import StaticCandidate, StaticObjectConfig, StaticObjects, structure_difference

T0 = dt.datetime(2026, 12, 5, 8, 0, tzinfo=dt.UTC)
CONFIG = StaticObjectConfig(long_s=600, short_s=6, hold_s=2, warmup_s=10)
STEP_S = 0.5
PERSON = 2


def ground(seed: int = 1) -> np.ndarray:
    """A paved street: grey with fine texture."""
    rng = np.random.default_rng(seed)
    base = rng.normal(120, 18, (240, 320, 1)).clip(0, 255)
    return np.repeat(base, 3, axis=2).astype(np.uint8)


def with_box(image: np.ndarray, box: tuple[int, int, int, int], colour: tuple[int, int, int]) -> np.ndarray:
    out = image.copy()
    x1, y1, x2, y2 = box
    out[y1:y2, x1:x2] = colour
    out[y1 + 4 : y2 - 4 : 6, x1:x2] = (30, 30, 30)  # stripes: a crate has edges of its own
    return out


def noisy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return (image.astype(np.int16) + rng.normal(0, 3, image.shape)).clip(0, 255).astype(np.uint8)


Scene = Callable[[float], tuple[np.ndarray, Detections]]


def run(
    scene: Scene, seconds: float, config: StaticObjectConfig = CONFIG
) -> Iterator[tuple[float, list[StaticCandidate]]]:
    objects = StaticObjects(config, masked_classes=(PERSON,))
    rng = np.random.default_rng(7)
    for i in range(int(seconds / STEP_S)):
        t = i * STEP_S
        image, detections = scene(t)
        yield t, objects.update(T0 + dt.timedelta(seconds=t), noisy(image, rng), detections)


def nothing() -> Detections:
    return Detections.empty()


CRATE = (150, 120, 200, 170)


def test_an_object_that_arrives_and_stays_becomes_a_candidate_where_it_stands() -> None:
    street, crate = ground(), with_box(ground(), CRATE, (40, 90, 200))
    found = dict(run(lambda t: (crate if t >= 20 else street, nothing()), 60))
    assert not any(found[t] for t in found if t < 20)
    staying = [t for t in found if found[t]]
    assert staying, "the crate was never found"
    assert 20 < staying[0] <= 20 + CONFIG.short_s * 3 + CONFIG.hold_s
    assert all(found[t] for t in found if t >= staying[0] + 5)  # and it stays found
    (candidate,) = found[59.5]
    x1, _y1, _x2, y2 = candidate.box
    assert abs(x1 - CRATE[0]) <= 6
    assert abs(y2 - CRATE[3]) <= 6
    assert candidate.score >= CONFIG.min_difference


def test_something_that_keeps_moving_is_never_a_candidate() -> None:
    street = ground()

    def walker(t: float) -> tuple[np.ndarray, Detections]:
        x = int(10 + (t * 12) % 280)
        return with_box(street, (x, 100, x + 20, 160), (200, 60, 60)), nothing()  # undetected by the model

    assert not any(candidates for _t, candidates in run(walker, 60))


def test_a_person_standing_still_is_masked_by_the_detectors_box() -> None:
    street, standing = ground(), with_box(ground(), CRATE, (200, 60, 60))
    person = Detections(np.array([CRATE], np.float32), np.array([0.9], np.float32), np.array([PERSON], np.int64))
    assert not any(candidates for _t, candidates in run(lambda t: (standing if t >= 15 else street, person), 60))


def test_a_change_of_light_is_no_object() -> None:
    street = ground()
    darker = (street.astype(np.float32) * 0.6).astype(np.uint8)  # a cloud
    assert not any(candidates for _t, candidates in run(lambda t: (darker if t >= 20 else street, nothing()), 60))


def test_a_shadow_falling_on_part_of_the_street_is_no_object() -> None:
    street = ground()
    shaded = street.copy()
    shaded[60:200, 100:260] = (shaded[60:200, 100:260].astype(np.float32) * 0.65).astype(np.uint8)
    assert not any(candidates for _t, candidates in run(lambda t: (shaded if t >= 20 else street, nothing()), 60))


def test_an_object_that_leaves_leaves_no_ghost() -> None:
    street, crate = ground(), with_box(ground(), CRATE, (40, 90, 200))
    found = list(run(lambda t: (crate if t < 30 else street, nothing()), 90))
    assert not any(candidates for t, candidates in found if t >= 30 + CONFIG.short_s + CONFIG.hold_s)


def street_with_kerbs() -> np.ndarray:
    """A street as a camera sees it: smooth shading, kerbs and lane lines (a fixed view that a knock moves)."""
    rng = np.random.default_rng(3)
    base = cv2.GaussianBlur(rng.normal(120, 40, (240, 320)).astype(np.float32), (0, 0), 4)
    picture = np.repeat(base[..., None], 3, axis=2).clip(0, 255).astype(np.uint8)
    cv2.line(picture, (0, 90), (320, 70), (200, 200, 200), 3)  # a kerb
    cv2.line(picture, (40, 239), (150, 100), (230, 230, 230), 2)  # lane lines
    cv2.line(picture, (280, 239), (190, 100), (230, 230, 230), 2)
    cv2.rectangle(picture, (250, 10), (300, 60), (60, 60, 90), -1)  # a kiosk that was always there
    return picture


@pytest.mark.parametrize("knock", [(3, 2), (-6, 4), (12, -9)])
def test_a_camera_knocked_a_few_pixels_raises_nothing(knock: tuple[int, int]) -> None:
    """Wind or a maintenance visit moves the camera's view for good: every edge of the street is somewhere else,
    which the long-term background does not know. That is no object."""
    street = street_with_kerbs()
    after = moved_view(street, *knock)
    assert not any(candidates for _t, candidates in run(lambda t: (after if t >= 20 else street, nothing()), 60))


def test_a_shaking_camera_still_finds_an_object_that_stays_where_it_stands_in_the_picture() -> None:
    """The view shakes by a few pixels from frame to frame, and after 15 s stays moved; a crate arrives at 30 s:
    it is found, and its box is where the crate is in the picture the camera sent."""
    street = street_with_kerbs()

    def shaking(t: float) -> tuple[np.ndarray, Detections]:
        step = int(t / STEP_S)
        dx, dy = 2 * np.sin(step * 2.7), 2 * np.sin(step * 1.9 + 1)
        if t >= 15:
            dx, dy = dx + 7, dy - 5
        picture = moved_view(street, dx, dy)
        if t >= 30:
            picture = with_box(picture, CRATE, (40, 90, 200))  # laid in the picture as sent, where it stands
        return picture, nothing()

    found = list(run(shaking, 70))
    assert not any(candidates for t, candidates in found if t < 30)
    late = [candidates for t, candidates in found if t >= 60]
    assert all(late), "the crate was not found in every late frame"
    for candidates in late:
        (candidate,) = candidates
        x1, _y1, _x2, y2 = candidate.box
        assert abs(x1 - CRATE[0]) <= 6, candidate.box
        assert abs(y2 - CRATE[3]) <= 6, candidate.box


def test_structure_difference_tells_light_from_a_new_object() -> None:
    street = ground()[:60, :60]
    assert structure_difference((street * 0.5).astype(np.uint8), street) < 0.2
    assert structure_difference(with_box(street, (10, 10, 50, 50), (40, 90, 200)), street) > 0.5


@pytest.mark.parametrize("changes", [{"short_s": 0}, {"short_s": 700}, {"min_area": 0}, {"hold_s": -1}, {"width": 8}])
def test_a_config_that_cannot_work_is_refused(changes: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        StaticObjectConfig(**{"long_s": 600, **changes})  # type: ignore[arg-type]


def test_a_picture_that_changes_size_is_a_new_view_and_an_object_after_it_is_still_found() -> None:
    """The camera's resolution is changed mid-stream (4:3 to 16:9 in its settings, the NVR switching streams): the
    models start again on the new picture instead of stopping the camera, nothing is raised for the change, and a
    crate that comes after is found where it stands."""
    street = ground()
    wide_street = cv2.resize(street, (480, 270))
    wide_crate = with_box(wide_street, CRATE, (40, 90, 200))

    def scene(t: float) -> tuple[np.ndarray, Detections]:
        if t < 20:
            return street, nothing()
        return (wide_crate if t >= 40 else wide_street), nothing()

    found = dict(run(scene, 80))
    assert not any(found[t] for t in found if t < 40)
    (candidate,) = found[79.5]
    assert abs(candidate.box[0] - CRATE[0]) <= 6
    assert abs(candidate.box[3] - CRATE[3]) <= 6
