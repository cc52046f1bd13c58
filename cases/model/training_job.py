"""A training job: one run of a training recipe in the background, from the dataset to a registered candidate.

queued → running → finished | failed | cancelled, with cancelling between running and cancelled. A worker claims a
queued job, or a running one whose worker stopped beating (killed, or its machine restarted): the job goes on
from where it was, the training from its last finished epoch, and the attempt is counted. Only the worker that
holds the job reports on it; a report from one that lost it is refused, so two workers never train one job.
Who asked for the job and who cancelled it, and when, are kept with it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cases.errors import IllegalTransition
from cases.messages import Term
from cases.model.staff import Act


class JobStatus(StrEnum):
    QUEUED = "queued"  # waiting for a worker
    RUNNING = "running"  # a worker holds it and beats
    CANCELLING = "cancelling"  # cancel asked: the worker stops at its next beat
    CANCELLED = "cancelled"
    FAILED = "failed"
    FINISHED = "finished"  # a candidate was registered

    @property
    def done(self) -> bool:
        return self in (JobStatus.CANCELLED, JobStatus.FAILED, JobStatus.FINISHED)


class JobStage(StrEnum):
    DATASET = "dataset"  # the recipe's dataset is built (the reviews exported, the sets mixed)
    TRAINING = "training"
    EXPORT = "export"  # ONNX, manifest and card
    REGISTER = "register"  # the candidate into the registry


@dataclass
class TrainingJob:
    recipe_name: str  # the recipe file's name, for people
    recipe: str  # the recipe's text as submitted: a resumed job trains on what was asked, not on a later edit
    recipe_dir: str  # the folder its relative paths are read from
    requested_by: str
    requested_at: dt.datetime
    status: JobStatus = JobStatus.QUEUED
    stage: JobStage | None = None
    epoch: int = 0  # epochs finished
    epochs: int = 0  # epochs planned
    progress: float = 0.0  # 0 to 1, across the stages
    figures: dict[str, Any] | None = None  # the last epoch's losses and validation figures
    device: str | None = None  # cpu, or the CUDA device trained on
    worker: str | None = None  # host:pid of the worker that holds it
    heartbeat_at: dt.datetime | None = None
    attempts: int = 0  # claims: more than one when it was resumed
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    candidate_sha256: str | None = None
    error: str | None = None  # why it failed, as the worker said it
    cancelled_by: str | None = None
    id: int | None = None
    version: int = field(default=0, compare=False)

    def claimable(self, now: dt.datetime, stale_after: dt.timedelta) -> bool:
        """Queued, or held by a worker that stopped beating (or is known to be dead: ``stale_after`` zero)."""
        if self.status is JobStatus.QUEUED:
            return True
        if self.status not in (JobStatus.RUNNING, JobStatus.CANCELLING):
            return False
        return self.heartbeat_at is None or now - self.heartbeat_at >= stale_after

    def claim(self, worker: str, now: dt.datetime, stale_after: dt.timedelta) -> None:
        if not self.claimable(now, stale_after):
            raise self._refused(JobStatus.QUEUED, JobStatus.RUNNING)
        if self.status is JobStatus.CANCELLING:  # asked to stop while nobody held it: it stops now
            self._end(JobStatus.CANCELLED, now)
            return
        self.status, self.worker, self.heartbeat_at = JobStatus.RUNNING, worker, now
        self.attempts += 1
        self.started_at = self.started_at or now
        self.error = None

    def beat(self, worker: str, now: dt.datetime, report: JobReport) -> None:
        self.require_held_by(worker)
        self.heartbeat_at = now
        self.stage, self.progress = report.stage, max(0.0, min(1.0, report.progress))
        if report.epochs:
            self.epoch, self.epochs = report.epoch, report.epochs
        if report.figures is not None:
            self.figures = report.figures
        if report.device is not None:
            self.device = report.device

    def cancel(self, act: Act) -> None:
        """Queued, it is cancelled at once; running, its worker stops at its next beat."""
        if self.status is JobStatus.QUEUED:
            self._end(JobStatus.CANCELLED, act.at)
        elif self.status is JobStatus.RUNNING:
            self.status = JobStatus.CANCELLING
        else:
            raise self._refused(JobStatus.QUEUED, JobStatus.RUNNING)
        self.cancelled_by = act.actor

    def stopped(self, worker: str, now: dt.datetime) -> None:
        """The worker stopped on a cancel."""
        self.require_held_by(worker)
        self._end(JobStatus.CANCELLED, now)

    def finish(self, worker: str, now: dt.datetime, candidate_sha256: str) -> None:
        self.require_held_by(worker)
        self.candidate_sha256, self.progress = candidate_sha256, 1.0
        self._end(JobStatus.FINISHED, now)

    def fail(self, worker: str, now: dt.datetime, error: str) -> None:
        self.require_held_by(worker)
        self.error = error[:2000]
        self._end(JobStatus.FAILED, now)

    def require_held_by(self, worker: str) -> None:
        if self.worker != worker or self.status not in (JobStatus.RUNNING, JobStatus.CANCELLING):
            raise IllegalTransition(variant="training_job_lost", job=self.id, worker=self.worker or "-")

    def _end(self, status: JobStatus, now: dt.datetime) -> None:
        self.status, self.finished_at = status, now

    def _refused(self, *allowed: JobStatus) -> IllegalTransition:
        return IllegalTransition(
            variant="training_job",
            job=self.id,
            status=Term(f"term.training_job.{self.status.value}"),
            allowed=[Term(f"term.training_job.{s.value}") for s in allowed],
        )


@dataclass(frozen=True)
class JobReport:
    """What a worker says at a beat: where it is."""

    stage: JobStage
    progress: float
    epoch: int = 0
    epochs: int = 0
    figures: dict[str, Any] | None = None
    device: str | None = None
