"""A passport whose every figure a reader can believe: 1,000 demo passports, built from a generated fleet and
rendered as pages (English and Chinese), each checked for the invariants of its dynamic data, its material
composition and, for a successor, its re-rating; and a Hypothesis property over generated fleets."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from batteryloop.domain.lifecycle import EventType as E
from batteryloop.domain.passport_data import MASS_BALANCE_TOLERANCE_KG, BatteryComponent
from batteryloop.fleet import FleetConfig, default_fleet_config, generate_fleet
from batteryloop.passport.access import Audience
from batteryloop.passport.core import dynamic
from batteryloop.passport.core.build import build_passport
from batteryloop.passport.core.model import Passport
from batteryloop.passport.core.synthetic import load_synthetic_defaults, synthetic_passport_data
from batteryloop.passport.deps import _templates_env
from batteryloop.passport.report import page_context
from batteryloop.passport.service import PassportView

NEW_BATTERY_WARRANTIES = {
    int(load_synthetic_defaults()["warranty_months"][c]) for c in ("ev", "lmt", "industrial", "stationary")
}
SECOND_LIFE_WARRANTY = int(load_synthetic_defaults()["warranty_months"]["second_life"])


def _passports(config: FleetConfig, *, seed: int, n: int) -> tuple[list[Passport], dict[str, list[Any]]]:
    fleet = generate_fleet(
        seed=seed, n_batteries=n, config=dataclasses.replace(config, passport_payload=synthetic_passport_data)
    )
    streams: dict[str, list[Any]] = defaultdict(list)
    for event in fleet.events:
        streams[event.battery_id].append(event)
    out = []
    for events in streams.values():
        if not any(e.event_type == E.PASSPORT_DATA_REGISTERED for e in events):
            continue
        predecessor = events[0].payload.get("predecessor_id")
        out.append(
            build_passport(events, predecessor_events=streams.get(predecessor, ()) if predecessor else ())
        )
    return out, streams


def _reports(events: Sequence[Any]) -> list[dict[str, Any]]:
    return [dict(e.payload) for e in events if e.event_type == E.STATE_OF_HEALTH_REPORTED]


def check_passport(passport: Passport, events: Sequence[Any]) -> list[str]:
    """Every invariant of the issue, as sentences (empty when all hold)."""
    problems = list(dynamic.invariants(passport))
    problems += [f"data issue {i.field}: {i.reason}" for i in passport.data_issues]
    # cycles and throughput never go down from one report to the next (in the events themselves)
    reports = _reports(events)
    for key in ("cycles", "energy_throughput_kwh", "capacity_throughput_ah"):
        values = [r[key] for r in reports if key in r]
        if values != sorted(values):
            problems.append(f"{key} not monotonic in the reports: {values}")
    c = passport.condition
    if reports:  # the condition is the last report's, dated then
        last = [e for e in events if e.event_type == E.STATE_OF_HEALTH_REPORTED][-1]
        for name in ("state_of_certified_energy_pct", "capacity_fade_pct", "full_cycles", "power_fade_pct"):
            reading = getattr(c, name)
            if reading is None or reading.last_update != last.occurred_at:
                problems.append(f"condition.{name} is not dated at the last report")
    comp = passport.composition
    if comp is None:
        problems.append("composition missing")
    else:
        declared = sum(m.mass_kg for m in comp.materials)
        if abs(declared + comp.remainder_kg - comp.battery_mass_kg) > MASS_BALANCE_TOLERANCE_KG:
            problems.append("composition does not balance")
        if passport.identity.mass_kg is None or abs(comp.battery_mass_kg - passport.identity.mass_kg) > 1e-9:
            problems.append("composition.battery_mass_kg is not the battery's mass")
        for m in comp.materials:
            if not isinstance(m.component, BatteryComponent):
                problems.append(f"component {m.component!r} outside the vocabulary")
    if passport.lifecycle.predecessor_id is not None:
        r = passport.rerating
        if r is None:
            problems.append("successor without a re-rating")
        else:
            if r.original_passport_id != passport.lifecycle.predecessor_id:
                problems.append("re-rating does not link the original passport")
            if not r.rerated_by or not r.test_method:
                problems.append("re-rating does not say who re-rated it or on what test")
            first_soh = min(_soh_values(passport, events), default=r.soh_pct)
            if r.soh_pct >= 100.0 or first_soh > r.soh_pct:
                problems.append(f"successor shows a new battery's state of health ({r.soh_pct})")
        if passport.warranty_months in NEW_BATTERY_WARRANTIES - {SECOND_LIFE_WARRANTY}:
            problems.append(f"successor carries a new battery's warranty ({passport.warranty_months})")
        if passport.carbon_footprint is not None:
            problems.append("successor carries a new battery's carbon footprint and class")
    elif passport.rerating is not None:
        problems.append("an original battery carries a re-rating")
    return problems


def _soh_values(passport: Passport, events: Sequence[Any]) -> list[float]:
    return [float(r["soh_pct"]) for r in _reports(events)]


def render(passport: Passport, lang: str) -> str:
    view = PassportView(
        battery_id=passport.passport_id,
        audiences=frozenset(Audience),
        full=passport.model_dump(mode="json"),
        uri=f"https://id.batteryloop.test/{passport.passport_id}",
        ceased=passport.lifecycle.ceased,
        position=passport.lifecycle.version,
        policy=None,
    )
    scope = {
        "type": "http",
        "method": "GET",
        "path": f"/passports/{passport.passport_id}/page",
        "headers": [],
        "query_string": f"lang={lang}".encode(),
        "root_path": "",
        "scheme": "http",
        "server": ("testserver", 80),
        "app": SimpleNamespace(state=SimpleNamespace()),
    }
    response = _templates_env().TemplateResponse(
        Request(scope), "passport.html", {"org": None, **page_context(view)}
    )
    return bytes(response.body).decode()


PAGE_ROWS = {  # what the page shows of the dynamic data, with its unit, in each language
    "en": ("State of health", "Capacity fade", "Full cycles", "Energy throughput", "Power fade", "&nbsp;kWh"),
    "zh_Hans": ("容量衰减", "累计能量吞吐量", "功率衰减", "&nbsp;kWh"),
}


def test_a_thousand_demo_passports_hold_every_invariant() -> None:
    passports, streams = _passports(default_fleet_config(), seed=12, n=990)
    assert len(passports) >= 1000
    failures = {
        p.passport_id: problems for p in passports if (problems := check_passport(p, streams[p.passport_id]))
    }
    assert failures == {}
    # the fleet is not trivially consistent: batteries aged, were used, and some were re-rated
    used = [p for p in passports if p.condition.full_cycles is not None and p.condition.full_cycles.value > 0]
    assert len(used) > 0.8 * len(passports)
    assert any(p.rerating is not None for p in passports)
    assert any(
        p.condition.state_of_certified_energy_pct is not None
        and p.condition.state_of_certified_energy_pct.value < 80
        for p in passports
    )
    for index, passport in enumerate(passports):
        lang = "en" if index % 2 == 0 else "zh_Hans"
        html = render(passport, lang)
        if passport.condition.full_cycles is not None:
            for text in PAGE_ROWS[lang]:
                assert text in html, (passport.passport_id, lang, text)
        if passport.rerating is not None:
            assert 'id="rerating"' in html and passport.rerating.original_passport_id in html
        assert 'id="materials-remainder"' in html and 'id="materials-total"' in html


_fleets = st.fixed_dictionaries(
    {
        "seed": st.integers(min_value=0, max_value=2**32 - 1),
        "n": st.integers(min_value=3, max_value=25),
        "second_life_share": st.floats(min_value=0.0, max_value=1.0),
        "fade_spread_cv": st.floats(min_value=0.0, max_value=0.5),
        "usage_cv": st.floats(min_value=0.0, max_value=0.8),
        "soh_report_interval_days": st.sampled_from([90, 180, 365]),
    }
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=_fleets)
def test_every_generated_fleet_holds_the_invariants(spec: dict[str, Any]) -> None:
    seed, n = spec.pop("seed"), spec.pop("n")
    config = dataclasses.replace(
        default_fleet_config(), formal_share=dict.fromkeys(("CN", "EU", "US", "SEA"), 1.0), **spec
    )
    passports, streams = _passports(config, seed=seed, n=n)
    for passport in passports:
        assert check_passport(passport, streams[passport.passport_id]) == [], passport.passport_id


@pytest.mark.parametrize("lang", ["en", "zh_Hans"])
def test_a_successor_page_says_who_re_rated_it(lang: str) -> None:
    config = dataclasses.replace(
        default_fleet_config(),
        formal_share=dict.fromkeys(("CN", "EU", "US", "SEA"), 1.0),
        second_life_share=1.0,
        recycle_chemistries=frozenset(),
    )
    passports, _ = _passports(config, seed=7, n=40)
    successor = next(p for p in passports if p.rerating is not None)
    html = render(successor, lang)
    assert successor.rerating is not None
    assert successor.rerating.rerated_by in html
    assert {"en": "Re-rated by", "zh_Hans": "重新评级方"}[lang] in html
    assert {"en": "Measured state of health", "zh_Hans": "实测健康状态"}[lang] in html
    assert f"/passports/{successor.rerating.original_passport_id}/page" in html
