"""Product grades: the grade each route sells each product in, and the price key of every grade.

A price deck prices grades, not substances: crude lithium carbonate from a leach (``prices.Li2CO3_crude``) is not
battery-grade carbonate (``prices.Li2CO3``). ``data/grades.toml`` (cited) says which grade each route makes;
:func:`product_grades` labels a flowsheet's products and :func:`price_path` turns a product and its grade into the
price path the economics reads. Black mass is graded by the cathode chemistry of the feed ("NMC811", "LFP",
"mixed") and valued through payables on its contained metal, so it has no price key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache

from batteryloop.domain.errors import ValidationError
from batteryloop.recycling.core.params import DATA_DIR
from batteryloop.reference.files import read_toml
from batteryloop.reference.params import parse_document
from batteryloop.reference.registry import citations
from batteryloop.reference.values import CitedValue

GRADES_FILE = DATA_DIR / "grades.toml"
BY_CHEMISTRY = "chemistry"  # black mass: graded by the feed's cathode chemistry
MIXED = "mixed"
CAM_PREFIX = "CAM_"

__all__ = [
    "BY_CHEMISTRY",
    "GRADES_FILE",
    "grade_citation",
    "price_path",
    "product_grades",
    "route_grades",
]


@lru_cache(maxsize=1)
def _table() -> Mapping[str, CitedValue[str]]:
    return parse_document(
        read_toml(GRADES_FILE), origin="recycling/data/grades.toml", registry=citations(), strict=True
    )


def _catalogue_key(product: str) -> str:
    return "CAM" if product.startswith(CAM_PREFIX) else product


def route_grades(route: str) -> dict[str, str]:
    """Product -> grade for ``route`` (the common preprocessing products, then the route's own rows)."""
    table = _table()
    out: dict[str, str] = {}
    for scope in ("common", route):
        prefix = f"routes.{scope}."
        out.update({p[len(prefix) :]: str(v.value) for p, v in table.items() if p.startswith(prefix)})
    return out


def grade_citation(route: str, product: str) -> CitedValue[str] | None:
    """The cited row that sets the grade of ``product`` in ``route`` (None for a product the table lacks)."""
    table = _table()
    key = _catalogue_key(product)
    return table.get(f"routes.{route}.{key}") or table.get(f"routes.common.{key}")


def product_grades(route: str, products: Iterable[str], *, chemistries: Iterable[str]) -> dict[str, str]:
    """The grade of each product a run of ``route`` made; black mass takes the feed's cathode chemistry.

    A product the grade table does not know for this route is an error, so no product is ever priced at a grade it
    was not made in.
    """
    grades = route_grades(route)
    chems = sorted(set(chemistries))
    out: dict[str, str] = {}
    for product in products:
        grade = grades.get(_catalogue_key(product))
        if grade is None:
            raise ValidationError(
                f"route {route!r} makes {product!r} but recycling/data/grades.toml gives it no grade "
                f"(routes.{route} or routes.common)"
            )
        if grade == BY_CHEMISTRY:
            grade = chems[0] if len(chems) == 1 else MIXED
        out[product] = grade
    return out


def price_path(product: str, grade: str | None) -> str | None:
    """The price path of ``product`` sold in ``grade`` (``prices.<key>``), or None when it is valued by payables.

    Without a grade (a hand-made flowsheet) the product is priced at ``prices.<product>``. A grade the catalogue
    does not price is an error naming the catalogue entry.
    """
    if grade is None:
        return f"prices.{product}"
    key = _catalogue_key(product)
    table = _table()
    if f"catalogue.{key}.{grade}" not in table:
        if not any(p.startswith(f"catalogue.{key}.") for p in table):
            return None  # black mass, precursor, alloy: valued through payables on the contained metal
        known = sorted(p.rsplit(".", 1)[1] for p in table if p.startswith(f"catalogue.{key}."))
        raise ValidationError(
            f"no price key for {product!r} in grade {grade!r}; catalogue.{key} prices {', '.join(known)}"
        )
    price_key = str(table[f"catalogue.{key}.{grade}"].value)
    if "{chemistry}" in price_key:
        price_key = price_key.replace("{chemistry}", product[len(CAM_PREFIX) :])
    return f"prices.{price_key}"
