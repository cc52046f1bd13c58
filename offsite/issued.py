"""Issuing a case's documents: rendered from the case and its evidence, and sealed as evidence themselves.

A document's PDF is a function of the case as recorded (reportlab's invariant mode keeps dates and ids out of the
file), so issuing it again seals the same bytes and the store answers with the same package: one package per
document as issued, however often it is opened.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import tempfile
from dataclasses import dataclass
from pathlib import Path

from reportlab import rl_config

from cases.documents import DocumentFacts, DocumentKind, available, render
from cases.errors import InvalidInput
from cases.model.case import Case
from evidence_store.store import ItemIn
from offsite.bootstrap import Components

rl_config.invariant = 1


@dataclass(frozen=True)
class IssuedDocument:
    kind: DocumentKind
    pdf: bytes
    package_id: str


def party_access_code(components: Components, case_number: str) -> str:
    """The verification code printed on the notices: eight digits only this service can derive from the number."""
    secret = components.settings.gateway_master_key.get_secret_value().encode()
    digest = hmac.new(secret, b"party-access:" + case_number.encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**8:08d}"


def document_facts(components: Components, case: Case) -> DocumentFacts:
    assert case.id is not None
    detections = components.cases.detections_of(case.id)
    if not detections:
        raise InvalidInput(f"case {case.id} has no evidence to cite")
    first = min(detections, key=lambda d: d.first_seen)
    camera = components.registry.get_camera(case.camera_id)
    zone = next((z for z in components.registry.list_zones(case.camera_id) if z.id == case.zone_id), None)
    manifest = components.evidence_reader().manifest_bytes(first.evidence_package_id)
    base = components.settings.public_base_url
    return DocumentFacts(
        agency=components.settings.agency_name,
        place=f"{camera.address}（{zone.name}）" if zone else camera.address,
        first_seen=first.first_seen,
        last_seen=max(d.last_seen for d in detections),
        camera=f"{camera.name}（{camera.gbt28181_id or camera.device_id}）",
        evidence_package_id=first.evidence_package_id,
        evidence_sha256=hashlib.sha256(manifest).hexdigest(),
        verify_url=f"{base}/verify/{first.evidence_package_id}",
        party_code=party_access_code(components, case.number) if case.number else None,
        party_url=f"{base}/party",
    )


def issue(components: Components, case_id: int, kind: DocumentKind) -> IssuedDocument:
    """Render one document of the case and seal it, linked to the evidence it cites."""
    case = components.cases.get(case_id)
    if kind not in available(case):
        raise InvalidInput(f"case {case_id} has no {kind.title} at its stage {case.status.value}")
    facts = document_facts(components, case)
    pdf = render(kind, case, components.law, facts, _local_day(components, case, kind))
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / f"{kind.value}.pdf"
        path.write_bytes(pdf)
        sealed = components.evidence().seal(
            [ItemIn(path.name, "application/pdf", path)],
            {
                "document": kind.value,
                "title": kind.title,
                "case_id": case_id,
                "case_number": case.number,
                "issued_on": _local_day(components, case, kind).isoformat(),
                "evidence_package_id": facts.evidence_package_id,
            },
            links={"evidence": facts.evidence_package_id},
        )
    return IssuedDocument(kind, pdf, sealed.package_id)


def issue_all(components: Components, case_id: int) -> list[IssuedDocument]:
    return [issue(components, case_id, kind) for kind in available(components.cases.get(case_id))]


def _local_day(components: Components, case: Case, kind: DocumentKind) -> dt.date:
    decision = kind in (DocumentKind.PENALTY_DECISION, DocumentKind.NO_PENALTY_DECISION)
    if decision and case.decided_on is not None:
        return case.decided_on
    action = "issue_rectification_notice" if kind is DocumentKind.RECTIFICATION_NOTICE else "issue_penalty_notice"
    event = next((e for e in reversed(case.events) if e.action == action), None)
    if event is None:
        raise InvalidInput(f"case {case.id} has no {kind.title}")
    return components.clock.local_date(event.at)
