"""Idempotency keys scoped per organisation: a key the client chose is indexed as sha256(actor NUL key)[:16].

Before, ``events.idem_digest`` of a client key was global (``sha256(key)[:16]``, or the key's first 16 bytes
when it is 64 hex digits), so one organisation could take another's keys and learn where its events are.
Rewrites the digest of every stored client key (``idempotency_key`` not NULL) with the actor of its batch;
a stored key that is the event's own default key (given explicitly, e.g. by re-importing an export) keeps its
first 16 bytes, as a default key does. Default keys (NULL) already cover the actor and keep their digest.
The unique index stays on ``idem_digest``; the append-only trigger is lifted for the rewrite and restored in
the same transaction. Self-contained on purpose (no imports from the package).

Revision ID: 0008_validate
Revises: 0007_merkle
Create Date: 2026-12-02
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from functools import partial

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0008_validate"
down_revision = "0007_merkle"
branch_labels = None
depends_on = None

_HEX64 = re.compile(r"[0-9a-f]{64}").fullmatch
_CHUNK = 20_000


def _default_key(actor: str, battery_id: str, event_type: str, occurred_at: str, payload: str, v: int) -> str:
    doc = {
        "actor": actor,
        "battery_id": battery_id,
        "event_type": event_type,
        "idempotency_key": None,
        "occurred_at": occurred_at,
        "payload_hash": hashlib.sha256(payload.encode("utf-8")).hexdigest(),
        "schema_version": v,
    }
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _scoped(actor: str, key: str, default: Callable[[], str]) -> bytes:
    if _HEX64(key) and default() == key:
        return bytes.fromhex(key)[:16]
    return hashlib.sha256(b"%b\x00%b" % (actor.encode("utf-8"), key.encode("utf-8"))).digest()[:16]


def _global(actor: str, key: str, default: Callable[[], str]) -> bytes:
    if _HEX64(key):
        return bytes.fromhex(key)[:16]
    return hashlib.sha256(key.encode("utf-8")).digest()[:16]


def _rewrite(digest: Callable[[str, str, Callable[[], str]], bytes]) -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS events_no_update")
    elif dialect == "postgresql":
        op.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
    select = sa.text(
        "SELECT e.position, e.idempotency_key, b.actor, e.battery_id, e.event_type, e.occurred_at, e.payload, "
        "e.schema_version FROM events e JOIN batches b "
        "ON e.position BETWEEN b.first_position AND b.last_position "
        "WHERE e.position > :after AND e.idempotency_key IS NOT NULL ORDER BY e.position LIMIT :n"
    )
    update = sa.text("UPDATE events SET idem_digest = :d WHERE position = :p")
    after = 0
    taken: set[bytes] = set()  # downgrade: 0004 cannot hold two organisations' equal keys
    while True:
        rows = bind.execute(select, {"after": after, "n": _CHUNK}).all()
        if not rows:
            break
        changes = []
        for position, key, actor, battery_id, event_type, occurred_at, payload, v in rows:
            default = partial(_default_key, actor, battery_id, event_type, occurred_at, payload, int(v))
            new = digest(actor, key, default)
            if (
                new in taken
            ):  # a second organisation's equal key keeps its scoped digest (0004 verify names it)
                continue
            taken.add(new)
            changes.append({"d": new, "p": position})
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
    _rewrite(_scoped)


def downgrade() -> None:
    """Back to global digests; where two organisations used the same key (which 0004 cannot hold), the later
    event keeps its scoped digest."""
    _rewrite(_global)
