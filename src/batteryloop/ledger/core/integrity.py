"""Hashes, Merkle roots and Ed25519 signatures of the ledger. Pure: no database here.

Per event (client-determined fields only, so a client can compute it before submitting):

    payload_text  = RFC 8785 canonical JSON of the payload;  payload_hash = sha256(payload_text)
    content_hash  = sha256(canonical {actor, battery_id, event_type, idempotency_key, occurred_at,
                                      payload_hash, schema_version})
    default idempotency key = content_hash computed with idempotency_key = null
    idempotency digest (the unique index) = first 16 bytes of the key read as hex when the key is 64 lowercase
                                            hex digits (every default key), else first 16 bytes of sha256(key)

Per batch: Merkle root (RFC 6962: leaf = sha256(0x00 || content_hash), node = sha256(0x01 || left || right),
an odd node is promoted unchanged) over the content hashes in batch order. The client signs
``SIGNING_CONTEXT || root`` with its Ed25519 key; the server recomputes the root and verifies before writing.

Per stored event (server-assigned fields): event_hash = sha256(canonical {position, event_id, battery_id,
stream_seq, recorded_at, content_hash, prev_hash}); prev_hash of a stream's first event is 64 zeros.
Per stored batch: events_hash = sha256(the batch's event hashes as 32-byte digests, concatenated in position
order); checkpoint = sha256(canonical {prev_checkpoint, batch_id, merkle_root, first_position, last_position,
last_event_hash, events_hash}), chaining every batch to the one before. Covering every event hash (not only
the last) makes the server-assigned fields of every event (id, position, recording time) tamper-evident
against a kept checkpoint, also where an attacker recomputes one stream's chain.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from batteryloop.domain.errors import SignatureError, ValidationError
from batteryloop.domain.lifecycle import EventType
from batteryloop.domain.validation import EARLIEST_INSTANT as _EARLIEST
from batteryloop.domain.validation import LATEST_INSTANT as _LATEST
from batteryloop.domain.validation import check_identifier, check_instant
from batteryloop.ledger.core import merkle
from batteryloop.ledger.core.canonical import canonical_json
from batteryloop.ledger.core.merkle import leaf_sha256

ZERO_HASH = "0" * 64
ZERO_DIGEST = bytes(32)  # ZERO_HASH as stored (hashes are stored as 32-byte digests)
IDEMPOTENCY_DIGEST_BYTES = 16
SIGNING_CONTEXT = b"batteryloop/batch-root/v1\x00"
_SORT = orjson.OPT_SORT_KEYS
_UTC_Z = orjson.OPT_UTC_Z
_sha256 = hashlib.sha256
_HEX64 = re.compile(r"[0-9a-f]{64}").fullmatch


@dataclass(frozen=True, slots=True)
class EventIn:
    """One event as a client submits it."""

    battery_id: str
    event_type: EventType
    occurred_at: datetime  # timezone-aware
    payload: Mapping[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None
    schema_version: int = 1

    def __post_init__(self) -> None:
        if type(self.event_type) is not EventType:
            try:
                object.__setattr__(self, "event_type", EventType(self.event_type))
            except ValueError:
                raise ValidationError(
                    f"battery {self.battery_id}: unknown event type {self.event_type!r}"
                ) from None


@dataclass(frozen=True, slots=True)
class SignedBatch:
    """A batch of events signed by ``actor`` with its registered key ``key_id``."""

    actor: str
    key_id: str
    events: tuple[EventIn, ...]
    merkle_root: str  # hex; the server recomputes it and rejects a mismatch
    signature: bytes  # Ed25519 over SIGNING_CONTEXT || bytes.fromhex(merkle_root)


@dataclass(slots=True)
class PreparedEvent:
    """An EventIn with its canonical payload and hashes (what both client and server compute).

    The write path uses the same data as columns (:class:`PreparedColumns`).
    """

    event: EventIn
    occurred_at: str
    payload_text: str
    payload_hash: str
    idempotency_key: str
    content_hash: str
    payload_bytes: int  # size of the canonical payload in UTF-8
    payload_digest: bytes = b""  # payload_hash as 32 bytes (what the database stores)
    content_digest: bytes = b""  # content_hash as 32 bytes
    default_key: bool = False  # the idempotency key is the default one (not stored: recomputed on read)
    idem_digest: bytes = b""  # the key's unique-index digest (idempotency_digest)
    # set by the server's helper process (Ledger.append_bulk) only: whether the payload already passed
    # domain.lifecycle.check_payload
    payload_checked: bool = False


def format_instant(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds and a ``Z``: the one textual form hashed and stored.

    orjson writes the text (4x faster than ``isoformat``); it drops a zero fraction, which we put back.
    """
    tz = moment.tzinfo
    if tz is not UTC:
        if tz is None or tz.utcoffset(moment) is None:
            raise ValidationError(f"timestamp {moment!r} has no time zone; give it in UTC")
        check_instant("timestamp", moment)  # before the shift: years 1 and 9999 overflow
        moment = moment.astimezone(UTC)
    elif not _EARLIEST <= moment <= _LATEST:
        check_instant("timestamp", moment)
    text = orjson.dumps(moment, option=_UTC_Z)[1:-1].decode()
    return text if moment.microsecond else text[:-1] + ".000000Z"


def content_hash_of(
    *,
    actor: str,
    battery_id: str,
    event_type: str,
    idempotency_key: str | None,
    occurred_at: str,
    payload_hash: str,
    schema_version: int,
) -> str:
    doc = {
        "actor": actor,
        "battery_id": battery_id,
        "event_type": event_type,
        "idempotency_key": idempotency_key,
        "occurred_at": occurred_at,
        "payload_hash": payload_hash,
        "schema_version": schema_version,
    }
    return _sha256(orjson.dumps(doc, option=_SORT)).hexdigest()


class PreparedColumns(NamedTuple):
    """A batch's events with their canonical payloads and hashes, one list per field (what the server's write
    path consumes without building one object per event)."""

    events: Sequence[EventIn]
    occurred_at: list[str]
    payload_text: list[str]
    payload_hash: list[str]
    idempotency_key: list[str]
    content_hash: list[str]
    payload_bytes: list[int]
    payload_digest: list[bytes]
    content_digest: list[bytes]
    default_key: list[bool]
    idem_digest: list[bytes]
    payload_checked: list[bool]  # the payload already passed domain.lifecycle.check_payload

    def rows(self) -> list[PreparedEvent]:
        """The same data as one PreparedEvent per event."""
        return list(map(PreparedEvent, *self))


def prepare_events(events: Sequence[EventIn], *, actor: str) -> list[PreparedEvent]:
    """Canonicalise and hash each event as ``actor`` submits it (same code on client and server)."""
    return prepare_columns(events, actor=actor).rows()


def prepare_columns(events: Sequence[EventIn], *, actor: str) -> PreparedColumns:
    """:func:`prepare_events` as columns.

    The content document is written directly in RFC 8785 form (keys in sorted order, strings through
    orjson, which escapes exactly as RFC 8785 does): byte-identical to :func:`content_hash_of`, which the
    unit tests check, and without building two dicts per event.
    """
    dumps = orjson.dumps
    sha = _sha256
    actor_json = dumps(actor)
    n = len(events)
    occurred_col: list[str] = []
    text_col: list[str] = []
    hash_col: list[str] = []
    key_col: list[str] = []
    content_col: list[str] = []
    size_col: list[int] = []
    pdigest_col: list[bytes] = []
    cdigest_col: list[bytes] = []
    default_col: list[bool] = []
    idem_col: list[bytes] = []
    for event in events:
        event_type = event.event_type
        check_identifier("battery id", event.battery_id)
        if event.idempotency_key is not None:
            check_identifier(f"battery {event.battery_id}: idempotency key", event.idempotency_key)
        if type(event_type) is not EventType:
            raise ValidationError(f"battery {event.battery_id}: unknown event type {event_type!r}")
        payload = event.payload
        if type(payload) is not dict:
            if not isinstance(payload, Mapping):
                raise ValidationError(f"battery {event.battery_id}: payload must be a JSON object")
            payload = dict(payload)
        version = event.schema_version
        if type(version) is not int or not 0 < version < 2**31:
            raise ValidationError(f"battery {event.battery_id}: schema_version must be a positive integer")
        payload_bytes = canonical_json(payload)
        payload_digest = sha(payload_bytes).digest()
        payload_hash = payload_digest.hex()
        occurred = format_instant(event.occurred_at)
        head = b'{"actor":%b,"battery_id":%b,"event_type":"%b","idempotency_key":' % (
            actor_json,
            dumps(event.battery_id),
            event_type.value.encode(),
        )
        tail = b',"occurred_at":"%b","payload_hash":"%b","schema_version":%d}' % (
            occurred.encode(),
            payload_hash.encode(),
            version,
        )
        key = event.idempotency_key
        default_key = key is None
        if key is None:
            default_digest = sha(head + b"null" + tail).digest()
            key = default_digest.hex()
            idem = default_digest[:IDEMPOTENCY_DIGEST_BYTES]
        else:  # scoped per organisation; the event's own default key given explicitly is the default key
            idem = b""
            if len(key) == 64 and _HEX64(key):
                default_digest = sha(head + b"null" + tail).digest()
                if default_digest.hex() == key:
                    default_key, idem = True, default_digest[:IDEMPOTENCY_DIGEST_BYTES]
            if not idem:
                idem = idempotency_digest(key, actor=actor)
        content_digest = sha(head + dumps(key) + tail).digest()
        occurred_col.append(occurred)
        text_col.append(payload_bytes.decode("utf-8"))
        hash_col.append(payload_hash)
        key_col.append(key)
        content_col.append(content_digest.hex())
        size_col.append(len(payload_bytes))
        pdigest_col.append(payload_digest)
        cdigest_col.append(content_digest)
        default_col.append(default_key)
        idem_col.append(idem)
    return PreparedColumns(
        events,
        occurred_col,
        text_col,
        hash_col,
        key_col,
        content_col,
        size_col,
        pdigest_col,
        cdigest_col,
        default_col,
        idem_col,
        [False] * n,
    )


def merkle_root(content_hashes: Iterable[str]) -> str:
    """RFC 6962-style Merkle root (hex) of hex content hashes in order; odd nodes are promoted."""
    return merkle_root_of_digests(bytes.fromhex(h) for h in content_hashes)


def merkle_root_of_digests(content_digests: Iterable[bytes]) -> str:
    """:func:`merkle_root` of content hashes given as 32-byte digests (as stored)."""
    leaf = leaf_sha256  # one-block messages: the built-in SHA-256 (merkle.leaf_sha256)
    digests = content_digests if isinstance(content_digests, list) else list(content_digests)
    if not digests:
        raise ValidationError("a batch must hold at least one event")
    if merkle.native is not None:  # the C accelerator hashes a level per call: grow the tree as verify does
        tree = merkle.CompactRange(0, 0)
        tree.extend(digests, None, 2)
        return merkle.fold_right([h for _, h in tree.nodes()]).hex()
    # the leaves and their parents in one pass (a verify's hot path); an odd last leaf is promoted
    pairs = iter(digests)
    level = [
        _sha256(b"\x01" + leaf(b"\x00" + left).digest() + leaf(b"\x00" + right).digest()).digest()
        for left, right in zip(pairs, pairs, strict=False)
    ]
    if len(digests) % 2:
        level.append(leaf(b"\x00" + digests[-1]).digest())
    while len(level) > 1:
        pairs = iter(level)  # two at a time; an odd last node is left over and promoted below
        nxt = [_sha256(b"\x01" + left + right).digest() for left, right in zip(pairs, pairs, strict=False)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0].hex()


def idempotency_digest(key: str, *, actor: str) -> bytes:
    """The compact unique index value of a key the client chose: the first 16 bytes of
    sha256(actor NUL key), so each organisation has its own keys (two may use the same key independently,
    and none can take or probe another's). An identifier holds no NUL, so the pair is unambiguous.

    A default key (the content hash computed without a key, which covers the actor already) is its own
    digest: its first 16 bytes (:func:`default_key_digest`).
    """
    return _sha256(b"%b\x00%b" % (actor.encode("utf-8"), key.encode("utf-8"))).digest()[
        :IDEMPOTENCY_DIGEST_BYTES
    ]


def default_key_digest(key: str) -> bytes:
    """The unique index value of a default key (64 lowercase hex digits): its first 16 bytes."""
    return bytes.fromhex(key)[:IDEMPOTENCY_DIGEST_BYTES]


def event_hash_of(
    *,
    position: int,
    event_id: str,
    battery_id: str,
    stream_seq: int,
    recorded_at: str,
    content_hash: str,
    prev_hash: str,
) -> str:
    doc = {
        "battery_id": battery_id,
        "content_hash": content_hash,
        "event_id": event_id,
        "position": position,
        "prev_hash": prev_hash,
        "recorded_at": recorded_at,
        "stream_seq": stream_seq,
    }
    return _sha256(orjson.dumps(doc, option=_SORT)).hexdigest()


def event_hash_fast(
    position: int,
    event_id: str,
    battery_id: str,
    stream_seq: int,
    recorded_at: str,
    content_hash: str,
    prev_hash: str,
) -> str:
    """:func:`event_hash_of` written directly in canonical form (the write path's version; tested equal).

    ``event_id``, ``recorded_at`` and the hashes are ASCII without characters JSON escapes (the server makes
    them); ``battery_id`` is client text and goes through orjson.
    """
    return _sha256(
        b'{"battery_id":%b,"content_hash":"%b","event_id":"%b","position":%d,"prev_hash":"%b",'
        b'"recorded_at":"%b","stream_seq":%d}'
        % (
            orjson.dumps(battery_id),
            content_hash.encode(),
            event_id.encode(),
            position,
            prev_hash.encode(),
            recorded_at.encode(),
            stream_seq,
        )
    ).hexdigest()


def checkpoint_of(
    *,
    prev_checkpoint: str,
    batch_id: str,
    merkle_root: str,
    first_position: int,
    last_position: int,
    last_event_hash: str,
    events_hash: str,
) -> str:
    doc = {
        "batch_id": batch_id,
        "events_hash": events_hash,
        "first_position": first_position,
        "last_event_hash": last_event_hash,
        "last_position": last_position,
        "merkle_root": merkle_root,
        "prev_checkpoint": prev_checkpoint,
    }
    return _sha256(canonical_json(doc)).hexdigest()


def events_hash_of(event_digests: Iterable[bytes]) -> str:
    """The checkpoint's cover of a batch's stored events: sha256 of their 32-byte event hashes in order."""
    return _sha256(b"".join(event_digests)).hexdigest()


def sign_root(root_hex: str, private_key: Ed25519PrivateKey) -> bytes:
    return private_key.sign(SIGNING_CONTEXT + bytes.fromhex(root_hex))


def verify_root_signature(root_hex: str, signature: bytes, public_key: bytes) -> None:
    """Raise SignatureError unless ``signature`` is a valid Ed25519 signature of the root."""
    if not signature:
        raise SignatureError("the batch carries no signature")
    if len(signature) != 64:
        raise SignatureError(f"an Ed25519 signature has 64 bytes, this one has {len(signature)}")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            signature, SIGNING_CONTEXT + bytes.fromhex(root_hex)
        )
    except InvalidSignature:
        raise SignatureError(f"the signature does not match the batch's Merkle root {root_hex}") from None
