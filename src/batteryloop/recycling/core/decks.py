"""Price decks: dated, cited sets of prices a parameter set is evaluated at, and the pricing basis of a result.

A deck is a data file (``recycling/data/decks/<name>.toml``) with a ``[deck]`` header (title, date, currency,
dollar year, source) and the prices it sets under ``[prices]``, each a cited value ``{value, unit, source, year}``.
A deck either reproduces the prices shipped in a parameter set as published (``base_set``, the EverBatt decks) or
updates another deck (``extends``): what it does not set is carried from that deck with its own year.

:func:`apply_deck` layers a deck's prices on a parameter set (user overrides still go on top); :func:`deck_of`
says which deck a set is priced at (the last deck layered, else the deck of the packaged set it descends from);
:func:`pricing_basis` names the deck, its date and the dates of the market terms a result applied, and warns when
they are more than ``finance.pricing.max_deck_terms_gap_yr`` apart or when a price the result read is older.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.recycling.core.params import DATA_DIR, Param, ParameterSet, load_parameter_set
from batteryloop.reference.files import read_toml
from batteryloop.reference.params import number, parse_document
from batteryloop.reference.registry import citations

DECKS_DIR = DATA_DIR / "decks"
DECK_STEP = "deck "  # lineage step of a layered deck: "deck <name>"
CURRENCIES = ("USD",)  # the model computes in USD; a deck in another currency must be converted first
_HEADER_KEYS = frozenset(
    {"title", "date", "currency", "dollar_year", "source", "locator", "base_set", "extends", "note"}
)
_MAX_EXTENDS = 10

__all__ = [
    "DECKS_DIR",
    "PriceDeck",
    "PricingBasis",
    "apply_deck",
    "available_decks",
    "deck_of",
    "load_deck",
    "pricing_basis",
]


@dataclass(frozen=True)
class PriceDeck:
    """A dated, cited price deck: the header and every ``prices.*`` value it resolves to."""

    name: str
    title: str
    date: dt.date
    currency: str
    dollar_year: int
    source: str
    locator: str
    base_set: str | None  # the packaged set whose prices this deck reproduces as published
    extends: str | None  # the deck this one updates
    prices: Mapping[str, Param] = field(repr=False)  # "prices.<key>" -> cited value, carried values included
    own_paths: frozenset[str] = field(
        default_factory=frozenset, repr=False
    )  # the paths this deck itself sets

    def header(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "date": self.date.isoformat(),
            "currency": self.currency,
            "dollar_year": self.dollar_year,
            "source": self.source,
            "locator": self.locator,
            "base_set": self.base_set,
            "extends": self.extends,
        }


def available_decks() -> list[str]:
    """Names of the packaged decks."""
    return sorted(p.stem for p in DECKS_DIR.glob("*.toml"))


def load_deck(name: str) -> PriceDeck:
    """A packaged deck by name (never a path: a request may only name what ships)."""
    if name not in available_decks():
        raise NotFoundError(f"unknown price deck {name!r}; packaged decks: {', '.join(available_decks())}")
    return _load(name, 0)


@lru_cache(maxsize=16)
def _load(name: str, depth: int) -> PriceDeck:
    if depth > _MAX_EXTENDS:
        raise ValidationError(f"price deck {name!r}: 'extends' chain is too deep (a cycle?)")
    file = DECKS_DIR / f"{name}.toml"
    origin = f"recycling/data/decks/{file.name}"
    data = read_toml(file)
    head = data.get("deck")
    if not isinstance(head, Mapping):
        raise ValidationError(f"{origin}: needs a [deck] table (title, date, currency, dollar_year, source)")
    unknown = set(head) - _HEADER_KEYS
    if unknown:
        raise ValidationError(f"{origin}: unknown keys in [deck]: {sorted(unknown)}")
    extra = set(data) - {"deck", "prices"}
    if extra:
        raise ValidationError(f"{origin}: unknown tables {sorted(extra)}; a deck holds [deck] and [prices]")
    date = head.get("date")
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        raise ValidationError(f"{origin}: deck.date must be a TOML date (YYYY-MM-DD)")
    currency = head.get("currency")
    if currency not in CURRENCIES:
        raise ValidationError(
            f"{origin}: deck.currency must be one of {', '.join(CURRENCIES)}, got {currency!r}"
        )
    source = head.get("source")
    if not isinstance(source, str) or source not in citations():
        raise ValidationError(f"{origin}: deck.source must be a key of the citation registry, got {source!r}")
    dollar_year = head.get("dollar_year")
    if isinstance(dollar_year, bool) or not isinstance(dollar_year, int):
        raise ValidationError(f"{origin}: deck.dollar_year must be an integer year")
    base_set, extends = head.get("base_set"), head.get("extends")
    if (base_set is None) == (extends is None):
        raise ValidationError(f"{origin}: a deck names exactly one of base_set (as published) or extends")
    prices: dict[str, Param] = {}
    if base_set is not None:
        base = load_parameter_set(str(base_set))
        prices.update((p, v) for p, v in base.params.items() if p.startswith("prices."))  # not "read"
    else:
        if str(extends) not in available_decks():
            raise NotFoundError(f"{origin}: extends unknown deck {extends!r}")
        prices.update(_load(str(extends), depth + 1).prices)
    own = parse_document(
        {"prices": data.get("prices", {})},
        origin=origin,
        coerce=number,
        registry=citations(),
        strict=True,
        require_unit=True,
    )
    for path, param in own.items():
        if param.year is None:
            raise ValidationError(f"{origin}: {path} needs a year (every price of a deck is dated)")
    prices.update(own)
    return PriceDeck(
        name=name,
        title=str(head.get("title", name)),
        date=date,
        currency=str(currency),
        dollar_year=dollar_year,
        source=source,
        locator=str(head.get("locator", "")),
        base_set=None if base_set is None else str(base_set),
        extends=None if extends is None else str(extends),
        prices=prices,
        own_paths=frozenset(own),
    )


def apply_deck(params: ParameterSet, deck: str | PriceDeck) -> ParameterSet:
    """``params`` priced at ``deck``: every price the deck holds replaces the set's (other values are kept)."""
    chosen = load_deck(deck) if isinstance(deck, str) else deck
    return params.layered(dict(chosen.prices), f"{DECK_STEP}{chosen.name}")


def deck_of(params: ParameterSet) -> PriceDeck:
    """The deck ``params`` is priced at: the last deck layered on it, else the deck reproducing its packaged set."""
    for step in reversed(params.lineage):
        if step.startswith(DECK_STEP):
            return load_deck(step[len(DECK_STEP) :])
    by_set = {d.base_set: d for d in (load_deck(n) for n in available_decks()) if d.base_set}
    for step in reversed(params.lineage):
        if step in by_set:
            return by_set[step]
    raise NotFoundError(
        f"parameter set {params.name!r} descends from no set a price deck reproduces; "
        f"apply one of {', '.join(available_decks())}"
    )


@dataclass(frozen=True)
class PricingBasis:
    """What a result was priced at: the deck and its date, the market terms' dates, and the warnings."""

    deck: str
    deck_title: str
    deck_date: dt.date
    currency: str
    dollar_year: int
    terms_years: tuple[int, int] | None  # (oldest, latest) year of the market terms applied
    stale_prices: tuple[str, ...] = ()  # prices read that are dated more than the allowed gap before the deck
    warnings: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        terms = ""
        if self.terms_years is not None:
            low, high = self.terms_years
            terms = f"; market terms of {low}" if low == high else f"; market terms of {low}-{high}"
        return f"prices: deck {self.deck} of {self.deck_date.isoformat()} ({self.currency}){terms}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "deck": self.deck,
            "deck_title": self.deck_title,
            "deck_date": self.deck_date.isoformat(),
            "currency": self.currency,
            "dollar_year": self.dollar_year,
            "terms_years": None if self.terms_years is None else list(self.terms_years),
            "stale_prices": list(self.stale_prices),
            "warnings": list(self.warnings),
        }


def pricing_basis(
    params: ParameterSet,
    *,
    terms_paths: Iterable[str] = (),
    price_paths: Iterable[str] = (),
) -> PricingBasis:
    """The basis of a result that applied the market terms at ``terms_paths`` and read the prices at
    ``price_paths`` (both default to none; with no terms given, every market term of the set is counted)."""
    deck = deck_of(params)
    gap = params.value("finance.pricing.max_deck_terms_gap_yr")
    known = params.params  # dates are looked up, not read: they do not count as values a result used
    terms = sorted(set(terms_paths)) or sorted(p for p in known if p.startswith("market_terms."))
    years = [y for p in terms if (y := known[p].year) is not None]
    span = (min(years), max(years)) if years else None
    warnings: list[str] = []
    far_terms = sorted(p for p in terms if (y := known[p].year) is not None and abs(y - deck.date.year) > gap)
    if far_terms:
        warnings.append(
            f"{len(far_terms)} market term(s) applied are dated more than {gap:g} year from price deck {deck.name} "
            f"({deck.date.isoformat()}): {_listing(params, far_terms)}; the feed terms and the prices describe "
            "different markets" + _nearer(deck, max(known[p].year or 0 for p in far_terms))
        )
    stale = sorted(
        p
        for p in set(price_paths)
        if p.startswith("prices.") and (y := known[p].year) is not None and deck.date.year - y > gap
    )
    if stale:
        warnings.append(
            f"{len(stale)} price(s) read are dated more than {gap:g} year before deck {deck.name} "
            f"({deck.date.year}): {_listing(params, stale)}"
        )
    return PricingBasis(
        deck=deck.name,
        deck_title=deck.title,
        deck_date=deck.date,
        currency=deck.currency,
        dollar_year=deck.dollar_year,
        terms_years=span,
        stale_prices=tuple(stale),
        warnings=tuple(warnings),
    )


def _listing(params: ParameterSet, paths: list[str], shown: int = 4) -> str:
    text = ", ".join(f"{p} ({params.params[p].year})" for p in paths[:shown])
    return text + (f" and {len(paths) - shown} more" if len(paths) > shown else "")


def _nearer(deck: PriceDeck, year: int) -> str:
    """A hint naming the packaged deck dated nearest ``year`` when it is not ``deck``."""
    nearest = min((load_deck(n) for n in available_decks()), key=lambda d: abs(d.date.year - year))
    return "" if nearest.name == deck.name else f" (deck {nearest.name} is dated nearer)"


def deck_file(name: str) -> Path:
    """The data file of a packaged deck (for ``params``-style listings)."""
    load_deck(name)
    return DECKS_DIR / f"{name}.toml"
