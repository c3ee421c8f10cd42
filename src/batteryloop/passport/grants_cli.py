"""`batteryloop passport grant | revoke | grants`: time-limited access to the individual-battery data.

The holder signs with its newest key in the local key store (as ``battery register`` does); the ledger applies
every rule. ``grants --as ORG`` shows what ORG would get from ``GET /passports/{id}/grants``; without
``--as`` the local operator sees every grant.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from batteryloop import clikit
from batteryloop.passport.cli import passport_app

if TYPE_CHECKING:
    from batteryloop.ledger import KeyStore, Ledger


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise clikit.fail(f"{option} {text!r} is not a date YYYY-MM-DD") from None


def _open(db: str | None, *, keys: bool = False) -> tuple[Ledger, KeyStore | None]:
    """The ledger named by ``--db`` (never created by these commands) and, with ``keys``, its key store."""
    from batteryloop.config import Settings
    from batteryloop.ledger import KeyStore, Ledger, keystore_dir_for

    with clikit.user_errors():
        settings = Settings.from_env(database_url=db)
    clikit.require_database(settings.database_url)
    with clikit.user_errors():
        ledger = Ledger.open(settings.database_url, create=False, settings=settings.ledger)
    return ledger, KeyStore(keystore_dir_for(settings.database_url)) if keys else None


GranteeOption = Annotated[str, typer.Option("--to", help="Organisation id given (or losing) access")]
AsOption = Annotated[str, typer.Option("--as", help="The holder of the battery, signing with its key")]


_KEYS = ("grantee", "valid_from", "valid_until", "status", "granted_by", "purpose")


def _print(doc: dict[str, Any], as_json: bool) -> None:
    if as_json:
        clikit.print_json(doc)
        return
    rows = doc.get("grants", [doc])
    table = clikit.fitted_table(*_KEYS)
    for row in rows:
        table.add_row(*(str(row[k] or "") for k in _KEYS))
    clikit.console().print(table)


@passport_app.command("grant")
def grant(
    battery_id: str,
    to: GranteeOption,
    until: Annotated[str, typer.Option("--until", help="Last day of access, YYYY-MM-DD")],
    org: AsOption,
    start: Annotated[str | None, typer.Option("--from", help="First day of access (default: today)")] = None,
    purpose: Annotated[str | None, typer.Option(help="Why, e.g. 'prospective purchase'")] = None,
    db: clikit.DbOption = None,
    as_json: clikit.JsonOption = False,
) -> None:
    """Give an organisation access to a battery's individual data (state of health, usage) until a day."""
    from batteryloop.passport.grants import grant_access
    from batteryloop.passport.grants_report import grant_dict

    valid_until = _day(until, "--until")
    assert valid_until is not None
    ledger, keystore = _open(db, keys=True)
    assert keystore is not None
    with clikit.user_errors():
        made = grant_access(
            ledger,
            battery_id,
            org=org,
            keystore=keystore,
            grantee=to,
            valid_until=valid_until,
            valid_from=_day(start, "--from"),
            purpose=purpose,
        )
    _print(grant_dict(made, status=made.status_on(datetime.now(UTC).date())), as_json)


@passport_app.command("revoke")
def revoke(
    battery_id: str,
    to: GranteeOption,
    org: AsOption,
    db: clikit.DbOption = None,
    as_json: clikit.JsonOption = False,
) -> None:
    """End an organisation's access to a battery's individual data now."""
    from batteryloop.passport.grants import revoke_access
    from batteryloop.passport.grants_report import grant_dict

    ledger, keystore = _open(db, keys=True)
    assert keystore is not None
    with clikit.user_errors():
        ended = revoke_access(ledger, battery_id, org=org, keystore=keystore, grantee=to)
    _print(grant_dict(ended, status=ended.status_on(datetime.now(UTC).date())), as_json)


@passport_app.command("grants")
def grants(
    battery_id: str,
    org: Annotated[
        str | None, typer.Option("--as", help="Show what this organisation may see (default: every grant)")
    ] = None,
    on: Annotated[str | None, typer.Option(help="Day the status is given for (default: today)")] = None,
    db: clikit.DbOption = None,
    as_json: clikit.JsonOption = False,
) -> None:
    """List the access grants of a battery and whether each is active, pending, expired or revoked."""
    from batteryloop.passport.grants import list_grants
    from batteryloop.passport.grants_report import grants_document

    ledger, _ = _open(db)
    with clikit.user_errors():
        caller = ledger.get_organisation(org) if org is not None else None
        result = list_grants(ledger, battery_id, caller=caller, on=_day(on, "--on"))
    _print(grants_document(result), as_json)
