"""The synthetic organisations of the fleet (``data/organisations.toml``; all names invented)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from batteryloop.domain.errors import ValidationError
from batteryloop.domain.organisation import Certification, CertificationScheme, Organisation, Role
from batteryloop.reference.files import read_toml

ORGS_FILE = Path(__file__).parent.parent / "data" / "organisations.toml"

# the certification a recycler needs in each region to count as a compliant channel
REGION_SCHEME: Mapping[str, CertificationScheme] = {
    "CN": CertificationScheme.MIIT_WHITE_LIST,
    "EU": CertificationScheme.EU_PERMIT,
    "US": CertificationScheme.US_R2,
    "SEA": CertificationScheme.OTHER,
}


@dataclass(frozen=True, slots=True)
class OrgProfile:
    """Generator-side facts about an organisation that the domain Organisation does not carry."""

    org: Organisation
    region: str
    gbt_code: str | None = None
    gs1_prefix: str | None = None
    kinds: frozenset[str] = frozenset()

    @property
    def org_id(self) -> str:
        return self.org.org_id


@dataclass(frozen=True)
class OrgDirectory:
    """Organisations with look-ups by role and region/country, in a stable order."""

    profiles: tuple[OrgProfile, ...]
    countries: Mapping[str, str]  # country -> region
    by_id: dict[str, OrgProfile] = field(init=False)
    _role_cache: dict[tuple[Role, str | None, str | None], list[OrgProfile]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {p.org_id: p for p in self.profiles})
        object.__setattr__(self, "_role_cache", {})

    @property
    def organisations(self) -> list[Organisation]:
        return [p.org for p in self.profiles]

    def with_role(
        self, role: Role, *, region: str | None = None, country: str | None = None
    ) -> list[OrgProfile]:
        """Profiles with ``role`` (optionally in a region or country), in file order. Cached: do not mutate."""
        key = (role, region, country)
        found = self._role_cache.get(key)
        if found is None:
            found = [
                p
                for p in self.profiles
                if role in p.org.roles
                and (region is None or p.region == region)
                and (country is None or p.org.country == country)
            ]
            self._role_cache[key] = found
        return found

    def certified_recyclers(self, region: str, day: date) -> list[OrgProfile]:
        scheme = REGION_SCHEME[region]
        return [p for p in self.with_role(Role.RECYCLER, region=region) if p.org.certified_on(day, scheme)]

    def uncertified_recyclers(self, region: str) -> list[OrgProfile]:
        return [p for p in self.with_role(Role.RECYCLER, region=region) if not p.org.certifications]

    def countries_of(self, region: str) -> list[str]:
        return [c for c, r in self.countries.items() if r == region]


def _per_country(country: str, region: str, city: str) -> list[OrgProfile]:
    cc = country.lower()
    specs: list[tuple[str, str, frozenset[Role], frozenset[str]]] = [
        (f"{cc}-dealer", f"{city} Auto Service & Repair", frozenset({Role.DEALER_REPAIRER}), frozenset()),
        (
            f"{cc}-private-owners",
            f"Private owners {country} (aggregate)",
            frozenset({Role.OWNER}),
            frozenset({"car"}),
        ),
        (f"{cc}-fleet-leasing", f"{city} Fleet Leasing", frozenset({Role.OWNER}), frozenset({"car"})),
        (f"{cc}-bus-operator", f"{city} Transit Bus Operator", frozenset({Role.OWNER}), frozenset({"bus"})),
        (
            f"{cc}-storage-operator",
            f"{city} Grid Storage Operator",
            frozenset({Role.OWNER}),
            frozenset({"stationary"}),
        ),
        (f"{cc}-dismantler", f"{city} Vehicle Dismantling", frozenset({Role.DISMANTLER}), frozenset()),
        (
            f"{cc}-collection",
            f"{city} Battery Collection Point",
            frozenset({Role.COLLECTION_POINT}),
            frozenset(),
        ),
    ]
    if country != "CN":
        specs.append((f"{cc}-importer", f"{city} EV Import Co.", frozenset({Role.IMPORTER}), frozenset()))
    return [
        OrgProfile(
            org=Organisation(org_id=oid, name=name, country=country, roles=roles),
            region=region,
            kinds=kinds,
        )
        for oid, name, roles, kinds in specs
    ]


def _parse_cert(raw: Mapping[str, Any], org_id: str) -> Certification:
    try:
        return Certification(
            scheme=CertificationScheme(raw["scheme"]),
            reference=str(raw["reference"]),
            valid_from=date.fromisoformat(str(raw["from"])),
            valid_until=date.fromisoformat(str(raw["until"])) if "until" in raw else None,
        )
    except (KeyError, ValueError) as exc:
        raise ValidationError(f"organisation {org_id}: bad certification {dict(raw)}: {exc}") from exc


def load_org_directory(path: str | Path | None = None) -> OrgDirectory:
    data = read_toml(path or ORGS_FILE)
    countries = {str(c): str(info["region"]) for c, info in data["countries"].items()}
    profiles: list[OrgProfile] = []
    for raw in data["org"]:
        org_id = str(raw["id"])
        country = str(raw["country"])
        if country not in countries:
            raise ValidationError(f"organisation {org_id}: country {country} is not in [countries]")
        try:
            roles = frozenset(Role(r) for r in raw["roles"])
        except ValueError as exc:
            raise ValidationError(f"organisation {org_id}: {exc}") from exc
        org = Organisation(
            org_id=org_id,
            name=str(raw["name"]),
            country=country,
            roles=roles,
            certifications=tuple(_parse_cert(c, org_id) for c in raw.get("certs", [])),
        )
        profiles.append(
            OrgProfile(
                org=org,
                region=countries[country],
                gbt_code=raw.get("gbt_code"),
                gs1_prefix=raw.get("gs1_prefix"),
                kinds=frozenset(raw.get("kinds", [])),
            )
        )
    for country, info in data["countries"].items():
        profiles.extend(_per_country(str(country), str(info["region"]), str(info["city"])))
    ids = [p.org_id for p in profiles]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValidationError(f"duplicate organisation ids: {dupes}")
    return OrgDirectory(profiles=tuple(profiles), countries=countries)


@cache
def default_org_directory() -> OrgDirectory:
    return load_org_directory()
