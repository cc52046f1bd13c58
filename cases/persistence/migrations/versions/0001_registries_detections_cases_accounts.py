"""registries, detections, cases, accounts

Revision ID: 0001
Revises:
Create Date: 2026-11-22 11:05:20.871854
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import cases.persistence.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "gateways",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_gateways")),
    )
    op.create_table(
        "merchants",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=True),
        sa.Column("mobile", sa.String(length=11), nullable=True),
        sa.Column("e_delivery_consent", sa.Boolean(), nullable=False),
        sa.Column("consent_document_ref", sa.String(length=100), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchants")),
        sa.UniqueConstraint("code", name=op.f("uq_merchants_code")),
    )
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_merchants_uscc"), ["uscc"], unique=False)

    op.create_table(
        "personal_data_reads",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("at", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("record_type", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("fields", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_data_reads")),
    )
    with op.batch_alter_table("personal_data_reads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_personal_data_reads_actor"), ["actor"], unique=False)
        batch_op.create_index(batch_op.f("ix_personal_data_reads_at"), ["at"], unique=False)

    op.create_table(
        "sites",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("permit_number", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("contractor", sa.String(length=200), nullable=False),
        sa.Column("contractor_uscc", sa.String(length=18), nullable=True),
        sa.Column("responsible_person", sa.String(length=50), nullable=True),
        sa.Column("contact_phone", sa.String(length=11), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("permit_number", name=op.f("uq_sites_permit_number")),
    )
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sites_contractor_uscc"), ["contractor_uscc"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "operator",
                "officer",
                "legal_reviewer",
                "supervisor",
                "admin",
                name="role",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_api_tokens")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "cameras",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("gbt28181_id", sa.String(length=20), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("legal_review_date", sa.Date(), nullable=True),
        sa.Column("legal_review_ref", sa.String(length=100), nullable=True),
        sa.Column("technical_review_date", sa.Date(), nullable=True),
        sa.Column("technical_review_ref", sa.String(length=100), nullable=True),
        sa.Column("next_maintenance_due", sa.Date(), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column(
            "status", sa.Enum("active", "suspended", name="camerastatus", native_enum=False, length=32), nullable=False
        ),
        sa.Column("gateway_id", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["gateway_id"], ["gateways.device_id"], name=op.f("fk_cameras_gateway_id_gateways")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cameras")),
        sa.UniqueConstraint("device_id", name=op.f("uq_cameras_device_id")),
        sa.UniqueConstraint("gbt28181_id", name=op.f("uq_cameras_gbt28181_id")),
    )
    op.create_table(
        "gateway_nonces",
        sa.Column("gateway_id", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("seen_at", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["gateway_id"], ["gateways.device_id"], name=op.f("fk_gateway_nonces_gateway_id_gateways")
        ),
        sa.PrimaryKeyConstraint("gateway_id", "nonce", name=op.f("pk_gateway_nonces")),
    )
    with op.batch_alter_table("gateway_nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gateway_nonces_seen_at"), ["seen_at"], unique=False)

    op.create_table(
        "zones",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("camera_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "subject",
            sa.Enum("merchant", "site", "public_space", name="zonesubject", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("merchant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "polygon", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True
        ),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], name=op.f("fk_zones_camera_id_cameras")),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], name=op.f("fk_zones_merchant_id_merchants")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_zones_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zones")),
        sa.UniqueConstraint("camera_id", "code", name=op.f("uq_zones_camera_id_code")),
    )
    with op.batch_alter_table("zones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_zones_merchant_id"), ["merchant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_zones_site_id"), ["site_id"], unique=False)

    op.create_table(
        "cases",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=64), nullable=True),
        sa.Column("violation_code", sa.String(length=48), nullable=False),
        sa.Column("camera_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("zone_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_ref", sa.String(length=64), nullable=True),
        sa.Column("officer", sa.String(length=64), nullable=False),
        sa.Column("created_at", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "filed",
                "notice_issued",
                "corrected",
                "persisting",
                "penalty_notice_issued",
                "statement_filed",
                "statement_answered",
                "under_legal_review",
                "review_approved",
                "review_returned",
                "decided",
                "delivered",
                "paid",
                "closed",
                name="casestatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "party_kind",
            sa.Enum("merchant", "site", "individual", "organisation", name="partykind", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column("party_name", sa.String(length=200), nullable=True),
        sa.Column("party_id_number", sa.String(length=18), nullable=True),
        sa.Column("party_contact", sa.String(length=11), nullable=True),
        sa.Column("party_address", sa.String(length=200), nullable=True),
        sa.Column("party_merchant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("party_site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("party_e_delivery_consent", sa.Boolean(), nullable=False),
        sa.Column("party_consent_document_ref", sa.String(length=100), nullable=True),
        sa.Column("filed_on", sa.Date(), nullable=True),
        sa.Column("decision_due", sa.Date(), nullable=True),
        sa.Column("rectification_deadline", sa.Date(), nullable=True),
        sa.Column(
            "recheck_outcome",
            sa.Enum("corrected", "persisting", name="recheckoutcome", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column("recheck_on", sa.Date(), nullable=True),
        sa.Column("prior_violations", sa.Integer(), nullable=True),
        sa.Column("fine_tier", sa.String(length=20), nullable=True),
        sa.Column("fine_band_min_fen", sa.BigInteger(), nullable=True),
        sa.Column("fine_band_max_fen", sa.BigInteger(), nullable=True),
        sa.Column("proposed_fine_fen", sa.BigInteger(), nullable=True),
        sa.Column("fine_ceiling_fen", sa.BigInteger(), nullable=True),
        sa.Column("statement_deadline", sa.Date(), nullable=True),
        sa.Column("hearing_deadline", sa.Date(), nullable=True),
        sa.Column("statement_text", sa.Text(), nullable=True),
        sa.Column("statement_adopted", sa.Boolean(), nullable=True),
        sa.Column("review_fine_fen", sa.BigInteger(), nullable=True),
        sa.Column("review_requested_by", sa.String(length=64), nullable=True),
        sa.Column("legal_reviewer", sa.String(length=64), nullable=True),
        sa.Column(
            "decision_kind",
            sa.Enum("penalty", "no_penalty", name="decisionkind", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column(
            "no_penalty_ground",
            sa.Enum(
                "first_offence",
                "minor_corrected",
                "not_established",
                name="nopenaltyground",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("fine_fen", sa.BigInteger(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("delivery_due", sa.Date(), nullable=True),
        sa.Column("delivered_on", sa.Date(), nullable=True),
        sa.Column(
            "delivery_method",
            sa.Enum(
                "direct", "postal", "electronic", "public_notice", name="deliverymethod", native_enum=False, length=32
            ),
            nullable=True,
        ),
        sa.Column("payment_due", sa.Date(), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("amount_paid_fen", sa.BigInteger(), nullable=True),
        sa.Column("surcharge_fen", sa.BigInteger(), nullable=True),
        sa.Column("publication_due", sa.Date(), nullable=True),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("stage_deadline", sa.Date(), nullable=True),
        sa.Column(
            "stage_deadline_kind",
            sa.Enum(
                "rectification", "statement", "delivery", "payment", name="stagedeadline", native_enum=False, length=32
            ),
            nullable=True,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], name=op.f("fk_cases_camera_id_cameras")),
        sa.ForeignKeyConstraint(
            ["party_merchant_id"], ["merchants.id"], name=op.f("fk_cases_party_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(["party_site_id"], ["sites.id"], name=op.f("fk_cases_party_site_id_sites")),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"], name=op.f("fk_cases_zone_id_zones")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("number", name=op.f("uq_cases_number")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_decision_due"), ["decision_due"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_officer"), ["officer"], unique=False)
        batch_op.create_index(
            "ix_cases_party_history", ["party_id_number", "violation_code", "decided_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_cases_publication_due"), ["publication_due"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_stage_deadline"), ["stage_deadline"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_status"), ["status"], unique=False)

    op.create_table(
        "case_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "payload", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_events_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
        sa.UniqueConstraint("case_id", "seq", name=op.f("uq_case_events_case_id_seq")),
    )
    op.create_table(
        "detections",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("camera_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("zone_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("violation_code", sa.String(length=48), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_ref", sa.String(length=64), nullable=True),
        sa.Column("first_seen", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("evidence_package_id", sa.String(length=64), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("received_at", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending_review", "confirmed", "rejected", name="detectionstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", cases.persistence.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("review_reason", sa.Text(), nullable=True),
        sa.Column("check_authentic", sa.Boolean(), nullable=True),
        sa.Column("check_clear", sa.Boolean(), nullable=True),
        sa.Column("check_complete", sa.Boolean(), nullable=True),
        sa.Column("check_accurate", sa.Boolean(), nullable=True),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], name=op.f("fk_detections_camera_id_cameras")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_detections_case_id_cases")),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"], name=op.f("fk_detections_zone_id_zones")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detections")),
        sa.UniqueConstraint("event_id", name=op.f("uq_detections_event_id")),
    )
    with op.batch_alter_table("detections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_detections_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_detections_queue_camera", ["camera_id", "status", "first_seen", "id"], unique=False)
        batch_op.create_index("ix_detections_queue_status", ["status", "first_seen", "id"], unique=False)
        batch_op.create_index(
            "ix_detections_queue_violation", ["violation_code", "status", "first_seen", "id"], unique=False
        )

    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", cases.persistence.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_notifications_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notifications_status"), ["status"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_status"))
        batch_op.drop_index(batch_op.f("ix_notifications_case_id"))

    op.drop_table("notifications")
    with op.batch_alter_table("detections", schema=None) as batch_op:
        batch_op.drop_index("ix_detections_queue_violation")
        batch_op.drop_index("ix_detections_queue_status")
        batch_op.drop_index("ix_detections_queue_camera")
        batch_op.drop_index(batch_op.f("ix_detections_case_id"))

    op.drop_table("detections")
    op.drop_table("case_events")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_status"))
        batch_op.drop_index(batch_op.f("ix_cases_stage_deadline"))
        batch_op.drop_index(batch_op.f("ix_cases_publication_due"))
        batch_op.drop_index("ix_cases_party_history")
        batch_op.drop_index(batch_op.f("ix_cases_officer"))
        batch_op.drop_index(batch_op.f("ix_cases_decision_due"))

    op.drop_table("cases")
    with op.batch_alter_table("zones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_zones_site_id"))
        batch_op.drop_index(batch_op.f("ix_zones_merchant_id"))

    op.drop_table("zones")
    with op.batch_alter_table("gateway_nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateway_nonces_seen_at"))

    op.drop_table("gateway_nonces")
    op.drop_table("cameras")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    op.drop_table("users")
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sites_contractor_uscc"))

    op.drop_table("sites")
    with op.batch_alter_table("personal_data_reads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_personal_data_reads_at"))
        batch_op.drop_index(batch_op.f("ix_personal_data_reads_actor"))

    op.drop_table("personal_data_reads")
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_merchants_uscc"))

    op.drop_table("merchants")
    op.drop_table("gateways")
