"""Keys and revocation against a small reference model (Hypothesis RuleBasedStateMachine).

The machine registers, rotates and revokes signing keys of two organisations (signed by valid, revoked,
foreign or unknown keys, or admitted by the operator), appends batches signed with any key it has seen (and
with unknown keys), and sometimes writes a batch past the ingest's key checks, as an attacker with database
access would. After every step the ledger's accept/refuse decisions, its key listing and its verify result
must be what the model says: verify passes exactly while no batch was written under a key that was not valid
at its position, and then names the first such batch. The operator key is in the key store, so heads are
signed, and from the first event on the newest head covers every key entry the ledger accepted.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from batteryloop.domain.errors import BatteryloopError
from batteryloop.domain.lifecycle import EventType
from batteryloop.domain.organisation import Organisation, Role
from batteryloop.ledger import EventIn, Ledger, sign_batch
from batteryloop.orgs import OPERATOR, key_id_for, public_key_bytes, service
from batteryloop.orgs.core.keylog import registration, revocation, sign_statement

ORGS = ("alpha", "beta")
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


@dataclass
class ModelKey:
    org_id: str
    private: Ed25519PrivateKey
    revoked: bool = False

    @property
    def key_id(self) -> str:
        return key_id_for(public_key_bytes(self.private))


@dataclass
class Model:
    keys: dict[str, ModelKey] = field(default_factory=dict)  # registered keys by id
    unknown: list[Ed25519PrivateKey] = field(default_factory=list)  # keys never registered
    events: int = 0
    first_bad_position: int | None = None  # the first batch written under a key not valid at its position

    def valid(self, org_id: str) -> list[ModelKey]:
        return [k for k in self.keys.values() if k.org_id == org_id and not k.revoked]

    def is_valid(self, org_id: str, private: Ed25519PrivateKey) -> bool:
        k = self.keys.get(key_id_for(public_key_bytes(private)))
        return k is not None and k.org_id == org_id and not k.revoked


class KeyMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.ledger = Ledger.open(f"sqlite:///{Path(self.tmp.name) / 'keys.db'}")
        self.operator = Ed25519PrivateKey.generate()
        self.ledger.keystore().save(
            OPERATOR, self.operator
        )  # heads are signed: on appends and on key entries
        self.model = Model()
        self.batteries = 0
        for org_id in ORGS:
            self.ledger.register_organisation(
                Organisation(org_id, org_id.title(), "DE", frozenset({Role.BATTERY_MANUFACTURER}))
            )
            key = Ed25519PrivateKey.generate()
            self.ledger.add_signing_key(org_id, public_key_bytes(key), operator_key=self.operator)
            self.model.keys[key_id_for(public_key_bytes(key))] = ModelKey(org_id, key)
        self.model.unknown.append(Ed25519PrivateKey.generate())

    def teardown(self) -> None:
        self.ledger.close()
        self.tmp.cleanup()

    def _any_key(self, data: st.DataObject) -> Ed25519PrivateKey:
        pool = [k.private for k in self.model.keys.values()] + self.model.unknown
        return data.draw(st.sampled_from(pool))

    def _record(self, statement: Any, signer: Ed25519PrivateKey, expect: bool) -> bool:
        try:
            self.ledger.record_key_statement(statement, sign_statement(statement, signer), actor="test")
        except BatteryloopError:
            assert not expect, f"refused although the model allows it: {statement}"
            return False
        assert expect, f"accepted although the model refuses it: {statement}"
        return True

    @rule(org=st.sampled_from(ORGS), data=st.data())
    def register_key(self, org: str, data: st.DataObject) -> None:
        signer = self._any_key(data)
        new = Ed25519PrivateKey.generate()
        signer_id = key_id_for(public_key_bytes(signer))
        statement = registration(org, public_key_bytes(new), signer_org=org, signer_key_id=signer_id)
        if self._record(statement, signer, self.model.is_valid(org, signer)):
            self.model.keys[key_id_for(public_key_bytes(new))] = ModelKey(org, new)
        else:
            self.model.unknown.append(new)

    @rule(org=st.sampled_from(ORGS))
    def operator_admits(self, org: str) -> None:
        new = Ed25519PrivateKey.generate()
        expect = not self.model.valid(org)
        try:
            service.admit_signing_key(
                self.ledger, org, public_key=public_key_bytes(new), operator_key=self.operator
            )
        except BatteryloopError:
            assert not expect
            self.model.unknown.append(new)
            return
        assert expect
        self.model.keys[key_id_for(public_key_bytes(new))] = ModelKey(org, new)

    @rule(org=st.sampled_from(ORGS), data=st.data())
    def rotate(self, org: str, data: st.DataObject) -> None:
        """A new key signed by the old, then the old revoked by the new (both refused if the old is not valid)."""
        old = self._any_key(data)
        self.register_key_signed(org, old)

    def register_key_signed(self, org: str, old: Ed25519PrivateKey) -> None:
        new = Ed25519PrivateKey.generate()
        reg = registration(
            org, public_key_bytes(new), signer_org=org, signer_key_id=key_id_for(public_key_bytes(old))
        )
        if not self._record(reg, old, self.model.is_valid(org, old)):
            self.model.unknown.append(new)
            return
        self.model.keys[key_id_for(public_key_bytes(new))] = ModelKey(org, new)
        rev = revocation(
            org,
            key_id_for(public_key_bytes(old)),
            signer_org=org,
            signer_key_id=key_id_for(public_key_bytes(new)),
        )
        self._record(rev, new, True)
        self.model.keys[key_id_for(public_key_bytes(old))].revoked = True

    @rule(data=st.data(), by_operator=st.booleans())
    def revoke(self, data: st.DataObject, by_operator: bool) -> None:
        target = self._any_key(data)
        target_id = key_id_for(public_key_bytes(target))
        known = self.model.keys.get(target_id)
        org = known.org_id if known is not None else data.draw(st.sampled_from(ORGS))
        exists = known is not None and not known.revoked
        if by_operator:
            try:
                service.revoke_signing_key_as_operator(
                    self.ledger, org, key_id=target_id, operator_key=self.operator
                )
                ok = True
            except BatteryloopError:
                ok = False
            assert ok == exists
        else:
            signer = self._any_key(data)
            statement = revocation(
                org, target_id, signer_org=org, signer_key_id=key_id_for(public_key_bytes(signer))
            )
            ok = self._record(statement, signer, exists and self.model.is_valid(org, signer))
        if ok:
            assert known is not None
            known.revoked = True

    @rule(org=st.sampled_from(ORGS), data=st.data())
    def append(self, org: str, data: st.DataObject) -> None:
        key = self._any_key(data)
        batch = sign_batch([self._event()], actor=org, private_key=key)
        expect = self.model.is_valid(org, key)
        try:
            self.ledger.append(batch)
        except BatteryloopError:
            assert not expect, "a batch under a valid key was refused"
            return
        assert expect, "a batch under a key that is not valid was accepted"
        self.model.events += 1

    @precondition(lambda self: self.model.first_bad_position is None)
    @rule(org=st.sampled_from(ORGS), data=st.data())
    def attacker_writes_past_the_checks(self, org: str, data: st.DataObject) -> None:
        key = self._any_key(data)
        if self.model.is_valid(org, key):
            return
        public = public_key_bytes(key)

        honest = self.ledger._ingest.signers

        class Trusting:
            @property
            def state(self) -> Any:  # what the signed heads' key log line is read from: the log as it is
                return honest.state

            def public_key(self, *_: Any) -> bytes:
                return public

            def check_current(self, cur: Any, *_: Any) -> None:
                honest.refresh(cur)  # the key log read fresh under the lock, the key itself not checked

            def is_current(self, *_: Any) -> bool:
                return True

        self.ledger._ingest.signers = Trusting()  # type: ignore[assignment]
        try:
            self.ledger.append(sign_batch([self._event()], actor=org, private_key=key))
        finally:
            self.ledger._ingest.signers = honest
        self.model.events += 1
        self.model.first_bad_position = self.model.events

    def _event(self) -> EventIn:
        self.batteries += 1
        payload = {"level": "pack", "chemistry": "LFP", "category": "ev"}
        return EventIn(f"b{self.batteries}", EventType.BATTERY_MANUFACTURED, T0, payload)

    @invariant()
    def listing_matches_the_model(self) -> None:
        for org in ORGS:
            listed = {k.key_id: k.status for k in service.list_signing_keys(self.ledger, org)}
            expected = {
                kid: "revoked" if k.revoked else "valid"
                for kid, k in self.model.keys.items()
                if k.org_id == org
            }
            assert listed == expected

    @invariant()
    def the_newest_head_covers_every_key_entry(self) -> None:
        """Once the ledger has events, every key entry the ledger accepts is covered by a signed head at once
        (the entry's own transaction signs one), whatever the order of entries and appends."""
        if self.model.events == 0 or self.model.first_bad_position is not None:
            return
        latest = self.ledger.tree.latest()
        assert latest is not None and latest.checkpoint is not None and latest.checkpoint.keylog is not None
        assert latest.checkpoint.keylog[0] == self.ledger.key_entries()[-1].seq

    @invariant()
    def verify_matches_the_model(self) -> None:
        report = self.ledger.verify()
        if self.model.first_bad_position is None:
            assert report.ok, report.first_broken
            assert report.events_checked == self.model.events
        else:
            assert not report.ok
            assert report.first_broken is not None
            assert report.first_broken.position == self.model.first_bad_position
            assert "signing key" in report.first_broken.reason


KeyMachine.TestCase.settings = settings(max_examples=12, stateful_step_count=10, deadline=None)
test_keys_and_revocation_follow_the_model = KeyMachine.TestCase
