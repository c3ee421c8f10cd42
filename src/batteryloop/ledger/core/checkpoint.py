"""Signed tree heads as C2SP checkpoints in signed-note form. Pure.

A checkpoint (https://c2sp.org/tlog-checkpoint) is the note text::

    <origin>\\n<tree size, decimal>\\n<root hash, standard base64>\\n

signed as a note (https://c2sp.org/signed-note): a blank line, then one line per signature
``— <key name> <base64(key id || signature)>``, where for Ed25519 the key id is the first four bytes of
``SHA-256(key name || 0x0A || 0x01 || public key)`` and the signature is over the note text. The operator's
public key is published as a verifier key ``<name>+<key id hex>+<base64(0x01 || public key)>``. Any tool that
reads Go's ``golang.org/x/mod/sumdb/note`` format reads these.

A published-heads file is these notes one after another (an empty line between them is allowed).

Extension lines (C2SP "other content", after the root hash line, covered by the signature): batteryloop's heads
carry ``batteryloop-keylog <count> <entry hash>``, the number of entries of the signed key log when the head was
signed and the hash-chain head of that prefix (the last entry's hash, or 64 zeros for an empty log). A verifier
with the key log recomputes both, so removing or editing key entries that a head covers is caught with no
copy of the log kept anywhere else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from batteryloop.domain.errors import SignatureError, ValidationError

KEYLOG_EXTENSION = "batteryloop-keylog"
SIG_PREFIX = "\u2014 "  # em dash and a space
ALG_ED25519 = b"\x01"
_NAME = re.compile(r"[^\s+]+").fullmatch


def key_id(name: str, public_key: bytes) -> bytes:
    """The signed-note key id of an Ed25519 key: 4 bytes."""
    return hashlib.sha256(name.encode() + b"\n" + ALG_ED25519 + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> str:
    """``<name>+<key id hex>+<base64(0x01 || key)>``: the form a verifier is given."""
    if not _NAME(name):
        raise ValidationError(f"key name {name!r} must be non-empty, without spaces or '+'")
    return f"{name}+{key_id(name, public_key).hex()}+{base64.b64encode(ALG_ED25519 + public_key).decode()}"


@dataclass(frozen=True, slots=True)
class Verifier:
    name: str
    public_key: bytes

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.public_key)

    def text(self) -> str:
        return verifier_key(self.name, self.public_key)


def parse_verifier(text: str) -> Verifier:
    parts = text.strip().split("+", 2)
    if len(parts) != 3 or not _NAME(parts[0]):
        raise ValidationError(f"verifier key {text!r} is not <name>+<key id>+<key>")
    name, hex_id, b64 = parts
    try:
        raw = base64.b64decode(b64, validate=True)
    except binascii.Error:
        raise ValidationError(f"verifier key {name}: the key is not base64") from None
    if len(raw) != 33 or raw[:1] != ALG_ED25519:
        raise ValidationError(f"verifier key {name}: not an Ed25519 key")
    verifier = Verifier(name, raw[1:])
    if verifier.id.hex() != hex_id.lower():
        raise ValidationError(f"verifier key {name}: key id {hex_id} does not match the key")
    return verifier


def public_bytes(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tree head: the log's origin, its size and root hash, and the signed note that carries them."""

    origin: str
    size: int
    root: bytes
    note: str  # the whole signed note text ("" when not signed)

    @property
    def body(self) -> str:
        """The signed text: from the note when there is one (extension lines included)."""
        if self.note and "\n\n" in self.note:
            return self.note.partition("\n\n")[0] + "\n"
        return body_of(self.origin, self.size, self.root)

    @property
    def extensions(self) -> tuple[str, ...]:
        """The note's extension lines after the root hash line."""
        return tuple(self.body.split("\n")[3:-1])

    @property
    def keylog(self) -> tuple[int, str] | None:
        """``(count, hash)`` of the key log this head covers, or None for a head without the extension."""
        for line in self.extensions:
            parsed = parse_keylog_line(line)
            if parsed is not None:
                return parsed
        return None

    @property
    def key_count(self) -> int:
        """How many key-log entries this head covers (0 for a head without the extension)."""
        keylog = self.keylog
        return keylog[0] if keylog is not None else 0

    def as_dict(self) -> dict[str, object]:
        keylog = self.keylog
        return {
            "origin": self.origin,
            "tree_size": self.size,
            "root_hash": self.root.hex(),
            "key_log": {"count": keylog[0], "hash": keylog[1]} if keylog is not None else None,
            "note": self.note,
        }


def keylog_line(count: int, entry_hash: str) -> str:
    if count < 0 or len(entry_hash) != 64:
        raise ValidationError("a key log extension has a count >= 0 and a 64-hex-digit hash")
    return f"{KEYLOG_EXTENSION} {count} {entry_hash}"


def parse_keylog_line(line: str) -> tuple[int, str] | None:
    """``(count, hash)`` of a ``batteryloop-keylog`` line; None for another extension; ValidationError if the
    line names the extension but is malformed."""
    parts = line.split(" ")
    if parts[0] != KEYLOG_EXTENSION:
        return None
    if len(parts) != 3 or not parts[1].isdigit() or len(parts[2]) != 64:
        raise ValidationError(f"malformed key log extension line {line[:80]!r}")
    try:
        int(parts[2], 16)
    except ValueError:
        raise ValidationError(f"the key log hash {parts[2][:16]}... is not hexadecimal") from None
    return int(parts[1]), parts[2].lower()


def body_of(origin: str, size: int, root: bytes, extensions: Sequence[str] = ()) -> str:
    if not origin or "\n" in origin:
        raise ValidationError("a checkpoint origin must be one non-empty line")
    for line in extensions:
        if not line or "\n" in line:
            raise ValidationError("a checkpoint extension is one non-empty line")
    tail = "".join(line + "\n" for line in extensions)
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n{tail}"


def sign_note(text: str, *, name: str, private_key: Ed25519PrivateKey) -> str:
    """The signed note of ``text`` (which ends with a newline) with one Ed25519 signature by ``name``."""
    if not text.endswith("\n"):
        raise ValidationError("a note's text ends with a newline")
    signature = private_key.sign(text.encode())
    stamp = base64.b64encode(key_id(name, public_bytes(private_key)) + signature).decode()
    return f"{text}\n{SIG_PREFIX}{name} {stamp}\n"


def sign_checkpoint(
    origin: str,
    size: int,
    root: bytes,
    *,
    name: str,
    private_key: Ed25519PrivateKey,
    extensions: Sequence[str] = (),
) -> Checkpoint:
    note = sign_note(body_of(origin, size, root, extensions), name=name, private_key=private_key)
    return Checkpoint(origin, size, root, note)


def parse_checkpoint(note: str) -> tuple[Checkpoint, list[tuple[str, bytes, bytes]]]:
    """The checkpoint and its signature lines (name, key id, signature), signatures not yet verified."""
    if "\n\n" not in note:
        raise ValidationError("a signed checkpoint has its text, a blank line and signature lines")
    body, _, sigs = note.partition("\n\n")
    body += "\n"
    lines = body.split("\n")
    if len(lines) < 4:
        raise ValidationError("a checkpoint has an origin, a tree size and a root hash line")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not origin:
        raise ValidationError("the checkpoint's origin line is empty")
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise ValidationError(f"the checkpoint's tree size {size_text!r} is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error:
        raise ValidationError("the checkpoint's root hash is not base64") from None
    if len(root) != 32:
        raise ValidationError(f"the checkpoint's root hash has {len(root)} bytes, not 32")
    for line in lines[3:-1]:
        if not line:
            raise ValidationError("a checkpoint's extension line is empty")
        parse_keylog_line(line)
    signatures = []
    for line in sigs.split("\n"):
        if not line:
            continue
        if not line.startswith(SIG_PREFIX):
            raise ValidationError(f"signature line {line[:40]!r} does not start with an em dash")
        name, _, stamp = line[len(SIG_PREFIX) :].partition(" ")
        try:
            raw = base64.b64decode(stamp, validate=True)
        except binascii.Error:
            raise ValidationError(f"the signature of {name} is not base64") from None
        if len(raw) < 5:
            raise ValidationError(f"the signature of {name} is too short")
        signatures.append((name, raw[:4], raw[4:]))
    if not signatures:
        raise ValidationError("the checkpoint carries no signature")
    return Checkpoint(origin, int(size_text), root, note if note.endswith("\n") else note + "\n"), signatures


def open_checkpoint(note: str, verifiers: Sequence[Verifier], *, origin: str | None = None) -> Checkpoint:
    """Parse a signed checkpoint and check it carries a valid signature by one of ``verifiers``."""
    checkpoint, signatures = parse_checkpoint(note)
    if origin is not None and checkpoint.origin != origin:
        raise SignatureError(f"checkpoint of log {checkpoint.origin!r}, expected {origin!r}")
    body = checkpoint.body.encode()
    for name, kid, signature in signatures:
        for verifier in verifiers:
            if verifier.name == name and verifier.id == kid:
                try:
                    Ed25519PublicKey.from_public_bytes(verifier.public_key).verify(signature, body)
                except InvalidSignature:
                    raise SignatureError(
                        f"the signature of {name} on the checkpoint of size {checkpoint.size} is not valid"
                    ) from None
                return checkpoint
    raise SignatureError(f"the checkpoint of size {checkpoint.size} carries no signature by a trusted key")


def split_notes(text: str) -> list[str]:
    """The signed notes of a published-heads file, in file order."""
    notes: list[str] = []
    current: list[str] = []
    in_sigs = False
    for line in text.splitlines():
        if in_sigs and not line.startswith(SIG_PREFIX):
            notes.append("\n".join(current) + "\n")
            current, in_sigs = [], False
        if not current and not line:
            continue
        current.append(line)
        if not line and current:
            in_sigs = True
    if current:
        notes.append("\n".join(current) + "\n")
    return notes


def key_log_problem(
    head: Checkpoint, log: Sequence[tuple[int, str, int]], *, published: bool = False
) -> str | None:
    """What is wrong with the key log ``log`` (``(seq, entry hash, ledger position it follows)`` in sequence
    order) given a head that names the prefix it covers, or None (also for a head without the extension).

    The head of size ``S`` was signed under the write lock after every key entry placed before position ``S``,
    so: the log holds at least the covered count, its entry at that count has the signed hash, and no later
    entry is placed before ``S``."""
    keylog = head.keylog
    if keylog is None:
        return None
    count, digest = keylog
    which = "published" if published else "stored"
    if count > len(log):
        return (
            f"the {which} tree head of size {head.size} covers {count} key log entries, the key log holds "
            f"{len(log)}: key entries were removed"
        )
    have = log[count - 1][1] if count > 0 else "0" * 64
    if have != digest:
        return (
            f"the key log's first {count} entries do not hash to what the {which} tree head of size "
            f"{head.size} signed: key entries were edited or replaced"
        )
    for seq, _hash, after in log[count:]:
        if after < head.size:
            return (
                f"key log entry {seq} is placed after position {after}, before the {which} tree head of size "
                f"{head.size} that does not cover it: it was inserted afterwards"
            )
    return None
