"""HTTP routes of the battery passport: GS1 Digital Link resolver, JSON/JSON-LD/exports, QR codes, HTML page.

Every route gets a :class:`~batteryloop.passport.service.PassportView` whose document is already redacted
for the caller (Annex XIII tiers, decided on the server from the API key); nothing renders from the full
passport. Error messages name identifiers only, never passport data.

- ``GET /01/{gtin}/21/{serial}``: the resolver. Browsers (``Accept: text/html``) get the HTML page,
  machines JSON (``application/json``) or JSON-LD (``application/ld+json``). ``?linkType=`` follows the GS1
  web vocabulary: ``gs1:pip`` (page), ``gs1:masterData`` (JSON), ``gs1:sustainabilityInfo`` (carbon
  footprint study), ``gs1:recyclingInfo`` (collection information), ``gs1:safetyInfo`` (safety
  instructions, legitimate interest only), ``gs1:certificationInfo`` (EU declaration of conformity),
  ``gs1:instructions`` (dismantling manual, legitimate interest only) and ``linkset`` (all links the caller
  may follow, RFC 9264).
- ``GET /passports/{battery_id}``: JSON; ``?format=batterypass|catenax|jsonld``.
- ``GET /passports/{battery_id}/qr.svg`` and ``/qr.png``; ``GET /passports/{battery_id}/page`` (HTML).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from batteryloop.api.deps import current_org_optional
from batteryloop.domain.errors import InvalidCodeError, NotFoundError, ValidationError
from batteryloop.domain.organisation import Organisation
from batteryloop.passport.access import Audience
from batteryloop.passport.batterypass import to_batterypass
from batteryloop.passport.catenax import to_catenax
from batteryloop.passport.qr import qr_png, qr_svg
from batteryloop.passport.schemas import SchemaName, aspect_urn
from batteryloop.passport.service import (
    FORMATS,
    PassportCeasedError,
    PassportService,
    PassportView,
    to_jsonld,
)

TEMPLATE_DIR = Path(__file__).parent / "templates"
router = APIRouter(tags=["passport"])
OrgDep = Annotated[Organisation | None, Depends(current_org_optional)]

JSON = "application/json"
JSONLD = "application/ld+json"
LINKSET = "application/linkset+json"
PROBLEM = "application/problem+json"
_VARY = "Accept, X-API-Key, Authorization, Cookie"

# GS1 link type -> (where in the redacted document, title). Absent from the document = not offered.
LINK_TYPES: Mapping[str, tuple[tuple[str, ...], str]] = {
    "gs1:sustainabilityInfo": (("carbon_footprint", "study_url"), "Carbon footprint study"),
    "gs1:recyclingInfo": (("end_of_life", "collection_information_url"), "Separate collection and take-back"),
    "gs1:certificationInfo": (("labels", "declaration_of_conformity_url"), "EU declaration of conformity"),
    "gs1:safetyInfo": (("safety", "safety_instructions_url"), "Safety instructions"),
}


def _templates() -> Any:
    from batteryloop.web import templates

    return templates(TEMPLATE_DIR)


_TEMPLATES: Any = None


def _service(request: Request) -> PassportService:
    service: PassportService | None = getattr(request.app.state, "passport_service", None)
    ledger = request.app.state.ledger
    domain = request.app.state.settings.resolver_domain
    if service is None or service.ledger is not ledger or service.resolver_domain != domain.rstrip("/"):
        service = PassportService(ledger, resolver_domain=domain)
        request.app.state.passport_service = service
    return service


def _json(
    body: Any, *, status: int = 200, media_type: str = JSON, headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=media_type, headers=headers)


def _problem(status: int, title: str, detail: str) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return _json(body, status=status, media_type=PROBLEM, headers={"Vary": _VARY})


def _headers(view: PassportView) -> dict[str, str]:
    return {
        "Vary": _VARY,
        "Cache-Control": "private, no-store" if view.audiences != {Audience.PUBLIC} else "public, max-age=60",
        "X-Passport-Audience": ",".join(sorted(view.audiences)),
    }


def _view(request: Request, battery_id: str, org: Organisation | None) -> PassportView | Response:
    try:
        return _service(request).view(battery_id, org)
    except PassportCeasedError as exc:
        return _problem(410, "Passport ceased", str(exc))
    except NotFoundError:
        return _problem(404, "Not found", f"no battery passport for identifier {battery_id}")


def _page_url(battery_id: str) -> str:
    return f"/passports/{quote(battery_id, safe=':')}/page"


def _body(view: PassportView, fmt: str) -> bytes:
    if fmt == "json":
        return orjson.dumps(view.document)
    if fmt == "jsonld":
        return orjson.dumps(to_jsonld(view.document, uri=view.uri))
    if fmt == "batterypass":
        exported = to_batterypass(view.document)
        return orjson.dumps({"aspects": {m: aspect_urn(SchemaName(m)) for m in exported}, **exported})
    return orjson.dumps(to_catenax(view.document))


def _render_json(request: Request, view: PassportView, fmt: str) -> Response:
    body = _service(request).rendered(view, fmt, lambda v: _body(v, fmt))
    return Response(body, media_type=JSONLD if fmt == "jsonld" else JSON, headers=_headers(view))


def _passport_json(request: Request, battery_id: str, fmt: str) -> Response:
    if fmt not in FORMATS:
        return _problem(422, "Invalid input", f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
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


@router.get("/passports/{battery_id}/traction-battery-code", response_model=None)
def passport_code_tree(request: Request, battery_id: str) -> Response:
    """Catena-X traction_battery_code 2.0.0: the unit's GB/T 34014 code and those of its modules and cells
    (identification data, public under Annex VI Part A)."""
    from batteryloop.passport.catenax import code_tree_from_source, to_traction_battery_code

    view = _view(request, battery_id, None)
    if isinstance(view, Response):
        return view
    try:
        tree = code_tree_from_source(request.app.state.ledger, battery_id)
    except ValidationError as exc:
        return _problem(404, "Not found", str(exc))
    return _json(to_traction_battery_code(tree), headers={"Vary": _VARY})


@router.get("/passports/{battery_id}/qr.svg", response_model=None)
def passport_qr_svg(request: Request, battery_id: str) -> Response:
    view = _view(request, battery_id, None)
    if isinstance(view, Response):
        return view
    return Response(qr_svg(view.uri, title=f"Battery passport {battery_id}"), media_type="image/svg+xml")


@router.get("/passports/{battery_id}/qr.png", response_model=None)
def passport_qr_png(request: Request, battery_id: str) -> Response:
    view = _view(request, battery_id, None)
    if isinstance(view, Response):
        return view
    return Response(qr_png(view.uri), media_type="image/png")


def _html_error(
    request: Request, status: int, title: str, detail: str, org: Organisation | None
) -> HTMLResponse:
    response: HTMLResponse = _templates_env().TemplateResponse(
        request, "error.html", {"org": org, "title": title, "detail": detail}, status_code=status
    )
    return response


def _templates_env() -> Any:
    global _TEMPLATES
    if _TEMPLATES is None:
        _TEMPLATES = _templates()
    return _TEMPLATES


def _page(request: Request, battery_id: str, org: Organisation | None) -> Response:
    try:
        view = _service(request).view(battery_id, org)
    except PassportCeasedError as exc:
        return _html_error(request, 410, "Passport ceased", str(exc), org)
    except NotFoundError:
        return _html_error(
            request, 404, "Not found", f"No battery passport for identifier {battery_id}.", org
        )
    response: Response = _templates_env().TemplateResponse(
        request,
        "passport.html",
        {
            "org": org,
            "p": view.document,
            "audiences": sorted(view.audiences),
            "uri": view.uri,
            "battery_id": view.battery_id,
            "qr": qr_svg(view.uri, scale=4, title="QR code of this battery passport"),
            "links": _links(view),
        },
        headers=_headers(view),
    )
    return response


@router.get("/passports/{battery_id}/page", response_class=HTMLResponse, response_model=None)
def passport_page(request: Request, battery_id: str, org: OrgDep) -> Response:
    return _page(request, battery_id, org)


def _dig(document: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = document
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _links(view: PassportView) -> list[dict[str, str]]:
    """The GS1 links this caller may follow (targets taken from the redacted document only)."""
    found = [{"linkType": "gs1:pip", "href": _page_url(view.battery_id), "title": "Battery passport (HTML)"}]
    found.append(
        {
            "linkType": "gs1:masterData",
            "href": f"/passports/{quote(view.battery_id, safe=':')}",
            "title": "Passport data (JSON)",
        }
    )
    for link_type, (path, title) in LINK_TYPES.items():
        target = _dig(view.document, path)
        if target:
            found.append({"linkType": link_type, "href": str(target), "title": title})
    docs = _dig(view.document, ("circularity", "dismantling_documents"))
    if docs:
        manual = next((d for d in docs if d["document_type"] == "DismantlingManual"), docs[0])
        found.append(
            {"linkType": "gs1:instructions", "href": manual["url"], "title": "Dismantling information"}
        )
    return found


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
        return _problem(400, "Bad request", f"not a valid GS1 Digital Link: {exc}")
    try:
        battery_id = _service(request).find_by_digital_link(link.gtin, link.serial)
    except NotFoundError:
        detail = f"no battery passport for GTIN {link.gtin} serial {link.serial}"
        if _wants(request) == "html" and link_type is None:
            return _html_error(request, 404, "Not found", detail + ".", org)
        return _problem(404, "Not found", detail)

    linkset_href = f"{request.url.path}?linkType=linkset"
    if link_type is None:
        kind = _wants(request)
        if kind == "html":
            response = _page(request, battery_id, org)
        else:
            view = _view(request, battery_id, org)
            response = view if isinstance(view, Response) else _render_json(request, view, kind)
        response.headers["Link"] = f'<{linkset_href}>; rel="linkset"; type="{LINKSET}"'
        return response

    view = _view(request, battery_id, org)
    if isinstance(view, Response):
        return view
    links = _links(view)
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
                        for entry in links
                    },
                }
            ]
        }
        return _json(body, media_type=LINKSET, headers=_headers(view))
    match = next((entry for entry in links if entry["linkType"] == link_type), None)
    if match is None:
        known = ", ".join(sorted({"gs1:pip", "gs1:masterData", "gs1:instructions", "linkset", *LINK_TYPES}))
        return _problem(
            404,
            "Not found",
            f"no link of type {link_type} is available to you for this battery (link types: {known})",
        )
    return RedirectResponse(match["href"], status_code=307, headers=_headers(view))
