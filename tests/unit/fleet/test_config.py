"""The cited defaults: every figure has a source and a year; overrides and validation."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from batteryloop.domain import Chemistry, Role, ValidationError
from batteryloop.fleet import default_fleet_config, load_fleet_config, load_org_directory
from batteryloop.fleet.core.config import load_cited


def test_every_leaf_has_source_and_year() -> None:
    leaves = load_cited()
    assert len(leaves) > 50
    for key, leaf in leaves.items():
        assert leaf.source.strip(), key
        assert 2000 < leaf.year < 2100, key


def test_hand_checked_defaults() -> None:
    cfg = default_fleet_config()
    assert cfg.now == date(2026, 11, 1)
    assert cfg.car_sales["CN"][2023] == 8_100_000  # IEA GEVD 2024
    assert cfg.car_sales["SEA"][2023] == pytest.approx(1_010_000 * 0.12)  # RoW x SEA share
    assert cfg.car_kwh["US"][2024] == 82.8  # Busch batterySize.csv
    assert cfg.lifetimes["car_first_life"] == (3.5, 9.0)
    assert cfg.kg_per_kwh_range(Chemistry.NMC811)[0] == 4.8
    assert cfg.kg_per_kwh_range(Chemistry.SODIUM_ION) == cfg.kg_per_kwh["other"]
    assert cfg.formal_share["CN"] == 0.25
    assert Chemistry.NCA in cfg.recycle_chemistries


def test_override_file(tmp_path: Path) -> None:
    override = tmp_path / "mine.toml"
    override.write_text(
        "[channels.formal_share]\n"
        "value = { CN = 0.6, EU = 0.95, US = 0.9, SEA = 0.5 }\n"
        'source = "my survey"\n'
        "year = 2026\n"
        "[tracking]\n"
        "cell_tracking = 0.5\n",
        encoding="utf-8",
    )
    cfg = load_fleet_config(override)
    assert cfg.formal_share["CN"] == 0.6
    assert cfg.sources["channels.formal_share"].source == "my survey"
    assert cfg.cell_tracking == 0.5
    assert "overridden" in cfg.sources["tracking.cell_tracking"].source
    assert cfg.car_sales == default_fleet_config().car_sales


def test_override_unknown_key_rejected(tmp_path: Path) -> None:
    override = tmp_path / "bad.toml"
    override.write_text("[tracking]\ncell_trackin = 0.5\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"unknown key 'tracking\.cell_trackin'"):
        load_fleet_config(override)


def test_invalid_values_rejected() -> None:
    cfg = default_fleet_config()
    with pytest.raises(ValidationError, match=r"formal_share\.CN must be within 0\.\.1"):
        replace(cfg, formal_share={**cfg.formal_share, "CN": 1.5})
    with pytest.raises(ValidationError, match=r"car_sales\.EU lacks years \[2025\]"):
        replace(cfg, car_sales={**cfg.car_sales, "EU": dict.fromkeys(range(2015, 2025), 1.0)})
    with pytest.raises(ValidationError, match=r"kg_per_kwh\.LFP"):
        replace(cfg, kg_per_kwh={**cfg.kg_per_kwh, "LFP": (7.0, 6.0)})


def test_organisations() -> None:
    orgs = load_org_directory()
    ids = [p.org_id for p in orgs.profiles]
    assert len(ids) == len(set(ids))
    for country in ("CN", "DE", "FR", "ES", "IT", "NL", "SE", "PL", "NO", "US", "ID", "TH", "VN"):
        assert orgs.with_role(Role.DISMANTLER, country=country)
        assert orgs.with_role(Role.DEALER_REPAIRER, country=country)
    for region in ("CN", "EU", "US", "SEA"):
        assert orgs.uncertified_recyclers(region), region
        assert orgs.certified_recyclers(region, date(2026, 1, 1)), region
    # CN producers carry a GB/T manufacturer code that makes valid codes
    assert all(len(p.gbt_code or "") == 3 for p in orgs.profiles if p.org.country == "CN" and p.gbt_code)
