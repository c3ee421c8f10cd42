"""The facade over the global tree's reads and on-demand signing: each call in one snapshot or one write."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from batteryloop.domain.errors import ValidationError
from batteryloop.ledger.adapters.tree import (
    TreeHead,
    consistency_proof,
    head_at,
    inclusion_proofs,
    latest_head,
    root_at,
    sign_head,
    stored_heads,
    tree_size,
)
from batteryloop.ledger.adapters.tx import begin_snapshot, end_snapshot, storage_errors


class TreeLog:
    """Heads and proofs of one ledger's tree, each read in one snapshot (what the facade hands out)."""

    def __init__(self, db: Any, *, origin: str) -> None:
        self.db = db
        self.origin = origin
        self._own = threading.local()  # a thread's own connection for in-place proofs (SQLite)
        self._owned: list[Any] = []
        self._owned_lock = threading.Lock()

    @property
    def proofs_in_place(self) -> bool:
        """Whether :meth:`proofs` can read on a connection of the calling thread's own, outside the pool: on
        SQLite, where a reader in WAL mode waits for no writer, so a caller that must never wait for a pooled
        connection (the event loop) can answer a proof in place. On PostgreSQL a read waits on the network."""
        return not self.db.sql.pg

    @contextmanager
    def _connection(self, in_place: bool) -> Iterator[Any]:
        if not in_place:
            with self.db.dbapi() as dbapi:
                yield dbapi
            return
        with storage_errors():
            yield self.open_in_place()

    def open_in_place(self) -> Any:
        """The calling thread's own connection for in-place proofs, opened on first use: the app opens the
        event loop's at startup, while no request holds a pooled connection. It is detached from the pool, so
        it never takes a pooled connection's place and is never waited for."""
        if not self.proofs_in_place:
            raise ValidationError("proofs are read in place only on SQLite")
        conn = getattr(self._own, "conn", None)
        if conn is None:
            with storage_errors():
                fairy = self.db.engine.raw_connection()
                conn = fairy.driver_connection
                fairy.detach()
            self._own.conn = conn
            with self._owned_lock:
                self._owned.append(conn)
        return conn

    def close(self) -> None:
        """Close the connections of in-place proofs (the pooled ones belong to the engine)."""
        with self._owned_lock:
            owned, self._owned = self._owned, []
            self._own = threading.local()  # a later in-place proof opens a new one
        for conn in owned:
            conn.close()

    def head(self, size: int | None = None) -> TreeHead:
        """The tree head at ``size`` (default: the whole ledger), with its stored signed checkpoint if any."""
        with self.db.dbapi() as dbapi:
            cur = dbapi.cursor()
            begin_snapshot(cur, self.db.sql.pg)
            try:
                return self._head(cur, size)
            finally:
                end_snapshot(dbapi, cur, self.db.sql.pg)

    def _head(self, cur: Any, size: int | None) -> TreeHead:
        sql = self.db.sql
        current = tree_size(cur)
        if size is None:
            size = current
        if not 0 <= size <= current:
            raise ValidationError(f"tree size {size} is not between 0 and the ledger's {current} events")
        stored = head_at(cur, sql, size)
        if stored is not None:
            return stored
        return TreeHead(size, root_at(cur, sql, size), None)

    def latest(self) -> TreeHead | None:
        with self.db.dbapi() as dbapi:
            return latest_head(dbapi.cursor(), self.db.sql)

    def heads(self, *, after: int = 0, limit: int | None = None) -> list[TreeHead]:
        with self.db.dbapi() as dbapi:
            return stored_heads(dbapi.cursor(), self.db.sql, after=after, limit=limit)

    def sign(self, private_key: Ed25519PrivateKey, *, signed_at: str) -> TreeHead:
        with self.db.writing() as cur:
            return sign_head(
                cur, self.db.sql, origin=self.origin, private_key=private_key, signed_at=signed_at
            )

    def sign_on(self, cur: Any, private_key: Ed25519PrivateKey, *, signed_at: str) -> TreeHead | None:
        """``sign`` on the cursor of a write transaction already under the write lock (a key entry's); None
        when the ledger has no events yet (the first append signs the first head)."""
        if tree_size(cur) == 0:
            return None
        return sign_head(cur, self.db.sql, origin=self.origin, private_key=private_key, signed_at=signed_at)

    def proofs(
        self, positions: Sequence[int], size: int | None, *, in_place: bool = False
    ) -> tuple[TreeHead, list[list[bytes]], list[bytes]]:
        """A head (default: the latest signed one, else the current tree), the inclusion proofs of the events at
        ``positions`` against it, and their stored event hashes (the leaf data), in one snapshot; with
        ``in_place`` on the calling thread's own connection (:attr:`proofs_in_place`)."""
        sql = self.db.sql
        with self._connection(in_place) as dbapi:
            cur = dbapi.cursor()
            begin_snapshot(cur, sql.pg)
            try:
                if size is None:
                    head = latest_head(cur, sql) or self._head(cur, None)
                else:
                    head = self._head(cur, size)
                beyond = [p for p in positions if not 1 <= p <= head.size]
                if beyond:
                    raise ValidationError(f"position {beyond[0]} is not in the tree of size {head.size}")
                leaves: dict[int, bytes] = {}
                for pos, digest in sql.where_in(
                    cur, "SELECT position, event_hash FROM events", "position", sorted(set(positions))
                ):
                    leaves[int(pos)] = bytes(digest)
                return head, inclusion_proofs(cur, sql, positions, head.size), [leaves[p] for p in positions]
            finally:
                end_snapshot(dbapi, cur, sql.pg)

    def consistency(self, old: int, new: int | None) -> tuple[TreeHead, TreeHead, list[bytes]]:
        sql = self.db.sql
        with self.db.dbapi() as dbapi:
            cur = dbapi.cursor()
            begin_snapshot(cur, sql.pg)
            try:
                new_head = self._head(cur, new)
                if not 0 <= old <= new_head.size:
                    raise ValidationError(f"old tree size {old} is not between 0 and {new_head.size}")
                old_head = self._head(cur, old)
                return old_head, new_head, consistency_proof(cur, sql, old, new_head.size)
            finally:
                end_snapshot(dbapi, cur, sql.pg)

    def signing_keys(self) -> list[tuple[str, str, bytes]]:
        """Every registered signing key: (key id, organisation, public key)."""
        with self.db.reading() as query:
            rows = query("SELECT key_id, org_id, public_key FROM signing_keys ORDER BY key_id")
        return [(str(k), str(o), bytes(pk)) for k, o, pk in rows]
