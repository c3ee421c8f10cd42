"""`batteryloop demo`: a synthetic fleet in a fresh SQLite ledger, and what a user wants to see of it."""

from __future__ import annotations

import shutil
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import replace as replace_config
from functools import cache
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
    from batteryloop.fleet import Fleet, FleetBattery
    from batteryloop.ledger import Ledger, LedgerCounts

DEMO_MARKER_SUFFIX = ".demo"
# the packaged data sets the demo reads: generator defaults, organisations, GB/T 34014 code tables, passport
# access tiers and value ranges, ledger limits, and the recycling parameters of the passports and the model
DEMO_DATA_SETS = (
    "fleet",
    "organisations",
    "gbt34014",
    "passport-access",
    "passport-synthetic",
    "ledger",
    "everbatt2023",
)


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


@cache
def modelled_recycling_stage(
    chemistry: str, *, route: str, params_set: str, grid_region: str, form: str, annual_mass_t: float
) -> float:
    """The recycling model's gate-to-gate emissions per kWh of ``chemistry`` packs through ``route``: the
    Recycling stage of the synthetic passports' carbon footprint (passed to ``synthetic_passport_data``)."""
    from batteryloop.recycling import carbon_footprint, load_parameter_set, run_flowsheet, simple_feedstock

    params = load_parameter_set(params_set)
    feed = simple_feedstock({chemistry: 1.0}, form=form, annual_mass_t=annual_mass_t)
    flowsheet = run_flowsheet(feed, route=route, params=params)
    per_kwh = carbon_footprint(flowsheet, params=params, region=grid_region).gate_to_gate_kg_co2e_per_kwh
    if per_kwh is None:
        raise ValidationError(
            f"recycling stage for {chemistry} {form}s via {route!r}: the feed stores no energy"
        )
    return per_kwh


@dataclass(frozen=True, slots=True)
class PassportSummary:
    """Passports of the packs and systems: how many were built, how many of them validate as BatteryPass
    v1.2 (documented deviations of the upstream schemas aside), how many ceased, one example."""

    built: int
    ceased: int
    checked: int
    valid: int
    without_data: int  # checked, no passport data registered (every BatteryPass module but identity missing)
    example: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class RecyclingRun:
    """The recycling model run on the packs the fleet sent to recyclers, one route per chemistry family."""

    route: str
    packs: int
    mass_t: float
    recovery: dict[str, float]  # element -> share of the feed's element recovered
    gate_to_gate_kg_co2e_per_t: float
    net_kg_co2e_per_t: float
    unverified: tuple[str, ...] = ()  # the unverified parameters the run read


@dataclass(frozen=True, slots=True)
class ReferenceData:
    """How many values the data sets behind the demo hold, and how many of them are marked unverified."""

    values: int
    unverified: dict[str, int]  # data set -> its unverified values (sets with none left out)

    @property
    def unverified_total(self) -> int:
        return sum(self.unverified.values())


def reference_data(names: tuple[str, ...] = DEMO_DATA_SETS) -> ReferenceData:
    """The counts of the reference kernel for the data sets ``names``."""
    from batteryloop.reference.service import list_sets

    sets = {s.name: s for s in list_sets()}
    chosen = [sets[name] for name in names]
    return ReferenceData(
        values=sum(s.values for s in chosen),
        unverified={s.name: s.unverified for s in chosen if s.unverified},
    )


def summarise_passports(ledger: Ledger, *, resolver_domain: str) -> PassportSummary:
    """Build every pack's and system's passport through the passport service and validate the BatteryPass
    export of each against the official schemas (about 3 ms each)."""
    from batteryloop.passport.access import Audience
    from batteryloop.passport.core.batterypass import split_issues, to_batterypass, validate_batterypass
    from batteryloop.passport.service import PassportService, Selection

    service = PassportService(ledger, resolver_domain=resolver_domain)
    result = service.export(Selection(everything=True), audiences=list(Audience))
    valid = without_data = 0
    checked = result.views
    for view in checked:
        unexpected, _documented = split_issues(validate_batterypass(to_batterypass(view.document)))
        if not unexpected:
            valid += 1
        elif view.document.get("carbon_footprint") is None:
            without_data += 1
    registered = [v.document for v in result.views if v.document.get("carbon_footprint")]
    in_service = [d for d in registered if d["lifecycle"].get("state") == "in_service"]
    return PassportSummary(
        built=len(result.views),
        ceased=sum(v.ceased for v in result.views),
        checked=len(checked),
        valid=valid,
        without_data=without_data,
        example=next(iter(in_service or registered), None),
    )


def recycling_runs(fleet: Fleet, routes: dict[str, str]) -> list[RecyclingRun]:
    """Run the recycling model on the mass-weighted chemistry mix of the packs sent to recycling, per route
    (``routes``: chemistry -> route; chemistries the model has no route for are left out)."""
    from batteryloop.recycling import carbon_footprint, load_parameter_set, run_flowsheet, simple_feedstock

    params = load_parameter_set("everbatt2023")
    groups: dict[str, list[FleetBattery]] = {}
    for battery in fleet.batteries:
        route = routes.get(battery.chemistry.value)
        if battery.route == "recycled" and route is not None:
            groups.setdefault(route, []).append(battery)
    runs = []
    for route, packs in sorted(groups.items()):
        mass_kg = sum(b.mass_kg for b in packs)
        mix: dict[str, float] = {}
        for b in packs:
            mix[b.chemistry.value] = mix.get(b.chemistry.value, 0.0) + b.mass_kg / mass_kg
        feed = simple_feedstock(mix, form="pack", annual_mass_t=max(mass_kg / 1000.0, 1.0))
        with params.track() as used:
            flowsheet = run_flowsheet(feed, route=route, params=params)
            carbon = carbon_footprint(flowsheet, params=params, region="EU")
        runs.append(
            RecyclingRun(
                route=route,
                packs=len(packs),
                mass_t=mass_kg / 1000.0,
                recovery={e: flowsheet.element_recovery.get(e, 0.0) for e in ("Li", "Ni", "Co")},
                gate_to_gate_kg_co2e_per_t=carbon.gate_to_gate_kg_co2e_per_t,
                net_kg_co2e_per_t=carbon.net_kg_co2e_per_t,
                unverified=tuple(used.unverified_paths()),
            )
        )
    return runs


def store_demo_documents(ledger: Ledger, models: Iterable[tuple[str, str]]) -> int:
    """Store every document the synthetic passports of these battery models (manufacturer id, model) link,
    each for its manufacturer and with the Annex XIII tier of the passport field linking it; the number of
    documents stored (the same bytes are stored once)."""
    from batteryloop.documents import add_document
    from batteryloop.passport import default_policy
    from batteryloop.passport.core.documents import documents_for

    policy = default_policy()
    stored = 0
    for manufacturer_id, model in sorted(set(models)):
        for doc in documents_for(manufacturer_id, model).values():
            rule = policy.rule_for(doc.field)
            record = add_document(
                ledger,
                doc.content,
                media_type=doc.media_type,
                uploaded_by=manufacturer_id,
                tier=rule.tier if rule is not None else "authority",
                filename=doc.filename,
            )
            stored += record.created
    return stored


def run_demo(*, settings: Settings, n_batteries: int, seed: int, replace: bool, console: Console) -> None:
    from batteryloop.fleet import default_fleet_config, default_org_directory
    from batteryloop.fleet.service import generate_into_ledger
    from batteryloop.ledger import KeyStore, Ledger, keystore_dir_for
    from batteryloop.passport.core.synthetic import load_synthetic_defaults, synthetic_passport_data

    if n_batteries < 1:
        raise ValidationError(f"--batteries must be at least 1, got {n_batteries}")
    path = _prepare_file(settings, replace=replace)
    key_dir = keystore_dir_for(settings.database_url)
    if path is not None and key_dir.exists():
        shutil.rmtree(key_dir)
    names: dict[str, str] = {}
    models: set[tuple[str, str]] = set()

    def passport_data(unit: BatteryUnit, *, seed: int) -> dict[str, Any]:
        models.add((unit.manufacturer_id, unit.model))
        return synthetic_passport_data(
            unit,
            seed=seed,
            manufacturer_name=names.get(unit.manufacturer_id),
            recycling_stage=modelled_recycling_stage,
        )

    directory = default_org_directory()
    names.update({p.org_id: p.org.name for p in directory.profiles})
    config = replace_config(default_fleet_config(), passport_payload=passport_data)
    ledger = Ledger.open(settings.database_url, create=True)
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("appending signed batches", total=None)
        loaded = generate_into_ledger(
            ledger,
            KeyStore(key_dir),
            seed=seed,
            n_batteries=n_batteries,
            config=config,
            orgs=directory,
            progress=lambda n: progress.advance(task, n),
            on_generated=lambda fleet: progress.update(task, total=len(fleet.events)),
        )
    fleet = loaded.fleet
    documents = store_demo_documents(ledger, models)
    started = time.perf_counter()
    report = ledger.verify()
    verified = time.perf_counter() - started

    _show(console, ledger.counts(), fleet)
    passports = summarise_passports(ledger, resolver_domain=settings.resolver_domain)
    _show_passports(console, passports)
    console.print(
        f"documents: {documents:,} stored by content hash for {len(models):,} battery models "
        "(manuals, studies, declarations, label symbols); every passport link resolves under the public base URL"
    )
    routes = dict(load_synthetic_defaults()["carbon_footprint"]["recycling_stage"]["routes"])
    _show_recycling(console, recycling_runs(fleet, routes))
    if report.ok:
        console.print(
            f"[green]integrity verified[/]: {report.events_checked:,} events in {report.batches_checked:,} "
            "signed batches (payload hashes, per-battery hash chains, Merkle roots, Ed25519 signatures, "
            "checkpoint chain)"
        )
    else:
        console.print(f"[bold red]integrity BROKEN[/]: {report.first_broken}")
    _show_reference_data(console, reference_data())
    rate = loaded.events_appended / max(loaded.append_seconds, 1e-9)
    console.print(
        f"[dim]generated {len(fleet.events):,} events in {loaded.generate_seconds:.1f} s; appended in "
        f"{loaded.append_seconds:.1f} s ({rate:,.0f} events/s); verified in {verified:.1f} s[/]"
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
    by_region.add_column("packs", justify="right")
    by_region.add_column("chemistry mix")
    by_region.add_column("leaked", justify="right")
    for region, n in summary["batteries_by_region"].items():
        mix = summary["chemistry_by_region"].get(region, {})
        total = sum(mix.values()) or 1
        shown = ", ".join(f"{c} {v / total:.0%}" for c, v in sorted(mix.items(), key=lambda kv: -kv[1])[:3])
        leak = summary["leak_share_by_region"].get(region)
        by_region.add_row(region, f"{n:,}", shown, "" if leak is None else f"{leak:.0%}")
    by_region.add_row("total", f"{len(fleet.batteries):,}", "", "", style="bold")
    console.print(by_region)
    console.print("[dim]leaked: share of retired packs that left the compliant collection channels[/]")

    by_state = Table(title="Units by state")
    by_state.add_column("state")
    by_state.add_column("units", justify="right")
    for state in _STATE_ORDER:
        if counts.by_state.get(state):
            by_state.add_row(state.replace("_", " "), f"{counts.by_state[state]:,}")
    by_state.add_row("total", f"{sum(counts.by_state.values()):,}", style="bold")
    by_chemistry = Table(title="Units by chemistry")
    by_chemistry.add_column("chemistry")
    by_chemistry.add_column("units", justify="right")
    chem_totals: Counter[str] = Counter()
    for (chem, _), n in counts.by_chemistry_state.items():
        chem_totals[chem] += n
    for chem, n in chem_totals.most_common():
        by_chemistry.add_row(chem, f"{n:,}")
    by_chemistry.add_row("total", f"{sum(chem_totals.values()):,}", style="bold")
    console.print(by_state)
    console.print(by_chemistry)

    orgs = {o.org_id: o for o in fleet.organisations}
    custody = Table(title="Who holds the root units (packs, systems) now")
    custody.add_column("organisation", max_width=40)
    custody.add_column("country")
    custody.add_column("held", justify="right")
    ranked = sorted(counts.by_root_custodian.items(), key=lambda kv: (-kv[1], kv[0]))
    for org_id, n in ranked[:TOP_HOLDERS]:
        org = orgs.get(org_id)
        custody.add_row(org.name if org else org_id, org.country if org else "", f"{n:,}")
    rest = ranked[TOP_HOLDERS:]
    if rest:
        custody.add_row(f"{len(rest)} other holders", "", f"{sum(n for _, n in rest):,}")
    custody.add_row("total", "", f"{sum(counts.by_root_custodian.values()):,}", style="bold")
    console.print(custody)
    console.print(
        f"{counts.batteries:,} battery units ({counts.root_units:,} packs and systems with their modules and "
        f"cells), {counts.events:,} events, {counts.batches:,} signed batches, "
        f"{counts.organisations:,} organisations"
    )


def _show_passports(console: Console, summary: PassportSummary) -> None:
    invalid = summary.checked - summary.valid - summary.without_data
    console.print(
        f"battery passports: {summary.built:,} built, one per pack and system unit (inside a system or "
        f"not): {summary.built - summary.ceased:,} active + {summary.ceased:,} ceased after recycling"
    )
    console.print(
        f"BatteryPass v1.2 schemas, {summary.checked:,} passports checked: {summary.valid:,} valid + "
        f"{summary.without_data:,} without registered passport data + {invalid:,} invalid"
    )
    p = summary.example
    if p is None:
        return
    ident, cf = p["identity"], p["carbon_footprint"]
    table = Table(title="One passport", show_header=False)
    table.add_column("field")
    table.add_column("value", max_width=50, overflow="fold")
    table.add_row("battery", p["passport_id"])
    table.add_row("model", f"{ident['model']} ({ident['chemistry']}, {ident['category']})")
    table.add_row("rated energy", f"{ident['rated_energy_kwh']:,.1f} kWh")
    life = p["lifecycle"]
    table.add_row("state", f"{life.get('state') or 'unknown'} ({life['status']})")
    stages = ", ".join(f"{s['stage']} {s['kg_co2e_per_kwh']:.1f}" for s in cf["per_stage"])
    table.add_row(
        "carbon footprint",
        f"{cf['total_kg_co2e_per_kwh']:.1f} kg CO2e/kWh, class {cf['performance_class']} ({stages})",
    )
    console.print(table)


def _show_recycling(console: Console, runs: list[RecyclingRun]) -> None:
    if not runs:
        console.print("recycling model: no pack has reached a recycler yet")
        return
    table = Table(title="Recycling model on the packs sent to recyclers (per tonne of feed)")
    table.add_column("route")
    table.add_column("packs", justify="right")
    table.add_column("feed t", justify="right")
    table.add_column("Li/Ni/Co recovered", justify="right")
    table.add_column("kg CO2e emitted", justify="right")
    table.add_column("net", justify="right")
    for run in runs:
        recovered = "/".join(f"{run.recovery[e]:.0%}" for e in ("Li", "Ni", "Co"))
        table.add_row(
            run.route,
            f"{run.packs:,}",
            f"{run.mass_t:,.1f}",
            recovered,
            f"{run.gate_to_gate_kg_co2e_per_t:,.0f}",
            f"{run.net_kg_co2e_per_t:,.0f}",
        )
    console.print(table)
    console.print("[dim]net: emitted minus emissions avoided by the recovered products (negative: saved)[/]")
    from batteryloop.reference.values import unverified_line

    used = sorted({path for run in runs for path in run.unverified})
    if used:
        console.print(f"[yellow]note:[/] {unverified_line(used)}", highlight=False)


def _show_reference_data(console: Console, data: ReferenceData) -> None:
    if not data.unverified:
        console.print(f"reference data: all {data.values:,} values behind this demo are checked")
        return
    by_set = ", ".join(f"{name} {count:,}" for name, count in data.unverified.items())
    console.print(
        f"[yellow]reference data[/]: {data.unverified_total:,} of the {data.values:,} values behind this "
        f"demo are marked UNVERIFIED (not checked against a primary source): {by_set}",
        highlight=False,
    )


TOP_HOLDERS = 10
_STATE_ORDER = [s.value for s in BatteryState]
