"""`batteryloop demo`: a synthetic fleet in a fresh SQLite ledger, and what a user wants to see of it."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from batteryloop.config import Settings
from batteryloop.domain.errors import ValidationError

DEMO_MARKER_SUFFIX = ".demo"


def _prepare_file(settings: Settings, *, replace: bool) -> Path | None:
    path = settings.sqlite_path
    if path is None:
        return None
    marker = path.with_name(path.name + DEMO_MARKER_SUFFIX)
    if path.exists():
        if not (replace or marker.exists()):
            raise ValidationError(
                f"{path} exists and was not made by `batteryloop demo`; pass --replace to overwrite it "
                "or --db sqlite:///another.db"
            )
        for suffix in ("", "-wal", "-shm"):
            candidate = path.with_name(path.name + suffix)
            if candidate.exists():
                candidate.unlink()
    marker.write_text("created by batteryloop demo\n", encoding="utf-8")
    return path


def run_demo(*, settings: Settings, n_batteries: int, seed: int, replace: bool, console: Console) -> None:
    from batteryloop.fleet import FleetConfig, generate_fleet, plan_batches
    from batteryloop.ledger import Ledger, sign_batch
    from batteryloop.ledger.keystore import KeyStore
    from batteryloop.passport.synthetic import synthetic_passport_data

    if n_batteries < 1:
        raise ValidationError(f"--batteries must be at least 1, got {n_batteries}")
    path = _prepare_file(settings, replace=replace)
    if path is not None:
        store_dir = KeyStore.default_root(path)
        if store_dir.exists():
            import shutil

            shutil.rmtree(store_dir)
    started = time.perf_counter()
    config = FleetConfig(passport_payload=synthetic_passport_data)
    fleet = generate_fleet(seed=seed, n_batteries=n_batteries, config=config)
    generated = time.perf_counter()

    ledger = Ledger.open(settings.database_url, create=True)
    store = KeyStore.beside(ledger)
    keys = {}
    for org in fleet.organisations:
        ledger.register_organisation(org)
        key_id, private_key = store.generate(org.org_id)
        ledger.add_signing_key(org.org_id, private_key.public_key().public_bytes_raw(), key_id=key_id)
        keys[org.org_id] = (key_id, private_key)

    def batches():  # type: ignore[no-untyped-def]
        for actor, chunk in plan_batches(fleet.events):
            key_id, private_key = keys[actor]
            yield sign_batch(
                [e.to_event_in() for e in chunk], actor=actor, key_id=key_id, private_key=private_key
            )

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("appending signed batches", total=len(fleet.events))
        ledger.append_bulk(batches(), progress=lambda n: progress.advance(task, n))
    ingested = time.perf_counter()
    report = ledger.verify()
    verified = time.perf_counter()

    _show(console, ledger, fleet_summary=fleet.summary())
    status = "[green]integrity verified[/]" if report.ok else f"[bold red]BROKEN[/]: {report.first_broken}"
    console.print(
        f"{status}: {report.events_checked:,} events, {report.batches_checked:,} signed batches "
        f"(hash chains, Merkle roots, Ed25519 signatures, checkpoints)"
    )
    console.print(
        f"[dim]generated in {generated - started:.1f} s, appended in {ingested - generated:.1f} s "
        f"({len(fleet.events) / max(ingested - generated, 1e-9):,.0f} events/s), "
        f"verified in {verified - ingested:.1f} s[/]"
    )
    where = path if path is not None else settings.database_url
    console.print(
        f"ledger: [bold]{where}[/].  Next: `batteryloop trace <battery id>` or `batteryloop serve`."
    )


def _show(console: Console, ledger: object, *, fleet_summary: dict[str, object]) -> None:
    from batteryloop.ledger import Ledger

    assert isinstance(ledger, Ledger)
    counts = ledger.counts()
    states = sorted({s for (_, s) in counts.by_chemistry_state})
    table = Table(title="Battery packs and systems by chemistry and state", show_lines=False)
    table.add_column("chemistry")
    for state in states:
        table.add_column(state.replace("_", " "), justify="right")
    table.add_column("total", justify="right")
    chem_totals: Counter[str] = Counter()
    for (chem, _), n in counts.by_chemistry_state.items():
        chem_totals[chem] += n
    for chem in sorted(chem_totals, key=lambda c: -chem_totals[c]):
        row = [f"{counts.by_chemistry_state.get((chem, s), 0):,}" for s in states]
        table.add_row(chem, *row, f"{chem_totals[chem]:,}")
    console.print(table)

    custody = Table(title="Custody now (top holders)")
    custody.add_column("organisation")
    custody.add_column("role")
    custody.add_column("country")
    custody.add_column("batteries held", justify="right")
    for holder in counts.top_custodians[:12]:
        custody.add_row(holder.name, holder.role, holder.country, f"{holder.count:,}")
    console.print(custody)
    console.print(
        f"{counts.batteries:,} battery units ({counts.root_units:,} packs/systems), {counts.events:,} events, "
        f"{counts.batches:,} signed batches, {counts.organisations:,} organisations"
    )
    for key, value in fleet_summary.items():
        console.print(f"  {key}: {value}")
