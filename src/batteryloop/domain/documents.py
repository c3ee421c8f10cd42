"""Content-addressed documents: the reference a passport stores for a document the platform serves.

A passport links a document either by an external ``https://`` URL the producer gives, or by the document's
content hash, ``sha256:<64 hex digits>``, when the platform's document store holds it. The reference carries
no host: the passport's links are built from the installation's public base URL when a passport is read
(``{public base URL}/documents/<hex>``), so a ledger written under one address serves working links under
another. The hash is part of the signed, hash-chained ``PassportDataRegistered`` event, so the document a
passport names cannot change without the change showing: the store re-hashes what it serves.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit

from batteryloop.domain.errors import ValidationError

REF_PREFIX = "sha256:"
REF_PATTERN = r"sha256:[0-9a-f]{64}"
DOCUMENTS_PATH = "documents"
_REF = re.compile(REF_PATTERN).fullmatch
_HEX = re.compile(r"[0-9a-f]{64}").fullmatch
_PATH = re.compile(rf"/{DOCUMENTS_PATH}/([0-9a-f]{{64}})$").search


def digest_of(content: bytes) -> str:
    """The sha256 of ``content``, 64 lower-case hex digits."""
    return hashlib.sha256(content).hexdigest()


def ref_of(content: bytes) -> str:
    """The reference a passport stores for ``content`` (``sha256:<hex>``)."""
    return REF_PREFIX + digest_of(content)


def is_ref(value: object) -> bool:
    return isinstance(value, str) and _REF(value) is not None


def check_digest(sha256: str) -> str:
    """``sha256`` if it is 64 lower-case hex digits (a ``sha256:`` prefix is dropped); else ValidationError."""
    text = sha256[len(REF_PREFIX) :] if sha256.startswith(REF_PREFIX) else sha256
    if _HEX(text) is None:
        raise ValidationError("sha256: expected 64 lower-case hexadecimal digits")
    return text


def url_of(ref: str, *, base_url: str) -> str:
    """The address of a stored document under the installation's public base URL (empty: a relative path)."""
    return f"{base_url.rstrip('/')}/{DOCUMENTS_PATH}/{check_digest(ref)}"


def ref_from_url(url: str) -> str | None:
    """The reference of a platform document URL (``.../documents/<hex>`` on any host), else None: imports
    turn a link an export carried back into the host-free reference it was made from."""
    if is_ref(url):
        return url
    match = _PATH(urlsplit(url).path) if url.startswith(("http://", "https://")) else None
    return None if match is None else REF_PREFIX + match.group(1)
