"""The passport use cases: view, check and export, for Python, the CLI and HTTP alike.

Every passport anyone sees comes from :meth:`PassportService.view`, whose ``document`` is already redacted
for the caller (:func:`batteryloop.passport.access.redact_document`): the access policy is applied here,
never in a face. Rendering (JSON, exports, pages) happens after, in :mod:`batteryloop.passport.report`, on
that document only.

Passports are cached per battery and invalidated by the ledger's stream position, so a cache hit costs one
indexed look-up of the battery's projection row.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol
from urllib.parse import quote

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.domain.grants import Grant, active_grantees
from batteryloop.domain.lifecycle import BatteryState, EventType, UnitStatus
from batteryloop.domain.organisation import Organisation
from batteryloop.passport.access import (
    AccessPolicy,
    Audience,
    Reason,
    audiences_for,
    explain,
    redact_document,
    withheld_paths,
)
from batteryloop.passport.core.build import LedgerEvent, passport_from_source
from batteryloop.passport.core.links import resolve_links
from batteryloop.passport.core.model import Passport
from batteryloop.passport.core.obligations import (
    MissingAttribute,
    ObligationMatrix,
    check_passport,
    unverified_dates,
)
from batteryloop.passport.grants import read_grants


class PassportLedger(Protocol):
    """What the service needs of ``batteryloop.ledger.Ledger``."""

    def read_stream(self, battery_id: str) -> Any: ...
    def battery(self, battery_id: str) -> Any: ...
    def batteries(self, *, custodian: str | None = None, limit: int = 1000) -> Any: ...
    def iter_events(self, *, after_position: int = 0, batch_size: int | None = None) -> Any: ...


FORMATS = ("json", "batterypass", "catenax", "jsonld")

# Units that carry a passport of their own (modules and cells travel inside one).
PASSPORT_LEVELS = frozenset({"pack", "system"})


class PassportCeasedError(NotFoundError):
    """The battery was recycled: its passport ceased (Art. 77(8)) and is readable by authorities only."""

    def __init__(self, battery_id: str, ceased_on: str | None) -> None:
        self.battery_id = battery_id
        self.ceased_on = ceased_on
        when = f" on {ceased_on}" if ceased_on else ""
        super().__init__(
            f"the battery passport {battery_id} ceased{when} after recycling (Regulation (EU) 2023/1542 "
            "Art. 77(8)); it remains available to authorities only"
        )


class PassportView:
    """One battery's passport as one caller may see it. ``document`` is the redacted passport (computed on
    first use): the only passport data any renderer receives. Nothing assigns to a view once built."""

    __slots__ = (
        "_document",
        "_full",
        "_policy",
        "_withheld",
        "audiences",
        "battery_id",
        "ceased",
        "position",
        "uri",
    )

    def __init__(
        self,
        *,
        battery_id: str,
        audiences: frozenset[Audience],
        full: Mapping[str, Any],
        uri: str,
        ceased: bool,
        position: int,
        policy: AccessPolicy | None,
    ) -> None:
        self.battery_id = battery_id
        self.audiences = audiences
        self.uri = uri
        self.ceased = ceased
        self.position = position
        self._full = full
        self._policy = policy
        self._document: dict[str, Any] | None = None
        self._withheld: tuple[str, ...] | None = None

    @property
    def withheld(self) -> tuple[str, ...]:
        """The fields (dotted paths) this passport has but this caller may not see: renderings mark them as
        withheld rather than leave them to look absent."""
        if self._withheld is None:
            self._withheld = withheld_paths(self._full, self.audiences, policy=self._policy)
        return self._withheld

    @property
    def document(self) -> dict[str, Any]:
        if self._document is None:
            self._document = redact_document(self._full, self.audiences, policy=self._policy)
        return self._document


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The mandatory attributes a passport lacks on ``on`` (``complete`` when none); ``unverified`` names the
    attributes whose obligation date the answer rests on was not checked against the legal text."""

    battery_id: str
    on: date
    missing: tuple[MissingAttribute, ...]
    unverified: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.missing


@dataclass(frozen=True, slots=True)
class Selection:
    """Which batteries to export: explicit ids, or every passport-carrying unit matching the filters
    (``everything`` with no filter: all of them). Filters combine with AND."""

    battery_ids: tuple[str, ...] = ()
    everything: bool = False
    chemistry: str | None = None
    state: BatteryState | None = None
    holder: str | None = None

    @property
    def is_filter(self) -> bool:
        return self.everything or any(v is not None for v in (self.chemistry, self.state, self.holder))


@dataclass(frozen=True, slots=True)
class Skipped:
    battery_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class ExportResult:
    """The views to render, in battery-id order, and the selected batteries that have no passport to give
    this caller (ceased, or no passport data registered)."""

    views: tuple[PassportView, ...]
    skipped: tuple[Skipped, ...]


class PassportService:
    def __init__(
        self,
        ledger: PassportLedger,
        *,
        resolver_domain: str,
        policy: AccessPolicy | None = None,
        matrix: ObligationMatrix | None = None,
        cache_size: int = 4096,
    ) -> None:
        self.ledger = ledger
        self.resolver_domain = resolver_domain.rstrip("/")
        self.policy = policy
        self.matrix = matrix
        self._cache: OrderedDict[str, tuple[int, dict[str, Any]]] = OrderedDict()
        self._rendered: OrderedDict[tuple[str, int, frozenset[Audience], str], bytes] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._grants: OrderedDict[str, tuple[int, tuple[Grant, ...]]] = OrderedDict()
        self._links: dict[str, str] = {}
        self._links_position = 0

    # -- building --------------------------------------------------------------------------------

    def passport(self, battery_id: str) -> Passport:
        """The full (unredacted) passport: for trusted callers in the same process only."""
        return passport_from_source(self.ledger, battery_id, resolver_domain=self.resolver_domain)

    def _document(self, battery_id: str, position: int) -> dict[str, Any]:
        with self._lock:
            hit = self._cache.get(battery_id)
            if hit is not None and hit[0] == position:
                self._cache.move_to_end(battery_id)
                return hit[1]
        document = resolve_links(
            self.passport(battery_id).model_dump(mode="json"), base_url=self.resolver_domain
        )
        with self._lock:
            self._cache[battery_id] = (position, document)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return document

    def _holder(self, status: UnitStatus) -> str:
        """Who holds the unit: for a module or cell inside a pack, the holder of the pack (the root)."""
        seen = {status.battery_id}
        while status.parent_id is not None and status.parent_id not in seen:
            seen.add(status.parent_id)
            status = self.ledger.battery(status.parent_id).status
        return status.custodian

    def _grantees(self, battery_id: str, position: int) -> frozenset[str]:
        """The organisations whose access grant to ``battery_id`` is in force today (cached per position
        and day: a grant starts and ends with a day)."""
        today = date.today()
        with self._lock:
            hit = self._grants.get(battery_id)
            if hit is not None and hit[0] == position:
                return active_grantees(hit[1], on=today)
        grants = read_grants(self.ledger, battery_id)
        with self._lock:
            self._grants[battery_id] = (position, grants)
            while len(self._grants) > self._cache_size:
                self._grants.popitem(last=False)
        return active_grantees(grants, on=today)

    # -- use cases -------------------------------------------------------------------------------

    def view(
        self,
        battery_id: str,
        *,
        caller: Organisation | None = None,
        audiences: Iterable[Audience] | None = None,
    ) -> PassportView:
        """The passport of ``battery_id`` as ``caller`` (None: anonymous) may see it.

        ``audiences`` replaces the caller's audiences for a trusted local operator (the CLI's
        ``--audience``); HTTP callers never pass it. A ceased passport is readable by authorities only.
        """
        row = self.ledger.battery(battery_id)  # NotFoundError naming the id when unknown
        status = row.status
        document = self._document(battery_id, int(row.last_position))
        if audiences is not None:
            granted = frozenset({Audience.PUBLIC, *audiences})
        else:
            granted = audiences_for(
                caller,
                custodian=self._holder(status),
                manufacturer=status.manufacturer,
                grantees=self._grantees(battery_id, int(row.last_position)) if caller is not None else (),
                policy=self.policy,
            )
        ceased = bool(document["lifecycle"].get("ceased"))
        if ceased and Audience.AUTHORITY not in granted:
            # Art. 77(8): the passport ceased with recycling; it stays readable for authorities only.
            raise PassportCeasedError(battery_id, document["lifecycle"].get("ceased_on"))
        return PassportView(
            battery_id=battery_id,
            audiences=granted,
            full=document,
            uri=self.qr_uri(document),
            ceased=ceased,
            position=int(row.last_position),
            policy=self.policy,
        )

    def access_reasons(self, view: PassportView, *, caller: Organisation | None) -> tuple[Reason, ...]:
        """What ``caller`` is shown of ``view``'s battery and why, audience by audience (for the page)."""
        row = self.ledger.battery(view.battery_id)
        grants = self._grants.get(view.battery_id)
        today = date.today()
        return explain(
            caller,
            view.audiences,
            custodian=self._holder(row.status),
            manufacturer=row.status.manufacturer,
            grants=[g for g in (grants[1] if grants else ()) if g.active_on(today)],
            policy=self.policy,
        )

    def check(
        self,
        battery_id: str,
        *,
        on: date,
        caller: Organisation | None = None,
        audiences: Iterable[Audience] | None = None,
    ) -> CheckResult:
        """The mandatory attributes (Annex XIII, ``data/obligations.toml``) the passport lacks on ``on``.

        The answer names attribute paths only, never values; whoever may view the passport may check it.
        """
        self.view(battery_id, caller=caller, audiences=audiences)
        passport = self.passport(battery_id)
        missing = check_passport(passport, on=on, matrix=self.matrix)
        unverified = unverified_dates(passport, on=on, matrix=self.matrix)
        return CheckResult(battery_id=battery_id, on=on, missing=tuple(missing), unverified=tuple(unverified))

    def select(self, selection: Selection, *, limit: int = 100_000) -> tuple[str, ...]:
        """The battery ids ``selection`` names: its ids as given, or the passport-carrying units matching
        its filters, sorted (at most ``limit``)."""
        if not selection.is_filter:
            if not selection.battery_ids:
                raise ValidationError(
                    "name at least one battery id, or a filter (all, chemistry, state, holder)"
                )
            return tuple(dict.fromkeys(selection.battery_ids))
        if selection.battery_ids:
            raise ValidationError("give battery ids or a filter, not both")
        rows = self.ledger.batteries(custodian=selection.holder, limit=limit)
        found = [
            row.status.battery_id
            for row in rows
            if row.level in PASSPORT_LEVELS
            and (selection.chemistry is None or row.chemistry == selection.chemistry)
            and (selection.state is None or row.status.state == selection.state)
        ]
        return tuple(sorted(found))

    def export(
        self,
        selection: Selection,
        *,
        caller: Organisation | None = None,
        audiences: Iterable[Audience] | None = None,
        limit: int = 100_000,
    ) -> ExportResult:
        """The views of every selected battery. Unknown explicit ids raise NotFoundError; a selected battery
        without a passport for this caller (ceased, or no passport data) is listed in ``skipped``."""
        wanted = tuple(audiences) if audiences is not None else None
        views: list[PassportView] = []
        skipped: list[Skipped] = []
        for battery_id in self.select(selection, limit=limit):
            try:
                views.append(self.view(battery_id, caller=caller, audiences=wanted))
            except PassportCeasedError as exc:
                skipped.append(Skipped(battery_id, str(exc)))
            except ValidationError as exc:
                if not selection.is_filter:
                    raise
                skipped.append(Skipped(battery_id, str(exc)))
        return ExportResult(views=tuple(views), skipped=tuple(skipped))

    # -- caching of renderings -------------------------------------------------------------------

    def rendered(self, view: PassportView, fmt: str, *, render: Callable[[PassportView], bytes]) -> bytes:
        """``render(view)``, cached per battery, ledger position, audiences and format."""
        key = (view.battery_id, view.position, view.audiences, fmt)
        with self._lock:
            hit = self._rendered.get(key)
            if hit is not None:
                return hit
        body = render(view)
        with self._lock:
            self._rendered[key] = body
            while len(self._rendered) > self._cache_size:
                self._rendered.popitem(last=False)
        return body

    def qr_uri(self, document: Mapping[str, Any]) -> str:
        identifier = str(document["identity"]["product_identifier"])
        if identifier.startswith(("http://", "https://")):
            return identifier
        return f"{self.resolver_domain}/passports/{quote(str(document['passport_id']), safe=':')}/page"

    # -- GS1 Digital Link look-up ----------------------------------------------------------------

    def find_by_digital_link(self, gtin: str, serial: str) -> str:
        """The battery id registered with ``gtin`` + ``serial`` (NotFoundError naming them otherwise)."""
        finder = getattr(self.ledger, "find_by_code", None)
        key = f"{gtin}/{serial}"
        if finder is not None:
            try:
                return str(finder("gs1", key))
            except NotFoundError:
                pass
        self._refresh_links()
        try:
            return self._links[key]
        except KeyError:
            raise NotFoundError(f"no battery passport for GTIN {gtin} serial {serial}") from None

    def _refresh_links(self) -> None:
        """Index BatteryManufactured events by GTIN/serial, reading only events newer than the last call."""
        with self._lock:
            events: Iterable[LedgerEvent] = self.ledger.iter_events(after_position=self._links_position)
            for event in events:
                self._links_position = max(self._links_position, int(getattr(event, "position", 0)))
                if event.event_type != EventType.BATTERY_MANUFACTURED:
                    continue
                gtin, serial = event.payload.get("gtin"), event.payload.get("serial")
                if gtin and serial:
                    from batteryloop.domain.identity import GS1DigitalLink

                    try:
                        link = GS1DigitalLink(str(gtin), str(serial))
                    except ValidationError:
                        continue
                    self._links[f"{link.gtin}/{link.serial}"] = event.battery_id
