"""``batteryloop compliance``: rule packs, recyclers' targets, producers' obligations, leakage and performance
(thin: parse, one service call, render through :mod:`batteryloop.compliance.report`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from batteryloop import clikit

compliance_app = typer.Typer(
    help="Producer responsibility and compliance: EPR, recycling targets, white list, leakage.",
    no_args_is_help=True,
)


@compliance_app.callback()
def compliance() -> None:
    """Producer responsibility and compliance: EPR, recycling targets, white list, leakage."""


@compliance_app.command("rules")
def rules_command(
    jurisdiction: Annotated[
        str | None, typer.Argument(help="A jurisdiction's code (eu, cn, ...); none lists the packs.")
    ] = None,
    prefix: Annotated[str, typer.Option("--prefix", help="Only rules under this dotted path.")] = "",
    override: Annotated[
        list[Path] | None, typer.Option("--override", help="Override file(s) of the pack (TOML, partial).")
    ] = None,
    as_json: clikit.JsonOption = False,
    as_csv: clikit.CsvOption = False,
) -> None:
    """Show a jurisdiction's rules (targets, thresholds, deadlines), each with its source, or list the packs."""
    from batteryloop.compliance import report, service

    fmt = clikit.output_format(as_json, as_csv)
    with clikit.user_errors():
        if jurisdiction is None:
            packs = service.list_rule_packs()
            clikit.emit(
                packs,
                [
                    clikit.Column("code", "Jurisdiction", lambda s: s.code),
                    clikit.Column("description", "Description", lambda s: s.description),
                    clikit.Column("rules", "Rules", lambda s: s.rules, numeric=True),
                ],
                fmt,
                title="Rule packs",
                document=[report.pack_summary_to_dict(s) for s in packs],
            )
            return
        view = service.rule_pack(jurisdiction, prefix=prefix, overrides=override or ())
    clikit.emit(
        view.rules,
        [
            clikit.Column("path", "Rule", lambda r: r[0]),
            clikit.Column("value", "Value", lambda r: r[1]["value"]),
            clikit.Column("unit", "Unit", lambda r: r[1]["unit"]),
            clikit.Column(
                "source", "Source", lambda r: f"{r[1]['source']} {r[1].get('locator') or ''}".strip()
            ),
        ],
        fmt,
        title=f"{view.code}: {view.description}",
        document=report.rules_to_dict(view),
    )


# --- recyclers -------------------------------------------------------------------------------------------

from typing import Any  # noqa: E402

from batteryloop.compliance import report as _report  # noqa: E402

_XlsxOption = Annotated[
    Path | None, typer.Option("--xlsx", help="Also write the report as an XLSX workbook to this file.")
]
_YearOption = Annotated[int | None, typer.Option("--year", help="Only this calendar year.")]
_AtOption = Annotated[
    int | None, typer.Option("--at-position", help="Compute as of this ledger position (default: its head).")
]


def _open_ledger(db: str | None) -> Any:
    from batteryloop.config import Settings
    from batteryloop.ledger import Ledger

    settings = Settings.from_env(database_url=db)
    clikit.require_database(settings.database_url)
    return Ledger.open(settings.database_url, create=False, settings=settings.ledger)


_FIGURE_COLUMNS = [
    clikit.Column("section", "Figure", lambda r: r["section"]),
    clikit.Column("subject", "Subject", lambda r: r["subject"]),
    clikit.Column("year", "Year", lambda r: r["year"]),
    clikit.Column("value_pct", "Value %", lambda r: r["value_pct"], numeric=True),
    clikit.Column("target_pct", "Target %", lambda r: r["target_pct"], numeric=True),
    clikit.Column("status", "Status", lambda r: r["status"]),
    clikit.Column("lots", "Lots", lambda r: r["lots"]),
]


@compliance_app.command("recycler")
def recycler_command(
    recycler: Annotated[str, typer.Argument(help="The recycler's organisation id.")],
    jurisdiction: Annotated[
        str, typer.Option("--jurisdiction", "-j", help="Rule pack (eu, cn, ...).")
    ] = "eu",
    year: _YearOption = None,
    at_position: _AtOption = None,
    xlsx: _XlsxOption = None,
    override: Annotated[
        list[Path] | None,
        typer.Option("--override", help="Override file(s) of the rule pack (TOML, partial)."),
    ] = None,
    db: clikit.DbOption = None,
    as_json: clikit.JsonOption = False,
    as_csv: clikit.CsvOption = False,
) -> None:
    """A recycler's recycling efficiency, material recovery, white-list conditions and late or missing
    traceability reports from its lots in the ledger, against the jurisdiction's targets."""
    from batteryloop.compliance import service

    fmt = clikit.output_format(as_json, as_csv)
    with clikit.user_errors():
        ledger = _open_ledger(db)
        try:
            result = service.recycler_report(
                ledger,
                recycler=recycler,
                jurisdiction=jurisdiction,
                year=year,
                at_position=at_position,
                overrides=override or (),
            )
        finally:
            ledger.close()
    if xlsx is not None:
        xlsx.write_bytes(_report.recycler_xlsx(result))
    if fmt is clikit.OutputFormat.CSV:
        typer.echo(_report.recycler_csv(result), nl=False)
        return
    clikit.emit(
        _report.recycler_rows(result),
        _FIGURE_COLUMNS,
        fmt,
        title=f"{recycler} under {jurisdiction}: " + "; ".join(_report.position_lines(result.point)),
        document=_report.recycler_report_to_dict(result),
    )


@compliance_app.command("planned-plant")
def planned_plant_command(
    scenario_file: Annotated[
        Path, typer.Argument(help="A recycling scenario (TOML/YAML) of the planned plant.")
    ],
    year: Annotated[int, typer.Option("--year", help="Year whose targets the plant is checked against.")],
    jurisdiction: Annotated[
        str, typer.Option("--jurisdiction", "-j", help="Rule pack (eu, cn, ...).")
    ] = "eu",
    chemistry_group: Annotated[
        str, typer.Option("--chemistry-group", help="Chemistry group of the feed (Annex XII Part B).")
    ] = "lithium",
    as_json: clikit.JsonOption = False,
    as_csv: clikit.CsvOption = False,
) -> None:
    """Check a planned plant before it runs: the recycling model proposes the lots it expects from its route,
    and those are checked against the targets."""
    from batteryloop.compliance import service
    from batteryloop.recycling.core.scenario import load_scenario

    fmt = clikit.output_format(as_json, as_csv)
    with clikit.user_errors():
        result = service.planned_plant(
            load_scenario(clikit.existing_file(scenario_file)),
            jurisdiction=jurisdiction,
            year=year,
            chemistry_group=chemistry_group,
        )
    if fmt is clikit.OutputFormat.CSV:
        typer.echo(_report.recycler_csv(result), nl=False)
        return
    clikit.emit(
        _report.recycler_rows(result),
        _FIGURE_COLUMNS,
        fmt,
        title=f"planned plant under {jurisdiction}, {year}",
        document=_report.recycler_report_to_dict(result),
    )


@compliance_app.command("recycled-content")
def recycled_content_command(
    producer: Annotated[str | None, typer.Option("--producer", help="Only this producer's models.")] = None,
    jurisdiction: Annotated[str, typer.Option("--jurisdiction", "-j", help="Rule pack.")] = "eu",
    at_position: _AtOption = None,
    db: clikit.DbOption = None,
    as_json: clikit.JsonOption = False,
    as_csv: clikit.CsvOption = False,
) -> None:
    """Recycled-content shares per battery model and year, backed by recyclers' output lots, against the
    Art. 8 minimums of 2031 and 2036."""
    from batteryloop.compliance import service

    fmt = clikit.output_format(as_json, as_csv)
    with clikit.user_errors():
        ledger = _open_ledger(db)
        try:
            result = service.recycled_content(
                ledger, jurisdiction=jurisdiction, producer=producer, at_position=at_position
            )
        finally:
            ledger.close()
    document = _report.recycled_content_to_dict(result)
    clikit.emit(
        document["rows"],
        [
            clikit.Column("producer", "Producer", lambda r: r["producer"]),
            clikit.Column("model", "Model", lambda r: r["model"]),
            clikit.Column("year", "Year", lambda r: r["year"]),
            clikit.Column("element", "Element", lambda r: r["element"]),
            clikit.Column("share_pct", "Recycled %", lambda r: r["share_pct"], numeric=True),
            clikit.Column(
                "minimum_pct",
                "Minimum %",
                lambda r: (r["applicable"] or r["minimum_2031"] or {}).get("value_pct"),
                numeric=True,
            ),
            clikit.Column("status", "Status", lambda r: r["status"]),
            clikit.Column("lots", "Lots", lambda r: " ".join(r["lots"])),
        ],
        fmt,
        title="Recycled content; " + "; ".join(_report.position_lines(result.point)),
        document=document,
    )


@compliance_app.command("traceability")
def traceability_command(
    jurisdiction: Annotated[str, typer.Option("--jurisdiction", "-j", help="Rule pack.")] = "cn",
    at_position: _AtOption = None,
    db: clikit.DbOption = None,
    as_json: clikit.JsonOption = False,
    as_csv: clikit.CsvOption = False,
) -> None:
    """Late or missing traceability reports against each actor's deadline (working days)."""
    from batteryloop.compliance import service

    fmt = clikit.output_format(as_json, as_csv)
    with clikit.user_errors():
        ledger = _open_ledger(db)
        try:
            point, findings = service.traceability_findings(
                ledger, jurisdiction=jurisdiction, at_position=at_position
            )
        finally:
            ledger.close()
    document = _report.traceability_to_dict(point, findings)
    clikit.emit(
        document["findings"],
        [
            clikit.Column("status", "Status", lambda r: r["status"]),
            clikit.Column("actor", "Actor", lambda r: r["actor"]),
            clikit.Column("battery_id", "Battery", lambda r: r["battery_id"]),
            clikit.Column("event_type", "Event", lambda r: r["event_type"]),
            clikit.Column("occurred_on", "Occurred", lambda r: r["occurred_on"]),
            clikit.Column("recorded_on", "Recorded", lambda r: r["recorded_on"]),
            clikit.Column("working_days", "Working days", lambda r: r["working_days"], numeric=True),
            clikit.Column("deadline", "Deadline", lambda r: r["deadline_working_days"], numeric=True),
        ],
        fmt,
        title="Traceability reports; " + "; ".join(_report.position_lines(point)),
        document=document,
    )


# --- producers and regulators ----------------------------------------------------------------------------
