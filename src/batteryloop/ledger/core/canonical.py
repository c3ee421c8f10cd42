"""RFC 8785 (JSON Canonicalization Scheme) serialisation, with a fast path.

The `rfc8785` package is the reference implementation but costs tens of microseconds per object. orjson with
``OPT_SORT_KEYS`` writes byte-identical output when

- every object key is ASCII (RFC 8785 sorts by UTF-16 code units, orjson by code points: equal for ASCII),
- every integer is within +-(2**53 - 1) (beyond that RFC 8785 refuses or rounds through IEEE doubles),
- every float is integral within +-(2**53 - 1) (written as an integer: we convert it first, as ECMAScript does), or
  non-integral with magnitude in [1e-5, 1e21) (ECMAScript switches to exponent notation below 1e-6 but
  orjson already below 1e-5, so the lead's suggested 1e-6 bound was too wide: 1.5e-6 differs).

Everything else falls back to `rfc8785`. ``tests/unit/ledger/test_canonical.py`` property-tests the
equivalence.
"""

from __future__ import annotations

import math
from typing import Any

import orjson
import rfc8785

from batteryloop.domain.errors import ValidationError

_MAX_SAFE_INT = 2**53 - 1  # RFC 8785 (and the rfc8785 package) refuse 2**53 itself
_SORT = orjson.OPT_SORT_KEYS


class _Slow(Exception):
    """The fast path cannot guarantee RFC 8785 output for this value."""


def _prepare(value: Any) -> Any:
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return value
    if kind is int:
        if -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
            return value
        raise _Slow
    if kind is float:
        if not math.isfinite(value):
            raise ValidationError(f"JSON cannot carry the number {value!r}")
        if value.is_integer():
            if -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
                return int(value)
            raise _Slow
        magnitude = abs(value)
        if 1e-5 <= magnitude < 1e21:
            return value
        raise _Slow
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str or not key.isascii():
                raise _Slow
            out[key] = _prepare(item)
        return out
    if kind is list or kind is tuple:
        return [_prepare(item) for item in value]
    raise _Slow


def _flat_ok(value: dict[Any, Any]) -> bool:
    """True when a flat object can go straight to orjson (the common payload shape)."""
    for key, item in value.items():
        if type(key) is not str or not key.isascii():
            return False
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if -_MAX_SAFE_INT <= item <= _MAX_SAFE_INT:
                continue
            return False
        if kind is float and 1e-5 <= abs(item) < 1e21 and not item.is_integer():
            continue
        return False
    return True


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON value (dict, list, str, int, float, bool, None)."""
    if type(value) is dict and _flat_ok(value):
        return orjson.dumps(value, option=_SORT)
    try:
        return orjson.dumps(_prepare(value), option=_SORT)
    except _Slow:
        pass
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise ValidationError(f"value is not canonical JSON: {exc}") from exc


def canonical_json_reference(value: Any) -> bytes:
    """The slow reference serialisation (used by tests and by anyone who distrusts the fast path)."""
    return rfc8785.dumps(value)
