"""A recycler's real intake read from a signed SQLite ledger of a synthetic fleet, and `recycle intake`."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from batteryloop.domain.lifecycle import EventType as E
from batteryloop.domain.organisation import Role
from batteryloop.fleet import Fleet
from batteryloop.ledger import Ledger
from batteryloop.recycling.cli import recycle_app
from batteryloop.recycling.core.intake import intake_from_events, intake_from_ledger

app = typer.Typer()
app.add_typer(recycle_app, name="recycle")
runner = CliRunner()


def recyclers(fleet: Fleet) -> list[str]:
    return sorted(o.org_id for o in fleet.organisations if Role.RECYCLER in o.roles)


def accepted_by(fleet: Fleet, org: str) -> set[str]:
    return {e.battery_id for e in fleet.events if e.event_type is E.CUSTODY_ACCEPTED and e.actor == org}


def registered_mass(fleet: Fleet) -> dict[str, float]:
    return {
        e.battery_id: float(e.payload["mass_kg"])
        for e in fleet.events
        if e.event_type is E.BATTERY_MANUFACTURED
    }


def test_intake_of_every_recycler_is_what_it_accepted_counted_once(fleet: Fleet, ledger: Ledger) -> None:
    mass = registered_mass(fleet)
    children: dict[str, list[str]] = defaultdict(list)
    for e in fleet.events:
        if e.event_type is E.BATTERY_INTEGRATED:
            children[e.payload["parent_id"]].append(e.battery_id)

    def tree_mass(bid: str) -> float:
        return mass[bid] + sum(tree_mass(c) for c in set(children[bid]))

    seen_any = 0
    for org in recyclers(fleet):
        records = intake_from_ledger(ledger, recycler_id=org)
        # in the generated fleet a recycler only ever accepts top-level units, and keeps them
        assert {r.battery_id for r in records} == accepted_by(fleet, org), org
        assert all(r.level in ("pack", "system") for r in records)
        total = sum(r.mass_kg for r in records)
        assert total == pytest.approx(sum(mass[r.battery_id] for r in records))
        if records:
            seen_any += 1
            # modules and cells inside the packs were detached and recycled too, but are not counted again
            assert sum(tree_mass(r.battery_id) for r in records) > total
        # the ledger path and the in-memory event path agree
        assert records == intake_from_events(fleet.events, recycler_id=org)
    assert seen_any >= 5


def test_a_collection_point_that_passes_packs_on_has_no_intake_of_them(fleet: Fleet, ledger: Ledger) -> None:
    collectors = [o.org_id for o in fleet.organisations if Role.COLLECTION_POINT in o.roles]
    for org in collectors:
        passed_on = {
            e.battery_id for e in fleet.events if e.event_type is E.CUSTODY_HANDED_OVER and e.actor == org
        }
        records = intake_from_ledger(ledger, recycler_id=org)
        assert not {r.battery_id for r in records} & passed_on


def test_window_selects_by_receipt(fleet: Fleet, ledger: Ledger) -> None:
    org = "no-fjord-recycling"
    everything = intake_from_ledger(ledger, recycler_id=org)
    window = intake_from_ledger(ledger, recycler_id=org, since=date(2033, 1, 1), until=date(2037, 1, 1))
    assert 0 < len(window) < len(everything)
    assert all(date(2033, 1, 1) <= r.received_at.date() < date(2037, 1, 1) for r in window)
    assert {r.battery_id for r in window} <= {r.battery_id for r in everything}


def test_cli_intake_runs_the_line_on_the_real_intake(fleet: Fleet, ledger_url: str, tmp_path: Path) -> None:
    org = "de-kreislauf-recycling"
    result = runner.invoke(
        app, ["recycle", "intake", "--org", org, "--db", ledger_url, "--json", "--throughput-t", "5000"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    mass = registered_mass(fleet)
    ids = accepted_by(fleet, org)
    assert data["region"] == "DE"  # the recycler's own country
    assert data["units"] == len(ids)
    assert data["mass_t"] == pytest.approx(sum(mass[b] for b in ids) / 1000)
    assert sum(g["mass_t"] for g in data["by_chemistry_form"]) == pytest.approx(data["mass_t"])
    assert data["plant_t_per_yr"] == 5000
    assert sum(c["mass_share"] for c in data["feedstock"]) == pytest.approx(1.0)
    assert data["mass_balance"]["closes"] is True
    assert data["economics"]["region"] == "DE"
    assert data["carbon"]["gate_to_gate_kg_co2e_per_t"] > 0

    out = tmp_path / "out"
    table = runner.invoke(
        app,
        ["recycle", "intake", "--org", org, "--db", ledger_url, "--route", "pyro", "--out", str(out)],
    )
    assert table.exit_code == 0, table.output
    assert "Intake of de-kreislauf-recycling" in table.output
    assert "mass balance closes on all" in table.output
    names = {p.name for p in out.iterdir()}
    stem = f"intake-{org}"
    for suffix in (".csv", ".xlsx", "-units.csv", "-balance.csv", "-waterfall.png", "-sankey.svg"):
        assert stem + suffix in names
    units_csv = (out / f"{stem}-units.csv").read_text(encoding="utf-8").splitlines()
    assert len(units_csv) == len(ids) + 1


def test_cli_intake_errors_are_clear(ledger_url: str, tmp_path: Path) -> None:
    norway = runner.invoke(app, ["recycle", "intake", "--org", "no-fjord-recycling", "--db", ledger_url])
    assert norway.exit_code == 2
    assert "pass --region" in norway.output
    unknown = runner.invoke(
        app, ["recycle", "intake", "--org", "nobody", "--db", ledger_url, "--region", "DE"]
    )
    assert unknown.exit_code == 2
    assert "nobody" in unknown.output
    empty = runner.invoke(
        app,
        ["recycle", "intake", "--org", "de-kreislauf-recycling", "--db", ledger_url, "--until", "2001-01-01"],
    )
    assert empty.exit_code == 2
    assert "received no" in empty.output
    bad_date = runner.invoke(
        app, ["recycle", "intake", "--org", "de-kreislauf-recycling", "--db", ledger_url, "--since", "soon"]
    )
    assert bad_date.exit_code == 2
    assert "--since" in bad_date.output
    missing_db = runner.invoke(
        app,
        ["recycle", "intake", "--org", "x", "--db", f"sqlite:///{tmp_path / 'none.db'}", "--region", "DE"],
    )
    assert missing_db.exit_code == 2
