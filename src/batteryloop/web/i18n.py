"""Locales of the web pages: gettext catalogues compiled from the shipped .po files, locale choice, formatting.

The catalogues live in ``web/locale/<locale>/LC_MESSAGES/messages.po`` and are compiled in memory with Babel
the first time a locale is used (no binary .mo file in the repository). A request's locale is, in this order:
a ``?lang=`` query parameter, the ``bl_lang`` cookie the language switch sets, the ``Accept-Language`` header,
English. Numbers and dates are formatted with Babel's CLDR data for that locale.
"""

from __future__ import annotations

import datetime as dt
import decimal
import gettext as gettext_module
from collections.abc import Mapping
from copy import copy
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from babel.numbers import NumberPattern

LOCALE_DIR: Final = Path(__file__).parent / "locale"
DOMAIN: Final = "messages"
DEFAULT_LOCALE: Final = "en"
LOCALES: Final = ("en", "zh_Hans")
"""Catalogue names, in the order the language switch lists them."""
LANGUAGE_NAMES: Final[Mapping[str, str]] = {"en": "English", "zh_Hans": "中文"}
"""Each locale's name in its own language, as the switch shows it."""
COOKIE_NAME: Final = "bl_lang"
QUERY_PARAM: Final = "lang"
COOKIE_MAX_AGE_S: Final = 365 * 24 * 3600


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it (a template translates it later with ``_``)."""
    return message


def html_lang(locale: str) -> str:
    """The BCP 47 tag of a catalogue name, for ``<html lang>`` and ``Content-Language`` (``zh_Hans`` -> ``zh-Hans``)."""
    return locale.replace("_", "-")


def match_locale(tag: str) -> str | None:
    """The catalogue serving a language tag (``zh-CN``, ``zh_Hans``, ``en-GB``, ``zh``), or None.

    Every Chinese tag is served by the Simplified Chinese catalogue, the only Chinese one shipped.
    """
    from babel import Locale, UnknownLocaleError

    text = tag.strip().replace("_", "-")
    if not text or text == "*":
        return None
    try:
        language = Locale.parse(text, sep="-").language
    except (ValueError, UnknownLocaleError):
        return None
    for name in LOCALES:
        if Locale.parse(name).language == language:
            return name
    return None


def negotiate(accept_language: str | None) -> str | None:
    """The best catalogue for an ``Accept-Language`` header (RFC 9110 12.5.4 quality values), or None."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _sep, params = part.partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _eq, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, position, tag))
    for _quality, _position, tag in sorted(ranked):
        found = match_locale(tag)
        if found is not None:
            return found
    return None


def choose_locale(*, query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """A request's locale: the explicit switch (query, then cookie), then the header, then English."""
    for explicit in (query, cookie):
        if explicit:
            found = match_locale(explicit)
            if found is not None:
                return found
    return negotiate(accept_language) or DEFAULT_LOCALE


@cache
def translations(locale: str) -> gettext_module.NullTranslations:
    """The compiled catalogue of a locale (untranslated and fuzzy entries fall back to the English msgid)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    if locale not in LOCALES:
        raise ValueError(f"no catalogue for locale {locale!r}; known: {', '.join(LOCALES)}")
    po_path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext_module.GNUTranslations(compiled)


Number = int | float | decimal.Decimal


def _fraction_digits(value: Number) -> int:
    if isinstance(value, int):
        return 0
    exponent = decimal.Decimal(str(value)).as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _fixed(pattern: NumberPattern, digits: int) -> NumberPattern:
    fixed = copy(pattern)
    fixed.frac_prec = (digits, digits)
    return fixed


def format_number(value: object, locale: str, digits: int | None = None) -> object:
    """A number in the locale's decimal style; ``digits`` fixed, or as many as the value has.

    Anything that is not a number (text, None, a bool) is returned unchanged.
    """
    from babel import Locale
    from babel.numbers import format_decimal

    if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
        return value
    places = _fraction_digits(value) if digits is None else digits
    pattern = _fixed(Locale.parse(locale).decimal_formats[None], places)
    return format_decimal(value, format=pattern, locale=locale)


def format_share(value: object, locale: str, digits: int = 0) -> object:
    """A fraction (0.125) as a percentage in the locale's style with ``digits`` decimals ("12.5%")."""
    from babel import Locale
    from babel.numbers import format_percent

    if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
        return value
    pattern = _fixed(Locale.parse(locale).percent_formats[None], digits)
    return format_percent(value, format=pattern, locale=locale)


def _as_datetime(value: object) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def format_date(value: object, locale: str) -> object:
    """A date (or the date of a datetime or ISO 8601 text) in the locale's medium form; other values unchanged."""
    from babel.dates import format_skeleton

    parsed = _as_datetime(value)
    if parsed is None:
        return value
    day = parsed.date() if isinstance(parsed, dt.datetime) else parsed
    return format_skeleton("yMMMd", day, locale=locale)


def format_datetime(value: object, locale: str) -> object:
    """A date and 24-hour time, as written, without a time-zone conversion; other values unchanged.

    A value that carries only a date is formatted as a date.
    """
    parsed = _as_datetime(value)
    if parsed is None:
        return value
    if not isinstance(parsed, dt.datetime) or (
        isinstance(value, str) and len(value.strip()) == len("2025-01-01")
    ):
        return format_date(parsed, locale)
    from babel.dates import format_skeleton, format_time

    naive = parsed.replace(tzinfo=None)
    return f"{format_skeleton('yMMMd', naive, locale=locale)} {format_time(naive.time(), 'HH:mm', locale=locale)}"


def format_country(value: object, locale: str) -> object:
    """An ISO 3166-1 alpha-2 country code as the locale names the country (``DE`` -> Germany, 德国); other
    values unchanged."""
    if not isinstance(value, str) or len(value) != 2 or not value.isalpha():
        return value
    from babel import Locale

    return Locale.parse(locale).territories.get(value.upper(), value)
