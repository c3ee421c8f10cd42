"""The transparency log's faces: one answer from Python, the CLI (--json) and HTTP; the stand-alone verifier
end to end; and the hole it closes (truncation + `ledger rebuild` passes `verify`, not `verify --anchor`)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import text
from typer.testing import CliRunner

from batteryloop.app import create_app
from batteryloop.cli import app
from batteryloop.config import Settings
from batteryloop.demo import run_demo
from batteryloop.domain.lifecycle import EventType
from batteryloop.domain.organisation import Role
from batteryloop.ledger import Ledger
from batteryloop.ledger.core.checkpoint import open_checkpoint, parse_verifier
from batteryloop.ledger.core.merkle import leaf_hash, verify_consistency, verify_inclusion
from batteryloop.transparency import report, service

runner = CliRunner()
Fleet = tuple[str, Ledger, TestClient, dict[str, str], Path]


def cli(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result


def cli_json(*args: str) -> Any:
    return json.loads(cli(*args, "--json").stdout)


def demo(path: Path, n: int = 20) -> tuple[str, Settings]:
    url = f"sqlite:///{path}"
    settings = Settings(database_url=url, resolver_domain="https://id.example.test")
    run_demo(settings=settings, n_batteries=n, seed=5, replace=True, console=Console(file=io.StringIO()))
    cli("init", "--db", url)  # the operator key
    return url, settings


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    folder = tmp_path_factory.mktemp("log")
    url, settings = demo(folder / "fleet.db")
    ledger = Ledger.open(url)
    ledger.sign_tree_head()
    authority = next(o for o in ledger.list_organisations() if Role.AUTHORITY in o.roles)
    headers = {"X-API-Key": ledger.issue_api_key(authority.org_id)}
    with TestClient(create_app(settings=settings, ledger=ledger)) as client:
        yield url, ledger, client, headers, folder
    ledger.close()


def test_parity_head(fleet: Fleet) -> None:
    url, ledger, client, _h, _f = fleet
    expected = report.head_json(service.head(ledger))
    size = ledger.counts().events
    assert expected["tree_size"] == size and expected["checkpoint"] is not None
    assert cli_json("log", "head", "--db", url) == client.get("/log/head").json() == expected
    note = client.get("/log/checkpoint")
    assert note.status_code == 200 and note.headers["content-type"].startswith("text/plain")
    cp = open_checkpoint(note.text, [parse_verifier(expected["verifier_key"])])
    assert (cp.size, cp.root.hex()) == (size, expected["root_hash"])
    smaller = report.head_json(service.head(ledger, size=7))
    assert (
        cli_json("log", "head", "--size", "7", "--db", url)
        == client.get("/log/head?size=7").json()
        == smaller
    )
    assert smaller["checkpoint"] is None


def test_parity_inclusion(fleet: Fleet) -> None:
    url, ledger, client, _h, _f = fleet
    expected = report.inclusion_json(service.prove_inclusion(ledger, 17))
    assert cli_json("log", "prove-inclusion", "17", "--db", url) == expected
    assert client.get("/log/proof/inclusion", params={"position": 17}).json() == expected
    verify_inclusion(
        16,
        expected["tree_size"],
        leaf_hash(bytes.fromhex(expected["event_hash"])),
        [bytes.fromhex(p) for p in expected["proof"]],
        bytes.fromhex(expected["root_hash"]),
    )


def test_an_inclusion_proof_is_answered_while_every_pooled_connection_is_taken(fleet: Fleet) -> None:
    """On SQLite a proof is read on the event loop's own connection (opened at startup, outside the pool),
    not in the threadpool: with every pooled connection checked out, by slow requests for instance, a proof
    is still answered at once and equals the service's. Before, it waited for a pooled connection (the
    pool's 30 s, then an error)."""
    _url, ledger, client, _h, _f = fleet
    expected = report.inclusion_json(service.prove_inclusion(ledger, 17))
    pool = ledger.engine.pool
    limit = pool.size() + pool._max_overflow  # type: ignore[attr-defined]  # QueuePool: 5 + 10
    taken = [ledger.engine.raw_connection() for _ in range(limit - pool.checkedout())]
    try:
        assert pool.checkedout() == limit
        got = client.get("/log/proof/inclusion", params={"position": 17})
    finally:
        for conn in taken:
            conn.close()
    assert got.status_code == 200 and got.json() == expected


def test_in_place_proofs_survive_closing_the_ledger(tmp_path: Path) -> None:
    """Closing a ledger closes the connections of in-place proofs; a later one opens a new connection (the
    pooled reads reconnect after ``close`` too) and gives the same proof."""
    url, _settings = demo(tmp_path / "closed.db", n=3)
    ledger = Ledger.open(url)
    try:
        before = service.prove_inclusion(ledger, 5, in_place=True)
        ledger.close()
        assert service.prove_inclusion(ledger, 5, in_place=True) == before
        assert service.prove_inclusion(ledger, 5) == before
    finally:
        ledger.close()


def test_parity_consistency(fleet: Fleet) -> None:
    url, ledger, client, _h, _f = fleet
    expected = report.consistency_json(service.prove_consistency(ledger, 100))
    assert cli_json("log", "prove-consistency", "100", "--db", url) == expected
    assert client.get("/log/proof/consistency", params={"old": 100}).json() == expected
    verify_consistency(
        100,
        expected["new_size"],
        bytes.fromhex(expected["old_root"]),
        bytes.fromhex(expected["new_root"]),
        [bytes.fromhex(p) for p in expected["proof"]],
    )


def test_bad_requests_are_one_line_errors_and_4xx(fleet: Fleet) -> None:
    url, ledger, client, _h, _f = fleet
    size = ledger.counts().events
    result = cli("log", "prove-inclusion", str(size + 1), "--db", url, code=2)
    assert "not in the tree" in result.output and "Traceback" not in result.output
    r = client.get("/log/proof/inclusion", params={"position": size + 1})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    r = client.get("/log/proof/consistency", params={"old": size + 5})
    assert r.status_code == 422
    assert client.get("/log/proof/inclusion", params={"position": 0}).status_code == 422


def test_bundle_needs_a_reader_and_matches_python(fleet: Fleet) -> None:
    _url, ledger, client, headers, _f = fleet
    battery = next(e.battery_id for e in ledger.iter_events() if e.event_type is EventType.CUSTODY_ACCEPTED)
    assert client.get(f"/log/bundle/{battery}").status_code == 401
    r = client.get(f"/log/bundle/{battery}", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == json.loads(json.dumps(service.bundle(ledger, battery)))


def test_verify_passport_end_to_end_without_the_database(fleet: Fleet, tmp_path: Path) -> None:
    url, ledger, client, headers, _f = fleet
    battery = next(e.battery_id for e in ledger.iter_events() if e.event_type is EventType.CUSTODY_ACCEPTED)
    heads = tmp_path / "heads.txt"
    cli("log", "publish", "--to", str(heads), "--db", url)
    assert "already ends" in cli("log", "publish", "--to", str(heads), "--db", url).output
    bundle, keys = tmp_path / "bundle.json", tmp_path / "keys.json"
    bundle.write_text(client.get(f"/log/bundle/{battery}", headers=headers).text)  # as served over HTTP
    keys.write_text(client.get("/log/keys").text)
    result = cli("verify-passport", str(bundle), "--keys", str(keys), "--heads", str(heads))
    assert "VERIFIED" in result.output and "FAILS" not in result.output
    out = cli("verify-passport", str(bundle), "--keys", str(keys), "--heads", str(heads), "--json").stdout
    checks = json.loads(out)["checks"]
    assert [c["ok"] for c in checks] == [True] * 6
    # a payload changed in the served JSON
    doc = json.loads(bundle.read_text())
    doc["events"][-1]["payload"]["note"] = "edited"
    bundle.write_text(json.dumps(doc))
    result = cli("verify-passport", str(bundle), "--keys", str(keys), "--heads", str(heads), code=1)
    assert "FAILS  event hashes" in result.output and "NOT VERIFIED" in result.output
    # another operator's heads file (a key the keys file does not name) is refused
    other = tmp_path / "other.txt"
    other.write_text(heads.read_text().replace("\u2014 batteryloop.local/ledger ", "\u2014 someone-else "))
    doc["events"][-1]["payload"].pop("note")
    bundle.write_text(json.dumps(doc))
    result = cli("verify-passport", str(bundle), "--keys", str(keys), "--heads", str(other), code=1)
    assert "FAILS  consistent with the published heads" in result.output
    assert (
        "error: " in cli("verify-passport", str(tmp_path / "none.json"), "--keys", str(keys), code=2).output
    )


def test_truncation_and_rebuild_pass_verify_but_not_verify_anchor(tmp_path: Path) -> None:
    url, _settings = demo(tmp_path / "t.db", n=8)
    cli("log", "checkpoint", "--db", url)
    heads = tmp_path / "heads.txt"
    cli("log", "publish", "--to", str(heads), "--db", url)
    assert "hold" in cli("verify", "--anchor", str(heads), "--db", url).output
    ledger = Ledger.open(url)
    size = ledger.counts().events
    cut = next(int(r[0]) for r in ledger.engine.connect().execute(
        text("SELECT first_position FROM batches ORDER BY first_position DESC LIMIT 1 OFFSET 2")
    ))  # fmt: skip
    with ledger.engine.begin() as conn:  # an attacker with the database file: drop the guards, cut the tail
        for table in ("events", "batches", "tree_nodes", "tree_heads", "codes"):
            conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))
        conn.execute(text(f"DELETE FROM events WHERE position >= {cut}"))
        conn.execute(text(f"DELETE FROM batches WHERE first_position >= {cut}"))
        conn.execute(text(f"DELETE FROM codes WHERE position >= {cut}"))
        conn.execute(text(f"DELETE FROM tree_nodes WHERE end_position >= {cut}"))
        conn.execute(text(f"DELETE FROM tree_heads WHERE tree_size >= {cut}"))
    ledger.close()
    cli("ledger", "rebuild", "--db", url)
    assert "all hold" in cli("verify", "--db", url).output  # the hole: invisible from inside
    result = cli("verify", "--anchor", str(heads), "--db", url, code=1)
    assert "BROKEN" in result.output and f"size {size}" in result.output and "truncated" in result.output


def test_verify_passport_checks_a_served_passport_and_trace(fleet: Fleet, tmp_path: Path) -> None:
    """The served passport (public tier and full) and the served trace follow from the bundle's verified
    events; a passport with one value changed is refused, naming the field. Before --passport, the verifier
    could check only the bundle, never what a reader was actually shown."""
    url, ledger, client, headers, _f = fleet
    battery = next(  # a battery handed over and still live (a recycled one's passport has ceased)
        b
        for b in dict.fromkeys(
            e.battery_id for e in ledger.iter_events() if e.event_type is EventType.CUSTODY_ACCEPTED
        )
        if client.get(f"/passports/{b}").status_code == 200
    )
    heads = tmp_path / "heads.txt"
    cli("log", "publish", "--to", str(heads), "--db", url)
    bundle, keys = tmp_path / "bundle.json", tmp_path / "keys.json"
    bundle.write_text(client.get(f"/log/bundle/{battery}", headers=headers).text)
    keys.write_text(client.get("/log/keys").text)
    base = ["verify-passport", str(bundle), "--keys", str(keys), "--heads", str(heads)]
    for who in ({}, headers):  # the public tier and the authority's full passport
        served = tmp_path / "passport.json"
        r = client.get(f"/passports/{battery}", headers=who)
        assert r.status_code == 200, r.text
        served.write_text(r.text)
        out = json.loads(cli(*base, "--passport", str(served), "--json").stdout)
        assert out["ok"] is True, out
        assert out["checks"][-1]["name"] == "served passport matches the events"
    trace = tmp_path / "trace.json"
    trace.write_text(client.get(f"/batteries/{battery}/trace", headers=headers).text)
    result = cli(*base, "--passport", str(trace))
    assert "holds  served trace matches the events" in result.output and "NOT VERIFIED" not in result.output
    # one value changed in the served passport: refused, the field named
    doc = json.loads(served.read_text())
    doc["identity"]["chemistry"] = "NMC" if doc["identity"]["chemistry"] != "NMC" else "LFP"
    served.write_text(json.dumps(doc))
    result = cli(*base, "--passport", str(served), code=1)
    assert "FAILS  served passport matches the events: identity.chemistry differs" in result.output
    assert "NOT VERIFIED" in result.output
    # a field the events never gave
    doc = json.loads(client.get(f"/passports/{battery}", headers=headers).text)
    doc["identity"]["recall"] = "none"
    served.write_text(json.dumps(doc))
    assert "identity.recall (not given by the events)" in cli(*base, "--passport", str(served), code=1).output
    # another battery's passport against this bundle
    other = next(e.battery_id for e in ledger.iter_events() if e.battery_id != battery)
    served.write_text(client.get(f"/passports/{other}", headers=headers).text)
    assert "the passport is of" in cli(*base, "--passport", str(served), code=1).output
    # a trace whose history was edited
    doc = json.loads(trace.read_text())
    doc["history"][0]["actor"] = "someone-else"
    trace.write_text(json.dumps(doc))
    assert "actor differs from the signed event" in cli(*base, "--passport", str(trace), code=1).output
