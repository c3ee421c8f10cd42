"""Certifications say what they certify and who issued them, and can be withdrawn: ``activity`` (recycling,
repair, dismantling; NULL: the scheme's own activity), ``authority`` (the issuing body) and ``withdrawn_at``
(set by ``org uncertify``; the row stays, so the record of what was certified when is kept). The passport's
dismantling information goes only to organisations holding a valid certification for their activity.
Self-contained on purpose (no imports from the package).

Revision ID: 0009_access
Revises: 0008_validate
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_access"
down_revision = "0008_validate"
branch_labels = None
depends_on = None

_COLUMNS = ("activity", "authority", "withdrawn_at")


def upgrade() -> None:
    for name in _COLUMNS:
        op.add_column("certifications", sa.Column(name, sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("certifications") as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
