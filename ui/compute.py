"""Cached computations: pure functions of serialisable input, all through the model's API.

Every function takes plain values — the data folder, the edited tables as CSV bytes, the
strategy as TOML text — and returns plain data (datasets, results and frontiers are
dataclasses of pandas frames), so `st.cache_data` can key and copy them. A rerun with the
same inputs re-solves nothing. Input errors propagate as the model's
:class:`~stibium.model.StibiumInputError` and are never cached.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from stibium.model import (
    TABLES,
    Dataset,
    Frontier,
    SolverError,
    SolveResult,
    StibiumInputError,
    StressResult,
    bundle_zip,
    frontier,
    load_dataset,
    parse_strategy,
    read_plan_csv,
    solve,
    stress_tests,
)

Overrides = tuple[tuple[str, bytes], ...]

# Largest file a user may upload (Streamlit's own limit is set to 5 MB by `stibium app`).
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def check_upload(name: str, raw: bytes) -> None:
    """Refuse an uploaded file that is too large, before anything reads it."""
    if len(raw) > MAX_UPLOAD_BYTES:
        raise StibiumInputError(f"{name}: {len(raw) / 1e6:.1f} MB is too large (at most "
                                f"{MAX_UPLOAD_BYTES / 1e6:.0f} MB)")


def table_of_file(name: str) -> str:
    """The table an uploaded CSV replaces, from its file name (`prices.csv` → `prices`)."""
    stem = Path(name).name
    table = stem[:-4] if stem.lower().endswith(".csv") else stem
    if table not in TABLES:
        raise StibiumInputError(f"{stem}: not a Stibium data table (name the file after the "
                                f"table it replaces: {', '.join(s.file for s in TABLES.values())})")
    return table


@st.cache_data(show_spinner=False, max_entries=16)
def dataset(data_dir: str, overrides: Overrides) -> Dataset:
    """The validated dataset: the base folder with the edited tables swapped in (in memory;
    the loader checks them as it checks files, and its fingerprint covers them)."""
    return load_dataset(data_dir, tables=dict(overrides))


@st.cache_data(show_spinner=False, max_entries=128)
def solve_strategy(data_dir: str, overrides: Overrides, strategy_toml: str) -> SolveResult:
    """One strategy solved on one dataset (cached on the data and the strategy's TOML)."""
    data = dataset(data_dir, overrides)
    return solve(data, parse_strategy(strategy_toml, source="strategy"))


@st.cache_data(show_spinner=False, max_entries=32)
def run_frontier(data_dir: str, overrides: Overrides, strategy_toml: str, risk: str,
                 points: int, limits: tuple[float, ...] | None) -> Frontier:
    """Cost against one risk limit, swept on one persistent model."""
    data = dataset(data_dir, overrides)
    return frontier(data, parse_strategy(strategy_toml, source="strategy"), risk, points=points,
                    limits=list(limits) if limits else None)


@st.cache_data(show_spinner=False, max_entries=64)
def run_stress(data_dir: str, overrides: Overrides, strategy_toml: str, plan_csv: bytes | None,
               events: tuple[str, ...], availability: tuple[tuple[str, float], ...] | None,
               onset: int | None, price_multiplier: float | None) -> list[StressResult]:
    """A plan (the strategy's optimal one, or a hand-typed CSV) replayed against each named
    event, or against one availability per country."""
    data = dataset(data_dir, overrides)
    strategy = parse_strategy(strategy_toml, source="strategy")
    plan = None
    if plan_csv is not None:
        plan = read_plan_csv(data, strategy, plan_csv)
    # One solve of the strategy, then one replay per stress, in this process (the app's
    # replays take well under a second; a process pool would cost more to start).
    outcomes = stress_tests(data, strategy, None if availability is not None else list(events),
                            plan=plan,
                            availability=dict(availability) if availability is not None else None,
                            onset=onset, price_multiplier=price_multiplier, workers=1)
    failed = [outcome for outcome in outcomes if not outcome.ok]
    if failed:
        if failed[0].input_error:
            raise StibiumInputError(failed[0].describe())
        raise SolverError(failed[0].describe())
    return [outcome.value for outcome in outcomes]


@st.cache_data(show_spinner=False, max_entries=16)
def result_bundle(data_dir: str, overrides: Overrides, strategy_toml: str) -> bytes:
    """The reproducible bundle (workbook, JSON, LP, run record, strategy) as a zip."""
    data = dataset(data_dir, overrides)
    result = solve_strategy(data_dir, overrides, strategy_toml)
    return bundle_zip(result, data, parse_strategy(strategy_toml, source="strategy"))
