"""The document store's SQL: documents keyed by the sha256 of their bytes, written once (the table is
append-only in the database too, migration 0010_docs), re-hashed on every read."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from batteryloop.db.schema import documents
from batteryloop.domain.errors import NotFoundError, StorageError

__all__ = ["DocumentStore", "StoredDocument"]


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A stored document's record; ``content`` is None when only the record was read."""

    sha256: str
    media_type: str
    size_bytes: int
    tier: str
    filename: str | None
    uploaded_by: str
    uploaded_at: str
    content: bytes | None = None


_RECORD = (
    documents.c.sha256,
    documents.c.media_type,
    documents.c.size_bytes,
    documents.c.tier,
    documents.c.filename,
    documents.c.uploaded_by,
    documents.c.uploaded_at,
)


class DocumentStore:
    """Documents in the ledger's database, one transaction per call."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(
        self,
        content: bytes,
        *,
        media_type: str,
        tier: str,
        uploaded_by: str,
        filename: str | None = None,
    ) -> tuple[StoredDocument, bool]:
        """Store ``content`` unless a document with its hash is stored already; the record and whether this
        call stored it (a second upload of the same bytes keeps the first record)."""
        sha256 = hashlib.sha256(content).hexdigest()
        found = self.record(sha256)
        if found is not None:
            return found, False
        at = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
        row = StoredDocument(sha256, media_type, len(content), tier, filename, uploaded_by, at)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(documents).values(
                        sha256=sha256,
                        media_type=media_type,
                        size_bytes=len(content),
                        tier=tier,
                        filename=filename,
                        uploaded_by=uploaded_by,
                        uploaded_at=at,
                        content=content,
                    )
                )
        except IntegrityError:
            # the same bytes stored by another writer in between: theirs is the record
            found = self.record(sha256)
            if found is None:
                raise StorageError("the document could not be stored") from None
            return found, False
        except SQLAlchemyError as exc:
            raise StorageError(f"the document could not be stored: {type(exc).__name__}") from exc
        return row, True

    def record(self, sha256: str) -> StoredDocument | None:
        """The record of a stored document without its bytes; None when none has this hash."""
        try:
            with self.engine.connect() as conn:
                row = conn.execute(select(*_RECORD).where(documents.c.sha256 == sha256)).first()
        except SQLAlchemyError as exc:
            raise StorageError(f"the document could not be read: {type(exc).__name__}") from exc
        return None if row is None else StoredDocument(*row)

    def get(self, sha256: str) -> StoredDocument:
        """The document with its bytes; NotFoundError when none has this hash, StorageError when the stored
        bytes no longer hash to their key (the document was altered in the database)."""
        try:
            with self.engine.connect() as conn:
                row = conn.execute(
                    select(*_RECORD, documents.c.content).where(documents.c.sha256 == sha256)
                ).first()
        except SQLAlchemyError as exc:
            raise StorageError(f"the document could not be read: {type(exc).__name__}") from exc
        if row is None:
            raise NotFoundError(f"no document with sha256 {sha256}")
        content = bytes(row.content)
        if hashlib.sha256(content).hexdigest() != sha256:
            raise StorageError(f"document {sha256}: the stored bytes do not match their hash")
        return StoredDocument(*row[:-1], content=content)

    def list(self, *, uploaded_by: str | None = None, limit: int = 1000) -> list[StoredDocument]:
        """Records (no bytes) in upload order, of one organisation or all."""
        query = select(*_RECORD).order_by(documents.c.uploaded_at, documents.c.sha256).limit(limit)
        if uploaded_by is not None:
            query = query.where(documents.c.uploaded_by == uploaded_by)
        try:
            with self.engine.connect() as conn:
                return [StoredDocument(*row) for row in conn.execute(query)]
        except SQLAlchemyError as exc:
            raise StorageError(f"the documents could not be read: {type(exc).__name__}") from exc
