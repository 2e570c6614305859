"""Time building and solving the default model, and HiGHS alone on the same matrix.

Run: python benchmarks/bench_solve.py [--repeat N] [--strategy NAME]

Reports, per strategy: instance preparation, Pyomo model construction, the Pyomo→HiGHS solve
call (hand-over + solve + loading the solution), and, as the baseline, HiGHS (`highspy`) solving
the identical LP read from an MPS file written by Pyomo, so the matrix is the same.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import highspy

from stibium.model import build_instance, load_dataset, load_strategy
from stibium.model.build import build_model
from stibium.model.highs import solve_model


def time_once(dataset, strategy) -> dict[str, float]:
    t0 = time.perf_counter()
    instance = build_instance(dataset, strategy)
    t1 = time.perf_counter()
    model = build_model(instance)
    t2 = time.perf_counter()
    status = solve_model(model)
    t3 = time.perf_counter()
    assert status == "optimal", status
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.mps"
        model.write(str(path), io_options={"symbolic_solver_labels": False})
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        highs.readModel(str(path))
        t4 = time.perf_counter()
        highs.run()
        t5 = time.perf_counter()
        raw_objective = highs.getInfo().objective_function_value
        rows, cols = highs.getNumRow(), highs.getNumCol()
    from pyomo.environ import value

    objective = value(model.total_cost)
    assert abs(raw_objective - objective) <= 1e-6 * max(1.0, abs(objective)), \
        (raw_objective, objective)
    return {"instance_s": t1 - t0, "pyomo_build_s": t2 - t1, "pyomo_solve_s": t3 - t2,
            "highspy_solve_s": t5 - t4, "rows": rows, "cols": cols}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--strategy", action="append")
    args = parser.parse_args()
    dataset = load_dataset()
    names = args.strategy or ["cheapest", "naive-diversified", "dependency-aware"]
    print(f"{'strategy':<20} {'rows':>6} {'cols':>6} {'instance':>9} {'build':>9} "
          f"{'solve':>9} {'highspy':>9}  (median of {args.repeat}, seconds)")
    for name in names:
        strategy = load_strategy(name)
        runs = [time_once(dataset, strategy) for _ in range(args.repeat)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"{name:<20} {int(med['rows']):>6} {int(med['cols']):>6} "
              f"{med['instance_s']:>9.3f} {med['pyomo_build_s']:>9.3f} "
              f"{med['pyomo_solve_s']:>9.3f} {med['highspy_solve_s']:>9.3f}")


if __name__ == "__main__":
    main()
