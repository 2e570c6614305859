"""Stress-test any plan — the optimiser's or one typed in by hand — against a named event or a
custom availability per country."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO, TextIO

import numpy as np
import pandas as pd

from .data import Dataset
from .errors import DataError
from .instance import Instance, build_instance
from .parallel import Progress, TaskOutcome, run_tasks
from .report import PLAN_COLUMNS
from .risk import StressResult, stress_plan, stress_scenario
from .scenarios import ScenarioSet
from .solve import solve
from .strategy import Strategy

PLAN_FILE_COLUMNS = ("origin", "hub", "market", "period", "tonnes")


# What a plan may be read from: a path, the file's bytes, or an open file (text or binary).
PlanFile = str | os.PathLike[str] | bytes | BinaryIO | TextIO


def read_plan_csv(dataset: Dataset, strategy: Strategy, file: PlanFile) -> pd.DataFrame:
    """A hand-typed plan: one row per route and period with the tonnes bought.

    Columns ``origin, hub, market, period, tonnes`` and optionally ``transit`` (countries
    separated by ';', needed only where two routes differ by transit alone). Each row must
    name a route the data and strategy open, in a period of the strategy's horizon; the
    strategy without its scenarios and CVaR terms (:func:`plan_frame`) frames the plan, as
    it does when the plan is replayed.

    Parameters
    ----------
    file
        A path, the CSV file's bytes, or a file-like object (e.g. an upload) to read.

    Raises
    ------
    DataError
        One line naming the file, column and line of the first problem found.
    """
    name, raw = _plan_bytes(file)
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
    return _plan_on_routes(frame, name, build_instance(dataset, plan_frame(strategy)))


def _plan_bytes(file: PlanFile) -> tuple[str, bytes]:
    """(the name errors give the plan, its bytes)."""
    if isinstance(file, bytes | bytearray | memoryview):
        return "plan", bytes(file)
    if hasattr(file, "read"):
        content = file.read()
        name = getattr(file, "name", None)
        name = Path(name).name if isinstance(name, str) and name else "plan"
        return name, content.encode() if isinstance(content, str) else bytes(content)
    try:
        return Path(file).name, Path(file).read_bytes()
    except OSError as exc:
        raise DataError(f"{file}: cannot be read ({exc.strerror})") from None


def _plan_on_routes(frame: pd.DataFrame, name: str, instance: Instance) -> pd.DataFrame:
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


def plan_frame(strategy: Strategy) -> Strategy:
    """The strategy without its disruption scenarios and CVaR terms: the horizon, routes,
    demand, spot limit and CVaR level that frame a plan being replayed or evaluated.

    A replay needs no scenarios of the strategy's own, and dropping only the scenarios of a
    strategy that limits or prices CVaR (min-cvar) would be rejected as inconsistent.
    """
    return strategy.with_changes(scenario_mode="none", cvar_shortfall_limit=None,
                                 cvar_cost_limit_usd=None, cvar_shortfall_weight_usd_per_t=0.0,
                                 cvar_cost_weight=0.0)


def plan_to_replay(dataset: Dataset, strategy: Strategy, instance: Instance,
                   plan: pd.DataFrame | None, purpose: str = "stress"
                   ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, float]:
    """(plan, stock, unmet, cost) of the strategy's optimal plan (solved here) or of a
    hand-typed plan, which holds no stock and leaves short whatever it does not deliver."""
    if plan is None:
        result = solve(dataset, strategy)
        if not result.is_optimal:
            raise DataError(f"strategy '{strategy.name}' has no optimal plan to {purpose} "
                            f"({result.status})")
        return result.plan, result.stock, result.unmet, result.total_cost
    stock = pd.DataFrame([{"market": m, "period": t, "stock_t": 0.0}
                          for m in instance.markets for t in instance.periods])
    unmet = _nominal_unmet(plan, instance)
    cost = float(plan["cost_usd"].sum()) + instance.unmet_penalty * float(
        unmet["unmet_t"].sum())
    return plan, stock, unmet, cost


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
    instance = build_instance(dataset, plan_frame(strategy))
    scenario = stress_scenario(dataset, instance.periods, event=event,
                               availability=availability, onset=onset,
                               price_multiplier=price_multiplier)
    replayed = plan_to_replay(dataset, strategy, instance, plan)
    return stress_plan(instance, scenario, *replayed)


def _replay(shared: tuple[Instance, pd.DataFrame, pd.DataFrame, pd.DataFrame, float],
            scenario: ScenarioSet) -> StressResult:
    instance, plan, stock, unmet, cost = shared
    return stress_plan(instance, scenario, plan, stock, unmet, cost)


def stress_tests(dataset: Dataset, strategy: Strategy, events: list[str] | None = None, *,
                 plan: pd.DataFrame | None = None,
                 availability: dict[str, float] | None = None, onset: int | None = None,
                 price_multiplier: float | None = None, workers: int | None = None,
                 scheduler: str | None = None, progress: Progress | None = None
                 ) -> list[TaskOutcome[StressResult]]:
    """One plan replayed against several named events (or one availability per country), each
    replay a task (see :func:`stibium.model.parallel.run_tasks`).

    The strategy is solved once, here, and every stress is checked here too, so bad input
    fails at once with its message; a replay that fails is reported in its outcome, labelled
    with the event, and the others go on. Results equal :func:`stress_test`'s, one by one.
    """
    if (events is None) == (availability is None):
        raise DataError("a stress needs either named events or an availability per country")
    instance = build_instance(dataset, plan_frame(strategy))
    scenarios = ([stress_scenario(dataset, instance.periods, event=event, onset=onset)
                  for event in events] if events is not None else
                 [stress_scenario(dataset, instance.periods, availability=availability,
                                  onset=onset, price_multiplier=price_multiplier)])
    replayed = plan_to_replay(dataset, strategy, instance, plan)
    return run_tasks(_replay, scenarios, shared=(instance, *replayed),
                     labels=[scenario.names[0] for scenario in scenarios], workers=workers,
                     scheduler=scheduler, progress=progress)
