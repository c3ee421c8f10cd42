"""``batteryloop analytics``: triage of tested batteries, retirement forecast, collection network (thin:
parse, one service call, render through :mod:`batteryloop.analytics.report`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from batteryloop import clikit

analytics_app = typer.Typer(
    help="Triage (reuse or recycle), retirement forecast and collection-network design.", no_args_is_help=True
)

ProfileOption = Annotated[
    list[Path] | None,
    typer.Option("--profile", help="Override file(s) of the grading profile (TOML/YAML, same layout, partial)."),
]


@analytics_app.callback()
def analytics() -> None:
    """Triage (reuse or recycle), retirement forecast and collection-network design."""


def _write(path: Path, data: bytes | str) -> None:
    clikit.existing_folder(path)
    with clikit.user_errors():
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")


def _notice(unverified: tuple[str, ...]) -> None:
    from batteryloop.reference.values import unverified_line

    line = unverified_line(unverified)
    if line:
        clikit.err_console().print(f"note: {line}", soft_wrap=True, highlight=False, markup=False)


@analytics_app.command("triage")
def triage_command(
    file: Annotated[Path, typer.Argument(help="CSV with one row per tested battery (pack, module or cell).")],
    profile: ProfileOption = None,
    as_json: clikit.JsonOption = False,
    as_csv: clikit.CsvOption = False,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Also write the decisions and checks here.")] = None,
) -> None:
    """Grade and route tested batteries: reuse, remanufacture, repurpose or recycle, threshold by threshold.

    Columns: id, chemistry, level (cell/module/pack/system), soh_pct, dcir_mohm, dcir_bol_mohm,
    self_discharge_mv_per_day, capacity_spread_pct, voltage_spread_mv (empty for cells),
    insulation_ohm_per_v, negative_events, visual_damage, history (true/false), age_years (optional).
    """
    from batteryloop.analytics import report, service

    fmt = clikit.output_format(as_json, as_csv)
    clikit.existing_file(file)
    with clikit.user_errors():
        text = file.read_text(encoding="utf-8-sig")
        outcome = service.triage_csv(text, overrides=profile or ())
    if xlsx is not None:
        _write(xlsx, report.triage_to_xlsx(outcome))
    if fmt is clikit.OutputFormat.JSON:
        clikit.print_json(report.triage_to_dict(outcome))
    elif fmt is clikit.OutputFormat.CSV:
        typer.echo(report.triage_to_csv(outcome), nl=False)
    else:
        summary = report.triage_summary(outcome)
        columns = [
            clikit.Column(key, key, lambda row, k=k: row[k], numeric=key.endswith("pct"))
            for k, key in enumerate(report.TRIAGE_COLUMNS)
            if key != "family"
        ]
        counts = ", ".join(f"{route} {n:,}" for route, n in summary["routes"].items())
        clikit.emit(report.triage_rows(outcome), columns, fmt, title="Triage", footer=f"{len(outcome.result):,} batteries: {counts}")
    _notice(outcome.unverified)
