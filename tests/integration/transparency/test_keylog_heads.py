"""The key log inside the signed tree heads: every head carries ``batteryloop-keylog <count> <hash>``, a head is
signed by the first append after a key entry, and `verify` (stored heads) and `verify --anchor` (published heads)
catch key entries removed or edited afterwards, with no copy of the key log kept anywhere.

On the code before the extension, deleting the newest key entries (here: a revocation) passed `verify` and
`verify --anchor`: each test below fails there.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console
from sqlalchemy import text
from typer.testing import CliRunner

from batteryloop.cli import app
from batteryloop.config import Settings
from batteryloop.demo import run_demo
from batteryloop.domain.errors import SignatureError, ValidationError
from batteryloop.ledger import Ledger, sign_batch
from batteryloop.ledger.core.checkpoint import parse_checkpoint, parse_keylog_line, split_notes
from batteryloop.orgs import service
from batteryloop.orgs.core.keylog import entry_hash_of

runner = CliRunner()


def cli(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    settings = Settings(database_url=url, resolver_domain="https://id.example.test")
    run_demo(settings=settings, n_batteries=6, seed=3, replace=True, console=Console(file=io.StringIO()))
    cli("init", "--db", url)  # the operator key: heads are signed from here on
    return url


def _revoke_newest_key(ledger: Ledger, org_id: str) -> str:
    key_id = ledger.keystore().load(org_id)[0]
    service.revoke_signing_key_as_operator(ledger, org_id, key_id=key_id, operator_key=ledger.tree_key())
    return key_id


def _append_as(ledger: Ledger, bl: Any, org_id: str, battery_id: str) -> None:
    key = ledger.keystore().load(org_id)[1]
    ledger.append(sign_batch([bl.manufactured(battery_id)], actor=org_id, private_key=key))


def _unguard(conn: Any) -> None:
    for table in ("key_entries", "tree_heads", "tree_nodes"):
        conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))
        conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_update"))


def _makers(ledger: Ledger) -> list[str]:
    from batteryloop.domain.organisation import Role

    return [o.org_id for o in ledger.list_organisations() if Role.BATTERY_MANUFACTURER in o.roles]


def test_every_head_names_the_key_log_it_covers(url: str) -> None:
    ledger = Ledger.open(url)
    head = ledger.sign_tree_head()
    assert head.checkpoint is not None
    keylog = head.checkpoint.keylog
    entries = ledger.key_entries()
    assert keylog == (entries[-1].seq, entries[-1].entry_hash)
    line = head.checkpoint.note.split("\n")[3]
    assert parse_keylog_line(line) == keylog  # the extension line, inside the signed text
    assert parse_checkpoint(head.checkpoint.note)[0].keylog == keylog
    with pytest.raises(ValidationError, match="malformed key log extension"):
        parse_keylog_line("batteryloop-keylog x y")
    ledger.close()


def test_the_first_append_after_a_key_entry_signs_a_head_covering_it(url: str, bl: Any) -> None:
    """An entry recorded where no head can be signed at once (the orgs registry alone, as `batteryloop orgs`
    uses it: no tree there) is covered by the head the next append signs."""
    from batteryloop.orgs import OrgStore

    ledger = Ledger.open(url)
    maker = _makers(ledger)[0]
    before = ledger.tree.latest()
    store = OrgStore.open(url, create=False)
    service.new_signing_key(store, maker, keystore=ledger.keystore())  # a new key, signed by the old one
    store.engine.dispose()
    count = ledger.key_entries()[-1].seq
    assert ledger.tree.latest() == before  # nothing signed yet
    _append_as(ledger, bl, maker, "KL-1")
    latest = ledger.tree.latest()
    assert latest is not None and latest.checkpoint is not None
    assert before is None or latest.size > before.size
    assert latest.size == ledger.counts().events and latest.checkpoint.keylog is not None
    assert latest.checkpoint.keylog[0] == count
    assert ledger.verify().ok
    ledger.close()


def test_a_key_entry_through_the_ledger_is_covered_at_once_by_a_second_head_at_the_same_size(
    url: str,
) -> None:
    """The window the first-append rule leaves: a head is stored at the current size, then a revocation is
    written and no batch follows. Before heads were kept per (size, key count), no second head could be stored
    at that size, and deleting the revocation passed verify until the next append. Now the revocation's own
    transaction signs a head covering it, and deleting it fails verify at once."""
    ledger = Ledger.open(url)
    maker = _makers(ledger)[0]
    first = ledger.sign_tree_head()
    assert first.checkpoint is not None and first.checkpoint.keylog is not None
    revoked = _revoke_newest_key(ledger, maker)
    count = ledger.key_entries()[-1].seq
    latest = ledger.tree.latest()
    assert latest is not None and latest.checkpoint is not None and latest.checkpoint.keylog is not None
    assert (latest.size, latest.checkpoint.keylog[0]) == (first.size, count)  # same size, one more entry
    assert [h.size for h in ledger.tree.heads()].count(first.size) == 2
    assert ledger.sign_tree_head() == latest  # nothing new to cover: the stored head
    assert ledger.verify().ok
    with ledger.engine.begin() as conn:
        _unguard(conn)
        conn.execute(text("DELETE FROM key_entries WHERE key_id = :k AND action = 'revoke'"), {"k": revoked})
    report = ledger.verify()
    assert not report.ok and report.first_broken is not None
    assert "key entries were removed" in report.first_broken.reason
    ledger.close()


def test_log_checkpoint_covers_an_entry_of_the_orgs_registry_with_a_second_head(
    url: str, tmp_path: Path
) -> None:
    """`batteryloop log checkpoint` signs a second head at the same size when the key log has grown since
    the stored one; the published heads list both, and a page of heads never ends between two of one size."""
    from batteryloop.orgs import OrgStore

    ledger = Ledger.open(url)
    maker = _makers(ledger)[0]
    first = ledger.sign_tree_head()
    heads = tmp_path / "heads.txt"
    cli("log", "publish", "--to", str(heads), "--db", url)
    store = OrgStore.open(url, create=False)
    key_id = ledger.keystore().load(maker)[0]
    service.revoke_signing_key_as_operator(store, maker, key_id=key_id, operator_key=ledger.tree_key())
    store.engine.dispose()
    assert ledger.tree.latest() == first  # the registry alone signs nothing
    cli("log", "checkpoint", "--db", url)
    latest = ledger.tree.latest()
    assert latest is not None and latest.size == first.size and latest.checkpoint is not None
    assert (
        latest.checkpoint.keylog is not None and latest.checkpoint.keylog[0] == ledger.key_entries()[-1].seq
    )
    sizes = [h.size for h in ledger.tree.heads()]
    assert sizes.count(first.size) == 2 and sizes == sorted(sizes)
    page = ledger.tree.heads(limit=sizes.index(first.size) + 1)  # would end between the two
    assert [h.size for h in page] == sizes[: sizes.index(first.size) + 2]
    cli("log", "publish", "--to", str(heads), "--db", url)  # the same tree, one more key entry: added
    published = [parse_checkpoint(n)[0] for n in split_notes(heads.read_text())]
    assert first.checkpoint is not None
    assert [(c.size, c.key_count) for c in published] == [
        (first.size, first.checkpoint.key_count),
        (first.size, ledger.key_entries()[-1].seq),
    ]
    cli("log", "publish", "--to", str(heads), "--db", url)  # a repeat: not added
    assert len(split_notes(heads.read_text())) == 2
    assert "hold" in cli("verify", "--anchor", str(heads), "--db", url).output
    ledger.close()


def test_deleting_the_newest_key_entries_fails_verify(url: str, bl: Any) -> None:
    ledger = Ledger.open(url)
    maker = _makers(ledger)[0]
    revoked = _revoke_newest_key(ledger, maker)
    ledger.sign_tree_head()
    assert ledger.verify().ok
    with ledger.engine.begin() as conn:  # the attacker wants the revoked key back: drop the revocation
        _unguard(conn)
        conn.execute(text("DELETE FROM key_entries WHERE key_id = :k AND action = 'revoke'"), {"k": revoked})
    assert ledger.key_state().keys[revoked].revoked is False  # the log itself still replays
    report = ledger.verify()
    assert not report.ok and report.first_broken is not None
    assert "key entries were removed" in report.first_broken.reason
    result = cli("verify", "--db", url, code=1)
    assert "key entries were removed" in result.output
    ledger.close()


def test_an_edited_key_log_with_recomputed_hashes_fails_verify(url: str) -> None:
    ledger = Ledger.open(url)
    ledger.sign_tree_head()
    last = ledger.key_entries()[-1]
    forged_at = "2020-01-01T00:00:00.000000Z"
    forged = entry_hash_of(
        last.statement,
        last.signature,
        seq=last.seq,
        after_position=last.after_position,
        recorded_at=forged_at,
        prev_hash=last.prev_hash,
    )
    with ledger.engine.begin() as conn:  # a consistent chain, rewritten: replay alone cannot see it
        _unguard(conn)
        conn.execute(
            text("UPDATE key_entries SET recorded_at = :at, entry_hash = :h WHERE seq = :s"),
            {"at": forged_at, "h": forged, "s": last.seq},
        )
    report = ledger.verify()
    assert not report.ok and report.first_broken is not None
    assert "edited or replaced" in report.first_broken.reason
    ledger.close()


def test_verify_anchor_catches_removed_key_entries_and_heads(url: str, tmp_path: Path) -> None:
    ledger = Ledger.open(url)
    maker = _makers(ledger)[0]
    revoked = _revoke_newest_key(ledger, maker)
    ledger.sign_tree_head()
    heads = tmp_path / "heads.txt"
    cli("log", "publish", "--to", str(heads), "--db", url)
    assert "hold" in cli("verify", "--anchor", str(heads), "--db", url).output
    size = ledger.counts().events
    with ledger.engine.begin() as conn:  # removes the revocation and every head that named it
        _unguard(conn)
        conn.execute(text("DELETE FROM key_entries WHERE key_id = :k AND action = 'revoke'"), {"k": revoked})
        conn.execute(text("DELETE FROM tree_heads WHERE tree_size >= :s"), {"s": size})
    assert ledger.verify().ok  # nothing inside the database shows it any more
    result = cli("verify", "--anchor", str(heads), "--db", url, code=1)
    assert "BROKEN" in result.output and "published tree head" in result.output
    assert "key entries were removed" in result.output
    ledger.close()


def test_a_revocation_through_the_cli_is_covered_at_once(url: str) -> None:
    """`batteryloop org key revoke` goes through the ledger's registry (the root command hands it to the
    orgs face), so the revocation's transaction signs a head over it, at the same tree size."""
    ledger = Ledger.open(url)
    maker = _makers(ledger)[0]
    first = ledger.sign_tree_head()
    key_id = ledger.keystore().load(maker)[0]
    cli("org", "key", "revoke", maker, key_id, "--operator", "--db", url)
    latest = ledger.tree.latest()
    assert latest is not None and latest.checkpoint is not None and latest.checkpoint.keylog is not None
    assert (latest.size, latest.checkpoint.keylog[0]) == (first.size, ledger.key_entries()[-1].seq)
    with ledger.engine.begin() as conn:
        _unguard(conn)
        conn.execute(text("DELETE FROM key_entries WHERE key_id = :k AND action = 'revoke'"), {"k": key_id})
    assert "key entries were removed" in cli("verify", "--db", url, code=1).output
    ledger.close()


def test_a_key_entry_signs_its_head_in_its_own_transaction_on_both_engines(
    any_ledger: Ledger, bl: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger's hook signs through the key entry's own connection (SQLite and PostgreSQL): the head is
    there when the entry is, and an entry that fails writes no head."""
    ledger = any_ledger
    # the test's operator key signs every head (the key store of the PostgreSQL URL is shared by the session)
    monkeypatch.setattr(ledger, "tree_key", lambda: bl.OPERATOR_KEY)
    monkeypatch.setattr(ledger._ingest.tree, "operator_key", lambda: bl.OPERATOR_KEY)
    world = bl.build_world(ledger)
    world.maker.append(bl.manufactured("TX-1"))
    first = ledger.sign_tree_head()
    newcomer = bl.add_actor(ledger, "newcomer")  # the operator admits its first key: a key entry
    latest = ledger.tree.latest()
    assert latest is not None and latest.checkpoint is not None and latest.checkpoint.keylog is not None
    assert (latest.size, latest.checkpoint.keylog[0]) == (first.size, ledger.key_entries()[-1].seq)
    heads = len(ledger.tree.heads())
    stranger = Ed25519PrivateKey.generate()
    with pytest.raises(
        SignatureError
    ):  # signed by a key the newcomer does not hold: refused, nothing written
        bl.add_key(newcomer, signer=stranger)
    assert len(ledger.tree.heads()) == heads
    assert ledger.verify().ok
