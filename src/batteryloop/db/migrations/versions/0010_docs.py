"""The document store: documents a passport links by content hash (``sha256:<hex>``), append-only.

A row is written once, keyed by the sha256 of its bytes; the database refuses UPDATE and DELETE (triggers, as
for the ledger's tables), and the store re-hashes the bytes before it serves them, so a document a signed
passport event names cannot change without the change showing. Self-contained on purpose (no imports from
the package).

Revision ID: 0010_docs
Revises: 0009_access
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_docs"
down_revision = "0009_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("sha256", sa.Text, primary_key=True),
        sa.Column("media_type", sa.Text, nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("tier", sa.Text, nullable=False),
        sa.Column("filename", sa.Text),
        sa.Column("uploaded_by", sa.Text, sa.ForeignKey("organisations.org_id"), nullable=False),
        sa.Column("uploaded_at", sa.Text, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_documents_uploaded_by", "documents", ["uploaded_by"])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER documents_no_{action.lower()} BEFORE {action} ON documents "
                f"BEGIN SELECT RAISE(ABORT, 'documents is append-only: {action} refused'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE TRIGGER documents_append_only BEFORE UPDATE OR DELETE ON documents "
            "FOR EACH ROW EXECUTE FUNCTION batteryloop_append_only()"
        )
        op.execute(
            "CREATE TRIGGER documents_no_truncate BEFORE TRUNCATE ON documents "
            "FOR EACH STATEMENT EXECUTE FUNCTION batteryloop_append_only()"
        )
        op.execute("REVOKE UPDATE, DELETE, TRUNCATE ON documents FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS documents_no_{action}")
    op.drop_index("ix_documents_uploaded_by", table_name="documents")
    op.drop_table("documents")
