"""A fixed plan's replay, assembled directly as arrays (`risk.evaluate`), equals the same
second stage built as a Pyomo model (`build.build_evaluation_model`), scenario by scenario."""

from __future__ import annotations

import numpy as np
import pytest

from stibium.model import build_instance, load_dataset, load_strategy, read_plan_csv, solve
from stibium.model.build import build_evaluation_model
from stibium.model.instance import recourse_for
from stibium.model.risk import evaluate, first_stage_of, read_outcomes
from stibium.model.scenarios import (
    custom_scenario,
    enumerate_scenarios,
    sample_scenarios,
    single_event_scenarios,
)
from stibium.model.solve import solve_model
from stibium.model.stress import plan_frame


@pytest.fixture(scope="module")
def shipped():
    return load_dataset()


def _both(instance, scenarios, first_stage):
    recourse = recourse_for(instance, scenarios)
    direct = evaluate(instance, recourse, *first_stage)
    model = build_evaluation_model(instance, recourse, *first_stage)
    assert solve_model(model) == "optimal"
    return direct, read_outcomes(model, instance, recourse)


def _assert_same(direct, pyomo) -> None:
    for column in ("shortfall_t", "recourse_cost_usd", "total_cost_usd", "spot_cost_usd"):
        np.testing.assert_allclose(direct.table[column], pyomo.table[column],
                                   rtol=1e-7, atol=1e-6, err_msg=column)
    # When a shortfall falls is not unique (a tonne short now or next year costs the same);
    # per scenario, the detail adds up to the table's total.
    np.testing.assert_allclose(direct.detail.groupby("scenario")["shortfall_t"].sum(),
                               direct.table["shortfall_t"], rtol=1e-9, atol=1e-6)
    assert direct.stock_marginal_value == pytest.approx(pyomo.stock_marginal_value,
                                                        rel=1e-7, abs=1e-6)


@pytest.mark.parametrize("name", ["dependency-aware", "stockpile-and-diversify", "min-cvar"])
def test_optimised_plans_replay_the_same_both_ways(shipped, name: str) -> None:
    strategy = load_strategy(name)
    result = solve(shipped, strategy, evaluate_risk=False)
    instance = build_instance(shipped, plan_frame(strategy))
    first_stage = first_stage_of(result.plan, result.stock, result.unmet)
    for scenarios in (enumerate_scenarios(shipped, instance.periods),
                      single_event_scenarios(shipped, instance.periods, onset=2),
                      sample_scenarios(shipped, instance.periods, 300, seed=7)):
        _assert_same(*_both(instance, scenarios, first_stage))


def test_a_hand_typed_plan_with_shortfall_replays_the_same_both_ways(shipped) -> None:
    """A thin plan, most demand unmet by design, hit from the first period on."""
    strategy = load_strategy("dependency-aware")
    instance = build_instance(shipped, plan_frame(strategy))
    plan = read_plan_csv(shipped, strategy,
                         b"origin,hub,market,period,tonnes\n"
                         b"Turkey,Campine Beerse,EU (Antwerp-Rotterdam),2026,2000\n"
                         b"Bolivia,Campine Beerse,EU (Antwerp-Rotterdam),2028,500\n")
    stock = {(m, t): 0.0 for m in instance.markets for t in instance.periods}
    delivered = plan.groupby("period")["delivered_t"].sum()
    unmet = {(m, t): float(instance.demand.at[m, t]) - float(delivered.get(t, 0.0))
             for m in instance.markets for t in instance.periods}
    buy = plan.groupby(["route", "period"])["tonnes"].sum().to_dict()
    direct, pyomo = _both(instance, custom_scenario(shipped, {"Turkey": 0.2},
                                                    instance.periods, onset=0),
                          (buy, stock, unmet))
    _assert_same(direct, pyomo)
    # What the stress cuts is bought on the spot market; the planned unmet demand stays short.
    assert direct.table["spot_t"].iloc[0] > 0
    assert direct.table["shortfall_t"].iloc[0] >= sum(unmet.values()) - 1e-6
