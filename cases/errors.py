"""The case domain's exceptions, one tree, each with a stable ``code`` that the API puts in its problem responses.

OffsiteError
├── NotFound                      a referenced record does not exist                    (404)
├── Conflict                                                                            (409)
│   ├── AlreadyExists             a unique key is taken
│   ├── ConcurrentModification    the record changed since the caller read it (version)
│   ├── EvidencePackageTaken      an event cites a package that already backs another detection
│   └── IllegalTransition         the case's stage does not allow this action
├── InvalidInput                  a value is malformed or out of bounds                 (422)
│   └── EvidenceRefused           an event's evidence package does not hold up:
│       ├── EvidencePackageMissing       the evidence store does not hold it
│       ├── EvidencePackageInvalid       it fails verification (hashes, signature, log)
│       ├── EvidencePackageOtherCamera   it was sealed for another camera, or for none
│       ├── EvidencePackageOtherFinding  it was sealed for another event, zone or violation of the camera
│       └── EvidencePackageTimeMismatch  the event's times lie outside the package's
│   └── ZoneNotRegistered          confirming a detection whose zone the registry does not hold
│   └── InvalidCursor              a page cursor this service did not issue (it is opaque)
│   └── ClassificationRefused      a review's classification: a candidate confirmed without the violation it is,
│                                  or as an unknown code or another candidate; a non-candidate classified
├── RetryLater                    refused for now: come back after ``retry_after_s`` (Retry-After)
│   ├── TooManyAttempts           the party page's lock-out after wrong codes, or its rate limit (429)
│   │   └── SignInLocked          staff sign-in locked after wrong passwords (the account or the client address)
│   └── Unavailable               a store the request needs cannot answer now (503)
│       └── EvidenceUnavailable   the evidence store cannot be reached, or the package's seal is being completed
├── DocumentNotIssued             a step's document could not be rendered or sealed: the step did not happen (503)
└── LawViolation                  the action would break a rule of the law               (422)
    ├── CameraNotCertified        evidence from a camera without valid certification (第四十一条)
    ├── NotListedForNonSite       the violation is not on the published list (规定第四条)
    ├── ReviewRequired            evidence that has not passed human review (规定第十条)
    ├── PartyNotConfirmed         no notice without a confirmed party
    ├── FineOutsideRange          outside the legal range or the discretion band, or raised after a defence
    ├── DeadlineNotReached        an action that must wait for a deadline to pass
    ├── DeadlinePassed            an action too late for its deadline
    ├── ConsentRequired           electronic delivery without the party's consent (规定第十三条)
    ├── FourEyesViolation         a legal reviewer reviewing their own case (第五十八条)
    └── DecisionPeriodExpired     a decision past the 90 days of 第六十条 without an approved extension
"""

from __future__ import annotations

from cases.messages import ToldProblem


class OffsiteError(ToldProblem):
    """Raised with a catalogue variant and its parameters (``FineOutsideRange(variant="band", fine=...)``), told in
    the reader's language from ``cases/locale``."""

    code = "offsite_error"


class NotFound(OffsiteError):
    code = "not_found"


class Conflict(OffsiteError):
    code = "conflict"


class AlreadyExists(Conflict):
    code = "already_exists"


class ConcurrentModification(Conflict):
    code = "version_conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class InvalidInput(OffsiteError):
    code = "invalid_input"


class EvidenceRefused(InvalidInput):
    code = "evidence_refused"


class EvidencePackageMissing(EvidenceRefused):
    code = "evidence_package_missing"


class EvidencePackageInvalid(EvidenceRefused):
    code = "evidence_package_invalid"


class EvidencePackageOtherCamera(EvidenceRefused):
    code = "evidence_package_other_camera"


class EvidencePackageTimeMismatch(EvidenceRefused):
    code = "evidence_package_time_mismatch"


class EvidencePackageOtherFinding(EvidenceRefused):
    code = "evidence_package_other_finding"


class EvidencePackageTaken(Conflict):
    code = "evidence_package_taken"


class ZoneNotRegistered(InvalidInput):
    code = "zone_not_registered"


class InvalidCursor(InvalidInput):
    code = "cursor_invalid"


class ClassificationRefused(InvalidInput):
    """A review candidate (不明物体滞留) is confirmed as one of the catalogue's violations, chosen by the operator who
    reviews it; a detection its detector named takes no classification."""

    code = "classification_refused"


class RetryLater(OffsiteError):
    """A refusal that a later try may not meet: the client is told when to come back (``Retry-After``)."""

    def __init__(self, *, retry_after_s: int, variant: str | None = None, **params: object) -> None:
        super().__init__(variant=variant, **params)
        self.retry_after_s = retry_after_s


class TooManyAttempts(RetryLater):
    code = "too_many_attempts"


class SignInLocked(TooManyAttempts):
    """Too many wrong passwords: for the account (known or not, alike) or from the client address. Even the right
    password is refused until the lock-out ends, ``retry_after_s`` from now."""

    code = "sign_in_locked"

    @property
    def minutes(self) -> int:
        """The wait in whole minutes, rounded up: what a person is told."""
        return -(-self.retry_after_s // 60)


class Unavailable(RetryLater):
    code = "unavailable"


class EvidenceUnavailable(Unavailable):
    """The evidence an event cites could not be checked now: the store cannot be reached, or the package's seal
    was interrupted and waits for the next writer to complete it. Not a verdict on the package: retry."""

    code = "evidence_store_unavailable"


class DocumentNotIssued(OffsiteError):
    """A notice or decision could not be rendered or sealed; the step that issues it is rolled back with it."""

    code = "document_not_issued"


class LawViolation(OffsiteError):
    code = "law_violation"


class CameraNotCertified(LawViolation):
    code = "camera_not_certified"


class NotListedForNonSite(LawViolation):
    code = "not_listed_for_non_site"


class ReviewRequired(LawViolation):
    code = "review_required"


class PartyNotConfirmed(LawViolation):
    code = "party_not_confirmed"


class FineOutsideRange(LawViolation):
    code = "fine_outside_range"


class DeadlineNotReached(LawViolation):
    code = "deadline_not_reached"


class DeadlinePassed(LawViolation):
    code = "deadline_passed"


class ConsentRequired(LawViolation):
    code = "consent_required"


class FourEyesViolation(LawViolation):
    code = "four_eyes_violation"


class DecisionPeriodExpired(LawViolation):
    code = "decision_period_expired"
