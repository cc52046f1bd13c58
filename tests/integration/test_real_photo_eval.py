"""`offsite model eval --real` scores a model on real photos (the metric of record), and the shipped model's card
tells the figures those photos give."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from offsite.cli import app
from offsite.settings import SHIPPED_MODEL
from tests.support.real_data import shared
from vision.manifest import ModelManifest, manifest_path_for


@pytest.fixture(scope="module")
def told() -> str:
    """What `offsite model eval --real` prints for the shipped model on real-dev (run once for the module)."""
    result = CliRunner().invoke(app, ["model", "eval", str(SHIPPED_MODEL), "--real", str(shared("real-dev"))])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def scored(told: str) -> dict[str, object]:
    figures: dict[str, object] = json.loads(told.strip().splitlines()[-1])
    return figures


def test_the_shipped_models_real_figures_are_the_ones_its_manifest_records(scored: dict[str, object]) -> None:
    recorded = ModelManifest.read(manifest_path_for(SHIPPED_MODEL)).metrics.get("real")
    assert recorded is not None, "the manifest records the model's real-dev figures"
    assert recorded["folder"] == "real-dev"
    assert scored["held_out"] == recorded["held_out"]
    assert scored["trained_on"] == recorded["trained_on"]


def test_every_photo_is_scored_once_either_as_seen_or_as_never_seen(scored: dict[str, object]) -> None:
    parts = {name: scored[name] for name in ("held_out", "trained_on", "all")}
    photos = {name: part["photos"] for name, part in parts.items()}  # type: ignore[index]
    assert photos["all"] == 73
    assert photos["held_out"] + photos["trained_on"] == 73
    assert set(scored["thresholds"]) >= {"stall", "person", "vehicle", "dust", "bare_pile"}  # type: ignore[arg-type]


def test_photos_whose_boxes_name_a_class_their_row_does_not_list_are_told(told: str, scored: dict[str, object]) -> None:
    """real-dev has such photos (a dumper whose driver is boxed as a person, its row listing only the vehicle): the
    report names them, and the figures follow the rows."""
    disagreements = scored["label_disagreements"]
    assert isinstance(disagreements, dict)
    assert disagreements.get("pile_18.jpg") == ["person"]
    assert "pile_18.jpg: boxes person, which its labels.csv row does not list" in told


def test_a_folder_that_is_not_a_real_photo_set_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["model", "eval", str(SHIPPED_MODEL), "--real", str(tmp_path)])
    assert result.exit_code == 2
    assert "no labels.csv" in result.output


def test_eval_asks_for_one_kind_of_data() -> None:
    result = CliRunner().invoke(app, ["model", "eval", str(SHIPPED_MODEL)])
    assert result.exit_code == 2
    assert "either a data.yaml or --real" in result.output


def test_a_photo_that_does_not_decode_stops_the_scoring_naming_it(tmp_path: Path) -> None:
    """A photo cut short in copying would change every figure's denominator if it were skipped: the scoring stops,
    exit 2, naming the photo, without a traceback."""
    (tmp_path / "images").mkdir()
    cut = shared("real-dev") / "images" / "neg_01.jpg"
    (tmp_path / "images" / "neg_01.jpg").write_bytes(cut.read_bytes()[:100])
    (tmp_path / "labels.csv").write_text("file,classes_present\nneg_01.jpg,person\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["model", "eval", str(SHIPPED_MODEL), "--real", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "neg_01.jpg: not an image that can be decoded" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
