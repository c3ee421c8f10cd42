"""Idempotency digest of a 64-hex-digit key (every default key): its first 16 bytes, no longer re-hashed.

Rewrites ``events.idem_digest`` of existing rows whose key (stored, or the default key recomputed from the
content fields when stored as NULL) is 64 lowercase hex digits; other keys keep ``sha256(key)[:16]``.
The append-only trigger is lifted for this one statement per chunk and restored in the same transaction.
Self-contained on purpose (a migration must not change when the package's code changes later).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_HEX64 = re.compile(r"[0-9a-f]{64}").fullmatch
_CHUNK = 20_000


def _default_key(
    actor: str, battery_id: str, event_type: str, occurred_at: str, payload_hash: bytes, v: int
) -> str:
    doc = {
        "actor": actor,
        "battery_id": battery_id,
        "event_type": event_type,
        "idempotency_key": None,
        "occurred_at": occurred_at,
        "payload_hash": payload_hash.hex(),
        "schema_version": v,
    }
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _new(key: str) -> bytes:
    return bytes.fromhex(key)[:16]


def _old(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()[:16]


def _rewrite(digest: Callable[[str], bytes]) -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS events_no_update")
    elif dialect == "postgresql":
        op.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
    select = sa.text(
        "SELECT position, idempotency_key, actor, battery_id, event_type, occurred_at, payload_hash, "
        "schema_version FROM events WHERE position > :after ORDER BY position LIMIT :n"
    )
    update = sa.text("UPDATE events SET idem_digest = :d WHERE position = :p")
    after = 0
    while True:
        rows = bind.execute(select, {"after": after, "n": _CHUNK}).all()
        if not rows:
            break
        changes = []
        for position, key, actor, battery_id, event_type, occurred_at, payload_hash, v in rows:
            if key is None:
                key = _default_key(actor, battery_id, event_type, occurred_at, bytes(payload_hash), int(v))
            if _HEX64(key):
                changes.append({"d": digest(key), "p": position})
        if changes:
            bind.execute(update, changes)
        after = int(rows[-1][0])
    if dialect == "sqlite":
        op.execute(
            "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
            "BEGIN SELECT RAISE(ABORT, 'events is append-only: UPDATE refused'); END"
        )
    elif dialect == "postgresql":
        op.execute("ALTER TABLE events ENABLE TRIGGER events_append_only")


def upgrade() -> None:
    _rewrite(_new)


def downgrade() -> None:
    _rewrite(_old)
