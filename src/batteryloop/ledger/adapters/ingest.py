"""The ingest pipeline: check a signed batch, validate it under the write lock, insert, commit.

``append`` and ``append_events`` write one batch in one transaction. ``append_bulk`` overlaps the stages of a
bulk load: a forked helper canonicalises and hashes the batches ahead (the other core); batches that arrive
while a commit runs share the next transaction (each keeps its root, signature and checkpoint); and that next
group is validated on a read connection while the previous group commits, then inserted only after a check
under the write lock that the ledger still ends where the validation assumed.

The decisions (lifecycle, custody, receivers, codes, unit tree) are the domain's fold
(:func:`batteryloop.domain.fold.decide`), called by :func:`~batteryloop.ledger.adapters.store.append_locked`
for each event; transactions are :mod:`~batteryloop.ledger.adapters.tx`'s.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_all_start_methods, get_context
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from batteryloop import orgs
from batteryloop.config import LedgerSettings
from batteryloop.domain.errors import BatteryloopError, NotFoundError, SignatureError, ValidationError
from batteryloop.domain.validation import check_event_payload
from batteryloop.ledger.adapters.gcpause import gc_paused
from batteryloop.ledger.adapters.orphan import exit_with_parent
from batteryloop.ledger.adapters.store import StreamCache, append_locked, commit_cache, read_head
from batteryloop.ledger.adapters.tree import TreeWriter
from batteryloop.ledger.adapters.tx import INTEGRITY_ERRORS, Database, WriteTx, storage_errors
from batteryloop.ledger.core.envelope import AppendResult
from batteryloop.ledger.core.integrity import (
    EventIn,
    PreparedColumns,
    SignedBatch,
    merkle_root_of_digests,
    prepare_columns,
    verify_root_signature,
)

Validated = tuple[AppendResult, Callable[..., None] | None]  # a batch's result and the insert of its rows
_REFUSED: tuple[type[Exception], ...] = (
    BatteryloopError,
    *INTEGRITY_ERRORS,
)  # a batch the careful path must decide on


@dataclass
class _OpenWrite:
    """Batches validated and inserted under the write lock, their commit still to do."""

    tx: WriteTx
    results: list[AppendResult]


@dataclass
class _Speculation:
    """A group validated ahead of the write lock: where the ledger ended then, and each batch's result and
    insert."""

    start: tuple[int, str]  # (head position, last checkpoint) the validation assumed
    items: list[Validated]


@dataclass
class _Checked:
    """A signed batch whose signature and Merkle root were checked, with its prepared events."""

    batch: SignedBatch
    prepared: PreparedColumns
    root: str


_FORKED_BATCHES: Sequence[SignedBatch] = ()  # in a forked helper process: the batches it prepares


def _inherit_batches(batches: Sequence[SignedBatch]) -> None:
    global _FORKED_BATCHES
    _FORKED_BATCHES = batches
    exit_with_parent()  # if the parent is killed, do not wait for work for ever


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
            check_event_payload(event.battery_id, event.event_type, event.payload)
            checked[i] = True
        except Exception:
            checked[i] = False
    return tuple(prepared[1:]), root


class Ingest:
    """The write side of one ledger: its stream cache lives as long as the ledger object."""

    def __init__(
        self,
        db: Database,
        settings: LedgerSettings,
        operator_key: Callable[[], Ed25519PrivateKey | None] = lambda: None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.cache = StreamCache()
        self.signers = orgs.SignerCache()  # the key log: a batch's key must be valid under the write lock
        self.tree = TreeWriter(
            every=settings.checkpoint_every_events, origin=settings.log_origin, operator_key=operator_key
        )

    def orgs_check(self, cur: Any, actor: str) -> None:
        cur.execute(self.db.sql.q("SELECT 1 FROM organisations WHERE org_id = ?"), (actor,))
        if cur.fetchone() is None:
            raise NotFoundError(f"no organisation {actor!r} is registered")

    # ----------------------------------------------------------------- one batch
    def check_batch(
        self,
        batch: SignedBatch,
        precomputed: tuple[PreparedColumns, str] | None = None,
        signers: dict[tuple[str, str], bytes] | None = None,
    ) -> tuple[PreparedColumns, str]:
        """Check the batch's size, signer and key, its Merkle root and signature; return its prepared
        events and root. ``precomputed``: the prepared events and root a helper process computed with the
        very same code (:func:`_prepare_forked`). ``signers``: (actor, key id) -> public key pairs already
        looked up in this call (append_bulk), which saves three queries per batch."""
        if not batch.events:
            raise ValidationError("a batch must hold at least one event")
        if len(batch.events) > self.settings.max_batch_events:
            raise ValidationError(
                f"a batch may hold at most {self.settings.max_batch_events} events, got {len(batch.events)}"
            )
        known = signers.get((batch.actor, batch.key_id)) if signers is not None else None
        if known is None:
            with self.db.dbapi() as dbapi:
                cur = dbapi.cursor()
                self.orgs_check(cur, batch.actor)
                public_key = self.signers.public_key(cur, batch.actor, batch.key_id)  # the key log's
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
        with storage_errors():
            prepared, root = self.check_batch(batch)
            return self.write_checked(batch, prepared, root, expected_versions)

    def append_events(
        self,
        events: Sequence[EventIn],
        *,
        actor: str,
        key_id: str,
        signature: bytes,
        expected_versions: Mapping[str, int] | None = None,
    ) -> AppendResult:
        prepared = prepare_columns(events, actor=actor)
        root = merkle_root_of_digests(prepared.content_digest)
        batch = SignedBatch(
            actor=actor, key_id=key_id, events=tuple(events), merkle_root=root, signature=signature
        )
        with storage_errors():
            checked, root = self.check_batch(batch, (prepared, root))
            return self.write_checked(batch, checked, root, expected_versions)

    def write_checked(
        self,
        batch: SignedBatch,
        prepared: PreparedColumns,
        root: str,
        expected_versions: Mapping[str, int] | None,
    ) -> AppendResult:
        """Write a checked batch in a transaction of its own: a fast pass that leaves idempotency to the
        unique index, and if that refuses, the careful pass that looks the keys up first."""
        try:
            return self._write(batch, prepared, root, expected_versions, check_stored_keys=False)
        except _REFUSED:
            # a replayed key makes the fast pass fail (unique index, or the replayed event is illegal
            # now); the careful pass looks the keys up first and gives the authoritative answer
            pass
        return self._write(batch, prepared, root, expected_versions, check_stored_keys=True)

    def _write(
        self,
        batch: SignedBatch,
        prepared: PreparedColumns,
        root: str,
        expected_versions: Mapping[str, int] | None,
        *,
        check_stored_keys: bool,
    ) -> AppendResult:
        """Take the write lock, validate and insert the batch, commit."""
        tx = self.db.begin_write()
        try:
            result, write = self._validate(
                tx.cur,
                _Checked(batch, prepared, root),
                expected_versions=expected_versions,
                check_stored_keys=check_stored_keys,
            )
            if write is not None:
                write()  # here, not in the commit thread: executemany drops the GIL per row (a convoy)
        except BaseException:
            self._abort(tx)
            raise
        try:
            results = self._commit_group(_OpenWrite(tx, [result]))
        except BaseException:
            self.cache.reset()
            raise
        commit_cache(self.cache)
        return results[0]

    def _abort(self, tx: WriteTx) -> None:
        self.cache.reset()
        tx.rollback()

    def _validate(
        self,
        cur: Any,
        item: _Checked,
        *,
        expected_versions: Mapping[str, int] | None = None,
        check_stored_keys: bool = False,
        known_head: tuple[int, str] | None = None,
    ) -> Validated:
        self.signers.check_current(cur, item.batch.actor, item.batch.key_id)
        return append_locked(
            cur,
            self.db.sql,
            batch=item.batch,
            prepared=item.prepared,
            merkle_root=item.root,
            expected_versions=expected_versions,
            max_payload_bytes=self.settings.max_payload_bytes,
            cache=self.cache,
            check_stored_keys=check_stored_keys,
            known_head=known_head,
            tree=self.tree,
            keylog=(self.signers.state.seq, self.signers.state.head_hash),  # refreshed under the lock above
        )

    # ----------------------------------------------------------------- bulk
    def append_bulk(
        self, batches_in: Iterable[SignedBatch], progress: Callable[[int], None] | None = None
    ) -> int:
        """Append many signed batches, each atomically, in order; return the number of events appended.

        See :meth:`batteryloop.ledger.Ledger.append_bulk`. If any batch of a group fails, the group is rolled
        back and its batches are re-applied one transaction each, so the ones before the failing batch
        commit and its error is raised. Validation under the write lock happens in order, after the previous
        group has committed.
        """
        total = 0

        def done(result: AppendResult) -> None:
            nonlocal total
            total += result.appended
            if progress is not None:
                progress(result.appended + result.duplicates)

        max_events = self.settings.group_max_events
        max_batches = self.settings.group_max_batches
        with (
            storage_errors(),
            gc_paused(),
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-commit") as pool,
        ):
            inflight: tuple[Future[list[AppendResult]], list[_Checked]] | None = None
            group: list[_Checked] = []
            group_events = 0
            failure: Exception | None = None
            signers: dict[tuple[str, str], bytes] = {}  # looked up once per call
            for batch, precomputed in self._prepared_ahead(batches_in):
                try:
                    prepared, root = self.check_batch(batch, precomputed, signers)  # overlaps the commit
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
        (the second core), or with None (computed by check_batch here).

        Used for a list or tuple of at least ``parallel_prepare_min_events`` events where fork is available:
        the child inherits the batches, so only the results cross the process boundary (pickling the
        events themselves would cost as much as preparing them). Canonicalising and hashing is 30-40 % of
        the ingest's CPU time; the signature check and everything under the write lock stay here.
        """
        if (
            not isinstance(batches_in, list | tuple)
            or "fork" not in get_all_start_methods()
            or sum(len(b.events) for b in batches_in) < self.settings.parallel_prepare_min_events
        ):
            for batch in batches_in:
                yield batch, None
            return
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
                    yield batch, None  # the child hit an error: check_batch redoes it and raises it here
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
        tx = self.db.begin_write()
        items: list[Validated] | None = None
        try:
            if speculated is None:
                items = self._validate_group(tx.cur, group, insert=True)
            elif read_head(tx.cur) == speculated.start and self.signers.is_current(tx.cur):
                items = speculated.items
                for _result, write in items:
                    if write is not None:
                        write(tx.cur)
        except _REFUSED:
            self._abort(tx)
            self._one_by_one(group, done)
            return None
        except BaseException:
            self._abort(tx)
            raise
        if items is None:  # the speculation is out of date
            self._abort(tx)
            return self._write_group(group, pool, done)
        results = [result for result, _write in items]
        return pool.submit(self._commit_group, _OpenWrite(tx, results)), group

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
        self.cache.reset()  # the speculation, if any, assumed the running group would commit
        return self._write_group(group, pool, done)

    def _speculate(self, group: list[_Checked]) -> _Speculation | None:
        """Validate ``group`` on a read connection while the previous group's commit is running, assuming
        that commit succeeds and nobody else appends; None when that cannot be assumed or a batch fails.

        Reads see only committed data, which is right for every battery the running group did not touch;
        the ones it touched are in the stream cache. What a read cannot see (a code registered by the running
        group) the unique indexes still refuse at insert time. :meth:`_write_group` checks the head and
        checkpoint under the write lock before it inserts anything.
        """
        cache = self.cache
        if cache.head is None or cache.checkpoint is None or cache.pending is not None:
            return None
        start = (cache.head, cache.checkpoint)
        with self.db.dbapi() as dbapi:
            cur = dbapi.cursor()
            try:
                return _Speculation(start, self._validate_group(cur, group, insert=False, known_head=start))
            except _REFUSED:
                cache.reset()  # the write lock's careful path will give the authoritative answer
                return None
            finally:
                cur.close()

    def _validate_group(
        self, cur: Any, group: list[_Checked], *, insert: bool, known_head: tuple[int, str] | None = None
    ) -> list[Validated]:
        """Validate each batch of ``group`` in order (each sees the ones before it through the stream cache)
        and, with ``insert``, insert it on ``cur`` at once. ``known_head``: where the ledger ends, for a
        validation that is not under the write lock (read from ``cur`` otherwise)."""
        out = []
        for item in group:
            result, write = self._validate(cur, item, known_head=known_head)
            if insert and write is not None:
                write()
            commit_cache(self.cache)
            if known_head is not None:
                assert self.cache.head is not None and self.cache.checkpoint is not None
                known_head = (self.cache.head, self.cache.checkpoint)
            out.append((result, write))
        return out

    def _commit_group(self, open_write: _OpenWrite) -> list[AppendResult]:
        """The commit thread's job: commit, or roll back and re-raise. It leaves the stream cache alone (the
        main thread may be validating the next group against it); :meth:`_settle_group` resets it on failure."""
        open_write.tx.commit()
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
        except _REFUSED:
            # the commit refused the group (rolled back): the careful path decides batch by batch
            self.cache.reset()
            self._one_by_one(group, done)
            return False
        for result in results:
            done(result)
        return True

    def _one_by_one(self, group: list[_Checked], done: Callable[[AppendResult], None]) -> None:
        """Each batch in its own transaction, in order; the first failure raises."""
        for item in group:
            done(self.write_checked(item.batch, item.prepared, item.root, None))
