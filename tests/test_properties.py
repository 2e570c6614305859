"""Properties that must hold for any data: monotone caps, the cheapest plan, price scaling."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from stibium.model import Strategy, build_instance, load_dataset, load_strategy, solve
from tests.conftest import toy_tables, write_tables

SHARE = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
FAST = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

CAP_FIELDS = {
    "origin": lambda cap: {"origin_caps": {"B": cap}},
    "hub": lambda cap: {"hub_caps": {"HP": cap}},
    "country": lambda cap: {"country_caps": {"B": cap}},
    "naive exposure": lambda cap: {"exposure_mode": "naive", "exposure_caps": {"P": cap}},
    "aware exposure": lambda cap: {"exposure_mode": "dependency-aware",
                                   "exposure_caps": {"P": cap}},
    "risk budget": lambda cap: {"risk_budget": cap},
    "default origin": lambda cap: {"origin_share_cap": cap},
}


@FAST
@given(kind=st.sampled_from(sorted(CAP_FIELDS)), loose=SHARE, tight=SHARE)
def test_tightening_a_cap_never_lowers_cost(toy, kind, loose, tight):
    loose, tight = max(loose, tight), min(loose, tight)
    cost_loose = solve(toy, Strategy(**CAP_FIELDS[kind](loose))).objective
    cost_tight = solve(toy, Strategy(**CAP_FIELDS[kind](tight))).objective
    assert cost_tight >= cost_loose - 1e-7 * max(1.0, abs(cost_loose))


def test_tightening_the_china_cap_on_shipped_data(shipped):
    base = load_strategy("dependency-aware")
    costs = [solve(shipped, base.with_changes(exposure_caps={**base.exposure_caps,
                                                             "China": cap})).objective
             for cap in (0.6, 0.45, 0.3, 0.2, 0.1)]
    assert all(b >= a - 1e-6 * a for a, b in zip(costs, costs[1:], strict=False)), costs


def test_every_shipped_strategy_costs_at_least_the_cheapest(shipped):
    cheapest = solve(shipped, load_strategy("cheapest")).objective
    for name in ("naive-diversified", "dependency-aware"):
        assert solve(shipped, load_strategy(name)).objective >= cheapest - 1e-6 * cheapest


def test_zero_risk_price_gives_the_cheapest_plan(shipped):
    cheapest = solve(shipped, load_strategy("cheapest"))
    priced = solve(shipped, load_strategy("cheapest").with_changes(risk_price_usd_per_t=0.0))
    assert priced.objective == pytest.approx(cheapest.objective, rel=1e-9)


def _independent_lp(instance) -> float:
    """The uncapped sourcing LP assembled with scipy from the instance's coefficients."""
    routes, periods, markets = list(instance.routes.index), instance.periods, instance.markets
    n_buy = len(routes) * len(periods)
    n_stock = n_unmet = len(markets) * len(periods)
    n = n_buy + n_stock + n_unmet

    def buy(ri, ti):
        return ri * len(periods) + ti

    def stock(mi, ti):
        return n_buy + mi * len(periods) + ti

    def unmet(mi, ti):
        return n_buy + n_stock + mi * len(periods) + ti

    cost = np.zeros(n)
    for ri, r in enumerate(routes):
        for ti, t in enumerate(periods):
            cost[buy(ri, ti)] = instance.unit_cost.at[r, t]
    for mi in range(len(markets)):
        for ti in range(len(periods)):
            cost[stock(mi, ti)] = instance.holding_cost
            cost[unmet(mi, ti)] = instance.unmet_penalty
    a_ub, b_ub = [], []
    for origin in instance.availability.index:
        for ti, t in enumerate(periods):
            row = np.zeros(n)
            for ri, r in enumerate(routes):
                if instance.routes.at[r, "origin"] == origin:
                    row[buy(ri, ti)] = 1.0
            a_ub.append(row)
            b_ub.append(instance.availability.at[origin, t])
    for hub in instance.capacity.index:
        for ti, t in enumerate(periods):
            row = np.zeros(n)
            for ri, r in enumerate(routes):
                if instance.routes.at[r, "hub"] == hub:
                    row[buy(ri, ti)] = 1.0
            a_ub.append(row)
            b_ub.append(instance.capacity.at[hub, t])
    a_eq, b_eq = [], []
    for mi, market in enumerate(markets):
        for ti, t in enumerate(periods):
            row = np.zeros(n)
            for ri, r in enumerate(routes):
                if instance.routes.at[r, "market"] == market:
                    row[buy(ri, ti)] = instance.routes.at[r, "recovery_yield"]
            row[stock(mi, ti)] = -1.0
            if ti > 0:
                row[stock(mi, ti - 1)] = 1.0
            row[unmet(mi, ti)] = 1.0
            a_eq.append(row)
            b_eq.append(instance.demand.at[market, t] - (instance.strategy.initial_stock_t
                                                         if ti == 0 else 0.0))
    solution = linprog(cost, A_ub=np.array(a_ub), b_ub=b_ub, A_eq=np.array(a_eq), b_eq=b_eq,
                       bounds=(0, None), method="highs-ipm")
    assert solution.status == 0
    return float(solution.fun)


def test_uncapped_optimum_matches_an_independent_lp(shipped):
    strategy = load_strategy("cheapest")
    expected = _independent_lp(build_instance(shipped, strategy))
    assert solve(shipped, strategy).objective == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize("factor", [0.5, 3.0])
def test_scaling_every_price_scales_the_cost(tmp_path, shipped, factor):
    folder = tmp_path / "scaled"
    shutil.copytree(shipped.directory, folder, ignore=shutil.ignore_patterns("*.py", "strat*"))
    money_columns = {"prices": ["benchmark_usd_per_t", "low", "high"],
                     "hub_fees": ["fee_usd_per_t", "low", "high"],
                     "routes": ["freight_usd_per_t", "low", "high"]}
    for name, columns in money_columns.items():
        frame = pd.read_csv(folder / f"{name}.csv", keep_default_na=False, dtype=str)
        for column in columns:
            frame[column] = [str(float(v) * factor) if v != "" else "" for v in frame[column]]
        frame.to_csv(folder / f"{name}.csv", index=False)
    params = pd.read_csv(folder / "parameters.csv", keep_default_na=False, dtype=str)
    money = params["unit"].str.contains(r"\$|usd", case=False)
    for column in ("value", "low", "high"):
        params.loc[money, column] = [str(float(v) * factor) if v != "" else ""
                                     for v in params.loc[money, column]]
    params.to_csv(folder / "parameters.csv", index=False)
    scaled_data = load_dataset(folder)
    for name in ("cheapest", "dependency-aware"):
        base = solve(shipped, load_strategy(name))
        scaled = solve(scaled_data, load_strategy(name))
        assert scaled.total_cost == pytest.approx(factor * base.total_cost, rel=1e-7)
        assert scaled.metrics["unmet_t"] == pytest.approx(base.metrics["unmet_t"], abs=1e-6)


def test_toy_scaling_gives_the_same_plan(tmp_path):
    tables = toy_tables()
    for row in tables["prices"]:
        row["benchmark_usd_per_t"] *= 7
    for row in tables["routes"]:
        row["freight_usd_per_t"] *= 7
    for row in tables["parameters"]:
        row["value"] *= 7
    base = solve(load_dataset(write_tables(tmp_path / "a", toy_tables())),
                 Strategy(exposure_caps={"P": 0.2}))
    scaled = solve(load_dataset(write_tables(tmp_path / "b", tables)),
                   Strategy(exposure_caps={"P": 0.2}))
    assert scaled.total_cost == pytest.approx(7 * base.total_cost)
    pd.testing.assert_frame_equal(base.plan[["route", "tonnes"]], scaled.plan[["route", "tonnes"]])


@pytest.mark.parametrize("name, changes", [
    ("naive-diversified", {}),
    ("dependency-aware", {"risk_budget": 0.6, "stock_target_days": 30}),
    ("min-cvar", {"scenario_events": ("China export ban", "Myanmar border closure")}),
])
def test_both_solver_paths_agree(shipped, name, changes):
    """Pyomo's own HiGHS interface and the standard-form hand-over solve the same model."""
    from stibium.model.build import build_model
    from stibium.model.highs import solve_model

    instance = build_instance(shipped, load_strategy(name).with_changes(**changes))
    objectives = {}
    for path in ("standard-form", "pyomo-highs"):
        model = build_model(instance)
        assert solve_model(model, path=path) == "optimal"
        objectives[path] = model.total_cost()
    assert objectives["standard-form"] == pytest.approx(objectives["pyomo-highs"], rel=1e-8)
