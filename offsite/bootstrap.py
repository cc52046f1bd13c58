"""The composition root: settings in, wired components out. Nothing else builds an engine or a session."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from cases.clock import Clock
from cases.law import Law
from cases.model.staff import Role
from cases.persistence import migrate
from cases.persistence.database import create_database_engine, create_session_factory
from cases.services.accounts import AccountService
from cases.services.cases import CaseService
from cases.services.csv_import import CsvImportService
from cases.services.detections import DetectionService
from cases.services.documents import DocumentRegister
from cases.services.notifications import NotificationChannel, default_channels
from cases.services.party import PartyAccessService
from cases.services.registry import RegistryService
from cases.services.statistics import StatisticsService
from offsite.config_files import load_law
from offsite.settings import Settings
from vision.pushed import FrameIntake, FrameLimits

if TYPE_CHECKING:
    from evidence_store.store import EvidenceStore
    from offsite.cameras import CameraSupervisor

log = logging.getLogger("offsite")


@dataclass
class Components:
    settings: Settings
    law: Law
    clock: Clock
    engine: Engine
    session_factory: sessionmaker[Session]
    registry: RegistryService
    detections: DetectionService
    cases: CaseService
    accounts: AccountService
    imports: CsvImportService
    party: PartyAccessService
    documents: DocumentRegister
    statistics: StatisticsService
    channels: dict[str, NotificationChannel]
    frames: FrameIntake  # frames pushed by gateways, one queue per camera whose pipeline takes them
    cameras: CameraSupervisor | None = None  # the camera pipelines, when this process runs them (serve --cameras)
    _evidence: EvidenceStore | None = None
    _evidence_lock: threading.Lock = field(default_factory=threading.Lock)

    def evidence(self) -> EvidenceStore:
        """The evidence store, opened on first use (it holds the Merkle log: only processes that seal or verify)."""
        with self._evidence_lock:
            if self._evidence is None:
                from offsite.evidence import open_evidence

                self._evidence = open_evidence(self.settings)
            return self._evidence

    def evidence_reader(self) -> EvidenceStore:
        """This process's sealing store when it has one, else a fresh read-only view (another process seals)."""
        with self._evidence_lock:
            if self._evidence is not None:
                return self._evidence
        from offsite.evidence import open_evidence

        return open_evidence(self.settings, read_only=True)

    def close(self) -> None:
        if self.cameras is not None:
            self.cameras.stop()
        self.frames.close()
        if self._evidence is not None:
            self._evidence.close()
        self.engine.dispose()


def build(settings: Settings, clock: Clock | None = None, issue_documents: bool = True) -> Components:
    """Validate settings and the law's configs, connect the database, and wire the services.

    ``issue_documents``: each step that issues a notice or decision renders and seals it in the step's own
    transaction (and fails without it). Only a benchmark of the bare state machine turns it off."""
    settings.refuse_default_secrets()
    law = Law(load_law(settings.config_dir))
    clock = clock or Clock(settings.tz)
    engine = create_database_engine(settings.database_url)
    sessions = create_session_factory(engine)
    cases = CaseService(sessions, law, clock, number_prefix=settings.case_number_prefix)
    components = Components(
        settings=settings,
        law=law,
        clock=clock,
        engine=engine,
        session_factory=sessions,
        registry=RegistryService(sessions, law, clock),
        detections=DetectionService(sessions, law, clock),
        cases=cases,
        accounts=AccountService(sessions, law, clock),
        imports=CsvImportService(sessions, law, clock),
        party=PartyAccessService(sessions, law, clock, cases),
        documents=DocumentRegister(sessions, law, clock),
        statistics=StatisticsService(sessions, law, clock),
        channels=default_channels(),
        # a pushed frame may be stamped as far ahead of this clock as a gateway request may be
        frames=FrameIntake(limits=FrameLimits(ahead_tolerance_s=settings.gateway_replay_window_s), now=clock.now),
    )
    if issue_documents:
        from offsite.issued import SealedDocumentIssuer  # it needs the components it is wired into

        cases.issuer = SealedDocumentIssuer(components)
    return components


def prepare_database(components: Components) -> None:
    """Bring the schema to the newest migration and make sure the first admin account exists."""
    migrate.upgrade(components.engine)
    if not components.accounts.list_users():
        components.accounts.create_user(
            "admin", "系统管理员", Role.ADMIN, components.settings.admin_password.get_secret_value()
        )
        log.info("created the first admin account 'admin'")


def database_problem(components: Components) -> str | None:
    """Why the service is not ready to serve requests, or None when it is."""
    try:
        with components.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current = migrate.current_revision(components.engine)
    except Exception as exc:  # readiness reports any failure to reach the database
        return f"database unreachable: {exc.__class__.__name__}"
    head = migrate.head_revision(components.engine)
    if current != head:
        return f"database schema at {current}, code expects {head}: run `offsite db upgrade`"
    return None
