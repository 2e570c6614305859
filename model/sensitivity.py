"""Tornado sensitivity: every estimated figure swept to its low and its high value.

Each estimate in the data (``is_estimate = 1``, with its ``low``–``high`` range) is set to its
low and then its high value, one at a time, and the strategy re-solved; the tornado ranks them
by how far total cost (objective) and expected shortfall move. Figures that several rows share
(e.g. one benchmark price per year) are swept row by row, so each bar is one cited figure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import replace

import pandas as pd

from .data import TABLES, Dataset
from .errors import StibiumInputError
from .solve import SolveResult, solve
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


def tornado(dataset: Dataset, strategy: Strategy, *, tables: Iterable[str] | None = None,
            progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """One row per estimated figure: cost and expected shortfall at its low and high value,
    sorted by the larger of the two swings (cost first)."""
    estimates = dataset.estimates()
    if tables is not None:
        wanted = set(tables)
        unknown = wanted - set(TABLES)
        if unknown:
            raise StibiumInputError(f"unknown table '{sorted(unknown)[0]}' for sensitivity "
                                    f"(tables: {', '.join(TABLES)})")
        estimates = estimates[estimates["table"].isin(wanted)]
    estimates = _within_horizon(dataset, strategy, estimates)
    base_cost, base_shortfall = _outcome(solve(dataset, strategy))
    rows = []
    for position, estimate in enumerate(estimates.itertuples(index=False)):
        outcomes = {}
        status = "optimal"
        for side in ("low", "high"):
            changed = with_value(dataset, estimate.table, estimate.row, getattr(estimate, side))
            try:
                result = solve(changed, strategy)
            except StibiumInputError as exc:
                outcomes[side] = (math.nan, math.nan)
                status = str(exc)
                continue
            outcomes[side] = _outcome(result)
            if not result.is_optimal:
                status = result.status
        rows.append({
            "table": estimate.table, "key": estimate.key, "column": estimate.column,
            "value": estimate.value, "low": estimate.low, "high": estimate.high,
            "cost_low": outcomes["low"][0], "cost_high": outcomes["high"][0],
            "shortfall_low": outcomes["low"][1], "shortfall_high": outcomes["high"][1],
            "status": status,
        })
        if progress is not None:
            progress(position + 1, len(estimates))
    frame = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("cost_swing",
                                                                        "shortfall_swing")])
    frame["cost_swing"] = (frame["cost_high"] - frame["cost_low"]).abs()
    frame["shortfall_swing"] = (frame["shortfall_high"] - frame["shortfall_low"]).abs()
    frame = frame.sort_values(["cost_swing", "shortfall_swing"], ascending=False,
                              kind="stable").reset_index(drop=True)
    frame.attrs["base_cost"] = base_cost
    frame.attrs["base_shortfall"] = base_shortfall
    return frame[COLUMNS]
