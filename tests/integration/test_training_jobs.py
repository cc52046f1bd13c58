"""Issue 15, training as a job: a recipe trained in the background by a real worker process of the training
environment (torch CPU and Ultralytics, ``make train-env``) into a registered candidate; its progress, a cancel, a
worker killed with SIGKILL and the job taken up from its last finished epoch; two workers never hold one job. On
SQLite and PostgreSQL. Where the training environment is missing the real-worker tests are skipped, except under
OFFSITE_REQUIRE_SERVICES=1 (CI), where they fail."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from cases.errors import IllegalTransition, NotFound
from cases.model.detector_release import ReleaseStatus
from cases.model.staff import Role
from cases.model.training_job import JobReport, JobStage, JobStatus, TrainingJob
from cases.services.base import Actor
from offsite import model_registry, training_jobs
from offsite.bootstrap import Components
from offsite.settings import Settings
from tests.integration.conftest import REQUIRE_SERVICES, Staff, problem_of
from tests.integration.test_console import csrf, sign_in
from tests.support.real_data import shared
from vision.manifest import ModelManifest, manifest_path_for
from vision.synthetic import DatasetSpec, write_dataset
from vision.training_mix import MixError

ADMIN = Actor("admin1", Role.ADMIN)
CHINESE = {"Accept-Language": "zh-CN"}


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few generated street scenes, small: a training of a few seconds an epoch on two cores."""
    root = tmp_path_factory.mktemp("renders") / "scenes"
    write_dataset(DatasetSpec(root, images=8, val_fraction=0.25, imgsz=160, seed=3))
    return root


def recipe(folder: Path, renders: Path, epochs: int, mix: tuple[str, ...] = (), **training: Any) -> Path:
    """A recipe of the generated scenes (and the ``mix`` lines given), trained as ``training`` says."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"renders: {renders}", *mix, "training:", "  name: tiny-candidate", f"  epochs: {epochs}", "  imgsz: 160",
             "  batch: 4", "  threads: 1"] + [f"  {key}: {value}" for key, value in training.items()]  # fmt: skip
    path = folder / "recipe.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def trainer(settings: Settings) -> Settings:
    """The settings, with the training environment required: its Python must import Ultralytics."""
    python = settings.trainer_python
    found = subprocess.run([str(python), "-c", "import ultralytics, onnx"], capture_output=True).returncode == 0
    if not found:
        reason = f"{python} cannot import Ultralytics and onnx: build the training environment (make train-env)"
        if REQUIRE_SERVICES:
            pytest.fail(f"{reason} (OFFSITE_REQUIRE_SERVICES=1)")
        pytest.skip(reason)
    return settings


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Worker processes a test started: none outlives it."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for child in started:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)


def until(components: Components, job_id: int, done: Callable[[TrainingJob], bool], seconds: float) -> TrainingJob:
    deadline = time.monotonic() + seconds
    while True:
        job = components.training_jobs.get(job_id)
        if done(job):
            return job
        if time.monotonic() > deadline:
            log = "\n".join(training_jobs.log_tail(components.settings, job_id, 40))
            raise AssertionError(f"job {job_id} is {training_jobs.describe(job)} after {seconds} s:\n{log}")
        time.sleep(0.2)


def start(components: Components, recipe_file: Path, workers: list[subprocess.Popen[bytes]]) -> int:
    job = training_jobs.submit(components, recipe_file, ADMIN)
    assert job.id is not None
    workers.append(training_jobs.launch(components.settings, job.id))
    return job.id


def test_a_recipe_trains_in_the_background_into_a_candidate_with_manifest_card_and_lineage(
    components: Components, trainer: Settings, renders: Path, tmp_path: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    shipped = model_registry.active_release(components, ADMIN)  # the model the job starts from
    job_id = start(components, recipe(tmp_path / "recipes", renders, epochs=2), workers)

    job = until(components, job_id, lambda j: j.status.done, 300)

    assert job.status is JobStatus.FINISHED, job.error
    assert (job.epoch, job.epochs, job.progress, job.attempts, job.device) == (2, 2, 1.0, 1, "cpu")
    assert job.figures is not None
    assert "metrics/mAP50(B)" in job.figures
    assert "train/box_loss" in job.figures
    candidate = components.releases.get(job.candidate_sha256 or "")
    assert candidate.status is ReleaseStatus.CANDIDATE
    assert candidate.registered_by == "admin1"
    manifest = ModelManifest.read(manifest_path_for(model_registry.model_file(components, candidate)))
    active = ModelManifest.read(manifest_path_for(model_registry.model_file(components, shipped)))
    assert manifest.name == "tiny-candidate"
    assert manifest.input_size == 160
    assert manifest.thresholds == active.thresholds  # set on real photos: the candidate is judged at the same
    assert manifest.training["job"] == {"id": job_id, "recipe": "recipe.yaml", "requested_by": "admin1",
                                        "attempts": 1}  # fmt: skip
    assert manifest.training["continued_from"]["sha256"] == shipped.sha256  # lineage: from the active model
    card = training_jobs.job_folder(components.settings, job_id) / "candidate" / "tiny-candidate.md"
    assert shipped.sha256[:12] in card.read_text(encoding="utf-8")
    assert any("registered" in line for line in training_jobs.log_tail(components.settings, job_id))


def test_a_running_job_is_cancelled_within_seconds_and_registers_nothing(
    components: Components, trainer: Settings, renders: Path, tmp_path: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    job_id = start(components, recipe(tmp_path / "recipes", renders, epochs=300), workers)
    until(components, job_id, lambda j: j.stage is JobStage.TRAINING and j.progress > 0.06, 120)

    components.training_jobs.cancel(job_id, ADMIN)

    job = until(components, job_id, lambda j: j.status.done, 60)
    assert (job.status, job.cancelled_by, job.candidate_sha256) == (JobStatus.CANCELLED, "admin1", None)
    assert workers[0].wait(timeout=30) == 0
    assert [r.status for r in components.releases.releases()] == [ReleaseStatus.ACTIVE]  # the shipped one only


def test_a_worker_killed_mid_training_is_taken_up_from_its_last_finished_epoch(
    components: Components, trainer: Settings, renders: Path, tmp_path: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    job_id = start(components, recipe(tmp_path / "recipes", renders, epochs=12), workers)
    killed = until(components, job_id, lambda j: j.epoch >= 2 and not j.status.done, 180)
    os.kill(workers[0].pid, signal.SIGKILL)
    workers[0].wait(timeout=30)
    assert components.training_jobs.get(job_id).status is JobStatus.RUNNING  # nobody told the record

    launcher = training_jobs.Launcher(components)
    assert launcher.round() == [job_id]  # its worker is dead on this machine: taken over at once
    workers += launcher.children.values()
    assert launcher.round() == []  # one job trains at a time

    job = until(components, job_id, lambda j: j.status.done, 300)
    assert job.status is JobStatus.FINISHED, job.error
    assert job.attempts == 2
    assert job.epoch == job.epochs == 12
    log = "\n".join(training_jobs.log_tail(components.settings, job_id, 400))
    assert "going on from" in log
    resumed = re.search(r"Resuming training .* from epoch (\d+) to 12 total epochs", log)
    assert resumed is not None
    assert int(resumed.group(1)) >= killed.epoch >= 2


def test_two_workers_claiming_one_job_one_gets_it_and_the_loser_is_refused(components: Components) -> None:
    job = components.training_jobs.submit("recipe.yaml", "renders: r\ntraining: {}\n", "/tmp", ADMIN)
    assert job.id is not None
    stale = dt.timedelta(seconds=60)
    first = components.training_jobs.claim(job.id, "host:1", stale)
    second = components.training_jobs.claim(job.id, "host:2", stale)
    assert first is not None
    assert first.worker == "host:1"
    assert second is None
    with pytest.raises(IllegalTransition):
        components.training_jobs.beat(job.id, "host:2", JobReport(JobStage.DATASET, 0.01))
    components.training_jobs.cancel(job.id, ADMIN)
    seen = components.training_jobs.beat(job.id, "host:1", JobReport(JobStage.TRAINING, 0.2))
    assert seen.status is JobStatus.CANCELLING  # the worker learns of the cancel at its beat
    with pytest.raises(NotFound):
        components.training_jobs.get(job.id + 1000)


@pytest.mark.parametrize(
    ("training", "named"),
    [
        ({"imgsz": 100}, "training.imgsz must be a multiple of 32"),
        ({"epochs": 0}, "training.epochs must be a whole number from 1 to 1000"),
        ({"device": "tpu"}, "training.device must be one of auto, cpu, cuda"),
        ({"initial": "missing.onnx"}, "missing.onnx does not exist"),
        ({"name": "'../x'"}, "training.name must be"),
        ({"freeze": 23}, "training.freeze must be a whole number from 0 to 22"),
        ({"initial": "none", "freeze": 10}, "training.freeze keeps an initial model's layers"),
    ],
)
def test_a_recipe_that_cannot_be_followed_is_refused_with_its_field_and_nothing_is_queued(
    components: Components, renders: Path, tmp_path: Path, training: dict[str, Any], named: str
) -> None:
    with pytest.raises(MixError) as refused:
        training_jobs.submit(components, recipe(tmp_path, renders, **({"epochs": 1} | training)), ADMIN)
    assert named in training_jobs.recipe_problem(refused.value).english
    assert components.training_jobs.jobs() == []


def test_a_recipe_naming_a_folder_that_is_not_there_is_refused(components: Components, tmp_path: Path) -> None:
    with pytest.raises(MixError) as refused:
        training_jobs.submit(components, recipe(tmp_path, tmp_path / "nowhere", epochs=1), ADMIN)
    assert training_jobs.recipe_problem(refused.value).told("zh_CN") == (
        f"{tmp_path / 'nowhere'} 中没有 data.yaml（请用 offsite model dataset generate 生成）"
    )
    assert components.training_jobs.jobs() == []


def test_a_recipe_whose_pseudo_labelling_model_is_not_there_is_refused(
    components: Components, renders: Path, tmp_path: Path
) -> None:
    missing = recipe(tmp_path, renders, 1, mix=(f"pseudo_labels: {tmp_path / 'coco.pt'}",))
    with pytest.raises(MixError) as refused:
        training_jobs.submit(components, missing, ADMIN)
    assert (
        training_jobs.recipe_problem(refused.value).english == f"pseudo_labels: {tmp_path / 'coco.pt'} does not exist"
    )
    assert components.training_jobs.jobs() == []


def test_a_job_pseudo_labels_its_real_negatives_with_the_recipes_coco_model_and_keeps_the_backbone_frozen(
    components: Components, trainer: Settings, renders: Path, tmp_path: Path, workers: list[subprocess.Popen[bytes]]
) -> None:
    """The people of a real street photo taken as a negative are labelled by the COCO model the recipe names (not
    taught as background), and ``training.freeze`` reaches Ultralytics."""
    street = shared("real-dev/images/neg_01.jpg")  # a Chinese pedestrian street seen from a high camera
    mix = (f"negatives: [{street}]", f"pseudo_labels: {shared('weights/yolov8n_coco.pt')}")
    job_id = start(components, recipe(tmp_path / "recipes", renders, 1, mix, freeze=10), workers)

    job = until(components, job_id, lambda j: j.status.done, 300)

    assert job.status is JobStatus.FINISHED, job.error
    folder = training_jobs.job_folder(components.settings, job_id)
    labels = (folder / "dataset" / "labels" / "train" / "neg0_neg_01.txt").read_text(encoding="utf-8").splitlines()
    names = yaml.safe_load((folder / "dataset" / "data.yaml").read_text(encoding="utf-8"))["names"]
    people = [line for line in labels if names[int(line.split()[0])] == "person"]
    assert len(people) >= 5, labels  # the street is full of walkers
    assert all(names[int(line.split()[0])] in ("person", "vehicle") for line in labels)
    args = yaml.safe_load((folder / "run" / "train" / "args.yaml").read_text(encoding="utf-8"))
    assert args["freeze"] == 10
    assert any("pseudo-labels" in line for line in training_jobs.log_tail(components.settings, job_id, 200))


def offered(settings: Settings, renders: Path, name: str, epochs: int, **training: Any) -> str:
    """A recipe in the training store's recipes, where the console and the API offer it."""
    path = recipe(settings.training_store / "recipes", renders, epochs, **training)
    return path.rename(path.with_name(name)).name


def test_an_admin_starts_a_recipe_from_the_console_and_follows_it_to_its_candidate(
    client: TestClient,
    components: Components,
    trainer: Settings,
    renders: Path,
    workers: list[subprocess.Popen[bytes]],
) -> None:
    recipe_name = offered(trainer, renders, "tiny.yaml", epochs=2)
    sign_in(client, components, Role.ADMIN)
    html = client.get("/console/models").text
    assert '<option value="tiny.yaml">' in html
    assert "尚无训练任务" in html

    started = client.post(
        "/console/models/training", data={"csrf": csrf(html), "recipe": recipe_name}, follow_redirects=False
    )
    assert started.status_code == 303
    [asked] = components.training_jobs.jobs()
    assert f"训练任务 {asked.id} 已开始（配方 tiny.yaml）" in client.get("/console/models").text
    progress = client.get("/console/models/training.json").json()["jobs"][0]
    assert progress["recipe"] == "tiny.yaml"
    assert progress["status_told"] in ("排队中", "训练中", "已完成")

    assert asked.id is not None
    job = until(components, asked.id, lambda j: j.status.done, 300)
    assert job.status is JobStatus.FINISHED, job.error
    assert job.candidate_sha256 is not None
    page = client.get("/console/models").text
    assert f'href="#model-{job.candidate_sha256[:12]}"' in page  # the job links its candidate in the registry
    assert f'id="model-{job.candidate_sha256[:12]}"' in page
    assert "已完成" in page

    sign_in(client, components, Role.OPERATOR)  # training is an administrator's
    assert client.get("/console/models/training.json").status_code == 403
    assert client.post("/console/models/training", data={"recipe": recipe_name}).status_code in (403, 400)
    assert len(components.training_jobs.jobs()) == 1


def test_the_api_refuses_an_unknown_recipe_and_one_that_cannot_be_followed_and_an_ended_jobs_cancel(
    client: TestClient, components: Components, staff: Staff, settings: Settings, renders: Path
) -> None:
    admin = staff.headers(Role.ADMIN)
    unknown = client.post("/api/v1/models/training-jobs", json={"recipe": "nope.yaml"}, headers=admin)
    assert unknown.status_code == 404
    assert "nope.yaml" in problem_of(unknown)["detail"]
    bad = offered(settings, renders, "bad.yaml", epochs=1, imgsz=100)
    refused = client.post("/api/v1/models/training-jobs", json={"recipe": bad}, headers=admin)
    assert refused.status_code == 422
    assert problem_of(refused)["detail"] == (
        "training recipe bad.yaml cannot be followed: training.imgsz must be a multiple of 32"
    )
    in_chinese = client.post("/api/v1/models/training-jobs", json={"recipe": bad}, headers=admin | CHINESE)
    assert problem_of(in_chinese)["detail"] == "训练配方 bad.yaml 无法执行：training.imgsz 须为 32 的倍数"
    assert client.get("/api/v1/models/training-jobs", headers=admin).json() == []
    assert "bad.yaml" in client.get("/api/v1/models/recipes", headers=admin).json()

    job = components.training_jobs.submit("r.yaml", "renders: r\ntraining: {}\n", "/tmp", ADMIN)
    steward = staff.headers(Role.MODEL_STEWARD)  # the models are the steward's as much as the administrator's
    cancelled = client.post(f"/api/v1/models/training-jobs/{job.id}/cancel", headers=steward)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/models/training-jobs/{job.id}/cancel", headers=admin)
    assert again.status_code == 409
    shown = client.get(f"/api/v1/models/training-jobs/{job.id}", headers=admin).json()
    assert (shown["cancelled_by"], shown["log"]) == ("model_steward1", [])
    assert client.get("/api/v1/models/training-jobs/999", headers=admin).status_code == 404
    officer = staff.headers(Role.OFFICER)
    assert client.get("/api/v1/models/training-jobs", headers=officer).status_code == 403


def test_a_job_asked_for_while_another_trains_waits_and_starts_when_that_one_ends(
    components: Components, trainer: Settings, renders: Path
) -> None:
    recipe_name = offered(trainer, renders, "tiny.yaml", epochs=2)
    first, waits = training_jobs.start(components, recipe_name, ADMIN)
    assert waits is None
    assert first.id is not None
    until(components, first.id, lambda j: j.status is JobStatus.RUNNING, 60)
    second, waits = training_jobs.start(components, recipe_name, ADMIN)  # the same cores: it waits its turn
    assert waits == first.id
    assert second.id is not None
    assert components.training_jobs.get(second.id).status is JobStatus.QUEUED

    done = until(components, second.id, lambda j: j.status.done, 300)  # the first job's worker starts it

    assert done.status is JobStatus.FINISHED, done.error
    finished_first = components.training_jobs.get(first.id)
    assert finished_first.finished_at is not None
    assert done.started_at is not None
    assert done.started_at >= finished_first.finished_at  # one after the other, never side by side
    log = training_jobs.log_tail(components.settings, first.id, 400)
    assert any(f"job {second.id} starts" in line for line in log)
