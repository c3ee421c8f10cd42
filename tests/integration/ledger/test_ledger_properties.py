"""Property-based tests: random legal and illegal event sequences against the pure fold."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from batteryloop.domain.errors import BatteryloopError, IllegalTransitionError, NotFoundError
from batteryloop.domain.fold import Event, World, fold
from batteryloop.domain.lifecycle import REQUIRED_PAYLOAD, EventType, UnitStatus, apply
from batteryloop.domain.organisation import Organisation, Role
from batteryloop.fleet.service import to_event_in
from batteryloop.ledger import EventIn, Ledger, LedgerSettings, SignedBatch, sign_batch
from batteryloop.orgs import public_key_bytes

ORGS = ("maker", "dealer", "recycler")
BATTERIES = ("b0", "b1", "b2")
T0 = datetime(2025, 1, 1, tzinfo=UTC)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def fresh_ledger() -> Iterator[tuple[Ledger, dict[str, Ed25519PrivateKey]]]:
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger.open(f"sqlite:///{Path(tmp) / 'p.db'}")
        keys = {}
        for org in ORGS:
            ledger.register_organisation(Organisation(org, org, "DE", frozenset({Role.OWNER})))
            keys[org] = Ed25519PrivateKey.generate()
            ledger.add_signing_key(org, public_key_bytes(keys[org]))
        try:
            yield ledger, keys
        finally:
            ledger.close()


def payload_for(event_type: EventType, draw_index: int, battery: str) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    for key in REQUIRED_PAYLOAD.get(event_type, {}):
        if key == "to_org":
            payload[key] = ORGS[draw_index % len(ORGS)]
        elif key == "parent_id":
            payload[key] = BATTERIES[draw_index % len(BATTERIES)]
        elif key == "soh_pct":
            payload[key] = 60 + draw_index * 3.5
        elif key == "successor_id":
            payload[key] = f"{battery}-next"
        elif key == "level":
            payload[key] = "pack"
        elif key == "chemistry":
            payload[key] = "NMC811"
        elif key == "category":
            payload[key] = "ev"
        else:
            payload[key] = f"v{draw_index}"
    return payload


step = st.tuples(
    st.sampled_from(BATTERIES),
    # registrations and custody moves are drawn more often so sequences get somewhere
    st.sampled_from(
        [
            *EventType,
            EventType.BATTERY_MANUFACTURED,
            EventType.CUSTODY_ACCEPTED,
            EventType.CUSTODY_HANDED_OVER,
        ]
    ),
    st.sampled_from(ORGS),
    st.integers(0, 5),
)
scripts = st.lists(st.lists(step, min_size=1, max_size=3), min_size=1, max_size=12)


def to_batches(
    script: list[list[tuple[str, EventType, str, int]]], keys: dict[str, Ed25519PrivateKey]
) -> list[SignedBatch]:
    out = []
    minute = 0
    for group in script:
        actor = group[0][2]  # one signer per batch
        events = []
        for battery, event_type, _actor, n in group:
            minute += 1
            events.append(
                EventIn(
                    battery, event_type, T0 + timedelta(minutes=minute), payload_for(event_type, n, battery)
                )
            )
        out.append(sign_batch(events, actor=actor, private_key=keys[actor]))
    return out


def snapshot(ledger: Ledger) -> tuple[Any, ...]:
    counts = ledger.counts()
    return counts.events, counts.batches, tuple(ledger.projection_rows())


def run_script(ledger: Ledger, batches: list[SignedBatch]) -> list[SignedBatch]:
    """Append each batch; a refused one must write nothing, and the lifecycle verdict must agree."""
    accepted: list[SignedBatch] = []
    for batch in batches:
        before = snapshot(ledger)
        lifecycle_ok = _lifecycle_allows(pure_fold(accepted), batch)
        refused: BatteryloopError | None = None
        try:
            ledger.append(batch)
        except BatteryloopError as exc:
            refused = exc
        if refused is not None:
            assert snapshot(ledger) == before, f"a refused batch wrote something: {refused}"
            if isinstance(refused, IllegalTransitionError):
                assert not lifecycle_ok, f"the ledger refused a legal transition: {refused}"
            continue
        assert lifecycle_ok, "the ledger accepted an event the lifecycle forbids"
        accepted.append(batch)
    return accepted


def _lifecycle_allows(state: dict[str, UnitStatus], batch: SignedBatch) -> bool:
    state = dict(state)
    try:
        for e in batch.events:
            state[e.battery_id] = apply(
                state.get(e.battery_id),
                battery_id=e.battery_id,
                event_type=e.event_type,
                actor=batch.actor,
                payload=e.payload,
            )
    except IllegalTransitionError:
        return False
    return True


def pure_fold(accepted: list[SignedBatch]) -> dict[str, UnitStatus]:
    state: dict[str, UnitStatus] = {}
    for batch in accepted:
        for e in batch.events:
            state[e.battery_id] = apply(
                state.get(e.battery_id),
                battery_id=e.battery_id,
                event_type=e.event_type,
                actor=batch.actor,
                payload=e.payload,
            )
    return state


@SETTINGS
@given(scripts)
def test_ledger_state_equals_the_pure_fold(script: Any) -> None:
    with fresh_ledger() as (ledger, keys):
        batches = to_batches(script, keys)
        accepted = run_script(ledger, batches)
        expected = pure_fold(accepted)
        for battery in BATTERIES:
            if battery in expected:
                assert ledger.status(battery) == expected[battery]
            else:
                with pytest.raises(NotFoundError):
                    ledger.status(battery)
        report = ledger.verify()
        assert report.ok, report
        assert report.events_checked == sum(len(b.events) for b in accepted)
        live = ledger.projection_rows()
        assert ledger.rebuild_projection() == len(expected)
        assert ledger.projection_rows() == live


@SETTINGS
@given(scripts)
def test_the_ledger_accepts_and_refuses_exactly_what_the_domain_fold_does(script: Any) -> None:
    """Each batch: the ledger's verdict (accepted, or the error type and message) is the batch fold's."""
    with fresh_ledger() as (ledger, keys):
        world = World(organisations=frozenset(ORGS))
        for batch in to_batches(script, keys):
            events = [Event(e.battery_id, e.event_type, batch.actor, e.payload) for e in batch.events]
            try:
                expected: World | tuple[type[BatteryloopError], str] = fold(world, events).world
            except BatteryloopError as exc:
                expected = (type(exc), str(exc))
            try:
                ledger.append(batch)
            except BatteryloopError as exc:
                assert expected == (type(exc), str(exc))
                continue
            assert isinstance(expected, World), f"the ledger accepted what the fold refuses: {expected}"
            world = expected
        for battery in BATTERIES:
            if battery in world.units:
                assert ledger.status(battery) == world.units[battery]
            else:
                with pytest.raises(NotFoundError):
                    ledger.status(battery)


@SETTINGS
@given(scripts)
def test_idempotent_replay_changes_nothing(script: Any) -> None:
    with fresh_ledger() as (ledger, keys):
        batches = to_batches(script, keys)
        accepted = run_script(ledger, batches)
        before = snapshot(ledger)
        for batch in accepted:
            result = ledger.append(batch)
            assert (result.appended, result.duplicates) == (0, len(batch.events))
        assert snapshot(ledger) == before
        assert ledger.verify().ok


TAMPER_COLUMNS = (  # every stored column of an event row (migration 0004)
    "event_id",
    "battery_id",
    "event_type",
    "occurred_at",
    "payload",
    "idempotency_key",
    "idem_digest",
    "prev_hash",
    "event_hash",
)
BATCH_COLUMNS = ("batch_id", "actor", "key_id", "merkle_root", "recorded_at", "prev_checkpoint", "checkpoint")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=st.sampled_from(["events", "batches"]),
    column_pick=st.integers(0, 100),
    row_pick=st.integers(0, 1000),
    byte_pick=st.integers(0, 10_000),
    replacement=st.characters(min_codepoint=33, max_codepoint=126),
)
def test_any_single_byte_tamper_is_detected(
    table: str, column_pick: int, row_pick: int, byte_pick: int, replacement: str
) -> None:
    with fresh_ledger() as (ledger, keys):
        script = [
            [
                ("b0", EventType.BATTERY_MANUFACTURED, "maker", 0),
                ("b1", EventType.BATTERY_MANUFACTURED, "maker", 0),
            ],
            [
                ("b0", EventType.STATE_OF_HEALTH_REPORTED, "maker", 1),
                ("b0", EventType.CUSTODY_HANDED_OVER, "maker", 1),
            ],
            [("b0", EventType.CUSTODY_ACCEPTED, "dealer", 0)],
            [("b0", EventType.STATE_OF_HEALTH_REPORTED, "dealer", 2)],
        ]
        accepted = run_script(ledger, to_batches(script, keys))  # type: ignore[arg-type]
        assert len(accepted) == 4
        columns = TAMPER_COLUMNS if table == "events" else BATCH_COLUMNS
        column = columns[column_pick % len(columns)]
        path = str(ledger.engine.url.database)
        ledger.close()
        con = sqlite3.connect(path)
        rows = con.execute(f"SELECT rowid, {column} FROM {table} ORDER BY rowid").fetchall()
        rowid, value = rows[row_pick % len(rows)]
        tampered: str | bytes
        if value is None:  # a default idempotency key is not stored: writing any key is a tamper
            tampered = replacement
        elif isinstance(value, bytes):  # a hash stored as a 32-byte digest
            index = byte_pick % len(value)
            assume(value[index] != ord(replacement))
            tampered = value[:index] + replacement.encode() + value[index + 1 :]
        else:
            index = byte_pick % len(value)
            assume(value[index] != replacement)
            tampered = value[:index] + replacement + value[index + 1 :]
        con.execute(f"DROP TRIGGER {table}_no_update")
        try:
            con.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", (tampered, rowid))
            con.commit()
        except sqlite3.IntegrityError:
            assume(False)  # the tamper collides with a unique constraint: the database refuses it anyway
        con.close()
        reopened = Ledger.open(f"sqlite:///{path}", create=False)
        report = reopened.verify()
        reopened.close()
        assert not report.ok, f"{table}.{column} row {rowid}: {value!r} -> {tampered!r} went unnoticed"


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.integers(2, 12))
def test_bulk_append_equals_one_by_one(seed: int, n_batteries: int) -> None:
    """append_bulk (grouped commits, each group validated while the previous one commits) of a synthetic
    fleet's signed batches ends in the same state as appending them one at a time."""
    from batteryloop.fleet import default_org_directory, generate_fleet, plan_batches

    fleet = generate_fleet(seed=seed, n_batteries=n_batteries, orgs=default_org_directory())
    keys = {org.org_id: Ed25519PrivateKey.generate() for org in fleet.organisations}
    batches = [
        sign_batch([to_event_in(e) for e in chunk], actor=actor, private_key=keys[actor])
        for actor, chunk in plan_batches(fleet.events)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        one_setting = LedgerSettings.from_file().with_(group_max_events=1)  # every batch its own group
        one = Ledger.open(f"sqlite:///{Path(tmp) / 'one.db'}")
        bulk = Ledger.open(f"sqlite:///{Path(tmp) / 'bulk.db'}", settings=one_setting)
        try:
            for led in (one, bulk):
                for org in fleet.organisations:
                    led.register_organisation(org)
                    led.add_signing_key(org.org_id, public_key_bytes(keys[org.org_id]))
            for batch in batches:
                one.append(batch)
            assert bulk.append_bulk(batches) == len(fleet.events)
            a, b = one.counts(), bulk.counts()
            assert (b.events, b.batches, b.by_chemistry_state) == (a.events, a.batches, a.by_chemistry_state)
            for battery_id in {e.battery_id for e in fleet.events}:
                assert bulk.status(battery_id) == one.status(battery_id)
            assert bulk.verify().ok
        finally:
            one.close()
            bulk.close()
