"""Efficient frontier: cost against one risk limit, swept on one persistent model.

The model is built once with the chosen limit at a value that does not bind; each point changes
that limit's right-hand sides in HiGHS and re-solves from the previous basis. Every point keeps
its optimum; infeasible points are reported and the sweep goes on; dominated points (another
point is no dearer and no riskier, one of them strictly) are flagged.

A frontier is plain data: each point carries its full report (plan, exposure, duals, scenario
outcomes, metrics) as a `SolveResult`, built right after its solve, and nothing of the model or
the solver, so a frontier pickles (the app caches it) and can be read in another process. The
table's cost and risk level are read from that report, so they are the figures of the one
scenario-outcome definition (`risk.outcomes_from_cells`). A report built on the swept model
costs a fraction of a re-solve; rebuilding the model later to report on a stored optimum cost
five to eight times one report (measured beside benchmarks/bench_frontier.py), and every
caller reads at least one point (the app shows the first, `stibium frontier --json` all).

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
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .data import Dataset
from .errors import StrategyError
from .solve import PersistentModel, SolveResult
from .strategy import Strategy


@dataclass
class FrontierPoint:
    """One limit of the sweep: its status and, when it has a plan, the plan's objective, total
    cost, the risk level it reaches (``achieved``, in the frontier's unit) and its full report
    (``result``, None without a plan)."""

    limit: float
    status: str
    objective: float = math.nan
    total_cost: float = math.nan
    achieved: float = math.nan
    dominated: bool = False
    result: SolveResult | None = field(default=None, repr=False)


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


def _least_achievable(persistent: PersistentModel, measure: _Measure) -> float:
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
    status = persistent.solve()
    least = (float(persistent.result(evaluate_risk=False).metrics[measure.achieved])
             if status == "optimal" else 0.0)
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
    if persistent.solve() != "optimal":
        raise StrategyError(f"strategy '{strategy.name}' has no optimal plan even with the "
                            f"{risk} limit relaxed ({persistent.status})")
    if limits is None:
        start = _achieved(persistent.result(evaluate_risk=False), measure, strategy)
        if not math.isfinite(start):
            raise StrategyError(f"no {risk} level to start the frontier from")
        loose_basis = persistent.basis()
        least = _least_achievable(persistent, measure)
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
        status = persistent.solve()
        if status == "infeasible":
            loosest_infeasible = max(loosest_infeasible, float(limit))
        point = FrontierPoint(limit=float(limit), status=status)
        if status == "optimal":
            solved = persistent.result(evaluate_risk=evaluate_risk)
            point.result = solved
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
