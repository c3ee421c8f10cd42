"""The reference kernel: one cited-value type, one parameter-set loader, one citation registry (shipped).

Pure: no web, CLI or database imports anywhere in it; its faces (``batteryloop params``, ``GET /params``,
``/citations``) and their renderings are the :mod:`batteryloop.params` slice. Names load on first use, so importing a
submodule (the settings object reads files through ``reference.files``) stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_WHERE = {
    "ParamDiff": "params",
    "ParameterSet": "params",
    "Usage": "params",
    "apply_overrides": "params",
    "load_set": "params",
    "track_usage": "params",
    "Citation": "registry",
    "CitationRegistry": "registry",
    "citations": "registry",
    "QUALITIES": "values",
    "CitedValue": "values",
    "Quality": "values",
}

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


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'batteryloop.reference' has no attribute {name!r}")
    return getattr(import_module(f"batteryloop.reference.{module}"), name)
