"""One visible pipeline: build instance → build model → solve → read plan → read duals → metrics.

The result is plain data (pandas frames, floats, strings): scripts, the CLI and the app share
it, and Streamlit can cache it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.contrib.solver.common.factory import SolverFactory
from pyomo.contrib.solver.common.results import TerminationCondition

from . import criticality, decompose, families, metrics, risk
from .build import build_model
from .data import Dataset
from .decompose import DecomposedModel
from .errors import StrategyError
from .instance import Instance, build_instance, recourse_for
from .scenarios import enumerate_scenarios
from .strategy import Strategy

STATUS_OF = {
    TerminationCondition.convergenceCriteriaSatisfied: "optimal",
    TerminationCondition.provenInfeasible: "infeasible",
    TerminationCondition.locallyInfeasible: "infeasible",
    TerminationCondition.unbounded: "unbounded",
    TerminationCondition.infeasibleOrUnbounded: "infeasible_or_unbounded",
    TerminationCondition.maxTimeLimit: "time_limit",
    TerminationCondition.iterationLimit: "iteration_limit",
}

PLAN_COLUMNS = ["route", "origin", "hub", "market", "transit", "period", "tonnes",
                "delivered_t", "unit_cost_usd_per_t", "cost_usd"]
DUAL_TOLERANCE = 1e-6


@dataclass
class SolveResult:
    """The outcome of one optimisation, as plain data.

    ``total_cost`` is what the plan costs the buyer over the horizon, including unmet demand
    at its penalty: ``cost_breakdown`` sums to it exactly. ``objective`` adds the risk charge
    when the strategy prices risk.
    """

    status: str
    strategy: str
    total_cost: float = math.nan
    objective: float = math.nan
    cost_breakdown: dict[str, float] = field(default_factory=dict)
    plan: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PLAN_COLUMNS))
    unmet: pd.DataFrame = field(default_factory=pd.DataFrame)
    stock: pd.DataFrame = field(default_factory=pd.DataFrame)
    shares: pd.DataFrame = field(default_factory=pd.DataFrame)
    exposure: pd.DataFrame = field(default_factory=pd.DataFrame)
    duals: pd.DataFrame = field(default_factory=pd.DataFrame)
    scenarios: pd.DataFrame = field(default_factory=pd.DataFrame)
    stress: pd.DataFrame = field(default_factory=pd.DataFrame)
    criticality: pd.DataFrame = field(default_factory=pd.DataFrame)
    diagnosis: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    data_fingerprint: str = ""
    message: str = ""

    @property
    def is_optimal(self) -> bool:
        return self.status == "optimal"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the CLI's `--json` contract."""
        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            frame = frame.copy()
            for column in frame.columns:
                if frame[column].map(lambda v: isinstance(v, tuple)).any():
                    frame[column] = frame[column].map(list)
            return [{k: _jsonable(v) for k, v in row.items()}
                    for row in frame.to_dict(orient="records")]

        return {
            "status": self.status,
            "strategy": self.strategy,
            "total_cost": _jsonable(self.total_cost),
            "objective": _jsonable(self.objective),
            "cost_breakdown": {k: _jsonable(v) for k, v in self.cost_breakdown.items()},
            "plan": records(self.plan),
            "unmet": records(self.unmet),
            "stock": records(self.stock),
            "metrics": {k: _jsonable(v) for k, v in self.metrics.items()},
            "shares": records(self.shares),
            "exposure": records(self.exposure),
            "duals": records(self.duals),
            "scenarios": records(self.scenarios),
            "stress": records(self.stress),
            "criticality": records(self.criticality),
            "diagnosis": self.diagnosis,
            "timings": self.timings,
            "data_fingerprint": self.data_fingerprint,
            "message": self.message,
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return None
    return value


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


@dataclass(frozen=True)
class SolutionSnapshot:
    """One optimum of a persistent model as HiGHS's arrays (primal values and row duals, in
    the standard form's column and row order), to report on after the model has moved on."""

    status: str
    objective: float
    col_value: np.ndarray
    row_dual: np.ndarray


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
        self._loaded = True
        self.status = "not solved"

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

    def solve(self, time_limit: float | None = None, warm_start: WarmStart | None = None,
              load: bool = True) -> str:
        """Solve from the current basis. ``load=False`` leaves the optimum in HiGHS (read it
        with `snapshot`) instead of copying it into the Pyomo model: `result` and
        `snapshot` load it when they need it."""
        started = time.perf_counter()
        if self._highs is None:
            self._hand_over()
        self._highs.setOptionValue("time_limit",
                                   float(time_limit) if time_limit else float("inf"))
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
        self._highs.run()
        # A re-solve after changed bounds or costs starts from this basis, which only the
        # simplex can use.
        self._highs.setOptionValue("solver", "simplex")
        self.status = HIGHS_STATUS.get(self._highs.getModelStatus().name, "error")
        self._loaded = False
        if self.status == "optimal":
            self._objective = float(self._highs.getInfo().objective_function_value)
            if load:
                self._load_from_highs()
        self.timings["solve_s"] = time.perf_counter() - started
        return self.status

    def _load_from_highs(self) -> None:
        load_solution(self.model, self._form, self._highs.getSolution())
        self._loaded = True

    def snapshot(self) -> SolutionSnapshot:
        """The current optimum as arrays (see `SolutionSnapshot`, `restore`)."""
        if self.status != "optimal":
            return SolutionSnapshot(self.status, math.nan, np.empty(0), np.empty(0))
        solution = self._highs.getSolution()
        return SolutionSnapshot(self.status, self._objective,
                                np.asarray(solution.col_value, dtype=float),
                                np.asarray(solution.row_dual, dtype=float))

    def restore(self, snapshot: SolutionSnapshot) -> None:
        """Put an earlier optimum back into the Pyomo model, for `result` to report on. The
        right-hand sides changed since are the caller's to restore (`set_upper`); HiGHS's own
        state is left as it is."""
        self.status = snapshot.status
        self._objective = snapshot.objective
        if snapshot.status == "optimal":
            load_solution(self.model, self._form, snapshot)
        self._loaded = True

    def column_positions(self, variables: Any) -> np.ndarray:
        """Positions of Pyomo variables (an iterable of var data) among HiGHS's columns; −1
        for a variable the standard form left out (it appears in no row and no cost)."""
        if self._highs is None:
            self._hand_over()
        column_of = self._column_of
        return np.array([column_of.get(id(var), -1) for var in variables], dtype=int)

    def result(self, evaluate_risk: bool = True, extras: bool = True) -> SolveResult:
        """The current solution as plain data (``evaluate_risk`` and ``extras`` as in
        :func:`solve`)."""
        started = time.perf_counter()
        result = SolveResult(status=self.status, strategy=self.strategy.name,
                             data_fingerprint=self.dataset.fingerprint)
        if self.status == "optimal":
            if not self._loaded:
                self._load_from_highs()
            # HiGHS's objective (with the model's constant) saves walking the objective's
            # expression tree again, which at thousands of scenarios is most of a report.
            fill_result(result, self.model, self.instance, objective=self._objective)
            if evaluate_risk and extras:
                fill_criticality(result, self.dataset)
            if evaluate_risk or self.instance.recourse is not None:
                fill_risk(result, self.model, self.instance, self.dataset,
                          named_stresses=evaluate_risk and extras)
        else:
            explain_no_plan(result, self.dataset, self.strategy, self.status,
                            explain=evaluate_risk and extras)
        result.timings = {**self.timings, "report_s": time.perf_counter() - started}
        return result


def explain_no_plan(result: SolveResult, dataset: Dataset, strategy: Strategy, status: str,
                    explain: bool, what: str = "solver status") -> None:
    """The message of a result without a plan: an infeasible strategy's diagnosis (when
    ``explain``), otherwise the status."""
    if status in ("infeasible", "infeasible_or_unbounded") and explain:
        from .diagnose import diagnose

        diagnosis = diagnose(dataset, strategy)
        result.diagnosis = diagnosis.to_dict()
        result.message = diagnosis.summary()
    else:
        result.message = f"no optimal plan: {what} {status}"


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
                path: str = "standard-form") -> str:
    """Solve a built model with HiGHS, load the primal solution and the duals into it.

    ``standard-form`` (default) compiles the model with Pyomo's standard-form compiler and
    hands the arrays to `highspy`: the fastest hand-over for large scenario models.
    ``pyomo-highs`` uses Pyomo's own HiGHS interface (`pyomo.contrib.solver`); tests solve
    both ways and compare.
    """
    if path == "pyomo-highs":
        return _solve_with_pyomo_interface(model, time_limit)
    if path != "standard-form":
        raise ValueError(f"unknown solver path {path!r} (known: {', '.join(SOLVER_PATHS)})")
    return _solve_standard_form(model, time_limit)


def _solve_with_pyomo_interface(model: pyo.ConcreteModel, time_limit: float | None) -> str:
    solver = SolverFactory("highs")
    options: dict[str, Any] = {"load_solutions": False,
                               "raise_exception_on_nonoptimal_result": False}
    if time_limit is not None:
        options["time_limit"] = time_limit
    results = solver.solve(model, **options)
    status = STATUS_OF.get(results.termination_condition, "error")
    if status == "optimal":
        results.solution_loader.load_vars()
        duals = results.solution_loader.get_duals()
        model.dual.clear()
        model.dual.update(duals)
    return status


HIGHS_STATUS = {
    "kOptimal": "optimal",
    "kInfeasible": "infeasible",
    "kUnbounded": "unbounded",
    "kUnboundedOrInfeasible": "infeasible_or_unbounded",
    "kTimeLimit": "time_limit",
    "kIterationLimit": "iteration_limit",
}


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


def _solve_standard_form(model: pyo.ConcreteModel, time_limit: float | None) -> str:
    form, lp = standard_form_lp(model)
    highs = highs_for(lp)
    if time_limit is not None:
        highs.setOptionValue("time_limit", float(time_limit))
    highs.run()
    status = HIGHS_STATUS.get(highs.getModelStatus().name, "error")
    if status == "optimal":
        load_solution(model, form, highs.getSolution())
    return status


def fill_result(result: SolveResult, model: pyo.ConcreteModel, instance: Instance,
                objective: float | None = None) -> None:
    result.plan = read_plan(model, instance)
    result.unmet = _market_period_table(model.unmet, "unmet_t")
    result.stock = _market_period_table(model.stock, "stock_t")
    breakdown = cost_breakdown(result.plan, result.unmet, result.stock, instance)
    result.cost_breakdown = breakdown
    result.total_cost = sum(breakdown.values())
    result.objective = float(pyo.value(model.total_cost)) if objective is None else objective
    result.shares = metrics.origin_shares(result.plan, instance)
    result.exposure = metrics.exposure_table(result.plan, instance)
    result.duals = read_duals(model, instance)
    result.metrics = plan_metrics(result, instance)


def fill_criticality(result: SolveResult, dataset: Dataset) -> None:
    """The supply-risk indicators analysts know, on the plan and on world production."""
    panel = criticality.criticality_panel(result, dataset)
    result.criticality = panel
    plan = panel[panel["basis"] == "plan"].set_index("indicator")["value"]
    result.metrics["hhi_wgi_t"] = float(plan["HHI_WGI,t"])
    result.metrics["geopolrisk"] = float(plan["GeoPolRisk"])


def fill_risk(result: SolveResult, model: pyo.ConcreteModel, instance: Instance,
              dataset: Dataset, named_stresses: bool = True,
              outcomes: risk.ScenarioOutcomes | None = None) -> None:
    """Scenario outcomes (given, or the model's own when it optimised over scenarios,
    otherwise the plan replayed on the exact enumeration of events), VaR/CVaR, and the named
    stresses."""
    first_stage = None
    if outcomes is None and instance.recourse is not None:
        outcomes = risk.read_outcomes(model, instance, instance.recourse)
    elif outcomes is None:
        first_stage = risk.first_stage_of(result.plan, result.stock, result.unmet)
        scenarios = enumerate_scenarios(dataset, instance.periods)
        outcomes = risk.evaluate(instance, recourse_for(instance, scenarios), *first_stage)
    result.scenarios = outcomes.table.reset_index()
    result.metrics.update(risk.risk_metrics(outcomes, instance, result.total_cost, result.stock))
    for measure in ("shortfall", "cost"):
        eta = getattr(model, f"cvar_{measure}_eta", None)
        if eta is not None:
            # η + Σ π_k z_k / (1 − β), the model's own CVaR expression, from the values.
            excess = getattr(model, f"cvar_{measure}_z")
            values = np.array([excess[k].value or 0.0 for k in model.SCENARIOS])
            probability = np.asarray(instance.recourse.probability, dtype=float)
            result.metrics[f"model_cvar_{measure}"] = float(
                (eta.value or 0.0) + probability @ values / (1.0 - instance.cvar_beta))
    if not named_stresses:
        return
    if first_stage is None:
        first_stage = risk.first_stage_of(result.plan, result.stock, result.unmet)
    result.stress = risk.named_stress_table(dataset, instance, *first_stage)
    result.metrics["worst_stress_shortfall_t"] = (float(result.stress["shortfall_t"].max())
                                                  if len(result.stress) else 0.0)


def read_plan(model: pyo.ConcreteModel, instance: Instance) -> pd.DataFrame:
    routes = instance.routes
    bought = [(route, period, var.value) for (route, period), var in model.buy.items()
              if var.value is not None and var.value > 1e-9]
    if not bought:
        return pd.DataFrame(columns=PLAN_COLUMNS)
    route, period, tonnes = (list(column) for column in zip(*bought, strict=True))
    attributes = {column: routes[column].to_dict()
                  for column in ("origin", "hub", "market", "transit", "recovery_yield")}
    unit_cost = instance.unit_cost
    row_of = {r: i for i, r in enumerate(unit_cost.index)}
    column_of = {t: j for j, t in enumerate(unit_cost.columns)}
    unit = unit_cost.to_numpy(dtype=float)[[row_of[r] for r in route],
                                           [column_of[t] for t in period]]
    tonnes_array = np.array(tonnes, dtype=float)
    return pd.DataFrame({
        "route": route,
        **{column: [attributes[column][r] for r in route]
           for column in ("origin", "hub", "market", "transit")},
        "period": period,
        "tonnes": tonnes_array,
        "delivered_t": tonnes_array * np.array([attributes["recovery_yield"][r] for r in route]),
        "unit_cost_usd_per_t": unit,
        "cost_usd": tonnes_array * unit,
    }, columns=PLAN_COLUMNS)


def _market_period_table(variable: pyo.Var, column: str) -> pd.DataFrame:
    rows = [{"market": market, "period": period, column: max(var.value or 0.0, 0.0)}
            for (market, period), var in variable.items()]
    return pd.DataFrame(rows, columns=["market", "period", column])


def cost_breakdown(plan: pd.DataFrame, unmet: pd.DataFrame, stock: pd.DataFrame,
                   instance: Instance) -> dict[str, float]:
    """Purchase, freight, processing, holding and unmet-demand penalty, in $ over the horizon."""
    routes = instance.routes
    tonnes = plan["tonnes"].to_numpy(dtype=float)
    # By position: pandas' label lookups cost more than the sums on a few dozen plan rows.
    rows = instance.purchase_price.index.get_indexer(plan["route"])
    columns = instance.purchase_price.columns.get_indexer(plan["period"])
    if len(plan) and (rows.min() < 0 or columns.min() < 0):
        raise KeyError("a plan row's route or period is not in this instance")
    prices = instance.purchase_price.to_numpy(dtype=float)[rows, columns]
    positions = instance.route_positions(plan["route"])
    freight = routes["freight_usd_per_t"].to_numpy(dtype=float)[positions]
    fee = routes["fee_usd_per_t"].to_numpy(dtype=float)[positions]
    return {
        "purchase": float(prices @ tonnes),
        "freight": float(freight @ tonnes),
        "processing": float(fee @ tonnes),
        "holding": float(instance.holding_cost * stock["stock_t"].sum()),
        "unmet_penalty": float(instance.unmet_penalty * unmet["unmet_t"].sum()),
    }


def plan_metrics(result: SolveResult, instance: Instance) -> dict[str, float]:
    plan = result.plan
    total_demand = float(instance.demand.to_numpy().sum())
    unmet = float(result.unmet["unmet_t"].sum())
    exposure = result.exposure.set_index("power")
    values: dict[str, float] = {
        "total_demand_t": total_demand,
        "delivered_t": float(plan["delivered_t"].sum()),
        "unmet_t": unmet,
        "unmet_share": unmet / total_demand if total_demand > 0 else 0.0,
        "cost_per_t": result.total_cost / total_demand if total_demand > 0 else math.nan,
        "naive_hhi": metrics.naive_hhi(plan, instance),
        "effective_hhi": metrics.effective_hhi(plan, instance),
        "average_risk_score": metrics.average_risk(plan, instance),
        "average_lead_time_days": metrics.average_lead_time(plan, instance),
        "final_stock_t": float(result.stock.loc[result.stock["period"] == instance.periods[-1],
                                                "stock_t"].sum()),
    }
    for power in exposure.index:
        values[f"exposure_naive:{power}"] = float(exposure.at[power, "naive"])
        values[f"exposure_effective:{power}"] = float(exposure.at[power, "effective"])
    for row in result.shares.itertuples(index=False):
        values[f"demand_share:{row.origin}"] = float(row.demand_share)
    return values


# --- duals in domain words -------------------------------------------------------------------

def _describe(family: str, index: tuple, instance: Instance) -> tuple[float, str, str]:
    """(scale, unit, meaning) turning a raw dual ($ per unit of the row's right-hand side) into
    the value of relaxing the limit by one domain unit: the family's own wording
    (`families.FAMILIES`)."""
    return families.family(family).describe(index, instance)


# Every family with a dual wording, user limits included (CVaR and unmet-demand limits too).
CONSTRAINT_FAMILIES = tuple(f.name for f in families.reported())


def read_duals(model: pyo.ConcreteModel, instance: Instance) -> pd.DataFrame:
    """Binding constraints with their shadow prices in domain units.

    ``value`` is the change in total cost (objective) per unit named in ``unit`` when the limit
    is relaxed: positive means relaxing saves that much; for demand it is what one more tonne
    costs. A limit over the whole horizon (a CVaR limit) has no index and no period (None).
    """
    rows = []
    for family in families.reported():
        for key, constraint in family.rows(model).items():
            dual = model.dual.get(constraint)
            if dual is None or abs(dual) <= DUAL_TOLERANCE:
                continue
            scale, unit, meaning = _describe(family.name, key, instance)
            rows.append({
                "constraint": family.name,
                "index": " / ".join(str(k) for k in key),
                "period": key[-1] if key else None,
                "dual": float(dual),
                "value": float(dual) * scale,
                "unit": unit,
                "meaning": meaning,
            })
    frame = pd.DataFrame(rows, columns=["constraint", "index", "period", "dual", "value", "unit",
                                        "meaning"])
    if any(row["period"] is None for row in rows):
        # Years stay integers next to a horizon-wide row (pandas would turn them into floats).
        frame["period"] = pd.Series([row["period"] for row in rows], dtype=object)
    return frame.reset_index(drop=True)
