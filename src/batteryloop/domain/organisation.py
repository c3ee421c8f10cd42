"""Organisations and their roles in the battery loop."""

from __future__ import annotations

from collections.abc import Collection
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


class CertifiedActivity(StrEnum):
    """What a certification allows its holder to do with waste or used batteries."""

    RECYCLING = "recycling"  # treatment and recycling (Art. 70 permit; MIIT white list; R2)
    REPAIR = "repair"  # repair and remanufacturing of batteries (independent operators, Art. 11/14)
    DISMANTLING = "dismantling"  # dismantling of vehicles and removal of their batteries (ELV permit)


# The activity a scheme certifies when a certification does not say (rows stored before migration 0009):
# the MIIT white list (《新能源汽车废旧动力蓄电池综合利用行业规范条件》), an EU treatment permit and R2 are
# recycling certifications; "other" certifies nothing until its activity is given.
SCHEME_ACTIVITY: dict[CertificationScheme, CertifiedActivity | None] = {
    CertificationScheme.MIIT_WHITE_LIST: CertifiedActivity.RECYCLING,
    CertificationScheme.EU_PERMIT: CertifiedActivity.RECYCLING,
    CertificationScheme.US_R2: CertifiedActivity.RECYCLING,
    CertificationScheme.OTHER: None,
}


@dataclass(frozen=True, slots=True)
class Certification:
    """A certification (permit, listing) of an organisation: its scheme, number (``reference``), the
    authority that issued it, the activity it covers and its validity. ``withdrawn_at`` is set when the
    operator withdrew it (``org uncertify``): it then covers nothing, whatever its dates say."""

    scheme: CertificationScheme
    reference: str
    valid_from: date
    valid_until: date | None = None
    activity: CertifiedActivity | None = None
    authority: str | None = None
    cert_id: int | None = field(default=None, compare=False)  # the registry's row id, once stored
    withdrawn_at: str | None = None

    @property
    def covers(self) -> CertifiedActivity | None:
        """The activity it certifies (its own, or its scheme's)."""
        return self.activity if self.activity is not None else SCHEME_ACTIVITY.get(self.scheme)

    def is_valid_on(self, day: date) -> bool:
        return (
            self.withdrawn_at is None
            and self.valid_from <= day
            and (self.valid_until is None or day <= self.valid_until)
        )


@dataclass(frozen=True, slots=True)
class Organisation:
    org_id: str  # short stable handle, e.g. "catl-ningde"
    name: str
    country: str  # ISO 3166-1 alpha-2
    roles: frozenset[Role]
    certifications: tuple[Certification, ...] = field(default_factory=tuple)

    def certified_on(
        self,
        day: date,
        scheme: CertificationScheme | None = None,
        *,
        activities: Collection[str] | None = None,
    ) -> bool:
        """True when a certification valid on ``day`` (of ``scheme``, covering one of ``activities``) exists."""
        return any(
            c.is_valid_on(day)
            and (scheme is None or c.scheme is scheme)
            and (activities is None or (c.covers is not None and c.covers.value in activities))
            for c in self.certifications
        )
