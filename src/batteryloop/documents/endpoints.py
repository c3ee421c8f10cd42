"""HTTP face of the document store.

- ``POST /documents``: an organisation (API key) uploads a document: the body is the file, ``Content-Type``
  its media type, ``?tier=`` who may read it (``public``, ``legitimate_interest``, ``dismantling``, ``authority``) and
  ``?filename=`` an optional name. 201 with the record when stored, 200 when the same bytes were stored
  already. The ``ref`` of the answer (``sha256:<hex>``) is what a passport's link fields take.
- ``GET /documents/{sha256}``: the document, with its media type, to the audiences of its tier and its
  uploader; 404 for anyone else.
- ``GET /documents/{sha256}/record``: its record (JSON), under the same rule.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from batteryloop.documents import service
from batteryloop.documents.report import content_headers, record_document
from batteryloop.domain.organisation import Organisation
from batteryloop.ledger.deps import LedgerDep
from batteryloop.orgs.deps import current_org, current_org_optional
from batteryloop.web.responses import json_response

router = APIRouter(tags=["documents"])
CallerDep = Annotated[Organisation, Depends(current_org)]
OptionalCallerDep = Annotated[Organisation | None, Depends(current_org_optional)]


def _base(request: Request) -> str:
    return str(request.app.state.settings.public_base_url)


_json = json_response


@router.post(
    "/documents",
    status_code=201,
    responses={200: {"description": "the same bytes were stored already"}},
    openapi_extra={"requestBody": {"content": {"application/octet-stream": {}}, "required": True}},
)
async def add_document(
    request: Request,
    ledger: LedgerDep,
    caller: CallerDep,
    tier: Annotated[
        str, Query(description="public | legitimate_interest | dismantling | authority")
    ] = "public",
    filename: Annotated[str | None, Query(description="a file name to serve it under")] = None,
) -> Response:
    """Store a document (the body) for the calling organisation; the answer's ``ref`` is what a passport links."""
    content = await request.body()  # bounded by the edge (web.body_limits_bytes["/documents"])
    record = service.add_document(
        ledger,
        content,
        media_type=request.headers.get("content-type", ""),
        uploaded_by=caller.org_id,
        tier=tier,
        filename=filename,
    )
    return _json(record_document(record, base_url=_base(request)), status=201 if record.created else 200)


@router.get("/documents/{sha256}", response_class=Response, responses={200: {"content": {"*/*": {}}}})
def get_document(request: Request, sha256: str, ledger: LedgerDep, caller: OptionalCallerDep) -> Response:
    """The document whose bytes hash to ``sha256``, for the audiences of its tier."""
    found = service.get_document(ledger, sha256, caller=caller)
    headers = {**content_headers(found.record), "Vary": "X-API-Key, Authorization, Cookie"}
    return Response(found.content, media_type=found.record.media_type, headers=headers)


@router.get("/documents/{sha256}/record")
def get_record(request: Request, sha256: str, ledger: LedgerDep, caller: OptionalCallerDep) -> Response:
    """The record of a stored document (hash, reference, URL, type, size, tier, uploader, time)."""
    record = service.document_record(ledger, sha256, caller=caller)
    return _json(record_document(record, base_url=_base(request)))
