"""Sweeps of independent solves: serial, two local processes, and a two-worker Dask cluster.

Run: python benchmarks/bench_parallel.py [--tables routes] [--batches 20] [--samples 2000]
                                         [--repeat 1] [--no-dask]

Three sweeps on the shipped data, each run serially (``workers=1``), on two local worker
processes (``workers=2``) and on a ``dask.distributed.LocalCluster`` with two single-threaded
worker processes, passed by its scheduler address as a user would pass ``--scheduler``:

- the tornado over the estimates of ``--tables`` (two solves per estimate, plus the base);
- the comparison of the six shipped strategies;
- a Monte Carlo run of the dependency-aware plan on ``--batches`` batches of ``--samples``
  sampled scenarios (plus the exact reference).

Every parallel result must equal the serial one to the last bit (the script stops otherwise).
One-off start-up costs are timed apart from the sweeps: the local fork server (paid by the
first parallel sweep of a process, so once per CLI command) and the cluster's start (an
existing cluster is already running). The script also measures what the shared data would
cost if it were sent with every task instead of once per worker.

On a shared machine a speed-up is only as good as the idle cores: the script prints the load
average before and after, and, for each timing, how many cores the whole machine kept busy
meanwhile (about 1 for a serial run and 2 for two workers when nothing else runs; more means
another job competed). With ``--repeat N`` the fastest of N runs counts.
"""

from __future__ import annotations

import argparse
import math
import operator
import os
import pickle
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from stibium.model import compare, load_dataset, load_strategy, shipped_strategies
from stibium.model.montecarlo import montecarlo
from stibium.model.parallel import run_tasks
from stibium.model.sensitivity import tornado


def timed(run: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = run()
    return value, time.perf_counter() - started


def busy_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat (Linux)."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except OSError:
        return 0, 0
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def measured(run: Callable[[], Any]) -> tuple[Any, float, float]:
    """The value, the wall time, and how many cores the whole machine kept busy meanwhile
    (ours and anyone else's): about 1 for a serial run and 2 for two workers on an otherwise
    idle machine; more means another job was competing."""
    before = busy_jiffies()
    value, seconds = timed(run)
    after = busy_jiffies()
    total = after[1] - before[1]
    cores = os.cpu_count() or 1
    return value, seconds, (cores * (after[0] - before[0]) / total if total else float("nan"))


def load() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def same_tornado(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert a.attrs == b.attrs and not a.attrs["failures"], (a.attrs, b.attrs)


def same_comparison(a: tuple, b: tuple) -> None:
    pd.testing.assert_frame_equal(a[0], b[0], check_exact=True)
    assert list(a[1]) == list(b[1])
    for name, result in a[1].items():
        other = b[1][name]
        assert result.metrics == other.metrics, name
        pd.testing.assert_frame_equal(result.plan, other.plan, check_exact=True)


def same_montecarlo(a: Any, b: Any) -> None:
    pd.testing.assert_frame_equal(a.batches, b.batches, check_exact=True)
    assert a.exact == b.exact and a.ok and b.ok


def transfer_cost(shared: Any, tasks: int) -> str:
    """What sending the shared data with every task would add: pickling it here and
    unpickling it in the worker, once per task instead of once per worker."""
    payload = pickle.dumps(shared, protocol=pickle.HIGHEST_PROTOCOL)
    started = time.perf_counter()
    for _ in range(20):
        pickle.loads(pickle.dumps(shared, protocol=pickle.HIGHEST_PROTOCOL))
    each = (time.perf_counter() - started) / 20
    return (f"{len(payload) / 1024:,.0f} KiB, {1000 * each:.1f} ms to pickle and unpickle: "
            f"{each * tasks:.2f} s over {tasks} tasks if sent with each")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", default="routes",
                        help="tornado tables, comma separated (default: routes)")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask cluster")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per sweep and mode; the fastest counts (default 1)")
    args = parser.parse_args()

    print(f"{os.cpu_count()} CPUs; load average before: {load()}")
    dataset = load_dataset()
    aware = load_strategy("dependency-aware")
    strategies = [load_strategy(name) for name in shipped_strategies()]
    tables = [t.strip() for t in args.tables.split(",")]
    sweeps: list[tuple[str, Callable[..., Any], Callable[[Any, Any], None]]] = [
        (f"tornado ({args.tables})",
         lambda **where: tornado(dataset, aware, tables=tables, **where), same_tornado),
        (f"compare ({len(strategies)} strategies)",
         lambda **where: compare(dataset, strategies, **where), same_comparison),
        (f"Monte Carlo ({args.batches} × {args.samples:,})",
         lambda **where: montecarlo(dataset, aware, batches=args.batches,
                                    samples=args.samples, **where), same_montecarlo),
    ]

    # Warm this process (imports, first solve) so that the serial times are steady-state.
    compare(dataset, strategies[:1], workers=1)
    _, forkserver_s = timed(lambda: run_tasks(operator.add, [1, 2], shared=0, workers=2))

    cluster = None
    if not args.no_dask:
        from distributed import LocalCluster

        cluster, cluster_s = timed(lambda: LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None))
        # The workers' first task pays their imports: done here, as on a running cluster.
        run_tasks(operator.add, [1, 2, 3, 4], shared=0, scheduler=cluster.scheduler_address)

    modes: dict[str, dict[str, Any]] = {"serial": {"workers": 1}, "local": {"workers": 2}}
    if cluster is not None:
        modes["dask"] = {"scheduler": cluster.scheduler_address}
    rows = []
    tornado_rows = 0
    try:
        for name, sweep, same in sweeps:
            row: dict[str, Any] = {"sweep": name}
            reference = None
            for mode, where in modes.items():
                best = math.inf
                for _ in range(args.repeat):  # the best of several: others' jobs only slow
                    value, seconds, busy = measured(lambda sweep=sweep, where=where:
                                                    sweep(**where))
                    if reference is None:
                        reference = value
                    same(reference, value)
                    if seconds < best:
                        best, row[f"{mode}_busy"] = seconds, busy
                row[f"{mode}_s"] = best
                if mode != "serial":
                    row[f"{mode}_speedup"] = row["serial_s"] / best
            if isinstance(reference, pd.DataFrame):
                tornado_rows = len(reference)
            rows.append(row)
            print(f"  {name}: " + ", ".join(
                f"{mode} {row[f'{mode}_s']:.1f} s (busy {row[f'{mode}_busy']:.1f} cores)"
                for mode in modes) + "; results identical", flush=True)
    finally:
        if cluster is not None:
            cluster.close()

    print()
    print(f"Start-up, once: local fork server {forkserver_s:.1f} s"
          + (f"; LocalCluster {cluster_s:.1f} s" if cluster is not None else ""))
    print("Shared data sent once per worker; per task it would cost:")
    print(f"  tornado (dataset + strategy): "
          f"{transfer_cost((dataset, aware), 2 * tornado_rows + 1)}")
    print(f"  compare (dataset): {transfer_cost(dataset, len(strategies))}")
    print()
    print("Seconds, speed-up over serial, and the cores the machine kept busy meanwhile (ideal: "
          "1 serial, 2 parallel):")
    table = pd.DataFrame(rows)
    order = ["sweep"] + [f"{mode}_{what}" for what in ("s", "speedup") for mode in modes
                         if f"{mode}_{what}" in table] + [f"{mode}_busy" for mode in modes]
    print(table[order].to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
