"""The decomposition (`model/decompose.py`): its closed-form recourse against the replay LP,
its duals as supporting hyperplanes, and its optimum against the extensive form's."""

from __future__ import annotations

import numpy as np
import pytest

from stibium.model import Strategy, StrategyError, load_dataset, load_strategy, solve
from stibium.model.decompose import solve_recourse, weighted_gradient
from stibium.model.instance import build_instance
from stibium.model.risk import conditional_value_at_risk, evaluate, tail_weights
from stibium.model.second_stage import SecondStage
from stibium.model.solve import DECOMPOSE_FROM_CELLS, solution_method
from tests.conftest import toy_tables, write_tables
from tests.test_cvar import cvar_by_sorting

RELATIVE = 1e-8


def two_market_toy(tmp_path):
    """The toy network with a second market (M2, fed by A and B through HA) over three
    periods whose benchmark price falls and rises (so the cheapest spot year is not the
    first), a spot market of 30% of demand and 4 t of initial stock."""
    periods = (2030, 2031, 2032)
    tables = toy_tables(periods=periods)
    tables["markets"].append({"market": "M2", "country": "A", "description": "second market"})
    tables["demand"] += [{"market": "M2", "period": t, "demand_t": 6} for t in periods]
    tables["prices"] = [{"period": t, "benchmark_usd_per_t": p}
                        for t, p in zip(periods, (100, 80, 120), strict=True)]
    tables["routes"] += [
        {"origin": "A", "hub": "HA", "market": "M2", "transit": "", "freight_usd_per_t": 12,
         "lead_time_days": 30},
        {"origin": "B", "hub": "HA", "market": "M2", "transit": "", "freight_usd_per_t": 7,
         "lead_time_days": 50},
    ]
    for origin in tables["origins"]:
        origin["production_2024_t"] = origin["production_2025_t"] = 200
    for row in tables["parameters"]:
        if row["name"] == "spot_limit_share":
            row["value"] = 0.3
    return load_dataset(write_tables(tmp_path / "two-markets", tables))


def arrays_for(dataset, strategy):
    instance = build_instance(dataset, strategy)
    return instance, SecondStage.of(instance)


def random_plan(instance, rng, scale: float):
    """A first stage with stock consistent with its deliveries (as a plan's balance rows make
    it), some planned unmet demand, and deliveries that leave gaps."""
    R, T, M = len(instance.routes), len(instance.periods), len(instance.markets)
    demand = instance.demand.to_numpy()
    buy = rng.uniform(0.0, scale, (R, T))
    unmet = rng.uniform(0.0, 0.1, (M, T)) * demand
    yields = instance.routes["recovery_yield"].to_numpy()
    market_of = instance.routes["market"].map({m: i for i, m in
                                               enumerate(instance.markets)}).to_numpy()
    stock = np.zeros((M, T))
    level = np.full(M, float(instance.strategy.initial_stock_t))
    for t in range(T):
        arrived = np.bincount(market_of, weights=buy[:, t] * yields, minlength=M)
        level = np.maximum(level + arrived + unmet[:, t] - demand[:, t], 0.0)
        stock[:, t] = level
    return buy, stock, unmet


def as_dicts(instance, buy, stock, unmet):
    routes, periods, markets = list(instance.routes.index), list(instance.periods), \
        instance.markets
    return ({(r, t): buy[i, j] for i, r in enumerate(routes) for j, t in enumerate(periods)},
            {(m, t): stock[i, j] for i, m in enumerate(markets) for j, t in enumerate(periods)},
            {(m, t): unmet[i, j] for i, m in enumerate(markets) for j, t in enumerate(periods)})


def check_against_replay(instance, arrays, plan):
    outcome = solve_recourse(arrays, *plan)
    replay = evaluate(instance, instance.recourse, *as_dicts(instance, *plan)).table
    planned_unmet = plan[2].sum()
    scale = max(1.0, float(replay["recourse_cost_usd"].abs().max()))
    np.testing.assert_allclose(outcome.cost, replay["recourse_cost_usd"], rtol=1e-9,
                               atol=1e-9 * scale)
    np.testing.assert_allclose(outcome.shortfall + planned_unmet, replay["shortfall_t"],
                               rtol=1e-9, atol=1e-7)
    np.testing.assert_allclose(outcome.spot.sum(axis=(1, 2)), replay["spot_t"], rtol=1e-9,
                               atol=1e-7)
    assert outcome.hold.min() >= 0.0


def test_closed_form_recourse_equals_the_replay_lp_on_the_shipped_data(shipped):
    strategy = load_strategy("dependency-aware").with_changes(
        last_period=2035, scenario_mode="sampled", scenario_samples=400, scenario_seed=3)
    instance, arrays = arrays_for(shipped, strategy)
    rng = np.random.default_rng(7)
    demand = float(instance.demand.to_numpy().mean())
    for scale in (0.02 * demand, 0.08 * demand):
        check_against_replay(instance, arrays, random_plan(instance, rng, scale))


def test_closed_form_recourse_equals_the_replay_lp_with_two_markets(tmp_path):
    dataset = two_market_toy(tmp_path)
    strategy = Strategy(scenario_mode="exact", initial_stock_t=4.0)
    instance, arrays = arrays_for(dataset, strategy)
    assert arrays.shape == (1 + 3 * 3, 2, 3)
    rng = np.random.default_rng(11)
    for scale in (2.0, 5.0, 9.0):
        check_against_replay(instance, arrays, random_plan(instance, rng, scale))


def test_hand_checked_recourse_with_a_cheap_later_spot_year(tmp_path):
    """P acts from 2030 (B→HP survives 0); market M buys 10 t/yr on B→HP only and holds no
    stock. Spot: 3 t/yr at 2 × (100, 80, 120). Requirements 10 t in each year; the cheapest
    source open to each year's requirement first: 2030 takes its 3 t of spot at 200 and 7 t
    short; 2031 its own 3 t at 160 and 7 t short; 2032 3 t at 240 and 7 t short. A tonne more
    arriving in 2032 saves a tonne short (the penalty 1000); the same holds in every year."""
    dataset = two_market_toy(tmp_path)
    instance, arrays = arrays_for(dataset, Strategy(scenario_mode="exact",
                                                    scenario_events=("P acts",)))
    routes = list(instance.routes.index)
    buy = np.zeros((len(routes), 3))
    buy[routes.index("B → HP → M")] = 10.0
    buy[routes.index("A → HA → M2")] = 6.0
    stock, unmet = np.zeros((2, 3)), np.zeros((2, 3))
    outcome = solve_recourse(arrays, buy, stock, unmet)
    names = instance.recourse.scenarios.names
    k = names.index("P acts from 2030")
    assert outcome.cost[k] == pytest.approx(3 * (200 + 160 + 240) + 21 * 1000)
    assert outcome.shortfall[k] == pytest.approx(21.0)
    assert outcome.spot[k, 0].tolist() == pytest.approx([3.0, 3.0, 3.0])
    assert outcome.cost_dual[k, 0].tolist() == pytest.approx([1000.0, 1000.0, 1000.0])
    # M2 is fed from A, which P does not touch: nothing to do there.
    assert outcome.spot[k, 1].sum() == 0.0 and outcome.cost_dual[k, 1].sum() == 0.0
    # With 18 t on A→HA in 2030 (8 t carried), 2030's unused spot serves later years: 2031
    # needs 2 t (2031's spot at 160); 2032 needs 10 t: the last 2031 tonne (160), 2030's 3 t
    # (200), 2032's 3 t (240) and 3 t short.
    buy[routes.index("A → HA → M")] = [18.0, 0.0, 0.0]
    outcome = solve_recourse(arrays, buy, stock, unmet)
    assert outcome.cost[k] == pytest.approx(3 * 160 + 3 * 200 + 3 * 240 + 3 * 1000)
    assert outcome.spot[k, 0].tolist() == pytest.approx([3.0, 3.0, 3.0])
    assert outcome.short[k, 0].tolist() == pytest.approx([0.0, 0.0, 3.0])
    assert outcome.hold[k, 0].tolist() == pytest.approx([11.0, 4.0, 0.0])
    # A tonne more in any year still saves a tonne short in 2032.
    assert outcome.cost_dual[k, 0].tolist() == pytest.approx([1000.0, 1000.0, 1000.0])
    # With 3 t more in 2032 nothing goes short; a further tonne in 2032 saves 2032's spot
    # (240), one in 2030 or 2031 saves the same (it displaces the dearest source used).
    buy[routes.index("A → HA → M")] = [18.0, 0.0, 3.0]
    outcome = solve_recourse(arrays, buy, stock, unmet)
    assert outcome.shortfall[k] == pytest.approx(0.0)
    assert outcome.cost_dual[k, 0].tolist() == pytest.approx([240.0, 240.0, 240.0])
    # With 6 t more in 2032, 2032's spot is not needed: the dearest source left is 2030's.
    buy[routes.index("A → HA → M")] = [18.0, 0.0, 6.0]
    outcome = solve_recourse(arrays, buy, stock, unmet)
    assert outcome.cost[k] == pytest.approx(3 * 160 + 3 * 200)
    assert outcome.cost_dual[k, 0].tolist() == pytest.approx([200.0, 200.0, 200.0])


def test_duals_give_supporting_hyperplanes(shipped, tmp_path):
    """Value functions are convex: at any other plan, each scenario's cost and shortfall lie
    on or above the hyperplane from the duals; and small moves follow it to first order."""
    rng = np.random.default_rng(5)
    cases = [arrays_for(shipped, load_strategy("dependency-aware").with_changes(
                 last_period=2032, scenario_mode="sampled", scenario_samples=300)),
             arrays_for(two_market_toy(tmp_path), Strategy(scenario_mode="exact",
                                                           initial_stock_t=4.0))]
    for instance, arrays in cases:
        scale = 0.05 * float(instance.demand.to_numpy().max())
        base = random_plan(instance, rng, scale)
        at = solve_recourse(arrays, *base)
        K = len(arrays.onset)
        for _ in range(5):
            other = random_plan(instance, rng, scale)
            there = solve_recourse(arrays, *other)
            for value, duals, here in ((at.cost, at.cost_dual, there.cost),
                                       (at.shortfall, at.short_dual, there.shortfall)):
                for k in rng.choice(K, size=min(K, 20), replace=False):
                    weights = np.zeros(K)
                    weights[k] = 1.0
                    g = weighted_gradient(arrays, duals, weights)
                    step = sum(float((d * (b - a)).sum()) for d, a, b in
                               ((g.buy, base[0], other[0]), (g.stock, base[1], other[1]),
                                (g.unmet, base[2], other[2])))
                    assert here[k] >= value[k] + step - 1e-6 * max(1.0, abs(value[k]))
        # First order: the probability-weighted cost along a random direction.
        g = weighted_gradient(arrays, at.cost_dual, arrays.probability)
        direction = [rng.normal(size=a.shape) for a in base]
        h = 1e-4
        moved = solve_recourse(arrays, *(a + h * d for a, d in zip(base, direction,
                                                                     strict=True)))
        slope = (arrays.probability @ moved.cost - arrays.probability @ at.cost) / h
        predicted = sum(float((gg * d).sum()) for gg, d in
                        zip((g.buy, g.stock, g.unmet), direction, strict=True))
        assert slope == pytest.approx(predicted, rel=1e-4, abs=1e-3)


def test_tail_weights_give_the_sorted_cvar():
    rng = np.random.default_rng(2)
    for beta in (0.5, 0.9, 0.95, 0.99):
        losses = np.round(rng.exponential(10.0, 200), 1)  # ties at the VaR
        probability = rng.dirichlet(np.ones(200))
        weights = tail_weights(losses, probability, beta)
        assert weights.sum() == pytest.approx(1.0)
        assert weights @ losses == pytest.approx(cvar_by_sorting(losses, probability, beta))
        assert weights @ losses == pytest.approx(
            conditional_value_at_risk(losses, probability, beta))


def test_hand_solved_two_stage_cases_decomposed(tmp_path):
    """test_cvar's two hand-solved cases (unique optima) give the same plans decomposed."""
    tables = toy_tables(periods=(2030, 2031))
    tables["ramp_ups"] = [{"node": "A", "kind": "origin", "period": 2031,
                           "capacity_factor": 0.0}]
    tables["events"][0]["probability"] = 0.2
    stockpile = load_dataset(write_tables(tmp_path / "two", tables))
    result = solve(stockpile, Strategy(scenario_mode="exact", scenario_events=("P acts",)),
                   method="decomposition")
    assert result.objective == pytest.approx(2650.0)
    bought = result.plan.groupby(["route", "period"])["tonnes"].sum().to_dict()
    assert bought == pytest.approx({("A → HA → M", 2030): 20.0})
    assert result.metrics["expected_shortfall_t"] == pytest.approx(0.0, abs=1e-9)

    tables = toy_tables()
    for row in tables["parameters"]:
        if row["name"] == "spot_limit_share":
            row["value"] = 0.4
    spot = load_dataset(write_tables(tmp_path / "spot", tables))
    result = solve(spot, Strategy(scenario_mode="exact", scenario_events=("P acts",)),
                   method="decomposition")
    assert result.objective == pytest.approx(1180.0)
    assert result.plan.groupby("route")["tonnes"].sum().to_dict() == pytest.approx(
        {"B → HA → M": 8.0, "A → HA → M": 2.0})


AWARE_EXACT = {"scenario_mode": "exact"}
CASES = {
    "expected cost": AWARE_EXACT,
    "shortfall CVaR priced": {**AWARE_EXACT, "cvar_shortfall_weight_usd_per_t": 1e5},
    "cost CVaR priced, beta 0.9": {**AWARE_EXACT, "cvar_cost_weight": 0.5, "cvar_beta": 0.9},
    "stock target, initial stock": {**AWARE_EXACT, "stock_target_days": 30,
                                    "initial_stock_t": 1500.0,
                                    "cvar_shortfall_weight_usd_per_t": 2e4},
    "sampled, 10 years": {"last_period": 2035, "scenario_mode": "sampled",
                          "scenario_samples": 1000, "scenario_seed": 1,
                          "cvar_shortfall_weight_usd_per_t": 50000},
}


@pytest.mark.parametrize("changes", CASES.values(), ids=CASES.keys())
def test_decomposition_reaches_the_extensive_optimum(shipped, changes):
    strategy = load_strategy("dependency-aware").with_changes(**changes)
    extensive = solve(shipped, strategy, method="extensive", extras=False)
    decomposed = solve(shipped, strategy, method="decomposition", extras=False)
    assert extensive.status == decomposed.status == "optimal"
    assert decomposed.objective == pytest.approx(extensive.objective, rel=RELATIVE)
    assert decomposed.metrics["decomposition_gap"] <= 1e-9
    # The reported objective is the plan's own, recomputed from its scenario table.
    table = decomposed.scenarios
    probability = table["probability"].to_numpy()
    instance = build_instance(shipped, strategy)
    beta = instance.cvar_beta
    recomputed = (decomposed.total_cost + probability @ table["recourse_cost_usd"].to_numpy()
                  + strategy.cvar_shortfall_weight_usd_per_t * cvar_by_sorting(
                      table["shortfall_t"].to_numpy(), probability, beta)
                  + strategy.cvar_cost_weight * cvar_by_sorting(
                      table["total_cost_usd"].to_numpy(), probability, beta))
    risk = instance.routes["risk_score"] * instance.routes["recovery_yield"]
    plan = decomposed.plan
    recomputed += strategy.risk_price_usd_per_t * float(
        (plan["route"].map(risk) * plan["tonnes"]).sum())
    assert decomposed.objective == pytest.approx(recomputed, rel=1e-9)
    for measure in ("shortfall", "cost"):
        key = f"model_cvar_{measure}"
        if key in extensive.metrics:
            assert decomposed.metrics[key] == pytest.approx(
                decomposed.metrics["cvar_shortfall_t" if measure == "shortfall"
                                   else "cvar_cost"], rel=1e-9)


@pytest.mark.parametrize("share", [0.9, 0.6])
def test_binding_cvar_limits_hold_and_match_decomposed(shipped, share):
    base = load_strategy("dependency-aware").with_changes(scenario_mode="exact")
    neutral = solve(shipped, base, extras=False)
    total_demand = neutral.metrics["total_demand_t"]
    limit = share * neutral.metrics["cvar_shortfall_t"] / total_demand
    strategy = base.with_changes(cvar_shortfall_limit=limit)
    extensive = solve(shipped, strategy, method="extensive", extras=False)
    decomposed = solve(shipped, strategy, method="decomposition", extras=False)
    assert decomposed.objective == pytest.approx(extensive.objective, rel=RELATIVE)
    assert decomposed.objective > neutral.objective
    table = decomposed.scenarios
    achieved = cvar_by_sorting(table["shortfall_t"].to_numpy(),
                               table["probability"].to_numpy(),
                               build_instance(shipped, strategy).cvar_beta)
    assert achieved <= limit * total_demand * (1.0 + 1e-8)


def test_tightening_the_cvar_limit_never_lowers_the_decomposed_cost(shipped):
    base = load_strategy("dependency-aware").with_changes(scenario_mode="exact")
    neutral = solve(shipped, base, extras=False)
    loosest = neutral.metrics["cvar_shortfall_t"] / neutral.metrics["total_demand_t"]
    costs = [solve(shipped, base.with_changes(cvar_shortfall_limit=share * loosest),
                   method="decomposition", extras=False).objective
             for share in (1.0, 0.85, 0.7)]
    assert costs == sorted(costs)
    assert costs[0] == pytest.approx(neutral.objective, rel=RELATIVE)


def test_an_unreachable_cvar_limit_is_reported_infeasible(shipped):
    strategy = load_strategy("dependency-aware").with_changes(
        scenario_mode="exact", cvar_shortfall_limit=0.0)
    result = solve(shipped, strategy, method="decomposition")
    assert result.status == "infeasible"
    extensive = solve(shipped, strategy, method="extensive")
    assert extensive.status == "infeasible"
    # The same explanation as the extensive form's (the diagnosis does not depend on the
    # method).
    assert result.message == extensive.message and "cvar" in result.message.lower()


def test_auto_takes_the_decomposition_for_large_models_only(shipped, tmp_path):
    aware = load_strategy("dependency-aware")
    large = build_instance(shipped, aware.with_changes(
        last_period=2035, scenario_mode="sampled", scenario_samples=10000))
    assert int(large.recourse.disrupted.to_numpy().sum()) >= DECOMPOSE_FROM_CELLS
    assert solution_method(large) == "decomposition"
    assert solution_method(large, "extensive") == "extensive"
    small = build_instance(shipped, aware.with_changes(scenario_mode="exact"))
    assert solution_method(small) == "extensive"
    assert solution_method(small, "decomposition") == "decomposition"
    with pytest.raises(StrategyError, match="needs disruption scenarios"):
        solution_method(build_instance(shipped, aware), "decomposition")
    with pytest.raises(StrategyError, match="unknown solution method"):
        solution_method(small, "benders")
    # A penalty below the dearest spot price makes going short the cheaper reaction, which
    # the closed form does not model: auto falls back to the extensive form.
    tables = toy_tables()
    for row in tables["parameters"]:
        if row["name"] == "unmet_demand_penalty_usd_per_t":
            row["value"] = 150
        if row["name"] == "spot_limit_share":
            row["value"] = 0.4
    cheap_shortfall = build_instance(load_dataset(write_tables(tmp_path / "p", tables)),
                                     Strategy(scenario_mode="exact"))
    assert solution_method(cheap_shortfall) == "extensive"
    with pytest.raises(StrategyError):
        solution_method(cheap_shortfall, "decomposition")


def test_cli_solve_method_flag(capsys):
    from stibium.cli import main

    assert main(["solve", "--strategy", "cheapest", "--method", "decomposition"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "decomposition needs disruption scenarios" in err[0]
    assert main(["solve", "--strategy", "min-cvar", "--method", "decomposition",
                 "--json"]) == 0


def test_a_tornado_of_a_decomposed_model_matches_the_extensive_one(shipped, monkeypatch):
    """With every two-stage model decomposed, the tornado's base and swings are the extensive
    form's. The penalty's low value (80,000 $/t) equals the dearest spot price (2 × 40,000),
    where the closed form does not apply: that variant falls back to the extensive form."""
    import importlib

    from stibium.model.sensitivity import tornado

    solve_module = importlib.import_module("stibium.model.solve")

    strategy = load_strategy("min-cvar")
    extensive = tornado(shipped, strategy, tables=["parameters"], workers=1)
    monkeypatch.setattr(solve_module, "DECOMPOSE_FROM_CELLS", 0)
    assert solution_method(build_instance(shipped, strategy)) == "decomposition"
    decomposed = tornado(shipped, strategy, tables=["parameters"], workers=1)
    assert decomposed.attrs["base_cost"] == pytest.approx(extensive.attrs["base_cost"],
                                                          rel=RELATIVE)
    assert list(decomposed["status"]) == list(extensive["status"])
    # Objectives only: where optima are not unique, the two methods may pick plans with
    # different expected shortfall at the same cost.
    for column in ("cost_low", "cost_high"):
        assert decomposed[column].to_numpy() == pytest.approx(
            extensive[column].to_numpy(), rel=RELATIVE), column
