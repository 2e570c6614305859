"""Stibium's optimisation core: data, strategies, the sourcing LP and its results.

The stable Python API::

    from stibium.model import load_dataset, load_strategy, solve, compare

    data = load_dataset()                      # the shipped, sourced dataset
    result = solve(data, load_strategy("dependency-aware"))
    result.plan, result.metrics, result.exposure, result.duals

Nothing here imports Streamlit.
"""

from .compare import compare
from .data import Dataset, default_data_dir, load_dataset
from .errors import DataError, SolverError, StibiumInputError, StrategyError
from .instance import Instance, build_instance
from .leverage import leverage_matrix
from .solve import SolveResult, solve
from .strategy import Strategy, load_strategy, parse_strategy, shipped_strategies

__all__ = [
    "DataError",
    "Dataset",
    "Instance",
    "SolveResult",
    "SolverError",
    "StibiumInputError",
    "Strategy",
    "StrategyError",
    "build_instance",
    "compare",
    "default_data_dir",
    "leverage_matrix",
    "load_dataset",
    "load_strategy",
    "parse_strategy",
    "shipped_strategies",
    "solve",
]
