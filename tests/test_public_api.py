"""The curated public API: every exported name resolves, and the list changes only on purpose."""

from __future__ import annotations

import batteryloop

EXPECTED = {
    "BatteryCategory", "BatteryState", "BatteryUnit", "BatteryloopError", "Chemistry", "EventType",
    "Organisation", "Role", "UnitLevel", "GBT34014Code", "GS1DigitalLink", "eu_unique_id",
    "EventIn", "Ledger", "SignedBatch", "sign_batch", "generate_fleet", "plan_batches",
    "build_passport", "redact", "to_batterypass", "to_catenax",
    "load_parameter_set", "run_flowsheet", "run_economics", "carbon_footprint", "quote",
}  # fmt: skip


def test_exported_names_are_pinned() -> None:
    assert set(batteryloop.__all__) == EXPECTED


def test_every_exported_name_resolves() -> None:
    for name in batteryloop.__all__:
        assert getattr(batteryloop, name) is not None, name
