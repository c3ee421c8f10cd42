"""Read queries for finding batteries: the current-state projection filtered and paged (SQLAlchemy Core),
as plain rows that the service turns into :class:`~batteryloop.ledger.BatteryRow`.

A filter left as None does not restrict. ``organisation`` matches the holder or the manufacturer; ``code``
matches the start of a registered identifier code (GB/T 34014 text, GS1 ``<GTIN>/<serial>``) or of the
battery id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, exists, func, or_, select, true

from batteryloop.db.schema import battery_state, codes

__all__ = ["BatteryFilter", "count_batteries", "find_batteries"]


@dataclass(frozen=True, slots=True)
class BatteryFilter:
    chemistry: str | None = None
    state: str | None = None
    holder: str | None = None
    organisation: str | None = None
    code: str | None = None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _where(f: BatteryFilter) -> ColumnElement[bool]:
    s = battery_state.c
    clauses: list[ColumnElement[bool]] = []
    if f.chemistry is not None:
        clauses.append(func.upper(s.chemistry) == f.chemistry.upper())
    if f.state is not None:
        clauses.append(s.state == f.state)
    if f.holder is not None:
        clauses.append(s.custodian == f.holder)
    if f.organisation is not None:
        clauses.append(or_(s.custodian == f.organisation, s.manufacturer == f.organisation))
    if f.code:
        prefix = _escape_like(f.code.strip()) + "%"
        by_code = exists().where(
            and_(
                codes.c.battery_id == s.battery_id,
                func.upper(codes.c.code).like(prefix.upper(), escape="\\"),
            )
        )
        # an EU unique identifier may be typed without its ``urn:uuid:`` scheme
        bare_id = "urn:uuid:" + prefix.lower()
        clauses.append(
            or_(s.battery_id.like(prefix, escape="\\"), s.battery_id.like(bare_id, escape="\\"), by_code)
        )
    return and_(true(), *clauses)


def find_batteries(
    engine: Engine, where: BatteryFilter, *, limit: int, offset: int
) -> list[Mapping[str, Any]]:
    """One page of the projection rows matching ``where`` (column name to value), ordered by battery id."""
    query = (
        select(battery_state)
        .where(_where(where))
        .order_by(battery_state.c.battery_id)
        .limit(limit)
        .offset(offset)
    )
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def count_batteries(engine: Engine, where: BatteryFilter) -> int:
    query = select(func.count()).select_from(battery_state).where(_where(where))
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())
