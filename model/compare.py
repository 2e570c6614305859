"""Several strategies solved independently and set side by side."""

from __future__ import annotations

import math

import pandas as pd

from .data import Dataset
from .parallel import Progress, run_tasks
from .solve import SolveResult, solve
from .strategy import Strategy

HEADLINE_ORIGIN = "Tajikistan"
HEADLINE_EVENT = "Coordinated China-Russia pressure"


def compare(dataset: Dataset, strategies: list[Strategy], powers: list[str] | None = None, *,
            workers: int | None = None, scheduler: str | None = None,
            progress: Progress | None = None
            ) -> tuple[pd.DataFrame, dict[str, SolveResult]]:
    """Solve each strategy on its own (each a task: see
    :func:`stibium.model.parallel.run_tasks`); one KPI row per strategy.

    A strategy that fails is reported in its row and does not stop the others: status
    ``error`` when it does not fit the data (bad names, no open route), ``failed`` when the
    solve broke for another reason (the message names the exception); a strategy without an
    optimal plan has the solver's status and the explanation.
    """
    outcomes = run_tasks(solve, strategies, shared=dataset,
                         labels=[strategy.name for strategy in strategies], workers=workers,
                         scheduler=scheduler, progress=progress)
    results: dict[str, SolveResult] = {}
    rows = []
    for strategy, outcome in zip(strategies, outcomes, strict=True):
        row: dict[str, object] = {"strategy": strategy.name,
                                  "exposure_mode": strategy.exposure_mode}
        if not outcome.ok:
            if outcome.input_error:
                row.update(status="error", message=outcome.message)
            else:
                row.update(status="failed", message=outcome.error)
            rows.append(row)
            continue
        result = outcome.value
        results[strategy.name] = result
        row.update(status=result.status, message=result.message)
        if result.is_optimal:
            row.update(kpis(result, powers or list(result.exposure["power"])))
        rows.append(row)
    return pd.DataFrame(rows), results


def kpis(result: SolveResult, powers: list[str]) -> dict[str, float]:
    """One result's headline figures by name: costs, concentration, each power's cap and
    exposure, the headline origin's share, shortfall measures and stock cover."""
    m = result.metrics
    row: dict[str, float] = {
        "total_cost_usd": result.total_cost,
        "cost_per_t_usd": m["cost_per_t"],
        "unmet_t": m["unmet_t"],
        "naive_hhi": m["naive_hhi"],
        "effective_hhi": m["effective_hhi"],
        "hhi_wgi_t": m.get("hhi_wgi_t", math.nan),
        "geopolrisk": m.get("geopolrisk", math.nan),
    }
    for power in powers:
        row[f"{power} cap"] = _cap(result, power)
        row[f"{power} naive"] = m.get(f"exposure_naive:{power}", math.nan)
        row[f"{power} effective"] = m.get(f"exposure_effective:{power}", math.nan)
    row[f"{HEADLINE_ORIGIN} share"] = m.get(f"demand_share:{HEADLINE_ORIGIN}", 0.0)
    row.update({
        "expected_shortfall_t": m.get("expected_shortfall_t", math.nan),
        "cvar_shortfall_t": m.get("cvar_shortfall_t", math.nan),
        "worst_stress_shortfall_t": m.get("worst_stress_shortfall_t", math.nan),
        "stock_days_of_cover": m.get("stock_days_of_cover", math.nan),
    })
    stress = result.stress
    if len(stress) and HEADLINE_EVENT in set(stress["event"]):
        hit = stress.set_index("event").loc[HEADLINE_EVENT]
        row[f"shortfall under {HEADLINE_EVENT}_t"] = float(hit["shortfall_t"])
    return row


def _cap(result: SolveResult, power: str) -> float:
    exposure = result.exposure.set_index("power")
    return float(exposure.at[power, "cap"]) if power in exposure.index else math.nan


def plan_diff(results: dict[str, SolveResult], tolerance_t: float = 0.5) -> pd.DataFrame:
    """Tonnes bought per route and period under each strategy, only where they differ."""
    frames = []
    for name, result in results.items():
        if result.is_optimal and not result.plan.empty:
            frames.append(result.plan.groupby(["route", "period"])["tonnes"].sum().rename(name))
    if not frames:
        return pd.DataFrame(columns=["route", "period"])
    table = pd.concat(frames, axis=1).fillna(0.0)
    spread = table.max(axis=1) - table.min(axis=1)
    return table[spread > tolerance_t].reset_index().sort_values(["route", "period"],
                                                                  ignore_index=True)
