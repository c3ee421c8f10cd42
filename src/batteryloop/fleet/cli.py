"""`batteryloop fleet generate`: a seeded synthetic fleet written into a ledger, signed by its organisations.

Mounted by the root command (:data:`batteryloop.cli.MOUNTS`) as ``fleet``.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer
from rich.console import Console

from batteryloop.config import Settings
from batteryloop.domain.errors import BatteryloopError

fleet_app = typer.Typer(help="Synthetic fleets (seeded, cited defaults).", no_args_is_help=True)
err = Console(stderr=True)


@fleet_app.callback()
def fleet() -> None:
    """Synthetic fleets (seeded, cited defaults)."""


def _fail(exc: BaseException | str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


@fleet_app.command()
def generate(
    batteries: Annotated[int, typer.Option(help="Number of packs/systems (top-level units)")] = 100,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same fleet")] = 7,
    now: Annotated[str | None, typer.Option(help="Last day of the history (YYYY-MM-DD)")] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Database URL (default: $BATTERYLOOP_DATABASE_URL or sqlite:///./batteryloop.db)"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the fleet's summary as JSON")] = False,
) -> None:
    """Generate a fleet and append its events to the ledger (keys kept next to a SQLite file)."""
    from batteryloop.fleet.service import generate_into_ledger
    from batteryloop.ledger import KeyStore, Ledger, keystore_dir_for
    from batteryloop.reference.values import unverified_line

    try:
        day = date.fromisoformat(now) if now else None
    except ValueError as exc:
        raise _fail(f"--now: {exc}") from exc
    if batteries < 1:
        raise _fail(f"--batteries must be at least 1, got {batteries}")
    settings = Settings.from_env(database_url=db)
    try:
        ledger = Ledger.open(settings.database_url, create=True, settings=settings.ledger)
        try:
            loaded = generate_into_ledger(
                ledger,
                KeyStore(keystore_dir_for(settings.database_url)),
                seed=seed,
                n_batteries=batteries,
                now=day,
            )
        finally:
            ledger.close()
    except BatteryloopError as exc:
        raise _fail(exc) from exc
    summary = {**loaded.fleet.summary(), "unverified": list(loaded.unverified)}
    notice = unverified_line(loaded.unverified)
    if as_json:
        typer.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        if notice:
            typer.echo(f"note: {notice}", err=True)
        return
    typer.echo(
        f"appended {loaded.events_appended:,} events of {summary['n_batteries']:,} packs and systems "
        f"({summary['n_units']:,} units, {summary['n_organisations']:,} organisations) in "
        f"{loaded.append_seconds:.1f} s"
    )
    if notice:
        typer.echo(f"note: {notice}")
