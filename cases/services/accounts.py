"""Staff accounts and bearer tokens; camera gateways and their per-device keys.

Passwords are stored as scrypt hashes. Tokens are random and stored only as their SHA-256. A gateway's secret
is never stored: it is derived from the master key, the device id and a key version (bumped to rotate it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from cases.errors import AlreadyExists, InvalidInput, NotFound
from cases.model.registry import require_code
from cases.model.staff import Role
from cases.persistence import tables
from cases.persistence.limits import check_lengths
from cases.services.base import Service

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), dklen=32, n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(candidate.hex(), digest)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def gateway_secret(master_key: str, device_id: str, key_version: int) -> str:
    """The HMAC secret a gateway signs with: derived, so the database never holds it."""
    return hmac.new(master_key.encode(), f"gateway:{device_id}:{key_version}".encode(), hashlib.sha256).hexdigest()


def gateway_signature(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """HMAC-SHA256 over method, path, timestamp, nonce and the body's SHA-256, one per line."""
    message = "\n".join([method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()])
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class StaffUser:
    id: int
    username: str
    display_name: str
    role: Role
    active: bool


@dataclass(frozen=True)
class Gateway:
    device_id: str
    name: str
    key_version: int
    active: bool


U = tables.users.c
T = tables.api_tokens.c
G = tables.gateways.c


class AccountService(Service):
    # ---- staff --------------------------------------------------------------------------------------------
    def create_user(self, username: str, display_name: str, role: Role, password: str) -> StaffUser:
        require_code(username, "username")
        check_lengths(tables.users, {"username": username, "display_name": display_name})
        if len(password) < 8:
            raise InvalidInput("a password needs at least 8 characters")
        with self.transaction() as session:
            ident = session.execute(
                insert(tables.users)
                .values(
                    username=username,
                    display_name=display_name,
                    role=role,
                    password_hash=hash_password(password),
                    active=True,
                    created_at=self.clock.now(),
                )
                .returning(U.id)
            ).scalar_one()
        return StaffUser(int(ident), username, display_name, role, True)

    def find_user(self, username: str) -> StaffUser | None:
        with self.transaction() as session:
            row = session.execute(select(tables.users).where(U.username == username)).one_or_none()
        return None if row is None else StaffUser(row.id, row.username, row.display_name, row.role, row.active)

    def list_users(self) -> list[StaffUser]:
        with self.transaction() as session:
            rows = session.execute(select(tables.users).order_by(U.id)).all()
        return [StaffUser(r.id, r.username, r.display_name, r.role, r.active) for r in rows]

    def set_active(self, username: str, active: bool) -> StaffUser:
        """Enable or disable an account; disabling also revokes every token it holds."""
        with self.transaction() as session:
            row = session.execute(select(tables.users).where(U.username == username)).one_or_none()
            if row is None:
                raise NotFound(f"user {username!r} does not exist")
            session.execute(update(tables.users).where(U.id == row.id).values(active=active))
            if not active:
                session.execute(update(tables.api_tokens).where(T.user_id == row.id).values(revoked=True))
        return StaffUser(row.id, row.username, row.display_name, row.role, active)

    def authenticate(self, username: str, password: str) -> StaffUser | None:
        with self.transaction() as session:
            row = session.execute(select(tables.users).where(U.username == username)).one_or_none()
        if row is None:
            verify_password(password, hash_password("timing-equaliser"))  # same cost whether or not the user exists
            return None
        if not row.active or not verify_password(password, row.password_hash):
            return None
        return StaffUser(row.id, row.username, row.display_name, row.role, row.active)

    def issue_token(self, user: StaffUser, ttl: dt.timedelta) -> tuple[str, dt.datetime]:
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        expires = now + ttl
        with self.transaction() as session:
            session.execute(
                insert(tables.api_tokens).values(
                    token_hash=token_digest(token), user_id=user.id, created_at=now, expires_at=expires, revoked=False
                )
            )
        return token, expires

    def user_for_token(self, token: str) -> StaffUser | None:
        query = (
            select(tables.users)
            .join(tables.api_tokens, T.user_id == U.id)
            .where(T.token_hash == token_digest(token), T.revoked.is_(False), T.expires_at > self.clock.now())
        )
        with self.transaction() as session:
            row = session.execute(query).one_or_none()
        if row is None or not row.active:
            return None
        return StaffUser(row.id, row.username, row.display_name, row.role, row.active)

    def revoke_token(self, token: str) -> None:
        with self.transaction() as session:
            session.execute(update(tables.api_tokens).where(T.token_hash == token_digest(token)).values(revoked=True))

    # ---- gateways -----------------------------------------------------------------------------------------
    def register_gateway(self, device_id: str, name: str) -> Gateway:
        require_code(device_id, "gateway device_id")
        check_lengths(tables.gateways, {"device_id": device_id, "name": name})
        with self.transaction() as session:
            session.execute(
                insert(tables.gateways).values(
                    device_id=device_id, name=name, key_version=1, active=True, created_at=self.clock.now()
                )
            )
        return Gateway(device_id, name, 1, True)

    def rotate_gateway_key(self, device_id: str) -> Gateway:
        with self.transaction() as session:
            gateway = self._gateway(session, device_id)
            session.execute(
                update(tables.gateways).where(G.device_id == device_id).values(key_version=gateway.key_version + 1)
            )
        return Gateway(gateway.device_id, gateway.name, gateway.key_version + 1, gateway.active)

    def get_gateway(self, device_id: str) -> Gateway:
        with self.transaction() as session:
            return self._gateway(session, device_id)

    @staticmethod
    def _gateway(session: Session, device_id: str) -> Gateway:
        row = session.execute(select(tables.gateways).where(G.device_id == device_id)).one_or_none()
        if row is None:
            raise NotFound(f"gateway {device_id!r} is not registered")
        return Gateway(row.device_id, row.name, row.key_version, row.active)

    def remember_nonce(self, device_id: str, nonce: str, window: dt.timedelta) -> bool:
        """Record a request's nonce; False when it was seen before (a replay).

        A timestamp is accepted up to one window either side of now, so a request first seen now can pass the
        timestamp check until two windows from now: its nonce is kept that long, then forgotten."""
        nonces = tables.gateway_nonces
        now = self.clock.now()
        try:
            with self.transaction() as session:
                session.execute(delete(nonces).where(nonces.c.seen_at < now - 2 * window))
                seen = session.execute(
                    select(nonces.c.nonce).where(nonces.c.gateway_id == device_id, nonces.c.nonce == nonce)
                ).one_or_none()
                if seen is not None:
                    return False
                session.execute(insert(nonces).values(gateway_id=device_id, nonce=nonce, seen_at=now))
        except AlreadyExists:  # the same nonce arrived twice at the same moment
            return False
        return True
