"""`batteryloop passport ...`: check, show, export and QR codes of battery passports.

The CLI reads the ledger directly, but it serves passport data through the same filter as the web routes:
``--audience`` (repeatable, default ``public``) picks the Annex XIII tiers to show.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from batteryloop.config import Settings
from batteryloop.domain.errors import BatteryloopError
from batteryloop.passport.access import Audience, redact
from batteryloop.passport.build import passport_from_source
from batteryloop.passport.obligations import check_passport
from batteryloop.passport.service import FORMATS, to_jsonld

if TYPE_CHECKING:
    from batteryloop.ledger import Ledger

passport_app = typer.Typer(
    help="EU battery passports (Reg. (EU) 2023/1542 Art. 77, Annex XIII).", no_args_is_help=True
)
console = Console()
err = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="Database URL (default: $BATTERYLOOP_DATABASE_URL or sqlite:///./batteryloop.db)"
    ),
]
AudienceOption = Annotated[
    list[Audience] | None,
    typer.Option(
        "--audience", "-a", help="Annex XIII audience(s) to render for (repeatable; default: public)"
    ),
]


def _open(db: str | None) -> tuple[Ledger, Settings]:
    from batteryloop.ledger import Ledger

    settings = Settings.from_env(database_url=db)
    return Ledger.open(settings.database_url, create=False), settings


def _fail(exc: BaseException) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc}")
    return typer.Exit(code=2)


@passport_app.command()
def check(
    battery_id: str,
    db: DbOption = None,
    on: Annotated[str | None, typer.Option(help="Day to check (YYYY-MM-DD; default: today)")] = None,
) -> None:
    """List the mandatory attributes the passport lacks on a day (exit 1 when any is missing)."""
    try:
        day = date.fromisoformat(on) if on else date.today()
        ledger, settings = _open(db)
        passport = passport_from_source(ledger, battery_id, resolver_domain=settings.resolver_domain)
    except (BatteryloopError, ValueError) as exc:
        raise _fail(exc) from exc
    missing = check_passport(passport, on=day)
    if not missing:
        console.print(f"[green]complete[/]: no mandatory attribute missing on {day.isoformat()}")
        return
    table = Table(title=f"Missing on {day.isoformat()}")
    table.add_column("attribute")
    table.add_column("mandatory since")
    table.add_column("legal basis")
    for m in missing:
        table.add_row(m.path, m.applies_from.isoformat(), m.basis)
    console.print(table)
    raise typer.Exit(code=1)


def _render(battery_id: str, db: str | None, audience: list[Audience] | None, fmt: str) -> str:
    from batteryloop.passport.batterypass import to_batterypass
    from batteryloop.passport.catenax import to_catenax

    if fmt not in FORMATS:
        raise BatteryloopError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    ledger, settings = _open(db)
    passport = passport_from_source(ledger, battery_id, resolver_domain=settings.resolver_domain)
    document = redact(passport, audience or [Audience.PUBLIC])
    if fmt == "batterypass":
        body: object = to_batterypass(document)
    elif fmt == "catenax":
        body = to_catenax(document)
    elif fmt == "jsonld":
        body = to_jsonld(document, uri=passport.identity.product_identifier)
    else:
        body = document
    return json.dumps(body, indent=2, ensure_ascii=False)


@passport_app.command()
def show(battery_id: str, db: DbOption = None, audience: AudienceOption = None) -> None:
    """Print the passport as JSON, as the given audience may see it."""
    try:
        console.print_json(_render(battery_id, db, audience, "json"))
    except BatteryloopError as exc:
        raise _fail(exc) from exc


@passport_app.command()
def export(
    battery_id: str,
    db: DbOption = None,
    audience: AudienceOption = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="json | batterypass | catenax | jsonld")
    ] = "batterypass",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="File to write (default: stdout)")] = None,
) -> None:
    """Export the passport (BatteryPass v1.2, Catena-X 6.1.0, JSON-LD or JSON)."""
    try:
        text = _render(battery_id, db, audience, fmt)
    except BatteryloopError as exc:
        raise _fail(exc) from exc
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        err.print(f"wrote {out}")


@passport_app.command()
def qr(
    battery_id: str,
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write: .svg or .png")],
    db: DbOption = None,
) -> None:
    """Write the passport's QR code (its GS1 Digital Link URI) as SVG or PNG."""
    from batteryloop.passport.qr import qr_png, qr_svg
    from batteryloop.passport.service import PassportService

    try:
        ledger, settings = _open(db)
        service = PassportService(ledger, resolver_domain=settings.resolver_domain)
        uri = service.qr_uri(service.passport(battery_id).model_dump(mode="json"))
        suffix = out.suffix.lower()
        if suffix == ".svg":
            out.write_text(qr_svg(uri), encoding="utf-8")
        elif suffix == ".png":
            out.write_bytes(qr_png(uri))
        else:
            raise BatteryloopError(f"--out must end in .svg or .png, got {out.name!r}")
    except BatteryloopError as exc:
        raise _fail(exc) from exc
    err.print(f"wrote {out} ({uri})")


@passport_app.command(name="import")
def import_(
    path: Annotated[Path, typer.Argument(help="A BatteryPass v1.2 JSON document (the seven modules)")],
) -> None:
    """Check a BatteryPass v1.2 document and print it as a canonical passport (errors name JSON paths)."""
    from batteryloop.passport.batterypass import from_batterypass
    from batteryloop.passport.schemas import decode_json_bytes

    try:
        document = decode_json_bytes(path.read_bytes())
        passport = from_batterypass(document)
    except (OSError, ValueError) as exc:
        raise _fail(exc) from exc
    typer.echo(passport.model_dump_json(indent=2))
