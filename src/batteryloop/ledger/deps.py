"""FastAPI dependencies of the ledger's endpoints and pages: the open ledger (the caller's dependencies are
those of the organisation registry, :mod:`batteryloop.orgs.deps`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

if TYPE_CHECKING:
    from batteryloop.ledger import Ledger

__all__ = ["LedgerDep", "get_ledger"]


def get_ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


async def _ledger(request: Request) -> Ledger:
    # FastAPI runs a plain ``def`` dependency in its thread pool; reading app.state needs no thread, so the
    # dependency is ``async`` and costs a request no hop between threads
    return get_ledger(request)


LedgerDep = Annotated["Ledger", Depends(_ledger)]
