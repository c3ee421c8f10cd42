"""The fleet generator's cited defaults (``data/fleet_defaults.toml``) as a typed, immutable config.

Every leaf of the data file is a cited value ``{value, source, year, unit?, locator?, note?, quality?}`` read by
the reference kernel (:mod:`batteryloop.reference`). :func:`load_fleet_config` reads the packaged file and,
optionally, a user's override file with the same layout; an override leaf may be a full table or a bare value
(which keeps the packaged source, marked "overridden"). Use ``dataclasses.replace(config, cell_tracking=0.1)``
for quick programmatic changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from batteryloop.domain.chemistry import Chemistry
from batteryloop.domain.errors import ValidationError
from batteryloop.reference import params as kernel
from batteryloop.reference.values import CitedValue

DATA_DIR = Path(__file__).parent.parent / "data"
DEFAULTS_FILE = DATA_DIR / "fleet_defaults.toml"

REGIONS: tuple[str, ...] = ("CN", "EU", "US", "SEA")

Cited = CitedValue[Any]


def load_cited(path: Path | None = None) -> dict[str, Cited]:
    """The packaged defaults as ``{dotted.path: CitedValue}``, with ``path``'s overrides applied."""
    base = default_parameter_set()
    if path is None:
        return dict(base.params)
    merged = kernel.apply_overrides(
        base,
        [Path(path)],
        allow_new=False,
        bare_source=lambda origin, old: f"overridden by {origin} (was: {old.source})",
        keep_year=True,
    )
    return dict(merged.params)


@cache
def default_parameter_set() -> kernel.ParameterSet[Any]:
    """The packaged defaults as a parameter set (every year present, every source a registry key)."""
    pset = kernel.load_set(DEFAULTS_FILE)
    for key, leaf in pset.params.items():
        if leaf.year is None:
            raise ValidationError(f"{DEFAULTS_FILE}: {key} lacks a year")
    return pset


def _year_map(value: Mapping[str, Any]) -> dict[int, float]:
    return {int(k): float(v) for k, v in value.items()}


def _float_map(value: Mapping[str, Any]) -> dict[str, float]:
    return {str(k): float(v) for k, v in value.items()}


def _default(name: str) -> Callable[[], Any]:
    """A default factory: the packaged, cited value (so ``FleetConfig()`` is the default config)."""
    return lambda: getattr(default_fleet_config(), name)


@dataclass(frozen=True)
class FleetConfig:
    """All knobs of the generator. Chemistry-keyed maps use Chemistry values with an ``other`` fallback.

    Every field defaults to the packaged cited value: ``FleetConfig(cell_tracking=0.1)`` changes one knob.
    """

    first_sales_year: int = field(default_factory=_default("first_sales_year"))
    last_sales_year: int = field(default_factory=_default("last_sales_year"))
    now: date = field(default_factory=_default("now"))
    car_sales: dict[str, dict[int, float]] = field(default_factory=_default("car_sales"))
    sea_share_of_row: float = field(default_factory=_default("sea_share_of_row"))
    bus_sales_world: dict[int, float] = field(default_factory=_default("bus_sales_world"))
    bus_region_share: dict[str, float] = field(default_factory=_default("bus_region_share"))
    country_weights: dict[str, dict[str, float]] = field(default_factory=_default("country_weights"))
    stationary_share: float = field(default_factory=_default("stationary_share"))
    stationary_region_share: dict[str, float] = field(default_factory=_default("stationary_region_share"))
    car_lfp_share: dict[str, dict[int, float]] = field(default_factory=_default("car_lfp_share"))
    nickel_split: tuple[tuple[int, dict[Chemistry, float]], ...] = field(
        default_factory=_default("nickel_split")
    )
    bus_lfp_share: dict[str, float] = field(default_factory=_default("bus_lfp_share"))
    stationary_lfp_share: float = field(default_factory=_default("stationary_lfp_share"))
    car_kwh: dict[str, dict[int, float]] = field(default_factory=_default("car_kwh"))
    bus_kwh: dict[str, float] = field(default_factory=_default("bus_kwh"))
    stationary_system_kwh: float = field(default_factory=_default("stationary_system_kwh"))
    stationary_pack_kwh: float = field(default_factory=_default("stationary_pack_kwh"))
    kwh_cv: float = field(default_factory=_default("kwh_cv"))
    module_kwh: float = field(default_factory=_default("module_kwh"))
    cell_kwh: float = field(default_factory=_default("cell_kwh"))
    module_to_pack_mass: dict[str, float] = field(default_factory=_default("module_to_pack_mass"))
    cell_to_pack_mass: dict[str, float] = field(default_factory=_default("cell_to_pack_mass"))
    kg_per_kwh: dict[str, tuple[float, float]] = field(default_factory=_default("kg_per_kwh"))
    bus_kg_per_kwh_factor: float = field(default_factory=_default("bus_kg_per_kwh_factor"))
    stationary_kg_per_kwh: float = field(default_factory=_default("stationary_kg_per_kwh"))
    cell_nominal_voltage_v: dict[str, float] = field(default_factory=_default("cell_nominal_voltage_v"))
    cells_in_series: dict[str, int] = field(default_factory=_default("cells_in_series"))
    fade_pct_per_year: dict[str, float] = field(default_factory=_default("fade_pct_per_year"))
    fade_spread_cv: float = field(default_factory=_default("fade_spread_cv"))
    knee_soh_pct: float = field(default_factory=_default("knee_soh_pct"))
    knee_fade_factor: float = field(default_factory=_default("knee_fade_factor"))
    soh_report_interval_days: int = field(default_factory=_default("soh_report_interval_days"))
    annual_km: dict[str, float] = field(default_factory=_default("annual_km"))
    kwh_per_km: dict[str, float] = field(default_factory=_default("kwh_per_km"))
    stationary_cycles_per_year: float = field(default_factory=_default("stationary_cycles_per_year"))
    second_life_cycles_per_year: float = field(default_factory=_default("second_life_cycles_per_year"))
    usage_cv: float = field(default_factory=_default("usage_cv"))
    resistance_increase_per_fade_pp: dict[str, float] = field(
        default_factory=_default("resistance_increase_per_fade_pp")
    )
    rerating_test_method: str = field(default_factory=_default("rerating_test_method"))
    lifetimes: dict[str, tuple[float, float]] = field(
        default_factory=_default("lifetimes")
    )  # kind -> (Weibull shape, scale in years)
    private_owner_share: float = field(default_factory=_default("private_owner_share"))
    repair_rate_per_year: float = field(default_factory=_default("repair_rate_per_year"))
    negative_event_rate_per_year: float = field(default_factory=_default("negative_event_rate_per_year"))
    negative_event_kinds: tuple[str, ...] = field(default_factory=_default("negative_event_kinds"))
    safety_flag_kinds: frozenset[str] = field(default_factory=_default("safety_flag_kinds"))
    reuse_min_soh_pct: float = field(default_factory=_default("reuse_min_soh_pct"))
    repurpose_min_soh_pct: float = field(default_factory=_default("repurpose_min_soh_pct"))
    recycle_chemistries: frozenset[Chemistry] = field(default_factory=_default("recycle_chemistries"))
    second_life_share: float = field(default_factory=_default("second_life_share"))
    max_age_for_second_life_years: float = field(default_factory=_default("max_age_for_second_life_years"))
    formal_share: dict[str, float] = field(default_factory=_default("formal_share"))
    leaked_trace_ends_share: float = field(default_factory=_default("leaked_trace_ends_share"))
    via_dismantler_share: float = field(default_factory=_default("via_dismantler_share"))
    made_in_cn_share: dict[str, float] = field(default_factory=_default("made_in_cn_share"))
    cell_tracking: float = field(default_factory=_default("cell_tracking"))
    delays_days: dict[str, tuple[int, int]] = field(default_factory=_default("delays_days"))
    sources: dict[str, Cited] = field(default_factory=_default("sources"), repr=False, compare=False)
    # optional hook: ``passport_payload(unit, seed=seed) -> dict`` makes a PassportDataRegistered payload that
    # the manufacturer appends right after registering each top-level unit (packs, systems, successors)
    passport_payload: Callable[..., dict[str, Any]] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        shares = {
            "sea_share_of_row": self.sea_share_of_row,
            "stationary_share": self.stationary_share,
            "stationary_lfp_share": self.stationary_lfp_share,
            "second_life_share": self.second_life_share,
            "leaked_trace_ends_share": self.leaked_trace_ends_share,
            "via_dismantler_share": self.via_dismantler_share,
            "cell_tracking": self.cell_tracking,
            "private_owner_share": self.private_owner_share,
            **{f"formal_share.{k}": v for k, v in self.formal_share.items()},
            **{f"made_in_cn_share.{k}": v for k, v in self.made_in_cn_share.items()},
        }
        for name, share in shares.items():
            if not 0.0 <= share <= 1.0:
                raise ValidationError(f"fleet config: {name} must be within 0..1, got {share}")
        if self.first_sales_year > self.last_sales_year:
            raise ValidationError(
                f"fleet config: first_sales_year {self.first_sales_year} is after {self.last_sales_year}"
            )
        for region in REGIONS:
            for name, table in (
                ("car_sales", self.car_sales),
                ("car_lfp_share", self.car_lfp_share),
                ("car_kwh", self.car_kwh),
            ):
                missing = [
                    y
                    for y in range(self.first_sales_year, self.last_sales_year + 1)
                    if y not in table.get(region, {})
                ]
                if missing:
                    raise ValidationError(f"fleet config: {name}.{region} lacks years {missing}")
        for chem, (low, high) in self.kg_per_kwh.items():
            if not 0 < low <= high:
                raise ValidationError(f"fleet config: kg_per_kwh.{chem} range [{low}, {high}] is invalid")

    def chem_value(self, table: Mapping[str, float], chemistry: Chemistry) -> float:
        return table.get(chemistry.value, table["other"])

    def kg_per_kwh_range(self, chemistry: Chemistry) -> tuple[float, float]:
        return self.kg_per_kwh.get(chemistry.value, self.kg_per_kwh["other"])


def load_fleet_config(path: str | Path | None = None, *, now: date | None = None) -> FleetConfig:
    """The packaged defaults, with a user's override file applied (same layout as fleet_defaults.toml)."""
    c = load_cited(Path(path) if path is not None else None)

    def v(key: str) -> Any:
        try:
            return c[key].value
        except KeyError:
            raise ValidationError(f"fleet config lacks {key!r}") from None

    def by_region(prefix: str) -> dict[str, dict[int, float]]:
        return {r: _year_map(v(f"{prefix}.{r}")) for r in REGIONS}

    car_sales = by_region("sales.cars")
    sea_share = float(v("sales.sea_share_of_row"))
    car_sales["SEA"] = {y: n * sea_share for y, n in car_sales["SEA"].items()}
    try:
        nickel_split = tuple(
            (int(first), {Chemistry(k): float(s) for k, s in split.items()})
            for first, split in v("chemistry.nickel_split")
        )
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"fleet config chemistry.nickel_split: {exc}") from exc
    lifetimes = {
        kind: (float(v(f"lifetime.{kind}")["shape"]), float(v(f"lifetime.{kind}")["scale_years"]))
        for kind in ("car_first_life", "bus_first_life", "stationary_first_life", "second_life")
    }
    return FleetConfig(
        first_sales_year=int(v("horizon.first_sales_year")),
        last_sales_year=int(v("horizon.last_sales_year")),
        now=now or date.fromisoformat(str(v("horizon.now"))),
        car_sales=car_sales,
        sea_share_of_row=sea_share,
        bus_sales_world=_year_map(v("sales.buses_world")),
        bus_region_share=_float_map(v("sales.bus_region_share")),
        country_weights={r: _float_map(v(f"sales.country_weights.{r}")) for r in REGIONS},
        stationary_share=float(v("sales.stationary_share")),
        stationary_region_share=_float_map(v("sales.stationary_region_share")),
        car_lfp_share=by_region("chemistry.car_lfp_share"),
        nickel_split=nickel_split,
        bus_lfp_share=_float_map(v("chemistry.bus_lfp_share")),
        stationary_lfp_share=float(v("chemistry.stationary_lfp_share")),
        car_kwh=by_region("pack.car_kwh"),
        bus_kwh=_float_map(v("pack.bus_kwh")),
        stationary_system_kwh=float(v("pack.stationary_system_kwh")),
        stationary_pack_kwh=float(v("pack.stationary_pack_kwh")),
        kwh_cv=float(v("pack.kwh_cv")),
        module_kwh=float(v("pack.module_kwh")),
        cell_kwh=float(v("pack.cell_kwh")),
        module_to_pack_mass=_float_map(v("pack.module_to_pack_mass")),
        cell_to_pack_mass=_float_map(v("pack.cell_to_pack_mass")),
        kg_per_kwh={k: (float(lo), float(hi)) for k, (lo, hi) in v("pack.kg_per_kwh").items()},
        bus_kg_per_kwh_factor=float(v("pack.bus_kg_per_kwh_factor")),
        stationary_kg_per_kwh=float(v("pack.stationary_kg_per_kwh")),
        cell_nominal_voltage_v=_float_map(v("pack.cell_nominal_voltage_v")),
        cells_in_series={k: int(n) for k, n in v("pack.cells_in_series").items()},
        fade_pct_per_year=_float_map(v("ageing.fade_pct_per_year")),
        fade_spread_cv=float(v("ageing.fade_spread_cv")),
        knee_soh_pct=float(v("ageing.knee_soh_pct")),
        knee_fade_factor=float(v("ageing.knee_fade_factor")),
        soh_report_interval_days=int(v("ageing.soh_report_interval_days")),
        annual_km=_float_map(v("usage.annual_km")),
        kwh_per_km=_float_map(v("usage.kwh_per_km")),
        stationary_cycles_per_year=float(v("usage.stationary_cycles_per_year")),
        second_life_cycles_per_year=float(v("usage.second_life_cycles_per_year")),
        usage_cv=float(v("usage.usage_cv")),
        resistance_increase_per_fade_pp=_float_map(v("ageing.resistance_increase_per_fade_pp")),
        rerating_test_method=str(v("triage.rerating_test_method")),
        lifetimes=lifetimes,
        private_owner_share=float(v("use.private_owner_share")),
        repair_rate_per_year=float(v("use.repair_rate_per_year")),
        negative_event_rate_per_year=float(v("use.negative_event_rate_per_year")),
        negative_event_kinds=tuple(str(k) for k in v("use.negative_event_kinds")),
        safety_flag_kinds=frozenset(str(k) for k in v("use.safety_flag_kinds")),
        reuse_min_soh_pct=float(v("triage.reuse_min_soh_pct")),
        repurpose_min_soh_pct=float(v("triage.repurpose_min_soh_pct")),
        recycle_chemistries=frozenset(Chemistry(k) for k in v("triage.recycle_chemistries")),
        second_life_share=float(v("triage.second_life_share")),
        max_age_for_second_life_years=float(v("triage.max_age_for_second_life_years")),
        formal_share=_float_map(v("channels.formal_share")),
        leaked_trace_ends_share=float(v("channels.leaked_trace_ends_share")),
        via_dismantler_share=float(v("channels.via_dismantler_share")),
        made_in_cn_share=_float_map(v("channels.made_in_cn_share")),
        cell_tracking=float(v("tracking.cell_tracking")),
        delays_days={k: (int(lo), int(hi)) for k, (lo, hi) in v("delays").items()},
        sources=c,
    )


@cache
def default_fleet_config() -> FleetConfig:
    return load_fleet_config()
