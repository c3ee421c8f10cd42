"""`batteryloop passport ...`: check, show, export and QR codes of battery passports.

Each command parses its options, makes one :class:`~batteryloop.passport.service.PassportService` call and
renders through :mod:`batteryloop.passport.report`, so it prints what HTTP serves. The CLI reads the ledger
directly, and ``--audience`` (repeatable, default ``public``) picks the Annex XIII tiers to show.
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
from batteryloop.domain.lifecycle import BatteryState
from batteryloop.passport.access import Audience

if TYPE_CHECKING:
    from batteryloop.ledger import Ledger
    from batteryloop.passport.service import PassportService

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
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the result as JSON (as the HTTP API gives it)")
]
FormatOption = Annotated[str, typer.Option("--format", "-f", help="json | batterypass | catenax | jsonld")]


def _service(db: str | None) -> tuple[PassportService, Ledger]:
    from batteryloop.ledger import Ledger
    from batteryloop.passport.service import PassportService

    settings = Settings.from_env(database_url=db)
    ledger = Ledger.open(settings.database_url, create=False, settings=settings.ledger)
    return PassportService(ledger, resolver_domain=settings.resolver_domain), ledger


def _fail(exc: BaseException | str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def _audiences(audience: list[Audience] | None) -> list[Audience]:
    return audience or [Audience.PUBLIC]


@passport_app.command()
def check(
    battery_id: str,
    db: DbOption = None,
    on: Annotated[str | None, typer.Option(help="Day to check (YYYY-MM-DD; default: today)")] = None,
    as_json: JsonOption = False,
) -> None:
    """List the mandatory attributes the passport lacks on a day (exit 1 when any is missing)."""
    from batteryloop.passport.report import check_document, check_unverified_line

    try:
        day = date.fromisoformat(on) if on else date.today()
        service, ledger = _service(db)
        result = service.check(battery_id, on=day, audiences=[Audience.AUTHORITY])
    except (BatteryloopError, ValueError) as exc:
        raise _fail(exc) from exc
    ledger.close()
    if as_json:
        typer.echo(json.dumps(check_document(result), indent=2, ensure_ascii=False))
    elif result.complete:
        console.print(f"[green]complete[/]: no mandatory attribute missing on {day.isoformat()}")
    else:
        table = Table(title=f"Missing on {day.isoformat()}")
        table.add_column("attribute")
        table.add_column("mandatory since")
        table.add_column("legal basis")
        for m in result.missing:
            since = m.applies_from.isoformat() + (" (UNVERIFIED)" if m.quality == "unverified" else "")
            table.add_row(m.path, since, m.basis)
        console.print(table)
    notice = check_unverified_line(result)
    if notice:
        (err if as_json else console).print(f"note: {notice}", highlight=False, soft_wrap=True, markup=False)
    if not result.complete:
        raise typer.Exit(code=1)


def _render_one(battery_id: str, db: str | None, audience: list[Audience] | None, fmt: str) -> str:
    from batteryloop.passport.report import render
    from batteryloop.passport.service import FORMATS

    if fmt not in FORMATS:
        raise BatteryloopError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    service, ledger = _service(db)
    try:
        view = service.view(battery_id, audiences=_audiences(audience))
        return render(view, fmt, pretty=True).decode("utf-8")
    finally:
        ledger.close()


@passport_app.command()
def show(
    battery_id: str, db: DbOption = None, audience: AudienceOption = None, as_json: JsonOption = False
) -> None:
    """Print the passport as JSON, as the given audience may see it (``--json``: plain, uncoloured)."""
    try:
        text = _render_one(battery_id, db, audience, "json")
    except BatteryloopError as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(text)
    else:
        console.print_json(text)


@passport_app.command()
def export(
    battery_ids: Annotated[list[str] | None, typer.Argument(help="Battery ids (or use a filter)")] = None,
    db: DbOption = None,
    audience: AudienceOption = None,
    fmt: FormatOption = "batterypass",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="File to write, for one battery (default: stdout)")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out-dir", "-d", help="Existing folder: one file per battery")
    ] = None,
    everything: Annotated[bool, typer.Option("--all", help="Every pack and system with a passport")] = False,
    chemistry: Annotated[str | None, typer.Option(help="Only this chemistry (e.g. LFP)")] = None,
    state: Annotated[BatteryState | None, typer.Option(help="Only units in this lifecycle state")] = None,
    holder: Annotated[str | None, typer.Option(help="Only units this organisation holds")] = None,
    as_json: JsonOption = False,
) -> None:
    """Export passports (BatteryPass v1.2, Catena-X 6.1.0, JSON-LD or JSON): one id to stdout or --out, or
    many ids or a filter (--all, --chemistry, --state, --holder) into --out-dir, one file per battery."""
    from batteryloop.passport.report import filename, render
    from batteryloop.passport.service import FORMATS, Selection

    if fmt not in FORMATS:
        raise _fail(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    selection = Selection(
        battery_ids=tuple(battery_ids or ()),
        everything=everything,
        chemistry=chemistry,
        state=state,
        holder=holder,
    )
    if out is not None and out_dir is not None:
        raise _fail("give --out (one file) or --out-dir (a folder), not both")
    if out_dir is not None and not out_dir.is_dir():
        raise _fail(f"output folder {out_dir} does not exist (create it first)")
    if out is not None and not out.parent.is_dir():
        raise _fail(f"output folder {out.parent} does not exist (create it first)")
    single = not selection.is_filter and len(selection.battery_ids) == 1
    if not (single or out_dir is not None or as_json):
        raise _fail("exporting more than one passport needs --out-dir FOLDER (or --json)")
    try:
        service, ledger = _service(db)
        try:
            result = service.export(selection, audiences=_audiences(audience))
        finally:
            ledger.close()
    except BatteryloopError as exc:
        raise _fail(exc) from exc
    if as_json:
        from batteryloop.passport.schemas import ExportResponse

        response = ExportResponse.from_result(result, fmt)  # type: ignore[arg-type]
        typer.echo(json.dumps(response.model_dump(), indent=2, ensure_ascii=False))
        return
    for skipped in result.skipped:
        err.print(f"skipped {skipped.battery_id}: {skipped.reason}", highlight=False)
    if out_dir is None:
        if not result.views:
            raise _fail(result.skipped[0].reason if result.skipped else "nothing to export")
        text = render(result.views[0], fmt, pretty=True).decode("utf-8")
        if out is None:
            typer.echo(text)
        else:
            out.write_text(text + "\n", encoding="utf-8")
            err.print(f"wrote {out}", highlight=False)
        return
    for view in result.views:
        (out_dir / filename(view.battery_id, fmt)).write_bytes(render(view, fmt, pretty=True) + b"\n")
    err.print(f"wrote {len(result.views):,} passports ({fmt}) to {out_dir}", highlight=False)


@passport_app.command()
def qr(
    battery_id: str,
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write: .svg or .png")],
    db: DbOption = None,
) -> None:
    """Write the passport's QR code (its GS1 Digital Link URI) as SVG or PNG."""
    from batteryloop.passport.report import qr_image

    suffix = out.suffix.lower()
    if suffix not in (".svg", ".png"):
        raise _fail(f"--out must end in .svg or .png, got {out.name!r}")
    if not out.parent.is_dir():
        raise _fail(f"output folder {out.parent} does not exist (create it first)")
    try:
        service, ledger = _service(db)
        try:
            view = service.view(battery_id)
        finally:
            ledger.close()
    except BatteryloopError as exc:
        raise _fail(exc) from exc
    out.write_bytes(qr_image(view, suffix.removeprefix(".")))
    err.print(f"wrote {out} ({view.uri})", highlight=False)


@passport_app.command(name="import")
def import_(
    path: Annotated[Path, typer.Argument(help="A BatteryPass v1.2 JSON document (the seven modules)")],
) -> None:
    """Check a BatteryPass v1.2 document and print it as a canonical passport (errors name JSON paths)."""
    from batteryloop.passport.core.batterypass import from_batterypass
    from batteryloop.passport.core.json_schemas import decode_json_bytes

    try:
        document = decode_json_bytes(path.read_bytes())
        passport = from_batterypass(document)
    except (OSError, ValueError) as exc:
        raise _fail(exc) from exc
    typer.echo(passport.model_dump_json(indent=2))


# access grants (grant, revoke, grants) register themselves on passport_app
from batteryloop.passport import grants_cli as _grants_cli  # noqa: E402, F401
