"""Scenario files: one TOML document naming feedstock, route, product level, region, size and parameters.

Example::

    name = "EU spoke, NMC811 packs"
    route = "hydro"                 # black_mass_only | hydro | pyro | direct | lfp_selective (or hydro_salts ...)
    product_level = "salts"         # optional; the route's first level by default
    lithium_product = "Li2CO3"      # or "LiOH"
    region = "ES"                   # regions.<code> / emission_factors.grid.<code>
    market = "subsidy"              # optional check: "resource" or "subsidy" (who pays for this feed on balance under market_terms)
    throughput_t_per_yr = 10000
    operating_hours_per_yr = 6400   # optional

    [params]
    set = "everbatt2023"            # a packaged set or a directory
    deck = "market2025"             # optional price deck (data/decks), layered before files and values
    files = ["my_prices.toml"]      # optional overrides, relative to this file
    values = { "prices.Li2CO3" = 12.0 }

    [[feedstock]]
    form = "pack"
    chemistry = "NMC811"
    mass_share = 0.7
    state_of_charge_pct = 30
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.recycling.core.decks import apply_deck
from batteryloop.recycling.core.feedstock import validate_feedstock
from batteryloop.recycling.core.flowsheet import LITHIUM_PRODUCTS, resolve_route
from batteryloop.recycling.core.flowsheet_types import Feedstock, FeedstockComponent
from batteryloop.recycling.core.params import DEFAULT_SET, ParameterSet, load_parameter_set
from batteryloop.reference.files import read_toml, thaw

_TOP_KEYS = frozenset(
    {
        "name",
        "description",
        "route",
        "product_level",
        "lithium_product",
        "region",
        "market",
        "throughput_t_per_yr",
        "operating_hours_per_yr",
        "params",
        "feedstock",
    }
)
MARKETS = ("resource", "subsidy")
_PARAM_KEYS = frozenset({"set", "deck", "files", "values"})
_COMPONENT_KEYS = frozenset({"form", "chemistry", "mass_share", "state_of_charge_pct"})


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    feedstock: Feedstock
    route: str
    product_level: str
    region: str
    params: ParameterSet
    lithium_product: str = "Li2CO3"
    operating_hours_per_yr: float | None = None
    description: str = ""
    market: str | None = (
        None  # what the user expects; the economics report who pays for this feed under the market terms
    )

    @property
    def throughput_t_per_yr(self) -> float:
        return self.feedstock.annual_mass_t


def load_scenario(path: Path | str, *, deck: str | None = None) -> Scenario:
    """A scenario file; ``deck`` (a packaged price deck) replaces the file's own ``[params] deck``."""
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"scenario file {path} does not exist")
    try:
        data = thaw(read_toml(path))
    except ValidationError as exc:
        raise ValidationError(f"scenario {exc}") from None
    return scenario_from_mapping(data, base_dir=path.parent, origin=str(path), deck=deck)


def scenario_from_mapping(
    data: Mapping[str, Any],
    *,
    base_dir: Path | None = None,
    origin: str = "scenario",
    deck: str | None = None,
) -> Scenario:
    """Build and validate a scenario from a parsed document (TOML file, JSON body)."""
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ValidationError(f"{origin}: unknown keys {sorted(unknown)}; allowed: {sorted(_TOP_KEYS)}")
    params = _params(data.get("params", DEFAULT_SET), base_dir, origin, deck)
    route, level = resolve_route(_text(data, "route", origin), _optional_text(data, "product_level", origin))
    lithium = _optional_text(data, "lithium_product", origin) or "Li2CO3"
    if lithium not in LITHIUM_PRODUCTS:
        raise ValidationError(f"{origin}: lithium_product must be one of {', '.join(LITHIUM_PRODUCTS)}")
    region = _text(data, "region", origin)
    known_regions = set(params.groups("regions")) | set(params.children("emission_factors.grid"))
    if region not in known_regions:
        raise ValidationError(
            f"{origin}: unknown region {region!r}; set {params.name!r} knows {', '.join(sorted(known_regions))}"
        )
    market = _optional_text(data, "market", origin)
    if market is not None and market not in MARKETS:
        raise ValidationError(f"{origin}: market must be one of {', '.join(MARKETS)}, got {market!r}")
    throughput = _number(data, "throughput_t_per_yr", origin, required=True)
    assert throughput is not None
    if throughput <= 0:
        raise ValidationError(f"{origin}: throughput_t_per_yr must be positive, got {throughput}")
    hours = _number(data, "operating_hours_per_yr", origin, required=False)
    if hours is not None and not 0 < hours <= 8760:
        raise ValidationError(f"{origin}: operating_hours_per_yr must be in (0, 8760], got {hours}")
    feedstock = Feedstock(components=_components(data.get("feedstock"), origin), annual_mass_t=throughput)
    validate_feedstock(feedstock, params)
    return Scenario(
        name=str(data.get("name", Path(origin).stem)),
        description=str(data.get("description", "")),
        feedstock=feedstock,
        route=route,
        product_level=level,
        region=region,
        params=params,
        lithium_product=lithium,
        operating_hours_per_yr=hours,
        market=market,
    )


def _params(raw: Any, base_dir: Path | None, origin: str, deck: str | None = None) -> ParameterSet:
    if isinstance(raw, str):
        pset = load_parameter_set(_set_ref(raw, base_dir))
        return pset if deck is None else apply_deck(pset, deck)
    if not isinstance(raw, Mapping):
        raise ValidationError(f"{origin}: 'params' must be a set name or a table {{set, files, values}}")
    unknown = set(raw) - _PARAM_KEYS
    if unknown:
        raise ValidationError(f"{origin}: unknown keys in [params]: {sorted(unknown)}")
    files = raw.get("files", [])
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise ValidationError(f"{origin}: params.files must be a list of paths")
    overrides = [
        (base_dir / f) if base_dir is not None and not Path(f).is_absolute() else Path(f) for f in files
    ]
    chosen = deck if deck is not None else raw.get("deck")
    if chosen is not None and not isinstance(chosen, str):
        raise ValidationError(f"{origin}: params.deck must be the name of a price deck")
    pset = load_parameter_set(
        _set_ref(str(raw.get("set", DEFAULT_SET)), base_dir), deck=chosen, overrides=overrides
    )
    values = raw.get("values", {})
    if not isinstance(values, Mapping):
        raise ValidationError(f'{origin}: params.values must be a table of "path" = number')
    for path, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(f"{origin}: params.values.{path} must be a number, got {value!r}")
        pset = pset.override(str(path), float(value), source=f"{origin} params.values")
    return pset


def _set_ref(name: str, base_dir: Path | None) -> str | Path:
    if base_dir is not None and ("/" in name or name.startswith(".")):
        return base_dir / name
    return name


def _components(raw: Any, origin: str) -> tuple[FeedstockComponent, ...]:
    if not isinstance(raw, list) or not raw:
        raise ValidationError(f"{origin}: needs at least one [[feedstock]] component")
    out: list[FeedstockComponent] = []
    for index, item in enumerate(raw):
        where = f"{origin}: feedstock {index + 1}"
        if not isinstance(item, Mapping):
            raise ValidationError(f"{where} must be a table")
        unknown = set(item) - _COMPONENT_KEYS
        if unknown:
            raise ValidationError(f"{where}: unknown keys {sorted(unknown)}")
        for key in ("form", "chemistry", "mass_share"):
            if key not in item:
                raise ValidationError(f"{where}: missing {key!r}")
        share = _number(item, "mass_share", where, required=True)
        soc = _number(item, "state_of_charge_pct", where, required=False)
        assert share is not None
        out.append(
            FeedstockComponent(
                form=str(item["form"]),
                chemistry=str(item["chemistry"]),
                mass_share=share,
                state_of_charge_pct=0.0 if soc is None else soc,
            )
        )
    return tuple(out)


def _text(data: Mapping[str, Any], key: str, origin: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{origin}: {key!r} is required and must be text")
    return value


def _optional_text(data: Mapping[str, Any], key: str, origin: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{origin}: {key!r} must be text")
    return value


def _number(data: Mapping[str, Any], key: str, origin: str, *, required: bool) -> float | None:
    value = data.get(key)
    if value is None:
        if required:
            raise ValidationError(f"{origin}: {key!r} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"{origin}: {key!r} must be a number, got {value!r}")
    return float(value)
