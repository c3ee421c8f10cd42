"""``batteryloop compliance``: rule packs, recyclers' targets, producers' obligations, leakage and performance
(thin: parse, one service call, render through :mod:`batteryloop.compliance.report`).
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

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


def _open(db: str | None) -> Any:
    from batteryloop.config import Settings
    from batteryloop.ledger import Ledger

    settings = Settings.from_env(database_url=db)
    clikit.require_database(settings.database_url)
    return Ledger.open(settings.database_url, create=False, settings=settings.ledger)


def _day(text: str | None, option: str) -> date | None:
    from batteryloop.domain.errors import ValidationError

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{option} {text!r} is not a date YYYY-MM-DD") from None


def _getter(key: str) -> Any:
    def get(row: dict[str, Any]) -> Any:
        return row.get(key)

    return get


def _caller(ledger: Any, org: str | None) -> Any:
    return None if org is None else ledger.get_organisation(org)


@compliance_app.command("register")
def register_command(
    producer: Annotated[str, typer.Argument(help="The producer's organisation id.")],
    country: Annotated[str, typer.Option("--country", help="Country of the register (ISO 3166-1 alpha-2).")],
    brand: Annotated[list[str], typer.Option("--brand", help="A brand it makes available (repeat).")],
    category: Annotated[list[str], typer.Option("--category", help="A battery category (repeat).")],
    chemistry: Annotated[list[str], typer.Option("--chemistry", help="A chemistry (repeat).")],
    pro: Annotated[
        str | None, typer.Option("--pro", help="The PRO it fulfils EPR through (none: individually).")
    ] = None,
    on: Annotated[
        str | None, typer.Option("--on", help="Registration date YYYY-MM-DD (default: today).")
    ] = None,
    reference: Annotated[str, typer.Option("--reference", help="The register's number.")] = "",
    db: clikit.DbOption = None,
    as_json: clikit.JsonOption = False,
) -> None:
    """Register a producer in a country's register of producers (Art. 55 of (EU) 2023/1542)."""
    from batteryloop.compliance import report, service
    from batteryloop.domain.registration import ProducerRegistration

    with clikit.user_errors():
        ledger = _open(db)
        try:
            reg = service.register_producer(
                ledger,
                ProducerRegistration(
                    producer=producer,
                    country=country,
                    brands=tuple(brand),
                    categories=tuple(category),
                    chemistries=tuple(chemistry),
                    registered_on=_day(on, "--on") or date.today(),
                    pro=pro,
                    reference=reference,
                ),
            )
        finally:
            ledger.close()
    doc = report.registration_to_dict(reg)
    if as_json:
        clikit.print_json(doc)
    else:
        clikit.console().print(f"registered {reg.producer} in {reg.country}")


@compliance_app.command("registrations")
def registrations_command(
    producer: Annotated[str | None, typer.Option("--producer", help="Only this producer.")] = None,
    country: Annotated[str | None, typer.Option("--country", help="Only this country.")] = None,
    db: clikit.DbOption = None,
    as_json: clikit.JsonOption = False,
    as_csv: clikit.CsvOption = False,
) -> None:
    """The register of producers: the registration in force per producer and country."""
    from batteryloop.compliance import report, service

    fmt = clikit.output_format(as_json, as_csv)
    with clikit.user_errors():
        ledger = _open(db)
        try:
            regs = service.producer_registrations(ledger, producer=producer, country=country)
        finally:
            ledger.close()
    clikit.emit(
        regs,
        [
            clikit.Column("producer", "Producer", lambda r: r.producer),
            clikit.Column("country", "Country", lambda r: r.country),
            clikit.Column("brands", "Brands", lambda r: " ".join(r.brands)),
            clikit.Column("categories", "Categories", lambda r: " ".join(r.categories)),
            clikit.Column("chemistries", "Chemistries", lambda r: " ".join(r.chemistries)),
            clikit.Column("pro", "PRO", lambda r: r.pro or "-"),
            clikit.Column("registered_on", "Since", lambda r: r.registered_on.isoformat()),
        ],
        fmt,
        title="Register of producers",
        document=[report.registration_to_dict(r) for r in regs],
    )


@compliance_app.command("epr")
def epr_command(
    jurisdiction: Annotated[str, typer.Argument(help="A jurisdiction's code (eu, cn, ...).")],
    year: Annotated[
        int | None, typer.Option("--year", help="Reporting year of the collection rates.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date closing the leakage window (YYYY-MM-DD).")
    ] = None,
    producer: Annotated[str | None, typer.Option("--producer", help="One producer's obligations.")] = None,
    as_org: Annotated[
        str | None, typer.Option("--as", help="See the report as this organisation does.")
    ] = None,
    parquet: Annotated[
        list[Path] | None, typer.Option("--parquet", help="Read this Parquet export instead of the ledger.")
    ] = None,
    override: Annotated[
        list[Path] | None, typer.Option("--override", help="Override file(s) of the pack.")
    ] = None,
    section: Annotated[
        str, typer.Option("--section", help="Section for --csv and the table.")
    ] = "collection",
    xlsx: Annotated[
        Path | None, typer.Option("--xlsx", help="Also write the whole report to this workbook.")
    ] = None,
    db: clikit.DbOption = None,
    as_json: clikit.JsonOption = False,
    as_csv: clikit.CsvOption = False,
) -> None:
    """Producers' obligations and the regulator's view: placed on market, collection rates against targets,
    take-back, leakage, carbon and resource performance, traceability lateness, at the ledger's position."""
    from batteryloop.compliance import report, service

    with clikit.user_errors():
        if section not in report.EPR_SECTIONS:
            from batteryloop.domain.errors import ValidationError

            raise ValidationError(f"--section {section!r} is not one of {', '.join(report.EPR_SECTIONS)}")
        ledger = None if parquet and as_org is None and db is None else _open(db)
        try:
            result = service.epr_report(
                ledger,
                jurisdiction=jurisdiction,
                year=year,
                as_of=_day(as_of, "--as-of"),
                caller=_caller(ledger, as_org),
                producer=producer,
                overrides=override or (),
                parquet=parquet or (),
            )
        finally:
            if ledger is not None:
                ledger.close()
        if xlsx is not None:
            clikit.existing_folder(xlsx.parent)
            xlsx.write_bytes(report.epr_report_xlsx(result))
    if as_json:
        clikit.print_json(report.epr_report_to_dict(result))
        return
    if as_csv:
        sys.stdout.write(report.epr_section_csv(result, section))
        return
    doc = report.epr_report_to_dict(result)
    rows = doc[section]
    point = doc["ledger"]
    title = f"{jurisdiction} {section}, ledger position {point['position']}"
    if point["signed_tree_head"]:
        title += f", signed head {point['signed_tree_head']['size']}"
    keys = list(rows[0]) if rows else ["(none)"]
    clikit.emit(
        rows,
        [clikit.Column(k, k, _getter(k)) for k in keys],
        clikit.output_format(False, False),
        title=title,
        document=rows,
    )


@compliance_app.command("batteries")
def batteries_command(
    jurisdiction: Annotated[str, typer.Argument(help="A jurisdiction's code (eu, cn, ...).")],
    figure: Annotated[
        str, typer.Argument(help="placed, collected, not_taken_back, leaked, compliant, processed")
    ],
    producer: Annotated[str | None, typer.Option("--producer")] = None,
    country: Annotated[str | None, typer.Option("--country")] = None,
    category: Annotated[str | None, typer.Option("--category")] = None,
    year: Annotated[int | None, typer.Option("--year")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of")] = None,
    as_org: Annotated[
        str | None, typer.Option("--as", help="See the list as this organisation does.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit")] = 1000,
    db: clikit.DbOption = None,
    as_json: clikit.JsonOption = False,
    as_csv: clikit.CsvOption = False,
) -> None:
    """The batteries behind one figure of the report."""
    from batteryloop.compliance import report, service

    fmt = clikit.output_format(as_json, as_csv)
    with clikit.user_errors():
        ledger = _open(db)
        try:
            rows = service.figure_batteries(
                ledger,
                jurisdiction=jurisdiction,
                figure=figure,
                caller=_caller(ledger, as_org),
                producer=producer,
                country=country,
                category=category,
                year=year,
                as_of=_day(as_of, "--as-of"),
                limit=limit,
            )
        finally:
            ledger.close()
    doc = report.figure_rows_to_list(rows)
    keys = list(doc[0]) if doc else ["battery_id"]
    clikit.emit(doc, [clikit.Column(k, k, _getter(k)) for k in keys], fmt, title=figure, document=doc)
