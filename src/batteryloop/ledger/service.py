"""The Ledger facade: the one object the CLI, the API and Python users call."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import psycopg
from sqlalchemy import Engine, func, select

from batteryloop import orgs
from batteryloop.db.engine import database_url, make_engine
from batteryloop.db.migrate import current_revision, head_revision, upgrade
from batteryloop.db.schema import batches, battery_state, events, organisations
from batteryloop.domain.errors import (
    BatteryloopError,
    ConflictError,
    NotFoundError,
    SignatureError,
    ValidationError,
)
from batteryloop.domain.lifecycle import EventType, UnitStatus, apply, check_payload
from batteryloop.domain.organisation import Organisation
from batteryloop.ledger.envelope import (
    AppendResult,
    BatteryRow,
    CustodySpan,
    LedgerCounts,
    RecordedEvent,
    Trace,
    TreeNode,
    VerifyReport,
)
from batteryloop.ledger.gcpause import gc_paused
from batteryloop.ledger.integrity import (
    ZERO_DIGEST,
    EventIn,
    PreparedColumns,
    SignedBatch,
    event_hash_of,
    merkle_root_of_digests,
    prepare_columns,
    verify_root_signature,
)
from batteryloop.ledger.keystore import KeyStore, keystore_dir_for
from batteryloop.ledger.projection import SELECT_STATE, STATE_COLUMNS, fold_rows, row_from_db, row_to_db
from batteryloop.ledger.settings import LedgerSettings
from batteryloop.ledger.store import (
    BATCH_OF_EVENT,
    LOCK_KEY,
    READ_EVENTS,
    Sql,
    StreamCache,
    append_locked,
    commit_cache,
    content_of_stored,
    read_head,
)
from batteryloop.ledger.verify import verify_ledger

Query = Callable[..., list[Any]]


@dataclass
class _OpenWrite:
    """Batches validated and inserted under the write lock, their commit still to do."""

    raw: Any
    cur: Any
    results: list[AppendResult]


@dataclass
class _Speculation:
    """A group validated ahead of the write lock: where the ledger ended then, and each batch's result and
    insert."""

    start: tuple[int, str]  # (head position, last checkpoint) the validation assumed
    items: list[tuple[AppendResult, Callable[..., None] | None]]


@dataclass
class _Checked:
    """A signed batch whose signature and Merkle root were checked, with its prepared events."""

    batch: SignedBatch
    prepared: PreparedColumns
    root: str


def _instant(text_value: str) -> datetime:
    return datetime.fromisoformat(text_value)


def derived_of_row(row: Any) -> tuple[str, str, str]:
    """(payload hash, idempotency key, content hash) of a read row (READ_COLUMNS), as hex / text."""
    return content_of_stored(row[8], row[2], row[4], row[10], row[6], row[9], row[5])


def recorded_from_row(row: Any, derived: tuple[str, str, str] | None = None) -> RecordedEvent:
    """The envelope of a read row; ``derived``: its :func:`derived_of_row`, when already computed."""
    payload_hash, key, content_hash = derived or derived_of_row(row)
    return RecordedEvent(
        position=int(row[0]),
        event_id=row[1],
        battery_id=row[2],
        stream_seq=int(row[3]),
        event_type=EventType(row[4]),
        schema_version=int(row[5]),
        occurred_at=_instant(row[6]),
        recorded_at=_instant(row[7]),
        actor=row[8],
        payload=orjson.loads(row[9]),
        payload_hash=payload_hash,
        idempotency_key=key,
        content_hash=content_hash,
        prev_hash=bytes(row[11]).hex(),
        event_hash=bytes(row[12]).hex(),
        batch_id=row[13],
    )


def check_stream_chain(rows: Sequence[Any], derived: Sequence[tuple[str, str, str]]) -> str | None:
    """Recompute the event hashes and the chain of one stream's read rows (seq order), each with its
    :func:`derived_of_row` (the content hash comes from there).

    Returns None when intact, else the reason naming the first broken event.
    """
    prev = ZERO_DIGEST
    expected_seq = 1
    for row, (_payload_hash, _key, content_hash) in zip(rows, derived, strict=True):
        position, event_id, battery_id, seq, _type, _version, _occurred, recorded_at = row[:8]
        prev_hash, event_hash = row[11], row[12]
        where = f"event {event_id} at position {position}"
        if not all(type(h) is bytes for h in (prev_hash, event_hash)):
            return f"{where}: a stored hash is not a digest"
        if seq != expected_seq:
            return f"{where}: stream sequence {seq}, expected {expected_seq}"
        if prev_hash != prev:
            return f"{where}: previous hash does not match the stream's preceding event"
        eh = event_hash_of(
            position=position,
            event_id=event_id,
            battery_id=battery_id,
            stream_seq=seq,
            recorded_at=recorded_at,
            content_hash=content_hash,
            prev_hash=prev_hash.hex(),
        )
        if eh != event_hash.hex():
            return f"{where}: event hash does not match the event's fields"
        prev = event_hash
        expected_seq += 1
    return None


_FORKED_BATCHES: Sequence[SignedBatch] = ()  # in a forked helper process: the batches it prepares


def _inherit_batches(batches: Sequence[SignedBatch]) -> None:
    global _FORKED_BATCHES
    _FORKED_BATCHES = batches


def _prepare_forked(index: int) -> tuple[tuple[list[Any], ...], str] | None:
    """In the forked helper: prepare batch ``index`` of the inherited batches; None on any error.

    Also runs the domain's payload check (flagged per event, so the parent skips only checks that passed).
    Returned as the columns of :class:`PreparedColumns` without the events: cheaper to pickle than one tuple
    per event, and the parent has the events already.
    """
    batch = _FORKED_BATCHES[index]
    try:
        prepared = prepare_columns(batch.events, actor=batch.actor)
        root = merkle_root_of_digests(prepared.content_digest)
    except Exception:
        return None
    checked = prepared.payload_checked
    for i, event in enumerate(batch.events):
        try:
            check_payload(event.battery_id, event.event_type, event.payload)
            checked[i] = True
        except Exception:
            checked[i] = False
    return tuple(prepared[1:]), root


class Ledger:
    """Append-only, hash-chained, Merkle-signed ledger of battery lifecycle events."""

    def __init__(self, engine: Engine, *, settings: LedgerSettings | None = None) -> None:
        self.engine = engine
        self.settings = settings or LedgerSettings.from_file()
        self.sql = Sql(engine.dialect.name)
        self._cache = StreamCache()

    # ----------------------------------------------------------------- lifecycle
    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        create: bool = True,
        settings: LedgerSettings | None = None,
    ) -> Ledger:
        """Open the ledger at ``url`` (default: env BATTERYLOOP_DATABASE_URL or ./batteryloop.db).

        With ``create`` the database is migrated to the latest schema first.
        """
        settings = settings or LedgerSettings.from_file()
        engine = make_engine(database_url(url), sqlite_synchronous=settings.sqlite_synchronous)
        if create:
            upgrade(engine)
        elif current_revision(engine) != head_revision(engine):
            engine.dispose()
            raise NotFoundError(
                f"no ledger at {database_url(url)} (or its schema is not at the latest migration); "
                "open it with create=True to create or migrate it"
            )
        return cls(engine, settings=settings)

    def close(self) -> None:
        self.engine.dispose()

    def keystore(self) -> KeyStore:
        """The CLI's private-key store next to the database: ``<db>.keys/<org_id>/<key_id>.pem``."""
        return KeyStore(keystore_dir_for(self.engine.url.render_as_string(hide_password=True)))

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- organisations
    def register_organisation(self, org: Organisation) -> None:
        with self.engine.begin() as conn:
            orgs.register_organisation(conn, org=org)

    def get_organisation(self, org_id: str) -> Organisation:
        with self.engine.connect() as conn:
            return orgs.get_organisation(conn, org_id=org_id)

    def list_organisations(self) -> list[Organisation]:
        with self.engine.connect() as conn:
            return orgs.list_organisations(conn)

    def add_signing_key(self, org_id: str, public_key: bytes) -> str:
        with self.engine.begin() as conn:
            return orgs.add_signing_key(conn, org_id=org_id, public_key=public_key)

    def issue_api_key(self, org_id: str) -> str:
        with self.engine.begin() as conn:
            return orgs.issue_api_key(conn, org_id=org_id)

    def authenticate(self, api_key: str) -> Organisation:
        with self.engine.connect() as conn:
            return orgs.authenticate(conn, api_key=api_key)

    # ----------------------------------------------------------------- append
    def _check_batch(
        self,
        batch: SignedBatch,
        precomputed: tuple[PreparedColumns, str] | None = None,
        signers: dict[tuple[str, str], bytes] | None = None,
    ) -> tuple[PreparedColumns, str]:
        """Check the batch's size, signer and key, its Merkle root and signature; return its prepared
        events and root. ``precomputed``: the prepared events and root a helper process computed with the
        very same code (:func:`_prepare_forked`). ``signers``: (actor, key id) -> public key pairs already
        looked up in this call (append_bulk), which saves three queries (~0.27 ms) per batch."""
        if not batch.events:
            raise ValidationError("a batch must hold at least one event")
        if len(batch.events) > self.settings.max_batch_events:
            raise ValidationError(
                f"a batch may hold at most {self.settings.max_batch_events} events, got {len(batch.events)}"
            )
        known = signers.get((batch.actor, batch.key_id)) if signers is not None else None
        if known is None:
            with self.engine.connect() as conn:
                orgs.get_organisation(conn, org_id=batch.actor)
                try:
                    owner, public_key = orgs.signing_key(conn, key_id=batch.key_id)
                except NotFoundError as exc:
                    raise SignatureError(f"batch signed with unknown key {batch.key_id!r}") from exc
            if owner != batch.actor:
                raise SignatureError(f"key {batch.key_id} belongs to {owner}, not to {batch.actor}")
            if signers is not None:
                signers[(batch.actor, batch.key_id)] = public_key
        else:
            public_key = known
        if precomputed is None:
            prepared = prepare_columns(batch.events, actor=batch.actor)
            root = merkle_root_of_digests(prepared.content_digest)
        else:
            prepared, root = precomputed
        if root != batch.merkle_root:
            raise SignatureError(
                f"the batch claims Merkle root {batch.merkle_root} but its events give {root}"
            )
        verify_root_signature(root, batch.signature, public_key)
        return prepared, root

    def append(
        self, batch: SignedBatch, *, expected_versions: Mapping[str, int] | None = None
    ) -> AppendResult:
        """Verify the signature, validate every event, and write the whole batch or nothing."""
        prepared, root = self._check_batch(batch)
        return self._write_checked(batch, prepared, root, expected_versions)

    def append_events(
        self,
        events: Sequence[EventIn],
        *,
        actor: str,
        key_id: str,
        signature: bytes,
        expected_versions: Mapping[str, int] | None = None,
    ) -> AppendResult:
        """Append events that arrive with a signature but no Merkle root (the HTTP API): the root is
        computed once from the events, and the signature must verify over it."""
        prepared = prepare_columns(events, actor=actor)
        root = merkle_root_of_digests(prepared.content_digest)
        batch = SignedBatch(
            actor=actor, key_id=key_id, events=tuple(events), merkle_root=root, signature=signature
        )
        checked, root = self._check_batch(batch, (prepared, root))
        return self._write_checked(batch, checked, root, expected_versions)

    def _write_checked(
        self,
        batch: SignedBatch,
        prepared: PreparedColumns,
        root: str,
        expected_versions: Mapping[str, int] | None,
    ) -> AppendResult:
        try:
            return self._write(batch, prepared, root, expected_versions, check_stored_keys=False)
        except (BatteryloopError, sqlite3.IntegrityError, psycopg.IntegrityError):
            # a replayed key makes the fast pass fail (unique index, or the replayed event is illegal
            # now); the careful pass looks the keys up first and gives the authoritative answer
            pass
        try:
            return self._write(batch, prepared, root, expected_versions, check_stored_keys=True)
        except (sqlite3.IntegrityError, psycopg.IntegrityError) as exc:
            raise ConflictError(f"the batch conflicts with stored data: {exc}") from exc

    def _begin(
        self,
        batch: SignedBatch,
        prepared: PreparedColumns,
        root: str,
        expected_versions: Mapping[str, int] | None,
        *,
        check_stored_keys: bool,
    ) -> _OpenWrite:
        """Take the write lock and validate the batch; the inserts and the commit are left to _finish."""
        raw = self.engine.raw_connection()
        dbapi: Any = raw.driver_connection
        cur = dbapi.cursor()
        try:
            self._lock(cur)
            result, write = self._validate(
                cur,
                _Checked(batch, prepared, root),
                expected_versions=expected_versions,
                check_stored_keys=check_stored_keys,
            )
            if write is not None:
                write()  # here, not in the commit thread: executemany drops the GIL per row (a convoy)
        except BaseException:
            self._abort(raw, cur)
            raise
        return _OpenWrite(raw, cur, [result])

    def _lock(self, cur: Any) -> None:
        """Begin the write transaction holding the ledger's write lock."""
        if self.sql.pg:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        else:
            cur.execute("BEGIN IMMEDIATE")

    def _finish(self, open_write: _OpenWrite) -> AppendResult:
        return self._finish_all(open_write)[0]

    def _finish_all(self, open_write: _OpenWrite) -> list[AppendResult]:
        """Commit, then let the stream cache keep what was written; on any error it is reset."""
        try:
            results = self._commit_group(open_write)
        except BaseException:
            self._cache.reset()
            raise
        commit_cache(self._cache)
        return results

    def _abort(self, raw: Any, cur: Any) -> None:
        self._cache.reset()
        self._rollback(raw, cur)

    def _rollback(self, raw: Any, cur: Any) -> None:
        try:
            dbapi = raw.driver_connection
            if self.sql.pg:
                dbapi.rollback()
            elif dbapi.in_transaction:
                cur.execute("ROLLBACK")
        finally:
            raw.close()

    def _write(
        self,
        batch: SignedBatch,
        prepared: PreparedColumns,
        root: str,
        expected_versions: Mapping[str, int] | None,
        *,
        check_stored_keys: bool,
    ) -> AppendResult:
        return self._finish(
            self._begin(batch, prepared, root, expected_versions, check_stored_keys=check_stored_keys)
        )

    def append_bulk(
        self, batches_in: Iterable[SignedBatch], progress: Callable[[int], None] | None = None
    ) -> int:
        """Append many signed batches, each atomically, in order; return the number of events appended.

        ``progress`` receives the number of events of each batch once it is written. A failing batch
        raises; the batches before it stay committed, the ones after it are not written.

        Pipelined on two threads: while a commit runs (SQLite and psycopg release the GIL for the page
        writes and the fsync), the next batches are canonicalised, hashed and their signatures checked.
        Batches that arrive while a commit is still running are written together in the next transaction
        (at most ``group_max_events`` events / ``group_max_batches`` batches): each keeps its own Merkle root,
        signature, batch row and checkpoint, but they share one commit (one fsync), which is what tiny batches
        pay for most. If any batch of a group fails, the group is rolled back and its batches are re-applied
        one transaction each, so the ones before the failing batch commit and its error is raised.
        Validation under the write lock still happens in order, after the previous group has committed.
        """
        total = 0

        def done(result: AppendResult) -> None:
            nonlocal total
            total += result.appended
            if progress is not None:
                progress(result.appended + result.duplicates)

        max_events = self.settings.group_max_events
        max_batches = self.settings.group_max_batches
        with gc_paused(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-commit") as pool:
            inflight: tuple[Future[list[AppendResult]], list[_Checked]] | None = None
            group: list[_Checked] = []
            group_events = 0
            failure: Exception | None = None
            signers: dict[tuple[str, str], bytes] = {}  # looked up once per call
            for batch, precomputed in self._prepared_ahead(batches_in):
                try:
                    prepared, root = self._check_batch(batch, precomputed, signers)  # overlaps the commit
                except Exception as exc:  # commit the batches before it, then raise
                    failure = exc
                    break
                group.append(_Checked(batch, prepared, root))
                group_events += len(batch.events)
                if inflight is not None:
                    if not inflight[0].done() and group_events < max_events and len(group) < max_batches:
                        continue  # the commit is still running: let the next batch join this group
                    running, inflight = inflight, None
                    to_write, group, group_events = group, [], 0
                    inflight = self._next_group(running, to_write, pool, done)
                    continue
                to_write, group, group_events = group, [], 0
                inflight = self._write_group(to_write, pool, done)
            if group:
                to_write, group = group, []
                if inflight is not None:
                    running, inflight = inflight, None
                    inflight = self._next_group(running, to_write, pool, done)
                else:
                    inflight = self._write_group(to_write, pool, done)
            if inflight is not None:
                running, inflight = inflight, None
                self._settle_group(*running, done)
            if failure is not None:
                raise failure
        return total

    def _prepared_ahead(
        self, batches_in: Iterable[SignedBatch]
    ) -> Iterator[tuple[SignedBatch, tuple[PreparedColumns, str] | None]]:
        """Each batch with its prepared events and Merkle root computed ahead in a forked helper process
        (the second core), or with None (computed by _check_batch here).

        Used for a list or tuple of at least ``parallel_prepare_min_events`` events where fork is available:
        the child inherits the batches, so only the results cross the process boundary (pickling the
        events themselves would cost as much as preparing them). Canonicalising and hashing is 30-40 % of
        the ingest's CPU time; the signature check and everything under the write lock stay here.
        """
        from multiprocessing import get_all_start_methods, get_context

        if (
            not isinstance(batches_in, list | tuple)
            or "fork" not in get_all_start_methods()
            or sum(len(b.events) for b in batches_in) < self.settings.parallel_prepare_min_events
        ):
            for batch in batches_in:
                yield batch, None
            return
        from collections import deque
        from concurrent.futures import ProcessPoolExecutor

        # with fork, initargs reach the child by inheritance, not pickling
        pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=get_context("fork"),
            initializer=_inherit_batches,
            initargs=(batches_in,),
        )
        try:
            ahead: deque[Future[tuple[tuple[list[Any], ...], str] | None]] = deque()
            submitted = 0
            for index, batch in enumerate(batches_in):
                while submitted < len(batches_in) and submitted <= index + 2:
                    ahead.append(pool.submit(_prepare_forked, submitted))
                    submitted += 1
                out = ahead.popleft().result()
                if out is None:
                    yield batch, None  # the child hit an error: _check_batch redoes it and raises it here
                else:
                    columns, root = out
                    yield batch, (PreparedColumns(batch.events, *columns), root)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _write_group(
        self,
        group: list[_Checked],
        pool: ThreadPoolExecutor,
        done: Callable[[AppendResult], None],
        speculated: _Speculation | None = None,
    ) -> tuple[Future[list[AppendResult]], list[_Checked]] | None:
        """Insert ``group`` in one transaction under the write lock and submit its commit to ``pool``.

        Without ``speculated``, the group is validated here, under the lock. A group speculated by
        :meth:`_speculate` is inserted as validated there if the ledger still ends where the speculation
        began; if someone else appended meanwhile, nothing is written and the group starts again without it.
        If a batch fails, roll the group back and apply its batches one by one (None is returned then).
        """
        raw = self.engine.raw_connection()
        dbapi: Any = raw.driver_connection
        cur = dbapi.cursor()
        items: list[tuple[AppendResult, Callable[..., None] | None]] | None = None
        try:
            self._lock(cur)
            if speculated is None:
                items = self._validate_group(cur, group, insert=True)
            elif read_head(cur) == speculated.start:
                items = speculated.items
                for _result, write in items:
                    if write is not None:
                        write(cur)
        except (BatteryloopError, sqlite3.IntegrityError, psycopg.IntegrityError):
            self._abort(raw, cur)
            self._one_by_one(group, done)
            return None
        except BaseException:
            self._abort(raw, cur)
            raise
        if items is None:  # the speculation is out of date
            self._abort(raw, cur)
            return self._write_group(group, pool, done)
        results = [result for result, _write in items]
        return pool.submit(self._commit_group, _OpenWrite(raw, cur, results)), group

    def _next_group(
        self,
        running: tuple[Future[list[AppendResult]], list[_Checked]],
        group: list[_Checked],
        pool: ThreadPoolExecutor,
        done: Callable[[AppendResult], None],
    ) -> tuple[Future[list[AppendResult]], list[_Checked]] | None:
        """Validate ``group`` while the running group commits (the commit writes its pages and syncs without
        the GIL), settle the running group, then insert ``group`` and submit its commit."""
        speculated = self._speculate(group)
        if self._settle_group(*running, done) and speculated is not None:
            return self._write_group(group, pool, done, speculated)
        self._cache.reset()  # the speculation, if any, assumed the running group would commit
        return self._write_group(group, pool, done)

    def _speculate(self, group: list[_Checked]) -> _Speculation | None:
        """Validate ``group`` on a read connection while the previous group's commit is running, assuming
        that commit succeeds and nobody else appends; None when that cannot be assumed or a batch fails.

        Reads see only committed data, which is right for every battery the running group did not touch;
        the ones it touched are in the stream cache. What a read cannot see (a code registered by the running
        group) the unique indexes still refuse at insert time. :meth:`_write_group` checks the head and
        checkpoint under the write lock before it inserts anything.
        """
        cache = self._cache
        if cache.head is None or cache.checkpoint is None or cache.pending is not None:
            return None
        start = (cache.head, cache.checkpoint)
        raw = self.engine.raw_connection()
        dbapi: Any = raw.driver_connection
        cur = dbapi.cursor()
        try:
            return _Speculation(start, self._validate_group(cur, group, insert=False, known_head=start))
        except (BatteryloopError, sqlite3.IntegrityError, psycopg.IntegrityError):
            cache.reset()  # the write lock's careful path will give the authoritative answer
            return None
        finally:
            cur.close()
            raw.close()

    def _validate(
        self,
        cur: Any,
        item: _Checked,
        *,
        expected_versions: Mapping[str, int] | None = None,
        check_stored_keys: bool = False,
        known_head: tuple[int, str] | None = None,
    ) -> tuple[AppendResult, Callable[..., None] | None]:
        return append_locked(
            cur,
            self.sql,
            batch=item.batch,
            prepared=item.prepared,
            merkle_root=item.root,
            expected_versions=expected_versions,
            max_payload_bytes=self.settings.max_payload_bytes,
            cache=self._cache,
            check_stored_keys=check_stored_keys,
            known_head=known_head,
        )

    def _validate_group(
        self, cur: Any, group: list[_Checked], *, insert: bool, known_head: tuple[int, str] | None = None
    ) -> list[tuple[AppendResult, Callable[..., None] | None]]:
        """Validate each batch of ``group`` in order (each sees the ones before it through the stream cache)
        and, with ``insert``, insert it on ``cur`` at once. ``known_head``: where the ledger ends, for a
        validation that is not under the write lock (read from ``cur`` otherwise)."""
        out = []
        for item in group:
            result, write = self._validate(cur, item, known_head=known_head)
            if insert and write is not None:
                write()
            commit_cache(self._cache)
            if known_head is not None:
                assert self._cache.head is not None and self._cache.checkpoint is not None
                known_head = (self._cache.head, self._cache.checkpoint)
            out.append((result, write))
        return out

    def _commit_group(self, open_write: _OpenWrite) -> list[AppendResult]:
        """The commit thread's job: commit, or roll back and re-raise. It leaves the stream cache alone (the
        main thread may be validating the next group against it); :meth:`_settle_group` resets it on failure."""
        raw, cur = open_write.raw, open_write.cur
        try:
            if self.sql.pg:
                raw.driver_connection.commit()
            else:
                cur.execute("COMMIT")
        except BaseException:
            self._rollback(raw, cur)
            raise
        cur.close()
        raw.close()
        return open_write.results

    def _settle_group(
        self,
        future: Future[list[AppendResult]],
        group: list[_Checked],
        done: Callable[[AppendResult], None],
    ) -> bool:
        """Wait for a group's commit; True if it committed, else its batches went one by one."""
        try:
            results = future.result()
        except (BatteryloopError, sqlite3.IntegrityError, psycopg.IntegrityError):
            # the commit refused the group (rolled back): the careful path decides batch by batch
            self._cache.reset()
            self._one_by_one(group, done)
            return False
        for result in results:
            done(result)
        return True

    def _one_by_one(self, group: list[_Checked], done: Callable[[AppendResult], None]) -> None:
        """Each batch in its own transaction, in order; the first failure raises."""
        for item in group:
            done(self._write_checked(item.batch, item.prepared, item.root, None))

    # ----------------------------------------------------------------- reads
    @contextmanager
    def _reading(self) -> Iterator[Query]:
        """One consistent snapshot for several reads (SQLite read transaction; PostgreSQL REPEATABLE READ)."""
        raw = self.engine.raw_connection()
        try:
            dbapi: Any = raw.driver_connection
            cur = dbapi.cursor()
            if self.sql.pg:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            else:
                cur.execute("BEGIN")

            def query(sql_text: str, params: tuple[Any, ...] = ()) -> list[Any]:
                cur.execute(self.sql.q(sql_text), params)
                return list(cur.fetchall())

            try:
                yield query
            finally:
                if self.sql.pg:
                    dbapi.rollback()
                else:
                    cur.execute("ROLLBACK")
                cur.close()
        finally:
            raw.close()

    def _raw_rows(self, sql_text: str, params: tuple[Any, ...]) -> list[Any]:
        with self._reading() as query:
            return query(sql_text, params)

    @staticmethod
    def _stream_rows(query: Query, battery_id: str) -> list[Any]:
        rows = query(READ_EVENTS + " WHERE e.battery_id = ? ORDER BY e.stream_seq", (battery_id,))
        if not rows:
            raise NotFoundError(f"battery {battery_id} is not registered")
        return rows

    @staticmethod
    def _battery(query: Query, battery_id: str) -> BatteryRow:
        rows = query(SELECT_STATE + " WHERE battery_id = ?", (battery_id,))
        if not rows:
            raise NotFoundError(f"battery {battery_id} is not registered")
        return row_from_db(rows[0])

    @staticmethod
    def _children(query: Query, battery_id: str) -> list[str]:
        rows = query(
            "SELECT battery_id FROM battery_state WHERE parent_id = ? ORDER BY battery_id", (battery_id,)
        )
        return [r[0] for r in rows]

    def find_by_code(self, scheme: str, code: str) -> str:
        """The battery id registered under an identifier code: scheme "gbt34014" (the canonical GB/T 34014
        text) or "gs1" ("<GTIN-14>/<serial>"). NotFoundError if none."""
        rows = self._raw_rows("SELECT battery_id FROM codes WHERE scheme = ? AND code = ?", (scheme, code))
        if not rows:
            raise NotFoundError(f"no battery is registered under {scheme} code {code!r}")
        return str(rows[0][0])

    def read_stream(self, battery_id: str) -> list[RecordedEvent]:
        """Every event of one battery in stream order; NotFoundError if it has none."""
        with self._reading() as query:
            return [recorded_from_row(r) for r in self._stream_rows(query, battery_id)]

    def battery(self, battery_id: str) -> BatteryRow:
        """The projection row (status plus chemistry, category, level, last hash)."""
        with self._reading() as query:
            return self._battery(query, battery_id)

    def status(self, battery_id: str) -> UnitStatus:
        return self.battery(battery_id).status

    def children(self, battery_id: str) -> list[str]:
        with self._reading() as query:
            return self._children(query, battery_id)

    def batteries(self, *, custodian: str | None = None, limit: int = 1000) -> list[BatteryRow]:
        if custodian is None:
            rows = self._raw_rows(SELECT_STATE + " ORDER BY battery_id LIMIT ?", (limit,))
        else:
            rows = self._raw_rows(
                SELECT_STATE + " WHERE custodian = ? ORDER BY battery_id LIMIT ?", (custodian, limit)
            )
        return [row_from_db(r) for r in rows]

    def _tree(self, query: Query, row: BatteryRow, depth: int = 0) -> TreeNode:
        kids: tuple[TreeNode, ...] = ()
        if depth < 16:
            kids = tuple(
                self._tree(query, self._battery(query, c), depth + 1)
                for c in self._children(query, row.status.battery_id)
            )
        return TreeNode(row.status.battery_id, row.level, row.status.state.value, kids)

    def trace(self, battery_id: str) -> Trace:
        """Status, ancestors, descendants, custody spans, full history and this stream's chain check.

        All reads come from one snapshot, so a concurrent append cannot make the chain look broken.
        """
        with self._reading() as query:
            raw_rows = self._stream_rows(query, battery_id)
            row = self._battery(query, battery_id)
            ancestors: list[str] = []
            current = row
            while current.status.parent_id is not None and current.status.parent_id not in ancestors:
                ancestors.append(current.status.parent_id)
                current = self._battery(query, current.status.parent_id)
            descendants = self._tree(query, row)
        derived = [derived_of_row(r) for r in raw_rows]  # once, for the envelopes and the chain check
        history = tuple(map(recorded_from_row, raw_rows, derived))
        chain_error = check_stream_chain(raw_rows, derived)
        if chain_error is None and bytes(raw_rows[-1][12]).hex() != row.last_hash:
            chain_error = "the projection's last hash is not the stream's last event hash"
        return Trace(
            status=row.status,
            row=row,
            ancestors=tuple(ancestors),
            descendants=descendants,
            custody=custody_spans(history),
            history=history,
            chain_ok=chain_error is None,
            chain_error=chain_error,
        )

    def iter_events(self, after_position: int = 0, batch_size: int | None = None) -> Iterator[RecordedEvent]:
        """Every event after ``after_position`` in position order, fetched in chunks."""
        size = batch_size or self.settings.read_chunk_events
        last = after_position
        while True:
            rows = self._raw_rows(
                READ_EVENTS + " WHERE e.position > ? ORDER BY e.position LIMIT ?", (last, size)
            )
            if not rows:
                return
            for r in rows:
                yield recorded_from_row(r)
            last = int(rows[-1][0])

    def counts(self) -> LedgerCounts:
        with self.engine.connect() as conn:
            n_events = conn.execute(select(func.count()).select_from(events)).scalar_one()
            n_batches = conn.execute(select(func.count()).select_from(batches)).scalar_one()
            n_orgs = conn.execute(select(func.count()).select_from(organisations)).scalar_one()
            chem_state = conn.execute(
                select(battery_state.c.chemistry, battery_state.c.state, func.count()).group_by(
                    battery_state.c.chemistry, battery_state.c.state
                )
            ).all()
            custodians = conn.execute(
                select(battery_state.c.custodian, func.count()).group_by(battery_state.c.custodian)
            ).all()
            root_custodians = conn.execute(
                select(battery_state.c.custodian, func.count())
                .where(battery_state.c.parent_id.is_(None))
                .group_by(battery_state.c.custodian)
            ).all()
        by_state: dict[str, int] = {}
        for _chem, state, n in chem_state:
            by_state[state] = by_state.get(state, 0) + n
        return LedgerCounts(
            events=n_events,
            batches=n_batches,
            batteries=sum(by_state.values()),
            organisations=n_orgs,
            by_chemistry_state={(c or "unknown", s): n for c, s, n in chem_state},
            by_custodian={str(c): int(n) for c, n in custodians},
            by_state=by_state,
            by_root_custodian={str(c): int(n) for c, n in root_custodians},
            root_units=sum(int(n) for _c, n in root_custodians),
        )

    # ----------------------------------------------------------------- integrity and rebuild
    def verify(
        self,
        progress: Callable[[int], None] | None = None,
        *,
        anchor: str | None = None,
        workers: int | None = None,
    ) -> VerifyReport:
        """Recompute every hash, chain, Merkle root, signature and checkpoint; name the first break.

        ``progress`` receives the cumulative number of events verified so far (append_bulk's receives the
        events of each batch as it is written).

        Also checks that the projection ends where each stream ends. ``anchor``: a checkpoint published or
        kept elsewhere (``latest_checkpoint()``) that must still be in the chain, so that even a truncation
        that also rewrote the projection is caught. ``workers`` > 1 verifies segments in that many processes
        (default from the settings, used only for ledgers of at least ``parallel_verify_min_events``).
        """
        if workers is None:
            workers = (
                self.settings.verify_workers
                if self._head() >= self.settings.parallel_verify_min_events
                else 1
            )
        url = self.engine.url
        worker_url = (url.database or None) if not self.sql.pg else url.render_as_string(hide_password=False)
        raw = self.engine.raw_connection()
        try:
            return verify_ledger(
                raw.driver_connection,
                self.sql,
                chunk=self.settings.read_chunk_events,
                progress=progress,
                anchor=anchor,
                workers=workers,
                worker_url=worker_url,
            )
        finally:
            raw.close()

    def _head(self) -> int:
        rows = self._raw_rows("SELECT position FROM events ORDER BY position DESC LIMIT 1", ())
        return int(rows[0][0]) if rows else 0

    def latest_checkpoint(self) -> str | None:
        """The checkpoint of the last batch: publish or keep it elsewhere to anchor later verifications."""
        rows = self._raw_rows("SELECT checkpoint FROM batches ORDER BY first_position DESC LIMIT 1", ())
        return str(rows[0][0]) if rows else None

    def projection_rows(self) -> list[tuple[Any, ...]]:
        """The whole projection table, ordered by battery id (for comparisons and exports)."""
        return [tuple(r) for r in self._raw_rows(SELECT_STATE + " ORDER BY battery_id", ())]

    def rebuild_projection(self) -> int:
        """Drop and recompute the projection from the ledger alone; return the number of batteries.

        Runs under the ledger's write lock, so no append can slip in between the fold and the swap.
        """
        raw = self.engine.raw_connection()
        dbapi: Any = raw.driver_connection
        cur = dbapi.cursor()
        try:
            if self.sql.pg:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            else:
                cur.execute("BEGIN IMMEDIATE")
            size = self.settings.read_chunk_events
            select_sql = self.sql.q(
                "SELECT e.battery_id, e.event_type, b.actor, e.payload, e.event_hash, e.position "
                f"FROM events e {BATCH_OF_EVENT} WHERE e.position > ? ORDER BY e.position LIMIT ?"
            )

            def source() -> Iterator[tuple[str, str, str, dict[str, Any], str, int]]:
                last = 0
                while True:
                    cur.execute(select_sql, (last, size))
                    chunk = cur.fetchall()
                    if not chunk:
                        return
                    for bid, event_type, actor, payload, event_hash, position in chunk:
                        yield (
                            bid,
                            event_type,
                            actor,
                            orjson.loads(payload),
                            bytes(event_hash).hex(),
                            int(position),
                        )
                    last = int(chunk[-1][5])

            rows = fold_rows(source())
            placeholders = ", ".join("?" * len(STATE_COLUMNS))
            cur.execute("DELETE FROM battery_state")
            cur.executemany(
                self.sql.q(f"INSERT INTO battery_state ({', '.join(STATE_COLUMNS)}) VALUES ({placeholders})"),
                [row_to_db(r) for r in rows.values()],
            )
            if self.sql.pg:
                dbapi.commit()
            else:
                cur.execute("COMMIT")
        except BaseException:
            self._abort(raw, cur)
            raise
        cur.close()
        raw.close()
        self._cache.reset()
        return len(rows)


def custody_spans(history: Iterable[RecordedEvent]) -> tuple[CustodySpan, ...]:
    """Who held the unit when, from the fold of its history (hand-over to acceptance is in transit)."""
    spans: list[CustodySpan] = []
    status: UnitStatus | None = None
    for ev in history:
        before = status.custodian if status is not None else None
        status = apply(
            status, battery_id=ev.battery_id, event_type=ev.event_type, actor=ev.actor, payload=ev.payload
        )
        if status.custodian != before:
            if spans:
                last = spans[-1]
                spans[-1] = CustodySpan(last.org, last.from_at, ev.occurred_at)
            spans.append(CustodySpan(status.custodian, ev.occurred_at, None))
    return tuple(spans)


# ===================================================================================== use cases
# What a user of the ledger does, the same from Python, the CLI and HTTP: typed inputs, keyword-only
# options, frozen results, domain errors, and the read policy of ``ledger.access`` applied here. They never
# print, format or parse user text; the faces (``cli.py``, ``endpoints.py``, ``pages.py``) do that.

import typing  # noqa: E402  (the use cases' section stands apart from the facade above)
from dataclasses import dataclass  # noqa: E402

if typing.TYPE_CHECKING:
    from pathlib import Path

    from batteryloop.orgs import KeyStore as OrgKeyStore

MAX_PAGE = 1000


@dataclass(frozen=True, slots=True)
class BatteryPage:
    """One page of a battery listing: ``total`` batteries match, ``items`` start at ``offset``."""

    items: tuple[BatteryRow, ...]
    total: int
    limit: int
    offset: int
    holder: str | None

    @property
    def next_offset(self) -> int | None:
        end = self.offset + len(self.items)
        return end if end < self.total else None


@dataclass(frozen=True, slots=True)
class AppendSummary:
    """A file appended in signed batches: ``appended`` new events, ``duplicates`` already in the ledger."""

    events: int
    appended: int
    duplicates: int
    batches: int


@dataclass(frozen=True, slots=True)
class BatteryRegistered:
    battery_id: str
    appended: int


@dataclass(frozen=True, slots=True)
class ExportSummary:
    path: str
    fmt: str
    events: int


def list_batteries(
    ledger: Ledger,
    *,
    caller: Organisation | None = None,
    chemistry: str | None = None,
    state: str | None = None,
    holder: str | None = None,
    organisation: str | None = None,
    code: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> BatteryPage:
    """Batteries by id, filtered by chemistry, lifecycle state, current holder, organisation (holder or
    manufacturer) and the start of an identifier code; ``caller`` sees what ``ledger.access`` allows."""
    from batteryloop.domain.lifecycle import BatteryState
    from batteryloop.ledger.access import listing_scope
    from batteryloop.ledger.adapters.queries import BatteryFilter, count_batteries, find_batteries

    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError(f"limit {limit} is out of range: give 1 to {MAX_PAGE}")
    if offset < 0:
        raise ValidationError(f"offset {offset} is negative")
    if state is not None and state not in {s.value for s in BatteryState}:
        known = ", ".join(s.value for s in BatteryState)
        raise ValidationError(f"unknown state {state!r}: use one of {known}")
    holder, organisation = listing_scope(caller, holder=holder, organisation=organisation)
    where = BatteryFilter(
        chemistry=chemistry, state=state, holder=holder, organisation=organisation, code=code
    )
    rows = find_batteries(ledger.engine, where, limit=limit, offset=offset)
    total = count_batteries(ledger.engine, where)
    return BatteryPage(
        items=tuple(_battery_row(r) for r in rows), total=total, limit=limit, offset=offset, holder=holder
    )


def _battery_row(m: Mapping[str, Any]) -> BatteryRow:
    """A projection row as the :class:`BatteryRow` the ledger's reads return."""
    from batteryloop.domain.lifecycle import BatteryState

    status = UnitStatus(
        battery_id=m["battery_id"],
        state=BatteryState(m["state"]),
        custodian=m["custodian"],
        manufacturer=m["manufacturer"],
        parent_id=m["parent_id"],
        pending_custodian=m["pending_custodian"],
        resume_state=BatteryState(m["resume_state"]) if m["resume_state"] is not None else None,
        soh_pct=float(m["soh_pct"]) if m["soh_pct"] is not None else None,
        predecessor_id=m["predecessor_id"],
        successor_id=m["successor_id"],
        version=int(m["version"]),
    )
    return BatteryRow(
        status, m["last_hash"], int(m["last_position"]), m["chemistry"], m["category"], m["level"]
    )


def trace_for(ledger: Ledger, battery_id: str, *, caller: Organisation | None = None) -> Trace:
    """A battery's status, tree, custody and checked history, if ``caller`` may read it."""
    from batteryloop.ledger.access import check_trace_readable

    trace = ledger.trace(battery_id)
    check_trace_readable(trace, caller)
    return trace


def verify(
    ledger: Ledger,
    *,
    caller: Organisation | None = None,
    progress: Callable[[int], None] | None = None,
    anchor: str | None = None,
) -> VerifyReport:
    """The full integrity check (authorities, notified bodies and the operator)."""
    from batteryloop.ledger.access import check_may_verify

    check_may_verify(caller)
    return ledger.verify(progress, anchor=anchor)


def append_events(
    ledger: Ledger,
    events: Sequence[EventIn],
    *,
    caller: Organisation,
    key_id: str,
    signature: bytes,
    expected_versions: Mapping[str, int] | None = None,
) -> AppendResult:
    """Append one batch signed by ``caller`` (atomic: all events or none)."""
    if not events:
        raise ValidationError("the batch holds no events")
    return ledger.append_events(
        list(events),
        actor=caller.org_id,
        key_id=key_id,
        signature=signature,
        expected_versions=dict(expected_versions) if expected_versions is not None else None,
    )


def append_file(
    ledger: Ledger,
    path: Path,
    *,
    org: str,
    keystore: OrgKeyStore,
    batch_size: int = 10_000,
    fmt: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> AppendSummary:
    """Append an NDJSON or CSV event file as ``org``, signed with its newest key in ``keystore``, through
    the pipelined bulk path. The whole file is read and checked before anything is written; each batch of
    ``batch_size`` events is atomic."""
    from batteryloop.ledger import sign_batch
    from batteryloop.ledger.interchange import read_events_file

    if batch_size < 1:
        raise ValidationError(f"batch size {batch_size} must be at least 1")
    if not path.is_file():
        raise NotFoundError(f"{path}: no such file" if not path.exists() else f"{path} is not a file")
    events = read_events_file(path, fmt=fmt)
    ledger.get_organisation(org)
    _, private_key = keystore.load(org)
    chunks = [events[i : i + batch_size] for i in range(0, len(events), batch_size)]
    signed = (sign_batch(chunk, actor=org, private_key=private_key) for chunk in chunks)
    appended = ledger.append_bulk(signed, progress=progress)
    return AppendSummary(
        events=len(events), appended=appended, duplicates=len(events) - appended, batches=len(chunks)
    )


def register_battery(
    ledger: Ledger,
    spec: Mapping[str, Any],
    *,
    org: str,
    keystore: OrgKeyStore,
    occurred_at: datetime | None = None,
) -> BatteryRegistered:
    """Register a battery unit made by ``org``: ``spec`` is the BatteryManufactured payload, optionally with
    its ``battery_id`` (a new EU unique identifier otherwise)."""
    from datetime import UTC

    from batteryloop.domain.battery import BatteryUnit
    from batteryloop.domain.identity import eu_unique_id
    from batteryloop.ledger import sign_batch

    data = dict(spec)
    battery_id = str(data.pop("battery_id", None) or eu_unique_id())
    unit = BatteryUnit.from_payload(battery_id, {"manufacturer_id": org, **data})
    event = EventIn(
        battery_id=battery_id,
        event_type=EventType.BATTERY_MANUFACTURED,
        occurred_at=occurred_at or datetime.now(UTC),
        payload=unit.to_payload(),
    )
    _, private_key = keystore.load(org)
    result = ledger.append(sign_batch([event], actor=org, private_key=private_key))
    return BatteryRegistered(battery_id=battery_id, appended=result.appended)


EXPORT_FORMATS = ("ndjson", "parquet")


def export_events(ledger: Ledger, path: Path, *, fmt: str | None = None) -> ExportSummary:
    """Write every event to ``path`` as NDJSON or Parquet (default: by the file's extension)."""
    from batteryloop.ledger.interchange import write_ndjson, write_parquet

    kind = fmt or ("parquet" if path.suffix.lower() == ".parquet" else "ndjson")
    if kind not in EXPORT_FORMATS:
        raise ValidationError(f"unknown export format {kind!r}: use ndjson or parquet")
    if not path.parent.is_dir():
        raise NotFoundError(f"folder {path.parent} does not exist")
    if path.is_dir():
        raise ValidationError(f"{path} is a folder; give a file name to write")
    writer = write_parquet if kind == "parquet" else write_ndjson
    count = writer(ledger.iter_events(), path)
    return ExportSummary(path=str(path), fmt=kind, events=count)


def rebuild(ledger: Ledger) -> int:
    """Recompute the current-state projection from the ledger alone; return the number of batteries."""
    return ledger.rebuild_projection()
