"""The reference kernel: one cited-value type, one parameter-set loader, one citation registry (shipped).

Pure: no web, CLI or database imports here or in ``values``, ``files``, ``registry``, ``params`` and
``service``; ``report``, ``cli`` and ``endpoints`` are the faces.
"""

from batteryloop.reference.params import (
    ParamDiff,
    ParameterSet,
    Usage,
    apply_overrides,
    load_set,
    track_usage,
)
from batteryloop.reference.registry import Citation, CitationRegistry, citations
from batteryloop.reference.values import QUALITIES, CitedValue, Quality

__all__ = [
    "QUALITIES",
    "Citation",
    "CitationRegistry",
    "CitedValue",
    "ParamDiff",
    "ParameterSet",
    "Quality",
    "Usage",
    "apply_overrides",
    "citations",
    "load_set",
    "track_usage",
]
