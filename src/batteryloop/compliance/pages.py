"""HTML pages of the compliance capability (no JavaScript). Each handler parses the request, makes one service
call and renders through :mod:`batteryloop.compliance.report` and the templates in ``templates/``.

Recyclers' pages live under ``/ui/compliance/recycler...``; producers' and regulators' under
``/ui/compliance/producer...`` and ``/ui/compliance/regulator...``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from batteryloop.web import templates as make_templates

router = APIRouter(tags=["compliance pages"])
_templates = make_templates(Path(__file__).parent / "templates")


# --- recyclers -------------------------------------------------------------------------------------------

from typing import Any  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

from fastapi import Query, Request  # noqa: E402
from fastapi.responses import HTMLResponse, RedirectResponse, Response  # noqa: E402

from batteryloop.compliance import report as _report  # noqa: E402
from batteryloop.compliance import service as _service  # noqa: E402
from batteryloop.domain.errors import BatteryloopError, NotFoundError  # noqa: E402
from batteryloop.ledger.deps import LedgerDep  # noqa: E402
from batteryloop.orgs.deps import OptionalOrgDep  # noqa: E402
from batteryloop.web import translator  # noqa: E402
from batteryloop.web.i18n import N_  # noqa: E402


def _recycler_page(
    request: Request,
    recycler: str,
    ledger: Any,
    org: Any,
    *,
    jurisdiction: str,
    year: int | None,
    at_position: int | None,
    printable: bool,
) -> Response:
    if org is None:
        return RedirectResponse("/login", status_code=303)
    try:
        result = _service.recycler_report(
            ledger,
            recycler=recycler,
            jurisdiction=jurisdiction,
            year=year,
            caller=org,
            at_position=at_position,
        )
    except NotFoundError as exc:
        return _error(request, org, 404, N_("Not found"), str(exc))
    except PermissionError as exc:
        return _error(request, org, 403, N_("Not yours to see"), str(exc))
    except BatteryloopError as exc:
        return _error(request, org, 422, N_("The report cannot be computed"), str(exc))
    params = {"jurisdiction": jurisdiction, **({"year": year} if year else {})}
    params |= {
        "at_position": at_position
        if at_position is not None
        else (result.point.position if result.point else 0)
    }
    query = urlencode(params)
    return _templates.TemplateResponse(
        request,
        "recyclers_report.html",
        {
            "org": org,
            "report": _report.recycler_report_to_dict(result),
            "charts": _report.recycler_charts(result, titles=_chart_titles(request)),
            "query": query,
            "printable": printable,
        },
    )


def _chart_titles(request: Request) -> dict[str, str]:
    gettext = translator(request).gettext
    return {
        "efficiency": gettext("Recycling efficiency"),
        "recovery": gettext("Material recovery"),
        "white_list": gettext("White-list conditions"),
    }


def _error(request: Request, org: Any, status: int, title: str, detail: str) -> HTMLResponse:
    return _templates.TemplateResponse(
        request, "error.html", {"org": org, "title": title, "detail": detail}, status_code=status
    )


@router.get("/ui/compliance/recycler/{recycler}", response_class=HTMLResponse, response_model=None)
def recycler_page(
    request: Request,
    recycler: str,
    ledger: LedgerDep,
    org: OptionalOrgDep,
    jurisdiction: str = Query(default="eu"),
    year: int | None = Query(default=None, ge=1990, le=2100),
    at_position: int | None = Query(default=None, ge=0),
) -> Response:
    """A recycler's report: charts (each bar links to its lots), tables, lots, traceability, downloads."""
    return _recycler_page(
        request,
        recycler,
        ledger,
        org,
        jurisdiction=jurisdiction,
        year=year,
        at_position=at_position,
        printable=False,
    )


@router.get("/ui/compliance/recycler/{recycler}/print", response_class=HTMLResponse, response_model=None)
def recycler_print_page(
    request: Request,
    recycler: str,
    ledger: LedgerDep,
    org: OptionalOrgDep,
    jurisdiction: str = Query(default="eu"),
    year: int | None = Query(default=None, ge=1990, le=2100),
    at_position: int | None = Query(default=None, ge=0),
) -> Response:
    """The same report laid out for paper (print CSS, no navigation)."""
    return _recycler_page(
        request,
        recycler,
        ledger,
        org,
        jurisdiction=jurisdiction,
        year=year,
        at_position=at_position,
        printable=True,
    )


# --- producers and regulators ----------------------------------------------------------------------------
