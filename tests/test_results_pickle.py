"""Every result the app caches or the CLI returns is plain data: it survives `pickle` (which is
how `st.cache_data` stores it and how results travel to worker processes) with its numbers.

Each study runs on the shipped data over a two-year horizon, so the file stays quick.
"""

from __future__ import annotations

import argparse
import pickle
from typing import Any

import pandas as pd
import pytest

from stibium.cli import build_parser
from stibium.model import compare, load_strategy, solve, stress_test
from stibium.model.diagnose import diagnose
from stibium.model.frontier import frontier
from stibium.model.montecarlo import montecarlo
from stibium.model.sensitivity import tornado
from stibium.model.stress import stress_tests

# One name per kind of risk measure `stibium frontier --risk` takes.
FRONTIER_MEASURES = ("cvar", "cvar-cost", "exposure:China", "origin:China", "risk-budget")


def round_trip(value: Any) -> Any:
    return pickle.loads(pickle.dumps(value))


@pytest.fixture(scope="module")
def short():
    return load_strategy("dependency-aware").with_changes(first_period=2026, last_period=2027)


def assert_same_result(copy: Any, original: Any) -> None:
    """Two `SolveResult`s with the same status, costs, tables and metrics."""
    assert copy.status == original.status
    assert copy.message == original.message
    assert copy.total_cost == pytest.approx(original.total_cost, rel=0, nan_ok=True)
    assert copy.objective == pytest.approx(original.objective, rel=0, nan_ok=True)
    assert copy.cost_breakdown == original.cost_breakdown
    for frame in ("plan", "unmet", "stock", "shares", "exposure", "duals", "scenarios",
                  "stress", "criticality"):
        pd.testing.assert_frame_equal(getattr(copy, frame), getattr(original, frame))
    assert copy.metrics == pytest.approx(original.metrics, rel=0, nan_ok=True)
    assert copy.diagnosis == original.diagnosis


def test_the_measures_here_are_every_kind_the_cli_offers() -> None:
    """A measure added to `stibium frontier --risk` must be added here (and to the app test)."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    risk = next(a for a in commands.choices["frontier"]._actions if a.dest == "risk")
    # "cvar | cvar-cost | exposure:<power> | ... (default: cvar)"
    offered = {part.strip().split(":")[0] for part in risk.help.split("(default")[0].split("|")}
    assert offered == {measure.split(":")[0] for measure in FRONTIER_MEASURES}


def test_a_solve_result_pickles(shipped, short) -> None:
    result = solve(shipped, short)
    assert result.is_optimal and not result.plan.empty and not result.stress.empty
    assert_same_result(round_trip(result), result)


def test_an_infeasible_result_and_its_diagnosis_pickle(shipped, short) -> None:
    strategy = short.with_changes(max_unmet_share=0.0, exposure_caps={"China": 0.05,
                                                                      "Russia": 0.05})
    result = solve(shipped, strategy)
    assert result.status == "infeasible" and result.diagnosis
    assert_same_result(round_trip(result), result)
    diagnosis = diagnose(shipped, strategy)
    assert diagnosis.relaxation
    copy = round_trip(diagnosis)
    assert copy.to_dict() == diagnosis.to_dict()
    assert copy.summary() == diagnosis.summary()


@pytest.mark.parametrize("risk", FRONTIER_MEASURES)
def test_a_frontier_pickles_for_every_measure(shipped, short, risk) -> None:
    swept = frontier(shipped, short, risk, points=3)
    # Pickled as it comes from the sweep, before anything reads a point (as the app's cache
    # does): a report still to be built must not hold on to the model either.
    copy = round_trip(swept)
    solved = [point for point in swept.points if point.status == "optimal"]
    assert solved and all(point.result is not None for point in solved)
    assert (copy.risk, copy.unit) == (swept.risk, swept.unit)
    pd.testing.assert_frame_equal(copy.table(), swept.table())
    for kept, point in zip(copy.points, swept.points, strict=True):
        if point.result is None:
            assert kept.result is None
        else:
            assert_same_result(kept.result, point.result)


def test_stress_results_pickle(shipped, short) -> None:
    result = stress_test(shipped, short, event="China export ban")
    copy = round_trip(result)
    assert copy.to_dict() == result.to_dict()
    pd.testing.assert_frame_equal(copy.by_period, result.by_period)
    # What the app's stress page caches: the outcomes of several replays.
    outcomes = stress_tests(shipped, short, ["China export ban", "Myanmar border closure"],
                            workers=1)
    assert all(outcome.ok for outcome in outcomes)
    copies = round_trip(outcomes)
    assert [c.value.to_dict() for c in copies] == [o.value.to_dict() for o in outcomes]


def test_a_comparison_pickles(shipped, short) -> None:
    strategies = [short, load_strategy("cheapest").with_changes(first_period=2026,
                                                                last_period=2027)]
    table, results = compare(shipped, strategies, workers=1)
    copy_table, copy_results = round_trip((table, results))
    pd.testing.assert_frame_equal(copy_table, table)
    assert set(copy_results) == set(results) == {"dependency-aware", "cheapest"}
    for name, result in results.items():
        assert_same_result(copy_results[name], result)


def test_a_monte_carlo_result_pickles(shipped, short) -> None:
    result = montecarlo(shipped, short, batches=2, samples=50, workers=1)
    assert result.ok
    copy = round_trip(result)
    assert copy.to_dict() == result.to_dict()
    pd.testing.assert_frame_equal(copy.summary, result.summary)


def test_a_tornado_pickles(shipped, short) -> None:
    table = tornado(shipped, short, tables=["prices"], workers=1)
    assert len(table) and not table.attrs.get("failures")
    copy = round_trip(table)
    pd.testing.assert_frame_equal(copy, table)
    assert copy.attrs == table.attrs
