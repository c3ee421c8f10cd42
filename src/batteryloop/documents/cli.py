"""`batteryloop document ...`: store a document a passport links to, fetch it, show its record.

The CLI is the local operator who holds the database: ``add`` names the organisation it stores for
(``--org``), ``get`` and ``show`` read every document. Each command makes one call of
:mod:`batteryloop.documents.service` and prints what HTTP answers (``--json``: the same record).
"""

from __future__ import annotations

import mimetypes
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from batteryloop.clikit import DbOption, JsonOption, existing_file, print_json, require_database, user_errors
from batteryloop.config import Settings

if TYPE_CHECKING:
    from batteryloop.ledger import Ledger

document_app = typer.Typer(
    help="Documents passports link to, stored by content hash (sha256).", no_args_is_help=True
)

_TYPES = {".csv": "text/csv", ".svg": "image/svg+xml", ".html": "text/html", ".htm": "text/html"}


def _open(db: str | None) -> tuple[Ledger, Settings]:
    from batteryloop.ledger import Ledger

    settings = Settings.from_env(database_url=db)
    require_database(settings.database_url)
    return Ledger.open(settings.database_url, create=False, settings=settings.ledger), settings


def _show(record_json: dict[str, object]) -> None:
    from batteryloop.clikit import console

    for key in ("ref", "url", "media_type", "size_bytes", "tier", "filename", "uploaded_by", "uploaded_at"):
        console().print(f"{key:>12}  {record_json[key]}", highlight=False, soft_wrap=True)


@document_app.command()
def add(
    file: Annotated[Path, typer.Argument(help="The document to store")],
    org: Annotated[str, typer.Option("--org", help="The organisation storing it (its uploader)")],
    tier: Annotated[
        str,
        typer.Option(
            "--tier", help="Who may read it: public | legitimate_interest | dismantling | authority"
        ),
    ] = "public",
    media_type: Annotated[
        str | None, typer.Option("--media-type", help="Its media type (default: from the file name)")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Store a document and print the reference (sha256:...) a passport's link takes."""
    from batteryloop.documents.report import record_document
    from batteryloop.documents.service import add_document

    path = existing_file(file)
    kind = media_type or _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or ""
    with user_errors():
        ledger, settings = _open(db)
        try:
            record = add_document(
                ledger, path.read_bytes(), media_type=kind, uploaded_by=org, tier=tier, filename=path.name
            )
        finally:
            ledger.close()
    shown = record_document(record, base_url=settings.public_base_url)
    if as_json:
        print_json(shown)
    else:
        _show(shown)


@document_app.command()
def get(
    sha256: Annotated[str, typer.Argument(help="The document's sha256 (64 hex digits, or sha256:...)")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write it to this file (default: standard output)")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write a stored document's bytes (checked against their hash) to a file or standard output."""
    from batteryloop.documents.service import get_document

    with user_errors():
        ledger, _ = _open(db)
        try:
            found = get_document(ledger, sha256, operator=True)
        finally:
            ledger.close()
        if output is None:
            sys.stdout.buffer.write(found.content)
            sys.stdout.buffer.flush()
        else:
            output.write_bytes(found.content)


@document_app.command()
def show(
    sha256: Annotated[str, typer.Argument(help="The document's sha256 (64 hex digits, or sha256:...)")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a stored document's record: reference, URL, type, size, tier, uploader and time."""
    from batteryloop.documents.report import record_document
    from batteryloop.documents.service import document_record

    with user_errors():
        ledger, settings = _open(db)
        try:
            record = document_record(ledger, sha256, operator=True)
        finally:
            ledger.close()
    shown = record_document(record, base_url=settings.public_base_url)
    if as_json:
        print_json(shown)
    else:
        _show(shown)
