"""Sign in (bearer tokens), sign out, who am I, change your password; staff accounts and camera gateways for admins."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Response, status

from api import schemas
from api.deps import AccountManager, Accounts, ClientAddress, CurrentUser, SettingsDep, oauth2
from api.errors import NotAuthenticated
from cases.errors import InvalidInput
from cases.services.accounts import Gateway, StaffUser, gateway_secret
from offsite.settings import Settings

router = APIRouter(tags=["auth and accounts"])


class SignInForm:
    """OAuth2's password form (what the API page's Authorize button sends), each field bounded before any work."""

    def __init__(
        self,
        username: Annotated[str, Form(max_length=schemas.CODE_MAX)],
        password: Annotated[str, Form(max_length=schemas.PASSWORD_MAX)],
        grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
        scope: Annotated[str, Form(max_length=schemas.SHORT_NAME_MAX)] = "",
        client_id: Annotated[str | None, Form(max_length=schemas.CODE_MAX)] = None,
        client_secret: Annotated[str | None, Form(max_length=schemas.PASSWORD_MAX)] = None,
    ) -> None:
        self.username = username
        self.password = password
        self.grant_type = grant_type
        self.scopes = scope.split()
        self.client_id = client_id
        self.client_secret = client_secret


@router.post(
    "/auth/token",
    response_model=schemas.TokenOut,
    responses={
        401: {"description": "wrong username or password, or the account is disabled (not_authenticated)"},
        429: {"description": "sign-in locked after wrong passwords (sign_in_locked): retry after Retry-After seconds"},
    },
)
def sign_in(
    accounts: Accounts, settings: SettingsDep, client: ClientAddress, form: Annotated[SignInForm, Depends()]
) -> schemas.TokenOut:
    """Exchange username and password (form fields) for a bearer token.

    Wrong passwords lock out (defaults: 5 for one account, or 20 from one client address, within 15 minutes lock it
    for 15 minutes): then every attempt, the right password included, is refused with 429 ``sign_in_locked`` and a
    ``Retry-After`` in seconds, until the lock-out ends or an admin unlocks the account. An unknown username is
    answered and locked exactly like a known one."""
    user = accounts.sign_in(form.username, form.password, client)
    if user is None:
        raise NotAuthenticated(variant="wrong_password")
    ttl = dt.timedelta(minutes=settings.token_ttl_minutes)
    token, expires = accounts.issue_token(user, ttl)
    return schemas.TokenOut(access_token=token, expires_at=expires, username=user.username, role=user.role)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def sign_out(accounts: Accounts, _user: CurrentUser, token: Annotated[str | None, Depends(oauth2)]) -> Response:
    if token:
        accounts.revoke_token(token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/auth/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        422: {"description": "the current password is wrong, or the new one is refused (invalid_input)"},
        429: {"description": "the account is locked after wrong passwords (sign_in_locked): retry after Retry-After"},
    },
)
def change_password(
    accounts: Accounts,
    user: CurrentUser,
    token: Annotated[str | None, Depends(oauth2)],
    body: schemas.PasswordChangeIn,
    client: ClientAddress,
) -> Response:
    """Change your own password: the current one, and a new one of at least 12 characters. 204 when done.

    A wrong current password is 422 ``invalid_input`` ("the current password is wrong"), not 401: the bearer
    token of the request is valid, and a 401 would tell a client to sign in again. Every other token of the
    account is revoked, so that a session opened elsewhere with the old password ends; the token this request
    came with stays valid. Wrong current passwords count towards the account's sign-in lock-out, as wrong sign-ins
    do: once it is locked, the change is refused with 429 ``sign_in_locked`` and a ``Retry-After``."""
    accounts.change_password(user.id, body.current_password, body.new_password, keep_token=token, client=client)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/auth/me", response_model=schemas.UserOut)
def who_am_i(user: CurrentUser) -> schemas.UserOut:
    return schemas.UserOut.model_validate(user)


def _user_out(user: StaffUser, locked_until: dt.datetime | None = None) -> schemas.UserOut:
    return schemas.UserOut(id=user.id, username=user.username, display_name=user.display_name, role=user.role,
                           active=user.active, sign_in_locked_until=locked_until)  # fmt: skip


@router.get("/users", response_model=list[schemas.UserOut])
def list_users(accounts: Accounts, _admin: AccountManager) -> list[schemas.UserOut]:
    """Every staff account; ``sign_in_locked_until`` says until when one is locked out after wrong passwords."""
    locked = accounts.locked_accounts()
    return [_user_out(u, locked.get(u.username)) for u in accounts.list_users()]


@router.post(
    "/users/{username}/unlock",
    response_model=schemas.UserOut,
    responses={404: {"description": "no account has this username (not_found)"}},
)
def unlock_user(accounts: Accounts, admin: AccountManager, username: schemas.CodePath) -> schemas.UserOut:
    """Lift an account's sign-in lock-out at once (its wrong passwords so far no longer count); logged. A lock-out
    of a client address is not the account's and stays until it ends."""
    return _user_out(accounts.unlock(username, admin.username))


@router.post("/users", response_model=schemas.UserOut, status_code=status.HTTP_201_CREATED)
def create_user(accounts: Accounts, _admin: AccountManager, body: schemas.UserIn) -> schemas.UserOut:
    user = accounts.create_user(body.username, body.display_name, body.role, body.password)
    return schemas.UserOut.model_validate(user)


@router.patch("/users/{username}", response_model=schemas.UserOut)
def set_user_active(
    accounts: Accounts, admin: AccountManager, username: schemas.CodePath, body: schemas.UserActiveIn
) -> schemas.UserOut:
    """Disable (or re-enable) an account. Disabling signs it out everywhere at once."""
    if username == admin.username and not body.active:
        raise InvalidInput(variant="disable_self")
    return schemas.UserOut.model_validate(accounts.set_active(username, body.active))


def _with_secret(settings: Settings, gateway: Gateway) -> schemas.GatewaySecretOut:
    master_key = settings.gateway_master_key.get_secret_value()
    secret = gateway_secret(master_key, gateway.device_id, gateway.key_version)
    return schemas.GatewaySecretOut(
        device_id=gateway.device_id,
        name=gateway.name,
        key_version=gateway.key_version,
        active=gateway.active,
        secret=secret,
    )


@router.post("/gateways", response_model=schemas.GatewaySecretOut, status_code=status.HTTP_201_CREATED)
def register_gateway(
    accounts: Accounts, settings: SettingsDep, _admin: AccountManager, body: schemas.GatewayIn
) -> schemas.GatewaySecretOut:
    """Register a camera gateway; the response carries its signing secret, once."""
    gateway = accounts.register_gateway(body.device_id, body.name)
    return _with_secret(settings, gateway)


@router.post("/gateways/{device_id}/rotate-key", response_model=schemas.GatewaySecretOut)
def rotate_gateway_key(
    accounts: Accounts, settings: SettingsDep, _admin: AccountManager, device_id: schemas.CodePath
) -> schemas.GatewaySecretOut:
    """Issue a new secret; the old one stops working at once."""
    gateway = accounts.rotate_gateway_key(device_id)
    return _with_secret(settings, gateway)


@router.patch("/gateways/{device_id}", response_model=schemas.GatewayOut)
def set_gateway_active(
    accounts: Accounts, _admin: AccountManager, device_id: schemas.CodePath, body: schemas.GatewayActiveIn
) -> schemas.GatewayOut:
    """Disable (or re-enable) a camera gateway. A disabled gateway's signed requests are refused with 401
    ``gateway_rejected`` at once; its key is kept, so re-enabling it needs no new secret."""
    return schemas.GatewayOut.model_validate(accounts.set_gateway_active(device_id, body.active))
