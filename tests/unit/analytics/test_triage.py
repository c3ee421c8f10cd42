"""Triage decisions checked by hand, threshold by threshold, against the packaged default profile."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from batteryloop.analytics import service
from batteryloop.analytics.core.triage import TriageBatch, read_csv, synthetic_batch, triage
from batteryloop.domain.errors import ValidationError

# A healthy LFP pack that passes every reuse threshold of the default profile (hand-checked):
# SOH 90 >= 80; DCIR 1.1/1.0 -> +10 % <= 30; spreads 1 % <= 3 and 5 mV <= 20; insulation 500 >= 100 ohm/V;
# self-discharge 0.5 <= 2 mV/day; no negative event; no damage; history present; age 5 <= 12.
GOOD: dict[str, Any] = {
    "id": "X",
    "chemistry": "LFP",
    "level": "pack",
    "soh_pct": 90.0,
    "dcir_mohm": 1.1,
    "dcir_bol_mohm": 1.0,
    "self_discharge_mv_per_day": 0.5,
    "capacity_spread_pct": 1.0,
    "voltage_spread_mv": 5.0,
    "insulation_ohm_per_v": 500.0,
    "negative_events": 0,
    "visual_damage": "false",
    "history": "true",
    "age_years": 5.0,
}


def route_of(**changes: Any) -> str:
    row = {**GOOD, **changes}
    batch = TriageBatch.from_columns({k: [v] for k, v in row.items()})
    outcome = service.triage_batch(batch)
    return str(outcome.result.routes()[0])


def test_healthy_pack_is_reused_grade_a() -> None:
    outcome = service.triage_batch(TriageBatch.from_columns({k: [v] for k, v in GOOD.items()}))
    assert outcome.result.routes().tolist() == ["reuse"]
    assert outcome.result.grades().tolist() == ["A"]
    assert outcome.result.reason(0) == "reuse: every reuse check passed"
    assert all(c.passed for c in outcome.result.explain(0))


@pytest.mark.parametrize(
    ("changes", "route"),
    [
        # SOH: reuse floor 80 %, LFP repurpose floor 60 %
        ({"soh_pct": 80.0}, "reuse"),
        ({"soh_pct": 79.99}, "repurpose"),
        ({"soh_pct": 60.0}, "repurpose"),
        ({"soh_pct": 59.99}, "recycle"),
        # NMC repurpose floor 70 %
        ({"chemistry": "NMC811", "soh_pct": 70.0}, "repurpose"),
        ({"chemistry": "NMC811", "soh_pct": 69.9}, "recycle"),
        # NCA: never repurposed (Cobb et al. 2026), still reused when healthy
        ({"chemistry": "NCA"}, "reuse"),
        ({"chemistry": "NCA", "soh_pct": 79.0}, "recycle"),
        # DCIR rise: reuse <= 30 %, then a pack goes to remanufacture (module swap); LFP repurpose <= 100 %
        ({"dcir_mohm": 1.3}, "reuse"),
        ({"dcir_mohm": 1.31}, "remanufacture"),
        ({"dcir_mohm": 1.31, "level": "module"}, "repurpose"),
        ({"soh_pct": 70.0, "dcir_mohm": 2.0}, "repurpose"),
        ({"soh_pct": 70.0, "dcir_mohm": 2.01}, "recycle"),
        ({"chemistry": "NMC622", "soh_pct": 75.0, "dcir_mohm": 1.8}, "repurpose"),
        ({"chemistry": "NMC622", "soh_pct": 75.0, "dcir_mohm": 1.81}, "recycle"),
        # capacity spread: reuse 3 %, remanufacture 15 % (packs), LFP repurpose 10 %
        ({"capacity_spread_pct": 3.0}, "reuse"),
        ({"capacity_spread_pct": 3.1}, "remanufacture"),
        ({"capacity_spread_pct": 15.0}, "remanufacture"),
        ({"capacity_spread_pct": 15.1}, "recycle"),
        ({"capacity_spread_pct": 10.0, "level": "module"}, "repurpose"),
        ({"capacity_spread_pct": 10.1, "level": "module"}, "recycle"),
        # voltage spread: reuse 20 mV, remanufacture 100 mV, LFP repurpose 50 mV
        ({"voltage_spread_mv": 20.0}, "reuse"),
        ({"voltage_spread_mv": 21.0}, "remanufacture"),
        ({"voltage_spread_mv": 101.0}, "recycle"),
        ({"voltage_spread_mv": 50.0, "level": "module"}, "repurpose"),
        ({"voltage_spread_mv": 51.0, "level": "module"}, "recycle"),
        # cells: no spreads measured, never remanufactured
        ({"level": "cell", "capacity_spread_pct": "", "voltage_spread_mv": ""}, "reuse"),
        # safety gates: any failure recycles, whatever the health
        ({"insulation_ohm_per_v": 100.0}, "reuse"),
        ({"insulation_ohm_per_v": 99.9}, "recycle"),
        ({"self_discharge_mv_per_day": 2.0}, "reuse"),
        ({"self_discharge_mv_per_day": 2.01}, "recycle"),
        ({"negative_events": 1}, "recycle"),
        ({"visual_damage": "true"}, "recycle"),
        # traceability (IEC 63338): no history, no second life
        ({"history": "false"}, "recycle"),
        # age: repurposing only up to 12 years; reuse is not limited by age
        ({"soh_pct": 70.0, "age_years": 12.0}, "repurpose"),
        ({"soh_pct": 70.0, "age_years": 12.5}, "recycle"),
        ({"age_years": 20.0}, "reuse"),
        ({"soh_pct": 70.0, "age_years": ""}, "repurpose"),
    ],
)
def test_each_threshold(changes: dict[str, Any], route: str) -> None:
    assert route_of(**changes) == route


def test_reason_names_every_failed_threshold() -> None:
    row = {**GOOD, "soh_pct": 72.0, "dcir_mohm": 1.45}
    outcome = service.triage_batch(TriageBatch.from_columns({k: [v] for k, v in row.items()}))
    assert outcome.result.reason(0) == (
        "not reuse: soh_pct 72 < 80 %, dcir_increase_pct 45 > 30 %; "
        "not remanufacture: soh_pct 72 < 80 %; repurpose: every repurpose check passed"
    )
    safety = {**GOOD, "insulation_ohm_per_v": 50.0, "visual_damage": "yes"}
    outcome = service.triage_batch(TriageBatch.from_columns({k: [v] for k, v in safety.items()}))
    assert outcome.result.reason(0) == (
        "recycle: safety gate failed: visual_damage True != False; insulation_ohm_per_v 50 < 100 ohm/V"
    )


def test_profile_override_moves_a_threshold() -> None:
    row = {**GOOD, "soh_pct": 78.0}
    batch = TriageBatch.from_columns({k: [v] for k, v in row.items()})
    assert service.triage_batch(batch).result.routes()[0] == "repurpose"
    changed = service.triage_batch(batch, overrides=[{"profiles": {"LFP": {"reuse_min_soh_pct": 75}}}])
    assert changed.result.routes()[0] == "reuse"


def test_unverified_profile_values_are_listed() -> None:
    outcome = service.triage_batch(TriageBatch.from_columns({k: [v] for k, v in GOOD.items()}))
    assert "triage:safety.min_insulation_ohm_per_v" in outcome.unverified


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"soh_pct": 120.5}, "soh_pct 120.5 is outside 0-120 %"),
        ({"soh_pct": 0}, "soh_pct 0 is outside"),
        ({"soh_pct": ""}, "soh_pct is missing"),
        ({"dcir_mohm": -1.0}, "dcir_mohm is negative"),
        ({"dcir_bol_mohm": 0}, "dcir_bol_mohm must be above zero"),
        ({"capacity_spread_pct": ""}, "capacity_spread_pct is missing (spreads may be empty only for cells)"),
        ({"soh_pct": 150}, "row 1 (X): soh_pct 150 is outside 0-120 %"),
        ({"dcir_bol_mohm": -0.5}, "row 1 (X): dcir_bol_mohm is negative (-0.5)"),
        ({"chemistry": "XYZ"}, "row 1 (X): chemistry 'XYZ' is not a chemistry code; the profile covers LCO"),
        ({"chemistry": "SIB"}, "row 1 (X): chemistry 'SIB' has no grading profile"),
        ({"level": "crate"}, "unknown level 'crate'"),
        ({"history": "maybe"}, "history 'maybe' is not true or false"),
        ({"insulation_ohm_per_v": "high"}, "insulation_ohm_per_v 'high' is not a number"),
        ({"negative_events": 0.5}, "negative_events must be a whole number"),
    ],
)
def test_bad_input_is_a_clear_error(changes: dict[str, Any], message: str) -> None:
    row = {**GOOD, **changes}
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        service.triage_batch(TriageBatch.from_columns({k: [v] for k, v in row.items()}))


def test_csv_errors_name_the_problem() -> None:
    with pytest.raises(ValidationError, match="the CSV is empty"):
        read_csv("")
    with pytest.raises(ValidationError, match="unknown column"):
        read_csv("id,colour\nA,red\n")
    with pytest.raises(ValidationError, match="missing column 'soh_pct'"):
        read_csv("id,chemistry,level\nA,LFP,pack\n")
    header = ",".join(GOOD)
    with pytest.raises(ValidationError, match="CSV line 2 has 2 fields"):
        read_csv(f"{header}\nA,LFP\n")


def test_batch_equals_row_by_row() -> None:
    """The vectorised batch decides every battery as it would be decided alone."""
    batch = synthetic_batch(300, seed=3)
    profile, _ = service.load_profile()
    together = triage(batch, profile).routes()
    for i in range(0, 300, 7):
        one = TriageBatch(
            ids=batch.ids[i : i + 1],
            chemistry=batch.chemistry[i : i + 1],
            level=batch.level[i : i + 1],
            values={k: v[i : i + 1] for k, v in batch.values.items()},
            visual_damage=batch.visual_damage[i : i + 1],
            history=batch.history[i : i + 1],
        )
        assert triage(one, profile).routes()[0] == together[i]
    counts = triage(batch, profile).counts()
    assert sum(counts.values()) == 300
    assert np.all(np.isin(together, ["reuse", "remanufacture", "repurpose", "recycle"]))
