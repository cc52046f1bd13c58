"""The party's own access to their case (the public party page): opening it with the case number and the
verification code printed on the notices, the lock-out after wrong codes, the log of every view, and what the
party may do there — file a statement or defence, consent to electronic delivery.

The lock-out counts failed attempts in the database, so it holds across processes and restarts:
- ``MAX_FAILURES_PER_CASE`` wrong codes for one case number from one client within ``LOCKOUT`` lock that client
  out of that case (a stranger guessing does not lock the party out), and ``MAX_FAILURES_PER_CASE_ALL_CLIENTS``
  from everyone lock the case number (a guess spread over many addresses: 50 tries of 10^8 codes);
- ``MAX_FAILURES_PER_CLIENT`` wrong codes from one client (any case numbers) within ``LOCKOUT`` lock the client;
- more than ``MAX_ATTEMPTS_PER_MINUTE`` attempts of any kind from one client within a minute are refused.
An unknown case number and a wrong code get the same answer, so that guessing learns nothing about which exists.
The attempts live in the ledger staff sign-in shares (``cases/services/throttle.py``), at the door ``party``; here
an attempt refused by the lock-out still counts as a failure, so a guesser who keeps trying stays locked out.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import Clock
from cases.errors import AlreadyExists, Conflict, DeadlinePassed, InvalidInput, NotFound, OffsiteError, TooManyAttempts
from cases.law import Law
from cases.model.case import Case, CaseStatus
from cases.model.staff import Role
from cases.persistence import tables
from cases.persistence.database import take_turns
from cases.services.base import Actor, Service, get_or_404
from cases.services.cases import CaseService
from cases.services.throttle import AttemptLedger, Door, Outcome

log = logging.getLogger("offsite.party")
A = tables.access_attempts.c
V = tables.party_views.c
SF = tables.statement_filings.c
PS = tables.party_sign_outs.c
# A statement's filing claims its case this long at most: sealing five attachments of 5 MB takes seconds, even into
# a slow object store; a claim older than this is of a filing that died, and the next one takes it over.
STATEMENT_FILING_TIMEOUT = dt.timedelta(minutes=5)
LOCKOUT = dt.timedelta(minutes=15)
MAX_FAILURES_PER_CASE = 5  # from one client
MAX_FAILURES_PER_CASE_ALL_CLIENTS = 50  # from everyone: bounds a distributed guess without locking the party out
MAX_FAILURES_PER_CLIENT = 20
MAX_ATTEMPTS_PER_MINUTE = 10


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
        """The case, when the code is its verification code. The attempt is recorded (as a failure until the code
        is found right) before the counts are read, in one transaction serialised per case number, so that
        concurrent guesses cannot slip past the lock-out together."""
        case_number, code, client = case_number.strip(), code.strip(), client[:64]
        if not case_number or not code:
            raise InvalidInput(variant="party_lookup_empty")
        if len(case_number) > 64 or len(code) > 32:
            raise InvalidInput(variant="party_lookup_wrong")
        case = self.cases.find_by_number(case_number)
        now = self.clock.now()
        with self.transaction() as session:
            ledger = AttemptLedger(session, Door.PARTY)
            ledger.serialise_on(case_number)
            attempt = ledger.record(now, case_number, client, Outcome.FAILED)
            refusal = self._lockout(ledger, case_number, client, now, attempt)
            ok = (
                refusal is None
                and case is not None
                and case.party_name is not None
                and hmac.compare_digest(code.encode(), expected_code(case_number).encode())
            )
            if refusal is not None:
                ledger.settle(attempt, Outcome.REFUSED)
            elif ok:
                ledger.settle(attempt, Outcome.SUCCEEDED)
        if refusal is not None:
            raise refusal
        if not ok or case is None:
            raise InvalidInput(variant="party_lookup_wrong")
        return case

    @staticmethod
    def _lockout(
        ledger: AttemptLedger, case_number: str, client: str, now: dt.datetime, attempt: int
    ) -> TooManyAttempts | None:
        """Why this attempt is refused before its code is even compared, or None. Earlier failures count, and
        so do earlier attempts refused by the lock-out."""
        since = now - LOCKOUT
        earlier = A.id != attempt

        def count(*conditions: Any) -> int:
            return ledger.count(earlier, *conditions)

        failed = A.outcome != Outcome.SUCCEEDED.value
        wait_s = int(LOCKOUT.total_seconds())
        locked = TooManyAttempts(variant="party_code_locked", retry_after_s=wait_s, minutes=wait_s // 60)
        if count(A.subject == case_number, A.client == client, A.at > since, failed) >= MAX_FAILURES_PER_CASE:
            return locked
        if count(A.subject == case_number, A.at > since, failed) >= MAX_FAILURES_PER_CASE_ALL_CLIENTS:
            return locked
        if count(A.client == client, A.at > since, failed) >= MAX_FAILURES_PER_CLIENT:
            return locked
        if count(A.client == client, A.at > now - dt.timedelta(minutes=1)) >= MAX_ATTEMPTS_PER_MINUTE:
            return TooManyAttempts(variant="party_rate", retry_after_s=60)
        return None

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
        """The party as the record names it: ``party:<case id>`` (the party's name is the case's)."""
        if case.party_name is None or case.id is None:
            raise NotFound(variant="no_party")
        return Actor(f"party:{case.id}", Role.PARTY)

    def check_statement(self, case: Case, text: str) -> None:
        """What filing would refuse, said before anything (an attachment) is stored."""
        if case.status is not CaseStatus.PENALTY_NOTICE_ISSUED:
            raise InvalidInput(variant="statement_not_open")
        if not text.strip():
            raise InvalidInput(variant="statement_empty")
        if case.statement_deadline is not None and self.clock.today() > case.statement_deadline:
            raise DeadlinePassed(variant="statement", deadline=case.statement_deadline)

    def sign_out(self, session: str, until: dt.datetime) -> None:
        """A party-page session ended by its party: refused from now until it would have expired. Sessions past
        their time are dropped from the list meanwhile (an expired cookie is refused by its own time)."""
        try:
            with self.transaction() as db:
                db.execute(delete(tables.party_sign_outs).where(PS.until < self.clock.now()))
                db.execute(insert(tables.party_sign_outs).values(session=session, until=until))
        except AlreadyExists:
            pass  # signed out before (a second tab, a resent form): once is enough

    def signed_out(self, session: str) -> bool:
        with self.transaction() as db:
            return db.scalars(select(PS.session).where(PS.session == session)).first() is not None

    @staticmethod
    def already_filed(case: Case, text: str) -> bool:
        """Whether this text is the statement the case holds, filed online: a second send of the same form (a double
        click, a reload) is answered as filed, and nothing is sealed or recorded again."""
        online = (e.payload.get("channel") == "online" for e in case.events if e.action == "record_statement")
        return case.statement_text == text and any(online)

    @contextmanager
    def filing_statement(self, case_id: int, text: str) -> Iterator[None]:
        """Holds the case's statement for one filing while its attachments are sealed and it is recorded. A second
        filing at once (a double click, a second tab) is refused before it seals anything, so that no refused
        filing leaves sealed attachments behind; the case is read afresh under the claim, so one filed meanwhile
        is seen. A claim older than ``STATEMENT_FILING_TIMEOUT`` is of a filing that died, and is taken over."""
        with self.transaction() as session:
            take_turns(session, f"statement_filing:{case_id}")
            self.check_statement(get_or_404(session, Case, case_id, "case"), text)
            now = self.clock.now()
            started = session.scalars(select(SF.started_at).where(SF.case_id == case_id)).one_or_none()
            if started is not None and now - started < STATEMENT_FILING_TIMEOUT:
                raise Conflict(variant="statement_in_progress")
            session.execute(delete(tables.statement_filings).where(SF.case_id == case_id))
            session.execute(insert(tables.statement_filings).values(case_id=case_id, started_at=now))
        try:
            yield
        finally:
            self._release_statement(case_id, now)

    def _release_statement(self, case_id: int, started: dt.datetime) -> None:
        """The claim given back, filed or refused. A database that cannot answer now does not turn a filing into a
        failure: the claim lapses after ``STATEMENT_FILING_TIMEOUT``, and once filed the case takes no other."""
        try:
            with self.transaction() as session:
                session.execute(delete(tables.statement_filings).where(SF.case_id == case_id, SF.started_at == started))
        except (OffsiteError, SQLAlchemyError) as exc:
            log.warning("case %s: the claim of its statement's filing was not given back (it lapses): %s", case_id, exc)

    def file_statement(self, case_id: int, text: str, attachments_package_id: str | None) -> Case:
        """陈述、申辩 filed online by the party, before the statement deadline (the domain refuses a late one)."""
        case = self.cases.get(case_id)
        return self.cases.record_statement(
            case_id, self.party_actor(case), case.version, text, "online", None, attachments_package_id
        )

    def consent_to_e_delivery(self, case_id: int, client: str) -> Case:
        """The party's confirmation, on the party page, of electronic delivery to the mobile number on the case."""
        case = self.cases.get(case_id)
        if not case.party_contact:
            raise InvalidInput(variant="party_no_mobile")
        masked = f"{case.party_contact[:3]}****{case.party_contact[-4:]}"
        moment = self.clock.now().astimezone(self.clock.tz)
        reference = f"当事人页面确认 {moment:%Y-%m-%d %H:%M}，送达手机 {masked}（{client[:40]}）"
        return self.cases.consent_to_e_delivery(case_id, self.party_actor(case), case.version, reference)
