"""Who may read what in the ledger. Applied by the use cases in :mod:`batteryloop.ledger.service`, so the
CLI, HTTP and Python callers meet the same rules.

- A battery's trace (status, custody, history) is readable by the organisations in its custody chain and its
  manufacturer, and by authorities and notified bodies; the public reaches batteries only through their
  passport.
- An organisation lists the batteries it holds or made; authorities and notified bodies list any.
- Only authorities and notified bodies run a full verification over HTTP.

A caller of None is the operator of the database itself (the CLI or Python on the machine that holds it),
who can read every row anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from batteryloop.domain.organisation import Organisation, Role

__all__ = [
    "PRIVILEGED_READERS",
    "TraceFacts",
    "check_may_verify",
    "check_trace_readable",
    "listing_scope",
    "privileged",
]

PRIVILEGED_READERS = frozenset({Role.AUTHORITY, Role.NOTIFIED_BODY})


class _Holder(Protocol):
    @property
    def org(self) -> str: ...


class _Status(Protocol):
    @property
    def battery_id(self) -> str: ...
    @property
    def manufacturer(self) -> str: ...


class TraceFacts(Protocol):
    """What the read rule looks at in a trace: its status and its custody spans."""

    @property
    def status(self) -> _Status: ...
    @property
    def custody(self) -> Iterable[_Holder]: ...


def privileged(caller: Organisation | None) -> bool:
    """Whether ``caller`` reads the whole ledger (the operator, an authority or a notified body)."""
    return caller is None or bool(caller.roles & PRIVILEGED_READERS)


def check_trace_readable(trace: TraceFacts, caller: Organisation | None) -> None:
    """PermissionError unless ``caller`` may read this battery's trace."""
    if caller is None or caller.roles & PRIVILEGED_READERS:
        return
    involved = {link.org for link in trace.custody} | {trace.status.manufacturer}
    if caller.org_id not in involved:
        raise PermissionError(
            f"{caller.org_id} has never held battery {trace.status.battery_id}; only its custodians, "
            "authorities and notified bodies may read its trace (the public sees its passport)"
        )


def listing_scope(
    caller: Organisation | None, *, holder: str | None, organisation: str | None
) -> tuple[str | None, str | None]:
    """The (holder, organisation) filters a listing by ``caller`` runs with.

    An organisation that is not privileged lists its own holdings by default, may ask for the batteries it
    made or holds (``organisation`` = itself), and may not name another organisation.
    """
    if caller is None or caller.roles & PRIVILEGED_READERS:
        return holder, organisation
    me = caller.org_id
    if holder is not None and holder != me:
        raise PermissionError(f"{me} may list only the batteries it holds, not those of {holder}")
    if organisation is not None and organisation != me:
        raise PermissionError(f"{me} may list only its own batteries, not those of {organisation}")
    if holder is None and organisation is None:
        holder = me
    return holder, organisation


def check_may_verify(caller: Organisation | None) -> None:
    if not privileged(caller):
        raise PermissionError("only authorities and notified bodies may run a full verification")


def check_may_export(caller: Organisation | None) -> None:
    if not privileged(caller):
        raise PermissionError("only authorities and notified bodies may export the whole ledger")
