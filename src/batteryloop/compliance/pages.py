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


# --- producers and regulators ----------------------------------------------------------------------------
