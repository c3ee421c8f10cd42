"""Stateful test of custody on a SQLite ledger against a small reference model (hypothesis
RuleBasedStateMachine).

Three registered organisations manufacture units, hand them over (to each other, to themselves or to an
organisation nobody registered), accept them (the named receiver or someone else), place them on the market,
put them into service, retire, collect, integrate them into other units (or into themselves, their own
descendants or an unregistered parent), detach and recycle them, one event per signed batch or two in one
batch. The model is written from the rules as docs/events.md states them, independently of
``domain.fold``/``domain.lifecycle``: who holds a unit (the custodian of the root of its tree), which states
each event is legal from, what it leads to. After every step the ledger must have accepted exactly what the
model accepts, refused the rest with the model's error class and written nothing for a refused batch, and
every unit's state, custodian, parent and pending receiver must equal the model's.

The custody rules of integration (docs/security.md): integrating a unit into a pack needs custody of the pack
too, and a unit whose pack (or any ancestor) is in transit is held by no one, like the pack itself, so neither
the sender nor the receiver may append anything to it (integrate, detach, retire, collect, hand over ...) until
the receiver accepts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, multiple, rule

from batteryloop.domain.errors import (
    BatteryloopError,
    CustodyError,
    IllegalTransitionError,
    NotFoundError,
    ValidationError,
)
from batteryloop.domain.organisation import Organisation, Role
from batteryloop.ledger import EventIn, Ledger, LedgerSettings, sign_batch
from batteryloop.orgs import public_key_bytes

ORGS = ("maker", "dealer", "recycler")
GHOST = "nobody-registered"
# who appends: mostly whoever may (the holder, or the named receiver for an acceptance), else any of them;
# uniform choices would rarely get a unit deep enough (integrated by one, detached by another, ...)
WHO = st.sampled_from(("may", "may", *ORGS))
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)

# the rules as docs/events.md states them: event -> states it is legal from (None: no stream yet)
LEGAL_FROM: dict[str, frozenset[str | None]] = {
    "BatteryManufactured": frozenset({None}),
    "BatteryPlacedOnMarket": frozenset({"manufactured"}),
    "BatteryPutIntoService": frozenset({"placed_on_market"}),
    "BatteryRetired": frozenset({"in_service", "placed_on_market"}),
    "BatteryCollected": frozenset({"retired"}),
    "CustodyHandedOver": frozenset(
        {"collected", "dismantled", "graded", "in_service", "manufactured", "placed_on_market", "retired"}
    ),
    "CustodyAccepted": frozenset({"in_transit"}),
    "BatteryIntegrated": frozenset({"collected", "graded", "manufactured"}),
    "BatteryDetached": frozenset({"integrated"}),
    "BatteryRecycled": frozenset({"collected", "dismantled", "graded", "retired"}),
}
LEADS_TO = {
    "BatteryManufactured": "manufactured",
    "BatteryPlacedOnMarket": "placed_on_market",
    "BatteryPutIntoService": "in_service",
    "BatteryRetired": "retired",
    "BatteryCollected": "collected",
    "CustodyHandedOver": "in_transit",
    "BatteryIntegrated": "integrated",
    "BatteryDetached": "collected",
    "BatteryRecycled": "recycled",
}
SIMPLE = (
    "BatteryPlacedOnMarket",
    "BatteryPutIntoService",
    "BatteryRetired",
    "BatteryCollected",
    "BatteryRecycled",
)


@dataclass(frozen=True)
class Unit:
    state: str
    custodian: str
    parent: str | None = None
    pending: str | None = None
    resume: str | None = None


Model = dict[str, Unit]
Step = tuple[str, str, dict[str, Any]]  # (battery id, event type, payload)


def holder(model: Model, battery_id: str) -> str:
    """Who holds a unit: the custodian of the root of its tree."""
    unit = model[battery_id]
    while unit.parent is not None:
        unit = model[unit.parent]
    return unit.custodian


def ancestors(model: Model, battery_id: str) -> list[str]:
    out = []
    unit = model[battery_id]
    while unit.parent is not None:
        out.append(unit.parent)
        unit = model[unit.parent]
    return out


def transit_on_path(model: Model, battery_id: str, *, include_self: bool) -> bool:
    """Whether the unit (if ``include_self``) or one of its ancestors is in transit."""
    path = ([battery_id] if include_self else []) + ancestors(model, battery_id)
    return any(model[b].state == "in_transit" for b in path)


def model_step(model: Model, actor: str, step: Step) -> type[BatteryloopError] | Model:
    """The model after ``actor`` appends ``step``, or the class of the error the ledger must refuse it with."""
    bid, event_type, payload = step
    if event_type == "CustodyHandedOver" and payload["to_org"] not in ORGS:
        return NotFoundError  # nobody could ever accept it
    unit = model.get(bid)
    if unit is None:
        if event_type == "BatteryManufactured":
            return {**model, bid: Unit("manufactured", actor)}  # maker and custodian
        return NotFoundError
    if transit_on_path(model, bid, include_self=False):
        return CustodyError  # a unit inside a pack in transit is held by no one, like the pack itself
    if event_type == "CustodyAccepted":
        if actor != unit.pending:
            return CustodyError
    elif unit.state == "in_transit" or actor != holder(model, bid):
        return CustodyError
    if unit.state not in LEGAL_FROM[event_type]:
        return IllegalTransitionError
    if event_type == "BatteryIntegrated":
        parent = payload["parent_id"]
        if parent == bid:
            return ValidationError
        if parent not in model:
            return NotFoundError
        if bid in ancestors(model, parent):
            return ValidationError
        if transit_on_path(model, parent, include_self=True) or holder(model, parent) != actor:
            return CustodyError  # integration needs custody of the parent too
        return {**model, bid: replace(unit, state="integrated", parent=parent)}
    if event_type == "CustodyHandedOver":
        return {**model, bid: replace(unit, state="in_transit", pending=payload["to_org"], resume=unit.state)}
    if event_type == "CustodyAccepted":
        assert unit.pending is not None and unit.resume is not None
        return {
            **model,
            bid: replace(unit, state=unit.resume, custodian=unit.pending, pending=None, resume=None),
        }
    if event_type == "BatteryDetached":
        return {**model, bid: replace(unit, state="collected", custodian=actor, parent=None)}
    return {**model, bid: replace(unit, state=LEADS_TO[event_type])}


def model_batch(model: Model, actor: str, steps: list[Step]) -> type[BatteryloopError] | Model:
    """All or nothing: the first refused step refuses the batch."""
    for step in steps:
        after = model_step(model, actor, step)
        if isinstance(after, type):
            return after
        model = after
    return model


class _Shared:
    """One ledger for the whole module (a migration per example would dominate the runtime); every
    machine run uses battery ids of its own."""

    ledger: Ledger | None = None
    keys: dict[str, Ed25519PrivateKey] = {}  # noqa: RUF012


@pytest.fixture(scope="module", autouse=True)
def shared_ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    path: Path = tmp_path_factory.mktemp("custody") / "custody.db"
    # no fsync per commit: this test is about the rules, not durability
    ledger = Ledger.open(
        f"sqlite:///{path}", settings=LedgerSettings.from_file().with_(sqlite_synchronous="NORMAL")
    )
    roles = (Role.BATTERY_MANUFACTURER, Role.DEALER_REPAIRER, Role.RECYCLER)
    for org_id, role in zip(ORGS, roles, strict=True):
        ledger.register_organisation(Organisation(org_id, org_id.title(), "DE", frozenset({role})))
        key = Ed25519PrivateKey.generate()
        ledger.add_signing_key(org_id, public_key_bytes(key))
        _Shared.keys[org_id] = key
    _Shared.ledger = ledger
    yield ledger
    _Shared.ledger = None
    ledger.close()


def payload_for(event_type: str, target: str | None = None) -> dict[str, Any]:
    if event_type == "BatteryManufactured":
        return {"level": "pack", "chemistry": "LFP", "category": "ev"}
    if event_type == "BatteryPlacedOnMarket":
        return {"country": "DE"}
    if event_type == "CustodyHandedOver":
        return {"to_org": target}
    if event_type == "BatteryIntegrated":
        return {"parent_id": target}
    return {}


class Custody(RuleBasedStateMachine):
    units = Bundle("units")

    def __init__(self) -> None:
        super().__init__()
        assert _Shared.ledger is not None
        self.ledger = _Shared.ledger
        self.run = uuid.uuid4().hex[:12]
        self.serial = 0
        self.minutes = 0
        self.model: Model = {}
        self.accepted = 0
        self.refused = 0

    # ---------------------------------------------------------------------------- helpers
    def new_id(self) -> str:
        self.serial += 1
        return f"urn:uuid:{self.run[:8]}-{self.run[8:12]}-4000-8000-{self.serial:012d}"

    def resolve(self, who: str, step: Step) -> str:
        """``who`` as an organisation: "may" is the one the rules let append ``step``."""
        bid, event_type, _ = step
        if who != "may":
            return who
        if bid not in self.model:
            return ORGS[0]
        if event_type == "CustodyAccepted":
            return self.model[bid].pending or holder(self.model, bid)
        return holder(self.model, bid)

    def events_stored(self) -> int:
        return self.ledger.counts().events

    def submit(self, who: str, steps: list[Step]) -> None:
        actor = self.resolve(who, steps[0])
        expected = model_batch(self.model, actor, steps)
        events = []
        for bid, event_type, payload in steps:  # distinct times: no event repeats an earlier one's content
            self.minutes += 1
            events.append(EventIn(bid, event_type, T0 + timedelta(minutes=self.minutes), payload))  # type: ignore[arg-type]
        before = self.events_stored()
        try:
            self.ledger.append(sign_batch(events, actor=actor, private_key=_Shared.keys[actor]))
        except BatteryloopError as exc:
            assert isinstance(expected, type), f"the ledger refused what the model accepts: {exc}"
            assert isinstance(exc, expected), (
                f"refused with {type(exc).__name__} ({exc}), the model expects {expected.__name__}"
            )
            assert self.events_stored() == before, "a refused batch wrote something"
            self.refused += 1
            return
        assert not isinstance(expected, type), (
            f"the ledger accepted what the model refuses ({expected.__name__})"
        )
        assert self.events_stored() == before + len(steps)
        self.model = expected
        self.accepted += 1

    # ---------------------------------------------------------------------------- rules
    @rule(target=units, actor=st.sampled_from(ORGS))
    def manufacture(self, actor: str) -> Any:
        bid = self.new_id()
        self.submit(actor, [(bid, "BatteryManufactured", payload_for("BatteryManufactured"))])
        return bid if bid in self.model else multiple()

    @rule(unit=units, actor=WHO)
    def manufacture_again(self, unit: str, actor: str) -> None:
        self.submit(actor, [(unit, "BatteryManufactured", payload_for("BatteryManufactured"))])

    @rule(unit=units, actor=WHO, receiver=st.sampled_from((*ORGS, GHOST)))
    def hand_over(self, unit: str, actor: str, receiver: str) -> None:
        self.submit(actor, [(unit, "CustodyHandedOver", payload_for("CustodyHandedOver", receiver))])

    @rule(unit=units, actor=WHO)
    def accept(self, unit: str, actor: str) -> None:
        self.submit(actor, [(unit, "CustodyAccepted", {})])

    @rule(unit=units, actor=WHO, event_type=st.sampled_from(SIMPLE))
    def lifecycle(self, unit: str, actor: str, event_type: str) -> None:
        self.submit(actor, [(unit, event_type, payload_for(event_type))])

    @rule(unit=units, parent=units, actor=WHO)
    def integrate(self, unit: str, parent: str, actor: str) -> None:
        self.submit(actor, [(unit, "BatteryIntegrated", payload_for("BatteryIntegrated", parent))])

    @rule(unit=units, actor=WHO)
    def integrate_into_unregistered(self, unit: str, actor: str) -> None:
        self.submit(actor, [(unit, "BatteryIntegrated", payload_for("BatteryIntegrated", self.new_id()))])

    @rule(unit=units, actor=WHO)
    def detach(self, unit: str, actor: str) -> None:
        self.submit(actor, [(unit, "BatteryDetached", {})])

    @rule(actor=WHO)
    def event_for_unregistered(self, actor: str) -> None:
        self.submit(actor, [(self.new_id(), "BatteryRetired", {})])

    @rule(
        first=units,
        second=units,
        actor=WHO,
        types=st.tuples(
            st.sampled_from((*SIMPLE, "CustodyAccepted", "BatteryDetached")),
            st.sampled_from((*SIMPLE, "CustodyHandedOver", "BatteryDetached")),
        ),
        receiver=st.sampled_from(ORGS),
    )
    def two_in_one_batch(
        self, first: str, second: str, actor: str, types: tuple[str, str], receiver: str
    ) -> None:
        """Two events in one signed batch: both are stored or neither."""
        a, b = types
        self.submit(actor, [(first, a, payload_for(a, receiver)), (second, b, payload_for(b, receiver))])

    @rule(unit=consumes(units))
    def forget(self, unit: str) -> None:
        """Drop a unit from the bundle so that later steps pick among fewer (the model keeps it)."""

    # ---------------------------------------------------------------------------- invariants
    @invariant()
    def ledger_agrees_with_the_model(self) -> None:
        for bid, unit in self.model.items():
            status = self.ledger.status(bid)
            got = (str(status.state), status.custodian, status.parent_id, status.pending_custodian)
            assert got == (unit.state, unit.custodian, unit.parent, unit.pending), bid

    def teardown(self) -> None:
        if self.model:
            assert self.ledger.verify(workers=1).ok


Custody.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCustody = Custody.TestCase


def test_a_unit_detached_by_the_holder_of_its_parent_is_held_by_it() -> None:
    """A path random choices reach rarely, spelled out: the maker may not integrate its module into the
    dealer's pack (integration needs custody of the pack too); the dealer hands its pack to the maker, who
    accepts and integrates the module; the maker hands the pack to the dealer and, while it is in transit,
    neither the maker (sender) nor the dealer (receiver) may detach the module; once the dealer accepts, only
    the dealer may, and detaching it makes the dealer its custodian. A recycler accepting a hand-over meant
    for the maker is refused."""
    machine = Custody()
    module = machine.manufacture("maker")
    pack = machine.manufacture("dealer")
    machine.integrate(module, pack, "maker")  # refused: the maker does not hold the pack
    assert machine.model[module] == Unit("manufactured", "maker")
    machine.hand_over(pack, "dealer", "maker")
    machine.accept(pack, "recycler")  # refused: not the receiver
    machine.integrate(module, pack, "maker")  # refused: the pack is in transit, held by no one
    machine.accept(pack, "maker")
    machine.integrate(module, pack, "maker")
    assert machine.model[module] == Unit("integrated", "maker", parent=pack)
    machine.hand_over(pack, "maker", "dealer")
    machine.detach(module, "maker")  # refused: in transit (the sender)
    machine.detach(module, "dealer")  # refused: in transit (the receiver)
    machine.accept(pack, "dealer")
    machine.detach(module, "maker")  # refused: the maker no longer holds it, the pack's holder does
    machine.detach(module, "dealer")
    machine.ledger_agrees_with_the_model()
    assert machine.model[module] == Unit("collected", "dealer")
    assert machine.model[pack] == Unit("manufactured", "dealer")
    assert (machine.accepted, machine.refused) == (8, 6)
    machine.teardown()


def test_custody_rule_messages_name_the_rule(tmp_path: Path) -> None:
    """The refusals say which rule: custody of the parent, and a pack in transit held by no one."""
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'rules.db'}")
    keys = {}
    for org_id in ("maker", "dealer"):
        ledger.register_organisation(
            Organisation(org_id, org_id.title(), "DE", frozenset({Role.BATTERY_MANUFACTURER}))
        )
        keys[org_id] = Ed25519PrivateKey.generate()
        ledger.add_signing_key(org_id, public_key_bytes(keys[org_id]))
    minute = iter(range(1, 100))

    def send(actor: str, bid: str, event_type: str, payload: dict[str, Any]) -> None:
        event = EventIn(bid, event_type, T0 + timedelta(minutes=next(minute)), payload)  # type: ignore[arg-type]
        ledger.append(sign_batch([event], actor=actor, private_key=keys[actor]))

    module, pack = (
        "urn:uuid:00000000-0000-4000-8000-000000000001",
        "urn:uuid:00000000-0000-4000-8000-000000000002",
    )
    send("maker", module, "BatteryManufactured", payload_for("BatteryManufactured"))
    send("dealer", pack, "BatteryManufactured", payload_for("BatteryManufactured"))
    with pytest.raises(CustodyError, match=r"does not hold .*needs custody of that unit too"):
        send("maker", module, "BatteryIntegrated", {"parent_id": pack})
    send("dealer", pack, "CustodyHandedOver", {"to_org": "maker"})
    with pytest.raises(CustodyError, match=r"in transit .*held by no one"):
        send("maker", module, "BatteryIntegrated", {"parent_id": pack})
    send("maker", pack, "CustodyAccepted", {})
    send("maker", module, "BatteryIntegrated", {"parent_id": pack})
    send("maker", pack, "CustodyHandedOver", {"to_org": "dealer"})
    for actor in ("maker", "dealer"):
        with pytest.raises(CustodyError, match=r"in transit .*no one may detach its units"):
            send(actor, module, "BatteryDetached", {})
        # nor anything else on a unit inside it: the sender no longer answers for the shipment
        with pytest.raises(
            CustodyError, match=r"in transit .*no one may append StateOfHealthReported to its"
        ):
            send(actor, module, "StateOfHealthReported", {"soh_pct": 91.0})
    before = ledger.counts().events
    send("maker", module, "PassportDataRegistered", {})  # as for the pack itself
    assert ledger.counts().events == before + 1
    send("dealer", pack, "CustodyAccepted", {})
    send("dealer", module, "StateOfHealthReported", {"soh_pct": 91.0})  # the receiver holds it now
    assert ledger.verify().ok
    ledger.close()
