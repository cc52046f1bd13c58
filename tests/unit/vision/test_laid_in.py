"""Real objects cut from the training photos are laid into plain real scenes at a street camera's scale: each stands
on the ground at a height in the asked range, its box is true, the scene's own boxes stay true (never covered much),
and nothing is cut from a held-out photo or from a source boxed for some classes only."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from offsite.training_jobs import recipe_problem
from tests.unit.vision.test_training_mix import people_everywhere, renders
from vision.laid_in import MOST_COVERED, Cut, LaidIn, Scene, cuts, made
from vision.real_photos import Box, read_folder
from vision.training_mix import MixError, MixRecipe, RealFolder, build

GREEN, RED, BLUE, GREY = (0, 200, 0), (0, 0, 255), (255, 0, 0), 90


def photo(path: Path, colour: tuple[int, int, int], box: tuple[float, float, float, float]) -> None:
    """A grey 200×150 photo with one object of ``colour`` at the normalised ``box``."""
    image = np.full((150, 200, 3), GREY, np.uint8)
    x1, y1, x2, y2 = box
    image[int(y1 * 150) : int(y2 * 150), int(x1 * 200) : int(x2 * 200)] = colour
    cv2.imwrite(str(path), image)


def real_folder(root: Path) -> Path:
    """A kept street photo with a green stall, a held-out one with a red stall, an aerial chip (a source boxed for
    stalls only) with a blue one."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    photo(root / "images" / "market.jpg", GREEN, (0.25, 0.3, 0.75, 0.9))
    photo(root / "images" / "secret.jpg", RED, (0.25, 0.3, 0.75, 0.9))
    photo(root / "images" / "chip.jpg", BLUE, (0.25, 0.3, 0.75, 0.9))
    for name in ("market", "secret", "chip"):
        (root / "labels" / f"{name}.txt").write_text("0 0.5 0.6 0.5 0.6\n")
    (root / "labels.csv").write_text(
        "file,source_repo,source_path,classes_present,box_labels\n"
        "market.jpg,kept/repo,m.jpg,stall,labels/market.txt\n"
        "secret.jpg,held/back,s.jpg,stall,labels/secret.txt\n"
        "chip.jpg,air/chips,x/town_chip_1_1.jpg,stall,labels/chip.txt\n"
    )
    return root


def green(pixels: np.ndarray) -> np.ndarray:
    """Where the pixels are plainly green (JPEG moves pure green a little)."""
    colours = pixels.astype(int)
    return np.asarray(colours[..., 1] - np.maximum(colours[..., 0], colours[..., 2]) > 80)


def scene(path: Path) -> Scene:
    cv2.imwrite(str(path), np.full((480, 640, 3), GREY, np.uint8))
    return Scene(path, (Box("person", (0.1, 0.5, 0.2, 0.9)), Box("vehicle", (0.6, 0.6, 0.9, 0.95))))


def test_cuts_are_the_asked_classes_boxes_of_the_photos_given(tmp_path: Path) -> None:
    photos = read_folder(real_folder(tmp_path / "real"))
    found = cuts(photos, ["stall"])
    assert [(cut.name, cut.photo) for cut in found] == [("stall", "market.jpg"), ("stall", "secret.jpg"),
                                                         ("stall", "chip.jpg")]  # fmt: skip
    assert found[0].pixels.shape[:2] == (90, 100)
    assert green(found[0].pixels).all()  # the object itself, not its surroundings
    assert cuts(photos, ["goods"]) == []
    assert cuts(photos, ["stall"], smallest_px=120) == []  # too small to lay in


def test_each_object_stands_on_the_ground_at_the_asked_height_and_every_box_stays_true(tmp_path: Path) -> None:
    stall = Cut("stall", np.full((90, 100, 3), GREEN, np.uint8), "market.jpg")
    laid = LaidIn(("stall",), images=20, height=(0.1, 0.3), seed=5, light_match=(0.0, 0.0))  # its own colours
    plain = scene(tmp_path / "street.jpg")
    pictures = list(made(laid, [stall], [plain]))
    assert len(pictures) == 20
    for picture in pictures:
        assert picture.pixels.shape == (480, 640, 3)
        assert picture.boxes[:2] == plain.boxes  # the scene's people and vehicles are kept
        laid_boxes = picture.boxes[2:]
        assert 1 <= len(laid_boxes) <= laid.most_per_image
        assert len(laid_boxes) == len(picture.cut_from)
        for box in laid_boxes:
            x1, y1, x2, y2 = box.xyxy
            assert box.name == "stall"
            assert 0.1 - 0.01 <= y2 - y1 <= 0.3 + 0.01
            assert y2 >= 0.45  # standing on the ground
            assert 0 <= x1 < x2 <= 1
            assert y1 >= 0
            middle = picture.pixels[int((3 * y1 + y2) * 120) : int((y1 + 3 * y2) * 120),
                                    int((3 * x1 + x2) * 160) : int((x1 + 3 * x2) * 160)]  # fmt: skip
            assert middle.size
            assert green(middle).all()  # green where its box says
            for kept in plain.boxes:
                across = max(0, min(x2, kept.xyxy[2]) - max(x1, kept.xyxy[0])) * max(
                    0, min(y2, kept.xyxy[3]) - max(y1, kept.xyxy[1]))  # fmt: skip
                area = (kept.xyxy[2] - kept.xyxy[0]) * (kept.xyxy[3] - kept.xyxy[1])
                assert across / area <= MOST_COVERED + 0.01
    again = list(made(laid, [stall], [plain]))
    assert all(np.array_equal(a.pixels, b.pixels) and a.boxes == b.boxes for a, b in zip(pictures, again, strict=True))


def test_the_mix_lays_in_objects_from_its_kept_fully_boxed_photos_only(tmp_path: Path) -> None:
    negative = tmp_path / "plain.jpg"
    cv2.imwrite(str(negative), np.full((240, 320, 3), GREY, np.uint8))
    recipe = MixRecipe(
        renders(tmp_path / "renders"), (RealFolder(real_folder(tmp_path / "real"), ("held/back",)),), 2,
        (negative,), ("air/chips",), laid_in=LaidIn(("stall",), images=12, height=(0.2, 0.4), seed=1, light_match=(0, 0)),
    )  # fmt: skip
    summary = build(recipe, tmp_path / "mix", people_everywhere)
    train = tmp_path / "mix" / "images" / "train"
    laid = sorted(train.glob("laid*"))
    assert len(laid) == 12
    assert summary.train_images == 3 + 2 * 2 + 2 + 12  # renders, market and chip twice, the negative twice, laid in
    for image in laid:
        assert not image.is_symlink()
        pixels = np.asarray(cv2.imread(str(image)), np.uint8)
        assert not (pixels[..., 2].astype(int) - pixels[..., 1] > 80).any()  # never the held-out photo's red stall
        assert not (pixels[..., 0].astype(int) - pixels[..., 1] > 80).any()  # nor the stall-only source's blue one
        assert green(pixels).any()
        labels = (tmp_path / "mix" / "labels" / "train" / f"{image.stem}.txt").read_text().splitlines()
        assert sorted({line.split()[0] for line in labels}) == ["0", "2", "3"]  # the stall, COCO's person, vehicle
    described = json.loads((tmp_path / "mix" / "generator.json").read_text())
    assert described["laid_in"]["images"] == 12
    assert set(described["laid_in"]["objects"]) == {"market.jpg"}


def test_a_class_the_detector_does_not_have_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    recipe = MixRecipe(renders(tmp_path / "renders"), (), 1, (), (), laid_in=LaidIn(("booth",), 3, (0.1, 0.2)))
    with pytest.raises(MixError) as refused:
        build(recipe, tmp_path / "mix", None)
    assert "booth" in recipe_problem(refused.value).english
    assert not (tmp_path / "mix").exists()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("laid_in: [stall]\n", "laid_in must be a mapping"),
        ("laid_in: {classes: [stall], height: [0.4, 0.2]}\n", "laid_in.height must be two numbers"),
        ("laid_in: {classes: [stall], height: [0.1, 0.95]}\n", "laid_in.height must be two numbers"),
        ("laid_in: {classes: [stall], height: 0.2}\n", "laid_in.height must be two numbers"),
        ("laid_in: {classes: [stall], images: 0}\n", "laid_in.images must be a whole number"),
        ("laid_in: {classes: [stall], seed: -1}\n", "laid_in.seed must be a whole number"),
        ("laid_in: {images: 3}\n", "laid_in.classes"),
    ],
)
def test_a_faulty_laid_in_is_refused_naming_the_field(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "mix.yaml"
    path.write_text("renders: r\n" + text)
    with pytest.raises(MixError) as refused:
        MixRecipe.read(path)
    assert says in recipe_problem(refused.value).english


@pytest.mark.parametrize(("trial", "images"), [("laid-in", 120), ("laid-in-fewer", 40)])
def test_each_trial_recipe_is_the_shipped_mix_with_real_objects_laid_in(trial: str, images: int) -> None:
    training = Path(__file__).resolve().parents[3] / "configs" / "training"
    shipped = MixRecipe.read(training / "real-mix.yaml")
    tried = MixRecipe.read(training / "trials" / f"{trial}.yaml")
    assert shipped.laid_in is None
    assert tried.laid_in == LaidIn(("stall", "goods"), images=images, height=(0.08, 0.35), seed=0)
    assert dataclasses.replace(tried, laid_in=None) == shipped
