"""Identity codes of battery units: GB/T 34014, the EU unique identifier and the GS1 Digital Link.

Everything here is pure (no database, web or network). The only file read is the package's own
character-table file ``domain/data/gbt34014.toml`` (or a user's override passed to
:func:`load_code_tables`), loaded once and cached.

GB/T 34014-2017 (汽车动力蓄电池编码规则), facts as cited in ``domain/data/gbt34014.toml`` (``batteryloop params cite GBT-34014-2017``):

* the **24-character** code: manufacturer (3) · product type P/M/C (1) · battery type (1) · specification
  (2) · traceability information (7) · year (1) · month (1) · day (1) · serial (7 digits);
* the **cascade-use** (梯次利用) code, Catena-X regex branch 2: manufacturer (3) · product type (1) ·
  battery type (1) · specification (2) · year · month · day · serial (7) · ``R`` · product type, which is
  **19** characters. The Catena-X description says "24 or 18 characters", contradicting its own regex;
  we follow the regex (19) and reject 18-character input with a message saying so.
* no check character exists in any source; validation is per-position character sets, date plausibility
  and pack/module/cell consistency (:func:`check_link`).
* the year table is not verified; two conventions conflict (see the data file). The default is the
  community decoders' table (0-9 = 2010-2019, A = 2020, ... skipping I, O, Q); ``vin`` is the alternative.

EU unique identifier: ``urn:uuid:<uuid>`` with a time-ordered UUID version 7 (RFC 9562 §5.7), so ids sort
by creation time, which keeps B-tree inserts local.

GS1 Digital Link: ``https://<resolver>/01/<GTIN-14>/21/<serial>``. Parsing and the GTIN check digit use
``biip`` (``GS1DigitalLinkURI.parse`` and ``gs1_standard_check_digit``); biip reports a wrong GTIN check
digit on the element (``gtin_error``) rather than raising, so we turn that into InvalidCodeError. The URI is
rendered here rather than with ``biip`` because biip's ``as_uri`` takes a bare host and always uses https
with no port, while our resolver base may carry a scheme, port and path prefix.
"""

from __future__ import annotations

import random
import re
import secrets
import time
import tomllib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from biip import ParseError
from biip.checksums import gs1_standard_check_digit
from biip.gs1_digital_link_uris import GS1DigitalLinkURI

from batteryloop.domain.chemistry import Chemistry, UnitLevel
from batteryloop.domain.errors import InvalidCodeError, ValidationError
from batteryloop.domain.ids import uuid7, uuid_text

__all__ = [
    "GBT34014_CASCADE_LENGTH",
    "GBT34014_LENGTH",
    "BatteryTypeInfo",
    "CascadeRecoding",
    "CodeTables",
    "GBT34014Code",
    "GS1DigitalLink",
    "canonical_eu_unique_id",
    "cascade_code",
    "check_link",
    "code_tables",
    "eu_unique_id",
    "generate_gbt34014",
    "gtin14_check_digit",
    "load_code_tables",
    "parse_eu_unique_id",
    "parse_gbt34014",
    "validate_gs1_serial",
    "validate_gtin14",
]

GBT34014_LENGTH = 24
GBT34014_CASCADE_LENGTH = 19
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_DIGITS = frozenset("0123456789")


# --------------------------------------------------------------------------------------------------
# GB/T 34014 character tables (data file)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BatteryTypeInfo:
    letter: str
    name: str
    verified: bool


@dataclass(frozen=True, slots=True)
class CodeTables:
    """The character tables of GB/T 34014 as loaded from a TOML file (see ``data/gbt34014.toml``)."""

    product_types: Mapping[str, UnitLevel]
    battery_types: Mapping[str, BatteryTypeInfo]
    chemistry_to_battery_type: Mapping[Chemistry, str]
    month_codes: str
    day_codes: str
    year_codes: str
    year_first: int
    year_convention: str
    source: str = ""
    _level_to_product_type: Mapping[UnitLevel, str] = field(default_factory=dict, repr=False)

    def battery_type_for(self, chemistry: Chemistry) -> str:
        """The position-5 letter for a chemistry ('Z' = other when the table has no entry)."""
        return self.chemistry_to_battery_type.get(chemistry, "Z")

    def product_type_for(self, level: UnitLevel) -> str:
        try:
            return self._level_to_product_type[level]
        except KeyError:
            raise ValidationError(
                f"GB/T 34014 codes packs, modules and cells only; a {level.value} has no product type"
            ) from None

    def year_code(self, year: int) -> str:
        index = year - self.year_first
        if not 0 <= index < len(self.year_codes):
            last = self.year_first + len(self.year_codes) - 1
            raise ValidationError(
                f"year {year} cannot be coded with the {self.year_convention!r} year table "
                f"({self.year_first}..{last})"
            )
        return self.year_codes[index]


def _tables_from_mapping(data: Mapping[str, Any], year_convention: str | None) -> CodeTables:
    try:
        product_types = {k: UnitLevel(v) for k, v in data["product_type"].items() if k not in _CITATION_KEYS}
        bt = data["battery_type"]
        battery_types = {
            letter: BatteryTypeInfo(letter, str(v["name"]), bool(v["verified"]))
            for letter, v in bt["letters"].items()
        }
        chem_map = {Chemistry(k): str(v) for k, v in bt["from_chemistry"].items()}
        years = data["year"]
        convention = year_convention or str(years["default"])
        if convention not in years["conventions"]:
            raise ValidationError(
                f"unknown GB/T 34014 year convention {convention!r}; "
                f"known: {', '.join(sorted(years['conventions']))}"
            )
        chosen = years["conventions"][convention]
        month_codes = str(data["month"]["codes"])
        day_codes = str(data["day"]["codes"])
    except KeyError as exc:
        raise ValidationError(f"GB/T 34014 code table lacks {exc.args[0]!r}") from exc
    if len(month_codes) != 12 or len(day_codes) != 31:
        raise ValidationError("GB/T 34014 code table: month needs 12 codes and day 31 codes")
    for letter in chem_map.values():
        if letter not in battery_types:
            raise ValidationError(
                f"GB/T 34014 code table maps a chemistry to unknown battery type {letter!r}"
            )
    return CodeTables(
        product_types=product_types,
        battery_types=battery_types,
        chemistry_to_battery_type=chem_map,
        month_codes=month_codes,
        day_codes=day_codes,
        year_codes=str(chosen["codes"]),
        year_first=int(chosen["first"]),
        year_convention=convention,
        source=str(data.get("meta", {}).get("source", "")),
        _level_to_product_type={v: k for k, v in product_types.items()},
    )


# keys of a table that cite it rather than belong to it (the citation itself is read by batteryloop.reference)
_CITATION_KEYS = frozenset({"source", "locator", "year", "quality", "note", "verified"})
TABLES_FILE = Path(__file__).parent / "data" / "gbt34014.toml"


@cache
def _default_table_data() -> dict[str, Any]:
    # domain sits below batteryloop.reference, so it reads its one packaged table itself
    return tomllib.loads(TABLES_FILE.read_text("utf-8"))


@cache
def code_tables(year_convention: str | None = None) -> CodeTables:
    """The packaged tables (cached). ``year_convention``: 'community' (default) or 'vin'."""
    return _tables_from_mapping(_default_table_data(), year_convention)


def load_code_tables(path: str | Path, *, year_convention: str | None = None) -> CodeTables:
    """Tables from a user's TOML file with the same layout as the packaged one."""
    try:
        data = tomllib.loads(Path(path).read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValidationError(f"GB/T 34014 code table {path}: {exc}") from exc
    return _tables_from_mapping(data, year_convention)


# --------------------------------------------------------------------------------------------------
# GB/T 34014 code
# --------------------------------------------------------------------------------------------------


def _fmt_allowed(chars: str) -> str:
    if len(chars) <= 4:
        items = list(chars)
        return ", ".join(items[:-1]) + " or " + items[-1] if len(items) > 1 else items[0]
    return f"one of {chars}"


@dataclass(frozen=True, slots=True)
class GBT34014Code:
    """A GB/T 34014 code, either the 24-character form or the 19-character cascade-use form.

    ``trace_code`` is None exactly for the cascade-use form, which carries ``cascade_product_type``
    (its position 19). Construct with :meth:`generate` or :meth:`parse`; the constructor validates too.
    """

    manufacturer_code: str
    product_type: str
    battery_type: str
    spec_code: str
    trace_code: str | None
    production_date: date
    serial: int
    cascade_product_type: str | None = None
    year_convention: str = "community"

    def __post_init__(self) -> None:
        tables = code_tables(self.year_convention)
        shown = f"{self.manufacturer_code}{self.product_type}{self.battery_type}{self.spec_code}…"
        cascade = self.trace_code is None

        def fail(position: int, reason: str) -> None:
            raise InvalidCodeError(shown, reason, position)

        if len(self.manufacturer_code) != 3 or not set(self.manufacturer_code) <= _ALNUM:
            fail(1, f"manufacturer code must be 3 characters A-Z/0-9, got {self.manufacturer_code!r}")
        if self.product_type not in tables.product_types:
            fail(4, f"product type must be P, M or C, got {self.product_type!r}")
        if self.battery_type not in tables.battery_types:
            fail(
                5,
                f"battery type must be {_fmt_allowed(''.join(tables.battery_types))}, got "
                f"{self.battery_type!r}",
            )
        if len(self.spec_code) != 2 or not set(self.spec_code) <= _ALNUM:
            fail(6, f"specification code must be 2 characters A-Z/0-9, got {self.spec_code!r}")
        if not cascade:
            assert self.trace_code is not None
            if len(self.trace_code) != 7 or not set(self.trace_code) <= _ALNUM:
                fail(8, f"traceability code must be 7 characters A-Z/0-9, got {self.trace_code!r}")
        date_pos = 8 if cascade else 15
        try:
            tables.year_code(self.production_date.year)
        except ValidationError as exc:
            fail(date_pos, str(exc))
        if not 1 <= self.serial <= 9_999_999:
            fail(
                date_pos + 3, f"serial must be 1..9999999 (daily sequence 0000001-9999999), got {self.serial}"
            )
        if cascade:
            if self.cascade_product_type not in tables.product_types:
                fail(19, f"cascade product type must be P, M or C, got {self.cascade_product_type!r}")
        elif self.cascade_product_type is not None:
            raise ValidationError("a 24-character GB/T 34014 code has no cascade product type")

    # -- views ------------------------------------------------------------------------------------

    @property
    def is_cascade(self) -> bool:
        return self.trace_code is None

    @property
    def unit_level(self) -> UnitLevel:
        return code_tables(self.year_convention).product_types[self.product_type]

    @property
    def chemistries(self) -> frozenset[Chemistry]:
        """Our chemistries that code as this battery type (E = every NMC and NCA; empty for Z/unmapped)."""
        table = code_tables(self.year_convention).chemistry_to_battery_type
        return frozenset(c for c, letter in table.items() if letter == self.battery_type)

    @property
    def battery_type_info(self) -> BatteryTypeInfo:
        return code_tables(self.year_convention).battery_types[self.battery_type]

    @property
    def text(self) -> str:
        tables = code_tables(self.year_convention)
        d = self.production_date
        date_code = tables.year_code(d.year) + tables.month_codes[d.month - 1] + tables.day_codes[d.day - 1]
        head = f"{self.manufacturer_code}{self.product_type}{self.battery_type}{self.spec_code}"
        if self.trace_code is None:
            return f"{head}{date_code}{self.serial:07d}R{self.cascade_product_type}"
        return f"{head}{self.trace_code}{date_code}{self.serial:07d}"

    def __str__(self) -> str:
        return self.text

    # -- construction -----------------------------------------------------------------------------

    @classmethod
    def generate(
        cls,
        *,
        manufacturer_code: str,
        level: UnitLevel | str,
        spec_code: str,
        trace_code: str,
        produced_on: date,
        serial: int,
        chemistry: Chemistry | None = None,
        battery_type: str | None = None,
        year_convention: str = "community",
    ) -> GBT34014Code:
        """Build a 24-character code from its parts. Give ``chemistry`` or an explicit ``battery_type``."""
        tables = code_tables(year_convention)
        product_type = tables.product_type_for(level) if isinstance(level, UnitLevel) else level
        if battery_type is None:
            if chemistry is None:
                raise ValidationError("GB/T 34014 generate: give chemistry or battery_type")
            battery_type = tables.battery_type_for(chemistry)
        return cls(
            manufacturer_code=manufacturer_code,
            product_type=product_type,
            battery_type=battery_type,
            spec_code=spec_code,
            trace_code=trace_code,
            production_date=produced_on,
            serial=serial,
            year_convention=year_convention,
        )

    @classmethod
    def parse(cls, text: str, *, year_convention: str = "community") -> GBT34014Code:
        """Parse and validate a 24- or 19-character code; InvalidCodeError names the 1-based position."""
        return parse_gbt34014(text, year_convention=year_convention)


def parse_gbt34014(text: str, *, year_convention: str = "community") -> GBT34014Code:
    """Parse a GB/T 34014 code (surrounding whitespace ignored, otherwise strict: upper case only)."""
    if not isinstance(text, str):
        raise InvalidCodeError(repr(text), "a GB/T 34014 code must be a string")
    code = text.strip()
    tables = code_tables(year_convention)
    n = len(code)
    if n == 18:
        raise InvalidCodeError(
            code,
            "18 characters: the Catena-X TractionBatteryCode description says '24 or 18', but its own "
            "regex (and batteryloop) requires 24, or 19 for the cascade-use form",
        )
    if n not in (GBT34014_LENGTH, GBT34014_CASCADE_LENGTH):
        raise InvalidCodeError(code, f"must be 24 characters (or 19 for the cascade-use form), got {n}")
    cascade = n == GBT34014_CASCADE_LENGTH

    def check(position: int, what: str, allowed: frozenset[str] | str, describe: str) -> str:
        ch = code[position - 1]
        if ch not in allowed:
            raise InvalidCodeError(code, f"{what} must be {describe}, got {ch!r}", position)
        return ch

    alnum = "A-Z or 0-9"
    for p in (1, 2, 3):
        check(p, "manufacturer code", _ALNUM, alnum)
    product_type = check(4, "product type", "".join(tables.product_types), "P, M or C")
    battery_type = check(
        5, "battery type", "".join(tables.battery_types), _fmt_allowed("".join(tables.battery_types))
    )
    for p in (6, 7):
        check(p, "specification code", _ALNUM, alnum)
    trace_code: str | None = None
    if not cascade:
        for p in range(8, 15):
            check(p, "traceability code", _ALNUM, alnum)
        trace_code = code[7:14]
    d0 = 8 if cascade else 15
    year_ch = check(
        d0, f"year code ({tables.year_convention} table)", tables.year_codes, f"one of {tables.year_codes}"
    )
    month_ch = check(d0 + 1, "month code", tables.month_codes, "1-9, A, B or C")
    day_ch = check(d0 + 2, "day code", tables.day_codes, f"one of {tables.day_codes}")
    for p in range(d0 + 3, d0 + 10):
        check(p, "serial", _DIGITS, "a digit")
    serial = int(code[d0 + 2 : d0 + 9])
    if serial == 0:
        raise InvalidCodeError(code, "serial must be 0000001-9999999, got 0000000", d0 + 3)
    cascade_type: str | None = None
    if cascade:
        check(18, "cascade-use marker", "R", "R")
        cascade_type = check(19, "cascade product type", "".join(tables.product_types), "P, M or C")
    year = tables.year_first + tables.year_codes.index(year_ch)
    month = tables.month_codes.index(month_ch) + 1
    day = tables.day_codes.index(day_ch) + 1
    try:
        produced = date(year, month, day)
    except ValueError:
        raise InvalidCodeError(
            code, f"day {day} does not exist in {year}-{month:02d} (no such calendar date)", d0 + 2
        ) from None
    return GBT34014Code(
        manufacturer_code=code[0:3],
        product_type=product_type,
        battery_type=battery_type,
        spec_code=code[5:7],
        trace_code=trace_code,
        production_date=produced,
        serial=serial,
        cascade_product_type=cascade_type,
        year_convention=year_convention,
    )


generate_gbt34014 = GBT34014Code.generate


def check_link(parent: GBT34014Code, child: GBT34014Code, *, same_manufacturer: bool = True) -> None:
    """Raise ValidationError unless ``child`` may sit inside ``parent`` (GB/T 34014 §4.1: codes linked).

    The parent's product type must rank above the child's (pack > module > cell; a pack may hold cells
    directly, cell-to-pack). ``same_manufacturer`` (default, as the linking rule is usually read) also
    requires the same manufacturer code; pass False when a pack maker integrates bought-in cells, which
    carry the cell maker's code.
    """
    p_level, c_level = parent.unit_level, child.unit_level
    if not p_level.may_contain(c_level):
        raise ValidationError(
            f"GB/T 34014 link {parent.text} -> {child.text}: a {p_level.value} ({parent.product_type}) "
            f"cannot contain a {c_level.value} ({child.product_type})"
        )
    if same_manufacturer and parent.manufacturer_code != child.manufacturer_code:
        raise ValidationError(
            f"GB/T 34014 link {parent.text} -> {child.text}: manufacturer codes differ "
            f"({parent.manufacturer_code} vs {child.manufacturer_code})"
        )


@dataclass(frozen=True, slots=True)
class CascadeRecoding:
    """The cascade-use code and the original it replaces (GB/T 34014 §4.2: the original is retained)."""

    original: GBT34014Code
    cascade: GBT34014Code


def cascade_code(
    original: GBT34014Code,
    *,
    produced_on: date,
    serial: int,
    manufacturer_code: str | None = None,
    level: UnitLevel | None = None,
    spec_code: str | None = None,
) -> CascadeRecoding:
    """Re-code a unit for cascade use (19-character form), keeping the original code alongside.

    ``manufacturer_code`` is the cascade-use company's own code (it must apply for one, 中机函〔2018〕73号);
    by default the original's. ``level`` is the cascade product's level (default: the original's).
    Battery type is kept; the date is the re-coding date.
    """
    tables = code_tables(original.year_convention)
    product_type = tables.product_type_for(level) if level is not None else original.product_type
    if produced_on < original.production_date:
        raise ValidationError(
            f"cascade re-coding of {original.text} on {produced_on} precedes its production "
            f"({original.production_date})"
        )
    cascade = GBT34014Code(
        manufacturer_code=manufacturer_code or original.manufacturer_code,
        product_type=product_type,
        battery_type=original.battery_type,
        spec_code=spec_code or original.spec_code,
        trace_code=None,
        production_date=produced_on,
        serial=serial,
        cascade_product_type=product_type,
        year_convention=original.year_convention,
    )
    return CascadeRecoding(original=original, cascade=cascade)


# --------------------------------------------------------------------------------------------------
# EU unique identifier
# --------------------------------------------------------------------------------------------------

_URN_PREFIX = "urn:uuid:"
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def eu_unique_id(*, at: datetime | None = None, rng: random.Random | None = None) -> str:
    """A new ``urn:uuid:`` identifier holding a UUIDv7 (48-bit Unix ms time, 74 random bits).

    ``at`` (tz-aware) and ``rng`` make it reproducible, which the seeded fleet generator relies on; by
    default the clock and the ``secrets`` module are used.
    """
    if at is None:
        ms = time.time_ns() // 1_000_000
    else:
        if at.tzinfo is None:
            raise ValidationError(f"eu_unique_id: 'at' must be timezone-aware, got {at!r}")
        ms = int(at.timestamp() * 1000)
    if not 0 <= ms < 1 << 48:
        raise ValidationError(f"eu_unique_id: time {at} is outside the UUIDv7 range")
    rand = rng.getrandbits(74) if rng is not None else secrets.randbits(74)
    return _URN_PREFIX + uuid_text(uuid7(unix_ms=ms, rand_a=rand >> 62, rand_b=rand))


def canonical_eu_unique_id(text: str) -> str:
    """The canonical spelling (lower-case ``urn:uuid:`` and hex) of a valid identifier, for use as a key."""
    return _URN_PREFIX + str(parse_eu_unique_id(text))


def parse_eu_unique_id(text: str) -> uuid.UUID:
    """Validate ``urn:uuid:<canonical 8-4-4-4-12 hex>`` (RFC 9562 variant, not nil/max) and return it."""
    if not isinstance(text, str):
        raise InvalidCodeError(repr(text), "the unique identifier must be a string")
    if text[: len(_URN_PREFIX)].lower() != _URN_PREFIX:
        raise InvalidCodeError(text, "must start with 'urn:uuid:'", 1)
    body = text[len(_URN_PREFIX) :]
    if not _UUID_RE.match(body):
        raise InvalidCodeError(
            text, "expected 32 hex digits as 8-4-4-4-12 after 'urn:uuid:'", len(_URN_PREFIX) + 1
        )
    value = uuid.UUID(body)
    if value.int in (0, (1 << 128) - 1):
        raise InvalidCodeError(text, "the nil and max UUIDs are not identifiers")
    if value.variant != uuid.RFC_4122:
        raise InvalidCodeError(
            text, "UUID variant must be the RFC 9562 variant (10xx)", len(_URN_PREFIX) + 20
        )
    return value


# --------------------------------------------------------------------------------------------------
# GS1: GTIN-14 and the Digital Link
# --------------------------------------------------------------------------------------------------

# GS1 AI encodable character set 82 (GS1 General Specifications, Figure 7.11-1)
GS1_CSET82 = frozenset("!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")
GS1_SERIAL_MAX_LENGTH = 20  # AI (21): X..20


def gtin14_check_digit(first13: str) -> int:
    """The GS1 mod-10 check digit for the first 13 digits of a GTIN-14."""
    if len(first13) != 13 or not set(first13) <= _DIGITS:
        raise InvalidCodeError(
            first13, f"need exactly 13 digits to compute a GTIN-14 check digit, got {first13!r}"
        )
    return gs1_standard_check_digit(first13)


def validate_gtin14(text: str) -> str:
    """Return ``text`` if it is a 14-digit GTIN with a correct check digit; else InvalidCodeError."""
    if len(text) != 14:
        raise InvalidCodeError(text, f"a GTIN-14 has 14 digits, got {len(text)} characters")
    for i, ch in enumerate(text, start=1):
        if ch not in _DIGITS:
            raise InvalidCodeError(text, f"GTIN-14 must be digits only, got {ch!r}", i)
    expected = gs1_standard_check_digit(text[:13])
    if int(text[13]) != expected:
        raise InvalidCodeError(text, f"check digit should be {expected}, got {text[13]}", 14)
    return text


def _normalise_gtin(text: str) -> str:
    """Pad GTIN-8/12/13 with leading zeros to GTIN-14 and validate."""
    if len(text) in (8, 12, 13) and set(text) <= _DIGITS:
        text = text.zfill(14)
    return validate_gtin14(text)


def validate_gs1_serial(serial: str) -> str:
    """AI (21) serial: 1-20 characters of GS1 AI encodable character set 82."""
    if not 1 <= len(serial) <= GS1_SERIAL_MAX_LENGTH:
        raise InvalidCodeError(serial, f"GS1 serial (AI 21) must be 1-20 characters, got {len(serial)}")
    for i, ch in enumerate(serial, start=1):
        if ch not in GS1_CSET82:
            raise InvalidCodeError(serial, f"GS1 serial (AI 21) allows only character set 82, got {ch!r}", i)
    return serial


def _split_domain(domain: str) -> str:
    """'https://host[:port][/prefix]' or 'host' -> 'https://host[:port][/prefix]' without trailing '/'."""
    if "://" not in domain:
        domain = "https://" + domain
    parts = urlsplit(domain)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise ValidationError(f"GS1 Digital Link resolver base must be an http(s) host, got {domain!r}")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


@dataclass(frozen=True, slots=True)
class GS1DigitalLink:
    """A GTIN + serial, rendered as ``https://<resolver>/01/<GTIN-14>/21/<serial>``.

    GTIN-8/12/13 input is zero-padded to GTIN-14; the check digit and the AI (21) serial are enforced.
    """

    gtin: str
    serial: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "gtin", _normalise_gtin(self.gtin))
        validate_gs1_serial(self.serial)

    def uri(self, domain: str = "https://id.batteryloop.example") -> str:
        base = _split_domain(domain)
        return f"{base}/01/{self.gtin}/21/{quote(self.serial, safe='')}"

    @classmethod
    def parse(cls, uri: str) -> GS1DigitalLink:
        """Parse a Digital Link URI (any resolver host or path prefix) that carries AI 01 and AI 21."""
        try:
            parsed = GS1DigitalLinkURI.parse(uri)
        except ParseError as exc:
            raise InvalidCodeError(uri, f"not a GS1 Digital Link URI: {exc}") from exc
        gtin_es = parsed.element_strings.get(ai="01")
        serial_es = parsed.element_strings.get(ai="21")
        if gtin_es is None:
            raise InvalidCodeError(uri, "GS1 Digital Link lacks a GTIN (AI 01)")
        if gtin_es.gtin_error:
            raise InvalidCodeError(uri, f"GTIN {gtin_es.value}: {gtin_es.gtin_error}")
        if serial_es is None:
            raise InvalidCodeError(uri, "GS1 Digital Link lacks a serial number (AI 21)")
        return cls(gtin=gtin_es.value, serial=serial_es.value)
