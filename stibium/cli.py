"""The `stibium` command line.

Exit codes: 0 success; 2 bad input (one line on stderr naming the file, column and row, or the
setting); 3 no optimal plan was found; 1 an internal error (a bug: please report it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_NO_PLAN = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="stibium", description="Risk-constrained antimony sourcing.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    solve = sub.add_parser("solve", help="solve one strategy and print the plan")
    _data_option(solve)
    solve.add_argument("--strategy", default=None,
                       help="a shipped strategy name or a strategy TOML file "
                            "(default: dependency-aware)")
    solve.add_argument("--json", action="store_true", help="print one JSON object")

    compare = sub.add_parser("compare", help="solve several strategies and set them side by side")
    _data_option(compare)
    compare.add_argument("strategies", nargs="*",
                         default=["naive-diversified", "dependency-aware"],
                         help="strategy names or files (default: the headline pair)")
    compare.add_argument("--json", action="store_true", help="print one JSON object")

    strategies = sub.add_parser("strategies", help="list the shipped strategies")
    strategies.add_argument("--json", action="store_true")

    check = sub.add_parser("check-data", help="validate a data directory and list its estimates")
    _data_option(check)
    return parser


def _data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="DIR", default=None,
                        help="a data directory laid out like the shipped data/ (default: shipped)")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from stibium.model.errors import StibiumInputError

    try:
        return COMMANDS[args.command](args)
    except StibiumInputError as exc:
        print(f"stibium: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("stibium: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: one line unless asked for the traceback
        if os.environ.get("STIBIUM_DEBUG"):
            raise
        print(f"stibium: internal error: {type(exc).__name__}: {exc} "
              f"(set STIBIUM_DEBUG=1 for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


def cmd_solve(args: argparse.Namespace) -> int:
    from stibium.model import load_dataset, load_strategy, solve

    dataset = load_dataset(args.data)
    strategy = load_strategy(args.strategy)
    result = solve(dataset, strategy)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        print(format_result(result, strategy.description))
    return EXIT_OK if result.is_optimal else EXIT_NO_PLAN


def cmd_compare(args: argparse.Namespace) -> int:
    from stibium.model import compare, load_dataset, load_strategy

    dataset = load_dataset(args.data)
    strategies = [load_strategy(name) for name in args.strategies]
    table, _ = compare(dataset, strategies)
    if args.json:
        print(json.dumps({"strategies": _records(table)}, ensure_ascii=False))
    else:
        print(format_comparison(table))
    return EXIT_OK if (table["status"] == "optimal").all() else EXIT_NO_PLAN


def cmd_strategies(args: argparse.Namespace) -> int:
    from stibium.model import load_strategy, shipped_strategies

    rows = [{"name": name, "description": load_strategy(name).description}
            for name in shipped_strategies()]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        width = max(len(r["name"]) for r in rows)
        for row in rows:
            print(f"{row['name']:<{width}}  {row['description']}")
    return EXIT_OK


def cmd_check_data(args: argparse.Namespace) -> int:
    from stibium.model import load_dataset

    dataset = load_dataset(args.data)
    estimates = dataset.estimates()
    rows = sum(len(t) for t in dataset.tables.values())
    print(f"{dataset.directory}: {len(dataset.tables)} tables, {rows} rows, valid "
          f"(fingerprint {dataset.fingerprint}); {len(estimates)} estimated values:")
    with _pandas_display():
        print(estimates[["table", "key", "column", "value", "low", "high"]].to_string(index=False))
    return EXIT_OK


COMMANDS = {"solve": cmd_solve, "compare": cmd_compare, "strategies": cmd_strategies,
            "check-data": cmd_check_data}


# --- formatting --------------------------------------------------------------------------------

def _records(frame: Any) -> list[dict[str, Any]]:
    import math

    return [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
             for k, v in row.items()} for row in frame.to_dict(orient="records")]


class _pandas_display:
    def __enter__(self) -> None:
        import pandas as pd

        self._context = pd.option_context("display.width", 200, "display.max_columns", 50,
                                          "display.max_colwidth", 70)
        self._context.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._context.__exit__(*exc)


def format_result(result: Any, description: str = "") -> str:
    lines = [f"Strategy: {result.strategy}" + (f" — {description}" if description else ""),
             f"Status:   {result.status}"]
    if not result.is_optimal:
        lines.append(result.message)
        return "\n".join(lines)
    m = result.metrics
    lines += [
        f"Total cost: ${result.total_cost:,.0f} over {m['total_demand_t']:,.0f} t demanded "
        f"(${m['cost_per_t']:,.0f}/t); unmet demand {m['unmet_t']:,.0f} t",
        "Cost breakdown: " + ", ".join(f"{k} ${v:,.0f}" for k, v in
                                       result.cost_breakdown.items()),
        f"Naive HHI {m['naive_hhi']:,.0f}; effective HHI {m['effective_hhi']:,.0f}; "
        f"average risk score {m['average_risk_score']:.3f}; "
        f"average lead time {m['average_lead_time_days']:.0f} days",
        "",
        "Plan (tonnes of contained Sb bought per route and year):",
    ]
    with _pandas_display():
        plan = result.plan
        if plan.empty:
            lines.append("  (nothing bought)")
        else:
            pivot = plan.pivot_table(index="route", columns="period", values="tonnes",
                                     aggfunc="sum", fill_value=0.0)
            lines.append(pivot.round(0).astype(int).to_string())
        lines += ["", "Exposure per power (share of demand; naive counts flows mined or processed "
                  "in the power, effective weighs every flow by the leverage matrix):"]
        exposure = result.exposure.copy()
        for column in ("cap", "naive", "effective", "naive_peak", "effective_peak"):
            exposure[column] = exposure[column].map(
                lambda v: "-" if v != v else f"{100 * v:.1f}%")
        lines.append(exposure.to_string(index=False))
        if not result.duals.empty:
            lines += ["", "Binding limits and shadow prices:"]
            duals = result.duals.reindex(result.duals["value"].abs()
                                         .sort_values(ascending=False).index).head(15)
            for row in duals.itertuples(index=False):
                lines.append(f"  {row.constraint} [{row.index}]: {row.value:,.0f} {row.unit} "
                             f"({row.meaning})")
            if len(result.duals) > 15:
                lines.append(f"  … and {len(result.duals) - 15} more (see --json)")
    return "\n".join(lines)


def format_comparison(table: Any) -> str:
    def pct(v: Any) -> str:
        return "-" if v is None or v != v else f"{100 * v:.1f}%"

    def money(v: Any) -> str:
        return "-" if v is None or v != v else f"${v:,.0f}"

    shown = table.copy()
    for column in shown.columns:
        if column.endswith((" cap", " naive", " effective", " share")):
            shown[column] = shown[column].map(pct)
        elif column in ("total_cost_usd", "cost_per_t_usd"):
            shown[column] = shown[column].map(money)
        elif column in ("unmet_t", "naive_hhi", "effective_hhi"):
            shown[column] = shown[column].map(lambda v: "-" if v != v else f"{v:,.0f}")
    shown = shown.set_index("strategy").T
    with _pandas_display():
        return shown.to_string()
