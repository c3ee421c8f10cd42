"""The orjson fast path writes exactly what the RFC 8785 reference writes."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from batteryloop.domain.errors import ValidationError
from batteryloop.ledger.core.canonical import canonical_json, canonical_json_reference

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(min_value=1e-7, max_value=1e-4)  # around the fixed/exponent switch of both writers
    | st.floats(min_value=1e15, max_value=1e22)
    | st.integers(min_value=0, max_value=10**6).map(float)  # integral floats
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_fast_path_equals_rfc8785(value: Any) -> None:
    _same_as_reference(value)


def _same_as_reference(value: Any) -> None:
    try:
        expected = canonical_json_reference(value)
    except rfc8785.CanonicalizationError:
        with pytest.raises(ValidationError):
            canonical_json(value)
        return
    assert canonical_json(value) == expected


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=6), json_scalars, max_size=8))
def test_flat_objects_equal_rfc8785(value: dict[str, Any]) -> None:
    _same_as_reference(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"b": 1, "a": [1.5, "é", None, True]}, b'{"a":[1.5,"\xc3\xa9",null,true],"b":1}'),
        ({"soh_pct": 93.0}, b'{"soh_pct":93}'),  # integral floats are written as integers
        ({"x": 1.5e-6}, b'{"x":0.0000015}'),  # ECMAScript keeps fixed notation down to 1e-6
        ({"x": 1e21}, b'{"x":1e+21}'),
        ({"x": -0.0}, b'{"x":0}'),
        ({"é": 1, "z": 2, "e": 3}, b'{"e":3,"z":2,"\xc3\xa9":1}'),  # non-ASCII keys sort after ASCII
        ({"\uff5e": 1, "\U0001f600": 2}, '{"\U0001f600":2,"\uff5e":1}'.encode()),  # UTF-16 order
        ({"c": '\x1f\n"'}, b'{"c":"\\u001f\\n\\""}'),
    ],
)
def test_hand_checked_outputs(value: Any, expected: bytes) -> None:
    assert canonical_json(value) == expected


def test_non_finite_and_unsupported_values_are_refused() -> None:
    with pytest.raises(ValidationError, match="cannot carry"):
        canonical_json({"x": float("nan")})
    with pytest.raises(ValidationError, match="not canonical JSON"):
        canonical_json({"x": object()})
    with pytest.raises(ValidationError, match="not canonical JSON"):
        canonical_json({"x": 2**53})  # beyond the IEEE double safe range: RFC 8785 refuses
    assert canonical_json({"x": 2**53 - 1}) == b'{"x":9007199254740991}'
