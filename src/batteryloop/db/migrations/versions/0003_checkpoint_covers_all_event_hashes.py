"""Each batch checkpoint also covers ``events_hash``: sha256 of all its events' hashes, in position order.

Before, a checkpoint covered only the batch's last event hash, so an event in the middle of a batch whose
server-assigned fields (event id) were edited, with its stream's chain and the projection recomputed, went
unnoticed even against a kept checkpoint. This recomputes the whole checkpoint chain with the new field;
downgrade recomputes it without. A checkpoint kept from before this migration no longer appears in the
chain: keep the new ``latest_checkpoint`` after upgrading. The append-only trigger on ``batches`` is lifted
for the rewrite and restored in the same transaction. Self-contained (no imports from the package).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import hashlib

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ZERO_HASH = "0" * 64


def _rechain(with_events_hash: bool) -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS batches_no_update")
    elif dialect == "postgresql":
        op.execute("ALTER TABLE batches DISABLE TRIGGER batches_append_only")
    batches = bind.execute(
        sa.text(
            "SELECT batch_id, merkle_root, first_position, last_position FROM batches ORDER BY first_position"
        )
    ).all()
    select_hashes = sa.text(
        "SELECT event_hash FROM events WHERE position BETWEEN :a AND :b ORDER BY position"
    )
    update = sa.text("UPDATE batches SET prev_checkpoint = :p, checkpoint = :c WHERE batch_id = :i")
    prev = ZERO_HASH
    changes = []
    for batch_id, root, first, last in batches:
        hashes = [bytes(h) for h in bind.execute(select_hashes, {"a": first, "b": last}).scalars()]
        doc = {
            "batch_id": batch_id,
            "first_position": int(first),
            "last_event_hash": hashes[-1].hex() if hashes else ZERO_HASH,
            "last_position": int(last),
            "merkle_root": root,
            "prev_checkpoint": prev,
        }
        if with_events_hash:
            doc["events_hash"] = hashlib.sha256(b"".join(hashes)).hexdigest()
        checkpoint = hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()
        changes.append({"p": prev, "c": checkpoint, "i": batch_id})
        prev = checkpoint
    if changes:
        bind.execute(update, changes)
    if dialect == "sqlite":
        op.execute(
            "CREATE TRIGGER batches_no_update BEFORE UPDATE ON batches "
            "BEGIN SELECT RAISE(ABORT, 'batches is append-only: UPDATE refused'); END"
        )
    elif dialect == "postgresql":
        op.execute("ALTER TABLE batches ENABLE TRIGGER batches_append_only")


def upgrade() -> None:
    _rechain(with_events_hash=True)


def downgrade() -> None:
    _rechain(with_events_hash=False)
