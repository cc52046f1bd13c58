"""Real footage through the camera pipeline: people walking on vtest.avi's campus road, with a no-vending zone and a
shop strip over most of the picture. Nothing that moves through makes an event, and the walkers are seen as people;
a real object made to stay in the scene (a crop of a real photo held out of training, laid in with the scene's light
and noise) is found by the class-agnostic path as an unknown object staying, once, at the time it stayed long
enough, and should be found by the detector as a stall (not yet: see the expected failure). A camera knocked so
that its view moves by a few pixels, a scene whose light falls by half at once, or a camera switching to its night
mode raises nothing, and still finds the kiosk that comes after; the place a kiosk was taken away from is no object.
Each scene is run once through the pipeline with every rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from offsite.cameras import build_runner
from offsite.settings import SHIPPED_MODEL
from tests.conftest import SHANGHAI
from tests.support.footage import Dimming, Footage, Knock, NightMode, Staying, real_crop, vtest
from tests.unit.evidence.test_store import open_store
from vision.capture import CapturedEvidence
from vision.config import camera_spec
from vision.detector import DetectorConfig, OnnxDetector
from vision.events import ViolationEvent
from vision.synthetic.composite import Placement

START = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
INTERVAL_S = 1.0
WALKWAY = [[0.02, 0.35], [0.98, 0.35], [0.98, 0.98], [0.02, 0.98]]  # the road and the lawn: most of the picture
SHOP_STRIP = {
    "id": "shops",
    "kind": "shop_strip",
    "polygon": [[0.02, 0.35], [0.98, 0.35], [0.98, 0.65], [0.02, 0.65]],
    "subject": {"kind": "merchant", "ref": "M-CAMPUS"},
    "front_line": {"start": [0.02, 0.35], "end": [0.98, 0.35], "street_side": [0.5, 0.9]},
}
KIOSK = Placement((420, 300, 560, 420), seed=3)  # on the road, where people walk round it
APPEAR_S, LEAVE_S = 20.0, 60.0
DWELL_S = 10.0
KNOCK_S, KNOCKED_KIOSK_S = 30.0, 45.0
DIMMED_S, DIMMED_KIOSK_S = 25.0, 45.0
NIGHT_S, NIGHT_KIOSK_S = 25.0, 45.0
TAKEN_AWAY_S = 40.0


@pytest.fixture(scope="module")
def detector() -> OnnxDetector:
    return OnnxDetector(DetectorConfig(SHIPPED_MODEL, threads=1))


def campus_document(camera_id: str, source: dict[str, Any]) -> dict[str, Any]:
    """The campus camera as a cameras file holds it: a no-vending zone and a shop strip over the walkway, stall and
    cross-door rules, and the unknown-object rule on the no-vending zone, all with short dwell times."""
    times = {"min_dwell_s": DWELL_S, "inertia_s": 5, "cooldown_s": 600}
    return {
        "camera_id": camera_id,
        "source": source,
        "zones": [{"id": "road", "kind": "no_vending", "polygon": WALKWAY}, SHOP_STRIP],
        "rules": [{"id": "stall-road", "kind": "stall", "zones": ["road"]} | times,
                  {"id": "goods-shops", "kind": "cross_door", "zones": ["shops"]} | times,
                  {"id": "staying-road", "kind": "unknown_object", "zones": ["road"]} | times],
    }  # fmt: skip


def campus_camera(detector: OnnxDetector) -> Any:
    """The campus camera, its frames pushed (``Footage``), with short clips."""
    document = campus_document("campus", {"url": "push", "interval_s": INTERVAL_S}) | {"pre_s": 2, "post_s": 1}
    return camera_spec(document, detector.class_names)


def kiosk(appear_s: float, leave_s: float = 90.0) -> Staying:
    """The held-out kiosk (real-dev's stall_02.jpg) on the road from ``appear_s`` until ``leave_s`` (by default past
    the footage's end, 79.5 s)."""
    return Staying(real_crop("stall_02.jpg", "stall"), KIOSK, appear_s, leave_s)


def kiosk_found(events: list[ViolationEvent], appear_s: float) -> ViolationEvent:
    """The one unknown object the kiosk became: found once the short-term background has taken it in (seconds after
    it came), then confirmed after the dwell."""
    (event,) = [e for e in events if e.violation_code == "unknown_object"]
    appeared = START + dt.timedelta(seconds=appear_s)
    assert appeared < event.first_seen <= appeared + dt.timedelta(seconds=15)
    assert event.last_seen - event.first_seen >= dt.timedelta(seconds=DWELL_S)
    return event


class Counting:
    """The detector, counting the analysed frames in which it found a person."""

    def __init__(self, detector: OnnxDetector) -> None:
        self.detector, self.class_names, self.manifest = detector, detector.class_names, detector.manifest
        self.frames = self.with_person = 0

    def detect(self, image: Any) -> Any:
        found = self.detector.detect(image)
        self.frames += 1
        self.with_person += int((found.class_id == self.class_names.index("person")).any())
        return found


def run_camera(detector: Counting, source: Footage, work: Path) -> list[ViolationEvent]:
    events: list[ViolationEvent] = []

    def emit(event: ViolationEvent, _evidence: CapturedEvidence) -> None:
        events.append(event)

    runner = build_runner(
        [campus_camera(detector.detector)], detector, open_store(work / "evidence"), emit,  # type: ignore[arg-type]
        work / "work", pushed_source=lambda _camera: source, caption_tz=SHANGHAI,
    )  # fmt: skip
    runner.start()
    assert runner.wait(600)
    metrics = runner.pipelines["campus"].metrics
    assert metrics.failed is None
    assert metrics.frames_analysed >= 78  # 79.5 s at a frame a second
    return events


@pytest.fixture(scope="module")
def as_it_is(detector: OnnxDetector, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[ViolationEvent], Counting]:
    counting = Counting(detector)
    events = run_camera(counting, Footage("campus", vtest(), START, INTERVAL_S), tmp_path_factory.mktemp("as-it-is"))
    return events, counting


@pytest.fixture(scope="module")
def with_a_kiosk(detector: OnnxDetector, tmp_path_factory: pytest.TempPathFactory) -> list[ViolationEvent]:
    """A real kiosk (real-dev's stall_02.jpg, a photo held out of training) stands on the road from 20 s to 60 s."""
    source = Footage("campus", vtest(), START, INTERVAL_S, kiosk(APPEAR_S, LEAVE_S))
    return run_camera(Counting(detector), source, tmp_path_factory.mktemp("kiosk"))


@pytest.fixture(scope="module")
def knocked(detector: OnnxDetector, tmp_path_factory: pytest.TempPathFactory) -> list[ViolationEvent]:
    """The camera is knocked at 30 s: its view moves by 6 and 4 pixels for good. The kiosk stands on the road from
    45 s to the footage's end (79.5 s), where it stands in the moved picture."""
    source = Footage("campus", vtest(), START, INTERVAL_S, kiosk(KNOCKED_KIOSK_S), Knock(KNOCK_S, 6, 4))
    return run_camera(Counting(detector), source, tmp_path_factory.mktemp("knocked"))


@pytest.fixture(scope="module")
def dimmed(detector: OnnxDetector, tmp_path_factory: pytest.TempPathFactory) -> list[ViolationEvent]:
    """At 25 s the scene's light falls to half, at once (a cloud over the sun, the camera's exposure), and stays so.
    The kiosk stands on the road from 45 s to the footage's end, in the dimmer light."""
    source = Footage("campus", vtest(), START, INTERVAL_S, kiosk(DIMMED_KIOSK_S), dimming=Dimming(DIMMED_S, 0.5))
    return run_camera(Counting(detector), source, tmp_path_factory.mktemp("dimmed"))


@pytest.fixture(scope="module")
def at_night(detector: OnnxDetector, tmp_path_factory: pytest.TempPathFactory) -> list[ViolationEvent]:
    """At 25 s the camera switches to its black-and-white infrared night mode and stays in it. The kiosk stands on the
    road from 45 s to the footage's end, seen in the night mode as all else."""
    source = Footage("campus", vtest(), START, INTERVAL_S, kiosk(NIGHT_KIOSK_S), night=NightMode(NIGHT_S))
    return run_camera(Counting(detector), source, tmp_path_factory.mktemp("night"))


@pytest.fixture(scope="module")
def taken_away(detector: OnnxDetector, tmp_path_factory: pytest.TempPathFactory) -> list[ViolationEvent]:
    """The kiosk stands on the road from the footage's first frame, so the background models learn it as part of
    the scene, and is taken away at 40 s, in the camera's night mode as the kiosk at night is seen."""
    source = Footage("campus", vtest(), START, INTERVAL_S, kiosk(0.0, TAKEN_AWAY_S), night=NightMode(0.0))
    return run_camera(Counting(detector), source, tmp_path_factory.mktemp("taken-away"))


def test_people_walking_through_raise_nothing_and_are_seen_as_people(
    as_it_is: tuple[list[ViolationEvent], Counting],
) -> None:
    events, counting = as_it_is
    assert events == []  # no stall, no cross-door, no unknown object
    assert counting.with_person >= 0.9 * counting.frames  # someone walks through every frame of the footage


def test_a_real_object_that_stays_is_one_unknown_object_when_it_has_stayed(
    with_a_kiosk: list[ViolationEvent],
) -> None:
    event = kiosk_found(with_a_kiosk, APPEAR_S)
    assert event.zone_id == "road"
    assert event.last_seen < START + dt.timedelta(seconds=LEAVE_S)
    assert all(e.violation_code in ("unknown_object", "street_stall") for e in with_a_kiosk)


def test_a_camera_knocked_a_few_pixels_raises_nothing_and_still_finds_an_object_that_stays(
    knocked: list[ViolationEvent],
) -> None:
    """Every edge of the campus moves with the view: the long-term background does not know them there, and no
    "object" is made of them. The kiosk that comes after is one unknown object, found where it stands."""
    assert all(e.violation_code in ("unknown_object", "street_stall") for e in knocked)
    kiosk_found(knocked, KNOCKED_KIOSK_S)


def test_the_light_falling_by_half_raises_nothing_and_an_object_that_stays_after_is_still_found(
    dimmed: list[ViolationEvent],
) -> None:
    """Every pixel of the scene changes when the light falls, none of them an object: the background models take the
    new light in (nothing in the 20 s before the kiosk comes, twice the dwell), and the kiosk that comes after is one
    unknown object, found where it stands."""
    assert all(e.first_seen > START + dt.timedelta(seconds=DIMMED_KIOSK_S) for e in dimmed)
    assert kiosk_found(dimmed, DIMMED_KIOSK_S).zone_id == "road"


def test_the_camera_switching_to_night_mode_raises_nothing_and_an_object_that_stays_after_is_still_found(
    at_night: list[ViolationEvent],
) -> None:
    """Colour, contrast and grain change at once over the whole picture when the camera turns to infrared: the
    background models take the new picture in, the detector's people stay people, and nothing but the kiosk that
    comes after raises an event; it is one unknown object, found where it stands."""
    assert all(e.first_seen > START + dt.timedelta(seconds=NIGHT_KIOSK_S) for e in at_night)
    assert all(e.violation_code in ("unknown_object", "street_stall") for e in at_night)
    assert kiosk_found(at_night, NIGHT_KIOSK_S).zone_id == "road"


def test_the_place_a_thing_was_taken_away_from_is_no_object(taken_away: list[ViolationEvent]) -> None:
    """Where the kiosk stood, the long-term background still remembers it for a long while and the picture shows
    the lawn again: a ghost, which the static-object path tells from a new object by whose contour lies along the
    region's outline, the remembered picture's or the present one's. Nothing is raised."""
    assert [e.violation_code for e in taken_away if e.violation_code == "unknown_object"] == []


@pytest.mark.xfail(
    strict=True,
    reason="issue 14 not met yet: in the dimmed scene the shipped model scores the campus's signboards as goods (the "
    "fire assembly point sign in the shop strip 0.61, the warning sign 0.53 to 0.64, over the goods threshold 0.5), "
    "and the sign in the strip became a cross-door event at 62 s; in the scene's own light they score nothing. Signs "
    "and boxed displays at dusk are what the model confuses with goods and stalls (neg_06, decision 0036)",
)
def test_in_the_dimmed_scene_nothing_but_the_kiosk_raises_an_event(dimmed: list[ViolationEvent]) -> None:
    assert all(e.violation_code in ("unknown_object", "street_stall") for e in dimmed)


@pytest.mark.xfail(
    strict=True,
    reason="issue 14 not met yet: the shipped model finds this held-out kiosk on its own photo (0.92) and one of the "
    "two held-out ground-level stalls, but laid into the campus scene at 140×120 pixels its best stall box there "
    "scores at most 0.05 in any second of the 40 (decision 0034), under the stall threshold 0.4: small real stalls in "
    "a wide view are what it has not learned (docs/decisions/0030). Real stalls laid into real photos in training "
    "teach it at some seeds: two of five trial models pass this, one of the three seeds of the recipe that keeps the "
    "false boxes (decision 0034)",
)
def test_a_real_stall_that_stays_is_one_stall_event_at_its_time(with_a_kiosk: list[ViolationEvent]) -> None:
    (event,) = [e for e in with_a_kiosk if e.violation_code == "street_stall"]
    appeared = START + dt.timedelta(seconds=APPEAR_S)
    assert appeared <= event.first_seen <= appeared + dt.timedelta(seconds=3)
    assert event.last_seen - event.first_seen >= dt.timedelta(seconds=DWELL_S)
    assert event.last_seen <= appeared + dt.timedelta(seconds=DWELL_S + 5)
