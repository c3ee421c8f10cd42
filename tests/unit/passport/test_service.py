"""The passport use cases against an in-memory ledger: access policy, check, selection and export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from batteryloop.domain.chemistry import Chemistry
from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.domain.lifecycle import BatteryState, UnitStatus
from batteryloop.domain.organisation import (
    Organisation,
    Role,
)
from batteryloop.passport.access import Audience
from batteryloop.passport.core.build import PlainEvent
from batteryloop.passport.service import PassportService, Selection

A = "urn:uuid:01934b2e-7c1a-7def-8abc-00000000000a"
B = "urn:uuid:01934b2e-7c1a-7def-8abc-00000000000b"


@dataclass
class Row:
    status: UnitStatus
    last_position: int
    chemistry: str | None
    category: str | None
    level: str | None


class FakeLedger:
    def __init__(self, make_unit: Any, life_events: Any) -> None:
        self.make_unit, self.life_events = make_unit, life_events
        self.streams: dict[str, list[PlainEvent]] = {}
        self.rows: dict[str, Row] = {}

    def add(self, battery_id: str, *, chemistry: str, custodian: str, register: bool = True) -> None:
        unit = self.make_unit(battery_id=battery_id, chemistry=Chemistry(chemistry), serial=battery_id[-4:])
        self.streams[battery_id] = self.life_events(unit, register=register)
        status = UnitStatus(battery_id, BatteryState.IN_SERVICE, custodian, "cellco")
        self.rows[battery_id] = Row(status, len(self.streams[battery_id]), chemistry, "ev", "pack")

    def read_stream(self, battery_id: str) -> list[PlainEvent]:
        if battery_id not in self.streams:
            raise NotFoundError(f"battery {battery_id} is not registered")
        return self.streams[battery_id]

    def battery(self, battery_id: str) -> Row:
        if battery_id not in self.rows:
            raise NotFoundError(f"battery {battery_id} is not registered")
        return self.rows[battery_id]

    def batteries(self, *, custodian: str | None = None, limit: int = 1000) -> list[Row]:
        rows = [r for _, r in sorted(self.rows.items()) if custodian in (None, r.status.custodian)]
        return rows[:limit]

    def iter_events(self, after_position: int = 0, batch_size: int | None = None) -> Any:
        return iter(())


@pytest.fixture
def service(unit_factory: Any, events_factory: Any, resolver: str) -> PassportService:
    ledger = FakeLedger(unit_factory, events_factory)
    ledger.add(A, chemistry="NMC811", custodian="fleetco")
    ledger.add(B, chemistry="LFP", custodian="other", register=False)
    return PassportService(ledger, resolver_domain=resolver)


def test_view_applies_the_access_policy_for_the_caller(service: PassportService) -> None:
    public = service.view(A)
    assert public.audiences == {Audience.PUBLIC}
    assert "condition" not in public.document
    owner = Organisation("fleetco", "Fleetco", "DE", frozenset({Role.OWNER}))
    held = service.view(A, caller=owner)
    assert Audience.INDIVIDUAL in held.audiences and "condition" in held.document
    stranger = Organisation("nobody", "Nobody", "DE", frozenset({Role.OWNER}))
    assert service.view(A, caller=stranger).audiences == {Audience.PUBLIC}
    with pytest.raises(NotFoundError, match="nope"):
        service.view("urn:uuid:nope")


def test_check_names_missing_attributes_only_for_incomplete_passports(service: PassportService) -> None:
    assert service.check(A, on=date(2027, 9, 1)).complete
    missing = service.check(B, on=date(2027, 9, 1))
    assert not missing.complete
    assert "due_diligence" in {m.path.split(".")[0] for m in missing.missing}


def test_select_by_ids_or_filters(service: PassportService) -> None:
    assert service.select(Selection(battery_ids=(B, A, B))) == (B, A)
    assert service.select(Selection(everything=True)) == (A, B)
    assert service.select(Selection(chemistry="LFP")) == (B,)
    assert service.select(Selection(holder="fleetco")) == (A,)
    assert service.select(Selection(state=BatteryState.RECYCLED)) == ()
    with pytest.raises(ValidationError, match="at least one battery id"):
        service.select(Selection())
    with pytest.raises(ValidationError, match="not both"):
        service.select(Selection(battery_ids=(A,), everything=True))


def test_export_returns_one_redacted_view_per_battery(service: PassportService) -> None:
    result = service.export(Selection(everything=True), audiences=[Audience.LEGITIMATE_INTEREST])
    assert [v.battery_id for v in result.views] == [A, B]
    assert all(Audience.LEGITIMATE_INTEREST in v.audiences for v in result.views)
    assert result.skipped == ()
    with pytest.raises(NotFoundError):
        service.export(Selection(battery_ids=("urn:uuid:nope",)))


def test_document_links_are_made_under_the_public_base_url(service: PassportService, resolver: str) -> None:
    """The ledger stores host-free references (sha256:...); a view carries their URLs under the base URL the
    service runs with, and a service under another base URL gives the same documents under its own."""
    from batteryloop.passport.core.documents import documents_for

    docs = documents_for("cellco", "EV Pack 75")
    study = service.view(A).document["carbon_footprint"]["study_url"]
    assert study == f"{resolver}/documents/{docs['carbon_footprint_study'].ref.removeprefix('sha256:')}"
    other = PassportService(service.ledger, resolver_domain="https://passports.example.org/")
    labels = other.view(A).document["labels"]["labels"]
    assert {label["symbol_url"] for label in labels} == {
        f"https://passports.example.org/documents/{docs[key].ref.removeprefix('sha256:')}"
        for key in ("label_separate_collection", "label_carbon_footprint", "label_hazardous")
    }
    # the full passport (for trusted code in the process) keeps the references themselves
    assert service.passport(A).carbon_footprint.study_url == docs["carbon_footprint_study"].ref
