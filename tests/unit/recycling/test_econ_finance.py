"""NPV, IRR and payback against values worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from batteryloop.domain.errors import ValidationError
from batteryloop.recycling.core import finance

# -1,000 now, +300 a year for 5 years. Annuity factor at 10 %: (1 - 1.1**-5) / 0.1 = 3.790787
FLOWS = [-1000.0, 300.0, 300.0, 300.0, 300.0, 300.0]


def test_npv_of_a_stated_cash_flow():
    # 300 x 3.790787 - 1000 = 137.236
    assert finance.npv(0.10, FLOWS) == pytest.approx(137.236, abs=1e-3)
    assert finance.npv(0.0, FLOWS) == pytest.approx(500.0)


def test_irr_of_a_stated_cash_flow():
    # annuity factor 1000/300 = 3.3333 for 5 years <=> r = 15.24 %
    rate = finance.irr(FLOWS)
    assert rate == pytest.approx(0.15238, abs=1e-4)
    assert finance.npv(rate, FLOWS) == pytest.approx(0.0, abs=1e-6)


def test_irr_is_none_when_the_plant_never_pays_back():
    assert finance.irr([-1000.0, -10.0, -10.0]) is None


def test_payback_interpolates_within_the_year():
    # cumulative -700, -400, -100, +200: pays back a third into year 4
    assert finance.payback_years(FLOWS) == pytest.approx(10.0 / 3.0)
    assert finance.payback_years([-1000.0, 100.0, 100.0]) is None


def test_vectorised_annuity_matches_the_explicit_cash_flows():
    flows = [-1000.0, 300.0, 300.0, 300.0, 300.0, 300.0 + 50.0]
    npv = finance.npv_annuity(rate=0.1, investment=1000.0, annual_cash_flow=300.0, years=5, terminal=50.0)
    assert float(npv) == pytest.approx(finance.npv(0.1, flows))
    irr = finance.irr_annuity(investment=1000.0, annual_cash_flow=300.0, years=5, terminal=50.0)
    assert float(irr) == pytest.approx(finance.irr(flows), abs=1e-9)


def test_vectorised_irr_gives_nan_where_there_is_no_root():
    irr = finance.irr_annuity(
        investment=np.array([1000.0, 1000.0]), annual_cash_flow=np.array([300.0, -5.0]), years=5
    )
    assert irr[0] == pytest.approx(0.15238, abs=1e-4)
    assert math.isnan(irr[1])


def test_zero_rate_annuity_is_the_number_of_years():
    assert float(finance.annuity_factor(0.0, 7)) == 7.0


def test_bad_rate_is_refused():
    with pytest.raises(ValidationError, match="above -100"):
        finance.npv(-1.0, FLOWS)
