from __future__ import annotations

import pytest

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.recycling.core.feedstock import (
    feedstock_from_intake,
    form_makeup,
    intake_records_from_units,
    simple_feedstock,
    validate_feedstock,
)
from batteryloop.recycling.core.flowsheet_types import Feedstock, FeedstockComponent
from batteryloop.recycling.core.params import load_parameter_set

EB23 = load_parameter_set("everbatt2023")


def test_shares_must_sum_to_one() -> None:
    with pytest.raises(ValidationError, match=r"sum to 0\.900000"):
        simple_feedstock({"NMC811": 0.6, "LFP": 0.3})


def test_negative_share_is_rejected() -> None:
    fs = Feedstock((FeedstockComponent("pack", "NMC811", 1.2), FeedstockComponent("pack", "LFP", -0.2)), 1000)
    with pytest.raises(ValidationError, match=r"mass_share must be >= 0, got -0\.2"):
        validate_feedstock(fs)


def test_unknown_chemistry_and_form() -> None:
    with pytest.raises(ValidationError, match="unknown chemistry 'NMC999'"):
        simple_feedstock({"NMC999": 1.0})
    with pytest.raises(ValidationError, match="unknown form 'crate'"):
        simple_feedstock({"LFP": 1.0}, form="crate")


def test_state_of_charge_range_and_throughput() -> None:
    with pytest.raises(ValidationError, match="state_of_charge_pct"):
        simple_feedstock({"LFP": 1.0}, state_of_charge_pct=120)
    with pytest.raises(ValidationError, match="annual_mass_t"):
        simple_feedstock({"LFP": 1.0}, annual_mass_t=-5)


def test_chemistry_missing_from_the_set_is_named() -> None:
    fs = simple_feedstock({"LMO": 1.0}, form="cell")
    with pytest.raises(NotFoundError, match="no cell composition for 'LMO'"):
        validate_feedstock(fs, EB23)
    # EverBatt 2019 has LMO cells but no packs
    validate_feedstock(fs, load_parameter_set("everbatt2019"))
    with pytest.raises(NotFoundError, match="cell-level only"):
        validate_feedstock(simple_feedstock({"LMO": 1.0}), load_parameter_set("everbatt2019"))


def test_intake_records_aggregate_by_chemistry_and_form() -> None:
    records = [
        ("NMC811", "pack", 500.0),
        ("NMC811", "pack", 250.0),
        {"chemistry": "LFP", "form": "module", "mass_kg": 250.0},
    ]
    fs = feedstock_from_intake(records)
    shares = {(c.chemistry, c.form): c.mass_share for c in fs.components}
    assert shares == {("LFP", "module"): pytest.approx(0.25), ("NMC811", "pack"): pytest.approx(0.75)}
    assert fs.annual_mass_t == pytest.approx(1.0)
    assert sum(c.mass_share for c in fs.components) == 1.0


def test_intake_rejects_negative_mass_and_empty_intake() -> None:
    with pytest.raises(ValidationError, match="record 2: mass_kg"):
        feedstock_from_intake([("LFP", "pack", 10.0), ("LFP", "pack", -1.0)])
    with pytest.raises(ValidationError, match="no mass"):
        feedstock_from_intake([])
    with pytest.raises(ValidationError, match="unknown chemistry"):
        feedstock_from_intake([("XYZ", "pack", 10.0)])


def test_pack_makeup_is_cells_plus_hardware() -> None:
    pack = form_makeup(EB23, "pack", "NMC622")
    assert sum(pack.materials.values()) == pytest.approx(1.0)
    cell_share = EB23.value("composition.pack.NMC622.cell_share")  # 319.3 / 514.8 rounded
    leaves = EB23.children("composition.cell.NMC622")
    bom_sum = sum(p.value for k, p in leaves.items() if k not in ("mass_kg", "energy_kwh"))  # 0.9998
    cam = EB23.value("composition.cell.NMC622.cam") / bom_sum
    assert pack.materials["cam_NMC622"] == pytest.approx(cell_share * cam, rel=1e-9)
    module_share = EB23.value("composition.pack.NMC622.module_share")
    assert pack.materials["hw_steel"] == pytest.approx((1 - module_share) * 36.2 / 152.8, rel=1e-3)
    assert pack.energy_kwh_per_kg == pytest.approx(0.25 / 0.798 * cell_share, rel=1e-3)


def test_electrode_scrap_and_black_mass_hold_no_electrolyte() -> None:
    for form in ("electrode_scrap", "black_mass"):
        makeup = form_makeup(EB23, form, "NMC811")
        assert "lipf6" not in makeup.materials
        assert sum(makeup.materials.values()) == pytest.approx(1.0)
        assert makeup.energy_kwh_per_kg == 0.0


def test_intake_state_of_charge_is_mass_weighted() -> None:
    fs = feedstock_from_intake(
        [
            {"chemistry": "LFP", "form": "pack", "mass_kg": 300.0, "state_of_charge_pct": 40.0},
            {"chemistry": "LFP", "form": "pack", "mass_kg": 100.0, "state_of_charge_pct": 0.0},
        ],
        annual_mass_t=5000,
    )
    [comp] = fs.components
    assert comp.state_of_charge_pct == pytest.approx(30.0)
    assert fs.annual_mass_t == 5000


def test_intake_from_registered_units() -> None:
    from datetime import date

    from batteryloop.domain.battery import BatteryUnit
    from batteryloop.domain.chemistry import BatteryCategory, Chemistry, UnitLevel

    def unit(n: int, level: UnitLevel, chem: Chemistry, mass: float) -> BatteryUnit:
        return BatteryUnit(
            battery_id=f"urn:uuid:{n}",
            level=level,
            chemistry=chem,
            category=BatteryCategory.EV,
            manufacturer_id="org",
            model="m",
            mass_kg=mass,
            rated_energy_kwh=1.0,
            rated_capacity_ah=1.0,
            nominal_voltage_v=3.7,
            manufactured_on=date(2020, 1, 1),
            manufacturing_country="CN",
        )

    units = [
        unit(1, UnitLevel.PACK, Chemistry.NMC811, 480.0),
        unit(2, UnitLevel.SYSTEM, Chemistry.LFP, 1200.0),
        unit(3, UnitLevel.MODULE, Chemistry.LFP, 320.0),
    ]
    records = intake_records_from_units(units)
    assert records == [("NMC811", "pack", 480.0), ("LFP", "pack", 1200.0), ("LFP", "module", 320.0)]
    fs = feedstock_from_intake(records)
    shares = {(c.chemistry, c.form): c.mass_share for c in fs.components}
    assert shares[("LFP", "pack")] == pytest.approx(0.6)
    assert fs.annual_mass_t == pytest.approx(2.0)
