"""The app's Frontier page for every kind of risk measure the CLI offers, driven with AppTest.

The page caches the frontier (`st.cache_data` pickles it), shows one row per limit, and a
picked point's plan: each measure must get there without an exception, with the API's numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stibium.model import load_dataset, load_strategy
from stibium.model.frontier import frontier
from stibium.ui import fmt, state
from tests.test_app import button, errors, go, metrics, new_app
from tests.test_results_pickle import FRONTIER_MEASURES

POINTS = 3


@pytest.fixture(autouse=True)
def runs_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Saved runs go to a throwaway SQLite file, never to the user's home."""
    monkeypatch.setenv("STIBIUM_RUNS_URL", f"sqlite:///{tmp_path / 'runs.sqlite'}")


@pytest.fixture(scope="module")
def shipped_data():
    return load_dataset()


@pytest.mark.parametrize("risk", FRONTIER_MEASURES)
def test_the_frontier_page_runs_every_measure_and_shows_a_picked_plan(shipped_data,
                                                                      risk: str) -> None:
    at = go(new_app(), "views/frontier.py")
    at.selectbox[0].set_value(risk)
    at.slider[0].set_value(POINTS)
    button(at, "Run frontier").click().run()
    assert not at.exception, at.exception
    assert not errors(at)
    expected = frontier(shipped_data, load_strategy("dependency-aware"), risk, points=POINTS)
    table = at.dataframe[0].value
    assert len(table) == POINTS
    assert list(table["status"]) == [p.status for p in expected.points]
    assert list(table["total_cost"]) == [fmt.money(p.total_cost) for p in expected.points]

    # The tightest point that buys anything (a risk budget of zero leaves all demand unmet):
    # its own figures and plan, not the first point's, which the page shows by default.
    chosen = max(i for i, p in enumerate(expected.points)
                 if p.status == "optimal" and not p.result.plan.empty)
    assert chosen > 0
    at.selectbox(key=state.W_FRONTIER_POINT).set_value(chosen).run()
    assert not at.exception, at.exception
    assert not errors(at)
    point = expected.points[chosen]
    shown = metrics(at)
    assert shown["Limit"] == f"{point.limit:.4g}"
    assert shown["Total cost"] == fmt.money(point.total_cost)
    plan = point.result.plan.pivot_table(index="route", columns="period", values="tonnes",
                                         aggfunc="sum", fill_value=0.0)
    pivot = at.dataframe[1].value
    assert list(pivot.index) == list(plan.index)
    assert list(pivot.columns) == [str(c) for c in plan.columns]
    np.testing.assert_allclose(pivot.to_numpy(dtype=float), plan.to_numpy(dtype=float),
                               rtol=1e-9, atol=1e-6)
