"""The party's own access to their case (the public party page): opening it with the case number and the
verification code printed on the notices, the lock-out after wrong codes, the log of every view, and what the
party may do there — file a statement or defence, consent to electronic delivery.

The lock-out counts failed attempts in the database, so it holds across processes and restarts:
- ``MAX_FAILURES_PER_CASE`` wrong codes for one case number within ``LOCKOUT`` lock that case number;
- ``MAX_FAILURES_PER_CLIENT`` wrong codes from one client (any case numbers) within ``LOCKOUT`` lock the client;
- more than ``MAX_ATTEMPTS_PER_MINUTE`` attempts of any kind from one client within a minute are refused.
An unknown case number and a wrong code get the same answer, so that guessing learns nothing about which exists.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import Clock
from cases.errors import InvalidInput, NotFound, TooManyAttempts
from cases.law import Law
from cases.model.case import Case
from cases.model.staff import Role
from cases.persistence import tables
from cases.services.base import Actor, Service
from cases.services.cases import CaseService

A = tables.party_access_attempts.c
V = tables.party_views.c
LOCKOUT = dt.timedelta(minutes=15)
MAX_FAILURES_PER_CASE = 5
MAX_FAILURES_PER_CLIENT = 20
MAX_ATTEMPTS_PER_MINUTE = 10
WRONG = "案件编号或查询码不正确"


@dataclass(frozen=True)
class PartyView:
    at: dt.datetime
    client: str
    what: str


class PartyAccessService(Service):
    def __init__(self, session_factory: sessionmaker[Session], law: Law, clock: Clock, cases: CaseService) -> None:
        super().__init__(session_factory, law, clock)
        self.cases = cases

    def open_case(self, case_number: str, code: str, client: str, expected_code: Callable[[str], str]) -> Case:
        """The case, when the code is its verification code; every attempt is recorded, a wrong one counted."""
        case_number, code, client = case_number.strip(), code.strip(), client[:64]
        if not case_number or not code:
            raise InvalidInput("请输入案件编号和查询码")
        if len(case_number) > 64 or len(code) > 32:
            raise InvalidInput(WRONG)
        self._refuse_when_locked(case_number, client)
        case = self.cases.find_by_number(case_number)
        ok = case is not None and case.party_name is not None and hmac.compare_digest(code, expected_code(case_number))
        with self.transaction() as session:
            session.execute(insert(tables.party_access_attempts).values(
                at=self.clock.now(), case_number=case_number, client=client, succeeded=ok))  # fmt: skip
        if not ok or case is None:
            raise InvalidInput(WRONG)
        return case

    def _refuse_when_locked(self, case_number: str, client: str) -> None:
        now = self.clock.now()
        since = now - LOCKOUT
        with self.transaction() as session:
            recent = session.scalar(
                select(func.count()).where(A.client == client, A.at > now - dt.timedelta(minutes=1))
            )
            case_failures = session.scalar(
                select(func.count()).where(A.case_number == case_number, A.at > since, A.succeeded.is_(False))
            )
            client_failures = session.scalar(
                select(func.count()).where(A.client == client, A.at > since, A.succeeded.is_(False))
            )
        minutes = int(LOCKOUT.total_seconds() // 60)
        if (case_failures or 0) >= MAX_FAILURES_PER_CASE:
            raise TooManyAttempts(f"查询码错误次数过多，该案件已锁定 {minutes} 分钟", int(LOCKOUT.total_seconds()))
        if (client_failures or 0) >= MAX_FAILURES_PER_CLIENT:
            raise TooManyAttempts(f"错误次数过多，请 {minutes} 分钟后再试", int(LOCKOUT.total_seconds()))
        if (recent or 0) >= MAX_ATTEMPTS_PER_MINUTE:
            raise TooManyAttempts("查询过于频繁，请一分钟后再试", 60)

    def log_view(self, case_id: int, client: str, what: str) -> None:
        with self.transaction() as session:
            session.execute(insert(tables.party_views).values(
                at=self.clock.now(), case_id=case_id, client=client[:64], what=what[:200]))  # fmt: skip

    def views(self, case_id: int) -> list[PartyView]:
        with self.transaction() as session:
            rows = session.execute(select(V.at, V.client, V.what).where(V.case_id == case_id).order_by(V.id)).all()
        return [PartyView(at, client, what) for at, client, what in rows]

    @staticmethod
    def party_actor(case: Case) -> Actor:
        if case.party_name is None:
            raise NotFound("the case has no confirmed party")
        return Actor(case.party_name, Role.PARTY)

    def file_statement(self, case_id: int, text: str, attachments_package_id: str | None) -> Case:
        """陈述、申辩 filed online by the party, before the statement deadline (the domain refuses a late one)."""
        case = self.cases.get(case_id)
        return self.cases.record_statement(
            case_id, self.party_actor(case), case.version, text, "online", None, attachments_package_id
        )

    def consent_to_e_delivery(self, case_id: int, client: str) -> Case:
        case = self.cases.get(case_id)
        reference = f"当事人页面确认 {self.clock.now().astimezone(self.clock.tz):%Y-%m-%d %H:%M} ({client[:40]})"
        return self.cases.consent_to_e_delivery(case_id, self.party_actor(case), case.version, reference)
