"""`batteryloop demo`: a synthetic fleet in a fresh SQLite ledger, and what a user wants to see of it."""

from __future__ import annotations

import shutil
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace as replace_config
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from batteryloop.config import Settings
from batteryloop.domain.battery import BatteryUnit
from batteryloop.domain.errors import ValidationError
from batteryloop.domain.lifecycle import BatteryState

if TYPE_CHECKING:
    from batteryloop.fleet import Fleet
    from batteryloop.ledger import LedgerCounts

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
    from batteryloop.fleet import default_fleet_config, default_org_directory, generate_fleet, plan_batches
    from batteryloop.ledger import KeyStore, Ledger, SignedBatch, keystore_dir_for, sign_batch
    from batteryloop.passport.synthetic import synthetic_passport_data

    if n_batteries < 1:
        raise ValidationError(f"--batteries must be at least 1, got {n_batteries}")
    path = _prepare_file(settings, replace=replace)
    key_dir = keystore_dir_for(settings.database_url)
    if path is not None and key_dir.exists():
        shutil.rmtree(key_dir)
    started = time.perf_counter()
    names: dict[str, str] = {}

    def passport_data(unit: BatteryUnit, *, seed: int) -> dict[str, Any]:
        return synthetic_passport_data(
            unit,
            seed=seed,
            resolver_domain=settings.resolver_domain,
            manufacturer_name=names.get(unit.manufacturer_id),
        )

    directory = default_org_directory()
    names.update({p.org_id: p.org.name for p in directory.profiles})
    config = replace_config(default_fleet_config(), passport_payload=passport_data)
    fleet = generate_fleet(seed=seed, n_batteries=n_batteries, config=config, orgs=directory)
    generated = time.perf_counter()

    ledger = Ledger.open(settings.database_url, create=True)
    store = KeyStore(key_dir)
    keys = {}
    for org in fleet.organisations:
        ledger.register_organisation(org)
        _, private_key = store.generate_key(org.org_id)
        ledger.add_signing_key(org.org_id, private_key.public_key().public_bytes_raw())
        keys[org.org_id] = private_key

    def batches() -> Iterator[SignedBatch]:
        for actor, chunk in plan_batches(fleet.events):
            yield sign_batch([e.to_event_in() for e in chunk], actor=actor, private_key=keys[actor])

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

    _show(console, ledger.counts(), fleet)
    if report.ok:
        console.print(
            f"[green]integrity verified[/]: {report.events_checked:,} events in {report.batches_checked:,} "
            "signed batches (payload hashes, per-battery hash chains, Merkle roots, Ed25519 signatures, "
            "checkpoint chain)"
        )
    else:
        console.print(f"[bold red]integrity BROKEN[/]: {report.first_broken}")
    console.print(
        f"[dim]generated {len(fleet.events):,} events in {generated - started:.1f} s; appended in "
        f"{ingested - generated:.1f} s ({len(fleet.events) / max(ingested - generated, 1e-9):,.0f} events/s); "
        f"verified in {verified - ingested:.1f} s[/]"
    )
    where = path if path is not None else settings.database_url
    example = next((b.battery_id for b in fleet.batteries), None)
    console.print(f"ledger: [bold]{where}[/]")
    if example:
        console.print(f"next: [bold]batteryloop trace {example}[/]   or   [bold]batteryloop serve[/]")
    ledger.close()


def _show(console: Console, counts: LedgerCounts, fleet: Fleet) -> None:
    summary = fleet.summary()
    by_region = Table(title=f"Synthetic fleet (seed {fleet.seed}, as of {fleet.now})")
    by_region.add_column("region")
    by_region.add_column("packs / systems", justify="right")
    by_region.add_column("chemistry mix")
    by_region.add_column("leaked from compliant channels", justify="right")
    for region, n in summary["batteries_by_region"].items():
        mix = summary["chemistry_by_region"].get(region, {})
        total = sum(mix.values()) or 1
        shown = ", ".join(f"{c} {v / total:.0%}" for c, v in sorted(mix.items(), key=lambda kv: -kv[1])[:4])
        leak = summary["leak_share_by_region"].get(region)
        by_region.add_row(region, f"{n:,}", shown, "" if leak is None else f"{leak:.0%}")
    console.print(by_region)

    states = [s for s in _STATE_ORDER if counts.by_state.get(s)]
    table = Table(title="Battery units (packs, modules, cells) by chemistry and lifecycle state")
    table.add_column("chemistry")
    for state in states:
        table.add_column(state.replace("_", " "), justify="right")
    table.add_column("total", justify="right")
    chem_totals: Counter[str] = Counter()
    for (chem, _), n in counts.by_chemistry_state.items():
        chem_totals[chem] += n
    for chem, total in chem_totals.most_common():
        row = [f"{counts.by_chemistry_state.get((chem, s), 0):,}" for s in states]
        table.add_row(chem, *row, f"{total:,}")
    console.print(table)

    orgs = {o.org_id: o for o in fleet.organisations}
    custody = Table(title="Who holds the packs and systems now (top 12 custodians)")
    custody.add_column("organisation")
    custody.add_column("roles")
    custody.add_column("country")
    custody.add_column("certified")
    custody.add_column("packs/systems held", justify="right")
    top = sorted(counts.by_root_custodian.items(), key=lambda kv: -kv[1])[:12]
    for org_id, n in top:
        org = orgs.get(org_id)
        if org is None:
            custody.add_row(org_id, "", "", "", f"{n:,}")
            continue
        certified = ", ".join(sorted({str(c.scheme) for c in org.certifications})) or "-"
        custody.add_row(org.name, ", ".join(sorted(org.roles)), org.country, certified, f"{n:,}")
    console.print(custody)
    console.print(
        f"{counts.batteries:,} battery units ({counts.root_units:,} packs and systems with their modules and "
        f"cells), {counts.events:,} events, {counts.batches:,} signed batches, "
        f"{counts.organisations:,} organisations"
    )


_STATE_ORDER = [s.value for s in BatteryState]
