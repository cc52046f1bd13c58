"""The composition root: settings in, wired components out. Nothing else builds an engine or a session."""

from __future__ import annotations

import datetime as dt
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
from cases.persistence.database import DatabaseTimeouts, create_database_engine, create_session_factory
from cases.services.accounts import AccountService, SignInLimits
from cases.services.camera_configs import CameraConfigService
from cases.services.cases import CaseService
from cases.services.command_centre import CommandCentreService
from cases.services.csv_import import CsvImportService
from cases.services.detections import DetectionService
from cases.services.detector_releases import DetectorReleaseService
from cases.services.documents import DocumentRegister
from cases.services.missed_frames import MissedFrameService
from cases.services.notifications import NotificationChannel, default_channels
from cases.services.party import PartyAccessService
from cases.services.registry import RegistryService
from cases.services.statistics import StatisticsService
from cases.services.throttle import Limit
from cases.services.training_jobs import TrainingJobService
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
    releases: DetectorReleaseService
    training_jobs: TrainingJobService
    missed: MissedFrameService
    camera_configs: CameraConfigService
    cases: CaseService
    accounts: AccountService
    imports: CsvImportService
    party: PartyAccessService
    documents: DocumentRegister
    statistics: StatisticsService
    command_centre: CommandCentreService
    channels: dict[str, NotificationChannel]
    frames: FrameIntake  # frames pushed by gateways, one queue per camera whose pipeline takes them
    cameras: CameraSupervisor | None = None  # the camera pipelines, when this process runs them (serve --cameras)
    _evidence: EvidenceStore | None = None
    _reader: EvidenceStore | None = None  # read-only, for a process that does not seal: opened once, kept
    _evidence_lock: threading.Lock = field(default_factory=threading.Lock)

    def evidence(self) -> EvidenceStore:
        """The evidence store, opened on first use (it holds the Merkle log: only processes that seal or verify)."""
        with self._evidence_lock:
            if self._evidence is None:
                from offsite.evidence import open_evidence

                self._evidence = open_evidence(self.settings)
            return self._evidence

    def evidence_reader(self) -> EvidenceStore:
        """This process's sealing store when it has one, else one read-only view for the whole process (another
        process seals; the view reads what it adds as it goes). Thread-safe; opened once, so reads hold no more
        files open than the first did."""
        with self._evidence_lock:
            if self._evidence is not None:
                return self._evidence
            if self._reader is None:
                from offsite.evidence import open_evidence

                self._reader = open_evidence(self.settings, read_only=True)
            return self._reader

    def close(self) -> None:
        if self.cameras is not None:
            self.cameras.stop()
        self.frames.close()
        for store in (self._evidence, self._reader):
            if store is not None:
                store.close()
        self.engine.dispose()


def build(settings: Settings, clock: Clock | None = None, issue_documents: bool = True) -> Components:
    """Validate settings and the law's configs, connect the database, and wire the services.

    ``issue_documents``: each step that issues a notice or decision renders and seals it in the step's own
    transaction (and fails without it). Only a benchmark of the bare state machine turns it off."""
    settings.refuse_default_secrets()
    law = Law(load_law(settings.config_dir))
    clock = clock or Clock(settings.tz)
    timeouts = DatabaseTimeouts(
        connect_s=settings.database_connect_timeout_s,
        statement_s=settings.database_statement_timeout_s,
        pool_s=settings.database_pool_timeout_s,
    )
    engine = create_database_engine(settings.database_url, timeouts)
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
        releases=DetectorReleaseService(sessions, law, clock),
        training_jobs=TrainingJobService(sessions, law, clock),
        missed=MissedFrameService(sessions, law, clock),
        camera_configs=CameraConfigService(sessions, law, clock),
        cases=cases,
        accounts=AccountService(sessions, law, clock, sign_in_limits(settings)),
        imports=CsvImportService(sessions, law, clock),
        party=PartyAccessService(sessions, law, clock, cases),
        documents=DocumentRegister(sessions, law, clock),
        statistics=StatisticsService(sessions, law, clock),
        command_centre=CommandCentreService(sessions, law, clock),
        channels=default_channels(),
        # a pushed frame may be stamped as far ahead of this clock as a gateway request may be
        frames=FrameIntake(limits=FrameLimits(ahead_tolerance_s=settings.gateway_replay_window_s), now=clock.now),
    )
    if issue_documents:
        from offsite.issued import SealedDocumentIssuer  # it needs the components it is wired into

        cases.issuer = SealedDocumentIssuer(components)
    return components


def sign_in_limits(settings: Settings) -> SignInLimits:
    """Staff sign-in's lock-outs, from the settings: one window and one lock-out length, two counts."""
    window = dt.timedelta(minutes=settings.sign_in_window_minutes)
    lockout = dt.timedelta(minutes=settings.sign_in_lockout_minutes)
    return SignInLimits(
        per_account=Limit(settings.sign_in_max_failures, window, lockout),
        per_client=Limit(settings.sign_in_max_failures_per_client, window, lockout),
    )


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
