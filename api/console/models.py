"""The model registry's page, for admins (issue 15): every detector model and where it stands, the decisions taken on
them with the gate's reasons in the reader's language, a candidate's promotion on a golden set, and rollback."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from api.console.web import back, components_of, form_of, local, notice, page, page_language, permitted
from api.roles import Permission
from cases.errors import OffsiteError
from offsite import model_registry

router = APIRouter()


@router.get("/models", response_class=HTMLResponse)
def models(request: Request) -> Response:
    _user, steward = permitted(request, Permission.MANAGE_MODELS)
    components = components_of(request)
    view = model_registry.registry_view(components, steward)
    language = page_language(request)
    decisions = [
        {"d": d, "at": local(components, d.at), "reasons": [t.told(language) for t in d.reasons]}
        for d in view.decisions
    ]
    releases = [{"r": r, "registered": local(components, r.registered_at), "since": local(components, r.status_at)}
                for r in view.releases]  # fmt: skip
    return page(request, "models.html", releases=releases, decisions=decisions, golden_sets=view.golden_sets)


@router.post("/models/{sha256}/promote", response_model=None)
async def promote(request: Request, sha256: str) -> Response:
    _user, steward = await run_in_threadpool(permitted, request, Permission.MANAGE_MODELS)
    form = await form_of(request)
    components = components_of(request)
    try:
        margin = float(form.get("margin") or 0.02)
        if not 0 <= margin <= 0.5:
            raise ValueError(margin)
        result = await run_in_threadpool(
            model_registry.promote_on, components, sha256[:64], steward, str(form.get("golden", "")), margin
        )
    except OffsiteError as exc:
        return back(request, "/console/models", error=exc)
    except ValueError:
        return back(request, "/console/models", error=notice("margin_not_a_number"))
    model = result.release.sha256[:12]
    if result.verdict.passed:
        return back(request, "/console/models", message=notice("model_promoted", model=model))
    return back(request, "/console/models", error=notice("model_refused", model=model))


@router.post("/models/rollback", response_model=None)
async def rollback(request: Request) -> Response:
    _user, steward = await run_in_threadpool(permitted, request, Permission.MANAGE_MODELS)
    await form_of(request)
    try:
        release = await run_in_threadpool(components_of(request).releases.rollback, steward)
    except OffsiteError as exc:
        return back(request, "/console/models", error=exc)
    return back(request, "/console/models", message=notice("model_rolled_back", model=release.sha256[:12]))
