"""What each event type means and what its payload carries: the user-facing description of the event format,
and the rules each field is checked with on append.

:data:`batteryloop.domain.lifecycle.REQUIRED_PAYLOAD` names the keys each event type requires; :data:`EVENTS`
describes every field a payload may carry, required or not, with its meaning and its rule (type, allowed
values, range, string form), which :mod:`batteryloop.domain.validation` compiles into the checks the ledger
runs before it writes anything. A payload is an open JSON object: keys not listed here are stored, hashed and
signed with the event as given (but a ``PassportDataRegistered`` payload, validated whole with the passport's
static-data model).
``docs/events.md`` is generated from these tables (``scripts/gen_event_docs.py``); a test checks that every
required key is described here with the type the ledger checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from batteryloop.domain.chemistry import BatteryCategory, Chemistry, UnitLevel
from batteryloop.domain.lifecycle import REQUIRED_PAYLOAD, EventType

E = EventType
Kind = type | tuple[type, ...]
NUMBER: Kind = (int, float)


@dataclass(frozen=True, slots=True)
class PayloadField:
    """One payload key: its JSON type (as Python types), what it means, its allowed values if fixed, and the
    rule it is checked with on write (:mod:`batteryloop.domain.validation`): a number's range (``low`` and
    ``high`` inclusive, ``positive`` for > 0), a string's ``form`` (``identifier``, ``line``, ``text``,
    ``date``, ``country``; ``validation.FORMS`` says what each allows)."""

    kind: Kind
    meaning: str
    values: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    positive: bool = False
    form: str = "line"


@dataclass(frozen=True, slots=True)
class EventSpec:
    meaning: str
    fields: Mapping[str, PayloadField] = field(default_factory=dict)
    open_payload_note: str = ""
    """A sentence on payload content described elsewhere (e.g. the passport's static data sections)."""


def _values(enum: type[UnitLevel] | type[Chemistry] | type[BatteryCategory]) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


def _num(meaning: str, low: float | None = 0.0, high: float | None = None) -> PayloadField:
    return PayloadField(NUMBER, meaning, low=low, high=high)


def _pos(meaning: str) -> PayloadField:
    return PayloadField(NUMBER, meaning, low=None, positive=True)


def _pct(meaning: str) -> PayloadField:
    return PayloadField(NUMBER, meaning, low=0.0, high=100.0)


def _id(meaning: str) -> PayloadField:
    return PayloadField(str, meaning, form="identifier")


def _text(meaning: str) -> PayloadField:
    return PayloadField(str, meaning, form="text")


CHEMISTRY_GROUPS = ("lead_acid", "lithium", "nickel_cadmium", "other")
"""The chemistry groups of the recycling-efficiency targets (Annex XII Part B of Regulation (EU) 2023/1542)."""

LOT_ELEMENTS = MappingProxyType(
    {
        "co": "cobalt",
        "cu": "copper",
        "pb": "lead",
        "li": "lithium",
        "ni": "nickel",
        "mn": "manganese",
        "al": "aluminium",
    }
)
"""Elements a recycling lot may declare (``<el>_kg``): the Annex XII Part C materials, and Mn and Al for the
Chinese white-list conditions (Ni/Co/Mn recovery; Al and Cu impurities in electrode powder)."""

_SOH = PayloadField(
    NUMBER, "state of health, % of the rated capacity or energy (0 to 200)", low=0.0, high=200.0
)

EVENTS: Mapping[EventType, EventSpec] = MappingProxyType(
    {
        E.BATTERY_MANUFACTURED: EventSpec(
            "Registers a unit; opens its stream. The submitting organisation becomes its manufacturer and "
            "custodian.",
            {
                "level": PayloadField(str, "unit level", _values(UnitLevel)),
                "chemistry": PayloadField(str, "cell chemistry", _values(Chemistry)),
                "category": PayloadField(
                    str, "battery category of Regulation (EU) 2023/1542", _values(BatteryCategory)
                ),
                "manufacturer_id": _id("organisation id of the manufacturer (passport)"),
                "model": PayloadField(str, "model name (passport)"),
                "mass_kg": _pos("mass in kg (passport, recycling intake)"),
                "rated_energy_kwh": _pos("rated energy in kWh (passport)"),
                "rated_capacity_ah": _pos("rated capacity in Ah (passport)"),
                "nominal_voltage_v": _pos("nominal voltage in V (passport)"),
                "manufactured_on": PayloadField(
                    str, "date of manufacture, ISO 8601 YYYY-MM-DD (passport)", form="date"
                ),
                "manufacturing_country": PayloadField(
                    str, "country of manufacture, ISO 3166-1 alpha-2 (passport)", form="country"
                ),
                "manufacturing_site": PayloadField(str, "name or address of the plant"),
                "gbt_code": PayloadField(
                    str,
                    "GB/T 34014 coding of the unit (24 characters); checked and indexed when present",
                    form="line",
                ),
                "gtin": _id("GS1 GTIN of the model; with serial, the unit's GS1 Digital Link"),
                "serial": _id("serial number of the unit (with gtin)"),
                "predecessor_id": _id(
                    "battery id of the unit this one succeeds (reused, repurposed or remanufactured)"
                ),
            },
        ),
        E.BATTERY_INTEGRATED: EventSpec(
            "Assembles the unit into a parent unit (cell into module, module into pack, pack into "
            "system); the parent's holder then holds it.",
            {"parent_id": _id("battery id of the parent unit (registered, not a descendant)")},
        ),
        E.BATTERY_DETACHED: EventSpec(
            "Takes the unit out of its parent; it becomes collected, held by the submitter.",
            {"from_parent_id": _id("battery id of the parent it leaves (informational)")},
        ),
        E.BATTERY_PLACED_ON_MARKET: EventSpec(
            "First making available on a market.",
            {"country": PayloadField(str, "country of the market, ISO 3166-1 alpha-2", form="country")},
        ),
        E.BATTERY_PUT_INTO_SERVICE: EventSpec("First use by an end user."),
        E.STATE_OF_HEALTH_REPORTED: EventSpec(
            "A state-of-health reading; the passport's dynamic data (Annex VII) come from these.",
            {
                "soh_pct": _SOH,
                "capacity_ah": _num("remaining capacity in Ah"),
                "cycles": _num("number of full charge-discharge cycles"),
                "remaining_energy_kwh": _num("remaining energy in kWh"),
                "energy_throughput_kwh": _num("energy throughput in kWh"),
                "capacity_throughput_ah": _num("capacity throughput in Ah"),
                "soc_pct": _pct("state of charge, %"),
                "self_discharge_pct_per_month": _pct("self-discharge rate, % per month"),
                "round_trip_efficiency_pct": _pct("remaining round-trip efficiency, %"),
                "remaining_power_w": _num("remaining power capability in W"),
                "remaining_power_at_soc_pct": _pct(
                    "state of charge (%) at which remaining_power_w holds (default: the last one, or 100)",
                ),
                "internal_resistance_increase_pct": _num("pack internal resistance increase, %"),
                "module_internal_resistance_increase_pct": _num("module internal resistance increase, %"),
                "cell_internal_resistance_increase_pct": _num("cell internal resistance increase, %"),
                "extreme_high_temp_h": _num("hours spent above the upper temperature limit"),
                "extreme_low_temp_h": _num("hours spent below the lower temperature limit"),
                "extreme_high_temp_charging_h": _num("hours charging above the upper temperature limit"),
                "extreme_low_temp_charging_h": _num("hours charging below the lower temperature limit"),
            },
        ),
        E.NEGATIVE_EVENT_REPORTED: EventSpec(
            "An accident, abuse or other negative event (passport: negative events).",
            {
                "kind": PayloadField(str, "what happened, e.g. accident, thermal_event, deep_discharge"),
                "description": _text("free text"),
            },
        ),
        E.BATTERY_REPAIRED: EventSpec(
            "A repair while in service.", {"repair": PayloadField(str, "what was repaired (informational)")}
        ),
        E.PASSPORT_DATA_REGISTERED: EventSpec(
            "Static passport data (Annex XIII). The manufacturer may append it whoever holds the unit; a "
            "section in a later event replaces the earlier one whole.",
            open_payload_note=(
                "Every key is optional, no other key is allowed. Each section is validated on append with "
                "the passport's own model (links: `http(s)://` only; JSON Schema: "
                "`batteryloop.domain.passport_data.PassportDataRegistered.model_json_schema()`):"
            ),
        ),
        E.BATTERY_RETIRED: EventSpec(
            "Removed from its first use.",
            {
                "reason": PayloadField(str, "why, e.g. end_of_first_life (informational)"),
                "soh_pct": PayloadField(
                    NUMBER, "state of health at retirement, % (informational)", low=0.0, high=200.0
                ),
            },
        ),
        E.BATTERY_COLLECTED: EventSpec("Collected as a waste battery or for grading."),
        E.CUSTODY_HANDED_OVER: EventSpec(
            "First step of a custody change: the unit is in transit until the receiver accepts it.",
            {"to_org": _id("organisation id of the receiver (registered)")},
        ),
        E.CUSTODY_ACCEPTED: EventSpec(
            "Second step, appended by the receiver: it becomes the custodian and the unit returns to the "
            "state it had before the hand-over."
        ),
        E.BATTERY_GRADED: EventSpec(
            "Tested and graded for reuse, repurposing, remanufacturing or recycling. ``batteryloop analytics "
            "triage --record`` and ``POST /analytics/triage/events`` write one per tested unit with the "
            "decision, the thresholds applied and the measured values; the passport's battery condition "
            "shows the latest.",
            {
                "grade": PayloadField(str, "the grade given, e.g. A, B, C"),
                "soh_pct": _SOH,
                "route": PayloadField(
                    str, "the route it is graded for, e.g. repurpose, recycle (informational)"
                ),
                "decision": PayloadField(
                    str,
                    "the decision of the grading",
                    ("reuse", "remanufacture", "repurpose", "recycle"),
                ),
                "reasons": _text(
                    "every threshold applied, one per line: [route] measure value op limit unit: pass or FAIL"
                ),
                "summary": PayloadField(str, "the decision in one line: the thresholds that decided it"),
                "profile": PayloadField(str, "the grading profile used and its sources"),
                "tested_level": PayloadField(str, "level of the tested unit", _values(UnitLevel)),
                "dcir_mohm": _pos("DC internal resistance measured, mOhm"),
                "dcir_bol_mohm": _pos("DC internal resistance at beginning of life, mOhm"),
                "dcir_increase_pct": _num(
                    "rise of the DC internal resistance over beginning of life, %", None
                ),
                "self_discharge_mv_per_day": _num("self-discharge measured, mV per day"),
                "capacity_spread_pct": _num("capacity spread across cells or modules, %"),
                "voltage_spread_mv": _num("voltage spread across cells or modules, mV"),
                "insulation_ohm_per_v": _num("insulation resistance, ohm per volt"),
                "negative_events": _num("negative events in the history (accidents, thermal events)"),
                "visual_damage": PayloadField(bool, "visual damage found"),
                "history": PayloadField(bool, "a usable history of use was available"),
                "age_years": _num("age at grading, years"),
            },
        ),
        E.BATTERY_REUSED: EventSpec(
            "Ends this identity: the unit is reused under a new one.",
            {"successor_id": _id("battery id of the successor (registered with predecessor_id)")},
        ),
        E.BATTERY_REPURPOSED: EventSpec(
            "Ends this identity: the unit is repurposed (e.g. EV to stationary storage) under a new one.",
            {"successor_id": _id("battery id of the successor (registered with predecessor_id)")},
        ),
        E.BATTERY_REMANUFACTURED: EventSpec(
            "Ends this identity: the unit is remanufactured under a new one.",
            {"successor_id": _id("battery id of the successor (registered with predecessor_id)")},
        ),
        E.BATTERY_DISMANTLED: EventSpec("Taken apart before recycling."),
        E.BATTERY_RECYCLED: EventSpec(
            "Recycled: the unit's life and its passport end.",
            {
                "mass_kg": _pos("mass received by the recycler, kg (informational)"),
                "claimed": PayloadField(bool, "true when the recycler only claims it (informational)"),
            },
        ),
        E.BATTERY_DISPOSED: EventSpec("Disposed of without recycling: the unit's life ends."),
        E.RECYCLING_LOT_RECEIVED: EventSpec(
            "A recycler puts the unit it holds into an input lot (Delegated Regulation (EU) 2025/606: the "
            "input fraction of a recycling process); one event per unit of the lot. The element masses, when "
            "given, must not add up to more than the unit's mass.",
            {
                "lot_id": _id("identifier of the input lot, chosen by the recycler"),
                "mass_kg": _pos("mass of the unit entering the lot, kg"),
                "chemistry_group": PayloadField(
                    str, "chemistry group of Annex XII Part B of Regulation (EU) 2023/1542", CHEMISTRY_GROUPS
                ),
                "received_on": PayloadField(str, "date the unit entered the lot, YYYY-MM-DD", form="date"),
                **{
                    f"{el}_kg": _num(f"mass of {name} in the unit, kg (material recovery)")
                    for el, name in LOT_ELEMENTS.items()
                },
                "electrode_powder_kg": _num("mass of electrode (active) powder in the unit, kg (white list)"),
            },
        ),
        E.RECYCLING_LOT_PRODUCED: EventSpec(
            "An output lot (one fraction) a recycler made from an input lot, recorded on the stream of a unit "
            "of that input lot which the recycler still holds. Its element masses must not add up to more "
            "than its mass; all output lots of an input lot together must not weigh more than its inputs.",
            {
                "lot_id": _id("identifier of the output lot"),
                "input_lot_id": _id("identifier of the input lot it was made from"),
                "fraction": PayloadField(
                    str,
                    "what it is, e.g. electrode_powder, black_mass, li2co3, niso4, copper, aluminium, slag",
                ),
                "mass_kg": _pos("mass of the output lot, kg"),
                "produced_on": PayloadField(str, "date the lot was produced, YYYY-MM-DD", form="date"),
                "counted_as_recycled": PayloadField(
                    bool,
                    "true when the fraction counts as recycled under Delegated Regulation (EU) 2025/606 "
                    "(absent: false)",
                ),
                "buyer": _id("organisation id of the buyer"),
                "for_model": PayloadField(str, "battery model the buyer puts the recycled material into"),
                **{f"{el}_kg": _num(f"mass of {name} in the lot, kg") for el, name in LOT_ELEMENTS.items()},
            },
        ),
        E.ACCESS_GRANTED: EventSpec(
            "The holder gives a named organisation time-limited access to the individual-battery data "
            "(Annex XIII(4) of Regulation (EU) 2023/1542: state of health, usage, negative events), e.g. a "
            "prospective second-life buyer. Only the current holder may append it; the grantee must be "
            "registered; valid_from must be before valid_until, valid_until must not have passed when the "
            "ledger records the grant, and the span is at most the limit of domain/data/grants.toml. A "
            "later grant to the same organisation replaces the earlier one.",
            {
                "grantee": _id("organisation id of the organisation given access (registered)"),
                "valid_from": PayloadField(str, "first day of access, YYYY-MM-DD", form="date"),
                "valid_until": PayloadField(str, "last day of access, YYYY-MM-DD (inclusive)", form="date"),
                "purpose": PayloadField(
                    str, "why access is given, e.g. prospective purchase (informational)"
                ),
            },
        ),
        E.ACCESS_REVOKED: EventSpec(
            "The holder ends the access it gave an organisation before its end date.",
            {"grantee": _id("organisation id whose access ends")},
        ),
    }
)


def required_keys(event_type: EventType) -> tuple[str, ...]:
    """The payload keys the ledger requires for ``event_type``, in their declared order."""
    return tuple(REQUIRED_PAYLOAD.get(event_type, {}))
