"""The composition root: settings in, wired parts out, for every role. Nothing else builds an engine or a session.

``build`` makes the parts every role shares (the law, the clock, the database and its services, the pushed-frame
queues). Each role is assembled from them here: ``web_app`` gives the API and the console the narrow services they
are allowed (``api.services.ApiServices``); ``camera_supervisor`` the camera pipelines of ``serve --cameras``; the
worker, sealer and scheduler of a cluster take the same ``Components`` (``offsite.cluster``). The CLI only parses
its options and calls these.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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
from offsite.settings import SHIPPED_MODEL, Settings
from vision.pushed import FrameIntake, FrameLimits

if TYPE_CHECKING:
    from fastapi import FastAPI

    from api.services import ApiServices
    from evidence_store.store import EvidenceStore, ItemIn
    from offsite.camera_states import CameraStates
    from offsite.cameras import CameraSupervisor
    from offsite.cluster.frames import RelayedFrames
    from offsite.parts import Seal
    from vision.detector import OnnxDetector

log = logging.getLogger("offsite")
REDACTION_CONFIDENCE = 0.1  # the party's pictures: hide more than the detector would report


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
    _redaction: OnnxDetector | None = None
    sealing: Seal | None = None  # set where another process writes the log (a cluster's API node: the sealer)

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

    @property
    def states(self) -> CameraStates:
        """What the cameras this process runs are doing (none when it runs none)."""
        from offsite.camera_states import LocalCameraStates

        return LocalCameraStates(lambda: self.cameras)

    def seal(self, items: list[ItemIn], context: dict[str, Any], links: dict[str, str] | None = None) -> str:
        """Seal items as one package (a document, a party's attachments); its id. Sealed into this process's log,
        or by the log's writer when another process writes it (``sealing``)."""
        if self.sealing is not None:
            return self.sealing(items, context, links)
        return self.evidence().seal(items, context, links).package_id

    def redaction_detector(self) -> OnnxDetector:
        """The shipped model at a low threshold, loaded on first use: it masks faces and people on the pictures a
        party is shown (a missed face is worse than a spare mosaic)."""
        with self._evidence_lock:
            if self._redaction is None:
                from vision.detector import DetectorConfig, OnnxDetector

                self._redaction = OnnxDetector(
                    DetectorConfig(SHIPPED_MODEL, confidence=REDACTION_CONFIDENCE, threads=1)
                )
            return self._redaction

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
        found = "holds no schema" if current is None else f"schema at {current}"
        return f"database {found}, code expects {head}: run `offsite db upgrade`"
    return None


def api_services(
    components: Components, relay: RelayedFrames | None = None, states: CameraStates | None = None
) -> ApiServices:
    """What the API and the console are given: the services they call, not the engine, sessions or pipelines.

    An API node of a cluster hands gateways' frames and stream addresses to the workers holding the cameras
    (``relay``, ``offsite.cluster.frames``) and reads the cameras' states as the workers tell them (``states``);
    otherwise both are this process's own pipelines'."""
    from api.services import ApiServices

    c = components

    def stream_changed(camera_id: str) -> None:
        if relay is not None:
            relay.stream_changed(camera_id)
        elif c.cameras is not None:  # a server running the camera's pipeline pulls the new address now
            c.cameras.stream_changed(camera_id)

    return ApiServices(
        settings=c.settings, law=c.law, clock=c.clock, accounts=c.accounts, registry=c.registry,
        detections=c.detections, releases=c.releases, training_jobs=c.training_jobs, missed=c.missed,
        camera_configs=c.camera_configs, cases=c.cases, imports=c.imports, party=c.party, documents=c.documents,
        statistics=c.statistics, command_centre=c.command_centre, frames=relay or c.frames,
        stream_changed=stream_changed, seal=c.seal,
        evidence_reader=c.evidence_reader, running=lambda: c.cameras, readiness=lambda: database_problem(c),
        redaction_detector=c.redaction_detector, shipped_model=SHIPPED_MODEL, states=states or c.states,
    )  # fmt: skip


def web_app(components: Components, relay: RelayedFrames | None = None, states: CameraStates | None = None) -> FastAPI:
    """The API and console of ``offsite serve``, on these parts (``relay``, ``states``: see ``api_services``)."""
    from api.app import create_app

    return create_app(api_services(components, relay, states))
