from __future__ import annotations

from pathlib import Path

import pytest

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.recycling.core.scenario import load_scenario, scenario_from_mapping

GOOD = """
name = "EU hub"
route = "hydro_salts"
region = "ES"
throughput_t_per_yr = 12000
operating_hours_per_yr = 6400

[params]
set = "everbatt2023"
files = ["over.yaml"]
values = { "recovery.hydro.yield.Li" = 0.93 }

[[feedstock]]
form = "pack"
chemistry = "NMC811"
mass_share = 0.7
state_of_charge_pct = 30

[[feedstock]]
form = "pack"
chemistry = "LFP"
mass_share = 0.3
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "over.yaml").write_text("recovery:\n  hydro:\n    yield:\n      Ni: 0.97\n", encoding="utf-8")
    return path


def test_good_scenario(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, GOOD))
    assert (sc.route, sc.product_level, sc.region) == ("hydro", "salts", "ES")
    assert sc.throughput_t_per_yr == 12000
    assert sc.operating_hours_per_yr == 6400
    assert sc.params.value("recovery.hydro.yield.Li") == 0.93
    assert sc.params.value("recovery.hydro.yield.Ni") == 0.97  # from the YAML file next to the scenario
    assert [c.chemistry for c in sc.feedstock.components] == ["NMC811", "LFP"]
    assert sc.feedstock.components[0].state_of_charge_pct == 30


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("mass_share = 0.3", "mass_share = -0.3"), "mass_share must be >= 0"),
        (("mass_share = 0.3", "mass_share = 0.2"), "sum to 0.900000"),
        (('chemistry = "LFP"', 'chemistry = "NMC999"'), "unknown chemistry 'NMC999'"),
        (('region = "ES"', 'region = "XX"'), "unknown region 'XX'"),
        (("throughput_t_per_yr = 12000", "throughput_t_per_yr = -1"), "throughput_t_per_yr must be positive"),
        (('route = "hydro_salts"', 'route = "alchemy"'), "unknown route 'alchemy'"),
        (('name = "EU hub"', 'nmae = "EU hub"'), "unknown keys"),
        (("operating_hours_per_yr = 6400", "operating_hours_per_yr = 9000"), "operating_hours_per_yr"),
        (('region = "ES"', 'region = "ES"\nmarket = "grey"'), "market must be one of"),
    ],
)
def test_bad_scenarios_name_the_problem(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(ValidationError, match=message):
        load_scenario(write(tmp_path, text))


def test_unknown_parameter_path_in_values(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"recovery\.hydro\.yield\.Unobtainium"):
        load_scenario(write(tmp_path, GOOD.replace("yield.Li", "yield.Unobtainium")))


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        load_scenario(tmp_path / "nope.toml")
    with pytest.raises(ValidationError, match="not valid TOML"):
        load_scenario(write(tmp_path, "route = "))


def test_mapping_input_defaults() -> None:
    sc = scenario_from_mapping(
        {
            "route": "pyro",
            "region": "CN",
            "throughput_t_per_yr": 5000,
            "feedstock": [{"form": "cell", "chemistry": "NCA", "mass_share": 1.0}],
        }
    )
    assert sc.product_level == "salts"
    assert sc.params.name == "everbatt2023"
    assert sc.lithium_product == "Li2CO3"
    with pytest.raises(ValidationError, match="at least one"):
        scenario_from_mapping({"route": "pyro", "region": "CN", "throughput_t_per_yr": 1, "feedstock": []})
