"""The register of producers' storage: rows only added; a later registration of the same producer and
country supersedes the earlier one (the latest id wins)."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from typing import Protocol

from sqlalchemy import Connection, insert, select

from batteryloop.db.schema import producer_registrations
from batteryloop.domain.registration import ProducerRegistration

__all__ = ["Connected", "add_registration", "current_registrations"]


class Connected(Protocol):
    def _registry_conn(self, *, write: bool) -> AbstractContextManager[Connection]: ...


def add_registration(registry: Connected, reg: ProducerRegistration) -> None:
    with registry._registry_conn(write=True) as conn:
        conn.execute(
            insert(producer_registrations).values(
                producer=reg.producer,
                country=reg.country,
                brands=json.dumps(list(reg.brands)),
                categories=json.dumps(list(reg.categories)),
                chemistries=json.dumps(list(reg.chemistries)),
                pro=reg.pro,
                reference=reg.reference,
                registered_on=reg.registered_on.isoformat(),
                recorded_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
        )


def current_registrations(registry: Connected) -> list[ProducerRegistration]:
    """The registration in force per (producer, country), ordered by producer and country."""
    t = producer_registrations
    with registry._registry_conn(write=False) as conn:
        rows = conn.execute(select(t).order_by(t.c.id)).mappings().all()
    latest: dict[tuple[str, str], ProducerRegistration] = {}
    for r in rows:
        latest[(r["producer"], r["country"])] = ProducerRegistration(
            producer=r["producer"],
            country=r["country"],
            brands=tuple(json.loads(r["brands"])),
            categories=tuple(json.loads(r["categories"])),
            chemistries=tuple(json.loads(r["chemistries"])),
            registered_on=date.fromisoformat(r["registered_on"]),
            pro=r["pro"],
            reference=r["reference"],
        )
    return [latest[k] for k in sorted(latest)]
