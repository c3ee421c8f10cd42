"""Signed notes and checkpoints: byte for byte the Go reference (golang.org/x/mod/sumdb/note), and refusals."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from batteryloop.domain.errors import SignatureError, ValidationError
from batteryloop.ledger.core.checkpoint import (
    key_id,
    open_checkpoint,
    parse_checkpoint,
    parse_verifier,
    public_bytes,
    sign_checkpoint,
    sign_note,
    split_notes,
    verifier_key,
)

# golang.org/x/mod/sumdb/note, note_test.go and the package documentation (the PeterNeumann example key and
# note, https://pkg.go.dev/golang.org/x/mod/sumdb/note). Ed25519 is deterministic (RFC 8032), so signing the
# same text with the same key must give the published signature.
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
)
GO_SIG = "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"


def go_private_key() -> Ed25519PrivateKey:
    raw = base64.b64decode(GO_SKEY.split("+", 4)[4])
    assert raw[0] == 1
    return Ed25519PrivateKey.from_private_bytes(raw[1:])


def test_the_go_reference_note_is_reproduced_byte_for_byte() -> None:
    key = go_private_key()
    verifier = parse_verifier(GO_VKEY)
    assert verifier.name == "PeterNeumann" and verifier.public_key == public_bytes(key)
    assert key_id("PeterNeumann", verifier.public_key).hex() == "c74f20a3"
    assert verifier_key("PeterNeumann", public_bytes(key)) == GO_VKEY
    assert sign_note(GO_TEXT, name="PeterNeumann", private_key=key) == GO_TEXT + "\n" + GO_SIG


@pytest.mark.parametrize(
    "bad",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # id mismatch
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",  # wrong length
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a3+!!!!",
    ],
)
def test_malformed_verifier_keys_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        parse_verifier(bad)


def test_checkpoint_round_trip_and_refusals() -> None:
    key = Ed25519PrivateKey.generate()
    name = "example.test/log"
    verifier = parse_verifier(verifier_key(name, public_bytes(key)))
    cp = sign_checkpoint(name, 12, bytes(range(32)), name=name, private_key=key)
    assert cp.note.startswith(f"{name}\n12\n{base64.b64encode(bytes(range(32))).decode()}\n\n\u2014 {name} ")
    opened = open_checkpoint(cp.note, [verifier], origin=name)
    assert (opened.size, opened.root) == (12, bytes(range(32)))
    with pytest.raises(SignatureError):  # another size under the same signature
        open_checkpoint(cp.note.replace("\n12\n", "\n13\n"), [verifier])
    other = Ed25519PrivateKey.generate()
    with pytest.raises(SignatureError):  # a key that did not sign it
        open_checkpoint(cp.note, [parse_verifier(verifier_key(name, public_bytes(other)))])
    with pytest.raises(SignatureError):
        open_checkpoint(cp.note, [verifier], origin="another/log")
    with pytest.raises(ValidationError):
        parse_checkpoint("no signature lines\n")
    with pytest.raises(ValidationError):
        parse_checkpoint(cp.note.replace("\n12\n", "\n012\n"))


def test_a_published_heads_file_splits_into_its_notes() -> None:
    key = Ed25519PrivateKey.generate()
    a = sign_checkpoint("o", 1, bytes(32), name="o", private_key=key).note
    b = sign_checkpoint("o", 5, bytes(32), name="o", private_key=key).note
    assert split_notes(a + "\n" + b) == [a, b]
    assert split_notes(a + b) == [a, b]
    assert split_notes("") == []
