from __future__ import annotations

from pathlib import Path

import pytest

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.recycling.core.params import (
    Param,
    available_parameter_sets,
    load_parameter_set,
)


def test_packaged_sets_are_listed() -> None:
    names = available_parameter_sets()
    assert "everbatt2019" in names
    assert "everbatt2023" in names


def test_every_leaf_carries_unit_source_and_year() -> None:
    for name in available_parameter_sets():
        pset = load_parameter_set(name)
        assert len(pset) > 50
        for path, param in pset.items():
            assert param.unit, path
            assert param.source, path
            assert param.year is not None, path


def test_get_value_and_unknown_path() -> None:
    pset = load_parameter_set("everbatt2023")
    assert pset.value("composition.cell.NMC811.cam") == pytest.approx(0.4289)
    param = pset.get("composition.cell.LFP.cu")
    assert param.unit == "kg/kg cell"
    assert "EB23xl" in param.source
    with pytest.raises(NotFoundError, match=r"composition\.cell\.NMC811\.cobalt"):
        pset.value("composition.cell.NMC811.cobalt")


def test_unknown_set_is_a_clear_error() -> None:
    with pytest.raises(NotFoundError, match="everbatt1999"):
        load_parameter_set("everbatt1999")


def test_override_returns_a_copy() -> None:
    pset = load_parameter_set("everbatt2023")
    changed = pset.override("composition.cell.NMC811.cam", 0.5)
    assert changed.value("composition.cell.NMC811.cam") == 0.5
    assert pset.value("composition.cell.NMC811.cam") == pytest.approx(0.4289)
    assert changed.get("composition.cell.NMC811.cam").unit == "kg/kg cell"
    [d] = pset.diff(changed)
    assert d.path == "composition.cell.NMC811.cam"
    assert d.left is not None
    assert d.right is not None
    assert d.right.value == 0.5


def test_groups_and_children() -> None:
    pset = load_parameter_set("everbatt2023")
    assert "NMC811" in pset.groups("composition.cell")
    assert set(pset.children("composition.cam.LFP")) == {"Li", "Fe", "P", "O"}


def test_toml_and_yaml_overrides_layer_in_order(tmp_path: Path) -> None:
    toml_file = tmp_path / "a.toml"
    # the top-level keys of an override file name the namespace (the file stem does not)
    toml_file.write_text(
        "[composition.cell.NMC811]\ncam = 0.45\n"
        '[composition.extra]\nthing = {value = 2.5, unit = "kg", source = "my lab", year = 2025}\n',
        encoding="utf-8",
    )
    yaml_file = tmp_path / "b.yaml"
    yaml_file.write_text("composition:\n  cell:\n    NMC811:\n      cam: 0.46\n", encoding="utf-8")
    pset = load_parameter_set("everbatt2023", overrides=[toml_file, yaml_file])
    assert pset.value("composition.cell.NMC811.cam") == 0.46
    assert pset.get("composition.cell.NMC811.cam").unit == "kg/kg cell"
    assert pset.get("composition.extra.thing") == Param(2.5, "kg", "my lab", 2025)
    assert str(yaml_file) in pset.lineage


def test_override_of_unknown_path_needs_full_table(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[composition.cell.NMC811]\nunobtainium = 0.1\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="unobtainium"):
        load_parameter_set("everbatt2023", overrides=[bad])


def test_override_value_must_be_a_number(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("composition:\n  cell:\n    NMC811:\n      cam: lots\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="must be a number"):
        load_parameter_set("everbatt2023", overrides=[bad])


def test_missing_override_file(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"nope\.toml"):
        load_parameter_set("everbatt2023", overrides=[tmp_path / "nope.toml"])


def test_set_directory_with_extends(tmp_path: Path) -> None:
    base = load_parameter_set("everbatt2023")
    mine = tmp_path / "mine"
    mine.mkdir()
    # a set outside the package extends by a sibling directory name; copy the base set next to it
    (tmp_path / "everbatt2023").symlink_to(Path(base_dir_of("everbatt2023")), target_is_directory=True)
    (mine / "set.toml").write_text('extends = "everbatt2023"\ndescription = "mine"\n', encoding="utf-8")
    (mine / "composition.toml").write_text(
        '[cell.NMC811]\ncam = {value = 0.40, unit = "kg/kg cell", source = "teardown 2025", year = 2025}\n',
        encoding="utf-8",
    )
    pset = load_parameter_set(mine)
    assert pset.value("composition.cell.NMC811.cam") == 0.40
    assert pset.value("composition.cell.LFP.cam") == base.value("composition.cell.LFP.cam")
    assert pset.lineage[-1] == "mine"


def base_dir_of(name: str) -> str:
    from batteryloop.recycling.core.params import DATA_DIR

    return str(DATA_DIR / name)


def test_derived_values_follow_overrides() -> None:
    from batteryloop.recycling.core.materials import resolve_chemistry

    pset = load_parameter_set("everbatt2023")
    before = resolve_chemistry(pset)
    same = pset.override("recovery.hydro.yield.Li", 0.5)
    assert resolve_chemistry(same) is before  # composition untouched: reused
    heavier = pset.override("composition.atomic_mass.Li", 7.0)
    assert resolve_chemistry(heavier).atomic_mass["Li"] == 7.0
    assert resolve_chemistry(pset).atomic_mass["Li"] == 6.94
    assert len(list(same.items("recovery.hydro.yield"))) == len(list(pset.items("recovery.hydro.yield")))
