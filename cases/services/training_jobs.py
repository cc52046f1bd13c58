"""Training jobs (issue 15): asked for by an administrator, run by a worker in the background, taken up again after a
restart. A claim, a beat and an end are each one transaction on a versioned row, so of two workers claiming the
same job one gets it and the other is told it lost (``ConcurrentModification``, or ``IllegalTransition``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from cases.errors import ConcurrentModification, IllegalTransition
from cases.model.training_job import JobReport, JobStatus, TrainingJob
from cases.persistence import tables
from cases.services.base import Actor, Service, get_or_404

J = tables.training_jobs.c
OPEN = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.CANCELLING)


class TrainingJobService(Service):
    def submit(self, recipe_name: str, recipe: str, recipe_dir: str, actor: Actor) -> TrainingJob:
        act = self.clock.act(actor.username, actor.role)
        job = TrainingJob(recipe_name[:128], recipe, recipe_dir, act.actor, act.at)
        with self.transaction() as session:
            session.add(job)
        return job

    def jobs(self, limit: int = 50) -> list[TrainingJob]:
        """The latest jobs first."""
        with self.transaction() as session:
            return list(session.scalars(select(TrainingJob).order_by(J.id.desc()).limit(limit)))

    def get(self, job_id: int) -> TrainingJob:
        with self.transaction() as session:
            return get_or_404(session, TrainingJob, job_id, "training_job")

    def claimable(self, stale_after: dt.timedelta) -> list[TrainingJob]:
        """Jobs a worker may take: queued ones, and those whose worker stopped beating; oldest first."""
        now = self.clock.now()
        with self.transaction() as session:
            open_jobs = session.scalars(select(TrainingJob).where(J.status.in_(OPEN)).order_by(J.id))
            return [job for job in open_jobs if job.claimable(now, stale_after)]

    def claim(self, job_id: int, worker: str, stale_after: dt.timedelta) -> TrainingJob | None:
        """The job for ``worker``, or None when another worker holds it (or it has ended)."""
        try:
            with self.transaction() as session:
                job = get_or_404(session, TrainingJob, job_id, "training_job")
                job.claim(worker, self.clock.now(), stale_after)
                return job
        except (ConcurrentModification, IllegalTransition):
            return None

    def beat(self, job_id: int, worker: str, report: JobReport) -> TrainingJob:
        """Where the worker is; the job as it stands, so that the worker sees a cancel."""
        with self.transaction() as session:
            job = get_or_404(session, TrainingJob, job_id, "training_job")
            job.beat(worker, self.clock.now(), report)
            return job

    def cancel(self, job_id: int, actor: Actor) -> TrainingJob:
        act = self.clock.act(actor.username, actor.role)
        with self.transaction() as session:
            job = get_or_404(session, TrainingJob, job_id, "training_job")
            job.cancel(act)
            return job

    def stopped(self, job_id: int, worker: str) -> TrainingJob:
        with self.transaction() as session:
            job = get_or_404(session, TrainingJob, job_id, "training_job")
            job.stopped(worker, self.clock.now())
            return job

    def finish(self, job_id: int, worker: str, candidate_sha256: str) -> TrainingJob:
        with self.transaction() as session:
            job = get_or_404(session, TrainingJob, job_id, "training_job")
            job.finish(worker, self.clock.now(), candidate_sha256)
            return job

    def fail(self, job_id: int, worker: str, error: str) -> TrainingJob:
        with self.transaction() as session:
            job = get_or_404(session, TrainingJob, job_id, "training_job")
            job.fail(worker, self.clock.now(), error)
            return job
