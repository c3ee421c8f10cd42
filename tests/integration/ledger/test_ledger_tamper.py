"""Verification names the first broken event for every kind of direct database tampering."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from batteryloop.domain.lifecycle import EventType as E
from batteryloop.ledger import EventIn, Ledger
from batteryloop.ledger.adapters.store import STORED_EVENT_COLUMNS
from batteryloop.ledger.core.integrity import (
    checkpoint_of,
    event_hash_of,
    events_hash_of,
    format_instant,
    prepare_events,
)

COLUMNS = ", ".join(STORED_EVENT_COLUMNS)


def populate(world: Any, bl: Any) -> None:
    """Three batches, eight events: positions 1-3, 4-6, 7-8."""
    world.maker.append(bl.manufactured("p1"), bl.manufactured("p2"), bl.manufactured("p3"))
    world.maker.append(
        bl.ev("p1", E.STATE_OF_HEALTH_REPORTED, {"soh_pct": 98.5}, minutes=1),
        bl.ev("p2", E.STATE_OF_HEALTH_REPORTED, {"soh_pct": 97.25}, minutes=1),
        bl.ev("p1", E.STATE_OF_HEALTH_REPORTED, {"soh_pct": 96.5}, minutes=2),
    )
    world.maker.append(
        bl.ev("p3", E.BATTERY_PLACED_ON_MARKET, {"country": "DE"}, minutes=3),
        bl.ev("p1", E.PASSPORT_DATA_REGISTERED, {"warranty_months": 24}, minutes=4),
    )
    assert world.ledger.verify().ok


def unlock(ledger: Ledger) -> None:
    """Drop the append-only guards, as an attacker with file or superuser access could."""
    with ledger.engine.begin() as conn:
        if ledger.sql.pg:
            conn.execute(text("ALTER TABLE events DISABLE TRIGGER USER"))
            conn.execute(text("ALTER TABLE batches DISABLE TRIGGER USER"))
        else:
            for table in ("events", "batches"):
                for action in ("update", "delete"):
                    conn.execute(text(f"DROP TRIGGER {table}_no_{action}"))


def tamper(ledger: Ledger, *statements: str) -> None:
    unlock(ledger)
    with ledger.engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


def broken(ledger: Ledger, *, parallel: bool = False) -> Any:
    """The first break; with ``parallel`` the two-process verify must report the very same one."""
    report = ledger.verify(workers=1)
    assert not report.ok
    assert report.first_broken is not None
    if parallel:
        assert ledger.verify(workers=2).first_broken == report.first_broken
    return report.first_broken


@pytest.fixture
def populated(world: Any, bl: Any) -> Any:
    populate(world, bl)
    return world


class TestSQLiteTampering:
    def test_append_only_triggers_refuse_update_and_delete(self, populated: Any) -> None:
        from sqlalchemy.exc import IntegrityError, OperationalError

        for statement in (
            "UPDATE events SET payload = '{}' WHERE position = 1",
            "DELETE FROM events",
            "DELETE FROM batches",
            "UPDATE batches SET event_count = 9",
        ):
            with (
                pytest.raises((IntegrityError, OperationalError), match="append-only"),
                populated.ledger.engine.begin() as conn,
            ):
                conn.execute(text(statement))
        assert populated.ledger.verify().ok

    def test_edited_payload(self, populated: Any) -> None:
        tamper(
            populated.ledger,
            "UPDATE events SET payload = replace(payload, '97.25', '99.25') WHERE position = 5",
        )
        b = broken(populated.ledger, parallel=True)
        assert (b.position, b.battery_id) == (5, "p2")
        assert "event hash does not match the event's fields (payload" in b.reason

    def test_edited_idempotency_digest(self, populated: Any) -> None:
        # the compact unique index of idempotency keys is part of the row too: an edit is a break
        tamper(populated.ledger, "UPDATE events SET idem_digest = zeroblob(16) WHERE position = 4")
        b = broken(populated.ledger, parallel=True)
        assert b.position == 4
        assert "idempotency digest" in b.reason

    def test_edited_payload_with_recomputed_event_hash_and_projection(self, populated: Any) -> None:
        """p2's last event (position 5) edited, its event hash and the projection recomputed: the stream is
        consistent again, but the batch's signed Merkle root no longer matches its events."""
        led = populated.ledger
        before = led.read_stream("p2")[-1]
        # the edited event's hashes, as the client code computes them
        [edited] = prepare_events(
            [EventIn("p2", before.event_type, before.occurred_at, {"soh_pct": 99.25})], actor=before.actor
        )
        forged = event_hash_of(
            position=5,
            event_id=before.event_id,
            battery_id="p2",
            stream_seq=before.stream_seq,
            recorded_at=format_instant(before.recorded_at),
            content_hash=edited.content_hash,
            prev_hash=before.prev_hash,
        )
        tamper(
            led,
            f"UPDATE events SET payload = '{edited.payload_text}', event_hash = X'{forged}', "
            f"idem_digest = X'{edited.idem_digest.hex()}' WHERE position = 5",
        )
        with led.engine.begin() as conn:
            conn.execute(text(f"UPDATE battery_state SET last_hash = '{forged}' WHERE battery_id = 'p2'"))
        b = broken(led, parallel=True)
        assert b.position == 4  # the batch 4-6, whose signed root covers the original content
        assert "Merkle root" in b.reason

    def test_deleted_event(self, populated: Any) -> None:
        tamper(populated.ledger, "DELETE FROM events WHERE position = 5")
        b = broken(populated.ledger, parallel=True)
        assert b.position == 5
        assert "missing" in b.reason

    def test_deleted_last_event(self, populated: Any) -> None:
        tamper(populated.ledger, "DELETE FROM events WHERE position = 8")
        b = broken(populated.ledger, parallel=True)
        assert b.position == 8
        assert "missing (found nothing)" in b.reason

    def test_edit_before_a_deleted_event_in_the_same_batch_is_reported_first(self, populated: Any) -> None:
        tamper(
            populated.ledger,
            "UPDATE events SET payload = replace(payload, '98.5', '99.5') WHERE position = 4",
            "DELETE FROM events WHERE position = 5",
        )
        b = broken(populated.ledger, parallel=True)
        assert (b.position, b.battery_id) == (4, "p1")
        assert "event hash does not match" in b.reason

    def test_deleted_event_is_named_even_when_the_next_batch_fills_the_count(self, populated: Any) -> None:
        # batch 4-6 loses position 5: its three rows would be 4, 6 and 7 (the next batch's first event)
        tamper(populated.ledger, "DELETE FROM events WHERE position = 5")
        b = broken(populated.ledger, parallel=True)
        assert b.position == 5
        assert "missing (found position 6)" in b.reason

    def test_reordered_events(self, populated: Any) -> None:
        tamper(
            populated.ledger,
            "UPDATE events SET position = -4 WHERE position = 4",
            "UPDATE events SET position = 4 WHERE position = 6",
            "UPDATE events SET position = 6 WHERE position = -4",
        )
        b = broken(populated.ledger, parallel=True)
        assert (b.position, b.battery_id) == (4, "p1")
        assert "sequence" in b.reason or "hash" in b.reason

    def test_inserted_event_after_the_last_batch(self, populated: Any) -> None:
        led = populated.ledger
        tamper(
            led,
            f"INSERT INTO events ({COLUMNS}) SELECT 9, 'forged-id', battery_id, stream_seq + 1, event_type, "
            "schema_version, occurred_at, payload, 'forged-key', randomblob(16), event_hash, event_hash "
            "FROM events WHERE position = 8",
        )
        b = broken(led)
        assert (b.position, b.event_id) == (9, "forged-id")
        assert "not covered by any signed batch" in b.reason

    def test_inserted_event_with_recomputed_chain_and_batch_header(self, populated: Any) -> None:
        """An attacker who fixes every hash they can compute is still caught by the signed Merkle root."""
        led = populated.ledger
        last = led.read_stream("p1")[-1]
        assert last.position == 8
        with led.engine.connect() as conn:
            batch = conn.execute(text("SELECT * FROM batches WHERE last_position = 8")).mappings().one()
        # the forged event's content hash and key digest, as a careful attacker computes them
        [forged] = prepare_events(
            [EventIn("p1", last.event_type, last.occurred_at, last.payload, "forged-key")], actor=last.actor
        )
        forged_idem = forged.idem_digest.hex()
        forged_hash = event_hash_of(
            position=9,
            event_id="forged-id",
            battery_id="p1",
            stream_seq=last.stream_seq + 1,
            recorded_at=format_instant(last.recorded_at),
            content_hash=forged.content_hash,
            prev_hash=last.event_hash,
        )
        with led.engine.connect() as conn:
            batch_hashes = (
                conn.execute(text("SELECT event_hash FROM events WHERE position >= 7 ORDER BY position"))
                .scalars()
                .all()
            )
        checkpoint = checkpoint_of(
            prev_checkpoint=batch["prev_checkpoint"],
            batch_id=batch["batch_id"],
            merkle_root=batch["merkle_root"],
            first_position=7,
            last_position=9,
            last_event_hash=forged_hash,
            events_hash=events_hash_of([*batch_hashes, bytes.fromhex(forged_hash)]),
        )
        tamper(
            led,
            f"INSERT INTO events ({COLUMNS}) SELECT 9, 'forged-id', battery_id, stream_seq + 1, event_type, "
            f"schema_version, occurred_at, payload, 'forged-key', X'{forged_idem}', event_hash, "
            f"X'{forged_hash}' FROM events WHERE position = 8",
            f"UPDATE batches SET last_position = 9, event_count = 3, checkpoint = '{checkpoint}' "
            "WHERE last_position = 8",
        )
        b = broken(led, parallel=True)
        assert b.position == 7  # the batch whose signed root no longer matches
        assert "Merkle root" in b.reason

    def test_truncated_tail_is_caught_by_the_projection(self, populated: Any) -> None:
        tamper(
            populated.ledger,
            "DELETE FROM events WHERE position >= 7",
            "DELETE FROM batches WHERE first_position = 7",
        )
        b = broken(populated.ledger)
        assert b.battery_id in {"p1", "p3"}
        assert "projection" in b.reason

    def test_truncated_tail_with_rebuilt_projection_is_caught_by_an_anchor(self, populated: Any) -> None:
        anchor = populated.ledger.latest_checkpoint()
        tamper(
            populated.ledger,
            "DELETE FROM events WHERE position >= 7",
            "DELETE FROM batches WHERE first_position = 7",
        )
        populated.ledger.rebuild_projection()
        assert populated.ledger.verify().ok  # without an outside anchor a clean truncation is invisible
        report = populated.ledger.verify(anchor=anchor)
        assert not report.ok
        assert report.first_broken is not None
        assert "trusted checkpoint" in report.first_broken.reason

    def test_edited_event_id_with_recomputed_stream_chain_is_caught_by_an_anchor(
        self, populated: Any
    ) -> None:
        """p2's events lie inside batches 1 and 2 (neither batch's last event): an attacker who changes the
        server-assigned event id and recomputes p2's chain and projection is still caught, because each
        checkpoint covers the hashes of all its batch's events, and the checkpoints chain to the anchor."""
        led = populated.ledger
        anchor = led.latest_checkpoint()
        stream = [
            {
                "position": e.position,
                "event_id": e.event_id,
                "stream_seq": e.stream_seq,
                "recorded_at": format_instant(e.recorded_at),
                "content_hash": e.content_hash,
            }
            for e in led.read_stream("p2")
        ]
        assert [r["position"] for r in stream] == [2, 5]
        prev, statements = "0" * 64, []
        for r in stream:
            event_id = "forged-id" if r["position"] == 2 else r["event_id"]
            h = event_hash_of(
                position=r["position"],
                event_id=event_id,
                battery_id="p2",
                stream_seq=r["stream_seq"],
                recorded_at=r["recorded_at"],
                content_hash=r["content_hash"],
                prev_hash=prev,
            )
            statements.append(
                f"UPDATE events SET event_id = '{event_id}', prev_hash = X'{prev}', event_hash = X'{h}' "
                f"WHERE position = {r['position']}"
            )
            prev = h
        tamper(led, *statements)
        with led.engine.begin() as conn:
            conn.execute(text(f"UPDATE battery_state SET last_hash = '{prev}' WHERE battery_id = 'p2'"))
        b = broken(led, parallel=True)
        assert b.position == 1  # the batch whose checkpoint no longer covers its events
        assert "checkpoint" in b.reason
        # and if the attacker also recomputes every checkpoint, only the outside anchor can tell
        self._recompute_checkpoints(led)
        assert led.verify().ok
        report = led.verify(anchor=anchor)
        assert not report.ok and report.first_broken is not None
        assert "trusted checkpoint" in report.first_broken.reason

    @staticmethod
    def _recompute_checkpoints(led: Ledger) -> None:

        with led.engine.begin() as conn:
            batches = conn.execute(text("SELECT * FROM batches ORDER BY first_position")).mappings().all()
            prev = "0" * 64
            for b in batches:
                hashes = (
                    conn.execute(
                        text(
                            "SELECT event_hash FROM events WHERE position BETWEEN :a AND :b ORDER BY position"
                        ),
                        {"a": b["first_position"], "b": b["last_position"]},
                    )
                    .scalars()
                    .all()
                )
                cp = checkpoint_of(
                    prev_checkpoint=prev,
                    batch_id=b["batch_id"],
                    merkle_root=b["merkle_root"],
                    first_position=b["first_position"],
                    last_position=b["last_position"],
                    last_event_hash=hashes[-1].hex(),
                    events_hash=events_hash_of(hashes),
                )
                conn.execute(
                    text("UPDATE batches SET prev_checkpoint = :p, checkpoint = :c WHERE batch_id = :i"),
                    {"p": prev, "c": cp, "i": b["batch_id"]},
                )
                prev = cp

    def test_edited_projection_is_named_by_one_or_two_processes(self, populated: Any) -> None:
        with populated.ledger.engine.begin() as conn:  # the projection is not append-only: no unlock
            conn.execute(text("UPDATE battery_state SET version = 1 WHERE battery_id = 'p2'"))
        b = broken(populated.ledger, parallel=True)
        assert (b.battery_id, b.position) == ("p2", 5)
        assert "projection is at version 1" in b.reason

    def test_projection_row_without_a_stream(self, populated: Any) -> None:
        with populated.ledger.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO battery_state SELECT 'ghost', state, custodian, manufacturer, parent_id, "
                    "pending_custodian, resume_state, soh_pct, predecessor_id, successor_id, version, "
                    "last_hash, 99, chemistry, category, level FROM battery_state WHERE battery_id = 'p2'"
                )
            )
        b = broken(populated.ledger, parallel=True)
        assert "the projection has 4 batteries, the ledger ends 3 streams" in b.reason

    def test_values_of_the_wrong_type(self, populated: Any) -> None:
        tamper(populated.ledger, "UPDATE events SET schema_version = 'one' WHERE position = 2")
        b = broken(populated.ledger)
        assert "malformed value" in b.reason
        assert "p2" in b.reason

    def test_event_hash_that_is_not_a_digest(self, populated: Any) -> None:
        tamper(populated.ledger, "UPDATE events SET event_hash = 'zz' WHERE position = 2")
        b = broken(populated.ledger)
        assert b.position == 2
        assert "event hash" in b.reason

    def test_forged_signature(self, populated: Any) -> None:
        tamper(populated.ledger, "UPDATE batches SET signature = zeroblob(64) WHERE first_position = 4")
        b = broken(populated.ledger)
        assert b.position == 4
        assert "signature" in b.reason

    def test_broken_checkpoint_chain(self, populated: Any) -> None:
        tamper(
            populated.ledger, f"UPDATE batches SET prev_checkpoint = '{'1' * 64}' WHERE first_position = 7"
        )
        b = broken(populated.ledger, parallel=True)
        assert b.position == 7
        assert "checkpoint" in b.reason

    def test_trace_reports_a_broken_stream(self, populated: Any) -> None:
        tamper(
            populated.ledger,
            "UPDATE events SET occurred_at = '2020-01-01T00:00:00.000000Z' WHERE position = 4",
        )
        trace = populated.ledger.trace("p1")
        assert not trace.chain_ok
        assert trace.chain_error is not None
        assert "position 4" in trace.chain_error
        assert populated.ledger.trace("p2").chain_ok


@pytest.mark.pg
class TestPostgreSQLTampering:
    @pytest.fixture
    def pg_world(self, pg_ledger: Ledger, bl: Any) -> Any:
        world = bl.build_world(pg_ledger)
        populate(world, bl)
        return world

    def test_append_only_trigger_refuses_update_and_delete(self, pg_world: Any) -> None:
        from sqlalchemy.exc import DBAPIError

        for statement in (
            "UPDATE events SET payload = '{}' WHERE position = 1",
            "DELETE FROM events",
            "TRUNCATE events",
        ):
            with pytest.raises(DBAPIError, match="append-only"), pg_world.ledger.engine.begin() as conn:
                conn.execute(text(statement))
        assert pg_world.ledger.verify().ok

    def test_edited_payload(self, pg_world: Any) -> None:
        tamper(
            pg_world.ledger,
            "UPDATE events SET payload = replace(payload, '97.25', '99.25') WHERE position = 5",
        )
        b = broken(pg_world.ledger)
        assert (b.position, b.battery_id) == (5, "p2")

    def test_deleted_event(self, pg_world: Any) -> None:
        tamper(pg_world.ledger, "DELETE FROM events WHERE position = 2")
        b = broken(pg_world.ledger)
        assert b.position == 2
        assert "missing" in b.reason


def test_stored_values_that_need_json_escaping_verify_and_edits_to_them_are_caught(
    any_ledger: Ledger, bl: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verify reads an event's id and time as JSON strings quoted by the database (the canonical form of
    every value this ledger writes); a stored value that JSON must escape (an id from another system with a
    quote, a backslash, a newline or a non-ASCII letter) is checked again exactly and passes, on SQLite and
    PostgreSQL; an edit to such a value is still named."""
    from batteryloop.ledger.adapters import store

    marks = ['"', "\\", "\n", "é", "\t"]
    odd = (f"evt{marks[n % len(marks)]}{n}" for n in range(1000))
    monkeypatch.setattr(store, "new_event_ids", lambda count: [next(odd) for _ in range(count)])
    world = bl.build_world(any_ledger)
    world.maker.append(bl.manufactured("q1"), bl.manufactured("q2"))
    world.maker.append(
        bl.ev("q1", E.STATE_OF_HEALTH_REPORTED, {"soh_pct": 98.5}, minutes=1),
        bl.ev("q2", E.STATE_OF_HEALTH_REPORTED, {"soh_pct": 97.0}, minutes=1),
    )
    stored = [e.event_id for e in any_ledger.iter_events()]
    assert {m for m in marks if any(m in i for i in stored)} >= {'"', "\\", "\t", "é"}, stored
    assert any_ledger.verify(workers=1).ok
    assert any_ledger.verify(workers=2).ok
    position = next(e.position for e in any_ledger.iter_events() if '"' in e.event_id)
    tamper(any_ledger, f"UPDATE events SET event_id = event_id || ' ' WHERE position = {position}")
    first = broken(any_ledger, parallel=True)
    assert first.position == position and "event hash does not match" in first.reason
