"""Schemathesis over every operation of the OpenAPI document, once per role (anonymous, manufacturer, recycler,
authority, and the operator with the administrator token): no 5xx, status codes, content types and bodies as
the document says. Bounded: a few examples per operation (the run takes about a minute on two cores)."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from rich.console import Console
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from batteryloop.app import create_app
from batteryloop.config import Settings, WebSettings
from batteryloop.demo import run_demo
from batteryloop.domain.organisation import Role
from batteryloop.ledger import Ledger

ADMIN = "schemathesis-admin"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Generous limits: schemathesis sends hundreds of requests from one address in seconds.
WEB = WebSettings.from_mapping({"rate_burst_per_address": 100_000, "rate_burst_per_key": 100_000})


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Any, dict[str, dict[str, str]]]]:
    folder = Path(tempfile.mkdtemp(prefix="bl-schemathesis-"))
    config = Settings(
        database_url=f"sqlite:///{folder / 'api.db'}",
        resolver_domain="https://id.example.test",
        admin_token=ADMIN,
        web=WEB,
    )
    run_demo(settings=config, n_batteries=6, seed=3, replace=True, console=Console(file=io.StringIO()))
    ledger = Ledger.open(config.database_url)
    orgs = ledger.list_organisations()

    def key_of(role: Role) -> str:
        return ledger.issue_api_key(next(o.org_id for o in orgs if role in o.roles))

    roles = {
        "anonymous": {},
        "manufacturer": {"X-API-Key": key_of(Role.BATTERY_MANUFACTURER)},
        "recycler": {"X-API-Key": key_of(Role.RECYCLER)},
        "authority": {"X-API-Key": key_of(Role.AUTHORITY)},
        "operator": {"X-Admin-Token": ADMIN},
    }
    yield create_app(settings=config, ledger=ledger), roles
    ledger.close()


@pytest.mark.parametrize("role", ["anonymous", "manufacturer", "recycler", "authority", "operator"])
def test_every_operation_for_every_role(served: tuple[Any, dict[str, dict[str, str]]], role: str) -> None:
    app, roles = served
    headers = roles[role]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=3, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # report every failing operation
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:600]}")
    assert operations >= 30
    assert not failures, "\n\n".join(failures)
