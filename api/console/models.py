"""The model registry's page, for admins (issue 15): every detector model and where it stands, the decisions taken on
them with the gate's reasons in the reader's language, a candidate's promotion on a golden set, and rollback."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.console.web import back, form_of, local, notice, page, page_language, permitted
from api.roles import Permission
from api.services import ApiServices, services_of
from cases.errors import InvalidInput, OffsiteError
from cases.messages import Term, page_text
from cases.model.training_job import TrainingJob
from cases.services.base import Actor
from offsite import model_registry, training_jobs
from offsite.learning import imported_sets
from offsite.settings import SHIPPED_MODEL

router = APIRouter()


DATASET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _releases(services: ApiServices, view: model_registry.RegistryView) -> list[dict[str, Any]]:
    return [{"r": r, "registered": local(services, r.registered_at), "since": local(services, r.status_at)}
            for r in view.releases]  # fmt: skip


def _decisions(services: ApiServices, view: model_registry.RegistryView, language: str) -> list[dict[str, Any]]:
    return [{"d": d, "at": local(services, d.at), "reasons": [t.told(language) for t in d.reasons]}
            for d in view.decisions]  # fmt: skip


def _jobs(services: ApiServices, language: str) -> list[dict[str, Any]]:
    return [_job(services, job, language) for job in services.training_jobs.jobs(limit=20)]


def _job(services: ApiServices, job: TrainingJob, language: str) -> dict[str, Any]:
    """A training job as the page and its poller show it: words in the reader's language, local times, the log's end
    while it is open."""
    assert job.id is not None
    return {
        "id": job.id,
        "recipe": job.recipe_name,
        "status": job.status.value,
        "status_told": Term(f"term.training_job.{job.status.value}").told(language),
        "done": job.status.done,
        "stage_told": Term(f"term.training_stage.{job.stage.value}").told(language) if job.stage else "",
        "epoch": job.epoch,
        "epochs": job.epochs,
        "epoch_told": page_text("第 {epoch}/{epochs} 轮", language).format(epoch=job.epoch, epochs=job.epochs),
        "progress": round(job.progress, 4),
        "percent": f"{job.progress:.0%}",
        "device": job.device or "",
        "figures": {k: v for k, v in (job.figures or {}).items() if k in SHOWN_FIGURES},
        "requested": f"{local(services, job.requested_at)} · {job.requested_by}",
        "finished": local(services, job.finished_at),
        "attempts": job.attempts,
        "candidate": job.candidate_sha256 or "",
        "error": job.error or "",
        "cancelled_by": job.cancelled_by or "",
        "log": training_jobs.log_tail(services.settings, job.id, 12) if not job.status.done or job.error else [],
    }


SHOWN_FIGURES = ("metrics/mAP50(B)", "metrics/precision(B)", "metrics/recall(B)", "train/box_loss", "train/cls_loss")


def _registry_page(request: Request, steward: Actor, status_code: int = 200, **more: Any) -> HTMLResponse:
    services = services_of(request)
    view = model_registry.registry_view(services, steward)
    language = page_language(request)
    return page(request, "models.html", status_code=status_code, releases=_releases(services, view),
                decisions=_decisions(services, view, language), golden_sets=view.golden_sets,
                datasets=imported_sets(services), shadow_reports=view.shadow_reports,
                shadow_until={sha: local(services, at) for sha, at in view.shadow_until.items()},
                shadow_over={sha for sha, at in view.shadow_until.items() if at <= services.clock.now()},
                jobs=_jobs(services, language),
                recipes=[p.name for p in training_jobs.recipes(services)], **more)  # fmt: skip


@router.get("/models", response_class=HTMLResponse)
def models(request: Request) -> Response:
    _user, steward = permitted(request, Permission.MANAGE_MODELS)
    return _registry_page(request, steward)


@router.get("/models/training.json")
def training_progress(request: Request) -> JSONResponse:
    """The jobs as the page shows them, for its poller: progress moves without reloading the page."""
    permitted(request, Permission.MANAGE_MODELS)
    return JSONResponse({"jobs": _jobs(services_of(request), page_language(request))})


@router.post("/models/training", response_model=None)
async def start_training(request: Request) -> Response:
    """An administrator's button: a job for the chosen recipe, its worker started at once."""
    _user, steward = await run_in_threadpool(permitted, request, Permission.MANAGE_MODELS)
    form = await form_of(request)
    recipe = str(form.get("recipe", ""))
    try:
        job, waits_for = await run_in_threadpool(training_jobs.start, services_of(request), recipe, steward)
    except OffsiteError as exc:
        return back(request, "/console/models", error=exc)
    if waits_for is not None:
        return back(request, "/console/models", message=notice("training_queued", job=job.id, other=waits_for))
    return back(request, "/console/models", message=notice("training_started", job=job.id, recipe=recipe))


@router.post("/models/training/{job_id}/cancel", response_model=None)
async def cancel_training(request: Request, job_id: int) -> Response:
    _user, steward = await run_in_threadpool(permitted, request, Permission.MANAGE_MODELS)
    await form_of(request)
    try:
        await run_in_threadpool(services_of(request).training_jobs.cancel, job_id, steward)
    except OffsiteError as exc:
        return back(request, "/console/models", error=exc)
    return back(request, "/console/models", message=notice("training_cancelled", job=job_id))


@router.post("/models/{sha256}/promote", response_model=None)
async def promote(request: Request, sha256: str) -> Response:
    _user, steward = await run_in_threadpool(permitted, request, Permission.MANAGE_MODELS)
    form = await form_of(request)
    services = services_of(request)
    try:
        margin = float(form.get("margin") or 0.02)
        if not 0 <= margin <= 0.5:
            raise ValueError(margin)
        result = await run_in_threadpool(
            model_registry.promote_on, services, sha256[:64], steward, str(form.get("golden", "")), margin
        )
    except OffsiteError as exc:
        return back(request, "/console/models", error=exc)
    except ValueError:
        return back(request, "/console/models", error=notice("margin_not_a_number"))
    model = result.release.sha256[:12]
    if result.verdict.passed:
        return back(request, "/console/models", message=notice("model_promoted", model=model))
    return back(request, "/console/models", error=notice("model_refused", model=model))


@router.post("/models/{sha256}/shadow", response_model=None)
async def shadow(request: Request, sha256: str) -> Response:
    """A candidate beside the active model on the cameras, its findings recorded (taken up within model_poll_s)."""
    _user, steward = await run_in_threadpool(permitted, request, Permission.MANAGE_MODELS)
    form = await form_of(request)
    try:
        hours = float(form.get("hours") or 24)
        release = await run_in_threadpool(services_of(request).releases.shadow, sha256[:64], steward, hours)
    except OffsiteError as exc:
        return back(request, "/console/models", error=exc)
    except ValueError:
        return back(request, "/console/models", error=InvalidInput(variant="shadow_hours", limit=24 * 90))
    return back(request, "/console/models", message=notice("model_shadowed", model=release.sha256[:12]))


@router.post("/models/rollback", response_model=None)
async def rollback(request: Request) -> Response:
    _user, steward = await run_in_threadpool(permitted, request, Permission.MANAGE_MODELS)
    await form_of(request)
    try:
        release = await run_in_threadpool(services_of(request).releases.rollback, steward)
    except OffsiteError as exc:
        return back(request, "/console/models", error=exc)
    return back(request, "/console/models", message=notice("model_rolled_back", model=release.sha256[:12]))


@router.post("/models/datasets", response_model=None)
async def import_dataset(request: Request) -> Response:
    """A labelled set uploaded as a zip (the annotation file and its pictures) into the dataset store, under a name
    of its own. Every problem is listed by file, line and reason, and nothing is kept."""
    from starlette.datastructures import UploadFile

    from offsite.learning import told_problem
    from vision.label_import import ImportRefused, LabelFormat, import_archive
    from vision.manifest import ModelManifest, manifest_path_for

    _user, steward = await run_in_threadpool(permitted, request, Permission.MANAGE_MODELS)
    form = await form_of(request)
    services = services_of(request)
    name, chosen, upload = str(form.get("name", "")).strip(), str(form.get("format", "")), form.get("archive")
    if not DATASET_NAME.fullmatch(name) or chosen not in {f.value for f in LabelFormat}:
        return back(request, "/console/models", error=InvalidInput(variant="dataset_form"))
    if not isinstance(upload, UploadFile) or not upload.filename:
        return back(request, "/console/models", error=InvalidInput(variant="dataset_form"))
    mapping = _mapping(str(form.get("mapping", "")))
    if mapping is None:
        return back(request, "/console/models", error=InvalidInput(variant="dataset_mapping"))
    target = services.settings.dataset_store / name
    if target.exists():
        return back(request, "/console/models", error=InvalidInput(variant="dataset_exists", name=name))
    with tempfile.NamedTemporaryFile(suffix=".zip") as archive:
        await run_in_threadpool(shutil.copyfileobj, upload.file, archive)
        archive.flush()
        classes = ModelManifest.read(manifest_path_for(SHIPPED_MODEL)).classes
        try:
            summary = await run_in_threadpool(
                import_archive, Path(archive.name), LabelFormat(chosen), target, classes, mapping
            )
        except ImportRefused as exc:
            language = page_language(request)
            problems = [f"{p.where}: {told_problem(p).told(language)}" for p in exc.problems]
            return _registry_page(request, steward, 422, import_problems=problems, import_name=name,
                                  error=InvalidInput(variant="dataset_refused", name=name, count=len(problems)))  # fmt: skip
    return back(request, "/console/models", message=notice("dataset_imported", name=name, images=summary.images))


def _mapping(text: str) -> dict[str, str | None] | None:
    """``booth=stall, helmet=-``: their class to ours, ``-`` leaving it out; None when it cannot be read."""
    table: dict[str, str | None] = {}
    for pair in filter(None, (part.strip() for part in text.replace("，", ",").split(","))):
        theirs, sign, ours = (side.strip() for side in pair.partition("="))
        if not sign or not theirs or not ours or len(pair) > 100:
            return None
        table[theirs] = None if ours == "-" else ours
    return table
