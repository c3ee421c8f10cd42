"""HTTP face of the transparency log. Heads and proofs are public (hashes only); a battery's proof bundle
follows the trace read rule."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response

from batteryloop.domain.errors import NotFoundError
from batteryloop.ledger.deps import LedgerDep
from batteryloop.orgs.deps import OrgDep
from batteryloop.transparency import report, service
from batteryloop.web.responses import json_response

__all__ = ["router"]

router = APIRouter(prefix="/log", tags=["transparency log"])
# the public reads below are plain data rendered once by orjson (they are the hot path of outside auditors)
_JSON_OK: dict[int | str, dict[str, Any]] = {200: {"content": {"application/json": {}}, "description": "OK"}}


@router.get("/checkpoint", response_class=PlainTextResponse)
def get_checkpoint(ledger: LedgerDep) -> PlainTextResponse:
    """The newest operator-signed tree head as a C2SP checkpoint (signed note, text/plain)."""
    view = service.head(ledger, signed=True)
    if view.checkpoint is None:
        raise NotFoundError("no signed tree head")
    return PlainTextResponse(view.checkpoint, media_type="text/plain; charset=utf-8")


@router.get("/head", response_class=Response, responses=_JSON_OK)
def get_head(
    ledger: LedgerDep,
    size: Annotated[int | None, Query(ge=0, description="tree size (default: the whole ledger)")] = None,
    signed: Annotated[bool, Query(description="the newest signed head instead")] = False,
) -> Response:
    """A tree head (size, root hash), with its signed checkpoint when the operator signed that size."""
    return json_response(report.head_json(service.head(ledger, size=size, signed=signed)))


@router.get("/proof/inclusion", response_class=Response, responses=_JSON_OK)
async def get_inclusion(
    ledger: LedgerDep,
    position: Annotated[int, Query(ge=1, description="the event's position (leaf index + 1)")],
    size: Annotated[
        int | None, Query(ge=1, description="tree size (default: the newest signed head)")
    ] = None,
) -> Response:
    """The RFC 6962 audit path of one event against a tree head."""
    if service.proofs_in_place(ledger):
        # SQLite: a few indexed reads on the loop's own connection, which waits for no pool and no writer,
        # without the hop to the threadpool and back (docs/architecture.md)
        view = service.prove_inclusion(ledger, position, size=size, in_place=True)
    else:
        view = await run_in_threadpool(service.prove_inclusion, ledger, position, size=size)
    return json_response(report.inclusion_json(view))


@router.get("/proof/consistency", response_class=Response, responses=_JSON_OK)
def get_consistency(
    ledger: LedgerDep,
    old: Annotated[int, Query(ge=0, description="the older tree size")],
    new: Annotated[
        int | None, Query(ge=0, description="the newer tree size (default: the whole ledger)")
    ] = None,
) -> Response:
    """The RFC 6962 consistency proof from the tree of ``old`` events to the tree of ``new``."""
    return json_response(report.consistency_json(service.prove_consistency(ledger, old, new=new)))


@router.get("/keys")
def get_keys(ledger: LedgerDep) -> dict[str, Any]:
    """The operator's verifier key and every organisation's registered signing key (for offline checks)."""
    return service.keys(ledger)


@router.get("/bundle/{battery_id}")
def get_bundle(
    battery_id: str,
    ledger: LedgerDep,
    caller: OrgDep,
    size: Annotated[
        int | None, Query(ge=1, description="tree size (default: the newest signed head)")
    ] = None,
    since: Annotated[
        int | None, Query(ge=0, description="also prove consistency from this older size")
    ] = None,
) -> dict[str, Any]:
    """A battery's events with their batch and global-tree proofs and the signed head: check it with
    `batteryloop verify-passport`, without the database."""
    return service.bundle(ledger, battery_id, caller=caller, size=size, since=since)
