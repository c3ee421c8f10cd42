"""Renderings of analytics results shared by the CLI, HTTP and pages: dicts (JSON), CSV, XLSX and SVG charts.

The HTTP response and the CLI's ``--json`` are both :func:`triage_to_dict` (and friends), so they agree.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from batteryloop.analytics.core.forecast import METRICS
from batteryloop.analytics.core.soh import FadeFit
from batteryloop.analytics.core.triage import GRADES, ROUTES, Check
from batteryloop.analytics.service import (
    ForecastOutcome,
    GradingBatch,
    NetworkOutcome,
    SohEstimate,
    TriageOutcome,
)
from batteryloop.domain.errors import ValidationError

XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ROUTE_COLOURS = {
    "reuse": "#2e7d32",
    "remanufacture": "#1565c0",
    "repurpose": "#f9a825",
    "recycle": "#c62828",
}


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


def _check_dict(check: Check) -> dict[str, Any]:
    return {
        "route": check.route,
        "name": check.name,
        "value": check.value,
        "op": check.op,
        "limit": check.limit,
        "unit": check.unit,
        "passed": check.passed,
    }


# ----------------------------------------------------------------------------------------------- triage


def grading_batch_to_dict(batch: GradingBatch) -> dict[str, Any]:
    """The prepared ``BatteryGraded`` events (as ``POST /events`` takes them) and the root to sign."""
    return {
        "actor": batch.actor,
        "occurred_at": batch.events[0].occurred_at.isoformat() if batch.events else None,
        "merkle_root": batch.merkle_root,
        "batteries": len(batch.events),
        "routes": batch.outcome.result.counts(),
        "events": [
            {
                "battery_id": e.battery_id,
                "event_type": str(e.event_type),
                "occurred_at": e.occurred_at.isoformat(),
                "payload": dict(e.payload),
                "idempotency_key": e.idempotency_key,
            }
            for e in batch.events
        ],
    }


def append_to_dict(result: Any) -> dict[str, Any]:
    """An append's result (``batteryloop.ledger.AppendResult``) as ``POST /events`` answers it."""
    return {
        "batch_id": str(result.batch_id),
        "appended": result.appended,
        "duplicates": result.duplicates,
        "first_position": result.first_position,
        "last_position": result.last_position,
        "merkle_root": result.merkle_root,
    }


TRIAGE_COLUMNS: tuple[str, ...] = (
    "id",
    "chemistry",
    "family",
    "level",
    "grade",
    "route",
    "soh_pct",
    "dcir_increase_pct",
    "reason",
)


def triage_rows(outcome: TriageOutcome) -> list[tuple[Any, ...]]:
    """One row per battery, in input order (:data:`TRIAGE_COLUMNS`)."""
    r = outcome.result
    b = r.batch
    grades, routes = r.grades(), r.routes()
    return [
        (
            str(b.ids[i]),
            str(b.chemistry[i]),
            str(r.family[i]),
            str(b.level[i]),
            str(grades[i]),
            str(routes[i]),
            round(float(b.values["soh_pct"][i]), 6),
            round(float(r.dcir_increase_pct[i]), 6),
            r.reason(i),
        )
        for i in range(len(r))
    ]


def triage_summary(outcome: TriageOutcome) -> dict[str, Any]:
    r = outcome.result
    counts = r.counts()
    return {
        "batteries": len(r),
        "routes": counts,
        "grades": {g: counts[route] for g, route in zip(GRADES, ROUTES, strict=True)},
        "by_family": r.counts_by(r.family),
        "by_level": r.counts_by(r.batch.level),
        "unverified": list(outcome.unverified),
    }


def triage_to_dict(outcome: TriageOutcome, *, checks: bool = True) -> dict[str, Any]:
    """Summary and one item per battery with its reason and (``checks``) every threshold applied."""
    items = []
    for i, row in enumerate(triage_rows(outcome)):
        item = dict(zip(TRIAGE_COLUMNS, row, strict=True))
        if checks:
            item["checks"] = [_check_dict(c) for c in outcome.result.explain(i)]
        items.append(item)
    return {**triage_summary(outcome), "items": items}


def triage_to_csv(outcome: TriageOutcome) -> str:
    return _csv(TRIAGE_COLUMNS, triage_rows(outcome))


def triage_checks_rows(outcome: TriageOutcome) -> list[tuple[Any, ...]]:
    r = outcome.result
    return [
        (str(r.batch.ids[i]), c.route, c.name, c.value, c.op, c.limit, c.unit, c.passed)
        for i in range(len(r))
        for c in r.explain(i)
    ]


def triage_to_xlsx(outcome: TriageOutcome) -> bytes:
    """A workbook: Decisions, Checks (every threshold of every battery), Summary, Unverified."""
    summary = triage_summary(outcome)
    sheets: list[tuple[str, Sequence[str], Iterable[Sequence[Any]]]] = [
        ("Decisions", TRIAGE_COLUMNS, triage_rows(outcome)),
        (
            "Checks",
            ("id", "route", "check", "value", "op", "limit", "unit", "passed"),
            triage_checks_rows(outcome),
        ),
        (
            "Summary",
            ("route", "grade", "batteries"),
            [(route, g, summary["routes"][route]) for g, route in zip(GRADES, ROUTES, strict=True)],
        ),
        ("Unverified", ("set:path",), [(p,) for p in outcome.unverified]),
    ]
    return workbook(sheets)


def workbook(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    """An XLSX workbook of named sheets, each a bold header row and its rows."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for title, header, rows in sheets:
        ws = wb.create_sheet(title)
        ws.append(list(header))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append([_xlsx_cell(v) for v in row])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


# ----------------------------------------------------------------------------------------------- charts


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _svg(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue().decode("utf-8")
    text = re.sub(r"<\?xml[^>]*\?>\s*", "", text)
    return re.sub(r"<!DOCTYPE[^>]*>\s*", "", text, flags=re.DOTALL)


def grade_chart(outcome: TriageOutcome) -> str:
    """Inline SVG: batteries per grade (A reuse, B remanufacture, C repurpose, D recycle), stacked by
    chemistry family. Only grade letters, family codes and counts: the same chart in every language."""
    by_family = outcome.result.counts_by(outcome.result.family)
    fig = _figure(6.5, 3.6)
    ax = fig.add_subplot()
    x = list(range(len(ROUTES)))
    bottom = [0] * len(ROUTES)
    hatches = ["", "//", "..", "xx", "\\\\"]
    for k, (family, counts) in enumerate(by_family.items()):
        heights = [counts[route] for route in ROUTES]
        ax.bar(
            x,
            heights,
            bottom=bottom,
            color=[_ROUTE_COLOURS[r] for r in ROUTES],
            edgecolor="white",
            hatch=hatches[k % len(hatches)],
            label=family,
        )
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_xticks(x, list(GRADES))
    ax.legend(fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


# ------------------------------------------------------------------------------------ retirement forecast

FORECAST_COLUMNS: tuple[str, ...] = ("stream", "region", "chemistry", "year", "units", "gwh", "tonnes")
METRIC_UNITS = {"units": "packs", "gwh": "GWh", "tonnes": "t"}


def _r(x: float) -> float:
    return round(float(x), 6)


def forecast_rows(outcome: ForecastOutcome) -> list[tuple[Any, ...]]:
    """Central outflow per stream (car, bus, storage, scrap), region, chemistry and year."""
    return [(a, r, c, y, _r(u), _r(g), _r(t)) for a, r, c, y, u, g, t in outcome.forecast.rows]


def forecast_to_dict(outcome: ForecastOutcome, *, rows: bool = True) -> dict[str, Any]:
    f = outcome.forecast
    bands = {
        metric: {
            region: {k: [_r(x) for x in f.bands[metric][k][i]] for k in ("low", "central", "high")}
            for i, region in enumerate(f.regions)
        }
        for metric in METRICS
    }
    world = {metric: {k: [_r(x) for x in v] for k, v in f.totals(metric).items()} for metric in METRICS}
    out: dict[str, Any] = {
        "years": [int(y) for y in f.years],
        "regions": list(f.regions),
        "sources": list(outcome.sources),
        "draws": f.draws,
        "ledger_units": outcome.ledger_units,
        "ledger_missing_energy": outcome.ledger_missing_energy,
        "world": world,
        "bands": bands,
        "unverified": list(outcome.unverified),
    }
    if rows:
        out["rows"] = [dict(zip(FORECAST_COLUMNS, row, strict=True)) for row in forecast_rows(outcome)]
    return out


def forecast_band_rows(outcome: ForecastOutcome) -> list[tuple[Any, ...]]:
    f = outcome.forecast
    return [
        (metric, region, int(year), *(_r(f.bands[metric][k][i][t]) for k in ("low", "central", "high")))
        for metric in METRICS
        for i, region in enumerate(f.regions)
        for t, year in enumerate(f.years)
    ]


def forecast_to_csv(outcome: ForecastOutcome) -> str:
    return _csv(FORECAST_COLUMNS, forecast_rows(outcome))


def forecast_to_xlsx(outcome: ForecastOutcome) -> bytes:
    return workbook(
        [
            ("Retirements", FORECAST_COLUMNS, forecast_rows(outcome)),
            ("Bands", ("metric", "region", "year", "low", "central", "high"), forecast_band_rows(outcome)),
            ("Unverified", ("set:path",), [(p,) for p in outcome.unverified]),
        ]
    )


_REGION_COLOURS = {"CN": "#c62828", "EU": "#1565c0", "US": "#2e7d32", "SEA": "#f9a825", "other": "#6d4c41"}


def forecast_chart(outcome: ForecastOutcome, *, metric: str = "gwh") -> str:
    """Inline SVG: central retirements per region (lines) and the 5-95 % band of each (shaded); region codes
    and units only, so the chart reads the same in every language."""
    if metric not in METRICS:
        raise ValidationError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    f = outcome.forecast
    fig = _figure(7.0, 3.8)
    ax = fig.add_subplot()
    years = [int(y) for y in f.years]
    for i, region in enumerate(f.regions):
        colour = _REGION_COLOURS.get(region, "#555555")
        ax.fill_between(
            years,
            f.bands[metric]["low"][i],
            f.bands[metric]["high"][i],
            color=colour,
            alpha=0.18,
            linewidth=0,
        )
        ax.plot(years, f.bands[metric]["central"][i], color=colour, label=region)
    ax.fill_between([], [], [], color="#999999", alpha=0.3, label="P5-P95")
    ax.set_ylabel({"units": "n/yr", "gwh": "GWh/yr", "tonnes": "t/yr"}[metric])
    ax.legend(fontsize=8, ncols=3)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


# ---------------------------------------------------------------------------------- collection network

FLOW_COLUMNS: tuple[str, ...] = ("year", "from", "to", "tonnes", "km")
UTILISATION_COLUMNS: tuple[str, ...] = ("kind", "site", "year", "throughput_t", "capacity_t", "utilisation")


def network_flow_rows(outcome: NetworkOutcome) -> list[tuple[Any, ...]]:
    sol = outcome.solution
    p = sol.problem
    out: list[tuple[Any, ...]] = []
    for t, year in enumerate(p.years):
        for i, point in enumerate(p.points):
            for k, spoke in enumerate(p.spokes):
                if sol.x[i, k, t] > 1e-6:
                    out.append(
                        (year, point.id, spoke.id, _r(sol.x[i, k, t]), round(float(sol.d_ps[i, k]), 3))
                    )
        for k, spoke in enumerate(p.spokes):
            for h, hub in enumerate(p.hubs):
                if sol.z[k, h, t] > 1e-6:
                    out.append((year, spoke.id, hub.id, _r(sol.z[k, h, t]), round(float(sol.d_sh[k, h]), 3)))
    return out


def network_utilisation_rows(outcome: NetworkOutcome) -> list[tuple[Any, ...]]:
    return [
        (k, s, y, _r(u), _r(c), None if share is None else _r(share))
        for k, s, y, u, c, share in outcome.solution.utilisation()
    ]


def network_to_dict(outcome: NetworkOutcome) -> dict[str, Any]:
    sol = outcome.solution
    p = sol.problem
    opened = []
    for kind, sites, flags in (("spoke", p.spokes, sol.spoke_open), ("hub", p.hubs, sol.hub_open)):
        for k, site in enumerate(sites):
            years_open = [y for t, y in enumerate(p.years) if flags[k, t]]
            if years_open:
                opened.append({"kind": kind, "id": site.id, "opened": years_open[0]})
    return {
        "years": list(p.years),
        "total_cost_usd": _r(sol.total_cost_usd),
        "collected_t": _r(sol.collected_t),
        "cost_usd_per_t": _r(sol.cost_per_t()),
        "costs": {k: _r(v) for k, v in sol.cost_breakdown().items()},
        "proven_optimal": sol.proven_optimal,
        "mip_gap": _r(sol.mip_gap),
        "open_sites": opened,
        "utilisation": [
            dict(zip(UTILISATION_COLUMNS, r, strict=True)) for r in network_utilisation_rows(outcome)
        ],
        "flows": [dict(zip(FLOW_COLUMNS, r, strict=True)) for r in network_flow_rows(outcome)],
        "unverified": list(outcome.unverified),
    }


def network_to_csv(outcome: NetworkOutcome) -> str:
    return _csv(FLOW_COLUMNS, network_flow_rows(outcome))


def network_to_xlsx(outcome: NetworkOutcome) -> bytes:
    summary = network_to_dict(outcome)
    return workbook(
        [
            (
                "Sites",
                ("kind", "id", "opened"),
                [(s["kind"], s["id"], s["opened"]) for s in summary["open_sites"]],
            ),
            ("Utilisation", UTILISATION_COLUMNS, network_utilisation_rows(outcome)),
            ("Flows", FLOW_COLUMNS, network_flow_rows(outcome)),
            (
                "Costs",
                ("item", "usd"),
                [*summary["costs"].items(), ("cost_usd_per_t", summary["cost_usd_per_t"])],
            ),
            ("Unverified", ("set:path",), [(p,) for p in outcome.unverified]),
        ]
    )


def network_site_rows(outcome: NetworkOutcome) -> list[dict[str, Any]]:
    """Per candidate site: kind, id, whether and when it opened, and its throughput, capacity and
    utilisation in the last planning year (for the page's table)."""
    sol = outcome.solution
    p = sol.problem
    last = len(p.years) - 1
    out: list[dict[str, Any]] = []
    for kind, sites, flags, flow in (
        ("spoke", p.spokes, sol.spoke_open, sol.x.sum(axis=0)),
        ("hub", p.hubs, sol.hub_open, sol.z.sum(axis=0)),
    ):
        for k, site in enumerate(sites):
            years_open = [y for t, y in enumerate(p.years) if flags[k, t]]
            used = float(flow[k, last])
            cap = site.capacity_t_per_year
            out.append(
                {
                    "kind": kind,
                    "id": site.id,
                    "opened": years_open[0] if years_open else None,
                    "throughput_t": _r(used),
                    "capacity_t": _r(cap),
                    "utilisation": _r(used / cap) if years_open and cap > 0 else None,
                }
            )
    return out


def network_map(outcome: NetworkOutcome, *, width: int = 640) -> str:
    """Inline SVG, a map-like view of the last planning year: collection points (circles, area by volume),
    spokes (squares) and hubs (diamonds), filled when open, and the flows between them (line width by
    tonnes). Longitude and latitude are drawn equirectangular, scaled by the cosine of the middle latitude.
    Only site ids: the same drawing in every language (the legend is the page's)."""
    from html import escape

    sol = outcome.solution
    p = sol.problem
    t = len(p.years) - 1
    lats = [x.lat for x in p.points] + [x.lat for x in (*p.spokes, *p.hubs)]
    lons = [x.lon for x in p.points] + [x.lon for x in (*p.spokes, *p.hubs)]
    mid = math.radians((max(lats) + min(lats)) / 2)
    span_x = max((max(lons) - min(lons)) * math.cos(mid), 1e-6)
    span_y = max(max(lats) - min(lats), 1e-6)
    pad = 28.0
    scale = (width - 2 * pad) / max(span_x, span_y)
    height = int(span_y * scale + 2 * pad)

    def xy(lat: float, lon: float) -> tuple[float, float]:
        return (
            round(pad + (lon - min(lons)) * math.cos(mid) * scale, 1),
            round(height - pad - (lat - min(lats)) * scale, 1),
        )

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" class="network-map"><rect width="{width}" height="{height}" fill="#f7f9fb"/>'
    ]
    vol = p.volumes()[:, t]
    top_x = float(sol.x[:, :, t].max()) if sol.x.size else 0.0
    top_z = float(sol.z[:, :, t].max()) if sol.z.size else 0.0
    for i, point in enumerate(p.points):
        for k, spoke in enumerate(p.spokes):
            flow = float(sol.x[i, k, t])
            if flow > 1e-6 and top_x > 0:
                (x1, y1), (x2, y2) = xy(point.lat, point.lon), xy(spoke.lat, spoke.lon)
                w = round(0.6 + 2.4 * flow / top_x, 2)
                parts.append(
                    f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#90a4ae" stroke-width="{w}"/>'
                )
    for k, spoke in enumerate(p.spokes):
        for h, hub in enumerate(p.hubs):
            flow = float(sol.z[k, h, t])
            if flow > 1e-6 and top_z > 0:
                (x1, y1), (x2, y2) = xy(spoke.lat, spoke.lon), xy(hub.lat, hub.lon)
                w = round(1.5 + 4.5 * flow / top_z, 2)
                parts.append(
                    f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#ef6c00" '
                    f'stroke-width="{w}" stroke-opacity="0.8"/>'
                )
    top_v = float(vol.max()) if vol.size and vol.max() > 0 else 1.0
    for i, point in enumerate(p.points):
        x, y = xy(point.lat, point.lon)
        r = round(2.0 + 6.0 * math.sqrt(float(vol[i]) / top_v), 2)
        parts.append(
            f'<circle cx="{x}" cy="{y}" r="{r}" fill="#1565c0" fill-opacity="0.7">'
            f"<title>{escape(point.id)}: {float(vol[i]):,.0f} t</title></circle>"
        )
    labelled = len(p.spokes) + len(p.hubs) <= 40
    for kind, sites, flags in (("spoke", p.spokes, sol.spoke_open), ("hub", p.hubs, sol.hub_open)):
        for k, site in enumerate(sites):
            x, y = xy(site.lat, site.lon)
            opened = bool(flags[k, t])
            fill = ("#2e7d32" if kind == "spoke" else "#c62828") if opened else "none"
            stroke = "#263238" if opened else "#90a4ae"
            if kind == "spoke":
                shape = f'<rect x="{x - 6}" y="{y - 6}" width="12" height="12"'
            else:
                shape = f'<polygon points="{x},{y - 9} {x + 9},{y} {x},{y + 9} {x - 9},{y}"'
            parts.append(
                f'{shape} fill="{fill}" stroke="{stroke}" stroke-width="1.5">'
                f"<title>{escape(site.id)}</title></{'rect' if kind == 'spoke' else 'polygon'}>"
            )
            if labelled and opened:
                parts.append(
                    f'<text x="{x + 11}" y="{y + 4}" font-size="11" fill="#263238">{escape(site.id)}</text>'
                )
    parts.append("</svg>")
    return "".join(parts)


# ------------------------------------------------------------------------------- SOH and remaining life


def soh_to_dict(estimate: SohEstimate) -> dict[str, Any]:
    return {
        "capacity_ah": _r(estimate.capacity_ah),
        "soh_pct": _r(estimate.soh_pct),
        "rated_ah": _r(estimate.rated_ah),
        "samples": estimate.samples,
        "method": "coulomb counting (trapezoid rule) of one full discharge",
    }


def fade_to_dict(fit: FadeFit) -> dict[str, Any]:
    return {
        "model": "soh_pct = 100 - a * cycles ** z",
        "a": _r(fit.a),
        "z": _r(fit.z),
        "rmse_pct": _r(fit.rmse_pct),
        "eol_pct": _r(fit.eol_pct),
        "last_cycle": _r(fit.last_cycle),
        "eol_cycle": _r(fit.eol_cycle),
        "rul_cycles": _r(fit.rul_cycles),
    }
