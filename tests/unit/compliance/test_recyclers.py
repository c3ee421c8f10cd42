"""Recyclers' rules, each with a hand-worked case: recycling efficiency (Annex XII Part B), material recovery
(Part C), the white-list conditions (2019, 2024), recycled content (Art. 8), traceability deadlines (MIIT 2018),
and the errors (inconsistent mass balance, a jurisdiction without the rules)."""

from __future__ import annotations

from datetime import date

import pytest

from batteryloop.compliance.core import recyclers as rc
from batteryloop.compliance.core.rules import load_pack
from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.domain.lifecycle import EventType
from batteryloop.domain.validation import check_event_payload

EU = load_pack("eu")
CN = load_pack("cn")


def received(
    battery: str, lot: str, mass: float, *, day: date, powder: float | None = None, **els: float
) -> rc.InputItem:
    return rc.InputItem(battery, lot, "rec", mass, "lithium", day, els, powder)


def produced(lot: str, source: str, battery: str, mass: float, *, counted: bool = True, fraction: str = "black_mass",
             day: date = date(2026, 5, 4), **els: float) -> rc.OutputLot:  # fmt: skip
    return rc.OutputLot(lot, source, "rec", battery, fraction, mass, day, counted, elements_kg=els)


def lot_2026(recycled_kg: float, *, year: int = 2026) -> rc.LotBook:
    """Two 500 kg lithium packs into lot L1; outputs: ``recycled_kg`` counted as recycled, 100 kg slag not."""
    day = date(year, 3, 2)
    return rc.build_lots(
        [received("b1", "L1", 500.0, day=day), received("b2", "L1", 500.0, day=day)],
        [
            produced("O1", "L1", "b1", recycled_kg, day=day),
            produced("O2", "L1", "b1", 100.0, counted=False, fraction="slag", day=day),
        ],
    )


def test_64_percent_lithium_efficiency_in_2026_is_below_the_65_percent_target() -> None:
    (row,) = rc.efficiency(lot_2026(640.0).lots, EU)
    assert (row.chemistry_group, row.year) == ("lithium", 2026)
    assert row.input_kg == 1000.0 and row.recycled_kg == 640.0
    assert row.efficiency_pct == pytest.approx(64.0)
    assert row.target is not None and row.target.value == 65.0
    assert row.target.path == "recycling.efficiency.lithium.by_2025"
    assert "Annex XII Part B" in row.target.locator
    assert row.status == "below"
    assert row.lots == ("L1",) and row.batteries == ("b1", "b2")


def test_65_percent_meets_it_and_2030_needs_70() -> None:
    assert rc.efficiency(lot_2026(650.0).lots, EU)[0].status == "meets"
    (row,) = rc.efficiency(lot_2026(690.0, year=2030).lots, EU)
    assert row.target is not None and row.target.value == 70.0 and row.status == "below"


def test_before_the_first_stage_there_is_no_target() -> None:
    (row,) = rc.efficiency(lot_2026(640.0, year=2024).lots, EU)
    assert row.target is None and row.status == "no_target"


def test_an_open_lot_is_left_out_of_the_rates() -> None:
    book = rc.build_lots([received("b1", "L9", 300.0, day=date(2026, 1, 5))], [])
    assert rc.efficiency(book.lots, EU) == ()


def test_lithium_recovery_45_percent_is_below_50_from_2027() -> None:
    day = date(2027, 2, 1)
    book = rc.build_lots(
        [
            received("b1", "L1", 500.0, day=day, li=10.0, ni=50.0),
            received("b2", "L1", 500.0, day=day, li=10.0, ni=50.0),
        ],
        [produced("O1", "L1", "b1", 300.0, day=day, li=9.0, ni=95.0)],
    )
    found = {r.element: r for r in rc.recovery(book.lots, EU)}
    assert found["lithium"].recovery_pct == pytest.approx(45.0)
    assert found["lithium"].target is not None and found["lithium"].target.value == 50.0
    assert found["lithium"].status == "below"
    assert found["nickel"].recovery_pct == pytest.approx(95.0) and found["nickel"].status == "meets"
    # cobalt is declared by no battery: not assessable, not 0 %
    assert found["cobalt"].recovery_pct is None and found["cobalt"].status == "not_assessable"
    assert found["cobalt"].not_assessable == ("L1",)


def test_recovery_in_2026_has_no_target_yet() -> None:
    day = date(2026, 2, 2)
    book = rc.build_lots(
        [received("b1", "L1", 500.0, day=day, li=10.0)], [produced("O1", "L1", "b1", 100.0, day=day, li=9.0)]
    )
    (row,) = [r for r in rc.recovery(book.lots, EU) if r.element == "lithium"]
    assert row.status == "no_target"


def white_list_book(li_out: float) -> rc.LotBook:
    day = date(2025, 6, 2)
    return rc.build_lots(
        [received("b1", "L1", 1000.0, day=day, li=20.0, ni=100.0, co=30.0, mn=30.0, powder=400.0)],
        [
            produced("P", "L1", "b1", 396.0, fraction="electrode_powder", day=day, al=3.96, cu=7.92),
            produced("S", "L1", "b1", 200.0, fraction="salts", day=day, li=li_out, ni=98.0, co=29.4, mn=29.4),
        ],
    )


def test_85_percent_lithium_passes_the_2019_conditions_and_fails_the_2024_ones() -> None:
    checks = {(c.edition, c.condition): c for c in rc.white_list(white_list_book(17.0).lots, CN)}
    li19, li24 = checks[("2019", "lithium_recovery_min")], checks[("2024", "lithium_recovery_min")]
    assert li19.value_pct == pytest.approx(85.0) and li19.limit.value == 85.0 and li19.status == "meets"
    assert li24.limit.value == 90.0 and li24.status == "below"
    ncm = checks[("2024", "nickel_cobalt_manganese_recovery_min")]
    assert ncm.value_pct == pytest.approx(100 * (98.0 + 29.4 + 29.4) / 160.0)  # 98 %
    assert ncm.status == "meets"
    powder = checks[("2024", "electrode_powder_recovery_min")]
    assert powder.value_pct == pytest.approx(99.0) and powder.status == "meets"
    al, cu = checks[("2024", "aluminium_impurity_max")], checks[("2024", "copper_impurity_max")]
    assert al.value_pct == pytest.approx(1.0) and al.status == "meets"
    assert cu.value_pct == pytest.approx(2.0) and cu.status == "above"
    assert ("2019", "electrode_powder_recovery_min") not in checks  # the 2019 edition does not state it


def test_outputs_heavier_than_inputs_are_an_error_not_a_number() -> None:
    with pytest.raises(
        rc.MassBalanceError, match=r"inconsistent mass balance.*1001 kg, more than its 1000 kg"
    ):
        lot_2026(901.0)
    assert issubclass(rc.MassBalanceError, ValidationError)


def test_more_of_an_element_out_than_in_is_an_error() -> None:
    day = date(2026, 1, 5)
    with pytest.raises(rc.MassBalanceError, match="lithium"):
        rc.build_lots(
            [received("b1", "L1", 500.0, day=day, li=10.0)],
            [produced("O", "L1", "b1", 50.0, day=day, li=11.0)],
        )


def test_a_battery_in_two_lots_and_an_unknown_input_lot_are_errors() -> None:
    day = date(2026, 1, 5)
    with pytest.raises(rc.MassBalanceError, match="two input lots"):
        rc.build_lots([received("b1", "L1", 500.0, day=day), received("b1", "L2", 500.0, day=day)], [])
    with pytest.raises(rc.MassBalanceError, match="no inputs"):
        rc.build_lots([received("b1", "L1", 500.0, day=day)], [produced("O", "L7", "b1", 5.0)])
    with pytest.raises(rc.MassBalanceError, match="not in input lot"):
        rc.build_lots(
            [received("b1", "L1", 500.0, day=day), received("b2", "L2", 500.0, day=day)],
            [produced("O", "L1", "b2", 5.0)],
        )


def test_a_jurisdiction_without_the_rules_is_refused() -> None:
    with pytest.raises(NotFoundError, match="no recycling-efficiency rules"):
        rc.efficiency(lot_2026(640.0).lots, CN)
    with pytest.raises(NotFoundError, match="no white-list conditions"):
        rc.white_list(lot_2026(640.0).lots, EU)
    with pytest.raises(NotFoundError, match="unknown jurisdiction 'us-ca'"):
        load_pack("us-ca")


def test_recycled_nickel_5_percent_is_below_the_2031_minimum_and_not_yet_due_in_2030() -> None:
    made = [rc.BatteryMade(f"b{i}", "maker", "M1", "ev", "NMC", 500.0, 2031) for i in range(10)]
    made += [rc.BatteryMade("c1", "maker", "M1", "ev", "NMC", 500.0, 2030)]
    composition = {"NMC": {"nickel": 0.1, "cobalt": 0.02}}
    lots = [
        rc.OutputLot(
            "N1", "L1", "rec", "x", "niso4", 120.0, date(2031, 3, 1), True, "maker", "M1", {"ni": 25.0}
        ),
        rc.OutputLot(
            "N2", "L1", "rec", "x", "niso4", 120.0, date(2031, 3, 1), False, "maker", "M1", {"ni": 99.0}
        ),
        rc.OutputLot(
            "N3", "L1", "rec", "x", "niso4", 120.0, date(2031, 3, 1), True, "other", "M1", {"ni": 99.0}
        ),
    ]
    rows = {(r.year, r.element): r for r in rc.recycled_content(made, lots, EU, composition)}
    ni = rows[(2031, "nickel")]
    assert ni.content_kg == pytest.approx(500.0) and ni.recycled_kg == pytest.approx(25.0)
    assert ni.share_pct == pytest.approx(5.0)
    assert ni.applicable is not None and ni.applicable.value == 6.0 and ni.status == "below"
    assert ni.lots == ("N1",) and len(ni.battery_ids) == 10
    assert rows[(2031, "cobalt")].share_pct == 0.0 and rows[(2031, "cobalt")].status == "below"
    assert rows[(2030, "nickel")].status == "not_yet_applicable"
    assert (
        rows[(2030, "nickel")].minimum_2036 is not None and rows[(2030, "nickel")].minimum_2036.value == 15.0
    )


def test_lot_payloads_are_validated_on_write() -> None:
    good = {
        "lot_id": "L1",
        "mass_kg": 10.0,
        "chemistry_group": "lithium",
        "received_on": "2026-03-02",
        "li_kg": 1.0,
    }
    check_event_payload("b1", EventType.RECYCLING_LOT_RECEIVED, good)
    with pytest.raises(ValidationError, match="'mass_kg' is 0"):
        check_event_payload("b1", EventType.RECYCLING_LOT_RECEIVED, {**good, "mass_kg": 0})
    with pytest.raises(ValidationError, match="'chemistry_group'"):
        check_event_payload("b1", EventType.RECYCLING_LOT_RECEIVED, {**good, "chemistry_group": "lfp"})
    with pytest.raises(ValidationError, match="lighter than its element contents"):
        check_event_payload("b1", EventType.RECYCLING_LOT_RECEIVED, {**good, "li_kg": 6.0, "ni_kg": 5.0})
    with pytest.raises(ValidationError, match="'co_kg'"):
        check_event_payload("b1", EventType.RECYCLING_LOT_RECEIVED, {**good, "co_kg": -1.0})
    out = {
        "lot_id": "O1",
        "input_lot_id": "L1",
        "fraction": "black_mass",
        "mass_kg": 5.0,
        "produced_on": "2026-03-09",
    }
    check_event_payload("b1", EventType.RECYCLING_LOT_PRODUCED, {**out, "counted_as_recycled": True})
    with pytest.raises(ValidationError, match="'counted_as_recycled'"):
        check_event_payload("b1", EventType.RECYCLING_LOT_PRODUCED, {**out, "counted_as_recycled": "yes"})
    with pytest.raises(ValidationError, match="payload lacks 'input_lot_id'"):
        check_event_payload(
            "b1", EventType.RECYCLING_LOT_PRODUCED, {k: v for k, v in out.items() if k != "input_lot_id"}
        )
