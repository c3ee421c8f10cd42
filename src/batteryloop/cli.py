"""The `batteryloop` command line: a thin Typer + Rich shell over the services."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.tree import Tree

from batteryloop.config import Settings
from batteryloop.domain.errors import BatteryloopError
from batteryloop.domain.organisation import Certification, CertificationScheme, Organisation, Role

if TYPE_CHECKING:
    from batteryloop.ledger import KeyStore, Ledger

app = typer.Typer(
    name="batteryloop",
    help="Traceability, battery passports, EPR compliance and recycling economics for the battery loop.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
org_app = typer.Typer(help="Organisations, their signing keys and API keys.", no_args_is_help=True)
battery_app = typer.Typer(help="Battery units.", no_args_is_help=True)
events_app = typer.Typer(help="Ledger events.", no_args_is_help=True)
ledger_app = typer.Typer(help="Ledger maintenance.", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(battery_app, name="battery")
app.add_typer(events_app, name="events")
app.add_typer(ledger_app, name="ledger")

console = Console()
err = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="Database URL (default: $BATTERYLOOP_DATABASE_URL or sqlite:///./batteryloop.db)"
    ),
]


def _settings(db: str | None) -> Settings:
    return Settings.from_env(database_url=db)


def _open(db: str | None, *, create: bool = True) -> Ledger:
    from batteryloop.ledger import Ledger

    return Ledger.open(_settings(db).database_url, create=create)


def _keystore(db: str | None) -> KeyStore:
    from batteryloop.ledger import KeyStore, keystore_dir_for

    return KeyStore(keystore_dir_for(db or _settings(None).database_url))


def _fail(exc: BaseException) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc}")
    return typer.Exit(code=2)


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )


@app.command()
def init(db: DbOption = None) -> None:
    """Create the database (or upgrade it to the newest schema)."""
    ledger = _open(db)
    console.print(f"ledger ready at [bold]{ledger.engine.url.render_as_string(hide_password=True)}[/]")


@app.command()
def demo(
    db: DbOption = None,
    batteries: Annotated[
        int, typer.Option(help="Number of battery packs/systems in the synthetic fleet")
    ] = 2000,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same fleet")] = 7,
    replace: Annotated[
        bool, typer.Option(help="Replace an existing database that demo did not create")
    ] = False,
) -> None:
    """Build a SQLite ledger of a synthetic fleet and show what it holds."""
    from batteryloop.demo import run_demo

    try:
        run_demo(settings=_settings(db), n_batteries=batteries, seed=seed, replace=replace, console=console)
    except BatteryloopError as exc:
        raise _fail(exc) from exc


# --- organisations -------------------------------------------------------------------------------


def _parse_cert(text: str) -> Certification:
    parts = text.split(":")
    if len(parts) not in (3, 4):
        raise typer.BadParameter(f"{text!r}: use SCHEME:REFERENCE:VALID_FROM[:VALID_UNTIL]")
    try:
        scheme = CertificationScheme(parts[0])
        start = date.fromisoformat(parts[2])
        end = date.fromisoformat(parts[3]) if len(parts) == 4 and parts[3] else None
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r}: {exc}") from exc
    return Certification(scheme=scheme, reference=parts[1], valid_from=start, valid_until=end)


@org_app.command("add")
def org_add(
    org_id: Annotated[str, typer.Argument(help="Short stable handle, e.g. catl-ningde")],
    name: Annotated[str, typer.Option(help="Legal name")],
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 country")],
    role: Annotated[list[Role], typer.Option(help="Role(s); repeat the option for several")],
    cert: Annotated[
        list[str] | None,
        typer.Option(
            help="Certification SCHEME:REFERENCE:VALID_FROM[:VALID_UNTIL], e.g. miit_white_list:2024-07:2024-12-24"
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Register an organisation and give it a signing key (kept in the local key store)."""
    ledger = _open(db)
    org = Organisation(
        org_id=org_id,
        name=name,
        country=country.upper(),
        roles=frozenset(role),
        certifications=tuple(_parse_cert(c) for c in cert or ()),
    )
    try:
        ledger.register_organisation(org)
        store = _keystore(db)
        key_id, private_key = store.generate_key(org_id)
        ledger.add_signing_key(org_id, private_key.public_key().public_bytes_raw())
    except BatteryloopError as exc:
        raise _fail(exc) from exc
    console.print(f"organisation [bold]{org_id}[/] registered; signing key {key_id} in {store.root}")


@org_app.command("keys")
def org_keys(
    org_id: str,
    api_key: Annotated[bool, typer.Option("--api-key", help="Issue a new API key (shown once)")] = False,
    new_signing_key: Annotated[bool, typer.Option("--new-signing-key", help="Add a signing key")] = False,
    db: DbOption = None,
) -> None:
    """List an organisation's signing keys; issue an API key or a new signing key."""
    ledger = _open(db)
    try:
        ledger.get_organisation(org_id)
        store = _keystore(db)
        if new_signing_key:
            key_id, private_key = store.generate_key(org_id)
            ledger.add_signing_key(org_id, private_key.public_key().public_bytes_raw())
            console.print(f"new signing key {key_id}")
        if api_key:
            secret = ledger.issue_api_key(org_id)
            console.print(f"API key (shown once, stored hashed): [bold]{secret}[/]")
        table = Table("signing key id (private key in the local key store)", title=f"{org_id}: {store.root}")
        for key_id in store.key_ids(org_id):
            table.add_row(key_id)
        console.print(table)
    except BatteryloopError as exc:
        raise _fail(exc) from exc


@org_app.command("list")
def org_list(db: DbOption = None) -> None:
    """List organisations with their roles and certifications."""
    ledger = _open(db)
    table = Table("id", "name", "country", "roles", "certifications")
    for org in ledger.list_organisations():
        certs = ", ".join(
            f"{c.scheme}:{c.reference} ({c.valid_from}..{c.valid_until or ''})" for c in org.certifications
        )
        table.add_row(org.org_id, org.name, org.country, ", ".join(sorted(org.roles)), certs)
    console.print(table)


# --- batteries and events ------------------------------------------------------------------------


def _sign_and_append(ledger: Ledger, org_id: str, events: list[Any], *, batch_size: int) -> tuple[int, int]:
    from batteryloop.ledger import sign_batch

    store = _keystore(str(ledger.engine.url))
    _, private_key = store.load(org_id)
    appended = duplicates = 0
    with _progress() as progress:
        task = progress.add_task("appending", total=len(events))
        for start in range(0, len(events), batch_size):
            chunk = events[start : start + batch_size]
            batch = sign_batch(chunk, actor=org_id, private_key=private_key)
            result = ledger.append(batch)
            appended += result.appended
            duplicates += result.duplicates
            progress.advance(task, len(chunk))
    return appended, duplicates


@battery_app.command("register")
def battery_register(
    spec: Annotated[Path, typer.Argument(help="JSON file: the BatteryManufactured payload (+ battery_id)")],
    org: Annotated[str, typer.Option(help="The registering (manufacturing) organisation")],
    db: DbOption = None,
) -> None:
    """Register a battery unit made by ORG (signed with ORG's key)."""
    from batteryloop.domain.battery import BatteryUnit
    from batteryloop.domain.identity import eu_unique_id
    from batteryloop.domain.lifecycle import EventType
    from batteryloop.ledger import EventIn

    ledger = _open(db)
    try:
        data = json.loads(spec.read_text(encoding="utf-8"))
        battery_id = data.pop("battery_id", None) or eu_unique_id()
        unit = BatteryUnit.from_payload(battery_id, {"manufacturer_id": org, **data})
        event = EventIn(
            battery_id=battery_id,
            event_type=EventType.BATTERY_MANUFACTURED,
            occurred_at=datetime.now(UTC),
            payload=unit.to_payload(),
        )
        _sign_and_append(ledger, org, [event], batch_size=1)
    except (BatteryloopError, json.JSONDecodeError) as exc:
        raise _fail(exc) from exc
    console.print(f"registered [bold]{battery_id}[/]")


@events_app.command("append")
def events_append(
    file: Annotated[Path, typer.Argument(help="NDJSON (.ndjson/.jsonl) or CSV file, one event per line")],
    org: Annotated[str, typer.Option(help="The submitting organisation (signs every batch)")],
    fmt: Annotated[str | None, typer.Option("--format", help="ndjson or csv (default: by extension)")] = None,
    batch_size: Annotated[int, typer.Option(help="Events per signed, atomic batch")] = 10_000,
    db: DbOption = None,
) -> None:
    """Append events in bulk. The whole file is read and checked before anything is written."""
    from batteryloop.interchange import read_events_file

    ledger = _open(db)
    try:
        events = read_events_file(file, fmt=fmt)
        appended, duplicates = _sign_and_append(ledger, org, events, batch_size=batch_size)
    except BatteryloopError as exc:
        raise _fail(exc) from exc
    console.print(f"appended {appended} event(s); {duplicates} already present (idempotent replay)")


@app.command()
def trace(battery_id: str, db: DbOption = None) -> None:
    """Show a battery's tree, custody chain and history, and check its hash chain."""
    ledger = _open(db, create=False)
    try:
        t = ledger.trace(battery_id)
    except BatteryloopError as exc:
        raise _fail(exc) from exc
    status = t.status
    console.print(f"[bold]{battery_id}[/]  state [cyan]{status.state}[/]  custodian {status.custodian}")
    chain = "[green]intact[/]" if t.chain_ok else "[bold red]BROKEN[/]"
    console.print(f"hash chain: {chain}   events: {len(t.history)}")
    if t.ancestors:
        console.print("part of: " + " → ".join(t.ancestors))
    if t.descendants.children:
        tree = Tree(f"{battery_id} [dim]{t.descendants.level or ''}[/]")

        def add(node: Tree, children: Any) -> None:
            for child in children:
                add(node.add(f"{child.battery_id} [dim]{child.level or ''} {child.state}[/]"), child.children)

        add(tree, t.descendants.children)
        console.print(tree)
    custody = Table("custodian", "from", "until", title="custody chain")
    for link in t.custody:
        custody.add_row(link.org, _fmt_time(link.from_at), _fmt_time(link.to_at) if link.to_at else "now")
    console.print(custody)
    history = Table("#", "occurred", "event", "actor", "payload", title="history")
    for e in t.history:
        history.add_row(
            str(e.stream_seq), _fmt_time(e.occurred_at), str(e.event_type), e.actor, _short(e.payload)
        )
    console.print(history)


def _fmt_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def _short(payload: dict[str, Any], limit: int = 70) -> str:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


@app.command()
def verify(db: DbOption = None) -> None:
    """Recompute every hash, chain, Merkle root, signature and checkpoint; name the first broken event."""
    ledger = _open(db, create=False)
    total = ledger.counts().events
    with _progress() as progress:
        task = progress.add_task("verifying", total=total)
        report = ledger.verify(progress=lambda n: progress.update(task, completed=n))
    if report.ok:
        console.print(
            f"[green]verified[/]: {report.events_checked:,} events in {report.batches_checked:,} signed batches; "
            "hashes, chains, Merkle roots, signatures and checkpoints all hold"
        )
        return
    console.print(f"[bold red]BROKEN[/]: {report.first_broken}")
    raise typer.Exit(code=1)


@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="Output file (.ndjson or .parquet)")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="ndjson or parquet (default: by extension)")
    ] = None,
    db: DbOption = None,
) -> None:
    """Export the whole ledger (for analytics: Parquet reads in DuckDB, Polars or Spark)."""
    from batteryloop.interchange import write_ndjson, write_parquet

    ledger = _open(db, create=False)
    kind = fmt or ("parquet" if out.suffix.lower() == ".parquet" else "ndjson")
    if kind not in ("ndjson", "parquet"):
        raise _fail(ValueError(f"unknown format {kind!r}: use ndjson or parquet"))
    writer = write_parquet if kind == "parquet" else write_ndjson
    count = writer(ledger.iter_events(), out)
    console.print(f"exported {count:,} events to {out}")


@ledger_app.command("rebuild")
def ledger_rebuild(db: DbOption = None) -> None:
    """Rebuild the current-state projection from the ledger."""
    ledger = _open(db, create=False)
    count = ledger.rebuild_projection()
    console.print(f"projection rebuilt from the ledger: {count:,} batteries")


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    db: DbOption = None,
) -> None:
    """Run the REST API and the web pages (uvicorn)."""
    import uvicorn

    from batteryloop.api.app import create_app

    settings = _settings(db)
    uvicorn.run(create_app(settings=settings), host=host, port=port, log_level="info")


def _mount_capabilities() -> None:
    """Mount the command groups that live in their capability slices."""
    from batteryloop.passport.cli import passport_app
    from batteryloop.recycling.cli import params_app, quote_command, recycle_app

    app.add_typer(passport_app, name="passport")
    app.add_typer(recycle_app, name="recycle")
    app.add_typer(params_app, name="params")
    app.command("quote")(quote_command)


_mount_capabilities()


def main() -> None:  # pragma: no cover
    app(sys.argv[1:])
