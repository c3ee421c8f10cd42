"""Plant economics of a recycling line: sizing, capital (equipment curves + factor method), operating cost,
feedstock purchase or gate fee, subsidies, product revenue, per-tonne results, cash flows, NPV, IRR, payback.

The model follows EverBatt (EB19doc §2.2, Table 15): purchased equipment from cost curves, capital by the
Peters-Timmerhaus factor method, total product cost = manufacturing cost + general expenses. Every number comes from
a parameter set (prices, regions, equipment, cost_factors, finance); physical quantities (kg of product, reagent,
kWh per tonne of feed) come from the :class:`FlowsheetResult`.

:func:`build_model` turns a flowsheet + feedstock + region into an :class:`EconomicModel` whose :meth:`evaluate`
is pure NumPy: every parameter may be a scalar or an array of draws, so the same code gives one scenario, a
100,000-draw Monte Carlo and a tornado. :func:`run_economics` evaluates it once and returns a readable
:class:`EconomicsResult`.

Cost view vs cash view: ``margin_usd_per_t`` is EverBatt's view (total product cost includes depreciation and
financing at 5 % of TCI). The NPV/IRR use cash: EBITDA less tax (with straight-line depreciation as the tax
shield), the investment at t = 0 net of any grant, working capital returned in the last year; financing is
accounted for by discounting, not as a cost.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.recycling.core import finance
from batteryloop.recycling.core.feedstock import form_makeup
from batteryloop.recycling.core.flowsheet_types import Feedstock, FeedstockComponent, FlowsheetResult
from batteryloop.recycling.core.grades import price_path
from batteryloop.recycling.core.materials import resolve_chemistry
from batteryloop.recycling.core.params import Param, ParameterSet

FloatArray = NDArray[np.float64]

# Physical conversion constants (not defaults): molar masses (IUPAC) and unit definitions.
_M_LI = 6.94
_M_LI2CO3 = 73.89
LI_TO_LI2CO3 = _M_LI2CO3 / (2.0 * _M_LI)  # kg Li2CO3 (LCE) per kg Li = 5.3235
MJ_PER_MMBTU = 1055.056
KG_WATER_PER_GAL = 3.78541

# consumables that are not reagents: utilities, and manual dismantling hours (priced at the regional labour rate)
ENERGY_KEYS = ("electricity_kwh", "natural_gas_mj", "diesel_mj", "water_kg", "dismantling_labour_h")
# loss streams that leave with the wastewater (costed through water_kg x wastewater price), not landfilled
NOT_LANDFILLED = ("wastewater",)
PAID_ELEMENTS = ("Ni", "Co", "Cu")  # valued at the Ni/Co payable in feedstock and intermediates
VALUED_ELEMENTS = ("Li", "Ni", "Co", "Mn", "Cu", "Al")  # contained metal value (quotes)
REFERENCE_PREFIX = "prices.reference."  # benchmark prices feed payables and contained value are quoted on
REFERENCE_PRICES = ("Li2CO3", "Ni", "Co", "Mn", "Cu", "Al")
INTERMEDIATE_ELEMENTS = ("Li", "Ni", "Co", "Mn", "Cu")  # paid in precursor and alloy (prices.payables.<name>)
CREDIT_PRODUCT_LEVELS = (
    "salts",
    "precursor",
    "cathode",
)  # levels that make "critical minerals" (45X-type credit)

_CAPITAL_SHARES_OF_PE = (
    "installation",
    "instrumentation",
    "piping",
    "electrical",
    "buildings",
    "service_facilities",
    "land",
)
_REGION_FIELDS = (
    "labour_usd_per_h",
    "electricity_usd_per_kwh",
    "natural_gas_usd_per_mmbtu",
    "diesel_usd_per_mj",
    "water_usd_per_gal",
    "wastewater_usd_per_gal",
    "landfill_usd_per_t",
    "equipment_cost_factor",
    "reagent_price_factor",
    "transport_in_usd_per_t",
    "black_mass_payable_ni_co",
    "black_mass_payable_li",
    "subsidy_usd_per_t",
    "production_credit_share_of_opex",
    "capex_grant_share",
    "corporate_tax_rate",
)


# Feedstock market terms (market_terms.toml): one row per (region, chemistry family, form class). These maps are
# classifications, not defaults: which table row a feedstock component reads.
CHEMISTRY_FAMILY = {
    "NMC111": "nmc_nca",
    "NMC532": "nmc_nca",
    "NMC622": "nmc_nca",
    "NMC811": "nmc_nca",
    "NCA": "nmc_nca",
    "LCO": "lco",
    "LFP": "lfp",
    "LMO": "lmo",
    "SIB": "sib",
}
FORM_CLASS = {
    "pack": "battery",
    "module": "battery",
    "cell": "battery",
    "production_scrap": "scrap",
    "electrode_scrap": "scrap",
    "black_mass": "black_mass",
}
MARKET_TERMS = ("payable_ni_co", "payable_li", "gate_fee_usd_per_t")


def market_terms_prefix(region: str, chemistry: str, form: str) -> str:
    """Parameter prefix of the market terms a feedstock component of ``chemistry`` and ``form`` reads in ``region``:
    ``market_terms.<region>.<family>.<form class>`` (leaves payable_ni_co, payable_li, gate_fee_usd_per_t)."""
    family = CHEMISTRY_FAMILY.get(chemistry)
    if family is None:
        raise NotFoundError(
            f"no feedstock market terms for chemistry {chemistry!r}; families cover {', '.join(CHEMISTRY_FAMILY)}"
        )
    form_class = FORM_CLASS.get(form)
    if form_class is None:
        raise ValidationError(f"unknown feedstock form {form!r}; expected one of {', '.join(FORM_CLASS)}")
    return f"market_terms.{region}.{family}.{form_class}"


@dataclass(frozen=True, slots=True)
class FeedTerms:
    """The share of the feed that trades on one row of the market-terms table, and the metal it contains."""

    prefix: str  # market_terms.<region>.<family>.<form class>
    mass_share: float  # of the feed
    elements_kg: Mapping[str, float]  # contained element kg per tonne of the whole feed (this share only)

    @property
    def label(self) -> str:
        return self.prefix.split(".", 2)[2]  # "<family>.<form class>"


def known_regions(params: ParameterSet) -> list[str]:
    """Region codes the parameter set has costs for (CN, DE, ES, ID, TH, US in the packaged sets)."""
    return params.groups("regions")


def require_region(params: ParameterSet, region: str) -> str:
    if params.has(f"regions.{region}.{_REGION_FIELDS[0]}"):
        return region  # fast path: listing every region scans the whole set
    regions = known_regions(params)
    if region not in regions:
        raise NotFoundError(f"unknown region {region!r}; set {params.name!r} has {', '.join(regions)}")
    return region


@dataclass(frozen=True, slots=True)
class EquipmentItem:
    """One equipment item (``units`` parallel units) sized for one unit operation."""

    operation: str
    equipment: str
    count: float
    capacity_t_per_h: float  # throughput of the operation's input stream


@dataclass(frozen=True, slots=True)
class _Product:
    name: str
    kg_per_t: float
    price_path: str | None  # priced directly at prices.<name>
    elements_kg: Mapping[str, float]  # for intermediates valued by contained metal
    payable_path: str | None = None  # else: contained Li, Ni, Co, Mn, Cu value x prices.payables.<name>


@dataclass(frozen=True)
class EconomicModel:
    """Fixed physical quantities of one plant plus the parameter paths it reads; evaluate() is vectorised."""

    region: str
    route: str
    product_level: str
    annual_feed_t: float
    operating_hours_per_yr: float
    plant_life_yr: int
    base: Mapping[str, float]  # every parameter path the model reads -> its value
    sources: Mapping[str, Param]
    products: tuple[_Product, ...]
    consumables: Mapping[str, float]
    losses_kg_per_t: float
    equipment: tuple[EquipmentItem, ...]
    feed_elements_kg: Mapping[str, float]
    feed_terms: tuple[FeedTerms, ...]  # feedstock market terms, component by component (mass-weighted)
    battery_fee_paths: Mapping[str, float]  # cost_factors.battery_fee.<chem> -> mass share
    default_relative_spread: float = 0.0  # +- share used for uncertainty where a parameter has no low/high
    warnings: tuple[str, ...] = ()

    @property
    def feed_t_per_h(self) -> float:
        return self.annual_feed_t / self.operating_hours_per_yr

    def r(self, name: str) -> str:
        """Path of a regional parameter of this model's region."""
        return f"regions.{self.region}.{name}"

    def evaluate(self, values: Mapping[str, ArrayLike] | None = None) -> dict[str, FloatArray]:
        """All line items (USD per tonne of feed unless named otherwise) for the given parameter values.

        ``values`` maps parameter paths to scalars or arrays (broadcast together); other paths take their base
        value. Unknown paths are an error, so a typo cannot silently leave a parameter unchanged.
        """
        if not values:  # the base case is asked for by every result, warning and solve: computed once
            return dict(self._base_evaluation)
        return self._evaluate(values)

    @functools.cached_property
    def _base64(self) -> dict[str, np.float64]:
        # NumPy scalars, not 0-d arrays: the same arithmetic (inf, not an exception, on a zero divisor) at a
        # fraction of the cost, which is most of a scalar scenario
        return {path: np.float64(value) for path, value in self.base.items()}

    @functools.cached_property
    def _base_evaluation(self) -> dict[str, FloatArray]:
        return self._evaluate({})

    def _evaluate(self, values: Mapping[str, ArrayLike]) -> dict[str, FloatArray]:
        given = dict(values)
        unknown = sorted(set(given) - set(self.base))
        if unknown:
            raise ValidationError(f"parameters not used by this model: {', '.join(unknown)}")
        base64 = self._base64

        def v(path: str) -> FloatArray:
            raw = given.get(path)
            if raw is None:
                return base64[path]  # type: ignore[return-value]  # a NumPy scalar broadcasts as a 0-d array
            return np.asarray(raw, dtype=np.float64)

        out: dict[str, FloatArray] = {}
        zero: FloatArray = np.float64(0.0)  # type: ignore[assignment]  # a scalar broadcasts as a 0-d array
        feed_t = self.annual_feed_t

        # --- revenue from products ---
        element_value = _element_values(v)
        revenue = zero
        for product in self.products:
            if product.price_path is not None:
                value = product.kg_per_t * v(product.price_path)
            elif product.payable_path is not None:
                contained = sum(
                    (
                        kg * element_value[e]
                        for e, kg in product.elements_kg.items()
                        if e in INTERMEDIATE_ELEMENTS
                    ),
                    zero,
                )
                value = contained * v(product.payable_path)
            else:
                value = zero
                for element, kg in product.elements_kg.items():
                    if element == "Li":
                        value = value + kg * element_value["Li"] * v(self.r("black_mass_payable_li"))
                    elif element in PAID_ELEMENTS:
                        value = value + kg * element_value[element] * v(self.r("black_mass_payable_ni_co"))
            out[f"revenue.{product.name}"] = np.asarray(value, dtype=np.float64)
            revenue = revenue + value
        out["revenue_products"] = np.asarray(revenue, dtype=np.float64)

        # --- feedstock: purchase at payables, gate fee received (per market-terms row), EverBatt battery fee ---
        purchase = zero
        gate_fee = zero
        for terms in self.feed_terms:
            paid_value = sum((terms.elements_kg.get(e, 0.0) * element_value[e] for e in PAID_ELEMENTS), zero)
            li_value = terms.elements_kg.get("Li", 0.0) * element_value["Li"]
            row_purchase = (
                v(f"{terms.prefix}.payable_ni_co") * paid_value + v(f"{terms.prefix}.payable_li") * li_value
            )
            row_fee = terms.mass_share * v(f"{terms.prefix}.gate_fee_usd_per_t")
            out[f"feedstock.{terms.label}.purchase"] = np.asarray(row_purchase, dtype=np.float64)
            out[f"feedstock.{terms.label}.gate_fee"] = np.asarray(row_fee, dtype=np.float64)
            purchase = purchase + row_purchase
            gate_fee = gate_fee + row_fee
        fee = zero
        for path, share in self.battery_fee_paths.items():
            fee = fee + share * 1000.0 * v(path)  # USD/kg x 1,000 kg per tonne of feed
        out["cost.feedstock_payables"] = np.asarray(purchase, dtype=np.float64)
        out["cost.feedstock"] = np.asarray(purchase + fee, dtype=np.float64)
        out["revenue.gate_fee"] = np.asarray(gate_fee, dtype=np.float64)

        # --- variable operating cost (per tonne) ---
        reagent_factor = v(self.r("reagent_price_factor"))
        reagents = zero
        for name, amount in self.consumables.items():
            if name in ENERGY_KEYS:
                continue
            reagent_cost = amount * v(f"prices.{name}") * reagent_factor
            out[f"reagent.{name}"] = np.asarray(reagent_cost, dtype=np.float64)
            reagents = reagents + reagent_cost
        out["cost.reagents"] = np.asarray(reagents, dtype=np.float64)
        out["cost.electricity"] = self.consumables.get("electricity_kwh", 0.0) * v(
            self.r("electricity_usd_per_kwh")
        )
        out["cost.natural_gas"] = (
            self.consumables.get("natural_gas_mj", 0.0)
            * v(self.r("natural_gas_usd_per_mmbtu"))
            / MJ_PER_MMBTU
        )
        out["cost.diesel"] = self.consumables.get("diesel_mj", 0.0) * v(self.r("diesel_usd_per_mj"))
        out["cost.water"] = (
            self.consumables.get("water_kg", 0.0)
            / KG_WATER_PER_GAL
            * (v(self.r("water_usd_per_gal")) + v(self.r("wastewater_usd_per_gal")))
        )
        out["cost.residue_disposal"] = self.losses_kg_per_t / 1000.0 * v(self.r("landfill_usd_per_t"))
        out["cost.transport_in"] = v(self.r("transport_in_usd_per_t"))
        variable = (
            out["cost.reagents"]
            + out["cost.electricity"]
            + out["cost.natural_gas"]
            + out["cost.diesel"]
            + out["cost.water"]
            + out["cost.residue_disposal"]
            + out["cost.transport_in"]
        )

        # --- capital: equipment curves, then the factor method ---
        units = v("cost_factors.capital.units_per_item")
        unit_share = v("cost_factors.capital.unit_capacity_share")
        escalation = v("cost_factors.capital.cepci_cost_year") / v(
            "cost_factors.capital.cepci_equipment_year"
        )
        purchased = zero
        operators = zero
        for item in self.equipment:
            curve = f"equipment.curves.{item.equipment}"
            unit_cost = (v(f"{curve}.a") * (unit_share * item.capacity_t_per_h) ** v(f"{curve}.b")) + v(
                f"{curve}.c"
            )
            cost = item.count * units * unit_cost * v(f"{curve}.adj")
            out[f"equipment.{item.operation}.{item.equipment}"] = np.asarray(
                cost * v(self.r("equipment_cost_factor")) * escalation, dtype=np.float64
            )
            purchased = purchased + cost
            operators = operators + item.count * v(f"{curve}.operators")
        pe = purchased * v(self.r("equipment_cost_factor")) * escalation
        cap = "cost_factors.capital."
        direct = pe * (1.0 + sum((v(cap + name) for name in _CAPITAL_SHARES_OF_PE), zero))
        indirect = direct * (v(cap + "engineering") + v(cap + "construction"))
        fci = (direct + indirect) / (1.0 - v(cap + "contingency"))
        tci = fci / (1.0 - v(cap + "working_capital"))
        land = pe * v(cap + "land")
        buildings = pe * v(cap + "buildings")
        out["capex.purchased_equipment_usd"] = np.asarray(pe, dtype=np.float64)
        out["capex.direct_usd"] = np.asarray(direct, dtype=np.float64)
        out["capex.indirect_usd"] = np.asarray(indirect, dtype=np.float64)
        out["capex.fixed_capital_usd"] = np.asarray(fci, dtype=np.float64)
        out["capex.working_capital_usd"] = np.asarray(tci - fci, dtype=np.float64)
        out["capex.total_capital_usd"] = np.asarray(tci, dtype=np.float64)

        # --- fixed operating cost (annual, then per tonne) ---
        op = "cost_factors.operating."
        dismantling_h = self.consumables.get("dismantling_labour_h", 0.0)
        labour_h_yr = operators * self.operating_hours_per_yr + dismantling_h * feed_t
        labour = labour_h_yr * v(self.r("labour_usd_per_h"))
        supervision_lab = labour * (v(op + "supervision") + v(op + "laboratory"))
        maintenance = fci * v(op + "maintenance")
        supplies = maintenance * v(op + "operating_supplies")
        overhead_admin = (labour + supervision_lab + maintenance) * (
            v(op + "plant_overhead") + v(op + "administration")
        )
        taxes_insurance_rent = fci * (v(op + "local_taxes") + v(op + "insurance")) + v(op + "rent") * (
            buildings + land
        )
        depreciation = (fci - land) / self.plant_life_yr
        financing = tci * v(op + "financing")
        out["operating.labour_h_per_yr"] = np.asarray(labour_h_yr, dtype=np.float64)
        out["cost.labour"] = np.asarray(labour / feed_t, dtype=np.float64)
        out["cost.supervision_laboratory"] = np.asarray(supervision_lab / feed_t, dtype=np.float64)
        out["cost.maintenance_supplies"] = np.asarray((maintenance + supplies) / feed_t, dtype=np.float64)
        out["cost.overhead_administration"] = np.asarray(overhead_admin / feed_t, dtype=np.float64)
        out["cost.taxes_insurance_rent"] = np.asarray(taxes_insurance_rent / feed_t, dtype=np.float64)
        out["cost.depreciation"] = np.asarray(depreciation / feed_t, dtype=np.float64)
        out["cost.financing"] = np.asarray(financing / feed_t, dtype=np.float64)

        manufacturing = (
            variable
            + out["cost.labour"]
            + out["cost.supervision_laboratory"]
            + out["cost.maintenance_supplies"]
            + out["cost.overhead_administration"]
            + out["cost.taxes_insurance_rent"]
            + out["cost.depreciation"]
            + out["cost.financing"]
        )
        general_share = v(op + "patents") + v(op + "distribution") + v(op + "research")
        product_cost = manufacturing / (1.0 - general_share)
        out["cost.general_expenses"] = np.asarray(product_cost - manufacturing, dtype=np.float64)
        out["cost.processing_total"] = np.asarray(product_cost, dtype=np.float64)

        # --- subsidies ---
        cash_opex = product_cost - out["cost.depreciation"] - out["cost.financing"]
        credit_share = (
            v(self.r("production_credit_share_of_opex"))
            if self.product_level in CREDIT_PRODUCT_LEVELS
            else np.asarray(0.0)
        )
        out["revenue.production_credit"] = np.asarray(credit_share * cash_opex, dtype=np.float64)
        out["revenue.subsidy"] = v(self.r("subsidy_usd_per_t"))

        total_revenue = (
            out["revenue_products"]
            + out["revenue.gate_fee"]
            + out["revenue.production_credit"]
            + out["revenue.subsidy"]
        )
        total_cost = product_cost + out["cost.feedstock"]
        out["total_revenue"] = np.asarray(total_revenue, dtype=np.float64)
        out["total_cost"] = np.asarray(total_cost, dtype=np.float64)
        out["margin"] = np.asarray(total_revenue - total_cost, dtype=np.float64)

        # --- cash view: NPV, IRR, payback ---
        ebitda = (total_revenue - cash_opex - out["cost.feedstock"]) * feed_t
        tax = v(self.r("corporate_tax_rate")) * np.maximum(0.0, ebitda - depreciation)
        annual_cf = ebitda - tax
        investment = tci * (1.0 - v(self.r("capex_grant_share")))
        working_capital = tci - fci
        rate = v("finance.discount_rate")
        years = self.plant_life_yr
        out["cash.ebitda_usd_per_yr"] = np.asarray(ebitda, dtype=np.float64)
        out["cash.tax_usd_per_yr"] = np.asarray(tax, dtype=np.float64)
        out["cash.annual_cash_flow_usd"] = np.asarray(annual_cf, dtype=np.float64)
        out["cash.investment_usd"] = np.asarray(investment, dtype=np.float64)
        out["npv_usd"] = finance.npv_annuity(
            rate=rate,
            investment=investment,
            annual_cash_flow=annual_cf,
            years=years,
            terminal=working_capital,
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            out["payback_yr"] = np.where(
                annual_cf > 0.0, investment / np.where(annual_cf > 0, annual_cf, 1.0), np.inf
            )
        return out


def _element_values(v: Any) -> dict[str, FloatArray]:
    """USD per kg of contained element at the reference prices payables are quoted on (``prices.reference``):
    Li as battery-grade Li2CO3 (LCE), Ni/Co/Mn as in salt (EverBatt), never at the grade a product is sold in."""
    return {
        "Li": v(f"{REFERENCE_PREFIX}Li2CO3") * LI_TO_LI2CO3,
        **{e: v(f"{REFERENCE_PREFIX}{e}") for e in VALUED_ELEMENTS if e != "Li"},
    }


# ------------------------------------------------------------------------------------------------- building


def build_model(
    flowsheet: FlowsheetResult,
    *,
    feedstock: Feedstock,
    region: str,
    params: ParameterSet,
    annual_feed_t: float | None = None,
    operating_hours_per_yr: float | None = None,
) -> EconomicModel:
    """Collect the physical quantities and the parameter paths of one plant; raise on anything unknown."""
    require_region(params, region)
    feed_t = float(feedstock.annual_mass_t if annual_feed_t is None else annual_feed_t)
    if not np.isfinite(feed_t) or feed_t <= 0.0:
        raise ValidationError(f"plant throughput must be a positive number of t/yr, got {feed_t}")
    hours = (
        params.value("finance.operating_days_per_yr") * params.value("finance.operating_hours_per_day")
        if operating_hours_per_yr is None
        else float(operating_hours_per_yr)
    )
    if not 0.0 < hours <= 8784.0:  # hours in a leap year: a physical bound, not a default
        raise ValidationError(f"operating hours must be in (0, 8784] h/yr, got {hours}")
    _check_shares(feedstock)
    base: dict[str, float] = {}
    sources: dict[str, Param] = {}

    def use(path: str) -> str:
        param = params.get(path)
        base[path] = param.value
        sources[path] = param
        return path

    for name in _REGION_FIELDS:
        use(f"regions.{region}.{name}")
    for name in REFERENCE_PRICES:
        use(f"{REFERENCE_PREFIX}{name}")  # contained-metal values (payables, intermediates, quotes)
    for name in (*_CAPITAL_SHARES_OF_PE, "engineering", "construction", "contingency", "working_capital"):
        use(f"cost_factors.capital.{name}")
    for name in ("units_per_item", "unit_capacity_share", "cepci_equipment_year", "cepci_cost_year"):
        use(f"cost_factors.capital.{name}")
    for name in (
        "supervision",
        "laboratory",
        "maintenance",
        "operating_supplies",
        "local_taxes",
        "insurance",
        "rent",
        "financing",
        "plant_overhead",
        "administration",
        "patents",
        "distribution",
        "research",
    ):
        use(f"cost_factors.operating.{name}")
    use("finance.discount_rate")
    plant_life = int(params.value("finance.plant_life_yr"))
    if plant_life < 1:
        raise ValidationError(f"finance.plant_life_yr must be at least 1, got {plant_life}")

    products: list[_Product] = []
    for name, kg in sorted(flowsheet.products_kg.items()):
        _check_amount(kg, f"product {name!r}")
        if kg == 0.0:
            continue
        grade = flowsheet.product_grades.get(name)
        path = price_path(name, grade)
        elements = dict(flowsheet.product_elements_kg.get(name, {}))
        if path is not None and params.has(path):
            products.append(_Product(name, kg, use(path), elements))
        elif path is not None and grade is not None:
            raise ValidationError(
                f"product {name!r} is sold in {grade} grade, which set {params.name!r} does not price ({path}); "
                "add it to the price deck or an override file"
            )
        elif params.has(f"prices.payables.{name}"):
            products.append(_Product(name, kg, None, elements, use(f"prices.payables.{name}")))
        elif any(elements.get(e, 0.0) > 0.0 for e in ("Li", *PAID_ELEMENTS)):
            products.append(_Product(name, kg, None, elements))
        else:
            raise ValidationError(
                f"product {name!r} has no price (prices.{name}) and no Li, Ni, Co or Cu content to value it by; "
                "add a price in an override file or report it as a loss"
            )

    consumables: dict[str, float] = {}
    for name, amount in sorted(flowsheet.consumables.items()):
        _check_amount(amount, f"consumable {name!r}")
        if name not in ENERGY_KEYS:
            if not params.has(f"prices.{name}"):
                raise ValidationError(
                    f"consumable {name!r} has no price (prices.{name}); energy keys are {', '.join(ENERGY_KEYS)}"
                )
            use(f"prices.{name}")
        consumables[name] = float(amount)

    feed_t_per_h = feed_t / hours
    equipment: list[EquipmentItem] = []
    losses = 0.0
    for operation in flowsheet.operations:
        prefix = f"equipment.operations.{operation.name}"
        items = params.children(prefix)
        if not items:
            raise ValidationError(
                f"unit operation {operation.name!r} has no equipment in {params.name!r} ({prefix}.<equipment>); "
                f"known: {', '.join(params.groups('equipment.operations'))}"
            )
        stream_t_per_h = sum(operation.inputs_kg.values()) / 1000.0 * feed_t_per_h
        for equipment_name, count in sorted(items.items()):
            for key in ("a", "b", "c", "adj", "operators"):
                use(f"equipment.curves.{equipment_name}.{key}")
            equipment.append(EquipmentItem(operation.name, equipment_name, count.value, stream_t_per_h))
        losses += sum(kg for name, kg in operation.losses_kg.items() if not name.startswith(NOT_LANDFILLED))

    battery_fee_paths: dict[str, float] = {}
    for component in feedstock.components:
        fee_path = f"cost_factors.battery_fee.{component.chemistry}"
        if params.has(fee_path):
            use(fee_path)
            battery_fee_paths[fee_path] = battery_fee_paths.get(fee_path, 0.0) + component.mass_share

    feed_terms = _feed_terms(flowsheet, feedstock=feedstock, region=region, params=params)
    for terms in feed_terms:
        for name in MARKET_TERMS:
            use(f"{terms.prefix}.{name}")

    warnings: list[str] = []
    max_t = params.value_or("finance.max_plant_t_per_yr", float("inf"))
    if feed_t > max_t:
        warnings.append(
            f"throughput {feed_t:,.0f} t/yr is above {max_t:,.0f} t/yr, the largest plant EverBatt's cost curves support"
        )
    if flowsheet.max_closure_error > 0.001:
        warnings.append(f"mass balance closes only within {flowsheet.max_closure_error:.3%} (limit 0.1 %)")
    if not flowsheet.operations:
        warnings.append("the flowsheet lists no unit operations: no equipment, capital or operating labour")

    return EconomicModel(
        region=region,
        route=flowsheet.route,
        product_level=flowsheet.product_level,
        annual_feed_t=feed_t,
        operating_hours_per_yr=hours,
        plant_life_yr=plant_life,
        base=base,
        sources=sources,
        products=tuple(products),
        consumables=consumables,
        losses_kg_per_t=losses,
        equipment=tuple(equipment),
        feed_elements_kg=dict(flowsheet.feed_elements_kg),
        feed_terms=feed_terms,
        battery_fee_paths=battery_fee_paths,
        default_relative_spread=params.value("finance.uncertainty.default_relative_spread"),
        warnings=tuple(warnings),
    )


def _feed_terms(
    flowsheet: FlowsheetResult, *, feedstock: Feedstock, region: str, params: ParameterSet
) -> tuple[FeedTerms, ...]:
    """Split the feed's contained metal over its market-terms rows (mass-weighted, component by component).

    Each component's element content per kg comes from its composition in the set (form makeup); the flowsheet's
    feed element totals are shared out in proportion to share x content, so the rows add up to the flowsheet's feed.
    Components reading the same row (e.g. NMC622 and NMC811 packs) are merged.
    """
    rows: dict[str, list[tuple[float, Mapping[str, float] | None]]] = {}
    for component in feedstock.components:
        prefix = market_terms_prefix(region, component.chemistry, component.form)
        for name in MARKET_TERMS:
            if not params.has(f"{prefix}.{name}"):
                raise NotFoundError(
                    f"parameter set {params.name!r} has no {prefix}.{name}: no feedstock market terms for "
                    f"{component.chemistry} {component.form} in {region}"
                )
        content = None if len(feedstock.components) == 1 else _content_per_kg(params, component)
        rows.setdefault(prefix, []).append((component.mass_share, content))
    feed = flowsheet.feed_elements_kg
    weights: dict[str, dict[str, float]] = {}  # prefix -> element -> share x content
    for prefix, parts in rows.items():
        w = weights.setdefault(prefix, {})
        for share, content in parts:
            for element in feed:
                per_kg = 1.0 if content is None else content.get(element, 0.0)
                w[element] = w.get(element, 0.0) + share * per_kg
    totals = {e: sum(w.get(e, 0.0) for w in weights.values()) for e in feed}
    out: list[FeedTerms] = []
    for prefix, parts in rows.items():
        share = sum(p[0] for p in parts)
        elements: dict[str, float] = {}
        for element, kg in feed.items():
            if totals[element] > 0.0:
                elements[element] = kg * weights[prefix].get(element, 0.0) / totals[element]
            else:  # the composition has none of an element the flowsheet reports: share it by mass
                elements[element] = kg * share
        out.append(FeedTerms(prefix, share, elements))
    return tuple(out)


def _content_per_kg(params: ParameterSet, component: FeedstockComponent) -> Mapping[str, float]:
    """Element kg per kg of one feedstock component, from the set's composition (memoised per set)."""
    key = f"composition.elements_per_kg.{component.form}.{component.chemistry}"

    def build() -> Mapping[str, float]:
        makeup = form_makeup(params, component.form, component.chemistry)
        return resolve_chemistry(params).to_elements(makeup.materials)

    return params.memo(key, build)


def _check_amount(amount: float, what: str) -> None:
    if not np.isfinite(amount) or amount < 0.0:
        raise ValidationError(f"{what}: amount must be a non-negative number of kg per tonne, got {amount}")


def _check_shares(feedstock: Feedstock) -> None:
    if not feedstock.components:
        raise ValidationError("feedstock has no components")
    for component in feedstock.components:
        if not 0.0 <= component.mass_share <= 1.0:
            raise ValidationError(
                f"feedstock component {component.chemistry} {component.form}: mass share {component.mass_share} "
                "is outside 0..1"
            )
    total = sum(c.mass_share for c in feedstock.components)
    if abs(total - 1.0) > 1e-6:
        raise ValidationError(f"feedstock mass shares sum to {total:.6f}, not 1")


# ------------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class EconomicsResult:
    """One plant in one market: per-tonne breakdown, capital, cash flows and the flowsheet behind them."""

    region: str
    market: str  # "resource" (buys feedstock), "subsidy" (is paid to take it) or "neutral"
    route: str
    product_level: str
    annual_feed_t: float
    operating_hours_per_yr: float
    feed_t_per_h: float
    revenue_usd_per_t: dict[str, float]
    cost_usd_per_t: dict[str, float]
    reagents_usd_per_t: dict[str, float]
    equipment_usd: dict[str, float]
    capital_usd: dict[str, float]
    total_revenue_usd_per_t: float
    total_cost_usd_per_t: float
    margin_usd_per_t: float
    annual_margin_usd: float
    labour_h_per_yr: float
    cash_flows_usd: tuple[float, ...]
    npv_usd: float
    irr: float | None
    payback_yr: float | None
    discount_rate: float
    element_recovery: dict[str, float]
    max_closure_error: float
    warnings: tuple[str, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)
    # feedstock terms row by row: family.form_class -> {mass_share, purchase_usd_per_t, gate_fee_usd_per_t}
    feedstock_terms: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def margin_share(self) -> float:
        return self.margin_usd_per_t / self.total_revenue_usd_per_t if self.total_revenue_usd_per_t else 0.0

    def breakdown_rows(self) -> list[tuple[str, str, float]]:
        """(kind, item, USD per tonne of feed) rows: revenues positive, costs negative, margin last."""
        rows = [("revenue", k, v) for k, v in self.revenue_usd_per_t.items() if v != 0.0]
        rows += [("cost", k, -v) for k, v in self.cost_usd_per_t.items() if v != 0.0]
        rows.append(("margin", "margin", self.margin_usd_per_t))
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "market": self.market,
            "route": self.route,
            "product_level": self.product_level,
            "annual_feed_t": self.annual_feed_t,
            "operating_hours_per_yr": self.operating_hours_per_yr,
            "feed_t_per_h": self.feed_t_per_h,
            "revenue_usd_per_t": self.revenue_usd_per_t,
            "cost_usd_per_t": self.cost_usd_per_t,
            "reagents_usd_per_t": self.reagents_usd_per_t,
            "equipment_usd": self.equipment_usd,
            "capital_usd": self.capital_usd,
            "total_revenue_usd_per_t": self.total_revenue_usd_per_t,
            "total_cost_usd_per_t": self.total_cost_usd_per_t,
            "margin_usd_per_t": self.margin_usd_per_t,
            "margin_share": self.margin_share,
            "annual_margin_usd": self.annual_margin_usd,
            "labour_h_per_yr": self.labour_h_per_yr,
            "cash_flows_usd": list(self.cash_flows_usd),
            "npv_usd": self.npv_usd,
            "irr": self.irr,
            "payback_yr": self.payback_yr,
            "discount_rate": self.discount_rate,
            "element_recovery": self.element_recovery,
            "max_closure_error": self.max_closure_error,
            "warnings": list(self.warnings),
            "sources": dict(self.sources),
            "feedstock_terms": {k: dict(v) for k, v in self.feedstock_terms.items()},
        }


def market_of(model: EconomicModel, out: Mapping[str, FloatArray] | None = None) -> str:
    """Who pays whom for the feed: 'resource' (the recycler pays), 'subsidy' (the owner pays), else 'neutral'."""
    values = model.evaluate() if out is None else out
    net_paid = float(values["cost.feedstock"]) - float(values["revenue.gate_fee"])
    if net_paid > 0.0:
        return "resource"
    return "subsidy" if net_paid < 0.0 else "neutral"


def result_from_model(model: EconomicModel, flowsheet: FlowsheetResult) -> EconomicsResult:
    """Evaluate at the base values and lay out the readable result."""
    out = model.evaluate()

    def f(key: str) -> float:
        return float(out[key])

    revenue = {p.name: f(f"revenue.{p.name}") for p in model.products}
    for key in ("gate_fee", "subsidy", "production_credit"):
        revenue[key] = f(f"revenue.{key}")
    cost_keys = (
        "feedstock",
        "transport_in",
        "reagents",
        "electricity",
        "natural_gas",
        "diesel",
        "water",
        "residue_disposal",
        "labour",
        "supervision_laboratory",
        "maintenance_supplies",
        "overhead_administration",
        "taxes_insurance_rent",
        "depreciation",
        "financing",
        "general_expenses",
    )
    cost = {k: f(f"cost.{k}") for k in cost_keys}
    reagents = {k.split(".", 1)[1]: float(v) for k, v in out.items() if k.startswith("reagent.")}
    equipment = {k.split(".", 1)[1]: float(v) for k, v in out.items() if k.startswith("equipment.")}
    capital = {k.split(".", 1)[1]: float(v) for k, v in out.items() if k.startswith("capex.")}
    investment = f("cash.investment_usd")
    annual_cf = f("cash.annual_cash_flow_usd")
    working_capital = f("capex.working_capital_usd")
    flows = [-investment] + [annual_cf] * model.plant_life_yr
    flows[-1] += working_capital
    rate = float(model.base["finance.discount_rate"])
    return EconomicsResult(
        region=model.region,
        market=market_of(model, out),
        route=model.route,
        product_level=model.product_level,
        annual_feed_t=model.annual_feed_t,
        operating_hours_per_yr=model.operating_hours_per_yr,
        feed_t_per_h=model.feed_t_per_h,
        revenue_usd_per_t=revenue,
        cost_usd_per_t=cost,
        reagents_usd_per_t=reagents,
        equipment_usd=equipment,
        capital_usd=capital,
        total_revenue_usd_per_t=f("total_revenue"),
        total_cost_usd_per_t=f("total_cost"),
        margin_usd_per_t=f("margin"),
        annual_margin_usd=f("margin") * model.annual_feed_t,
        labour_h_per_yr=f("operating.labour_h_per_yr"),
        cash_flows_usd=tuple(flows),
        npv_usd=finance.npv(rate, flows),
        irr=finance.irr(flows),
        payback_yr=finance.payback_years(flows),
        discount_rate=rate,
        element_recovery=dict(flowsheet.element_recovery),
        max_closure_error=flowsheet.max_closure_error,
        warnings=model.warnings,
        sources={path: f"{p.source} ({p.year})" if p.year else p.source for path, p in model.sources.items()},
        feedstock_terms={
            t.label: {
                "mass_share": t.mass_share,
                "purchase_usd_per_t": f(f"feedstock.{t.label}.purchase"),
                "gate_fee_usd_per_t": f(f"feedstock.{t.label}.gate_fee"),
            }
            for t in model.feed_terms
        },
    )


def run_economics(
    flowsheet: FlowsheetResult,
    *,
    feedstock: Feedstock,
    region: str,
    params: ParameterSet,
    annual_feed_t: float | None = None,
    operating_hours_per_yr: float | None = None,
) -> EconomicsResult:
    """Plant economics of ``flowsheet`` built in ``region`` for ``feedstock`` (throughput from the feedstock)."""
    model = build_model(
        flowsheet,
        feedstock=feedstock,
        region=region,
        params=params,
        annual_feed_t=annual_feed_t,
        operating_hours_per_yr=operating_hours_per_yr,
    )
    return result_from_model(model, flowsheet)
