"""Event ids: UUIDv7 text, formatted fast but exactly as the standard library would."""

from __future__ import annotations

import itertools
import uuid

from hypothesis import given
from hypothesis import strategies as st

from batteryloop.domain.ids import uuid_texts
from batteryloop.ledger.adapters.store import new_event_ids

LOW64 = (1 << 64) - 1


@given(st.integers(0, (1 << 128) - 1000), st.integers(1, 300))
def test_uuid_texts_equal_the_standard_librarys(base: int, count: int) -> None:
    assert uuid_texts(base, count) == [str(uuid.UUID(int=base + i)) for i in range(count)]


def test_runs_that_carry_past_the_last_12_digits_or_into_the_high_half() -> None:
    for base in ((5 << 64) | (LOW64 - 2), (7 << 48) - 3, (1 << 48) - 1):
        assert uuid_texts(base, 6) == [str(uuid.UUID(int=base + i)) for i in range(6)]
    assert uuid_texts((1 << 48) - 6, 6) == [str(uuid.UUID(int=(1 << 48) - 6 + i)) for i in range(6)]


def test_new_event_ids_are_version_7_and_strictly_increasing() -> None:
    first, second = new_event_ids(500), new_event_ids(3)
    ids = [uuid.UUID(t) for t in first + second]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in ids)
    assert all(a.int < b.int for a, b in itertools.pairwise(ids))
