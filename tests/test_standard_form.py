"""The numpy matrices handed to Pyomo's standard-form compiler behave like scipy's."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from stibium.model.highs import CompressedMatrix


def _random_rows(rng: np.random.Generator) -> tuple[tuple, list[int]]:
    n_rows, n_cols = (int(x) for x in rng.integers(1, 9, 2))
    count = int(rng.integers(0, 25))
    rows = np.sort(rng.integers(0, n_rows, count))
    cols = rng.integers(0, n_cols, count)
    values = rng.choice([0.0, 1.0, -2.5, 3.0, 1e-3], count)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_rows))])
    return (values, cols, indptr), [n_rows, n_cols]


@pytest.mark.parametrize("seed", range(40))
def test_matches_scipy_on_random_matrices(seed: int) -> None:
    rng = np.random.default_rng(seed)
    arrays, shape = _random_rows(rng)
    ours = CompressedMatrix.by_rows(arrays, shape).tocsc()
    ours.sum_duplicates()
    ours.eliminate_zeros()
    theirs = sp.csr_array(arrays, shape=tuple(shape)).tocsc()
    theirs.sum_duplicates()
    theirs.eliminate_zeros()
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(ours.indptr, theirs.indptr)
    np.testing.assert_array_equal(ours.indices, theirs.indices)
    np.testing.assert_allclose(ours.data, theirs.data)
    np.testing.assert_allclose(ours.toarray(), theirs.toarray())
    mask = rng.random(shape[1]) < 0.5
    x = rng.random(int(mask.sum()))
    np.testing.assert_allclose(ours[:, mask] @ x, theirs[:, mask] @ x)
    np.testing.assert_allclose(ours[:, mask].toarray(), theirs[:, mask].toarray())


def test_compiled_model_with_fixed_variable_matches_its_algebra() -> None:
    """A fixed variable moves to the right-hand side (the compiler's column selection and
    matrix-vector product), and duplicate terms are merged."""
    import pyomo.environ as pyo

    from stibium.model.highs import compile_standard_form

    model = pyo.ConcreteModel()
    model.x = pyo.Var(range(3), bounds=(0, 10))
    model.x[1].fix(4.0)
    model.row = pyo.Constraint(expr=2 * model.x[0] + 3 * model.x[1] + model.x[2] + model.x[2]
                               >= 20)
    model.objective = pyo.Objective(expr=model.x[0] + 5 * model.x[2])
    form = compile_standard_form(model)
    assert [v.name for v in form.columns] == ["x[0]", "x[2]"]
    np.testing.assert_allclose(form.A.toarray(), [[2.0, 2.0]])
    np.testing.assert_allclose(form.rhs, [20.0 - 12.0])
    np.testing.assert_allclose(form.c.toarray(), [[1.0, 5.0]])
