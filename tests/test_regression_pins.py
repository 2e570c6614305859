"""Regression pins: the figures the model core gives today, held while the core is rearranged.

What is pinned, and where each value comes from:

- the README's headline (``stibium compare naive-diversified dependency-aware min-cvar``), its
  figures in the prose around it and its worked example of a strategy with no feasible plan,
  each to the rounding the README prints;
- every shipped strategy's objective, total cost and the size of the LP handed to HiGHS
  (`STRATEGY_PINS`);
- the LP file of one small two-stage case (`tests/golden/toy_two_stage.lp`);
- that the extensive form and the decomposition agree on every shipped strategy with
  disruption scenarios: objective, plan, metrics and duals;
- that on one fixed plan the extensive LP's own scenario rows, the decomposition's closed-form
  recourse and the replay of the plan give the same loss in every scenario.

The values were measured on the code as it stood on 2026-12-02 (before issue 13's
consolidation), in the style of Temoa's legacy_test_values.py: when one changes, change it
here with a dated reason in the comment beside it.

Every import of an internal function is in the one block below, so that moving a module
changes one line here.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stibium.model import (
    Dataset,
    Instance,
    SolveResult,
    Strategy,
    build_instance,
    compare,
    load_dataset,
    load_strategy,
    shipped_strategies,
    solve,
    stress_test,
)

# --- internals: the only lines to change when the core moves ------------------------------
from stibium.model.build import build_model
from stibium.model.decompose import solve_recourse
from stibium.model.highs import standard_form_lp
from stibium.model.risk import evaluate, first_stage_of
from stibium.model.second_stage import SecondStage as RecourseArrays
from tests.conftest import toy_tables, write_tables

# --- pinned values -------------------------------------------------------------------------

# 2026-12-02: every shipped strategy solved with `solve(load_dataset(), load_strategy(name))`
# (HiGHS 1.16.0 through highspy, Pyomo 6.10.1) at commit 2813fe6. ``rows``, ``columns`` and
# ``nonzeros`` are the LP as HiGHS receives it: Pyomo's standard form of
# `build_model(build_instance(dataset, strategy))` (`solve.standard_form_lp`, mixed form, the
# same compilation `PersistentModel` hands over), whose row and column counts HiGHS's
# num_row/num_col repeat. When one changes, change it here with a dated reason.
STRATEGY_PINS: dict[str, dict[str, float]] = {
    "allies-only": {"objective": 5740149446.0, "total_cost": 5740149446.0,
                    "rows": 80, "columns": 50, "nonzeros": 174},
    "cheapest": {"objective": 2319166857.0, "total_cost": 2319166857.0,
                 "rows": 135, "columns": 165, "nonzeros": 479},
    "dependency-aware": {"objective": 2319365019.5406046, "total_cost": 2319365019.540605,
                         "rows": 225, "columns": 165, "nonzeros": 769},
    "min-cvar": {"objective": 3030585342.8645067, "total_cost": 2560238096.4374156,
                 "rows": 2771, "columns": 6522, "nonzeros": 50389},
    "naive-diversified": {"objective": 2319166857.0, "total_cost": 2319166857.0,
                          "rows": 225, "columns": 165, "nonzeros": 674},
    "stockpile-and-diversify": {"objective": 2618273336.8942037,
                                "total_cost": 2481015097.3494625,
                                "rows": 2140, "columns": 5885, "nonzeros": 44037},
}
OBJECTIVE_RTOL = 1e-7

HEADLINE_STRATEGIES = ("naive-diversified", "dependency-aware", "min-cvar")
COORDINATED = "shortfall under Coordinated China-Russia pressure_t"
# 2026-12-02: the README's headline table ("The headline on the shipped data"), as printed:
# (column of `compare`'s table, README figure, half the README's last printed digit in the
# column's unit). Dollars are printed in $ m to two decimals, shares in % to one decimal,
# tonnes and days to the unit. The naive problem has several equally cheap optima (the README
# says so), so its exposure, Tajikistan share and shortfalls are those of the vertex HiGHS
# picks: a change there at an unchanged objective is a change of vertex, which the README would
# then have to follow.
HEADLINE: dict[str, list[tuple[str, float, float]]] = {
    "naive-diversified": [
        ("total_cost_usd", 2319.17e6, 0.005e6),
        ("China naive", 0.072, 0.0005), ("China effective", 0.334, 0.0005),
        ("Russia effective", 0.346, 0.0005), ("Tajikistan share", 0.345, 0.0005),
        (COORDINATED, 9949, 0.5),
        ("expected_shortfall_t", 1636, 0.5), ("cvar_shortfall_t", 9398, 0.5),
        ("stock_days_of_cover", 0, 0.5),  # "none"
    ],
    "dependency-aware": [
        ("total_cost_usd", 2319.37e6, 0.005e6),
        ("China naive", 0.072, 0.0005), ("China effective", 0.300, 0.0005),
        ("Russia effective", 0.288, 0.0005), ("Tajikistan share", 0.289, 0.0005),
        (COORDINATED, 7768, 0.5),
        ("expected_shortfall_t", 1280, 0.5), ("cvar_shortfall_t", 7879, 0.5),
        ("stock_days_of_cover", 0, 0.5),  # "none"
    ],
    "min-cvar": [
        ("total_cost_usd", 2560.24e6, 0.005e6),
        ("China naive", 0.004, 0.0005), ("China effective", 0.235, 0.0005),
        ("Russia effective", 0.265, 0.0005), ("Tajikistan share", 0.286, 0.0005),
        (COORDINATED, 2169, 0.5),
        ("expected_shortfall_t", 116, 0.5), ("cvar_shortfall_t", 2302, 0.5),
        ("stock_days_of_cover", 103, 0.5),
    ],
}

# 2026-12-02: the README's example of an infeasible strategy ("When there is no feasible
# plan"): `hard.toml` is not shipped; its settings are those the README names (no unmet demand,
# Tajikistan ≤ 10%, China ≤ 10%) on the dependency-aware caps over ten years, 2026–2035 (the
# README's "and in 9 later years"), which reproduces every figure it quotes.
HARD_CHANGES = {"last_period": 2035, "max_unmet_share": 0.0,
                "origin_caps": {"Tajikistan": 0.1},
                "exposure_caps": {"China": 0.1, "Russia": 0.3}}
HARD_SUMMARY = "no feasible plan: raise the unmet-demand limit from 0% to 19.5%"
HARD_FINDING = ("in 2026 the China exposure cap of 10% leaves at most 6,588 t: 5,588 t of "
                "supply China cannot touch plus 10% of demand, below the 10,000 t that must be "
                "met (and in 9 later years)")
HARD_RELAXATION = ["raise the China exposure cap (dependency-aware) from 10% to 22%",
                   "raise the unmet-demand limit from 0% to 4.1%"]
HARD_CONFLICT_START = ["the China exposure cap (dependency-aware) (10%)",
                       "the unmet-demand limit (0%)",
                       "given exportable supply from Bolivia in 2026 (2,500 t)"]

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
GOLDEN_LP = GOLDEN_DIR / "toy_two_stage.lp"
UPDATE_GOLDEN = os.environ.get("STIBIUM_UPDATE_GOLDEN") == "1"

# The two solution methods stop at a relative gap of 1e-9; duals and tonnes are read from two
# different LPs (the extensive form and the final master), so they agree to solver precision.
METHOD_RTOL = 1e-6
TONNES_ATOL = 1e-6
# Per-scenario losses of one plan computed three ways: the same arithmetic up to the order of
# the sums and HiGHS's feasibility tolerance on the LP sides.
OUTCOME_RTOL = 1e-7
OUTCOME_ATOL_T = 1e-5


def scenario_strategies() -> list[str]:
    """The shipped strategies optimised over disruption scenarios (two-stage)."""
    return [name for name in shipped_strategies()
            if load_strategy(name).scenario_mode != "none"]


# --- fixtures: one solve per strategy and method ---------------------------------------------

@pytest.fixture(scope="module")
def dataset():
    return load_dataset()


@pytest.fixture(scope="module")
def headline(dataset):
    """`compare` on the README's three strategies, one process (what `stibium compare`
    prints)."""
    table, results = compare(dataset, [load_strategy(name) for name in HEADLINE_STRATEGIES],
                             workers=1)
    return table.set_index("strategy"), results


@pytest.fixture(scope="module")
def solved(dataset, headline):
    """Every shipped strategy's default solve (`compare`'s results reused where it has
    them)."""
    results = dict(headline[1])
    for name in shipped_strategies():
        if name not in results:
            results[name] = solve(dataset, load_strategy(name))
    return results


@pytest.fixture(scope="module", params=scenario_strategies())
def by_method(request, dataset):
    """(strategy, extensive, decomposed) for one two-stage shipped strategy."""
    strategy = load_strategy(request.param)
    extensive = solve(dataset, strategy, method="extensive")
    decomposed = solve(dataset, strategy, method="decomposition")
    assert extensive.status == decomposed.status == "optimal"
    return strategy, extensive, decomposed


# --- 1. the README's figures -----------------------------------------------------------------

def test_the_shipped_strategies_are_the_pinned_ones():
    """A strategy added or removed needs its pins added or removed."""
    assert sorted(shipped_strategies()) == sorted(STRATEGY_PINS)
    assert scenario_strategies() == ["min-cvar", "stockpile-and-diversify"]


@pytest.mark.parametrize("strategy", HEADLINE_STRATEGIES)
def test_readme_headline_table(headline, strategy):
    table, _ = headline
    row = table.loc[strategy]
    assert row["status"] == "optimal"
    misses = [f"{column}: README {figure}, now {row[column]}"
              for column, figure, tolerance in HEADLINE[strategy]
              if not abs(float(row[column]) - figure) <= tolerance]
    assert not misses, misses


def test_readme_headline_setting(headline):
    """"Both strategies cap China and Russia at 30% of demand and any one origin at 40%
    (2026–2030, 10,000 t/yr)"."""
    table, results = headline
    for name in ("naive-diversified", "dependency-aware"):
        assert table.loc[name, "China cap"] == pytest.approx(0.30)
        assert table.loc[name, "Russia cap"] == pytest.approx(0.30)
        strategy = load_strategy(name)
        assert strategy.origin_share_cap == pytest.approx(0.40)
        assert (strategy.first_period, strategy.last_period) == (2026, 2030)
        assert results[name].metrics["total_demand_t"] == pytest.approx(5 * 10_000)


def test_readme_headline_prose(headline):
    """The figures the README's text draws from the table."""
    table, _ = headline
    naive, aware, cvar = (table.loc[name] for name in HEADLINE_STRATEGIES)
    # "respecting the caps costs little ($0.2 m)"
    assert abs((aware["total_cost_usd"] - naive["total_cost_usd"]) / 1e6 - 0.2) <= 0.05
    # "Buying resilience against the worst 5% … costs 10% more" (than dependency-aware)
    assert abs(100 * (cvar["total_cost_usd"] / aware["total_cost_usd"] - 1) - 10) <= 0.5
    # "it loses about a quarter more supply than the dependency-aware plan": read as 20–30%.
    assert 1.20 <= naive[COORDINATED] / aware[COORDINATED] <= 1.30
    # "breaks both caps it believes it respects"
    assert naive["China effective"] > 0.30 and naive["Russia effective"] > 0.30
    assert naive["China naive"] <= 0.30 and naive["Russia naive"] <= 0.30
    # "a ~100-day stockpile"
    assert 90 <= cvar["stock_days_of_cover"] <= 110


def test_readme_infeasible_example(dataset):
    result = solve(dataset, load_strategy("dependency-aware").with_changes(**HARD_CHANGES))
    assert result.status == "infeasible"
    diagnosis = result.diagnosis
    assert diagnosis["summary"] == HARD_SUMMARY
    assert HARD_FINDING in diagnosis["findings"]
    assert [r["text"] for r in diagnosis["relaxation"]] == HARD_RELAXATION
    assert diagnosis["conflict"][:len(HARD_CONFLICT_START)] == HARD_CONFLICT_START


# --- 2. every shipped strategy: objective, cost, LP size ---------------------------------------

@pytest.mark.parametrize("name", sorted(STRATEGY_PINS))
def test_strategy_objective_and_cost(solved, name):
    result, pins = solved[name], STRATEGY_PINS[name]
    assert result.status == "optimal"
    assert result.objective == pytest.approx(pins["objective"], rel=OBJECTIVE_RTOL)
    assert result.total_cost == pytest.approx(pins["total_cost"], rel=OBJECTIVE_RTOL)


@pytest.mark.parametrize("name", sorted(STRATEGY_PINS))
def test_strategy_lp_size(dataset, name):
    form, lp = standard_form_lp(build_model(build_instance(dataset, load_strategy(name))))
    pins = STRATEGY_PINS[name]
    assert (len(form.rows), len(form.columns)) == (pins["rows"], pins["columns"])
    assert (lp.num_row_, lp.num_col_) == (pins["rows"], pins["columns"])
    assert int(lp.a_matrix_.start_[-1]) == pins["nonzeros"]


# --- 3. the golden LP file -------------------------------------------------------------------

def golden_case(folder: Path) -> tuple[Dataset, Strategy]:
    """The toy network of `tests/conftest.py` over two years with a spot market, and a
    strategy that uses every constraint family: origin share, risk budget, dependency-aware
    exposure cap, stock target, exact disruption scenarios and a priced CVaR of shortfall."""
    tables = toy_tables(periods=(2030, 2031))
    for row in tables["parameters"]:
        if row["name"] == "spot_limit_share":
            row["value"] = 0.2
    dataset = load_dataset(write_tables(folder / "toy", tables))
    strategy = Strategy(name="golden", exposure_mode="dependency-aware",
                        exposure_caps={"P": 0.5}, origin_share_cap=0.8, risk_budget=0.7,
                        stock_target_days=36.5, scenario_mode="exact",
                        cvar_shortfall_weight_usd_per_t=500.0)
    return dataset, strategy


def test_golden_lp_file(tmp_path):
    """The LP file of the golden case, written by Pyomo with symbolic names, equals
    `tests/golden/toy_two_stage.lp` line by line.

    Pyomo's LP writer is deterministic (same components, same order, same float repr), so the
    comparison is exact: a difference means the formulation, a coefficient's arithmetic or the
    order of rows and columns changed. If the change is intended (or Pyomo's writer changed),
    regenerate the file and commit it with the reason::

        STIBIUM_UPDATE_GOLDEN=1 python -m pytest -q tests/test_regression_pins.py -k golden
    """
    dataset, strategy = golden_case(tmp_path)
    written = tmp_path / "model.lp"
    build_model(build_instance(dataset, strategy)).write(
        str(written), io_options={"symbolic_solver_labels": True})
    text = written.read_text(encoding="utf-8")
    if UPDATE_GOLDEN:
        GOLDEN_DIR.mkdir(exist_ok=True)
        GOLDEN_LP.write_text(text, encoding="utf-8")
    expected = GOLDEN_LP.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(list(difflib.unified_diff(
            expected.splitlines(keepends=True), text.splitlines(keepends=True),
            fromfile="golden", tofile="now"))[:80])
        pytest.fail(f"the golden LP changed (STIBIUM_UPDATE_GOLDEN=1 to accept):\n{diff}")


def test_golden_case_is_a_two_stage_model_of_every_family():
    """The golden file holds every row family the builder defines for it (so a family that
    silently disappears from the model cannot pass), and stays small."""
    lines = GOLDEN_LP.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 400
    for family in ("origin_availability", "hub_capacity", "demand_balance", "stock_target",
                   "origin_share", "risk_budget", "exposure_cap", "arrivals_definition",
                   "scenario_balance", "cvar_shortfall_excess"):
        assert any(line.startswith(("c_u_" + family, "c_l_" + family, "c_e_" + family))
                   for line in lines), family


# --- 4. extensive form and decomposition agree --------------------------------------------------

# The expected value of one more tonne of opening stock is summed from the scenario rows' duals
# at each onset, and those are not unique where a scenario's cost has a kink in its opening
# stock (an optimal plan tends to sit at kinks): any slope between the two sides is a valid
# dual, and the closed form and HiGHS pick different ones. Measured 2026-12-02: the onset
# duals of 4 of min-cvar's 635 disrupted scenarios differ (3 for stockpile-and-diversify),
# finite differences of the closed-form cost in the planned stock show a kink at the plan in
# 2 of each, and the metric differs by 0.03% (184,039 against 183,977 $/t) and 1.3%. The
# decomposition alone reports its gap.
NOT_UNIQUE_METRICS = {"stock_marginal_value_usd_per_t", "decomposition_gap"}


def test_methods_agree_on_objective_and_plan(by_method):
    _, extensive, decomposed = by_method
    assert decomposed.objective == pytest.approx(extensive.objective, rel=METHOD_RTOL)
    assert decomposed.total_cost == pytest.approx(extensive.total_cost, rel=METHOD_RTOL)
    tonnes = pd.concat([result.plan.groupby(["route", "period"])["tonnes"].sum()
                        for result in (extensive, decomposed)], axis=1,
                       keys=["extensive", "decomposition"]).fillna(0.0)
    assert len(tonnes) > 0
    np.testing.assert_allclose(tonnes["decomposition"], tonnes["extensive"],
                               rtol=METHOD_RTOL, atol=TONNES_ATOL)
    for frame, column in (("stock", "stock_t"), ("unmet", "unmet_t")):
        np.testing.assert_allclose(getattr(decomposed, frame)[column],
                                   getattr(extensive, frame)[column],
                                   rtol=METHOD_RTOL, atol=TONNES_ATOL)


def test_methods_agree_on_metrics(by_method):
    _, extensive, decomposed = by_method
    keys = set(extensive.metrics) | set(decomposed.metrics)
    assert "decomposition_gap" in decomposed.metrics
    compared = sorted(keys - NOT_UNIQUE_METRICS)
    assert set(compared) <= set(extensive.metrics) & set(decomposed.metrics)
    assert "cvar_shortfall_t" in compared and "expected_shortfall_t" in compared
    misses = [f"{key}: extensive {extensive.metrics[key]}, decomposition "
              f"{decomposed.metrics[key]}" for key in compared
              if decomposed.metrics[key] != pytest.approx(extensive.metrics[key],
                                                           rel=METHOD_RTOL, abs=1e-6)]
    assert not misses, misses


def test_methods_agree_on_duals(by_method):
    """The first-stage rows' shadow prices: on both shipped two-stage strategies every binding
    row has the same dual in both methods (they are unique there; were a row degenerate, only
    the objective-weighted sum Σ dual · rhs would be comparable)."""
    _, extensive, decomposed = by_method
    keyed = [result.duals.set_index(["constraint", "index"])["value"]
             for result in (extensive, decomposed)]
    assert len(keyed[0]) > 0
    assert set(keyed[0].index) == set(keyed[1].index)
    both = pd.concat(keyed, axis=1, keys=["extensive", "decomposition"])
    np.testing.assert_allclose(both["decomposition"], both["extensive"], rtol=METHOD_RTOL,
                               atol=1e-6 * float(both["extensive"].abs().max()))


# --- 5. one plan, three second stages ------------------------------------------------------------

def plan_arrays(instance: Instance, result: SolveResult
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The result's first stage as the closed form's arrays: buy (R × T), stock and unmet
    (M × T), in the instance's route, market and period order."""
    routes, periods, markets = list(instance.routes.index), list(instance.periods), \
        instance.markets
    buy = (result.plan.groupby(["route", "period"])["tonnes"].sum().unstack()
           .reindex(index=routes, columns=periods).fillna(0.0).to_numpy(dtype=float))

    def grid(frame: pd.DataFrame, column: str) -> np.ndarray:
        return (frame.pivot(index="market", columns="period", values=column)
                .reindex(index=markets, columns=periods).fillna(0.0).to_numpy(dtype=float))

    return buy, grid(result.stock, "stock_t"), grid(result.unmet, "unmet_t")


def test_one_plan_same_losses_in_every_scenario(dataset, by_method):
    """The extensive LP's own scenario rows (a), the closed-form recourse (b) and the replay LP
    (c), on the plan the extensive form chose: the same shortfall and cost in every scenario.

    The split of a scenario's reaction over periods is not unique (a tonne short can be carried
    as stock), but its losses are: the penalty is above every spot price, so the least-cost
    reaction buys all the spot it can use and goes short for the rest."""
    strategy, extensive, _ = by_method
    instance = build_instance(dataset, strategy)
    own = extensive.scenarios  # (a)
    buy, stock, unmet = plan_arrays(instance, extensive)
    closed = solve_recourse(RecourseArrays.of(instance), buy, stock, unmet)  # (b)
    replay = evaluate(instance, instance.recourse,
                      *first_stage_of(extensive.plan, extensive.stock, extensive.unmet)).table
    assert list(replay["scenario"]) == list(own["scenario"])
    assert len(own) == len(closed.cost) > 100
    planned_unmet = float(unmet.sum())
    shortfall = {"extensive": own["shortfall_t"].to_numpy(),
                 "closed form": closed.shortfall + planned_unmet,
                 "replay": replay["shortfall_t"].to_numpy()}
    recourse = {"extensive": own["recourse_cost_usd"].to_numpy(),
                "closed form": closed.cost,
                "replay": replay["recourse_cost_usd"].to_numpy()}
    cost_scale = float(np.abs(recourse["extensive"]).max())
    assert cost_scale > 0 and shortfall["extensive"].max() > 0
    for way in ("closed form", "replay"):
        np.testing.assert_allclose(shortfall[way], shortfall["extensive"], rtol=OUTCOME_RTOL,
                                   atol=OUTCOME_ATOL_T, err_msg=way)
        np.testing.assert_allclose(recourse[way], recourse["extensive"], rtol=OUTCOME_RTOL,
                                   atol=OUTCOME_RTOL * cost_scale, err_msg=way)
    # The scenario's total is the plan's cost plus its recourse, in every source.
    np.testing.assert_allclose(own["total_cost_usd"], extensive.total_cost + recourse["extensive"],
                               rtol=OUTCOME_RTOL)
    np.testing.assert_allclose(replay["total_cost_usd"], own["total_cost_usd"],
                               rtol=OUTCOME_RTOL)


def test_named_stresses_equal_the_models_own_scenarios(by_method):
    """Each named stress (one event at its central severity from the first year, replayed on
    the plan) is one of the exact enumeration's scenarios, which the extensive LP solved with
    the plan: the same shortfall and recourse cost."""
    strategy, extensive, _ = by_method
    own = extensive.scenarios.set_index("scenario")
    stress = extensive.stress
    assert len(stress) > 0
    for row in stress.itertuples(index=False):
        name = f"{row.event} from {strategy.first_period}"
        assert name in own.index, name
        assert row.shortfall_t == pytest.approx(own.at[name, "shortfall_t"],
                                                rel=OUTCOME_RTOL, abs=OUTCOME_ATOL_T), name
        assert row.recourse_cost_usd == pytest.approx(
            own.at[name, "recourse_cost_usd"], rel=OUTCOME_RTOL, abs=1.0), name


def typed_plan_first_stage(instance: Instance, buy: np.ndarray
                           ) -> tuple[np.ndarray, np.ndarray]:
    """(stock, unmet) of a hand-typed plan as `stress_test(plan=...)` reads it: short by
    whatever a year's deliveries miss, holding whatever they exceed demand by."""
    demand = instance.demand.to_numpy(dtype=float)
    market_of = instance.routes["market"].map(
        {market: i for i, market in enumerate(instance.markets)}).to_numpy()
    yields = instance.routes["recovery_yield"].to_numpy(dtype=float)
    delivered = np.stack([np.bincount(market_of, weights=buy[:, t] * yields,
                                      minlength=len(instance.markets))
                          for t in range(buy.shape[1])], axis=1)
    unmet = np.maximum(demand - delivered, 0.0)
    stock = np.zeros_like(demand)
    level = np.full(len(instance.markets), float(instance.strategy.initial_stock_t))
    for t in range(demand.shape[1]):
        level = np.maximum(level + delivered[:, t] + unmet[:, t] - demand[:, t], 0.0)
        stock[:, t] = level
    return stock, unmet


@pytest.mark.parametrize("event", ["Coordinated China-Russia pressure", "China export ban"])
def test_stress_test_of_a_typed_plan_equals_the_closed_form(dataset, by_method, event):
    """`stress_test(plan=...)` (the replay of a hand-typed plan) against the closed-form
    recourse of the same first stage, in the exact enumeration's scenario of the event alone
    from the first year."""
    strategy, extensive, _ = by_method
    instance = build_instance(dataset, strategy)
    buy, _, _ = plan_arrays(instance, extensive)
    stock, unmet = typed_plan_first_stage(instance, buy)
    closed = solve_recourse(RecourseArrays.of(instance), buy, stock, unmet)
    k = instance.recourse.scenarios.names.index(f"{event} from {strategy.first_period}")
    stressed = stress_test(dataset, strategy, plan=extensive.plan, event=event).totals
    assert stressed["cost_uplift_usd"] > 0.0  # the event hits the plan
    assert stressed["shortfall_t"] == pytest.approx(closed.shortfall[k] + float(unmet.sum()),
                                                    rel=OUTCOME_RTOL, abs=OUTCOME_ATOL_T)
    assert stressed["cost_uplift_usd"] == pytest.approx(closed.cost[k], rel=OUTCOME_RTOL)
    assert stressed["spot_t"] == pytest.approx(float(closed.spot[k].sum()), rel=OUTCOME_RTOL,
                                               abs=OUTCOME_ATOL_T)
