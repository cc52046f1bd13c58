"""Notifying the party: a transactional outbox and channel adapters.

A notice is written to the outbox in the same transaction as the case step that issues it, so a notice is
never lost and never sent for a step that rolled back. ``dispatch`` claims what is due, sends it outside any
database transaction through the channel adapters, and records each result: sent; or failed and retried later
(1, 2, 4 … minutes, at most an hour apart); or, after ``MAX_ATTEMPTS``, given up ("failed") for a person to look
at. A claim left by a dispatcher that died is taken over after ``CLAIM_TIMEOUT``. SMS, app push and e-mail are
interfaces (``NotificationChannel``); the default adapter logs, with the mobile masked.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from cases.model.registry import mask_mobile
from cases.persistence import tables
from cases.persistence.limits import ERROR_TEXT_MAX_CHARS, check_lengths

log = logging.getLogger("offsite.notifications")
N = tables.notifications
MAX_ATTEMPTS = 5
CLAIM_TIMEOUT = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Message:
    id: int
    case_id: int
    kind: str
    channel: str
    recipient: str
    body: str


class NotificationChannel(Protocol):
    name: str

    def send(self, message: Message) -> None:
        """Deliver or raise; a raised error is recorded and the message retried later."""


class LoggingChannel:
    """Writes the message to the log: the default for every channel until a gateway is configured."""

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, message: Message) -> None:
        recipient = mask_mobile(message.recipient) if message.recipient.isdigit() else message.recipient
        log.info(
            "notify via %s to %s (case %s, %s): %s", self.name, recipient, message.case_id, message.kind, message.body
        )


def enqueue(
    session: Session, case_id: int, kind: str, channel: str, recipient: str, body: str, now: dt.datetime
) -> None:
    check_lengths(N, {"recipient": recipient, "body": body})
    session.execute(
        insert(N).values(
            case_id=case_id,
            kind=kind,
            channel=channel,
            recipient=recipient,
            body=body,
            created_at=now,
            status="pending",
            attempts=0,
        )
    )


def backoff(attempts: int) -> dt.timedelta:
    return min(dt.timedelta(minutes=2 ** (attempts - 1)), dt.timedelta(hours=1))


def _claim(session_factory: sessionmaker[Session], now: dt.datetime, limit: int) -> list[Message]:
    due = or_(
        and_(N.c.status == "pending", or_(N.c.next_attempt_at.is_(None), N.c.next_attempt_at <= now)),
        and_(N.c.status == "sending", N.c.claimed_at < now - CLAIM_TIMEOUT),
    )
    with session_factory() as session, session.begin():
        query = select(N).where(due).order_by(N.c.id).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)  # two dispatchers never claim the same message
        rows = session.execute(query).all()
        if rows:
            ids = [row.id for row in rows]
            session.execute(update(N).where(N.c.id.in_(ids)).values(status="sending", claimed_at=now))
    return [Message(r.id, r.case_id, r.kind, r.channel, r.recipient, r.body) for r in rows]


def _record(session_factory: sessionmaker[Session], message: Message, now: dt.datetime, error: str | None) -> None:
    with session_factory() as session, session.begin():
        attempts = (session.execute(select(N.c.attempts).where(N.c.id == message.id)).scalar_one() or 0) + 1
        if error is None:
            values: dict[str, object] = {"status": "sent", "sent_at": now}
        elif attempts >= MAX_ATTEMPTS:
            values = {"status": "failed", "last_error": error}
            log.warning("gave up notifying case %s after %s attempts: %s", message.case_id, attempts, error)
        else:
            values = {"status": "pending", "last_error": error, "next_attempt_at": now + backoff(attempts)}
        session.execute(update(N).where(N.c.id == message.id).values(attempts=attempts, claimed_at=None, **values))


def dispatch(
    session_factory: sessionmaker[Session],
    channels: Mapping[str, NotificationChannel],
    now: dt.datetime,
    limit: int = 100,
) -> tuple[int, int]:
    """Send what is due; returns (sent, failed this round)."""
    sent = failed = 0
    for message in _claim(session_factory, now, limit):
        channel = channels.get(message.channel)
        try:
            if channel is None:
                raise LookupError(f"no adapter for channel {message.channel!r}")
            channel.send(message)
        except Exception as exc:  # any adapter failure is recorded and retried, never lost
            failed += 1
            _record(session_factory, message, now, str(exc)[:ERROR_TEXT_MAX_CHARS])  # cut, never refused
        else:
            sent += 1
            _record(session_factory, message, now, None)
    return sent, failed


def default_channels() -> dict[str, NotificationChannel]:
    return {name: LoggingChannel(name) for name in ("sms", "app", "email")}
