"""Renderings of compliance results shared by the CLI, the HTTP API and the pages (JSON dicts, CSV, XLSX)."""

from __future__ import annotations

from typing import Any

from batteryloop.compliance import service
from batteryloop.compliance.core import rules
from batteryloop.reference.files import thaw


def pack_summary_to_dict(summary: rules.PackSummary) -> dict[str, Any]:
    return {"code": summary.code, "description": summary.description, "rules": summary.rules}


def rules_to_dict(view: service.RulesView) -> dict[str, Any]:
    return {
        "jurisdiction": view.code,
        "description": view.description,
        "lineage": list(view.lineage),
        "rules": [{"path": path, **thaw(dict(value))} for path, value in view.rules],
    }


# --- recyclers -------------------------------------------------------------------------------------------


# --- producers and regulators ----------------------------------------------------------------------------
