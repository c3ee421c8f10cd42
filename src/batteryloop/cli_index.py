"""The index of the `batteryloop` command line, without Typer or Click: every mounted command by name, module
and help, and the root help drawn from them with Rich alone.

`batteryloop --help` is answered from here (:func:`main`, the console script) without importing Typer, Click
or any capability; every other invocation goes to :data:`batteryloop.cli.app`. A test checks that this help
is the one the Typer app draws.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

ABOUT = "Traceability, battery passports, EPR compliance and recycling economics for the battery loop."


@dataclass(frozen=True, slots=True)
class Mount:
    """A command (a function) or command group (a Typer app) at ``target`` ("module:attribute"), listed
    under ``name`` with ``help`` (the first line of its own help) without importing it."""

    name: str
    target: str
    help: str


MOUNTS: tuple[Mount, ...] = (
    Mount("init", "batteryloop.ledger.cli:init", "Create the database (or upgrade it to the newest schema)."),
    Mount("org", "batteryloop.orgs.cli:org_app", "Organisations, their signing keys and API keys."),
    Mount("battery", "batteryloop.ledger.cli:battery_app", "Battery units: register, list and search them."),
    Mount("events", "batteryloop.ledger.cli:events_app", "Ledger events."),
    Mount("trace", "batteryloop.ledger.cli:trace", "Show a battery's tree, custody chain and history, and check its hash chain."),
    Mount("verify", "batteryloop.ledger.cli:verify", "Recompute every hash, chain, Merkle root, signature and checkpoint; name the first broken event."),
    Mount("export", "batteryloop.ledger.cli:export", "Export the whole ledger (for analytics: Parquet reads in DuckDB, Polars or Spark)."),
    Mount("ledger", "batteryloop.ledger.cli:ledger_app", "Ledger maintenance."),
    Mount("passport", "batteryloop.passport.cli:passport_app", "EU battery passports (Reg. (EU) 2023/1542 Art. 77, Annex XIII)."),
    Mount("document", "batteryloop.documents.cli:document_app", "Documents passports link to, stored by content hash (sha256)."),
    Mount("recycle", "batteryloop.recycling.cli:recycle_app", "Recycling line: flowsheet, mass balance, economics, carbon."),
    Mount("params", "batteryloop.params.cli:params_app", "Cited reference data of every capability: values, units, sources, quality."),
    Mount("fleet", "batteryloop.fleet.cli:fleet_app", "Synthetic fleets (seeded, cited defaults)."),
    Mount("analytics", "batteryloop.analytics.cli:analytics_app", "Triage (reuse or recycle), retirement forecast and collection-network design."),
    Mount("log", "batteryloop.transparency.cli:log_app", "The transparency log: signed tree heads, inclusion and consistency proofs, published heads."),
    Mount("verify-passport", "batteryloop.transparency.cli:verify_passport", "Check a battery's proof bundle without the database: signatures, hashes, chain, inclusion, consistency."),
    Mount("compliance", "batteryloop.compliance.cli:compliance_app", "Producer responsibility and compliance: EPR, recycling targets, white list, leakage."),
    Mount("quote", "batteryloop.recycling.cli:quote_command", "Quote a lot: contained and recoverable value, and the price to pay or the fee to charge."),
)  # fmt: skip
LOCAL_COMMANDS: tuple[tuple[str, str], ...] = (
    ("demo", "Build a SQLite ledger of a synthetic fleet and show what it holds."),
    ("serve", "Run the REST API and the web pages (uvicorn)."),
)
"""The commands defined in :mod:`batteryloop.cli` itself, with the first line of their help."""

ROOT_OPTIONS: tuple[tuple[str, str], ...] = (
    ("--install-completion", "Install completion for the current shell."),
    ("--show-completion", "Show completion for the current shell, to copy it or customize the installation."),
    ("--help", "Show this message and exit."),
)
"""The root's options as Typer declares them."""


def render_root_help(
    out: Any,
    *,
    prog: str,
    about: str,
    options: Sequence[tuple[str, str]],
    commands: Sequence[tuple[str, str]],
) -> None:
    """Usage, about, and the Options and Commands panels, on the Rich console ``out``."""
    from rich import box
    from rich.padding import Padding
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    usage = Text.assemble(("Usage: ", "bold"), f"{prog} [OPTIONS] COMMAND [ARGS]...")
    out.print(Padding(usage, (1, 1)))
    out.print(Padding(Text(about), (0, 1, 1, 1)))
    for title, rows in (("Options", options), ("Commands", commands)):
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold cyan", no_wrap=True)
        grid.add_column(overflow="fold")
        for name, text in rows:
            grid.add_row(name, text)
        out.print(Panel(grid, title=title, title_align="left", box=box.ROUNDED, border_style="dim"))


def root_help(out: Any) -> None:
    render_root_help(
        out,
        prog="batteryloop",
        about=ABOUT,
        options=ROOT_OPTIONS,
        commands=[*((m.name, m.help) for m in MOUNTS), *LOCAL_COMMANDS],
    )


def main() -> None:
    """The console script: the root help from the index, everything else through the Typer app."""
    if sys.argv[1:] == ["--help"]:
        from rich.console import Console

        console = Console()
        root_help(console)
        console.line()  # Click ends a help page with an empty line
        return
    from batteryloop.cli import app

    app()
