"""Property test: any mix of forms and chemistries balances on every route that accepts it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from batteryloop.recycling.core.flowsheet import ROUTES, run_flowsheet
from batteryloop.recycling.core.flowsheet_types import Feedstock, FeedstockComponent
from batteryloop.recycling.core.params import load_parameter_set

EB23 = load_parameter_set("everbatt2023")
FORMS = ["pack", "module", "cell", "production_scrap", "electrode_scrap", "black_mass"]
CHEMS = ["NMC111", "NMC532", "NMC622", "NMC811", "NCA", "LFP"]

component = st.tuples(st.sampled_from(FORMS), st.sampled_from(CHEMS), st.floats(0.01, 1.0), st.floats(0, 100))
route_level = st.sampled_from([(r, lvl) for r, levels in ROUTES.items() for lvl in levels if r != "direct"])


@settings(max_examples=60, deadline=None)
@given(parts=st.lists(component, min_size=1, max_size=4), choice=route_level)
def test_random_mixes_balance(parts: list[tuple[str, str, float, float]], choice: tuple[str, str]) -> None:
    route, level = choice
    if route == "lfp_selective":
        parts = [(form, "LFP", share, soc) for form, _, share, soc in parts]
    total = sum(p[2] for p in parts)
    components = [FeedstockComponent(f, c, s / total, soc) for f, c, s, soc in parts]
    drift = 1.0 - sum(c.mass_share for c in components)
    last = components[-1]
    components[-1] = FeedstockComponent(
        last.form, last.chemistry, last.mass_share + drift, last.state_of_charge_pct
    )
    result = run_flowsheet(
        Feedstock(tuple(components), 1000.0), route=route, product_level=level, params=EB23
    )
    assert result.max_closure_error <= 1e-9
    assert all(0.0 <= share <= 1.0 for share in result.element_recovery.values())
    fed = sum(result.feed_elements_kg.values())
    assert abs(fed - 1000.0) < 1e-6
    for op in result.operations:
        out = sum(op.products_kg.values()) + sum(op.losses_kg.values()) + sum(op.emissions_kg.values())
        assert abs(out - sum(op.inputs_kg.values())) <= 1e-9 * max(1.0, out)
