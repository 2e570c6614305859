"""One visible pipeline: build the instance → build the model → solve it (the extensive LP in
`PersistentModel`, or the decomposition in `decompose.DecomposedModel`, both through the one
HiGHS hand-over in `highs`) → one report (`report.report`).

The result is plain data (pandas frames, floats, strings): scripts, the CLI and the app share
it, and Streamlit can cache it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo

from . import decompose
from .build import build_model
from .data import Dataset
from .decompose import DecomposedModel
from .errors import StrategyError
from .highs import (
    SolveStatus,
    highs_for,
    load_solution,
    run,
    simplex_suits,
    standard_form_lp,
)
from .instance import Instance, build_instance
from .report import Solution, SolveResult, report
from .strategy import Strategy


def solve(dataset: Dataset, strategy: Strategy, *, time_limit: float | None = None,
          evaluate_risk: bool = True, extras: bool = True,
          warm_start: WarmStart | None = None, method: str = "auto") -> SolveResult:
    """Build and solve the sourcing LP for one strategy.

    ``evaluate_risk=False`` skips replaying a deterministic plan on every disruption scenario,
    the named stresses, the criticality panel and, when there is no feasible plan, its
    diagnosis (sweeps that only need cost and exposure); two-stage models always report their
    scenarios. ``extras=False`` keeps the replay and its risk metrics but skips the named
    stresses, the criticality panel and the diagnosis (a sweep that reads cost and expected
    shortfall only). ``warm_start``: the basis of a solve of the same model shape
    (`PersistentModel.warm_start`), e.g. the base case of a sensitivity sweep whose variants
    change a figure, not the rows; HiGHS's simplex then starts from it (the extensive form
    only).

    ``method``: ``extensive`` solves every scenario's rows in one LP; ``decomposition`` solves
    a first-stage master with each scenario's recourse in closed form (`decompose`: the same
    optimum to a relative 1e-9, much faster at thousands of scenarios); ``auto`` takes the
    decomposition for two-stage models of at least ``DECOMPOSE_FROM_CELLS`` scenario-period
    cells where it is exact.

    Examples
    --------
    >>> from stibium.model import load_dataset, load_strategy, solve
    >>> result = solve(load_dataset(), load_strategy("cheapest"))
    >>> result.status
    'optimal'
    """
    started = time.perf_counter()
    instance = build_instance(dataset, strategy)
    chosen: PersistentModel | DecomposedModel
    if solution_method(instance, method) == "decomposition":
        chosen = DecomposedModel(dataset, strategy, instance)
    else:
        chosen = PersistentModel(dataset, strategy, instance=instance)
    chosen.timings["build_s"] = time.perf_counter() - started
    chosen.solve(time_limit=time_limit, warm_start=warm_start)
    return chosen.result(evaluate_risk=evaluate_risk, extras=extras)


SOLUTION_METHODS = ("auto", "extensive", "decomposition")
# From about this many open (scenario, market, period) cells the decomposition is the faster
# path by far (benchmarks/README.md); below it both take well under a second and the extensive
# form also reports the model's own scenario rows.
DECOMPOSE_FROM_CELLS = 10_000


def solution_method(instance: Instance, method: str = "auto") -> str:
    """The method `solve` uses for `instance`: 'extensive' or 'decomposition'."""
    if method not in SOLUTION_METHODS:
        raise StrategyError(f"unknown solution method '{method}' "
                            f"(known: {', '.join(SOLUTION_METHODS)})")
    exact = decompose.applies(instance)
    if method == "decomposition" and not exact:
        raise StrategyError(
            "the decomposition needs disruption scenarios and an unmet-demand penalty above "
            "every spot price; use method 'extensive'")
    if method != "auto":
        return method
    if not exact:
        return "extensive"
    disrupted = instance.recourse.disrupted.to_numpy(dtype=bool)
    cells = int(disrupted.sum()) * len(instance.markets)
    return "decomposition" if cells >= DECOMPOSE_FROM_CELLS else "extensive"


@dataclass(frozen=True)
class WarmStart:
    """A simplex basis as plain arrays (HiGHS status codes), so that it can travel to worker
    processes."""

    col_status: tuple[int, ...]
    row_status: tuple[int, ...]


class PersistentModel:
    """A model built and handed to HiGHS once; limits can be changed and the model re-solved
    from the previous basis, without rebuilding (frontiers, sweeps).

    Examples
    --------
    >>> from stibium.model import load_dataset, load_strategy
    >>> persistent = PersistentModel(load_dataset(), load_strategy("dependency-aware"))
    >>> persistent.solve()
    'optimal'
    >>> caps = persistent.model.exposure_cap
    >>> persistent.set_upper({row: 0.5 * row.upper() for row in caps.values()})
    >>> persistent.solve()
    'optimal'
    """

    def __init__(self, dataset: Dataset, strategy: Strategy,
                 instance: Instance | None = None) -> None:
        started = time.perf_counter()
        self.dataset = dataset
        self.strategy = strategy
        self.instance = build_instance(dataset, strategy) if instance is None else instance
        self.model = build_model(self.instance)
        self.timings = {"build_s": time.perf_counter() - started}
        self._highs: Any = None
        self._form: Any = None
        self._rows_of: dict[Any, list[int]] = {}
        self._offset: dict[int, float] = {}
        self._column_of: dict[int, int] = {}
        self._objective = math.nan
        self.status = SolveStatus.NOT_SOLVED

    def _hand_over(self) -> None:
        self._form, lp = standard_form_lp(self.model)
        self._highs = highs_for(lp, simplex=simplex_suits(self.instance))
        self._column_of = {id(var): position for position, var in enumerate(self._form.columns)}
        for position, row in enumerate(self._form.rows):
            if row.bound_type == 1:
                self._rows_of.setdefault(row.constraint, []).append(position)
                upper = pyo.value(row.constraint.upper)
                self._offset[position] = float(upper) - float(self._form.rhs[position])

    def set_upper(self, uppers: dict[Any, float]) -> None:
        """New upper limits for ≤ constraints (Pyomo constraint data → value), applied to the
        Pyomo model and to the HiGHS model in place."""
        import highspy

        if self._highs is None:
            self._hand_over()
        for constraint, upper in uppers.items():
            positions = self._rows_of.get(constraint)
            if not positions:
                raise KeyError(f"{constraint.name} is not a ≤ row of this model")
            constraint.set_value((None, constraint.body, float(upper)))
            for position in positions:
                self._highs.changeRowBounds(position, -highspy.kHighsInf,
                                            float(upper) - self._offset[position])

    def add_costs(self, costs: list[tuple[Any, float]]) -> None:
        """Add to the objective coefficients of some variables, in HiGHS only (a temporary
        objective for a side question such as "what is the least CVaR any plan reaches?");
        the same call with negated costs undoes it."""
        positions = self.column_positions([var for var, _ in costs])
        if (positions < 0).any():
            raise KeyError("a variable given a cost is not a column of this model")
        current = self._highs.getLp().col_cost_
        for position, (_, cost) in zip(positions.tolist(), costs, strict=True):
            self._highs.changeColCost(position, float(current[position]) + float(cost))

    def basis(self) -> Any:
        """HiGHS's current basis, to start a later re-solve from (see `restore_basis`)."""
        return self._highs.getBasis()

    def restore_basis(self, basis: Any) -> None:
        self._highs.setBasis(basis)

    def warm_start(self) -> WarmStart | None:
        """The current basis, for `solve(..., warm_start=...)` of a same-shaped model."""
        if self._highs is None or self.status != "optimal":
            return None
        basis = self._highs.getBasis()
        if not basis.valid:
            return None
        return WarmStart(col_status=tuple(int(s) for s in basis.col_status),
                         row_status=tuple(int(s) for s in basis.row_status))

    def solve(self, time_limit: float | None = None, warm_start: WarmStart | None = None
              ) -> str:
        """Solve from the current basis and load the optimum into the Pyomo model."""
        started = time.perf_counter()
        if self._highs is None:
            self._hand_over()
        lp = self._highs.getLp()
        if (warm_start is not None and len(warm_start.col_status) == lp.num_col_
                and len(warm_start.row_status) == lp.num_row_):
            import highspy

            basis = highspy.HighsBasis()
            basis.col_status = [highspy.HighsBasisStatus(s) for s in warm_start.col_status]
            basis.row_status = [highspy.HighsBasisStatus(s) for s in warm_start.row_status]
            basis.valid = True
            self._highs.setBasis(basis)
            self._highs.setOptionValue("solver", "simplex")
        self.status = run(self._highs, time_limit)
        # A re-solve after changed bounds or costs starts from this basis, which only the
        # simplex can use.
        self._highs.setOptionValue("solver", "simplex")
        if self.status == SolveStatus.OPTIMAL:
            self._objective = float(self._highs.getInfo().objective_function_value)
            load_solution(self.model, self._form, self._highs.getSolution())
        self.timings["solve_s"] = time.perf_counter() - started
        return self.status

    def column_positions(self, variables: Any) -> np.ndarray:
        """Positions of Pyomo variables (an iterable of var data) among HiGHS's columns; −1
        for a variable the standard form left out (it appears in no row and no cost)."""
        if self._highs is None:
            self._hand_over()
        column_of = self._column_of
        return np.array([column_of.get(id(var), -1) for var in variables], dtype=int)

    def solution(self) -> Solution:
        """The current optimum as solver-neutral arrays (`report.Solution`)."""
        return Solution.from_model(self.model, self.instance, self.status, self._objective)

    def result(self, evaluate_risk: bool = True, extras: bool = True) -> SolveResult:
        """The current solution as plain data (``evaluate_risk`` and ``extras`` as in
        :func:`solve`)."""
        started = time.perf_counter()
        # HiGHS's objective (with the model's constant) saves walking the objective's
        # expression tree again, which at thousands of scenarios is most of a report.
        result = report(self.dataset, self.strategy, self.instance, self.solution(),
                        evaluate_risk=evaluate_risk, extras=extras)
        result.timings = {**self.timings, "report_s": time.perf_counter() - started}
        return result
