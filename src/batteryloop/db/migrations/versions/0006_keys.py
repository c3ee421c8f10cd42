"""Organisation keys in the verifiable record: the signed, hash-chained key log, revocable API keys and an
append-only audit trail of administrative actions.

``key_entries`` holds every registration and revocation of a signing key, each signed by the operator or by a
valid key of the organisation, chained by hash and placed after a ledger position (the head when it was
written), so verify can check each batch against the key valid at its position. ``api_keys.revoked_at`` marks
a revoked API key. ``admin_audit`` records who did what when. Both new tables are append-only.
Self-contained on purpose (no imports from the package).

Revision ID: 0006_keys
Revises: 0005_webguard
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_keys"
down_revision = "0005_webguard"
branch_labels = None
depends_on = None

APPEND_ONLY = ("key_entries", "admin_audit")
Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "key_entries",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("key_id", sa.Text, nullable=False),
        sa.Column("public_key", sa.LargeBinary),
        sa.Column("signer_org", sa.Text, nullable=False),
        sa.Column("signer_key_id", sa.Text, nullable=False),
        sa.Column("signature", sa.LargeBinary, nullable=False),
        sa.Column("after_position", Position, nullable=False),
        sa.Column("recorded_at", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.Text, nullable=False),
        sa.Column("entry_hash", sa.Text, nullable=False),
    )
    op.create_index("ix_key_entries_org_id", "key_entries", ["org_id"])
    op.create_table(
        "admin_audit",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("org_id", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
    )
    op.create_index("ix_admin_audit_org_id", "admin_audit", ["org_id"])
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("revoked_at", sa.Text))
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        if dialect == "sqlite":
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END"
                )
        elif dialect == "postgresql":
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
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("revoked_at")
    op.drop_table("admin_audit")
    op.drop_table("key_entries")
