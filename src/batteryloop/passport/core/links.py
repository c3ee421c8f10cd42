"""The links of a passport document made absolute: a stored document's reference (``sha256:<hex>``) becomes
its address under the installation's public base URL; external URLs stay as the producer gave them.

Applied once when a passport document is built for reading (``PassportService``), so every rendering (JSON,
exports, the page, GS1 links) carries the same addresses, and a ledger written under one base URL serves
working links under another.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from batteryloop.domain.documents import is_ref, ref_from_url, url_of

# Top-level sections of a passport document that hold no link (the largest ones: composition, dynamic data),
# passed through as they are; every other section is searched.
_NO_LINKS = frozenset(
    {"identity", "composition", "condition", "lifecycle", "data_issues", "critical_raw_materials"}
)


def _is_link_key(key: str) -> bool:
    return key == "url" or key.endswith("_url")


def resolve_links(document: Mapping[str, Any], *, base_url: str) -> dict[str, Any]:
    """A copy of ``document`` whose link fields (``url``, ``*_url``) holding a document reference carry its
    URL under ``base_url`` instead."""

    def walk(node: Any) -> Any:
        if isinstance(node, Mapping):
            return {
                key: url_of(value, base_url=base_url)
                if _is_link_key(str(key)) and is_ref(value)
                else walk(value)
                for key, value in node.items()
            }
        if isinstance(node, list | tuple):
            return [walk(item) for item in node]
        return node

    return {key: value if key in _NO_LINKS else walk(value) for key, value in document.items()}


def links_to_refs(document: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`resolve_links` for imports: a link field holding a platform document URL
    (``.../documents/<sha256>`` on any host) holds its reference again; other links are kept."""

    def walk(node: Any) -> Any:
        if isinstance(node, Mapping):
            out = {}
            for key, value in node.items():
                ref = ref_from_url(value) if _is_link_key(str(key)) and isinstance(value, str) else None
                out[key] = ref if ref is not None else walk(value)
            return out
        if isinstance(node, list | tuple):
            return [walk(item) for item in node]
        return node

    out: dict[str, Any] = walk(document)
    return out
