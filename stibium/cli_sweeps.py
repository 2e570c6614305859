"""`stibium frontier` and `stibium sensitivity`: sweeps over one strategy."""

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


def _limits(text: str | None) -> list[float] | None:
    from stibium.model.errors import StibiumInputError

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
    from stibium.model import load_dataset, load_strategy
    from stibium.model.errors import StibiumInputError
    from stibium.model.frontier import frontier

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
    from stibium.model import load_dataset, load_strategy
    from stibium.model.sensitivity import tornado

    dataset = load_dataset(args.data)
    tables = [t.strip() for t in args.tables.split(",")] if args.tables else None

    def progress(done: int, total: int) -> None:
        if not args.json and sys.stderr.isatty():
            print(f"\rsolving {done}/{total} estimates…", end="", file=sys.stderr, flush=True)

    table = tornado(dataset, load_strategy(args.strategy), tables=tables, progress=progress)
    if args.json:
        rows = [{k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
                for row in table.to_dict(orient="records")]
        print(json.dumps({"base_cost": table.attrs.get("base_cost"),
                          "base_shortfall": table.attrs.get("base_shortfall"),
                          "parameters": rows}, ensure_ascii=False))
        return 0
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"Tornado: base cost ${table.attrs['base_cost']:,.0f}, expected shortfall "
          f"{table.attrs['base_shortfall']:,.0f} t; each estimate at its low and high value")
    shown = table.head(args.top)[["table", "key", "column", "value", "low", "high", "cost_low",
                                  "cost_high", "shortfall_low", "shortfall_high"]]
    print(shown.to_string(index=False, formatters={
        "cost_low": "${:,.0f}".format, "cost_high": "${:,.0f}".format,
        "shortfall_low": "{:,.0f}".format, "shortfall_high": "{:,.0f}".format}))
    return 0


COMMANDS = {"frontier": cmd_frontier, "sensitivity": cmd_sensitivity}
