"""Serving passports: one place that turns (ledger, battery, caller) into what the caller may see.

Everything the web routes and the CLI output comes from :meth:`PassportService.view`, whose ``document`` is
already redacted (:func:`batteryloop.passport.access.redact_document`). Rendering (JSON, JSON-LD, exports,
HTML) happens after, on that document only.

Passports are cached per battery and invalidated by the ledger's stream position, so a cache hit costs one
indexed look-up of the battery's projection row.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import quote

from batteryloop.domain.errors import NotFoundError, ValidationError
from batteryloop.domain.lifecycle import EventType, UnitStatus
from batteryloop.domain.organisation import Organisation
from batteryloop.passport.access import AccessPolicy, Audience, audiences_for, redact_document
from batteryloop.passport.build import LedgerEvent, passport_from_source
from batteryloop.passport.model import Passport


class PassportLedger(Protocol):
    """What the service needs of ``batteryloop.ledger.Ledger``."""

    def read_stream(self, battery_id: str) -> Any: ...
    def battery(self, battery_id: str) -> Any: ...
    def iter_events(self, after_position: int = 0, batch_size: int | None = None) -> Any: ...


FORMATS = ("json", "batterypass", "catenax", "jsonld")


class PassportView:
    """One battery's passport as one caller may see it. ``document`` is the redacted passport (computed on
    first use): the only passport data any renderer receives."""

    __slots__ = ("_document", "_full", "_policy", "audiences", "battery_id", "ceased", "position", "uri")

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

    @property
    def document(self) -> dict[str, Any]:
        if self._document is None:
            self._document = redact_document(self._full, self.audiences, policy=self._policy)
        return self._document


class PassportService:
    def __init__(
        self,
        ledger: PassportLedger,
        *,
        resolver_domain: str,
        policy: AccessPolicy | None = None,
        cache_size: int = 4096,
    ) -> None:
        self.ledger = ledger
        self.resolver_domain = resolver_domain.rstrip("/")
        self.policy = policy
        self._cache: OrderedDict[str, tuple[int, dict[str, Any]]] = OrderedDict()
        self._rendered: OrderedDict[tuple[str, int, frozenset[Audience], str], bytes] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._links: dict[str, str] = {}
        self._links_position = 0

    # -- building --------------------------------------------------------------------------------

    def passport(self, battery_id: str) -> Passport:
        return passport_from_source(self.ledger, battery_id, resolver_domain=self.resolver_domain)

    def _document(self, battery_id: str, position: int) -> dict[str, Any]:
        with self._lock:
            hit = self._cache.get(battery_id)
            if hit is not None and hit[0] == position:
                self._cache.move_to_end(battery_id)
                return hit[1]
        document = self.passport(battery_id).model_dump(mode="json")
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

    def view(self, battery_id: str, org: Organisation | None) -> PassportView:
        """The passport of ``battery_id`` as ``org`` (None: anonymous) may see it."""
        row = self.ledger.battery(battery_id)  # NotFoundError naming the id when unknown
        status = row.status
        document = self._document(battery_id, int(row.last_position))
        audiences = audiences_for(
            org, custodian=self._holder(status), manufacturer=status.manufacturer, policy=self.policy
        )
        ceased = bool(document["lifecycle"].get("ceased"))
        if ceased and Audience.AUTHORITY not in audiences:
            # Art. 77(8): the passport ceased with recycling; it stays readable for authorities only.
            raise PassportCeasedError(battery_id, document["lifecycle"].get("ceased_on"))
        return PassportView(
            battery_id=battery_id,
            audiences=audiences,
            full=document,
            uri=self.qr_uri(document),
            ceased=ceased,
            position=int(row.last_position),
            policy=self.policy,
        )

    def rendered(self, view: PassportView, fmt: str, render: Callable[[PassportView], bytes]) -> bytes:
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


def to_jsonld(document: Mapping[str, Any], *, uri: str) -> dict[str, Any]:
    """A JSON-LD rendering of a (redacted) passport document: schema.org/GS1 terms for the identity,
    the batteryloop vocabulary for the rest."""
    ident = document.get("identity") or {}
    out: dict[str, Any] = {
        "@context": {
            "@vocab": "https://w3id.org/batteryloop/passport/v1#",
            "schema": "https://schema.org/",
            "gs1": "https://gs1.org/voc/",
            "name": "schema:name",
        },
        "@id": uri,
        "@type": ["gs1:Product", "BatteryPassport"],
    }
    if ident.get("gtin"):
        out["gs1:gtin"] = ident["gtin"]
    if ident.get("serial"):
        out["gs1:serialNumber"] = ident["serial"]
    if ident.get("model"):
        out["schema:model"] = ident["model"]
    out.update(document)
    return out
