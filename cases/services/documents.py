"""The register of issued documents: which sealed package holds the document a case's step issued."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from cases.persistence import tables
from cases.services.base import Service

D = tables.case_documents.c


@dataclass(frozen=True)
class IssuedRecord:
    case_id: int
    kind: str
    event_seq: int
    package_id: str


class DocumentRegister(Service):
    def find(self, case_id: int, kind: str, event_seq: int) -> IssuedRecord | None:
        with self.transaction() as session:
            row = session.execute(
                select(D.package_id).where(D.case_id == case_id, D.kind == kind, D.event_seq == event_seq)
            ).first()
        return None if row is None else IssuedRecord(case_id, kind, event_seq, row[0])

    def record(self, case_id: int, kind: str, event_seq: int, package_id: str) -> IssuedRecord:
        """Record a sealed document; one issued concurrently for the same step keeps the first record."""
        existing = self.find(case_id, kind, event_seq)
        if existing is not None:
            return existing
        with self.transaction() as session:
            return self.record_in(session, case_id, kind, event_seq, package_id)

    def record_in(self, session: Session, case_id: int, kind: str, event_seq: int, package_id: str) -> IssuedRecord:
        """Record a sealed document in the transaction of the step that issued it: both stand, or neither."""
        session.execute(insert(tables.case_documents).values(
            case_id=case_id, kind=kind, event_seq=event_seq, package_id=package_id,
            issued_at=self.clock.now()))  # fmt: skip
        return IssuedRecord(case_id, kind, event_seq, package_id)

    def of_case(self, case_id: int) -> list[IssuedRecord]:
        with self.transaction() as session:
            rows = session.execute(
                select(D.kind, D.event_seq, D.package_id).where(D.case_id == case_id).order_by(D.id)
            ).all()
        return [IssuedRecord(case_id, kind, seq, package) for kind, seq, package in rows]
