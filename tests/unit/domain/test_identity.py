"""GB/T 34014 codes, the EU unique identifier and the GS1 Digital Link."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime

import pytest
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from hypothesis import given, settings
from hypothesis import strategies as st

from batteryloop.domain import Chemistry, InvalidCodeError, UnitLevel, ValidationError
from batteryloop.domain.identity import (
    GBT34014Code,
    GS1DigitalLink,
    canonical_eu_unique_id,
    cascade_code,
    check_link,
    code_tables,
    eu_unique_id,
    gtin14_check_digit,
    parse_eu_unique_id,
    parse_gbt34014,
    validate_gs1_serial,
    validate_gtin14,
)

# Hand-built: X1Z pack LFP spec A1 trace ABC1234, 2021-02-28 (community table: 2021 = B, Feb = 2,
# 28 = V since days 10.. are A..Y without I, O, Q), serial 42.
PACK = "X1ZPBA1ABC1234B2V0000042"


def _pack(**over: object) -> GBT34014Code:
    parts: dict[str, object] = {
        "manufacturer_code": "X1Z",
        "level": UnitLevel.PACK,
        "chemistry": Chemistry.LFP,
        "spec_code": "A1",
        "trace_code": "ABC1234",
        "produced_on": date(2021, 2, 28),
        "serial": 42,
    }
    parts.update(over)
    return GBT34014Code.generate(**parts)  # type: ignore[arg-type]


class TestGBT34014Parse:
    def test_hand_checked_code_decodes_every_segment(self) -> None:
        code = parse_gbt34014(PACK)
        assert code.manufacturer_code == "X1Z"
        assert code.unit_level is UnitLevel.PACK
        assert code.battery_type == "B"
        assert code.battery_type_info.name == "lithium iron phosphate"
        assert code.battery_type_info.verified
        assert code.spec_code == "A1"
        assert code.trace_code == "ABC1234"
        assert code.production_date == date(2021, 2, 28)
        assert code.serial == 42
        assert not code.is_cascade
        assert code.text == PACK
        assert str(code) == PACK

    def test_generate_builds_the_same_text(self) -> None:
        assert _pack().text == PACK
        assert _pack() == parse_gbt34014(PACK)

    def test_ternary_chemistries_code_as_e(self) -> None:
        for chem in (Chemistry.NMC811, Chemistry.NCA, Chemistry.NMC532):
            assert _pack(chemistry=chem).battery_type == "E"
        assert _pack(chemistry=Chemistry.SODIUM_ION).battery_type == "Z"
        assert _pack(chemistry=Chemistry.NCA).chemistries == {
            Chemistry.NMC111,
            Chemistry.NMC532,
            Chemistry.NMC622,
            Chemistry.NMC811,
            Chemistry.NCA,
        }
        assert _pack().chemistries == {Chemistry.LFP}
        assert not code_tables().battery_types["C"].verified

    def test_community_year_table_with_digits_then_letters(self) -> None:
        assert _pack(produced_on=date(2015, 1, 1)).text[14:17] == "511"
        assert _pack(produced_on=date(2020, 12, 31)).text[14:17] == "ACY"
        assert _pack(produced_on=date(2025, 10, 10)).text[14:17] == "FAA"

    def test_vin_year_convention_is_selectable(self) -> None:
        code = _pack(produced_on=date(2015, 1, 1), year_convention="vin")
        assert code.text[14] == "F"
        assert parse_gbt34014(code.text, year_convention="vin").production_date == date(2015, 1, 1)
        # the same text read with the other table gives another year: the conventions do conflict
        assert parse_gbt34014(code.text).production_date.year == 2025

    @pytest.mark.parametrize(
        ("text", "position", "fragment"),
        [
            ("X1ZXBA1ABC1234B2V0000042", 4, "product type must be P, M or C, got 'X'"),
            ("x1ZPBA1ABC1234B2V0000042", 1, "manufacturer code"),
            ("X1ZPHA1ABC1234B2V0000042", 5, "battery type"),
            ("X1ZPBA-ABC1234B2V0000042", 7, "specification code"),
            ("X1ZPBA1ABC12#4B2V0000042", 13, "traceability code"),
            ("X1ZPBA1ABC1234O2V0000042", 15, "year code"),
            ("X1ZPBA1ABC1234BDV0000042", 16, "month code"),  # month 13
            ("X1ZPBA1ABC1234B2Z0000042", 17, "day code"),  # day 32 has no code
            ("X1ZPBA1ABC1234B2X0000042", 17, "day 30 does not exist in 2021-02"),  # Feb 30
            ("X1ZPBA1ABC1234B2V00000A2", 23, "serial must be a digit"),
            ("X1ZPBA1ABC1234B2V0000000", 18, "0000000"),
        ],
    )
    def test_errors_name_the_position(self, text: str, position: int, fragment: str) -> None:
        with pytest.raises(InvalidCodeError) as info:
            parse_gbt34014(text)
        assert info.value.position == position
        assert fragment in str(info.value)
        assert f"position {position}:" in str(info.value)

    def test_feb_29_is_valid_in_a_leap_year_only(self) -> None:
        leap = _pack(produced_on=date(2024, 2, 29)).text
        assert parse_gbt34014(leap).production_date == date(2024, 2, 29)
        not_leap = leap[:14] + "D" + leap[15:]  # 2023
        with pytest.raises(InvalidCodeError, match="day 29 does not exist in 2023-02"):
            parse_gbt34014(not_leap)

    def test_wrong_length_and_the_18_character_contradiction(self) -> None:
        with pytest.raises(InvalidCodeError, match=r"must be 24 characters .or 19"):
            parse_gbt34014(PACK[:20])
        with pytest.raises(InvalidCodeError, match="24 or 18"):
            parse_gbt34014(PACK[:18])

    def test_surrounding_whitespace_is_ignored(self) -> None:
        assert parse_gbt34014(f"  {PACK}\n").text == PACK

    def test_generate_rejects_bad_parts(self) -> None:
        with pytest.raises(InvalidCodeError, match="traceability code"):
            _pack(trace_code="ABC")
        with pytest.raises(InvalidCodeError, match=r"serial must be 1..9999999"):
            _pack(serial=10_000_000)
        with pytest.raises(InvalidCodeError, match="year 2045 cannot be coded"):
            _pack(produced_on=date(2045, 1, 1))
        with pytest.raises(ValidationError, match="a system has no product type"):
            _pack(level=UnitLevel.SYSTEM)
        with pytest.raises(ValidationError, match="chemistry or battery_type"):
            GBT34014Code.generate(
                manufacturer_code="X1Z",
                level=UnitLevel.CELL,
                spec_code="A1",
                trace_code="ABC1234",
                produced_on=date(2021, 1, 1),
                serial=1,
            )


class TestCascadeAndLinks:
    def test_cascade_form_round_trip_and_positions(self) -> None:
        recoded = cascade_code(_pack(), produced_on=date(2025, 6, 1), serial=7, manufacturer_code="Q2R")
        assert recoded.original.text == PACK
        text = recoded.cascade.text
        assert len(text) == 19
        assert text == "Q2RPBA1F610000007RP"
        parsed = parse_gbt34014(text)
        assert parsed == recoded.cascade
        assert parsed.is_cascade
        assert parsed.trace_code is None
        assert parsed.battery_type == "B"

    def test_cascade_marker_and_type_checked(self) -> None:
        with pytest.raises(InvalidCodeError) as info:
            parse_gbt34014("Q2RPBA1F610000007XP")
        assert info.value.position == 18
        with pytest.raises(InvalidCodeError) as info:
            parse_gbt34014("Q2RPBA1F610000007RX")
        assert info.value.position == 19

    def test_cascade_cannot_precede_production(self) -> None:
        with pytest.raises(ValidationError, match="precedes its production"):
            cascade_code(_pack(), produced_on=date(2020, 1, 1), serial=1)

    def test_cascade_may_change_level(self) -> None:
        recoded = cascade_code(_pack(), produced_on=date(2025, 6, 1), serial=8, level=UnitLevel.MODULE)
        assert recoded.cascade.unit_level is UnitLevel.MODULE
        assert recoded.cascade.text.endswith("RM")

    def test_pack_module_cell_links(self) -> None:
        pack = _pack()
        module = _pack(level=UnitLevel.MODULE, serial=43)
        cell = _pack(level=UnitLevel.CELL, serial=44)
        check_link(pack, module)
        check_link(module, cell)
        check_link(pack, cell)  # cell-to-pack
        with pytest.raises(ValidationError, match=r"a module .M. cannot contain a pack"):
            check_link(module, pack)
        with pytest.raises(ValidationError, match="cannot contain"):
            check_link(module, module)
        foreign = _pack(level=UnitLevel.CELL, manufacturer_code="C7L")
        with pytest.raises(ValidationError, match=r"manufacturer codes differ .X1Z vs C7L."):
            check_link(pack, foreign)
        check_link(pack, foreign, same_manufacturer=False)


@st.composite
def _codes(draw: st.DrawFn) -> GBT34014Code:
    alnum = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=1)
    return GBT34014Code.generate(
        manufacturer_code="".join(draw(st.lists(alnum, min_size=3, max_size=3))),
        level=draw(st.sampled_from([UnitLevel.PACK, UnitLevel.MODULE, UnitLevel.CELL])),
        chemistry=draw(st.sampled_from(list(Chemistry))),
        spec_code="".join(draw(st.lists(alnum, min_size=2, max_size=2))),
        trace_code="".join(draw(st.lists(alnum, min_size=7, max_size=7))),
        produced_on=draw(st.dates(min_value=date(2010, 1, 1), max_value=date(2041, 12, 31))),
        serial=draw(st.integers(1, 9_999_999)),
    )


@settings(deadline=None)  # timing on a shared CI machine is not what this tests
@given(_codes())
def test_generate_parse_round_trip(code: GBT34014Code) -> None:
    assert len(code.text) == 24
    assert parse_gbt34014(code.text) == code


@settings(deadline=None)
@given(_codes())
def test_cascade_round_trip(code: GBT34014Code) -> None:
    recoded = cascade_code(code, produced_on=code.production_date, serial=code.serial)
    assert parse_gbt34014(recoded.cascade.text) == recoded.cascade


class TestEUUniqueId:
    def test_uuid7_shape_and_round_trip(self) -> None:
        text = eu_unique_id()
        assert text.startswith("urn:uuid:")
        value = parse_eu_unique_id(text)
        assert value.version == 7
        assert value.variant == uuid.RFC_4122

    def test_time_ordered_and_reproducible(self) -> None:
        t1 = datetime(2024, 5, 1, 12, tzinfo=UTC)
        t2 = datetime(2024, 5, 1, 12, 0, 1, tzinfo=UTC)
        a = eu_unique_id(at=t1, rng=random.Random(1))
        b = eu_unique_id(at=t2, rng=random.Random(0))
        assert a < b
        assert eu_unique_id(at=t1, rng=random.Random(1)) == a
        assert eu_unique_id(at=t1, rng=random.Random(2)) != a
        # the first 48 bits are the Unix time in ms
        assert parse_eu_unique_id(a).int >> 80 == int(t1.timestamp() * 1000)

    def test_canonical_spelling(self) -> None:
        text = "URN:UUID:0190A0B4-1C2D-7E3F-8A4B-5C6D7E8F9A0B"
        assert canonical_eu_unique_id(text) == "urn:uuid:0190a0b4-1c2d-7e3f-8a4b-5c6d7e8f9a0b"

    def test_naive_time_rejected(self) -> None:
        with pytest.raises(ValidationError, match="timezone-aware"):
            eu_unique_id(at=datetime(2024, 1, 1))

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("uuid:0190a0b4-1c2d-7e3f-8a4b-5c6d7e8f9a0b", "must start with 'urn:uuid:'"),
            ("urn:uuid:0190a0b41c2d7e3f8a4b5c6d7e8f9a0b", "8-4-4-4-12"),
            ("urn:uuid:0190a0b4-1c2d-7e3f-8a4b-5c6d7e8f9a0", "8-4-4-4-12"),
            ("urn:uuid:00000000-0000-0000-0000-000000000000", "nil"),
            ("urn:uuid:0190a0b4-1c2d-7e3f-ca4b-5c6d7e8f9a0b", "variant"),
        ],
    )
    def test_invalid(self, text: str, reason: str) -> None:
        with pytest.raises(InvalidCodeError, match=reason):
            parse_eu_unique_id(text)


class TestGS1:
    def test_known_gtin_check_digit(self) -> None:
        # EAN-13 4006381333931 (a real retail barcode) -> GTIN-14 04006381333931
        assert gtin14_check_digit("0400638133393") == 1
        assert validate_gtin14("04006381333931") == "04006381333931"

    def test_gtin_errors(self) -> None:
        with pytest.raises(InvalidCodeError, match="check digit should be 1, got 2") as info:
            validate_gtin14("04006381333932")
        assert info.value.position == 14
        with pytest.raises(InvalidCodeError) as info:
            validate_gtin14("0400638133A931")
        assert info.value.position == 11
        with pytest.raises(InvalidCodeError, match="14 digits"):
            validate_gtin14("4006381333931")
        with pytest.raises(InvalidCodeError, match="13 digits"):
            gtin14_check_digit("123")

    def test_digital_link_uri_and_parse(self) -> None:
        link = GS1DigitalLink("4006381333931", "AB-12/3")
        assert link.gtin == "04006381333931"
        uri = link.uri()
        assert uri == "https://id.batteryloop.example/01/04006381333931/21/AB-12%2F3"
        assert GS1DigitalLink.parse(uri) == link
        # biip reads our URI the same way
        parsed = GS1DigitalLinkURI.parse(uri)
        es = parsed.element_strings.get(ai="21")
        assert es is not None
        assert es.value == "AB-12/3"

    def test_resolver_base_variants(self) -> None:
        link = GS1DigitalLink("04006381333931", "S1")
        assert (
            link.uri("resolver.example:8443/dl/")
            == "https://resolver.example:8443/dl/01/04006381333931/21/S1"
        )
        assert GS1DigitalLink.parse("http://x.example/dl/01/04006381333931/21/S1?linkType=all") == link
        with pytest.raises(ValidationError, match="resolver base"):
            link.uri("ftp://x.example")

    def test_digital_link_errors(self) -> None:
        with pytest.raises(InvalidCodeError, match="check digit"):
            GS1DigitalLink.parse("https://x.example/01/04006381333932/21/S1")
        with pytest.raises(InvalidCodeError, match="lacks a serial"):
            GS1DigitalLink.parse("https://x.example/01/04006381333931")
        with pytest.raises(InvalidCodeError, match="not a GS1 Digital Link"):
            GS1DigitalLink.parse("https://x.example/nothing/here")
        with pytest.raises(InvalidCodeError, match="not a GS1 Digital Link"):
            GS1DigitalLink.parse("https://x.example/01/04006381333931/21/" + "A" * 21)

    def test_serial_rules(self) -> None:
        assert validate_gs1_serial("A" * 20) == "A" * 20
        assert validate_gs1_serial("!\"%&'()*+,-./:;<=>?_") == "!\"%&'()*+,-./:;<=>?_"
        with pytest.raises(InvalidCodeError, match="1-20 characters"):
            validate_gs1_serial("A" * 21)
        with pytest.raises(InvalidCodeError, match="1-20 characters"):
            validate_gs1_serial("")
        with pytest.raises(InvalidCodeError) as info:
            GS1DigitalLink("04006381333931", "AB 12")
        assert info.value.position == 3
        with pytest.raises(InvalidCodeError, match="character set 82"):
            validate_gs1_serial("Aé")
        with pytest.raises(InvalidCodeError, match="character set 82"):
            validate_gs1_serial("A#")

    @settings(deadline=None)
    @given(st.text(alphabet="!\"%&'()*+,-./0123456789:;<=>?ABCXYZ_abcxyz", min_size=1, max_size=20))
    def test_serial_round_trip(self, serial: str) -> None:
        link = GS1DigitalLink("04006381333931", serial)
        assert GS1DigitalLink.parse(link.uri()) == link
