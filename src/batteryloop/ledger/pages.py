"""Server-rendered pages of the web shell: look-up, the battery finder, a battery's timeline, sign-in.

The look-up accepts an EU unique identifier, a GB/T 34014 code or a GS1 Digital Link URI. Anonymous visitors
are sent to the battery's public passport; the finder and the timeline (custody and history) need an API key
of an organisation, and show what the service's read rules (``ledger.access``) let it see, exactly as the JSON
API does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from batteryloop.config import Settings
from batteryloop.domain.errors import BatteryloopError, InvalidCodeError, NotFoundError, ValidationError
from batteryloop.domain.lifecycle import BatteryState
from batteryloop.ledger import service
from batteryloop.ledger.deps import LedgerDep
from batteryloop.orgs import service as orgs_service
from batteryloop.orgs.deps import OptionalOrgDep, SessionsDep, SettingsDep, current_org_optional
from batteryloop.web import templates
from batteryloop.web.i18n import N_
from batteryloop.web.problems import AuthError
from batteryloop.web.sessions import (
    CsrfError,
    check_csrf,
    clear_session_cookie,
    is_https,
    session_id_of,
    set_session_cookie,
)

__all__ = ["resolve_identifier", "router"]

router = APIRouter(include_in_schema=False)
TEMPLATE_DIR = Path(__file__).parent / "templates"
PAGE_SIZE = 50
LEGACY_KEY_COOKIE = "bl_api_key"  # the raw-key cookie of earlier versions, removed at sign-in
_templates = templates(TEMPLATE_DIR)
if "jinja2.ext.InternationalizationExtension" not in _templates.env.extensions:
    # The shell's environment without gettext catalogues: the finder's strings render as written.
    _templates.env.add_extension("jinja2.ext.i18n")
    _templates.env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]


def _render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    try:
        org = current_org_optional(request)
    except AuthError:
        org = None
    return _templates.TemplateResponse(request, name, {"org": org, **context}, status_code=status_code)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, ledger: LedgerDep) -> HTMLResponse:
    return _render(request, "index.html", summary=ledger.counts())


def resolve_identifier(ledger: Any, text: str) -> str:
    """Map any identifier a person may type or scan to the battery id (urn:uuid)."""
    value = text.strip()
    if value.lower().startswith("urn:uuid:"):
        ledger.status(value)  # NotFoundError when unknown
        return value
    if value.lower().startswith(("http://", "https://")):
        from batteryloop.domain.identity import GS1DigitalLink

        link = GS1DigitalLink.parse(value)
        found: str = ledger.find_by_code("gs1", f"{link.gtin}/{link.serial}")
        return found
    from batteryloop.domain.identity import GBT34014Code

    code = GBT34014Code.parse(value.upper())
    found = ledger.find_by_code("gbt34014", code.text)
    return found


@router.get("/lookup", response_class=HTMLResponse, response_model=None)
def lookup(request: Request, ledger: LedgerDep, q: str = "") -> Response:
    try:
        battery_id = resolve_identifier(ledger, q)
    except (InvalidCodeError, NotFoundError) as exc:
        return _render(
            request,
            "index.html",
            status_code=404 if isinstance(exc, NotFoundError) else 422,
            summary=ledger.counts(),
            q=q,
            error=str(exc),
        )
    return RedirectResponse(f"/ui/batteries/{quote(battery_id, safe=':')}", status_code=303)


@router.get("/ui/batteries/{battery_id}", response_class=HTMLResponse, response_model=None)
def battery_page(request: Request, battery_id: str, ledger: LedgerDep, org: OptionalOrgDep) -> Response:
    passport_url = f"/passports/{quote(battery_id, safe=':')}/page"
    if org is None:
        return RedirectResponse(passport_url, status_code=303)
    try:
        t = service.trace_for(ledger, battery_id, caller=org)
    except NotFoundError as exc:
        return _render(request, "error.html", status_code=404, title=N_("Unknown battery"), detail=str(exc))
    except PermissionError:
        # not its battery: the passport page shows what this organisation may read of it, and why
        return RedirectResponse(passport_url, status_code=303)
    facts = [(N_("Custodian"), t.status.custodian), (N_("Manufacturer"), t.status.manufacturer)]
    if t.status.soh_pct is not None:
        facts.append((N_("Last state of health"), f"{t.status.soh_pct:.1f} %"))
    if t.status.predecessor_id:
        facts.append((N_("Successor of"), t.status.predecessor_id))
    if t.status.successor_id:
        facts.append((N_("Succeeded by"), t.status.successor_id))
    history = [
        {
            "occurred_at": e.occurred_at.strftime("%Y-%m-%d %H:%M"),
            "event_type": str(e.event_type),
            "actor": e.actor,
            "summary": _summary(e.payload),
        }
        for e in t.history
    ]
    custody = [
        {
            "org": c.org,
            "start": c.from_at.strftime("%Y-%m-%d"),
            "end": c.to_at.strftime("%Y-%m-%d") if c.to_at else None,
        }
        for c in t.custody
    ]
    return _render(
        request,
        "battery.html",
        battery_id=battery_id,
        status=t.status,
        facts=facts,
        chain_ok=t.chain_ok,
        ancestors=t.ancestors,
        tree=t.descendants.children,
        custody=custody,
        history=history,
        passport_url=passport_url,
    )


@router.get("/ui/batteries", response_class=HTMLResponse, response_model=None)
def batteries_page(
    request: Request,
    ledger: LedgerDep,
    org: OptionalOrgDep,
    chemistry: str = "",
    state: str = "",
    organisation: str = "",
    code: str = "",
    offset: int = Query(default=0, ge=0),
) -> Response:
    """Find batteries by chemistry, state, organisation and code, one page of ``PAGE_SIZE`` at a time."""
    if org is None:
        return RedirectResponse(f"/login?{urlencode({'next': str(request.url.path)})}", status_code=303)
    filters = {"chemistry": chemistry, "state": state, "organisation": organisation, "code": code}
    try:
        page = service.list_batteries(
            ledger,
            caller=org,
            chemistry=chemistry.strip() or None,
            state=state or None,
            organisation=organisation.strip() or None,
            code=code.strip() or None,
            limit=PAGE_SIZE,
            offset=offset,
        )
    except (PermissionError, ValidationError) as exc:
        status = 403 if isinstance(exc, PermissionError) else 422
        return _render(request, "error.html", status_code=status, title="Cannot list these", detail=str(exc))

    def page_url(at: int) -> str:
        kept = {k: v for k, v in filters.items() if v}
        return "/ui/batteries?" + urlencode({**kept, "offset": at})

    previous = max(page.offset - PAGE_SIZE, 0) if page.offset > 0 else None
    return _render(
        request,
        "batteries.html",
        page=page,
        rows=[
            {
                "battery_id": r.status.battery_id,
                "url": f"/ui/batteries/{quote(r.status.battery_id, safe=':')}",
                "chemistry": r.chemistry or "",
                "level": r.level or "",
                "state": str(r.status.state),
                "custodian": r.status.custodian,
                "manufacturer": r.status.manufacturer,
            }
            for r in page.items
        ],
        filters=filters,
        states=[s.value for s in BatteryState],
        first=page.offset + 1 if page.items else 0,
        last=page.offset + len(page.items),
        previous_url=page_url(previous) if previous is not None else None,
        next_url=page_url(page.next_offset) if page.next_offset is not None else None,
    )


def _summary(payload: dict[str, Any]) -> str:
    shown = []
    for key, value in payload.items():
        if isinstance(value, (dict, list)):
            continue
        shown.append(f"{key}: {value}")
        if len(shown) == 6:
            break
    return ", ".join(shown)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return _render(request, "login.html", next=next)


def _secure(request: Request, settings: Settings) -> bool:
    return is_https(request, settings.public_base_url)


@router.post("/login", response_class=HTMLResponse, response_model=None)
def login(
    request: Request,
    ledger: LedgerDep,
    sessions: SessionsDep,
    settings: SettingsDep,
    api_key: str = Form(...),
    next: str = Form("/"),
    csrf_token: str = Form(""),
) -> Response:
    """Sign in: the key is checked once and a server-side session starts; the cookie holds only its id."""
    try:
        check_csrf(request, csrf_token)
    except CsrfError as exc:
        return _render(request, "error.html", status_code=403, title=N_("Form expired"), detail=str(exc))
    try:
        signed = orgs_service.sign_in(ledger, api_key, sessions=sessions, ttl_s=settings.web.session_ttl_s)
    except (BatteryloopError, PermissionError):
        return _render(
            request, "login.html", status_code=401, next=next, error=N_("That API key is not valid.")
        )
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    old = session_id_of(request)
    if old:
        orgs_service.sign_out(old, sessions=sessions)
    set_session_cookie(response, signed.session_id, max_age_s=signed.ttl_s, secure=_secure(request, settings))
    response.delete_cookie(LEGACY_KEY_COOKIE)
    return response


@router.get("/logout", response_class=HTMLResponse, response_model=None)
def logout_form(request: Request) -> Response:
    """The sign-out button (signing out changes state, so it is a form post with a CSRF token)."""
    if session_id_of(request) is None:
        return RedirectResponse("/", status_code=303)
    return _render(request, "logout.html")


@router.post("/logout", response_model=None)
def logout(
    request: Request, sessions: SessionsDep, settings: SettingsDep, csrf_token: str = Form("")
) -> Response:
    """Sign out: the session ends on the server (its cookie no longer signs anyone in) and the cookie goes."""
    try:
        check_csrf(request, csrf_token)
    except CsrfError as exc:
        return _render(request, "error.html", status_code=403, title=N_("Form expired"), detail=str(exc))
    session_id = session_id_of(request)
    if session_id:
        orgs_service.sign_out(session_id, sessions=sessions)
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(response, secure=_secure(request, settings))
    return response
