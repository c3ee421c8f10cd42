"""The one transaction helper: connections, the write lock, commit and rollback, and database errors turned
into domain errors. Nothing else in the ledger begins, locks, commits or rolls back.

The write lock serialises appends and the projection rebuild: SQLite ``BEGIN IMMEDIATE`` (one writer per
file), PostgreSQL ``pg_advisory_xact_lock`` (held until the transaction ends). Reads take one snapshot (a
SQLite read transaction; PostgreSQL ``REPEATABLE READ, READ ONLY``), so several reads agree with each other.

The hot paths talk to the DB-API connection under SQLAlchemy's pool (see ``store``); organisations and small
reads use SQLAlchemy Core connections, handed out here too so that their errors are translated alike.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import sqlalchemy.exc
from sqlalchemy import Connection
from sqlalchemy import Engine as Engine  # the ledger facade holds one; it is typed from here

from batteryloop.domain.errors import BatteryloopError, ConflictError, NotFoundError, StorageError
from batteryloop.ledger.adapters.store import Sql

LOCK_KEY = 0x6261_7474_6C6F_6F70 & 0x7FFF_FFFF_FFFF_FFFF  # "battloop": the PostgreSQL advisory lock

# a unique index or a constraint refused a row: the caller may retry more carefully before giving up
INTEGRITY_ERRORS: tuple[type[Exception], ...] = (
    sqlite3.IntegrityError,
    psycopg.IntegrityError,
    sqlalchemy.exc.IntegrityError,
)
_DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error, sqlalchemy.exc.SQLAlchemyError)

Query = Callable[..., list[Any]]


def open_engine(url: str | None, *, create: bool, sqlite_synchronous: str) -> Engine:
    """The engine of the ledger at ``url`` (default: env BATTERYLOOP_DATABASE_URL or ./batteryloop.db),
    migrated to the latest schema with ``create``; NotFoundError without it when the schema is not there."""
    from batteryloop.db.engine import database_url, make_engine
    from batteryloop.db.migrate import current_revision, head_revision, upgrade

    with storage_errors():
        engine = make_engine(database_url(url), sqlite_synchronous=sqlite_synchronous)
        if create:
            upgrade(engine)
        elif current_revision(engine) != head_revision(engine):
            engine.dispose()
            raise NotFoundError(
                f"no ledger at {database_url(url)} (or its schema is not at the latest migration); "
                "open it with create=True to create or migrate it"
            )
    return engine


def domain_error(exc: BaseException) -> BaseException:
    """The domain error for a database error (ConflictError for a refused row, StorageError for the rest);
    any other exception unchanged."""
    if isinstance(exc, BatteryloopError) or not isinstance(exc, _DATABASE_ERRORS):
        return exc
    text = str(getattr(exc, "orig", None) or exc).strip()
    detail = text.splitlines()[0] if text else type(exc).__name__
    if isinstance(exc, INTEGRITY_ERRORS):
        return ConflictError(f"the change conflicts with stored data: {detail}")
    return StorageError(f"the database failed: {detail}")


@contextmanager
def storage_errors() -> Iterator[None]:
    """Re-raise database errors as domain errors (:func:`domain_error`)."""
    try:
        yield
    except _DATABASE_ERRORS as exc:
        raise domain_error(exc) from exc


def begin_snapshot(cur: Any, pg: bool) -> None:
    """Start a read-only snapshot on ``cur``'s connection (SQLite read transaction; PostgreSQL REPEATABLE
    READ)."""
    if pg:
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    else:
        cur.execute("BEGIN")


def end_snapshot(dbapi: Any, cur: Any, pg: bool) -> None:
    """End the snapshot :func:`begin_snapshot` started and close ``cur``."""
    if pg:
        dbapi.rollback()
    else:
        cur.execute("ROLLBACK")
    cur.close()


class WriteTx:
    """A write transaction holding the ledger's write lock on its own DB-API connection.

    ``cur`` is the cursor to write on. End it with :meth:`commit` or :meth:`rollback` (each closes it);
    the commit may run on another thread than the one that began it.
    """

    __slots__ = ("cur", "pg", "raw")

    def __init__(self, raw: Any, pg: bool) -> None:
        self.raw = raw
        self.pg = pg
        self.cur = raw.driver_connection.cursor()
        try:
            if pg:
                self.cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            else:
                self.cur.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.rollback()
            raise

    def commit(self) -> None:
        """Commit and close; on failure roll back, close and re-raise."""
        try:
            if self.pg:
                self.raw.driver_connection.commit()
            else:
                self.cur.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise
        self.cur.close()
        self.raw.close()

    def rollback(self) -> None:
        """Roll back whatever is open and close the connection."""
        try:
            dbapi = self.raw.driver_connection
            if self.pg:
                dbapi.rollback()
            elif dbapi.in_transaction:
                self.cur.execute("ROLLBACK")
        finally:
            self.raw.close()


class Database:
    """One engine's transactions, in the ledger's two dialects."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sql = Sql(engine.dialect.name)

    def begin_write(self) -> WriteTx:
        """A new write transaction, the write lock taken (waits for the current writer)."""
        return WriteTx(self.engine.raw_connection(), self.sql.pg)

    @contextmanager
    def writing(self) -> Iterator[Any]:
        """A write transaction's cursor: committed when the block ends, rolled back if it raises."""
        with storage_errors():
            tx = self.begin_write()
            try:
                yield tx.cur
            except BaseException:
                tx.rollback()
                raise
            tx.commit()

    @contextmanager
    def reading(self) -> Iterator[Query]:
        """``query(sql, params) -> rows`` on one consistent snapshot for several reads."""
        with storage_errors():
            raw = self.engine.raw_connection()
            try:
                dbapi: Any = raw.driver_connection
                cur = dbapi.cursor()
                pg, q = self.sql.pg, self.sql.q
                begin_snapshot(cur, pg)

                def query(sql_text: str, params: tuple[Any, ...] = ()) -> list[Any]:
                    cur.execute(q(sql_text), params)
                    return list(cur.fetchall())

                try:
                    yield query
                finally:
                    end_snapshot(dbapi, cur, pg)
            finally:
                raw.close()

    def rows(self, sql_text: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """The rows of one query in a snapshot of its own."""
        with self.reading() as query:
            return query(sql_text, params)

    @contextmanager
    def dbapi(self) -> Iterator[Any]:
        """A pooled DB-API connection, for code that manages its own snapshots (verify)."""
        with storage_errors():
            raw = self.engine.raw_connection()
            try:
                yield raw.driver_connection
            finally:
                raw.close()

    @contextmanager
    def core(self, *, write: bool = False) -> Iterator[Connection]:
        """A SQLAlchemy Core connection: with ``write`` in a transaction committed at the end of the block."""
        with storage_errors(), self.engine.begin() if write else self.engine.connect() as conn:
            yield conn
