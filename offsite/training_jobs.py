"""Training as a job (issue 15): a recipe submitted by an administrator is trained in the background, by a worker
process of the training environment (torch and Ultralytics, ``make train-env``), into a registered candidate.

The worker goes through four stages, each leaving its result in the job's folder of the training store, so a
worker that takes up an interrupted job (killed, or the machine restarted) starts at the first stage not yet done,
and the training itself from its last finished epoch (Ultralytics' ``last.pt``):

1. the dataset: the operators' reviews exported (when the recipe asks) and mixed with the recipe's sets;
2. the training, on CUDA where a GPU is and the recipe allows, else on the CPU;
3. the export: ONNX, manifest (with the initial model's thresholds) and model card;
4. the registration: the candidate in the model registry, where the gate judges it before any promotion.

The worker beats every few seconds with its stage, epoch and figures; a cancel is seen at the next beat. A job
whose worker stopped beating is taken up again by ``resume_interrupted`` (run by ``offsite serve`` as it polls,
and by ``offsite model jobs resume``). Everything the worker prints goes to the job's ``job.log``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cases.errors import IllegalTransition, InvalidInput, NotFound
from cases.messages import Term
from cases.model.staff import Role
from cases.model.training_job import JobReport, JobStage, JobStatus, TrainingJob
from cases.persistence.limits import RECIPE_MAX_CHARS
from cases.services.base import Actor
from offsite import learning, model_registry
from offsite.parts import TrainingParts
from offsite.settings import PROJECT_ROOT, Settings
from vision.manifest import ModelManifest, manifest_path_for
from vision.text_files import NotUtf8, read_utf8
from vision.training_mix import LabelledSet, MixError, MixRecipe, PseudoLabeller
from vision.training_recipe import JobRecipe

log = logging.getLogger("offsite.training")

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # Ultralytics colours its console output
INITIAL = "initial.json"  # the model the run started from, as resolved when it started (the active one may change)
STALE_AFTER = dt.timedelta(seconds=60)  # a worker beats every few seconds, an epoch's validation included
BEAT_EVERY_S = 2.0
STAGES = {  # the share of the progress bar each stage ends at
    JobStage.DATASET: 0.05,
    JobStage.TRAINING: 0.9,
    JobStage.EXPORT: 0.97,
    JobStage.REGISTER: 1.0,
}


class Cancelled(Exception):
    """An administrator cancelled the job: the worker stops where it is."""


def job_folder(settings: Settings, job_id: int) -> Path:
    return settings.training_store / f"job-{job_id}"


def log_file(settings: Settings, job_id: int) -> Path:
    return job_folder(settings, job_id) / "job.log"


def log_tail(settings: Settings, job_id: int, lines: int = 30) -> list[str]:
    """The last lines of the job's log (Ultralytics' progress bars folded to their last state)."""
    try:
        text = log_file(settings, job_id).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    folded = [ANSI.sub("", line.split("\r")[-1]) for line in text.splitlines()]
    return [line for line in folded if line.strip()][-lines:]


def read_recipe(recipe: Path) -> tuple[str, JobRecipe]:
    """A recipe file's text and what it says, every field checked and every folder it names found."""
    try:
        text = read_utf8(recipe)
    except OSError as exc:
        raise MixError("unreadable", recipe=recipe, reason=exc.strerror) from exc
    except NotUtf8 as exc:
        raise MixError("not_utf8", recipe=recipe, line=exc.line) from exc
    if len(text) > RECIPE_MAX_CHARS:
        raise MixError("too_long", recipe=recipe, most=RECIPE_MAX_CHARS)
    parsed = JobRecipe.from_text(text, recipe.parent.resolve(), recipe.name)
    parsed.check()
    return text, parsed


def recipe_problem(refused: MixError) -> Term:
    """A refused recipe's problem as the catalogue tells it (``term.recipe.<key>``)."""
    return Term(f"term.recipe.{refused.key}", refused.params)


def submit(components: TrainingParts, recipe: Path, actor: Actor) -> TrainingJob:
    """Queue a job for a recipe file; a recipe that cannot be followed is refused (``MixError``) and nothing is
    queued."""
    text, _parsed = read_recipe(recipe)
    return components.training_jobs.submit(recipe.name, text, str(recipe.parent.resolve()), actor)


def recipes(components: TrainingParts) -> list[Path]:
    """The recipes an administrator may start from the console: the project's and the training store's."""
    folders = (components.settings.config_dir / "training", components.settings.training_store / "recipes")
    return sorted(p for folder in folders if folder.is_dir() for p in folder.glob("*.yaml"))


def start(components: TrainingParts, recipe_name: str, actor: Actor) -> tuple[TrainingJob, int | None]:
    """A job for one of the offered recipes (``recipes``), by file name, its worker started at once unless a job
    trains here already (the job it waits for is returned): what the console's button and the API do. An unknown
    recipe is 404; one that cannot be followed, 422; nothing queued."""
    found = [p for p in recipes(components) if p.name == recipe_name]
    if not found:
        raise NotFound(variant="recipe", name=repr(recipe_name[:80]))
    try:
        job = submit(components, found[0], actor)
    except MixError as exc:
        raise InvalidInput(variant="recipe_refused", name=found[0].name, detail=recipe_problem(exc)) from exc
    assert job.id is not None
    return job, start_when_free(components, job.id)


def start_when_free(components: TrainingParts, job_id: int) -> int | None:
    """Start the job's worker now, unless a job trains on this machine already: then it waits, queued, and starts
    when that one ends (its worker starts the next) or when ``offsite serve`` looks. The job it waits for, or None."""
    busy = training_here(components)
    if busy is not None and busy != job_id:
        return busy
    launch(components.settings, job_id)
    return None


def training_here(components: TrainingParts) -> int | None:
    """The job a live worker of this machine holds, if one does."""
    for job in components.training_jobs.jobs(limit=200):
        if not job.status.done and job.status is not JobStatus.QUEUED and _alive_here(job.worker):
            return job.id
    return None


def start_next(components: TrainingParts) -> int | None:
    """After a job ends, its worker starts the oldest queued job, if any: one job after another, without a
    supervisor."""
    queued = [j for j in components.training_jobs.jobs(limit=200) if j.status is JobStatus.QUEUED and j.id is not None]
    if not queued or training_here(components) is not None:
        return None
    job_id = queued[-1].id
    assert job_id is not None
    launch(components.settings, job_id)
    return job_id


# -- starting workers -------------------------------------------------------------------------------------------------


def launch(settings: Settings, job_id: int, take_over: bool = False) -> subprocess.Popen[bytes]:
    """A worker process for the job, in the training environment, in a session of its own (it outlives the command
    that started it); its output goes to the job's log."""
    folder = job_folder(settings, job_id)
    folder.mkdir(parents=True, exist_ok=True)
    command = [str(settings.trainer_python), "-m", "offsite", "model", "jobs", "work", str(job_id)]
    with log_file(settings, job_id).open("ab") as output:
        return subprocess.Popen(
            command + (["--take-over"] if take_over else []),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
            env=os.environ | settings.as_environment() | {"PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


def _alive_here(worker: str | None) -> bool | None:
    """Whether a worker of this machine is alive (a zombie is not); None for another machine's."""
    if not worker or ":" not in worker:
        return None
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname()[:100] or not pid.isdigit():
        return None
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


class Launcher:
    """Starts workers for the jobs that need one, one job at a time on this machine (a second training on the same
    cores would only slow the first): queued jobs in order, and jobs whose worker died or stopped beating."""

    def __init__(self, components: TrainingParts) -> None:
        self.components = components
        self.children: dict[int, subprocess.Popen[bytes]] = {}

    def round(self) -> list[int]:
        """One look at the jobs; the ids of the jobs a worker was started for."""
        for job_id, child in list(self.children.items()):
            if child.poll() is not None:
                del self.children[job_id]
        if self.children or training_here(self.components) is not None:
            return []  # a live worker of this machine trains: nothing else starts beside it
        now = self.components.clock.now()
        for job in self.components.training_jobs.jobs(limit=200)[::-1]:
            if job.status.done or job.id is None:
                continue
            dead = _alive_here(job.worker) is False
            if job.status is JobStatus.QUEUED or dead or job.claimable(now, STALE_AFTER):
                take_over = job.status is not JobStatus.QUEUED and dead
                self.children[job.id] = launch(self.components.settings, job.id, take_over)
                log.info("training job %d: worker started (%s)", job.id, "taken over" if take_over else job.status)
                return [job.id]
        return []

    def run_forever(self, stop: threading.Event, poll_s: float = 5.0) -> None:
        while not stop.wait(poll_s):
            try:
                self.round()
            except Exception:  # keep looking: one failed round must not end training for good
                log.exception("training launcher round failed")


# -- the worker -------------------------------------------------------------------------------------------------------


class _Beat:
    """The worker's reports: at most every ``BEAT_EVERY_S`` unless forced; a cancel seen raises ``Cancelled``."""

    def __init__(self, components: TrainingParts, job_id: int, worker: str) -> None:
        self.components, self.job_id, self.worker = components, job_id, worker
        self.last = 0.0
        self.epoch = self.epochs = 0
        self.device: str | None = None

    def __call__(self, report: JobReport, force: bool = False) -> None:
        if not force and time.monotonic() - self.last < BEAT_EVERY_S:
            return
        self.last = time.monotonic()
        job = self.components.training_jobs.beat(self.job_id, self.worker, report)
        if job.status is JobStatus.CANCELLING:
            raise Cancelled

    def stage(
        self, stage: JobStage, within: float = 0.0, figures: dict[str, Any] | None = None, force: bool = False
    ) -> None:
        """Where the worker is within a stage (0 to 1); its start and end are always reported."""
        start = _stage_start(stage)
        progress = start + (STAGES[stage] - start) * within
        report = JobReport(stage, progress, self.epoch, self.epochs, figures, self.device)
        self(report, force=force or within in (0.0, 1.0))


def _stage_start(stage: JobStage) -> float:
    order = list(STAGES)
    return 0.0 if stage is order[0] else STAGES[order[order.index(stage) - 1]]


def work(components: TrainingParts, job_id: int, take_over: bool = False) -> TrainingJob | None:
    """Claim the job and carry it to its end; None when another worker holds it (or it has ended)."""
    worker = worker_name()
    job = components.training_jobs.claim(job_id, worker, dt.timedelta(0) if take_over else STALE_AFTER)
    if job is None or job.status is not JobStatus.RUNNING:
        log.info("training job %d: not taken (held by another worker, or ended)", job_id)
        return job
    log.info("training job %d: attempt %d by %s", job_id, job.attempts, worker)
    beat = _Beat(components, job_id, worker)
    jobs = components.training_jobs
    try:
        sha256 = _carry(components, job, beat)
        return jobs.finish(job_id, worker, sha256)
    except Cancelled:
        log.info("training job %d: cancelled", job_id)
        return jobs.stopped(job_id, worker)
    except IllegalTransition:
        log.warning("training job %d: another worker took it over; this one stops", job_id)
        return None
    except Exception as exc:
        traceback.print_exc()
        return jobs.fail(job_id, worker, f"{type(exc).__name__}: {exc}")
    finally:
        _then_the_next(components, job_id)


def _then_the_next(components: TrainingParts, job_id: int) -> None:
    if not components.training_jobs.get(job_id).status.done:
        return  # taken over by another worker: that one starts the next
    try:
        started = start_next(components)
    except Exception:  # the next job waits for offsite serve or `offsite model jobs resume`
        log.exception("training job %d ended; the next queued job could not be started", job_id)
        return
    if started is not None:
        log.info("training job %d ended; job %d starts", job_id, started)


def _carry(components: TrainingParts, job: TrainingJob, beat: _Beat) -> str:
    assert job.id is not None
    folder = job_folder(components.settings, job.id)
    recipe = JobRecipe.from_text(job.recipe, Path(job.recipe_dir), job.recipe_name)
    owner = Actor(job.requested_by, Role.ADMIN)
    data_yaml = _dataset(components, folder, recipe, owner, beat)
    best = _train(components, folder, recipe, data_yaml, owner, beat)
    model = _export(folder, recipe, data_yaml, best, job, beat)
    beat.stage(JobStage.REGISTER)
    release, _new = model_registry.register(components, model, owner)
    log.info("training job %d: candidate %s registered", job.id, release.sha256[:12])
    return release.sha256


def _dataset(components: TrainingParts, folder: Path, recipe: JobRecipe, owner: Actor, beat: _Beat) -> Path:
    """The recipe's dataset, built once: a taken-up job finds it built."""
    from vision import training_mix

    dataset, built = folder / "dataset", folder / "dataset.built"
    if built.is_file():
        return dataset / "data.yaml"
    beat.stage(JobStage.DATASET)
    mix = recipe.mix
    if recipe.reviews is not None:
        reviews = _fresh(folder / "reviews")
        classes = training_mix.classes_of(mix.renders)
        summary, found = learning.export(components, owner, reviews, classes, recipe.reviews.val_fraction)
        frames = sum(summary.images.values())
        log.info("reviews: %d frames of %d reviewed detections", frames, found.detections)
        if frames:
            mix = dataclasses.replace(mix, datasets=(*mix.datasets, LabelledSet(reviews, recipe.reviews.copies)))
    shutil.rmtree(dataset, ignore_errors=True)  # half-built by a worker that stopped
    summary_mix = training_mix.build(mix, dataset, _pseudo_labeller(mix, folder))
    built.touch()
    log.info("dataset: %d train + %d val images", summary_mix.train_images, summary_mix.val_images)
    beat.stage(JobStage.DATASET, 1.0)
    return dataset / "data.yaml"


def _pseudo_labeller(mix: MixRecipe, folder: Path) -> PseudoLabeller | None:
    """The recipe's COCO model labelling the people and vehicles its real sources did not box, if it names one."""
    if mix.pseudo_labels is None or not mix.wants_pseudo_labels:
        return None
    from vision import training

    log.info("pseudo-labels: people and vehicles from %s", mix.pseudo_labels.name)
    labeller: PseudoLabeller = training.coco_pseudo_labeller(mix.pseudo_labels, folder / "pseudo-labels")
    return labeller


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _train(
    components: TrainingParts, folder: Path, recipe: JobRecipe, data_yaml: Path, owner: Actor, beat: _Beat
) -> Path:
    """Train, or go on from the last finished epoch; a run that finished before is not trained again."""
    from vision import training

    run = folder / "run"
    weights = run / "train" / "weights"
    done = folder / "trained.json"
    if done.is_file():
        return weights / "best.pt"
    plan = recipe.plan
    beat.device = _device(plan.device, training.cuda_device())
    beat.epochs = plan.epochs
    beat.stage(JobStage.TRAINING)
    callbacks = _progress_callbacks(beat, done)
    if (weights / "last.pt").is_file():
        log.info("training: going on from %s", weights / "last.pt")
        best, seconds = training.resume(weights / "last.pt", run, plan.threads, callbacks)
    else:
        initial = _initial(components, plan.initial, plan.initial_path, owner)
        (folder / INITIAL).write_text(json.dumps({"initial": None if initial is None else str(initial)}) + "\n",
                                      encoding="utf-8")  # fmt: skip
        best, seconds = training.train(data_yaml, run, plan.epochs, plan.imgsz, plan.batch, plan.seed, plan.hours,
                                       plan.threads, initial, beat.device, callbacks, plan.freeze)  # fmt: skip
    log.info("training: %s in %.0f s", best, seconds)
    return best


def _device(asked: str, found: str) -> str:
    if asked == "cpu":
        return "cpu"
    if asked == "cuda" and found == "cpu":
        raise RuntimeError("the recipe asks for CUDA (training.device: cuda) and torch sees no CUDA GPU here")
    return found


def _initial(components: TrainingParts, initial: str, path: Path | None, owner: Actor) -> Path | None:
    if initial == "none":
        return None
    if path is not None:
        return path
    return model_registry.active_model_file(components, owner)


def _progress_callbacks(beat: _Beat, done: Path) -> dict[str, Callable[[Any], None]]:
    seen = {"batch": 0}

    def epoch_start(trainer: Any) -> None:
        seen["batch"] = 0

    def batch_end(trainer: Any) -> None:
        seen["batch"] += 1
        batches = max(1, len(trainer.train_loader))
        beat.epoch, beat.epochs = trainer.epoch, trainer.epochs
        beat.stage(JobStage.TRAINING, min(0.999, (trainer.epoch + seen["batch"] / batches) / max(1, trainer.epochs)))

    def epoch_end(trainer: Any) -> None:
        beat.epoch, beat.epochs = min(trainer.epoch + 1, trainer.epochs), trainer.epochs
        figures = {k: round(float(v), 4) for k, v in (trainer.metrics or {}).items()}
        losses = trainer.label_loss_items(trainer.tloss, prefix="train") if trainer.tloss is not None else {}
        figures |= {k: round(float(v), 4) for k, v in losses.items()}
        beat.stage(JobStage.TRAINING, min(0.999, beat.epoch / max(1, trainer.epochs)), figures, force=True)

    def train_end(trainer: Any) -> None:  # the run is whole: a worker taking the job up must not train it again
        done.write_text(json.dumps({"best": str(Path(trainer.save_dir) / "weights" / "best.pt")}) + "\n",
                        encoding="utf-8")  # fmt: skip

    return {"on_train_epoch_start": epoch_start, "on_train_batch_end": batch_end, "on_fit_epoch_end": epoch_end,
            "on_train_end": train_end}  # fmt: skip


def _export(folder: Path, recipe: JobRecipe, data_yaml: Path, best: Path, job: TrainingJob, beat: _Beat) -> Path:
    """The ONNX candidate with its manifest and card, written once."""
    from vision import training

    out = folder / "candidate"
    model = out / f"{recipe.plan.name}.onnx"
    if model.is_file() and manifest_path_for(model).is_file():
        return model
    beat.stage(JobStage.EXPORT)
    work = folder / "export-work"
    evaluation = training.evaluate(best, data_yaml, recipe.plan.imgsz, work)
    description = training.dataset_description(data_yaml.parent)
    record = {"imgsz": recipe.plan.imgsz} | training.training_record(best)
    record["job"] = {"id": job.id, "recipe": job.recipe_name, "requested_by": job.requested_by,
                     "attempts": job.attempts}  # fmt: skip
    partial = _fresh(folder / "candidate.partial")
    manifest_file = training.export(best, partial, recipe.plan.name, recipe.plan.imgsz, description, record,
                                    evaluation, work)  # fmt: skip
    _keep_thresholds(folder, manifest_file)
    training.write_model_card(manifest_file)
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    beat.stage(JobStage.EXPORT, 1.0)
    return model


def _keep_thresholds(folder: Path, manifest_file: Path) -> None:
    """The candidate keeps the per-class thresholds of the model its run started from, where it has the same
    classes: they were set on real photos, and the gate judges each model at its own."""
    started_from = json.loads((folder / INITIAL).read_text(encoding="utf-8"))["initial"]
    initial = None if started_from is None else Path(started_from)
    if initial is None or initial.suffix != ".onnx" or not manifest_path_for(initial).is_file():
        return
    theirs = ModelManifest.read(manifest_path_for(initial))
    mine = ModelManifest.read(manifest_file)
    if theirs.classes == mine.classes and theirs.thresholds:
        dataclasses.replace(mine, thresholds=dict(theirs.thresholds)).write(manifest_file)


# -- following a job --------------------------------------------------------------------------------------------------


def describe(job: TrainingJob) -> str:
    """One line for the command line: status, stage, epoch and progress."""
    parts = [f"job {job.id}", job.status.value]
    if job.stage is not None and not job.status.done:
        parts.append(job.stage.value)
    if job.epochs:
        parts.append(f"epoch {job.epoch}/{job.epochs}")
    parts.append(f"{job.progress:.0%}")
    if job.device:
        parts.append(job.device)
    if job.candidate_sha256:
        parts.append(f"candidate {job.candidate_sha256[:12]}")
    if job.error:
        parts.append(job.error.splitlines()[-1][:200])
    return " · ".join(parts)


def follow(components: TrainingParts, job_id: int, say: Callable[[str], None], poll_s: float = 2.0) -> TrainingJob:
    """Say each change of the job until it ends."""
    said = ""
    while True:
        job = components.training_jobs.get(job_id)
        line = describe(job)
        if line != said:
            say(line)
            said = line
        if job.status.done:
            return job
        time.sleep(poll_s)
