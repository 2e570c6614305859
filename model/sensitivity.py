"""Tornado sensitivity: every estimated figure swept to its low and its high value.

Each estimate in the data (``is_estimate = 1``, with its ``low``–``high`` range) is set to its
low and then its high value, one at a time, and the strategy re-solved; the tornado ranks them
by how far total cost (objective) and expected shortfall move. Figures that several rows share
(e.g. one benchmark price per year) are swept row by row, so each bar is one cited figure.

Every low and high solve is independent: they run as separate tasks (local processes by
default, or a Dask cluster; :mod:`stibium.model.parallel`), each on the base dataset with its
one figure changed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace

import pandas as pd

from .data import TABLES, Dataset
from .errors import StibiumInputError
from .instance import build_instance
from .parallel import Progress, run_tasks
from .solve import PersistentModel, SolveResult, WarmStart, solution_method, solve
from .strategy import Strategy

COLUMNS = ["table", "key", "column", "value", "low", "high", "cost_low", "cost_high",
           "shortfall_low", "shortfall_high", "cost_swing", "shortfall_swing", "status"]


def with_value(dataset: Dataset, table: str, row: int, value: float) -> Dataset:
    """A copy of the dataset with one estimated value changed (other tables shared)."""
    frame = dataset[table].copy()
    frame.loc[row, TABLES[table].value] = value
    tables = dict(dataset.tables)
    tables[table] = frame
    return replace(dataset, tables=tables,
                   fingerprint=f"{dataset.fingerprint}:{table}:{row}={value!r}")


def _within_horizon(dataset: Dataset, strategy: Strategy, estimates: pd.DataFrame
                    ) -> pd.DataFrame:
    """Drop figures of years outside the strategy's horizon: they cannot move its plan."""
    periods = dataset.periods
    first = strategy.first_period if strategy.first_period is not None else periods[0]
    last = strategy.last_period if strategy.last_period is not None else periods[-1]
    keep = []
    for estimate in estimates.itertuples(index=False):
        frame = dataset[estimate.table]
        period = frame.at[estimate.row, "period"] if "period" in frame.columns else None
        keep.append(period is None or first <= period <= last)
    return estimates[keep]


def _outcome(result: SolveResult) -> tuple[float, float]:
    if not result.is_optimal:
        return math.nan, math.nan
    return result.objective, result.metrics.get("expected_shortfall_t", math.nan)


Change = tuple[str, int, float]  # (table, row, value); None is the base case


def _solve_changed(shared: tuple[Dataset, Strategy, WarmStart | None], change: Change
                   ) -> tuple[str, float, float]:
    """One tornado solve: (status, objective, expected shortfall). Only these travel back,
    not the whole result (a plan, duals and scenario tables per solve). A changed figure
    moves coefficients, not rows, so HiGHS starts from the base case's basis."""
    dataset, strategy, warm_start = shared
    result = solve(with_value(dataset, *change), strategy, extras=False,
                   warm_start=warm_start)
    return (result.status, *_outcome(result))


def tornado(dataset: Dataset, strategy: Strategy, *, tables: Iterable[str] | None = None,
            progress: Progress | None = None, workers: int | None = None,
            scheduler: str | None = None) -> pd.DataFrame:
    """One row per estimated figure: cost and expected shortfall at its low and high value,
    sorted by the larger of the two swings (cost first).

    ``workers``/``scheduler`` choose where the solves run (see
    :func:`stibium.model.parallel.run_tasks`); ``progress(done, total)`` counts solves. A
    solve that fails on its input (the changed figure makes the data inconsistent) puts the
    message in its row's ``status``; one that fails otherwise puts ``failed: …`` there and is
    listed in ``attrs["failures"]``; the other solves go on.
    """
    estimates = dataset.estimates()
    if tables is not None:
        wanted = set(tables)
        unknown = wanted - set(TABLES)
        if unknown:
            raise StibiumInputError(f"unknown table '{sorted(unknown)[0]}' for sensitivity "
                                    f"(tables: {', '.join(TABLES)})")
        estimates = estimates[estimates["table"].isin(wanted)]
    estimates = _within_horizon(dataset, strategy, estimates)
    # A strategy that does not fit the data fails here, in one line, before any task runs.
    instance = build_instance(dataset, strategy)
    warm_start = None
    if solution_method(instance) == "decomposition":
        # Large scenario models: the variants are decomposed too, with no basis to share.
        base = solve(dataset, strategy, extras=False)
    else:
        base_model = PersistentModel(dataset, strategy, instance=instance)
        base_model.solve()
        base = base_model.result(extras=False)
        warm_start = base_model.warm_start()
    base_cost, base_shortfall = _outcome(base)
    changes: list[Change] = []
    labels = []
    for estimate in estimates.itertuples(index=False):
        for side in ("low", "high"):
            value = getattr(estimate, side)
            changes.append((estimate.table, estimate.row, value))
            labels.append(f"{estimate.table} {estimate.key} {estimate.column} = {value:g} "
                          f"({side})")
    sides = run_tasks(_solve_changed, changes,
                      shared=(dataset, strategy, warm_start), labels=labels,
                      workers=workers, scheduler=scheduler, progress=progress)
    failures = [o.describe() for o in sides if not o.ok and not o.input_error]
    rows = []
    for position, estimate in enumerate(estimates.itertuples(index=False)):
        values = {}
        status = "optimal"
        for side, outcome in zip(("low", "high"), sides[2 * position:2 * position + 2],
                                 strict=True):
            if not outcome.ok:
                values[side] = (math.nan, math.nan)
                status = outcome.message if outcome.input_error else f"failed: {outcome.error}"
                continue
            side_status, cost, shortfall = outcome.value
            values[side] = (cost, shortfall)
            if side_status != "optimal":
                status = side_status
        rows.append({
            "table": estimate.table, "key": estimate.key, "column": estimate.column,
            "value": estimate.value, "low": estimate.low, "high": estimate.high,
            "cost_low": values["low"][0], "cost_high": values["high"][0],
            "shortfall_low": values["low"][1], "shortfall_high": values["high"][1],
            "status": status,
        })
    frame = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("cost_swing",
                                                                        "shortfall_swing")])
    frame["cost_swing"] = (frame["cost_high"] - frame["cost_low"]).abs()
    frame["shortfall_swing"] = (frame["shortfall_high"] - frame["shortfall_low"]).abs()
    frame = frame.sort_values(["cost_swing", "shortfall_swing"], ascending=False,
                              kind="stable").reset_index(drop=True)
    frame.attrs["base_cost"] = base_cost
    frame.attrs["base_shortfall"] = base_shortfall
    frame.attrs["base_status"] = base.status
    frame.attrs["failures"] = failures
    return frame[COLUMNS]
