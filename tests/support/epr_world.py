"""A hand-worked EPR world on a SQLite ledger (figures worked out in the comments and asserted by the tests).

Germany, EU pack, as of 2026-12-01, reporting year 2025:
- portable batteries of ``maker`` placed in DE: 100 kg in 2022, 200 kg in 2023, 170 + 130 kg in 2024; the
  130 kg one is retired and collected in 2025 -> collection rate 130 / ((100 + 200 + 300) / 3) = 0.65 against
  the 45% target of Art. 59(3)(a) in force for 2025 (the 63% is due only by the end of 2027).
- EV packs placed in DE in 2023: e1 450 kg retired 2024-01-10, accepted by the permitted recycler 2024-02-01
  (compliant) and recycled 2024-03-01; e2 550 kg retired 2024-03-01, handed to an unpermitted recycler (leaked,
  last custodian "rogue"); e3 500 kg retired 2024-06-01, never taken back (leaked, last custodian "maker");
  e4 400 kg retired 2026-06-01 (its 365-day window is still open on 2026-12-01: not leaked yet).
  -> leakage DE / maker / 2024: retired 1500 kg, compliant 450 kg, share 0.30; not taken back: e2, e3, e4
  (3 units, 1450 kg).
- one LMT battery (20 kg, 2024) with no LMT registration -> one unregistered placing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from batteryloop.domain.lifecycle import EventType as T
from batteryloop.domain.organisation import Certification, CertificationScheme, Organisation, Role
from batteryloop.domain.registration import ProducerRegistration
from batteryloop.ledger import EventIn, Ledger, sign_batch
from batteryloop.orgs import public_key_bytes
from batteryloop.orgs import service as orgs

AS_OF = date(2026, 12, 1)


@dataclass
class Org:
    org_id: str
    key: Ed25519PrivateKey
    ledger: Ledger

    def append(self, *events: EventIn) -> Any:
        return self.ledger.append(sign_batch(events, actor=self.org_id, private_key=self.key))


def at(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 9, 0, tzinfo=UTC)


def ev(bid: str, kind: T, when: datetime, payload: dict[str, Any] | None = None) -> EventIn:
    return EventIn(bid, kind, when, payload or {})  # type: ignore[arg-type]


def add(
    ledger: Ledger,
    operator_key: Ed25519PrivateKey,
    org_id: str,
    role: Role,
    country: str = "DE",
    certs: tuple[Certification, ...] = (),
) -> Org:
    ledger.register_organisation(Organisation(org_id, org_id.title(), country, frozenset({role}), certs))
    key = Ed25519PrivateKey.generate()
    ledger.add_signing_key(org_id, public_key_bytes(key), operator_key=operator_key)
    return Org(org_id, key, ledger)


def made(bid: str, when: datetime, category: str, mass: float, chemistry: str = "LFP") -> EventIn:
    return ev(
        bid,
        T.BATTERY_MANUFACTURED,
        when,
        {"level": "pack", "chemistry": chemistry, "category": category, "mass_kg": mass},
    )


def build(ledger: Ledger) -> dict[str, Org]:
    operator_key = ledger.operator_key()  # in the ledger's key store, so tree heads can be signed
    permit = Certification(CertificationScheme.EU_PERMIT, "DE-PERMIT-1", date(2020, 1, 1))
    o = {
        "maker": add(ledger, operator_key, "maker", Role.BATTERY_MANUFACTURER),
        "pro": add(ledger, operator_key, "pro", Role.PRO),
        "recycler": add(ledger, operator_key, "recycler", Role.RECYCLER, certs=(permit,)),
        "rogue": add(ledger, operator_key, "rogue", Role.RECYCLER),
        "authority-de": add(ledger, operator_key, "authority-de", Role.AUTHORITY),
        "authority-fr": add(ledger, operator_key, "authority-fr", Role.AUTHORITY, country="FR"),
        "other": add(ledger, operator_key, "other", Role.BATTERY_MANUFACTURER),
    }
    orgs.register_producer(
        ledger,
        ProducerRegistration(
            producer="maker",
            country="DE",
            brands=("Maker",),
            categories=("portable", "ev"),
            chemistries=("LFP", "NMC811"),
            registered_on=date(2020, 1, 1),
            pro="pro",
        ),
    )
    m = o["maker"]
    placed = [("p22", 2022, 100.0), ("p23", 2023, 200.0), ("p24a", 2024, 170.0), ("p24b", 2024, 130.0)]
    for bid, y, kg in placed:
        m.append(
            made(bid, at(y, 1, 5), "portable", kg),
            ev(bid, T.BATTERY_PLACED_ON_MARKET, at(y, 2, 1), {"country": "DE"}),
        )
    m.append(ev("p24b", T.BATTERY_RETIRED, at(2025, 2, 1)), ev("p24b", T.BATTERY_COLLECTED, at(2025, 3, 1)))
    for bid, kg in (("e1", 450.0), ("e2", 550.0), ("e3", 500.0), ("e4", 400.0)):
        m.append(
            made(bid, at(2023, 1, 5), "ev", kg, "NMC811"),
            ev(bid, T.BATTERY_PLACED_ON_MARKET, at(2023, 2, 1), {"country": "DE"}),
        )
    m.append(
        ev("e1", T.BATTERY_RETIRED, at(2024, 1, 10)),
        ev("e1", T.CUSTODY_HANDED_OVER, at(2024, 1, 20), {"to_org": "recycler"}),
    )
    o["recycler"].append(
        ev("e1", T.CUSTODY_ACCEPTED, at(2024, 2, 1)),
        ev("e1", T.BATTERY_RECYCLED, at(2024, 3, 1), {"mass_kg": 450.0}),
    )
    m.append(
        ev("e2", T.BATTERY_RETIRED, at(2024, 3, 1)),
        ev("e2", T.CUSTODY_HANDED_OVER, at(2024, 3, 5), {"to_org": "rogue"}),
    )
    o["rogue"].append(ev("e2", T.CUSTODY_ACCEPTED, at(2024, 3, 6)))
    m.append(ev("e3", T.BATTERY_RETIRED, at(2024, 6, 1)))
    m.append(ev("e4", T.BATTERY_RETIRED, at(2026, 6, 1)))
    m.append(
        made("l1", at(2024, 1, 5), "lmt", 20.0),
        ev("l1", T.BATTERY_PLACED_ON_MARKET, at(2024, 2, 1), {"country": "DE"}),
    )
    # another producer's battery, placed in France: outside maker's and authority-de's views
    o["other"].append(
        made("x1", at(2024, 1, 5), "ev", 300.0),
        ev("x1", T.BATTERY_PLACED_ON_MARKET, at(2024, 2, 1), {"country": "FR"}),
    )
    return o
