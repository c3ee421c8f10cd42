"""The citation registry shipped in the package (``data/citations.toml``): every source key a data file names.

Each entry has ``authors`` or ``publisher``, ``title``, ``year`` and ``url`` or ``doi``; the locator (table,
page, clause) is given per value in the data files. An entry's ``quality`` is the default quality of the
values citing it (``assumption`` for batteryloop's own assumptions).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.reference.files import read_toml
from batteryloop.reference.values import QUALITIES, Quality

CITATIONS_FILE = Path(__file__).parent / "data" / "citations.toml"
_KEYS = frozenset({"authors", "publisher", "title", "year", "url", "doi", "quality", "note", "accessed"})


@dataclass(frozen=True, slots=True)
class Citation:
    key: str
    title: str
    year: int
    authors: str | None = None
    publisher: str | None = None
    url: str | None = None
    doi: str | None = None
    quality: Quality = "verified"
    note: str | None = None
    accessed: str | None = None

    @property
    def link(self) -> str:
        """The DOI as a resolvable URL when there is one, else the URL."""
        if self.doi:
            return f"https://doi.org/{self.doi}"
        return self.url or ""

    def text(self) -> str:
        """The full reference as one line: who, year, title, where to find it."""
        who = self.authors or self.publisher or ""
        parts = [f"{who} ({self.year})." if who else f"({self.year}).", f"{self.title}."]
        if self.authors and self.publisher:
            parts.append(f"{self.publisher}.")
        if self.doi:
            parts.append(f"doi:{self.doi}")
        if self.url:
            parts.append(self.url)
        return " ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": self.key,
            "title": self.title,
            "year": self.year,
            "quality": self.quality,
        }
        for name in ("authors", "publisher", "url", "doi", "note", "accessed"):
            item = getattr(self, name)
            if item is not None:
                out[name] = item
        out["link"] = self.link
        return out


@dataclass(frozen=True, slots=True)
class CitationRegistry:
    entries: Mapping[str, Citation]

    def get(self, key: str) -> Citation:
        try:
            return self.entries[key]
        except KeyError:
            near = [k for k in self.entries if k.lower().startswith(key[:3].lower())] if key else []
            hint = f"; similar keys: {', '.join(sorted(near)[:10])}" if near else ""
            raise NotFoundError(f"unknown citation key {key!r}{hint}") from None

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.entries))

    def __len__(self) -> int:
        return len(self.entries)


def parse_registry(data: Mapping[str, Any], *, origin: str) -> CitationRegistry:
    entries: dict[str, Citation] = {}
    for key, raw in data.items():
        if not isinstance(raw, Mapping):
            raise ValidationError(f"{origin}: citation {key!r} must be a table")
        unknown = set(raw) - _KEYS
        if unknown:
            raise ValidationError(f"{origin}: citation {key!r} has unknown keys {sorted(unknown)}")
        if not (raw.get("authors") or raw.get("publisher")):
            raise ValidationError(f"{origin}: citation {key!r} needs 'authors' or 'publisher'")
        if not (raw.get("url") or raw.get("doi")):
            raise ValidationError(f"{origin}: citation {key!r} needs 'url' or 'doi'")
        if not isinstance(raw.get("title"), str) or not raw["title"]:
            raise ValidationError(f"{origin}: citation {key!r} needs a 'title'")
        year = raw.get("year")
        if not isinstance(year, int) or isinstance(year, bool):
            raise ValidationError(f"{origin}: citation {key!r} needs an integer 'year'")
        quality = raw.get("quality", "verified")
        if quality not in QUALITIES:
            raise ValidationError(f"{origin}: citation {key!r} quality must be one of {', '.join(QUALITIES)}")
        entries[str(key)] = Citation(
            key=str(key),
            title=str(raw["title"]),
            year=year,
            authors=_opt(raw, "authors"),
            publisher=_opt(raw, "publisher"),
            url=_opt(raw, "url"),
            doi=_opt(raw, "doi"),
            quality=quality,
            note=_opt(raw, "note"),
            accessed=_opt(raw, "accessed"),
        )
    return CitationRegistry(entries=entries)


def _opt(raw: Mapping[str, Any], key: str) -> str | None:
    item = raw.get(key)
    return None if item is None else str(item)


@cache
def citations() -> CitationRegistry:
    """The registry shipped in the package."""
    return parse_registry(read_toml(CITATIONS_FILE), origin="reference/data/citations.toml")
