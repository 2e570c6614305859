"""Stress-test any plan — the optimiser's or one typed in by hand — against a named event or a
custom availability per country."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from .data import Dataset
from .errors import DataError
from .instance import Instance, build_instance
from .risk import StressResult, stress_plan, stress_scenario
from .solve import PLAN_COLUMNS, solve
from .strategy import Strategy

PLAN_FILE_COLUMNS = ("origin", "hub", "market", "period", "tonnes")


def read_plan_csv(source: str | Path | bytes, instance: Instance) -> pd.DataFrame:
    """A hand-typed plan: one row per route and period with the tonnes bought.

    Columns ``origin, hub, market, period, tonnes`` and optionally ``transit`` (countries
    separated by ';', needed only where two routes differ by transit alone).
    """
    name = Path(source).name if not isinstance(source, bytes) else "plan"
    try:
        raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError as exc:
        raise DataError(f"{source}: cannot be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{name}: not UTF-8 text") from None
    if not text.strip():
        raise DataError(f"{name}: file is empty (expected columns {','.join(PLAN_FILE_COLUMNS)})")
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{name}: not a valid CSV table ({str(exc).strip()})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    for column in PLAN_FILE_COLUMNS:
        if column not in frame.columns:
            raise DataError(f"{name}, column {column}: missing (expected columns "
                            f"{','.join(PLAN_FILE_COLUMNS)}[,transit])")
    routes = instance.routes
    rows = []
    for index, row in frame.iterrows():
        line = index + 2
        where = f"{name}, line {line}"
        try:
            period = int(float(row["period"]))
            tonnes = float(row["tonnes"])
        except ValueError:
            raise DataError(f"{where}: period and tonnes must be numbers "
                            f"(got {row['period']!r}, {row['tonnes']!r})") from None
        if not np.isfinite(tonnes) or tonnes < 0 or tonnes > 1e9:
            raise DataError(f"{name}, column tonnes, line {line}: {row['tonnes']!r} is not a "
                            f"tonnage between 0 and 1e9")
        if period not in instance.periods:
            raise DataError(f"{name}, column period, line {line}: {period} is outside the "
                            f"horizon {instance.periods[0]}–{instance.periods[-1]}")
        match = routes[(routes["origin"] == row["origin"].strip())
                       & (routes["hub"] == row["hub"].strip())
                       & (routes["market"] == row["market"].strip())]
        if "transit" in frame.columns and row["transit"].strip():
            transit = tuple(p.strip() for p in row["transit"].split(";") if p.strip())
            match = match[match["transit"] == transit]
        if match.empty:
            raise DataError(f"{where}: no open route {row['origin']} → {row['hub']} → "
                            f"{row['market']} in the data and strategy")
        if len(match) > 1:
            raise DataError(f"{where}: {row['origin']} → {row['hub']} → {row['market']} has "
                            f"several transit paths; add a transit column to choose one")
        route = match.index[0]
        unit_cost = float(instance.unit_cost.at[route, period])
        rows.append({"route": route, "origin": routes.at[route, "origin"],
                     "hub": routes.at[route, "hub"], "market": routes.at[route, "market"],
                     "transit": routes.at[route, "transit"], "period": period,
                     "tonnes": tonnes,
                     "delivered_t": tonnes * float(routes.at[route, "recovery_yield"]),
                     "unit_cost_usd_per_t": unit_cost, "cost_usd": tonnes * unit_cost})
    return pd.DataFrame(rows, columns=PLAN_COLUMNS)


def _nominal_unmet(plan: pd.DataFrame, instance: Instance) -> pd.DataFrame:
    delivered = plan.groupby(["market", "period"])["delivered_t"].sum()
    rows = [{"market": market, "period": t,
             "unmet_t": max(float(instance.demand.at[market, t])
                            - float(delivered.get((market, t), 0.0)), 0.0)}
            for market in instance.markets for t in instance.periods]
    return pd.DataFrame(rows, columns=["market", "period", "unmet_t"])


def stress_test(dataset: Dataset, strategy: Strategy, *, plan: pd.DataFrame | None = None,
                event: str | None = None, availability: dict[str, float] | None = None,
                onset: int | None = None, price_multiplier: float | None = None
                ) -> StressResult:
    """Replay a plan against one stress.

    Parameters
    ----------
    plan
        A plan table as returned by :func:`read_plan_csv`; without it, the strategy is solved
        and its optimal plan (with its stockpile) is stressed.
    event, availability
        Exactly one: a named event from ``events.csv`` at its central severity, or the
        fraction of supply that survives per country (1 where not given).
    onset
        The first year hit (default: the first year of the horizon).
    """
    instance = build_instance(dataset, strategy.with_changes(scenario_mode="none"))
    scenario = stress_scenario(dataset, instance.periods, event=event,
                               availability=availability, onset=onset,
                               price_multiplier=price_multiplier)
    if plan is None:
        result = solve(dataset, strategy)
        if not result.is_optimal:
            raise DataError(f"strategy '{strategy.name}' has no optimal plan to stress "
                            f"({result.status})")
        plan, stock, unmet, cost = result.plan, result.stock, result.unmet, result.total_cost
    else:
        stock = pd.DataFrame([{"market": m, "period": t, "stock_t": 0.0}
                              for m in instance.markets for t in instance.periods])
        unmet = _nominal_unmet(plan, instance)
        cost = float(plan["cost_usd"].sum()) + instance.unmet_penalty * float(
            unmet["unmet_t"].sum())
    return stress_plan(instance, scenario, plan, stock, unmet, cost)
