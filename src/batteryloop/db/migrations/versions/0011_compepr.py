"""Producers' registrations (Art. 55 of Regulation (EU) 2023/1542): brands, categories, chemistries, and the
PRO through which a producer fulfils its responsibility. Self-contained on purpose (no imports from the package).

Revision ID: 0011_compepr
Revises: 0010_docs
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_compepr"
down_revision = "0010_docs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "producer_registrations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("producer", sa.Text, sa.ForeignKey("organisations.org_id"), nullable=False),
        sa.Column("country", sa.Text, nullable=False),
        sa.Column("brands", sa.Text, nullable=False),
        sa.Column("categories", sa.Text, nullable=False),
        sa.Column("chemistries", sa.Text, nullable=False),
        sa.Column("pro", sa.Text, sa.ForeignKey("organisations.org_id")),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("registered_on", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.Text, nullable=False),
    )
    op.create_index("ix_producer_registrations_producer", "producer_registrations", ["producer"])


def downgrade() -> None:
    op.drop_index("ix_producer_registrations_producer", table_name="producer_registrations")
    op.drop_table("producer_registrations")
