"""Appending: the happy path, custody, idempotency, concurrency, and every bad input writing nothing."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest

from batteryloop.domain.errors import (
    ConflictError,
    CustodyError,
    IllegalTransitionError,
    InvalidCodeError,
    NotFoundError,
    SignatureError,
    ValidationError,
)
from batteryloop.domain.lifecycle import BatteryState
from batteryloop.domain.lifecycle import EventType as E
from batteryloop.ledger import EventIn, Ledger, LedgerSettings

GBT_PACK = "X1ZPBA1ABC1234B2V0000042"  # hand-checked in tests/unit/domain/test_identity.py
GTIN = "09506000134352"  # GS1's own example GTIN-14 (check digit 2)


def snapshot(ledger: Ledger) -> tuple[Any, ...]:
    c = ledger.counts()
    with ledger.engine.connect() as conn:
        from sqlalchemy import text

        codes = conn.execute(text("SELECT scheme, code, battery_id FROM codes ORDER BY code")).all()
    return c.events, c.batches, tuple(codes), tuple(ledger.projection_rows())


def registered(world: Any, bl: Any, *ids: str) -> None:
    world.maker.append(*(bl.manufactured(i) for i in ids))


class TestHappyPath:
    def test_append_assigns_positions_sequences_and_chains(self, world: Any, bl: Any) -> None:
        result = world.maker.append(
            bl.manufactured("p1"),
            bl.ev("p1", E.BATTERY_PLACED_ON_MARKET, {"country": "DE"}, minutes=1),
            bl.manufactured("p2"),
            bl.ev("p1", E.STATE_OF_HEALTH_REPORTED, {"soh_pct": 98.5}, minutes=2),
        )
        assert (result.appended, result.duplicates, result.first_position, result.last_position) == (
            4,
            0,
            1,
            4,
        )
        stream = world.ledger.read_stream("p1")
        assert [e.stream_seq for e in stream] == [1, 2, 3]
        assert [e.position for e in stream] == [1, 2, 4]
        assert stream[0].prev_hash == "0" * 64
        assert stream[1].prev_hash == stream[0].event_hash
        assert stream[2].prev_hash == stream[1].event_hash
        assert stream[0].event_id < stream[1].event_id < stream[2].event_id  # time-ordered
        assert {uuid.UUID(e.event_id).version for e in stream} == {7}
        assert all(e.batch_id == result.batch_id for e in stream)
        status = world.ledger.status("p1")
        assert status.state is BatteryState.PLACED_ON_MARKET
        assert status.soh_pct == 98.5
        assert status.version == 3
        row = world.ledger.battery("p1")
        assert (row.chemistry, row.category, row.level) == ("LFP", "ev", "pack")
        assert row.last_hash == stream[-1].event_hash
        assert world.ledger.verify().ok

    def test_custody_transfer_is_two_steps(self, world: Any, bl: Any) -> None:
        registered(world, bl, "p1")
        world.maker.append(bl.ev("p1", E.CUSTODY_HANDED_OVER, {"to_org": "dealer"}, minutes=1))
        status = world.ledger.status("p1")
        assert status.state is BatteryState.IN_TRANSIT
        assert (status.custodian, status.pending_custodian) == ("maker", "dealer")
        with pytest.raises(CustodyError, match="in transit"):  # sender cannot act meanwhile
            world.maker.append(bl.ev("p1", E.BATTERY_PLACED_ON_MARKET, {"country": "DE"}, minutes=2))
        with pytest.raises(CustodyError, match="cannot accept"):  # nor can a third party accept
            world.recycler.append(bl.ev("p1", E.CUSTODY_ACCEPTED, minutes=2))
        world.dealer.append(bl.ev("p1", E.CUSTODY_ACCEPTED, minutes=3))
        status = world.ledger.status("p1")
        assert (status.state, status.custodian, status.pending_custodian) == (
            BatteryState.MANUFACTURED,
            "dealer",
            None,
        )
        spans = world.ledger.trace("p1").custody
        assert [s.org for s in spans] == ["maker", "dealer"]
        assert spans[0].to_at == spans[1].from_at == bl.T0.replace(minute=3)

    def test_holding_a_pack_means_holding_its_cells(self, world: Any, bl: Any) -> None:
        world.maker.append(
            bl.manufactured("pack"),
            bl.manufactured("cell", level="cell"),
            bl.ev("cell", E.BATTERY_INTEGRATED, {"parent_id": "pack"}, minutes=1),
            bl.ev("pack", E.CUSTODY_HANDED_OVER, {"to_org": "dealer"}, minutes=2),
        )
        world.dealer.append(bl.ev("pack", E.CUSTODY_ACCEPTED, minutes=3))
        # the dealer now holds the pack, hence the cell; the maker no longer does
        world.dealer.append(bl.ev("cell", E.NEGATIVE_EVENT_REPORTED, {"kind": "swelling"}, minutes=4))
        with pytest.raises(CustodyError, match="does not hold battery cell"):
            world.maker.append(bl.ev("cell", E.NEGATIVE_EVENT_REPORTED, {"kind": "x"}, minutes=5))
        assert world.ledger.children("pack") == ["cell"]
        trace = world.ledger.trace("cell")
        assert trace.ancestors == ("pack",)
        assert trace.chain_ok
        assert world.ledger.trace("pack").descendants.children[0].battery_id == "cell"

    def test_manufacturer_may_register_passport_data_while_not_holding(self, world: Any, bl: Any) -> None:
        registered(world, bl, "p1")
        world.maker.append(bl.ev("p1", E.CUSTODY_HANDED_OVER, {"to_org": "dealer"}))
        world.dealer.append(bl.ev("p1", E.CUSTODY_ACCEPTED))
        world.maker.append(bl.ev("p1", E.PASSPORT_DATA_REGISTERED, {"warranty_months": 96}))
        assert world.ledger.status("p1").version == 4

    def test_registered_codes_are_stored_canonically_and_found(self, world: Any, bl: Any) -> None:
        world.maker.append(bl.manufactured("p1", gbt_code=f"  {GBT_PACK} ", gtin=GTIN, serial="S-1"))
        assert snapshot(world.ledger)[2] == (("gs1", f"{GTIN}/S-1", "p1"), ("gbt34014", GBT_PACK, "p1"))
        assert world.ledger.find_by_code("gbt34014", GBT_PACK) == "p1"
        assert world.ledger.find_by_code("gs1", f"{GTIN}/S-1") == "p1"
        with pytest.raises(NotFoundError, match="no battery is registered under gs1 code"):
            world.ledger.find_by_code("gs1", f"{GTIN}/S-2")
        world.maker.append(bl.manufactured("p2", gtin=GTIN, serial="S-2"), bl.manufactured("p3", gtin=GTIN))
        assert world.ledger.find_by_code("gs1", f"{GTIN}/S-2") == "p2"


class TestIdempotencyAndConcurrency:
    def test_replaying_a_batch_changes_nothing(self, world: Any, bl: Any) -> None:
        batch = world.maker.sign(
            [bl.manufactured("p1"), bl.ev("p1", E.PASSPORT_DATA_REGISTERED, {"warranty_months": 1})]
        )
        first = world.ledger.append(batch)
        before = snapshot(world.ledger)
        again = world.ledger.append(batch)
        assert (again.appended, again.duplicates) == (0, 2)
        assert (again.batch_id, again.first_position, again.last_position) == (first.batch_id, 1, 2)
        assert snapshot(world.ledger) == before

    def test_partial_replay_appends_only_new_events_and_still_verifies(self, world: Any, bl: Any) -> None:
        world.maker.append(
            bl.manufactured(
                "p1",
            )
        )
        result = world.maker.append(bl.manufactured("p1"), bl.manufactured("p2"))
        assert (result.appended, result.duplicates, result.first_position) == (1, 1, 2)
        report = world.ledger.verify()
        assert report.ok, report
        assert (report.events_checked, report.batches_checked) == (2, 2)

    def test_the_same_event_twice_in_one_batch_is_stored_once(self, world: Any, bl: Any) -> None:
        registered(world, bl, "p1")
        report = bl.ev("p1", E.STATE_OF_HEALTH_REPORTED, {"soh_pct": 91.0})
        result = world.maker.append(report, bl.manufactured("p2"), report)
        assert (result.appended, result.duplicates, result.first_position, result.last_position) == (
            2,
            1,
            2,
            3,
        )
        assert [e.event_type for e in world.ledger.read_stream("p1")].count(E.STATE_OF_HEALTH_REPORTED) == 1
        assert world.ledger.verify().ok  # the signed root still covers all three leaves

    def test_same_key_different_content_is_a_conflict(self, world: Any, bl: Any) -> None:
        world.maker.append(
            bl.ev(
                "p1",
                E.BATTERY_MANUFACTURED,
                {"level": "pack", "chemistry": "LFP", "category": "ev"},
                key="k-1",
            )
        )
        before = snapshot(world.ledger)
        with pytest.raises(ConflictError, match="idempotency key k-1 was already used"):
            world.maker.append(
                bl.manufactured("p2"),
                bl.ev("p1", E.PASSPORT_DATA_REGISTERED, {"warranty_months": 2}, key="k-1"),
            )
        assert snapshot(world.ledger) == before

    def test_same_key_twice_in_one_batch_with_other_content_is_a_conflict(self, world: Any, bl: Any) -> None:
        with pytest.raises(ConflictError, match="idempotency key"):
            world.maker.append(
                bl.ev(
                    "p1",
                    E.BATTERY_MANUFACTURED,
                    {"level": "pack", "chemistry": "LFP", "category": "ev"},
                    key="k",
                ),
                bl.ev("p1", E.PASSPORT_DATA_REGISTERED, {"warranty_months": 1}, key="k"),
            )
        assert snapshot(world.ledger)[0] == 0

    def test_expected_version_mismatch_is_a_conflict(self, world: Any, bl: Any) -> None:
        registered(world, bl, "p1")
        world.maker.append(
            bl.ev("p1", E.PASSPORT_DATA_REGISTERED, {"warranty_months": 1}), expected_versions={"p1": 1}
        )
        before = snapshot(world.ledger)
        with pytest.raises(ConflictError, match="battery p1 is not at version 1, which the batch expected"):
            world.maker.append(
                bl.ev("p1", E.PASSPORT_DATA_REGISTERED, {"warranty_months": 2}), expected_versions={"p1": 1}
            )
        with pytest.raises(ConflictError, match="battery p9 is not at version 1"):
            world.maker.append(bl.manufactured("p9"), expected_versions={"p9": 1})
        assert snapshot(world.ledger) == before
        world.maker.append(bl.manufactured("p9"), expected_versions={"p9": 0})


BAD_INPUTS = {
    "unknown battery": (
        lambda bl: [bl.ev("ghost", E.PASSPORT_DATA_REGISTERED, {"warranty_months": 1})],
        NotFoundError,
        "battery ghost is not registered",
    ),
    "illegal transition": (
        lambda bl: [bl.ev("p1", E.BATTERY_RECYCLED)],
        IllegalTransitionError,
        "battery p1 is manufactured: BatteryRecycled is not allowed",
    ),
    "registered twice": (lambda bl: [bl.manufactured("p1")], IllegalTransitionError, "BatteryManufactured"),
    "missing payload key": (
        lambda bl: [bl.ev("p1", E.BATTERY_PLACED_ON_MARKET, {})],
        ValidationError,
        "lacks 'country'",
    ),
    "malformed code": (
        lambda bl: [bl.manufactured("p2", gbt_code="X1ZPBA1ABC1234B2V000004")],
        InvalidCodeError,
        "invalid code",
    ),
    "duplicate code in the ledger": (
        lambda bl: [bl.manufactured("p2", gbt_code=GBT_PACK)],
        ConflictError,
        "already assigned to p1",
    ),
    "duplicate code in the batch": (
        lambda bl: [
            bl.manufactured("p3", gbt_code=GBT_PACK.replace("42", "43")),
            bl.manufactured("p4", gbt_code=GBT_PACK.replace("42", "43")),
        ],
        ConflictError,
        "already assigned to p3",
    ),
    "bad GTIN check digit": (
        lambda bl: [bl.manufactured("p5", gtin="09506000134353", serial="A")],
        InvalidCodeError,
        "check digit should be 2",
    ),
    "duplicate GTIN + serial": (
        lambda bl: [
            bl.manufactured("p5", gtin=GTIN, serial="S-9"),
            bl.manufactured("p6", gtin=GTIN, serial="S-9"),
        ],
        ConflictError,
        "GTIN \\+ serial code 09506000134352/S-9 is already assigned to p5",
    ),
    "parent unknown": (
        lambda bl: [
            bl.manufactured("c1", level="cell"),
            bl.ev("c1", E.BATTERY_INTEGRATED, {"parent_id": "nope"}),
        ],
        NotFoundError,
        "parent nope is not registered",
    ),
    "hand-over to an unknown organisation": (
        lambda bl: [bl.ev("p1", E.CUSTODY_HANDED_OVER, {"to_org": "nobody"})],
        NotFoundError,
        "unregistered organisation 'nobody'",
    ),
    "oversize payload": (
        lambda bl: [bl.ev("p1", E.PASSPORT_DATA_REGISTERED, {"blob": "x" * 70_000})],
        ValidationError,
        "over the limit of 65536",
    ),
}


class TestBadInputWritesNothing:
    @pytest.mark.parametrize("case", list(BAD_INPUTS))
    def test_bad_event_after_good_ones_rolls_back_the_whole_batch(
        self, world: Any, bl: Any, case: str
    ) -> None:
        world.maker.append(bl.manufactured("p1", gbt_code=GBT_PACK))
        before = snapshot(world.ledger)
        make, error, message = BAD_INPUTS[case]
        good = [bl.manufactured("good-1"), bl.ev("p1", E.PASSPORT_DATA_REGISTERED, {"warranty_months": 12})]
        with pytest.raises(error, match=message):
            world.maker.append(*good, *make(bl))
        assert snapshot(world.ledger) == before
        assert world.ledger.verify().ok

    def test_custody_violation(self, world: Any, bl: Any) -> None:
        registered(world, bl, "p1")
        before = snapshot(world.ledger)
        with pytest.raises(CustodyError, match="dealer does not hold battery p1"):
            world.dealer.append(bl.ev("p1", E.BATTERY_PLACED_ON_MARKET, {"country": "FR"}))
        assert snapshot(world.ledger) == before

    def test_unknown_event_type(self, bl: Any) -> None:
        with pytest.raises(ValidationError, match="unknown event type 'BatteryTeleported'"):
            EventIn("p1", "BatteryTeleported", bl.T0, {})  # type: ignore[arg-type]

    def test_naive_timestamp(self, world: Any, bl: Any) -> None:
        with pytest.raises(ValidationError, match="no time zone"):
            world.maker.append(EventIn("p1", E.BATTERY_MANUFACTURED, bl.T0.replace(tzinfo=None), {}))

    def test_payload_limit_is_configurable(self, tmp_path: Any, bl: Any) -> None:
        settings = LedgerSettings.from_file().with_(max_payload_bytes=100)
        small = Ledger.open(f"sqlite:///{tmp_path / 's.db'}", settings=settings)
        maker = bl.add_actor(small, "maker")
        maker.append(bl.manufactured("p1"))
        with pytest.raises(ValidationError, match="over the limit of 100"):
            maker.append(bl.ev("p1", E.PASSPORT_DATA_REGISTERED, {"note": "y" * 120}))
        # 40 characters but 120 bytes in UTF-8: the limit is on bytes
        with pytest.raises(ValidationError, match="payload is 131 bytes, over the limit of 100"):
            maker.append(bl.ev("p1", E.PASSPORT_DATA_REGISTERED, {"note": "电" * 40}))
        assert small.counts().events == 1
        small.close()

    def test_settings_file_overrides_defaults(self, tmp_path: Any) -> None:
        path = tmp_path / "ledger.toml"
        path.write_text("max_payload_bytes = 2048\n")
        assert LedgerSettings.from_file(path).max_payload_bytes == 2048
        path.write_text("max_paylod_bytes = 2048\n")
        with pytest.raises(ValidationError, match="unknown ledger settings"):
            LedgerSettings.from_file(path)


class TestSignatures:
    def _expect_refused(self, world: Any, batch: Any, error: type[Exception], message: str) -> None:
        before = snapshot(world.ledger)
        with pytest.raises(error, match=message):
            world.ledger.append(batch)
        assert snapshot(world.ledger) == before

    def test_missing_signature(self, world: Any, bl: Any) -> None:
        batch = dataclasses.replace(world.maker.sign([bl.manufactured("p1")]), signature=b"")
        self._expect_refused(world, batch, SignatureError, "no signature")

    def test_signature_by_another_key(self, world: Any, bl: Any) -> None:
        mine = world.maker.sign([bl.manufactured("p1")])
        forged = dataclasses.replace(mine, signature=world.dealer.sign([bl.manufactured("p1")]).signature)
        self._expect_refused(world, forged, SignatureError, "does not match")

    def test_events_changed_after_signing(self, world: Any, bl: Any) -> None:
        batch = world.maker.sign([bl.manufactured("p1")])
        altered = dataclasses.replace(batch, events=(bl.manufactured("p2"),))
        self._expect_refused(world, altered, SignatureError, "claims Merkle root")

    def test_root_and_events_changed_after_signing(self, world: Any, bl: Any) -> None:
        batch = world.maker.sign([bl.manufactured("p1")])
        other = world.maker.sign([bl.manufactured("p2")])
        altered = dataclasses.replace(batch, events=other.events, merkle_root=other.merkle_root)
        self._expect_refused(world, altered, SignatureError, "does not match the batch's Merkle root")

    def test_key_of_another_organisation(self, world: Any, bl: Any) -> None:
        batch = world.dealer.sign([bl.manufactured("p1")])
        self._expect_refused(
            world, dataclasses.replace(batch, actor="maker"), SignatureError, "belongs to dealer"
        )

    def test_unknown_key(self, world: Any, bl: Any) -> None:
        batch = dataclasses.replace(world.maker.sign([bl.manufactured("p1")]), key_id="f" * 32)
        self._expect_refused(world, batch, SignatureError, "unknown key")

    def test_unknown_actor(self, world: Any, bl: Any) -> None:
        batch = dataclasses.replace(world.maker.sign([bl.manufactured("p1")]), actor="nobody")
        self._expect_refused(world, batch, NotFoundError, "no organisation 'nobody'")
