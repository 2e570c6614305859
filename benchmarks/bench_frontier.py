"""A 20-point CVaR frontier on one persistent model against 20 fresh solves.

Run: python benchmarks/bench_frontier.py [--points 20] [--strategy dependency-aware]

The frontier builds the two-stage model once (exact scenarios), solves once more to find the
least achievable CVaR (the tight end of the sweep), then changes the CVaR limit's right-hand
side in HiGHS and re-solves from the previous basis; each point's cost and CVaR are read from
HiGHS's arrays and its full report is built when asked for. The script times the sweep, then
the 20 full reports built afterwards (as `stibium frontier --json` does), then the baseline:
each point solved from scratch with its report (instance, Pyomo build, hand-over, solve,
report). All report cost and plan only (`evaluate_risk=False`); the per-point objectives must
agree.
"""

from __future__ import annotations

import argparse
import time

from stibium.model import load_dataset, load_strategy, solve
from stibium.model.frontier import frontier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=20)
    parser.add_argument("--strategy", default="dependency-aware")
    args = parser.parse_args()
    dataset = load_dataset()
    strategy = load_strategy(args.strategy).with_changes(scenario_mode="exact")

    solve(dataset, strategy, evaluate_risk=False)  # warm-up: imports and compilers load once
    started = time.perf_counter()
    single = solve(dataset, strategy, evaluate_risk=False)
    single_s = time.perf_counter() - started
    assert single.is_optimal
    # One point of the frontier on its own: the same model with a CVaR limit (one that does
    # not bind), which adds a z column and an excess row per scenario.
    started = time.perf_counter()
    point = solve(dataset, strategy.with_changes(cvar_shortfall_limit=1.0), evaluate_risk=False)
    point_s = time.perf_counter() - started
    assert point.is_optimal

    started = time.perf_counter()
    swept = frontier(dataset, strategy, "cvar", points=args.points)
    frontier_s = time.perf_counter() - started
    started = time.perf_counter()
    reports = [point.result for point in swept.points]
    reports_s = time.perf_counter() - started
    assert all(r is not None for r, p in zip(reports, swept.points, strict=True)
               if p.status == "optimal")

    started = time.perf_counter()
    fresh = []
    for point in swept.points:
        result = solve(dataset, strategy.with_changes(cvar_shortfall_limit=point.limit),
                       evaluate_risk=False)
        fresh.append(result)
    fresh_s = time.perf_counter() - started

    for point, result in zip(swept.points, fresh, strict=True):
        assert point.status == result.status, (point.limit, point.status, result.status)
        if point.status == "optimal":
            assert abs(point.objective - result.objective) <= 1e-6 * abs(result.objective)
    feasible = sum(p.status == "optimal" for p in swept.points)
    print(f"{args.points}-point CVaR frontier ({feasible} feasible) on '{args.strategy}', "
          f"{len(single.scenarios)} exact scenarios")
    print(f"  one solve:             {single_s:7.2f} s  (the strategy as given)")
    print(f"  one frontier point:    {point_s:7.2f} s  (with a CVaR limit, solved on its own)")
    print(f"  frontier (persistent): {frontier_s:7.2f} s  = "
          f"{frontier_s / single_s:5.2f} x one solve, {frontier_s / point_s:5.2f} x one point")
    print(f"  + every point's report:{reports_s:7.2f} s  -> sweep and reports "
          f"{(frontier_s + reports_s) / single_s:5.2f} x one solve")
    print(f"  {args.points} fresh solves:       {fresh_s:7.2f} s  = "
          f"{fresh_s / single_s:5.2f} x one solve")
    print(f"  speed-up of the persistent sweep: {fresh_s / frontier_s:4.1f} x")


if __name__ == "__main__":
    main()
