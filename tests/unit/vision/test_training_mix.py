"""The training mix takes generated scenes, the real photos not held out (each several times, pseudo-labelled
where a source boxes only some classes) and real negatives; held-out photos never reach training, and the mix
says what went in."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from offsite.training_jobs import recipe_problem
from tests.unit.vision.test_real_photos import row, write_folder
from vision.real_photos import Box
from vision.training_mix import LabelledSet, MixError, MixRecipe, RealFolder, build

NAMES = ["stall", "goods", "person", "vehicle", "dust", "bare_pile", "covered_pile"]


def renders(root: Path) -> Path:
    for part, count in (("train", 3), ("val", 1)):
        (root / "images" / part).mkdir(parents=True)
        (root / "labels" / part).mkdir(parents=True)
        for i in range(count):
            cv2.imwrite(str(root / "images" / part / f"{i}.jpg"), np.zeros((32, 32, 3), np.uint8))
            (root / "labels" / part / f"{i}.txt").write_text("2 0.5 0.5 0.1 0.2\n")
    (root / "data.yaml").write_text(yaml.safe_dump({"names": dict(enumerate(NAMES))}))
    (root / "generator.json").write_text(json.dumps({"generator": "vision.synthetic", "imgsz": 640}))
    return root


@pytest.fixture
def recipe(tmp_path: Path) -> MixRecipe:
    real = write_folder(
        tmp_path / "real",
        [
            row("market.jpg", "stall;person", "kept/repo", box_labels="labels/market.txt"),
            row("chip.jpg", "stall", "air/chips", source_path="x/town_chip_1_1.jpg", box_labels="labels/chip.txt"),
            row("secret.jpg", "stall", "held/back", box_labels="labels/secret.txt"),
        ],
        {"market.txt": "0 0.5 0.5 0.2 0.2\n5 0.2 0.2 0.1 0.2\n", "chip.txt": "0 0.5 0.5 0.1 0.1\n",
         "secret.txt": "0 0.5 0.5 0.1 0.1\n"},
    )  # fmt: skip
    negative = tmp_path / "plain.jpg"
    cv2.imwrite(str(negative), np.zeros((32, 32, 3), np.uint8))
    return MixRecipe(renders(tmp_path / "renders"), (RealFolder(real, ("held/back",)),), 2, (negative,), ("air/chips",))


def people_everywhere(path: Path) -> list[Box]:
    return [Box("person", (0.0, 0.0, 0.5, 0.5)), Box("vehicle", (0.5, 0.5, 1.0, 1.0))]


def test_the_mix_holds_renders_real_copies_and_negatives_but_never_held_out_photos(
    tmp_path: Path, recipe: MixRecipe
) -> None:
    summary = build(recipe, tmp_path / "mix", people_everywhere)
    train = sorted(p.name for p in (tmp_path / "mix" / "images" / "train").iterdir())
    assert summary.train_images == 3 + 2 * 2 + 2
    assert summary.val_images == 1
    assert not any("secret" in name for name in train)
    assert {"real0_market.jpg", "real1_market.jpg", "real0_chip.jpg", "neg1_plain.jpg"} <= set(train)
    assert summary.real_trained == ("market.jpg", "chip.jpg")
    assert summary.real_held_out == ("secret.jpg",)
    described = json.loads((tmp_path / "mix" / "generator.json").read_text())
    assert described["real_photos_trained_on"] == ["market.jpg", "chip.jpg"]
    assert described["real_photos_held_out"] == ["secret.jpg"]
    data = yaml.safe_load((tmp_path / "mix" / "data.yaml").read_text())
    assert list(data["names"].values()) == NAMES  # the renders' class order


def test_pseudo_labels_fill_only_what_a_listed_source_does_not_box(tmp_path: Path, recipe: MixRecipe) -> None:
    build(recipe, tmp_path / "mix", people_everywhere)
    labels = tmp_path / "mix" / "labels" / "train"
    chip = (labels / "real0_chip.txt").read_text().splitlines()
    assert sorted(line.split()[0] for line in chip) == ["0", "2", "3"]  # its stall, plus COCO's person and vehicle
    market = (labels / "real0_market.txt").read_text().splitlines()
    assert sorted(line.split()[0] for line in market) == ["0", "2"]  # not a listed source: its own boxes only
    assert market[1].startswith("2 0.200000 0.200000")  # person is 5 in the photo's files, 2 in the mix
    plain = (labels / "neg0_plain.txt").read_text().splitlines()
    assert sorted(line.split()[0] for line in plain) == ["2", "3"]


def labelled_set(root: Path, sides: dict[str, int], names: list[str] = NAMES) -> Path:
    """A YOLO dataset as `offsite model dataset export --from-reviews` or `import` writes one."""
    for part, count in sides.items():
        (root / "images" / part).mkdir(parents=True)
        (root / "labels" / part).mkdir(parents=True)
        for i in range(count):
            cv2.imwrite(str(root / "images" / part / f"{part}{i}.jpg"), np.zeros((32, 32, 3), np.uint8))
            (root / "labels" / part / f"{part}{i}.txt").write_text("0 0.5 0.5 0.1 0.2\n")
    (root / "data.yaml").write_text(yaml.safe_dump({"path": ".", "names": dict(enumerate(names))}))
    return root


def test_reviewed_and_imported_sets_join_the_mix_each_side_kept(tmp_path: Path, recipe: MixRecipe) -> None:
    reviews = labelled_set(tmp_path / "reviews", {"train": 2, "val": 1})
    imported = labelled_set(tmp_path / "imported", {"train": 1})
    mixed = MixRecipe(**{**vars(recipe), "datasets": (LabelledSet(reviews, 3), LabelledSet(imported, 1))})
    summary = build(mixed, tmp_path / "mix", None)
    assert summary.train_images == 3 + 2 * 2 + 2 + 2 * 3 + 1
    assert summary.val_images == 1 + 1  # the renders' and the reviews' val frames: the exam keeps its side
    val = sorted(p.name for p in (tmp_path / "mix" / "images" / "val").iterdir())
    assert val == ["render_0.jpg", "reviews0_val0.jpg"]
    assert "imported0_train0.jpg" in {p.name for p in (tmp_path / "mix" / "images" / "train").iterdir()}
    described = json.loads((tmp_path / "mix" / "generator.json").read_text())
    assert [d["copies"] for d in described["datasets"]] == [3, 1]


def test_a_labelled_set_of_other_classes_is_refused(tmp_path: Path, recipe: MixRecipe) -> None:
    other = labelled_set(tmp_path / "other", {"train": 1}, ["booth", "person"])
    with pytest.raises(MixError, match=r"classes: .*theirs=booth, person"):
        build(MixRecipe(**{**vars(recipe), "datasets": (LabelledSet(other, 1),)}), tmp_path / "mix", None)
    assert not (tmp_path / "mix").exists()


def test_a_mix_is_not_written_over_another(tmp_path: Path, recipe: MixRecipe) -> None:
    (tmp_path / "mix").mkdir()
    (tmp_path / "mix" / "old.txt").write_text("kept")
    with pytest.raises(MixError, match="not_empty"):
        build(recipe, tmp_path / "mix", None)
    assert [p.name for p in (tmp_path / "mix").iterdir()] == ["old.txt"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("renders: r\ncopies: 0\n", "copies must be a whole number"),
        ("copies: 2\n", "renders must name"),
        ("renders: r\nreal: [a, b]\n", "real must be a list of {folder, held_out}"),
        ("renders: r\nreal: [{folder: a, held_out: x}]\n", "held_out must be a list"),
        ("- a\n", "a recipe is a mapping"),
        ("renders: r\ndatasets: [reviews]\n", "datasets must be a list of {folder, copies}"),
        ("renders: r\ndatasets: [{folder: a, copies: 0}]\n", "datasets[0].copies must be a whole number"),
        ("renders: r\npseudo_labels: coco.onnx\n", "pseudo_labels must name a COCO model's weights (a .pt file)"),
        ("renders: r\npseudo_labels: [a.pt]\n", "pseudo_labels must name a COCO model's weights (a .pt file)"),
    ],
)
def test_a_faulty_recipe_is_refused_naming_the_field(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "mix.yaml"
    path.write_text(text)
    with pytest.raises(MixError) as refused:
        MixRecipe.read(path)
    assert says in recipe_problem(refused.value).english


def test_the_shipped_recipe_reads() -> None:
    recipe = MixRecipe.read(Path(__file__).resolve().parents[3] / "configs" / "training" / "real-mix.yaml")
    assert recipe.copies >= 1
    assert recipe.real
    assert recipe.real[0].held_out
    assert recipe.pseudo_labels is not None
    assert recipe.pseudo_labels.name == "yolov8n_coco.pt"
    assert recipe.wants_pseudo_labels


@pytest.mark.parametrize(
    ("ablation", "left_out"),
    [
        ("no-real-boxes", {"real"}),
        ("no-negatives", {"negatives"}),
        ("no-pseudo-labels", {"pseudo_labels", "pseudo_label_sources"}),
    ],
)
def test_each_ablation_recipe_is_the_shipped_mix_with_one_ingredient_left_out(
    ablation: str, left_out: set[str]
) -> None:
    training = Path(__file__).resolve().parents[3] / "configs" / "training"
    shipped = MixRecipe.read(training / "real-mix.yaml")
    ablated = MixRecipe.read(training / "ablations" / f"{ablation}.yaml")
    fields = {field.name for field in dataclasses.fields(MixRecipe)}
    assert {name for name in fields if getattr(shipped, name) != getattr(ablated, name)} == left_out
    assert not any(getattr(ablated, name) for name in left_out)


def test_a_recipe_saved_in_gbk_is_refused_naming_its_line_in_the_reader_s_language(tmp_path: Path) -> None:
    path = tmp_path / "mix.yaml"
    path.write_bytes(b"renders: r\n" + "# 第二批现场照片\n".encode("gbk"))
    with pytest.raises(MixError) as refused:
        MixRecipe.read(path)
    told = recipe_problem(refused.value)
    assert told.english == "the recipe is not UTF-8 text (line 2); save it as UTF-8"
    assert told.told("zh_CN") == "训练配方不是 UTF-8 文本（第 2 行），请以 UTF-8 保存"


def test_a_recipe_saved_with_a_byte_order_mark_reads(tmp_path: Path) -> None:
    path = tmp_path / "mix.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + "renders: r\ncopies: 2  # 两份\n".encode())
    assert MixRecipe.read(path).copies == 2
