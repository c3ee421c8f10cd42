"""Input validation (domain/validation.py): every payload field's rule, identifiers, dates; Hypothesis generates
valid payloads from the same tables that docs/events.md is generated from, and mutates one field at a time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batteryloop.domain.errors import ValidationError
from batteryloop.domain.grants import MAX_GRANT_DAYS
from batteryloop.domain.lifecycle import REQUIRED_PAYLOAD, EventType
from batteryloop.domain.payloads import EVENTS, PayloadField
from batteryloop.domain.validation import (
    EARLIEST_DATE,
    IDENTIFIER_CHARS,
    LATEST_DATE,
    LINE_CHARS,
    TEXT_CHARS,
    check_event_payload,
    check_identifier,
    check_instant,
    check_lookup,
    check_organisation,
    clean_payload,
    parse_instant,
    payload_issues,
    stored_event_issues,
)

E = EventType
PACK = {"level": "pack", "chemistry": "LFP", "category": "ev"}


# ------------------------------------------------------------------ generated payloads (Hypothesis)


def _valid(spec: PayloadField) -> st.SearchStrategy[Any]:
    if spec.kind is bool:
        return st.booleans()
    if spec.kind is str:
        if spec.values:
            return st.sampled_from(spec.values)
        if spec.form == "date":
            return st.dates(EARLIEST_DATE, LATEST_DATE).map(date.isoformat)
        if spec.form == "country":
            return st.from_regex(r"[A-Z]{2}", fullmatch=True)
        if spec.form == "identifier":
            return st.from_regex(r"[A-Za-z0-9:._/-]{1,60}", fullmatch=True)
        return st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
    low = spec.low if spec.low is not None else 0.001 if spec.positive else -1e6
    if spec.positive:
        low = max(low, 0.001)
    high = spec.high if spec.high is not None else 1e6
    return st.floats(low, high, allow_nan=False) | st.integers(int(low) + 1, int(high))


def _invalid(spec: PayloadField) -> list[Any]:
    """Values the field's rule refuses."""
    if spec.kind is bool:
        return ["yes", 1]
    if spec.kind is str:
        out: list[Any] = [17, None if False else ["x"]]
        if spec.values:
            return [*out, "not-a-member"]
        if spec.form == "date":
            return [*out, "2024-02-30", "0001-01-01", "9999-12-31", "2024/01/01"]
        if spec.form == "country":
            return [*out, "de", "DEU"]
        if spec.form == "identifier":
            return [*out, "a\x00b", "a b", "x" * (IDENTIFIER_CHARS + 1), "", "\u202eevil"]
        if spec.form == "text":
            return [*out, "a\x00b", "x" * (TEXT_CHARS + 1)]
        return [*out, "a\nb", "x" * (LINE_CHARS + 1)]
    out = ["12", True, float("inf")]
    if spec.positive:
        out += [0, -1.5]
    elif spec.low is not None:
        out.append(spec.low - 1)
    if spec.high is not None:
        out.append(spec.high + 1)
    return out


CHECKED = [t for t in EventType if t is not E.PASSPORT_DATA_REGISTERED]


@st.composite
def payloads(draw: st.DrawFn, event_type: EventType) -> dict[str, Any]:
    fields = EVENTS[event_type].fields
    required = set(REQUIRED_PAYLOAD.get(event_type, {}))
    chosen = {k for k in fields if k in required or draw(st.booleans())}
    payload = {k: draw(_valid(fields[k])) for k in sorted(chosen)}
    if event_type in (E.RECYCLING_LOT_RECEIVED, E.RECYCLING_LOT_PRODUCED):
        # the one cross-field rule: a lot weighs at least its element contents (and its electrode powder)
        parts = [v for k, v in payload.items() if k.endswith("_kg") and k != "mass_kg"]
        payload["mass_kg"] = max([payload["mass_kg"], sum(parts) + 1.0, *parts])
    if event_type is E.ACCESS_GRANTED:  # a grant's dates are ordered and its span bounded (domain/grants.py)
        start = draw(st.dates(EARLIEST_DATE, LATEST_DATE - timedelta(days=MAX_GRANT_DAYS)))
        end = start + timedelta(days=draw(st.integers(1, MAX_GRANT_DAYS)))
        payload.update(valid_from=start.isoformat(), valid_until=end.isoformat())
    return payload


@settings(max_examples=300, deadline=None)
@given(data=st.data(), event_type=st.sampled_from(CHECKED))
def test_generated_valid_payloads_are_accepted(data: st.DataObject, event_type: EventType) -> None:
    payload = data.draw(payloads(event_type))
    check_event_payload("urn:uuid:0192-x", event_type, payload)
    assert payload_issues(event_type, payload) == []


@settings(max_examples=300, deadline=None)
@given(data=st.data(), event_type=st.sampled_from([t for t in CHECKED if EVENTS[t].fields]))
def test_each_mutated_field_is_refused_naming_the_field(data: st.DataObject, event_type: EventType) -> None:
    payload = data.draw(payloads(event_type))
    fields = EVENTS[event_type].fields
    key = data.draw(st.sampled_from(sorted(fields)))
    bad = data.draw(st.sampled_from(_invalid(fields[key])))
    mutated = {**payload, key: bad}
    with pytest.raises(ValidationError) as caught:
        check_event_payload("b1", event_type, mutated)
    assert f"payload field {key!r}" in str(caught.value)
    assert f"{event_type} for battery b1" in str(caught.value)
    assert [i.field for i in payload_issues(event_type, mutated)] == [key]
    cleaned, issues = clean_payload(event_type, mutated)
    assert key not in cleaned and [i.field for i in issues] == [key]


def test_every_described_field_has_a_rule_and_every_required_key_is_described() -> None:
    for event_type, required in REQUIRED_PAYLOAD.items():
        assert set(required) <= set(EVENTS[event_type].fields), event_type
    for spec in EVENTS.values():
        for name, field in spec.fields.items():
            assert field.form in ("identifier", "line", "text", "date", "country"), name


# ------------------------------------------------------------------ the holes, by example


@pytest.mark.parametrize(
    ("payload", "field", "why"),
    [
        ({**PACK, "chemistry": "UNOBTAINIUM"}, "chemistry", "must be one of"),
        ({**PACK, "mass_kg": -3.0}, "mass_kg", "must be > 0"),
        ({**PACK, "manufactured_on": "2024-02-30"}, "manufactured_on", "not a calendar date"),
        ({**PACK, "manufactured_on": "9999-01-01"}, "manufactured_on", "outside 1900-01-01..2100-12-31"),
        ({**PACK, "manufacturing_country": "Germany"}, "manufacturing_country", "ISO 3166-1"),
        ({**PACK, "model": "M\x00"}, "model", "control characters"),
        ({**PACK, "gtin": "x" * 10_000}, "gtin", "10000 characters long"),
    ],
)
def test_registration_fields(payload: dict[str, Any], field: str, why: str) -> None:
    with pytest.raises(ValidationError, match=why) as caught:
        check_event_payload("b1", E.BATTERY_MANUFACTURED, payload)
    assert repr(field) in str(caught.value)
    assert len(str(caught.value)) < 300  # a 10,000-character input is not echoed


def test_passport_data_is_validated_with_the_passport_model() -> None:
    ftp = {"test_reports": {"result_of_test_report_url": "ftp://x.test/r.pdf"}}
    with pytest.raises(
        ValidationError, match=r"'test_reports.result_of_test_report_url' String should match"
    ):
        check_event_payload("b1", E.PASSPORT_DATA_REGISTERED, ftp)
    with pytest.raises(ValidationError, match="'surprise' Extra inputs are not permitted"):
        check_event_payload("b1", E.PASSPORT_DATA_REGISTERED, {"surprise": 1})
    with pytest.raises(ValidationError, match="result_of_test_report_url' String should match"):
        check_event_payload(
            "b1", E.PASSPORT_DATA_REGISTERED, {"test_reports": {"result_of_test_report_url": "https://a\x00"}}
        )
    check_event_payload(
        "b1",
        E.PASSPORT_DATA_REGISTERED,
        {"test_reports": {"result_of_test_report_url": "https://x.test/r.pdf"}},
    )
    cleaned, issues = clean_payload(E.PASSPORT_DATA_REGISTERED, {**ftp, "warranty_months": 24})
    assert cleaned == {"warranty_months": 24}
    assert [i.field for i in issues] == ["test_reports.result_of_test_report_url"]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("", "must not be empty"),
        ("a\x00b", "control or invisible"),
        ("a\nb", "control or invisible"),
        ("a b", "spaces"),
        ("\u200bzero-width", "invisible"),
        ("x" * 10_000, "10000 characters long, over the limit of 256"),
        (42, "must be a string"),
    ],
)
def test_identifiers(value: object, why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        check_identifier("battery id", value)
    with pytest.raises(ValidationError, match="battery id"):
        check_event_payload(value, E.BATTERY_COLLECTED, {})  # type: ignore[arg-type]


def test_good_identifiers_and_lookups() -> None:
    for ok in (
        "urn:uuid:0192f7e4-7a4b-7c3d-8e9f-0a1b2c3d4e5f",
        "catl-ningde",
        "09506000134352/S-9",
        "电池-1",
    ):
        assert check_identifier("id", ok) == ok
    assert check_lookup("id", "an id stored with spaces") == "an id stored with spaces"  # stays readable
    for bad in ("a\x00", "x" * 2000, ""):
        with pytest.raises(ValidationError):
            check_lookup("id", bad)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
        datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-14))),
        datetime(9999, 12, 31, tzinfo=UTC),
        datetime(2101, 1, 1, tzinfo=UTC),
        datetime(1899, 12, 31, 23, 59, tzinfo=UTC),
    ],
)
def test_instants_outside_the_window(moment: datetime) -> None:
    with pytest.raises(ValidationError, match=r"outside 1900-01-01\.\.2100-12-31"):
        check_instant("occurred_at", moment)


def test_instant_text() -> None:
    assert parse_instant("t", "2025-03-01T08:00:00Z") == datetime(2025, 3, 1, 8, tzinfo=UTC)
    for bad, why in [
        ("2024-02-30T00:00:00Z", "not an ISO 8601"),
        ("2024-01-01T00:00:00", "no time zone"),
        ("2024-01-01T00:00:00+99:00", "not an ISO 8601"),
        ("3000-01-01T00:00:00Z", "outside"),
        ("x" * 10_000, "not an ISO 8601"),
    ]:
        with pytest.raises(ValidationError, match=why):
            parse_instant("t", bad)


def test_stored_event_issues_name_every_refused_field() -> None:
    issues = stored_event_issues(
        "b 1",
        "BatteryManufactured",
        datetime(2200, 1, 1, tzinfo=UTC),
        {**PACK, "chemistry": "X", "mass_kg": -1},
    )
    assert [i.field for i in issues] == ["battery_id", "occurred_at", "payload.chemistry", "payload.mass_kg"]
    assert stored_event_issues("b1", "BatteryManufactured", datetime(2025, 1, 1, tzinfo=UTC), PACK) == []


def test_organisations() -> None:
    check_organisation("catl-ningde", "CATL", "CN", [("2024-07", date(2024, 7, 1), None)])
    for args, why in [
        (("a\x00", "N", "DE"), "organisation id"),
        (("o" * 300, "N", "DE"), "over the limit"),
        (("org", "two\nlines", "DE"), "name must be one line"),
        (("org", "N", "Germany"), "country"),
        (("org", "N", "DE", [("ref", date(1, 1, 1), None)]), "valid from 0001-01-01 is outside"),
    ]:
        with pytest.raises(ValidationError, match=why):
            check_organisation(*args)


# ------------------------------------------------------------------ access grants (cross-field rules)


@pytest.mark.parametrize(
    ("dates", "why"),
    [
        (("2026-03-01", "2026-03-01"), "must be after valid_from 2026-03-01"),
        (("2026-03-02", "2026-03-01"), "must be after valid_from 2026-03-02"),
        (("2026-01-01", "2027-06-01"), f"over the limit of {MAX_GRANT_DAYS} days"),
    ],
)
def test_a_grant_with_disordered_or_overlong_dates_is_refused_naming_valid_until(dates, why) -> None:
    payload = {"grantee": "buyer", "valid_from": dates[0], "valid_until": dates[1]}
    with pytest.raises(ValidationError, match=why) as caught:
        check_event_payload("b1", E.ACCESS_GRANTED, payload)
    assert "payload field 'valid_until'" in str(caught.value)
    assert [i.field for i in payload_issues(E.ACCESS_GRANTED, payload)] == ["valid_until"]


def test_a_grant_needs_grantee_and_both_dates() -> None:
    for key in ("grantee", "valid_from", "valid_until"):
        payload = {"grantee": "buyer", "valid_from": "2026-01-01", "valid_until": "2026-02-01"}
        del payload[key]
        with pytest.raises(ValidationError, match=f"lacks '{key}'"):
            check_event_payload("b1", E.ACCESS_GRANTED, payload)
    check_event_payload(
        "b1", E.ACCESS_GRANTED, {"grantee": "b", "valid_from": "2026-01-01", "valid_until": "2026-02-01"}
    )
