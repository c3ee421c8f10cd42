from __future__ import annotations

import itertools

import pytest

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.recycling.core.feedstock import simple_feedstock
from batteryloop.recycling.core.flowsheet import ROUTES, resolve_route, run_flowsheet
from batteryloop.recycling.core.flowsheet_types import FlowsheetResult
from batteryloop.recycling.core.params import load_parameter_set

EB23 = load_parameter_set("everbatt2023")
EB19 = load_parameter_set("everbatt2019")

# atomic masses of the set (EverBatt / IUPAC)
M_NI, M_S, M_O, M_LI, M_C = 58.693, 32.06, 15.999, 6.94, 12.011


def nmc811_cells() -> FlowsheetResult:
    return run_flowsheet(simple_feedstock({"NMC811": 1.0}, form="cell"), route="hydro", params=EB23)


def test_black_mass_worked_on_paper() -> None:
    # 1 t of EverBatt 2023 NMC811 cells (BOM sums to exactly 1.0000):
    # CAM 428.9, graphite 291.0, carbon black 8.9, PVDF 8.9, anode binder 5.9, Cu 78.0, Al 51.5 kg.
    # Thermal step keeps 5 % of the binders; separation sends 95 % of CAM + graphite + carbon black, all the
    # surviving binder and 5 % of Cu and Al to black mass: 0.95*728.8 + 0.05*14.8 + 0.05*78.0 + 0.05*51.5.
    result = run_flowsheet(
        simple_feedstock({"NMC811": 1.0}, form="cell"), route="black_mass_only", params=EB23
    )
    assert result.products_kg["black_mass"] == pytest.approx(692.36 + 0.74 + 3.90 + 2.575, abs=1e-6)
    assert result.products_kg["Cu"] == pytest.approx(0.90 * 78.0)
    assert result.products_kg["Al"] == pytest.approx(0.90 * 51.5)
    # Ni in black mass = 0.95 of the Ni in the CAM
    assert result.element_recovery["Ni"] == pytest.approx(0.95)
    assert result.product_elements_kg["black_mass"]["Ni"] == pytest.approx(0.95 * 428.9 * 0.4827)


def test_hydro_recoveries_come_out_of_the_flowsheet() -> None:
    result = nmc811_cells()
    # EverBatt 2023: preprocessing 95 % x hydro 98 % = 93.1 % of cell Ni, Co, Mn
    for element in ("Ni", "Co", "Mn"):
        assert result.element_recovery[element] == pytest.approx(0.931)
    # Li: 0.95 x 0.90 of the Li in the CAM; the LiPF6 lithium is burned with the electrolyte
    li_cam = 428.9 * 0.0713
    li_total = result.feed_elements_kg["Li"]
    assert result.element_recovery["Li"] == pytest.approx(0.855 * li_cam / li_total, rel=1e-6)
    # NiSO4 (anhydrous) from the Ni recovered
    ni = 428.9 * 0.4827 * 0.931
    assert result.products_kg["NiSO4"] == pytest.approx(ni * (M_NI + M_S + 4 * M_O) / M_NI, rel=1e-9)
    li2co3 = 0.855 * li_cam * (2 * M_LI + M_C + 3 * M_O) / (2 * M_LI)
    assert result.products_kg["Li2CO3"] == pytest.approx(li2co3, rel=1e-9)
    assert result.feed_energy_kwh == pytest.approx(1000 * 0.25 / 0.744)


def test_hydro_reagents_follow_everbatt_formulas() -> None:
    result = nmc811_cells()
    leach = next(op for op in result.operations if op.name == "leaching")
    ni = leach.inputs_kg["Ni"]
    co = leach.inputs_kg["Co"]
    mn = leach.inputs_kg["Mn"]
    li = leach.inputs_kg["Li"]
    moles_m = ni / 58.693 + co / 58.933 + mn / 54.938
    h2so4 = 98.072 * (2 * moles_m + 0.5 * li / 6.94)
    assert result.consumables["H2SO4"] == pytest.approx(h2so4, rel=1e-3)
    assert result.consumables["NaOH"] == pytest.approx(4 * moles_m * 39.997, rel=1e-3)


CASES = [
    ("black_mass_only", "black_mass", "NMC622", "pack"),
    ("black_mass_only", "high_grade_black_mass", "NCA", "module"),
    ("hydro", "salts", "NMC811", "pack"),
    ("hydro", "precursor", "NMC111", "cell"),
    ("hydro", "salts", "LFP", "production_scrap"),
    ("pyro", "salts", "NMC532", "pack"),
    ("pyro", "alloy", "NCA", "cell"),
    ("direct", "cathode", "NMC622", "electrode_scrap"),
    ("lfp_selective", "salts", "LFP", "pack"),
    ("hydro", "salts", "NMC811", "black_mass"),
]


@pytest.mark.parametrize(("route", "level", "chemistry", "form"), CASES)
def test_every_operation_closes(route: str, level: str, chemistry: str, form: str) -> None:
    fs = simple_feedstock({chemistry: 1.0}, form=form, state_of_charge_pct=50)
    result = run_flowsheet(fs, route=route, product_level=level, params=EB23)
    assert result.operations
    assert result.max_closure_error <= 1e-9
    for op in result.operations:
        mass_in = sum(op.inputs_kg.values())
        mass_out = sum(op.products_kg.values()) + sum(op.losses_kg.values()) + sum(op.emissions_kg.values())
        assert mass_out == pytest.approx(mass_in, rel=1e-9), op.name
    assert sum(result.products_kg.values()) > 0
    for element, share in result.element_recovery.items():
        assert 0.0 <= share <= 1.0, element


@pytest.mark.parametrize(
    ("route", "chemistry"),
    [("hydro", "NMC111"), ("pyro", "NCA"), ("direct", "LCO"), ("lfp_selective", "LFP")],
)
def test_everbatt2019_routes_close(route: str, chemistry: str) -> None:
    result = run_flowsheet(simple_feedstock({chemistry: 1.0}, form="cell"), route=route, params=EB19)
    assert result.max_closure_error <= 1e-9
    if route == "hydro":
        assert result.element_recovery["Co"] == pytest.approx(0.98)
        assert result.consumables["H2SO4"] == pytest.approx(1080.0)


def test_pyro_loses_lithium_unless_slag_is_treated() -> None:
    fs = simple_feedstock({"NMC811": 1.0}, form="cell")
    plain = run_flowsheet(fs, route="pyro", params=EB23)
    assert plain.element_recovery["Li"] == 0.0
    assert plain.element_recovery["Mn"] == 0.0
    assert plain.element_recovery["Ni"] == pytest.approx(0.95)
    assert "slag" in next(op for op in plain.operations if op.name == "smelting").losses_kg
    treated = run_flowsheet(fs, route="pyro", params=EB23.override("recovery.pyro.slag_li_recovery", 0.6))
    assert "slag_treatment" in [op.name for op in treated.operations]
    assert treated.element_recovery["Li"] > 0.5
    alloy = run_flowsheet(fs, route="pyro", product_level="alloy", params=EB23)
    assert set(alloy.product_elements_kg["alloy"]) == {"Ni", "Co", "Cu"}
    assert plain.process_emissions_kg_co2e > 0  # graphite and organics burned, limestone calcined


def test_discharge_runs_only_for_charged_feed() -> None:
    charged = run_flowsheet(
        simple_feedstock({"LFP": 1.0}, state_of_charge_pct=40), route="hydro", params=EB23
    )
    flat = run_flowsheet(simple_feedstock({"LFP": 1.0}), route="hydro", params=EB23)
    assert charged.operations[0].name == "discharge"
    assert "discharge" not in [op.name for op in flat.operations]
    assert flat.consumables["dismantling_labour_h"] == pytest.approx(1000 / 648.6 * 4.5)


def test_lithium_hydroxide_product() -> None:
    result = run_flowsheet(
        simple_feedstock({"NMC811": 1.0}, form="cell"), route="hydro", params=EB23, lithium_product="LiOH"
    )
    assert "LiOH" in result.products_kg
    assert "Li2CO3" not in result.products_kg
    assert result.consumables["lime"] > 1.0


def test_route_guards() -> None:
    mixed = simple_feedstock({"NMC811": 0.5, "LFP": 0.5}, form="cell")
    with pytest.raises(ValidationError, match="one cathode chemistry"):
        run_flowsheet(mixed, route="direct", params=EB23)
    with pytest.raises(ValidationError, match="LFP feed only"):
        run_flowsheet(mixed, route="lfp_selective", params=EB23)
    with pytest.raises(ValidationError, match="unknown route 'bioleach'"):
        run_flowsheet(mixed, route="bioleach", params=EB23)
    with pytest.raises(ValidationError, match="cannot make product level 'cathode'"):
        run_flowsheet(mixed, route="hydro", product_level="cathode", params=EB23)
    assert resolve_route("hydro_salts", None) == ("hydro", "salts")
    assert set(ROUTES) == {"black_mass_only", "hydro", "pyro", "direct", "lfp_selective"}


def test_bad_split_fraction_is_refused() -> None:
    fs = simple_feedstock({"NMC811": 1.0}, form="cell")
    with pytest.raises(ValidationError, match="exceed 1"):
        run_flowsheet(fs, route="hydro", params=EB23.override("recovery.separation.to_product.cu", 0.99))
    with pytest.raises(ValidationError, match="between 0 and 1"):
        run_flowsheet(fs, route="direct", params=EB23.override("recovery.direct.cam", 1.2))


def test_products_cannot_be_made_from_nothing() -> None:
    # Without any reagent, sulfates and carbonate lack their anions: the balance must refuse the run.
    params = EB23
    for path, _ in itertools.chain(
        params.items("inventories.leaching"),
        params.items("inventories.solvent_extraction"),
        params.items("inventories.precipitation"),
    ):
        if ".mol_per_mol_" in path:
            params = params.override(path, 0.0)
    with pytest.raises(
        ValidationError, match=r"mass balance of solvent_extraction does not close.*'reagents'"
    ):
        run_flowsheet(simple_feedstock({"NMC811": 1.0}, form="cell"), route="hydro", params=params)


def test_lfp_selective_recovers_li_and_iron_phosphate() -> None:
    result = run_flowsheet(simple_feedstock({"LFP": 1.0}, form="cell"), route="lfp_selective", params=EB23)
    assert result.element_recovery["Li"] == pytest.approx(0.95 * 0.95 * 0.92 * 0.0201 / 0.0209, rel=0.02)
    assert result.element_recovery["Fe"] == pytest.approx(0.95 * 0.95)
    fe = result.product_elements_kg["FePO4"]["Fe"]
    assert result.products_kg["FePO4"] == pytest.approx(fe / 55.845 * (55.845 + 30.974 + 4 * 15.999))


def test_sodium_ion_in_the_batteryloop_set() -> None:
    params = load_parameter_set("batteryloop2025")
    assert params.lineage[0] == "everbatt2023"
    with pytest.raises(NotFoundError, match="no cell composition for 'SIB'"):
        run_flowsheet(simple_feedstock({"SIB": 1.0}), route="hydro", params=EB23)
    result = run_flowsheet(simple_feedstock({"SIB": 1.0}), route="hydro", params=params)
    assert result.max_closure_error <= 1e-9
    assert result.feed_elements_kg.get("Co", 0.0) == 0.0
    assert result.feed_elements_kg.get("Li", 0.0) == 0.0
    # no copper in the cells (Al collectors on both sides): the copper left is pack hardware only
    cells = run_flowsheet(simple_feedstock({"SIB": 1.0}, form="cell"), route="hydro", params=params)
    assert cells.feed_elements_kg.get("Cu", 0.0) == 0.0
    assert cells.element_recovery["Ni"] == pytest.approx(0.98 * 0.995)
    assert cells.element_recovery["Mn"] == pytest.approx(0.98 * 0.99)


@pytest.mark.parametrize(("route", "level", "chemistry", "form"), CASES)
def test_each_element_balances_in_each_operation(route: str, level: str, chemistry: str, form: str) -> None:
    fs = simple_feedstock({chemistry: 1.0}, form=form, state_of_charge_pct=50)
    result = run_flowsheet(fs, route=route, product_level=level, params=EB23)
    for op in result.operations:
        assert op.elements_in_kg
        assert set(op.elements_out_kg) <= set(op.elements_in_kg), op.name
        for element, kg_in in op.elements_in_kg.items():
            assert op.elements_out_kg.get(element, 0.0) == pytest.approx(kg_in, rel=1e-9, abs=1e-9), (
                op.name,
                element,
            )
    # what enters the plant as feed leaves it: the first operations see the whole feed, element by element
    first = result.operations[0]
    for element, kg in result.feed_elements_kg.items():
        if first.name in ("discharge", "dismantling"):
            assert first.elements_in_kg[element] == pytest.approx(kg)
