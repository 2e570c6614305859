"""Stibium's optimisation core: data, strategies, the sourcing LP and its results.

The stable Python API::

    from stibium.model import load_dataset, load_strategy, solve, compare

    data = load_dataset()                      # the shipped, sourced dataset
    result = solve(data, load_strategy("dependency-aware"))
    result.plan, result.metrics, result.exposure, result.duals, result.scenarios, result.stress
    stress_test(data, load_strategy("naive-diversified"), event="China export ban")

Nothing here imports Streamlit.
"""

from .compare import compare
from .data import Dataset, default_data_dir, load_dataset
from .errors import DataError, SolverError, StibiumInputError, StrategyError
from .instance import Instance, build_instance
from .leverage import leverage_matrix
from .risk import StressResult
from .scenarios import ScenarioSet, enumerate_scenarios, sample_scenarios
from .settings import SETTINGS, Setting
from .solve import SolveResult, solve
from .strategy import Strategy, load_strategy, parse_strategy, shipped_strategies
from .stress import read_plan_csv, stress_test

__all__ = [
    "DataError",
    "Dataset",
    "Instance",
    "SETTINGS",
    "ScenarioSet",
    "Setting",
    "SolveResult",
    "SolverError",
    "StibiumInputError",
    "Strategy",
    "StrategyError",
    "StressResult",
    "build_instance",
    "compare",
    "default_data_dir",
    "enumerate_scenarios",
    "leverage_matrix",
    "load_dataset",
    "load_strategy",
    "parse_strategy",
    "read_plan_csv",
    "sample_scenarios",
    "shipped_strategies",
    "solve",
    "stress_test",
]
