"""The staff accounts page, for admins: every account with its role and state, the accounts whose sign-in is locked
after wrong passwords (until when), and the unlock."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from api.console.web import back, form_of, local, notice, page, permitted
from api.roles import Permission
from api.services import services_of

router = APIRouter()


@router.get("/users", response_class=HTMLResponse)
def users(request: Request) -> Response:
    permitted(request, Permission.MANAGE_ACCOUNTS)
    services = services_of(request)
    locked = services.accounts.locked_accounts()
    rows = [{"u": user, "locked_until": local(services, locked.get(user.username))}
            for user in services.accounts.list_users()]  # fmt: skip
    return page(request, "users.html", rows=rows, locked_count=sum(1 for row in rows if row["locked_until"]))


@router.post("/users/{username}/unlock", response_model=None)
async def unlock(request: Request, username: str) -> Response:
    # the user's look-up and the unlock touch the database: in a worker thread, never on the event loop
    _user, admin = await run_in_threadpool(permitted, request, Permission.MANAGE_ACCOUNTS)
    await form_of(request)
    user = await run_in_threadpool(services_of(request).accounts.unlock, username, admin.username)
    unlocked = notice("sign_in_unlocked", username=user.username, name=user.display_name)
    return back(request, "/console/users", message=unlocked)
