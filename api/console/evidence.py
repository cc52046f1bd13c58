"""Evidence packages: staff see every item; anyone holding a package id (the QR code on a document) sees its
hashes, signature and inclusion proof and can have it verified now, without the pictures in it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from api.console.web import form_of, page, page_language, permitted, signed_in, told
from api.roles import Permission, allows
from api.services import services_of
from cases import messages
from cases.errors import NotFound
from evidence_store.store import EvidenceError, EvidenceStore, check_package_id

router = APIRouter()
public = APIRouter()


class PackageMissing(Exception):
    """The store holds no package of that id (the store's own words, English, are for the log)."""


def _store(request: Request) -> EvidenceStore:
    return services_of(request).evidence_reader()


def package_view(store: EvidenceStore, package_id: str) -> dict[str, Any]:
    """Everything a reader checks a package by: its manifest's items and hashes, the signature, the signed tree
    head and the inclusion proof that ties the package to it."""
    try:
        check_package_id(package_id)
        manifest_bytes = store.manifest_bytes(package_id)
    except EvidenceError as exc:
        raise PackageMissing(str(exc)) from exc
    manifest = json.loads(manifest_bytes)
    try:
        key_id, signature = store.signature(package_id)
        signed: dict[str, str] = {"algorithm": "Ed25519", "key_id": key_id, "signature": signature.hex()}
    except Exception:  # a missing signature is what the verification reports
        signed = {}
    try:
        head = store.latest_head()
        proof: dict[str, Any] | None = store.proof(package_id, head)
        tree_head: dict[str, Any] | None = head.as_json()
    except EvidenceError:
        proof, tree_head = None, None
    return {
        "package_id": package_id,
        "manifest": manifest,
        "context": manifest.get("context", {}),
        "files": manifest.get("items", []),
        "signature": signed,
        "tree_head": tree_head,
        "proof": proof,
    }


def of_a_case(manifest: dict[str, Any]) -> bool:
    """A package a case sealed of its own (a document, a party's attachments), not a camera's evidence: no camera
    sealed it. It names the case's party, so only those who read cases see it (an operator reviews detections)."""
    context = manifest.get("context")
    return not (isinstance(context, dict) and isinstance(context.get("camera_id"), str))


def may_read(request: Request, manifest: dict[str, Any]) -> None:
    """A signed-in reader of evidence may read this package: a case's own only with ``read_cases``."""
    if of_a_case(manifest):
        permitted(request, Permission.READ_CASES)  # raises with the reason


def _show(request: Request, package_id: str, template: str, verify: bool, staff: bool = True) -> Response:
    try:
        store = _store(request)
        view = package_view(store, package_id)
    except (PackageMissing, EvidenceError):  # the store's own words are English: the page says it in Chinese
        language = page_language(request)
        detail = messages.page_text("证据存储中没有这个证据包（编号有误，或尚未封存任何证据）", language)
        what = messages.page_text("证据包 {package}", language).format(package=package_id[:16])
        return page(request, "not_found.html", status_code=404, what=what, detail=detail)
    if staff:
        may_read(request, view["manifest"])
    verification = store.verify(package_id) if verify else None
    times = local_times(view, services_of(request).clock.tz)
    return page(request, template, view=view, verification=verification, times=times)


def local_times(view: dict[str, Any], tz: ZoneInfo) -> dict[str, str]:
    """The package's moments as a person reads them: local time, to the second. The manifest and the tree head
    keep UTC to the microsecond; only the page converts."""
    stamps = {
        "first_seen": view["context"].get("first_seen"),
        "confirmed_at": view["context"].get("confirmed_at"),
        "tree_head": (view["tree_head"] or {}).get("timestamp"),
    }
    return {name: _local(stamp, tz) for name, stamp in stamps.items() if isinstance(stamp, str)}


def _local(stamp: str, tz: ZoneInfo) -> str:
    try:
        moment = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return stamp  # not a time this system wrote: shown as sealed
    if moment.tzinfo is None:
        return stamp
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


@router.get("/evidence/{package_id}", response_class=HTMLResponse)
def evidence_page(request: Request, package_id: str) -> Response:
    _staff(request)
    return _show(request, package_id, "evidence.html", verify=False)


@router.post("/evidence/{package_id}/verify", response_class=HTMLResponse)
async def verify_now(request: Request, package_id: str) -> Response:
    await run_in_threadpool(_staff, request)
    await form_of(request)
    return await run_in_threadpool(_show, request, package_id, "evidence.html", verify=True)


@router.get("/evidence/{package_id}/items/{name}", response_model=None)
def evidence_item(request: Request, package_id: str, name: str) -> Response:
    _staff(request)
    try:
        check_package_id(package_id)
        store = _store(request)
        manifest = store.manifest(package_id)
        media_type, data = store.item(package_id, name)
    except (EvidenceError, KeyError, ValueError):
        missing = NotFound(variant="evidence_item", name=repr(name[:80]), package=package_id[:16])
        return Response(told(request, missing), status_code=404, media_type="text/plain; charset=utf-8")
    may_read(request, manifest)
    return Response(data, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"})


def _staff(request: Request) -> None:
    """Detections' readers and cases' readers may see evidence."""
    user = signed_in(request)
    if not (allows(user.role, Permission.READ_DETECTIONS) or allows(user.role, Permission.READ_CASES)):
        permitted(request, Permission.READ_DETECTIONS)  # raises with the reason


@public.get("/verify/{package_id}", response_class=HTMLResponse)
def public_verification(request: Request, package_id: str, now: bool = False) -> Response:
    """The page a document's QR code opens: hashes, signature, proof, and (with ?now=1) a fresh verification."""
    return _show(request, package_id, "verify.html", verify=now, staff=False)
