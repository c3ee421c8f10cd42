"""A producer's registration in a member state's (or country's) register of producers (Art. 55 of
Regulation (EU) 2023/1542): which brands, battery categories and chemistries it makes available there, and
whether it fulfils its extended producer responsibility individually or through a producer responsibility
organisation (PRO)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from batteryloop.domain.chemistry import BatteryCategory, Chemistry
from batteryloop.domain.errors import ValidationError

__all__ = ["ProducerRegistration", "check_registration"]


@dataclass(frozen=True, slots=True)
class ProducerRegistration:
    producer: str  # org_id of the producer
    country: str  # ISO 3166-1 alpha-2 of the register
    brands: tuple[str, ...]
    categories: tuple[str, ...]  # BatteryCategory values
    chemistries: tuple[str, ...]  # Chemistry values
    registered_on: date
    pro: str | None = None  # org_id of the PRO, None when the producer fulfils EPR individually
    reference: str = ""  # the register's number, if any

    @property
    def individually(self) -> bool:
        return self.pro is None

    def covers(self, *, category: str | None, chemistry: str | None) -> bool:
        return (category is None or category in self.categories) and (
            chemistry is None or chemistry in self.chemistries
        )


def check_registration(reg: ProducerRegistration) -> None:
    """Raise a ValidationError naming the field that is wrong."""
    where = f"registration of {reg.producer} in {reg.country}"
    if len(reg.country) != 2 or not reg.country.isalpha() or not reg.country.isupper():
        raise ValidationError(f"{where}: country {reg.country!r} is not ISO 3166-1 alpha-2")
    if not reg.brands or any(not b.strip() or len(b) > 200 for b in reg.brands):
        raise ValidationError(f"{where}: brands must be one or more non-empty names (at most 200 characters)")
    if not reg.categories:
        raise ValidationError(f"{where}: categories must name at least one battery category")
    known_categories = {c.value for c in BatteryCategory}
    for c in reg.categories:
        if c not in known_categories:
            raise ValidationError(
                f"{where}: category {c!r} is not one of {', '.join(sorted(known_categories))}"
            )
    if not reg.chemistries:
        raise ValidationError(f"{where}: chemistries must name at least one chemistry")
    known_chemistries = {c.value for c in Chemistry}
    for c in reg.chemistries:
        if c not in known_chemistries:
            raise ValidationError(
                f"{where}: chemistry {c!r} is not one of {', '.join(sorted(known_chemistries))}"
            )
    if reg.pro is not None and reg.pro == reg.producer:
        raise ValidationError(f"{where}: pro must be another organisation (leave it out for individual EPR)")
