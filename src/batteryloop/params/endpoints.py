"""HTTP face of the reference data: ``GET /params``, ``/params/{name}``, ``/citations``, ``/citations/{key}``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from batteryloop.domain.errors import NotFoundError
from batteryloop.params import report
from batteryloop.reference import service

router = APIRouter(tags=["reference"])


@router.get("/params")
def list_params() -> list[dict[str, Any]]:
    """The data sets shipped with batteryloop, with their value, unverified and assumption counts."""
    return report.sets_json(service.list_sets())


@router.get("/params/{name}")
def show_params(
    name: str,
    prefix: Annotated[str, Query(description="Only paths under this prefix")] = "",
    unverified: Annotated[bool, Query(description="Only the unverified values")] = False,
) -> dict[str, dict[str, Any]]:
    """One packaged data set: ``{path: {value, unit, source, year, quality, locator, ...}}``."""
    try:
        service.find_set(name)
        view = service.show(name, prefix=prefix, unverified_only=unverified)
    except NotFoundError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    return report.view_json(view)


@router.get("/citations")
def list_citations(
    used_by: Annotated[str | None, Query(description="Only the sources this data set cites")] = None,
) -> list[dict[str, Any]]:
    try:
        if used_by is not None:
            service.find_set(used_by)
        return report.citations_json(service.list_citations(used_by=used_by))
    except NotFoundError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


@router.get("/citations/{key}")
def cite(key: str) -> dict[str, Any]:
    """The full citation of one source key."""
    try:
        return report.citation_json(service.cite(key))
    except NotFoundError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
