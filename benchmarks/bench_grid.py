"""Time Stibium (Pyomo → HiGHS) against the same LP assembled directly in highspy, on a grid of
network sizes, horizons and scenario counts.

Run: python benchmarks/bench_grid.py [--quick] [--json FILE]
                                     [--sizes shipped synthetic-50 ...] [--years 1 5 ...]
                                     [--scenarios 100 1000 ...] [--point SIZE:YEARS:N ...]
                                     [--timeout SECONDS] [--data-dir DIR] [--no-warmup]

Each point is the strategy dependency-aware with ``first_period`` = the data's first period,
``last_period`` = first + years − 1, ``scenario_mode="sampled"``, ``scenario_samples=N``,
``scenario_seed=1``, ``cvar_shortfall_weight_usd_per_t=50000`` (as bench_two_stage.py), on
one network size:

- ``shipped``: the shipped data (16 origins, 10 hubs, 31 routes); for horizons past its last
  period (2035) the same network with the per-period tables carried forward (synthetic.py);
- ``synthetic-N``: N origins and N hubs cloned from the shipped ones (synthetic.py), written
  to a temporary folder (or ``--data-dir``) before the runs.

Every point runs three times, each time in a fresh child process (this script with an
internal flag), so that the peak memory (the child's own ``ru_maxrss``) belongs to one path
alone:

- Pyomo path: ``build_instance``; ``build_model``; ``solve_model`` split, by wrapping the
  calls it makes (bench_two_stage.SolveProbe, plus the loading of the solution), into the
  hand-over (standard-form compile, arrays, ``passModel``), the HiGHS run, and loading the
  primal values and duals back into the model;
- direct path: ``build_instance``; ``direct_highspy.solve_direct_full``: assembling the arrays
  + ``passModel``, then the HiGHS run + reading the solution. Same formulation as the Pyomo
  model (bench_two_stage's ``auto`` choice: `matched_formulation`, `has_bounded_unmet`) and
  the same HiGHS options as `solve_model` used (e.g. IPM above a row count), passed from the
  Pyomo child;
- decomposition path (what ``solve`` takes from ``DECOMPOSE_FROM_CELLS`` scenario-period
  cells on): ``build_instance``; ``DecomposedModel`` (the first-stage Pyomo model built,
  compiled and handed to HiGHS as the master); its ``solve`` (the L-shaped loop with each
  scenario's recourse in closed form).

Both children first run a tiny warm-up solve (1 period, 10 samples) so that first-call costs
are not timed. Totals leave out ``build_instance``, which both paths share (it is printed):
Pyomo total = build + hand-over + HiGHS + load; direct total = assemble + HiGHS; ratio =
Pyomo total / direct total; the decomposition's ratio = its total / direct total. The three
optima must agree to a relative 1e-6, else the script
exits with status 1 (after printing everything). Per network size and horizon with two or more
scenario counts it prints the slope of log(time) against log(scenario count), least squares.

The default grid covers each axis without the full cross product (which would take hours):

- scenarios 100 / 1,000 / 10,000 at 10 years on shipped, synthetic-50 and synthetic-200;
- horizon 1 / 5 / 10 / 20 years at 100 and 1,000 scenarios on shipped;

``--quick`` runs a handful of small points (< 2 minutes) as a smoke check. ``--sizes``,
``--years``, ``--scenarios`` replace the grid by their cross product (missing axes: shipped,
10 years, 1,000 scenarios); ``--point`` adds single points.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyomo.environ as pyo
import pyomo.version

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_two_stage import (  # noqa: E402
    SolveProbe,
    clock,
    close,
    has_bounded_unmet,
    matched_formulation,
    model_state,
)
from direct_highspy import solve_direct_full  # noqa: E402
from synthetic import write_synthetic  # noqa: E402

from stibium.model import build_instance, load_dataset, load_strategy  # noqa: E402
from stibium.model.build import build_model  # noqa: E402
from stibium.model.decompose import DecomposedModel  # noqa: E402
from stibium.model.highs import quiet_highs, solve_model  # noqa: E402
from stibium.model.solve import DECOMPOSE_FROM_CELLS  # noqa: E402

TOLERANCE = 1e-6  # bench_two_stage.close: relative, against max(1, |objective|)
CVAR_WEIGHT = 50000.0
SEED = 1
WARMUP_SAMPLES = 10

SCENARIO_AXIS = (100, 1000, 10000)
DEFAULT_GRID: list[tuple[str, int, int]] = sorted(
    {(size, 10, n) for size in ("shipped", "synthetic-50", "synthetic-200")
     for n in SCENARIO_AXIS}
    | {("shipped", years, n) for years in (1, 5, 10, 20) for n in (100, 1000)},
    key=lambda p: (p[0] != "shipped", p[0], p[1], p[2]))
QUICK_GRID: list[tuple[str, int, int]] = [
    ("shipped", 1, 100), ("shipped", 5, 100), ("shipped", 5, 1000), ("synthetic-50", 1, 100),
    ("synthetic-50", 5, 100)]


@dataclass(frozen=True)
class Point:
    size: str  # "shipped" or "synthetic-N"
    years: int
    samples: int

    @property
    def label(self) -> str:
        return f"{self.size} {self.years}y N={self.samples}"


# --- the children ------------------------------------------------------------------------------

def grid_strategy(dataset, years: int, samples: int):
    first = dataset.periods[0]
    return load_strategy("dependency-aware").with_changes(
        first_period=first, last_period=first + years - 1, scenario_mode="sampled",
        scenario_samples=samples, scenario_seed=SEED,
        cvar_shortfall_weight_usd_per_t=CVAR_WEIGHT)


def current_rss_mib() -> float | None:
    """Resident memory now (Linux /proc), to tell the path's own peak from the interpreter's."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    scale = 1.0 if sys.platform == "darwin" else 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


class LoadTimer:
    """Time the loading of the solution into the Pyomo model inside ``solve_model`` (wraps
    `stibium.model.highs.load_solution` while active; without it, load stays in hand-over)."""

    def __enter__(self) -> LoadTimer:
        self.seconds = np.zeros(2)
        self.found = False
        self._module = importlib.import_module("stibium.model.highs")
        self._original = getattr(self._module, "load_solution", None)
        if self._original is not None:
            self.found = True
            original, timer = self._original, self

            def load_solution(*args: Any, **kwargs: Any) -> Any:
                started = clock()
                try:
                    return original(*args, **kwargs)
                finally:
                    timer.seconds += clock() - started

            self._module.load_solution = load_solution
        return self

    def __exit__(self, *exc: object) -> None:
        if self._original is not None:
            self._module.load_solution = self._original


def changed_options(options: Any) -> dict[str, Any]:
    """The HiGHS options `solve_model` set away from a silent HiGHS's defaults (plain values,
    so that they can be passed to the direct child as JSON)."""
    default = quiet_highs().getOptions()
    changed = {}
    for name in dir(options):
        if name.startswith("_"):
            continue
        value = getattr(options, name)
        if isinstance(value, bool | int | float | str) and value != getattr(default, name, None):
            changed[name] = value
    return changed


def pyomo_once(dataset, strategy) -> dict[str, Any]:
    gc.collect()
    rss_start = current_rss_mib()
    t0 = clock()
    instance = build_instance(dataset, strategy)
    t1 = clock()
    model = build_model(instance)
    t2 = clock()
    with SolveProbe() as probe, LoadTimer() as load:
        status = solve_model(model)
    t3 = clock()
    if status != "optimal":
        raise RuntimeError(f"Pyomo path: status {status}")
    highs = probe.highs
    solve_s = t3 - t2
    load_s = load.seconds if load.found else np.full(2, np.nan)
    handover_s = solve_s - probe.highs_s - (load.seconds if load.found else 0.0)
    return {
        "scenarios": len(instance.recourse.scenarios),
        "routes": len(instance.routes),
        "rows": int(highs.getNumRow()), "cols": int(highs.getNumCol()),
        "nnz": int(highs.getNumNz()),
        "instance_s": t1 - t0, "build_s": t2 - t1, "solve_model_s": solve_s,
        "compile_s": probe.compile_s, "handover_s": handover_s, "highs_s": probe.highs_s,
        "load_s": load_s, "total_s": t3 - t1,
        "iterations": probe.iterations, "solver": probe.solver,
        "objective": float(pyo.value(model.total_cost)),
        "formulation": matched_formulation(model), "bounded": has_bounded_unmet(model),
        "options": changed_options(probe.options),
        "rss_start_mib": rss_start,
    }


def decomposition_once(dataset, strategy) -> dict[str, Any]:
    """Stibium's decomposition (what `solve` takes at these sizes by default): the first-stage
    Pyomo model compiled as the master, and the L-shaped loop with the closed-form recourse."""
    gc.collect()
    rss_start = current_rss_mib()
    t0 = clock()
    instance = build_instance(dataset, strategy)
    t1 = clock()
    decomposed = DecomposedModel(dataset, strategy, instance)
    t2 = clock()
    status = decomposed.solve()
    t3 = clock()
    if status != "optimal":
        raise RuntimeError(f"decomposition: status {status}")
    solution = decomposed.best
    return {
        "scenarios": len(instance.recourse.scenarios),
        "instance_s": t1 - t0, "build_s": t2 - t1, "loop_s": t3 - t2, "total_s": t3 - t1,
        "iterations": solution.iterations, "cuts": solution.cuts,
        "objective": solution.objective, "lower_bound": solution.lower_bound,
        "rss_start_mib": rss_start,
    }


def direct_once(dataset, strategy, formulation: str, bounded: bool,
                options: dict[str, Any]) -> dict[str, Any]:
    gc.collect()
    rss_start = current_rss_mib()
    t0 = clock()
    instance = build_instance(dataset, strategy)
    t1 = clock()
    result = solve_direct_full(instance, formulation, options, bounded=bounded)
    if result.status != "Optimal":
        raise RuntimeError(f"direct path: HiGHS status {result.status}")
    assemble_s = np.array([result.build_seconds, result.build_cpu_seconds])
    highs_s = np.array([result.solve_seconds, result.solve_cpu_seconds])
    return {
        "scenarios": len(instance.recourse.scenarios),
        "rows": result.direct.num_row, "cols": result.direct.num_col,
        "nnz": result.direct.num_nz,
        "instance_s": t1 - t0, "assemble_s": assemble_s, "highs_s": highs_s,
        "total_s": assemble_s + highs_s, "iterations": result.iterations,
        "objective": result.objective, "formulation": formulation, "bounded": bounded,
        "options": options, "rss_start_mib": rss_start,
    }


def child(args: argparse.Namespace) -> None:
    """Run one path on one point, in this (fresh) process; write the measurements as JSON."""
    dataset = load_dataset(args.data)
    options = json.loads(args.options) if args.options else {}
    strategy = grid_strategy(dataset, args.child_years, args.child_samples)
    if not args.no_warmup:
        warmup = grid_strategy(dataset, 1, WARMUP_SAMPLES)
        if args.child == "pyomo":
            pyomo_once(dataset, warmup)
        elif args.child == "decomposition":
            decomposition_once(dataset, warmup)
        else:
            direct_once(dataset, warmup, args.formulation, args.bounded, options)
    if args.child == "pyomo":
        out = pyomo_once(dataset, strategy)
    elif args.child == "decomposition":
        out = decomposition_once(dataset, strategy)
    else:
        out = direct_once(dataset, strategy, args.formulation, args.bounded, options)
    out["peak_rss_mib"] = peak_rss_mib()
    Path(args.out).write_text(json.dumps(plain(out)))


def plain(value: Any) -> Any:
    """numpy arrays and numbers as JSON-ready lists and floats."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


# --- the parent --------------------------------------------------------------------------------

class ChildFailed(RuntimeError):
    pass


def run_child(path: str, point: Point, data: Path, timeout: float | None, warmup: bool,
              extra: list[str] | None = None) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    command = [sys.executable, str(Path(__file__).resolve()), "--child", path,
               "--data", str(data), "--child-years", str(point.years),
               "--child-samples", str(point.samples), "--out", str(out), *(extra or [])]
    if not warmup:
        command.append("--no-warmup")
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if completed.returncode != 0:
            tail = (completed.stderr or completed.stdout).strip().splitlines()[-5:]
            raise ChildFailed(f"{point.label}, {path} path: exit status "
                              f"{completed.returncode}: " + " | ".join(tail))
        return json.loads(out.read_text())
    except subprocess.TimeoutExpired:
        raise ChildFailed(f"{point.label}, {path} path: over the {timeout:g} s timeout") \
            from None
    finally:
        out.unlink(missing_ok=True)


def measure_point(point: Point, data: Path, timeout: float | None = None,
                  warmup: bool = True) -> dict[str, Any]:
    """Both paths on one point, each in its own process; `agree` says whether the optima
    match (relative 1e-6)."""
    pyomo_run = run_child("pyomo", point, data, timeout, warmup)
    extra = ["--formulation", pyomo_run["formulation"],
             "--options", json.dumps(pyomo_run["options"])]
    if pyomo_run["bounded"]:
        extra.append("--bounded")
    direct_run = run_child("direct", point, data, timeout, warmup, extra)
    decomposed_run = run_child("decomposition", point, data, timeout, warmup)
    a, b, c = pyomo_run["objective"], direct_run["objective"], decomposed_run["objective"]
    return {**asdict(point), "data": str(data), "pyomo": pyomo_run, "direct": direct_run,
            "decomposition": decomposed_run,
            "rel_diff": abs(a - b) / max(1.0, abs(a)),
            "rel_diff_decomposition": abs(c - b) / max(1.0, abs(b)),
            "agree": close(a, b) and close(c, b),
            "ratio": pyomo_run["total_s"][0] / direct_run["total_s"][0],
            "ratio_cpu": pyomo_run["total_s"][1] / direct_run["total_s"][1],
            "ratio_decomposition": decomposed_run["total_s"][0] / direct_run["total_s"][0]}


def parse_point(text: str) -> Point:
    try:
        size, years, samples = text.split(":")
        return Point(size, int(years), int(samples))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected SIZE:YEARS:N, e.g. "
                                         f"synthetic-50:10:1000") from None


def nodes_of(size: str, shipped) -> tuple[int, int]:
    if size == "shipped":
        return len(shipped["origins"]), len(shipped["hubs"])
    if size.startswith("synthetic-") and size.removeprefix("synthetic-").isdigit():
        n = int(size.removeprefix("synthetic-"))
        return n, n
    raise SystemExit(f"unknown size {size!r}: 'shipped' or 'synthetic-N' (N origins and hubs)")


def prepare_data(points: list[Point], folder: Path) -> dict[tuple[str, int], Path]:
    """The data directory of each (size, years): the shipped one where its periods suffice,
    otherwise a synthetic copy (written once per size, long enough for every horizon)."""
    shipped = load_dataset()
    first, last = shipped.periods[0], shipped.periods[-1]
    longest = {}
    for p in points:
        longest[p.size] = max(longest.get(p.size, 0), first + p.years - 1)
    written: dict[str, Path] = {}
    where: dict[tuple[str, int], Path] = {}
    for p in points:
        if p.size == "shipped" and first + p.years - 1 <= last:
            where[p.size, p.years] = shipped.directory
            continue
        if p.size not in written:
            origins, hubs = nodes_of(p.size, shipped)
            target = folder / f"{p.size}-to-{max(longest[p.size], last)}"
            summary = write_synthetic(target, origins, hubs, max(longest[p.size], last))
            print(f"data {p.size}: {summary.origins} origins, {summary.hubs} hubs, "
                  f"{summary.routes} routes, periods {summary.first_period}–"
                  f"{summary.last_period} in {target}", flush=True)
            written[p.size] = target
        where[p.size, p.years] = written[p.size]
    return where


def slope(x: list[float], y: list[float]) -> float:
    """Least-squares slope of log y against log x."""
    if len(set(x)) < 2 or not all(v > 0 for v in y):
        return math.nan
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def slopes(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault((r["size"], r["years"]), []).append(r)
    out = []
    for (size, years), runs in groups.items():
        counts = [r["samples"] for r in runs]
        if len(set(counts)) < 2:
            continue

        def fit(path: str, key: str, runs: list[dict[str, Any]] = runs,
                counts: list[int] = counts) -> float:
            return slope(counts, [r[path][key][0] for r in runs])

        out.append({"size": size, "years": years, "samples": sorted(counts),
                    "pyomo_total": fit("pyomo", "total_s"), "pyomo_highs": fit("pyomo", "highs_s"),
                    "pyomo_build": fit("pyomo", "build_s"),
                    "direct_total": fit("direct", "total_s"),
                    "direct_highs": fit("direct", "highs_s"),
                    "decomposition_total": fit("decomposition", "total_s")})
    return out


def own(run: dict[str, Any]) -> float:
    """Peak memory above what the child held before the timed run (interpreter, imports,
    data, warm-up): what this path and size cost."""
    start = run.get("rss_start_mib")
    return run["peak_rss_mib"] - start if start is not None else math.nan


def print_results(results: list[dict[str, Any]], failures: list[str]) -> None:
    print("\nsizes and the Pyomo path (wall seconds; totals leave out build_instance, which "
          "both paths share)")
    print(f"{'size':<14} {'yrs':>3} {'N':>6} {'scen':>5} {'routes':>6} {'rows':>7} "
          f"{'cols':>7} {'nnz':>9} | {'instance':>8} {'build':>7} {'hand-over':>9} "
          f"{'HiGHS':>8} {'load':>6} {'total':>8} {'peak MiB':>8} {'own':>6}")
    for r in results:
        p, d = r["pyomo"], r["direct"]
        same = (p["rows"], p["cols"], p["nnz"]) == (d["rows"], d["cols"], d["nnz"])
        print(f"{r['size']:<14} {r['years']:>3} {r['samples']:>6} {p['scenarios']:>5} "
              f"{p['routes']:>6} {d['rows']:>7} {d['cols']:>7} {d['nnz']:>9}"
              f"{' ' if same else '*'}| {p['instance_s'][0]:>8.3f} {p['build_s'][0]:>7.3f} "
              f"{p['handover_s'][0]:>9.3f} {p['highs_s'][0]:>8.3f} {p['load_s'][0]:>6.3f} "
              f"{p['total_s'][0]:>8.3f} {p['peak_rss_mib']:>8.0f} {own(p):>6.0f}")
    if any((r["pyomo"]["rows"], r["pyomo"]["nnz"]) != (r["direct"]["rows"], r["direct"]["nnz"])
           for r in results):
        print("(* Pyomo's HiGHS model has other row/column/nonzero counts than the direct LP "
              "shown)")
    print("\nthe direct highspy path, the ratio and the optimum check")
    print(f"{'size':<14} {'yrs':>3} {'N':>6} | {'assemble':>8} {'HiGHS':>8} {'total':>8} "
          f"{'peak MiB':>8} {'own':>6} | {'ratio':>6} {'cpu':>6} | {'solver':>7} {'it py':>7} "
          f"{'it dir':>7} | {'objective':>20} {'rel diff':>8}")
    for r in results:
        p, d = r["pyomo"], r["direct"]
        print(f"{r['size']:<14} {r['years']:>3} {r['samples']:>6} | {d['assemble_s'][0]:>8.3f} "
              f"{d['highs_s'][0]:>8.3f} {d['total_s'][0]:>8.3f} {d['peak_rss_mib']:>8.0f} "
              f"{own(d):>6.0f} | "
              f"{r['ratio']:>6.2f} {r['ratio_cpu']:>6.2f} | {p['solver']:>7} "
              f"{p['iterations']:>7} {d['iterations']:>7} | {p['objective']:>20.6f} "
              f"{r['rel_diff']:>8.1e}{'' if r['agree'] else '  MISMATCH'}")
    print("(ratio = Pyomo total / direct total, wall; cpu = the same in CPU seconds of each "
          "process; it = HiGHS simplex + IPM iterations; peak = the child's ru_maxrss, own = "
          "peak − its resident memory before the timed run)")
    print("\nStibium's decomposition (the default `solve` from "
          f"{DECOMPOSE_FROM_CELLS:,} scenario-period cells) against the direct extensive LP")
    print(f"{'size':<14} {'yrs':>3} {'N':>6} | {'master':>7} {'loop':>8} {'total':>8} "
          f"{'peak MiB':>8} {'own':>6} | {'iter':>4} {'cuts':>5} | {'direct':>8} {'ratio':>6} | "
          f"{'objective':>20} {'rel diff':>8}")
    for r in results:
        c, d = r["decomposition"], r["direct"]
        print(f"{r['size']:<14} {r['years']:>3} {r['samples']:>6} | {c['build_s'][0]:>7.3f} "
              f"{c['loop_s'][0]:>8.3f} {c['total_s'][0]:>8.3f} {c['peak_rss_mib']:>8.0f} "
              f"{own(c):>6.0f} | {c['iterations']:>4} {c['cuts']:>5} | "
              f"{d['total_s'][0]:>8.3f} {r['ratio_decomposition']:>6.2f} | "
              f"{c['objective']:>20.6f} {r['rel_diff_decomposition']:>8.1e}")
    print("(master = first-stage Pyomo model built, compiled and handed to HiGHS; loop = the "
          "L-shaped iterations; ratio = decomposition total / direct extensive total)")
    fitted = slopes(results)
    if fitted:
        print("\nslope of log(time) against log(scenario count), least squares")
        print(f"{'size':<14} {'yrs':>3} {'N':<18} | {'py total':>8} {'py build':>8} "
              f"{'py HiGHS':>8} | {'dir total':>9} {'dir HiGHS':>9} | {'decomposed':>10}")
        for s in fitted:
            counts = "/".join(str(n) for n in s["samples"])
            print(f"{s['size']:<14} {s['years']:>3} {counts:<18} | {s['pyomo_total']:>8.2f} "
                  f"{s['pyomo_build']:>8.2f} {s['pyomo_highs']:>8.2f} | "
                  f"{s['direct_total']:>9.2f} {s['direct_highs']:>9.2f} | "
                  f"{s['decomposition_total']:>10.2f}")
    for failure in failures:
        print(f"FAILED: {failure}")


def choose_points(args: argparse.Namespace) -> list[Point]:
    if args.sizes or args.years or args.scenarios:
        grid = [Point(size, years, n) for size in (args.sizes or ["shipped"])
                for years in (args.years or [10]) for n in (args.scenarios or [1000])]
    elif args.point:
        grid = []
    else:
        grid = [Point(*p) for p in (QUICK_GRID if args.quick else DEFAULT_GRID)]
    for point in args.point or []:
        if point not in grid:
            grid.append(point)
    return grid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few small points (< 2 min)")
    parser.add_argument("--json", metavar="FILE", help="also write the measurements to FILE")
    parser.add_argument("--sizes", nargs="+", metavar="SIZE",
                        help="shipped, synthetic-50, synthetic-200, ... (cross product)")
    parser.add_argument("--years", nargs="+", type=int, metavar="YEARS")
    parser.add_argument("--scenarios", nargs="+", type=int, metavar="N")
    parser.add_argument("--point", nargs="+", type=parse_point, metavar="SIZE:YEARS:N",
                        help="extra single points, e.g. synthetic-200:20:1000")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds per child process (default: none)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="write the synthetic datasets here (kept) instead of a temp folder")
    parser.add_argument("--no-warmup", action="store_true")
    # Internal: one path on one point, in a child process.
    parser.add_argument("--child", choices=["pyomo", "direct", "decomposition"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--child-years", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-samples", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--formulation", default="aggregated", help=argparse.SUPPRESS)
    parser.add_argument("--bounded", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--options", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0

    points = choose_points(args)
    state = model_state()
    started = time.perf_counter()
    print(f"stibium: {state}")
    print(f"python {platform.python_version()}, pyomo {pyomo.version.version}, highspy "
          f"{quiet_highs().version()}, numpy {np.__version__}, {os.cpu_count()} CPUs, load "
          f"average {os.getloadavg()[0]:.2f}")
    print(f"{len(points)} points: " + ", ".join(p.label for p in points), flush=True)
    with tempfile.TemporaryDirectory(prefix="stibium-grid-") as temporary:
        folder = args.data_dir or Path(temporary)
        where = prepare_data(points, folder)
        results, failures = [], []
        for point in points:
            began = time.perf_counter()
            try:
                result = measure_point(point, where[point.size, point.years], args.timeout,
                                       not args.no_warmup)
            except ChildFailed as exc:
                failures.append(str(exc))
                print(f"{point.label}: FAILED ({exc})", flush=True)
                continue
            results.append(result)
            print(f"{point.label}: {result['pyomo']['scenarios']} scenarios, ratio "
                  f"{result['ratio']:.2f}, optima {'agree' if result['agree'] else 'DIFFER'} "
                  f"({time.perf_counter() - began:.0f} s)", flush=True)
    mismatches = [f"{r['size']} {r['years']}y N={r['samples']}: Pyomo "
                  f"{r['pyomo']['objective']!r}, decomposition "
                  f"{r['decomposition']['objective']!r}, direct {r['direct']['objective']!r} "
                  f"(relative {r['rel_diff']:.1e} and {r['rel_diff_decomposition']:.1e}; "
                  f"allowed {TOLERANCE:g})"
                  for r in results if not r["agree"]]
    print_results(results, failures + mismatches)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (1 min), "
          f"{os.getloadavg()[1]:.2f} (5 min); the grid took "
          f"{time.perf_counter() - started:.0f} s")
    after = model_state()
    if after != state:
        print(f"WARNING: model/*.py changed during the run (now {after})")
    if args.json:
        Path(args.json).write_text(json.dumps(plain({
            "model": state, "model_after": after, "python": platform.python_version(),
            "pyomo": pyomo.version.version, "highs": quiet_highs().version(),
            "cpus": os.cpu_count(), "points": results, "slopes": slopes(results),
            "failures": failures + mismatches}), indent=1))
    return 1 if failures or mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
