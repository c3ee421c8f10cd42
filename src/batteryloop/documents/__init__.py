"""The document store: the documents and label images passports link to, addressed by the sha256 of their bytes.

``add_document(ledger, content, media_type=..., uploaded_by=..., tier=...)`` stores a document and returns its
record (``record.ref`` is the ``sha256:<hex>`` reference a passport stores); ``get_document(ledger, sha256,
caller=...)`` gives it back to the audiences of its tier. Faces: ``POST /documents``, ``GET
/documents/{sha256}``, ``batteryloop document add|get|show``.
"""

from __future__ import annotations

from batteryloop.documents.service import (
    Document,
    DocumentRecord,
    add_document,
    document_record,
    get_document,
)

__all__ = ["Document", "DocumentRecord", "add_document", "document_record", "get_document"]
