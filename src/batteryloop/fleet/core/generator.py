"""A seeded generator of realistic synthetic battery fleets: organisations, units and their event streams.

Each top-level unit (an EV pack, a bus pack or a stationary system) is one *family*: the unit, its packs and
modules, optionally its cells, and any second-life successor. A family draws everything from its own
``random.Random`` seeded by ``(seed, family index)``, so a fleet is the same whether it is generated at once
(:func:`generate_fleet`) or in chunks (:func:`iter_fleet_events`), and families never depend on each other.

Every event passes through the domain rules while it is generated, the very fold the ledger appends with
(:func:`batteryloop.domain.fold.decide`: payload, custody of the unit's root, lifecycle, registered receiver
and parent, identifier codes unique within the family); an illegal sequence raises instead of being emitted. Events never happen at or after ``now`` (midnight UTC): a family simply stops there.

All figures come from ``data/fleet_defaults.toml`` (each with source and year) via :class:`FleetConfig`.

What a family goes through (custody always in two steps, ``CustodyHandedOver`` then ``CustodyAccepted``):

1. manufacture by a pack maker (Chinese or local, by ``made_in_cn_share``): the pack (or a stationary
   system and its packs), its modules (``module_kwh`` each) integrated into it, and with probability
   ``cell_tracking`` its cells, made by a cell maker, handed over and integrated into the modules. Chinese
   units carry GB/T 34014 codes (modules share the pack's design/trace segments); EU-market top-level units
   a GTIN-14 + serial. With a ``passport_payload`` hook the maker registers passport data next;
2. to the vehicle maker, through an importer when the maker is outside the market, placed on the market,
   to the owner (private, leasing, bus or storage operator) and into service;
3. yearly SoH reports (linear fade per chemistry with a per-battery spread, faster below the knee),
   occasional negative events and repairs at a dealer (there and back), retirement after a Weibull life;
4. the end-of-life channel: with ``1 - formal_share[region]`` the battery leaks to an uncertified actor
   (collected there; the trace either ends or the actor claims recycling); otherwise a dismantler or
   collection point collects it and either a second-life operator grades it (reuse >= 80 % SoH,
   repurpose >= 60 %, not NCA, no safety flag, young enough, ``second_life_share``), detaches the modules,
   ends the identity with a successor (cascade GB/T code, ``predecessor_id``) that runs a second life and is
   then recycled; or a recycler certified on that day grades, dismantles and recycles it, module by module.
"""

from __future__ import annotations

import gc
import math
import zlib
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from random import Random
from typing import Any, NamedTuple

from batteryloop.domain.battery import BatteryUnit
from batteryloop.domain.chemistry import BatteryCategory, Chemistry, UnitLevel
from batteryloop.domain.errors import ValidationError
from batteryloop.domain.fold import decide, declared_codes
from batteryloop.domain.identity import (
    GBT34014Code,
    cascade_code,
    code_tables,
    eu_unique_id,
    gtin14_check_digit,
)
from batteryloop.domain.lifecycle import EventType, UnitStatus
from batteryloop.domain.organisation import Organisation, Role
from batteryloop.domain.passport_data import check_declared_mass
from batteryloop.fleet.core.config import REGIONS, FleetConfig, default_fleet_config
from batteryloop.fleet.core.organisations import OrgDirectory, OrgProfile, default_org_directory

E = EventType
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY = 86_400
_YEAR_S = 365.25 * _DAY
_STEP_S = 7  # seconds between consecutive events of one family when nothing else advances the clock
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class FleetEvent(NamedTuple):
    """One generated event, ready to append to the ledger (signed by ``actor``)."""

    battery_id: str
    event_type: EventType
    occurred_at: datetime  # tz-aware UTC
    actor: str  # org_id
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class FleetBattery:
    """What happened to one top-level unit (a family), for summaries and tests."""

    battery_id: str
    kind: str  # car | bus | stationary
    region: str
    country: str
    chemistry: Chemistry
    energy_kwh: float
    mass_kg: float
    made_in: str
    manufactured_on: date
    retired_on: date | None
    route: str  # in_use | retired | formal | leaked | second_life | recycled
    leaked: bool | None  # None until the end-of-life channel is decided
    n_units: int
    n_events: int


@dataclass
class Fleet:
    seed: int
    now: date
    config: FleetConfig
    organisations: list[Organisation]
    events: list[FleetEvent]
    batteries: list[FleetBattery]

    def summary(self) -> dict[str, Any]:
        """Counts and shares a human (or a test) checks first."""
        by_type = Counter(e.event_type.value for e in self.events)
        by_region = Counter(b.region for b in self.batteries)
        chem: dict[str, Counter[str]] = defaultdict(Counter)
        for b in self.batteries:
            chem[b.region][b.chemistry.value] += 1
        decided = [b for b in self.batteries if b.leaked is not None]
        leak: dict[str, float] = {}
        for region in REGIONS:
            sub = [b for b in decided if b.region == region]
            if sub:
                leak[region] = sum(1 for b in sub if b.leaked) / len(sub)
        return {
            "seed": self.seed,
            "now": self.now.isoformat(),
            "n_batteries": len(self.batteries),
            "n_units": sum(b.n_units for b in self.batteries),
            "n_events": len(self.events),
            "n_organisations": len(self.organisations),
            "events_by_type": dict(sorted(by_type.items())),
            "batteries_by_region": dict(sorted(by_region.items())),
            "routes": dict(sorted(Counter(b.route for b in self.batteries).items())),
            "chemistry_by_region": {r: dict(sorted(c.items())) for r, c in sorted(chem.items())},
            "leak_share_by_region": leak,
            "energy_gwh": sum(b.energy_kwh for b in self.batteries) / 1e6,
            "mass_t": sum(b.mass_kg for b in self.batteries) / 1e3,
        }


class _Horizon(Exception):
    """Raised inside a family when its next event would be at or after ``now``."""


def _weighted(rng: Random, keys: Sequence[Any], cum: Sequence[float]) -> Any:
    return keys[bisect_right(cum, rng.random() * cum[-1])]


def _cum(weights: Sequence[float]) -> list[float]:
    return list(accumulate(weights))


@dataclass
class _Plan:
    """Precomputed, config-derived sampling tables shared by all families."""

    cfg: FleetConfig
    orgs: OrgDirectory
    horizon_s: int
    top_keys: list[tuple[str, str, int]] = field(default_factory=list)  # (kind, region, year)
    top_cum: list[float] = field(default_factory=list)
    stat_keys: list[tuple[str, str, int]] = field(default_factory=list)
    stat_cum: list[float] = field(default_factory=list)
    country_keys: dict[str, list[str]] = field(default_factory=dict)
    country_cum: dict[str, list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        cfg = self.cfg
        years = range(cfg.first_sales_year, cfg.last_sales_year + 1)
        keys: list[tuple[str, str, int]] = []
        weights: list[float] = []
        for region in REGIONS:
            for y in years:
                keys.append(("car", region, y))
                weights.append(cfg.car_sales[region][y])
                keys.append(("bus", region, y))
                weights.append(cfg.bus_sales_world.get(y, 0.0) * cfg.bus_region_share.get(region, 0.0))
        self.top_keys, self.top_cum = keys, _cum(weights)
        # stationary systems: region by configured share, year weighted like total EV sales (a proxy)
        skeys: list[tuple[str, str, int]] = []
        sweights: list[float] = []
        for region in REGIONS:
            for y in years:
                skeys.append(("stationary", region, y))
                sweights.append(
                    cfg.stationary_region_share.get(region, 0.0) * sum(cfg.car_sales[r][y] for r in REGIONS)
                )
        self.stat_keys, self.stat_cum = skeys, _cum(sweights)
        for region in REGIONS:
            cw = cfg.country_weights[region]
            self.country_keys[region] = list(cw)
            self.country_cum[region] = _cum(list(cw.values()))


def _lognormal_unit(rng: Random, cv: float) -> float:
    if cv <= 0:
        return 1.0
    sigma = math.sqrt(math.log1p(cv * cv))
    return rng.lognormvariate(-sigma * sigma / 2, sigma)


_OPTIONAL_FIELDS = ("gbt_code", "gtin", "serial", "parent_id", "predecessor_id")


def _unit_payload(unit: BatteryUnit) -> dict[str, Any]:
    """Exactly ``unit.to_payload()`` (a test checks it), without ``dataclasses.asdict``'s deep copies."""
    payload: dict[str, Any] = {
        "level": unit.level.value,
        "chemistry": unit.chemistry.value,
        "category": unit.category.value,
        "manufacturer_id": unit.manufacturer_id,
        "model": unit.model,
        "mass_kg": unit.mass_kg,
        "rated_energy_kwh": unit.rated_energy_kwh,
        "rated_capacity_ah": unit.rated_capacity_ah,
        "nominal_voltage_v": unit.nominal_voltage_v,
        "manufactured_on": unit.manufactured_on.isoformat(),
        "manufacturing_country": unit.manufacturing_country,
        "manufacturing_site": unit.manufacturing_site,
    }
    for name in _OPTIONAL_FIELDS:
        value = getattr(unit, name)
        if value is not None:
            payload[name] = value
    return payload


@dataclass
class _Use:
    """A battery's use in one life: what its state-of-health reports say besides the state of health.

    Cycles per year come from the application (``usage`` in the data file); throughput adds the energy each
    period's cycles delivered at that period's mean state of health; resistance grows with capacity fade.
    State of health, capacity and energy are relative to the reference (the original battery's rated values,
    in a second life too), so capacity fade is 1 - SOH by construction."""

    cycles_per_year: float
    ref_capacity_ah: float
    ref_energy_kwh: float
    resistance_per_pp: float
    last_soh: float = 100.0
    cycles: float = 0.0
    throughput_kwh: float = 0.0
    throughput_ah: float = 0.0

    def report(self, soh: float, years: float) -> dict[str, Any]:
        done = self.cycles_per_year * years
        mean = (self.last_soh + soh) / 200.0
        self.cycles += done
        self.throughput_kwh += done * self.ref_energy_kwh * mean
        self.throughput_ah += done * self.ref_capacity_ah * mean
        self.last_soh = soh
        return {
            "soh_pct": soh,
            "capacity_ah": round(self.ref_capacity_ah * soh / 100.0, 2),
            "remaining_energy_kwh": round(self.ref_energy_kwh * soh / 100.0, 3),
            "cycles": round(self.cycles, 1),
            "energy_throughput_kwh": round(self.throughput_kwh, 1),
            "capacity_throughput_ah": round(self.throughput_ah, 1),
            "internal_resistance_increase_pct": round(self.resistance_per_pp * max(0.0, 100.0 - soh), 1),
            # the cells age as the pack does (the pack's own interconnects are taken as unchanged)
            "cell_internal_resistance_increase_pct": round(self.resistance_per_pp * max(0.0, 100.0 - soh), 1),
        }


def _date_of(t: int) -> date:
    return (_EPOCH + timedelta(seconds=t)).date()


class _Family:
    """Builds one family's events, checking every event against the lifecycle and custody rules."""

    def __init__(self, plan: _Plan, index: int, seed: int) -> None:
        self.plan = plan
        self.cfg = plan.cfg
        self.orgs = plan.orgs
        self.index = index
        self.seed = seed
        self.horizon_s = plan.horizon_s
        self.rng = Random(((seed % (1 << 64)) << 40) | index)
        self.events: list[tuple[int, FleetEvent]] = []
        self.status: dict[str, UnitStatus] = {}
        self.taken_codes: dict[tuple[str, str], str] = {}  # identifier codes registered in this family
        self.children: dict[str, list[str]] = {}
        self.units: dict[str, BatteryUnit] = {}
        self.codes: dict[str, GBT34014Code] = {}
        self.mass_kg: dict[str, float] = {}
        self.n_units = 0
        self.t = 0
        self.flagged = False
        self.route = "in_use"
        self.leaked: bool | None = None
        self.retired_on: date | None = None

    # -- the one place events are made ------------------------------------------------------------

    def emit(self, bid: str, et: EventType, actor: str, payload: dict[str, Any]) -> None:
        t = self.t
        if t >= self.horizon_s:
            raise _Horizon
        status = self.status
        codes = declared_codes(payload) if et is E.BATTERY_MANUFACTURED else None
        status[bid] = decide(
            status.get(bid), bid, et, actor, payload, status.get, self.orgs.by_id, self.taken_codes, codes
        )
        self.events.append((t, FleetEvent(bid, et, _EPOCH + timedelta(seconds=t), actor, payload)))
        self.t = t + _STEP_S

    def wait_days(self, key: str) -> None:
        lo, hi = self.cfg.delays_days[key]
        self.t += int(self.rng.uniform(lo, hi) * _DAY)

    def hand_over(self, bid: str, sender: str, receiver: str, transit: bool = True) -> None:
        self.emit(bid, E.CUSTODY_HANDED_OVER, sender, {"to_org": receiver})
        if transit:
            self.t += self.rng.randint(2 * 3600, 3 * _DAY)
        self.emit(bid, E.CUSTODY_ACCEPTED, receiver, {})

    def pick(self, options: Sequence[OrgProfile], what: str) -> OrgProfile:
        if not options:
            raise ValidationError(f"fleet organisations: no {what} available")
        return options[self.rng.randrange(len(options))]

    # -- unit construction ----------------------------------------------------------------------

    def new_id(self) -> str:
        return eu_unique_id(at=_EPOCH + timedelta(seconds=self.t), rng=self.rng)

    def register(self, unit: BatteryUnit, actor: str, code: GBT34014Code | None = None) -> None:
        self.register_payload(unit.battery_id, _unit_payload(unit), actor, unit.mass_kg)
        self.units[unit.battery_id] = unit  # only once its registration was emitted (before ``now``)
        if code is not None:
            self.codes[unit.battery_id] = code

    def register_passport(self, unit: BatteryUnit, rerating: dict[str, Any] | None = None) -> None:
        """With a ``passport_payload`` hook, the manufacturer registers the unit's passport data next; a
        successor's carries its ``rerating`` (the values measured when it was graded)."""
        hook = self.cfg.passport_payload
        if hook is not None:
            payload = hook(unit, seed=self.seed)
            if rerating is not None:
                payload = {**payload, "rerating": rerating}
            check_declared_mass(unit.battery_id, payload, unit.mass_kg)
            self.emit(unit.battery_id, E.PASSPORT_DATA_REGISTERED, unit.manufacturer_id, payload)

    def register_payload(self, bid: str, payload: dict[str, Any], actor: str, mass_kg: float) -> None:
        self.emit(bid, E.BATTERY_MANUFACTURED, actor, payload)
        self.children[bid] = []
        self.mass_kg[bid] = mass_kg
        self.n_units += 1

    def integrate(self, child: str, parent: str, actor: str) -> None:
        self.emit(child, E.BATTERY_INTEGRATED, actor, {"parent_id": parent})
        self.children[parent].append(child)

    def detach(self, child: str, parent: str, actor: str) -> None:
        self.emit(child, E.BATTERY_DETACHED, actor, {"from_parent_id": parent})
        self.children[parent].remove(child)

    def gbt_text(self, maker: OrgProfile, level: UnitLevel, chem: Chemistry, model: str) -> GBT34014Code:
        assert maker.gbt_code is not None
        spec_n = zlib.crc32(model.encode())
        rng = self.rng
        return GBT34014Code.generate(
            manufacturer_code=maker.gbt_code,
            level=level,
            chemistry=chem,
            spec_code=_ALNUM[spec_n % 36] + _ALNUM[(spec_n // 36) % 36],
            trace_code="".join(rng.choices(_ALNUM, k=7)),
            produced_on=_date_of(self.t),
            serial=rng.randint(1, 9_999_999),
        )

    def gtin_for(self, maker: OrgProfile, model: str) -> tuple[str | None, str | None]:
        if maker.gs1_prefix is None:
            return None, None
        item = zlib.crc32(model.encode()) % 100_000
        first13 = f"0{maker.gs1_prefix}{item:05d}"
        return first13 + str(gtin14_check_digit(first13)), f"S{self.rng.getrandbits(48):012X}"

    def make_pack(
        self,
        *,
        maker: OrgProfile,
        kind: str,
        chem: Chemistry,
        category: BatteryCategory,
        energy_kwh: float,
        kg_per_kwh: float,
        eu_market: bool,
        cell_maker: OrgProfile | None,
        top_level: bool,
        country: str,
    ) -> str:
        """Register a pack with its modules (and cells when ``cell_maker``), all by ``maker``."""
        cfg = self.cfg
        energy_kwh = round(energy_kwh, 1)
        mass_kg = round(energy_kwh * kg_per_kwh, 1)
        series = cfg.cells_in_series[kind]
        cell_v = cfg.chem_value(cfg.cell_nominal_voltage_v, chem)
        voltage = round(series * cell_v, 1)
        made_on = _date_of(self.t)
        model = f"{maker.org_id}-{kind}-{chem.value}-{round(energy_kwh)}"
        pid = self.new_id()
        code = self.gbt_text(maker, UnitLevel.PACK, chem, model) if maker.gbt_code else None
        gtin, serial = self.gtin_for(maker, model) if (eu_market and top_level) else (None, None)
        pack = BatteryUnit(
            battery_id=pid,
            level=UnitLevel.PACK,
            chemistry=chem,
            category=category,
            manufacturer_id=maker.org_id,
            model=model,
            mass_kg=mass_kg,
            rated_energy_kwh=energy_kwh,
            rated_capacity_ah=round(energy_kwh * 1000 / voltage, 1),
            nominal_voltage_v=voltage,
            manufactured_on=made_on,
            manufacturing_country=maker.org.country,
            gbt_code=code.text if code else None,
            gtin=gtin,
            serial=serial,
        )
        self.register(pack, maker.org_id, code)
        if top_level:
            self.register_passport(pack)
        n_mod = max(1, round(energy_kwh / cfg.module_kwh))
        mod_kwh = energy_kwh / n_mod
        mod_mass = mass_kg * cfg.chem_value(cfg.module_to_pack_mass, chem) / n_mod
        mod_v = voltage / n_mod
        cells_per_mod = max(1, round(mod_kwh / cfg.cell_kwh))
        cell_kwh = mod_kwh / cells_per_mod
        cell_mass = mass_kg * cfg.chem_value(cfg.cell_to_pack_mass, chem) / (n_mod * cells_per_mod)
        module0 = BatteryUnit(  # validates the numbers shared by every module of this pack
            battery_id=pid,
            level=UnitLevel.MODULE,
            chemistry=chem,
            category=category,
            manufacturer_id=maker.org_id,
            model=f"{model}-M",
            mass_kg=round(mod_mass, 2),
            rated_energy_kwh=round(mod_kwh, 3),
            rated_capacity_ah=pack.rated_capacity_ah,
            nominal_voltage_v=round(mod_v, 2),
            manufactured_on=made_on,
            manufacturing_country=maker.org.country,
        )
        module_payload = _unit_payload(module0)
        cell_payload: dict[str, Any] = {}
        cell_prefix = ""
        if cell_maker is not None:
            cell0 = BatteryUnit(
                battery_id=pid,
                level=UnitLevel.CELL,
                chemistry=chem,
                category=category,
                manufacturer_id=cell_maker.org_id,
                model=f"{cell_maker.org_id}-{chem.value}-cell",
                mass_kg=round(cell_mass, 4),
                rated_energy_kwh=round(cell_kwh, 4),
                rated_capacity_ah=round(cell_kwh * 1000 / cell_v, 2),
                nominal_voltage_v=cell_v,
                manufactured_on=made_on,
                manufacturing_country=cell_maker.org.country,
            )
            cell_payload = _unit_payload(cell0)
            if cell_maker.gbt_code:  # one design/trace/date prefix per batch of cells, serials differ
                cell_prefix = self.gbt_text(cell_maker, UnitLevel.CELL, chem, cell0.model).text[:17]
        module_prefix = ""
        if code is not None:  # same design/trace/date segments as the pack, product type M, own serial
            text = code.text
            module_prefix = f"{text[:3]}M{text[4:17]}"
        for m in range(n_mod):
            mid = self.new_id()
            payload = dict(module_payload)
            if code is not None:
                payload["gbt_code"] = f"{module_prefix}{(code.serial + m) % 9_999_999 + 1:07d}"
            self.register_payload(mid, payload, maker.org_id, module0.mass_kg)
            if cell_maker is not None:
                for _ in range(cells_per_mod):
                    cid = self.new_id()
                    payload = dict(cell_payload)
                    if cell_prefix:
                        payload["gbt_code"] = f"{cell_prefix}{self.rng.randint(1, 9_999_999):07d}"
                    self.register_payload(cid, payload, cell_maker.org_id, cell0.mass_kg)
                    self.hand_over(cid, cell_maker.org_id, maker.org_id, transit=False)
                    self.integrate(cid, mid, maker.org_id)
            self.integrate(mid, pid, maker.org_id)
        return pid

    # -- ageing -------------------------------------------------------------------------------------

    def soh_at(self, fade_pct: float, years: float, start_soh: float = 100.0) -> float:
        knee = self.cfg.knee_soh_pct
        soh = start_soh - fade_pct * years
        if soh < knee:
            t_knee = max(0.0, (start_soh - knee) / fade_pct)
            soh = min(start_soh, knee) - fade_pct * self.cfg.knee_fade_factor * (years - t_knee)
        return max(1.0, round(soh, 1))

    def weibull_years(self, kind: str) -> float:
        shape, scale = self.cfg.lifetimes[kind]
        return self.rng.weibullvariate(scale, shape)

    def use(self, cycles_per_year: float, reference: BatteryUnit, chem: Chemistry, soh: float) -> _Use:
        """A life's use: ``cycles_per_year`` spread per battery, relative to ``reference``'s ratings."""
        cfg = self.cfg
        return _Use(
            cycles_per_year=cycles_per_year * _lognormal_unit(self.rng, cfg.usage_cv),
            ref_capacity_ah=reference.rated_capacity_ah,
            ref_energy_kwh=reference.rated_energy_kwh,
            resistance_per_pp=cfg.chem_value(cfg.resistance_increase_per_fade_pp, chem),
            last_soh=soh,
        )

    def service(
        self,
        bid: str,
        holder: str,
        dealer: str | None,
        life_years: float,
        fade: float,
        start_soh: float,
        use: _Use,
    ) -> float:
        """Yearly SoH reports (with the use behind them), repairs and negative events until retirement;
        returns SoH at the end."""
        cfg, rng = self.cfg, self.rng
        start = self.t
        end = start + int(life_years * _YEAR_S)
        interval = cfg.soh_report_interval_days * _DAY
        p_repair = cfg.repair_rate_per_year * cfg.soh_report_interval_days / 365.25
        p_neg = cfg.negative_event_rate_per_year * cfg.soh_report_interval_days / 365.25
        last = start
        while self.t + interval < end:
            self.t += interval
            years = (self.t - start) / _YEAR_S
            report = use.report(self.soh_at(fade, years, start_soh), (self.t - last) / _YEAR_S)
            last = self.t
            self.emit(bid, E.STATE_OF_HEALTH_REPORTED, holder, report)
            if rng.random() < p_neg:
                self.t += rng.randint(1, 60) * _DAY
                kind = cfg.negative_event_kinds[rng.randrange(len(cfg.negative_event_kinds))]
                self.emit(bid, E.NEGATIVE_EVENT_REPORTED, holder, {"kind": kind})
                if kind in cfg.safety_flag_kinds:
                    self.flagged = True
            if dealer is not None and rng.random() < p_repair:
                self.t += rng.randint(1, 120) * _DAY
                self.hand_over(bid, holder, dealer)
                self.wait_days("repair_days")
                self.emit(bid, E.BATTERY_REPAIRED, dealer, {"repair": "module replacement or service"})
                self.hand_over(bid, dealer, holder)
        self.t = max(self.t, end)
        return self.soh_at(fade, (self.t - start) / _YEAR_S, start_soh)

    # -- end of life --------------------------------------------------------------------------------

    def recycle_tree(self, bid: str, actor: str) -> None:
        self.emit(bid, E.BATTERY_DISMANTLED, actor, {})
        for child in list(self.children[bid]):
            self.detach(child, bid, actor)
            if self.children[child]:
                self.recycle_tree(child, actor)
            else:
                self.emit(child, E.BATTERY_RECYCLED, actor, {"mass_kg": self.mass_kg[child]})
        self.emit(bid, E.BATTERY_RECYCLED, actor, {"mass_kg": self.mass_kg[bid]})

    def certified_recycler(self, region: str) -> OrgProfile:
        day = _date_of(self.t)
        options = self.orgs.certified_recyclers(region, day)
        if not options:  # fall back to any region's certified recycler (export for treatment)
            options = [p for r in REGIONS for p in self.orgs.certified_recyclers(r, day)]
        return self.pick(options, f"certified recycler on {day}")


def _chemistry(plan: _Plan, rng: Random, kind: str, region: str, year: int) -> Chemistry:
    cfg = plan.cfg
    if kind == "car":
        lfp = cfg.car_lfp_share[region][year]
    elif kind == "bus":
        lfp = cfg.bus_lfp_share.get(region, 0.0)
    else:
        lfp = cfg.stationary_lfp_share
    if rng.random() < lfp:
        return Chemistry.LFP
    split = cfg.nickel_split[0][1]
    for first, table in cfg.nickel_split:
        if year >= first:
            split = table
    chems = list(split)
    return _weighted(rng, chems, _cum([split[c] for c in chems]))  # type: ignore[no-any-return]


def _build_family(
    plan: _Plan, index: int, seed: int
) -> tuple[list[tuple[int, FleetEvent]], FleetBattery | None]:
    cfg, orgs = plan.cfg, plan.orgs
    fam = _Family(plan, index, seed)
    rng = fam.rng
    if rng.random() < cfg.stationary_share:
        kind, region, year = _weighted(rng, plan.stat_keys, plan.stat_cum)
    else:
        kind, region, year = _weighted(rng, plan.top_keys, plan.top_cum)
    country: str = _weighted(rng, plan.country_keys[region], plan.country_cum[region])
    chem = _chemistry(plan, rng, kind, region, year)
    made_in_cn = rng.random() < cfg.made_in_cn_share.get(region, 0.0)
    eu_market = region == "EU"

    # who makes it
    makers = orgs.with_role(Role.BATTERY_MANUFACTURER, region="CN" if made_in_cn else region)
    if not makers:
        makers = orgs.with_role(Role.BATTERY_MANUFACTURER, region="CN")
    storage_makers = [m for m in makers if "storage" in m.org_id]
    if kind == "stationary" and storage_makers:
        makers = storage_makers
    elif kind != "stationary":
        makers = [m for m in makers if "storage" not in m.org_id] or makers
    maker = fam.pick(makers, "battery manufacturer")
    cell_maker = None
    if rng.random() < cfg.cell_tracking:
        cell_maker = fam.pick(
            orgs.with_role(Role.CELL_MANUFACTURER, region=maker.region)
            or orgs.with_role(Role.CELL_MANUFACTURER, region="CN"),
            "cell manufacturer",
        )

    # size and mass
    lo, hi = cfg.kg_per_kwh_range(chem)
    age_pos = min(1.0, max(0.0, (2024 - year) / 9))
    kg_per_kwh = lo + (hi - lo) * (0.5 * age_pos + 0.5 * rng.random())
    category = BatteryCategory.EV
    if kind == "car":
        energy = cfg.car_kwh[region][year] * _lognormal_unit(rng, cfg.kwh_cv)
    elif kind == "bus":
        energy = cfg.bus_kwh[region] * _lognormal_unit(rng, cfg.kwh_cv)
        kg_per_kwh *= cfg.bus_kg_per_kwh_factor
    else:
        energy = cfg.stationary_system_kwh * _lognormal_unit(rng, cfg.kwh_cv)
        kg_per_kwh = cfg.stationary_kg_per_kwh
        category = BatteryCategory.STATIONARY

    fam.t = int((datetime(year, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds()) + rng.randrange(365 * _DAY)
    top = ""
    total_energy = 0.0
    total_mass = 0.0
    try:
        # -- manufacture ----------------------------------------------------------------------------
        if kind == "stationary":
            n_packs = max(1, round(energy / cfg.stationary_pack_kwh))
            pack_kwh = round(energy / n_packs, 1)
            total_energy = round(pack_kwh * n_packs, 1)
            series = cfg.cells_in_series[kind]
            voltage = round(series * cfg.chem_value(cfg.cell_nominal_voltage_v, chem), 1)
            model = f"{maker.org_id}-ess-{chem.value}-{round(total_energy)}"
            gtin, serial = fam.gtin_for(maker, model) if eu_market else (None, None)
            top = fam.new_id()
            total_mass = round(pack_kwh * kg_per_kwh, 1) * n_packs
            system = BatteryUnit(
                battery_id=top,
                level=UnitLevel.SYSTEM,
                chemistry=chem,
                category=category,
                manufacturer_id=maker.org_id,
                model=model,
                mass_kg=round(total_mass, 1),
                rated_energy_kwh=total_energy,
                rated_capacity_ah=round(total_energy * 1000 / voltage, 1),
                nominal_voltage_v=voltage,
                manufactured_on=_date_of(fam.t),
                manufacturing_country=maker.org.country,
                gtin=gtin,
                serial=serial,
            )
            fam.register(system, maker.org_id)
            fam.register_passport(system)
            for _ in range(n_packs):
                pid = fam.make_pack(
                    maker=maker,
                    kind=kind,
                    chem=chem,
                    category=category,
                    energy_kwh=pack_kwh,
                    kg_per_kwh=kg_per_kwh,
                    eu_market=eu_market,
                    cell_maker=cell_maker,
                    top_level=False,
                    country=country,
                )
                fam.integrate(pid, top, maker.org_id)
        else:
            top = fam.make_pack(
                maker=maker,
                kind=kind,
                chem=chem,
                category=category,
                energy_kwh=energy,
                kg_per_kwh=kg_per_kwh,
                eu_market=eu_market,
                cell_maker=cell_maker,
                top_level=True,
                country=country,
            )
            total_energy = fam.units[top].rated_energy_kwh
            total_mass = fam.units[top].mass_kg

        # -- to market -------------------------------------------------------------------------------
        holder = maker.org_id
        placer = maker
        if kind != "stationary":
            vms = [v for v in orgs.with_role(Role.VEHICLE_MAKER, region=region) if kind in v.kinds]
            if not vms:
                vms = [v for v in orgs.with_role(Role.VEHICLE_MAKER, region="CN") if kind in v.kinds]
            vm = fam.pick(vms, f"{kind} maker")
            fam.wait_days("manufacture_to_vehicle")
            if vm.org_id != holder:
                fam.hand_over(top, holder, vm.org_id)
            holder, placer = vm.org_id, vm
        needs_importer = placer.region != region or (region == "SEA" and placer.org.country != country)
        if needs_importer:
            imp = fam.pick(orgs.with_role(Role.IMPORTER, country=country), f"importer in {country}")
            fam.hand_over(top, holder, imp.org_id)
            holder = imp.org_id
        fam.wait_days("vehicle_to_market")
        fam.emit(top, E.BATTERY_PLACED_ON_MARKET, holder, {"country": country})
        fam.wait_days("market_to_service")
        owner_kind = "car" if kind == "car" else kind
        owners = [o for o in orgs.with_role(Role.OWNER, country=country) if owner_kind in o.kinds]
        if kind == "car":
            private = [o for o in owners if o.org_id.endswith("private-owners")]
            fleet_owners = [o for o in owners if not o.org_id.endswith("private-owners")]
            owners = private if (rng.random() < cfg.private_owner_share or not fleet_owners) else fleet_owners
        owner = fam.pick(owners, f"{kind} owner in {country}")
        fam.hand_over(top, holder, owner.org_id)
        holder = owner.org_id
        fam.emit(top, E.BATTERY_PUT_INTO_SERVICE, holder, {})

        # -- first life ----------------------------------------------------------------------------
        dealers = orgs.with_role(Role.DEALER_REPAIRER, country=country)
        dealer = dealers[0].org_id if dealers else None
        fade = cfg.chem_value(cfg.fade_pct_per_year, chem) * max(0.2, rng.gauss(1.0, cfg.fade_spread_cv))
        life_kind = {"car": "car_first_life", "bus": "bus_first_life"}.get(kind, "stationary_first_life")
        service_start = fam.t
        if kind == "stationary":
            per_year = cfg.stationary_cycles_per_year
        else:
            per_year = cfg.annual_km[kind] * cfg.kwh_per_km[kind] / total_energy
        first_use = fam.use(per_year, fam.units[top], chem, 100.0)
        soh = fam.service(top, holder, dealer, fam.weibull_years(life_kind), fade, 100.0, first_use)
        fam.emit(top, E.BATTERY_RETIRED, holder, {"reason": "end_of_first_life", "soh_pct": soh})
        fam.route = "retired"
        fam.retired_on = _date_of(fam.t)
        age_years = (fam.t - service_start) / _YEAR_S

        # -- channel -------------------------------------------------------------------------------
        formal = rng.random() < cfg.formal_share.get(region, 1.0)
        fam.leaked = not formal
        fam.wait_days("retired_to_collected")
        if not formal:
            fam.route = "leaked"
            informal = fam.pick(orgs.uncertified_recyclers(region), f"informal actor in {region}")
            fam.hand_over(top, holder, informal.org_id)
            fam.emit(top, E.BATTERY_COLLECTED, informal.org_id, {})
            if rng.random() >= cfg.leaked_trace_ends_share:
                fam.wait_days("collected_to_treatment")
                fam.emit(top, E.BATTERY_RECYCLED, informal.org_id, {"claimed": True})
            raise _Horizon  # the trace ends here either way
        fam.route = "formal"
        role = (
            Role.DISMANTLER
            if (kind != "stationary" and rng.random() < cfg.via_dismantler_share)
            else (Role.COLLECTION_POINT)
        )
        collector = fam.pick(orgs.with_role(role, country=country), f"{role} in {country}")
        fam.hand_over(top, holder, collector.org_id)
        holder = collector.org_id
        fam.emit(top, E.BATTERY_COLLECTED, holder, {})
        fam.wait_days("collected_to_treatment")

        slos = orgs.with_role(Role.SECOND_LIFE_OPERATOR, region=region)
        eligible = (
            kind != "stationary"
            and slos
            and soh >= cfg.repurpose_min_soh_pct
            and chem not in cfg.recycle_chemistries
            and not fam.flagged
            and age_years <= cfg.max_age_for_second_life_years
            and rng.random() < cfg.second_life_share
        )
        if not eligible:
            recycler = fam.certified_recycler(region)
            fam.hand_over(top, holder, recycler.org_id)
            fam.emit(
                top, E.BATTERY_GRADED, recycler.org_id, {"grade": "C", "soh_pct": soh, "route": "recycle"}
            )
            fam.wait_days("treatment_steps")
            fam.recycle_tree(top, recycler.org_id)
            fam.route = "recycled"
            raise _Horizon

        # -- second life -----------------------------------------------------------------------------
        slo = fam.pick(slos, "second-life operator")
        fam.hand_over(top, holder, slo.org_id)
        reuse = soh >= cfg.reuse_min_soh_pct
        grade, route_name = ("A", "reuse") if reuse else ("B", "repurpose")
        fam.emit(top, E.BATTERY_GRADED, slo.org_id, {"grade": grade, "soh_pct": soh, "route": route_name})
        graded_on = _date_of(fam.t)
        fam.wait_days("treatment_steps")
        modules = list(fam.children[top])
        for mid in modules:
            fam.detach(mid, top, slo.org_id)
        original = fam.units[top]
        succ_id = fam.new_id()
        fam.emit(
            top,
            E.BATTERY_REUSED if reuse else E.BATTERY_REPURPOSED,
            slo.org_id,
            {"successor_id": succ_id},
        )
        fam.route = "second_life"
        succ_code = None
        if original.gbt_code and slo.gbt_code:
            succ_code = cascade_code(
                fam.codes[top],
                produced_on=_date_of(fam.t),
                serial=rng.randint(1, 9_999_999),
                manufacturer_code=slo.gbt_code,
            ).cascade
        succ_model = f"{slo.org_id}-{route_name}-{chem.value}"
        gtin, serial = fam.gtin_for(slo, succ_model) if eu_market else (None, None)
        succ_energy = round(original.rated_energy_kwh * soh / 100, 1)
        successor = BatteryUnit(
            battery_id=succ_id,
            level=UnitLevel.PACK,
            chemistry=chem,
            category=BatteryCategory.EV if reuse else BatteryCategory.STATIONARY,
            manufacturer_id=slo.org_id,
            model=succ_model,
            mass_kg=original.mass_kg,
            rated_energy_kwh=succ_energy,
            rated_capacity_ah=round(succ_energy * 1000 / original.nominal_voltage_v, 1),
            nominal_voltage_v=original.nominal_voltage_v,
            manufactured_on=_date_of(fam.t),
            manufacturing_country=slo.org.country,
            gbt_code=succ_code.text if succ_code else None,
            gtin=gtin,
            serial=serial,
            predecessor_id=top,
        )
        fam.register(successor, slo.org_id, succ_code)
        measured_increase = round(first_use.resistance_per_pp * max(0.0, 100.0 - soh), 1)
        fam.register_passport(
            successor,
            rerating={
                "rerated_by": slo.org_id,
                "rerated_on": graded_on.isoformat(),
                "test_method": cfg.rerating_test_method,
                "original_passport_id": top,
                "original_rated_capacity_ah": original.rated_capacity_ah,
                "original_rated_energy_kwh": original.rated_energy_kwh,
                "soh_pct": soh,
                "capacity_ah": round(original.rated_capacity_ah * soh / 100.0, 2),
                "energy_kwh": succ_energy,
                "internal_resistance_increase_pct": measured_increase,
                "full_cycles_before": round(first_use.cycles, 1),
                "grade": grade,
            },
        )
        for mid in modules:
            fam.integrate(mid, succ_id, slo.org_id)
        fam.wait_days("treatment_steps")
        fam.emit(succ_id, E.BATTERY_PLACED_ON_MARKET, slo.org_id, {"country": country})
        fam.wait_days("market_to_service")
        fam.emit(succ_id, E.BATTERY_PUT_INTO_SERVICE, slo.org_id, {})
        if reuse:
            second = (
                cfg.annual_km["car" if kind == "car" else "bus"]
                * cfg.kwh_per_km["car" if kind == "car" else "bus"]
                / max(succ_energy, 0.1)
            )
        else:
            second = cfg.second_life_cycles_per_year
        second_use = fam.use(second, original, chem, soh)
        soh2 = fam.service(succ_id, slo.org_id, None, fam.weibull_years("second_life"), fade, soh, second_use)
        fam.emit(succ_id, E.BATTERY_RETIRED, slo.org_id, {"reason": "end_of_second_life", "soh_pct": soh2})
        fam.wait_days("retired_to_collected")
        recycler = fam.certified_recycler(region)
        fam.hand_over(succ_id, slo.org_id, recycler.org_id)
        fam.wait_days("treatment_steps")
        fam.recycle_tree(succ_id, recycler.org_id)
        fam.route = "recycled"
    except _Horizon:
        pass
    if top not in fam.units:  # made at or after ``now``: this battery does not exist yet
        return fam.events, None
    battery = FleetBattery(
        battery_id=top,
        kind=kind,
        region=region,
        country=country,
        chemistry=chem,
        energy_kwh=total_energy,
        mass_kg=round(total_mass, 1),
        made_in=maker.org.country,
        manufactured_on=fam.units[top].manufactured_on,
        retired_on=fam.retired_on,
        route=fam.route,
        leaked=fam.leaked,
        n_units=fam.n_units,
        n_events=len(fam.events),
    )
    return fam.events, battery


def _resolve(
    now: date | None, config: FleetConfig | None, orgs: OrgDirectory | None
) -> tuple[FleetConfig, OrgDirectory, date]:
    cfg = config or default_fleet_config()
    directory = orgs or default_org_directory()
    day = now or cfg.now
    tables = code_tables()
    last_codable = tables.year_first + len(tables.year_codes) - 1
    if day.year > last_codable:
        raise ValidationError(
            f"now {day} is past {last_codable}, the last year the GB/T 34014 year table "
            f"({tables.year_convention}) can code"
        )
    return cfg, directory, day


def iter_fleet_chunks(
    *,
    seed: int,
    n_batteries: int,
    now: date | None = None,
    config: FleetConfig | None = None,
    orgs: OrgDirectory | None = None,
    chunk_size: int = 2_000,
    start: int = 0,
) -> Iterator[tuple[list[FleetEvent], list[FleetBattery]]]:
    """Yield the fleet ``chunk_size`` families at a time: (events sorted by time, batteries).

    Each chunk is causally complete (families never cross chunks), so appending chunk after chunk is
    legal; only the global time order across chunks is given up. Family ``i`` is the same in every mode.
    """
    if n_batteries < 0:
        raise ValidationError(f"n_batteries must be >= 0, got {n_batteries}")
    if chunk_size < 1:
        raise ValidationError(f"chunk_size must be >= 1, got {chunk_size}")
    cfg, directory, day = _resolve(now, config, orgs)
    horizon_s = int((datetime(day.year, day.month, day.day, tzinfo=UTC) - _EPOCH).total_seconds())
    plan = _Plan(cfg=cfg, orgs=directory, horizon_s=horizon_s)
    for lo in range(start, start + n_batteries, chunk_size):
        hi = min(lo + chunk_size, start + n_batteries)
        keyed: list[tuple[int, int, int, FleetEvent]] = []
        batteries: list[FleetBattery] = []
        # Events hold no reference cycles, so the cyclic GC only burns time scanning millions of young
        # objects; pause it while a chunk is built, never across a yield.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            for index in range(lo, hi):
                events, battery = _build_family(plan, index, seed)
                if battery is not None:
                    batteries.append(battery)
                keyed.extend((t, index, seq, ev) for seq, (t, ev) in enumerate(events))
            keyed.sort()  # (t, family, seq) is unique, so events themselves are never compared
        finally:
            if gc_was_enabled:
                gc.enable()
        yield [k[3] for k in keyed], batteries


def iter_fleet_events(
    *,
    seed: int,
    n_batteries: int,
    now: date | None = None,
    config: FleetConfig | None = None,
    chunk_size: int = 2_000,
) -> Iterator[FleetEvent]:
    """The events of a (possibly huge) fleet with bounded memory; time-ordered within each chunk."""
    for events, _ in iter_fleet_chunks(
        seed=seed, n_batteries=n_batteries, now=now, config=config, chunk_size=chunk_size
    ):
        yield from events


def generate_fleet(
    *,
    seed: int,
    n_batteries: int,
    now: date | None = None,
    config: FleetConfig | None = None,
    orgs: OrgDirectory | None = None,
) -> Fleet:
    """A whole fleet in memory: events in one causally valid global order (time, then family, then seq).

    ``n_batteries`` counts top-level units (EV packs and stationary systems) drawn over the sales years;
    their modules, tracked cells and second-life successors come on top. ``now`` defaults to the config's
    (2026-11-01); units that would be made at or after ``now`` do not exist yet and are left out, so with an
    early ``now`` the fleet has fewer than ``n_batteries`` batteries.
    """
    cfg, directory, day = _resolve(now, config, orgs)
    chunks = list(
        iter_fleet_chunks(
            seed=seed,
            n_batteries=n_batteries,
            now=day,
            config=cfg,
            orgs=directory,
            chunk_size=max(1, n_batteries),
        )
    )
    events = [e for ev, _ in chunks for e in ev]
    batteries = [b for _, bs in chunks for b in bs]
    return Fleet(
        seed=seed,
        now=day,
        config=cfg,
        organisations=directory.organisations,
        events=events,
        batteries=batteries,
    )
