"""The shipped data with many sampled scenarios: `solve` by each method, and a cold CLI run.

    python benchmarks/bench_large.py [--samples 10000] [--years 10] [--repeat 3]
                                     [--methods decomposition extensive] [--no-cli]

The strategy is bench_grid's point: dependency-aware, ``scenario_mode="sampled"``,
``scenario_samples=N``, ``scenario_seed=1``, CVaR of shortfall priced at 50,000 $/t, over
2026 to 2026 + years − 1. Each solve runs in a fresh process that loads the data and calls
``stibium.model.solve(..., method=...)`` once, untimed, on one year and 10 samples (so that
first-call costs are not timed), then times the real solve end to end (instance, model, solve,
report with the scenario table and named stresses); it reports that wall time, the timings
the result carries, and its peak resident memory (``ru_maxrss``). The methods' objectives
must agree to a relative 1e-6. The cold CLI run is ``python -m stibium solve --strategy
FILE --json`` (FILE: the same strategy, from `Strategy.to_toml`) in a new process (imports,
data, solve, report), after one untimed run that warms the file cache.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from stibium.model import load_dataset, load_strategy, solve

samples, years, method = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
dataset = load_dataset()


def strategy(samples, years):
    return load_strategy("dependency-aware").with_changes(
        first_period=2026, last_period=2026 + years - 1, scenario_mode="sampled",
        scenario_samples=samples, scenario_seed=1, cvar_shortfall_weight_usd_per_t=50000)


solve(dataset, strategy(10, 1), method=method)
started = time.perf_counter()
result = solve(dataset, strategy(samples, years), method=method)
wall = time.perf_counter() - started
assert result.status == "optimal", result.message
print(json.dumps({"wall_s": wall, "objective": result.objective,
                  "scenarios": len(result.scenarios),
                  "timings": {k: float(v) for k, v in result.timings.items()},
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

STRATEGY = """
from stibium.model import load_strategy
import sys
print(load_strategy("dependency-aware").with_changes(
    first_period=2026, last_period=2026 + int(sys.argv[2]) - 1, scenario_mode="sampled",
    scenario_samples=int(sys.argv[1]), scenario_seed=1,
    cvar_shortfall_weight_usd_per_t=50000).to_toml())
"""


def run_child(samples: int, years: int, method: str) -> dict:
    finished = subprocess.run([sys.executable, "-c", CHILD, str(samples), str(years), method],
                              capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise SystemExit(f"{method}: {finished.stderr.strip()[-800:]}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def cold_cli(strategy_file: Path) -> float:
    command = [sys.executable, "-m", "stibium", "solve", "--strategy", str(strategy_file),
               "--json"]
    started = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise SystemExit(f"cold CLI: {finished.stderr.strip()[-800:]}")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--methods", nargs="+", default=["decomposition", "extensive"],
                        choices=["decomposition", "extensive", "auto"])
    parser.add_argument("--no-cli", action="store_true")
    args = parser.parse_args()
    objectives = {}
    print(f"shipped data, dependency-aware, {args.samples:,} samples over {args.years} years")
    for method in args.methods:
        runs = [run_child(args.samples, args.years, method) for _ in range(args.repeat)]
        walls = [r["wall_s"] for r in runs]
        best = min(runs, key=lambda r: r["wall_s"])
        objectives[method] = best["objective"]
        timings = ", ".join(f"{k} {v:.3g}" for k, v in best["timings"].items())
        print(f"{method:>13}: median {statistics.median(walls):.2f} s, max {max(walls):.2f} s; "
              f"peak {max(r['peak_mib'] for r in runs):.0f} MiB; {best['scenarios']} "
              f"scenarios; fastest run: {timings}; objective {best['objective']:.6f}")
    values = list(objectives.values())
    spread = (max(values) - min(values)) / max(1.0, abs(values[0]))
    if len(values) > 1:
        print(f"objectives agree to a relative {spread:.1e}")
    if not args.no_cli:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "large.toml"
            toml = subprocess.run([sys.executable, "-c", STRATEGY, str(args.samples),
                                   str(args.years)], capture_output=True, text=True,
                                  check=True).stdout
            path.write_text(toml, encoding="utf-8")
            cold_cli(path)  # the file cache
            walls = [cold_cli(path) for _ in range(args.repeat)]
        print(f"cold `stibium solve --strategy FILE --json` ({args.repeat} runs): median "
              f"{statistics.median(walls):.2f} s, max {max(walls):.2f} s")
    return 0 if spread <= 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
