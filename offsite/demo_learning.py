"""The demo's learning loop (issue 15): its operators' reviews become labels, the labels a dataset, the dataset a short
training on the CPU, the training a candidate, and the candidate goes before the gate against the active model; the
decision shows at /console/models.

The exam is frozen from the reviewed frames' validation side (a hash of each camera-minute chooses it, the same in
every export), and the job's own export puts the same frames on the same side: the candidate never trains on its
exam. A few generated scenes join the reviewed frames, as a recipe's ``renders``. Two epochs on a few dozen images
make a candidate that is no better than the shipped model, and the gate says so with its reasons; a bureau's
recipe (configs/training/real-mix.yaml) trains for an hour on its cameras' months of reviews.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cases.messages import ENGLISH
from cases.model.training_job import JobStatus, TrainingJob
from cases.services.base import Actor
from offsite import learning, model_registry, training_jobs
from offsite.bootstrap import Components
from offsite.settings import SHIPPED_MODEL
from vision.manifest import ModelManifest, manifest_path_for
from vision.model_gate import GoldenSetError, freeze
from vision.synthetic import DatasetSpec, write_dataset

log = logging.getLogger("offsite.demo")

GOLDEN_SET = "demo-reviews"
RECIPE = "demo-learning.yaml"
VAL_FRACTION = 0.3
JOB_LIMIT_S = 20 * 60  # two epochs at 320 px take about a minute on two cores; a slow machine gets far longer


@dataclass
class LearningSummary:
    labelled_frames: int = 0  # reviewed key frames in the export
    golden_frames: int = 0
    job: int | None = None
    job_status: str = ""
    candidate: str | None = None
    promoted: bool | None = None
    reasons: list[str] = field(default_factory=list)  # the gate's, in English
    problem: str | None = None  # why the loop stopped short, when it did

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def walk_learning_loop(components: Components, admin: Actor) -> LearningSummary:
    summary = LearningSummary()
    settings = components.settings
    classes = ModelManifest.read(manifest_path_for(SHIPPED_MODEL)).classes
    model_registry.active_release(components, admin)  # the shipped model, the first active one
    export = settings.dataset_store / "demo-reviews-export"
    written, _found = learning.export(components, admin, export, classes, VAL_FRACTION)
    summary.labelled_frames = sum(written.images.values())
    try:
        summary.golden_frames = freeze(export, settings.golden_store / GOLDEN_SET, ("val",))
    except GoldenSetError as exc:
        summary.problem = f"no golden set: {exc}"
        return summary
    recipe = _write_recipe(settings.training_store / "recipes", settings.dataset_store / "demo-scenes")
    job = training_jobs.submit(components, recipe, admin)
    assert job.id is not None
    summary.job = job.id
    training_jobs.start_when_free(components, job.id)
    finished = _wait(components, job.id, admin)
    summary.job_status = finished.status.value
    if finished.status is not JobStatus.FINISHED or finished.candidate_sha256 is None:
        summary.problem = f"training job {job.id} {finished.status.value}: {finished.error or 'see its log'}"
        return summary
    summary.candidate = finished.candidate_sha256
    result = model_registry.promote_on(components, finished.candidate_sha256, admin, GOLDEN_SET, 0.02)
    summary.promoted = result.verdict.passed
    summary.reasons = [model_registry.told(r).told(ENGLISH) for r in result.verdict.reasons]
    return summary


def _write_recipe(folder: Path, scenes: Path) -> Path:
    """A few generated scenes and the recipe that mixes them with the reviews: two epochs at 320 px on the CPU."""
    write_dataset(DatasetSpec(scenes, images=16, val_fraction=0.25, imgsz=320, seed=11))
    folder.mkdir(parents=True, exist_ok=True)
    recipe = folder / RECIPE
    recipe.write_text(
        "# The demo's learning loop: the operators' reviewed frames with a few generated scenes, two epochs on the\n"
        "# CPU from the active model. Start it again with the button at /console/models.\n"
        f"renders: {scenes}\n"
        f"reviews:\n  copies: 4\n  val_fraction: {VAL_FRACTION}\n"
        "training:\n  name: offsite-street-demo\n  initial: active\n  epochs: 2\n  imgsz: 320\n  batch: 8\n"
        "  device: auto\n",
        encoding="utf-8",
    )
    return recipe


def _wait(components: Components, job_id: int, admin: Actor) -> TrainingJob:
    """The job at its end; one that runs past ``JOB_LIMIT_S`` is cancelled (and ends at its worker's next beat)."""
    deadline = time.monotonic() + JOB_LIMIT_S
    while True:
        job = components.training_jobs.get(job_id)
        if job.status.done:
            return job
        if time.monotonic() > deadline and job.status is JobStatus.RUNNING:
            log.warning("training job %d took longer than %d s: cancelled", job_id, JOB_LIMIT_S)
            components.training_jobs.cancel(job_id, admin)
        time.sleep(1.0)
