"""The global Merkle tree on a real ledger: grown on append, signed heads at the cadence, proofs, verify."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batteryloop.domain.lifecycle import EventType as E
from batteryloop.ledger import Ledger, service
from batteryloop.ledger.core.bundle import verify_bundle
from batteryloop.ledger.core.checkpoint import open_checkpoint
from batteryloop.ledger.core.merkle import (
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

from .test_ledger_tamper import tamper


def grow(world: Any, bl: Any, batteries: int, *, start: int = 0) -> None:
    for i in range(start, start + batteries):
        world.maker.append(
            bl.manufactured(f"b{i}"),
            bl.ev(f"b{i}", E.STATE_OF_HEALTH_REPORTED, {"soh_pct": 99.0}, minutes=1),
            bl.ev(f"b{i}", E.BATTERY_PLACED_ON_MARKET, {"country": "DE"}, minutes=2),
        )


def event_leaves(ledger: Ledger) -> list[bytes]:
    return [leaf_hash(bytes.fromhex(e.event_hash)) for e in ledger.iter_events()]


@pytest.fixture
def signed(world: Any, bl: Any) -> Any:
    ledger = world.ledger
    ledger.keystore().save("_operator", bl.OPERATOR_KEY)  # the operator that admitted the world's keys
    ledger.settings = ledger.settings.with_(checkpoint_every_events=10)
    ledger._ingest.tree.every = 10
    # 39 events in 13 batches: heads at 12, 21 and 30 (crossing 10, 20, 30), and at 3: the first append after
    # the key log's entries signs a head that covers them
    grow(world, bl, 13)
    assert ledger.sign_tree_head().size == 39  # and one on demand
    assert ledger.sign_tree_head().checkpoint == ledger.tree.head(39).checkpoint  # signed once per size
    return world


def test_tree_root_is_rfc6962_over_the_event_hashes(any_ledger: Ledger, bl: Any) -> None:
    from tests.conftest import build_world

    world = build_world(any_ledger)
    grow(world, bl, 7)  # 21 events: nodes of level 4 exist
    leaves = event_leaves(any_ledger)
    assert any_ledger.tree.head().root == root_of(leaves)
    assert any_ledger.tree.head(5).root == root_of(leaves[:5])
    assert any_ledger.verify().ok


def test_heads_are_signed_at_the_cadence_and_verify(signed: Any) -> None:
    ledger = signed.ledger
    heads = ledger.tree.heads()
    assert [h.size for h in heads] == [3, 12, 21, 30, 39]
    count = len(ledger.key_entries())
    assert [h.checkpoint.keylog[0] for h in heads] == [count] * 5
    verifier = ledger.operator_verifier()
    leaves = event_leaves(ledger)
    for h in heads:
        cp = open_checkpoint(h.checkpoint.note, [verifier])
        assert cp.size == h.size and cp.root == root_of(leaves[: h.size])
    assert ledger.verify().ok
    assert ledger.verify(workers=2).ok


def test_inclusion_and_consistency_proofs_verify(signed: Any) -> None:
    ledger = signed.ledger
    leaves = event_leaves(ledger)
    for size in (1, 17, 39):
        head, proofs, data = ledger.tree.proofs(list(range(1, size + 1)), size)
        for pos, proof, d in zip(range(1, size + 1), proofs, data, strict=True):
            verify_inclusion(pos - 1, size, leaf_hash(d), proof, head.root)
    for old in (1, 12, 16, 21, 39):
        old_head, new_head, proof = ledger.tree.consistency(old, None)
        verify_consistency(old, 39, old_head.root, new_head.root, proof)
        assert old_head.root == root_of(leaves[:old])


def test_edited_tree_node_is_caught(signed: Any) -> None:
    tamper(signed.ledger)
    with signed.ledger.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER tree_nodes_no_update")
        conn.exec_driver_sql(
            "UPDATE tree_nodes SET hash = zeroblob(32) WHERE end_position = 32 AND level = 4"
        )
    report = signed.ledger.verify(workers=1)
    assert not report.ok and "global tree node" in report.first_broken.reason
    assert signed.ledger.verify(workers=2).first_broken == report.first_broken


def test_forged_stored_head_is_caught(signed: Any) -> None:
    with signed.ledger.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER tree_heads_no_update")
        conn.exec_driver_sql("UPDATE tree_heads SET root_hash = zeroblob(32) WHERE tree_size = 21")
    report = signed.ledger.verify()
    assert not report.ok and "tree head of size 21" in report.first_broken.reason


def test_truncation_with_rebuilt_projection_is_caught_by_published_heads(signed: Any, tmp_path: Path) -> None:
    """The hole: delete the newest batches, rebuild the projection: verify passes, unless a published head is
    given."""
    ledger = signed.ledger
    published = ledger.tree.head().checkpoint.note
    # the attacker deletes the last two batches and every trace of them in the tree tables
    tamper(
        ledger,
        "DELETE FROM events WHERE position > 33",
        "DELETE FROM batches WHERE first_position > 33",
    )
    with ledger.engine.begin() as conn:
        for t in ("tree_nodes", "tree_heads"):
            conn.exec_driver_sql(f"DROP TRIGGER {t}_no_delete")
        conn.exec_driver_sql("DELETE FROM tree_nodes WHERE end_position > 33")
        conn.exec_driver_sql("DELETE FROM tree_heads WHERE tree_size > 33")
    ledger.rebuild_projection()
    assert ledger.verify().ok  # invisible from inside
    report = service.verify(ledger, published_heads=published)
    assert not report.ok
    assert "larger than the ledger" in report.first_broken.reason


def test_rewritten_history_is_inconsistent_with_a_published_head(signed: Any, bl: Any) -> None:
    """Truncate, then append other events up to a larger size: the published head is smaller but the tree is
    not an extension of it."""
    ledger = signed.ledger
    published = ledger.tree.heads()[2].checkpoint.note  # size 21 (3: the key log's head)
    assert service.verify(ledger, published_heads=published).ok
    tamper(ledger, "DELETE FROM events WHERE position > 18", "DELETE FROM batches WHERE first_position > 18")
    with ledger.engine.begin() as conn:
        for t in ("tree_nodes", "tree_heads"):
            conn.exec_driver_sql(f"DROP TRIGGER {t}_no_delete")
        conn.exec_driver_sql("DELETE FROM tree_nodes WHERE end_position > 18")
        conn.exec_driver_sql("DELETE FROM tree_heads WHERE tree_size > 18")
    ledger.rebuild_projection()
    ledger._ingest.cache.reset()
    ledger._ingest.tree.frontiers.clear()
    grow(signed, bl, 3, start=100)
    assert ledger.verify().ok
    report = service.verify(ledger, published_heads=published)
    assert not report.ok and "rewritten" in report.first_broken.reason


def test_bundle_verifies_without_the_database(signed: Any) -> None:
    ledger = signed.ledger
    bundle = service.bundle_for(ledger, "b3", since=12)
    keys = ledger.keys_document()
    heads = [h.checkpoint.note for h in ledger.tree.heads()]
    report = verify_bundle(bundle, keys=keys, published=[heads[1]])  # size 12
    assert report.ok, report.checks
    assert [c.name for c in report.checks] == [
        "checkpoint signed by the operator",
        "event hashes",
        "stream chain",
        "batch roots and signatures",
        "inclusion in the global tree",
        "consistent with the published heads",
    ]
    # a payload edited in the served JSON breaks the hashes; a dropped event breaks the chain
    edited = {**bundle, "events": [dict(e) for e in bundle["events"]]}
    edited["events"][1]["payload"] = {"soh_pct": 42.0}
    bad = verify_bundle(edited, keys=keys, published=[heads[0]])
    assert not bad.ok and not bad.checks[1].ok
    dropped = {**bundle, "events": [bundle["events"][0], bundle["events"][2]]}
    assert not verify_bundle(dropped, keys=keys).checks[2].ok
