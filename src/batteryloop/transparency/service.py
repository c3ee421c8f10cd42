"""Use cases of the transparency log: heads, on-demand checkpoints, proofs, publishing, bundles, and the
verification of a bundle without the database. Proofs and heads are public (they reveal hashes only); a bundle
carries a battery's events, so it follows the trace read rule (``ledger.access``); signing a head is the
operator's (``caller=None``: whoever holds the database and the keystore)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from batteryloop.domain.errors import BatteryloopError, ValidationError
from batteryloop.domain.organisation import Organisation
from batteryloop.ledger import Ledger
from batteryloop.ledger import service as ledger_service
from batteryloop.ledger.core.bundle import BundleReport, Check, verify_bundle
from batteryloop.ledger.core.checkpoint import parse_checkpoint, split_notes
from batteryloop.ledger.core.merkle import ProofError, leaf_hash, verify_consistency
from batteryloop.passport.core.links import links_to_refs
from batteryloop.passport.core.served import rebuild, resolver_of, served_mismatch


@dataclass(frozen=True, slots=True)
class HeadView:
    """A tree head: size and root, the signed checkpoint note if the operator signed this size, and the
    operator's verifier key (to check it with)."""

    origin: str
    size: int
    root_hash: str
    checkpoint: str | None
    verifier: str | None


@dataclass(frozen=True, slots=True)
class InclusionView:
    position: int
    leaf_index: int
    event_hash: str  # the leaf data
    leaf_hash: str
    tree_size: int
    root_hash: str
    proof: tuple[str, ...]
    checkpoint: str | None


@dataclass(frozen=True, slots=True)
class ConsistencyView:
    old_size: int
    new_size: int
    old_root: str
    new_root: str
    proof: tuple[str, ...]
    old_checkpoint: str | None
    new_checkpoint: str | None


@dataclass(frozen=True, slots=True)
class PublishResult:
    """The head appended to a published-heads file (``text`` is the file's new content)."""

    size: int
    note: str
    appended: bool
    text: str


def _view(ledger: Ledger, h: Any) -> HeadView:
    verifier = ledger.operator_verifier()
    return HeadView(
        origin=ledger.settings.log_origin,
        size=h.size,
        root_hash=h.root.hex(),
        checkpoint=h.checkpoint.note if h.checkpoint is not None else None,
        verifier=verifier.text() if verifier is not None else None,
    )


def head(ledger: Ledger, *, size: int | None = None, signed: bool = False) -> HeadView:
    """The tree head at ``size`` (default the whole ledger); with ``signed`` the newest operator-signed head."""
    if signed:
        latest = ledger.tree.latest()
        if latest is None:
            raise ValidationError(
                "the operator has not signed a tree head yet (`batteryloop log checkpoint`)"
            )
        return _view(ledger, latest)
    return _view(ledger, ledger.tree.head(size))


def checkpoint(ledger: Ledger, *, caller: Organisation | None = None) -> HeadView:
    """Sign the tree head as it stands now with the operator key (returns the stored one if already signed)."""
    if caller is not None:
        raise PermissionError("only the log operator signs tree heads")
    return _view(ledger, ledger.sign_tree_head())


def proofs_in_place(ledger: Ledger) -> bool:
    """Whether :func:`prove_inclusion` may run ``in_place`` (SQLite: see ``TreeLog.proofs_in_place``)."""
    return ledger.tree.proofs_in_place


def prove_inclusion(
    ledger: Ledger, position: int, *, size: int | None = None, in_place: bool = False
) -> InclusionView:
    """The audit path of the event at ``position`` against the tree of ``size`` (default: the newest signed
    head, or the current tree if none is signed). ``in_place``: read on the calling thread's own connection,
    never waiting for the pool (only where :func:`proofs_in_place`)."""
    h, proofs, leaves = ledger.tree.proofs([position], size, in_place=in_place)
    return InclusionView(
        position=position,
        leaf_index=position - 1,
        event_hash=leaves[0].hex(),
        leaf_hash=leaf_hash(leaves[0]).hex(),
        tree_size=h.size,
        root_hash=h.root.hex(),
        proof=tuple(p.hex() for p in proofs[0]),
        checkpoint=h.checkpoint.note if h.checkpoint is not None else None,
    )


def prove_consistency(ledger: Ledger, old: int, *, new: int | None = None) -> ConsistencyView:
    """The consistency proof from the tree of ``old`` events to that of ``new`` (default: the current tree)."""
    a, b, proof = ledger.tree.consistency(old, new)
    return ConsistencyView(
        old_size=a.size,
        new_size=b.size,
        old_root=a.root.hex(),
        new_root=b.root.hex(),
        proof=tuple(p.hex() for p in proof),
        old_checkpoint=a.checkpoint.note if a.checkpoint is not None else None,
        new_checkpoint=b.checkpoint.note if b.checkpoint is not None else None,
    )


def publish(ledger: Ledger, existing: str, *, caller: Organisation | None = None) -> PublishResult:
    """Append the newest signed head to the text of a published-heads file (append-only: existing heads are
    kept, the new one must be larger and consistent with the last one, or of the same tree and cover more key
    entries; a repeat is not added)."""
    if caller is not None:
        raise PermissionError("only the log operator publishes tree heads")
    latest = ledger.tree.latest()
    if latest is None or latest.checkpoint is None:
        raise ValidationError("the operator has not signed a tree head yet (`batteryloop log checkpoint`)")
    note = latest.checkpoint.note
    notes = split_notes(existing)
    if notes:
        last, _sigs = parse_checkpoint(notes[-1])
        if last.size == latest.size and last.root == latest.root:
            if latest.checkpoint.key_count <= last.key_count:
                return PublishResult(latest.size, note, False, existing)
            # the same tree, signed again after key entries: the newer head covers them
        elif last.size >= latest.size:
            raise ValidationError(
                f"the file's last head has {last.size} events, the newest signed head {latest.size}: "
                "a published-heads file only grows"
            )
        ledger_service.published_checkpoints(ledger, notes[-1])  # signed by this operator, or refused
        if last.size < latest.size:
            _a, _b, proof = ledger.tree.consistency(last.size, latest.size)
            try:
                verify_consistency(last.size, latest.size, last.root, latest.root, proof)
            except ProofError:
                raise ValidationError(
                    f"the ledger is not consistent with the file's head of size {last.size}: not published"
                ) from None
    text = existing if not existing or existing.endswith("\n\n") else existing.rstrip("\n") + "\n\n"
    return PublishResult(latest.size, note, True, (text if existing else "") + note)


def bundle(
    ledger: Ledger,
    battery_id: str,
    *,
    caller: Organisation | None = None,
    size: int | None = None,
    since: int | None = None,
) -> dict[str, Any]:
    """A battery's proof bundle (see :mod:`batteryloop.ledger.core.bundle`), under the trace read rule."""
    return ledger_service.bundle_for(ledger, battery_id, caller=caller, size=size, since=since)


def keys(ledger: Ledger) -> dict[str, Any]:
    """The keys file: the operator's verifier key and every organisation's registered signing key."""
    return ledger.keys_document()


def verify_passport(
    document: Mapping[str, Any],
    *,
    keys_doc: Mapping[str, Any],
    heads_text: str | None = None,
    passport: Mapping[str, Any] | None = None,
) -> BundleReport:
    """Check a proof bundle without any database: signatures, hashes, chain, inclusion, and consistency with
    the newest head of a published-heads file. ``passport``: a served passport document (GET
    /passports/{id}, any access tier) or a served trace (GET /batteries/{id}/trace, `trace --json`), checked
    against the bundle's events: it must be made from exactly these verified events."""
    published: list[str] = []
    if heads_text is not None:
        notes = split_notes(heads_text)
        if not notes:
            raise ValidationError("the published-heads file holds no checkpoint")
        published = [max(notes, key=lambda n: parse_checkpoint(n)[0].size)]
    report = verify_bundle(document, keys=keys_doc, published=published)
    if passport is None:
        return report
    return replace(report, checks=(*report.checks, _served_check(document, passport, report)))


def _served_check(bundle: Mapping[str, Any], served: Mapping[str, Any], report: BundleReport) -> Check:
    """Whether a served passport (or trace) is made of the bundle's events, which must all have verified."""
    if not isinstance(served, Mapping):
        return Check("served document matches the events", False, "the served document is not a JSON object")
    is_trace = "history" in served and "battery" in served
    name = "served trace matches the events" if is_trace else "served passport matches the events"
    failed = [c.name for c in report.checks if not c.ok and "published" not in c.name]
    if failed:
        return Check(
            name, False, f"the bundle's own checks fail ({', '.join(failed)}): nothing to compare with"
        )
    events = bundle["events"]
    battery_id = report.battery_id
    if is_trace:
        return _trace_check(name, events, served, battery_id)
    if served.get("passport_id") != battery_id:
        return Check(
            name, False, f"the passport is of {served.get('passport_id')!r}, the bundle of {battery_id}"
        )
    try:
        rebuilt = rebuild(events, resolver_domain=resolver_of(served))
    except BatteryloopError as exc:
        return Check(name, False, f"the events do not make a passport: {exc}")
    # the events hold document references (sha256:...); the server turns them into URLs under its public
    # base URL when it serves a passport, so the served links are compared as the references they name
    where = served_mismatch(links_to_refs(served), rebuilt)
    if where is not None:
        return Check(name, False, f"{where} differs from what the verified events give: altered")
    return Check(
        name, True, f"every field of the served passport follows from the {len(events)} verified events"
    )


def _same(key: str, signed: Any, shown: Any) -> bool:
    """Equal, times compared as instants (a trace writes them as datetimes, a bundle as stored)."""
    if signed == shown:
        return True
    if key.endswith("_at") and isinstance(signed, str) and isinstance(shown, str):
        try:
            return datetime.fromisoformat(signed) == datetime.fromisoformat(shown)
        except ValueError:
            return False
    return False


def _trace_check(name: str, events: Any, served: Mapping[str, Any], battery_id: str) -> Check:
    history = served.get("history")
    if not isinstance(history, list):
        return Check(name, False, "the served trace has no history")
    by_id = {str(e["event_id"]): e for e in events}
    for item in history:
        if not isinstance(item, Mapping):
            return Check(name, False, "a history entry is not an object")
        event = by_id.get(str(item.get("event_id")))
        if event is None:
            return Check(
                name, False, f"event {item.get('event_id')} is not among the bundle's verified events"
            )
        for key, value in item.items():
            if key in event and not _same(key, event[key], value):
                return Check(
                    name, False, f"event {item.get('event_id')}: {key} differs from the signed event"
                )
    if len(history) != len(events):
        return Check(name, False, f"the trace shows {len(history)} events, the bundle holds {len(events)}")
    return Check(name, True, f"each of the {len(history)} events of {battery_id}'s trace is a verified event")
