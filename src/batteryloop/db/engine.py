"""Engine construction for SQLite (embedded default) and PostgreSQL (psycopg 3).

SQLite is opened in WAL mode. ``synchronous`` is FULL by default (every commit is fsynced: durable across
power loss); NORMAL is durable across application crashes but a power loss may drop the last commits. The
benchmark measures both (benchmarks/bench_ledger.py) and FULL costs little because ledger commits are batches
of thousands of events. pysqlite's implicit transactions are switched off: SQLAlchemy emits BEGIN itself and
the ledger's write path emits BEGIN IMMEDIATE, so the writer takes the lock before reading the head.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, create_engine, event

DEFAULT_DATABASE_URL = "sqlite:///./batteryloop.db"
SQLITE_SYNCHRONOUS_MODES = ("FULL", "NORMAL")


def database_url(url: str | None = None) -> str:
    """The URL to use: the argument, else env BATTERYLOOP_DATABASE_URL, else ./batteryloop.db."""
    if url:
        return url
    return os.environ.get("BATTERYLOOP_DATABASE_URL") or DEFAULT_DATABASE_URL


def normalise_url(url: str) -> str:
    """Route plain ``postgresql://`` URLs to psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str | None = None, *, sqlite_synchronous: str = "FULL") -> Engine:
    url = normalise_url(database_url(url))
    if url.startswith("sqlite"):
        if sqlite_synchronous.upper() not in SQLITE_SYNCHRONOUS_MODES:
            raise ValueError(f"sqlite_synchronous must be one of {SQLITE_SYNCHRONOUS_MODES}")
        engine = create_engine(url, connect_args={"check_same_thread": False})
        mode = sqlite_synchronous.upper()

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={mode}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.execute("PRAGMA cache_size=-65536")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True)
