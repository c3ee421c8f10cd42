"""The document store's use cases, for Python, the CLI and HTTP alike: add a document, get it, read its record.

A document is addressed by the sha256 of its bytes. A passport links it by that hash (``sha256:<hex>`` in the
signed ``PassportDataRegistered`` event; :mod:`batteryloop.domain.documents`), so what a passport names can
never change silently: the store is append-only and re-hashes the bytes before it serves them. Each document
is served to the Annex XIII audiences of its tier (``public``, ``legitimate_interest``, ``dismantling``, ``authority``; the
passport's access table says who they are) and always to the organisation that uploaded it; to anyone else it
does not exist (NotFoundError), so a restricted document's existence is not revealed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from batteryloop.documents.core.rules import DocumentLimits, check_upload, load_limits
from batteryloop.domain.documents import check_digest
from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.domain.organisation import Organisation


class StoredRecord(Protocol):
    @property
    def sha256(self) -> str: ...
    @property
    def media_type(self) -> str: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def tier(self) -> str: ...
    @property
    def filename(self) -> str | None: ...
    @property
    def uploaded_by(self) -> str: ...
    @property
    def uploaded_at(self) -> str: ...
    @property
    def content(self) -> bytes | None: ...


class DocumentStoreLike(Protocol):
    """What the use cases need of ``batteryloop.ledger.Ledger().documents``."""

    def put(
        self, content: bytes, *, media_type: str, tier: str, uploaded_by: str, filename: str | None = None
    ) -> tuple[Any, bool]: ...
    def record(self, sha256: str) -> Any: ...
    def get(self, sha256: str) -> Any: ...


class DocumentLedger(Protocol):
    @property
    def documents(self) -> DocumentStoreLike: ...
    def get_organisation(self, org_id: str) -> Organisation: ...


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    """A stored document's record: its hash (and the reference a passport stores), type, size, tier, file
    name, who uploaded it and when; ``created`` is False when the same bytes were stored already."""

    sha256: str
    media_type: str
    size_bytes: int
    tier: str
    filename: str | None
    uploaded_by: str
    uploaded_at: str
    created: bool = False

    @property
    def ref(self) -> str:
        return f"sha256:{self.sha256}"

    @classmethod
    def of(cls, row: StoredRecord, *, created: bool = False) -> DocumentRecord:
        return cls(
            sha256=row.sha256,
            media_type=row.media_type,
            size_bytes=int(row.size_bytes),
            tier=row.tier,
            filename=row.filename,
            uploaded_by=row.uploaded_by,
            uploaded_at=row.uploaded_at,
            created=created,
        )


@dataclass(frozen=True, slots=True)
class Document:
    record: DocumentRecord
    content: bytes


def _readable(record: DocumentRecord, caller: Organisation | None) -> bool:
    from batteryloop.passport import audiences_for, default_policy

    if caller is not None and caller.org_id == record.uploaded_by:
        return True
    policy = default_policy()
    allowed: frozenset[Any] = next(
        (rule.audiences for rule in policy.rules if rule.tier == record.tier), frozenset()
    )
    return bool(allowed & audiences_for(caller, policy=policy))


def add_document(
    ledger: DocumentLedger,
    content: bytes,
    *,
    media_type: str,
    uploaded_by: str,
    tier: str = "public",
    filename: str | None = None,
    limits: DocumentLimits | None = None,
) -> DocumentRecord:
    """Store ``content`` for ``uploaded_by`` (a registered organisation) and return its record. The same
    bytes uploaded again keep their first record (``created`` False). Nothing is written when a check fails."""
    stored_type = check_upload(
        content, media_type=media_type, tier=tier, filename=filename, limits=limits or load_limits()
    )
    ledger.get_organisation(uploaded_by)  # NotFoundError naming the organisation
    row, created = ledger.documents.put(
        content, media_type=stored_type, tier=tier, uploaded_by=uploaded_by, filename=filename
    )
    return DocumentRecord.of(row, created=created)


def get_document(
    ledger: DocumentLedger, sha256: str, *, caller: Organisation | None = None, operator: bool = False
) -> Document:
    """The document with hash ``sha256`` if ``caller`` may read it (``operator``: the local operator who holds
    the database reads every document). NotFoundError otherwise; StorageError when the stored bytes no longer
    match their hash."""
    digest = check_digest(sha256)
    record = document_record(ledger, digest, caller=caller, operator=operator)
    row = ledger.documents.get(digest)
    if row.content is None:
        raise ValidationError(f"document {digest}: no content")
    return Document(record=record, content=bytes(row.content))


def document_record(
    ledger: DocumentLedger, sha256: str, *, caller: Organisation | None = None, operator: bool = False
) -> DocumentRecord:
    """The record of the document with hash ``sha256``, under the same rule as :func:`get_document`."""
    digest = check_digest(sha256)
    row = ledger.documents.record(digest)
    if row is None:
        raise NotFoundError(f"no document with sha256 {digest}")
    record = DocumentRecord.of(row)
    if not operator and not _readable(record, caller):
        raise NotFoundError(f"no document with sha256 {digest}")
    return record
