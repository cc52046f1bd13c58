"""Issuing a case's documents: rendered from the case as its step left it, sealed as evidence once, and served
from the sealed package ever after.

Each document belongs to the step that issued it (the case event of 责令改正, 事先告知 or the decision). It is
rendered, sealed and recorded in the register inside the step's own transaction (``SealedDocumentIssuer``, wired
into ``CaseService`` by the composition root): the step stands only with its document sealed, whether taken
through the API, the console or the demo. Every later opening serves the sealed bytes, so a document never
changes once issued (a document of a step recorded before this rule is issued on first opening). A notice issued again (a new pre-penalty notice after the legal review
returned the case) is a new step and a new document.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from reportlab import rl_config
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.documents import DocumentFacts, DocumentKind, available, render
from cases.errors import DocumentNotIssued, InvalidInput, OffsiteError
from cases.messages import Term
from cases.model.case import Case, CaseEvent
from cases.model.detection import Detection
from cases.model.registry import Camera, Zone
from cases.persistence import tables
from evidence_store.store import EvidenceError, ItemIn
from offsite.parts import DocumentParts

rl_config.invariant = 1  # no creation time or random id in the PDF: the same case gives the same bytes
log = logging.getLogger("offsite.documents")

ISSUED_BY = {
    DocumentKind.RECTIFICATION_NOTICE: "issue_rectification_notice",
    DocumentKind.PENALTY_NOTICE: "issue_penalty_notice",
    DocumentKind.PENALTY_DECISION: "decide_penalty",
    DocumentKind.NO_PENALTY_DECISION: "decide_no_penalty",
}
KIND_OF_STEP = {action: kind for kind, action in ISSUED_BY.items()}


@dataclass(frozen=True)
class IssuedDocument:
    kind: DocumentKind
    pdf: bytes
    package_id: str


def party_access_code(components: DocumentParts, case_number: str) -> str:
    """The verification code printed on the notices: eight digits only this service can derive from the number."""
    secret = components.settings.session_secret.get_secret_value().encode()
    digest = hmac.new(secret, b"party-access:" + case_number.encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**8:08d}"


def document_facts(components: DocumentParts, case: Case) -> DocumentFacts:
    assert case.id is not None
    detections = components.cases.detections_of(case.id)
    camera = components.registry.get_camera(case.camera_id)
    zone = components.registry.get_zone(case.zone_id)
    return _facts(components, case, detections, camera, zone)


def _facts_in(session: Session, components: DocumentParts, case: Case) -> DocumentFacts:
    """The facts read in the step's own transaction (another connection would wait on its write lock)."""
    detections = list(session.scalars(select(Detection).where(tables.detections.c.case_id == case.id)))
    camera, zone = session.get(Camera, case.camera_id), session.get(Zone, case.zone_id)
    if camera is None or zone is None:
        raise InvalidInput(variant="document_place", case_id=case.id)
    return _facts(components, case, detections, camera, zone)


def _facts(
    components: DocumentParts, case: Case, detections: list[Detection], camera: Camera, zone: Zone
) -> DocumentFacts:
    if not detections:
        raise InvalidInput(variant="document_no_evidence", case_id=case.id)
    first = min(detections, key=lambda d: d.first_seen)
    try:
        manifest = components.evidence_reader().manifest_bytes(first.evidence_package_id)
    except EvidenceError as exc:
        raise InvalidInput(variant="document_evidence_unreadable", case_id=case.id, detail=str(exc)) from exc
    base = components.settings.public_base_url
    return DocumentFacts(
        agency=components.settings.agency_name,
        place=f"{camera.address}（{zone.name}）",
        first_seen=first.first_seen,
        last_seen=max(d.last_seen for d in detections),
        camera=f"{camera.name}（{camera.gbt28181_id or camera.device_id}）",
        evidence_package_id=first.evidence_package_id,
        evidence_sha256=hashlib.sha256(manifest).hexdigest(),
        verify_url=f"{base}/verify/{first.evidence_package_id}",
        party_code=party_access_code(components, case.number) if case.number else None,
        party_url=f"{base}/party",
        payment_channel=components.settings.payment_channel,
        review_body=components.settings.review_body,
        court=components.settings.court,
    )


def _issuing_event(case: Case, kind: DocumentKind) -> CaseEvent:
    event = next((e for e in reversed(case.events) if e.action == ISSUED_BY[kind]), None)
    if event is None or kind not in available(case):
        raise InvalidInput(
            variant="document_not_at_stage",
            case_id=case.id,
            title=Term(f"term.document.{kind.value}"),
            stage=Term(f"term.stage.{case.status.value}"),
        )
    return event


def document(components: DocumentParts, case_id: int, kind: DocumentKind) -> IssuedDocument:
    """The document as issued: the sealed bytes when it was issued before, else issued (and sealed) now."""
    case = components.cases.get(case_id)
    event = _issuing_event(case, kind)
    record = components.documents.find(case_id, kind.value, event.seq)
    if record is not None:
        try:
            _type, pdf = components.evidence_reader().item(record.package_id, f"{kind.value}.pdf")
        except EvidenceError as exc:
            raise InvalidInput(
                variant="document_sealed_unreadable",
                title=Term(f"term.document.{kind.value}"),
                case_id=case_id,
                detail=str(exc),
            ) from exc
        return IssuedDocument(kind, pdf, record.package_id)
    return _issue(components, case, kind, event)


def _issue(components: DocumentParts, case: Case, kind: DocumentKind, event: CaseEvent) -> IssuedDocument:
    assert case.id is not None
    pdf, package_id = _render_and_seal(components, case, kind, event, document_facts(components, case))
    record = components.documents.record(case.id, kind.value, event.seq, package_id)
    log.info("case %s: %s issued and sealed as %s", case.id, kind.value, record.package_id)
    return IssuedDocument(kind, pdf, record.package_id)


def _render_and_seal(
    components: DocumentParts, case: Case, kind: DocumentKind, event: CaseEvent, facts: DocumentFacts
) -> tuple[bytes, str]:
    issued_on = components.clock.local_date(event.at)
    pdf = render(kind, case, components.law, facts, issued_on)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / f"{kind.value}.pdf"
        path.write_bytes(pdf)
        context = {"document": kind.value, "title": kind.title, "case_id": case.id, "case_number": case.number,
                   "issued_on": issued_on.isoformat(), "step": event.seq,
                   "evidence_package_id": facts.evidence_package_id}  # fmt: skip
        try:
            package_id = components.seal(
                [ItemIn(path.name, "application/pdf", path)], context, links={"evidence": facts.evidence_package_id}
            )
        except EvidenceError as exc:
            raise InvalidInput(
                variant="document_not_sealed", title=Term(f"term.document.{kind.value}"), detail=str(exc)
            ) from exc
    return pdf, package_id


def _reason(exc: Exception) -> str:
    """Why a document was not issued, in a line for the officer (paths and details go to the log)."""
    if isinstance(exc, OffsiteError):
        return exc.message
    if isinstance(exc, OSError):
        return f"the evidence store or a file could not be written or read ({exc.__class__.__name__}: {exc.strerror})"
    return f"{exc.__class__.__name__}: {exc}"


class SealedDocumentIssuer:
    """Issues a step's document inside the step's transaction (``CaseService.issuer``): rendered from the case as
    the step leaves it, sealed, and recorded in the register in the same transaction. Whatever fails — the
    evidence cannot be read or written, the font is missing, the renderer raises — the step is rolled back and
    ``DocumentNotIssued`` names why: a notice is never recorded as served without the notice.

    A document sealed before a commit that then fails (a concurrent step) stays in the store unreferenced:
    evidence is only ever added to, and the step taken again issues its own."""

    def __init__(self, components: DocumentParts) -> None:
        self.components = components

    def __call__(self, session: Session, case: Case) -> None:
        event = case.events[-1]
        kind = KIND_OF_STEP.get(event.action)
        if kind is None:
            return
        assert case.id is not None
        try:
            facts = _facts_in(session, self.components, case)
            _pdf, package_id = _render_and_seal(self.components, case, kind, event, facts)
        except Exception as exc:  # any failure to issue the document undoes the step; the cause is named
            reason = _reason(exc)
            log.error("case %s: %s not issued, %s refused: %s", case.id, kind.value, event.action, exc)
            raise DocumentNotIssued(
                variant="step",
                title=Term(f"term.document.{kind.value}"),
                action=Term(f"term.action.{event.action}"),
                reason=reason,
            ) from exc
        self.components.documents.record_in(session, case.id, kind.value, event.seq, package_id)
        log.info("case %s: %s issued and sealed as %s", case.id, kind.value, package_id)


def issue_all(components: DocumentParts, case_id: int) -> list[IssuedDocument]:
    return [document(components, case_id, kind) for kind in available(components.cases.get(case_id))]


def served_to_party(case: Case, kind: DocumentKind) -> bool:
    """The party sees a notice once issued (it is served with it), a decision once it has been delivered."""
    if kind in (DocumentKind.PENALTY_DECISION, DocumentKind.NO_PENALTY_DECISION):
        return case.delivered_on is not None
    return True
