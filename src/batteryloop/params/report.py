"""Renderings of the reference use cases (:mod:`batteryloop.reference.service`) shared by the CLI and HTTP:
JSON-ready data, CSV and Rich tables."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from batteryloop.reference.registry import Citation
from batteryloop.reference.service import DataSetSummary, ParamsDiffView, ParamsView
from batteryloop.reference.values import UNVERIFIED_MARK, CitedValue, unverified_line

if TYPE_CHECKING:
    from rich.table import Table

CSV_COLUMNS = ("path", "value", "unit", "source", "year", "quality", "locator", "low", "high", "note")


def value_text(param: CitedValue[Any] | None) -> str:
    """A value for a table cell: numbers in ``g`` format, tables and lists as compact JSON."""
    if param is None:
        return "-"
    value = param.value
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return f"{value:g}"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def view_json(view: ParamsView) -> dict[str, dict[str, Any]]:
    """``{path: {value, unit, source, year, quality, locator?, low?, high?, note?}}``."""
    return {path: _jsonable(param.as_dict()) for path, param in view.params}


def view_csv(view: ParamsView) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for path, p in view.params:
        extra = [_blank(p.low), _blank(p.high), _blank(p.note)]
        writer.writerow(
            [path, value_text(p), p.unit, p.source, _blank(p.year), p.quality, _blank(p.locator), *extra]
        )
    return out.getvalue()


def view_table(view: ParamsView) -> Table:
    from rich.table import Table

    lineage = " > ".join(view.lineage)
    table = Table(
        title=f"{view.name}: {view.description} ({len(view.params)} values; lineage {lineage})".replace(
            ": (", " ("
        ),
        caption=unverified_line(view.unverified),
    )
    for column in ("path", "value", "unit", "source", "year", "quality"):
        table.add_column(column, justify="right" if column in ("value", "year") else "left", overflow="fold")
    for path, p in view.params:
        quality = UNVERIFIED_MARK if p.quality == "unverified" else p.quality
        table.add_row(path, value_text(p), p.unit, p.source, _blank(p.year), quality)
    return table


def sets_json(sets: Sequence[DataSetSummary]) -> list[dict[str, Any]]:
    return [
        {
            "name": s.name,
            "capability": s.capability,
            "package_path": s.package_path,
            "description": s.description,
            "values": s.values,
            "unverified": s.unverified,
            "assumptions": s.assumptions,
        }
        for s in sets
    ]


def sets_csv(sets: Sequence[DataSetSummary]) -> str:
    rows = sets_json(sets)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["name"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def sets_table(sets: Sequence[DataSetSummary]) -> Table:
    from rich.table import Table

    table = Table(title="Data sets shipped with batteryloop")
    for column in ("name", "capability", "values", "unverified", "assumptions", "description"):
        table.add_column(
            column, justify="right" if column in ("values", "unverified", "assumptions") else "left"
        )
    for s in sets:
        table.add_row(
            s.name, s.capability, str(s.values), str(s.unverified), str(s.assumptions), s.description
        )
    return table


def diff_json(view: ParamsDiffView) -> list[dict[str, Any]]:
    return [
        {
            "path": d.path,
            view.left: None if d.left is None else _jsonable(d.left.as_dict()),
            view.right: None if d.right is None else _jsonable(d.right.as_dict()),
        }
        for d in view.rows
    ]


def diff_csv(view: ParamsDiffView) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["path", view.left, f"{view.left} source", view.right, f"{view.right} source"])
    for d in view.rows:
        writer.writerow([d.path, value_text(d.left), _source(d.left), value_text(d.right), _source(d.right)])
    return out.getvalue()


def diff_table(view: ParamsDiffView) -> Table:
    from rich.table import Table

    table = Table(title=f"{view.left} vs {view.right}: {len(view.rows)} differences")
    for column in ("path", view.left, f"{view.left} source", view.right, f"{view.right} source"):
        table.add_column(column, overflow="fold")
    for d in view.rows:
        table.add_row(d.path, value_text(d.left), _source(d.left), value_text(d.right), _source(d.right))
    return table


def citation_json(citation: Citation) -> dict[str, Any]:
    return citation.as_dict()


def citation_text(citation: Citation) -> str:
    """The full citation, then its fields one per line."""
    lines = [f"{citation.key}: {citation.text()}"]
    if citation.link:
        lines.append(f"  link: {citation.link}")
    lines.append(f"  default quality of values citing it: {citation.quality}")
    if citation.note:
        lines.append(f"  note: {citation.note}")
    return "\n".join(lines)


def citations_json(items: Sequence[Citation]) -> list[dict[str, Any]]:
    return [c.as_dict() for c in items]


def _source(param: CitedValue[Any] | None) -> str:
    if param is None:
        return "(absent)"
    text = f"{param.unit}; {param.source}" + (f" ({param.year})" if param.year else "")
    return text + (f" [{UNVERIFIED_MARK}]" if param.quality == "unverified" else "")


def _blank(item: object) -> str:
    return "" if item is None else str(item)


def _jsonable(data: Any) -> Any:
    if isinstance(data, Mapping):
        return {str(k): _jsonable(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_jsonable(v) for v in data]
    return data
