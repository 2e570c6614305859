"""The one hand-over to HiGHS: how a model reaches the solver, with which options, and what
its answer means.

Every solve goes through here — the extensive LP, the decomposition's master, the replay of a
fixed plan, diagnosis, frontiers and sensitivity sweeps, and the benchmarks — so all of them
run the configuration users get: a silent HiGHS (`quiet_highs`), the interior-point method on
large sampled models and the dual simplex otherwise (`highs_for`), and one status vocabulary
(`SolveStatus`).
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.solver.common.factory import SolverFactory
from pyomo.contrib.solver.common.results import TerminationCondition

if TYPE_CHECKING:
    from .instance import Instance


class SolveStatus(StrEnum):
    """How a solve ended. The values are the strings of the JSON output (``status``), and a
    status compares equal to its string."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    INFEASIBLE_OR_UNBOUNDED = "infeasible_or_unbounded"
    TIME_LIMIT = "time_limit"
    ITERATION_LIMIT = "iteration_limit"
    ERROR = "error"
    NOT_SOLVED = "not solved"

    @property
    def has_no_plan_because_infeasible(self) -> bool:
        return self in (SolveStatus.INFEASIBLE, SolveStatus.INFEASIBLE_OR_UNBOUNDED)


STATUS_OF = {
    TerminationCondition.convergenceCriteriaSatisfied: SolveStatus.OPTIMAL,
    TerminationCondition.provenInfeasible: SolveStatus.INFEASIBLE,
    TerminationCondition.locallyInfeasible: SolveStatus.INFEASIBLE,
    TerminationCondition.unbounded: SolveStatus.UNBOUNDED,
    TerminationCondition.infeasibleOrUnbounded: SolveStatus.INFEASIBLE_OR_UNBOUNDED,
    TerminationCondition.maxTimeLimit: SolveStatus.TIME_LIMIT,
    TerminationCondition.iterationLimit: SolveStatus.ITERATION_LIMIT,
}

HIGHS_STATUS = {
    "kOptimal": SolveStatus.OPTIMAL,
    "kInfeasible": SolveStatus.INFEASIBLE,
    "kUnbounded": SolveStatus.UNBOUNDED,
    "kUnboundedOrInfeasible": SolveStatus.INFEASIBLE_OR_UNBOUNDED,
    "kTimeLimit": SolveStatus.TIME_LIMIT,
    "kIterationLimit": SolveStatus.ITERATION_LIMIT,
}


def status_of(highs: Any) -> SolveStatus:
    """The status of HiGHS's last run."""
    return HIGHS_STATUS.get(highs.getModelStatus().name, SolveStatus.ERROR)


def run(highs: Any, time_limit: float | None = None) -> SolveStatus:
    """Run HiGHS within ``time_limit`` seconds (none: no limit) and say how it ended."""
    highs.setOptionValue("time_limit", float(time_limit) if time_limit else float("inf"))
    highs.run()
    return status_of(highs)


SOLVER_PATHS = ("standard-form", "pyomo-highs")
IPM_ROW_THRESHOLD = 2_000
IPM_COST_SCALE_TARGET = 10  # log2 of the largest objective cost the IPM sees


def simplex_suits(instance: Instance) -> bool:
    """Whether the dual simplex beats the interior-point method at every size: on the exact
    enumeration of scenarios (probabilities from ~1e-6 to ~0.5) it did by 1.3–2.7× on every
    network and horizon measured (2,100–13,000 rows; 21.8 s against 8.1 s on 200 origins over
    10 years), while on sampled scenarios (equal-weight draws) the interior point won from a
    few thousand rows (1.1 s against 2.7 s on 50 origins, 10 years, 1,000 samples)."""
    return instance.recourse is not None and instance.strategy.scenario_mode == "exact"


def solve_model(model: pyo.ConcreteModel, *, time_limit: float | None = None,
                path: str = "standard-form", simplex: bool = False) -> SolveStatus:
    """Solve a built model with HiGHS, load the primal solution and the duals into it.

    ``standard-form`` (default) compiles the model with Pyomo's standard-form compiler and
    hands the arrays to `highspy` through `highs_for` (``simplex`` as there; callers that know
    the instance pass `simplex_suits`): the hand-over every solve of the tool uses.
    ``pyomo-highs`` uses Pyomo's own HiGHS interface (`pyomo.contrib.solver`), an independent
    path that tests solve and compare against.
    """
    if path == "pyomo-highs":
        return _solve_with_pyomo_interface(model, time_limit)
    if path != "standard-form":
        raise ValueError(f"unknown solver path {path!r} (known: {', '.join(SOLVER_PATHS)})")
    form, lp = standard_form_lp(model)
    highs = highs_for(lp, simplex=simplex)
    status = run(highs, time_limit)
    if status == SolveStatus.OPTIMAL:
        load_solution(model, form, highs.getSolution())
    return status


def _solve_with_pyomo_interface(model: pyo.ConcreteModel, time_limit: float | None) -> str:
    solver = SolverFactory("highs")
    options: dict[str, Any] = {"load_solutions": False,
                               "raise_exception_on_nonoptimal_result": False}
    if time_limit is not None:
        options["time_limit"] = time_limit
    results = solver.solve(model, **options)
    status = STATUS_OF.get(results.termination_condition, SolveStatus.ERROR)
    if status == "optimal":
        results.solution_loader.load_vars()
        duals = results.solution_loader.get_duals()
        model.dual.clear()
        model.dual.update(duals)
    return status




def quiet_highs() -> Any:
    """A HiGHS instance that prints nothing (the Python wrapper's constructor prints a banner
    to standard output, which would corrupt the CLI's JSON)."""
    import highspy

    highs = getattr(highspy, "_Highs", highspy.Highs)()
    highs.setOptionValue("output_flag", False)
    return highs


def standard_form_lp(model: pyo.ConcreteModel) -> tuple[Any, Any]:
    """The model as Pyomo's standard form (rows keep their constraint) and a `HighsLp`."""
    form = compile_standard_form(model)
    return form, highs_lp(form)


def compile_standard_form(model: pyo.ConcreteModel) -> Any:
    from pyomo.repn.plugins.standard_form import (
        LinearStandardFormCompiler,
        _LinearStandardFormCompiler_impl,
    )

    # Left to itself the compiler builds its matrices with scipy.sparse, reached through
    # Pyomo's deferred import, which also loads scipy.stats, .spatial and .integrate: over
    # a second of a cold `stibium solve`, more than the solve. Pyomo keeps these
    # constructors as class attributes so that they can be replaced.
    if _LinearStandardFormCompiler_impl._csr_matrix is not CompressedMatrix.by_rows:
        _LinearStandardFormCompiler_impl._to_vector = np.fromiter
        _LinearStandardFormCompiler_impl._csc_matrix = CompressedMatrix.by_columns
        _LinearStandardFormCompiler_impl._csr_matrix = CompressedMatrix.by_rows
    return LinearStandardFormCompiler().write(model, mixed_form=True)


class CompressedMatrix:
    """A compressed sparse matrix (by rows or by columns) with just the operations Pyomo's
    standard-form compiler performs: conversion to columns, merging duplicates, dropping
    zeros, selecting columns and multiplying by a vector (for fixed variables)."""

    def __init__(self, arrays: tuple[Any, Any, Any], shape: Any, by_column: bool) -> None:
        data, indices, indptr = arrays
        self.data = np.asarray(data, dtype=np.float64)
        self.indices = np.asarray(indices, dtype=np.int32)
        self.indptr = np.asarray(indptr, dtype=np.int32)
        self.shape = (int(shape[0]), int(shape[1]))
        self.by_column = by_column

    @classmethod
    def by_rows(cls, arrays: tuple[Any, Any, Any], shape: Any) -> CompressedMatrix:
        return cls(arrays, shape, by_column=False)

    @classmethod
    def by_columns(cls, arrays: tuple[Any, Any, Any], shape: Any) -> CompressedMatrix:
        return cls(arrays, shape, by_column=True)

    def _majors(self) -> np.ndarray:
        """The row (by rows) or column (by columns) of every stored entry."""
        return np.repeat(np.arange(len(self.indptr) - 1, dtype=np.int32), np.diff(self.indptr))

    def tocsc(self) -> CompressedMatrix:
        if self.by_column:
            return self
        rows = self._majors()
        order = np.lexsort((rows, self.indices))  # by column, then row
        indptr = np.zeros(self.shape[1] + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.indices, minlength=self.shape[1]), out=indptr[1:])
        return CompressedMatrix((self.data[order], rows[order], indptr), self.shape, True)

    def _compress(self, keep: np.ndarray, data: np.ndarray) -> None:
        majors = self._majors()[keep]
        self.data, self.indices = data, self.indices[keep]
        counts = np.bincount(majors, minlength=len(self.indptr) - 1)
        self.indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)

    def sum_duplicates(self) -> None:
        majors = self._majors()
        order = np.lexsort((self.indices, majors))
        if np.any(order != np.arange(len(order))):
            self.data, self.indices = self.data[order], self.indices[order]
            majors = majors[order]
        first = np.ones(len(self.data), dtype=bool)
        first[1:] = (majors[1:] != majors[:-1]) | (self.indices[1:] != self.indices[:-1])
        if not first.all():
            self._compress(first, np.add.reduceat(self.data, np.flatnonzero(first)))

    def eliminate_zeros(self) -> None:
        keep = self.data != 0.0
        if not keep.all():
            self._compress(keep, self.data[keep])

    def __getitem__(self, key: Any) -> CompressedMatrix:
        rows, columns = key
        if not (self.by_column and isinstance(rows, slice) and rows == slice(None)):
            raise NotImplementedError("only column selection of a by-column matrix")
        chosen = np.flatnonzero(np.asarray(columns, dtype=bool))
        starts, ends = self.indptr[chosen], self.indptr[chosen + 1]
        take = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends, strict=True)]
                              or [np.zeros(0, dtype=np.int64)])
        indptr = np.concatenate([[0], np.cumsum(ends - starts)])
        return CompressedMatrix((self.data[take], self.indices[take], indptr),
                                (self.shape[0], len(chosen)), True)

    def __matmul__(self, vector: Any) -> np.ndarray:
        columns = self.tocsc()
        result = np.zeros(self.shape[0])
        np.add.at(result, columns.indices, columns.data * np.asarray(vector)[columns._majors()])
        return result

    def toarray(self) -> np.ndarray:
        dense = np.zeros(self.shape)
        majors = self._majors()
        if self.by_column:
            np.add.at(dense, (self.indices, majors), self.data)
        else:
            np.add.at(dense, (majors, self.indices), self.data)
        return dense


def highs_lp(form: Any) -> Any:
    """Pyomo's standard form as HiGHS's column-wise arrays."""
    import highspy

    columns, rows = form.columns, form.rows
    matrix = form.A.tocsc()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(columns), len(rows)
    lp.col_cost_ = np.asarray(form.c.toarray()[0] if len(columns) else [], dtype=float)
    lp.offset_ = float(form.c_offset[0]) if len(form.c_offset) else 0.0
    lp.col_lower_ = np.array([-highspy.kHighsInf if v.lb is None else v.lb for v in columns],
                             dtype=float)
    lp.col_upper_ = np.array([highspy.kHighsInf if v.ub is None else v.ub for v in columns],
                             dtype=float)
    kinds = np.array([row.bound_type for row in rows], dtype=int)
    rhs = np.asarray(form.rhs, dtype=float)
    lp.row_lower_ = np.where(kinds <= 0, rhs, -highspy.kHighsInf)
    lp.row_upper_ = np.where(kinds >= 0, rhs, highspy.kHighsInf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data.astype(float)
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = len(columns), len(rows)
    return lp


def highs_for(lp: Any, simplex: bool = False) -> Any:
    """A silent HiGHS holding `lp`, with the solver chosen for its size (``simplex`` keeps
    the dual simplex at every size)."""
    highs = quiet_highs()
    if lp.num_row_ > IPM_ROW_THRESHOLD and not simplex:
        # Measured on the sampled two-stage model (benchmarks/README.md): from about 1,500 rows
        # the interior-point method (with crossover, so duals stay exact) beats the dual
        # simplex, by 2x at 4,000 rows. Its costs reach ~4e5 $/t, and unscaled IPX stalls
        # ("no progress") at 10,000 scenarios and falls back to the simplex (60 s instead of
        # 23 s). Scaling the objective down by a power of two until the largest cost is about
        # 1e3 keeps it converging; scaling further (to ~1) loosens HiGHS's tolerances in
        # dollar terms enough to stop 8e-7 short of the optimum on the exact-scenario model.
        # HiGHS reports objective and duals unscaled.
        highs.setOptionValue("solver", "ipm")
        largest = float(np.max(np.abs(lp.col_cost_))) if lp.num_col_ else 0.0
        if largest > 2.0 ** IPM_COST_SCALE_TARGET:
            highs.setOptionValue("user_objective_scale",
                                 IPM_COST_SCALE_TARGET - int(round(math.log2(largest))))
    highs.passModel(lp)
    return highs


def load_solution(model: pyo.ConcreteModel, form: Any, solution: Any) -> None:
    """Primal values into the variables, duals into ``model.dual``."""
    for var, value in zip(form.columns, solution.col_value, strict=True):
        var.set_value(value, skip_validation=True)
    model.dual.clear()
    for row, dual in zip(form.rows, solution.row_dual, strict=True):
        # A two-sided row appears twice; at most one side is active, so the duals add up.
        model.dual[row.constraint] = model.dual.get(row.constraint, 0.0) + dual


def coordinate_lp(cost: np.ndarray, upper: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                  values: np.ndarray, row_lower: np.ndarray, row_upper: np.ndarray) -> Any:
    """A `HighsLp` from coordinate arrays (columns bounded below by 0, ``np.inf`` for no upper
    bound): the directly assembled LPs (a fixed plan's recourse) reach HiGHS the same way as
    the compiled ones."""
    import highspy

    num_col, num_row = len(cost), len(row_lower)
    order = np.lexsort((rows, cols))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = num_col, num_row
    lp.col_cost_ = np.asarray(cost, dtype=float)
    lp.col_lower_ = np.zeros(num_col)
    lp.col_upper_ = np.where(np.isinf(upper), highspy.kHighsInf, upper).astype(float)
    lp.row_lower_ = np.asarray(row_lower, dtype=float)
    lp.row_upper_ = np.asarray(row_upper, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.concatenate(
        [[0], np.cumsum(np.bincount(cols, minlength=num_col))]).astype(np.int32)
    lp.a_matrix_.index_ = np.asarray(rows, dtype=np.int32)[order]
    lp.a_matrix_.value_ = np.asarray(values, dtype=float)[order]
    return lp
