"""The EU battery passport (Regulation (EU) 2023/1542, Art. 77-78, Annex XIII), computed from the ledger.

The public API is the names below (loaded on first use)::

    from batteryloop.passport import PassportService, Selection
    service = PassportService(ledger, resolver_domain="https://id.example.eu")
    view = service.view(battery_id, caller=org)          # redacted for org (None: the public)
    render(view, "batterypass")                          # bytes, the same the CLI and HTTP give

Layout: ``core/`` (pure: ``model``, ``build``, ``batterypass``, ``catenax``, ``json_schemas``, ``documents``,
``qr``), ``access`` (Annex XIII tiers), ``obligations`` (mandatory attributes by date), ``synthetic`` (demo
data), ``service`` (use cases: view, check, export, documents), ``report`` (renderings), ``schemas`` (HTTP
request/response models), ``endpoints``/``pages``/``cli`` (faces).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "Audience": "batteryloop.passport.access",
    "audiences_for": "batteryloop.passport.access",
    "default_policy": "batteryloop.passport.access",
    "redact": "batteryloop.passport.access",
    "Passport": "batteryloop.passport.core.model",
    "build_passport": "batteryloop.passport.core.build",
    "passport_from_source": "batteryloop.passport.core.build",
    "to_batterypass": "batteryloop.passport.core.batterypass",
    "from_batterypass": "batteryloop.passport.core.batterypass",
    "to_catenax": "batteryloop.passport.core.catenax",
    "check_passport": "batteryloop.passport.core.obligations",
    "PassportService": "batteryloop.passport.service",
    "PassportView": "batteryloop.passport.service",
    "PassportCeasedError": "batteryloop.passport.service",
    "Selection": "batteryloop.passport.service",
    "CheckResult": "batteryloop.passport.service",
    "ExportResult": "batteryloop.passport.service",
    "render": "batteryloop.passport.report",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'batteryloop.passport' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
