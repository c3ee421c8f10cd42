"""`batteryloop org ...`: register organisations, manage their keys, find them."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from batteryloop import clikit
from batteryloop.domain.organisation import Certification, CertificationScheme, Organisation, Role
from batteryloop.orgs import KeyStore, OrgStore, keystore_dir_for, service

__all__ = ["org_app"]

org_app = typer.Typer(help="Organisations, their signing keys and API keys.", no_args_is_help=True)

ORG_COLUMNS = (
    clikit.Column("org_id", "id", lambda o: o.org_id),
    clikit.Column("name", "name", lambda o: o.name),
    clikit.Column("country", "country", lambda o: o.country),
    clikit.Column("roles", "roles", lambda o: sorted(str(r) for r in o.roles)),
    clikit.Column(
        "certifications",
        "certifications",
        lambda o: [
            f"{c.scheme}:{c.reference} ({c.valid_from}..{c.valid_until or ''})" for c in o.certifications
        ],
    ),
)


def _url(db: str | None) -> str:
    from batteryloop.config import Settings

    return Settings.from_env(database_url=db).database_url


def open_registry(db: str | None, *, create: bool) -> OrgStore:
    """The registry of the database named by ``--db``; without ``create`` a missing database is one line."""
    url = _url(db)
    if not create:
        clikit.require_database(url)
    with clikit.user_errors():
        return OrgStore.open(url, create=create)


def _keystore(db: str | None) -> KeyStore:
    return KeyStore(keystore_dir_for(_url(db)))


def _parse_cert(text: str) -> Certification:
    parts = text.split(":")
    if len(parts) not in (3, 4):
        raise typer.BadParameter(f"{text!r}: use SCHEME:REFERENCE:VALID_FROM[:VALID_UNTIL]")
    try:
        scheme = CertificationScheme(parts[0])
        start = date.fromisoformat(parts[2])
        end = date.fromisoformat(parts[3]) if len(parts) == 4 and parts[3] else None
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r}: {exc}") from exc
    return Certification(scheme=scheme, reference=parts[1], valid_from=start, valid_until=end)


@org_app.command("add")
def org_add(
    org_id: Annotated[str, typer.Argument(help="Short stable handle, e.g. catl-ningde")],
    name: Annotated[str, typer.Option(help="Legal name")],
    country: Annotated[str, typer.Option(help="ISO 3166-1 alpha-2 country")],
    role: Annotated[list[Role], typer.Option(help="Role(s); repeat the option for several")],
    cert: Annotated[
        list[str] | None,
        typer.Option(
            help="Certification SCHEME:REFERENCE:VALID_FROM[:VALID_UNTIL], e.g. miit_white_list:2024-07:2024-12-24"
        ),
    ] = None,
    db: clikit.DbOption = None,
) -> None:
    """Register an organisation and give it a signing key (kept in the local key store)."""
    org = Organisation(
        org_id=org_id,
        name=name,
        country=country.upper(),
        roles=frozenset(role),
        certifications=tuple(_parse_cert(c) for c in cert or ()),
    )
    registry = open_registry(db, create=True)
    with clikit.user_errors():
        enrolled = service.enrol(registry, org, keystore=_keystore(db))
    clikit.console().print(
        f"organisation [bold]{org_id}[/] registered; signing key {enrolled.key_id} in {enrolled.keystore_root}",
        soft_wrap=True,
    )


@org_app.command("keys")
def org_keys(
    org_id: str,
    api_key: Annotated[bool, typer.Option("--api-key", help="Issue a new API key (shown once)")] = False,
    new_signing_key: Annotated[bool, typer.Option("--new-signing-key", help="Add a signing key")] = False,
    json_output: clikit.JsonOption = False,
    csv_output: clikit.CsvOption = False,
    db: clikit.DbOption = None,
) -> None:
    """List an organisation's signing keys; issue an API key or a new signing key."""
    fmt = clikit.output_format(json_output, csv_output)
    registry = open_registry(db, create=False)
    store = _keystore(db)
    out = clikit.err_console() if fmt is not clikit.OutputFormat.TABLE else clikit.console()
    with clikit.user_errors():
        service.get_organisation(registry, org_id)
        if new_signing_key:
            added = service.new_signing_key(registry, org_id, keystore=store)
            out.print(f"new signing key {added.key_id}")
        if api_key:
            issued = service.issue_api_key(registry, org_id)
            out.print(f"API key (shown once, stored hashed): [bold]{issued.api_key}[/]", soft_wrap=True)
        key_ids = store.key_ids(org_id)
    columns = (clikit.Column("key_id", "signing key id (private key in the local key store)", lambda k: k),)
    clikit.emit(key_ids, columns, fmt, title=f"{org_id}: {store.root}")


@org_app.command("list")
def org_list(
    role: Annotated[Role | None, typer.Option(help="Only organisations with this role")] = None,
    country: Annotated[str | None, typer.Option(help="Only organisations of this country")] = None,
    search: Annotated[str | None, typer.Option(help="Text in the organisation's id or name")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many")] = None,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many first")] = 0,
    json_output: clikit.JsonOption = False,
    csv_output: clikit.CsvOption = False,
    db: clikit.DbOption = None,
) -> None:
    """List organisations with their roles and certifications."""
    fmt = clikit.output_format(json_output, csv_output)
    registry = open_registry(db, create=False)
    with clikit.user_errors():
        page = service.list_organisations(
            registry, role=role, country=country, text=search, limit=limit, offset=offset
        )
    from batteryloop.orgs.schemas import OrganisationRead

    clikit.emit(
        page.items,
        ORG_COLUMNS,
        fmt,
        document=[OrganisationRead.from_result(o).model_dump(mode="json") for o in page.items],
        footer=f"{len(page.items)} of {page.total} organisation(s)" if page.total > len(page.items) else None,
    )
