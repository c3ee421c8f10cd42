"""The obligation matrix: category- and date-dependent mandatory attributes."""

from __future__ import annotations

from datetime import date

import pytest

from batteryloop.domain.chemistry import BatteryCategory
from batteryloop.passport.core.build import build_passport
from batteryloop.passport.core.model import Passport
from batteryloop.passport.core.obligations import (
    OBLIGATIONS_FILE,
    add_months,
    check_passport,
    default_matrix,
    load_matrix,
    unverified_dates,
)
from batteryloop.reference.registry import citations


def _bare(unit_factory, events_factory, **unit_fields) -> Passport:
    """A passport with only the BatteryManufactured data (no PassportDataRegistered)."""
    return build_passport(events_factory(unit_factory(**unit_fields), register=False))


def test_complete_demo_passport_misses_nothing(passport: Passport) -> None:
    matrix = default_matrix().with_acts(
        cf_methodology=date(2025, 6, 1),
        cf_classes=date(2025, 6, 1),
        recycled_content_methodology=date(2026, 1, 1),
    )
    assert check_passport(passport, on=date(2031, 1, 1), matrix=matrix) == []


def test_nothing_is_due_before_the_passport_applies(unit_factory, events_factory) -> None:
    bare = _bare(unit_factory, events_factory)
    assert check_passport(bare, on=date(2027, 2, 17)) == []
    due = {m.path for m in check_passport(bare, on=date(2027, 2, 18))}
    assert {
        "manufacturer",
        "rated_performance.minimum_voltage_v",
        "test_reports.result_of_test_report_url",
        "composition.materials",
        "end_of_life",
    } <= due
    assert "due_diligence" not in due  # postponed to 18 Aug 2027 (Reg. (EU) 2025/1561)
    assert "carbon_footprint" not in due  # its delegated act is not known to be in force
    later = {m.path: m.applies_from for m in check_passport(bare, on=date(2027, 8, 18))}
    assert later["due_diligence"] == date(2027, 8, 18)
    # present in every passport: identity and dynamic data derive from the ledger
    assert not due & {
        "identity.product_identifier",
        "condition.state_of_certified_energy_pct",
        "lifecycle.status",
        "passport_id",
    }


def test_out_of_scope_batteries_need_no_passport(unit_factory, events_factory) -> None:
    assert (
        check_passport(
            _bare(unit_factory, events_factory, category=BatteryCategory.PORTABLE), on=date(2030, 1, 1)
        )
        == []
    )
    assert (
        check_passport(_bare(unit_factory, events_factory, category=BatteryCategory.SLI), on=date(2030, 1, 1))
        == []
    )
    small = _bare(unit_factory, events_factory, category=BatteryCategory.INDUSTRIAL, rated_energy_kwh=2.0)
    assert check_passport(small, on=date(2030, 1, 1)) == []  # "greater than 2 kWh"
    above = _bare(unit_factory, events_factory, category=BatteryCategory.STATIONARY, rated_energy_kwh=2.1)
    assert check_passport(above, on=date(2030, 1, 1)) != []


def test_capacity_threshold_is_an_ev_only_attribute(unit_factory, events_factory) -> None:
    ev = {m.path for m in check_passport(_bare(unit_factory, events_factory), on=date(2028, 1, 1))}
    lmt = {
        m.path
        for m in check_passport(
            _bare(unit_factory, events_factory, category=BatteryCategory.LMT, rated_energy_kwh=0.7),
            on=date(2028, 1, 1),
        )
    }
    assert "rated_performance.capacity_threshold_for_exhaustion_pct" in ev
    assert "rated_performance.capacity_threshold_for_exhaustion_pct" not in lmt


def test_act_dependent_dates_take_the_later_of_date_and_act_plus_offset(unit_factory, events_factory) -> None:
    bare = _bare(unit_factory, events_factory)
    # act in force early: the passport start (18 Feb 2027) is later than 18 Feb 2025 and act + 12 months
    early = default_matrix().with_acts(cf_methodology=date(2025, 1, 10))
    found = {m.path: m.applies_from for m in check_passport(bare, on=date(2027, 3, 1), matrix=early)}
    assert found["carbon_footprint"] == date(2027, 2, 18)
    # act in force late: 15 Nov 2027 + 12 months = 15 Nov 2028
    late = default_matrix().with_acts(cf_methodology=date(2027, 11, 15))
    assert "carbon_footprint" not in {
        m.path for m in check_passport(bare, on=date(2028, 11, 14), matrix=late)
    }
    found = {m.path: m.applies_from for m in check_passport(bare, on=date(2028, 11, 15), matrix=late)}
    assert found["carbon_footprint"] == date(2028, 11, 15)
    with pytest.raises(ValueError, match="unknown act"):
        default_matrix().with_acts(nonsense=date(2025, 1, 1))


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2025, 8, 31), 18) == date(2027, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 12, 15), 12) == date(2024, 12, 15)


def test_every_row_is_cited() -> None:
    for row in default_matrix().rows:
        assert row.source in ("EU-2023-1542", "EU-2025-1561")  # Regulation (EU) 2023/1542, 2025/1561
        assert citations().get(row.source).title.startswith("Regulation (EU)")
        assert row.year >= 2023
        assert row.basis


def test_a_check_names_the_obligation_dates_it_rests_on_that_are_unverified(
    unit_factory, events_factory, tmp_path
) -> None:
    marked = {
        (r.path, c.value) for r in default_matrix().rows if r.quality == "unverified" for c in r.categories
    }
    assert marked == {
        ("carbon_footprint.performance_class", "ev"),
        ("carbon_footprint.performance_class", "industrial"),
        ("carbon_footprint.performance_class", "stationary"),
        ("carbon_footprint.performance_class", "lmt"),
        ("circularity.recycled_content", "ev"),
        ("circularity.recycled_content", "industrial"),
        ("circularity.recycled_content", "stationary"),
    }
    ev = _bare(unit_factory, events_factory)
    assert unverified_dates(ev, on=date(2027, 3, 1)) == [
        "carbon_footprint.performance_class",
        "circularity.recycled_content",
    ]  # named even while their act is not in force: that they do not apply yet rests on the date
    lmt = _bare(unit_factory, events_factory, category=BatteryCategory.LMT, rated_energy_kwh=0.7)
    assert unverified_dates(lmt, on=date(2027, 3, 1)) == ["carbon_footprint.performance_class"]
    assert unverified_dates(ev, on=date(2027, 2, 17)) == []  # no passport needed yet: no row used
    in_force = default_matrix().with_acts(cf_classes=date(2025, 1, 1))
    missing = {m.path: m for m in check_passport(ev, on=date(2030, 1, 1), matrix=in_force)}
    assert missing["carbon_footprint.performance_class"].quality == "unverified"
    assert missing["manufacturer"].quality == "verified"
    plain = tmp_path / "obligations.toml"
    plain.write_text(
        OBLIGATIONS_FILE.read_text(encoding="utf-8").replace('quality = "unverified"\n', ""),
        encoding="utf-8",
    )
    assert unverified_dates(ev, on=date(2027, 3, 1), matrix=load_matrix(plain)) == []
    plain.write_text(
        plain.read_text(encoding="utf-8").replace(
            'path = "passport_id"', 'path = "passport_id"\nquality = "maybe"'
        ),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="quality 'maybe'"):
        load_matrix(plain)
