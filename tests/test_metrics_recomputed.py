"""Every reported number recomputed from the returned plan and the raw CSV tables.

Nothing here calls Stibium's instance or metrics code: costs, shares, HHIs and exposures are
rebuilt with plain pandas from the files on disk and the plan the solver returned.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from stibium.model import load_strategy, solve

STRATEGIES = ["cheapest", "naive-diversified", "dependency-aware"]


def read(dataset, name: str) -> pd.DataFrame:
    return pd.read_csv(dataset.directory / f"{name}.csv", keep_default_na=False)


def leverage_by_hand(dataset) -> dict[tuple[str, str], float]:
    weights = read(dataset, "leverage_channels").set_index("channel")["weight"].to_dict()
    untouched: dict[tuple[str, str], float] = {}
    for row in read(dataset, "leverage_evidence").itertuples():
        key = (row.power, row.country)
        untouched[key] = untouched.get(key, 1.0) * (1 - weights[row.channel] * row.indicator)
    leverage = {key: 1 - value for key, value in untouched.items()}
    for power in read(dataset, "powers")["power"]:
        leverage[(power, power)] = 1.0
    return leverage


def route_weights(dataset, plan: pd.DataFrame) -> pd.DataFrame:
    origins = read(dataset, "origins").set_index("origin")["country"]
    hubs = read(dataset, "hubs").set_index("hub")["country"]
    leverage = leverage_by_hand(dataset)
    powers = list(read(dataset, "powers")["power"])
    rows = []
    for row in plan.itertuples():
        countries = {origins[row.origin], hubs[row.hub], *row.transit}
        entry = {}
        for p in powers:
            entry[f"naive:{p}"] = 1.0 if p in (origins[row.origin], hubs[row.hub]) else 0.0
            entry[f"aware:{p}"] = 1 - math.prod(1 - leverage.get((p, c), 0.0) for c in countries)
        rows.append(entry)
    return pd.DataFrame(rows, index=plan.index)


@pytest.fixture(scope="module", params=STRATEGIES)
def solved(request, shipped):
    strategy = load_strategy(request.param)
    result = solve(shipped, strategy)
    assert result.status == "optimal"
    return shipped, strategy, result


def test_total_cost_from_plan_and_raw_prices(solved):
    dataset, _, result = solved
    plan = result.plan
    benchmark = read(dataset, "prices").set_index("period")["benchmark_usd_per_t"]
    factor = read(dataset, "price_factors").set_index("origin")["price_factor"]
    fees = read(dataset, "hub_fees").set_index("hub")["fee_usd_per_t"]
    routes = read(dataset, "routes")
    routes["transit"] = routes["transit"].map(lambda v: tuple(p for p in v.split(";") if p))
    freight = {(r.origin, r.hub, r.market, r.transit): r.freight_usd_per_t
               for r in routes.itertuples()}
    params = read(dataset, "parameters").set_index("name")["value"]
    cost = 0.0
    for row in plan.itertuples():
        unit = (benchmark[row.period] * factor[row.origin] + fees[row.hub]
                + freight[(row.origin, row.hub, row.market, tuple(row.transit))])
        cost += unit * row.tonnes
    cost += params["holding_cost_usd_per_t_yr"] * result.stock["stock_t"].sum()
    cost += params["unmet_demand_penalty_usd_per_t"] * result.unmet["unmet_t"].sum()
    assert result.total_cost == pytest.approx(cost, rel=1e-9)
    assert sum(result.cost_breakdown.values()) == pytest.approx(result.total_cost, rel=1e-12)


def test_plan_respects_balance_supply_and_caps(solved):
    dataset, strategy, result = solved
    plan = result.plan
    yields = read(dataset, "hub_yields").set_index("hub")["recovery_yield"]
    assert np.allclose(plan["delivered_t"], plan["tonnes"] * plan["hub"].map(yields))
    demand = read(dataset, "demand").set_index(["market", "period"])["demand_t"]
    stock = result.stock.set_index(["market", "period"])["stock_t"]
    unmet = result.unmet.set_index(["market", "period"])["unmet_t"]
    previous = {}
    for (market, period), delivered in plan.groupby(["market", "period"])["delivered_t"].sum() \
            .reindex(unmet.index, fill_value=0.0).items():
        opening = previous.get(market, strategy.initial_stock_t)
        assert delivered + opening - stock[(market, period)] + unmet[(market, period)] == \
            pytest.approx(demand[(market, period)], abs=1e-6)
        previous[market] = stock[(market, period)]
    production = read(dataset, "origins").set_index("origin")["production_2025_t"]
    exportable = read(dataset, "exportable").set_index("origin")["exportable_share"]
    ramp = read(dataset, "ramp_ups")
    for (origin, period), bought in plan.groupby(["origin", "period"])["tonnes"].sum().items():
        factor = ramp[(ramp.node == origin) & (ramp.kind == "origin") & (ramp.period == period)]
        limit = production[origin] * exportable[origin] * (
            factor["capacity_factor"].iloc[0] if len(factor) else 1.0)
        assert bought <= limit + 1e-6
    if strategy.origin_share_cap is not None:
        by_origin = plan.groupby(["origin", "period"])["delivered_t"].sum()
        for (origin, period), delivered in by_origin.items():
            cap = strategy.origin_caps.get(origin, strategy.origin_share_cap)
            assert delivered <= cap * demand.groupby(level="period").sum()[period] + 1e-6


def test_shares_and_hhi_by_hand(solved):
    dataset, _, result = solved
    plan = result.plan
    origins = read(dataset, "origins").set_index("origin")["country"]
    by_country = plan.groupby(plan["origin"].map(origins))["delivered_t"].sum()
    shares = by_country / by_country.sum()
    assert result.metrics["naive_hhi"] == pytest.approx(float((10_000 * shares**2).sum()))
    demand_rows = read(dataset, "demand")
    demand = float(result.metrics["total_demand_t"])
    assert demand == pytest.approx(
        demand_rows[demand_rows["period"].isin(result.unmet["period"])]["demand_t"].sum())
    for origin, delivered in plan.groupby("origin")["delivered_t"].sum().items():
        if delivered > 1e-9:
            assert result.metrics[f"demand_share:{origin}"] == pytest.approx(delivered / demand)


def test_effective_hhi_by_hand(solved):
    dataset, _, result = solved
    plan = result.plan.reset_index(drop=True)
    weights = route_weights(dataset, plan)
    powers = list(read(dataset, "powers")["power"])
    origins = read(dataset, "origins").set_index("origin")["country"]
    owner: dict[str, float] = {}
    for i, row in plan.iterrows():
        w = np.array([weights.at[i, f"aware:{p}"] for p in powers])
        controlled = 1 - np.prod(1 - w)
        for p, wp in zip(powers, w, strict=True):
            if w.sum() > 0:
                owner[p] = owner.get(p, 0.0) + row.delivered_t * controlled * wp / w.sum()
        country = origins[row.origin]
        owner[country] = owner.get(country, 0.0) + row.delivered_t * (1 - controlled)
    tonnes = pd.Series(owner)
    expected = float((10_000 * (tonnes / tonnes.sum()) ** 2).sum())
    assert result.metrics["effective_hhi"] == pytest.approx(expected)


def test_exposure_naive_and_effective_by_hand(solved):
    dataset, _, result = solved
    plan = result.plan.reset_index(drop=True)
    weights = route_weights(dataset, plan)
    demand = float(result.metrics["total_demand_t"])
    for power in read(dataset, "powers")["power"]:
        naive = float((weights[f"naive:{power}"] * plan["delivered_t"]).sum()) / demand
        aware = float((weights[f"aware:{power}"] * plan["delivered_t"]).sum()) / demand
        assert result.metrics[f"exposure_naive:{power}"] == pytest.approx(naive, abs=1e-12)
        assert result.metrics[f"exposure_effective:{power}"] == pytest.approx(aware, abs=1e-12)


def test_caps_hold_in_their_own_terms(solved):
    """Each strategy's exposure caps hold per period in the mode it chose."""
    dataset, strategy, result = solved
    plan = result.plan.reset_index(drop=True)
    weights = route_weights(dataset, plan)
    prefix = "naive:" if strategy.exposure_mode == "naive" else "aware:"
    demand = read(dataset, "demand").groupby("period")["demand_t"].sum()
    for power, cap in strategy.exposure_caps.items():
        exposed = (weights[prefix + power] * plan["delivered_t"]).groupby(plan["period"]).sum()
        for period, tonnes in exposed.items():
            assert tonnes <= cap * demand[period] + 1e-6
