"""Efficient frontier: cost against one risk limit, swept on one persistent model.

The model is built once with the chosen limit at a value that does not bind; each point changes
that limit's right-hand sides in HiGHS and re-solves from the previous basis. Every point keeps
its optimum; infeasible points are reported and the sweep goes on; dominated points (another
point is no dearer and no riskier, one of them strictly) are flagged.

For the CVaR measures each point's cost and CVaR are read straight from HiGHS's solution
arrays, and its full report (plan, exposure, duals, scenario outcomes) is built the first time
``point.result`` is asked for: reports cost as much as the re-solves and a user looks at a few
points, not all. The other measures read the plan, so their reports are built at once.

Risk measures (``risk``):

- ``cvar``            CVaR_β of shortfall, as a share of horizon demand (two-stage model over
                      the strategy's scenarios; exact enumeration when it names none);
- ``cvar-cost``       CVaR_β of total cost, in dollars;
- ``exposure:<P>``    power P's exposure cap (share of demand per period), in the strategy's
                      exposure mode;
- ``origin:<O>``      origin O's share cap;
- ``risk-budget``     the demand-weighted average risk score.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
from pyomo.repn import generate_standard_repn

from .data import Dataset
from .errors import StrategyError
from .risk import conditional_value_at_risk
from .solve import PersistentModel, SolutionSnapshot, SolveResult
from .strategy import Strategy


@dataclass
class FrontierPoint:
    limit: float
    status: str
    objective: float = math.nan
    total_cost: float = math.nan
    achieved: float = math.nan
    dominated: bool = False
    _result: SolveResult | None = field(default=None, repr=False)
    _report: Callable[[], SolveResult] | None = field(default=None, repr=False)

    @property
    def result(self) -> SolveResult | None:
        """The point's full report (None without a plan), built on first use."""
        if self._result is None and self._report is not None:
            self._result, self._report = self._report(), None
        return self._result


@dataclass
class Frontier:
    """Cost against one risk limit: the measure swept, its unit and one point per limit."""

    risk: str
    unit: str
    points: list[FrontierPoint] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([{"limit": p.limit, "status": p.status, "objective": p.objective,
                              "total_cost": p.total_cost, "achieved": p.achieved,
                              "dominated": p.dominated} for p in self.points])


@dataclass
class _Measure:
    unit: str
    loose: Strategy
    rows: str
    scale: dict
    achieved: str


def _measure(dataset: Dataset, strategy: Strategy, risk: str) -> _Measure:
    kind, _, name = risk.partition(":")
    if kind == "cvar":
        mode = strategy.scenario_mode if strategy.scenario_mode != "none" else "exact"
        return _Measure("share of demand", strategy.with_changes(
            scenario_mode=mode, cvar_shortfall_limit=1.0), "cvar_shortfall_limit", {},
            "cvar_shortfall_share")
    if kind == "cvar-cost":
        mode = strategy.scenario_mode if strategy.scenario_mode != "none" else "exact"
        return _Measure("$", strategy.with_changes(scenario_mode=mode, cvar_cost_limit_usd=1e15),
                        "cvar_cost_limit", {}, "cvar_cost")
    if kind == "exposure":
        if name not in set(dataset["powers"]["power"]):
            raise StrategyError(f"--risk exposure:{name}: unknown power (known: "
                                f"{', '.join(dataset['powers']['power'])})")
        return _Measure("share of demand", strategy.with_changes(
            exposure_caps={**strategy.exposure_caps, name: 1.0}), "exposure_cap", {"node": name},
            f"exposure_{'naive' if strategy.exposure_mode == 'naive' else 'effective'}:{name}")
    if kind == "origin":
        if name not in set(dataset["origins"]["origin"]):
            raise StrategyError(f"--risk origin:{name}: unknown origin")
        return _Measure("share of demand", strategy.with_changes(
            origin_caps={**strategy.origin_caps, name: 1.0}), "origin_share", {"node": name},
            f"demand_share:{name}")
    if kind == "risk-budget":
        return _Measure("risk score", strategy.with_changes(risk_budget=1.0), "risk_budget", {},
                        "average_risk_score")
    raise StrategyError(f"--risk {risk}: use cvar, cvar-cost, exposure:<power>, "
                        f"origin:<origin> or risk-budget")


def _limit_rows(persistent: PersistentModel, measure: _Measure, limit: float) -> dict:
    """The ≤ rows of the swept limit and their new upper bounds at `limit`."""
    model, instance = persistent.model, persistent.instance
    component = getattr(model, measure.rows)
    total_demand = float(instance.demand.to_numpy().sum())
    if measure.rows == "cvar_shortfall_limit":
        return {component: limit * total_demand}
    if measure.rows == "cvar_cost_limit":
        return {component: limit}
    uppers = {}
    for index, row in component.items():
        node = index[0] if measure.rows != "risk_budget" else None
        if measure.scale.get("node") not in (None, node):
            continue
        market, period = index[-2], index[-1]
        uppers[row] = limit * float(instance.demand.at[market, period])
    return uppers


class _SolutionReader:
    """The plan's total cost and CVaR of one optimum, from HiGHS's primal values alone.

    Total cost is the first-stage cost expression as coefficients on the columns; a
    scenario's shortfall is its short tonnes plus the planned unmet demand, its cost the
    first-stage cost plus spot purchases and short tonnes at the penalty, as in
    `risk.outcomes_from_cells`; CVaR as in `risk.conditional_value_at_risk`."""

    def __init__(self, persistent: PersistentModel, measure: _Measure) -> None:
        model, instance = persistent.model, persistent.instance
        recourse = instance.recourse
        repn = generate_standard_repn(model.first_stage_cost.expr, quadratic=False)
        self.cost_columns = persistent.column_positions(repn.linear_vars)
        self.cost_coefficients = np.array(repn.linear_coefs, dtype=float)
        self.cost_constant = float(repn.constant)
        cells = list(model.OPEN)
        self.scenario_of_cell = np.array([cell[0] for cell in cells], dtype=int)
        self.short_columns = persistent.column_positions(model.short[cell] for cell in cells)
        self.spot_columns = persistent.column_positions(model.spot[cell] for cell in cells)
        self.unmet_columns = persistent.column_positions(model.unmet.values())
        period_of = {t: i for i, t in enumerate(instance.periods)}
        self.spot_price_of_cell = recourse.spot_price.to_numpy(dtype=float)[
            self.scenario_of_cell, [period_of[cell[2]] for cell in cells]]
        self.probability = np.asarray(recourse.probability, dtype=float)
        self.scenarios = len(self.probability)
        self.penalty = float(instance.unmet_penalty)
        self.beta = float(instance.cvar_beta)
        self.total_demand = float(instance.demand.to_numpy().sum())
        self.measure = measure

    @classmethod
    def for_measure(cls, persistent: PersistentModel, measure: _Measure
                    ) -> _SolutionReader | None:
        """A reader for the CVaR measures; None for the others, or when a variable the
        reader needs is not a column (the report path then reads the Pyomo model)."""
        if measure.rows not in ("cvar_shortfall_limit", "cvar_cost_limit"):
            return None
        reader = cls(persistent, measure)
        columns = (reader.cost_columns, reader.short_columns, reader.spot_columns,
                   reader.unmet_columns)
        return reader if all((c >= 0).all() for c in columns) else None

    def total_cost(self, values: np.ndarray) -> float:
        return float(self.cost_coefficients @ values[self.cost_columns] + self.cost_constant)

    def achieved(self, values: np.ndarray) -> float:
        short = np.maximum(values[self.short_columns], 0.0)
        if self.measure.rows == "cvar_shortfall_limit":
            planned_unmet = float(np.maximum(values[self.unmet_columns], 0.0).sum())
            loss = np.bincount(self.scenario_of_cell, weights=short,
                               minlength=self.scenarios) + planned_unmet
            cvar = conditional_value_at_risk(loss, self.probability, self.beta)
            return cvar / self.total_demand if self.total_demand else 0.0
        spot = np.maximum(values[self.spot_columns], 0.0)
        recourse = np.bincount(self.scenario_of_cell,
                               weights=spot * self.spot_price_of_cell + self.penalty * short,
                               minlength=self.scenarios)
        return conditional_value_at_risk(self.total_cost(values) + recourse, self.probability,
                                         self.beta)


def _report_later(persistent: PersistentModel, measure: _Measure, limit: float,
                  snapshot: SolutionSnapshot, evaluate_risk: bool) -> SolveResult:
    """One point's report after the sweep: its limit and optimum put back first."""
    persistent.set_upper(_limit_rows(persistent, measure, limit))
    persistent.restore(snapshot)
    return persistent.result(evaluate_risk=evaluate_risk)


def _least_achievable(persistent: PersistentModel, measure: _Measure,
                      reader: _SolutionReader | None) -> float:
    """The tight end of the default sweep: the least CVaR any plan reaches (found on the same
    model by pricing CVaR far above every cost for one solve), or zero for caps, which unmet
    demand can always meet."""
    if measure.rows not in ("cvar_shortfall_limit", "cvar_cost_limit"):
        return 0.0
    name = "shortfall" if measure.rows == "cvar_shortfall_limit" else "cost"
    model, instance = persistent.model, persistent.instance
    weight = 1e9 if name == "shortfall" else 1e3
    scale = weight / (1.0 - instance.cvar_beta)
    eta, excess = getattr(model, f"cvar_{name}_eta"), getattr(model, f"cvar_{name}_z")
    probability = instance.recourse.probability
    costs = [(eta, weight)] + [(excess[k], scale * float(probability[k])) for k in excess]
    persistent.add_costs(costs)
    status = persistent.solve(load=reader is None)
    if status != "optimal":
        least = 0.0
    elif reader is not None:
        least = reader.achieved(persistent.snapshot().col_value)
    else:
        least = float(persistent.result(evaluate_risk=False).metrics[measure.achieved])
    persistent.add_costs([(var, -cost) for var, cost in costs])
    # A hair above the minimum, so that the tightest point stays feasible numerically.
    return least * (1 + 1e-6)


def frontier(dataset: Dataset, strategy: Strategy, risk: str, points: int = 10,
             limits: list[float] | None = None, evaluate_risk: bool = False) -> Frontier:
    """Sweep one limit from loose to tight on one persistent model."""
    if limits is None and points < 2:
        raise StrategyError("a frontier needs at least 2 points")
    measure = _measure(dataset, strategy, risk)
    persistent = PersistentModel(dataset, measure.loose)
    reader = _SolutionReader.for_measure(persistent, measure)
    if persistent.solve(load=reader is None) != "optimal":
        raise StrategyError(f"strategy '{strategy.name}' has no optimal plan even with the "
                            f"{risk} limit relaxed ({persistent.status})")
    if limits is None:
        start = (reader.achieved(persistent.snapshot().col_value) if reader is not None else
                 _achieved(persistent.result(evaluate_risk=False), measure, strategy))
        if not math.isfinite(start):
            raise StrategyError(f"no {risk} level to start the frontier from")
        loose_basis = persistent.basis()
        least = _least_achievable(persistent, measure, reader)
        # The sweep starts at the loose end, where the first solve's basis is optimal; from the
        # least-achievable solve's basis it took ~2,000 simplex iterations to get back there.
        persistent.restore_basis(loose_basis)
        limits = list(np.linspace(start, least, points))
    result = Frontier(risk=risk, unit=measure.unit)
    loosest_infeasible = -math.inf
    for limit in limits:
        if limit <= loosest_infeasible:
            # A tighter limit than one without a plan has no plan either: no need to solve.
            result.points.append(FrontierPoint(limit=float(limit), status="infeasible"))
            continue
        persistent.set_upper(_limit_rows(persistent, measure, float(limit)))
        status = persistent.solve(load=reader is None)
        if status == "infeasible":
            loosest_infeasible = max(loosest_infeasible, float(limit))
        point = FrontierPoint(limit=float(limit), status=status)
        if status == "optimal" and reader is not None:
            snapshot = persistent.snapshot()
            point.objective = snapshot.objective
            point.total_cost = reader.total_cost(snapshot.col_value)
            point.achieved = reader.achieved(snapshot.col_value)
            point._report = partial(_report_later, persistent, measure, float(limit), snapshot,
                                    evaluate_risk)
        elif status == "optimal":
            solved = persistent.result(evaluate_risk=evaluate_risk)
            point._result = solved
            point.objective = solved.objective
            point.total_cost = solved.total_cost
            point.achieved = _achieved(solved, measure, strategy)
        result.points.append(point)
    _flag_dominated(result.points)
    return result


def _achieved(result: SolveResult, measure: _Measure, strategy: Strategy) -> float:
    if measure.rows == "exposure_cap":
        column = "naive_peak" if strategy.exposure_mode == "naive" else "effective_peak"
        return float(result.exposure.set_index("power").at[measure.scale["node"], column])
    return float(result.metrics.get(measure.achieved, math.nan))


def _flag_dominated(points: list[FrontierPoint]) -> None:
    solved = [p for p in points if p.status == "optimal"]
    tolerance = 1e-9
    for point in solved:
        point.dominated = any(
            other is not point
            and other.objective <= point.objective * (1 + tolerance)
            and other.achieved <= point.achieved + tolerance
            and (other.objective < point.objective * (1 - tolerance)
                 or other.achieved < point.achieved - tolerance)
            for other in solved)
