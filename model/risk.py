"""What a plan suffers in disruption scenarios: per-scenario outcomes, VaR/CVaR, stress tests.

A plan's first stage (contracts per route and period, the planned stockpile, planned unmet
demand) is fixed; in each scenario the buyer reacts as well as it can — draws on the
stockpile, buys on the spot market at the scenario's price up to the spot limit, and leaves the
rest short. The same second-stage rows as in the optimisation model are used, so an optimised
plan's outcomes equal the model's own and a hand-typed plan is judged by the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from .data import Dataset
from .errors import SolverError, StrategyError
from .highs import SolveStatus, coordinate_lp, highs_for, run
from .instance import Instance, Recourse, recourse_for
from .scenarios import ScenarioSet, custom_scenario, named_scenario, single_event_scenarios
from .second_stage import SecondStage

DAYS_PER_YEAR = 365.0


def value_at_risk(losses: np.ndarray, probability: np.ndarray, beta: float) -> float:
    """VaR_β: the smallest loss ℓ with P(loss ≤ ℓ) ≥ β."""
    order = np.argsort(losses, kind="stable")
    cumulative = np.cumsum(probability[order])
    position = int(np.searchsorted(cumulative, beta - 1e-12, side="left"))
    return float(losses[order][min(position, len(order) - 1)])


def tail_weights(losses: np.ndarray, probability: np.ndarray, beta: float) -> np.ndarray:
    """The weights w with CVaR_β = Σ w_k loss_k: probability / (1 − β) on the worst
    (1 − β) of probability mass, the scenario at the VaR taking the remainder."""
    order = np.argsort(-losses, kind="stable")
    mass = 1.0 - beta
    taken = np.cumsum(probability[order])
    before = taken - probability[order]
    share = np.clip(mass - before, 0.0, probability[order])
    weights = np.zeros(len(losses))
    weights[order] = share / mass
    return weights


def conditional_value_at_risk(losses: np.ndarray, probability: np.ndarray, beta: float
                              ) -> float:
    """CVaR_β: the expected loss in the worst (1 − β) of probability mass, the atom at VaR
    split as needed (Rockafellar–Uryasev's definition for discrete distributions)."""
    return float(tail_weights(losses, probability, beta) @ losses)


@dataclass
class ScenarioOutcomes:
    """Per-scenario results of one plan (a row per scenario) and per scenario-period detail."""

    table: pd.DataFrame
    detail: pd.DataFrame
    stock_marginal_value: float  # expected recourse saved per extra tonne of opening stock

    def shortfall(self) -> np.ndarray:
        return self.table["shortfall_t"].to_numpy()


def first_stage_of(plan: pd.DataFrame, stock: pd.DataFrame, unmet: pd.DataFrame
                   ) -> tuple[dict, dict, dict]:
    buy = plan.groupby(["route", "period"])["tonnes"].sum().to_dict()
    stocks = {(r.market, r.period): r.stock_t for r in stock.itertuples(index=False)}
    unmets = {(r.market, r.period): r.unmet_t for r in unmet.itertuples(index=False)}
    return buy, stocks, unmets


def read_outcomes(model: pyo.ConcreteModel, instance: Instance, recourse: Recourse
                  ) -> ScenarioOutcomes:
    """Per-scenario shortfall and costs from a solved model that has the second stage."""
    periods, markets = list(instance.periods), instance.markets
    open_cells = list(model.OPEN)
    market_index = {market: i for i, market in enumerate(markets)}
    period_index = {t: i for i, t in enumerate(periods)}
    cells = (np.array([cell[0] for cell in open_cells], dtype=int),
             np.array([market_index[cell[1]] for cell in open_cells], dtype=int),
             np.array([period_index[cell[2]] for cell in open_cells], dtype=int))
    # Before its onset a scenario holds the planned stock (see `second_stage`).
    planned_stock = np.array([[float(model.stock[market, t].value or 0.0)
                               for t in periods] for market in markets])
    planned_unmet = np.array([[max(float(pyo.value(model.unmet[market, t])), 0.0)
                               for t in periods] for market in markets])
    # The three variables and the balance rows are indexed by OPEN, in its order.
    dual = model.dual
    duals = [dual.get(row, 0.0) or 0.0 for row in model.scenario_balance.values()]
    return outcomes_from_cells(
        instance, recourse, float(pyo.value(model.first_stage_cost)), cells,
        [var.value or 0.0 for var in model.hold.values()],
        [var.value or 0.0 for var in model.spot.values()],
        [var.value or 0.0 for var in model.short.values()],
        duals, planned_stock, planned_unmet)


def outcomes_from_cells(instance: Instance, recourse: Recourse, first_stage: float,
                        cells: tuple[np.ndarray, np.ndarray, np.ndarray], hold, spot, short,
                        duals, planned_stock: np.ndarray, planned_unmet: np.ndarray
                        ) -> ScenarioOutcomes:
    """The outcome tables from the second stage's values on its open (scenario, market,
    period) cells, in row-major order (each scenario's cells from its onset on)."""
    periods, markets = list(instance.periods), instance.markets
    shape = (len(recourse.scenarios), len(markets), len(periods))

    def spread(values, before_onset: np.ndarray | float) -> np.ndarray:
        full = np.empty(shape)
        full[...] = before_onset
        full[cells] = np.asarray(values, dtype=float)
        return np.maximum(full, 0.0)

    held = spread(hold, planned_stock[None, :, :])
    spot, short = spread(spot, 0.0), spread(short, 0.0)
    planned_unmet = np.maximum(planned_unmet, 0.0)
    opening = np.concatenate([np.full(shape[:2] + (1,), instance.strategy.initial_stock_t),
                              held[:, :, :-1]], axis=2)
    draw = np.maximum(opening - held, 0.0)
    shortfall = short + planned_unmet[None, :, :]
    spot_cost = spot * recourse.spot_price.to_numpy()[:, None, :]
    recourse_cost = spot_cost.sum(axis=(1, 2)) + instance.unmet_penalty * short.sum(axis=(1, 2))
    table = pd.DataFrame({
        "scenario": recourse.scenarios.names,
        "probability": recourse.probability.astype(float),
        "price_multiplier": recourse.scenarios.price_multiplier.astype(float),
        "shortfall_t": shortfall.sum(axis=(1, 2)),
        "stock_draw_t": draw.sum(axis=(1, 2)),
        "spot_t": spot.sum(axis=(1, 2)),
        "spot_cost_usd": spot_cost.sum(axis=(1, 2)),
        "recourse_cost_usd": recourse_cost,
        "total_cost_usd": first_stage + recourse_cost,
    })
    table.index.name = "scenario_id"
    k, m, t = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), np.arange(shape[2]),
                          indexing="ij")
    detail = pd.DataFrame({
        "scenario": k.ravel(),
        "market": np.array(markets, dtype=object)[m.ravel()],
        "period": np.array(periods)[t.ravel()],
        "demand_t": instance.demand.to_numpy()[m.ravel(), t.ravel()],
        "stock_opening_t": opening.ravel(),
        "stock_draw_t": draw.ravel(),
        "spot_t": spot.ravel(),
        "shortfall_t": shortfall.ravel(),
    })
    # An extra tonne of stock at the start is carried to every scenario's onset, where it
    # lowers the first row of the scenario's own stock path: the duals of those rows, per
    # market, summed over scenarios (they carry the probabilities already).
    scenario, market, period = cells
    first = np.ones(len(scenario), dtype=bool)
    first[1:] = (scenario[1:] != scenario[:-1]) | (market[1:] != market[:-1])
    insurance = np.bincount(market[first], weights=np.asarray(duals, dtype=float)[first],
                            minlength=len(markets))
    return ScenarioOutcomes(table=table, detail=detail,
                            stock_marginal_value=float(np.mean(insurance)) if len(markets)
                            else 0.0)


def evaluate(instance: Instance, recourse: Recourse, buy: dict, stock: dict, unmet: dict
             ) -> ScenarioOutcomes:
    """Outcomes of a fixed first stage in every scenario of `recourse`: the second stage's
    recourse LP (`SecondStage.recourse_lp`) with the plan's deliveries as numbers, handed to
    HiGHS as arrays (every solve replays its plan on hundreds of scenarios)."""
    second_stage = SecondStage.of(instance, recourse)
    buy_array, stock_array, unmet_array = instance.plan_arrays(buy, stock, unmet)
    arriving = second_stage.arrivals(buy_array)
    planned_stock = second_stage.planned_stock(buy_array, unmet_array)
    first_stage = instance.first_stage_cost(buy_array, stock_array, unmet_array)
    lp = second_stage.recourse_lp(arriving, planned_stock, unmet_array)
    n = lp.size
    if n == 0:  # no scenario is ever disrupted: nothing to decide
        empty = np.zeros(0)
        return outcomes_from_cells(instance, recourse, first_stage, lp.cells, empty, empty,
                                   empty, empty, planned_stock, unmet_array)
    highs = highs_for(coordinate_lp(lp.cost, lp.upper, lp.rows, lp.cols, lp.values,
                                    lp.rhs, lp.rhs))
    status = run(highs)
    if status != SolveStatus.OPTIMAL:
        raise SolverError(f"evaluating the plan's scenarios failed: solver status {status}")
    solution = highs.getSolution()
    x = np.asarray(solution.col_value)
    return outcomes_from_cells(instance, recourse, first_stage, lp.cells, x[:n], x[n:2 * n],
                               x[2 * n:], np.asarray(solution.row_dual), planned_stock,
                               unmet_array)


def risk_metrics(outcomes: ScenarioOutcomes, instance: Instance, total_cost: float,
                 stock: pd.DataFrame) -> dict[str, float]:
    beta = instance.cvar_beta
    p = outcomes.table["probability"].to_numpy()
    shortfall = outcomes.shortfall()
    cost = outcomes.table["total_cost_usd"].to_numpy()
    total_demand = float(instance.demand.to_numpy().sum())
    annual_demand = total_demand / max(len(instance.periods), 1)
    average_stock = float(stock["stock_t"].sum()) / max(len(instance.periods), 1)
    return {
        "cvar_beta": beta,
        "expected_shortfall_t": float(p @ shortfall),
        "expected_shortfall_share": float(p @ shortfall) / total_demand if total_demand else 0.0,
        "var_shortfall_t": value_at_risk(shortfall, p, beta),
        "cvar_shortfall_t": conditional_value_at_risk(shortfall, p, beta),
        "cvar_shortfall_share": (conditional_value_at_risk(shortfall, p, beta) / total_demand
                                 if total_demand else 0.0),
        "expected_total_cost": float(p @ cost),
        "var_cost": value_at_risk(cost, p, beta),
        "cvar_cost": conditional_value_at_risk(cost, p, beta),
        "stock_days_of_cover": (average_stock / (annual_demand / DAYS_PER_YEAR)
                                if annual_demand else 0.0),
        "stock_marginal_value_usd_per_t": outcomes.stock_marginal_value,
        "scenario_count": float(len(outcomes.table)),
    }


def named_stress_table(dataset: Dataset, instance: Instance, buy: dict, stock: dict,
                       unmet: dict) -> pd.DataFrame:
    """Each named event alone, at its central severity from the first period, replayed on the
    plan."""
    scenarios = single_event_scenarios(dataset, instance.periods)
    outcomes = evaluate(instance, recourse_for(instance, scenarios), buy, stock, unmet)
    table = outcomes.table.drop(columns=["probability", "scenario"])
    table.insert(0, "event", list(scenarios.occurs.columns))
    table.insert(1, "onset", instance.periods[0])
    return table.sort_values("shortfall_t", ascending=False, kind="stable").reset_index(drop=True)


# --- stress tests of any plan ------------------------------------------------------------------

@dataclass
class StressResult:
    """A plan replayed against one stress: per period and in total, and what breaks first."""

    stress: str
    by_period: pd.DataFrame
    totals: dict[str, float] = field(default_factory=dict)
    first_break: dict[str, Any] = field(default_factory=dict)
    availability: pd.Series = field(default_factory=pd.Series)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stress": self.stress,
            "totals": self.totals,
            "first_break": self.first_break,
            "by_period": self.by_period.to_dict(orient="records"),
            "availability": {k: float(v) for k, v in self.availability.items() if v < 1.0},
        }


def stress_scenario(dataset: Dataset, periods: list[int], event: str | None = None,
                    availability: dict[str, float] | None = None, onset: int | None = None,
                    price_multiplier: float | None = None) -> ScenarioSet:
    """One stress: a named event or an availability per country, from the onset year (the
    first period when not given)."""
    if (event is None) == (availability is None):
        raise StrategyError("a stress needs exactly one of: a named event, or an availability "
                            "per country")
    start = 0
    if onset is not None:
        if onset not in periods:
            raise StrategyError(f"onset {onset} is outside the plan's periods "
                                f"{periods[0]}–{periods[-1]}")
        start = periods.index(onset)
    if event is not None:
        return named_scenario(dataset, event, periods, start)
    return custom_scenario(dataset, availability or {}, periods, start, price_multiplier)


def stress_plan(instance: Instance, scenario: ScenarioSet, plan: pd.DataFrame,
                stock: pd.DataFrame, unmet: pd.DataFrame, nominal_cost: float) -> StressResult:
    """Replay a plan against one scenario: surviving supply, shortfall, cost uplift, and the
    first limit that breaks (stockpile exhausted, spot limit reached, demand unmet)."""
    recourse = recourse_for(instance, scenario)
    buy, stocks, unmets = first_stage_of(plan, stock, unmet)
    outcomes = evaluate(instance, recourse, buy, stocks, unmets)
    survival = recourse.survival.loc[0]
    planned = plan.groupby("period")["delivered_t"].sum().reindex(instance.periods,
                                                                   fill_value=0.0)
    disrupted = recourse.disrupted.loc[0]
    factor = np.where(plan["period"].map(disrupted).to_numpy(dtype=bool),
                      plan["route"].map(survival).to_numpy(dtype=float), 1.0)
    surviving = (plan["delivered_t"] * factor).groupby(plan["period"]).sum() \
        .reindex(instance.periods, fill_value=0.0)
    detail = outcomes.detail.groupby("period")[["demand_t", "stock_opening_t", "stock_draw_t",
                                                 "spot_t", "shortfall_t"]].sum()
    by_period = pd.DataFrame({
        "period": instance.periods,
        "demand_t": detail["demand_t"].reindex(instance.periods).to_numpy(),
        "planned_delivered_t": planned.to_numpy(),
        "surviving_t": surviving.to_numpy(),
        "stock_opening_t": detail["stock_opening_t"].reindex(instance.periods).to_numpy(),
        "stock_draw_t": detail["stock_draw_t"].reindex(instance.periods).to_numpy(),
        "spot_t": detail["spot_t"].reindex(instance.periods).to_numpy(),
        "shortfall_t": detail["shortfall_t"].reindex(instance.periods).to_numpy(),
    })
    row = outcomes.table.iloc[0]
    totals = {
        "planned_delivered_t": float(planned.sum()),
        "surviving_t": float(surviving.sum()),
        "surviving_share": float(surviving.sum() / planned.sum()) if planned.sum() > 0 else 1.0,
        "shortfall_t": float(row["shortfall_t"]),
        "spot_t": float(row["spot_t"]),
        "stock_draw_t": float(row["stock_draw_t"]),
        "spot_cost_usd": float(row["spot_cost_usd"]),
        "cost_uplift_usd": float(row["recourse_cost_usd"]),
        "cost_uplift_share": (float(row["recourse_cost_usd"]) / nominal_cost
                              if nominal_cost > 0 else 0.0),
    }
    return StressResult(stress=scenario.names[0], by_period=by_period, totals=totals,
                        first_break=_first_break(by_period, stock, recourse, instance),
                        availability=scenario.availability.loc[0])


def _first_break(by_period: pd.DataFrame, stock: pd.DataFrame, recourse: Recourse,
                 instance: Instance) -> dict[str, Any]:
    """The first limit the stress exhausts, walking the periods in order."""
    spot_limit = recourse.spot_limit.sum(axis=0)
    tolerance = 1e-6
    for row in by_period.itertuples(index=False):
        lost = row.planned_delivered_t - row.surviving_t
        if lost <= tolerance and row.shortfall_t <= tolerance:
            continue
        opening = row.stock_opening_t
        if opening > tolerance and row.stock_draw_t >= opening - tolerance:
            return {"period": int(row.period), "limit": "stockpile",
                    "text": f"the stockpile ({opening:,.0f} t) runs out in {row.period}"}
        limit = float(spot_limit[row.period])
        if row.spot_t > tolerance and row.spot_t >= limit - tolerance:
            return {"period": int(row.period), "limit": "spot limit",
                    "text": f"spot purchases hit their limit of {limit:,.0f} t in {row.period}"}
        if row.shortfall_t > tolerance:
            return {"period": int(row.period), "limit": "demand",
                    "text": f"{row.shortfall_t:,.0f} t of demand go unmet in {row.period}"}
    return {"period": None, "limit": None,
            "text": "nothing breaks: the plan absorbs this stress"}
