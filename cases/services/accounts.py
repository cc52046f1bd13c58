"""Staff accounts and bearer tokens; camera gateways and their per-device keys.

Passwords are stored as scrypt hashes. Tokens are random and stored only as their SHA-256. A gateway's secret
is never stored: it is derived from the master key, the device id and a key version (bumped to rotate it).

Sign-in is throttled in the attempts ledger (``cases/services/throttle.py``, door ``staff``): too many wrong
passwords for one username lock that username, and too many from one client address lock that address, each for a
while (``SignInLimits``, from the settings). A username that does not exist is counted and locked exactly like one
that does, and while locked even the right password is refused. A success wipes the username's failures, and so
does an admin's unlock; nothing wipes an address's failures but time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import CursorResult, delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import Clock
from cases.errors import AlreadyExists, ConcurrentModification, InvalidInput, NotFound, SignInLocked
from cases.law import Law
from cases.messages import Term
from cases.model.registry import require_code
from cases.model.staff import NOT_STAFF, Role
from cases.persistence import tables
from cases.persistence.limits import check_lengths, has_visible_character
from cases.services.base import Service
from cases.services.throttle import AttemptLedger, Door, Limit, Outcome, locked_until, seconds_until

log = logging.getLogger("offsite.accounts")

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_NEW_PASSWORD = 12  # every staff password: at creation and when changed


def _dummy_hash() -> str:
    """A hash in the current format that no password matches: random salt, random digest."""
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${secrets.token_hex(16)}${secrets.token_hex(32)}"


# Checked against when the username is unknown, so that a sign-in costs one scrypt run of the same parameters
# whether or not the account exists.
_DUMMY_HASH = _dummy_hash()


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


QUARTER_HOUR = dt.timedelta(minutes=15)
ACCOUNT_LIMIT = Limit(5, QUARTER_HOUR, QUARTER_HOUR)  # the defaults; the settings may change each number
CLIENT_LIMIT = Limit(20, QUARTER_HOUR, QUARTER_HOUR)


@dataclass(frozen=True)
class SignInLimits:
    """When staff sign-in locks: ``per_account`` wrong passwords for one username, ``per_client`` from one client
    address (higher: colleagues behind one address should not lock each other out by a few typos)."""

    per_account: Limit = ACCOUNT_LIMIT
    per_client: Limit = CLIENT_LIMIT


@dataclass(frozen=True)
class _Admitted:
    """A sign-in attempt let through to its password check, recorded as failed until the password proves right."""

    attempt: int
    at: dt.datetime


U = tables.users.c
T = tables.api_tokens.c
G = tables.gateways.c


def check_new_password(password: str) -> None:
    """Long enough, and not blank: twelve spaces (or invisible characters) are no secret."""
    if len(password) < MIN_NEW_PASSWORD:
        raise InvalidInput(variant="new_password_short", min_length=MIN_NEW_PASSWORD)
    if not has_visible_character(password):
        raise InvalidInput(variant="new_password_blank")


def refuse_username_taken(session: Session, username: str) -> None:
    """Usernames ignore case: ``Admin`` beside ``admin`` would be two accounts a person cannot tell apart. Kept as
    typed (sign-in stays exact, so every existing account signs in as before); a twin in another case is refused."""
    existing = session.execute(select(U.username).where(func.lower(U.username) == username.lower())).scalar()
    if existing is None:
        return
    if existing == username:
        raise AlreadyExists(variant="username", username=username)
    raise AlreadyExists(variant="username_case", username=username, existing=existing)


class AccountService(Service):
    def __init__(
        self, session_factory: sessionmaker[Session], law: Law, clock: Clock, limits: SignInLimits | None = None
    ) -> None:
        super().__init__(session_factory, law, clock)
        self.limits = limits or SignInLimits()

    # ---- staff --------------------------------------------------------------------------------------------
    def create_user(self, username: str, display_name: str, role: Role, password: str) -> StaffUser:
        require_code(username, "username")
        check_lengths(tables.users, {"username": username, "display_name": display_name})
        check_new_password(password)
        if role in NOT_STAFF:
            raise InvalidInput(variant="staff_role", role=Term(f"term.role.{role.value}"), role_value=role.value)
        try:
            with self.transaction() as session:
                refuse_username_taken(session, username)
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
        except AlreadyExists:  # the database's index: an account of that name was created meanwhile; name it
            with self.transaction() as session:
                refuse_username_taken(session, username)
            raise
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
                raise NotFound(variant="user", username=repr(username))
            session.execute(update(tables.users).where(U.id == row.id).values(active=active))
            if not active:
                session.execute(update(tables.api_tokens).where(T.user_id == row.id).values(revoked=True))
        return StaffUser(row.id, row.username, row.display_name, row.role, active)

    def authenticate(self, username: str, password: str) -> StaffUser | None:
        """The account, if the password is right and the account enabled. Every attempt costs exactly one scrypt
        run (an unknown username is checked against a dummy hash, a disabled account's password is checked too),
        so the time a sign-in takes does not tell which accounts exist or are disabled."""
        with self.transaction() as session:
            row = session.execute(select(tables.users).where(U.username == username)).one_or_none()
        matches = verify_password(password, _DUMMY_HASH if row is None else row.password_hash)
        if row is None or not row.active or not matches:
            return None
        return StaffUser(row.id, row.username, row.display_name, row.role, row.active)

    def sign_in(self, username: str, password: str, client: str) -> StaffUser | None:
        """The account, if the password is right and the account enabled; None otherwise (as ``authenticate``).

        Refused with ``SignInLocked`` before any password check while the username or the client address is locked
        out. Otherwise the attempt is recorded as a failure first (so that concurrent guesses see one another),
        the password is checked outside any transaction (one scrypt run, as ``authenticate``), and the attempt is
        settled: a success wipes the username's failures; a failure that sets off a lock-out is logged."""
        admitted = self._admit(username, client)
        user = self.authenticate(username, password)
        with self.transaction() as session:
            ledger = AttemptLedger(session, Door.STAFF)
            if user is not None:
                ledger.settle(admitted.attempt, Outcome.SUCCEEDED)
                return user
            self._log_lock_out_set_off(ledger, username, client, admitted.at)
        return None

    def _admit(self, username: str, client: str) -> _Admitted:
        now = self.clock.now()
        with self.transaction() as session:
            ledger = AttemptLedger(session, Door.STAFF)
            ledger.serialise_on(f"account:{username}", f"client:{client}")  # always in this order: no deadlock
            until = self._locked_until(ledger, username, client, now)
            if until is None:
                return _Admitted(ledger.record(now, username, client, Outcome.FAILED), now)
            ledger.record(now, username, client, Outcome.REFUSED)
        wait = seconds_until(until, now)
        raise SignInLocked(retry_after_s=wait, variant="wait", seconds=wait, minutes=-(-wait // 60))

    def _locked_until(self, ledger: AttemptLedger, username: str, client: str, now: dt.datetime) -> dt.datetime | None:
        """When the lock-out in force on this username or this client address ends (the later), or None."""
        account = locked_until(ledger.failures_of(username, now - self.limits.per_account.horizon),
                               self.limits.per_account)  # fmt: skip
        address = locked_until(ledger.failures_from(client, now - self.limits.per_client.horizon),
                               self.limits.per_client)  # fmt: skip
        return max((end for end in (account, address) if end is not None and end > now), default=None)

    def _log_lock_out_set_off(self, ledger: AttemptLedger, username: str, client: str, at: dt.datetime) -> None:
        """Log the lock-out this failure (made at ``at``) set off, if it set one off: a lock-out starts at the
        failure that completes the count, so this one did if the lock-out ends one lockout's length after it."""
        per_account, per_client = self.limits.per_account, self.limits.per_client
        if (
            locked_until(ledger.failures_of(username, at - per_account.horizon), per_account)
            == at + per_account.lockout
        ):
            log.warning("sign-in locked out: account %r after %d wrong passwords within %s (the last from %s), until %s",
                        username[:64], per_account.failures, per_account.within, client, at + per_account.lockout)  # fmt: skip
        if locked_until(ledger.failures_from(client, at - per_client.horizon), per_client) == at + per_client.lockout:
            log.warning("sign-in locked out: client %s after %d wrong passwords within %s (the last for %r), until %s",
                        client, per_client.failures, per_client.within, username[:64], at + per_client.lockout)  # fmt: skip

    def locked_accounts(self) -> dict[str, dt.datetime]:
        """Every account locked out now, with when its lock-out ends. Names that are no account are locked out
        alike, but not listed: a guesser's made-up names would bury the colleagues an admin is looking for."""
        now = self.clock.now()
        limit = self.limits.per_account
        with self.transaction() as session:
            ledger = AttemptLedger(session, Door.STAFF)
            accounts = set(session.scalars(select(U.username)))
            ends = {name: locked_until(ledger.failures_of(name, now - limit.horizon), limit)
                    for name in ledger.subjects_since(now - limit.horizon) if name in accounts}  # fmt: skip
        return {name: end for name, end in ends.items() if end is not None and end > now}

    def unlock(self, username: str, admin: str) -> StaffUser:
        """Lift an account's sign-in lock-out: its failures so far no longer count. Recorded in the attempts ledger
        (its client names the admin) and logged. A lock-out of the client address stays: it is not the account's."""
        user = self.find_user(username)
        if user is None:
            raise NotFound(variant="user", username=repr(username))
        now = self.clock.now()
        with self.transaction() as session:
            ledger = AttemptLedger(session, Door.STAFF)
            ledger.serialise_on(f"account:{username}")
            ledger.record(now, username, f"admin:{admin}", Outcome.CLEARED)
        log.warning("sign-in lock-out of account %r lifted by admin %r", username, admin)
        return user

    def change_password(
        self, user_id: int, current_password: str, new_password: str, keep_token: str | None, client: str = "service"
    ) -> None:
        """Replace a signed-in user's password, after checking the current one (a wrong one is InvalidInput).

        A wrong current password is a guess at the account's password: it is recorded and counted with the wrong
        sign-ins (from ``client``), so a stolen token is no way round the lock-out; while the account or the client
        is locked out the change is refused with ``SignInLocked`` before any check, and a right one settles the
        attempt as a sign-in does. Every other token of the account is revoked, so that a session opened elsewhere
        with the old password ends; the token ``keep_token`` (the one the request came with) stays valid."""
        check_new_password(new_password)
        if new_password == current_password:
            raise InvalidInput(variant="new_password_same")
        with self.transaction() as session:
            row = session.execute(select(U.username, U.password_hash, U.active).where(U.id == user_id)).one_or_none()
        if row is None or not row.active:
            raise NotFound(variant="user_disabled", ident=user_id)
        admitted = self._admit(row.username, client)
        if not verify_password(current_password, row.password_hash):  # scrypt runs outside any transaction
            with self.transaction() as session:
                self._log_lock_out_set_off(AttemptLedger(session, Door.STAFF), row.username, client, admitted.at)
            raise InvalidInput(variant="current_password_wrong")
        new_hash = hash_password(new_password)
        with self.transaction() as session:
            AttemptLedger(session, Door.STAFF).settle(admitted.attempt, Outcome.SUCCEEDED)
            result = session.execute(
                update(tables.users)
                .where(U.id == user_id, U.password_hash == row.password_hash, U.active.is_(True))
                .values(password_hash=new_hash)
            )
            assert isinstance(result, CursorResult)
            if result.rowcount != 1:
                raise ConcurrentModification(variant="account")
            revoke = update(tables.api_tokens).where(T.user_id == user_id, T.revoked.is_(False))
            if keep_token is not None:
                revoke = revoke.where(T.token_hash != token_digest(keep_token))
            session.execute(revoke.values(revoked=True))

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
            if session.execute(select(G.device_id).where(G.device_id == device_id)).first() is not None:
                raise AlreadyExists(variant="gateway_device_id", device_id=device_id)
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

    def set_gateway_active(self, device_id: str, active: bool) -> Gateway:
        """Disable (or re-enable) a gateway: a disabled gateway's signed requests are refused (api/deps.py)."""
        with self.transaction() as session:
            gateway = self._gateway(session, device_id)
            session.execute(update(tables.gateways).where(G.device_id == device_id).values(active=active))
        return Gateway(gateway.device_id, gateway.name, gateway.key_version, active)

    def get_gateway(self, device_id: str) -> Gateway:
        with self.transaction() as session:
            return self._gateway(session, device_id)

    @staticmethod
    def _gateway(session: Session, device_id: str) -> Gateway:
        row = session.execute(select(tables.gateways).where(G.device_id == device_id)).one_or_none()
        if row is None:
            raise NotFound(variant="gateway", device_id=repr(device_id))
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
