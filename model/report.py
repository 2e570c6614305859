"""One report: a solved model's plan, costs, metrics, scenario outcomes, risk, duals in domain
words and criticality, as plain data (`SolveResult`).

Both solution methods end here (`report`): the extensive LP with its own scenario rows, and
the decomposition, which loads its plan and its master's duals into the first-stage model and
hands over the scenario outcomes of its closed-form recourse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from . import criticality, families, metrics, risk
from .data import Dataset
from .diagnose import diagnose
from .highs import SolveStatus
from .instance import Instance, recourse_for
from .scenarios import enumerate_scenarios
from .strategy import Strategy

PLAN_COLUMNS = ["route", "origin", "hub", "market", "transit", "period", "tonnes",
                "delivered_t", "unit_cost_usd_per_t", "cost_usd"]
DUAL_TOLERANCE = 1e-6


@dataclass
class SolveResult:
    """The outcome of one optimisation, as plain data.

    ``total_cost`` is what the plan costs the buyer over the horizon, including unmet demand
    at its penalty: ``cost_breakdown`` sums to it exactly. ``objective`` adds the risk charge
    when the strategy prices risk.
    """

    status: str
    strategy: str
    total_cost: float = math.nan
    objective: float = math.nan
    cost_breakdown: dict[str, float] = field(default_factory=dict)
    plan: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PLAN_COLUMNS))
    unmet: pd.DataFrame = field(default_factory=pd.DataFrame)
    stock: pd.DataFrame = field(default_factory=pd.DataFrame)
    shares: pd.DataFrame = field(default_factory=pd.DataFrame)
    exposure: pd.DataFrame = field(default_factory=pd.DataFrame)
    duals: pd.DataFrame = field(default_factory=pd.DataFrame)
    scenarios: pd.DataFrame = field(default_factory=pd.DataFrame)
    stress: pd.DataFrame = field(default_factory=pd.DataFrame)
    criticality: pd.DataFrame = field(default_factory=pd.DataFrame)
    diagnosis: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    data_fingerprint: str = ""
    message: str = ""

    @property
    def is_optimal(self) -> bool:
        return self.status == "optimal"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the CLI's `--json` contract."""
        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            frame = frame.copy()
            for column in frame.columns:
                if frame[column].map(lambda v: isinstance(v, tuple)).any():
                    frame[column] = frame[column].map(list)
            return [{k: _jsonable(v) for k, v in row.items()}
                    for row in frame.to_dict(orient="records")]

        return {
            "status": self.status,
            "strategy": self.strategy,
            "total_cost": _jsonable(self.total_cost),
            "objective": _jsonable(self.objective),
            "cost_breakdown": {k: _jsonable(v) for k, v in self.cost_breakdown.items()},
            "plan": records(self.plan),
            "unmet": records(self.unmet),
            "stock": records(self.stock),
            "metrics": {k: _jsonable(v) for k, v in self.metrics.items()},
            "shares": records(self.shares),
            "exposure": records(self.exposure),
            "duals": records(self.duals),
            "scenarios": records(self.scenarios),
            "stress": records(self.stress),
            "criticality": records(self.criticality),
            "diagnosis": self.diagnosis,
            "timings": self.timings,
            "data_fingerprint": self.data_fingerprint,
            "message": self.message,
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return None
    return value


def explain_no_plan(result: SolveResult, dataset: Dataset, strategy: Strategy, status: str,
                    explain: bool, what: str = "solver status") -> None:
    """The message of a result without a plan: an infeasible strategy's diagnosis (when
    ``explain``), otherwise the status."""
    if SolveStatus(status).has_no_plan_because_infeasible and explain:
        diagnosis = diagnose(dataset, strategy)
        result.diagnosis = diagnosis.to_dict()
        result.message = diagnosis.summary()
    else:
        result.message = f"no optimal plan: {what} {status}"


@dataclass
class Solution:
    """A solved model as plain arrays, whichever method solved it: what `report` reads.

    ``buy`` is route × period tonnes (the instance's route and period order), ``stock`` and
    ``unmet`` market × period; ``duals`` maps (constraint family, row index) to the row's raw
    dual ($ per unit of its right-hand side); ``outcomes`` are the model's own scenario
    outcomes when it optimised over scenarios (None: a deterministic plan, replayed by the
    report); ``model_cvar`` the objective's own CVaR values by measure.
    """

    status: SolveStatus
    objective: float = math.nan
    buy: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    stock: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    unmet: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    duals: dict[tuple[str, tuple], float] = field(default_factory=dict)
    outcomes: risk.ScenarioOutcomes | None = None
    model_cvar: dict[str, float] = field(default_factory=dict)
    extra_metrics: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_model(cls, model: pyo.ConcreteModel, instance: Instance, status: str,
                   objective: float, outcomes: risk.ScenarioOutcomes | None = None
                   ) -> Solution:
        """The solution loaded in a Pyomo model (values in its variables, duals in
        ``model.dual``); its scenario outcomes are read from its own scenario rows unless
        given."""
        status = SolveStatus(status)
        if status != SolveStatus.OPTIMAL:
            return cls(status=status)
        periods, markets = list(instance.periods), instance.markets
        buy = np.array([[model.buy[r, t].value or 0.0 for t in periods]
                        for r in instance.routes.index], dtype=float)
        stock, unmet = (np.array([[variable[m, t].value or 0.0 for t in periods]
                                  for m in markets], dtype=float)
                        for variable in (model.stock, model.unmet))
        if outcomes is None and instance.recourse is not None:
            outcomes = risk.read_outcomes(model, instance, instance.recourse)
        return cls(status=status, objective=objective,
                   buy=buy.reshape(len(instance.routes), len(periods)),
                   stock=stock.reshape(len(markets), len(periods)),
                   unmet=unmet.reshape(len(markets), len(periods)),
                   duals=dual_values(model), outcomes=outcomes,
                   model_cvar=_model_cvar(model, instance))


def _model_cvar(model: pyo.ConcreteModel, instance: Instance) -> dict[str, float]:
    """η + Σ π_k z_k / (1 − β), the model's own CVaR expressions, from the values."""
    values = {}
    for measure in ("shortfall", "cost"):
        eta = getattr(model, f"cvar_{measure}_eta", None)
        if eta is not None:
            excess = getattr(model, f"cvar_{measure}_z")
            z = np.array([excess[k].value or 0.0 for k in model.SCENARIOS])
            probability = np.asarray(instance.recourse.probability, dtype=float)
            values[measure] = float((eta.value or 0.0)
                                    + probability @ z / (1.0 - instance.cvar_beta))
    return values


def report(dataset: Dataset, strategy: Strategy, instance: Instance, solution: Solution, *,
           evaluate_risk: bool = True, extras: bool = True,
           no_plan_reason: str = "solver status") -> SolveResult:
    """The `SolveResult` of a solution, whichever method found it: plan, costs, metrics,
    duals in domain words, scenario outcomes (the solution's own, or for a deterministic plan
    a replay on the exact enumeration of events), VaR/CVaR, named stresses and criticality.
    ``evaluate_risk`` and ``extras`` as in `solve.solve`."""
    result = SolveResult(status=SolveStatus(solution.status), strategy=strategy.name,
                         data_fingerprint=dataset.fingerprint)
    if solution.status != SolveStatus.OPTIMAL:
        explain_no_plan(result, dataset, strategy, solution.status,
                        explain=evaluate_risk and extras, what=no_plan_reason)
        return result
    fill_result(result, solution, instance)
    if evaluate_risk and extras:
        fill_criticality(result, dataset)
    if evaluate_risk or instance.recourse is not None:
        fill_risk(result, solution, instance, dataset, named_stresses=evaluate_risk and extras)
    for measure, value in solution.model_cvar.items():
        result.metrics[f"model_cvar_{measure}"] = value
    result.metrics.update(solution.extra_metrics)
    return result


def fill_result(result: SolveResult, solution: Solution, instance: Instance) -> None:
    result.plan = plan_table(solution.buy, instance)
    result.unmet = _market_period_table(solution.unmet, instance, "unmet_t")
    result.stock = _market_period_table(solution.stock, instance, "stock_t")
    breakdown = cost_breakdown(result.plan, result.unmet, result.stock, instance)
    result.cost_breakdown = breakdown
    result.total_cost = sum(breakdown.values())
    result.objective = solution.objective
    result.shares = metrics.origin_shares(result.plan, instance)
    result.exposure = metrics.exposure_table(result.plan, instance)
    result.duals = dual_table(solution.duals, instance)
    result.metrics = plan_metrics(result, instance)


def fill_criticality(result: SolveResult, dataset: Dataset) -> None:
    """The supply-risk indicators analysts know, on the plan and on world production."""
    panel = criticality.criticality_panel(result, dataset)
    result.criticality = panel
    plan = panel[panel["basis"] == "plan"].set_index("indicator")["value"]
    result.metrics["hhi_wgi_t"] = float(plan["HHI_WGI,t"])
    result.metrics["geopolrisk"] = float(plan["GeoPolRisk"])


def fill_risk(result: SolveResult, solution: Solution, instance: Instance,
              dataset: Dataset, named_stresses: bool = True) -> None:
    """Scenario outcomes (the solution's own when it optimised over scenarios, otherwise the
    plan replayed on the exact enumeration of events), VaR/CVaR, and the named stresses."""
    first_stage = None
    outcomes = solution.outcomes
    if outcomes is None:
        first_stage = risk.first_stage_of(result.plan, result.stock, result.unmet)
        scenarios = enumerate_scenarios(dataset, instance.periods)
        outcomes = risk.evaluate(instance, recourse_for(instance, scenarios), *first_stage)
    result.scenarios = outcomes.table.reset_index()
    result.metrics.update(risk.risk_metrics(outcomes, instance, result.total_cost, result.stock))
    if not named_stresses:
        return
    if first_stage is None:
        first_stage = risk.first_stage_of(result.plan, result.stock, result.unmet)
    result.stress = risk.named_stress_table(dataset, instance, *first_stage)
    result.metrics["worst_stress_shortfall_t"] = (float(result.stress["shortfall_t"].max())
                                                  if len(result.stress) else 0.0)


def plan_table(buy: np.ndarray, instance: Instance) -> pd.DataFrame:
    """The plan's rows: every route and period bought (``buy``, route × period tonnes), with
    what arrives and what it costs."""
    routes = instance.routes
    route_index, period_index = np.nonzero(buy > 1e-9)
    if not len(route_index):
        return pd.DataFrame(columns=PLAN_COLUMNS)
    periods = np.array(list(instance.periods))
    route = routes.index.to_numpy()[route_index].tolist()
    period = periods[period_index].tolist()
    tonnes = buy[route_index, period_index].astype(float)
    unit_cost, _, _ = instance.first_stage_coefficients()
    unit = unit_cost[route_index, period_index]
    attributes = {column: routes[column].to_numpy()[route_index].tolist()
                  for column in ("origin", "hub", "market", "transit")}
    yields = routes["recovery_yield"].to_numpy(dtype=float)[route_index]
    return pd.DataFrame({
        "route": route,
        **attributes,
        "period": period,
        "tonnes": tonnes,
        "delivered_t": tonnes * yields,
        "unit_cost_usd_per_t": unit,
        "cost_usd": tonnes * unit,
    }, columns=PLAN_COLUMNS)


def _market_period_table(values: np.ndarray, instance: Instance, column: str) -> pd.DataFrame:
    markets, periods = instance.markets, list(instance.periods)
    return pd.DataFrame({"market": np.repeat(markets, len(periods)).tolist(),
                         "period": periods * len(markets),
                         column: np.maximum(values.ravel(), 0.0)},
                        columns=["market", "period", column])


def cost_breakdown(plan: pd.DataFrame, unmet: pd.DataFrame, stock: pd.DataFrame,
                   instance: Instance) -> dict[str, float]:
    """Purchase, freight, processing, holding and unmet-demand penalty, in $ over the horizon."""
    routes = instance.routes
    tonnes = plan["tonnes"].to_numpy(dtype=float)
    # By position: pandas' label lookups cost more than the sums on a few dozen plan rows.
    rows = instance.purchase_price.index.get_indexer(plan["route"])
    columns = instance.purchase_price.columns.get_indexer(plan["period"])
    if len(plan) and (rows.min() < 0 or columns.min() < 0):
        raise KeyError("a plan row's route or period is not in this instance")
    prices = instance.purchase_price.to_numpy(dtype=float)[rows, columns]
    positions = instance.route_positions(plan["route"])
    freight = routes["freight_usd_per_t"].to_numpy(dtype=float)[positions]
    fee = routes["fee_usd_per_t"].to_numpy(dtype=float)[positions]
    return {
        "purchase": float(prices @ tonnes),
        "freight": float(freight @ tonnes),
        "processing": float(fee @ tonnes),
        "holding": float(instance.holding_cost * stock["stock_t"].sum()),
        "unmet_penalty": float(instance.unmet_penalty * unmet["unmet_t"].sum()),
    }


def plan_metrics(result: SolveResult, instance: Instance) -> dict[str, float]:
    plan = result.plan
    total_demand = float(instance.demand.to_numpy().sum())
    unmet = float(result.unmet["unmet_t"].sum())
    exposure = result.exposure.set_index("power")
    values: dict[str, float] = {
        "total_demand_t": total_demand,
        "delivered_t": float(plan["delivered_t"].sum()),
        "unmet_t": unmet,
        "unmet_share": unmet / total_demand if total_demand > 0 else 0.0,
        "cost_per_t": result.total_cost / total_demand if total_demand > 0 else math.nan,
        "naive_hhi": metrics.naive_hhi(plan, instance),
        "effective_hhi": metrics.effective_hhi(plan, instance),
        "average_risk_score": metrics.average_risk(plan, instance),
        "average_lead_time_days": metrics.average_lead_time(plan, instance),
        "final_stock_t": float(result.stock.loc[result.stock["period"] == instance.periods[-1],
                                                "stock_t"].sum()),
    }
    for power in exposure.index:
        values[f"exposure_naive:{power}"] = float(exposure.at[power, "naive"])
        values[f"exposure_effective:{power}"] = float(exposure.at[power, "effective"])
    for row in result.shares.itertuples(index=False):
        values[f"demand_share:{row.origin}"] = float(row.demand_share)
    return values


# --- duals in domain words -------------------------------------------------------------------

def _describe(family: str, index: tuple, instance: Instance) -> tuple[float, str, str]:
    """(scale, unit, meaning) turning a raw dual ($ per unit of the row's right-hand side) into
    the value of relaxing the limit by one domain unit: the family's own wording
    (`families.FAMILIES`)."""
    return families.family(family).describe(index, instance)


# Every family with a dual wording, user limits included (CVaR and unmet-demand limits too).
CONSTRAINT_FAMILIES = tuple(f.name for f in families.reported())


def dual_values(model: pyo.ConcreteModel) -> dict[tuple[str, tuple], float]:
    """The raw duals of every reported family's rows in ``model.dual``, by (family, index)."""
    values = {}
    for family in families.reported():
        for key, constraint in family.rows(model).items():
            dual = model.dual.get(constraint)
            if dual is not None:
                values[family.name, key] = float(dual)
    return values


def dual_table(duals: dict[tuple[str, tuple], float], instance: Instance) -> pd.DataFrame:
    """Binding limits and their shadow prices in domain words.

    ``value`` is the change in total cost (objective) per unit named in ``unit`` when the limit
    is relaxed: positive means relaxing saves that much; for demand it is what one more tonne
    costs. A limit over the whole horizon (a CVaR limit) has no index and no period (None).
    """
    rows = []
    for (family, key), dual in duals.items():
        if abs(dual) <= DUAL_TOLERANCE:
            continue
        scale, unit, meaning = _describe(family, key, instance)
        rows.append({
            "constraint": family,
            "index": " / ".join(str(k) for k in key),
            "period": key[-1] if key else None,
            "dual": float(dual),
            "value": float(dual) * scale,
            "unit": unit,
            "meaning": meaning,
        })
    frame = pd.DataFrame(rows, columns=["constraint", "index", "period", "dual", "value", "unit",
                                        "meaning"])
    if any(row["period"] is None for row in rows):
        # Years stay integers next to a horizon-wide row (pandas would turn them into floats).
        frame["period"] = pd.Series([row["period"] for row in rows], dtype=object)
    return frame.reset_index(drop=True)
