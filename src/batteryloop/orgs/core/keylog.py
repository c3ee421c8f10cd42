"""The key log: signed, hash-chained registrations and revocations of organisations' signing keys.

Each entry is a :class:`KeyStatement` (what the signer decided: register or revoke which key of which
organisation) with the signer's Ed25519 signature over a domain-separated canonical form, plus what the
server assigns: a sequence number, the ledger position it is placed after (the head when it was written) and a
hash chain. :func:`replay` is the one place that decides whether a log is valid and what key was valid at a
position; the writer calls :func:`check_statement` on the same state, so what is accepted is exactly what
verify later accepts.

Rules: the first entry registers the operator's key (reserved organisation ``_operator``), self-signed.
An organisation's key is admitted by the operator while the organisation has no valid key; otherwise it must
be signed by a valid key of that organisation. A key is revoked by a valid key of its organisation (itself
included) or by the operator. Key ids are never reused, so a revoked key cannot come back. A batch at
position ``p`` is valid under a key registered after position ``a`` (``a < p``) and not revoked after a
position ``r < p``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from batteryloop.domain.errors import NotFoundError, SignatureError, ValidationError
from batteryloop.orgs.core.keys import key_id_for

OPERATOR = "_operator"
KEY_ENTRY_DOMAIN = b"batteryloop/key-entry/v1\x00"
ZERO_HASH = "0" * 64

Action = Literal["register", "revoke"]


@dataclass(frozen=True, slots=True)
class KeyStatement:
    """What a signer decides about one key: register it (with its public key) or revoke it."""

    action: Action
    org_id: str
    key_id: str
    public_key: bytes | None
    signer_org: str
    signer_key_id: str

    def message(self) -> bytes:
        """The signed bytes: a domain tag, then the statement as canonical JSON (sorted keys)."""
        doc = {
            "action": self.action,
            "key_id": self.key_id,
            "org_id": self.org_id,
            "public_key": self.public_key.hex() if self.public_key is not None else None,
            "signer_key_id": self.signer_key_id,
            "signer_org": self.signer_org,
        }
        return KEY_ENTRY_DOMAIN + orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def registration(org_id: str, public_key: bytes, *, signer_org: str, signer_key_id: str) -> KeyStatement:
    return KeyStatement("register", org_id, key_id_for(public_key), public_key, signer_org, signer_key_id)


def revocation(org_id: str, key_id: str, *, signer_org: str, signer_key_id: str) -> KeyStatement:
    return KeyStatement("revoke", org_id, key_id, None, signer_org, signer_key_id)


def sign_statement(statement: KeyStatement, private_key: Ed25519PrivateKey) -> bytes:
    return private_key.sign(statement.message())


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """A statement as stored: its signature, place in the log and in the ledger, and hash chain."""

    seq: int
    statement: KeyStatement
    signature: bytes
    after_position: int
    recorded_at: str
    prev_hash: str
    entry_hash: str


def entry_hash_of(
    statement: KeyStatement,
    signature: bytes,
    *,
    seq: int,
    after_position: int,
    recorded_at: str,
    prev_hash: str,
) -> str:
    doc = {
        "after_position": after_position,
        "prev_hash": prev_hash,
        "recorded_at": recorded_at,
        "seq": seq,
        "signature": signature.hex(),
        "statement": hashlib.sha256(statement.message()).hexdigest(),
    }
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()


def make_entry(
    statement: KeyStatement,
    signature: bytes,
    *,
    seq: int,
    after_position: int,
    recorded_at: str,
    prev_hash: str,
) -> KeyEntry:
    digest = entry_hash_of(
        statement,
        signature,
        seq=seq,
        after_position=after_position,
        recorded_at=recorded_at,
        prev_hash=prev_hash,
    )
    return KeyEntry(seq, statement, signature, after_position, recorded_at, prev_hash, digest)


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One signing key as the log establishes it."""

    key_id: str
    org_id: str
    public_key: bytes
    registered_seq: int
    registered_after: int
    signer: str  # "<org>/<key id>" that admitted it
    revoked_seq: int | None = None
    revoked_after: int | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_seq is not None

    def valid_at(self, position: int) -> bool:
        """True if a batch starting at ``position`` may be signed with this key."""
        return self.registered_after < position and (
            self.revoked_after is None or position <= self.revoked_after
        )


@dataclass
class KeyState:
    """The keys established by a prefix of the log (mutable while a log is replayed)."""

    keys: dict[str, KeyRecord] = field(default_factory=dict)
    seq: int = 0
    head_hash: str = ZERO_HASH
    after_position: int = 0

    def valid_keys(self, org_id: str) -> list[KeyRecord]:
        return [k for k in self.keys.values() if k.org_id == org_id and not k.revoked]

    def current(self, org_id: str, key_id: str) -> KeyRecord:
        """The valid key ``key_id`` of ``org_id``; SignatureError naming why not otherwise."""
        record = self.keys.get(key_id)
        if record is None:
            raise SignatureError(f"unknown key {key_id!r}: not registered in the signed key log")
        if record.org_id != org_id:
            raise SignatureError(f"signing key {key_id} belongs to {record.org_id}, not to {org_id}")
        if record.revoked:
            raise SignatureError(
                f"signing key {key_id} of {org_id} was revoked (key log entry {record.revoked_seq})"
            )
        return record


def _signer_public_key(state: KeyState, statement: KeyStatement) -> bytes:
    """The public key that must have signed ``statement`` under the rules, or ValidationError."""
    s = statement
    if s.signer_org not in (s.org_id, OPERATOR):
        raise ValidationError(f"{s.signer_org} may not sign key entries of {s.org_id}")
    if s.action == "register":
        if s.public_key is None or len(s.public_key) != 32:
            raise ValidationError("a key registration carries a 32-byte Ed25519 public key")
        try:
            Ed25519PublicKey.from_public_bytes(s.public_key)
        except ValueError as exc:
            raise ValidationError(f"not an Ed25519 public key: {exc}") from exc
        if key_id_for(s.public_key) != s.key_id:
            raise ValidationError(f"key id {s.key_id} is not the fingerprint of its public key")
        if s.key_id in state.keys:
            raise ValidationError(f"signing key {s.key_id} was registered before (key ids are never reused)")
        operators = state.valid_keys(OPERATOR)
        if (
            s.org_id == OPERATOR
            and not operators
            and not any(k.org_id == OPERATOR for k in state.keys.values())
        ):
            if s.signer_org != OPERATOR or s.signer_key_id != s.key_id:
                raise ValidationError("the operator's first key must sign its own registration")
            return s.public_key
        if s.signer_org == OPERATOR and s.org_id != OPERATOR and state.valid_keys(s.org_id):
            raise ValidationError(
                f"{s.org_id} holds a valid signing key: a new key must be signed by one of its keys, "
                "not admitted by the operator"
            )
    else:
        if s.public_key is not None:
            raise ValidationError("a revocation carries no public key")
        record = state.keys.get(s.key_id)
        if record is None or record.org_id != s.org_id:
            raise NotFoundError(f"no signing key {s.key_id!r} of {s.org_id} is registered")
        if record.revoked:
            raise ValidationError(f"signing key {s.key_id} of {s.org_id} is already revoked")
    signer = state.keys.get(s.signer_key_id)
    if signer is None or signer.org_id != s.signer_org or signer.revoked:
        raise SignatureError(f"signer key {s.signer_key_id!r} is not a valid key of {s.signer_org}")
    return signer.public_key


def check_statement(state: KeyState, statement: KeyStatement, signature: bytes) -> None:
    """Raise a domain error unless ``statement`` may follow ``state`` with this signature."""
    public_key = _signer_public_key(state, statement)
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, statement.message())
    except InvalidSignature as exc:
        raise SignatureError(
            f"the signature of the key entry ({statement.action} {statement.key_id}) does not verify with "
            f"{statement.signer_org}'s key {statement.signer_key_id}"
        ) from exc


def apply(state: KeyState, entry: KeyEntry) -> None:
    """Advance ``state`` by an entry already checked."""
    s = entry.statement
    if s.action == "register":
        assert s.public_key is not None
        state.keys[s.key_id] = KeyRecord(
            s.key_id,
            s.org_id,
            s.public_key,
            entry.seq,
            entry.after_position,
            f"{s.signer_org}/{s.signer_key_id}",
        )
    else:
        old = state.keys[s.key_id]
        state.keys[s.key_id] = KeyRecord(
            old.key_id,
            old.org_id,
            old.public_key,
            old.registered_seq,
            old.registered_after,
            old.signer,
            entry.seq,
            entry.after_position,
        )
    state.seq = entry.seq
    state.head_hash = entry.entry_hash
    state.after_position = entry.after_position


@dataclass(frozen=True, slots=True)
class Replayed:
    """A replayed log: the state it establishes up to the first broken entry, and that break (if any)."""

    state: KeyState
    broken_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def replay(entries: Iterable[KeyEntry], *, trust_signatures: bool = False) -> Replayed:
    """Check a log in sequence order (chain, hashes, positions, rules and signatures) and return the state it
    establishes; stops at the first broken entry. ``trust_signatures`` skips the Ed25519 checks (the writer's
    cache of a log verify checks in full)."""
    state = KeyState()
    for entry in entries:
        try:
            if entry.seq != state.seq + 1:
                raise ValidationError(
                    f"sequence {entry.seq} does not follow {state.seq} (an entry was removed)"
                )
            if entry.prev_hash != state.head_hash:
                raise ValidationError("previous hash does not match the preceding entry")
            if entry.after_position < state.after_position:
                raise ValidationError("it is placed before the preceding entry's ledger position")
            recomputed = entry_hash_of(
                entry.statement,
                entry.signature,
                seq=entry.seq,
                after_position=entry.after_position,
                recorded_at=entry.recorded_at,
                prev_hash=entry.prev_hash,
            )
            if recomputed != entry.entry_hash:
                raise ValidationError("entry hash does not match its fields (edited)")
            if trust_signatures:
                _signer_public_key(state, entry.statement)
            else:
                check_statement(state, entry.statement, entry.signature)
        except (ValidationError, SignatureError, NotFoundError) as exc:
            return Replayed(state, entry.seq, f"key log entry {entry.seq}: {exc}")
        apply(state, entry)
    return Replayed(state)
