"""The Ledger facade: the one object the CLI, the API and Python users call.

It opens the database and delegates: appends to :mod:`.adapters.ingest`, reads to :mod:`.adapters.reads`,
verify, checkpoints and the projection rebuild to :mod:`.adapters.maintenance`, organisations to
:mod:`batteryloop.orgs`. Transactions and the translation of database errors into domain errors are
:mod:`.adapters.tx`'s; the rules an append must pass are the domain's fold (:mod:`batteryloop.domain.fold`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from batteryloop.config import LedgerSettings
from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.domain.lifecycle import EventType, UnitStatus
from batteryloop.domain.organisation import Organisation
from batteryloop.domain.validation import check_lookup
from batteryloop.ledger.adapters.bundle import build_bundle
from batteryloop.ledger.adapters.documents import DocumentStore
from batteryloop.ledger.adapters.ingest import Ingest
from batteryloop.ledger.adapters.maintenance import Maintenance
from batteryloop.ledger.adapters.reads import Reads
from batteryloop.ledger.adapters.store import Sql, now_text
from batteryloop.ledger.adapters.tree import TreeHead
from batteryloop.ledger.adapters.treelog import TreeLog
from batteryloop.ledger.adapters.tx import Database, Engine, open_engine
from batteryloop.ledger.core import stored_check
from batteryloop.ledger.core.bundle import BundleReport, keys_document, verify_bundle
from batteryloop.ledger.core.checkpoint import (
    Checkpoint,
    Verifier,
    open_checkpoint,
    public_bytes,
    split_notes,
)
from batteryloop.ledger.core.envelope import (
    AppendResult,
    BatteryRow,
    LedgerCounts,
    RecordedEvent,
    Trace,
    VerifyReport,
)
from batteryloop.ledger.core.integrity import (
    EventIn,
    SignedBatch,
    merkle_root_of_digests,
    prepare_columns,
    sign_root,
)
from batteryloop.ledger.core.stored_check import StoredCheckReport
from batteryloop.orgs import OPERATOR, KeyStore, RegistryOps, key_id_for, keystore_dir_for, public_key_bytes


class Ledger(RegistryOps):
    """Append-only, hash-chained, Merkle-signed ledger of battery lifecycle events."""

    def __init__(self, engine: Engine, *, settings: LedgerSettings | None = None) -> None:
        self.engine = engine
        self.settings = settings or LedgerSettings.from_file()
        self._db = Database(engine)
        self.sql: Sql = self._db.sql
        self._ingest = Ingest(self._db, self.settings, self.tree_key)
        self.tree = TreeLog(
            self._db, origin=self.settings.log_origin
        )  # the global Merkle tree's heads, proofs
        self._reads = Reads(self._db, read_chunk_events=self.settings.read_chunk_events)
        self._maintenance = Maintenance(self._db, self.settings)
        self.documents = DocumentStore(engine)  # documents passports link by content hash

    # ----------------------------------------------------------------- lifecycle
    @classmethod
    def open(cls, url: str | None, *, create: bool = True, settings: LedgerSettings | None = None) -> Ledger:
        """Open the ledger at ``url`` (None: env BATTERYLOOP_DATABASE_URL, else ./batteryloop.db).

        With ``create`` the database is migrated to the latest schema first.
        """
        settings = settings or LedgerSettings.from_file()
        engine = open_engine(url, create=create, sqlite_synchronous=settings.sqlite_synchronous)
        return cls(engine, settings=settings)

    def close(self) -> None:
        self.tree.close()
        self.engine.dispose()

    def keystore(self) -> KeyStore:
        """The CLI's private-key store next to the database: ``<db>.keys/<org_id>/<key_id>.pem``."""
        return KeyStore(keystore_dir_for(self.engine.url.render_as_string(hide_password=True)))

    def tree_key(self) -> Ed25519PrivateKey | None:
        """The operator's Ed25519 key if the keystore holds it (None otherwise), without creating or
        registering one: what signs the global tree's heads inside an append. ``operator_key()`` creates the
        key and registers it in the key log (``batteryloop init`` does)."""
        try:
            return self.keystore().load(OPERATOR)[1]
        except NotFoundError:
            return None

    def operator_verifier(self) -> Verifier | None:
        """The operator's public key as a signed-note verifier (named by the log's origin), if the key is here."""
        key = self.tree_key()
        return None if key is None else Verifier(self.settings.log_origin, public_bytes(key))

    def sign_tree_head(self) -> TreeHead:
        """Sign the global tree's head as it stands now with the operator key (the stored one if signed)."""
        key = self.tree_key()
        if key is None:
            raise NotFoundError("there is no operator key in the keystore: run `batteryloop init` first")
        return self.tree.sign(key, signed_at=now_text())

    def proof_bundle(
        self, battery_id: str, *, size: int | None = None, since: int | None = None
    ) -> dict[str, Any]:
        """A battery's events with their batch and global-tree proofs and the signed head (core.bundle)."""
        return build_bundle(self._reads, self.tree, battery_id, size=size, since=since)

    def keys_document(self) -> dict[str, Any]:
        """The operator's verifier key and every organisation's signing key, for stand-alone verifiers."""
        return keys_document(
            origin=self.settings.log_origin,
            operator=self.operator_verifier(),
            signing_keys=self.tree.signing_keys(),
        )

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- organisations (orgs.RegistryOps)
    def _registry_conn(self, *, write: bool) -> AbstractContextManager[Any]:
        return self._db.core(write=write)

    def _keystore_root(self) -> Path:
        return self.keystore().root

    def _cover_key_entry(self, conn: Any) -> None:
        """Sign a tree head covering a key entry in the entry's own transaction (under the write lock), so
        deleting the entry later fails ``verify`` at once, not only after the next append's head; a second
        head at the same tree size when one is stored there already. Without the operator key here, or
        without events yet, the next head covers it."""
        key = self.tree_key()
        if key is None:
            return
        cur = conn.connection.driver_connection.cursor()
        try:
            self.tree.sign_on(cur, key, signed_at=now_text())
        finally:
            cur.close()

    # ----------------------------------------------------------------- append
    def append(
        self, batch: SignedBatch, *, expected_versions: Mapping[str, int] | None = None
    ) -> AppendResult:
        """Verify the signature, validate every event, and write the whole batch or nothing."""
        return self._ingest.append(batch, expected_versions=expected_versions)

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
        return self._ingest.append_events(
            events, actor=actor, key_id=key_id, signature=signature, expected_versions=expected_versions
        )

    def append_bulk(
        self, batches_in: Iterable[SignedBatch], *, progress: Callable[[int], None] | None = None
    ) -> int:
        """Append many signed batches, each atomically, in order; return the number of events appended.

        ``progress`` receives the number of events of each batch once it is written. A failing batch
        raises; the batches before it stay committed, the ones after it are not written.

        Pipelined: while a commit runs (SQLite and psycopg release the GIL for the page writes and the
        fsync), the next batches are canonicalised, hashed and their signatures checked; batches that arrive
        while a commit is still running are written together in the next transaction (at most
        ``group_max_events`` events / ``group_max_batches`` batches), each with its own Merkle root,
        signature, batch row and checkpoint, sharing one commit (one fsync).
        """
        return self._ingest.append_bulk(batches_in, progress)

    # ----------------------------------------------------------------- reads
    def find_by_code(self, scheme: str, code: str) -> str:
        """The battery id registered under an identifier code: scheme "gbt34014" (the canonical GB/T 34014
        text) or "gs1" ("<GTIN-14>/<serial>"). NotFoundError if none."""
        return self._reads.find_by_code(scheme, code)

    def read_stream(self, battery_id: str) -> list[RecordedEvent]:
        """Every event of one battery in stream order; NotFoundError if it has none."""
        check_lookup("battery id", battery_id)
        return self._reads.read_stream(battery_id)

    def battery(self, battery_id: str) -> BatteryRow:
        """The projection row (status plus chemistry, category, level, last hash)."""
        check_lookup("battery id", battery_id)
        return self._reads.battery(battery_id)

    def status(self, battery_id: str) -> UnitStatus:
        return self._reads.battery(battery_id).status

    def children(self, battery_id: str) -> list[str]:
        check_lookup("battery id", battery_id)
        return self._reads.children(battery_id)

    def batteries(self, *, custodian: str | None = None, limit: int = 1000) -> list[BatteryRow]:
        return self._reads.batteries(custodian=custodian, limit=limit)

    def trace(self, battery_id: str) -> Trace:
        """Status, ancestors, descendants, custody spans, full history and this stream's chain check.

        All reads come from one snapshot, so a concurrent append cannot make the chain look broken.
        """
        check_lookup("battery id", battery_id)
        return self._reads.trace(battery_id)

    def iter_events(
        self, *, after_position: int = 0, batch_size: int | None = None
    ) -> Iterator[RecordedEvent]:
        """Every event after ``after_position`` in position order, fetched in chunks."""
        return self._reads.iter_events(after_position, batch_size)

    def counts(self) -> LedgerCounts:
        return self._reads.counts()

    # ----------------------------------------------------------------- integrity and rebuild
    def verify(
        self,
        *,
        progress: Callable[[int], None] | None = None,
        anchor: str | None = None,
        workers: int | None = None,
        anchors: Sequence[Checkpoint] = (),
    ) -> VerifyReport:
        """Recompute every hash, chain, Merkle root, signature and checkpoint; name the first break.

        ``progress`` receives the cumulative number of events verified so far. Also checks that the
        projection ends where each stream ends. ``anchor``: a checkpoint published or kept elsewhere
        (``latest_checkpoint()``) that must still be in the chain, so that even a truncation that also
        rewrote the projection is caught. ``workers`` > 1 verifies segments in that many processes (default
        from the settings, used only for ledgers of at least ``parallel_verify_min_events``).
        ``anchors``: signed tree heads published elsewhere; the tree must be consistent with each of them.
        """
        return self._maintenance.verify(
            progress, anchor=anchor, workers=workers, operator=self.operator_verifier(), anchors=anchors
        )

    def latest_checkpoint(self) -> str | None:
        """The checkpoint of the last batch: publish or keep it elsewhere to anchor later verifications."""
        return self._maintenance.latest_checkpoint()

    def projection_rows(self) -> list[tuple[Any, ...]]:
        """The whole projection table, ordered by battery id (for comparisons and exports)."""
        return self._maintenance.projection_rows()

    def rebuild_projection(self) -> int:
        """Drop and recompute the projection from the ledger alone; return the number of batteries.

        Runs under the ledger's write lock, so no append can slip in between the fold and the swap.
        """
        try:
            return self._maintenance.rebuild_projection()
        finally:
            self._ingest.cache.reset()


def batch_root(events: Sequence[EventIn], *, actor: str) -> str:
    """The Merkle root (hex) a client signs for ``events`` submitted by ``actor`` (what ``sign_batch`` signs):
    a server that prepares events for a client to sign hands it this."""
    return merkle_root_of_digests(prepare_columns(events, actor=actor).content_digest)


def sign_batch(events: Iterable[EventIn], *, actor: str, private_key: Ed25519PrivateKey) -> SignedBatch:
    """Client side: compute the leaves and the Merkle root of ``events`` and sign the root with ``actor``'s
    key (its id as the organisations' registry names it)."""
    evs = tuple(events)
    root = merkle_root_of_digests(prepare_columns(evs, actor=actor).content_digest)
    return SignedBatch(
        actor=actor,
        key_id=key_id_for(public_key_bytes(private_key)),
        events=evs,
        merkle_root=root,
        signature=sign_root(root, private_key),
    )


# ===================================================================================== use cases
# What a user of the ledger does, the same from Python, the CLI and HTTP: typed inputs, keyword-only
# options, frozen results, domain errors, and the read policy of ``ledger.access`` applied here. They never
# print, format or parse user text; the faces (``cli.py``, ``endpoints.py``, ``pages.py``) do that.

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


def bundle_for(
    ledger: Ledger,
    battery_id: str,
    *,
    caller: Organisation | None = None,
    size: int | None = None,
    since: int | None = None,
) -> dict[str, Any]:
    """A battery's proof bundle (events, batch and global-tree proofs, signed head), if ``caller`` may read
    its trace. ``size``: the tree head to prove against (default the newest signed one); ``since``: also a
    consistency proof from that older size (the size of a head the reader already trusts)."""
    trace_for(ledger, battery_id, caller=caller)
    return ledger.proof_bundle(battery_id, size=size, since=since)


def trace_proofs(ledger: Ledger, battery_id: str, *, caller: Organisation | None = None) -> BundleReport:
    """What holds for a battery's history beyond its stream chain: each event's batch root and signature and
    its inclusion in the global tree as it stands now, and whether a signed head covers it."""
    bundle = bundle_for(ledger, battery_id, caller=caller, size=ledger.tree.head().size)
    return verify_bundle(bundle, keys=ledger.keys_document())


@dataclass(frozen=True, slots=True)
class CheckedTrace:
    """A battery's trace with what was checked beyond its stream chain (batch roots, signatures, inclusion in
    the global tree against a head): the one answer of `trace`, `trace --json` and the HTTP trace."""

    trace: Trace
    proofs: BundleReport

    @property
    def ok(self) -> bool:
        return self.trace.chain_ok and self.proofs.ok


def checked_trace(ledger: Ledger, battery_id: str, *, caller: Organisation | None = None) -> CheckedTrace:
    """:func:`trace_for` and :func:`trace_proofs` together, if ``caller`` may read the trace."""
    trace = trace_for(ledger, battery_id, caller=caller)
    return CheckedTrace(trace, trace_proofs(ledger, battery_id, caller=caller))


def verify(
    ledger: Ledger,
    *,
    caller: Organisation | None = None,
    progress: Callable[[int], None] | None = None,
    anchor: str | None = None,
    published_heads: str | None = None,
) -> VerifyReport:
    """The full integrity check (authorities, notified bodies and the operator). ``published_heads``: the text
    of a published-heads file (signed checkpoints); each must verify with the operator key and the tree must be
    consistent with it, so a truncation even with the projection rebuilt is caught."""
    from batteryloop.ledger.access import check_may_verify

    check_may_verify(caller)
    anchors = published_checkpoints(ledger, published_heads) if published_heads is not None else ()
    return ledger.verify(progress=progress, anchor=anchor, anchors=anchors)


def published_checkpoints(ledger: Ledger, text: str) -> list[Checkpoint]:
    """The signed checkpoints of a published-heads file, each checked against the operator's key."""
    verifier = ledger.operator_verifier()
    if verifier is None:
        raise NotFoundError("there is no operator key in the keystore to check the published heads with")
    notes = split_notes(text)
    if not notes:
        raise ValidationError("the published-heads file holds no checkpoint")
    return [open_checkpoint(note, [verifier], origin=ledger.settings.log_origin) for note in notes]


def check_stored(
    ledger: Ledger, *, caller: Organisation | None = None, limit: int = 1000
) -> StoredCheckReport:
    """The stored events that today's input rules would refuse (stored by earlier versions): position,
    battery, event type, field and why; the first ``limit`` issues. Privileged, as :func:`verify`."""
    from batteryloop.ledger.access import check_may_verify

    check_may_verify(caller)
    if limit < 1:
        raise ValidationError(f"limit must be at least 1, got {limit}")
    return stored_check.check_stored(ledger.iter_events(), limit=limit)


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
    keystore: KeyStore,
    batch_size: int = 10_000,
    fmt: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> AppendSummary:
    """Append an NDJSON or CSV event file as ``org``, signed with its newest key in ``keystore``, through
    the pipelined bulk path. The whole file is read and checked before anything is written; each batch of
    ``batch_size`` events is atomic."""
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
    keystore: KeyStore,
    occurred_at: datetime | None = None,
) -> BatteryRegistered:
    """Register a battery unit made by ``org``: ``spec`` is the BatteryManufactured payload, optionally with
    its ``battery_id`` (a new EU unique identifier otherwise). The payload is stored as given (codes and
    passport fields included), after checking it describes a complete, plausible unit; the event is the one a
    client would sign and send to ``POST /events``."""
    from datetime import UTC

    from batteryloop.domain.battery import BatteryUnit
    from batteryloop.domain.identity import eu_unique_id

    data = dict(spec)
    battery_id = str(data.pop("battery_id", None) or eu_unique_id())
    named = data.setdefault("manufacturer_id", org)
    if named != org:
        raise ValidationError(
            f"battery {battery_id}: manufacturer_id {named!r} is not the registering {org!r}"
        )
    BatteryUnit.from_payload(battery_id, data)  # refuses an incomplete or implausible unit
    event = EventIn(
        battery_id=battery_id,
        event_type=EventType.BATTERY_MANUFACTURED,
        occurred_at=occurred_at or datetime.now(UTC),
        payload=data,
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


def stream_events(
    ledger: Ledger, *, caller: Organisation | None = None, after_position: int = 0
) -> Iterator[bytes]:
    """Every event after ``after_position`` as NDJSON lines, the bytes ``export_events`` writes to an
    ``.ndjson`` file (authorities, notified bodies and the operator). Access is checked before the first
    line, so a refused caller gets an error rather than an empty stream."""
    from batteryloop.ledger.access import check_may_export
    from batteryloop.ledger.interchange import ndjson_lines

    check_may_export(caller)
    if after_position < 0:
        raise ValidationError(f"after_position {after_position} is negative")
    return ndjson_lines(ledger.iter_events(after_position=after_position))


def rebuild(ledger: Ledger) -> int:
    """Recompute the current-state projection from the ledger alone; return the number of batteries."""
    return ledger.rebuild_projection()
