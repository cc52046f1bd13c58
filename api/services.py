"""What the API and the console are given: the services they call, and nothing they would build themselves.

The composition root (``offsite.bootstrap``) builds one ``ApiServices`` for each app and hands it to
``create_app``; the API never imports the root (an import contract in pyproject.toml says so) and never sees the
database engine, the session factory, the notification channels or the camera pipelines themselves. A JSON route
names the services it calls as dependencies (``api.deps``: ``Cases``, ``Registry``…); a console page asks for one
with ``services_of(request)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request

from cases.clock import Clock
from cases.law import Law
from cases.services.accounts import AccountService
from cases.services.camera_configs import CameraConfigService
from cases.services.cases import CaseService
from cases.services.command_centre import CommandCentreService
from cases.services.csv_import import CsvImportService
from cases.services.detections import DetectionService
from cases.services.detector_releases import DetectorReleaseService
from cases.services.documents import DocumentRegister
from cases.services.missed_frames import MissedFrameService
from cases.services.party import PartyAccessService
from cases.services.registry import RegistryService
from cases.services.statistics import StatisticsService
from cases.services.training_jobs import TrainingJobService
from evidence_store.store import EvidenceStore
from offsite.camera_states import CameraStates
from offsite.parts import RunningCameras, Seal
from offsite.settings import Settings
from vision.detector import OnnxDetector
from vision.pushed import FramePush


@dataclass
class ApiServices:
    settings: Settings
    law: Law
    clock: Clock
    accounts: AccountService
    registry: RegistryService
    detections: DetectionService
    releases: DetectorReleaseService
    training_jobs: TrainingJobService
    missed: MissedFrameService
    camera_configs: CameraConfigService
    cases: CaseService
    imports: CsvImportService
    party: PartyAccessService
    documents: DocumentRegister
    statistics: StatisticsService
    command_centre: CommandCentreService
    frames: FramePush  # frames pushed by gateways: this process's pipelines, or the workers holding the cameras
    stream_changed: Callable[[str], None]  # a gateway registered a new stream address: tell whoever pulls it
    seal: Seal  # seals a package (a party's statement attachments): here, or by a cluster's sealer
    evidence_reader: Callable[[], EvidenceStore]  # read-only unless this process seals
    running: Callable[[], RunningCameras | None]  # this process's camera pipelines, if it runs any
    readiness: Callable[[], str | None]  # why the database is not ready to serve, or None
    redaction_detector: Callable[[], OnnxDetector]  # the detector that masks faces on the party's pictures
    shipped_model: Path  # the model shipped with the product: its classes are the box editors' choices
    states: CameraStates  # what each camera's pipeline is doing, wherever it runs

    @property
    def cameras(self) -> RunningCameras | None:
        return self.running()


def services_of(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services
