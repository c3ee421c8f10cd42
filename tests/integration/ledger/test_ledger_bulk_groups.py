"""append_bulk groups small batches that arrive while a commit runs into one transaction.

A slow commit (patched to sleep first) makes the next batches arrive "faster than commits", so they are
written together; each keeps its own batch row, Merkle root, signature and checkpoint. If one batch of a
group fails, the batches before it commit, its error is raised, and the ones after it are not written.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from batteryloop.domain.errors import NotFoundError, SignatureError, ValidationError
from batteryloop.domain.lifecycle import EventType as E
from batteryloop.ledger import EventIn, Ledger, LedgerSettings
from batteryloop.ledger.adapters.ingest import Ingest
from batteryloop.ledger.core.integrity import prepare_events


@pytest.fixture
def groups(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Slow every commit down and record the number of batches each group transaction holds."""
    sizes: list[int] = []
    write, commit = Ingest._write_group, Ingest._commit_group

    def recording_write(self: Ingest, group: Any, *args: Any) -> Any:
        sizes.append(len(group))  # also a group validated while the previous commit ran
        return write(self, group, *args)

    def slow_commit(self: Ingest, open_write: Any) -> Any:
        time.sleep(0.3)
        return commit(self, open_write)

    monkeypatch.setattr(Ingest, "_write_group", recording_write)
    monkeypatch.setattr(Ingest, "_commit_group", slow_commit)
    return sizes


def small_batches(world: Any, bl: Any, count: int) -> list[Any]:
    return [world.maker.sign([bl.manufactured(f"u{i}a"), bl.manufactured(f"u{i}b")]) for i in range(count)]


def test_batches_arriving_during_a_commit_share_one_transaction(
    any_ledger: Ledger, bl: Any, groups: list[int]
) -> None:
    world = bl.build_world(any_ledger)
    seen: list[int] = []
    assert any_ledger.append_bulk(small_batches(world, bl, 6), progress=seen.append) == 12
    assert groups == [1, 5]  # the first batch alone; the other five arrived while it committed
    assert seen == [2] * 6
    counts = any_ledger.counts()
    assert (counts.events, counts.batches) == (12, 6)  # one batch row (root, signature, checkpoint) each
    report = any_ledger.verify()
    assert report.ok, report
    assert report.batches_checked == 6
    assert any_ledger.status("u5b").version == 1


def test_a_group_validated_during_a_commit_is_validated_again_if_another_writer_appended(
    any_ledger: Ledger, bl: Any, groups: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next group is validated while the previous one commits, assuming nobody else appends. Another
    writer that gets the lock in between moves the head: the speculation is dropped, nothing of it is
    written, and the group is validated again under the lock."""
    world = bl.build_world(any_ledger)
    other = bl.add_actor(any_ledger, "other-maker")
    speculate = Ingest._speculate

    def speculate_then_someone_appends(self: Ingest, group: Any) -> Any:
        result = speculate(self, group)
        assert result is not None
        url = self.db.engine.url.render_as_string(hide_password=False)
        concurrent = Ledger.open(url, create=False)  # waits for the running commit's lock, then appends
        concurrent.append(other.sign([bl.manufactured("elsewhere")]))
        concurrent.close()
        return result

    monkeypatch.setattr(Ingest, "_speculate", speculate_then_someone_appends)
    assert any_ledger.append_bulk(small_batches(world, bl, 6)) == 12
    assert groups == [1, 5, 5]  # the speculated group of five was validated again under the lock
    counts = any_ledger.counts()
    assert (counts.events, counts.batches) == (13, 7)
    assert [e.position for e in any_ledger.read_stream("elsewhere")] == [3]
    assert any_ledger.verify().ok


def test_a_failing_batch_in_a_group_commits_those_before_it_and_raises(
    any_ledger: Ledger, bl: Any, groups: list[int]
) -> None:
    world = bl.build_world(any_ledger)
    batches = small_batches(world, bl, 6)
    # batch 3 reports on a battery nobody registered: it fails only under the write lock
    batches[3] = world.maker.sign([bl.ev("ghost", E.STATE_OF_HEALTH_REPORTED, {"soh_pct": 90.0})])
    seen: list[int] = []
    with pytest.raises(NotFoundError, match="battery ghost is not registered"):
        any_ledger.append_bulk(batches, progress=seen.append)
    assert groups == [1, 5]  # batches 1-5 were written as one group, rolled back, re-applied one by one
    assert seen == [2, 2, 2]  # batches 0, 1, 2
    counts = any_ledger.counts()
    assert (counts.events, counts.batches) == (6, 3)
    assert any_ledger.status("u2b").version == 1
    with pytest.raises(NotFoundError):
        any_ledger.status("u4a")  # after the failing batch: not written
    assert any_ledger.verify().ok


def test_a_bad_signature_commits_the_gathered_batches_before_it(
    any_ledger: Ledger, bl: Any, groups: list[int]
) -> None:
    world = bl.build_world(any_ledger)
    batches = small_batches(world, bl, 5)
    batches[3] = dataclasses.replace(batches[3], signature=bytes(64))
    with pytest.raises(SignatureError):
        any_ledger.append_bulk(batches)
    assert groups == [1, 2]  # batch 0, then batches 1-2 gathered during its commit, flushed before raising
    counts = any_ledger.counts()
    assert (counts.events, counts.batches) == (6, 3)
    assert any_ledger.verify().ok


def test_a_replayed_group_is_reported_as_duplicates(any_ledger: Ledger, bl: Any, groups: list[int]) -> None:
    world = bl.build_world(any_ledger)
    batches = small_batches(world, bl, 4)
    assert any_ledger.append_bulk(batches) == 8
    seen: list[int] = []
    assert any_ledger.append_bulk(batches, progress=seen.append) == 0
    assert seen == [2] * 4
    assert any_ledger.counts().batches == 4


@pytest.fixture
def forking(tmp_path: Any) -> Iterator[Ledger]:
    """A ledger that prepares any list of batches ahead in a forked helper process."""
    settings = LedgerSettings.from_file().with_(parallel_prepare_min_events=1)
    led = Ledger.open(f"sqlite:///{tmp_path / 'f.db'}", settings=settings)
    yield led
    led.close()


def test_batches_prepared_in_a_helper_process_equal_those_prepared_here(forking: Ledger, bl: Any) -> None:
    world = bl.build_world(forking)
    batches = small_batches(world, bl, 5)
    ahead = list(forking._ingest._prepared_ahead(batches))
    assert [b for b, _ in ahead] == batches
    for batch, precomputed in ahead:
        assert precomputed is not None  # computed by the helper process
        prepared, root = precomputed
        here = prepare_events(batch.events, actor="maker")
        for p, h in zip(prepared.rows(), here, strict=True):
            # the helper also runs the domain's payload check
            assert p.payload_checked
            assert dataclasses.replace(p, payload_checked=False) == h
        assert root == batch.merkle_root
    assert forking.append_bulk(batches) == 10
    assert forking.verify().ok


def test_a_payload_the_helper_flags_is_still_refused_in_order(forking: Ledger, bl: Any) -> None:
    world = bl.build_world(forking)
    batches = small_batches(world, bl, 3)
    # placed on market without a country: the helper flags it, the write path raises, nothing of it is written
    batches[1] = world.maker.sign([bl.manufactured("v1"), bl.ev("v1", E.BATTERY_PLACED_ON_MARKET, minutes=1)])
    with pytest.raises(ValidationError, match="lacks 'country'"):
        forking.append_bulk(batches)
    assert (forking.counts().events, forking.counts().batches) == (2, 1)


def test_errors_in_prepared_ahead_batches_are_raised_here_after_the_batches_before(
    forking: Ledger, bl: Any
) -> None:
    world = bl.build_world(forking)
    batches = small_batches(world, bl, 5)
    naive = EventIn("u9", E.BATTERY_MANUFACTURED, datetime(2025, 1, 1), {"level": "pack"})
    batches[2] = dataclasses.replace(batches[2], events=(naive,))  # signature no longer matters: fails first
    batches[4] = dataclasses.replace(batches[4], signature=bytes(64))
    with pytest.raises(ValidationError, match="no time zone"):
        forking.append_bulk(batches)
    assert (forking.counts().events, forking.counts().batches) == (4, 2)
    with pytest.raises(SignatureError):
        forking.append_bulk(batches[3:])
    assert forking.counts().batches == 3
    assert forking.verify().ok


def test_parallel_verify_tolerates_an_append_that_moves_a_projection_row_past_its_snapshot(
    world: Any, bl: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers read the projection on connections of their own; an append after the parent's snapshot moves
    p1's row past the snapshot's head. The parent re-checks such rows in its own snapshot: no false alarm."""
    from batteryloop.ledger.adapters import verify as verify_module

    world.maker.append(bl.manufactured("p2"))
    world.maker.append(bl.manufactured("p1"))
    world.maker.append(bl.ev("p2", E.STATE_OF_HEALTH_REPORTED, {"soh_pct": 98.0}, minutes=1))
    world.maker.append(bl.ev("p1", E.STATE_OF_HEALTH_REPORTED, {"soh_pct": 99.0}, minutes=1))
    original = verify_module.verify_segment
    url = world.ledger.engine.url.render_as_string(hide_password=False)

    def append_then_verify(cur: Any, sql: Any, batch_rows: Any, *args: Any, **kwargs: Any) -> Any:

        if int(batch_rows[-1][7]) == 4:  # the process of the last segment (p1 ends there) appends first
            concurrent = Ledger.open(url)  # a writer of its own, as another process would be
            concurrent.append(
                world.maker.sign([bl.ev("p1", E.STATE_OF_HEALTH_REPORTED, {"soh_pct": 97.0}, minutes=2)])
            )
            concurrent.close()
        return original(cur, sql, batch_rows, *args, **kwargs)

    # the worker processes are forked: they call the patched module global without pickling it
    monkeypatch.setattr(verify_module, "verify_segment", append_then_verify)
    report = world.ledger.verify(workers=2)
    assert report.ok, report
    assert report.events_checked == 4  # the snapshot's events; the concurrent one is checked next time
    monkeypatch.undo()
    assert world.ledger.verify(workers=2).ok
    assert world.ledger.counts().events == 5
