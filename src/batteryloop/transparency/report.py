"""The one rendering of the transparency results, shared by the CLI's --json and the HTTP bodies."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from batteryloop.ledger.core.bundle import BundleReport
from batteryloop.transparency.service import ConsistencyView, HeadView, InclusionView


def head_json(view: HeadView) -> dict[str, Any]:
    return {
        "origin": view.origin,
        "tree_size": view.size,
        "root_hash": view.root_hash,
        "checkpoint": view.checkpoint,
        "verifier_key": view.verifier,
    }


def inclusion_json(view: InclusionView) -> dict[str, Any]:
    out = asdict(view)
    out["proof"] = list(view.proof)
    return out


def consistency_json(view: ConsistencyView) -> dict[str, Any]:
    out = asdict(view)
    out["proof"] = list(view.proof)
    return out


def bundle_report_json(report: BundleReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "battery_id": report.battery_id,
        "events": report.events,
        "tree_size": report.tree_size,
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in report.checks],
    }
