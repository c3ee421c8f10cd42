"""Tree heads per (tree size, key-log count): a key entry written after the newest head can be covered at
once by a second head at the same tree size, so no stretch of the key log waits for the next append.

``tree_heads`` gets ``key_count`` (the entries of the signed key log the head covers, read from its
``batteryloop-keylog`` line; 0 without one) and the primary key ``(tree_size, key_count)``. The table is
rebuilt (SQLite cannot change a primary key in place) with its append-only triggers. Downgrade keeps the head
with the most key entries at each size. Self-contained on purpose (no imports from the package).

Revision ID: 0012_heads_keylog
Revises: 0011_compepr
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_heads_keylog"
down_revision = "0011_compepr"
branch_labels = None
depends_on = None

_KEYLOG = "batteryloop-keylog"


def _key_count(note: str) -> int:
    for line in note.split("\n"):
        parts = line.split(" ")
        if len(parts) == 3 and parts[0] == _KEYLOG:
            return int(parts[1])
    return 0


def _append_only(table: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END"
            )
    else:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION batteryloop_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION batteryloop_append_only()"
        )
        op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM PUBLIC")


def _rebuild(with_key_count: bool) -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT tree_size, root_hash, origin, note, signed_at FROM tree_heads")
    ).fetchall()
    key = (
        [sa.Column("key_count", sa.BigInteger, primary_key=True, autoincrement=False)]
        if with_key_count
        else []
    )
    op.create_table(
        "tree_heads_new",
        sa.Column("tree_size", sa.BigInteger, primary_key=True, autoincrement=False),
        *key,
        sa.Column("root_hash", sa.LargeBinary, nullable=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("signed_at", sa.Text, nullable=False),
        sqlite_with_rowid=False,
    )
    heads = sorted(
        (
            {
                "tree_size": int(size),
                "key_count": _key_count(str(note)),
                "root_hash": bytes(root),
                "origin": origin,
                "note": note,
                "signed_at": signed_at,
            }
            for size, root, origin, note, signed_at in rows
        ),
        key=lambda h: (h["tree_size"], h["key_count"]),
    )
    if not with_key_count:  # one head per size: the one covering the most key entries
        heads = list({h["tree_size"]: h for h in heads}.values())
    columns = [
        "tree_size",
        *(["key_count"] if with_key_count else []),
        "root_hash",
        "origin",
        "note",
        "signed_at",
    ]
    new = sa.table(
        "tree_heads_new", *(sa.column(c, sa.LargeBinary if c == "root_hash" else None) for c in columns)
    )
    if heads:
        bind.execute(new.insert(), [{c: h[c] for c in columns} for h in heads])
    op.drop_table("tree_heads")  # its triggers go with it
    op.rename_table("tree_heads_new", "tree_heads")
    _append_only("tree_heads")


def upgrade() -> None:
    _rebuild(with_key_count=True)


def downgrade() -> None:
    _rebuild(with_key_count=False)
