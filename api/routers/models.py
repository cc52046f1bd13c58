"""The model registry (issue 15): every detector model, where it stands and the decisions taken on it; a candidate's
promotion through the gate, and rollback. An administrator's (``manage_models``)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api import schemas
from api.deps import ModelSteward, ReaderLanguage, ServicesDep
from cases.model.training_job import TrainingJob
from offsite import model_registry, training_jobs
from offsite.settings import Settings

router = APIRouter(tags=["models"])


def _decision_out(decision: model_registry.DecisionView, language: str) -> schemas.DecisionOut:
    return schemas.DecisionOut(
        at=decision.at, actor=decision.actor, sha256=decision.sha256, action=decision.action,
        replaced=decision.replaced, reasons=[t.told(language) for t in decision.reasons],
    )  # fmt: skip


@router.get("/models", response_model=schemas.RegistryOut)
def list_models(services: ServicesDep, steward: ModelSteward, language: ReaderLanguage) -> schemas.RegistryOut:
    """Every registered model (the shipped one is the first active model of a new registry), the decisions taken on
    them with the gate's reasons, and the golden sets a promotion may be judged on."""
    view = model_registry.registry_view(services, steward)
    return schemas.RegistryOut(
        releases=[schemas.ReleaseOut.model_validate(r) for r in view.releases],
        decisions=[_decision_out(d, language) for d in view.decisions],
        golden_sets=view.golden_sets,
    )


@router.post(
    "/models/{sha256}/promote",
    response_model=schemas.VerdictOut,
    responses={
        404: {
            "description": "no registered model has this hash or these first digits, or no golden set this name "
            "(not_found)"
        },
        409: {
            "description": "the model is not a candidate or a shadow (illegal_transition), or the golden set's "
            "files changed since it was frozen (conflict)"
        },
    },
)
async def promote(
    services: ServicesDep,
    steward: ModelSteward,
    language: ReaderLanguage,
    sha256: schemas.Sha256Path,
    body: schemas.PromoteIn,
) -> schemas.VerdictOut:
    """Put a candidate through the gate on a golden set: promoted (the active model retires) only when it beats the
    active model there with no class worse than the margin; refused otherwise. Either way the decision and its
    figures are recorded. Both models run on the server's CPU: this takes seconds."""
    result = await run_in_threadpool(model_registry.promote_on, services, sha256, steward, body.golden, body.margin)
    return schemas.VerdictOut(
        passed=result.verdict.passed,
        release=schemas.ReleaseOut.model_validate(result.release),
        reasons=[model_registry.told(r).told(language) for r in result.verdict.reasons],
    )


@router.post(
    "/models/rollback",
    response_model=schemas.ReleaseOut,
    responses={409: {"description": "there is no earlier active model (illegal_transition)"}},
)
def rollback(services: ServicesDep, steward: ModelSteward) -> schemas.ReleaseOut:
    """The active model retires and the one active before it returns; recorded. Cameras take it up within
    ``model_poll_s``."""
    return schemas.ReleaseOut.model_validate(services.releases.rollback(steward))


def _job_out(settings: Settings, job: TrainingJob, with_log: bool = False) -> schemas.TrainingJobOut:
    out = schemas.TrainingJobOut.model_validate(job)
    if with_log and job.id is not None:
        out.log = training_jobs.log_tail(settings, job.id, 40)
    return out


@router.get("/models/recipes", response_model=list[str])
def list_recipes(services: ServicesDep, steward: ModelSteward) -> list[str]:
    """The training recipes a job may be started with (configs/training and the training store's recipes)."""
    return [p.name for p in training_jobs.recipes(services)]


@router.get("/models/training-jobs", response_model=list[schemas.TrainingJobOut])
def list_training_jobs(services: ServicesDep, steward: ModelSteward) -> list[schemas.TrainingJobOut]:
    """The latest training jobs, newest first, with their progress."""
    return [_job_out(services.settings, job) for job in services.training_jobs.jobs()]


@router.post(
    "/models/training-jobs",
    response_model=schemas.TrainingJobOut,
    status_code=201,
    responses={
        404: {"description": "no recipe has this name (not_found)"},
        422: {"description": "the recipe cannot be followed: the field and why (invalid_input)"},
    },
)
async def start_training(
    services: ServicesDep, steward: ModelSteward, body: schemas.TrainingJobIn
) -> schemas.TrainingJobOut:
    """Train a recipe in the background (queued while another job trains on the server): its dataset (the operators' reviews when it asks), the training on CUDA
    where a GPU is or on the CPU, the export and the candidate in the registry. Follow it with GET; the candidate
    goes through the gate before it can be promoted."""
    job, _waits_for = await run_in_threadpool(training_jobs.start, services, body.recipe, steward)
    return _job_out(services.settings, job)


@router.get(
    "/models/training-jobs/{job_id}",
    response_model=schemas.TrainingJobOut,
    responses={404: {"description": "no such job (not_found)"}},
)
def get_training_job(services: ServicesDep, steward: ModelSteward, job_id: schemas.IdInPath) -> schemas.TrainingJobOut:
    """A job with the end of its log."""
    return _job_out(services.settings, services.training_jobs.get(job_id), with_log=True)


@router.post(
    "/models/training-jobs/{job_id}/cancel",
    response_model=schemas.TrainingJobOut,
    responses={
        404: {"description": "no such job (not_found)"},
        409: {"description": "the job has ended (illegal_transition)"},
    },
)
def cancel_training_job(
    services: ServicesDep, steward: ModelSteward, job_id: schemas.IdInPath
) -> schemas.TrainingJobOut:
    """Cancel a job: a queued one at once, a running one at its worker's next beat (seconds); recorded with who."""
    return _job_out(services.settings, services.training_jobs.cancel(job_id, steward))
