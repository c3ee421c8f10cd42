"""Domain errors become RFC 9457 problem details with the status that names their cause."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from batteryloop.domain.errors import (
    BatteryloopError,
    ConflictError,
    CustodyError,
    IllegalTransitionError,
    NotFoundError,
    StorageError,
    ValidationError,
)
from batteryloop.web import problems


@pytest.mark.parametrize(
    ("error", "status", "title"),
    [
        (StorageError("the database failed: database is locked"), 503, "Storage unavailable"),
        (NotFoundError("battery b1 is not registered"), 404, "Not found"),
        (
            IllegalTransitionError("b1", "recycled", "BatteryPutIntoService"),
            409,
            "Illegal lifecycle transition",
        ),
        (ConflictError("code taken"), 409, "Conflict"),
        (CustodyError("maker does not hold b1"), 403, "No custody"),
        (ValidationError("mass_kg must be positive"), 422, "Invalid input"),
        (BatteryloopError("something else"), 400, "Bad request"),
    ],
)
def test_domain_errors_map_to_their_status_and_keep_the_message(
    error: BatteryloopError, status: int, title: str
) -> None:
    app = FastAPI()
    problems.install(app)

    @app.get("/boom")
    def boom() -> None:
        raise error

    response = TestClient(app).get("/boom")
    assert response.status_code == status
    assert response.headers["content-type"] == problems.PROBLEM_JSON
    body = response.json()
    assert (body["status"], body["title"], body["detail"]) == (status, title, str(error))
