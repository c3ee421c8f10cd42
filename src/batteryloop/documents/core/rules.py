"""What a document must be to be stored: a media type on the allow-list, a size within the limit, an access
tier the passport's access table knows (``data/limits.toml``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from batteryloop.domain.errors import ValidationError
from batteryloop.reference.files import read_toml

LIMITS_FILE = Path(__file__).parent.parent / "data" / "limits.toml"
TIERS = ("public", "legitimate_interest", "dismantling", "authority")
"""The Annex XIII tiers a document can be served to (``passport/data/access.toml``); a document describes a
battery model, so the individual-battery tier does not apply."""


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    max_bytes: int
    media_types: frozenset[str]


@cache
def load_limits(path: Path = LIMITS_FILE) -> DocumentLimits:
    data = read_toml(path)
    try:
        return DocumentLimits(
            max_bytes=int(data["max_bytes"]), media_types=frozenset(str(m) for m in data["media_types"])
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(f"{path}: malformed document limits ({exc})") from exc


def check_upload(
    content: bytes, *, media_type: str, tier: str, filename: str | None, limits: DocumentLimits
) -> str:
    """The media type to store (lower case; ``charset`` kept for text types), or ValidationError naming the
    field that is wrong."""
    if not content:
        raise ValidationError("content: the document is empty")
    if len(content) > limits.max_bytes:
        raise ValidationError(
            f"content: {len(content):,} bytes is more than the limit of {limits.max_bytes:,} bytes; "
            "link a larger document as an external https:// URL"
        )
    essence, _, params = media_type.partition(";")
    essence = essence.strip().lower()
    if essence not in limits.media_types:
        raise ValidationError(
            f"media_type: {essence or '(none)'} is not accepted; use one of {', '.join(sorted(limits.media_types))}"
        )
    if tier not in TIERS:
        raise ValidationError(f"tier: {tier!r} is not a document tier; use one of {', '.join(TIERS)}")
    if filename is not None and (
        not filename
        or len(filename) > 255
        or any(c in filename for c in '/\\"')
        or not (filename.isascii() and filename.isprintable())
    ):
        raise ValidationError('filename: a plain file name of at most 255 characters without / \\ or "')
    if essence.startswith("text/") or essence == "image/svg+xml":
        charset = params.strip().lower()
        if charset and charset not in ("charset=utf-8", "charset=us-ascii"):
            raise ValidationError(f"media_type: {params.strip()} is not accepted; text is stored as UTF-8")
        return f"{essence}; charset=utf-8" if essence.startswith("text/") else essence
    return essence
