"""Dependencies: the services a route calls, the current user, permission checks, and gateway signatures."""

from __future__ import annotations

import datetime as dt
import hmac
import re
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Header, Request
from fastapi.security import OAuth2PasswordBearer

from api.errors import Forbidden, GatewayRejected, NotAuthenticated, reader_language
from api.openapi import answers
from api.roles import Permission, allows
from api.services import ApiServices, services_of
from cases.clock import Clock
from cases.errors import NotFound
from cases.law import Law
from cases.messages import Term
from cases.services.accounts import AccountService, StaffUser, gateway_secret, gateway_signature
from cases.services.base import Actor
from cases.services.camera_configs import CameraConfigService
from cases.services.cases import CaseService
from cases.services.command_centre import CommandCentreService
from cases.services.detections import DetectionService
from cases.services.registry import RegistryService
from offsite.settings import Settings
from vision.pushed import FramePush

T = TypeVar("T")
HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_services(request: Request) -> ApiServices:
    """Every service dependency below goes through this one (the API document tells 503 for the routes that do)."""
    return services_of(request)


ServicesDep = Annotated[ApiServices, Depends(get_services)]


def _service(pick: Callable[[ApiServices], T]) -> Callable[[ApiServices], T]:
    """A dependency giving the route one service (through ``get_services``)."""

    def dependency(services: ServicesDep) -> T:
        return pick(services)

    return dependency


SettingsDep = Annotated[Settings, Depends(_service(lambda s: s.settings))]
LawDep = Annotated[Law, Depends(_service(lambda s: s.law))]
ClockDep = Annotated[Clock, Depends(_service(lambda s: s.clock))]
Accounts = Annotated[AccountService, Depends(_service(lambda s: s.accounts))]
Registry = Annotated[RegistryService, Depends(_service(lambda s: s.registry))]
Detections = Annotated[DetectionService, Depends(_service(lambda s: s.detections))]
Cases = Annotated[CaseService, Depends(_service(lambda s: s.cases))]
CameraConfigs = Annotated[CameraConfigService, Depends(_service(lambda s: s.camera_configs))]
CommandCentre = Annotated[CommandCentreService, Depends(_service(lambda s: s.command_centre))]
Frames = Annotated[FramePush, Depends(_service(lambda s: s.frames))]


def client_address(request: Request) -> str:
    """The address the request came from, as sign-in's throttle counts it (behind a reverse proxy, run the server
    with its forwarded-address handling so that this is the caller's, not the proxy's)."""
    return request.client.host if request.client else "unknown"


ClientAddress = Annotated[str, Depends(client_address)]
ReaderLanguage = Annotated[str, Depends(reader_language)]  # what a response's messages are told in


@answers(NotAuthenticated)
def current_user(accounts: Accounts, token: Annotated[str | None, Depends(oauth2)]) -> StaffUser:
    challenge = {"WWW-Authenticate": "Bearer"}
    if not token:
        raise NotAuthenticated(headers=challenge, variant="no_token")
    user = accounts.user_for_token(token)
    if user is None:
        raise NotAuthenticated(headers=challenge, variant="bad_token")
    return user


CurrentUser = Annotated[StaffUser, Depends(current_user)]


def require(permission: Permission) -> Callable[[StaffUser], Actor]:
    """A dependency that lets the request through only for roles that hold ``permission``."""

    @answers(Forbidden)
    def check(user: CurrentUser) -> Actor:
        if not allows(user.role, permission):
            raise Forbidden(variant="role", role=Term(f"term.role.{user.role.value}"), permission=permission.value)
        return Actor(user.username, user.role)

    return check


RegistryReader = Annotated[Actor, Depends(require(Permission.READ_REGISTRY))]
RegistryManager = Annotated[Actor, Depends(require(Permission.MANAGE_REGISTRY))]
PersonalDataReader = Annotated[Actor, Depends(require(Permission.READ_PERSONAL_DATA))]
DetectionReader = Annotated[Actor, Depends(require(Permission.READ_DETECTIONS))]
DetectionReviewer = Annotated[Actor, Depends(require(Permission.REVIEW_DETECTIONS))]
CaseReader = Annotated[Actor, Depends(require(Permission.READ_CASES))]
CaseOfficer = Annotated[Actor, Depends(require(Permission.HANDLE_CASES))]
LegalReviewer = Annotated[Actor, Depends(require(Permission.LEGAL_REVIEW))]
AccountManager = Annotated[Actor, Depends(require(Permission.MANAGE_ACCOUNTS))]
ExtensionApprover = Annotated[Actor, Depends(require(Permission.APPROVE_EXTENSION))]  # the agency's head
ModelSteward = Annotated[Actor, Depends(require(Permission.MANAGE_MODELS))]


async def request_body(request: Request) -> bytes:
    """The raw body, read on the event loop (it is awaited, and cached for whoever reads it next)."""
    return await request.body()


def gateway_caller() -> Callable[..., str]:
    """Authenticate a camera gateway: HMAC-SHA256 of method, path, timestamp, nonce and body hash with the
    device's derived secret; the timestamp within the replay window; the nonce never seen before.

    The check is a plain function, so FastAPI runs it in a worker thread: it reads the gateway and records the
    nonce in the database, which must never wait on the event loop (a stalled database would hang every request).
    """

    @answers(GatewayRejected)
    def verify(
        request: Request,
        services: ServicesDep,
        body: Annotated[bytes, Depends(request_body)],
        x_gateway_id: Annotated[str | None, Header()] = None,
        x_gateway_timestamp: Annotated[str | None, Header()] = None,
        x_gateway_nonce: Annotated[str | None, Header()] = None,
        x_gateway_signature: Annotated[str | None, Header()] = None,
    ) -> str:
        if not (x_gateway_id and x_gateway_timestamp and x_gateway_nonce and x_gateway_signature):
            raise GatewayRejected(variant="headers")
        settings = services.settings
        try:
            gateway = services.accounts.get_gateway(x_gateway_id)
        except NotFound as exc:
            raise GatewayRejected(variant="unknown", gateway=repr(x_gateway_id)) from exc
        if not gateway.active:
            raise GatewayRejected(variant="disabled", gateway=repr(x_gateway_id))
        try:
            sent_at = dt.datetime.fromtimestamp(int(x_gateway_timestamp), dt.UTC)
        except (ValueError, OverflowError, OSError) as exc:
            raise GatewayRejected(variant="timestamp") from exc
        window = dt.timedelta(seconds=settings.gateway_replay_window_s)
        if abs(services.clock.now() - sent_at) > window:
            raise GatewayRejected(variant="window", window_s=settings.gateway_replay_window_s)
        if not 8 <= len(x_gateway_nonce) <= 64 or not x_gateway_nonce.isascii():
            raise GatewayRejected(variant="nonce")
        if not HEX_SHA256.fullmatch(x_gateway_signature):
            raise GatewayRejected(variant="signature_form")
        secret = gateway_secret(settings.gateway_master_key.get_secret_value(), gateway.device_id, gateway.key_version)
        expected = gateway_signature(
            secret, request.method, request.url.path, x_gateway_timestamp, x_gateway_nonce, body
        )
        if not hmac.compare_digest(expected, x_gateway_signature.lower()):
            raise GatewayRejected(variant="signature")
        if not services.accounts.remember_nonce(gateway.device_id, x_gateway_nonce, window):
            raise GatewayRejected(variant="replay")
        return gateway.device_id

    return verify
