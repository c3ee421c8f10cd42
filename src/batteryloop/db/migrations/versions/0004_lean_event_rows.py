"""Lean event rows: drop the per-event columns that other data already determines.

``actor``, ``recorded_at`` and ``batch_id`` are those of the batch whose positions hold the event (batches tile
the positions 1..head without gaps, which verify checks); ``payload_hash`` is sha256 of the stored payload and
``content_hash`` a hash of the event's content fields. Verify recomputed all five anyway; the stored event hash
covers them, the batch's signed Merkle root covers the content hashes. Rows lose about 140 bytes (a third),
so inserts, reads and verify touch fewer pages. Downgrade adds the columns back and fills them.
Self-contained on purpose (no imports from the package).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import hashlib

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

DROPPED = ("actor", "recorded_at", "batch_id", "payload_hash", "content_hash")
_CHUNK = 20_000


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("ALTER TABLE events " + ", ".join(f"DROP COLUMN {c}" for c in DROPPED))
    else:  # SQLite >= 3.35 drops a column in place; the append-only triggers stay
        for column in DROPPED:
            op.execute(f"ALTER TABLE events DROP COLUMN {column}")


def _content(
    actor: str, battery_id: str, event_type: str, key: str | None, occurred: str, ph: str, v: int
) -> str:
    doc = {
        "actor": actor,
        "battery_id": battery_id,
        "event_type": event_type,
        "idempotency_key": key,
        "occurred_at": occurred,
        "payload_hash": ph,
        "schema_version": v,
    }
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()


def downgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    blob = "BYTEA" if dialect == "postgresql" else "BLOB"
    for column, kind, default in (
        ("actor", "TEXT", "''"),
        ("recorded_at", "TEXT", "''"),
        ("batch_id", "TEXT", "''"),
        ("payload_hash", blob, "''" if dialect == "postgresql" else "X''"),
        ("content_hash", blob, "''" if dialect == "postgresql" else "X''"),
    ):
        op.execute(f"ALTER TABLE events ADD COLUMN {column} {kind} NOT NULL DEFAULT {default}")
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS events_no_update")
    elif dialect == "postgresql":
        op.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
    batches = bind.execute(
        sa.text("SELECT batch_id, actor, recorded_at, first_position, last_position FROM batches")
    ).all()
    select = sa.text(
        "SELECT position, battery_id, event_type, idempotency_key, occurred_at, payload, schema_version "
        "FROM events WHERE position BETWEEN :a AND :b ORDER BY position"
    )
    update = sa.text(
        "UPDATE events SET actor = :actor, recorded_at = :rec, batch_id = :batch, payload_hash = :ph, "
        "content_hash = :ch WHERE position = :p"
    )
    for batch_id, actor, recorded_at, first, last in batches:
        changes = []
        for position, battery_id, event_type, key, occurred, payload, version in bind.execute(
            select, {"a": first, "b": last}
        ):
            ph = hashlib.sha256(payload.encode("utf-8")).hexdigest()
            full_key = (
                key
                if key is not None
                else _content(actor, battery_id, event_type, None, occurred, ph, version)
            )
            ch = _content(actor, battery_id, event_type, full_key, occurred, ph, version)
            changes.append(
                {
                    "actor": actor,
                    "rec": recorded_at,
                    "batch": batch_id,
                    "ph": bytes.fromhex(ph),
                    "ch": bytes.fromhex(ch),
                    "p": position,
                }
            )
        if changes:
            bind.execute(update, changes)
    if dialect == "sqlite":
        op.execute(
            "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
            "BEGIN SELECT RAISE(ABORT, 'events is append-only: UPDATE refused'); END"
        )
    elif dialect == "postgresql":
        op.execute("ALTER TABLE events ENABLE TRIGGER events_append_only")
