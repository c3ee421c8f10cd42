"""The ledger's commands: `init`, `battery ...`, `events append`, `trace`, `verify`, `export`, `ledger rebuild`.

Each parses its arguments, makes one call to :mod:`batteryloop.ledger.service` and renders the result; the
JSON output of `trace`, `verify` and `battery list` is the body the HTTP API answers with.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from batteryloop import clikit
from batteryloop.ledger import service

if TYPE_CHECKING:
    from batteryloop.ledger import Ledger, Trace
    from batteryloop.orgs import KeyStore

__all__ = [
    "battery_app",
    "events_app",
    "export",
    "init",
    "ledger_app",
    "trace",
    "verify",
]

battery_app = typer.Typer(help="Battery units: register, list and search them.", no_args_is_help=True)
events_app = typer.Typer(help="Ledger events.", no_args_is_help=True)
ledger_app = typer.Typer(help="Ledger maintenance.", no_args_is_help=True)

BATTERY_COLUMNS = (
    clikit.Column("battery_id", "battery id", lambda r: r.status.battery_id),
    clikit.Column("chemistry", "chemistry", lambda r: r.chemistry),
    clikit.Column("level", "level", lambda r: r.level),
    clikit.Column("state", "state", lambda r: str(r.status.state)),
    clikit.Column("holder", "holder", lambda r: r.status.custodian),
    clikit.Column("manufacturer", "manufacturer", lambda r: r.status.manufacturer),
    clikit.Column("soh_pct", "SOH %", lambda r: r.status.soh_pct, numeric=True),
)


def _url(db: str | None) -> str:
    from batteryloop.config import Settings

    return Settings.from_env(database_url=db).database_url


def open_ledger(db: str | None, *, create: bool = False) -> Ledger:
    """The ledger named by ``--db``. Without ``create`` a missing database is a one-line error and no file
    is created."""
    from batteryloop.config import Settings
    from batteryloop.ledger import Ledger

    with clikit.user_errors():
        settings = Settings.from_env(database_url=db)
    if not create:
        clikit.require_database(settings.database_url)
    with clikit.user_errors():
        return Ledger.open(settings.database_url, create=create, settings=settings.ledger)


def _keystore(db: str | None) -> KeyStore:
    from batteryloop.orgs import KeyStore, keystore_dir_for

    return KeyStore(keystore_dir_for(_url(db)))


def init(db: clikit.DbOption = None) -> None:
    """Create the database (or upgrade it to the newest schema)."""
    ledger = open_ledger(db, create=True)
    where = ledger.engine.url.render_as_string(hide_password=True)
    with clikit.user_errors():
        ledger.operator_key()  # created and registered in the key log if missing; signs the tree's heads too
    clikit.console().print(f"ledger ready at [bold]{where}[/]", soft_wrap=True)
    with clikit.user_errors():
        verifier = ledger.operator_verifier()
    if verifier is not None:
        clikit.console().print(f"log operator key: {verifier.text()}", soft_wrap=True)


# --- batteries ------------------------------------------------------------------------------------


@battery_app.command("register")
def battery_register(
    spec: Annotated[Path, typer.Argument(help="JSON file: the BatteryManufactured payload (+ battery_id)")],
    org: Annotated[str, typer.Option(help="The registering (manufacturing) organisation")],
    at: Annotated[
        str | None,
        typer.Option("--at", help="When it was made, ISO 8601 with a time zone (default: now)"),
    ] = None,
    db: clikit.DbOption = None,
) -> None:
    """Register a battery unit made by ORG (signed with ORG's key)."""
    clikit.existing_file(spec)
    occurred_at = clikit.aware_datetime(at, option="--at") if at is not None else None
    try:
        data = json.loads(spec.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise clikit.fail(f"{spec}: not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise clikit.fail(f"{spec}: expected a JSON object")
    ledger = open_ledger(db, create=True)
    with clikit.user_errors():
        registered = service.register_battery(
            ledger, data, org=org, keystore=_keystore(db), occurred_at=occurred_at
        )
    clikit.console().print(f"registered [bold]{registered.battery_id}[/]", soft_wrap=True)


ChemistryOption = Annotated[str | None, typer.Option(help="Cell chemistry, e.g. LFP or NMC811")]
StateOption = Annotated[str | None, typer.Option(help="Lifecycle state, e.g. in_service or recycled")]
HolderOption = Annotated[str | None, typer.Option(help="Current holder (custodian) organisation id")]
OrganisationOption = Annotated[
    str | None, typer.Option("--org", help="Organisation id holding or having made the battery")
]
LimitOption = Annotated[int, typer.Option(min=1, max=service.MAX_PAGE, help="Batteries per page")]
OffsetOption = Annotated[int, typer.Option(min=0, help="Skip this many first (paging)")]


def _list(
    *,
    db: str | None,
    chemistry: str | None,
    state: str | None,
    holder: str | None,
    organisation: str | None,
    code: str | None,
    limit: int,
    offset: int,
    json_output: bool,
    csv_output: bool,
) -> None:
    from batteryloop.ledger.schemas import BatteryListRead

    fmt = clikit.output_format(json_output, csv_output)
    ledger = open_ledger(db)
    with clikit.user_errors():
        page = service.list_batteries(
            ledger,
            chemistry=chemistry,
            state=state,
            holder=holder,
            organisation=organisation,
            code=code,
            limit=limit,
            offset=offset,
        )
    more = f"; next page: --offset {page.next_offset}" if page.next_offset is not None else ""
    if page.items:
        footer = f"batteries {page.offset + 1}-{page.offset + len(page.items)} of {page.total}{more}"
    else:
        footer = f"no battery on this page ({page.total} match)" if page.total else "no battery matches"
    clikit.emit(
        page.items,
        BATTERY_COLUMNS,
        fmt,
        document=BatteryListRead.from_result(page).model_dump(mode="json"),
        footer=footer,
    )


@battery_app.command("list")
def battery_list(
    chemistry: ChemistryOption = None,
    state: StateOption = None,
    holder: HolderOption = None,
    organisation: OrganisationOption = None,
    code: Annotated[str | None, typer.Option(help="Start of a GB/T 34014 or GS1 code, or of the id")] = None,
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    json_output: clikit.JsonOption = False,
    csv_output: clikit.CsvOption = False,
    db: clikit.DbOption = None,
) -> None:
    """List batteries, filtered by chemistry, state, holder, organisation and code, a page at a time."""
    _list(
        db=db,
        chemistry=chemistry,
        state=state,
        holder=holder,
        organisation=organisation,
        code=code,
        limit=limit,
        offset=offset,
        json_output=json_output,
        csv_output=csv_output,
    )


@battery_app.command("search")
def battery_search(
    code: Annotated[str, typer.Argument(help="Start of a GB/T 34014 code, a GS1 <GTIN>/<serial> or an id")],
    chemistry: ChemistryOption = None,
    state: StateOption = None,
    holder: HolderOption = None,
    organisation: OrganisationOption = None,
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    json_output: clikit.JsonOption = False,
    csv_output: clikit.CsvOption = False,
    db: clikit.DbOption = None,
) -> None:
    """Find batteries by (the start of) an identifier code or id, with the same filters as `list`."""
    _list(
        db=db,
        chemistry=chemistry,
        state=state,
        holder=holder,
        organisation=organisation,
        code=code,
        limit=limit,
        offset=offset,
        json_output=json_output,
        csv_output=csv_output,
    )


# --- events ---------------------------------------------------------------------------------------


@events_app.command("append")
def events_append(
    file: Annotated[Path, typer.Argument(help="NDJSON (.ndjson/.jsonl) or CSV file, one event per line")],
    org: Annotated[str, typer.Option(help="The submitting organisation (signs every batch)")],
    fmt: Annotated[str | None, typer.Option("--format", help="ndjson or csv (default: by extension)")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Events per signed, atomic batch")] = 10_000,
    db: clikit.DbOption = None,
) -> None:
    """Append events in bulk. The whole file is read and checked before anything is written."""
    clikit.existing_file(file)
    ledger = open_ledger(db)
    with clikit.user_errors(), clikit.progress() as bar:
        task = bar.add_task("appending", total=None)
        summary = service.append_file(
            ledger,
            file,
            org=org,
            keystore=_keystore(db),
            batch_size=batch_size,
            fmt=fmt,
            progress=lambda n: bar.advance(task, n),
        )
    clikit.console().print(
        f"appended {summary.appended} event(s); {summary.duplicates} already present (idempotent replay)"
    )


# --- reading and checking -------------------------------------------------------------------------


def _fmt_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def _short(payload: dict[str, Any], limit: int = 70) -> str:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _print_trace(battery_id: str, t: Trace) -> None:
    from rich.tree import Tree

    out = clikit.console()
    status = t.status
    out.print(f"[bold]{battery_id}[/]  state [cyan]{status.state}[/]  custodian {status.custodian}")
    chain = "[green]intact[/]" if t.chain_ok else "[bold red]BROKEN[/]"
    out.print(f"hash chain: {chain}   events: {len(t.history)}")
    if t.ancestors:
        out.print("part of: " + " → ".join(t.ancestors))
    if t.descendants.children:
        tree = Tree(f"{battery_id} [dim]{t.descendants.level or ''}[/]")

        def add(node: Tree, children: Any) -> None:
            for child in children:
                add(node.add(f"{child.battery_id} [dim]{child.level or ''} {child.state}[/]"), child.children)

        add(tree, t.descendants.children)
        out.print(tree)
    custody = clikit.fitted_table("custodian", "from", "until", title="custody chain")
    for link in t.custody:
        custody.add_row(link.org, _fmt_time(link.from_at), _fmt_time(link.to_at) if link.to_at else "now")
    out.print(custody)
    history = clikit.fitted_table("#", "occurred", "event", "actor", "payload", title="history")
    for e in t.history:
        history.add_row(
            str(e.stream_seq), _fmt_time(e.occurred_at), str(e.event_type), e.actor, _short(e.payload)
        )
    out.print(history)


def trace(
    battery_id: str,
    json_output: clikit.JsonOption = False,
    db: clikit.DbOption = None,
) -> None:
    """Show a battery's tree, custody chain and history, and check its hash chain.

    Also checks its events' batch roots and signatures and their inclusion in the global tree."""
    ledger = open_ledger(db)
    with clikit.user_errors():
        checked = service.checked_trace(ledger, battery_id)
    if json_output:
        from batteryloop.ledger.schemas import TraceRead

        clikit.print_json(TraceRead.from_result(checked).model_dump(mode="json"))
        return
    _print_trace(battery_id, checked.trace)
    for c in checked.proofs.checks:  # batch roots and signatures, inclusion in the global tree, a signed head
        mark = "[green]holds[/]" if c.ok else "[bold red]FAILS[/]"
        clikit.console().print(f"{mark} {c.name}: {c.detail}", soft_wrap=True, markup=True)


def verify(
    json_output: clikit.JsonOption = False,
    db: clikit.DbOption = None,
    anchor: Annotated[
        Path | None,
        typer.Option(
            "--anchor", help="A published-heads file: the global tree must be consistent with each head."
        ),
    ] = None,
) -> None:
    """Recompute every hash, chain, Merkle root, signature and checkpoint; name the first broken event."""
    ledger = open_ledger(db)
    heads = clikit.existing_file(anchor).read_text(encoding="utf-8") if anchor is not None else None
    if json_output:
        with clikit.user_errors():
            report = service.verify(ledger, published_heads=heads)
    else:
        with clikit.user_errors(), clikit.progress() as bar:
            task = bar.add_task("verifying", total=ledger.counts().events)
            report = service.verify(
                ledger, progress=lambda n: bar.update(task, completed=n), published_heads=heads
            )
    if json_output:
        from batteryloop.ledger.schemas import VerifyRead

        clikit.print_json(VerifyRead.from_result(report).model_dump(mode="json"))
    elif report.ok:
        clikit.console().print(
            f"[green]verified[/]: {report.events_checked:,} events in {report.batches_checked:,} signed batches; "
            "hashes, chains, Merkle roots, signatures and checkpoints all hold",
            soft_wrap=True,
        )
    else:
        clikit.console().print(f"[bold red]BROKEN[/]: {report.first_broken}", soft_wrap=True)
    if not report.ok:
        raise typer.Exit(code=1)


def export(
    out: Annotated[Path, typer.Argument(help="Output file (.ndjson or .parquet)")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="ndjson or parquet (default: by extension)")
    ] = None,
    db: clikit.DbOption = None,
) -> None:
    """Export the whole ledger (for analytics: Parquet reads in DuckDB, Polars or Spark)."""
    clikit.existing_folder(out)
    if fmt is not None and fmt not in service.EXPORT_FORMATS:
        raise clikit.fail(f"unknown format {fmt!r}: use ndjson or parquet")
    ledger = open_ledger(db)
    with clikit.user_errors():
        summary = service.export_events(ledger, out, fmt=fmt)
    clikit.console().print(f"exported {summary.events:,} events to {summary.path}", soft_wrap=True)


@ledger_app.command("check")
def ledger_check(
    json_output: clikit.JsonOption = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="List at most this many issues")] = 1000,
    db: clikit.DbOption = None,
) -> None:
    """List the stored events today's input rules would refuse (position, battery, event type, field, why)."""
    from batteryloop.ledger.schemas import StoredCheckRead

    ledger = open_ledger(db)
    with clikit.user_errors():
        report = service.check_stored(ledger, limit=limit)
    if json_output:
        clikit.print_json(StoredCheckRead.from_result(report).model_dump(mode="json"))
    elif report.ok:
        clikit.console().print(
            f"[green]ok[/]: {report.events_checked:,} events; today's input rules accept every one",
            soft_wrap=True,
        )
    else:
        table = clikit.fitted_table("position", "battery", "event type", "field", "why", numeric=[True])
        for i in report.issues:
            table.add_row(str(i.position), i.battery_id, i.event_type, i.field, i.reason)
        clikit.console().print(table)
        more = " (list truncated: raise --limit)" if report.truncated else ""
        clikit.console().print(
            f"[bold red]{report.events_refused:,}[/] of {report.events_checked:,} events hold values today's "
            f"rules refuse{more}",
            soft_wrap=True,
        )
    if not report.ok:
        raise typer.Exit(code=1)


@ledger_app.command("rebuild")
def ledger_rebuild(db: clikit.DbOption = None) -> None:
    """Rebuild the current-state projection from the ledger."""
    ledger = open_ledger(db)
    with clikit.user_errors():
        count = service.rebuild(ledger)
    clikit.console().print(f"projection rebuilt from the ledger: {count:,} batteries")
