"""JSON API of the recycling capability: parse the request, make one service call, render through ``schemas``.

  POST /recycling/run          flowsheet, carbon and plant economics of one scenario
  POST /recycling/compare      by region, route or LFP share
  POST /recycling/quote        a lot's contained value and the price to pay or fee to charge
  POST /recycling/montecarlo   margin distribution, probability of loss, tornado of the top parameters
  POST /recycling/solve        the gate fee, subsidy, grant, payable, price or size that breaks even (or hits an IRR)
  GET  /recycling/intake       the calling recycler's intake from the ledger, run through a line (API key needed)
  GET  /recycling/params/{set} every parameter of a set with unit, source and year

Errors are domain errors (ValidationError -> 422, NotFoundError -> 404 via the app's problem+json handlers). The
HTML pages are in :mod:`batteryloop.recycling.pages`, mounted beside this router by :mod:`batteryloop.app`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from batteryloop.ledger.deps import LedgerDep
from batteryloop.orgs.deps import OrgDep
from batteryloop.recycling import report, service
from batteryloop.recycling.schemas import (
    CompareIn,
    CompareOut,
    IntakeIn,
    IntakeOut,
    MonteCarloIn,
    QuoteIn,
    QuoteOut,
    RunOut,
    ScenarioIn,
    SimulationOut,
    SolveIn,
    SolveOut,
)

router = APIRouter(tags=["recycling"])


@router.post("/recycling/run")
def run_endpoint(scenario: ScenarioIn) -> RunOut:
    return RunOut.from_result(service.run_scenario(scenario.to_input()))


@router.post("/recycling/compare")
def compare_endpoint(body: CompareIn) -> CompareOut:
    comparison = service.compare(
        body.scenario.to_input(),
        by=body.by,
        regions=body.regions,
        routes=body.route_pairs(),
        lfp_shares=body.lfp_shares,
        other_chemistry=body.other_chemistry,
    )
    return CompareOut.from_result(comparison)


@router.post("/recycling/quote")
def quote_endpoint(body: QuoteIn) -> QuoteOut:
    scenario = body.scenario.to_input()
    if body.all_routes:
        return QuoteOut.from_result(
            service.quote_every_route(
                scenario, lot_mass_kg=body.lot_mass_kg, target_margin=body.target_margin
            )
        )
    return QuoteOut.from_result(
        service.quote(scenario, lot_mass_kg=body.lot_mass_kg, target_margin=body.target_margin)
    )


@router.post("/recycling/montecarlo")
def montecarlo_endpoint(body: MonteCarloIn) -> SimulationOut:
    simulation = service.simulate(
        body.scenario.to_input(), draws=body.draws, seed=body.seed, include_uncited=body.include_uncited
    )
    return SimulationOut.from_result(simulation, bins=body.histogram_bins)


@router.post("/recycling/solve")
def solve_endpoint(body: SolveIn) -> SolveOut:
    solution = service.solve(
        body.scenario.to_input(),
        lever=body.lever,
        target=body.target,
        target_value=body.target_value,
        low=body.low,
        high=body.high,
    )
    return SolveOut.from_result(solution)


@router.get("/recycling/intake")
def intake_endpoint(org: OrgDep, ledger: LedgerDep, query: Annotated[IntakeIn, Query()]) -> IntakeOut:
    """The calling organisation's own intake (as `recycle intake --org <caller>`); nobody reads another's."""
    return IntakeOut.from_result(service.intake_economics(ledger, query.to_input(org.org_id)))


@router.get("/recycling/params/{set_name}")
def params_endpoint(set_name: str, prefix: str = "") -> dict[str, Any]:
    return report.parameter_set_to_dict(service.packaged_set(set_name), prefix=prefix)
