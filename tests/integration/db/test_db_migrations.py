"""Migrations upgrade empty SQLite and PostgreSQL databases to head and back down to nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

from batteryloop.db import downgrade, make_engine, upgrade
from batteryloop.db.engine import database_url, normalise_url
from batteryloop.db.migrate import current_revision, head_revision
from batteryloop.db.schema import metadata
from batteryloop.domain.lifecycle import EventType as E
from batteryloop.ledger import Ledger

LEDGER_TABLES = set(metadata.tables)


def _roundtrip(url: str) -> None:
    engine = make_engine(url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision(engine)
        tables = set(inspect(engine).get_table_names())
        assert tables >= LEDGER_TABLES
        for table in LEDGER_TABLES:  # migrations create exactly the columns the Core tables declare
            columns = {c["name"] for c in inspect(engine).get_columns(table)}
            assert columns == set(metadata.tables[table].columns.keys()), table
        upgrade(engine)  # idempotent
        downgrade(engine)
        assert current_revision(engine) is None
        assert not (LEDGER_TABLES & set(inspect(engine).get_table_names()))
        upgrade(engine)  # and up again after a full downgrade
        assert current_revision(engine) == head_revision(engine)
    finally:
        engine.dispose()


def test_sqlite_upgrade_and_downgrade(tmp_path: Path) -> None:
    _roundtrip(f"sqlite:///{tmp_path / 'm.db'}")


def test_sqlite_runs_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    engine.dispose()
    with pytest.raises(ValueError, match="sqlite_synchronous"):
        make_engine(f"sqlite:///{tmp_path / 'x.db'}", sqlite_synchronous="OFF")


def test_default_url_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BATTERYLOOP_DATABASE_URL", raising=False)
    assert database_url() == "sqlite:///./batteryloop.db"
    monkeypatch.setenv("BATTERYLOOP_DATABASE_URL", "sqlite:////tmp/elsewhere.db")
    assert database_url() == "sqlite:////tmp/elsewhere.db"
    assert database_url("sqlite:///given.db") == "sqlite:///given.db"
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"


@pytest.mark.pg
def test_postgresql_upgrade_and_downgrade(pg_url: str) -> None:
    engine = make_engine(pg_url)
    downgrade(engine)  # the session database may hold tables from other tests
    engine.dispose()
    _roundtrip(pg_url)
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        grants = (
            conn.execute(
                text(
                    "SELECT privilege_type FROM information_schema.role_table_grants "
                    "WHERE table_name = 'events' AND grantee = 'PUBLIC'"
                )
            )
            .scalars()
            .all()
        )
        triggers = (
            conn.execute(
                text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'events'::regclass AND NOT tgisinternal")
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert not {"UPDATE", "DELETE", "TRUNCATE"} & set(grants)
    assert set(triggers) == {"events_append_only", "events_no_truncate"}


def _key_log(ledger: Ledger) -> list[Any]:
    """The key log's rows, to put back after a downgrade below 0005 (which drops it) and the upgrade."""
    with ledger.engine.connect() as conn:
        return list(conn.execute(text("SELECT * FROM key_entries ORDER BY seq")).mappings())


def _restore_key_log(ledger: Ledger, rows: list[Any]) -> None:
    from batteryloop.db.schema import key_entries

    with ledger.engine.begin() as conn:
        conn.execute(key_entries.insert(), [dict(r) for r in rows])


def test_0002_rewrites_idempotency_digests(any_ledger: Ledger, bl: Any) -> None:
    """0002 rewrites the idempotency digests of 64-hex keys (default keys included) and 0001 restores them."""
    ledger = any_ledger
    world = bl.build_world(ledger)
    hex_key = "ab" * 32
    world.maker.append(
        bl.manufactured("p1"),  # default key
        bl.ev("p1", E.BATTERY_PLACED_ON_MARKET, {"country": "DE"}, key="order-17"),
        bl.manufactured("p2"),
    )
    world.maker.append(bl.ev("p2", E.BATTERY_PLACED_ON_MARKET, {"country": "FR"}, key=hex_key))
    assert ledger.verify().ok
    keys = [e.idempotency_key for b in ("p1", "p2") for e in ledger.read_stream(b)]

    def stored() -> list[bytes]:
        with ledger.engine.connect() as conn:
            rows = conn.execute(text("SELECT battery_id, stream_seq, idem_digest FROM events")).all()
        by_event = {(r[0], r[1]): bytes(r[2]) for r in rows}
        return [by_event[(b, s)] for b in ("p1", "p2") for s in (1, 2)]

    sha = [hashlib.sha256(k.encode()).digest()[:16] for k in keys]
    at_0002 = [bytes.fromhex(k)[:16] if len(k) == 64 else s for k, s in zip(keys, sha, strict=True)]
    client = {"order-17", hex_key}  # keys the client chose: scoped per organisation since 0008
    head = [
        hashlib.sha256(b"maker\x00" + k.encode()).digest()[:16] if k in client else d
        for k, d in zip(keys, at_0002, strict=True)
    ]
    assert stored() == head
    key_log = _key_log(ledger)
    downgrade(ledger.engine, "0007_merkle")  # the revision before the scoped keys
    assert stored() == at_0002
    downgrade(ledger.engine, "0001")
    assert stored() == sha  # every key hashed, as 0001 wrote them
    assert not ledger.verify().ok  # today's code expects the 0002 digests
    upgrade(ledger.engine)
    _restore_key_log(ledger, key_log)
    assert stored() == head
    assert ledger.verify().ok
    with pytest.raises(Exception, match="append-only"), ledger.engine.begin() as conn:
        conn.execute(text("UPDATE events SET idem_digest = idem_digest"))  # the trigger is back


def test_0003_rechains_checkpoints(any_ledger: Ledger, bl: Any) -> None:
    """0003 re-chains every checkpoint over all its batch's event hashes; downgrading re-chains without."""
    ledger = any_ledger
    world = bl.build_world(ledger)
    world.maker.append(bl.manufactured("p1"), bl.manufactured("p2"))
    world.maker.append(bl.ev("p1", E.BATTERY_PLACED_ON_MARKET, {"country": "DE"}))
    head_checkpoint = ledger.latest_checkpoint()
    key_log = _key_log(ledger)
    downgrade(ledger.engine, "0002")
    old_checkpoint = ledger.latest_checkpoint()
    assert old_checkpoint != head_checkpoint
    report = ledger.verify()
    assert not report.ok and report.first_broken is not None
    assert "checkpoint does not match" in report.first_broken.reason
    upgrade(ledger.engine)
    _restore_key_log(ledger, key_log)
    assert ledger.latest_checkpoint() == head_checkpoint  # the same chain the write path built
    assert ledger.verify(anchor=head_checkpoint).ok
    with pytest.raises(Exception, match="append-only"), ledger.engine.begin() as conn:
        conn.execute(text("UPDATE batches SET checkpoint = checkpoint"))  # the trigger is back


def test_0004_drops_and_restores_derived_columns(any_ledger: Ledger, bl: Any) -> None:
    """0004 drops the derived per-event columns; downgrading restores them with the values reads derive."""
    ledger = any_ledger
    world = bl.build_world(ledger)
    world.maker.append(bl.manufactured("p1"), bl.manufactured("p2"))
    world.maker.append(bl.ev("p1", E.BATTERY_PLACED_ON_MARKET, {"country": "DE"}, key="order-9"))
    envelopes = {e.position: e for b in ("p1", "p2") for e in ledger.read_stream(b)}
    key_log = _key_log(ledger)
    downgrade(ledger.engine, "0003")
    with ledger.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT position, actor, recorded_at, batch_id, payload_hash, content_hash FROM events")
        ).all()
    assert len(rows) == 3
    for position, actor, recorded_at, batch_id, payload_hash, content_hash in rows:
        e = envelopes[position]
        assert (actor, batch_id, bytes(payload_hash).hex(), bytes(content_hash).hex()) == (
            e.actor,
            e.batch_id,
            e.payload_hash,
            e.content_hash,
        )
        assert recorded_at == e.recorded_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    upgrade(ledger.engine)
    _restore_key_log(ledger, key_log)
    assert {e.position: e for b in ("p1", "p2") for e in ledger.read_stream(b)} == envelopes
    assert ledger.verify().ok


def test_0007_builds_the_global_tree_of_an_existing_ledger(any_ledger: Ledger, bl: Any) -> None:
    """Upgrading a ledger that has events builds its tree nodes from them: the same as grown on append."""
    from batteryloop.ledger.core.merkle import leaf_hash, root_of

    ledger = any_ledger
    world = bl.build_world(ledger)
    for i in range(9):  # 27 events: nodes of level 4 exist
        world.maker.append(
            bl.manufactured(f"m{i}"), *(bl.ev(f"m{i}", E.STATE_OF_HEALTH_REPORTED, {"soh_pct": 90.0 + k}, minutes=k)
                                        for k in (1, 2))
        )  # fmt: skip
    with ledger.engine.connect() as conn:
        grown = conn.execute(text("SELECT end_position, level, hash FROM tree_nodes ORDER BY 1, 2")).all()
    assert [(e, lv) for e, lv, _ in grown] == [(16, 4)]
    downgrade(ledger.engine, "0006_keys")  # the revision before the tree
    upgrade(ledger.engine)
    with ledger.engine.connect() as conn:
        rebuilt = conn.execute(text("SELECT end_position, level, hash FROM tree_nodes ORDER BY 1, 2")).all()
    assert [tuple(r) for r in rebuilt] == [tuple(r) for r in grown]
    ledger._ingest.tree.frontiers.clear()
    leaves = [leaf_hash(bytes.fromhex(e.event_hash)) for e in ledger.iter_events()]
    assert ledger.tree.head().root == root_of(leaves)
    assert ledger.verify().ok


def test_0008_scopes_stored_client_keys_per_organisation(any_ledger: Ledger, bl: Any) -> None:
    """Upgrading a 0007 database rewrites each stored client key's digest with its batch's actor: afterwards
    another organisation may use the same key, and the owner's replay is still recognised."""
    ledger = any_ledger
    world = bl.build_world(ledger)
    placed = bl.ev("p1", E.BATTERY_PLACED_ON_MARKET, {"country": "DE"}, key="order-17")
    world.maker.append(bl.manufactured("p1"), placed)
    downgrade(ledger.engine, "0007_merkle")  # the database as 0007 left it: the key's digest is global
    with ledger.engine.connect() as conn:
        digest = conn.execute(text("SELECT idem_digest FROM events WHERE position = 2")).scalar_one()
    assert bytes(digest) == hashlib.sha256(b"order-17").digest()[:16]  # (verify reads today's schema only)
    upgrade(ledger.engine)
    with ledger.engine.connect() as conn:
        digest = conn.execute(text("SELECT idem_digest FROM events WHERE position = 2")).scalar_one()
    assert bytes(digest) == hashlib.sha256(b"maker\x00order-17").digest()[:16]
    assert ledger.verify().ok
    ledger.rebuild_projection()  # the stream cache of this Ledger object predates the downgrade
    replay = world.maker.append(placed)
    assert (replay.appended, replay.duplicates, replay.first_position) == (0, 1, 2)
    rival = bl.add_actor(ledger, "rival")
    theirs = rival.append(
        bl.manufactured("r1"), bl.ev("r1", E.BATTERY_PLACED_ON_MARKET, {"country": "FR"}, key="order-17")
    )
    assert theirs.appended == 2
    with pytest.raises(Exception, match="append-only"), ledger.engine.begin() as conn:
        conn.execute(text("UPDATE events SET idem_digest = idem_digest"))  # the trigger is back


def test_0012_keys_heads_by_tree_size_and_key_count(any_ledger: Ledger, bl: Any) -> None:
    """0012 keeps every head with the key-log count of its note; a second head at one size (signed after a
    key entry) is stored beside the first; downgrading keeps the one covering more key entries; the heads stay
    append-only."""
    ledger = any_ledger
    world = bl.build_world(ledger)
    world.maker.append(bl.manufactured("h1"))
    first = ledger.tree.sign(bl.OPERATOR_KEY, signed_at="2026-12-03T00:00:00Z")
    bl.add_actor(ledger, "late")  # a key entry after that head
    second = ledger.tree.sign(bl.OPERATOR_KEY, signed_at="2026-12-03T00:00:01Z")
    assert first.checkpoint is not None and second.checkpoint is not None
    assert first.checkpoint.keylog is not None and second.checkpoint.keylog is not None
    assert second.size == first.size and second.checkpoint.keylog[0] == first.checkpoint.keylog[0] + 1
    downgrade(ledger.engine, "0011_compepr")
    with ledger.engine.connect() as conn:
        notes = conn.execute(
            text("SELECT note FROM tree_heads WHERE tree_size = :s"), {"s": first.size}
        ).all()
    assert [n for (n,) in notes] == [second.checkpoint.note]
    upgrade(ledger.engine)
    with ledger.engine.connect() as conn:
        rows = conn.execute(text("SELECT tree_size, key_count FROM tree_heads ORDER BY 1, 2")).all()
    assert [tuple(r) for r in rows][-1] == (second.size, second.checkpoint.keylog[0])
    assert ledger.verify().ok
    with pytest.raises(Exception, match="append-only"), ledger.engine.begin() as conn:
        conn.execute(text("DELETE FROM tree_heads"))
