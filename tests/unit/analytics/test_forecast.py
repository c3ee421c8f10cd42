"""Retirement forecast: survival arithmetic by hand, conservation, scrap, bands, default cohorts, ledger
cohorts and errors."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from batteryloop.analytics import service
from batteryloop.analytics.core.forecast import (
    Cohorts,
    ForecastParams,
    LedgerCohortBuilder,
    Survival,
    run_forecast,
)
from batteryloop.domain.errors import ValidationError
from batteryloop.domain.lifecycle import EventType


def params(
    *, shape: float = 1.0, scale: float = 1.0, spread: float = 0.0, scrap: float = 0.0
) -> ForecastParams:
    sv = Survival(shape, scale, scale * (1 - spread), scale * (1 + spread))
    return ForecastParams(
        survival={"car": sv, "bus": sv, "storage": sv},
        scrap_share=(scrap, scrap, scrap),
        production_share={"CN": 1.0},
        kwh_uncertainty=0.0,
        kg_factor_range=(1.0, 1.0),
    )


def one_cohort(units: float = 1000.0, kwh_each: float = 50.0, kg_each: float = 300.0) -> Cohorts:
    return Cohorts.aggregate(
        region=np.asarray(["CN"]),
        application=np.asarray(["car"]),
        chemistry=np.asarray(["LFP"]),
        year=np.asarray([2020]),
        kwh=np.asarray([units * kwh_each]),
        kg=np.asarray([units * kg_each]),
        units=np.asarray([units]),
    )


def test_exponential_survival_by_hand() -> None:
    """k = 1, λ = 1 y, packs placed mid-2020: retire in 2020 with F(0.5) = 1 - e^-0.5 = 0.393469,
    in 2021 with e^-0.5 - e^-1.5 = 0.383401."""
    f = run_forecast(one_cohort(), params(), years=[2019, 2020, 2021], draws=10, scrap=False)
    rows = {r[3]: r for r in f.rows}
    assert rows[2019][4] == 0.0
    assert rows[2020][4] == pytest.approx(1000 * (1 - math.exp(-0.5)), rel=1e-9)
    assert rows[2021][4] == pytest.approx(1000 * (math.exp(-0.5) - math.exp(-1.5)), rel=1e-9)
    assert rows[2020][5] == pytest.approx(1000 * 50 * (1 - math.exp(-0.5)) / 1e6, rel=1e-9)  # GWh
    assert rows[2020][6] == pytest.approx(1000 * 300 * (1 - math.exp(-0.5)) / 1e3, rel=1e-9)  # tonnes


def test_weibull_retirements_add_up_to_the_cohort() -> None:
    f = run_forecast(
        one_cohort(), params(shape=3.5, scale=9.0), years=range(2020, 2101), draws=10, scrap=False
    )
    assert sum(r[4] for r in f.rows) == pytest.approx(1000.0, rel=1e-9)
    # the peak is near the mode λ ((k-1)/k)^(1/k) = 9 * (2.5/3.5)^(1/3.5) = 8.2 y after 2020
    peak = max(f.rows, key=lambda r: r[4])[3]
    assert peak == 2028


def test_scrap_is_a_share_of_production_where_it_is_made() -> None:
    f = run_forecast(one_cohort(), params(scrap=0.05), years=[2020, 2021], draws=10, scrap=True)
    scrap = {r[3]: r for r in f.rows if r[0] == "scrap"}
    assert scrap[2020][5] == pytest.approx(0.05 * 0.05)  # 5 % of 0.05 GWh made in 2020
    assert scrap[2020][6] == pytest.approx(0.05 * 300.0)  # 5 % of 300 t
    assert scrap[2021][5] == 0.0  # nothing produced in 2021


def test_without_uncertainty_the_band_is_the_central_line() -> None:
    f = run_forecast(
        one_cohort(), params(shape=3.5, scale=9.0), years=range(2020, 2040), draws=20, scrap=False
    )
    for metric in ("units", "gwh", "tonnes"):
        np.testing.assert_allclose(f.bands[metric]["low"], f.bands[metric]["central"], rtol=1e-9)
        np.testing.assert_allclose(f.bands[metric]["high"], f.bands[metric]["central"], rtol=1e-9)


def test_a_wider_life_range_widens_the_band() -> None:
    f = run_forecast(
        one_cohort(),
        params(shape=3.5, scale=9.0, spread=0.3),
        years=range(2020, 2045),
        draws=400,
        scrap=False,
    )
    low, high = f.bands["units"]["low"][0], f.bands["units"]["high"][0]
    assert (high - low).max() > 10.0
    assert (low <= high + 1e-9).all()


def test_aggregate_groups_batteries_into_cohorts() -> None:
    c = Cohorts.aggregate(
        region=np.asarray(["CN", "CN", "EU", "CN"]),
        application=np.asarray(["car", "car", "car", "bus"]),
        chemistry=np.asarray(["LFP", "LFP", "NMC", "LFP"]),
        year=np.asarray([2020, 2020, 2021, 2020]),
        kwh=np.asarray([50.0, 60.0, 70.0, 200.0]),
        kg=np.asarray([300.0, 350.0, 400.0, 1200.0]),
    )
    groups = {
        (r, a, ch, int(y)): (u, k, m)
        for r, a, ch, y, u, k, m in zip(
            c.region, c.application, c.chemistry, c.year, c.units, c.kwh, c.kg, strict=True
        )
    }
    assert groups == {
        ("CN", "car", "LFP", 2020): (2.0, 110.0, 650.0),
        ("EU", "car", "NMC", 2021): (1.0, 70.0, 400.0),
        ("CN", "bus", "LFP", 2020): (1.0, 200.0, 1200.0),
    }


def test_default_forecast_uses_the_cited_series() -> None:
    outcome = service.forecast(None, source="defaults", first_year=2020, last_year=2030, draws=50)
    f = outcome.forecast
    assert f.regions == ("CN", "EU", "US", "SEA")
    # world central GWh grows with the sales wave; China carries the most
    world = f.totals("gwh")["central"]
    assert (np.diff(world) > 0).all()
    cn, eu = f.regions.index("CN"), f.regions.index("EU")
    assert f.bands["gwh"]["central"][cn, -1] > f.bands["gwh"]["central"][eu, -1]
    assert "forecast:sales.cars.SEA" in outcome.unverified
    chems = {r[2] for r in f.rows if r[0] == "car"}
    assert chems == {"LFP", "NMC", "NCA"}


def test_default_cohorts_match_the_sales_table() -> None:
    from batteryloop.analytics.core import params as data
    from batteryloop.analytics.core.forecast import default_cohorts

    values = data.values(data.load("forecast"))
    c = default_cohorts(values, first_year=2012, last_year=2030)
    sel = (c.region == "CN") & (c.application == "car") & (c.year == 2023)
    assert c.units[sel].sum() == pytest.approx(8_100_000)  # IEA 2023
    assert c.kwh[sel].sum() == pytest.approx(8_100_000 * 49.0)  # 49 kWh from 2022
    held = (c.region == "US") & (c.application == "car") & (c.year == 2030)
    assert c.units[held].sum() == pytest.approx(1_600_000)  # held flat after 2024


def recorded(battery_id: str, kind: EventType, year: int, payload: dict[str, Any]) -> Any:
    return SimpleNamespace(
        battery_id=battery_id, event_type=kind, occurred_at=datetime(year, 6, 1, tzinfo=UTC), payload=payload
    )


class FakeLedger:
    def __init__(self, events: list[Any]) -> None:
        self.events = events

    def iter_events(self, *, after_position: int = 0, batch_size: int | None = None) -> Any:
        return iter(self.events)


def test_ledger_cohorts_count_placed_packs_once() -> None:
    M, P = EventType.BATTERY_MANUFACTURED, EventType.BATTERY_PLACED_ON_MARKET
    pack = {
        "level": "pack",
        "category": "ev",
        "chemistry": "NMC811",
        "rated_energy_kwh": 75.0,
        "mass_kg": 450.0,
    }
    events = [
        recorded("a", M, 2021, pack),
        recorded("a", P, 2022, {"country": "DE"}),
        recorded("b", M, 2021, {**pack, "rated_energy_kwh": 300.0, "mass_kg": 2000.0}),
        recorded("b", P, 2021, {"country": "CN"}),
        recorded("c", M, 2021, {**pack, "level": "module"}),  # modules are inside packs: not counted
        recorded("c", P, 2021, {"country": "CN"}),
        recorded("d", M, 2021, {**pack, "category": "stationary", "chemistry": "LFP"}),
        recorded("d", P, 2023, {"country": "TH"}),
        recorded("e", M, 2021, {k: v for k, v in pack.items() if k != "rated_energy_kwh"}),
        recorded("e", P, 2023, {"country": "BR"}),
    ]
    cohorts, missing = service.ledger_cohorts(FakeLedger(events))
    got = sorted(
        zip(
            cohorts.region,
            cohorts.application,
            cohorts.chemistry,
            cohorts.year.tolist(),
            cohorts.kwh.tolist(),
            strict=True,
        )
    )
    assert got == [
        ("CN", "bus", "NMC811", 2021, 300.0),
        ("EU", "car", "NMC811", 2022, 75.0),
        ("SEA", "storage", "LFP", 2023, 75.0),
        ("other", "car", "NMC811", 2023, 0.0),
    ]
    assert missing == 1
    outcome = service.forecast(
        FakeLedger(events), source="ledger", first_year=2021, last_year=2050, draws=20, scrap=False
    )
    assert outcome.ledger_units == 4
    assert sum(r[4] for r in outcome.forecast.rows) == pytest.approx(4.0, rel=1e-3)


def test_builder_ignores_unknown_categories() -> None:
    b = LedgerCohortBuilder(country_region={"CN": "CN"}, bus_min_kwh=150.0)
    b.manufactured("x", {"level": "pack", "category": "portable"})
    b.placed("x", 2022, {"country": "CN"})
    assert b.skipped == 1 and b.region == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"first_year": 2040, "last_year": 2030}, "forecast years 2040-2030"),
        ({"draws": 5}, "draws must be between 10"),
        ({"source": "oracle"}, "unknown source 'oracle'"),
        ({"source": "ledger"}, "source 'ledger' needs a ledger"),
    ],
)
def test_forecast_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        service.forecast(None, **kwargs)


def test_empty_ledger_is_a_clear_error() -> None:
    with pytest.raises(ValidationError, match="holds no pack or system placed on the market"):
        service.forecast(FakeLedger([]), source="ledger")


def test_codes_and_strings_give_the_same_cohorts() -> None:
    rng = np.random.default_rng(5)
    n = 5000
    labels = {"region": ["CN", "EU"], "application": ["car", "bus", "storage"], "chemistry": ["LFP", "NMC"]}
    r, a, c = rng.integers(0, 2, n), rng.integers(0, 3, n), rng.integers(0, 2, n)
    year = rng.integers(2015, 2025, n)
    kwh = rng.uniform(40, 90, n)
    kg = kwh * 6.0
    coded = Cohorts.from_codes(labels=labels, region=r, application=a, chemistry=c, year=year, kwh=kwh, kg=kg)
    named = Cohorts.aggregate(
        region=np.asarray(labels["region"])[r],
        application=np.asarray(labels["application"])[a],
        chemistry=np.asarray(labels["chemistry"])[c],
        year=year,
        kwh=kwh,
        kg=kg,
    )

    def as_dict(x: Cohorts) -> dict[tuple[str, str, str, int], tuple[float, float]]:
        return {
            (str(x.region[i]), str(x.application[i]), str(x.chemistry[i]), int(x.year[i])): (
                x.units[i],
                x.kwh[i],
            )
            for i in range(len(x))
        }

    left, right = as_dict(coded), as_dict(named)
    assert left.keys() == right.keys()
    for k in left:
        assert left[k] == pytest.approx(right[k])
    assert coded.units.sum() == n


def test_chunked_aggregation_equals_one_pass_and_names_bad_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    from batteryloop.analytics.core import forecast as fc

    rng = np.random.default_rng(9)
    n = 10_007  # not a multiple of the chunk
    labels = {"region": ["CN", "EU", "US"], "application": ["car", "bus"], "chemistry": ["LFP", "NMC"]}
    r, a, c = rng.integers(0, 3, n), rng.integers(0, 2, n), rng.integers(0, 2, n)
    year = rng.integers(2012, 2026, n)
    kwh = rng.uniform(40, 90, n)
    kg = kwh * 6.0
    args = {"labels": labels, "region": r, "application": a, "chemistry": c, "year": year, "kwh": kwh}
    whole = Cohorts.from_codes(**args, kg=kg)
    monkeypatch.setattr(fc, "CHUNK", 1000)
    chunked = Cohorts.from_codes(**args, kg=kg)
    assert np.array_equal(whole.units, chunked.units) and whole.units.sum() == n
    assert np.allclose(whole.kwh, chunked.kwh) and np.allclose(whole.kg, chunked.kg)
    assert list(whole.region) == list(chunked.region) and list(whole.year) == list(chunked.year)
    bad_region = r.copy()
    bad_region[5500] = 3  # in the sixth chunk
    with pytest.raises(ValidationError, match="region: codes outside 0-2"):
        Cohorts.from_codes(**{**args, "region": bad_region}, kg=kg)
    with pytest.raises(ValidationError, match="year: placing years outside 2015-2030"):
        Cohorts.from_codes(**args, kg=kg, first_year=2015, last_year=2030)
    with pytest.raises(ValidationError, match="kwh and kg must not be negative"):
        Cohorts.from_codes(**args, kg=-kg)


def test_unknown_region_names_the_field() -> None:
    with pytest.raises(ValidationError, match=r"region: unknown region 'Mars'; the forecast knows CN, EU"):
        Cohorts.aggregate(
            region=np.asarray(["CN", "Mars"]),
            application=np.asarray(["car", "car"]),
            chemistry=np.asarray(["LFP", "LFP"]),
            year=np.asarray([2020, 2021]),
            kwh=np.asarray([50.0, 50.0]),
            kg=np.asarray([300.0, 300.0]),
        )
    labels = {"region": ["CN", "Atlantis"], "application": ["car"], "chemistry": ["LFP"]}
    one = np.zeros(3, dtype=np.int8)
    with pytest.raises(ValidationError, match="region: unknown region 'Atlantis'"):
        Cohorts.from_codes(
            labels=labels, region=one, application=one, chemistry=one,
            year=np.asarray([2020, 2021, 2022]), kwh=np.ones(3), kg=np.ones(3),
        )  # fmt: skip
    with pytest.raises(ValidationError, match=r"ledger\.country_region: unknown region 'Europa'"):
        service.ledger_cohorts(FakeLedger([]), overrides=[{"ledger": {"country_region": {"DE": "Europa"}}}])
