"""Use cases of the compliance capability: rule packs, recyclers' lots and targets, producers' obligations,
leakage and performance. Services take an open ledger (or pure inputs) and keyword-only options, return frozen
results and raise domain errors; they never print, format or parse a URL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from batteryloop.compliance.core import rules
from batteryloop.domain.organisation import Organisation
from batteryloop.domain.registration import ProducerRegistration

__all__ = [
    "FIGURES",
    "EprReport",
    "LedgerPoint",
    "ReportScope",
    "RulesView",
    "epr_report",
    "figure_batteries",
    "list_rule_packs",
    "producer_registrations",
    "register_producer",
    "rule_pack",
]


@dataclass(frozen=True)
class RulesView:
    """A jurisdiction's rule pack, every rule with its cited value."""

    code: str
    description: str
    lineage: tuple[str, ...]
    rules: tuple[tuple[str, Mapping[str, Any]], ...]


def list_rule_packs() -> tuple[rules.PackSummary, ...]:
    """The packaged jurisdictions, each with its description and number of rules."""
    return tuple(rules.summary(rules.load_pack(code)) for code in rules.jurisdictions())


def rule_pack(
    code: str, *, prefix: str = "", overrides: Sequence[Path | Mapping[str, Any]] = ()
) -> RulesView:
    """Jurisdiction ``code``'s rules (those under ``prefix`` when given), overrides applied."""
    pack = rules.load_pack(code, overrides=overrides)
    return RulesView(
        code=code,
        description=pack.description,
        lineage=pack.lineage,
        rules=tuple((path, value.as_dict()) for path, value in pack.items(prefix)),
    )


# --- recyclers: lots, recycling efficiency, material recovery, recycled content, white list -----------------

from collections.abc import Iterator  # noqa: E402
from typing import Protocol  # noqa: E402

from batteryloop.compliance.core import recyclers  # noqa: E402
from batteryloop.domain.errors import NotFoundError, ValidationError  # noqa: E402
from batteryloop.domain.lifecycle import EventType  # noqa: E402
from batteryloop.domain.organisation import Role  # noqa: E402
from batteryloop.domain.validation import check_event_payload  # noqa: E402

__all__ += [
    "LedgerPoint",
    "RecycledContentReport",
    "RecyclerReport",
    "planned_plant",
    "record_lots",
    "recycled_content",
    "recycler_report",
    "traceability_findings",
]

# The ledger as the recyclers' use cases need it (the Ledger facade satisfies it).


class LotLedger(Protocol):
    def iter_events(self, *, after_position: int = 0, batch_size: int | None = None) -> Iterator[Any]: ...
    def list_organisations(self) -> list[Organisation]: ...

    @property
    def tree(self) -> Any: ...


_LOT_IN = EventType.RECYCLING_LOT_RECEIVED
_LOT_OUT = EventType.RECYCLING_LOT_PRODUCED
_MADE = EventType.BATTERY_MANUFACTURED


@dataclass(frozen=True)
class LedgerPoint:
    """Where in the ledger a report was computed, so that anyone can recompute and check it: its position (tree
    size), the Merkle root there, the date of the last event, how many events were folded and from where, and the
    latest signed tree head (checkpoint) at or before it. Every report of the capability carries one."""

    position: int
    root_hex: str | None = None  # the global tree's root at ``position``
    as_of: date | None = None  # the date of the last event recorded at that position
    events: int | None = None  # events folded into the report
    source: str = "ledger"  # "ledger" or "parquet: <files>"
    signed_size: int | None = None  # the latest signed tree head at or before ``position``
    signed_root: str | None = None
    signed_at: str | None = None
    checkpoint: str | None = None  # its signed note (C2SP checkpoint), verifiable with the operator's key


@dataclass(frozen=True)
class LotSnapshot:
    point: LedgerPoint
    inputs: tuple[recyclers.InputItem, ...]
    outputs: tuple[recyclers.OutputLot, ...]
    made: tuple[recyclers.BatteryMade, ...]
    roles: Mapping[str, frozenset[str]]


def _ledger_point(ledger: LotLedger, position: int, as_of: date | None) -> LedgerPoint:
    head = ledger.tree.head(position)
    signed = None
    for candidate in ledger.tree.heads():
        if candidate.size <= position and candidate.checkpoint is not None:
            signed = candidate
    checkpoint = None
    if signed is not None:
        text = getattr(signed.checkpoint, "text", None)
        checkpoint = text if isinstance(text, str) else str(signed.checkpoint)
    return LedgerPoint(
        position=position,
        root_hex=bytes(head.root).hex(),
        signed_size=None if signed is None else signed.size,
        signed_root=None if signed is None else bytes(signed.root).hex(),
        signed_at=None if signed is None else signed.signed_at,
        checkpoint=checkpoint,
        as_of=as_of,
    )


def read_lots(ledger: LotLedger, *, at_position: int | None = None) -> LotSnapshot:
    """The lots, registrations and reports of the ledger up to ``at_position`` (default: its head)."""
    if at_position is not None and at_position < 0:
        raise ValidationError(f"at_position must be >= 0, got {at_position}")
    inputs: list[recyclers.InputItem] = []
    outputs: list[recyclers.OutputLot] = []
    made: list[recyclers.BatteryMade] = []
    last = 0
    last_day: date | None = None
    for ev in ledger.iter_events():
        if at_position is not None and ev.position > at_position:
            break
        last, last_day = ev.position, ev.recorded_at.date()
        p = ev.payload
        if ev.event_type is _LOT_IN or ev.event_type is _LOT_OUT:
            try:
                if ev.event_type is _LOT_IN:
                    inputs.append(_input_item(ev.battery_id, ev.actor, p, ev.position))
                else:
                    outputs.append(_output_lot(ev.battery_id, ev.actor, p, ev.position))
            except (
                KeyError,
                TypeError,
                ValueError,
            ) as exc:  # stored by an earlier version, or its fields refused
                raise recyclers.MassBalanceError(
                    f"{ev.event_type} at ledger position {ev.position} (battery {ev.battery_id}) cannot be read "
                    f"as a lot: {exc}"
                ) from None
        elif ev.event_type is _MADE and isinstance(p.get("mass_kg"), int | float) and p.get("model"):
            day = p.get("manufactured_on")
            made.append(
                recyclers.BatteryMade(
                    battery_id=ev.battery_id,
                    manufacturer=ev.actor,
                    model=str(p["model"]),
                    category=str(p.get("category", "")),
                    chemistry=str(p.get("chemistry", "")),
                    mass_kg=float(p["mass_kg"]),
                    year=date.fromisoformat(day).year if isinstance(day, str) else ev.occurred_at.year,
                )
            )
    if at_position is not None and at_position > last:
        raise ValidationError(f"at_position {at_position} is beyond the ledger's head ({last})")
    roles = {o.org_id: frozenset(str(r) for r in o.roles) for o in ledger.list_organisations()}
    return LotSnapshot(
        _ledger_point(ledger, last, last_day),
        tuple(inputs),
        tuple(outputs),
        tuple(made),
        roles,
    )


def _input_item(battery_id: str, actor: str, p: Mapping[str, Any], position: int) -> recyclers.InputItem:
    powder = p.get("electrode_powder_kg")
    return recyclers.InputItem(
        battery_id=battery_id,
        lot_id=str(p["lot_id"]),
        recycler=actor,
        mass_kg=float(p["mass_kg"]),
        chemistry_group=str(p["chemistry_group"]),
        received_on=date.fromisoformat(str(p["received_on"])),
        elements_kg=recyclers.as_float_map(p),
        electrode_powder_kg=None if powder is None else float(powder),
        position=position,
    )


def _output_lot(battery_id: str, actor: str, p: Mapping[str, Any], position: int) -> recyclers.OutputLot:
    return recyclers.OutputLot(
        lot_id=str(p["lot_id"]),
        input_lot_id=str(p["input_lot_id"]),
        recycler=actor,
        battery_id=battery_id,
        fraction=str(p["fraction"]),
        mass_kg=float(p["mass_kg"]),
        produced_on=date.fromisoformat(str(p["produced_on"])),
        counted_as_recycled=p.get("counted_as_recycled") is True,
        buyer=p.get("buyer") if isinstance(p.get("buyer"), str) else None,
        for_model=p.get("for_model") if isinstance(p.get("for_model"), str) else None,
        elements_kg=recyclers.as_float_map(p),
        position=position,
    )


class LotAppender(LotLedger, Protocol):
    def append_events(
        self,
        events: Sequence[Any],
        *,
        actor: str,
        key_id: str,
        signature: bytes,
        expected_versions: Any = None,
    ) -> Any: ...


def record_lots(
    ledger: LotAppender, events: Sequence[Any], *, caller: Organisation, key_id: str, signature: bytes
) -> Any:
    """Append a signed batch of ``RecyclingLotReceived`` / ``RecyclingLotProduced`` events after checking the
    mass balance of the caller's lots with them: outputs not heavier than their inputs (in total and per
    element), no battery in two lots, outputs naming a known input lot of the caller. The ledger's append then
    checks the signature, every payload and custody (the batteries exist and the caller holds them); all or
    nothing. Returns the ledger's append result."""
    if not events:
        raise ValidationError("the batch holds no events")
    new_in: list[recyclers.InputItem] = []
    new_out: list[recyclers.OutputLot] = []
    for index, ev in enumerate(events, start=1):
        if ev.event_type not in (_LOT_IN, _LOT_OUT):
            raise ValidationError(
                f"event {index} is {ev.event_type}: only RecyclingLotReceived and RecyclingLotProduced are "
                "recorded here (other events go to POST /events)"
            )
        check_event_payload(ev.battery_id, ev.event_type, ev.payload)
        convert = _input_item if ev.event_type is _LOT_IN else _output_lot
        item = convert(ev.battery_id, caller.org_id, ev.payload, 0)
        (new_in if ev.event_type is _LOT_IN else new_out).append(item)  # type: ignore[arg-type]
    snapshot = read_lots(ledger)
    recyclers.build_lots(
        [i for i in snapshot.inputs if i.recycler == caller.org_id] + new_in,
        [o for o in snapshot.outputs if o.recycler == caller.org_id] + new_out,
    )
    return ledger.append_events(list(events), actor=caller.org_id, key_id=key_id, signature=signature)


def check_recycler_access(caller: Organisation | None, recycler: str) -> None:
    """PermissionError unless ``caller`` may read ``recycler``'s report: the recycler itself, an authority or
    a notified body (or the local operator: no caller)."""
    if caller is None or caller.roles & {Role.AUTHORITY, Role.NOTIFIED_BODY}:
        return
    if caller.org_id == recycler:
        return
    raise PermissionError(
        f"{caller.org_id} may not read recycler {recycler}'s compliance report; only the recycler itself and "
        "authorities may"
    )


@dataclass(frozen=True)
class RecyclerReport:
    """A recycler's compliance under one jurisdiction's rule pack, as of a point in the ledger (or, for a
    planned plant, of the recycling model's expected lots: ``point`` is then None)."""

    recycler: str
    jurisdiction: str
    year: int | None
    point: LedgerPoint | None
    lots: tuple[recyclers.InputLot, ...]
    efficiency: tuple[recyclers.Efficiency, ...]
    recovery: tuple[recyclers.Recovery, ...]
    white_list: tuple[recyclers.WhiteListCheck, ...]
    traceability: tuple[recyclers.TraceabilityFinding, ...]
    lineage: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def open_lots(self) -> tuple[str, ...]:
        return tuple(lot.lot_id for lot in self.lots if not lot.outputs)


def _sections(
    lots: Sequence[recyclers.InputLot], pack: rules.RulePack, year: int | None
) -> tuple[
    tuple[recyclers.Efficiency, ...], tuple[recyclers.Recovery, ...], tuple[recyclers.WhiteListCheck, ...]
]:
    has = {
        section: next(iter(pack.items(section)), None) is not None for section in ("recycling", "whitelist")
    }
    if not has["recycling"] and not has["whitelist"]:
        raise NotFoundError(
            f"jurisdiction {pack.name} has no rules for recyclers (recycling.efficiency, recycling.recovery or "
            "whitelist)"
        )
    eff = recyclers.efficiency(lots, pack, year=year) if has["recycling"] else ()
    rec = recyclers.recovery(lots, pack, year=year) if has["recycling"] else ()
    wl = recyclers.white_list(lots, pack, year=year) if has["whitelist"] else ()
    return eff, rec, wl


def recycler_report(
    ledger: LotLedger,
    *,
    recycler: str,
    jurisdiction: str,
    year: int | None = None,
    caller: Organisation | None = None,
    at_position: int | None = None,
    overrides: Sequence[Path | Mapping[str, Any]] = (),
    warehouse: Any = None,
    as_of: date | None = None,
) -> RecyclerReport:
    """``recycler``'s recycling efficiency, material recovery, white-list conditions and late or missing
    traceability reports under ``jurisdiction``'s rules, from its lots in the ledger (up to ``at_position``),
    folded by the columnar engine. ``warehouse``: an engine already folded (over a Parquet export, say) to
    read instead of the ledger's (``ledger`` may then be None; ``as_of`` dates the missing intakes)."""
    from batteryloop.compliance import epr_engine

    check_recycler_access(caller, recycler)
    pack = rules.load_pack(jurisdiction, overrides=overrides)
    if at_position is not None and at_position < 0:
        raise ValidationError(f"at_position must be >= 0, got {at_position}")
    if warehouse is not None:
        wh = warehouse
        if at_position is not None and at_position != wh.position:
            raise ValidationError(
                f"at_position {at_position}: the engine given is folded up to position {wh.position}"
            )
        known = {str(r["org_id"]) for r in wh.query("SELECT org_id FROM orgs")}
    else:
        known = {o.org_id for o in ledger.list_organisations()}
    if recycler not in known:
        raise NotFoundError(f"organisation {recycler!r} is not registered")
    if warehouse is None:
        wh = epr_engine.warehouse_at(ledger, at_position)
    if at_position is not None and at_position > wh.position:
        raise ValidationError(f"at_position {at_position} is beyond the ledger's head ({wh.position})")
    position = wh.position
    if ledger is None:
        point = LedgerPoint(position=position, as_of=as_of, events=wh.events, source="columnar engine")
    else:
        last = (
            next(iter(ledger.iter_events(after_position=position - 1, batch_size=1)), None)
            if position
            else None
        )
        point = _ledger_point(ledger, position, as_of or (None if last is None else last.recorded_at.date()))
    lots = epr_engine.recycler_input_lots(wh, recycler)
    eff, rec, wl = _sections(lots, pack, year)
    findings: tuple[recyclers.TraceabilityFinding, ...] = ()
    if next(iter(pack.items("traceability")), None) is not None and point.as_of is not None:
        findings = tuple(
            f
            for f in epr_engine.actor_traceability_findings(wh, pack, as_of=point.as_of, actor=recycler)
            if f.position <= position and (year is None or f.occurred_on.year == year)
        )
    return RecyclerReport(
        recycler,
        jurisdiction,
        year,
        point,
        lots if year is None else tuple(lot for lot in lots if lot.year == year),
        eff,
        rec,
        wl,
        findings,
        pack.lineage,
    )


def traceability_findings(
    ledger: LotLedger,
    *,
    jurisdiction: str = "cn",
    caller: Organisation | None = None,
    at_position: int | None = None,
) -> tuple[LedgerPoint, tuple[recyclers.TraceabilityFinding, ...]]:
    """Every actor's late or missing traceability reports (an authority's view; an organisation sees its own)."""
    from batteryloop.compliance import epr_engine

    pack = rules.load_pack(jurisdiction)
    snapshot = read_lots(ledger, at_position=at_position)
    if snapshot.point.as_of is None:
        return snapshot.point, ()
    own = caller is not None and not caller.roles & {Role.AUTHORITY, Role.NOTIFIED_BODY}
    wh = epr_engine.warehouse_at(ledger, snapshot.point.position if at_position is not None else None)
    found = epr_engine.traceability_findings(
        wh, pack, as_of=snapshot.point.as_of, actors=(caller.org_id,) if own and caller else None
    )
    return snapshot.point, tuple(f for f in found if f.position <= snapshot.point.position)


@dataclass(frozen=True)
class RecycledContentReport:
    jurisdiction: str
    producer: str | None
    point: LedgerPoint
    rows: tuple[recyclers.RecycledContent, ...]
    composition_set: str


def recycled_content(
    ledger: LotLedger,
    *,
    jurisdiction: str = "eu",
    producer: str | None = None,
    caller: Organisation | None = None,
    at_position: int | None = None,
    params_set: str = "batteryloop2025",
) -> RecycledContentReport:
    """Recycled-content shares per battery model and year, backed by the output lots recyclers sold to the
    producer for that model, against the Art. 8 minimums. A producer sees its own models only."""
    if caller is not None and not caller.roles & {Role.AUTHORITY, Role.NOTIFIED_BODY}:
        if producer is not None and producer != caller.org_id:
            raise PermissionError(f"{caller.org_id} may not read producer {producer}'s recycled content")
        producer = caller.org_id
    pack = rules.load_pack(jurisdiction)
    snapshot = read_lots(ledger, at_position=at_position)
    chemistries = sorted({b.chemistry for b in snapshot.made})
    composition = element_composition(chemistries, params_set=params_set)
    rows = recyclers.recycled_content(snapshot.made, snapshot.outputs, pack, composition, producer=producer)
    return RecycledContentReport(jurisdiction, producer, snapshot.point, rows, params_set)


def element_composition(
    chemistries: Sequence[str], *, params_set: str = "batteryloop2025"
) -> dict[str, dict[str, float]]:
    """Element name -> kg per kg of pack for each chemistry, from the recycling model's cited compositions
    (chemistries it does not know are left out, so their batteries hold none of the Art. 8 metals)."""
    from batteryloop.recycling import service as recycling
    from batteryloop.recycling.core.feedstock import form_makeup
    from batteryloop.recycling.core.materials import resolve_chemistry

    params = recycling.packaged_set(params_set)
    to_elements = resolve_chemistry(params).to_elements
    out: dict[str, dict[str, float]] = {}
    for chem in chemistries:
        try:
            per_kg = to_elements(form_makeup(params, "pack", chem).materials)
        except (NotFoundError, ValidationError):
            continue
        out[chem] = {
            recyclers.ELEMENT_NAMES[el.lower()]: kg
            for el, kg in per_kg.items()
            if el.lower() in recyclers.ELEMENT_NAMES
        }
    return out


def planned_plant(
    scenario: Any,
    *,
    jurisdiction: str,
    year: int,
    chemistry_group: str = "lithium",
    recycler: str = "planned-plant",
    overrides: Sequence[Path | Mapping[str, Any]] = (),
) -> RecyclerReport:
    """Check a planned plant before it runs: the recycling model runs ``scenario`` (a
    :class:`batteryloop.recycling.core.scenario.Scenario`), proposes the lots it expects for one tonne of
    feed (an input lot with the feed's element content; an output lot per saleable product, counted as
    recycled) and those lots are checked against ``jurisdiction``'s targets for ``year``."""
    from batteryloop.recycling import service as recycling

    pack = rules.load_pack(jurisdiction, overrides=overrides)
    run = recycling.run_scenario(scenario)
    inputs, outputs = expected_lots(
        run.flowsheet, recycler=recycler, year=year, chemistry_group=chemistry_group
    )
    lots = recyclers.build_lots(inputs, outputs).lots
    eff, rec, wl = _sections(lots, pack, year)
    notes = (
        f"expected lots of route {run.flowsheet.route} for {run.flowsheet.feed_mass_kg:g} kg of feed "
        f"(parameter set {run.flowsheet.params_set or 'given'}); every saleable product counted as recycled",
        *run.warnings,
    )
    return RecyclerReport(recycler, jurisdiction, year, None, lots, eff, rec, wl, (), pack.lineage, notes)


def expected_lots(
    flowsheet: Any, *, recycler: str, year: int, chemistry_group: str = "lithium"
) -> tuple[list[recyclers.InputItem], list[recyclers.OutputLot]]:
    """The lots a flowsheet result implies: one input lot of its feed, one output lot per saleable product."""
    day = date(year, 6, 30)
    feed = {
        el.lower(): float(kg)
        for el, kg in flowsheet.feed_elements_kg.items()
        if el.lower() in recyclers.ELEMENT_NAMES
    }
    inputs = [
        recyclers.InputItem(
            battery_id="feed",
            lot_id="expected-input",
            recycler=recycler,
            mass_kg=float(flowsheet.feed_mass_kg),
            chemistry_group=chemistry_group,
            received_on=day,
            elements_kg=feed,
        )
    ]
    outputs = []
    for product, kg in sorted(flowsheet.products_kg.items()):
        if kg <= 0:
            continue
        elements = flowsheet.product_elements_kg.get(product, {})
        outputs.append(
            recyclers.OutputLot(
                lot_id=f"expected-{product}",
                input_lot_id="expected-input",
                recycler=recycler,
                battery_id="feed",
                fraction=str(product),
                mass_kg=float(kg),
                produced_on=day,
                counted_as_recycled=True,
                elements_kg={
                    el.lower(): float(v)
                    for el, v in elements.items()
                    if el.lower() in recyclers.ELEMENT_NAMES
                },
            )
        )
    return inputs, outputs


# --- producers and regulators: registrations, placed on market, collection, leakage, performance ----------

# Producers' obligations and regulators' views are computed by the columnar engine (``columnar.py``: DuckDB
# over the ledger's events or its Parquet export, folded into per-battery facts and refreshed incrementally).


@dataclass(frozen=True)
class ReportScope:
    """Who asked and what they may see: the countries (markets) and, for a producer, its own obligations."""

    jurisdiction: str
    viewer: str  # "operator", "authority", "pro", "producer"
    viewer_org: str | None
    countries: tuple[str, ...]
    producers: tuple[str, ...] | None  # None: every producer in the countries
    enterprises: tuple[str, ...] | None  # recyclers / actors in performance and traceability; None: all


@dataclass(frozen=True)
class EprReport:
    """The full set of producers' and regulators' figures at one ledger point.

    Every section is a tuple of plain rows (dicts of numbers and codes) in a fixed column order; each row's
    keys name what it counts, and :func:`figure_batteries` lists the batteries behind any figure.
    """

    scope: ReportScope
    point: LedgerPoint
    year: int
    as_of: date
    window_days: int
    placed: tuple[Mapping[str, Any], ...]
    unregistered: tuple[Mapping[str, Any], ...]
    collection: tuple[Mapping[str, Any], ...]
    take_back: tuple[Mapping[str, Any], ...]
    leakage: tuple[Mapping[str, Any], ...]
    leaked: tuple[Mapping[str, Any], ...]
    performance: tuple[Mapping[str, Any], ...]
    regions: tuple[Mapping[str, Any], ...]
    traceability: tuple[Mapping[str, Any], ...]
    late_uploads: tuple[Mapping[str, Any], ...]
    registrations: tuple[ProducerRegistration, ...]
    sources: Mapping[str, str]  # rule path -> "source locator" of every rule the report applied
    notes: tuple[str, ...] = ()


FIGURES = ("placed", "collected", "not_taken_back", "leaked", "compliant", "processed")


def register_producer(
    registry: Any, registration: ProducerRegistration, *, caller: Organisation | None = None
) -> ProducerRegistration:
    """Add a producer's registration to the register of producers (see :func:`orgs.service.register_producer`)."""
    from batteryloop.orgs import service as orgs

    return orgs.register_producer(registry, registration, caller=caller)


def producer_registrations(
    registry: Any, *, producer: str | None = None, country: str | None = None
) -> tuple[ProducerRegistration, ...]:
    from batteryloop.orgs import service as orgs

    return orgs.producer_registrations(registry, producer=producer, country=country)


def epr_report(
    ledger: Any,
    *,
    jurisdiction: str,
    year: int | None = None,
    as_of: date | None = None,
    caller: Organisation | None = None,
    producer: str | None = None,
    overrides: Sequence[Path | Mapping[str, Any]] = (),
    parquet: Sequence[Path] = (),
    warehouse: Any = None,
) -> EprReport:
    """Producers' obligations and the regulator's view for ``jurisdiction`` at the ledger's current position.

    ``year`` is the reporting year of the collection rates (default: the year before ``as_of``); ``as_of``
    (default: today) closes the leakage window. ``producer`` narrows to one producer, which must be registered
    in the jurisdiction. ``parquet``: read these Parquet exports instead of the ledger (``ledger`` may then be
    None, and the report names no checkpoint). ``caller`` decides what is visible: an authority its country
    (an authority of country ``EU`` the whole EU pack), a PRO the producers it represents, any other
    organisation its own obligations; None is the operator.
    """
    from batteryloop.compliance import epr_engine

    return epr_engine.build_report(
        ledger,
        jurisdiction=jurisdiction,
        year=year,
        as_of=as_of,
        caller=caller,
        producer=producer,
        overrides=overrides,
        parquet=parquet,
        warehouse=warehouse,
    )


def figure_batteries(
    ledger: Any,
    *,
    jurisdiction: str,
    figure: str,
    caller: Organisation | None = None,
    producer: str | None = None,
    country: str | None = None,
    category: str | None = None,
    year: int | None = None,
    as_of: date | None = None,
    limit: int = 1000,
    overrides: Sequence[Path | Mapping[str, Any]] = (),
    parquet: Sequence[Path] = (),
) -> tuple[Mapping[str, Any], ...]:
    """The batteries behind one figure of a report (``figure`` one of :data:`FIGURES`), in the caller's scope."""
    from batteryloop.compliance import epr_engine

    return epr_engine.figure_batteries(
        ledger,
        jurisdiction=jurisdiction,
        figure=figure,
        caller=caller,
        producer=producer,
        country=country,
        category=category,
        year=year,
        as_of=as_of,
        limit=limit,
        overrides=overrides,
        parquet=parquet,
    )
