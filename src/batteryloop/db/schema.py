"""SQLAlchemy Core tables. The migrations in ``migrations/versions`` create exactly these.

Timestamps of events and batches are stored as the exact ISO 8601 text that was hashed, and payloads as
their RFC 8785 canonical text (not JSONB), so verification re-hashes the stored bytes themselves.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# In SQLite an INTEGER PRIMARY KEY is the rowid: no second index.
Position = BigInteger().with_variant(Integer(), "sqlite")

organisations = Table(
    "organisations",
    metadata,
    Column("org_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("country", Text, nullable=False),
    Column("roles", Text, nullable=False),  # JSON list of Role values
    Column("created_at", Text, nullable=False),
)

certifications = Table(
    "certifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_id", Text, ForeignKey("organisations.org_id"), nullable=False, index=True),
    Column("scheme", Text, nullable=False),
    Column("reference", Text, nullable=False),
    Column("valid_from", Text, nullable=False),
    Column("valid_until", Text),
    # migration 0009_access: what it certifies (NULL: the scheme's activity), who issued it, when withdrawn
    Column("activity", Text),
    Column("authority", Text),
    Column("withdrawn_at", Text),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("key_id", Text, primary_key=True),
    Column("org_id", Text, ForeignKey("organisations.org_id"), nullable=False, index=True),
    Column("public_key", LargeBinary, nullable=False),
    Column("created_at", Text, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_hash", Text, primary_key=True),
    Column("org_id", Text, ForeignKey("organisations.org_id"), nullable=False, index=True),
    Column("prefix", Text, nullable=False),
    Column("created_at", Text, nullable=False),
    Column("revoked_at", Text),  # NULL while the key is valid
)

# The signed, hash-chained log of signing-key registrations and revocations (orgs.core.keylog): ``signing_keys``
# above is only an index of it, checked against it by verify.
key_entries = Table(
    "key_entries",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("action", Text, nullable=False),  # register | revoke
    Column("org_id", Text, nullable=False, index=True),
    Column("key_id", Text, nullable=False),
    Column("public_key", LargeBinary),  # raw 32 bytes, for a registration
    Column("signer_org", Text, nullable=False),
    Column("signer_key_id", Text, nullable=False),
    Column("signature", LargeBinary, nullable=False),
    Column("after_position", Position, nullable=False),  # the ledger's head when the entry was written
    Column("recorded_at", Text, nullable=False),
    Column("prev_hash", Text, nullable=False),
    Column("entry_hash", Text, nullable=False),
)

admin_audit = Table(
    "admin_audit",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("org_id", Text, nullable=False, index=True),
    Column("subject", Text, nullable=False),
)

# Signed-in people's web sessions: only the sha256 of the random session id is stored (migration 0005_webguard).
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("session_hash", Text, primary_key=True),
    Column("org_id", Text, ForeignKey("organisations.org_id"), nullable=False, index=True),
    Column("created_at", Text, nullable=False),
    Column("expires_at", Text, nullable=False, index=True),
)

batches = Table(
    "batches",
    metadata,
    Column("batch_id", Text, primary_key=True),
    Column("actor", Text, nullable=False),
    Column("key_id", Text, nullable=False),
    Column("merkle_root", Text, nullable=False),
    Column("signature", LargeBinary, nullable=False),
    Column("event_count", Integer, nullable=False),
    Column("first_position", Position, nullable=False, unique=True),
    Column("last_position", Position, nullable=False),
    Column("recorded_at", Text, nullable=False),
    Column("duplicate_leaves", Text, nullable=False),  # JSON [[index, content_hash], ...] skipped as replays
    Column("prev_checkpoint", Text, nullable=False),
    Column("checkpoint", Text, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=False),
    Column("event_id", Text, nullable=False, unique=True),
    Column("battery_id", Text, nullable=False),
    Column("stream_seq", Integer, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("occurred_at", Text, nullable=False),
    Column("payload", Text, nullable=False),
    # the client's idempotency key; NULL when it is the default one (a function of the content fields)
    Column("idempotency_key", Text),
    Column(
        "idem_digest", LargeBinary, nullable=False, unique=True
    ),  # 16 bytes: the compact unique index of the key (integrity.idempotency_digest)
    Column("prev_hash", LargeBinary, nullable=False),  # hashes: 32-byte sha256 digests
    Column("event_hash", LargeBinary, nullable=False),
    UniqueConstraint("battery_id", "stream_seq", name="uq_events_stream"),
)
# Not stored per event, because they are derived (migration 0004): the acting organisation, recording time
# and batch id (the batch whose positions hold the event: batches tile the positions without gaps), the
# payload hash (sha256 of the stored payload) and the content hash (of the content fields). Reads rebuild
# them; verify recomputes them anyway and checks the stored event hash, which covers them all.

codes = Table(
    "codes",
    metadata,
    Column("scheme", Text, primary_key=True),
    Column("code", Text, primary_key=True),
    Column("battery_id", Text, nullable=False, index=True),
    Column("position", Position, nullable=False),
)

battery_state = Table(
    "battery_state",
    metadata,
    Column("battery_id", Text, primary_key=True),
    Column("state", Text, nullable=False),
    Column("custodian", Text, nullable=False),
    Column("manufacturer", Text, nullable=False),
    Column("parent_id", Text),
    Column("pending_custodian", Text),
    Column("resume_state", Text),
    Column("soh_pct", Float),
    Column("predecessor_id", Text),
    Column("successor_id", Text),
    Column("version", Integer, nullable=False),
    Column("last_hash", Text, nullable=False),
    Column("last_position", Position, nullable=False),
    Column("chemistry", Text),
    Column("category", Text),
    Column("level", Text),
)
Index("ix_battery_state_parent", battery_state.c.parent_id)
Index("ix_battery_state_custodian", battery_state.c.custodian)
Index("ix_battery_state_chemistry_state", battery_state.c.chemistry, battery_state.c.state)

# The global Merkle tree (migration 0007_merkle, ledger/core/merkle.py): its complete nodes of level >= 4
# keyed by the 1-based position of their last event, and the operator-signed tree heads (C2SP checkpoints).
tree_nodes = Table(
    "tree_nodes",
    metadata,
    Column("end_position", BigInteger, primary_key=True, autoincrement=False),
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary, nullable=False),
    sqlite_with_rowid=False,
)
# A head per (tree size, key-log count) (migration 0012_heads_keylog): a key entry after the newest head gets a
# head of its own at the same size.
tree_heads = Table(
    "tree_heads",
    metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("key_count", BigInteger, primary_key=True, autoincrement=False),
    Column("root_hash", LargeBinary, nullable=False),
    Column("origin", Text, nullable=False),
    Column("note", Text, nullable=False),
    Column("signed_at", Text, nullable=False),
    sqlite_with_rowid=False,
)

# Producers' registrations in the registers of producers (Art. 55 of (EU) 2023/1542; migration 0011_compepr).
# Rows are only added: a later registration of the same producer and country supersedes the earlier one.
producer_registrations = Table(
    "producer_registrations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("producer", Text, ForeignKey("organisations.org_id"), nullable=False, index=True),
    Column("country", Text, nullable=False),
    Column("brands", Text, nullable=False),  # JSON list
    Column("categories", Text, nullable=False),  # JSON list of BatteryCategory values
    Column("chemistries", Text, nullable=False),  # JSON list of Chemistry values
    Column("pro", Text, ForeignKey("organisations.org_id")),  # NULL: individual fulfilment
    Column("reference", Text, nullable=False),
    Column("registered_on", Text, nullable=False),
    Column("recorded_at", Text, nullable=False),
)

APPEND_ONLY_TABLES = ("events", "batches", "codes", "key_entries", "admin_audit", "tree_nodes", "tree_heads")


# Documents a passport links by content hash (migration 0010_docs): written once, append-only, the bytes
# re-hashed before they are served (batteryloop.ledger.adapters.documents).
documents = Table(
    "documents",
    metadata,
    Column("sha256", Text, primary_key=True),  # 64 hex digits of the content's sha256
    Column("media_type", Text, nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column(
        "tier", Text, nullable=False
    ),  # the Annex XIII access tier it is served to (passport/data/access.toml)
    Column("filename", Text),
    Column("uploaded_by", Text, ForeignKey("organisations.org_id"), nullable=False, index=True),
    Column("uploaded_at", Text, nullable=False),
    Column("content", LargeBinary, nullable=False),
)
