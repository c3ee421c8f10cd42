"""The passport's HTML page (``GET /passports/{battery_id}/page``), rendered from the caller's view."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from batteryloop.passport.deps import OrgDep, page

router = APIRouter(tags=["passport"])


@router.get("/passports/{battery_id}/page", response_class=HTMLResponse, response_model=None)
def passport_page(request: Request, battery_id: str, org: OrgDep) -> Response:
    return page(request, battery_id, org)
