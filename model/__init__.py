"""Stibium's optimisation core: data, strategies, the sourcing LP and its results.

This package is the public API: the command line and the app import every name they use from
here, never from a submodule (a test holds them to it), so the modules behind it can move::

    from stibium.model import load_dataset, load_strategy, solve, compare

    data = load_dataset()                      # the shipped, sourced dataset
    result = solve(data, load_strategy("dependency-aware"))
    result.plan, result.metrics, result.exposure, result.duals, result.scenarios, result.stress
    stress_test(data, load_strategy("naive-diversified"), event="China export ban")

    # Tables edited in memory replace the folder's, checked as files are:
    dearer = load_dataset(tables={"prices": b"period,benchmark_usd_per_t,source,..."})

Constants
---------
TABLES
    The specification of every data table by name (file, columns and their kinds, key,
    value column, references): what the loader checks.
PROVENANCE
    The trailing columns every data table carries: source, year, is_estimate, low, high, note.
EXPOSURE_MODES
    The values of the strategy setting ``exposure``: how a power's leverage is counted.
SCENARIO_MODES
    The values of the strategy setting ``scenario_mode``: none, exact enumeration or sampled.
SEVERITY_SAMPLING
    The values of the strategy setting ``severity_sampling``: central or sampled severities.
SETTINGS
    The description of every strategy setting (TOML key, type, range, unit, default, help):
    what the parser, the validator, the export, the app's form and the README table read.

Nothing here imports Streamlit; the run store (and SQLAlchemy) is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .compare import compare, kpis, plan_diff
from .criticality import criticality_inputs
from .data import PROVENANCE, TABLES, Dataset, default_data_dir, load_dataset
from .errors import DataError, SolverError, StibiumInputError, StrategyError
from .export import (
    bundle_zip,
    check_bundle_directory,
    escape_frame,
    write_bundle,
    write_csv,
    write_workbook,
)
from .frontier import Frontier, frontier
from .instance import Instance, build_instance
from .leverage import leverage_evidence_table, leverage_matrix
from .montecarlo import montecarlo
from .parallel import prepare
from .risk import StressResult
from .scenarios import ScenarioSet, enumerate_scenarios, sample_scenarios
from .sensitivity import tornado
from .settings import SETTINGS, Setting
from .solve import SolveResult, solve
from .strategy import (
    EXPOSURE_MODES,
    SCENARIO_MODES,
    SEVERITY_SAMPLING,
    Strategy,
    load_strategy,
    parse_strategy,
    shipped_strategies,
)
from .stress import plan_frame, read_plan_csv, stress_test, stress_tests

if TYPE_CHECKING:
    from .store import RunStore

__all__ = [
    # Inputs: the data tables, their schema and what they say about the powers.
    "Dataset",
    "PROVENANCE",
    "TABLES",
    "default_data_dir",
    "leverage_evidence_table",
    "leverage_matrix",
    "load_dataset",
    # Strategies: the settings of one run.
    "EXPOSURE_MODES",
    "SCENARIO_MODES",
    "SEVERITY_SAMPLING",
    "Strategy",
    "load_strategy",
    "parse_strategy",
    "shipped_strategies",
    # Solve and results: instance, disruption scenarios, the solve and its report.
    "Instance",
    "SETTINGS",
    "ScenarioSet",
    "Setting",
    "SolveResult",
    "build_instance",
    "criticality_inputs",
    "enumerate_scenarios",
    "sample_scenarios",
    "solve",
    # Studies: comparisons, frontiers, sensitivity, stress tests and Monte Carlo.
    "Frontier",
    "StressResult",
    "compare",
    "frontier",
    "kpis",
    "montecarlo",
    "plan_diff",
    "plan_frame",
    "prepare",
    "read_plan_csv",
    "stress_test",
    "stress_tests",
    "tornado",
    # Outputs: exports, the reproducible bundle and the run store.
    "RunStore",
    "bundle_zip",
    "check_bundle_directory",
    "escape_frame",
    "write_bundle",
    "write_csv",
    "write_workbook",
    # Errors: what reaches users as one line (exit code 2), and solver failures.
    "DataError",
    "SolverError",
    "StibiumInputError",
    "StrategyError",
]


def __getattr__(name: str) -> Any:
    # SQLAlchemy takes about half a second to import: only commands that save runs pay it.
    if name == "RunStore":
        from .store import RunStore

        return RunStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
