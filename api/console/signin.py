"""Signing in to the console and out again; each role's home page."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.console.web import LIMITS, SESSION_COOKIE, form_of, notice, page, signed_in
from api.deps import client_address
from api.services import services_of
from cases.errors import SignInLocked
from cases.model.staff import Role

router = APIRouter()

HOME = {
    Role.OPERATOR: "/console/review",
    Role.OFFICER: "/console/cases",
    Role.LEGAL_REVIEWER: "/console/legal",
    Role.SUPERVISOR: "/console/cases",
    Role.ADMIN: "/console/registry/cameras",
    Role.MODEL_STEWARD: "/console/models",
}


def _safe_next(target: str | None) -> str | None:
    """Only a page of this console: never an address elsewhere (an open redirect)."""
    if target and target.startswith("/console/") and not target.startswith("//"):
        return target
    return None


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return page(request, "login.html", next=_safe_next(next) or "")


@router.post("/login", response_model=None)
def login(
    request: Request,
    # longer than any account's name or password: refused by the form's bounds, on a page naming the field
    username: Annotated[str, Form(max_length=LIMITS["username"])] = "",
    password: Annotated[str, Form(max_length=LIMITS["password"])] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    services = services_of(request)
    try:
        user = services.accounts.sign_in(username, password, client_address(request))
    except SignInLocked as exc:
        return _locked_out(request, exc, next, username)
    if user is None or user.role not in HOME:  # the username stays in the form, the password never does
        return page(request, "login.html", status_code=401, next=_safe_next(next) or "", username=username,
                    error=notice("sign_in_failed"))  # fmt: skip
    ttl = dt.timedelta(minutes=services.settings.token_ttl_minutes)
    token, _expires = services.accounts.issue_token(user, ttl)
    response = RedirectResponse(_safe_next(next) or HOME[user.role], status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=int(ttl.total_seconds()), httponly=True, samesite="strict",
                        path="/console", secure=services.settings.secure_cookies)  # fmt: skip
    return response


def _locked_out(request: Request, exc: SignInLocked, next: str, username: str) -> Response:
    """Too many wrong passwords: the page says how long to wait, and so does ``Retry-After``."""
    refused = page(request, "login.html", status_code=429, next=_safe_next(next) or "", username=username,
                   error=notice("sign_in_locked", minutes=exc.minutes))  # fmt: skip
    refused.headers["Retry-After"] = str(exc.retry_after_s)
    return refused


@router.post("/logout", response_model=None)
async def logout(request: Request) -> Response:
    await form_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await run_in_threadpool(services_of(request).accounts.revoke_token, token)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


@router.get("/", response_model=None)
def home(request: Request) -> Response:
    user = signed_in(request)
    return RedirectResponse(HOME.get(user.role, "/console/login"), status_code=303)
