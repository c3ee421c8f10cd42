"""Organisations and their roles in the battery loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class Role(StrEnum):
    CELL_MANUFACTURER = "cell_manufacturer"
    BATTERY_MANUFACTURER = "battery_manufacturer"
    VEHICLE_MAKER = "vehicle_maker"  # the producer placing EV batteries on the market inside vehicles
    IMPORTER = "importer"
    DEALER_REPAIRER = "dealer_repairer"
    DISMANTLER = "dismantler"
    COLLECTION_POINT = "collection_point"
    SECOND_LIFE_OPERATOR = "second_life_operator"
    RECYCLER = "recycler"
    PRO = "producer_responsibility_organisation"
    AUTHORITY = "authority"
    NOTIFIED_BODY = "notified_body"
    OWNER = "owner"  # fleet or private owner / operator of an individual battery


class CertificationScheme(StrEnum):
    MIIT_WHITE_LIST = "miit_white_list"  # 《新能源汽车废旧动力蓄电池综合利用行业规范条件》
    EU_PERMIT = "eu_permit"  # waste treatment permit under Art. 70 of (EU) 2023/1542 / Directive 2008/98/EC
    US_R2 = "r2"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Certification:
    scheme: CertificationScheme
    reference: str
    valid_from: date
    valid_until: date | None = None

    def is_valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


@dataclass(frozen=True, slots=True)
class Organisation:
    org_id: str  # short stable handle, e.g. "catl-ningde"
    name: str
    country: str  # ISO 3166-1 alpha-2
    roles: frozenset[Role]
    certifications: tuple[Certification, ...] = field(default_factory=tuple)

    def certified_on(self, day: date, scheme: CertificationScheme | None = None) -> bool:
        return any(c.is_valid_on(day) and (scheme is None or c.scheme is scheme) for c in self.certifications)
