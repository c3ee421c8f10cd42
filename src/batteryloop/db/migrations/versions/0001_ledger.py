"""Ledger, organisations, codes and the current-state projection; append-only triggers.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
APPEND_ONLY = ("events", "batches", "codes")


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("org_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("country", sa.Text, nullable=False),
        sa.Column("roles", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
    )
    op.create_table(
        "certifications",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Text, sa.ForeignKey("organisations.org_id"), nullable=False, index=True),
        sa.Column("scheme", sa.Text, nullable=False),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("valid_from", sa.Text, nullable=False),
        sa.Column("valid_until", sa.Text),
    )
    op.create_table(
        "signing_keys",
        sa.Column("key_id", sa.Text, primary_key=True),
        sa.Column("org_id", sa.Text, sa.ForeignKey("organisations.org_id"), nullable=False, index=True),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_hash", sa.Text, primary_key=True),
        sa.Column("org_id", sa.Text, sa.ForeignKey("organisations.org_id"), nullable=False, index=True),
        sa.Column("prefix", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
    )
    op.create_table(
        "batches",
        sa.Column("batch_id", sa.Text, primary_key=True),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("key_id", sa.Text, nullable=False),
        sa.Column("merkle_root", sa.Text, nullable=False),
        sa.Column("signature", sa.LargeBinary, nullable=False),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.Column("first_position", Position, nullable=False, unique=True),
        sa.Column("last_position", Position, nullable=False),
        sa.Column("recorded_at", sa.Text, nullable=False),
        sa.Column("duplicate_leaves", sa.Text, nullable=False),
        sa.Column("prev_checkpoint", sa.Text, nullable=False),
        sa.Column("checkpoint", sa.Text, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("position", Position, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.Text, nullable=False, unique=True),
        sa.Column("battery_id", sa.Text, nullable=False),
        sa.Column("stream_seq", sa.Integer, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("occurred_at", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("payload_hash", sa.LargeBinary, nullable=False),  # hashes: 32-byte sha256 digests
        # the client's idempotency key; NULL when it is the default one (a function of the content fields)
        sa.Column("idempotency_key", sa.Text),
        sa.Column(
            "idem_digest", sa.LargeBinary, nullable=False, unique=True
        ),  # sha256(key)[:16]: the compact unique index
        sa.Column("content_hash", sa.LargeBinary, nullable=False),
        sa.Column("prev_hash", sa.LargeBinary, nullable=False),
        sa.Column("event_hash", sa.LargeBinary, nullable=False),
        sa.Column("batch_id", sa.Text, nullable=False),
        sa.UniqueConstraint("battery_id", "stream_seq", name="uq_events_stream"),
    )
    op.create_table(
        "codes",
        sa.Column("scheme", sa.Text, primary_key=True),
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("battery_id", sa.Text, nullable=False, index=True),
        sa.Column("position", Position, nullable=False),
    )
    op.create_table(
        "battery_state",
        sa.Column("battery_id", sa.Text, primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("custodian", sa.Text, nullable=False),
        sa.Column("manufacturer", sa.Text, nullable=False),
        sa.Column("parent_id", sa.Text),
        sa.Column("pending_custodian", sa.Text),
        sa.Column("resume_state", sa.Text),
        sa.Column("soh_pct", sa.Float),
        sa.Column("predecessor_id", sa.Text),
        sa.Column("successor_id", sa.Text),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("last_hash", sa.Text, nullable=False),
        sa.Column("last_position", Position, nullable=False),
        sa.Column("chemistry", sa.Text),
        sa.Column("category", sa.Text),
        sa.Column("level", sa.Text),
    )
    op.create_index("ix_battery_state_parent", "battery_state", ["parent_id"])
    op.create_index("ix_battery_state_custodian", "battery_state", ["custodian"])
    op.create_index("ix_battery_state_chemistry_state", "battery_state", ["chemistry", "state"])

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in APPEND_ONLY:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END"
                )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION batteryloop_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION batteryloop_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION batteryloop_append_only()"
            )
            op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM PUBLIC")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in APPEND_ONLY:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    for table in ("battery_state", "codes", "events", "batches", "api_keys", "signing_keys"):
        op.drop_table(table)
    op.drop_table("certifications")
    op.drop_table("organisations")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS batteryloop_append_only()")
