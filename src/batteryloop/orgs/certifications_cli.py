"""`batteryloop org certify | uncertify | certs`: organisations' certifications (the operator's commands)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from batteryloop import clikit
from batteryloop.domain.organisation import Certification, CertificationScheme, CertifiedActivity
from batteryloop.orgs.certifications import (
    certification_dict,
    certifications_document,
    certify,
    list_certifications,
    uncertify,
)
from batteryloop.orgs.cli import open_registry, org_app

_KEYS = ("id", "scheme", "number", "authority", "activity", "valid_from", "valid_until", "status")


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise clikit.fail(f"{option} {text!r} is not a date YYYY-MM-DD") from None


def _print(rows: list[dict[str, Any]], document: dict[str, Any], as_json: bool) -> None:
    if as_json:
        clikit.print_json(document)
        return
    table = clikit.fitted_table(*_KEYS)
    for row in rows:
        table.add_row(*(str(row[k]) if row[k] is not None else "" for k in _KEYS))
    clikit.console().print(table)


@org_app.command("certify")
def org_certify(
    org_id: str,
    scheme: Annotated[CertificationScheme, typer.Option(help="Certification scheme")],
    number: Annotated[str, typer.Option(help="The certificate's or permit's number")],
    authority: Annotated[str, typer.Option(help="The body that issued it")],
    activity: Annotated[CertifiedActivity, typer.Option(help="What it certifies")],
    valid_from: Annotated[str, typer.Option("--from", help="First day of validity, YYYY-MM-DD")],
    valid_until: Annotated[str | None, typer.Option("--until", help="Last day of validity")] = None,
    db: clikit.DbOption = None,
    as_json: clikit.JsonOption = False,
) -> None:
    """Record a certification (recycling, repair or dismantling permit) of an organisation."""
    start = _day(valid_from, "--from")
    assert start is not None
    cert = Certification(
        scheme=scheme,
        reference=number,
        valid_from=start,
        valid_until=_day(valid_until, "--until"),
        activity=activity,
        authority=authority,
    )
    registry = open_registry(db, create=False)
    with clikit.user_errors():
        stored = certify(registry, org_id, cert=cert)
        row = certification_dict(stored, status=list_certifications(registry, org_id).status(stored))
    _print([row], row, as_json)


@org_app.command("uncertify")
def org_uncertify(
    org_id: str,
    cert_id: Annotated[int, typer.Argument(help="The certification's id (see `org certs`)")],
    db: clikit.DbOption = None,
    as_json: clikit.JsonOption = False,
) -> None:
    """Withdraw a certification now (the record stays, marked withdrawn)."""
    registry = open_registry(db, create=False)
    with clikit.user_errors():
        row = certification_dict(uncertify(registry, org_id, cert_id=cert_id), status="withdrawn")
    _print([row], row, as_json)


@org_app.command("certs")
def org_certs(
    org_id: str,
    on: Annotated[str | None, typer.Option(help="Day the status is given for (default: today)")] = None,
    db: clikit.DbOption = None,
    as_json: clikit.JsonOption = False,
) -> None:
    """List an organisation's certifications and whether each is in force."""
    registry = open_registry(db, create=False)
    with clikit.user_errors():
        document = certifications_document(list_certifications(registry, org_id, on=_day(on, "--on")))
    rows = document["certifications"]
    assert isinstance(rows, list)
    _print(rows, document, as_json)
