"""Time the two-stage (scenario + CVaR) model through Pyomo against the same LP built directly.

Run: python benchmarks/bench_two_stage.py [--samples 1000 10000] [--years 10] [--repeat 1]
                                          [--formulation auto|both|plain|aggregated|trimmed]
                                          [--skip-checks] [--json FILE]

First a correctness check: for the shipped strategies (cheapest, naive-diversified,
dependency-aware: deterministic), dependency-aware with exact scenarios, the same with a
binding ``cvar_shortfall_limit``, and extra cases (one that switches on every other family:
stock target, initial stock, risk budget and price, hub and country caps, cost CVaR with a
limit; one where the bound unmet ≤ demand binds; one with ``max_unmet_share`` when the
strategy has it), the Pyomo optimum must equal the directly assembled LP's (relative 1e-6).

Then, per sample count N, the strategy dependency-aware with ``first_period=2026``,
``last_period=2026+years−1``, ``scenario_mode="sampled"``, ``scenario_samples=N``,
``scenario_seed=1``, ``cvar_shortfall_weight_usd_per_t=50000`` is timed, in wall seconds
(perf_counter) and in CPU seconds of the process (process_time, less sensitive to other load
on a shared machine):

- instance   ``build_instance`` (includes sampling and merging the scenarios)
- py build   ``build_model``
- py solve   ``solve_model``: standard-form compile + highspy hand-over + HiGHS + loading the
             primal solution and duals into the model; split, without changing what it does,
             into compile (``LinearStandardFormCompiler.write``), HiGHS (``Highs.run``) and the
             rest (arrays, hand-over, loading values and duals) by wrapping those two calls
- dir build  `direct_highspy.assemble` (numpy/scipy arrays) + ``Highs.passModel``
- dir solve  ``Highs.run`` + reading the solution, with the HiGHS options `solve_model` used
             (copied from its HiGHS object: e.g. it switches to IPM above a row count)

and the HiGHS iteration counts (simplex + IPM) of both, which, unlike times, do not depend on
what else the machine is doing.

``--formulation`` picks the direct LP: ``plain`` is build.py's formulation up to commit
2f4774a, ``aggregated`` the equivalent one with ``arrivals`` / ``first_stage_cost_value`` helper
variables (build.py from e0ed301 on); ``auto`` (default) uses ``aggregated`` when the Pyomo model
has an ``arrivals`` component, so that both sides hand HiGHS the same rows, columns and
nonzeros (in a different order); ``both`` times both. The ratio is
(py build + py solve) / (dir build + dir solve).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import highspy
import numpy as np
import pyomo.environ as pyo
import pyomo.version

from stibium.model import build_instance, load_dataset, load_strategy
from stibium.model.build import build_model
from stibium.model.highs import solve_model
from stibium.model.second_stage import SecondStage

sys.path.insert(0, str(Path(__file__).resolve().parent))
from direct_highspy import FORMULATIONS, solve_direct_full  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TOLERANCE = 1e-6


def close(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE * max(1.0, abs(a))


def model_state() -> str:
    """Where stibium.model is imported from: the commit and a digest of its *.py files (the
    working tree may hold uncommitted edits; PYTHONPATH may point at a snapshot)."""
    import stibium.model

    folder = Path(stibium.model.__file__).resolve().parent
    digest = hashlib.sha1()
    for path in sorted(folder.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    state = f"model from {folder}, *.py sha1 {digest.hexdigest()[:12]}"
    if folder.is_relative_to(REPO):
        try:
            commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                                    capture_output=True, text=True, check=True).stdout.strip()
            dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "model",
                                    "data"], capture_output=True, text=True,
                                   check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return state
        state += f", commit {commit}" + (" + uncommitted changes in model/ or data/"
                                         if dirty else "")
    return state


def formulations_for(model: pyo.ConcreteModel, choice: str) -> list[str]:
    matched = matched_formulation(model)
    if choice == "auto":
        return [matched]
    if choice == "both":
        return [matched] + [f for f in FORMULATIONS if f != matched]
    return [choice]


def matched_formulation(model: pyo.ConcreteModel) -> str:
    """The direct LP with the same rows, columns and nonzeros as this Pyomo model."""
    if hasattr(model, "OPEN"):
        return "trimmed"
    return "aggregated" if hasattr(model, "arrivals") else "plain"


def has_bounded_unmet(model: pyo.ConcreteModel) -> bool:
    """build.py from e4cd368 on bounds unmet (and short) by demand: see direct_highspy."""
    return next(iter(model.unmet.values())).ub is not None


# --- correctness ------------------------------------------------------------------------------

def shortfall_cvar(direct_result, instance) -> float:
    """CVaR_β of the scenario shortfall (planned unmet + short) of a direct solution, by sorting
    the losses: the average of the worst (1 − β) probability mass."""
    layout = direct_result.direct.columns
    values = direct_result.col_value
    start, count = layout["unmet"]
    planned = float(values[start:start + count].sum())
    start, count = layout["short"]
    K = len(instance.recourse.scenarios)
    if count == K * len(instance.markets) * len(instance.periods):
        losses = planned + values[start:start + count].reshape(K, -1).sum(axis=1)
    else:  # trimmed: short exists from each scenario's onset on
        scenario_of_cell = SecondStage.of(instance).open_cells()[0]
        losses = planned + np.bincount(scenario_of_cell, weights=values[start:start + count],
                                       minlength=K)
    probability = np.asarray(instance.recourse.probability, dtype=float)
    tail, taken, total = 1.0 - instance.cvar_beta, 0.0, 0.0
    for k in np.argsort(-losses, kind="stable"):
        share = min(probability[k], tail - taken)
        if share <= 0:
            break
        total += share * losses[k]
        taken += share
    return total / tail


def check_case(dataset, label: str, strategy, choice: str) -> dict:
    instance = build_instance(dataset, strategy)
    model = build_model(instance)
    status, probe = solve_probed(model)
    assert status == "optimal", f"{label}: Pyomo status {status}"
    objective = float(pyo.value(model.total_cost))
    row = {"case": label, "scenarios": (len(instance.recourse.scenarios)
                                        if instance.recourse is not None else 0),
           "pyomo": objective, "direct": {}}
    for formulation in formulations_for(model, choice):
        result = solve_direct_full(instance, formulation, probe.options,
                                   bounded=has_bounded_unmet(model))
        assert result.status == "Optimal", f"{label}/{formulation}: HiGHS {result.status}"
        row["direct"][formulation] = result
        assert close(objective, result.objective), (
            f"{label}: Pyomo {objective!r} ≠ direct ({formulation}) {result.objective!r}")
    row["instance"] = instance
    return row


def correctness(dataset, choice: str) -> None:
    base = load_strategy("dependency-aware")
    cases = [(name, load_strategy(name))
             for name in ("cheapest", "naive-diversified", "dependency-aware")]
    exact = base.with_changes(scenario_mode="exact")
    cases.append(("dependency-aware exact", exact))
    print(f"{'case':<38} {'scen':>5} {'rows':>6} {'cols':>6} {'Pyomo objective':>18} "
          f"{'direct objective':>18} {'rel diff':>9}  formulation")
    results = {}

    def report(label, strategy):
        row = check_case(dataset, label, strategy, choice)
        for formulation, result in row["direct"].items():
            diff = abs(row["pyomo"] - result.objective) / max(1.0, abs(row["pyomo"]))
            print(f"{label:<38} {row['scenarios']:>5} {result.direct.num_row:>6} "
                  f"{result.direct.num_col:>6} {row['pyomo']:>18.6f} {result.objective:>18.6f} "
                  f"{diff:>9.1e}  {formulation}")
        results[label] = row
        return row

    for label, strategy in cases:
        report(label, strategy)
    neutral = results["dependency-aware exact"]
    instance = neutral["instance"]
    cvar = shortfall_cvar(next(iter(neutral["direct"].values())), instance)
    total_demand = float(instance.demand.to_numpy().sum())
    limit = 0.8 * cvar / total_demand
    row = report(f"  + cvar_shortfall_limit={limit:.4f}",
                 exact.with_changes(cvar_shortfall_limit=limit))
    binding = row["pyomo"] > neutral["pyomo"] * (1 + 1e-9)
    limited = next(iter(row["direct"].values()))
    start, _ = limited.direct.rows["cvar_shortfall_limit"]
    print(f"    risk-neutral CVaR_{instance.cvar_beta:g} shortfall {cvar:.1f} t; limit "
          f"{0.8 * cvar:.1f} t; objective +{row['pyomo'] - neutral['pyomo']:.0f} $, limit dual "
          f"{limited.row_dual[start]:.4g}: {'binding' if binding else 'NOT binding'}")
    assert binding, "the CVaR limit should bind"
    report("extra: every family on (exact, 10 y)", exact.with_changes(
        first_period=2026, last_period=2035, stock_target_days=30, initial_stock_t=3000,
        risk_budget=0.65, risk_price_usd_per_t=2000, country_share_cap=0.5,
        hub_caps={"China smelters": 0.3}, spot_limit_share=0.3,
        cvar_shortfall_weight_usd_per_t=20000, cvar_cost_weight=0.2,
        cvar_cost_limit_usd=1e11))
    # Before e4cd368 unmet had no upper bound, and with a penalty below the supply cost and a
    # stock target, "unmet" tonnes above demand filled the stockpile; from e4cd368 on
    # unmet ≤ demand binds here. The direct LP follows whichever the model has.
    report("extra: stock target 60 d, penalty 30k", base.with_changes(
        stock_target_days=60, unmet_penalty_usd_per_t=30000))
    if hasattr(base, "max_unmet_share"):
        report("extra: exact, max_unmet_share 0.05", exact.with_changes(
            max_unmet_share=0.05, unmet_penalty_usd_per_t=20000))
    print("all objectives equal (relative 1e-6)\n")


# --- timing -------------------------------------------------------------------------------------

def clock() -> np.ndarray:
    """(wall seconds, CPU seconds of this process): differences give both durations."""
    return np.array([time.perf_counter(), time.process_time()])


class SolveProbe:
    """Inside ``solve_model``: time the standard-form compile and ``Highs.run``, and keep the
    HiGHS object it used (options, iteration counts). Wraps the calls, changes nothing else."""

    def __enter__(self) -> SolveProbe:
        from pyomo.repn.plugins import standard_form

        # The one hand-over to HiGHS, where every solve gets its silent HiGHS.
        solve_module = importlib.import_module("stibium.model.highs")
        self.compile_s = np.zeros(2)
        self.highs_s = np.zeros(2)
        self.highs = None
        self._solve_module, self._standard_form = solve_module, standard_form
        self._quiet_highs = solve_module.quiet_highs
        self._write = standard_form.LinearStandardFormCompiler.write
        probe, original_quiet, original_write = self, self._quiet_highs, self._write
        base = type(original_quiet())

        class TimedHighs(base):
            def run(self):
                started = clock()
                status = base.run(self)
                probe.highs_s += clock() - started
                return status

        def quiet_highs():
            highs = TimedHighs()
            highs.passOptions(original_quiet().getOptions())
            probe.highs = highs
            return highs

        def write(compiler, *args, **kwargs):
            started = clock()
            form = original_write(compiler, *args, **kwargs)
            probe.compile_s += clock() - started
            return form

        solve_module.quiet_highs = quiet_highs
        standard_form.LinearStandardFormCompiler.write = write
        return self

    def __exit__(self, *exc) -> None:
        self._solve_module.quiet_highs = self._quiet_highs
        self._standard_form.LinearStandardFormCompiler.write = self._write

    @property
    def options(self):
        return self.highs.getOptions() if self.highs is not None else None

    @property
    def solver(self) -> str:
        return self.options.solver if self.highs is not None else "?"

    @property
    def iterations(self) -> int:
        if self.highs is None:
            return -1
        info = self.highs.getInfo()
        return int(info.simplex_iteration_count + info.ipm_iteration_count)


def solve_probed(model: pyo.ConcreteModel) -> tuple[str, SolveProbe]:
    with SolveProbe() as probe:
        status = solve_model(model)
    return status, probe


def time_once(dataset, strategy, choice: str) -> dict:
    gc.collect()
    t0 = clock()
    instance = build_instance(dataset, strategy)
    t1 = clock()
    model = build_model(instance)
    t2 = clock()
    status, probe = solve_probed(model)
    t3 = clock()
    assert status == "optimal", status
    objective = float(pyo.value(model.total_cost))
    run = {"scenarios": len(instance.recourse.scenarios), "instance_s": t1 - t0,
           "py_build_s": t2 - t1, "py_solve_s": t3 - t2, "compile_s": probe.compile_s,
           "highs_s": probe.highs_s, "rest_s": (t3 - t2) - probe.compile_s - probe.highs_s,
           "iterations": probe.iterations, "solver": probe.solver, "objective": objective,
           "matched": matched_formulation(model), "direct": {}}
    chosen = formulations_for(model, choice)
    options, bounded = probe.options, has_bounded_unmet(model)
    run["bounded"] = bounded
    del model, probe
    gc.collect()
    for formulation in chosen:
        result = solve_direct_full(instance, formulation, options, bounded=bounded)
        assert result.status == "Optimal", result.status
        assert close(objective, result.objective), (
            f"N={strategy.scenario_samples}: Pyomo {objective!r} ≠ direct ({formulation}) "
            f"{result.objective!r}")
        run["direct"][formulation] = {
            "build_s": np.array([result.build_seconds, result.build_cpu_seconds]),
            "solve_s": np.array([result.solve_seconds, result.solve_cpu_seconds]),
            "objective": result.objective, "iterations": result.iterations,
            "rows": result.direct.num_row, "cols": result.direct.num_col,
            "nnz": result.direct.num_nz}
        del result
        gc.collect()
    return run


def median_run(runs: list[dict]) -> dict:
    """Per timing (a (wall, CPU) pair, keys ending in _s), the median over the runs."""
    def merged(dicts: list[dict]) -> dict:
        return {k: (np.median([d[k] for d in dicts], axis=0) if k.endswith("_s") else v)
                for k, v in dicts[0].items()}

    out = merged(runs)
    out["direct"] = {f: merged([r["direct"][f] for r in runs]) for f in runs[0]["direct"]}
    return out


def print_tables(results: list[dict], which: int, title: str) -> None:
    print(f"\n{title}")
    print(f"{'samples':>7} {'scen':>5} {'direct LP':>11} {'rows':>7} {'cols':>7} {'nnz':>8} "
          f"{'instance':>8} {'py build':>8} {'py solve':>8} {'dir build':>9} {'dir solve':>9} "
          f"{'ratio':>6} {'HiGHS it':>8}")
    for run in results:
        pyomo_total = run["py_build_s"][which] + run["py_solve_s"][which]
        for formulation, d in run["direct"].items():
            ratio = pyomo_total / (d["build_s"][which] + d["solve_s"][which])
            tag = formulation + ("*" if formulation == run["matched"] else "")
            print(f"{run['samples']:>7} {run['scenarios']:>5} {tag:>11} {d['rows']:>7} "
                  f"{d['cols']:>7} {d['nnz']:>8} {run['instance_s'][which]:>8.3f} "
                  f"{run['py_build_s'][which]:>8.3f} {run['py_solve_s'][which]:>8.3f} "
                  f"{d['build_s'][which]:>9.3f} {d['solve_s'][which]:>9.3f} {ratio:>6.2f} "
                  f"{d['iterations']:>8}")
    print("(* = the formulation of the Pyomo model as built now; ratio = (py build + py solve) "
          "/ (dir build + dir solve); HiGHS it = iterations on the direct LP)")
    if which == 0:
        for run in results:
            differences = ", ".join(
                f"{f} {d['objective']:.6f} (rel diff "
                f"{abs(d['objective'] - run['objective']) / max(1.0, abs(run['objective'])):.1e})"
                for f, d in run["direct"].items())
            print(f"objective N={run['samples']}: Pyomo {run['objective']:.6f}; direct "
                  f"{differences}")
    print("solve_model split into its stages, and the modelling overhead (everything but "
          "HiGHS):")
    print(f"{'samples':>7} {'solver':>7} {'compile':>8} {'HiGHS':>8} {'rest':>6} {'HiGHS it':>8}"
          f"  | {'py build+compile+rest':>21} {'dir build':>9} {'overhead':>8}")
    for run in results:
        d = run["direct"][run["matched"]]
        overhead = run["py_build_s"][which] + run["compile_s"][which] + run["rest_s"][which]
        print(f"{run['samples']:>7} {run['solver']:>7} {run['compile_s'][which]:>8.3f} "
              f"{run['highs_s'][which]:>8.3f} {run['rest_s'][which]:>6.3f} "
              f"{run['iterations']:>8}  | {overhead:>21.3f} {d['build_s'][which]:>9.3f} "
              f"{overhead / d['build_s'][which]:>7.0f}×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--formulation", default="auto",
                        choices=["auto", "both", *FORMULATIONS])
    parser.add_argument("--skip-checks", action="store_true")
    parser.add_argument("--json", metavar="FILE", help="also write the timings to FILE")
    args = parser.parse_args()
    dataset = load_dataset()
    state = model_state()
    print(f"stibium: {state}")
    print(f"python {platform.python_version()}, pyomo {pyomo.version.version}, highspy "
          f"{getattr(highspy, '_Highs', highspy.Highs)().version()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}\n")
    if not args.skip_checks:
        correctness(dataset, "both")
    base = load_strategy("dependency-aware")

    def strategy_for(samples: int):
        return base.with_changes(first_period=2026, last_period=2026 + args.years - 1,
                                 scenario_mode="sampled", scenario_samples=samples,
                                 scenario_seed=1, cvar_shortfall_weight_usd_per_t=50000)

    # Warm-up (imports, first-call caches) so that the first timed run does not pay for them.
    time_once(dataset, strategy_for(10), "both")
    results = []
    for samples in args.samples:
        strategy = strategy_for(samples)
        runs = [time_once(dataset, strategy, args.formulation)
                for _ in range(args.repeat)]
        run = median_run(runs)
        run["samples"] = samples
        results.append(run)
        print(f"N={samples}: done ({run['scenarios']} unique scenarios)", flush=True)

    print(f"\ndependency-aware, sampled, {args.years} years, seed 1, CVaR shortfall weight "
          f"50000 $/t; median of {args.repeat}")
    for which, title in ((0, "wall seconds (perf_counter)"),
                         (1, "CPU seconds of the process (process_time)")):
        print_tables(results, which, title)
    if args.json:
        import json

        def plain(value):
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            return value.tolist() if isinstance(value, np.ndarray) else value

        Path(args.json).write_text(json.dumps({"model": state, "years": args.years,
                                               "repeat": args.repeat,
                                               "runs": [plain(r) for r in results]}, indent=1))
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (1 min), "
          f"{os.getloadavg()[1]:.2f} (5 min)")
    after = model_state()
    if after != state:
        print(f"\nWARNING: model/*.py changed during the run (now {after})")


if __name__ == "__main__":
    main()
