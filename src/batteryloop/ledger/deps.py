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


LedgerDep = Annotated["Ledger", Depends(get_ledger)]
