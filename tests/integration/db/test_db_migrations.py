"""Migrations upgrade empty SQLite and PostgreSQL databases to head and back down to nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from batteryloop.db import downgrade, make_engine, upgrade
from batteryloop.db.engine import database_url, normalise_url
from batteryloop.db.migrate import current_revision, head_revision
from batteryloop.db.schema import metadata

LEDGER_TABLES = set(metadata.tables)


def _roundtrip(url: str) -> None:
    engine = make_engine(url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision(engine) == "0001"
        tables = set(inspect(engine).get_table_names())
        assert tables >= LEDGER_TABLES
        for table in LEDGER_TABLES:  # migrations create exactly the columns the Core tables declare
            columns = {c["name"] for c in inspect(engine).get_columns(table)}
            assert columns == set(metadata.tables[table].columns.keys()), table
        upgrade(engine)  # idempotent
        downgrade(engine)
        assert current_revision(engine) is None
        assert not (LEDGER_TABLES & set(inspect(engine).get_table_names()))
        upgrade(engine)  # and up again after a full downgrade
        assert current_revision(engine) == "0001"
    finally:
        engine.dispose()


def test_sqlite_upgrade_and_downgrade(tmp_path: Path) -> None:
    _roundtrip(f"sqlite:///{tmp_path / 'm.db'}")


def test_sqlite_runs_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    engine.dispose()
    with pytest.raises(ValueError, match="sqlite_synchronous"):
        make_engine(f"sqlite:///{tmp_path / 'x.db'}", sqlite_synchronous="OFF")


def test_default_url_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BATTERYLOOP_DATABASE_URL", raising=False)
    assert database_url() == "sqlite:///./batteryloop.db"
    monkeypatch.setenv("BATTERYLOOP_DATABASE_URL", "sqlite:////tmp/elsewhere.db")
    assert database_url() == "sqlite:////tmp/elsewhere.db"
    assert database_url("sqlite:///given.db") == "sqlite:///given.db"
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"


@pytest.mark.pg
def test_postgresql_upgrade_and_downgrade(pg_url: str) -> None:
    engine = make_engine(pg_url)
    downgrade(engine)  # the session database may hold tables from other tests
    engine.dispose()
    _roundtrip(pg_url)
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        grants = (
            conn.execute(
                text(
                    "SELECT privilege_type FROM information_schema.role_table_grants "
                    "WHERE table_name = 'events' AND grantee = 'PUBLIC'"
                )
            )
            .scalars()
            .all()
        )
        triggers = (
            conn.execute(
                text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'events'::regclass AND NOT tgisinternal")
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert not {"UPDATE", "DELETE", "TRUNCATE"} & set(grants)
    assert set(triggers) == {"events_append_only", "events_no_truncate"}
