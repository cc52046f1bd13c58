"""What each application module reads from the parts the composition root built, said as narrow protocols.

The application modules (camera configurations, the camera wall, missed violations, the model registry, training
jobs, issued documents) are called by the console, the JSON API and the CLI. None of them takes the whole bag of
parts: each function names the protocol below that lists what it reads, and mypy holds it to that. The composition
root's ``Components`` satisfies them all; so does the API's own ``ApiServices`` (api/services.py), which is all the
API is given. So no application module imports the composition root, and the API needs nothing from it.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from cases.clock import Clock
    from cases.law import Law
    from cases.services.camera_configs import CameraConfigService
    from cases.services.cases import CaseService
    from cases.services.command_centre import CommandCentreService
    from cases.services.detections import DetectionService
    from cases.services.detector_releases import DetectorReleaseService
    from cases.services.documents import DocumentRegister
    from cases.services.missed_frames import MissedFrameService
    from cases.services.registry import RegistryService
    from cases.services.statistics import StatisticsService
    from cases.services.training_jobs import TrainingJobService
    from evidence_store.store import EvidenceStore, ItemIn
    from offsite.camera_states import CameraStates
    from offsite.settings import Settings
    from vision.config import CameraSpec
    from vision.detector import OnnxDetector
    from vision.pipeline import CameraMetrics


class Seal(Protocol):
    """Seals items with their context (and links to earlier packages) as one package; its package id."""

    def __call__(self, items: list[ItemIn], context: dict[str, Any], links: dict[str, str] | None = None) -> str: ...


class RunningCameras(Protocol):
    """The camera pipelines this process runs, as the pages read them (``offsite.cameras.CameraSupervisor``)."""

    @property
    def detector(self) -> OnnxDetector: ...
    @property
    def specs(self) -> Mapping[str, CameraSpec]: ...
    @property
    def waiting(self) -> Container[str]: ...
    def metrics(self) -> Mapping[str, CameraMetrics]: ...
    def stream_changed(self, camera_id: str, wait: bool = False) -> bool: ...


class Configured(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def clock(self) -> Clock: ...


class CameraConfigParts(Configured, Protocol):
    @property
    def registry(self) -> RegistryService: ...
    @property
    def camera_configs(self) -> CameraConfigService: ...


class WallParts(Configured, Protocol):
    @property
    def command_centre(self) -> CommandCentreService: ...
    @property
    def statistics(self) -> StatisticsService: ...
    @property
    def states(self) -> CameraStates: ...


class MissedParts(Configured, Protocol):
    @property
    def missed(self) -> MissedFrameService: ...


class ReleaseParts(Configured, Protocol):
    @property
    def releases(self) -> DetectorReleaseService: ...
    @property
    def detections(self) -> DetectionService: ...


class LearningParts(MissedParts, Protocol):
    @property
    def detections(self) -> DetectionService: ...
    def evidence_reader(self) -> EvidenceStore: ...


class TrainingParts(ReleaseParts, LearningParts, Protocol):
    @property
    def training_jobs(self) -> TrainingJobService: ...


class DocumentParts(Configured, Protocol):
    @property
    def law(self) -> Law: ...
    @property
    def cases(self) -> CaseService: ...
    @property
    def registry(self) -> RegistryService: ...
    @property
    def documents(self) -> DocumentRegister: ...
    def seal(self, items: list[ItemIn], context: dict[str, Any], links: dict[str, str] | None = None) -> str: ...
    def evidence_reader(self) -> EvidenceStore: ...
