"""Keeping the ledger honest: verify, checkpoints, and the rebuild of the projection from the events alone."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson

from batteryloop.config import LedgerSettings
from batteryloop.ledger.adapters.projection import SELECT_STATE, STATE_COLUMNS, fold_rows, row_to_db
from batteryloop.ledger.adapters.store import BATCH_OF_EVENT
from batteryloop.ledger.adapters.tx import Database
from batteryloop.ledger.adapters.verify import verify_ledger
from batteryloop.ledger.core.checkpoint import Checkpoint, Verifier
from batteryloop.ledger.core.envelope import VerifyReport


class Maintenance:
    """Verify, checkpoints and the projection rebuild of one ledger."""

    def __init__(self, db: Database, settings: LedgerSettings) -> None:
        self.db = db
        self.settings = settings

    def head(self) -> int:
        """The last position (0 for an empty ledger)."""
        rows = self.db.rows("SELECT position FROM events ORDER BY position DESC LIMIT 1")
        return int(rows[0][0]) if rows else 0

    def verify(
        self,
        progress: Callable[[int], None] | None,
        *,
        anchor: str | None,
        workers: int | None,
        operator: Verifier | None = None,
        anchors: Sequence[Checkpoint] = (),
    ) -> VerifyReport:
        settings = self.settings
        if workers is None:
            workers = settings.verify_workers if self.head() >= settings.parallel_verify_min_events else 1
        url = self.db.engine.url
        worker_url = (
            (url.database or None) if not self.db.sql.pg else url.render_as_string(hide_password=False)
        )
        with self.db.dbapi() as dbapi:
            return verify_ledger(
                dbapi,
                self.db.sql,
                chunk=settings.read_chunk_events,
                progress=progress,
                anchor=anchor,
                workers=workers,
                worker_url=worker_url,
                operator=operator,
                anchors=anchors,
            )

    def latest_checkpoint(self) -> str | None:
        rows = self.db.rows("SELECT checkpoint FROM batches ORDER BY first_position DESC LIMIT 1")
        return str(rows[0][0]) if rows else None

    def projection_rows(self) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.db.rows(SELECT_STATE + " ORDER BY battery_id")]

    def rebuild_projection(self) -> int:
        """Drop and recompute the projection from the events under the write lock; the number of batteries."""
        size = self.settings.read_chunk_events
        q = self.db.sql.q
        select_sql = q(
            "SELECT e.battery_id, e.event_type, b.actor, e.payload, e.event_hash, e.position "
            f"FROM events e {BATCH_OF_EVENT} WHERE e.position > ? ORDER BY e.position LIMIT ?"
        )
        placeholders = ", ".join("?" * len(STATE_COLUMNS))
        insert_sql = q(f"INSERT INTO battery_state ({', '.join(STATE_COLUMNS)}) VALUES ({placeholders})")
        with self.db.writing() as cur:

            def source() -> Iterator[tuple[str, str, str, dict[str, Any], str, int]]:
                last = 0
                while True:
                    cur.execute(select_sql, (last, size))
                    chunk = cur.fetchall()
                    if not chunk:
                        return
                    for bid, event_type, actor, payload, event_hash, position in chunk:
                        yield (
                            bid,
                            event_type,
                            actor,
                            orjson.loads(payload),
                            bytes(event_hash).hex(),
                            int(position),
                        )
                    last = int(chunk[-1][5])

            rows = fold_rows(source())
            cur.execute("DELETE FROM battery_state")
            cur.executemany(insert_sql, [row_to_db(r) for r in rows.values()])
        return len(rows)
