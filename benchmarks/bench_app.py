"""The app's warm re-solve: how long a Run of a changed strategy takes in a running app.

    python benchmarks/bench_app.py [--repeat 5]

Drives the real app headless (`streamlit.testing.v1.AppTest`, the same script `stibium app`
serves) in one process: a first Run warms imports and caches, then each timed Run changes
the demand (so the cache misses and the default strategy is really solved again) and
clicks Run; the time is the whole script rerun (form, solve with risk replay, the page's
tables and charts). The same solves through the Python API are timed for comparison.
Also timed: the same page rerun with nothing changed (cached: rendering only). Asserts that
each Run shows no exception and solves once, and that the plain rerun solves nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stibium.model import load_dataset, load_strategy, solve  # noqa: E402
from stibium.ui import compute  # noqa: E402

APP = ROOT / "ui" / "app.py"


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def _number_input(at: AppTest, label: str):
    return next(n for n in at.number_input if n.label == label)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    solves: list[str] = []
    real_solve = compute.solve

    def counting(dataset, strategy, **kwargs):
        solves.append(strategy.name)
        return real_solve(dataset, strategy, **kwargs)

    compute.solve = counting
    at = AppTest.from_file(str(APP), default_timeout=300)
    at.run()
    _number_input(at, "Demand (t/yr)").set_value(9000.0)
    _button(at, "Run").click().run()
    assert not at.exception, at.exception

    app_times = []
    for i in range(args.repeat):
        before = len(solves)
        _number_input(at, "Demand (t/yr)").set_value(9001.0 + i)
        start = time.perf_counter()
        _button(at, "Run").click().run()
        app_times.append(time.perf_counter() - start)
        assert not at.exception, at.exception
        assert len(solves) == before + 1, "the Run did not solve"

    # The same page rerun with nothing changed (cached, no solve): what rendering costs.
    render_times = []
    for _ in range(args.repeat):
        before = len(solves)
        start = time.perf_counter()
        at.run()
        render_times.append(time.perf_counter() - start)
        assert not at.exception and len(solves) == before

    dataset, strategy = load_dataset(), load_strategy("dependency-aware")
    api_times = []
    for i in range(args.repeat):
        start = time.perf_counter()
        result = solve(dataset, strategy.with_changes(demand_t=9101.0 + i))
        api_times.append(time.perf_counter() - start)
        assert result.is_optimal

    print(f"dependency-aware, shipped data, {args.repeat} runs each (seconds)")
    print(f"  app Run (rerun with solve): median {statistics.median(app_times):.3f}, "
          f"max {max(app_times):.3f}")
    print(f"  app rerun, nothing changed: median {statistics.median(render_times):.3f}, "
          f"max {max(render_times):.3f}")
    print(f"  API solve():                median {statistics.median(api_times):.3f}, "
          f"max {max(api_times):.3f}")


if __name__ == "__main__":
    main()
