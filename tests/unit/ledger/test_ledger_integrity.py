"""Hashes, Merkle roots and signatures, checked against hand-computed values."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from batteryloop.domain.errors import NotFoundError, SignatureError, ValidationError
from batteryloop.domain.lifecycle import EventType
from batteryloop.ledger import EventIn, KeyStore, keystore_dir_for, merkle_root, sign_batch
from batteryloop.ledger.core.integrity import (
    SIGNING_CONTEXT,
    content_hash_of,
    event_hash_fast,
    event_hash_of,
    format_instant,
    idempotency_digest,
    prepare_events,
    verify_root_signature,
)
from batteryloop.orgs import key_id_for, public_key_bytes

T = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


class TestMerkle:
    LEAVES = tuple(hashlib.sha256(bytes([i])).hexdigest() for i in range(5))

    def test_single_leaf(self) -> None:
        leaf = self.LEAVES[0]
        assert merkle_root([leaf]) == h(b"\x00" + bytes.fromhex(leaf)).hex()

    def test_three_leaves_promote_the_odd_one(self) -> None:
        a, b, c = (h(b"\x00" + bytes.fromhex(x)) for x in self.LEAVES[:3])
        assert merkle_root(list(self.LEAVES[:3])) == h(b"\x01" + h(b"\x01" + a + b) + c).hex()

    def test_five_leaves(self) -> None:
        a, b, c, d, e = (h(b"\x00" + bytes.fromhex(x)) for x in self.LEAVES)
        expected = h(b"\x01" + h(b"\x01" + h(b"\x01" + a + b) + h(b"\x01" + c + d)) + e)
        assert merkle_root(self.LEAVES) == expected.hex()

    def test_order_matters_and_empty_is_refused(self) -> None:
        assert merkle_root(self.LEAVES[:2]) != merkle_root(self.LEAVES[1::-1])
        with pytest.raises(ValidationError, match="at least one event"):
            merkle_root([])


class TestEventHashing:
    def test_content_hash_by_hand(self) -> None:
        event = EventIn("b1", EventType.STATE_OF_HEALTH_REPORTED, T, {"soh_pct": 97.5}, "key-1")
        (p,) = prepare_events([event], actor="maker")
        assert p.payload_text == '{"soh_pct":97.5}'
        assert p.payload_hash == hashlib.sha256(b'{"soh_pct":97.5}').hexdigest()
        assert p.occurred_at == "2025-03-01T08:00:00.000000Z"
        doc = (
            '{"actor":"maker","battery_id":"b1","event_type":"StateOfHealthReported","idempotency_key":"key-1",'
            f'"occurred_at":"2025-03-01T08:00:00.000000Z","payload_hash":"{p.payload_hash}","schema_version":1}}'
        )
        json.loads(doc)
        assert p.content_hash == hashlib.sha256(doc.encode()).hexdigest()

    def test_default_idempotency_key_is_the_keyless_content_hash(self) -> None:
        event = EventIn("b1", EventType.BATTERY_RETIRED, T, {})
        (p,) = prepare_events([event], actor="maker")
        (keyless,) = prepare_events([event], actor="maker")
        assert p.idempotency_key == keyless.idempotency_key
        assert len(p.idempotency_key) == 64
        (explicit,) = prepare_events(
            [EventIn("b1", EventType.BATTERY_RETIRED, T, {}, p.idempotency_key)], actor="maker"
        )
        assert explicit.content_hash == p.content_hash  # giving the default key explicitly is the same event
        (other,) = prepare_events([event], actor="dealer")
        assert other.idempotency_key != p.idempotency_key  # the actor is part of the content

    def test_instants_are_normalised_to_utc(self) -> None:
        cet = timezone(timedelta(hours=1))
        assert format_instant(datetime(2025, 3, 1, 9, 0, 0, 5, tzinfo=cet)) == "2025-03-01T08:00:00.000005Z"
        with pytest.raises(ValidationError, match="no time zone"):
            format_instant(datetime(2025, 3, 1))

    @settings(max_examples=300, deadline=None)
    @given(
        moment=st.datetimes(
            min_value=datetime(1900, 1, 2),  # the plausible window (domain/data/validation.toml)
            max_value=datetime(2100, 12, 30),
            timezones=st.sampled_from(
                [UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30))]
            ),
        )
    )
    def test_instant_text_matches_isoformat(self, moment: datetime) -> None:
        expected = moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
        assert format_instant(moment) == expected

    def test_payload_must_be_an_object(self) -> None:
        with pytest.raises(ValidationError, match="JSON object"):
            prepare_events([EventIn("b1", EventType.BATTERY_RETIRED, T, [1, 2])], actor="m")  # type: ignore[arg-type]

    def test_event_type_given_as_text_is_converted(self) -> None:
        assert EventIn("b1", "BatteryRetired", T).event_type is EventType.BATTERY_RETIRED  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    battery_id=st.text(st.characters(categories=("L", "N", "P", "S")), min_size=1, max_size=40),
    actor=st.text(min_size=1),
    key=st.none() | st.from_regex(r"[!-~]{1,40}", fullmatch=True),
    payload=st.dictionaries(st.text(max_size=5), st.text() | st.integers(-1000, 1000) | st.floats(0.5, 99.5)),
    version=st.integers(1, 5),
    position=st.integers(1, 2**40),
    seq=st.integers(1, 10**6),
)
def test_fast_hashes_equal_the_dict_forms(
    battery_id: str,
    actor: str,
    key: str | None,
    payload: dict[str, Any],
    version: int,
    position: int,
    seq: int,
) -> None:
    (p,) = prepare_events(
        [EventIn(battery_id, EventType.BATTERY_GRADED, T, payload, key, version)], actor=actor
    )
    assert p.content_hash == content_hash_of(
        actor=actor,
        battery_id=battery_id,
        event_type="BatteryGraded",
        idempotency_key=p.idempotency_key,
        occurred_at=p.occurred_at,
        payload_hash=p.payload_hash,
        schema_version=version,
    )
    if key is None:
        assert p.idempotency_key == content_hash_of(
            actor=actor,
            battery_id=battery_id,
            event_type="BatteryGraded",
            idempotency_key=None,
            occurred_at=p.occurred_at,
            payload_hash=p.payload_hash,
            schema_version=version,
        )
    args = (position, "01a2-uuid", battery_id, seq, "2025-01-01T00:00:00.000000Z", p.content_hash, "0" * 64)
    assert event_hash_fast(*args) == event_hash_of(
        position=position,
        event_id="01a2-uuid",
        battery_id=battery_id,
        stream_seq=seq,
        recorded_at="2025-01-01T00:00:00.000000Z",
        content_hash=p.content_hash,
        prev_hash="0" * 64,
    )


class TestIdempotencyDigest:
    def test_a_default_key_is_indexed_by_its_first_16_bytes(self) -> None:
        [p] = prepare_events([EventIn("b1", EventType.BATTERY_RETIRED, T)], actor="m")
        assert p.default_key and len(p.idempotency_key) == 64
        assert p.idem_digest == bytes.fromhex(p.idempotency_key[:32])

    def test_client_keys_are_hashed_with_the_organisation(self) -> None:
        assert idempotency_digest("order-17", actor="m") == h(b"m\x00order-17")[:16]
        assert idempotency_digest("order-17", actor="n") != idempotency_digest("order-17", actor="m")
        hex_key = "ab" * 32  # a hex key the client chose is scoped too (no squatting another's hex keys)
        assert idempotency_digest(hex_key, actor="m") == h(b"m\x00" + hex_key.encode())[:16]
        assert idempotency_digest("été", actor="m") == h("m\x00été".encode())[:16]
        [p] = prepare_events([EventIn("b1", EventType.BATTERY_RETIRED, T, {}, "order-17")], actor="m")
        assert not p.default_key and p.idem_digest == idempotency_digest("order-17", actor="m")

    def test_the_events_own_default_key_given_explicitly_is_the_default_key(self) -> None:
        [p] = prepare_events([EventIn("b1", EventType.BATTERY_RETIRED, T)], actor="m")
        [q] = prepare_events([EventIn("b1", EventType.BATTERY_RETIRED, T, {}, p.idempotency_key)], actor="m")
        assert q.default_key and q.idem_digest == p.idem_digest  # re-importing an export replays, not doubles
        [r] = prepare_events([EventIn("b2", EventType.BATTERY_RETIRED, T, {}, p.idempotency_key)], actor="m")
        assert not r.default_key and r.idem_digest == idempotency_digest(p.idempotency_key, actor="m")


def test_bad_ids_and_versions_are_refused() -> None:
    for event, message in [
        (EventIn("", EventType.BATTERY_RETIRED, T), "battery id '' must not be empty"),
        (EventIn("b\x00", EventType.BATTERY_RETIRED, T), "control or invisible"),
        (EventIn("b" * 257, EventType.BATTERY_RETIRED, T), "257 characters long, over the limit of 256"),
        (EventIn("b1", EventType.BATTERY_RETIRED, T, {}, "k\n1"), "idempotency key"),
        (EventIn("b1", EventType.BATTERY_RETIRED, T, {}, ""), "idempotency key"),
        (EventIn("b1", EventType.BATTERY_RETIRED, T, {}, None, 0), "schema_version"),
    ]:
        with pytest.raises(ValidationError, match=message):
            prepare_events([event], actor="m")


class TestSigning:
    def test_sign_batch_signs_the_root_with_context(self) -> None:
        key = Ed25519PrivateKey.generate()
        batch = sign_batch([EventIn("b1", EventType.BATTERY_RETIRED, T)], actor="m", private_key=key)
        assert batch.key_id == key_id_for(public_key_bytes(key))
        key.public_key().verify(batch.signature, SIGNING_CONTEXT + bytes.fromhex(batch.merkle_root))
        verify_root_signature(batch.merkle_root, batch.signature, public_key_bytes(key))

    def test_wrong_signatures(self) -> None:
        key = Ed25519PrivateKey.generate()
        root = "ab" * 32
        sig = key.sign(SIGNING_CONTEXT + bytes.fromhex(root))
        pub = public_key_bytes(key)
        with pytest.raises(SignatureError, match="no signature"):
            verify_root_signature(root, b"", pub)
        with pytest.raises(SignatureError, match="64 bytes"):
            verify_root_signature(root, sig[:10], pub)
        with pytest.raises(SignatureError, match="does not match"):
            verify_root_signature("cd" * 32, sig, pub)
        with pytest.raises(SignatureError, match="does not match"):  # the bare root, without context
            verify_root_signature(root, key.sign(bytes.fromhex(root)), pub)


class TestKeyStore:
    def test_generate_store_and_load(self, tmp_path: Path) -> None:
        store = KeyStore(keystore_dir_for(f"sqlite:///{tmp_path / 'ledger.db'}"))
        key_id, key = store.generate_key("maker")
        path = tmp_path / "ledger.db.keys" / "maker" / f"{key_id}.pem"
        assert path.exists()
        assert path.stat().st_mode & 0o777 == 0o600
        loaded_id, loaded = store.load("maker")
        assert loaded_id == key_id
        assert public_key_bytes(loaded) == public_key_bytes(key)
        assert store.key_ids("maker") == [key_id]

    def test_missing_and_bad_names(self, tmp_path: Path) -> None:
        store = KeyStore(tmp_path)
        with pytest.raises(NotFoundError, match="no private key for nobody"):
            store.load("nobody")
        with pytest.raises(NotFoundError, match="no private key abc"):
            store.load("nobody", "abc")
        with pytest.raises(ValidationError, match="cannot name a key directory"):
            store.generate_key("../etc")
