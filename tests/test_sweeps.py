"""Frontier, sensitivity and comparison: each checked against separate fresh solves."""

from __future__ import annotations

import math
import pickle

import pandas as pd
import pytest

from stibium.model import Strategy, compare, load_dataset, load_strategy, solve
from stibium.model.compare import plan_diff
from stibium.model.frontier import FrontierPoint, _flag_dominated, frontier
from stibium.model.sensitivity import tornado
from tests.conftest import toy_tables, write_tables


def test_exposure_frontier_is_monotone_and_matches_fresh_solves(shipped):
    strategy = load_strategy("dependency-aware")
    result = frontier(shipped, strategy, "exposure:China", points=6)
    solved = [p for p in result.points if p.status == "optimal"]
    assert len(solved) == 6
    # Limits go from loose to tight: cost never falls as the limit tightens.
    for looser, tighter in zip(solved, solved[1:], strict=False):
        assert tighter.limit < looser.limit
        assert tighter.objective >= looser.objective * (1 - 1e-9)
    for point in solved[::2]:
        fresh = solve(shipped, strategy.with_changes(
            exposure_caps={**strategy.exposure_caps, "China": point.limit}), evaluate_risk=False)
        assert point.objective == pytest.approx(fresh.objective, rel=1e-8)
        assert point.result is not None and not point.result.plan.empty
        assert point.achieved <= point.limit + 1e-9


def test_cvar_frontier_reports_infeasible_points_and_goes_on(shipped):
    strategy = load_strategy("dependency-aware")
    limits = [0.07, 0.0, 0.05]
    result = frontier(shipped, strategy, "cvar", limits=limits)
    statuses = [p.status for p in result.points]
    assert statuses == ["optimal", "infeasible", "optimal"]
    for point in (result.points[0], result.points[2]):
        fresh = solve(shipped, strategy.with_changes(scenario_mode="exact",
                                                     cvar_shortfall_limit=point.limit))
        assert point.objective == pytest.approx(fresh.objective, rel=1e-8)
        assert point.achieved <= point.limit + 1e-7
    assert result.points[2].objective >= result.points[0].objective


@pytest.mark.parametrize("risk, metric", [("cvar", "cvar_shortfall_share"),
                                          ("cvar-cost", "cvar_cost")])
def test_cvar_frontier_rows_match_their_reports_and_survive_a_pickle(shipped, risk, metric):
    """Each point of a CVaR frontier carries the report built right after its solve; its table
    row is read from that report, the report has a fresh solve's optimum, and a pickled and
    restored frontier (the app's cache) gives the same reports (plan, duals, scenarios,
    metrics)."""
    strategy = load_strategy("dependency-aware").with_changes(scenario_mode="exact")
    result = frontier(shipped, strategy, risk, points=4)
    solved = [p for p in result.points if p.status == "optimal"]
    assert len(solved) == 4
    restored = [p for p in pickle.loads(pickle.dumps(result)).points if p.status == "optimal"]
    for point, copy in zip(solved, restored, strict=True):
        report = point.result
        assert copy.limit == point.limit
        for frame in ("plan", "unmet", "stock", "duals", "scenarios", "exposure"):
            pd.testing.assert_frame_equal(getattr(copy.result, frame), getattr(report, frame))
        assert copy.result.metrics == pytest.approx(report.metrics, rel=1e-12, nan_ok=True)
        assert report.objective == pytest.approx(point.objective, rel=1e-12)
        assert report.total_cost == pytest.approx(point.total_cost, rel=1e-12)
        assert report.metrics[metric] == pytest.approx(point.achieved, rel=1e-9)
        limits = {"cvar_shortfall_limit": point.limit} if risk == "cvar" else \
            {"cvar_cost_limit_usd": point.limit}
        fresh = solve(shipped, strategy.with_changes(**limits), evaluate_risk=False)
        assert report.objective == pytest.approx(fresh.objective, rel=1e-8)
    # The tightest point binds: its CVaR is at its limit.
    assert solved[-1].achieved == pytest.approx(solved[-1].limit, rel=1e-5)


def test_dominated_points_are_flagged():
    points = [FrontierPoint(limit=0.3, status="optimal", objective=100.0, achieved=0.3),
              FrontierPoint(limit=0.25, status="optimal", objective=110.0, achieved=0.31),
              FrontierPoint(limit=0.2, status="optimal", objective=120.0, achieved=0.2),
              FrontierPoint(limit=0.1, status="infeasible")]
    _flag_dominated(points)
    assert [p.dominated for p in points] == [False, True, False, False]


def test_unknown_risk_measure(shipped):
    from stibium.model import StrategyError

    with pytest.raises(StrategyError, match="unknown power"):
        frontier(shipped, load_strategy("cheapest"), "exposure:Atlantis")
    with pytest.raises(StrategyError, match="use cvar"):
        frontier(shipped, load_strategy("cheapest"), "beauty")


def test_tornado_by_hand(tmp_path):
    """Toy, no caps: the plan buys 10 t on B→HP at the benchmark price, so the price's range
    50–150 moves the cost from 500 to 1,500; the unused A→HA freight moves nothing."""
    tables = toy_tables()
    tables["prices"][0].update(is_estimate=1, low=50, high=150)
    tables["routes"][0].update(is_estimate=1, low=5, high=20)
    dataset = load_dataset(write_tables(tmp_path / "t", tables))
    table = tornado(dataset, Strategy())
    assert list(table["table"]) == ["prices", "routes"]
    prices = table.iloc[0]
    assert prices["cost_low"] == pytest.approx(500.0)
    assert prices["cost_high"] == pytest.approx(1500.0)
    assert prices["cost_swing"] == pytest.approx(1000.0)
    assert table.iloc[1]["cost_swing"] == pytest.approx(0.0)
    assert table.attrs["base_cost"] == pytest.approx(1000.0)


def test_comparison_kpis_equal_separate_solves(shipped):
    names = ["cheapest", "naive-diversified", "dependency-aware"]
    table, results = compare(shipped, [load_strategy(n) for n in names])
    for row in table.itertuples(index=False):
        alone = solve(shipped, load_strategy(row.strategy))
        assert row.total_cost_usd == pytest.approx(alone.total_cost, rel=1e-9)
        assert row.effective_hhi == pytest.approx(alone.metrics["effective_hhi"], rel=1e-6)
        assert row.expected_shortfall_t == pytest.approx(
            alone.metrics["expected_shortfall_t"], rel=1e-6, abs=1e-6)


def test_a_failing_strategy_does_not_stop_the_others(shipped):
    broken = Strategy(name="broken", origin_caps={"Atlantis": 0.1})
    table, results = compare(shipped, [broken, load_strategy("cheapest")])
    rows = table.set_index("strategy")
    assert rows.at["broken", "status"] == "error"
    assert "Atlantis" in rows.at["broken", "message"]
    assert rows.at["cheapest", "status"] == "optimal"
    assert math.isfinite(rows.at["cheapest", "total_cost_usd"])


def test_plan_diff_shows_only_differences(shipped):
    _, results = compare(shipped, [load_strategy("cheapest"), load_strategy("cheapest")
                                   .with_changes(name="again")])
    assert plan_diff(results).empty
    _, results = compare(shipped, [load_strategy("cheapest"), load_strategy("min-cvar")])
    diff = plan_diff(results)
    assert not diff.empty
    assert ((diff["cheapest"] - diff["min-cvar"]).abs() > 0.5).all()


def test_a_warm_started_solve_reaches_the_cold_optimum(shipped):
    """Sensitivity variants start HiGHS from the base case's basis: same optimum as a solve
    from scratch; a basis of another shape is ignored."""
    from stibium.model.sensitivity import with_value
    from stibium.model.solve import PersistentModel

    strategy = load_strategy("min-cvar").with_changes(first_period=2026, last_period=2028)
    base = PersistentModel(shipped, strategy)
    assert base.solve() == "optimal"
    warm = base.warm_start()
    assert warm is not None and len(warm.col_status) > 0
    price = shipped.estimates().query("table == 'prices'").iloc[0]
    changed = with_value(shipped, "prices", int(price["row"]), float(price["high"]))
    cold = solve(changed, strategy, evaluate_risk=False)
    started = solve(changed, strategy, evaluate_risk=False, warm_start=warm)
    assert cold.objective != pytest.approx(base.result(evaluate_risk=False).objective, rel=1e-6)
    assert started.objective == pytest.approx(cold.objective, rel=1e-9)
    other = solve(shipped, load_strategy("cheapest"), evaluate_risk=False, warm_start=warm)
    assert other.objective == pytest.approx(
        solve(shipped, load_strategy("cheapest"), evaluate_risk=False).objective, rel=1e-12)
