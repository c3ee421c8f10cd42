"""Storage of the key log, API-key administration and the audit trail.

Writers of the key log take the ledger's write lock first (SQLite: the first statement of the transaction
writes, which takes the one writer's lock; PostgreSQL: the same advisory lock as the ledger's writer), so an
entry's ledger position is the head no append can pass while it is written. :class:`SignerCache` is the
ingest's view of the log on a DB-API cursor: reloaded only when the log has grown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, text, update

from batteryloop.db.schema import admin_audit, api_keys, key_entries, signing_keys
from batteryloop.domain.errors import NotFoundError, SignatureError, StorageError, ValidationError
from batteryloop.orgs.core.keylog import (
    OPERATOR,
    ZERO_HASH,
    KeyEntry,
    KeyState,
    KeyStatement,
    Replayed,
    check_statement,
    make_entry,
    replay,
)

# the ledger writer's PostgreSQL advisory lock (batteryloop.ledger.adapters.tx.LOCK_KEY; a test keeps them equal)
WRITE_LOCK_KEY = 0x6261_7474_6C6F_6F70 & 0x7FFF_FFFF_FFFF_FFFF

_ENTRY_COLUMNS = (
    "seq, action, org_id, key_id, public_key, signer_org, signer_key_id, signature, after_position, "
    "recorded_at, prev_hash, entry_hash"
)


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def entry_from_row(row: Sequence[Any]) -> KeyEntry:
    seq, action, org_id, key_id, public_key, signer_org, signer_key_id, signature, after, at, prev, digest = (
        row
    )
    if action not in ("register", "revoke"):
        raise ValidationError(f"key log entry {seq}: unknown action {action!r}")
    statement = KeyStatement(
        action,
        str(org_id),
        str(key_id),
        bytes(public_key) if public_key is not None else None,
        str(signer_org),
        str(signer_key_id),
    )
    return KeyEntry(int(seq), statement, bytes(signature), int(after), str(at), str(prev), str(digest))


def lock_writer(conn: Connection) -> None:
    """Take the ledger's write lock as the transaction's first statement."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK_KEY})
    else:  # a write as the first statement makes SQLite take the writer's lock (waits busy_timeout)
        conn.execute(text("DELETE FROM admin_audit WHERE 0 = 1"))


def ledger_head(conn: Connection) -> int:
    return int(conn.execute(text("SELECT COALESCE(MAX(last_position), 0) FROM batches")).scalar_one())


def load_entries(conn: Connection, org_id: str | None = None) -> list[KeyEntry]:
    query = f"SELECT {_ENTRY_COLUMNS} FROM key_entries"
    params: dict[str, Any] = {}
    if org_id is not None:
        query += " WHERE org_id = :org"
        params["org"] = org_id
    return [entry_from_row(r) for r in conn.execute(text(query + " ORDER BY seq"), params)]


def key_state(conn: Connection) -> KeyState:
    """The keys the stored log establishes (signatures trusted: verify checks them); StorageError if the
    stored log is broken, so nothing is written after a break."""
    replayed = replay(load_entries(conn), trust_signatures=True)
    if not replayed.ok:
        raise StorageError(f"the key log is broken ({replayed.reason}); run verify")
    return replayed.state


def audit(conn: Connection, *, actor: str, action: str, org_id: str, subject: str) -> None:
    conn.execute(
        insert(admin_audit).values(at=_now(), actor=actor, action=action, org_id=org_id, subject=subject)
    )


def record_statement(conn: Connection, statement: KeyStatement, signature: bytes, *, actor: str) -> KeyEntry:
    """Check ``statement`` against the log under the write lock and append it (with its audit row)."""
    lock_writer(conn)
    state = key_state(conn)
    check_statement(state, statement, signature)
    entry = make_entry(
        statement,
        signature,
        seq=state.seq + 1,
        after_position=max(ledger_head(conn), state.after_position),
        recorded_at=_now(),
        prev_hash=state.head_hash if state.seq else ZERO_HASH,
    )
    conn.execute(
        insert(key_entries).values(
            seq=entry.seq,
            action=statement.action,
            org_id=statement.org_id,
            key_id=statement.key_id,
            public_key=statement.public_key,
            signer_org=statement.signer_org,
            signer_key_id=statement.signer_key_id,
            signature=signature,
            after_position=entry.after_position,
            recorded_at=entry.recorded_at,
            prev_hash=entry.prev_hash,
            entry_hash=entry.entry_hash,
        )
    )
    if statement.action == "register" and statement.org_id != OPERATOR:
        conn.execute(
            insert(signing_keys).values(
                key_id=statement.key_id,
                org_id=statement.org_id,
                public_key=statement.public_key,
                created_at=entry.recorded_at,
            )
        )
    audit(
        conn,
        actor=actor,
        action=f"signing_key.{statement.action}",
        org_id=statement.org_id,
        subject=f"{statement.key_id} (signed by {statement.signer_org}/{statement.signer_key_id})",
    )
    return entry


# ----------------------------------------------------------------------------------------- API keys


@dataclass(frozen=True, slots=True)
class ApiKeyRow:
    """An API key as listed: its id (first 16 hex digits of its hash), prefix and dates; never the secret."""

    api_key_id: str
    org_id: str
    prefix: str
    created_at: str
    revoked_at: str | None


def api_key_id_of(key_hash: str) -> str:
    return key_hash[:16]


def list_api_keys(conn: Connection, *, org_id: str) -> list[ApiKeyRow]:
    rows = conn.execute(
        select(api_keys.c.key_hash, api_keys.c.prefix, api_keys.c.created_at, api_keys.c.revoked_at)
        .where(api_keys.c.org_id == org_id)
        .order_by(api_keys.c.created_at, api_keys.c.key_hash)
    )
    return [ApiKeyRow(api_key_id_of(r.key_hash), org_id, r.prefix, r.created_at, r.revoked_at) for r in rows]


def revoke_api_key(conn: Connection, *, org_id: str, api_key_id: str, actor: str) -> ApiKeyRow:
    """Mark the API key revoked (from now on it authenticates nobody); NotFoundError if ``org_id`` has none
    with that id, ValidationError if it is already revoked."""
    found = [k for k in list_api_keys(conn, org_id=org_id) if k.api_key_id == api_key_id]
    if not found:
        raise NotFoundError(f"{org_id} has no API key {api_key_id!r}")
    if found[0].revoked_at is not None:
        raise ValidationError(
            f"API key {api_key_id} of {org_id} is already revoked (at {found[0].revoked_at})"
        )
    at = _now()
    conn.execute(
        update(api_keys)
        .where(api_keys.c.org_id == org_id, api_keys.c.key_hash.like(api_key_id + "%"))
        .values(revoked_at=at)
    )
    audit(conn, actor=actor, action="api_key.revoke", org_id=org_id, subject=api_key_id)
    row = found[0]
    return ApiKeyRow(row.api_key_id, org_id, row.prefix, row.created_at, at)


# ----------------------------------------------------------------------------------------- audit trail


@dataclass(frozen=True, slots=True)
class AuditRow:
    seq: int
    at: str
    actor: str
    action: str
    org_id: str
    subject: str


def list_audit(conn: Connection, *, org_id: str | None = None) -> list[AuditRow]:
    query = select(admin_audit).order_by(admin_audit.c.seq)
    if org_id is not None:
        query = query.where(admin_audit.c.org_id == org_id)
    return [AuditRow(r.seq, r.at, r.actor, r.action, r.org_id, r.subject) for r in conn.execute(query)]


# ----------------------------------------------------------------------------------------- ingest and verify


class SignerCache:
    """The ingest's view of the key log on a DB-API cursor, reloaded only when the log has grown."""

    def __init__(self) -> None:
        self.version: int | None = None
        self.state = KeyState()

    def refresh(self, cur: Any) -> None:
        cur.execute("SELECT COALESCE(MAX(seq), 0) FROM key_entries")
        version = int(cur.fetchone()[0])
        if version == self.version:
            return
        cur.execute(f"SELECT {_ENTRY_COLUMNS} FROM key_entries ORDER BY seq")
        replayed = replay((entry_from_row(r) for r in cur.fetchall()), trust_signatures=True)
        if not replayed.ok:
            raise StorageError(f"the key log is broken ({replayed.reason}); run verify")
        self.state, self.version = replayed.state, version

    def is_current(self, cur: Any) -> bool:
        """True if the log has not grown since the last refresh (one query)."""
        cur.execute("SELECT COALESCE(MAX(seq), 0) FROM key_entries")
        return int(cur.fetchone()[0]) == self.version

    def public_key(self, cur: Any, actor: str, key_id: str) -> bytes:
        """The public key of ``actor``'s valid key ``key_id``; SignatureError if unknown, another
        organisation's, or revoked."""
        try:
            return self.state.current(actor, key_id).public_key
        except SignatureError:
            self.refresh(cur)
            return self.state.current(actor, key_id).public_key

    def check_current(self, cur: Any, actor: str, key_id: str) -> None:
        """Under the write lock: the key is valid now (the log read fresh if it has grown)."""
        self.refresh(cur)
        self.state.current(actor, key_id)


@dataclass(frozen=True, slots=True)
class KeysVerified:
    """What verify needs: every key with its validity interval, and the first problem of the key log."""

    keys: dict[str, tuple[str, bytes, int, int | None]]  # key id -> (org, public key, after, revoked after)
    replayed: Replayed
    problem: str | None
    problem_position: int | None
    log: tuple[tuple[int, str, int], ...] = ()  # (seq, entry hash, after position) of every stored entry


def _has_key_log(cur: Any, pg: bool) -> bool:
    if pg:
        cur.execute("SELECT to_regclass('key_entries') IS NOT NULL")
    else:
        cur.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'key_entries'")
    return bool(cur.fetchone()[0])


def verify_keys(cur: Any, *, pg: bool) -> KeysVerified:
    """Replay the whole key log with its signatures and compare the ``signing_keys`` index with it (a row the
    log does not hold was inserted directly). A database without a key log (its schema older than migration
    0005) never verifies; its batches are still checked against the keys of ``signing_keys``, so the first
    other break is named."""
    if not _has_key_log(cur, pg):
        cur.execute("SELECT key_id, org_id, public_key FROM signing_keys")
        legacy: dict[str, tuple[str, bytes, int, int | None]] = {
            str(k): (str(o), bytes(pk), 0, None) for k, o, pk in cur.fetchall()
        }
        reason = "the database has no key log (its schema is older than migration 0005): keys are unsigned"
        return KeysVerified(legacy, replay([]), reason, None)
    cur.execute(f"SELECT {_ENTRY_COLUMNS} FROM key_entries ORDER BY seq")
    problem: str | None = None
    position: int | None = None
    try:
        entries = [entry_from_row(r) for r in cur.fetchall()]
    except (TypeError, ValueError) as exc:
        entries = []
        problem = f"key log: malformed entry ({exc})"
    replayed = replay(entries)
    if problem is None and not replayed.ok:
        problem = replayed.reason
        bad = next((e for e in entries if e.seq == replayed.broken_seq), None)
        position = bad.after_position + 1 if bad is not None else None
    keys = {
        k.key_id: (k.org_id, k.public_key, k.registered_after, k.revoked_after)
        for k in replayed.state.keys.values()
    }
    if problem is None:
        cur.execute("SELECT key_id, org_id, public_key FROM signing_keys ORDER BY key_id")
        for key_id, org_id, public_key in cur.fetchall():
            have = keys.get(key_id)
            if have is None or have[0] != org_id or have[1] != bytes(public_key):
                problem = (
                    f"signing key {key_id} of {org_id} is in the signing_keys table but not in the signed "
                    "key log (inserted directly)"
                )
                break
    log = tuple((e.seq, e.entry_hash, e.after_position) for e in entries)
    return KeysVerified(keys, replayed, problem, position, log)
