"""A fixed plan's replay, assembled directly as arrays (`risk.evaluate`), equals the
optimisation model's own second stage with the plan's first stage fixed, scenario by
scenario: both are read from one definition (`second_stage.SecondStage`), and this holds the
two assemblies to the same outcomes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pyomo.environ as pyo
import pytest

from stibium.model import build_instance, load_dataset, load_strategy, read_plan_csv, solve
from stibium.model.build import build_model
from stibium.model.highs import solve_model
from stibium.model.instance import recourse_for
from stibium.model.risk import evaluate, first_stage_of, read_outcomes
from stibium.model.scenarios import (
    custom_scenario,
    enumerate_scenarios,
    sample_scenarios,
    single_event_scenarios,
)
from stibium.model.stress import plan_frame


@pytest.fixture(scope="module")
def shipped():
    return load_dataset()


FIXED_PLAN_ROWS = ("scenario_balance",)


def _fixed_plan_model(instance, recourse, buy: dict, stock: dict, unmet: dict):
    """The extensive model over `recourse` with the plan's first stage fixed and only the
    balance rows kept (a hand-typed plan may break any limit). The plans here hold exactly
    the stock their deliveries leave, as a replay assumes."""
    model = build_model(dataclasses.replace(instance, recourse=recourse))
    for variable, values in ((model.buy, buy), (model.stock, stock), (model.unmet, unmet)):
        for key, var in variable.items():
            var.fix(float(values.get(key, 0.0)))
    # The aggregate deliveries as numbers too, so that the scenario rows are all that is left.
    yields = instance.routes["recovery_yield"]
    for (market, t), var in model.arrivals.items():
        var.fix(sum(yields[route] * tonnes for (route, period), tonnes in buy.items()
                    if period == t and instance.routes.at[route, "market"] == market))
    for constraint in model.component_objects(pyo.Constraint, active=True):
        if constraint.name not in FIXED_PLAN_ROWS:
            constraint.deactivate()
    return model


def _both(instance, scenarios, first_stage):
    recourse = recourse_for(instance, scenarios)
    direct = evaluate(instance, recourse, *first_stage)
    model = _fixed_plan_model(instance, recourse, *first_stage)
    assert solve_model(model) == "optimal"
    return (direct, read_outcomes(model, instance, recourse),
            _opening_stock_derivatives(instance, recourse, first_stage))


def _expected_recourse(outcomes) -> float:
    return float(outcomes.table["probability"] @ outcomes.table["recourse_cost_usd"])


def _opening_stock_derivatives(instance, recourse, first_stage, step: float = 1.0
                               ) -> tuple[float, float | None]:
    """What a tonne more (right) and a tonne less (left) of opening stock in every scenario
    saves and costs in expected recourse, by finite differences of the replay: the initial
    stock moved by ``step`` moves the planned stock of every period (a replay derives it from
    the deliveries)."""
    def with_initial(shift: float):
        # A negative initial stock is no strategy a user can write, so the strategy's field
        # is set past its validation, for the left difference only.
        strategy = dataclasses.replace(instance.strategy)
        object.__setattr__(strategy, "initial_stock_t", instance.strategy.initial_stock_t + shift)
        shifted = dataclasses.replace(instance, strategy=strategy)
        return _expected_recourse(evaluate(shifted, recourse, *first_stage))

    base = _expected_recourse(evaluate(instance, recourse, *first_stage))
    right = (base - with_initial(step)) / step
    # A tonne less moves every scenario's opening stock only when the plan holds at least
    # that much in every period.
    stock = first_stage[1]
    holds = len(stock) == len(instance.markets) * len(instance.periods) and min(
        stock.values()) >= step
    return right, ((with_initial(-step) - base) / step if holds else None)


def _assert_same(direct, pyomo, derivatives: tuple[float, float | None]) -> None:
    for column in ("shortfall_t", "recourse_cost_usd", "total_cost_usd", "spot_cost_usd"):
        np.testing.assert_allclose(direct.table[column], pyomo.table[column],
                                   rtol=1e-7, atol=1e-6, err_msg=column)
    # When a shortfall falls is not unique (a tonne short now or next year costs the same);
    # per scenario, the detail adds up to the table's total.
    np.testing.assert_allclose(direct.detail.groupby("scenario")["shortfall_t"].sum(),
                               direct.table["shortfall_t"], rtol=1e-9, atol=1e-6)
    # The marginal value of opening stock is a dual, unique only where the recourse is
    # differentiable in the stock: at a kink the two assemblies may report different
    # subgradients (measured: 34,174.53 and 34,070.97 $/t for stockpile-and-diversify's plan on
    # the exact enumeration, both exact duals of the same optimum, between the one-sided
    # derivatives 33,859.71 and 34,526.64). Each must lie between the one-sided derivatives;
    # a plan that holds no stock cannot give a tonne up, so there only the right derivative
    # is known and both must equal it.
    right, left = derivatives
    upper = right if left is None else left
    for value in (direct.stock_marginal_value, pyomo.stock_marginal_value):
        assert right - 1e-6 * max(1.0, abs(right)) <= value <= upper + 1e-6 * max(1.0, abs(upper))


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
    direct, pyomo, derivatives = _both(
        instance, custom_scenario(shipped, {"Turkey": 0.2}, instance.periods, onset=0),
        (buy, stock, unmet))
    _assert_same(direct, pyomo, derivatives)
    # What the stress cuts is bought on the spot market; the planned unmet demand stays short.
    assert direct.table["spot_t"].iloc[0] > 0
    assert direct.table["shortfall_t"].iloc[0] >= sum(unmet.values()) - 1e-6
