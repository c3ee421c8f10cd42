"""The reference kernel: loader (extends, overrides, errors naming file and key), usage tracking, use cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.reference import params as kernel
from batteryloop.reference import service
from batteryloop.reference.files import read_toml
from batteryloop.reference.values import CitedValue


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def base_file(tmp_path: Path) -> Path:
    return write(
        tmp_path / "base.toml",
        "[prices]\n"
        'Li2CO3 = { value = 12.0, unit = "USD/kg", source = "EB19doc", locator = "Table 14", year = 2019,'
        " low = 10.0, high = 14.0 }\n"
        'FePO4 = { value = 1.5, unit = "USD/kg", source = "batteryloop-assumptions", year = 2024,'
        ' quality = "unverified" }\n'
        "[plant]\n"
        'source = "batteryloop-assumptions"\n'
        'locator = "plant layout"\n'
        "year = 2025\n"
        "shifts = 3\n"
        'lines = ["shred", "leach"]\n',
    )


def test_leaf_tables_carry_unit_locator_range_and_quality(base_file: Path) -> None:
    pset = kernel.load_set(base_file)
    li = pset.get("prices.Li2CO3")
    assert li == CitedValue(12.0, "USD/kg", "EB19doc", 2019, 10.0, 14.0, None, "Table 14", "verified")
    assert pset.get("prices.FePO4").quality == "unverified"


def test_plain_values_inherit_the_citation_of_their_table_and_the_registry_default_quality(
    base_file: Path,
) -> None:
    pset = kernel.load_set(base_file)
    shifts = pset.get("plant.shifts")
    assert (shifts.value, shifts.source, shifts.locator, shifts.year) == (
        3,
        "batteryloop-assumptions",
        "plant layout",
        2025,
    )
    assert shifts.quality == "assumption"  # batteryloop-assumptions defaults to assumption
    assert pset.value("plant.lines") == ("shred", "leach")


def test_extends_inherits_then_overrides(tmp_path: Path, base_file: Path) -> None:
    child = write(
        tmp_path / "child.toml",
        'extends = "base.toml"\ndescription = "mine"\n'
        '[prices]\nLi2CO3 = { value = 9.0, unit = "USD/kg", source = "Ma24", year = 2023 }\n',
    )
    pset = kernel.load_set(child)
    assert pset.value("prices.Li2CO3") == 9.0
    assert pset.value("prices.FePO4") == 1.5
    assert pset.description == "mine"
    assert pset.lineage == ("base", "child")


def test_set_directories_extend_siblings(tmp_path: Path) -> None:
    write(tmp_path / "a" / "set.toml", 'description = "a"\n')
    write(
        tmp_path / "a" / "prices.toml",
        'Cu = { value = 6.6, unit = "USD/kg", source = "EB19doc", year = 2019 }\n',
    )
    write(tmp_path / "b" / "set.toml", 'extends = "a"\n')
    write(
        tmp_path / "b" / "prices.toml",
        'Al = { value = 1.3, unit = "USD/kg", source = "EB19doc", year = 2019 }\n',
    )
    pset = kernel.load_set(tmp_path / "b", coerce=kernel.number)
    assert pset.children("prices") == {
        "Cu": CitedValue(6.6, "USD/kg", "EB19doc", 2019),
        "Al": CitedValue(1.3, "USD/kg", "EB19doc", 2019),
    }


def test_an_extends_cycle_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "x.toml", 'extends = "y.toml"\n')
    write(tmp_path / "y.toml", 'extends = "x.toml"\n')
    with pytest.raises(ValidationError, match="too deep"):
        kernel.load_set(tmp_path / "x.toml")


def test_override_files_and_mappings_layer_in_order(tmp_path: Path, base_file: Path) -> None:
    yaml_file = write(tmp_path / "o.yaml", "prices:\n  Li2CO3: 15\n")
    pset = kernel.apply_overrides(
        kernel.load_set(base_file),
        [yaml_file, {"prices": {"Li2CO3": {"value": 16.0, "source": "my contract", "year": 2026}}}],
    )
    li = pset.get("prices.Li2CO3")
    assert (li.value, li.unit, li.source, li.year, li.quality) == (
        16.0,
        "USD/kg",
        "my contract",
        2026,
        "verified",
    )
    assert pset.lineage[-2:] == (str(yaml_file), "override mapping")
    bare = kernel.apply_overrides(kernel.load_set(base_file), [yaml_file]).get("prices.Li2CO3")
    assert (bare.value, bare.unit, bare.source, bare.quality) == (15, "USD/kg", str(yaml_file), "assumption")


def test_errors_name_the_file_and_the_key(tmp_path: Path, base_file: Path) -> None:
    bad = write(
        tmp_path / "bad.toml", '[prices]\nCu = { value = "six", unit = "USD/kg", source = "EB19doc" }\n'
    )
    with pytest.raises(ValidationError, match=r"bad\.toml: parameter prices\.Cu: value must be a number"):
        kernel.load_set(bad, coerce=kernel.number)
    bad = write(
        tmp_path / "bad2.toml",
        '[prices]\nCu = { value = 6.6, unit = "USD/kg", source = "X", quality = "sure" }\n',
    )
    with pytest.raises(ValidationError, match=r"bad2\.toml: prices\.Cu 'quality' must be one of"):
        kernel.load_set(bad)
    bad = write(tmp_path / "bad3.toml", '[prices]\nCu = { value = 6.6, source = "X" }\n')
    with pytest.raises(ValidationError, match=r"bad3\.toml: prices\.Cu needs a non-empty 'unit'"):
        kernel.load_set(bad, require_unit=True)
    assert kernel.load_set(bad).get("prices.Cu").unit == "-"
    bad = write(tmp_path / "bad4.toml", "[plant]\nshifts = 3\n")
    with pytest.raises(ValidationError, match=r"bad4\.toml: plant\.shifts has no source"):
        kernel.load_set(bad)
    with pytest.raises(ValidationError, match=r"o\.toml: prices\.Nb is not in the parameter set"):
        kernel.apply_overrides(kernel.load_set(base_file), [write(tmp_path / "o.toml", "[prices]\nNb = 3\n")])
    with pytest.raises(ValidationError, match=r"unknown key 'prices\.Nb'"):
        kernel.apply_overrides(
            kernel.load_set(base_file), [{"prices": {"Nb": {"value": 1}}}], allow_new=False
        )
    with pytest.raises(ValidationError, match=r"not valid TOML"):
        kernel.load_set(write(tmp_path / "broken.toml", "[prices\n"))
    with pytest.raises(NotFoundError, match=r"missing\.toml"):
        kernel.load_set(tmp_path / "missing.toml")


def test_packaged_files_must_cite_registry_keys(tmp_path: Path) -> None:
    user = write(tmp_path / "u.toml", '[x]\ny = { value = 1, unit = "-", source = "my lab notebook" }\n')
    assert kernel.load_set(user).get("x.y").source == "my lab notebook"  # users may cite free text
    assert not kernel.is_packaged(user)
    assert kernel.is_packaged(kernel.PACKAGE_ROOT / "fleet" / "data" / "fleet_defaults.toml")


def test_parsed_files_are_cached_until_they_change(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", "a = 1\n")
    first = read_toml(path)
    assert read_toml(path) is first
    write(path, "a = 22\n")
    assert read_toml(path)["a"] == 22


def test_tracking_lists_the_unverified_values_a_computation_used(base_file: Path) -> None:
    pset = kernel.load_set(base_file)

    def model() -> float:
        return pset.value("prices.Li2CO3") * 2 + pset.value_or("prices.FePO4", 0.0)

    with pset.track() as used:
        model()
    assert used.paths == ["prices.FePO4", "prices.Li2CO3"]
    assert used.unverified_paths() == ["prices.FePO4"]
    with pset.track() as clean:
        pset.value("prices.Li2CO3")
    assert clean.unverified_paths() == []
    assert list(pset.unverified()) == ["prices.FePO4"]


def test_tracking_counts_values_behind_a_memoised_derivation_each_time(base_file: Path) -> None:
    pset = kernel.load_set(base_file)
    with pset.track():
        pset.memo("prices.total", lambda: pset.value("prices.FePO4") + 1)
    with pset.track() as second:
        assert pset.memo("prices.total", lambda: 0.0) == 2.5
    assert second.unverified_paths() == ["prices.FePO4"]


def test_recycling_sets_expose_their_unverified_values() -> None:
    from batteryloop.recycling.core.params import load_parameter_set

    pset = load_parameter_set("everbatt2023")
    unverified = pset.unverified("regions.ES")
    assert "regions.ES.corporate_tax_rate" in unverified
    assert "regions.ES.electricity_usd_per_kwh" not in unverified
    assert pset.get("regions.ES.corporate_tax_rate").source == "ES-LIS"


def test_list_sets_covers_every_capability() -> None:
    sets = {s.name: s for s in service.list_sets()}
    assert {"everbatt2019", "everbatt2023", "batteryloop2025", "fleet", "organisations"} <= set(sets)
    assert {"passport-access", "passport-obligations", "passport-synthetic", "gbt34014", "ledger"} <= set(
        sets
    )
    assert sets["everbatt2023"].unverified > 0
    assert (
        sets["ledger"].assumptions == sets["ledger"].values == 11
    )  # with the global tree's checkpoint cadence and log origin


def test_show_filters_by_prefix_and_quality() -> None:
    view = service.show("everbatt2023", prefix="regions.ES")
    assert view.name == "everbatt2023"
    assert all(path.startswith("regions.ES.") for path, _ in view.params)
    only = service.show("everbatt2023", prefix="regions.ES", unverified_only=True)
    assert [p for p, _ in only.params] == list(view.unverified)
    assert "regions.ES.corporate_tax_rate" in only.unverified
    with pytest.raises(NotFoundError, match="no values under 'nothing'"):
        service.show("everbatt2023", prefix="nothing")
    with pytest.raises(NotFoundError, match="unknown parameter set 'everbatt1999'"):
        service.show("everbatt1999")


def test_show_reads_every_capability() -> None:
    from batteryloop.reference import citations

    assert service.show("ledger", prefix="verify_workers").params[0][1].value == 2
    access = dict(service.show("passport-access", prefix="field.0").params)
    assert access["field.0.tier"].source == "EU-2023-1542"
    assert access["field.0.tier"].locator == "Annex XIII; Art. 77(2),(7),(8)"
    gbt = dict(service.show("gbt34014", prefix="battery_type").params)
    assert gbt["battery_type.from_chemistry.LFP"].quality == "unverified"
    fleet = dict(service.show("fleet", prefix="tracking").params)
    assert fleet["tracking.cell_tracking"].source in citations()
    orgs = service.show("organisations", prefix="org.0")
    assert {p.source for _, p in orgs.params} == {"batteryloop-synthetic"}


def test_diff_and_cite() -> None:
    rows = {d.path: d for d in service.diff("everbatt2019", "everbatt2023", prefix="recovery.pyro").rows}
    assert rows["recovery.pyro.to_alloy.Co"].left is not None
    assert rows["recovery.pyro.to_alloy.Co"].left.value == 0.98
    citation = service.cite("Ma24")
    assert citation.doi == "10.1038/s41467-024-52030-0"
    assert citation.link == "https://doi.org/10.1038/s41467-024-52030-0"
    assert "Nature Communications" in citation.text()
    with pytest.raises(NotFoundError, match="unknown citation key 'Ma2'"):
        service.cite("Ma2")
    used = {c.key for c in service.list_citations(used_by="passport-obligations")}
    assert used == {"EU-2023-1542", "EU-2025-1561"}


def test_a_recycling_computation_reports_the_unverified_values_it_used() -> None:
    from batteryloop.recycling import carbon_footprint, load_parameter_set, run_flowsheet, simple_feedstock

    params = load_parameter_set("everbatt2023")
    feed = simple_feedstock({"NMC811": 1.0}, form="black_mass")
    with params.track() as used:
        carbon_footprint(run_flowsheet(feed, route="hydro", params=params), params=params, region="ES")
    assert "emission_factors.grid.ES" in used.paths
    assert "emission_factors.grid.ES" in used.unverified_paths()  # Ember 2023 Spain, recalled
    assert "composition.cam.NMC811.Ni" in used.paths
    assert "composition.cam.NMC811.Ni" not in used.unverified_paths()
    with params.track() as cn:
        carbon_footprint(run_flowsheet(feed, route="hydro", params=params), params=params, region="CN")
    assert "emission_factors.grid.CN" in cn.paths
    assert "emission_factors.grid.ES" not in cn.paths


def test_unverified_values_of_whole_data_sets_name_set_and_path() -> None:
    names = service.unverified_values(["fleet", "organisations", "gbt34014"])
    counts = {s.name: s.unverified for s in service.list_sets()}
    assert len(names) == counts["fleet"] + counts["organisations"] + counts["gbt34014"] > 0
    assert [n.split(":", 1)[0] for n in names] == sorted(
        (n.split(":", 1)[0] for n in names), key=["fleet", "organisations", "gbt34014"].index
    )
    fleet = [n.split(":", 1)[1] for n in names if n.startswith("fleet:")]
    assert fleet == sorted(service.load("fleet").unverified())
    assert "gbt34014:battery_type.letters.B.name" not in names  # checked against the standard
    assert "gbt34014:battery_type.letters.C.name" in names
    with pytest.raises(NotFoundError, match="unknown parameter set 'nope'"):
        service.unverified_values(["nope"])
