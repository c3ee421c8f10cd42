"""Renderings of the document store's results shared by the CLI and HTTP: the one JSON form of a record."""

from __future__ import annotations

from typing import Any

from batteryloop.documents.service import DocumentRecord


def record_document(record: DocumentRecord, *, base_url: str = "") -> dict[str, Any]:
    """A record as JSON: the hash, the reference a passport stores, the URL it is served at under ``base_url``,
    its media type, size, tier, file name, uploader and upload time, and whether this call stored it."""
    from batteryloop.domain.documents import url_of

    return {
        "sha256": record.sha256,
        "ref": record.ref,
        "url": url_of(record.ref, base_url=base_url),
        "media_type": record.media_type,
        "size_bytes": record.size_bytes,
        "tier": record.tier,
        "filename": record.filename,
        "uploaded_by": record.uploaded_by,
        "uploaded_at": record.uploaded_at,
        "created": record.created,
    }


def content_headers(record: DocumentRecord) -> dict[str, str]:
    """Headers a served document carries: the stored type, an immutable cache (the address is the content),
    its hash, and a sandbox so an uploaded page or drawing runs no script on the platform's origin."""
    headers = {
        "Content-Security-Policy": "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'",
        "X-Content-Type-Options": "nosniff",
        "ETag": f'"{record.sha256}"',
        "Digest": f"sha-256={_b64(record.sha256)}",
        "Cache-Control": "public, max-age=31536000, immutable"
        if record.tier == "public"
        else "private, no-store",
    }
    if record.filename:
        headers["Content-Disposition"] = f'inline; filename="{record.filename}"'
    return headers


def _b64(hex_digest: str) -> str:
    import base64

    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")
