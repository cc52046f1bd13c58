"""A training job's rules: who may hold it, when it may be taken up again, and how a cancel ends it."""

from __future__ import annotations

import datetime as dt

import pytest

from cases.errors import IllegalTransition
from cases.messages import CHINESE, ENGLISH, render
from cases.model.staff import Act, Role
from cases.model.training_job import JobReport, JobStage, JobStatus, TrainingJob

T0 = dt.datetime(2026, 12, 5, 10, 0, tzinfo=dt.UTC)
STALE = dt.timedelta(seconds=60)
ADMIN = Act("admin", Role.ADMIN, T0, T0.date())


def job() -> TrainingJob:
    return TrainingJob("recipe.yaml", "renders: r\ntraining: {}\n", "/tmp", "admin", T0, id=7)


def running(worker: str = "host:1") -> TrainingJob:
    found = job()
    found.claim(worker, T0, STALE)
    return found


def test_a_claim_holds_the_job_and_counts_the_attempt() -> None:
    found = running()
    assert (found.status, found.worker, found.attempts, found.started_at) == (JobStatus.RUNNING, "host:1", 1, T0)


def test_a_job_with_a_beating_worker_is_not_taken_by_another() -> None:
    found = running()
    found.beat("host:1", T0 + dt.timedelta(seconds=30), JobReport(JobStage.TRAINING, 0.5, 1, 4))
    assert not found.claimable(T0 + dt.timedelta(seconds=60), STALE)
    with pytest.raises(IllegalTransition):
        found.claim("host:2", T0 + dt.timedelta(seconds=60), STALE)


def test_a_job_whose_worker_stopped_beating_is_taken_up_with_its_attempt_counted() -> None:
    found = running()
    later = T0 + dt.timedelta(seconds=61)
    found.claim("host:2", later, STALE)
    assert (found.worker, found.attempts, found.started_at, found.heartbeat_at) == ("host:2", 2, T0, later)


def test_the_worker_that_lost_the_job_is_refused_every_report() -> None:
    found = running()
    found.claim("host:2", T0 + dt.timedelta(minutes=5), STALE)
    with pytest.raises(IllegalTransition) as refused:
        found.beat("host:1", T0 + dt.timedelta(minutes=5), JobReport(JobStage.TRAINING, 0.5))
    assert "host:2" in refused.value.told(ENGLISH)
    for end in (lambda: found.finish("host:1", T0, "a" * 64), lambda: found.fail("host:1", T0, "boom")):
        with pytest.raises(IllegalTransition):
            end()
    assert found.status is JobStatus.RUNNING


def test_a_beat_reports_stage_epoch_figures_and_device_and_keeps_progress_between_0_and_1() -> None:
    found = running()
    found.beat("host:1", T0, JobReport(JobStage.TRAINING, 1.7, 3, 10, {"map50": 0.5}, "0"))
    assert (found.stage, found.progress, found.epoch, found.epochs) == (JobStage.TRAINING, 1.0, 3, 10)
    assert (found.figures, found.device) == ({"map50": 0.5}, "0")
    found.beat("host:1", T0, JobReport(JobStage.EXPORT, 0.92))  # no epochs said: the last ones stay
    assert (found.epoch, found.epochs, found.figures) == (3, 10, {"map50": 0.5})


def test_a_queued_job_is_cancelled_at_once_and_a_running_one_at_its_workers_next_beat() -> None:
    queued = job()
    queued.cancel(ADMIN)
    assert (queued.status, queued.cancelled_by, queued.finished_at) == (JobStatus.CANCELLED, "admin", T0)
    found = running()
    found.cancel(ADMIN)
    assert found.status is JobStatus.CANCELLING
    found.stopped("host:1", T0 + dt.timedelta(seconds=2))
    assert found.status is JobStatus.CANCELLED
    assert found.status.done


def test_a_cancelled_job_whose_worker_died_ends_when_taken_up_instead_of_training_again() -> None:
    found = running()
    found.cancel(ADMIN)
    found.claim("host:2", T0 + dt.timedelta(minutes=5), STALE)
    assert found.status is JobStatus.CANCELLED
    assert found.attempts == 1


def test_an_ended_job_can_be_neither_cancelled_nor_claimed_and_says_so_in_both_languages() -> None:
    found = running()
    found.finish("host:1", T0, "a" * 64)
    assert (found.status, found.progress, found.candidate_sha256) == (JobStatus.FINISHED, 1.0, "a" * 64)
    with pytest.raises(IllegalTransition) as refused:
        found.cancel(ADMIN)
    assert "已完成" in refused.value.told(CHINESE)
    assert "finished" in refused.value.told(ENGLISH)
    assert not found.claimable(T0 + dt.timedelta(days=1), STALE)


def test_every_status_and_stage_has_its_words_in_both_languages() -> None:
    keys = [f"term.training_job.{s.value}" for s in JobStatus] + [f"term.training_stage.{s.value}" for s in JobStage]
    for language in (CHINESE, ENGLISH):
        assert all(render(key, {}, language) for key in keys)
