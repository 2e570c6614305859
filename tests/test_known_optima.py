"""Small cases solved by hand, each with a unique optimum: objective, plan and duals.

Unit costs on the toy data: A→HA 130, B→HP 100, B→HA 105 $/t; demand 10 t.
"""

from __future__ import annotations

import pytest

from stibium.model import Strategy, load_dataset, solve
from tests.conftest import toy_tables, write_tables


def tonnes_by_route(result) -> dict[str, float]:
    return result.plan.groupby("route")["tonnes"].sum().round(9).to_dict()


def dual(result, constraint: str, index: str) -> float:
    rows = result.duals[(result.duals["constraint"] == constraint)
                        & (result.duals["index"] == index)]
    assert len(rows) == 1, result.duals
    return float(rows["value"].iloc[0])


def test_no_caps_buys_the_cheapest_route(toy):
    result = solve(toy, Strategy(name="free"))
    assert result.status == "optimal"
    assert result.total_cost == pytest.approx(1000.0)
    assert tonnes_by_route(result) == {"B → HP → M": 10.0}
    # One more tonne of demand costs one more tonne on the cheapest route.
    assert dual(result, "demand_balance", "M / 2030") == pytest.approx(100.0)


def test_naive_cap_shifts_to_the_next_cheapest_route(toy):
    # Naive: only B→HP counts (processed in P). 2 t allowed there, 8 t on B→HA at 105.
    result = solve(toy, Strategy(exposure_mode="naive", exposure_caps={"P": 0.2}))
    assert result.total_cost == pytest.approx(2 * 100 + 8 * 105)
    assert tonnes_by_route(result) == {"B → HP → M": 2.0, "B → HA → M": 8.0}
    # Each tonne moved off B→HP costs 5; one percentage point of the cap is 0.1 t → $0.5.
    assert dual(result, "exposure_cap", "P / M / 2030") == pytest.approx(0.5)
    assert dual(result, "demand_balance", "M / 2030") == pytest.approx(105.0)


def test_dependency_aware_cap_counts_the_leveraged_origin(toy):
    # Aware: B→HP weight 1, B→HA weight L[P,B] = 0.5, A→HA 0. x1 + 0.5·x2 ≤ 2, Σx = 10.
    # Per unit of exposure B→HA saves 25/0.5 = 50 against A→HA, B→HP only 30 → x2 = 4, x3 = 6.
    result = solve(toy, Strategy(exposure_mode="dependency-aware", exposure_caps={"P": 0.2}))
    assert result.total_cost == pytest.approx(4 * 105 + 6 * 130)
    assert tonnes_by_route(result) == {"B → HA → M": 4.0, "A → HA → M": 6.0}
    # Exposure dual μ = −50 $/t of exposure; per percentage point (0.1 t): $5.
    assert dual(result, "exposure_cap", "P / M / 2030") == pytest.approx(5.0)
    assert dual(result, "demand_balance", "M / 2030") == pytest.approx(130.0)
    exposure = result.exposure.set_index("power")
    assert exposure.at["P", "effective"] == pytest.approx(0.2)
    assert exposure.at["P", "naive"] == pytest.approx(0.0)


def test_origin_availability_binds_with_its_shadow_price(tmp_path):
    tables = toy_tables()
    tables["origins"][1]["production_2025_t"] = 5
    result = solve(load_dataset(write_tables(tmp_path / "d", tables)), Strategy())
    assert result.total_cost == pytest.approx(5 * 100 + 5 * 130)
    assert tonnes_by_route(result) == {"B → HP → M": 5.0, "A → HA → M": 5.0}
    assert dual(result, "origin_availability", "B / 2030") == pytest.approx(30.0)


def test_origin_share_cap_and_its_dual(toy):
    # B capped at 30% of demand → 3 t from B (cheapest B→HP), 7 t from A.
    result = solve(toy, Strategy(origin_caps={"B": 0.3}))
    assert result.total_cost == pytest.approx(3 * 100 + 7 * 130)
    assert tonnes_by_route(result) == {"B → HP → M": 3.0, "A → HA → M": 7.0}
    assert dual(result, "origin_share", "B / M / 2030") == pytest.approx(3.0)


def test_unmet_demand_when_supply_runs_out(tmp_path):
    tables = toy_tables()
    for origin in tables["origins"]:
        origin["production_2025_t"] = 3
    result = solve(load_dataset(write_tables(tmp_path / "d", tables)), Strategy())
    assert result.metrics["unmet_t"] == pytest.approx(4.0)
    assert result.cost_breakdown["unmet_penalty"] == pytest.approx(4000.0)
    assert result.total_cost == pytest.approx(3 * 100 + 3 * 130 + 4000)


def test_yield_and_fee_enter_the_cost(tmp_path):
    tables = toy_tables()
    tables["hub_yields"][1]["recovery_yield"] = 0.8  # HP
    tables["hub_fees"][1]["fee_usd_per_t"] = 10
    # B→HP now 110 per tonne bought, 137.5 per tonne delivered: B→HA at 105 wins.
    result = solve(load_dataset(write_tables(tmp_path / "d", tables)), Strategy())
    assert tonnes_by_route(result) == {"B → HA → M": 10.0}
    assert result.total_cost == pytest.approx(1050.0)


def test_stockpile_buys_early_when_later_prices_rise(tmp_path):
    tables = toy_tables(periods=(2030, 2031))
    tables["prices"][1]["benchmark_usd_per_t"] = 200  # 2031: B→HP costs 200
    result = solve(load_dataset(write_tables(tmp_path / "d", tables)), Strategy())
    # Buying 2031's 10 t in 2030 costs 100 + holding 5 < 200.
    by_period = result.plan.groupby("period")["tonnes"].sum().to_dict()
    assert by_period == pytest.approx({2030: 20.0})
    assert result.cost_breakdown["holding"] == pytest.approx(50.0)
    assert result.total_cost == pytest.approx(2000 + 50)


def test_stock_target_holds_cover(toy):
    # 73 days of cover = 0.2 × 10 t held at the end of 2030, bought on the cheapest route.
    result = solve(toy, Strategy(stock_target_days=73))
    assert result.total_cost == pytest.approx(12 * 100 + 2 * 5)
    assert dual(result, "stock_target", "M / 2030") == pytest.approx(105.0)


def test_risk_budget_limits_the_risky_route(toy):
    # Risk = max(1 − wgi) of origin and hub country: A→HA 0.2, B→HP 0.7, B→HA 0.6.
    # Budget 0.4 average: B→HA (0.6) and A→HA (0.2) mix 50/50 is cheaper than B→HP mixes.
    result = solve(toy, Strategy(risk_budget=0.4))
    assert tonnes_by_route(result) == {"B → HA → M": 5.0, "A → HA → M": 5.0}
    assert result.total_cost == pytest.approx(5 * 105 + 5 * 130)


def test_risk_price_moves_to_the_safer_route(toy):
    # Risk charge 60 $/t per unit score: B→HP 100+42, B→HA 105+36, A→HA 130+12 → B→HA (141).
    result = solve(toy, Strategy(risk_price_usd_per_t=60))
    assert tonnes_by_route(result) == {"B → HA → M": 10.0}
    assert result.total_cost == pytest.approx(1050.0)
    assert result.objective == pytest.approx(1050.0 + 10 * 0.6 * 60)


def test_unmet_demand_never_fills_the_stockpile(tmp_path):
    """Stock can only come from deliveries: with 6 t of supply, 10 t of demand and a 1 t
    stock target (36.5 days of 10 t/yr), 1 t of the 6 goes to stock and 5 t of demand go
    unmet — not 4 t unmet with the stockpile conjured from nothing."""
    tables = toy_tables()
    for origin in tables["origins"]:
        origin["production_2025_t"] = 3
    dataset = load_dataset(write_tables(tmp_path / "d", tables))
    stocked = solve(dataset, Strategy(stock_target_days=36.5))
    assert stocked.stock["stock_t"].sum() == pytest.approx(1.0)
    assert stocked.metrics["unmet_t"] == pytest.approx(5.0)
    assert stocked.metrics["delivered_t"] == pytest.approx(6.0)
    # Hard demand leaves no room for the stock: infeasible.
    hard = Strategy(stock_target_days=36.5, max_unmet_share=0.4)
    assert solve(dataset, hard).status == "infeasible"


def test_max_unmet_share_makes_demand_hard(tmp_path):
    tables = toy_tables()
    for origin in tables["origins"]:
        origin["production_2025_t"] = 3
    dataset = load_dataset(write_tables(tmp_path / "d", tables))
    assert solve(dataset, Strategy(max_unmet_share=0.3)).status == "infeasible"
    assert solve(dataset, Strategy(max_unmet_share=0.4)).metrics["unmet_t"] == pytest.approx(4.0)
