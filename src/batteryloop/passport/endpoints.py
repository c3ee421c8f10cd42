"""HTTP routes of the battery passport: GS1 Digital Link resolver, JSON/JSON-LD/exports, checks, QR codes,
model documents; the HTML page is in :mod:`batteryloop.passport.pages`.

Every route gets a :class:`~batteryloop.passport.service.PassportView` whose document is already redacted
for the caller (Annex XIII tiers, decided on the server from the API key) and renders it through
:mod:`batteryloop.passport.report`; nothing renders from the full passport. Error messages name identifiers
only, never passport data.

- ``GET /01/{gtin}/21/{serial}``: the resolver. Browsers (``Accept: text/html``) get the HTML page,
  machines JSON (``application/json``) or JSON-LD (``application/ld+json``). ``?linkType=`` follows the GS1
  web vocabulary: ``gs1:pip`` (page), ``gs1:masterData`` (JSON), ``gs1:sustainabilityInfo`` (carbon
  footprint study), ``gs1:recyclingInfo`` (collection information), ``gs1:safetyInfo`` (safety
  instructions, legitimate interest only), ``gs1:certificationInfo`` (EU declaration of conformity),
  ``gs1:instructions`` (dismantling manual, legitimate interest only) and ``linkset`` (all links the caller
  may follow, RFC 9264).
- ``GET /passports/{battery_id}``: JSON; ``?format=batterypass|catenax|jsonld``.
- ``GET /passports/{battery_id}/check?on=YYYY-MM-DD``: the mandatory attributes missing on a day.
- ``POST /passports/export``: many passports at once, by ids or a filter.
- ``GET /passports/{battery_id}/qr.svg`` and ``/qr.png``; ``GET /passports/{battery_id}/page`` (HTML).

The documents a passport links to are served by the document store (``GET /documents/{sha256}``,
:mod:`batteryloop.documents`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from batteryloop.domain.errors import InvalidCodeError, NotFoundError, ValidationError
from batteryloop.orgs.deps import current_org_optional
from batteryloop.passport import deps
from batteryloop.passport.deps import VARY, OrgDep
from batteryloop.passport.report import (
    JSONLD,
    LINK_TYPES,
    MEDIA_TYPES,
    QR_MEDIA_TYPES,
    links,
    qr_image,
    render,
)
from batteryloop.passport.schemas import CheckResponse, ExportRequest, ExportResponse
from batteryloop.passport.service import FORMATS, PassportCeasedError, PassportView
from batteryloop.web import problems
from batteryloop.web.i18n import N_
from batteryloop.web.responses import json_response

router = APIRouter(tags=["passport"])

JSON = "application/json"
LINKSET = "application/linkset+json"


_json = json_response


def _problem(request: Request, status: int, title: str, detail: str) -> Response:
    return problems.problem(
        status, title, detail, request=request, headers={"Vary": f"{VARY}, Accept-Language"}
    )


def _view(request: Request, battery_id: str, org: Any) -> PassportView | Response:
    try:
        return deps.service(request).view(battery_id, caller=org)
    except PassportCeasedError as exc:
        return _problem(request, 410, N_("Passport ceased"), str(exc))
    except NotFoundError:
        return _problem(request, 404, N_("Not found"), f"no battery passport for identifier {battery_id}")


def _render_json(request: Request, view: PassportView, fmt: str) -> Response:
    body = deps.service(request).rendered(view, fmt, render=lambda v: render(v, fmt))
    return Response(body, media_type=MEDIA_TYPES[fmt], headers=deps.headers(view))


def _passport_json(request: Request, battery_id: str, fmt: str) -> Response:
    if fmt not in FORMATS:
        return _problem(
            request, 422, N_("Invalid input"), f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}"
        )
    view = _view(request, battery_id, current_org_optional(request))
    if isinstance(view, Response):
        return view
    return _render_json(request, view, fmt)


@router.get("/passports/{battery_id}", response_model=None)
async def passport_json(
    request: Request,
    battery_id: str,
    format: Annotated[str, Query(description="json | batterypass | catenax | jsonld")] = "json",
) -> Response:
    """The passport as the caller may see it (API key in X-API-Key; none = the public tier)."""
    # one worker-thread hop for key check + ledger read + rendering (a sync dependency would add another)
    response: Response = await run_in_threadpool(_passport_json, request, battery_id, format)
    return response


@router.get("/passports/{battery_id}/check", response_model=CheckResponse)
def passport_check(
    request: Request,
    battery_id: str,
    org: OrgDep,
    on: Annotated[date | None, Query(description="Day to check (YYYY-MM-DD; default: today)")] = None,
) -> Response:
    """The mandatory attributes the passport lacks on a day (paths and legal basis only, never values)."""
    try:
        result = deps.service(request).check(battery_id, on=on or date.today(), caller=org)
    except PassportCeasedError as exc:
        return _problem(request, 410, N_("Passport ceased"), str(exc))
    except NotFoundError:
        return _problem(request, 404, N_("Not found"), f"no battery passport for identifier {battery_id}")
    return _json(CheckResponse.from_result(result).model_dump(), headers={"Vary": VARY})


@router.post("/passports/export", response_model=ExportResponse)
def passport_export(request: Request, body: ExportRequest, org: OrgDep) -> Response:
    """Many passports in one response, by ids or a filter, each as the caller may see it (selected batteries
    without a passport for the caller are listed under ``skipped``)."""
    try:
        result = deps.service(request).export(body.to_input(), caller=org)
    except NotFoundError as exc:
        return _problem(request, 404, N_("Not found"), str(exc))
    except ValidationError as exc:
        return _problem(request, 422, N_("Invalid input"), str(exc))
    response = ExportResponse.from_result(result, body.format)
    return _json(response.model_dump(), headers={"Vary": VARY, "Cache-Control": "private, no-store"})


@router.get("/passports/{battery_id}/traction-battery-code", response_model=None)
def passport_code_tree(request: Request, battery_id: str) -> Response:
    """Catena-X traction_battery_code 2.0.0: the unit's GB/T 34014 code and those of its modules and cells
    (identification data, public under Annex VI Part A)."""
    from batteryloop.passport.core.catenax import code_tree_from_source, to_traction_battery_code

    view = _view(request, battery_id, None)
    if isinstance(view, Response):
        return view
    try:
        tree = code_tree_from_source(request.app.state.ledger, battery_id)
    except ValidationError as exc:
        return _problem(request, 404, N_("Not found"), str(exc))
    return _json(to_traction_battery_code(tree), headers={"Vary": VARY})


@router.get("/passports/{battery_id}/qr.svg", response_model=None)
def passport_qr_svg(request: Request, battery_id: str) -> Response:
    return _qr(request, battery_id, "svg")


@router.get("/passports/{battery_id}/qr.png", response_model=None)
def passport_qr_png(request: Request, battery_id: str) -> Response:
    return _qr(request, battery_id, "png")


def _qr(request: Request, battery_id: str, kind: str) -> Response:
    view = _view(request, battery_id, None)
    if isinstance(view, Response):
        return view
    return Response(qr_image(view, kind), media_type=QR_MEDIA_TYPES[kind])


def _wants(request: Request) -> str:
    """'html', 'jsonld' or 'json' by the Accept header (q-values honoured, browsers default to HTML)."""
    accept = request.headers.get("accept", "")
    if not accept:
        return "json"
    best, best_q = "json", -1.0
    for position, item in enumerate(accept.split(",")):
        media, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        kind = {
            "text/html": "html",
            "application/xhtml+xml": "html",
            JSONLD: "jsonld",
            JSON: "json",
            "application/*": "json",
            "*/*": "json",
        }.get(media.strip().lower())
        if kind is None:
            continue
        score = q - position * 1e-6 - (0.01 if media.strip() in ("*/*", "application/*") else 0.0)
        if score > best_q:
            best, best_q = kind, score
    return best


@router.get("/01/{gtin}/21/{serial}", response_model=None)
def resolver(
    request: Request,
    gtin: str,
    serial: str,
    org: OrgDep,
    link_type: Annotated[str | None, Query(alias="linkType")] = None,
) -> Response:
    from batteryloop.domain.identity import GS1DigitalLink

    try:
        link = GS1DigitalLink(gtin, serial)
    except (InvalidCodeError, ValidationError) as exc:
        return _problem(request, 400, N_("Bad request"), f"not a valid GS1 Digital Link: {exc}")
    try:
        battery_id = deps.service(request).find_by_digital_link(link.gtin, link.serial)
    except NotFoundError:
        detail = f"no battery passport for GTIN {link.gtin} serial {link.serial}"
        if _wants(request) == "html" and link_type is None:
            return deps.html_error(request, 404, "Not found", detail + ".", org)
        return _problem(request, 404, N_("Not found"), detail)

    linkset_href = f"{request.url.path}?linkType=linkset"
    if link_type is None:
        kind = _wants(request)
        if kind == "html":
            response = deps.page(request, battery_id, org)
        else:
            view = _view(request, battery_id, org)
            response = view if isinstance(view, Response) else _render_json(request, view, kind)
        response.headers["Link"] = f'<{linkset_href}>; rel="linkset"; type="{LINKSET}"'
        return response

    view = _view(request, battery_id, org)
    if isinstance(view, Response):
        return view
    found = links(view, base_url=deps.service(request).resolver_domain)
    if link_type in ("linkset", "all"):
        anchor = str(request.url.replace(query=""))
        body = {
            "linkset": [
                {
                    "anchor": anchor,
                    **{
                        f"https://gs1.org/voc/{entry['linkType'].split(':', 1)[1]}": [
                            {"href": entry["href"], "title": entry["title"]}
                        ]
                        for entry in found
                    },
                }
            ]
        }
        return _json(body, media_type=LINKSET, headers=deps.headers(view))
    match = next((entry for entry in found if entry["linkType"] == link_type), None)
    if match is None:
        known = ", ".join(sorted({"gs1:pip", "gs1:masterData", "gs1:instructions", "linkset", *LINK_TYPES}))
        return _problem(
            request,
            404,
            N_("Not found"),
            f"no link of type {link_type} is available to you for this battery (link types: {known})",
        )
    return RedirectResponse(match["href"], status_code=307, headers=deps.headers(view))


# the access-grant routes (/passports/{battery_id}/grants) live in their own module, served by this router
from batteryloop.passport.grants_endpoints import router as _grants_router  # noqa: E402

router.include_router(_grants_router)
