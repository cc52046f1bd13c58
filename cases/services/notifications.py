"""Notifying the party: a transactional outbox and channel adapters.

A notice is written to the outbox in the same transaction as the case step that issues it, so a notice is
never lost and never sent for a step that rolled back. ``dispatch`` sends what is pending through the channel
adapters. SMS, app push and e-mail are interfaces (``NotificationChannel``); the default adapter logs.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from cases.persistence import tables

log = logging.getLogger("offsite.notifications")
N = tables.notifications


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
        """Deliver or raise; a raised error leaves the message pending for the next dispatch."""


class LoggingChannel:
    """Writes the message to the log: the default for every channel until a gateway is configured."""

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, message: Message) -> None:
        log.info(
            "notify via %s to %s (case %s, %s): %s",
            self.name,
            message.recipient,
            message.case_id,
            message.kind,
            message.body,
        )


def enqueue(
    session: Session, case_id: int, kind: str, channel: str, recipient: str, body: str, now: dt.datetime
) -> None:
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


def dispatch(
    session_factory: sessionmaker[Session],
    channels: Mapping[str, NotificationChannel],
    now: dt.datetime,
    limit: int = 100,
) -> tuple[int, int]:
    """Send pending messages; returns (sent, failed). Failures stay pending with the error recorded."""
    sent = failed = 0
    with session_factory() as session, session.begin():
        rows = session.execute(select(N).where(N.c.status == "pending").order_by(N.c.id).limit(limit)).all()
        for row in rows:
            message = Message(row.id, row.case_id, row.kind, row.channel, row.recipient, row.body)
            channel = channels.get(message.channel)
            try:
                if channel is None:
                    raise LookupError(f"no adapter for channel {message.channel!r}")
                channel.send(message)
            except Exception as exc:  # any adapter failure is recorded and retried, never lost
                failed += 1
                session.execute(
                    update(N).where(N.c.id == row.id).values(attempts=row.attempts + 1, last_error=str(exc)[:500])
                )
            else:
                sent += 1
                session.execute(
                    update(N).where(N.c.id == row.id).values(status="sent", attempts=row.attempts + 1, sent_at=now)
                )
    return sent, failed


def default_channels() -> dict[str, NotificationChannel]:
    return {name: LoggingChannel(name) for name in ("sms", "app", "email")}
