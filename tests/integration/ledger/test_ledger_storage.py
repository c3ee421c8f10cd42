"""How events are stored: hashes as 32-byte digests, a 16-byte unique digest of the idempotency key, and the
default key left out (recomputed on read) - while the envelope still carries every hash and key as text."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

from batteryloop.domain.errors import StorageError
from batteryloop.domain.lifecycle import EventType as E
from batteryloop.ledger import Ledger
from batteryloop.ledger.core.integrity import prepare_events


def test_stored_digests_and_keys_round_trip_to_the_envelope(world: Any, bl: Any) -> None:
    events = [bl.manufactured("p1"), bl.ev("p1", E.BATTERY_PLACED_ON_MARKET, {"country": "DE"}, key="k-1")]
    world.maker.append(*events)
    with world.ledger.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT idempotency_key, idem_digest, prev_hash, event_hash FROM events ORDER BY position")
        ).all()
        columns = {c["name"] for c in inspect(conn).get_columns("events")}
    # derived fields are not stored per event (migration 0004): they come from the batch or are recomputed
    assert not columns & {"actor", "recorded_at", "batch_id", "payload_hash", "content_hash"}
    assert rows[0][0] is None  # default key: a function of the content fields, not stored
    assert rows[1][0] == "k-1"
    assert all(len(r[1]) == 16 and all(len(h) == 32 for h in r[2:]) for r in rows)

    stream = world.ledger.read_stream("p1")
    prepared = prepare_events(events, actor="maker")
    for ev, p, row in zip(stream, prepared, rows, strict=True):
        assert (ev.idempotency_key, ev.payload_hash, ev.content_hash) == (
            p.idempotency_key,
            p.payload_hash,
            p.content_hash,
        )
        assert (ev.actor, ev.batch_id) == ("maker", stream[0].batch_id)
        if p.default_key:  # 64 hex digits: the index holds their first 16 bytes as they are
            assert row[1] == bytes.fromhex(p.idempotency_key)[:16]
        else:
            assert row[1] == hashlib.sha256(b"maker\x00" + p.idempotency_key.encode()).digest()[:16]
        assert (ev.prev_hash, ev.event_hash) == (row[2].hex(), row[3].hex())
    assert stream[0].prev_hash == "0" * 64 and stream[1].prev_hash == stream[0].event_hash
    assert world.ledger.trace("p1").chain_ok
    # the default key is still the key: replaying the event is a duplicate, not a new row
    again = world.maker.append(events[0])
    assert (again.appended, again.duplicates) == (0, 1)
    assert world.ledger.verify().ok


def test_database_errors_reach_callers_as_domain_errors(tmp_path: Path, world: Any) -> None:
    not_a_database = tmp_path / "notes.db"
    not_a_database.write_bytes(b"these are notes, not a SQLite database" * 200)
    with pytest.raises(StorageError, match="not a database"):
        Ledger.open(f"sqlite:///{not_a_database}")
    with world.ledger.engine.begin() as conn:
        conn.execute(text("DROP TABLE codes"))
    with pytest.raises(StorageError, match="no such table: codes"):
        world.ledger.find_by_code("gs1", "09506000134352/1")
