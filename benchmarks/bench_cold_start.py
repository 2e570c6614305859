"""A cold `stibium solve`: a fresh interpreter each time, default strategy on the shipped data.

    python benchmarks/bench_cold_start.py [--repeat 5]

Each run is a new process (`python -m stibium solve`), so it pays for starting Python,
importing pandas, Pyomo and HiGHS, loading the data, building and solving the model, replaying
the plan on the exact disruption scenarios and the named stresses, and printing the report;
the operating system's file cache is warm after the first run (that is the usual case for a
user). Also timed: the same process importing the stack only, to show what the imports cost.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def _wall(command: list[str]) -> float:
    started = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if finished.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({finished.returncode}): "
                         f"{finished.stderr.strip()[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    solve = [sys.executable, "-m", "stibium", "solve"]
    imports = [sys.executable, "-c", "import pandas, pyomo.environ, highspy, stibium.model"]
    _wall(solve)  # the file cache, not the measurement
    solve_times = [_wall(solve) for _ in range(args.repeat)]
    import_times = [_wall(imports) for _ in range(args.repeat)]
    print(f"cold `stibium solve` ({args.repeat} runs): median "
          f"{statistics.median(solve_times):.2f} s, max {max(solve_times):.2f} s")
    print(f"  of which starting Python and importing the stack: median "
          f"{statistics.median(import_times):.2f} s")


if __name__ == "__main__":
    main()
