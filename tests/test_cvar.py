"""The two-stage model: CVaR recomputed by hand, equivalences, monotonicity, a stockpile case."""

from __future__ import annotations

import numpy as np
import pytest

from stibium.model import Strategy, load_dataset, load_strategy, solve
from tests.conftest import toy_tables, write_tables


def cvar_by_sorting(losses: np.ndarray, probability: np.ndarray, beta: float) -> float:
    """Average of the worst (1 − β) probability mass, splitting the boundary scenario."""
    tail = 1.0 - beta
    total, taken = 0.0, 0.0
    for index in np.argsort(-losses, kind="stable"):
        share = min(probability[index], tail - taken)
        if share <= 0:
            break
        total += share * losses[index]
        taken += share
    return total / tail


@pytest.fixture(scope="module")
def aware_exact():
    return load_strategy("dependency-aware").with_changes(scenario_mode="exact")


@pytest.fixture(scope="module")
def risk_neutral(shipped, aware_exact):
    return solve(shipped, aware_exact)


def per_scenario(result, column: str) -> tuple[np.ndarray, np.ndarray]:
    return (result.scenarios[column].to_numpy(), result.scenarios["probability"].to_numpy())


@pytest.mark.parametrize("beta", [0.9, 0.95])
def test_model_cvar_equals_the_sorted_losses(shipped, aware_exact, beta):
    strategy = aware_exact.with_changes(cvar_beta=beta, cvar_shortfall_weight_usd_per_t=1e5)
    result = solve(shipped, strategy)
    losses, probability = per_scenario(result, "shortfall_t")
    by_hand = cvar_by_sorting(losses, probability, beta)
    assert result.metrics["model_cvar_shortfall"] == pytest.approx(by_hand, rel=1e-7)
    assert result.metrics["cvar_shortfall_t"] == pytest.approx(by_hand, rel=1e-7)
    assert result.metrics["expected_shortfall_t"] == pytest.approx(probability @ losses)


def test_cost_cvar_equals_the_sorted_costs(shipped, aware_exact):
    result = solve(shipped, aware_exact.with_changes(cvar_cost_weight=0.5))
    losses, probability = per_scenario(result, "total_cost_usd")
    by_hand = cvar_by_sorting(losses, probability, 0.95)
    assert result.metrics["model_cvar_cost"] == pytest.approx(by_hand, rel=1e-7)
    assert result.metrics["cvar_cost"] == pytest.approx(by_hand, rel=1e-7)


def test_binding_cvar_limit_holds_when_recomputed(shipped, aware_exact, risk_neutral):
    limit_t = 0.8 * risk_neutral.metrics["cvar_shortfall_t"]
    total_demand = risk_neutral.metrics["total_demand_t"]
    result = solve(shipped, aware_exact.with_changes(cvar_shortfall_limit=limit_t / total_demand))
    losses, probability = per_scenario(result, "shortfall_t")
    assert cvar_by_sorting(losses, probability, 0.95) <= limit_t * (1 + 1e-6)
    assert result.objective >= risk_neutral.objective


def test_zero_weight_and_no_limit_is_the_risk_neutral_plan(shipped, aware_exact, risk_neutral):
    zero = solve(shipped, aware_exact.with_changes(cvar_shortfall_weight_usd_per_t=0.0,
                                                   cvar_cost_weight=0.0))
    loose = solve(shipped, aware_exact.with_changes(cvar_cost_limit_usd=1e15,
                                                    cvar_shortfall_limit=1.0))
    for other in (zero, loose):
        assert other.objective == pytest.approx(risk_neutral.objective, rel=1e-9)
        assert other.metrics["expected_shortfall_t"] == pytest.approx(
            risk_neutral.metrics["expected_shortfall_t"], rel=1e-6, abs=1e-6)


def test_tightening_the_cvar_limit_never_lowers_cost(shipped, aware_exact, risk_neutral):
    total_demand = risk_neutral.metrics["total_demand_t"]
    start = risk_neutral.metrics["cvar_shortfall_t"] / total_demand
    costs = []
    for factor in (1.2, 1.0, 0.9, 0.8, 0.5, 0.2):
        result = solve(shipped, aware_exact.with_changes(cvar_shortfall_limit=factor * start))
        # A limit below the best achievable CVaR has no plan: that counts as infinitely dear.
        assert result.status in ("optimal", "infeasible")
        costs.append(result.objective if result.is_optimal else float("inf"))
    assert np.isfinite(costs[:4]).all(), costs
    assert all(b >= a * (1 - 1e-9) for a, b in zip(costs, costs[1:], strict=False)), costs


def test_sampled_scenarios_solve_and_report(shipped, aware_exact):
    result = solve(shipped, aware_exact.with_changes(scenario_mode="sampled",
                                                     scenario_samples=300, scenario_seed=3,
                                                     cvar_shortfall_weight_usd_per_t=1e5))
    losses, probability = per_scenario(result, "shortfall_t")
    assert probability.sum() == pytest.approx(1.0)
    assert result.metrics["model_cvar_shortfall"] == pytest.approx(
        cvar_by_sorting(losses, probability, 0.95), rel=1e-7)


def two_period_toy(tmp_path):
    """A cannot deliver in 2031 (ramp-up factor 0); "P acts" (p = 0.2) is the only event."""
    tables = toy_tables(periods=(2030, 2031))
    tables["ramp_ups"] = [{"node": "A", "kind": "origin", "period": 2031,
                           "capacity_factor": 0.0}]
    tables["events"][0]["probability"] = 0.2
    return load_dataset(write_tables(tmp_path / "two", tables))


def test_hand_solved_stockpile_case(tmp_path):
    """Scenarios: none (0.8), P from 2030 (0.1), P from 2031 (0.1); no spot market.

    For 2030, A→HA (130) beats B→HA (105 + 0.1·0.5·1000 = 155) and B→HP (100 + 0.1·1000).
    For 2031 only B can deliver, and P stops it in both disrupted scenarios (0.2): B→HP costs
    100 + 0.2·1000 = 300, B→HA 105 + 0.2·0.5·1000 = 205 per tonne, while A→HA bought in 2030
    and held a year costs 130 + 5 = 135 and always arrives. So: 20 t on A→HA in 2030, 10 t
    stocked, nothing in 2031; cost 20·130 + 10·5 = 2,650 and no shortfall in any scenario.
    """
    dataset = two_period_toy(tmp_path)
    strategy = Strategy(scenario_mode="exact", scenario_events=("P acts",))
    result = solve(dataset, strategy)
    assert result.status == "optimal"
    assert len(result.scenarios) == 3
    assert result.scenarios["probability"].to_list() == pytest.approx([0.8, 0.1, 0.1])
    assert result.objective == pytest.approx(2650.0)
    bought = result.plan.groupby(["route", "period"])["tonnes"].sum().to_dict()
    assert bought == pytest.approx({("A → HA → M", 2030): 20.0})
    assert result.stock.set_index("period")["stock_t"].to_dict() == pytest.approx(
        {2030: 10.0, 2031: 0.0})
    assert result.metrics["expected_shortfall_t"] == pytest.approx(0.0, abs=1e-9)
    # Without scenarios the plan buys B→HP in both years and holds nothing: replayed, it loses
    # both years' 10 t when P acts from 2030 and 2031's 10 t when P acts from 2031.
    naive = solve(dataset, Strategy())
    assert naive.objective == pytest.approx(10 * 100 + 10 * 100)
    assert naive.metrics["expected_shortfall_t"] == pytest.approx(0.1 * 20 + 0.1 * 10)


def test_spot_market_covers_a_disruption_at_the_shock_price(tmp_path):
    """One period, "P acts" only (p = 0.1), spot up to 4 t at 2 × 100.

    The cheapest contract (B→HP at 100) loses everything when P acts: 4 t spot at 200 and 6 t
    short at 1000. Two-stage, with x1 on B→HP, x2 on B→HA (half lost) and x3 on A→HA: while
    the tonnes lost (x1 + 0.5·x2) stay within the 4 t of spot, a lost tonne costs 0.1 · 200,
    so B→HA costs 115 and B→HP 120 per tonne; beyond it B→HA costs 155 and A→HA (130) wins.
    Cost 1300 − 30·x1 − 25·x2 + 80 on x1 + 0.5·x2 = 4 is least at x2 = 8: 8 t on B→HA,
    2 t on A→HA, objective 840 + 260 + 80 = 1180."""
    tables = toy_tables()
    for row in tables["parameters"]:
        if row["name"] == "spot_limit_share":
            row["value"] = 0.4
    dataset = load_dataset(write_tables(tmp_path / "spot", tables))
    result = solve(dataset, Strategy(scenario_mode="exact", scenario_events=("P acts",)))
    assert result.objective == pytest.approx(1180.0)
    assert result.plan.groupby("route")["tonnes"].sum().to_dict() == pytest.approx(
        {"B → HA → M": 8.0, "A → HA → M": 2.0})
    cheapest = solve(dataset, Strategy())
    replay = cheapest.scenarios.set_index("scenario")
    assert replay.at["P acts from 2030", "spot_t"] == pytest.approx(4.0)
    assert replay.at["P acts from 2030", "shortfall_t"] == pytest.approx(6.0)
    assert replay.at["P acts from 2030", "recourse_cost_usd"] == pytest.approx(800 + 6000)


def test_exact_scenarios_solve_by_simplex_to_the_interior_point_optimum(shipped):
    """`simplex_suits`: exact-enumeration models keep the dual simplex past the row count
    where sampled ones switch to the interior point; both reach the same optimum."""
    from stibium.model.highs import IPM_ROW_THRESHOLD
    from stibium.model.solve import PersistentModel

    strategy = load_strategy("dependency-aware").with_changes(
        scenario_mode="exact", cvar_shortfall_limit=0.06)
    by_simplex = PersistentModel(shipped, strategy)
    assert by_simplex.solve() == "optimal"
    assert by_simplex._highs.getLp().num_row_ > IPM_ROW_THRESHOLD
    assert by_simplex._highs.getInfo().ipm_iteration_count == 0
    by_ipm = PersistentModel(shipped, strategy)
    by_ipm._hand_over()
    by_ipm._highs.setOptionValue("solver", "ipm")
    assert by_ipm.solve() == "optimal"
    assert by_ipm._highs.getInfo().ipm_iteration_count > 0
    assert by_simplex.result(evaluate_risk=False).objective == pytest.approx(
        by_ipm.result(evaluate_risk=False).objective, rel=1e-9)
    sampled = PersistentModel(shipped, strategy.with_changes(
        scenario_mode="sampled", scenario_samples=2000, scenario_seed=1))
    sampled._hand_over()
    assert sampled._highs.getOptionValue("solver")[-1] == "ipm"
