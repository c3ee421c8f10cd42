"""batteryloop: traceability, battery passports, EPR and recycling economics for the battery loop.

The public Python API is the names below (loaded lazily, so ``import batteryloop`` stays cheap):

>>> from batteryloop import Ledger, EventIn, sign_batch, build_passport, run_flowsheet
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # domain
    "BatteryCategory": "batteryloop.domain",
    "BatteryState": "batteryloop.domain",
    "BatteryUnit": "batteryloop.domain",
    "BatteryloopError": "batteryloop.domain",
    "Chemistry": "batteryloop.domain",
    "EventType": "batteryloop.domain",
    "Organisation": "batteryloop.domain",
    "Role": "batteryloop.domain",
    "UnitLevel": "batteryloop.domain",
    "GBT34014Code": "batteryloop.domain.identity",
    "GS1DigitalLink": "batteryloop.domain.identity",
    "eu_unique_id": "batteryloop.domain.identity",
    # ledger
    "EventIn": "batteryloop.ledger",
    "Ledger": "batteryloop.ledger",
    "SignedBatch": "batteryloop.ledger",
    "sign_batch": "batteryloop.ledger",
    # fleet
    "generate_fleet": "batteryloop.fleet",
    "plan_batches": "batteryloop.fleet",
    # passport
    "build_passport": "batteryloop.passport",
    "redact": "batteryloop.passport",
    "to_batterypass": "batteryloop.passport",
    "to_catenax": "batteryloop.passport",
    # recycling
    "load_parameter_set": "batteryloop.recycling",
    "run_flowsheet": "batteryloop.recycling",
    "run_economics": "batteryloop.recycling",
    "carbon_footprint": "batteryloop.recycling",
    "quote": "batteryloop.recycling",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'batteryloop' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
