"""The schema. Alembic's migrations in ``migrations/`` create it; this module is their source of truth."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)

from cases.model.case import (
    CaseStatus,
    DecisionKind,
    DeliveryMethod,
    NoPenaltyGround,
    PartyKind,
    RecheckOutcome,
    StageDeadline,
)
from cases.model.detection import DetectionStatus
from cases.model.detector_release import GateAction, ReleaseStatus
from cases.model.registry import STREAM_URL_MAX_LENGTH, CameraStatus, ZoneSubject, certification_problem
from cases.model.staff import Role
from cases.model.training_job import JobStage, JobStatus
from cases.persistence.limits import (
    ERROR_TEXT_MAX_CHARS,
    JOB_ERROR_MAX_CHARS,
    MESSAGE_MAX_CHARS,
    REASON_MAX_CHARS,
    RECIPE_MAX_CHARS,
    STATEMENT_MAX_CHARS,
)
from cases.persistence.types import JsonDocument, TermList, UtcDateTime, enum_column

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements only INTEGER PRIMARY KEY

gateways = Table(
    "gateways",
    metadata,
    Column("device_id", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("key_version", Integer, nullable=False, default=1),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
)

gateway_nonces = Table(
    "gateway_nonces",
    metadata,
    Column("gateway_id", String(64), ForeignKey("gateways.device_id"), primary_key=True),
    Column("nonce", String(64), primary_key=True),
    Column("seen_at", UtcDateTime, nullable=False, index=True),
)

cameras = Table(
    "cameras",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("device_id", String(64), nullable=False, unique=True),
    Column("gbt28181_id", String(20), unique=True),
    Column("name", String(100), nullable=False),
    Column("address", String(200), nullable=False),
    Column("district", String(50), index=True),
    Column("street", String(50)),
    Column("longitude", Float),
    Column("latitude", Float),
    Column("legal_review_date", Date),
    Column("legal_review_ref", String(100)),
    Column("technical_review_date", Date),
    Column("technical_review_ref", String(100)),
    Column("next_maintenance_due", Date),
    Column("published", Boolean, nullable=False),
    Column("status", enum_column(CameraStatus), nullable=False),
    Column("gateway_id", String(64), ForeignKey("gateways.device_id")),
    Column("stream_url", String(STREAM_URL_MAX_LENGTH)),
    Column("sample_interval_s", Float),
    Column("version", Integer, nullable=False),
)

merchants = Table(
    "merchants",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("address", String(200), nullable=False),
    Column("uscc", String(18), index=True),
    Column("mobile", String(11)),
    Column("e_delivery_consent", Boolean, nullable=False),
    Column("consent_document_ref", String(100)),
    Column("version", Integer, nullable=False),
)

sites = Table(
    "sites",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("permit_number", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("address", String(200), nullable=False),
    Column("contractor", String(200), nullable=False),
    Column("contractor_uscc", String(18), index=True),
    Column("responsible_person", String(50)),
    Column("contact_phone", String(11)),
    Column("version", Integer, nullable=False),
)

zones = Table(
    "zones",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("camera_id", ForeignKey("cameras.id"), nullable=False),
    Column("code", String(64), nullable=False),
    Column("name", String(100), nullable=False),
    Column("subject", enum_column(ZoneSubject), nullable=False),
    Column("merchant_id", ForeignKey("merchants.id"), index=True),
    Column("site_id", ForeignKey("sites.id"), index=True),
    Column("polygon", JsonDocument),
    UniqueConstraint("camera_id", "code"),
)

cases = Table(
    "cases",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("number", String(64), unique=True),
    Column("violation_code", String(48), nullable=False),
    Column("camera_id", ForeignKey("cameras.id"), nullable=False),
    Column("zone_id", ForeignKey("zones.id"), nullable=False),
    Column("subject_kind", String(16), nullable=False),
    Column("subject_ref", String(64)),
    Column("officer", String(64), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("status", enum_column(CaseStatus), nullable=False, index=True),
    Column("party_kind", enum_column(PartyKind)),
    Column("party_name", String(200)),
    Column("party_id_number", String(18)),
    Column("party_contact", String(11)),
    Column("party_address", String(200)),
    Column("party_merchant_id", ForeignKey("merchants.id")),
    Column("party_site_id", ForeignKey("sites.id")),
    Column("party_e_delivery_consent", Boolean, nullable=False),
    Column("party_consent_document_ref", String(100)),
    Column("violation_on", Date),
    Column("filed_on", Date),
    Column("decision_due", Date, index=True),
    Column("rectification_served_on", Date),
    Column("rectification_service_method", enum_column(DeliveryMethod)),
    Column("rectification_deadline", Date),
    Column("recheck_outcome", enum_column(RecheckOutcome)),
    Column("recheck_on", Date),
    Column("prior_violations", Integer),
    Column("fine_tier", String(20)),
    Column("fine_band_min_fen", BigInteger),
    Column("fine_band_max_fen", BigInteger),
    Column("proposed_fine_fen", BigInteger),
    Column("penalty_notice_served_on", Date),
    Column("penalty_notice_service_method", enum_column(DeliveryMethod)),
    Column("fine_ceiling_fen", BigInteger),
    Column("statement_deadline", Date),
    Column("hearing_deadline", Date),
    Column("statement_text", Text, info={"max_length": STATEMENT_MAX_CHARS}),
    Column("statement_adopted", Boolean),
    Column("review_fine_fen", BigInteger),
    Column("review_requested_by", String(64)),
    Column("legal_reviewer", String(64)),
    Column("decision_kind", enum_column(DecisionKind)),
    Column("no_penalty_ground", enum_column(NoPenaltyGround)),
    Column("fine_fen", BigInteger),
    Column("decided_on", Date),
    Column("decided_by", String(64)),
    Column("delivery_due", Date),
    Column("delivered_on", Date),
    Column("delivery_method", enum_column(DeliveryMethod)),
    Column("payment_due", Date),
    Column("paid_on", Date),
    Column("amount_paid_fen", BigInteger),
    Column("surcharge_fen", BigInteger),
    Column("publication_due", Date, index=True),
    Column("published_on", Date),
    Column("closed_on", Date),
    Column("stage_deadline", Date, index=True),
    Column("stage_deadline_kind", enum_column(StageDeadline)),
    Column("version", Integer, nullable=False),
    # prior violations of a party: same party, same violation, decided within the look-back period
    Index("ix_cases_party_history", "party_id_number", "violation_code", "decided_on"),
)

case_events = Table(
    "case_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("action", String(48), nullable=False),
    Column("from_status", String(32)),
    Column("to_status", String(32), nullable=False),
    Column("reason", Text, info={"max_length": REASON_MAX_CHARS}),
    Column("payload", JsonDocument, nullable=False),
    UniqueConstraint("case_id", "seq"),
)

detections = Table(
    "detections",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("camera_id", ForeignKey("cameras.id"), nullable=False),
    Column("zone_id", ForeignKey("zones.id")),  # null while the camera's zone is not registered (unregistered_zone)
    Column("rule_id", String(64), nullable=False),
    Column("violation_code", String(48), nullable=False),
    Column("subject_kind", String(16), nullable=False),
    Column("subject_ref", String(64)),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("evidence_package_id", String(64), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("status", enum_column(DetectionStatus), nullable=False),
    Column("reviewed_by", String(64)),
    Column("reviewed_at", UtcDateTime),
    Column("review_reason", Text, info={"max_length": REASON_MAX_CHARS}),
    Column("check_authentic", Boolean),
    Column("check_clear", Boolean),
    Column("check_complete", Boolean),
    Column("check_accurate", Boolean),
    Column("case_id", ForeignKey("cases.id"), index=True),
    Column("certification_problems", TermList(certification_problem)),
    Column("unregistered_zone", String(64)),
    Column("classified_from", String(48)),  # a review candidate's kind, once classified as violation_code
    Column("version", Integer, nullable=False),
    # The review queue: filter by status, and by camera or violation type, newest first, keyset pages.
    Index("ix_detections_queue_status", "status", "first_seen", "id"),
    Index("ix_detections_queue_camera", "camera_id", "status", "first_seen", "id"),
    Index("ix_detections_queue_violation", "violation_code", "status", "first_seen", "id"),
    # One sealed package backs one detection, whoever sends the event (migration 0017).
    Index("uq_detections_evidence_package", "evidence_package_id", unique=True),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("kind", String(48), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("body", Text, nullable=False, info={"max_length": MESSAGE_MAX_CHARS}),
    Column("created_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime),
    Column("claimed_at", UtcDateTime),
    Column("sent_at", UtcDateTime),
    Column("last_error", Text, info={"max_length": ERROR_TEXT_MAX_CHARS}),
)

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(100), nullable=False),
    Column("role", enum_column(Role), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
# A username is one account whatever the case of its letters (``Admin`` beside ``admin`` is refused; usernames are
# ASCII, which lower() folds alike on SQLite and PostgreSQL): what create_user checks, kept by the database too.
Index("uq_users_username_folded", func.lower(users.c.username), unique=True)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked", Boolean, nullable=False),
)

personal_data_reads = Table(
    "personal_data_reads",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("actor", String(64), nullable=False, index=True),
    Column("role", String(32), nullable=False),
    Column("record_type", String(32), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("fields", String(200), nullable=False),
    Column("purpose", String(200), nullable=False),
)

# Every attempt to open a door with a secret (cases/services/throttle.py): the party page (a case number and its
# verification code) and staff sign-in (a username and its password). Lock-outs count the failures; nothing is
# deleted, so the table is also the record of who tried what, from where.
access_attempts = Table(
    "access_attempts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("door", String(16), nullable=False),  # party | staff
    Column("subject", String(64), nullable=False),  # the case number or the username tried
    Column("client", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),  # failed | succeeded | refused | cleared
    Index("ix_access_attempts_door_subject_at", "door", "subject", "at"),
    Index("ix_access_attempts_door_client_at", "door", "client", "at"),
)

# Every view of a case on the party page, its evidence or its documents (who saw what, when).
party_views = Table(
    "party_views",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("client", String(64), nullable=False),
    Column("what", String(200), nullable=False),
)

# A statement being filed on the party page, claimed before its attachments are sealed: one filing at a time per
# case, so that a second at once (a double click) is refused before it seals anything (migration 0018).
statement_filings = Table(
    "statement_filings",
    metadata,
    Column("case_id", ForeignKey("cases.id"), primary_key=True, autoincrement=False),
    Column("started_at", UtcDateTime, nullable=False),
)

# Party-page sessions their party signed out of, kept until the session would have expired: a copy of the signed
# cookie (a shared terminal's, a stolen one) opens nothing after the sign-out (migration 0019).
party_sign_outs = Table(
    "party_sign_outs",
    metadata,
    Column("session", String(32), primary_key=True),
    Column("until", UtcDateTime, nullable=False, index=True),
)

# Each document a case's step issued, sealed once as evidence: later opens serve the sealed bytes.
case_documents = Table(
    "case_documents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("event_seq", Integer, nullable=False),  # the case event (step) that issued it
    Column("package_id", String(64), nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    UniqueConstraint("case_id", "kind", "event_seq"),
)

# The model registry (issue 15): each detector model by the SHA-256 of its file, where it stands, and every decision
# taken on it with the figures it was taken on (the gate's, a rollback's). Nothing is deleted.
detector_releases = Table(
    "detector_releases",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("name", String(128), nullable=False),
    Column("path", String(512), nullable=False),
    Column("registered_by", String(64), nullable=False),
    Column("registered_at", UtcDateTime, nullable=False),
    Column("status", enum_column(ReleaseStatus), nullable=False, index=True),
    Column("figures", JsonDocument),
    Column("activated_at", UtcDateTime),
    Column("status_by", String(64)),
    Column("status_at", UtcDateTime),
    Column("version", Integer, nullable=False),
)

detector_decisions = Table(
    "detector_decisions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("actor", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("action", enum_column(GateAction), nullable=False),
    Column("replaced", String(64)),  # the model that was active before, when this one took its place
    Column("figures", JsonDocument),  # what the decision was taken on, and the gate's reasons
)

# Boxes an operator drew on a detection's key frame (issue 15: the console's box editor): they replace, for training,
# the labels its review gives by itself. One row a frame, rewritten by a later edit, with who and when.
frame_labels = Table(
    "frame_labels",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("detection_id", ForeignKey("detections.id"), nullable=False),
    Column("frame", String(16), nullable=False),  # first | middle | confirming
    Column("boxes", JsonDocument, nullable=False),  # [{"class": ..., "xyxy": [x1, y1, x2, y2]}] in the frame's pixels
    Column("labelled_by", String(64), nullable=False),
    Column("labelled_at", UtcDateTime, nullable=False),
    Column("model_sha256", String(64)),  # the model that saw the frame
    UniqueConstraint("detection_id", "frame"),
)

# What a model in shadow mode would have raised on a live camera (issue 15): recorded, never sealed or queued; compared
# with the operators' decisions on the active model's detections before the model is promoted.
shadow_findings = Table(
    "shadow_findings",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False, index=True),  # the shadow model
    Column("camera", String(64), nullable=False),  # the camera's device id
    Column("zone", String(64), nullable=False),  # the zone's code within that camera
    Column("violation_code", String(48), nullable=False),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("confirmed_at", UtcDateTime, nullable=False),
    Column("median_score", Float, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)

# Training jobs (issue 15): each run of a training recipe in the background, where it is, and who holds it. A worker
# beats while it trains; a job whose worker stopped beating is taken up again from its last finished epoch.
training_jobs = Table(
    "training_jobs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("recipe_name", String(128), nullable=False),
    Column("recipe", Text, nullable=False, info={"max_length": RECIPE_MAX_CHARS}),
    Column("recipe_dir", String(512), nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("status", enum_column(JobStatus), nullable=False, index=True),
    Column("stage", enum_column(JobStage)),
    Column("epoch", Integer, nullable=False),
    Column("epochs", Integer, nullable=False),
    Column("progress", Float, nullable=False),
    Column("figures", JsonDocument),
    Column("device", String(32)),
    Column("worker", String(128)),
    Column("heartbeat_at", UtcDateTime),
    Column("attempts", Integer, nullable=False),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("candidate_sha256", String(64)),
    Column("error", Text, info={"max_length": JOB_ERROR_MAX_CHARS}),
    Column("cancelled_by", String(64)),
    Column("version", Integer, nullable=False),
)

# Frames an operator labelled as a missed violation (issue 15): a camera's recent frame on which the detector reported
# nothing (or not all), boxed by hand; the picture is copied into the training-frame store, kept until keep_until
# (the training frames' own retention, 规定 第十六条), then removed with its row. A re-labelled frame replaces its boxes.
missed_frames = Table(
    "missed_frames",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("camera", String(64), nullable=False),  # the camera's device id
    Column("name", String(32), nullable=False),  # the frame's UTC time, as vision.recent_frames names it
    Column("taken_at", UtcDateTime, nullable=False),
    Column("image", String(256), nullable=False),  # the JPEG, relative to the training-frame store
    Column("image_sha256", String(64), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("boxes", JsonDocument, nullable=False),  # [{"class": ..., "xyxy": [x1, y1, x2, y2]}] in the frame's pixels
    Column("model_sha256", String(64)),  # the model that saw the frame and missed what is boxed
    Column("labelled_by", String(64), nullable=False),
    Column("labelled_at", UtcDateTime, nullable=False),
    Column("keep_until", UtcDateTime, nullable=False, index=True),
    UniqueConstraint("camera", "name"),
)

# Camera configurations (issue 16): each camera's source, sampling, zones and rules as the pipeline reads them, one row
# a version, never changed or deleted: who saved which version, when and why. The latest version of a camera is the
# one its pipeline runs; a running pipeline takes up a new one without a restart.
camera_configs = Table(
    "camera_configs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("device_id", String(64), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("document", JsonDocument, nullable=False),  # vision.config.CameraIn, as JSON
    Column("sha256", String(64), nullable=False),  # of the document's canonical JSON: an unchanged save is no version
    Column("saved_by", String(64), nullable=False),
    Column("saved_at", UtcDateTime, nullable=False),
    Column("reason", String(200), nullable=False),
    UniqueConstraint("device_id", "version"),
)
