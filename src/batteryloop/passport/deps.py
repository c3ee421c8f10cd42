"""What the passport's two HTTP faces share: the service per application, the caller, the caching headers
and the HTML page response (:mod:`.pages` serves it at ``/passports/{battery_id}/page``, the resolver in
:mod:`.endpoints` answers browsers with it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response

from batteryloop.domain.errors import NotFoundError
from batteryloop.domain.organisation import Organisation
from batteryloop.orgs.deps import current_org_optional
from batteryloop.passport.access import Audience
from batteryloop.passport.report import page_context
from batteryloop.passport.service import PassportCeasedError, PassportService, PassportView
from batteryloop.web.i18n import N_

TEMPLATE_DIR = Path(__file__).parent / "templates"
OrgDep = Annotated[Organisation | None, Depends(current_org_optional)]

VARY = "Accept, X-API-Key, Authorization, Cookie"
_TEMPLATES: Any = None


def service(request: Request) -> PassportService:
    """The application's passport service (one per ledger and resolver domain, holding the caches)."""
    found: PassportService | None = getattr(request.app.state, "passport_service", None)
    ledger = request.app.state.ledger
    domain = request.app.state.settings.resolver_domain
    if found is None or found.ledger is not ledger or found.resolver_domain != domain.rstrip("/"):
        found = PassportService(ledger, resolver_domain=domain)
        request.app.state.passport_service = found
    return found


def headers(view: PassportView) -> dict[str, str]:
    return {
        "Vary": VARY,
        "Cache-Control": "private, no-store" if view.audiences != {Audience.PUBLIC} else "public, max-age=60",
        "X-Passport-Audience": ",".join(sorted(view.audiences)),
    }


def _templates_env() -> Any:
    global _TEMPLATES
    if _TEMPLATES is None:
        from batteryloop.web import templates

        _TEMPLATES = templates(TEMPLATE_DIR)
    return _TEMPLATES


def html_error(
    request: Request, status: int, title: str, detail: str, org: Organisation | None
) -> HTMLResponse:
    response: HTMLResponse = _templates_env().TemplateResponse(
        request, "error.html", {"org": org, "title": title, "detail": detail}, status_code=status
    )
    return response


def page(request: Request, battery_id: str, org: Organisation | None) -> Response:
    passports = service(request)
    try:
        view = passports.view(battery_id, caller=org)
    except PassportCeasedError as exc:
        return html_error(request, 410, N_("Passport ceased"), str(exc), org)
    except NotFoundError:
        return html_error(
            request, 404, N_("Not found"), f"No battery passport for identifier {battery_id}.", org
        )
    response: Response = _templates_env().TemplateResponse(
        request,
        "passport.html",
        {
            "org": org,
            "reasons": passports.access_reasons(view, caller=org),
            **page_context(view, base_url=passports.resolver_domain),
        },
        headers=headers(view),
    )
    return response
