"""The pure key log: who may sign what, validity by position, and every kind of tampering replay detects."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from batteryloop.orgs.core.keylog import (
    OPERATOR,
    ZERO_HASH,
    KeyEntry,
    KeyStatement,
    make_entry,
    registration,
    replay,
    revocation,
    sign_statement,
)
from batteryloop.orgs.core.keys import key_id_for, public_key_bytes


def kid(key: Ed25519PrivateKey) -> str:
    return key_id_for(public_key_bytes(key))


class Log:
    def __init__(self) -> None:
        self.entries: list[KeyEntry] = []

    def add(self, statement: KeyStatement, signer: Ed25519PrivateKey, after: int) -> None:
        prev = self.entries[-1].entry_hash if self.entries else ZERO_HASH
        self.entries.append(
            make_entry(
                statement,
                sign_statement(statement, signer),
                seq=len(self.entries) + 1,
                after_position=after,
                recorded_at="2026-12-02T00:00:00Z",
                prev_hash=prev,
            )
        )


@pytest.fixture
def keys() -> dict[str, Ed25519PrivateKey]:
    return {name: Ed25519PrivateKey.generate() for name in ("op", "a1", "a2", "b1")}


@pytest.fixture
def log(keys: dict[str, Ed25519PrivateKey]) -> Log:
    op, a1, a2 = keys["op"], keys["a1"], keys["a2"]
    log = Log()
    log.add(registration(OPERATOR, public_key_bytes(op), signer_org=OPERATOR, signer_key_id=kid(op)), op, 0)
    log.add(registration("a", public_key_bytes(a1), signer_org=OPERATOR, signer_key_id=kid(op)), op, 0)
    log.add(registration("a", public_key_bytes(a2), signer_org="a", signer_key_id=kid(a1)), a1, 5)
    log.add(revocation("a", kid(a1), signer_org="a", signer_key_id=kid(a2)), a2, 9)
    return log


def test_a_valid_log_gives_each_key_its_positions(log: Log, keys: dict[str, Ed25519PrivateKey]) -> None:
    replayed = replay(log.entries)
    assert replayed.ok
    a1 = replayed.state.keys[kid(keys["a1"])]
    a2 = replayed.state.keys[kid(keys["a2"])]
    assert (a1.registered_after, a1.revoked_after, a1.revoked_seq) == (0, 9, 4)
    assert [a1.valid_at(p) for p in (0, 1, 9, 10)] == [False, True, True, False]
    assert [a2.valid_at(p) for p in (5, 6, 100)] == [False, True, True]
    assert a2.signer == f"a/{kid(keys['a1'])}"


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda e: e[:2] + e[3:], "entry 4: sequence 4 does not follow 2"),
        (lambda e: [*e[:2], dataclasses.replace(e[2], after_position=7), *e[3:]], "entry 3: entry hash"),
        (lambda e: [*e[:2], dataclasses.replace(e[2], prev_hash="1" * 64), *e[3:]], "entry 3: previous hash"),
        (lambda e: [*e[:1], dataclasses.replace(e[1], signature=bytes(64)), *e[2:]], "entry 2: entry hash"),
    ],
)
def test_replay_names_the_first_tampered_entry(log: Log, tamper: object, reason: str) -> None:
    replayed = replay(tamper(log.entries))  # type: ignore[operator]
    assert not replayed.ok and reason in (replayed.reason or "")


def test_rules_on_who_signs(log: Log, keys: dict[str, Ed25519PrivateKey]) -> None:
    op, a1, a2, b1 = keys["op"], keys["a1"], keys["a2"], keys["b1"]
    new = Ed25519PrivateKey.generate()
    cases = [
        # the revoked a1 signs a new key of a
        (
            registration("a", public_key_bytes(new), signer_org="a", signer_key_id=kid(a1)),
            a1,
            "not a valid key",
        ),
        # the operator admits a key to a, which holds a valid key
        (
            registration("a", public_key_bytes(new), signer_org=OPERATOR, signer_key_id=kid(op)),
            op,
            "holds a valid",
        ),
        # b signs for a
        (registration("a", public_key_bytes(new), signer_org="b", signer_key_id=kid(b1)), b1, "may not sign"),
        # a key id is never reused
        (registration("a", public_key_bytes(a1), signer_org="a", signer_key_id=kid(a2)), a2, "never reused"),
        # a revocation of an unknown key
        (revocation("a", "0" * 32, signer_org="a", signer_key_id=kid(a2)), a2, "no signing key"),
        # a second operator self-registration
        (
            registration(OPERATOR, public_key_bytes(new), signer_org=OPERATOR, signer_key_id=kid(new)),
            new,
            "not a valid",
        ),
    ]
    for statement, signer, reason in cases:
        attempt = Log()
        attempt.entries = list(log.entries)
        attempt.add(statement, signer, 9)
        replayed = replay(attempt.entries)
        assert not replayed.ok and reason in (replayed.reason or ""), (statement, replayed.reason)
    forged = Log()
    forged.entries = list(log.entries)
    statement = registration("a", public_key_bytes(new), signer_org="a", signer_key_id=kid(a2))
    forged.add(statement, b1, 9)  # signed by the wrong private key
    assert "does not verify" in (replay(forged.entries).reason or "")


def test_the_ledger_and_the_key_log_share_the_write_lock() -> None:
    from batteryloop.ledger.adapters.tx import LOCK_KEY
    from batteryloop.orgs.adapters.keylog import WRITE_LOCK_KEY

    assert WRITE_LOCK_KEY == LOCK_KEY
