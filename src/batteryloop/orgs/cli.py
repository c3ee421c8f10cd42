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


def open_registry(db: str | None, *, create: bool) -> service.OrgRegistry:
    """The registry of the database named by ``--db``; without ``create`` a missing database is one line.
    Under the root command, the registry is the ledger's (``clikit.root_hook("registry_opener")``), so each
    key entry is covered by a signed tree head at once; run on its own, the organisations' store."""
    url = _url(db)
    if not create:
        clikit.require_database(url)
    opener = clikit.root_hook("registry_opener")
    with clikit.user_errors():
        if opener is not None:
            registry: service.OrgRegistry = opener(url, create=create)
            return registry
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


# --- signing keys: the signed key log --------------------------------------------------------------

key_app = typer.Typer(
    help="Signing keys: list, add, rotate and revoke (each change a signed entry of the key log).",
    no_args_is_help=True,
)
apikey_app = typer.Typer(
    help="API keys: issue, list, rotate and revoke (stored hashed).", no_args_is_help=True
)
org_app.add_typer(key_app, name="key")
org_app.add_typer(apikey_app, name="apikey")

SIGNING_KEY_COLUMNS = (
    clikit.Column("key_id", "key id", lambda k: k.key_id),
    clikit.Column("status", "status", lambda k: k.status),
    clikit.Column(
        "valid_after_position", "valid after position", lambda k: k.valid_after_position, numeric=True
    ),
    clikit.Column(
        "revoked_after_position", "revoked after", lambda k: k.revoked_after_position, numeric=True
    ),
    clikit.Column("signed_by", "signed by", lambda k: k.signed_by),
)
API_KEY_COLUMNS = (
    clikit.Column("api_key_id", "API key id", lambda k: k.api_key_id),
    clikit.Column("prefix", "prefix", lambda k: k.prefix),
    clikit.Column("created_at", "created", lambda k: k.created_at),
    clikit.Column("revoked_at", "revoked", lambda k: k.revoked_at),
)
AUDIT_COLUMNS = (
    clikit.Column("seq", "#", lambda a: a.seq, numeric=True),
    clikit.Column("at", "at", lambda a: a.at),
    clikit.Column("actor", "who", lambda a: a.actor),
    clikit.Column("action", "action", lambda a: a.action),
    clikit.Column("org_id", "organisation", lambda a: a.org_id),
    clikit.Column("subject", "subject", lambda a: a.subject),
)
OperatorOption = Annotated[
    bool, typer.Option("--operator", help="Sign as the operator (key store next to the database)")
]


@key_app.command("list")
def key_list(
    org_id: str,
    json_output: clikit.JsonOption = False,
    csv_output: clikit.CsvOption = False,
    db: clikit.DbOption = None,
) -> None:
    """An organisation's signing keys as the signed key log holds them (valid and revoked)."""
    fmt = clikit.output_format(json_output, csv_output)
    registry = open_registry(db, create=False)
    with clikit.user_errors():
        keys = service.list_signing_keys(registry, org_id)
    from batteryloop.orgs.schemas import SigningKeyInfoRead

    clikit.emit(
        keys,
        SIGNING_KEY_COLUMNS,
        fmt,
        title=f"{org_id}: signing keys",
        document=[SigningKeyInfoRead.from_result(k).model_dump(mode="json") for k in keys],
    )


@key_app.command("add")
def key_add(org_id: str, operator: OperatorOption = False, db: clikit.DbOption = None) -> None:
    """Generate a key in the local key store and register it, signed by ORG's newest valid key there (or
    admitted by the operator when ORG has no valid key)."""
    registry = open_registry(db, create=False)
    with clikit.user_errors():
        added = service.new_signing_key(registry, org_id, keystore=_keystore(db), operator=operator)
    clikit.console().print(f"signing key {added.key_id} registered for {org_id}", soft_wrap=True)


@key_app.command("rotate")
def key_rotate(
    org_id: str,
    old: Annotated[
        str | None, typer.Option(help="The key to replace (default: the newest valid one)")
    ] = None,
    db: clikit.DbOption = None,
) -> None:
    """A new key signed by the old one, then the old one revoked."""
    registry = open_registry(db, create=False)
    with clikit.user_errors():
        rotated = service.rotate_signing_key(registry, org_id, keystore=_keystore(db), old_key_id=old)
    clikit.console().print(
        f"signing key {rotated.added.key_id} registered; {rotated.revoked.key_id} revoked after position "
        f"{rotated.revoked.after_position}",
        soft_wrap=True,
    )


@key_app.command("revoke")
def key_revoke(
    org_id: str, key_id: str, operator: OperatorOption = False, db: clikit.DbOption = None
) -> None:
    """Revoke KEY_ID of ORG: batches signed with it after this point are refused."""
    registry = open_registry(db, create=False)
    with clikit.user_errors():
        revoked = service.revoke_local_key(
            registry, org_id, key_id=key_id, keystore=_keystore(db), operator=operator
        )
    clikit.console().print(
        f"signing key {revoked.key_id} of {org_id} revoked after position {revoked.after_position} "
        f"(signed by {revoked.signed_by})",
        soft_wrap=True,
    )


@apikey_app.command("issue")
def apikey_issue(org_id: str, db: clikit.DbOption = None) -> None:
    """Issue an API key for ORG (shown once, stored hashed)."""
    registry = open_registry(db, create=False)
    with clikit.user_errors():
        issued = service.issue_api_key(registry, org_id)
    clikit.console().print(f"API key (shown once, stored hashed): [bold]{issued.api_key}[/]", soft_wrap=True)


@apikey_app.command("list")
def apikey_list(
    org_id: str,
    json_output: clikit.JsonOption = False,
    csv_output: clikit.CsvOption = False,
    db: clikit.DbOption = None,
) -> None:
    """ORG's API keys: id, prefix, created and revoked (never the secret)."""
    fmt = clikit.output_format(json_output, csv_output)
    registry = open_registry(db, create=False)
    with clikit.user_errors():
        rows = service.list_api_keys(registry, org_id)
    from batteryloop.orgs.schemas import ApiKeyInfoRead

    clikit.emit(
        rows,
        API_KEY_COLUMNS,
        fmt,
        title=f"{org_id}: API keys",
        document=[ApiKeyInfoRead.from_result(r).model_dump(mode="json") for r in rows],
    )


@apikey_app.command("revoke")
def apikey_revoke(org_id: str, api_key_id: str, db: clikit.DbOption = None) -> None:
    """Revoke one of ORG's API keys (by the id `org apikey list` shows)."""
    registry = open_registry(db, create=False)
    with clikit.user_errors():
        row = service.revoke_api_key(registry, org_id, api_key_id=api_key_id)
    clikit.console().print(
        f"API key {row.api_key_id} of {org_id} revoked at {row.revoked_at}", soft_wrap=True
    )


@apikey_app.command("rotate")
def apikey_rotate(org_id: str, api_key_id: str, db: clikit.DbOption = None) -> None:
    """Issue a new API key for ORG and revoke API_KEY_ID."""
    registry = open_registry(db, create=False)
    with clikit.user_errors():
        rotated = service.rotate_api_key(registry, org_id, api_key_id=api_key_id)
    clikit.console().print(
        f"API key {rotated.revoked.api_key_id} revoked; new API key (shown once, stored hashed): "
        f"[bold]{rotated.issued.api_key}[/]",
        soft_wrap=True,
    )


@org_app.command("audit")
def org_audit(
    org: Annotated[str | None, typer.Option("--org", help="Only actions on this organisation")] = None,
    json_output: clikit.JsonOption = False,
    csv_output: clikit.CsvOption = False,
    db: clikit.DbOption = None,
) -> None:
    """The audit trail of administrative actions (who did what when), oldest first."""
    fmt = clikit.output_format(json_output, csv_output)
    registry = open_registry(db, create=False)
    with clikit.user_errors():
        rows = service.audit_trail(registry, org_id=org)
    from batteryloop.orgs.schemas import AuditRead

    clikit.emit(
        rows,
        AUDIT_COLUMNS,
        fmt,
        title="audit trail",
        document=[AuditRead.from_result(r).model_dump(mode="json") for r in rows],
    )


# certifications (certify, uncertify, certs) register themselves on org_app
from batteryloop.orgs import certifications_cli as _certifications_cli  # noqa: E402, F401
