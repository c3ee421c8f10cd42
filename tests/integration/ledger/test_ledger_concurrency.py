"""Two writers on one database: positions stay contiguous, chains intact, expected versions honoured."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from batteryloop.domain.errors import ConflictError
from batteryloop.domain.lifecycle import EventType as E
from batteryloop.ledger import Ledger


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'c.db'}"
    else:
        led = request.getfixturevalue("pg_ledger")  # a freshly migrated database
        yield led.engine.url.render_as_string(hide_password=False)


def test_two_writers_and_a_verifier(url: str, bl: Any) -> None:
    first = Ledger.open(url)
    second = Ledger.open(url, create=False)
    world = bl.build_world(first)
    dealer = bl.Actor("dealer", world.dealer.key, second)
    world.maker.append(bl.manufactured("shared"))
    errors: list[BaseException] = []
    reports: list[Any] = []

    def write(actor: Any, prefix: str) -> None:
        try:
            for i in range(15):
                actor.append(
                    bl.manufactured(f"{prefix}{i}"),
                    bl.ev(f"{prefix}{i}", E.PASSPORT_DATA_REGISTERED, {"warranty_months": i + 1}),
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def check() -> None:
        for _ in range(5):
            reports.append(Ledger.verify(first))

    threads = [
        threading.Thread(target=write, args=(world.maker, "a")),
        threading.Thread(target=write, args=(dealer, "b")),
        threading.Thread(target=check),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(r.ok for r in reports), [r for r in reports if not r.ok]
    final = second.verify()
    assert final.ok, final
    assert final.events_checked == 61
    positions = [e.position for e in second.iter_events()]
    assert positions == list(range(1, 62))
    assert second.status("b14").version == 2
    assert first.status("b14").custodian == "dealer"

    # optimistic concurrency: both writers saw version 1 of "shared"; only the first append wins
    world.maker.append(
        bl.ev("shared", E.PASSPORT_DATA_REGISTERED, {"warranty_months": 1}), expected_versions={"shared": 1}
    )
    with pytest.raises(ConflictError, match="battery shared is not at version 1"):
        world.maker.append(
            bl.ev("shared", E.PASSPORT_DATA_REGISTERED, {"warranty_months": 2}),
            expected_versions={"shared": 1},
        )
    first.close()
    second.close()
