"""`batteryloop fleet generate` against a SQLite ledger."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from batteryloop.fleet.cli import fleet_app
from batteryloop.ledger import Ledger
from batteryloop.reference import service as reference

runner = CliRunner()


def test_generate_writes_a_verifiable_fleet_and_matches_its_summary(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'fleet.db'}"
    result = runner.invoke(fleet_app, ["generate", "--batteries", "12", "--seed", "4", "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_batteries"] == 12
    assert "fleet:chemistry.car_lfp_share.CN" in summary["unverified"]  # a recalled share, unchecked
    assert "gbt34014:battery_type.from_chemistry.LFP" in summary["unverified"]
    kernel = reference.load("fleet").unverified()
    assert {p.removeprefix("fleet:") for p in summary["unverified"] if p.startswith("fleet:")} == set(kernel)
    assert "not checked against a primary source: fleet:" in result.stderr
    ledger = Ledger.open(db, create=False)
    counts = ledger.counts()
    assert counts.events == summary["n_events"]
    assert counts.batteries == summary["n_units"]
    assert counts.organisations == summary["n_organisations"]
    assert ledger.verify().ok
    ledger.close()
    text = runner.invoke(
        fleet_app, ["generate", "--batteries", "2", "--db", f"sqlite:///{tmp_path / 'b.db'}"]
    )
    assert text.exit_code == 0, text.output
    notice = f"note: {len(summary['unverified'])} value(s) marked UNVERIFIED were not checked"
    assert notice in text.stdout
    again = runner.invoke(fleet_app, ["generate", "--batteries", "3", "--db", db])
    assert again.exit_code == 2 and again.output.startswith("error:")
    assert len(again.output.strip().splitlines()) == 1


def test_bad_options_give_one_line(tmp_path: Path) -> None:
    db = tmp_path / "never.db"
    bad_day = runner.invoke(fleet_app, ["generate", "--now", "2026-13-01", "--db", f"sqlite:///{db}"])
    assert bad_day.exit_code == 2 and bad_day.output.startswith("error: --now")
    none = runner.invoke(fleet_app, ["generate", "--batteries", "0", "--db", f"sqlite:///{db}"])
    assert none.exit_code == 2 and "at least 1" in none.output
    assert not db.exists()


def test_parity_generate_python_equals_cli(tmp_path: Path) -> None:
    """The same seed, size and day give the same fleet from Python and from `fleet generate`: the same summary
    and the same events, content hash by content hash, in the same order. (No HTTP face: generating signs
    as every organisation of the fleet, and the server never holds organisations' private keys.)"""
    from datetime import date

    from batteryloop.fleet.service import generate_into_ledger
    from batteryloop.ledger import KeyStore, keystore_dir_for

    by_python = f"sqlite:///{tmp_path / 'python.db'}"
    ledger = Ledger.open(by_python, create=True)
    made = generate_into_ledger(
        ledger, KeyStore(keystore_dir_for(by_python)), seed=5, n_batteries=6, now=date(2026, 6, 30)
    )
    python_hashes = [e.content_hash for e in ledger.iter_events()]
    ledger.close()
    by_cli = f"sqlite:///{tmp_path / 'cli.db'}"
    result = runner.invoke(
        fleet_app,
        ["generate", "--batteries", "6", "--seed", "5", "--now", "2026-06-30", "--db", by_cli, "--json"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {**made.fleet.summary(), "unverified": list(made.unverified)}
    ledger = Ledger.open(by_cli, create=False)
    assert [e.content_hash for e in ledger.iter_events()] == python_hashes
    assert len(python_hashes) == made.events_appended == ledger.counts().events
    ledger.close()
