"""Shared fixtures: a SQLite ledger in tmp_path, organisations with signing keys, and a PostgreSQL database.

PostgreSQL: ``pg_url`` is env BATTERYLOOP_TEST_PG_URL or postgresql+psycopg://postgres@127.0.0.1:5432/test.
A throwaway database ``bl_test_<random>`` is created for the session and dropped at the end. If the server is
unreachable the ``pg`` tests are skipped, except when env CI=true: then they fail, because CI must run them.

Redis: ``redis_url`` is env BATTERYLOOP_TEST_REDIS_URL or redis://127.0.0.1:6379/0, decided the same way
(skipped when unreachable, failed when CI=true); ``redis_prefix`` is a key prefix of one test, whose keys are
deleted after it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from batteryloop.domain.lifecycle import EventType
from batteryloop.domain.organisation import Organisation, Role
from batteryloop.ledger import EventIn, Ledger, SignedBatch, sign_batch
from batteryloop.orgs import key_id_for, public_key_bytes

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
# the operator's key of every test ledger (registered as the key log's first entry by the first admission)
OPERATOR_KEY = Ed25519PrivateKey.generate()


@dataclass
class Actor:
    """A registered organisation holding its private signing key."""

    org_id: str
    key: Ed25519PrivateKey
    ledger: Ledger

    def sign(self, events: Iterable[EventIn]) -> SignedBatch:
        return sign_batch(events, actor=self.org_id, private_key=self.key)

    def append(self, *events: EventIn, **kwargs: Any) -> Any:
        return self.ledger.append(self.sign(events), **kwargs)


def ev(
    battery_id: str,
    event_type: EventType | str,
    payload: dict[str, Any] | None = None,
    *,
    minutes: int = 0,
    key: str | None = None,
) -> EventIn:
    """A terse EventIn for tests."""
    return EventIn(battery_id, event_type, T0 + timedelta(minutes=minutes), payload or {}, key)  # type: ignore[arg-type]


def manufactured(battery_id: str, level: str = "pack", **extra: Any) -> EventIn:
    payload = {"level": level, "chemistry": "LFP", "category": "ev", **extra}
    return ev(battery_id, EventType.BATTERY_MANUFACTURED, payload)


def pack_unit(battery_id: str, *, serial: str, gtin: str = "04012345000016", **overrides: Any) -> Any:
    """An EV pack made by ``maker`` on 2025-03-01; ``overrides`` change any other field."""
    from datetime import date

    from batteryloop.domain import BatteryCategory, BatteryUnit, Chemistry, UnitLevel

    fields: dict[str, Any] = {
        "battery_id": battery_id,
        "level": UnitLevel.PACK,
        "chemistry": Chemistry.NMC622,
        "category": BatteryCategory.EV,
        "manufacturer_id": "maker",
        "model": "NMC 82",
        "mass_kg": 510.0,
        "rated_energy_kwh": 82.0,
        "rated_capacity_ah": 220.0,
        "nominal_voltage_v": 372.0,
        "manufactured_on": date(2025, 3, 1),
        "manufacturing_country": "DE",
        "gtin": gtin,
        "serial": serial,
        **overrides,
    }
    return BatteryUnit(**fields)


def with_passport(
    unit: Any, *, seed: int, resolver_domain: str | None = None, ledger: Ledger | None = None
) -> list[EventIn]:
    """The unit's registration and, a minute later, its synthetic passport data. With ``ledger``, the
    documents the passport links are stored in its document store (the unit's manufacturer must be
    registered). ``resolver_domain`` is not used any more: the passport's links follow the server's public
    base URL (kept so that older calls still run)."""
    from batteryloop.passport.core.synthetic import synthetic_passport_data

    if ledger is not None:
        store_documents(ledger, unit)
    return [
        ev(unit.battery_id, EventType.BATTERY_MANUFACTURED, unit.to_payload()),
        ev(
            unit.battery_id,
            EventType.PASSPORT_DATA_REGISTERED,
            synthetic_passport_data(unit, seed=seed),
            minutes=1,
        ),
    ]


def store_documents(ledger: Ledger, *units: Any) -> int:
    """Store the documents the synthetic passports of these units link (as the demo does)."""
    from batteryloop.demo import store_demo_documents

    return store_demo_documents(ledger, [(u.manufacturer_id, u.model) for u in units])


def add_actor(
    ledger: Ledger, org_id: str, role: Role = Role.BATTERY_MANUFACTURER, country: str = "DE"
) -> Actor:
    ledger.register_organisation(Organisation(org_id, org_id.title(), country, frozenset({role})))
    key = Ed25519PrivateKey.generate()
    ledger.add_signing_key(org_id, public_key_bytes(key), operator_key=OPERATOR_KEY)
    return Actor(org_id, key, ledger)


def add_key(actor: Actor, *, signer: Ed25519PrivateKey | None = None) -> Ed25519PrivateKey:
    """A new signing key of ``actor``, registered with a signature by its current key (or ``signer``)."""
    from batteryloop.orgs.core.keylog import registration, sign_statement

    by = signer or actor.key
    new = Ed25519PrivateKey.generate()
    statement = registration(
        actor.org_id,
        public_key_bytes(new),
        signer_org=actor.org_id,
        signer_key_id=key_id_for(public_key_bytes(by)),
    )
    actor.ledger.record_key_statement(statement, sign_statement(statement, by), actor=actor.org_id)
    return new


def revoke_key(actor: Actor, key: Ed25519PrivateKey, *, signer: Ed25519PrivateKey | None = None) -> None:
    """Revoke ``key`` of ``actor``, signed by ``signer`` (default: the key itself)."""
    from batteryloop.orgs.core.keylog import revocation, sign_statement

    by = signer or key
    statement = revocation(
        actor.org_id,
        key_id_for(public_key_bytes(key)),
        signer_org=actor.org_id,
        signer_key_id=key_id_for(public_key_bytes(by)),
    )
    actor.ledger.record_key_statement(statement, sign_statement(statement, by), actor=actor.org_id)


@dataclass
class World:
    ledger: Ledger
    maker: Actor
    dealer: Actor
    recycler: Actor


def build_world(ledger: Ledger) -> World:
    return World(
        ledger,
        add_actor(ledger, "maker"),
        add_actor(ledger, "dealer", Role.DEALER_REPAIRER),
        add_actor(ledger, "recycler", Role.RECYCLER),
    )


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    led = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield led
    led.close()


@pytest.fixture
def world(ledger: Ledger) -> World:
    return build_world(ledger)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    import psycopg

    base = os.environ.get("BATTERYLOOP_TEST_PG_URL", DEFAULT_PG_URL)
    admin = base.replace("postgresql+psycopg://", "postgresql://")
    name = f"bl_test_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as con:
            con.execute(f"CREATE DATABASE {name}")
    except psycopg.OperationalError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is unreachable at {base} and CI=true: {exc}")
        pytest.skip(f"PostgreSQL is unreachable at {base}: {exc}")
    yield base.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("BATTERYLOOP_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    in_ci = os.environ.get("CI", "").lower() == "true"
    try:
        import redis
    except ImportError as exc:  # the test extra has it: CI must not pass without these tests
        if in_ci:
            pytest.fail(f"the redis package is not installed and CI=true: {exc}")
        pytest.skip(f"the redis package is not installed: {exc}")
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3) as client:
            client.ping()
    except (redis.RedisError, OSError) as exc:
        if in_ci:
            pytest.fail(f"Redis is unreachable at {url} and CI=true: {exc}")
        pytest.skip(f"Redis is unreachable at {url}: {exc}")
    return url


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix for this test alone; its keys are deleted afterwards."""
    import redis

    prefix = f"bl-test:{uuid.uuid4().hex}:"
    yield prefix
    with redis.Redis.from_url(redis_url) as client:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)


@pytest.fixture
def pg_ledger(pg_url: str) -> Iterator[Ledger]:
    """A ledger on the session's PostgreSQL database, emptied (migrated down and up) for each test."""
    from batteryloop.db import downgrade, make_engine, upgrade

    engine = make_engine(pg_url)
    downgrade(engine)
    upgrade(engine)
    engine.dispose()
    led = Ledger.open(pg_url, create=False)
    yield led
    led.close()


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def any_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """The same test on a SQLite ledger in tmp_path and on the session's PostgreSQL database."""
    if request.param == "sqlite":
        led = Ledger.open(f"sqlite:///{tmp_path / 'any.db'}")
        yield led
        led.close()
    else:
        yield request.getfixturevalue("pg_ledger")


class Helpers:
    """Test helpers handed out as the ``bl`` fixture (test modules cannot import a conftest safely)."""

    T0 = T0
    Actor = Actor
    World = World
    ev = staticmethod(ev)
    manufactured = staticmethod(manufactured)
    add_actor = staticmethod(add_actor)
    add_key = staticmethod(add_key)
    revoke_key = staticmethod(revoke_key)
    OPERATOR_KEY = OPERATOR_KEY
    pack_unit = staticmethod(pack_unit)
    with_passport = staticmethod(with_passport)
    store_documents = staticmethod(store_documents)
    build_world = staticmethod(build_world)


@pytest.fixture(scope="session")
def bl() -> type[Helpers]:
    return Helpers
