"""Input validation: identifiers, dates and every event payload, checked before anything is written.

One place for the rules. The payload rules are the tables of :mod:`batteryloop.domain.payloads` (each
``PayloadField`` says its JSON type, allowed values, range and form), compiled here once into one small check
per field; ``docs/events.md`` is generated from the same tables. A ``PassportDataRegistered`` payload is
validated with the passport's own static-data model (:class:`batteryloop.domain.passport_data.
PassportDataRegistered`), the one the passport builds from.

Two ways to ask:

- :func:`check_event_payload` raises :class:`~batteryloop.domain.errors.ValidationError` naming the event,
  the battery and the first bad field (the ledger's append paths call it for every event);
- :func:`payload_issues` returns every :class:`Issue` without raising (reads leave the named fields out and
  flag them; ``batteryloop ledger check`` lists them for events stored by earlier versions).

Identifiers (battery ids, organisation ids, codes, idempotency keys, query parameters): 1 to
``IDENTIFIER_CHARS`` characters, no whitespace, no control or invisible format characters
(:func:`check_identifier`). Dates and instants: inside the plausible window of ``data/validation.toml``.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from types import MappingProxyType
from typing import Any

from batteryloop.domain.errors import ValidationError
from batteryloop.domain.grants import grant_problem
from batteryloop.domain.lifecycle import REQUIRED_PAYLOAD, EventType
from batteryloop.domain.payloads import EVENTS, LOT_ELEMENTS, PayloadField

LIMITS_FILE = Path(__file__).parent / "data" / "validation.toml"
_LIMITS = tomllib.loads(LIMITS_FILE.read_text(encoding="utf-8"))

EARLIEST_DATE: date = date.fromisoformat(_LIMITS["dates"]["earliest"])
LATEST_DATE: date = date.fromisoformat(_LIMITS["dates"]["latest"])
EARLIEST_INSTANT = datetime.combine(EARLIEST_DATE, time(0, 0), tzinfo=UTC)
LATEST_INSTANT = datetime.combine(LATEST_DATE, time(23, 59, 59, 999999), tzinfo=UTC)
IDENTIFIER_CHARS: int = int(_LIMITS["lengths"]["identifier_chars"])
LINE_CHARS: int = int(_LIMITS["lengths"]["line_chars"])
TEXT_CHARS: int = int(_LIMITS["lengths"]["text_chars"])

# control characters (C0, DEL, C1) and invisible format characters (zero-width, bidirectional overrides,
# word joiners, BOM): they hide what an identifier or a text really says
_INVISIBLE = "\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"


def _IDENTIFIER(value: str) -> bool:
    """1 to IDENTIFIER_CHARS printable characters, no space. ``str.isprintable`` is False for every control
    (Cc), format (Cf: zero-width, bidirectional overrides, BOM, soft hyphen), surrogate, private-use and
    unassigned character and every separator but the ASCII space: one C loop, 20x a regular expression."""
    return 0 < len(value) <= IDENTIFIER_CHARS and value.isprintable() and " " not in value


_LINE_BAD = re.compile(rf"[\x00-\x1f\x7f-\x9f\u2028\u2029{_INVISIBLE}]").search
_TEXT_BAD = re.compile(rf"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_INVISIBLE}]").search
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}").fullmatch
_COUNTRY = re.compile(r"[A-Z]{2}").fullmatch

FORMS = MappingProxyType(
    {
        "identifier": f"an identifier: 1 to {IDENTIFIER_CHARS} characters, no spaces or control characters",
        "line": f"one line of text: at most {LINE_CHARS} characters, no control characters",
        "text": f"free text: at most {TEXT_CHARS} characters, no control characters but tab and newline",
        "date": f"a date YYYY-MM-DD from {EARLIEST_DATE} to {LATEST_DATE}",
        "country": "an ISO 3166-1 alpha-2 country code (two capital letters)",
    }
)
"""The string forms a :class:`~batteryloop.domain.payloads.PayloadField` may name, as documented."""


def shown(value: object, limit: int = 40) -> str:
    """``value`` for an error message: its repr, cut to ``limit`` characters (no echo of a huge input)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 4]}...{text[-1]}"


def identifier_problem(value: object) -> str | None:
    """Why ``value`` is not a valid identifier, or None."""
    if type(value) is not str:
        return f"must be a string, not {type(value).__name__}"
    if _IDENTIFIER(value):
        return None
    if not value:
        return "must not be empty"
    if len(value) > IDENTIFIER_CHARS:
        return f"is {len(value)} characters long, over the limit of {IDENTIFIER_CHARS}"
    return "must not contain spaces, control or invisible characters"


def check_identifier(what: str, value: object) -> str:
    """Return ``value`` if it is a valid identifier, else raise ValidationError naming ``what``."""
    if type(value) is str and _IDENTIFIER(value):
        return value
    raise ValidationError(f"{what} {shown(value)} {identifier_problem(value)}")


def check_lookup(what: str, value: object) -> str:
    """Return ``value`` if it can name something stored, else raise ValidationError naming ``what``.

    Milder than :func:`check_identifier`, so an identifier stored by an earlier version stays readable: a
    string of at most ``4 * IDENTIFIER_CHARS`` characters without NUL (which PostgreSQL cannot compare)."""
    if type(value) is str and 0 < len(value) <= 4 * IDENTIFIER_CHARS and "\x00" not in value:
        return value
    if type(value) is not str or not value:
        raise ValidationError(f"{what} must be a non-empty string, got {shown(value)}")
    if "\x00" in value:
        raise ValidationError(f"{what} {shown(value)} contains a NUL character")
    raise ValidationError(f"{what} is {len(value)} characters long, over the limit of {4 * IDENTIFIER_CHARS}")


def check_date(what: str, value: date) -> date:
    """Raise ValidationError unless ``value`` is inside the plausible window of dates."""
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValidationError(f"{what} {value.isoformat()} is outside {EARLIEST_DATE}..{LATEST_DATE}")
    return value


def check_instant(what: str, value: datetime) -> datetime:
    """Raise ValidationError unless ``value`` has a time zone and is inside the plausible window (checked
    before any conversion: years 1 and 9999 overflow when shifted to UTC)."""
    offset = value.utcoffset()
    if offset is None:
        raise ValidationError(f"{what} {value.isoformat()} has no time zone; give it in UTC")
    if not EARLIEST_DATE <= value.date() <= LATEST_DATE or not (EARLIEST_INSTANT <= value <= LATEST_INSTANT):
        raise ValidationError(f"{what} {value.isoformat()} is outside {EARLIEST_DATE}..{LATEST_DATE}")
    return value


def parse_instant(what: str, text: str) -> datetime:
    """An ISO 8601 date-time with a time zone (``Z`` allowed) inside the window, else ValidationError."""
    if type(text) is not str or len(text) > 64:
        raise ValidationError(f"{what} {shown(text)} is not an ISO 8601 date-time")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{what} {shown(text)} is not an ISO 8601 date-time") from None
    return check_instant(what, moment)


# ----------------------------------------------------------------------------------- payload fields

Check = Callable[[Any], "str | None"]  # a value -> why it is wrong, or None


def _number_check(spec: PayloadField) -> Check:
    low, high, positive = spec.low, spec.high, spec.positive
    bounds = _bounds_text(spec)

    def check(value: Any) -> str | None:
        kind = type(value)
        if kind is not float and kind is not int:
            return f"must be a number, not {kind.__name__}"
        if kind is float and not math.isfinite(value):
            return "must be a finite number"
        if (
            (positive and not value > 0)
            or (low is not None and value < low)
            or (high is not None and value > high)
        ):
            return f"is {value}, must be {bounds}"
        return None

    return check


def _bounds_text(spec: PayloadField) -> str:
    low = "> 0" if spec.positive else (f">= {spec.low:g}" if spec.low is not None else "")
    high = f"<= {spec.high:g}" if spec.high is not None else ""
    return " and ".join(part for part in (low, high) if part) or "a number"


def _string_check(spec: PayloadField) -> Check:
    values = frozenset(spec.values)
    form = spec.form

    def check(value: Any) -> str | None:
        if type(value) is not str:
            return f"must be a string, not {type(value).__name__}"
        if values:
            if value not in values:
                return f"is {shown(value)}, must be one of {', '.join(spec.values)}"
            return None
        if form == "identifier":
            problem = identifier_problem(value)
            return None if problem is None else problem
        if form == "date":
            return _date_problem(value)
        if form == "country":
            return None if _COUNTRY(value) else f"is {shown(value)}, must be {FORMS['country']}"
        if form == "text":
            if len(value) > TEXT_CHARS:
                return f"is {len(value)} characters long, over the limit of {TEXT_CHARS}"
            return "must not contain control characters" if _TEXT_BAD(value) else None
        if len(value) > LINE_CHARS:
            return f"is {len(value)} characters long, over the limit of {LINE_CHARS}"
        return "must be one line without control characters" if _LINE_BAD(value) else None

    return check


def _date_problem(value: str) -> str | None:
    if not _ISO_DATE(value):
        return f"is {shown(value)}, must be {FORMS['date']}"
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return f"is {shown(value)}, not a calendar date"
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        return f"is {value}, outside {EARLIEST_DATE}..{LATEST_DATE}"
    return None


def _bool_check(value: Any) -> str | None:
    return None if type(value) is bool else f"must be true or false, not {type(value).__name__}"


def compile_field(spec: PayloadField) -> Check:
    """The check of one payload field, built once from its description."""
    if spec.kind is bool:
        return _bool_check
    if spec.kind is str:
        return _string_check(spec)
    return _number_check(spec)


# plain dicts (a MappingProxyType look-up costs several times a dict's on the write path); never mutated
_CHECKS: dict[EventType, dict[str, Check]] = {
    event_type: {key: compile_field(f) for key, f in spec.fields.items()}
    for event_type, spec in EVENTS.items()
}


_GRANTED = EventType.ACCESS_GRANTED


@dataclass(frozen=True, slots=True)
class Issue:
    """One field of a payload that today's rules refuse: ``field`` is a dotted path (``$`` the payload)."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field} {self.reason}"


def _passport_issues(payload: Mapping[str, Any]) -> list[Issue]:
    from pydantic import ValidationError as PydanticValidationError

    from batteryloop.domain.passport_data import PassportDataRegistered

    try:
        PassportDataRegistered.model_validate(payload)
    except PydanticValidationError as exc:
        out = []
        for err in exc.errors():
            loc = ".".join(str(part) for part in err.get("loc", ()))
            out.append(Issue(loc or "$", str(err.get("msg", "is invalid")).rstrip(".")))
        return out
    return []


_ELEMENT_KEYS = tuple(f"{el}_kg" for el in LOT_ELEMENTS)


def _lot_issues(payload: Mapping[str, Any]) -> list[Issue]:
    """A recycling lot's element masses (and electrode powder) must not exceed its mass."""
    raw = payload.get("mass_kg")
    if not isinstance(raw, int | float):
        return []
    mass = float(raw)
    out: list[Issue] = []
    amounts = [payload[k] for k in _ELEMENT_KEYS if type(payload.get(k)) in (int, float)]
    total = math.fsum(a for a in amounts if math.isfinite(a))
    if total > mass * (1 + 1e-9):
        out.append(Issue("mass_kg", f"is {mass:g} kg, lighter than its element contents ({total:g} kg)"))
    powder = payload.get("electrode_powder_kg")
    if isinstance(powder, int | float) and not isinstance(powder, bool) and float(powder) > mass * (1 + 1e-9):
        out.append(Issue("electrode_powder_kg", f"is {powder:g} kg, more than the unit's mass ({mass:g} kg)"))
    return out


WholeCheck = Callable[[Mapping[str, Any]], list[Issue]]
_WHOLE: dict[EventType, WholeCheck] = {
    EventType.PASSPORT_DATA_REGISTERED: _passport_issues,
    EventType.RECYCLING_LOT_RECEIVED: _lot_issues,
    EventType.RECYCLING_LOT_PRODUCED: _lot_issues,
}

# per event type: its field checks, its required keys, and the check of the payload as a whole (the passport
# model's; the element balance of a recycling lot), if any
_PLAN: dict[EventType, tuple[dict[str, Check], tuple[str, ...], WholeCheck | None]] = {
    t: (checks, tuple(REQUIRED_PAYLOAD.get(t, ())), _WHOLE.get(t)) for t, checks in _CHECKS.items()
}


def _issues(event_type: EventType, payload: Mapping[str, Any]) -> Iterator[Issue]:
    found = list(_field_issues(event_type, payload))
    yield from found
    if event_type is EventType.ACCESS_GRANTED and not found:
        cross = grant_problem(payload)
        if cross is not None:
            yield Issue(*cross)


def _field_issues(event_type: EventType, payload: Mapping[str, Any]) -> Iterator[Issue]:
    required = REQUIRED_PAYLOAD.get(event_type, {})
    for key in required:
        if payload.get(key) is None:
            yield Issue(key, "is required")
    checks = _CHECKS.get(event_type, {})
    found = False
    for key, value in payload.items():
        check = checks.get(key)
        if check is not None and value is not None:
            reason = check(value)
            if reason is not None:
                found = True
                yield Issue(key, reason)
    whole = _WHOLE.get(event_type)
    if whole is not None and not found:  # the payload as a whole, once each of its fields passes
        yield from whole(payload)


def payload_issues(event_type: EventType, payload: object) -> list[Issue]:
    """Every field of ``payload`` that today's rules refuse for ``event_type`` (empty: valid)."""
    if not isinstance(payload, Mapping):
        return [Issue("$", "must be a JSON object")]
    return list(_issues(event_type, payload))


def check_event_payload(battery_id: str, event_type: EventType, payload: Mapping[str, Any]) -> None:
    """Raise ValidationError naming the event, the battery and the first field today's rules refuse."""
    if type(battery_id) is not str or not _IDENTIFIER(battery_id):
        raise ValidationError(f"battery id {shown(battery_id)} {identifier_problem(battery_id)}")
    plan = _PLAN.get(event_type)  # one look-up: hashing an enum member is a Python call
    if plan is None:
        raise ValidationError(f"battery {battery_id}: unknown event type {shown(event_type)}")
    checks, required, whole = plan
    if type(payload) is not dict and not isinstance(payload, Mapping):
        raise ValidationError(f"{event_type} for battery {battery_id}: payload must be a JSON object")
    for key in required:
        if payload.get(key) is None:
            raise ValidationError(f"{event_type} for battery {battery_id}: payload lacks {key!r}")
    if checks:
        for key, value in payload.items():
            check = checks.get(key)
            if check is not None and value is not None:
                reason = check(value)
                if reason is not None:
                    raise ValidationError(
                        f"{event_type} for battery {battery_id}: payload field {key!r} {reason}"
                    )
    if event_type is _GRANTED:
        cross = grant_problem(payload)
        if cross is not None:
            raise ValidationError(
                f"{event_type} for battery {battery_id}: payload field {cross[0]!r} {cross[1]}"
            )
    if whole is not None:
        issues = whole(payload)
        if issues:
            raise ValidationError(
                f"{event_type} for battery {battery_id}: payload field {issues[0].field!r} "
                f"{issues[0].reason}" + (f" (and {len(issues) - 1} more)" if len(issues) > 1 else "")
            )


def clean_payload(
    event_type: EventType, payload: Mapping[str, Any]
) -> tuple[dict[str, Any], tuple[Issue, ...]]:
    """``payload`` without the top-level fields today's rules refuse, and the issues found (for reads)."""
    issues = tuple(payload_issues(event_type, payload))
    if not issues:
        return dict(payload), ()
    bad = {issue.field.split(".", 1)[0] for issue in issues}
    return {k: v for k, v in payload.items() if k not in bad}, issues


def stored_event_issues(
    battery_id: object, event_type: object, occurred_at: datetime, payload: object
) -> list[Issue]:
    """What today's rules refuse in one stored event (an earlier version may have accepted it): the battery
    id, the event type, the time it occurred and every payload field."""
    out: list[Issue] = []
    problem = identifier_problem(battery_id)
    if problem is not None:
        out.append(Issue("battery_id", problem))
    try:
        kind = EventType(str(event_type))
    except ValueError:
        return [*out, Issue("event_type", f"{shown(event_type)} is not an event type")]
    try:
        check_instant("occurred_at", occurred_at)
    except ValidationError as exc:
        out.append(Issue("occurred_at", str(exc).removeprefix("occurred_at ")))
    out.extend(Issue(f"payload.{i.field}", i.reason) for i in payload_issues(kind, payload))
    return out


def check_organisation(
    org_id: object,
    name: object,
    country: object,
    certifications: Iterable[tuple[str, date, date | None]] = (),
) -> None:
    """Raise ValidationError naming the first field of an organisation's registration today's rules refuse:
    the id (an identifier), the name (one line), the country, and each certification's reference and dates."""
    check_identifier("organisation id", org_id)
    problem = _LINE_CHECK(name)
    if problem is not None or not str(name).strip():
        raise ValidationError(f"organisation {org_id}: name {problem or 'must not be blank'}")
    if type(country) is not str or not _COUNTRY(country):
        raise ValidationError(f"organisation {org_id}: country {shown(country)} is not {FORMS['country']}")
    for reference, valid_from, valid_until in certifications:
        problem = _LINE_CHECK(reference)
        if problem is not None:
            raise ValidationError(f"organisation {org_id}: certification reference {problem}")
        check_date(f"organisation {org_id}: certification valid from", valid_from)
        if valid_until is not None:
            check_date(f"organisation {org_id}: certification valid until", valid_until)


_LINE_CHECK = _string_check(PayloadField(str, "one line"))
