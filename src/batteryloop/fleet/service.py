"""Fleet use cases: generate a synthetic fleet and write it into a ledger, signed by its organisations."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Protocol

from batteryloop.domain.errors import ValidationError
from batteryloop.domain.organisation import Organisation
from batteryloop.fleet.core.batches import plan_batches
from batteryloop.fleet.core.config import FleetConfig
from batteryloop.fleet.core.generator import Fleet, FleetEvent, generate_fleet
from batteryloop.fleet.core.organisations import OrgDirectory
from batteryloop.reference.service import unverified_values

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from batteryloop.ledger import EventIn, SignedBatch


class FleetLedger(Protocol):
    """What generating into a ledger needs of ``batteryloop.ledger.Ledger``."""

    def register_organisation(self, org: Organisation) -> None: ...
    def add_signing_key(self, org_id: str, public_key: bytes) -> str: ...
    def append_bulk(
        self, batches_in: Iterator[SignedBatch], *, progress: Callable[[int], None] | None = None
    ) -> int: ...


class KeyMaker(Protocol):
    """Creates, keeps and returns an organisation's signing key (``batteryloop.ledger.KeyStore``)."""

    def generate_key(self, org_id: str) -> tuple[str, Ed25519PrivateKey]: ...


@dataclass(frozen=True, slots=True)
class GeneratedFleet:
    """The fleet written, how many events the ledger took, the seconds spent generating and appending, and
    ``set:path`` of the unverified values of the packaged data sets the fleet was drawn from."""

    fleet: Fleet
    events_appended: int
    generate_seconds: float
    append_seconds: float
    unverified: tuple[str, ...] = ()


def generate_into_ledger(
    ledger: FleetLedger,
    keys: KeyMaker,
    *,
    seed: int,
    n_batteries: int,
    now: date | None = None,
    config: FleetConfig | None = None,
    orgs: OrgDirectory | None = None,
    progress: Callable[[int], None] | None = None,
    on_generated: Callable[[Fleet], None] | None = None,
) -> GeneratedFleet:
    """Generate ``n_batteries`` top-level units (seeded) and append their events in signed batches, each
    batch signed by the organisation acting in it with a key made by ``keys``.

    ``progress`` receives the number of events of each batch once written; ``on_generated`` the fleet before
    the first append (e.g. to size a progress bar). The packaged data sets read are the fleet defaults (unless
    ``config`` is given), the organisations (unless ``orgs`` is) and the GB/T 34014 code tables.
    """
    if n_batteries < 1:
        raise ValidationError(f"the number of batteries must be at least 1, got {n_batteries}")
    from batteryloop.ledger import sign_batch

    started = time.perf_counter()
    fleet = generate_fleet(seed=seed, n_batteries=n_batteries, now=now, config=config, orgs=orgs)
    generated = time.perf_counter()
    if on_generated is not None:
        on_generated(fleet)
    private: dict[str, Ed25519PrivateKey] = {}
    for org in fleet.organisations:
        ledger.register_organisation(org)
        _, key = keys.generate_key(org.org_id)
        ledger.add_signing_key(org.org_id, key.public_key().public_bytes_raw())
        private[org.org_id] = key

    def batches() -> Iterator[SignedBatch]:
        for actor, chunk in plan_batches(fleet.events):
            yield sign_batch([to_event_in(e) for e in chunk], actor=actor, private_key=private[actor])

    appended = ledger.append_bulk(batches(), progress=progress)
    used = [name for name, default in (("fleet", config is None), ("organisations", orgs is None)) if default]
    return GeneratedFleet(
        fleet=fleet,
        events_appended=appended,
        generate_seconds=generated - started,
        append_seconds=time.perf_counter() - generated,
        unverified=unverified_values([*used, "gbt34014"]),
    )


def to_event_in(event: FleetEvent) -> EventIn:
    """The ledger's submission form of a generated event (the actor signs the batch, not the event)."""
    from batteryloop.ledger import EventIn

    return EventIn(
        battery_id=event.battery_id,
        event_type=event.event_type,
        occurred_at=event.occurred_at,
        payload=event.payload,
    )
