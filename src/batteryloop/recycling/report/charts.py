"""Charts of recycling results as PNG or SVG bytes (matplotlib, Agg canvas; no pyplot global state).

cost_waterfall: revenue items up, cost items down, margin last (USD per tonne of feed).
mass_sankey:    inputs (feed, reagents) -> process -> products, losses, emissions (kg per tonne of feed).
tornado:        the most influential parameters on the margin (one-at-a-time low/high).
histogram:      Monte Carlo margin distribution with the probability of loss.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle

from batteryloop.domain.errors import ValidationError
from batteryloop.recycling.core.compare import Comparison
from batteryloop.recycling.core.economics import EconomicsResult
from batteryloop.recycling.core.flowsheet_types import FlowsheetResult
from batteryloop.recycling.core.uncertainty import MonteCarloResult, SensitivityResult

FORMATS = ("png", "svg")
_UP, _DOWN, _TOTAL = "#2e7d32", "#c62828", "#1565c0"
_MAX_SANKEY_ITEMS = 9  # bands per side before the rest is grouped as "other" (legibility, not a model number)


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _render(fig: Figure, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise ValidationError(f"chart format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else None  # reproducible SVG
    fig.savefig(buffer, format=fmt, bbox_inches="tight", metadata=metadata)
    return buffer.getvalue()


def svg_inline(svg: bytes) -> str:
    """SVG bytes made embeddable in HTML (XML declaration and DOCTYPE removed)."""
    text = svg.decode("utf-8")
    text = re.sub(r"<\?xml[^>]*\?>\s*", "", text)
    return re.sub(r"<!DOCTYPE[^>]*>\s*", "", text, flags=re.DOTALL)


def cost_waterfall(result: EconomicsResult, *, fmt: str = "svg") -> bytes:
    """Waterfall of the per-tonne breakdown: revenues, then costs, ending at the margin."""
    rows = result.breakdown_rows()
    steps = [(item, value) for kind, item, value in rows if kind != "margin"]
    fig = _figure(max(6.0, 0.55 * (len(steps) + 1) + 2.0), 4.5)
    ax = fig.add_subplot()
    level = 0.0
    labels: list[str] = []
    for i, (item, value) in enumerate(steps):
        bottom = level if value >= 0 else level + value
        ax.add_patch(Rectangle((i - 0.4, bottom), 0.8, abs(value), color=_UP if value >= 0 else _DOWN))
        level += value
        labels.append(item.replace("_", " "))
    margin = result.margin_usd_per_t
    ax.add_patch(Rectangle((len(steps) - 0.4, min(0.0, margin)), 0.8, abs(margin), color=_TOTAL))
    labels.append("margin")
    tops = np.cumsum([0.0] + [v for _, v in steps])
    ax.set_xlim(-0.7, len(steps) + 0.7)
    low, high = float(min(tops.min(), margin, 0.0)), float(max(tops.max(), margin, 0.0))
    pad = 0.05 * (high - low or 1.0)
    ax.set_ylim(low - pad, high + pad)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("USD per tonne of feed")
    ax.set_title(
        f"{result.route} / {result.product_level} in {result.region} ({result.market} market): "
        f"margin {margin:,.0f} USD/t",
        fontsize=10,
    )
    return _render(fig, fmt)


def mass_sankey(flowsheet: FlowsheetResult, *, fmt: str = "svg") -> bytes:
    """Mass flows of one tonne of feed: feed and reagents in, products, losses and emissions out."""
    inputs = [("feed", float(flowsheet.feed_mass_kg))]
    inputs += [
        (name, amount)
        for name, amount in sorted(flowsheet.consumables.items(), key=lambda kv: -kv[1])
        if not name.endswith(("_kwh", "_mj", "_h")) and name != "water_kg" and amount > 0.0
    ]
    products = [
        (name, kg) for name, kg in sorted(flowsheet.products_kg.items(), key=lambda kv: -kv[1]) if kg > 0.0
    ]
    losses = sum(kg for op in flowsheet.operations for kg in op.losses_kg.values())
    emissions = sum(kg for op in flowsheet.operations for kg in op.emissions_kg.values())
    outputs = _group(products, limit=_MAX_SANKEY_ITEMS - 2, other="other products")
    outputs += [(label, kg) for label, kg in (("losses", losses), ("to air", emissions)) if kg > 0.0]
    inputs = _group(inputs, limit=_MAX_SANKEY_ITEMS - 1, other="other inputs")
    # The unit-operation balances also take in air (combustion, oxidation) and process water that the consumables
    # list does not carry as kg: show the difference as its own band rather than hide it.
    gap_kg = sum(v for _, v in outputs) - sum(v for _, v in inputs)
    if gap_kg > 1e-6:
        inputs.append(("air, process water", gap_kg))
    elif gap_kg < -1e-6:
        outputs.append(("not in a product or loss stream", -gap_kg))
    total_in = sum(v for _, v in inputs)
    total_out = sum(v for _, v in outputs)
    scale = max(total_in, total_out, 1e-9)
    gap = 0.03
    height = 1.0 + gap * (max(len(inputs), len(outputs)) - 1)
    fig = _figure(9.5, 5.5)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_xlim(-0.5, 1.5)
    ax.set_ylim(-0.08, height + 0.1)
    process_h = max(total_in, total_out) / scale
    process_y = 0.5 * (height - process_h)
    ax.add_patch(Rectangle((0.46, process_y), 0.08, process_h, color="#555555"))
    ax.text(0.5, process_y + process_h + 0.02, flowsheet.route, ha="center", fontsize=9)

    def column(items: list[tuple[str, float]], side: str, colour_offset: int) -> None:
        column_h = sum(v for _, v in items) / scale + gap * (len(items) - 1)
        y = 0.5 * (height - column_h)
        at_process = process_y
        x_node = 0.0 if side == "in" else 0.96
        for i, (name, value) in enumerate(items):
            h = value / scale
            colour = f"C{(colour_offset + i) % 10}"
            ax.add_patch(Rectangle((x_node, y), 0.04, h, color=colour))
            x0, y0, x1, y1 = (0.04, y, 0.46, at_process) if side == "in" else (0.54, at_process, 0.96, y)
            ax.add_patch(
                Polygon(
                    [(x0, y0), (x1, y1), (x1, y1 + h), (x0, y0 + h)], closed=True, alpha=0.35, color=colour
                )
            )
            ax.text(
                x_node - 0.01 if side == "in" else x_node + 0.05,
                y + h / 2,
                f"{name} {value:,.0f} kg",
                ha="right" if side == "in" else "left",
                va="center",
                fontsize=8,
            )
            y += h + gap
            at_process += h

    column(inputs[::-1], "in", 0)  # first item on top
    column(outputs[::-1], "out", len(inputs))
    ax.set_title(
        f"Mass flows per tonne of feed ({flowsheet.route} / {flowsheet.product_level}): "
        f"in {total_in:,.0f} kg, out {total_out:,.0f} kg, closure error {flowsheet.max_closure_error:.3%}",
        fontsize=9,
    )
    return _render(fig, fmt)


def _group(items: list[tuple[str, float]], *, limit: int, other: str) -> list[tuple[str, float]]:
    if len(items) <= limit:
        return items
    rest = sum(v for _, v in items[limit - 1 :])
    return [*items[: limit - 1], (other, rest)]


def tornado(sensitivity: SensitivityResult, *, n: int = 10, fmt: str = "svg") -> bytes:
    """Horizontal bars of margin at each parameter's low and high value, largest swing on top."""
    bars = list(sensitivity.top(n))[::-1]
    base = sensitivity.base_margin_usd_per_t
    fig = _figure(8.0, max(3.0, 0.45 * len(bars) + 1.2))
    ax = fig.add_subplot()
    for i, bar in enumerate(bars):
        for value, colour in ((bar.margin_at_low, "#90caf9"), (bar.margin_at_high, "#1565c0")):
            ax.barh(i, value - base, left=base, color=colour, height=0.6)
    ax.axvline(base, color="black", linewidth=0.8)
    ax.set_yticks(range(len(bars)), [_short(b.path) for b in bars], fontsize=8)
    ax.set_xlabel("margin, USD per tonne of feed (light: parameter at low, dark: at high)")
    ax.set_title(
        f"Tornado: {len(bars)} most influential parameters (base margin {base:,.0f} USD/t)", fontsize=10
    )
    return _render(fig, fmt)


def _short(path: str) -> str:
    parts = path.split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 else path


def histogram(mc: MonteCarloResult, *, bins: int = 60, fmt: str = "svg") -> bytes:
    """Distribution of the margin per tonne over the Monte Carlo draws; loss region shaded, P10/P50/P90 marked."""
    p = mc.percentiles()
    title = (
        f"Monte Carlo, {mc.draws:,} draws: P(loss) = {mc.probability_of_loss:.1%}, "
        f"P10 {p['p10']:,.0f} / P50 {p['p50']:,.0f} / P90 {p['p90']:,.0f} USD/t"
    )
    return _bands(mc.margin_usd_per_t, p, "margin, USD per tonne of feed", title, bins=bins, fmt=fmt)


def npv_histogram(mc: MonteCarloResult, *, bins: int = 60, fmt: str = "svg") -> bytes:
    """Distribution of the NPV over the Monte Carlo draws; negative NPV shaded, P10/P50/P90 marked."""
    p = mc.npv_percentiles()
    title = (
        f"NPV over {mc.draws:,} draws: P(NPV < 0) = {mc.probability_npv_negative:.1%}, "
        f"P10 {p['p10'] / 1e6:,.1f} / P50 {p['p50'] / 1e6:,.1f} / P90 {p['p90'] / 1e6:,.1f} million USD"
    )
    return _bands(
        mc.npv_usd / 1e6, {k: v / 1e6 for k, v in p.items()}, "NPV, million USD", title, bins=bins, fmt=fmt
    )


def _bands(data: np.ndarray, p: dict[str, float], xlabel: str, title: str, *, bins: int, fmt: str) -> bytes:
    fig = _figure(7.5, 4.0)
    ax = fig.add_subplot()
    counts, edges = np.histogram(data, bins=bins)
    centres = 0.5 * (edges[:-1] + edges[1:])
    colours = [_DOWN if c < 0 else _UP for c in centres]
    ax.bar(centres, counts, width=np.diff(edges), color=colours, edgecolor="none")
    ax.axvline(0.0, color="black", linewidth=0.8)
    for key in ("p10", "p50", "p90"):
        ax.axvline(p[key], color="#555555", linewidth=0.8, linestyle="-" if key == "p50" else "--")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("draws")
    ax.set_title(title, fontsize=9)
    return _render(fig, fmt)


def comparison_bars(comparison: Comparison, *, fmt: str = "svg") -> bytes:
    """Revenue, cost and margin per tonne side by side for each compared market, route or mix."""
    rows = comparison.rows()
    labels = [str(row["label"]) for row in rows]
    x = np.arange(len(rows))
    fig = _figure(max(6.0, 1.1 * len(rows) + 2.0), 4.2)
    ax = fig.add_subplot()
    for offset, key, colour, name in (
        (-0.27, "revenue_usd_per_t", _UP, "revenue"),
        (0.0, "cost_usd_per_t", _DOWN, "cost"),
        (0.27, "margin_usd_per_t", _TOTAL, "margin"),
    ):
        ax.bar(x + offset, [row[key] for row in rows], width=0.26, color=colour, label=name)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xticks(
        x, labels, rotation=30 if len(rows) > 4 else 0, ha="right" if len(rows) > 4 else "center", fontsize=8
    )
    ax.set_ylabel("USD per tonne of feed")
    ax.legend(fontsize=8)
    ax.set_title(f"Comparison by {comparison.dimension}", fontsize=10)
    return _render(fig, fmt)


def chart_names() -> Sequence[str]:
    return ("waterfall", "sankey", "tornado", "histogram", "npv_histogram")
