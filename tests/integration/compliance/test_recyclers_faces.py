"""Recyclers' lots written to a real ledger as signed events, and the report through Python, the CLI and HTTP:
the same figures, the ledger position stated, the lots behind each figure, access by role, and clear errors."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from batteryloop.compliance import report, service
from batteryloop.domain.errors import CustodyError, NotFoundError, ValidationError
from batteryloop.domain.lifecycle import EventType as E
from batteryloop.domain.organisation import Role
from batteryloop.ledger import EventIn, Ledger

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def ev(battery: str, event_type: E, payload: dict[str, Any] | None = None, *, days: int = 0) -> EventIn:
    return EventIn(battery, event_type, T + timedelta(days=days), payload or {}, None)


def lot_in(battery: str, lot: str = "L1", mass: float = 500.0, **extra: Any) -> EventIn:
    payload = {
        "lot_id": lot,
        "mass_kg": mass,
        "chemistry_group": "lithium",
        "received_on": "2026-03-03",
        **extra,
    }
    return ev(battery, E.RECYCLING_LOT_RECEIVED, payload, days=1)


def lot_out(
    battery: str, lot: str, mass: float, *, counted: bool = True, source: str = "L1", **extra: Any
) -> EventIn:
    payload = {
        "lot_id": lot,
        "input_lot_id": source,
        "fraction": extra.pop("fraction", "black_mass"),
        "mass_kg": mass,
        "produced_on": "2026-03-10",
        "counted_as_recycled": counted,
        **extra,
    }
    return ev(battery, E.RECYCLING_LOT_PRODUCED, payload, days=8)


@pytest.fixture
def loop(ledger: Ledger, bl: Any) -> Any:
    return build_loop(ledger, bl)


def build_loop(ledger: Ledger, bl: Any) -> Any:
    """maker makes b1, b2 (500 kg NMC packs), hands them to recycler, which puts them into lot L1 and
    produces 640 kg counted as recycled (black mass, 18 kg Li of 20 kg) and 100 kg of slag: 64 %."""
    maker = bl.add_actor(ledger, "maker")
    recycler = bl.add_actor(ledger, "recycler", Role.RECYCLER)
    bl.add_actor(ledger, "inspector", Role.AUTHORITY)
    bl.add_actor(ledger, "other-recycler", Role.RECYCLER)
    for b in ("b1", "b2"):
        maker.append(
            ev(
                b,
                E.BATTERY_MANUFACTURED,
                {
                    "level": "pack",
                    "chemistry": "NMC622",
                    "category": "ev",
                    "model": "M1",
                    "mass_kg": 500.0,
                    "manufactured_on": "2026-01-05",
                },
            ),
            ev(b, E.BATTERY_PLACED_ON_MARKET, {"country": "DE"}),
            ev(b, E.BATTERY_RETIRED),
            ev(b, E.CUSTODY_HANDED_OVER, {"to_org": "recycler"}),
        )
        recycler.append(ev(b, E.CUSTODY_ACCEPTED))
    recycler.append(lot_in("b1", li_kg=10.0), lot_in("b2", li_kg=10.0))
    recycler.append(
        lot_out("b1", "O1", 640.0, li_kg=18.0, buyer="maker", for_model="M1", ni_kg=30.0),
        lot_out("b1", "O2", 100.0, counted=False, fraction="slag"),
    )
    return maker, recycler


def test_report_from_the_ledger_is_64_percent_and_names_its_lots_and_position(
    ledger: Ledger, loop: Any
) -> None:
    result = service.recycler_report(ledger, recycler="recycler", jurisdiction="eu")
    (eff,) = result.efficiency
    assert eff.efficiency_pct == pytest.approx(64.0) and eff.status == "below"
    assert eff.target is not None and eff.target.value == 65.0
    assert eff.lots == ("L1",) and eff.batteries == ("b1", "b2")
    li = next(r for r in result.recovery if r.element == "lithium")
    assert li.recovery_pct == pytest.approx(90.0) and li.status == "no_target"  # 2026: before the 2027 stage
    assert result.point is not None and result.point.position == ledger.counts().events
    assert len(result.point.root_hex) == 64
    doc = report.recycler_report_to_dict(result)
    assert doc["ledger"]["position"] == result.point.position
    assert doc["lots"][0]["batteries"] == ["b1", "b2"]


def test_the_report_at_an_earlier_position_is_reproducible(ledger: Ledger, loop: Any) -> None:
    before = service.recycler_report(ledger, recycler="recycler", jurisdiction="eu")
    _maker, recycler = loop
    recycler.append(ev("b2", E.BATTERY_RECYCLED, {"mass_kg": 500.0}, days=9))
    at = before.point.position if before.point else 0
    again = service.recycler_report(ledger, recycler="recycler", jurisdiction="eu", at_position=at)
    assert report.recycler_report_to_dict(again) == report.recycler_report_to_dict(before)
    with pytest.raises(ValidationError, match="beyond the ledger's head"):
        service.recycler_report(ledger, recycler="recycler", jurisdiction="eu", at_position=10_000)


def test_outputs_heavier_than_inputs_are_refused_by_the_ledgers_append(ledger: Ledger, loop: Any) -> None:
    _maker, recycler = loop
    before = ledger.counts().events
    with pytest.raises(
        ValidationError,
        match=r"inconsistent mass balance: output lots of input lot L1 would weigh 1040 kg, more than the "
        r"1000 kg of batteries recycler received into it",
    ):  # 640 + 100 + 300 > 1000; the good event before it in the batch is not written either
        recycler.append(lot_out("b2", "O3", 200.0), lot_out("b2", "O4", 100.0))
    assert ledger.counts().events == before
    recycler.append(lot_out("b2", "O3", 260.0))  # exactly the 1000 kg received
    with pytest.raises(ValidationError, match=r"input lot L1 would weigh 1000\.5 kg"):
        recycler.append(lot_out("b2", "O5", 0.5))
    # an output naming an input lot the recycler never received into is refused
    with pytest.raises(ValidationError, match="input lot L9 would weigh 1 kg, more than the 0 kg"):
        recycler.append(lot_out("b2", "O6", 1.0, source="L9"))
    assert ledger.counts().events == before + 1
    # a batch that receives more first may produce more
    recycler.append(lot_in("b2", "L2", 50.0), lot_out("b2", "O7", 50.0, source="L2"))


def test_the_append_refuses_heavier_outputs_on_sqlite_and_postgresql(any_ledger: Ledger, bl: Any) -> None:
    _maker, recycler = build_loop(any_ledger, bl)
    before = any_ledger.counts().events
    with pytest.raises(ValidationError, match="input lot L1 would weigh 1040 kg"):
        recycler.append(lot_out("b2", "O3", 300.0))
    assert any_ledger.counts().events == before
    recycler.append(lot_out("b2", "O3", 200.0))
    with pytest.raises(ValidationError, match="input lot L1 would weigh 1040 kg"):
        recycler.append(lot_out("b1", "O4", 100.0))


def test_outputs_heavier_than_inputs_are_refused_by_post_events(ledger: Ledger, loop: Any) -> None:
    from fastapi import FastAPI

    from batteryloop.ledger.endpoints import router as ledger_router
    from batteryloop.web import problems

    app = FastAPI()
    problems.install(app)
    app.include_router(ledger_router)
    app.state.ledger = ledger
    client = TestClient(app)
    _maker, recycler = loop
    headers = {"X-API-Key": ledger.issue_api_key("recycler")}

    def body(mass: float, lot: str) -> dict[str, Any]:
        batch = recycler.sign([lot_out("b2", lot, mass)])
        return {
            "key_id": batch.key_id,
            "signature": batch.signature.hex(),
            "events": [
                {
                    "battery_id": e.battery_id,
                    "event_type": str(e.event_type),
                    "occurred_at": e.occurred_at.isoformat(),
                    "payload": dict(e.payload),
                }
                for e in batch.events
            ],
        }

    before = ledger.counts().events
    refused = client.post("/events", json=body(300.0, "O3"), headers=headers)
    assert refused.status_code == 422, refused.text
    assert "input lot L1 would weigh 1040 kg, more than the 1000 kg" in refused.json()["detail"]
    assert ledger.counts().events == before
    accepted = client.post("/events", json=body(200.0, "O3"), headers=headers)
    assert accepted.status_code == 201, accepted.text
    # the report still balances: what the append let in is what the report reads
    (eff,) = service.recycler_report(ledger, recycler="recycler", jurisdiction="eu").efficiency
    assert eff.recycled_kg == pytest.approx(840.0)


def test_element_outputs_beyond_declared_inputs_in_the_ledger_are_an_error(ledger: Ledger, loop: Any) -> None:
    _maker, recycler = loop
    recycler.append(lot_out("b2", "O3", 10.0, li_kg=5.0))  # 18 + 5 kg of Li out of 20 kg declared
    with pytest.raises(
        ValidationError, match=r"inconsistent mass balance.*23 kg of lithium, more than the 20"
    ):
        service.recycler_report(ledger, recycler="recycler", jurisdiction="eu")


def test_only_the_holder_may_put_a_battery_into_a_lot(ledger: Ledger, loop: Any, bl: Any) -> None:
    other = bl.add_actor(ledger, "stranger", Role.RECYCLER)
    with pytest.raises(CustodyError):
        other.append(lot_in("b1", "L5"))
    with pytest.raises(NotFoundError):
        other.append(lot_in("ghost", "L5"))
    _maker, recycler = loop
    with pytest.raises(ValidationError, match="lighter than its element contents"):
        recycler.append(lot_out("b2", "O9", 1.0, li_kg=2.0))


def test_unknown_jurisdiction_and_a_pack_without_recycler_rules(ledger: Ledger, loop: Any) -> None:
    with pytest.raises(NotFoundError, match="unknown jurisdiction 'xx'"):
        service.recycler_report(ledger, recycler="recycler", jurisdiction="xx")
    cn = service.recycler_report(ledger, recycler="recycler", jurisdiction="cn")
    assert cn.efficiency == () and cn.white_list  # the Chinese pack checks the white list, not Annex XII
    with pytest.raises(NotFoundError, match="not registered"):
        service.recycler_report(ledger, recycler="nobody", jurisdiction="eu")


def test_access_follows_the_roles(ledger: Ledger, loop: Any) -> None:
    orgs = {o.org_id: o for o in ledger.list_organisations()}
    service.recycler_report(ledger, recycler="recycler", jurisdiction="eu", caller=orgs["recycler"])
    service.recycler_report(ledger, recycler="recycler", jurisdiction="eu", caller=orgs["inspector"])
    for stranger in ("other-recycler", "maker"):
        with pytest.raises(PermissionError):
            service.recycler_report(ledger, recycler="recycler", jurisdiction="eu", caller=orgs[stranger])
    mine = service.recycled_content(ledger, caller=orgs["maker"])
    assert {r.producer for r in mine.rows} == {"maker"}
    with pytest.raises(PermissionError):
        service.recycled_content(ledger, producer="maker", caller=orgs["recycler"])


def test_recycled_content_is_backed_by_the_output_lots(ledger: Ledger, loop: Any) -> None:
    result = service.recycled_content(ledger, producer="maker")
    rows = {r.element: r for r in result.rows if r.model == "M1" and r.year == 2026}
    ni = rows["nickel"]
    composition = service.element_composition(["NMC622"])["NMC622"]["nickel"]
    assert ni.content_kg == pytest.approx(1000.0 * composition)
    assert ni.recycled_kg == pytest.approx(30.0) and ni.lots == ("O1",)
    assert ni.share_pct == pytest.approx(100 * 30.0 / (1000.0 * composition))
    assert ni.status == "not_yet_applicable"  # 2026: the Art. 8 minimums start on 18 August 2031


def test_parity_python_cli_http(
    ledger: Ledger, loop: Any, cli_app: typer.Typer, client: TestClient, tmp_path: Path
) -> None:
    expected = report.recycler_report_to_dict(
        service.recycler_report(ledger, recycler="recycler", jurisdiction="eu")
    )
    url = ledger.engine.url.render_as_string(hide_password=False)
    cli = CliRunner().invoke(cli_app, ["compliance", "recycler", "recycler", "--db", url, "--json"])
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.output) == expected
    headers = {"X-API-Key": ledger.issue_api_key("inspector")}
    http = client.get("/compliance/recyclers/recycler", params={"jurisdiction": "eu"}, headers=headers)
    assert http.status_code == 200, http.text
    assert http.json() == expected
    # CSV and XLSX say the same figures and the position
    text = client.get("/compliance/recyclers/recycler", params={"format": "csv"}, headers=headers).text
    assert (
        text.startswith("# recycler recycler") and f"ledger position {expected['ledger']['position']}" in text
    )
    rows = list(csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#")))
    assert rows[0]["section"] == "recycling_efficiency" and float(rows[0]["value_pct"]) == 64.0
    assert rows[0]["lots"] == "L1"
    xlsx = client.get("/compliance/recyclers/recycler", params={"format": "xlsx"}, headers=headers)
    assert xlsx.content[:2] == b"PK"
    out = tmp_path / "r.xlsx"
    cli_csv = CliRunner().invoke(
        cli_app, ["compliance", "recycler", "recycler", "--db", url, "--csv", "--xlsx", str(out)]
    )
    assert cli_csv.exit_code == 0 and cli_csv.output == text
    assert out.read_bytes()[:2] == b"PK"


def test_http_refuses_a_stranger_and_an_unknown_jurisdiction(
    ledger: Ledger, loop: Any, client: TestClient
) -> None:
    stranger = {"X-API-Key": ledger.issue_api_key("other-recycler")}
    assert client.get("/compliance/recyclers/recycler", headers=stranger).status_code == 403
    own = {"X-API-Key": ledger.issue_api_key("recycler")}
    missing = client.get("/compliance/recyclers/recycler", params={"jurisdiction": "xx"}, headers=own)
    assert missing.status_code == 404 and "unknown jurisdiction" in missing.json()["detail"]
    assert client.get("/compliance/recyclers/recycler").status_code == 401


def test_cli_mass_balance_error_is_one_line(ledger: Ledger, loop: Any, cli_app: typer.Typer) -> None:
    _maker, recycler = loop
    recycler.append(lot_out("b2", "O3", 10.0, li_kg=5.0))  # more lithium out than the batteries declare
    url = ledger.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli_app, ["compliance", "recycler", "recycler", "--db", url])
    assert result.exit_code != 0
    assert "inconsistent mass balance" in result.output and "Traceback" not in result.output


def test_traceability_flags_a_late_report(ledger: Ledger, bl: Any, client: TestClient) -> None:
    maker = bl.add_actor(ledger, "maker")
    recycler = bl.add_actor(ledger, "recycler", Role.RECYCLER)
    bl.add_actor(ledger, "inspector", Role.AUTHORITY)
    long_ago = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)  # recorded now: far more than 30 working days later
    maker.append(
        ev("b1", E.BATTERY_MANUFACTURED, {"level": "pack", "chemistry": "LFP", "category": "ev"}),
        ev("b1", E.BATTERY_PLACED_ON_MARKET, {"country": "DE"}),
        ev("b1", E.BATTERY_RETIRED),
        ev("b1", E.CUSTODY_HANDED_OVER, {"to_org": "recycler"}),
    )
    recycler.append(ev("b1", E.CUSTODY_ACCEPTED))
    recycler.append(EventIn("b1", E.BATTERY_RECYCLED, long_ago, {}, None))
    point, findings = service.traceability_findings(ledger, jurisdiction="cn")
    # the intake (accepted 2 Mar 2026, recorded today) and the recycling (6 Jan 2025) were both uploaded more than
    # 30 working days after they happened (MIIT 2018 Art. 15 covers both)
    assert [(f.status, f.battery_id, f.actor, f.event_type, f.deadline_working_days) for f in findings] == [
        ("late", "b1", "recycler", "CustodyAccepted", 30),
        ("late", "b1", "recycler", "BatteryRecycled", 30),
    ]
    headers = {"X-API-Key": ledger.issue_api_key("inspector")}
    body = client.get("/compliance/traceability", headers=headers).json()
    assert body == report.traceability_to_dict(point, findings)


def test_planned_plant_is_checked_from_the_recycling_models_expected_lots() -> None:
    from batteryloop.recycling.core.scenario import load_scenario

    examples = Path(__file__).resolve().parents[3] / "src" / "batteryloop" / "recycling" / "examples"
    scenario = load_scenario(sorted(examples.glob("*.toml"))[0])
    result = service.planned_plant(scenario, jurisdiction="eu", year=2027)
    assert result.point is None and result.notes
    (eff,) = result.efficiency
    lot = result.lots[0]
    assert eff.input_kg == pytest.approx(lot.mass_kg)
    assert eff.efficiency_pct == pytest.approx(100 * lot.recycled_kg / lot.mass_kg)
    assert 0 < eff.efficiency_pct <= 100
    assert eff.target is not None and eff.target.value == 65.0
    assert {r.element for r in result.recovery} >= {"lithium"}


def test_page_charts_link_to_the_lots_and_state_the_position(ledger: Ledger, loop: Any) -> None:
    from fastapi import FastAPI

    from batteryloop.compliance.pages import router as pages
    from batteryloop.web import problems

    app = FastAPI()
    problems.install(app)
    app.include_router(pages)
    app.state.ledger = ledger
    with TestClient(app) as page_client:
        own = {"X-API-Key": ledger.issue_api_key("recycler")}
        page = page_client.get("/ui/compliance/recycler/recycler", headers=own)
        assert page.status_code == 200, page.text
        html = page.text
        position = ledger.counts().events
        assert f"ledger position {position}" in html
        assert "<svg" in html and 'href="#lot-L1"' in html and 'id="lot-L1"' in html
        assert 'href="/ui/batteries/b1"' in html and "@media print" in html
        assert "format=xlsx" in html and f"at_position={position}" in html
        printable = page_client.get("/ui/compliance/recycler/recycler/print", headers=own)
        assert printable.status_code == 200 and "header.site { display: none; }" in printable.text
        zh = page_client.get("/ui/compliance/recycler/recycler?lang=zh-Hans", headers=own)
        assert zh.status_code == 200
        stranger = {"X-API-Key": ledger.issue_api_key("other-recycler")}
        assert page_client.get("/ui/compliance/recycler/recycler", headers=stranger).status_code == 403
        anonymous = page_client.get("/ui/compliance/recycler/recycler", follow_redirects=False)
        assert anonymous.status_code == 303


def test_record_lots_refuses_outputs_heavier_than_inputs_and_writes_nothing(
    ledger: Ledger, loop: Any
) -> None:
    _maker, recycler = loop
    org = next(o for o in ledger.list_organisations() if o.org_id == "recycler")
    batch = recycler.sign([lot_out("b2", "O3", 300.0)])  # 640 + 100 + 300 > 1000 kg of inputs
    before = ledger.counts().events
    with pytest.raises(ValidationError, match="inconsistent mass balance"):
        service.record_lots(ledger, batch.events, caller=org, key_id=batch.key_id, signature=batch.signature)
    assert ledger.counts().events == before
    ok = recycler.sign([lot_out("b2", "O3", 200.0)])
    result = service.record_lots(ledger, ok.events, caller=org, key_id=ok.key_id, signature=ok.signature)
    assert result.appended == 1
    other = recycler.sign([ev("b2", E.BATTERY_RECYCLED)])
    with pytest.raises(ValidationError, match="only RecyclingLotReceived"):
        service.record_lots(ledger, other.events, caller=org, key_id=other.key_id, signature=other.signature)


def test_record_lots_over_http(ledger: Ledger, loop: Any, client: TestClient) -> None:
    _maker, recycler = loop
    headers = {"X-API-Key": ledger.issue_api_key("recycler")}

    def body(mass: float, lot: str) -> dict[str, Any]:
        batch = recycler.sign([lot_out("b2", lot, mass)])
        return {
            "key_id": batch.key_id,
            "signature": batch.signature.hex(),
            "events": [
                {
                    "battery_id": e.battery_id,
                    "event_type": str(e.event_type),
                    "occurred_at": e.occurred_at.isoformat(),
                    "payload": dict(e.payload),
                }
                for e in batch.events
            ],
        }

    refused = client.post("/compliance/lots", json=body(300.0, "O3"), headers=headers)
    assert refused.status_code == 422 and "inconsistent mass balance" in refused.json()["detail"]
    accepted = client.post("/compliance/lots", json=body(200.0, "O4"), headers=headers)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["appended"] == 1


def test_cli_recycled_content_and_traceability_equal_python(
    ledger: Ledger, loop: Any, cli_app: typer.Typer
) -> None:
    url = ledger.engine.url.render_as_string(hide_password=False)
    content = CliRunner().invoke(cli_app, ["compliance", "recycled-content", "--db", url, "--json"])
    assert content.exit_code == 0, content.output
    assert json.loads(content.output) == report.recycled_content_to_dict(service.recycled_content(ledger))
    trace = CliRunner().invoke(cli_app, ["compliance", "traceability", "--db", url, "--json"])
    assert trace.exit_code == 0, trace.output
    assert json.loads(trace.output) == report.traceability_to_dict(*service.traceability_findings(ledger))


def test_cli_override_moves_a_target(ledger: Ledger, loop: Any, cli_app: typer.Typer, tmp_path: Path) -> None:
    override = tmp_path / "target.toml"
    override.write_text("[recycling.efficiency.lithium.by_2025]\nvalue = 60.0\n", encoding="utf-8")
    url = ledger.engine.url.render_as_string(hide_password=False)
    args = ["compliance", "recycler", "recycler", "--db", url, "--json", "--override", str(override)]
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 0, result.output
    (eff,) = json.loads(result.output)["efficiency"]
    assert eff["target"]["value_pct"] == 60.0 and eff["status"] == "meets"


def test_cli_planned_plant_equals_python(cli_app: typer.Typer) -> None:
    from batteryloop.recycling.core.scenario import load_scenario

    examples = Path(__file__).resolve().parents[3] / "src" / "batteryloop" / "recycling" / "examples"
    path = sorted(examples.glob("*.toml"))[0]
    expected = report.recycler_report_to_dict(
        service.planned_plant(load_scenario(path), jurisdiction="eu", year=2031)
    )
    result = CliRunner().invoke(
        cli_app, ["compliance", "planned-plant", str(path), "--year", "2031", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == expected
    assert (
        expected["ledger"] is None and expected["efficiency"][0]["target"]["value_pct"] == 70.0
    )  # the 2030 stage


def test_the_64_percent_report_on_every_engine(any_ledger: Ledger, bl: Any) -> None:
    """The same lots give the same report on SQLite and on PostgreSQL."""
    build_loop(any_ledger, bl)
    result = service.recycler_report(any_ledger, recycler="recycler", jurisdiction="eu")
    (eff,) = result.efficiency
    assert eff.efficiency_pct == pytest.approx(64.0) and eff.status == "below"
    assert eff.lots == ("L1",) and eff.batteries == ("b1", "b2")
    assert result.point is not None and result.point.position == any_ledger.counts().events
