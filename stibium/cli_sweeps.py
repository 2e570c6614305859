"""`stibium frontier`, `sensitivity` and `montecarlo`: sweeps over one strategy; and the
options and reporting that every command made of independent solves shares (`--workers`,
`--scheduler`, failed tasks)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_parsers(sub: Any, data_option: Any) -> None:
    frontier = sub.add_parser("frontier", help="cost against one risk limit, swept on one model")
    data_option(frontier)
    frontier.add_argument("--strategy", default=None, help="strategy to sweep (default: "
                                                           "dependency-aware)")
    frontier.add_argument("--risk", default="cvar",
                          help="cvar | cvar-cost | exposure:<power> | origin:<origin> | "
                               "risk-budget (default: cvar)")
    frontier.add_argument("--points", type=int, default=10, help="number of limits (default 10)")
    frontier.add_argument("--limits", help="explicit limits, comma separated (overrides "
                                           "--points)")
    frontier.add_argument("--json", action="store_true", help="print one JSON object")

    sensitivity = sub.add_parser("sensitivity", help="tornado over every estimated figure's "
                                                     "low/high range")
    data_option(sensitivity)
    sensitivity.add_argument("--strategy", default=None)
    sensitivity.add_argument("--tables", help="only these tables, comma separated "
                                              "(e.g. prices,exportable)")
    sensitivity.add_argument("--top", type=int, default=20, help="rows to print (default 20)")
    sensitivity.add_argument("--json", action="store_true", help="print one JSON object")
    add_parallel_options(sensitivity)

    montecarlo = sub.add_parser("montecarlo", help="replay a plan on many independent batches "
                                                   "of sampled scenarios (out of sample)")
    data_option(montecarlo)
    add_plan_options(montecarlo, "replayed")
    montecarlo.add_argument("--batches", type=int, default=20,
                            help="independent batches (default 20)")
    montecarlo.add_argument("--samples", type=int, default=1000,
                            help="sampled scenarios per batch (default 1000)")
    montecarlo.add_argument("--seed", type=int, default=None,
                            help="batch b samples with seed + b (default: the strategy's "
                                 "scenarios.seed)")
    montecarlo.add_argument("--severity", choices=("sampled", "central"), default=None,
                            help="severities drawn within their ranges, or central (default: "
                                 "the strategy's scenarios.severity)")
    montecarlo.add_argument("--json", action="store_true", help="print one JSON object")
    add_parallel_options(montecarlo)


def add_plan_options(parser: argparse.ArgumentParser, verb: str) -> None:
    """--strategy and --plan of the commands that replay a plan (stress, montecarlo)."""
    parser.add_argument("--strategy", default=None,
                        help=f"strategy whose optimal plan is {verb} (or whose horizon and "
                             "limits frame --plan)")
    parser.add_argument("--plan", metavar="FILE",
                        help="a hand-typed plan CSV: origin,hub,market,period,tonnes[,transit]")


def add_parallel_options(parser: argparse.ArgumentParser) -> None:
    """`--workers N` or `--scheduler URL`: where the command's independent solves run."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N", default=None,
                       help="local worker processes (default: one per CPU; 1 runs everything "
                            "in this process)")
    where.add_argument("--scheduler", metavar="URL", default=None,
                       help="run the solves on a Dask cluster: its scheduler's address, e.g. "
                            "tcp://host:8786 (needs pip install 'stibium[dask]')")


def parallel_options(args: argparse.Namespace, several: bool = True) -> dict[str, Any]:
    """`workers` and `scheduler` for the model's sweeps. Call it first in a command: when the
    command will run `several` tasks, it starts the local worker server, which then loads
    while the command reads data and solves."""
    from stibium.model import StibiumInputError, prepare

    if args.workers is not None and args.workers < 1:
        raise StibiumInputError(f"--workers must be at least 1, not {args.workers}")
    if several:
        prepare(args.workers, args.scheduler)
    return {"workers": args.workers, "scheduler": args.scheduler}


def progress_printer(args: argparse.Namespace, noun: str) -> Any:
    """A progress callback that counts finished tasks on an interactive stderr."""
    def progress(done: int, total: int) -> None:
        if not getattr(args, "json", False) and sys.stderr.isatty():
            end = "\n" if done == total else ""
            print(f"\r{done}/{total} {noun}…", end=end, file=sys.stderr, flush=True)

    return progress


def report_failures(failures: list[str], total: int) -> int:
    """One line on stderr for failed tasks; the exit code: 1 when any failed (not bad input,
    not a missing plan: the run is incomplete), else 0."""
    if not failures:
        return 0
    more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
    print(f"stibium: {len(failures)} of {total} tasks failed; {failures[0]}{more}",
          file=sys.stderr)
    return 1


def _limits(text: str | None) -> list[float] | None:
    from stibium.model import StibiumInputError

    if not text:
        return None
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise StibiumInputError(f"--limits: '{text}' is not a comma-separated list of "
                                f"numbers") from None
    if not values:
        raise StibiumInputError("--limits: give at least one number")
    return values


def cmd_frontier(args: argparse.Namespace) -> int:
    from stibium.model import StibiumInputError, frontier, load_dataset, load_strategy

    if args.points < 2 or args.points > 200:
        raise StibiumInputError(f"--points must be between 2 and 200, not {args.points}")
    dataset = load_dataset(args.data)
    result = frontier(dataset, load_strategy(args.strategy), args.risk, points=args.points,
                      limits=_limits(args.limits))
    table = result.table()
    if args.json:
        points = []
        for point, row in zip(result.points, table.to_dict(orient="records"), strict=True):
            entry = {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
            entry["plan"] = (point.result.to_dict()["plan"] if point.result is not None else [])
            points.append(entry)
        print(json.dumps({"risk": result.risk, "unit": result.unit, "points": points},
                         ensure_ascii=False))
    else:
        print(f"Frontier of {args.risk} ({result.unit}); limits from loose to tight")
        shown = table.copy()
        for column in ("objective", "total_cost"):
            shown[column] = shown[column].map(lambda v: "-" if v != v else f"${v:,.0f}")
        shown["dominated"] = shown["dominated"].map({True: "dominated", False: ""})
        print(shown.to_string(index=False))
        skipped = (table["status"] != "optimal").sum()
        if skipped:
            print(f"{skipped} point(s) without a feasible plan were skipped; the sweep went on.")
    return 0


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from stibium.model import load_dataset, load_strategy, tornado

    where = parallel_options(args)
    dataset = load_dataset(args.data)
    tables = [t.strip() for t in args.tables.split(",")] if args.tables else None
    table = tornado(dataset, load_strategy(args.strategy), tables=tables,
                    progress=progress_printer(args, "solves"), **where)
    failures = table.attrs.get("failures", [])
    if args.json:
        rows = [{k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
                for row in table.to_dict(orient="records")]
        base_cost, base_shortfall = (table.attrs.get(key) for key in ("base_cost",
                                                                      "base_shortfall"))
        print(json.dumps({"base_cost": None if base_cost != base_cost else base_cost,
                          "base_shortfall": (None if base_shortfall != base_shortfall
                                             else base_shortfall),
                          "base_status": table.attrs.get("base_status"),
                          "parameters": rows, "failures": failures}, ensure_ascii=False))
        return report_failures(failures, 2 * len(table) + 1)
    print(f"Tornado: base cost ${table.attrs['base_cost']:,.0f}, expected shortfall "
          f"{table.attrs['base_shortfall']:,.0f} t; each estimate at its low and high value")
    shown = table.head(args.top)[["table", "key", "column", "value", "low", "high", "cost_low",
                                  "cost_high", "shortfall_low", "shortfall_high", "status"]]
    print(shown.to_string(index=False, formatters={
        "cost_low": "${:,.0f}".format, "cost_high": "${:,.0f}".format,
        "shortfall_low": "{:,.0f}".format, "shortfall_high": "{:,.0f}".format}))
    return report_failures(failures, 2 * len(table) + 1)


MONTECARLO_LABELS = {"expected_shortfall_t": "expected shortfall (t)",
                     "var_shortfall_t": "VaR of shortfall (t)",
                     "cvar_shortfall_t": "CVaR of shortfall (t)",
                     "expected_total_cost": "expected cost ($)",
                     "var_cost": "VaR of cost ($)",
                     "cvar_cost": "CVaR of cost ($)"}


def cmd_montecarlo(args: argparse.Namespace) -> int:
    from stibium.model import load_dataset, load_strategy, montecarlo, read_plan_csv

    where = parallel_options(args)
    dataset = load_dataset(args.data)
    strategy = load_strategy(args.strategy)
    plan = None
    if args.plan:
        plan = read_plan_csv(dataset, strategy, args.plan)
    result = montecarlo(dataset, strategy, plan=plan, batches=args.batches,
                        samples=args.samples, seed=args.seed, severity=args.severity,
                        progress=progress_printer(args, "batches"), **where)
    total = len(result.batches) + 1
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return report_failures(result.failures, total)
    last_seed = result.seed + len(result.batches) - 1
    print(f"Monte Carlo: strategy {result.strategy} ({result.plan_source} plan), "
          f"{len(result.batches)} batches of {result.samples:,} sampled scenarios (seeds "
          f"{result.seed}–{last_seed}, severities {result.severity}), β = {result.cvar_beta:g}")

    def number(value: float) -> str:
        return "-" if value != value else f"{value:,.0f}"

    summary = result.summary.rename(index=MONTECARLO_LABELS)
    summary["spread"] = (result.summary["std"] / result.summary["mean"].abs()).map(
        lambda v: "-" if v != v else f"{100 * v:.1f}%").to_numpy()
    print(summary.to_string(formatters={c: number for c in ("mean", "std", "stderr", "min",
                                                            "max", "exact")}))
    print(f"(spread: standard deviation over the batches as a share of the mean; exact: "
          f"{result.exact_note})")
    print()
    batches = result.batches.drop(columns=["var_shortfall_t", "var_cost"])
    batches["message"] = batches["message"].replace("", "-")
    print(batches.to_string(index=False, formatters={
        c: number for c in ("scenarios", "expected_shortfall_t", "cvar_shortfall_t",
                            "expected_total_cost", "cvar_cost")}))
    return report_failures(result.failures, total)


COMMANDS = {"frontier": cmd_frontier, "sensitivity": cmd_sensitivity,
            "montecarlo": cmd_montecarlo}
