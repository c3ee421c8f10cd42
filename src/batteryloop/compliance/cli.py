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


# --- producers and regulators ----------------------------------------------------------------------------
