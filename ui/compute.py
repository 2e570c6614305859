"""Cached computations: pure functions of serialisable input, all through the model's API.

Every function takes plain values — the data folder, the edited tables as CSV bytes, the
strategy as TOML text — and returns plain data (datasets, results and frontiers are
dataclasses of pandas frames), so `st.cache_data` can key and copy them. A rerun with the
same inputs re-solves nothing. Input errors propagate as the model's
:class:`~stibium.model.StibiumInputError` and are never cached.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import streamlit as st

from stibium.model import (
    Dataset,
    SolveResult,
    StressResult,
    build_instance,
    load_dataset,
    parse_strategy,
    read_plan_csv,
    solve,
)
from stibium.model.data import TABLES
from stibium.model.errors import SolverError, StibiumInputError
from stibium.model.export import bundle_zip
from stibium.model.frontier import Frontier, frontier
from stibium.model.stress import plan_frame, stress_tests

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


def materialise(data_dir: str, overrides: Overrides) -> Path:
    """A data folder holding the base data with some tables replaced.

    The folder is named by the hash of its content and written once (atomically), so the same
    edits always give the same folder, and the model's loader validates it like any folder.
    """
    digest = hashlib.sha256(str(Path(data_dir).resolve()).encode())
    for name, raw in overrides:
        digest.update(b"\0" + name.encode() + b"\0" + raw)
    root = Path(tempfile.gettempdir()) / "stibium-ui-data"
    target = root / digest.hexdigest()[:20]
    if target.is_dir():
        return target
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=".partial-"))
    try:
        for spec in TABLES.values():
            source = Path(data_dir) / spec.file
            if source.is_file():
                shutil.copyfile(source, staging / spec.file)
        for name, raw in overrides:
            (staging / TABLES[name].file).write_bytes(raw)
        try:
            os.rename(staging, target)
        except OSError:
            if not target.is_dir():  # another session wrote the same folder meanwhile: fine
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


@st.cache_data(show_spinner=False, max_entries=16)
def dataset(data_dir: str, overrides: Overrides) -> Dataset:
    """The validated dataset: the base folder with the edited tables swapped in."""
    folder = materialise(data_dir, overrides) if overrides else Path(data_dir)
    return load_dataset(folder)


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
        # The strategy without its scenarios and CVaR terms frames the plan (as the CLI does):
        # dropping only the scenarios of min-cvar would be an inconsistent strategy.
        plan = read_plan_csv(plan_csv, build_instance(data, plan_frame(strategy)))
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
