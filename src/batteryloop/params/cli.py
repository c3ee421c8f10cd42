"""``batteryloop params``: show, cite, list and diff the cited data of every capability (thin: parse, call, render)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from batteryloop.domain.errors import BatteryloopError
from batteryloop.params import report
from batteryloop.reference import service

params_app = typer.Typer(
    help="Cited reference data of every capability: values, units, sources, quality.", no_args_is_help=True
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="Print CSV")]


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(code=2)


def _emit(data: Any = None, *, csv_text: str | None = None, table: Any = None) -> None:
    if csv_text is not None:
        typer.echo(csv_text, nl=False)
    elif table is not None:
        from rich.console import Console

        Console().print(table)
    else:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _format(as_json: bool, as_csv: bool) -> str:
    if as_json and as_csv:
        raise _fail(ValueError("choose one of --json and --csv"))
    return "json" if as_json else "csv" if as_csv else "table"


@params_app.command("show")
def params_show(
    name: Annotated[
        str, typer.Argument(help="Data set name (see `params list`), set directory or TOML file")
    ] = ("everbatt2023"),
    prefix: Annotated[str, typer.Option("--prefix", help="Only paths under this prefix, e.g. prices")] = "",
    override: Annotated[
        list[Path] | None, typer.Option("--override", help="TOML/YAML override file(s)")
    ] = None,
    unverified: Annotated[bool, typer.Option("--unverified", help="Only the unverified values")] = False,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Print a data set's values with unit, source key, year and quality (unverified values are marked)."""
    fmt = _format(as_json, as_csv)
    try:
        view = service.show(name, prefix=prefix, overrides=override or (), unverified_only=unverified)
    except (BatteryloopError, ValueError) as exc:
        raise _fail(exc) from None
    if fmt == "json":
        _emit(report.view_json(view))
    elif fmt == "csv":
        _emit(csv_text=report.view_csv(view))
    else:
        _emit(table=report.view_table(view))


@params_app.command("cite")
def params_cite(
    key: Annotated[str, typer.Argument(help="Source key, as in the `source` column of `params show`")],
    as_json: JsonOpt = False,
) -> None:
    """Print the full citation of a source key: authors or publisher, title, year, URL or DOI."""
    try:
        citation = service.cite(key)
    except BatteryloopError as exc:
        raise _fail(exc) from None
    if as_json:
        _emit(report.citation_json(citation))
    else:
        typer.echo(report.citation_text(citation))


@params_app.command("list")
def params_list(
    citations: Annotated[
        bool, typer.Option("--citations", help="List the citation registry instead")
    ] = False,
    used_by: Annotated[
        str | None, typer.Option("--used-by", help="With --citations: only the sources this data set cites")
    ] = None,
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """List the data sets shipped with batteryloop (with their unverified counts), or the citation registry."""
    fmt = _format(as_json, as_csv)
    try:
        if citations or used_by is not None:
            items = service.list_citations(used_by=used_by)
            if fmt == "json":
                _emit(report.citations_json(items))
            else:
                for citation in items:
                    typer.echo(f"{citation.key}: {citation.text()}")
            return
        sets = service.list_sets()
    except BatteryloopError as exc:
        raise _fail(exc) from None
    if fmt == "json":
        _emit(report.sets_json(sets))
    elif fmt == "csv":
        _emit(csv_text=report.sets_csv(sets))
    else:
        for s in sets:
            flag = f"; {s.unverified} unverified" if s.unverified else ""
            typer.echo(f"{s.name}: {s.description} ({s.values} values{flag}) [{s.capability}]")


@params_app.command("diff")
def params_diff(
    left: Annotated[str, typer.Argument(help="First data set")],
    right: Annotated[str, typer.Argument(help="Second data set")],
    prefix: Annotated[str, typer.Option("--prefix", help="Only paths under this prefix")] = "",
    as_json: JsonOpt = False,
    as_csv: CsvOpt = False,
) -> None:
    """Print the values that differ between two data sets, with both sources."""
    fmt = _format(as_json, as_csv)
    try:
        view = service.diff(left, right, prefix=prefix)
    except (BatteryloopError, ValueError) as exc:
        raise _fail(exc) from None
    if fmt == "json":
        _emit(report.diff_json(view))
    elif fmt == "csv":
        _emit(csv_text=report.diff_csv(view))
    else:
        _emit(table=report.diff_table(view))
