"""``batteryloop analytics``: triage of tested batteries, retirement forecast, collection network (thin:
parse, one service call, render through :mod:`batteryloop.analytics.report`).
"""

from __future__ import annotations

from operator import itemgetter
from pathlib import Path
from typing import Annotated, Any

import typer

from batteryloop import clikit

analytics_app = typer.Typer(
    help="Triage (reuse or recycle), retirement forecast and collection-network design.", no_args_is_help=True
)

ProfileOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--profile", help="Override file(s) of the grading profile (TOML/YAML, same layout, partial)."
    ),
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
    xlsx: Annotated[
        Path | None, typer.Option("--xlsx", help="Also write the decisions and checks here.")
    ] = None,
    record: Annotated[
        bool,
        typer.Option(
            "--record",
            help="Also write one BatteryGraded event per battery to the ledger (ids = battery ids), signed "
            "by --org: all or nothing.",
        ),
    ] = False,
    org: Annotated[
        str | None, typer.Option("--org", help="With --record: the organisation holding the batteries")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at", help="With --record: when they were graded, ISO 8601 with a time zone (default: now)"
        ),
    ] = None,
    db: clikit.DbOption = None,
) -> None:
    """Grade and route tested batteries: reuse, remanufacture, repurpose or recycle, threshold by threshold.

    Columns: id, chemistry, level (cell/module/pack/system), soh_pct, dcir_mohm, dcir_bol_mohm,
    self_discharge_mv_per_day, capacity_spread_pct, voltage_spread_mv (empty for cells),
    insulation_ohm_per_v, negative_events, visual_damage, history (true/false), age_years (optional).
    """
    from batteryloop.analytics import report, service

    fmt = clikit.output_format(as_json, as_csv)
    clikit.existing_file(file)
    if record and org is None:
        raise clikit.fail("--record needs --org, the organisation that holds the batteries and signs")
    if not record and (org is not None or at is not None):
        raise clikit.fail("--org and --at go with --record")
    occurred_at = clikit.aware_datetime(at, option="--at") if at is not None else None
    with clikit.user_errors():
        text = file.read_text(encoding="utf-8-sig")
        outcome = service.triage_csv(text, overrides=profile or ())
    appended = None
    if record:
        assert org is not None
        appended = _record(outcome, org=org, occurred_at=occurred_at, db=db)
    if xlsx is not None:
        _write(xlsx, report.triage_to_xlsx(outcome))
    if fmt is clikit.OutputFormat.JSON:
        clikit.print_json(report.triage_to_dict(outcome))
    elif fmt is clikit.OutputFormat.CSV:
        typer.echo(report.triage_to_csv(outcome), nl=False)
    else:
        summary = report.triage_summary(outcome)
        columns = [
            clikit.Column(key, key, itemgetter(k), numeric=key.endswith("pct"))
            for k, key in enumerate(report.TRIAGE_COLUMNS)
            if key != "family"
        ]
        counts = ", ".join(f"{route} {n:,}" for route, n in summary["routes"].items())
        clikit.emit(
            report.triage_rows(outcome),
            columns,
            fmt,
            title="Triage",
            footer=f"{len(outcome.result):,} batteries: {counts}",
        )
    if appended is not None:
        clikit.err_console().print(
            f"recorded: {appended['appended']:,} BatteryGraded events appended, "
            f"{appended['duplicates']:,} already in the ledger (batch {appended['batch_id']})",
            soft_wrap=True,
            highlight=False,
            markup=False,
        )
    _notice(outcome.unverified)


def _record(outcome: Any, *, org: str, occurred_at: Any, db: str | None) -> dict[str, Any]:
    """Append the gradings of ``outcome`` as ``org`` (signed with its key in the local key store)."""
    from datetime import UTC, datetime

    from batteryloop.analytics import report, service
    from batteryloop.config import Settings
    from batteryloop.ledger import KeyStore, Ledger, keystore_dir_for

    with clikit.user_errors():
        settings = Settings.from_env(database_url=db)
    clikit.require_database(settings.database_url)
    with clikit.user_errors():
        ledger = Ledger.open(settings.database_url, create=False, settings=settings.ledger)
        try:
            batch = service.grading_batch(outcome, actor=org, occurred_at=occurred_at or datetime.now(UTC))
            result = service.record_grading_locally(
                ledger, batch, keystore=KeyStore(keystore_dir_for(settings.database_url))
            )
        finally:
            ledger.close()
    return report.append_to_dict(result)


@analytics_app.command("forecast")
def forecast_command(
    source: Annotated[
        str,
        typer.Option(
            "--source", help="defaults (cited sales series), ledger (packs placed on the market) or both"
        ),
    ] = "defaults",
    db: clikit.DbOption = None,
    first_year: Annotated[int, typer.Option("--from", help="First forecast year")] = 2020,
    last_year: Annotated[int, typer.Option("--to", help="Last forecast year")] = 2040,
    draws: Annotated[int, typer.Option(help="Parameter draws for the low/high band")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the draws")] = 0,
    metric: Annotated[str, typer.Option(help="Table and chart metric: units, gwh or tonnes")] = "gwh",
    no_scrap: Annotated[bool, typer.Option("--no-scrap", help="Leave production scrap out")] = False,
    as_json: clikit.JsonOption = False,
    as_csv: clikit.CsvOption = False,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Also write the workbook here.")] = None,
    chart: Annotated[
        Path | None, typer.Option("--chart", help="Also write an SVG chart with bands here.")
    ] = None,
) -> None:
    """Retired batteries per region, year and chemistry (units, GWh, tonnes) with low/central/high bands."""
    from batteryloop.analytics import report, service
    from batteryloop.analytics.core.forecast import METRICS

    fmt = clikit.output_format(as_json, as_csv)
    if metric not in METRICS:
        raise clikit.fail(f"--metric must be one of {', '.join(METRICS)}, got {metric!r}")
    options: dict[str, Any] = {
        "first_year": first_year,
        "last_year": last_year,
        "draws": draws,
        "seed": seed,
        "scrap": not no_scrap,
    }
    with clikit.user_errors():
        if source == "defaults":
            outcome = service.forecast(None, source=source, **options)
        else:
            from batteryloop.config import Settings
            from batteryloop.ledger import Ledger

            settings = Settings.from_env(database_url=db)
            clikit.require_database(settings.database_url)
            ledger = Ledger.open(settings.database_url, create=False, settings=settings.ledger)
            try:
                outcome = service.forecast(ledger, source=source, **options)
            finally:
                ledger.close()
    if xlsx is not None:
        _write(xlsx, report.forecast_to_xlsx(outcome))
    if chart is not None:
        _write(chart, report.forecast_chart(outcome, metric=metric))
    if fmt is clikit.OutputFormat.JSON:
        clikit.print_json(report.forecast_to_dict(outcome))
    elif fmt is clikit.OutputFormat.CSV:
        typer.echo(report.forecast_to_csv(outcome), nl=False)
    else:
        data = report.forecast_to_dict(outcome, rows=False)
        unit = report.METRIC_UNITS[metric]
        regions = data["regions"]
        table = clikit.fitted_table(
            "year",
            *(f"{r}" for r in regions),
            "world low",
            "world central",
            "world high",
            title=f"Retirements ({unit}/yr, sources: {', '.join(outcome.sources)})",
            numeric=[True] * (len(regions) + 4),
        )
        world = data["world"][metric]
        for t, year in enumerate(data["years"]):
            table.add_row(
                str(year),
                *(f"{data['bands'][metric][r]['central'][t]:,.1f}" for r in regions),
                *(f"{world[k][t]:,.1f}" for k in ("low", "central", "high")),
            )
        clikit.console().print(table)
        if outcome.ledger_missing_energy:
            clikit.console().print(
                f"{outcome.ledger_missing_energy:,} ledger packs had no rated energy: counted in units only"
            )
    _notice(outcome.unverified)


@analytics_app.command("network")
def network_command(
    file: Annotated[Path, typer.Argument(help="Network file (TOML or JSON): years, points, spokes, hubs.")],
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="Solver time limit in seconds")
    ] = None,
    as_json: clikit.JsonOption = False,
    as_csv: clikit.CsvOption = False,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Also write the workbook here.")] = None,
) -> None:
    """Choose spoke (pre-treatment) and hub (refining) sites and flows at least total cost (MILP, HiGHS)."""
    from batteryloop.analytics import report, service

    fmt = clikit.output_format(as_json, as_csv)
    clikit.existing_file(file)
    with clikit.user_errors():
        outcome = service.design_network(service.read_network_file(file), time_limit_s=time_limit)
    if xlsx is not None:
        _write(xlsx, report.network_to_xlsx(outcome))
    if fmt is clikit.OutputFormat.JSON:
        clikit.print_json(report.network_to_dict(outcome))
    elif fmt is clikit.OutputFormat.CSV:
        typer.echo(report.network_to_csv(outcome), nl=False)
    else:
        data = report.network_to_dict(outcome)
        columns = [
            clikit.Column(key, key, itemgetter(k), numeric=k >= 3)
            for k, key in enumerate(report.UTILISATION_COLUMNS)
        ]
        rows = [r for r in report.network_utilisation_rows(outcome) if r[5] is not None]
        status = "optimal" if data["proven_optimal"] else f"best found, gap {data['mip_gap']:.2%}"
        footer = (
            f"total {data['total_cost_usd']:,.0f} USD ({status}); {data['collected_t']:,.0f} t collected; "
            f"{data['cost_usd_per_t']:,.2f} USD/t"
        )
        clikit.emit(rows, columns, fmt, title="Open sites: throughput and utilisation", footer=footer)
    _notice(outcome.unverified)


@analytics_app.command("soh")
def soh_command(
    file: Annotated[Path, typer.Argument(help="CSV of one full discharge: time_s,current_a (A, positive).")],
    rated_ah: Annotated[float, typer.Option("--rated-ah", help="Rated capacity in Ah")],
) -> None:
    """Capacity (coulomb counting) and state of health of one full discharge; prints JSON."""
    from batteryloop.analytics import report, service

    clikit.existing_file(file)
    with clikit.user_errors():
        estimate = service.estimate_soh_csv(file.read_text(encoding="utf-8-sig"), rated_ah=rated_ah)
    clikit.print_json(report.soh_to_dict(estimate))


@analytics_app.command("rul")
def rul_command(
    file: Annotated[Path, typer.Argument(help="CSV of SOH observations: cycles,soh_pct.")],
    eol: Annotated[float, typer.Option("--eol", help="End-of-life SOH in %")] = 80.0,
) -> None:
    """Fit the fade model SOH = 100 - a n^z and print the end of life and remaining cycles as JSON."""
    from batteryloop.analytics import report, service

    clikit.existing_file(file)
    with clikit.user_errors():
        fit = service.fit_fade_csv(file.read_text(encoding="utf-8-sig"), eol_pct=eol)
    clikit.print_json(report.fade_to_dict(fit))
