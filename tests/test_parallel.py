"""Independent solves in parallel: the same floats as the serial run, failures reported.

Every sweep runs on small cases (a one- or two-year horizon, few scenarios, a subset of
tables) once serially and once on two local worker processes, and the two must be equal to
the last bit (``check_exact``, ``==`` on floats). One test runs them on a Dask ``LocalCluster``
with two worker *processes*: the deployment shape, where tasks and data are pickled to other
interpreters, which threads would not exercise.
"""

from __future__ import annotations

import importlib
import json
import math
import operator
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from stibium.cli import main
from stibium.model import StibiumInputError, Strategy, compare, load_strategy
from stibium.model.errors import StrategyError
from stibium.model.montecarlo import montecarlo
from stibium.model.parallel import TaskOutcome, run_tasks
from stibium.model.sensitivity import tornado
from stibium.model.stress import stress_tests

SHORT = {"first_period": 2026, "last_period": 2027}


def short(name: str) -> Strategy:
    return load_strategy(name).with_changes(**SHORT)


# --- the executor ------------------------------------------------------------------------------

def raise_input_error(shared: object, task: str) -> str:
    if task == "bad":
        raise StrategyError(f"'{task}' is not a strategy")
    return task.upper()


def die_on_zero(shared: object, task: int) -> int:
    if task == 0:
        os._exit(3)  # a worker that crashes (a segfault in a solver looks the same)
    return task


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_task_is_reported_with_its_label_and_the_others_complete(workers):
    outcomes = run_tasks(operator.truediv, [1, 0, 4, 8], shared=2.0, workers=workers,
                         labels=["one", "zero", "four", "eight"])
    assert [o.label for o in outcomes] == ["one", "zero", "four", "eight"]
    assert [o.value for o in outcomes] == [2.0, None, 0.5, 0.25]
    failed = outcomes[1]
    assert not failed.ok and failed.error_type == "ZeroDivisionError"
    assert failed.message == "float division by zero" and not failed.input_error
    assert failed.describe() == "zero: ZeroDivisionError: float division by zero"
    assert "Traceback" in failed.traceback
    assert all(o.ok for i, o in enumerate(outcomes) if i != 1)


def test_input_errors_are_marked_as_such():
    outcomes = run_tasks(raise_input_error, ["good", "bad"], workers=2)
    assert outcomes[0].value == "GOOD"
    assert outcomes[1].input_error and outcomes[1].error_type == "StrategyError"
    assert outcomes[1].message == "'bad' is not a strategy"


def test_progress_counts_every_task():
    seen: list[tuple[int, int]] = []
    run_tasks(operator.add, [1, 2, 3], shared=1, workers=2,
              progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_a_dead_worker_is_reported_not_lost():
    outcomes = run_tasks(die_on_zero, [5, 0, 6, 7], workers=2)
    assert len(outcomes) == 4
    assert outcomes[1].error_type == "BrokenProcessPool"
    # The tasks that finished before the crash keep their values; the others say why not.
    for task, outcome in zip([5, 0, 6, 7], outcomes, strict=True):
        assert outcome.value == task if outcome.ok else outcome.error


def test_bad_executor_settings_are_input_errors():
    with pytest.raises(StibiumInputError, match="at least 1"):
        run_tasks(operator.add, [1], shared=1, workers=0)
    with pytest.raises(StibiumInputError, match="not both"):
        run_tasks(operator.add, [1], shared=1, workers=2, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(StibiumInputError, match="cannot be reached"):
        run_tasks(operator.add, [1], shared=1, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(StibiumInputError, match="not an address"):
        run_tasks(operator.add, [1], shared=1, scheduler="no-port")
    assert run_tasks(operator.add, [], shared=1) == []


def test_without_dask_the_scheduler_option_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    with pytest.raises(StibiumInputError, match=r"pip install 'stibium\[dask\]'"):
        run_tasks(operator.add, [1], shared=1, scheduler="tcp://127.0.0.1:8786")


# --- each process computes the same floats ------------------------------------------------------

REPEAT = """
from stibium.model import build_instance, load_dataset, load_strategy, solve
data = load_dataset()
strategy = load_strategy("dependency-aware").with_changes(first_period=2026, last_period=2027)
weights = build_instance(data, strategy).routes.filter(like="aware:")
print(weights.to_numpy().tobytes().hex(), repr(solve(data, strategy).total_cost))
"""


def test_results_repeat_across_processes_with_other_string_hashing():
    """Workers are other interpreters, each with its own string-hash seed: nothing may depend
    on the iteration order of a set of names (the leverage product over a route's countries
    once did, by one ulp of the exposure weights and so of the optimum)."""
    printed = set()
    for seed in ("0", "2"):
        completed = subprocess.run([sys.executable, "-c", REPEAT], capture_output=True,
                                   text=True, timeout=300,
                                   env={**os.environ, "PYTHONHASHSEED": seed})
        assert completed.returncode == 0, completed.stderr
        printed.add(completed.stdout)
    assert len(printed) == 1


# --- each sweep: two workers give the serial run's floats ---------------------------------------

def assert_same_frames(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_tornado_in_parallel_equals_serial(shipped):
    strategy = short("dependency-aware")
    serial = tornado(shipped, strategy, tables=["prices", "parameters"], workers=1)
    parallel = tornado(shipped, strategy, tables=["prices", "parameters"], workers=2)
    assert len(serial) == 6  # two prices in the horizon, four parameters
    assert (serial["status"] == "optimal").all()
    assert_same_frames(serial, parallel)
    assert serial.attrs == parallel.attrs and serial.attrs["failures"] == []
    assert serial["cost_swing"].max() > 0


def test_compare_in_parallel_equals_serial(shipped):
    strategies = [short("cheapest"), short("naive-diversified"), short("min-cvar")]
    serial_table, serial_results = compare(shipped, strategies, workers=1)
    table, results = compare(shipped, strategies, workers=2)
    assert_same_frames(serial_table, table)
    assert list(results) == list(serial_results)
    for name, result in results.items():
        alone = serial_results[name]
        assert result.total_cost == alone.total_cost and result.metrics == alone.metrics
        for attribute in ("plan", "stock", "exposure", "duals", "scenarios", "stress"):
            assert_same_frames(getattr(alone, attribute), getattr(result, attribute))


def test_stress_replays_in_parallel_equal_serial_and_single_replays(shipped):
    from stibium.model.stress import stress_test

    strategy = short("naive-diversified")
    events = list(shipped["events"]["event"])
    serial = stress_tests(shipped, strategy, events, workers=1)
    parallel = stress_tests(shipped, strategy, events, workers=2)
    assert [o.label for o in parallel] == [o.label for o in serial]
    assert all(o.ok for o in serial + parallel)
    assert [o.value.to_dict() for o in serial] == [o.value.to_dict() for o in parallel]
    alone = stress_test(shipped, strategy, event=events[2])
    assert alone.to_dict() == parallel[2].value.to_dict()


def test_montecarlo_in_parallel_equals_serial(shipped):
    strategy = short("dependency-aware")
    serial = montecarlo(shipped, strategy, batches=4, samples=150, workers=1)
    parallel = montecarlo(shipped, strategy, batches=4, samples=150, workers=2)
    assert serial.ok and parallel.ok
    assert_same_frames(serial.batches, parallel.batches)
    assert_same_frames(serial.summary, parallel.summary)
    assert serial.exact == parallel.exact
    assert list(serial.batches["seed"]) == [42, 43, 44, 45]
    # Different seeds, different draws: the batches are not copies of one another.
    assert serial.batches["expected_shortfall_t"].nunique() == 4


# --- failures inside sweeps ----------------------------------------------------------------------

def test_compare_reports_a_bad_strategy_and_solves_the_others_in_parallel(shipped):
    broken = Strategy(name="broken", origin_caps={"Atlantis": 0.1}, **SHORT)
    table, results = compare(shipped, [short("cheapest"), broken, short("dependency-aware")],
                             workers=2)
    rows = table.set_index("strategy")
    assert rows.at["broken", "status"] == "error"
    assert "Atlantis" in rows.at["broken", "message"]
    assert set(results) == {"cheapest", "dependency-aware"}
    assert (rows.drop(index="broken")["status"] == "optimal").all()


def test_cli_compare_shows_a_failed_solve_and_exits_1(monkeypatch, capsys):
    # `stibium.model.compare` the attribute is the function; the module is in sys.modules.
    module = importlib.import_module("stibium.model.compare")
    real_solve = module.solve

    def flaky(dataset, strategy):
        if strategy.name == "cheapest":
            raise RuntimeError("HiGHS lost its way")
        return real_solve(dataset, strategy)

    monkeypatch.setattr(module, "solve", flaky)
    code = main(["compare", "cheapest", "naive-diversified", "--workers", "1", "--json"])
    captured = capsys.readouterr()
    rows = {row["strategy"]: row for row in json.loads(captured.out)["strategies"]}
    assert code == 1
    assert rows["cheapest"]["status"] == "failed"
    assert rows["cheapest"]["message"] == "RuntimeError: HiGHS lost its way"
    assert rows["naive-diversified"]["status"] == "optimal"
    assert captured.err.strip() == ("stibium: 1 of 2 tasks failed; cheapest: RuntimeError: "
                                    "HiGHS lost its way")


def test_tornado_marks_a_failed_solve(shipped, monkeypatch):
    import stibium.model.sensitivity as module

    strategy = load_strategy("dependency-aware").with_changes(first_period=2026,
                                                             last_period=2026)
    estimates = shipped.estimates()
    price = estimates[estimates["table"] == "prices"].iloc[0]
    real_solve = module.solve

    def flaky(dataset, strategy, **options):
        if dataset["prices"].at[price["row"], "benchmark_usd_per_t"] == price["low"]:
            raise MemoryError("out of memory")
        return real_solve(dataset, strategy, **options)

    monkeypatch.setattr(module, "solve", flaky)
    table = tornado(shipped, strategy, tables=["prices"], workers=1)
    assert len(table) == 1
    assert table.at[0, "status"] == "failed: MemoryError: out of memory"
    assert math.isnan(table.at[0, "cost_low"]) and math.isfinite(table.at[0, "cost_high"])
    assert table.attrs["failures"] == [
        f"prices {price['key']} benchmark_usd_per_t = {price['low']:g} (low): MemoryError: "
        f"out of memory"]


def toy_strategy(toy_dir) -> str:
    path = toy_dir.parent / "toy.toml"
    path.write_text('name = "toy"\n')
    return str(path)


def test_cli_montecarlo_reports_a_failed_batch_and_exits_1(toy_dir, monkeypatch, capsys):
    # `stibium.model.montecarlo` the attribute is the function; the module is in sys.modules.
    module = importlib.import_module("stibium.model.montecarlo")

    real_sample = module.sample_scenarios

    def flaky(dataset, periods, samples, seed, **options):
        if seed == 43:
            raise ValueError("bad draw")
        return real_sample(dataset, periods, samples, seed, **options)

    monkeypatch.setattr(module, "sample_scenarios", flaky)
    code = main(["montecarlo", "--data", str(toy_dir), "--strategy", toy_strategy(toy_dir),
                 "--batches", "3", "--samples", "50", "--workers", "1", "--json"])
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    assert code == 1
    assert [b["status"] for b in payload["batches"]] == ["ok", "failed", "ok"]
    assert payload["batches"][1]["message"] == "ValueError: bad draw"
    assert payload["batches"][1]["expected_shortfall_t"] is None
    assert payload["failures"] == ["batch 2 (seed 43): ValueError: bad draw"]
    assert "1 of 4 tasks failed" in captured.err
    summary = payload["summary"]["expected_shortfall_t"]
    ran = [payload["batches"][i]["expected_shortfall_t"] for i in (0, 2)]
    assert summary["mean"] == pytest.approx(np.mean(ran))


# --- Monte Carlo figures, recomputed independently ------------------------------------------------

def test_montecarlo_batches_recomputed_from_the_draws(toy):
    """Toy: the optimal plan buys 10 t on B→HP, which 'P acts' (p = 0.1) cuts entirely (no
    spot market, no stock), and nothing else touches. So each batch's expected shortfall is 10
    times the share of its draws in which P acts, drawn exactly as the sampler draws (events
    first: one uniform per sample and event, in the events' order)."""
    result = montecarlo(toy, Strategy(), batches=3, samples=400, seed=7, workers=1)
    for row in result.batches.itertuples(index=False):
        draws = np.random.default_rng(row.seed).random((400, 2)) < np.array([0.1, 0.2])
        share = draws[:, 0].mean()
        assert row.expected_shortfall_t == pytest.approx(10.0 * share, rel=1e-9)
        assert row.cvar_shortfall_t == pytest.approx(10.0)  # P acts in more than 5% of draws
    assert result.exact["expected_shortfall_t"] == pytest.approx(1.0)  # 10 t × p = 0.1
    spread = result.summary.loc["expected_shortfall_t"]
    assert spread["min"] <= spread["mean"] <= spread["max"] and spread["std"] > 0


def test_montecarlo_of_a_hand_typed_plan(toy, tmp_path):
    from stibium.model import read_plan_csv

    path = tmp_path / "plan.csv"
    path.write_text("origin,hub,market,period,tonnes\nA,HA,M,2030,10\n")
    plan = read_plan_csv(toy, Strategy(), path)
    result = montecarlo(toy, Strategy(), plan=plan, batches=2, samples=300, workers=1,
                        severity="central")
    assert result.plan_source == "hand-typed"
    # A→HA is hit only by the A strike (p = 0.2, half of A): 5 t short when it strikes.
    assert result.exact["expected_shortfall_t"] == pytest.approx(1.0)
    for row in result.batches.itertuples(index=False):
        draws = np.random.default_rng(row.seed).random((300, 2)) < np.array([0.1, 0.2])
        assert row.expected_shortfall_t == pytest.approx(5.0 * draws[:, 1].mean(), rel=1e-9)


@pytest.mark.parametrize("settings, message", [
    ({"batches": 0}, "batches must be a whole number"),
    ({"samples": 2.5}, "samples must be a whole number"),
    ({"severity": "wild"}, "severity must be one of"),
])
def test_montecarlo_bad_settings(toy, settings, message):
    with pytest.raises(StibiumInputError, match=message):
        montecarlo(toy, Strategy(), workers=1, **settings)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stibium", *args], capture_output=True,
                          text=True, timeout=300)


def test_cli_montecarlo_json_is_the_same_with_two_workers(toy_dir):
    common = ("montecarlo", "--data", str(toy_dir), "--strategy", toy_strategy(toy_dir),
              "--batches", "3", "--samples", "80", "--json")
    serial = run(*common, "--workers", "1")
    parallel = run(*common, "--workers", "2")
    assert serial.returncode == 0 and parallel.returncode == 0, parallel.stderr
    assert serial.stdout == parallel.stdout
    payload = json.loads(parallel.stdout)
    assert {"batches", "summary", "exact", "failures"} <= payload.keys()
    assert [b["seed"] for b in payload["batches"]] == [42, 43, 44]


def test_cli_unreachable_scheduler_is_one_line_and_exit_2(toy_dir):
    completed = run("compare", toy_strategy(toy_dir), "--data", str(toy_dir), "--scheduler",
                    "tcp://127.0.0.1:1")
    assert completed.returncode == 2
    assert completed.stderr.strip() == ("stibium: Dask scheduler 'tcp://127.0.0.1:1': cannot "
                                        "be reached (Connection refused)")
    both = run("montecarlo", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


# --- Dask ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dask_scheduler():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_dask_cluster_gives_the_serial_results_and_reports_failures(shipped, dask_scheduler):
    outcomes = run_tasks(operator.truediv, [1, 0, 4], shared=2.0, scheduler=dask_scheduler)
    assert [o.value for o in outcomes] == [2.0, None, 0.5]
    assert outcomes[1].describe() == "task 2: ZeroDivisionError: float division by zero"

    strategies = [short("cheapest"), short("dependency-aware"),
                  Strategy(name="broken", origin_caps={"Atlantis": 0.1}, **SHORT)]
    serial_table, _ = compare(shipped, strategies, workers=1)
    table, _ = compare(shipped, strategies, scheduler=dask_scheduler)
    assert_same_frames(serial_table, table)
    assert list(table["status"]) == ["optimal", "optimal", "error"]

    serial = montecarlo(shipped, short("dependency-aware"), batches=3, samples=100, workers=1)
    distributed = montecarlo(shipped, short("dependency-aware"), batches=3, samples=100,
                             scheduler=dask_scheduler)
    assert_same_frames(serial.batches, distributed.batches)
    assert serial.exact == distributed.exact


def test_task_outcome_failure_keeps_the_first_line():
    outcome = TaskOutcome.failure("x", ValueError("first line\nsecond line"))
    assert outcome.message == "first line" and outcome.error == "ValueError: first line"
