"""The Ledger facade and its transaction helper, without a database."""

from __future__ import annotations

import inspect
import sqlite3

import psycopg
import pytest
import sqlalchemy.exc

from batteryloop.domain.errors import ConflictError, NotFoundError, StorageError
from batteryloop.ledger import Ledger
from batteryloop.ledger.adapters.tx import domain_error, storage_errors


@pytest.mark.parametrize(
    ("raised", "expected", "message"),
    [
        (
            sqlite3.IntegrityError("UNIQUE constraint failed: codes.scheme, codes.code"),
            ConflictError,
            "UNIQUE",
        ),
        (psycopg.errors.UniqueViolation("duplicate key value"), ConflictError, "duplicate key"),
        (sqlite3.OperationalError("database is locked"), StorageError, "database is locked"),
        (psycopg.OperationalError("connection refused"), StorageError, "connection refused"),
        (
            sqlalchemy.exc.OperationalError(
                "SELECT 1", {}, sqlite3.OperationalError("unable to open database file")
            ),
            StorageError,
            "unable to open database file",
        ),
    ],
)
def test_database_errors_become_domain_errors_naming_the_cause(
    raised: Exception, expected: type[Exception], message: str
) -> None:
    with pytest.raises(expected, match=message) as info, storage_errors():
        raise raised
    assert info.value.__cause__ is raised


def test_other_errors_pass_unchanged() -> None:
    for exc in (NotFoundError("battery b1 is not registered"), ValueError("x"), KeyError("k")):
        assert domain_error(exc) is exc


def test_the_facade_keeps_its_public_methods_and_signatures() -> None:
    public = {name for name in dir(Ledger) if not name.startswith("_") and callable(getattr(Ledger, name))}
    assert public >= {
        "open", "close", "keystore", "register_organisation", "get_organisation", "list_organisations",
        "add_signing_key", "issue_api_key", "authenticate", "append", "append_events", "append_bulk",
        "find_by_code", "read_stream", "battery", "status", "children", "batteries", "trace", "iter_events",
        "counts", "verify", "latest_checkpoint", "projection_rows", "rebuild_projection",
    }  # fmt: skip
    assert str(inspect.signature(Ledger.append)) == (
        "(self, batch: 'SignedBatch', *, expected_versions: 'Mapping[str, int] | None' = None) -> 'AppendResult'"
    )
    assert str(inspect.signature(Ledger.verify)) == (
        "(self, *, progress: 'Callable[[int], None] | None' = None, anchor: 'str | None' = None, "
        "workers: 'int | None' = None, anchors: 'Sequence[Checkpoint]' = ()) -> 'VerifyReport'"
    )
    assert str(inspect.signature(Ledger.open)) == (
        "(url: 'str | None', *, create: 'bool' = True, settings: 'LedgerSettings | None' = None) -> 'Ledger'"
    )
    assert str(inspect.signature(Ledger.append_bulk)) == (
        "(self, batches_in: 'Iterable[SignedBatch]', *, progress: 'Callable[[int], None] | None' = None) "
        "-> 'int'"
    )
    assert str(inspect.signature(Ledger.iter_events)) == (
        "(self, *, after_position: 'int' = 0, batch_size: 'int | None' = None) -> 'Iterator[RecordedEvent]'"
    )
