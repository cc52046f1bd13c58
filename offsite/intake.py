"""Gateway events into the case system, where the evidence store and the cases meet (the composition's side).

``StoreEvidence`` answers the intake's ``EvidenceLookup`` from the evidence store: whether it holds a package, what
its verification finds, and the camera and times it was sealed with (the context a pipeline seals).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from cases.errors import EvidenceUnavailable
from cases.messages import Term
from cases.services.detections import FINDING_FIELDS, SealedEvidence
from evidence_store.backends import BackendUnavailable
from evidence_store.store import EvidenceError, EvidenceStore, check_package_id

RETRY_AFTER_S = 30  # an outage of the object store, or a seal the next writer completes


class StoreEvidence:
    """The intake's view of the evidence store; ``store`` gives the store when asked (it may be opened lazily)."""

    def __init__(self, store: Callable[[], EvidenceStore]) -> None:
        self._store = store

    def sealed(self, package_id: str) -> SealedEvidence | None:
        """None when the store holds no such package; raises ``EvidenceUnavailable`` when it cannot be checked
        now (a check not made is never taken for a check passed)."""
        try:
            check_package_id(package_id)
            store = self._store()  # refuses when nothing was ever sealed: then it holds no package either
            manifest = store.manifest(package_id)
        except BackendUnavailable as exc:
            raise EvidenceUnavailable(
                retry_after_s=RETRY_AFTER_S, variant="unreachable", package=package_id, detail=str(exc)
            ) from exc
        except EvidenceError:
            return None
        report = store.verify(package_id)
        if not report.problems and (report.unavailable or report.interrupted):
            raise EvidenceUnavailable(
                retry_after_s=RETRY_AFTER_S,
                variant="not_checked",
                package=package_id,
                detail="; ".join(report.interrupted + report.unavailable),
            )
        context = manifest.get("context")
        context = context if isinstance(context, dict) else {}
        camera_id = context.get("camera_id")
        return SealedEvidence(
            package_id=package_id,
            problems=tuple(Term(f"verify.{f.key}", f.params) for f in report.findings if f.outcome == "failed"),
            camera_id=camera_id if isinstance(camera_id, str) else None,
            first_seen=sealed_time(context.get("first_seen")),
            last_seen=sealed_time(context.get("confirmed_at")),
            finding={name: value for name in FINDING_FIELDS if isinstance(value := context.get(name), str)},
        )


def sealed_time(value: Any) -> dt.datetime | None:
    """A time from a package's context, when it is one with its UTC offset (as the pipeline seals them)."""
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
