"""The model registry (issue 15): every detector model, where it stands and the decisions taken on it; a candidate's
promotion through the gate, and rollback. An administrator's (``manage_models``)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api import schemas
from api.deps import ComponentsDep, ModelSteward, ReaderLanguage
from offsite import model_registry

router = APIRouter(tags=["models"])


def _decision_out(decision: model_registry.DecisionView, language: str) -> schemas.DecisionOut:
    return schemas.DecisionOut(
        at=decision.at, actor=decision.actor, sha256=decision.sha256, action=decision.action,
        replaced=decision.replaced, reasons=[t.told(language) for t in decision.reasons],
    )  # fmt: skip


@router.get("/models", response_model=schemas.RegistryOut)
def list_models(components: ComponentsDep, steward: ModelSteward, language: ReaderLanguage) -> schemas.RegistryOut:
    """Every registered model (the shipped one is the first active model of a new registry), the decisions taken on
    them with the gate's reasons, and the golden sets a promotion may be judged on."""
    view = model_registry.registry_view(components, steward)
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
    components: ComponentsDep,
    steward: ModelSteward,
    language: ReaderLanguage,
    sha256: schemas.Sha256Path,
    body: schemas.PromoteIn,
) -> schemas.VerdictOut:
    """Put a candidate through the gate on a golden set: promoted (the active model retires) only when it beats the
    active model there with no class worse than the margin; refused otherwise. Either way the decision and its
    figures are recorded. Both models run on the server's CPU: this takes seconds."""
    result = await run_in_threadpool(model_registry.promote_on, components, sha256, steward, body.golden, body.margin)
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
def rollback(components: ComponentsDep, steward: ModelSteward) -> schemas.ReleaseOut:
    """The active model retires and the one active before it returns; recorded. Cameras take it up within
    ``model_poll_s``."""
    return schemas.ReleaseOut.model_validate(components.releases.rollback(steward))
