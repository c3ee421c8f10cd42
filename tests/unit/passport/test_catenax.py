"""Catena-X battery_pass 6.1.0 and traction_battery_code 2.0.0 exports validate against the shipped schemas."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from batteryloop.domain.chemistry import Chemistry, UnitLevel
from batteryloop.domain.errors import ValidationError
from batteryloop.domain.identity import GBT34014Code
from batteryloop.passport.access import Audience, redact, withheld_paths
from batteryloop.passport.core.build import PlainEvent, build_passport
from batteryloop.passport.core.catenax import (
    NIL_UUID,
    OPEN_ENDED,
    WITHHELD,
    build_code_tree,
    codes_in,
    to_catenax,
    to_traction_battery_code,
)
from batteryloop.passport.core.json_schemas import SchemaName, validate
from batteryloop.passport.core.model import Passport


def test_every_demo_export_validates(demo_passports: list[Passport]) -> None:
    for passport in demo_passports:
        assert validate(SchemaName.CATENAX_BATTERY_PASS, to_catenax(passport)) == [], (
            passport.identity.chemistry
        )


def test_mapping_of_identity_status_and_documented_fillers(
    passport: Passport, demo_passports: list[Passport]
) -> None:
    doc = to_catenax(passport)
    assert doc["identification"]["category"] == "EV"
    assert doc["identification"]["idDmc"] == passport.identity.product_identifier
    assert doc["sustainability"]["status"] == "original"
    assert doc["metadata"]["predecessor"] == NIL_UUID
    assert doc["metadata"]["expirationDate"] == OPEN_ENDED
    assert doc["metadata"]["passportIdentifier"] == passport.passport_id
    assert doc["performance"]["dynamic"]["capacity"]["fade"]["value"] == pytest.approx(5.0)
    # NMC811 has no lead: the block the schema requires says so instead of inventing a value
    assert doc["materials"]["active"]["lead"]["concentration"] == 0.0
    assert doc["materials"]["active"]["lead"]["location"] == "not present"
    stationary = next(p for p in demo_passports if p.identity.category == "stationary")
    assert to_catenax(stationary)["identification"]["category"] == "industrial"
    lfp = next(p for p in demo_passports if p.identity.chemistry is Chemistry.LFP)
    assert to_catenax(lfp)["materials"]["active"]["nickel"]["location"] == "not present"


def test_ceased_and_successor_passports(unit, events_factory) -> None:
    events = events_factory(unit)
    t = datetime(2031, 2, 3, tzinfo=UTC)
    events += [
        PlainEvent(unit.battery_id, kind, t, {})
        for kind in ("BatteryRetired", "BatteryCollected", "BatteryRecycled")
    ]
    doc = to_catenax(build_passport(events))
    assert doc["metadata"]["status"] == "expired"
    assert doc["metadata"]["expirationDate"] == "2031-02-03"
    assert doc["sustainability"]["status"] == "waste"
    assert validate(SchemaName.CATENAX_BATTERY_PASS, doc) == []


def _redacted(passport: Passport, *audiences: Audience) -> dict:
    full = passport.model_dump(mode="json")
    wanted = {Audience.PUBLIC, *audiences}
    return to_catenax(redact(passport, wanted), withheld=withheld_paths(full, wanted))


def test_public_export_withholds_restricted_sections(passport: Passport) -> None:
    doc = _redacted(passport)
    assert "dynamic" not in doc.get("performance", {})
    assert "resultOfTestReport" not in doc["conformity"]
    assert "status" not in doc["sustainability"]
    assert "composition" not in doc.get("materials", {})
    assert "safetyMeasures" not in doc["safety"]
    assert "dismantling" not in doc["safety"]


@pytest.mark.parametrize(
    "audiences",
    [(), (Audience.LEGITIMATE_INTEREST,), (Audience.INDIVIDUAL,), (Audience.AUTHORITY,)],
    ids=["public", "legitimate_interest", "individual", "authority"],
)
def test_withheld_is_marked_as_withheld_not_as_not_applicable(passport: Passport, audiences) -> None:
    """A redacted export says which fields it withholds (top-level JSON Pointers, and the key in the object
    that would hold it); its only schema errors are the `required` rules of exactly those fields."""
    doc = _redacted(passport, *audiences)
    pointers = doc[WITHHELD]
    assert pointers == sorted(pointers) and pointers
    for pointer in pointers:
        *parents, key = pointer.strip("/").split("/")
        node = doc
        for part in parents:
            node = node[part]
        assert key not in node and key in node[WITHHELD], pointer
    for issue in validate(SchemaName.CATENAX_BATTERY_PASS, doc):
        assert issue.validator == "required", issue
        missing = issue.message.split("'")[1]
        assert f"{issue.path[1:].replace('.', '/')}/{missing}" in pointers, issue
    # spare parts exist but are withheld: applicable, not "not applicable"
    if Audience.LEGITIMATE_INTEREST not in audiences and Audience.AUTHORITY not in audiences:
        assert doc["handling"]["applicable"] is True
        assert "/handling/content/sparePart" in pointers
        assert "/materials/composition" in pointers
    if Audience.INDIVIDUAL not in audiences:
        assert {"/performance/dynamic", "/sustainability/status", "/metadata/version"} <= set(pointers)
        assert "version" not in doc["metadata"]  # never invented
    else:
        assert doc["performance"]["dynamic"] and "/performance/dynamic" not in pointers


def test_a_full_export_marks_nothing_and_a_battery_without_spare_parts_is_not_applicable(
    passport: Passport,
) -> None:
    doc = to_catenax(passport)
    assert WITHHELD not in doc and WITHHELD not in doc["performance"]
    assert doc["handling"]["applicable"] is True
    bare = passport.model_copy(
        update={"circularity": passport.circularity.model_copy(update={"spare_part_sources": ()})}
    )
    assert to_catenax(bare)["handling"]["applicable"] is False


def test_numbers_carry_no_binary_noise(demo_passports: list[Passport]) -> None:
    """Values computed in the mapping (pre- plus post-consumer recycled content, remaining resistance) are
    written at the precision of their inputs: 15 significant digits at most, so no 17.619999999999997."""

    def floats(node):
        if isinstance(node, float):
            yield node
        elif isinstance(node, dict):
            for value in node.values():
                yield from floats(value)
        elif isinstance(node, list):
            for value in node:
                yield from floats(value)

    for passport in demo_passports:
        doc = to_catenax(passport)
        for value in floats(doc):
            assert repr(value) == repr(float(f"{value:.15g}")), value
        recycled = {r.material: r for r in passport.circularity.recycled_content}
        for name, key in (("Lithium", "lithium"), ("Cobalt", "cobalt"), ("Nickel", "nickel")):
            if name in recycled:
                r = recycled[name]
                expected = round(r.pre_consumer_pct + r.post_consumer_pct, 2)
                assert doc["materials"]["active"][key]["recycled"] == expected


def _code(level: UnitLevel, serial: int) -> str:
    return GBT34014Code.generate(
        manufacturer_code="X12",
        level=level,
        spec_code="AB",
        trace_code="TRC0001",
        produced_on=date(2025, 3, 14),
        serial=serial,
        chemistry=Chemistry.LFP,
    ).text


def test_traction_battery_code_tree_validates_and_keeps_the_hierarchy() -> None:
    pack, m1, m2 = _code(UnitLevel.PACK, 1), _code(UnitLevel.MODULE, 2), _code(UnitLevel.MODULE, 3)
    cells = [_code(UnitLevel.CELL, 10 + i) for i in range(4)]
    units = {
        "sys": (None, "system", None),
        "p": (pack, "pack", "sys"),
        "m1": (m1, "module", "p"),
        "m2": (m2, "module", "p"),
        "c0": (cells[0], "cell", "m1"),
        "c1": (cells[1], "cell", "m1"),
        "c2": (cells[2], "cell", "m2"),
        "c3": (cells[3], "cell", "m2"),
        "elsewhere": (_code(UnitLevel.CELL, 99), "cell", "other-pack"),
    }
    doc = to_traction_battery_code(build_code_tree("p", units=units))
    assert validate(SchemaName.CATENAX_TRACTION_BATTERY_CODE, doc) == []
    assert doc["productType"] == "pack"
    assert [s["productType"] for s in doc["subcomponents"]] == [
        "module",
        "module",
    ]
    assert codes_in(doc) == [pack, m1, cells[0], cells[1], m2, cells[2], cells[3]]
    with pytest.raises(ValidationError, match="carries no GB/T 34014 code"):
        build_code_tree("sys", units=units)
    with pytest.raises(ValidationError, match="not among the units"):
        build_code_tree("nope", units=units)
    bad = to_traction_battery_code(build_code_tree("p", units=units))
    bad["subcomponents"][0]["tractionBatteryCode"] = "X12MB" + "A" * 19
    assert [i.path for i in validate(SchemaName.CATENAX_TRACTION_BATTERY_CODE, bad)] == [
        "$.subcomponents[0].tractionBatteryCode"
    ]
