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
    assert response.headers["content-language"] == "en"


@pytest.mark.parametrize(
    ("accept_language", "title", "content_language"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.5", "冲突", "zh-Hans"),
        ("zh-Hans", "冲突", "zh-Hans"),
        ("en-GB", "Conflict", "en"),
        ("fr-FR", "Conflict", "en"),
        ("", "Conflict", "en"),
    ],
)
def test_problem_titles_follow_accept_language_and_details_stay_as_raised(
    accept_language: str, title: str, content_language: str
) -> None:
    """The title (one phrase per kind of error) is translated; the detail is the domain error's own message,
    with the identifiers at fault, and the response says which language it is in."""
    app = FastAPI()
    problems.install(app)

    @app.get("/boom")
    def boom() -> None:
        raise ConflictError("the GB/T 34014 code 03HPB0DA0001F3D7A0000003 is taken")

    response = TestClient(app).get("/boom", headers={"Accept-Language": accept_language})
    assert response.status_code == 409
    body = response.json()
    assert body["title"] == title
    assert body["detail"] == "the GB/T 34014 code 03HPB0DA0001F3D7A0000003 is taken"
    assert response.headers["content-language"] == content_language
