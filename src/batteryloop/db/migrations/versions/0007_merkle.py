"""The global Merkle tree: complete-subtree nodes and operator-signed tree heads, append-only.

``tree_nodes`` holds every complete node of level >= 4 of the RFC 6962 tree over all events in position order
(leaf data: the stored event hash), keyed by ``(end_position, level)``; ``tree_heads`` the signed checkpoints.
An existing ledger's nodes are built here from its events; heads are signed later by the operator
(``batteryloop log checkpoint``). Self-contained on purpose (no imports from the package).

Revision ID: 0007_merkle
Revises: 0006_keys
Create Date: 2026-12-02
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0007_merkle"
down_revision = "0006_keys"
branch_labels = None
depends_on = None

TABLES = ("tree_nodes", "tree_heads")
MIN_STORED_LEVEL = 4  # ledger.core.merkle storage: levels 0-3 are recomputed from <= 16 event hashes
_CHUNK = 20_000


def upgrade() -> None:
    op.create_table(
        "tree_nodes",
        sa.Column("end_position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("level", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "tree_heads",
        sa.Column("tree_size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("root_hash", sa.LargeBinary, nullable=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("signed_at", sa.Text, nullable=False),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    sha = hashlib.sha256
    pending: dict[int, bytes] = {}
    size = 0
    last = 0
    rows: list[dict[str, object]] = []
    nodes = sa.table(
        "tree_nodes", sa.column("end_position"), sa.column("level"), sa.column("hash", sa.LargeBinary)
    )
    while True:
        chunk = bind.execute(
            sa.text("SELECT position, event_hash FROM events WHERE position > :p ORDER BY position LIMIT :n"),
            {"p": last, "n": _CHUNK},
        ).fetchall()
        if not chunk:
            break
        for position, event_hash in chunk:
            h = sha(b"\x00" + bytes(event_hash)).digest()
            size += 1
            level = 0
            while level in pending:
                h = sha(b"\x01" + pending.pop(level) + h).digest()
                level += 1
                if level >= MIN_STORED_LEVEL:
                    rows.append({"end_position": size, "level": level, "hash": h})
            pending[level] = h
            last = int(position)
        if rows:
            bind.execute(nodes.insert(), rows)
            rows = []
    dialect = bind.dialect.name
    for table in TABLES:
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
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    for table in TABLES:
        op.drop_table(table)
