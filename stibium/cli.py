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

from stibium import cli_sweeps

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
    solve.add_argument("--scenarios-csv", metavar="FILE",
                       help="also write the per-scenario shortfall and cost table to FILE")
    solve.add_argument("--method", choices=("auto", "extensive", "decomposition"),
                       default="auto",
                       help="how a two-stage model is solved: every scenario in one LP "
                            "(extensive), a first-stage master with each scenario's recourse "
                            "in closed form (decomposition), or the faster of the two for "
                            "its size (auto, the default)")
    _add_solve_saving_options(solve)

    compare = sub.add_parser("compare", help="solve several strategies and set them side by side")
    _data_option(compare)
    compare.add_argument("strategies", nargs="*",
                         default=["naive-diversified", "dependency-aware"],
                         help="strategy names or files (default: the headline pair)")
    compare.add_argument("--json", action="store_true", help="print one JSON object")
    compare.add_argument("--csv", metavar="FILE", help="also write the KPI table as CSV")
    compare.add_argument("--xlsx", metavar="FILE",
                         help="also write KPIs and the plan diff as an xlsx workbook")
    cli_sweeps.add_parallel_options(compare)

    stress = sub.add_parser("stress", help="replay a plan against a named event or a custom "
                                           "availability per country")
    _data_option(stress)
    cli_sweeps.add_plan_options(stress, "stressed")
    what = stress.add_mutually_exclusive_group(required=True)
    what.add_argument("--event", help="a named event from events.csv, or 'all'")
    what.add_argument("--availability", metavar="C=A,...",
                      help="fraction of supply surviving per country, e.g. 'China=0,Russia=0.5'")
    stress.add_argument("--onset", type=int, metavar="YEAR",
                        help="first year hit (default: the first year of the horizon)")
    stress.add_argument("--price-multiplier", type=float, metavar="X",
                        help="spot price as a multiple of the benchmark (with --availability)")
    stress.add_argument("--json", action="store_true", help="print one JSON object")
    cli_sweeps.add_parallel_options(stress)

    strategies = sub.add_parser("strategies", help="list the shipped strategies")
    strategies.add_argument("--json", action="store_true")

    check = sub.add_parser("check-data", help="validate a data directory and list its estimates")
    _data_option(check)
    cli_sweeps.add_parsers(sub, _data_option)

    app = sub.add_parser("app", help="start the Streamlit app on the shipped data")
    app.add_argument("--port", type=int, default=None, help="port (default 8501)")

    _add_runs_parser(sub)
    return parser


def _data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="DIR", default=None,
                        help="a data directory laid out like the shipped data/ (default: shipped)")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from stibium.model import StibiumInputError

    try:
        return COMMANDS[args.command](args)
    except BrokenPipeError:
        # The reader went away (e.g. `stibium solve | head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
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
    saving = _prepare_saving(args)
    result = solve(dataset, strategy, method=args.method)
    if args.scenarios_csv and result.is_optimal:
        _export(write_csv_of(result.scenarios), args.scenarios_csv)
    saved = _save_and_bundle(saving, result, dataset, strategy)
    if args.json:
        print(json.dumps({**result.to_dict(), **saved}, ensure_ascii=False))
    else:
        print(format_result(result, strategy.description))
    if not result.is_optimal:
        print(f"stibium: {result.message}", file=sys.stderr)
    return EXIT_OK if result.is_optimal else EXIT_NO_PLAN


def write_csv_of(frame: Any) -> Any:
    from stibium.model import write_csv

    return lambda path: write_csv(frame, path)


def _export(writer: Any, path: str) -> None:
    """Run an (atomic, escaping) writer; a path that cannot be written is bad input."""
    from stibium.model import StibiumInputError

    try:
        writer(path)
    except OSError as exc:
        raise StibiumInputError(f"{path}: cannot be written ({exc.strerror})") from None


def _parse_availability(text: str) -> dict[str, float]:
    from stibium.model import StibiumInputError

    values: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        country, sep, number = part.partition("=")
        try:
            if not sep:
                raise ValueError
            values[country.strip()] = float(number)
        except ValueError:
            raise StibiumInputError(f"--availability: '{part}' is not COUNTRY=FRACTION") from None
    if not values:
        raise StibiumInputError("--availability: give at least one COUNTRY=FRACTION")
    return values


def cmd_stress(args: argparse.Namespace) -> int:
    from stibium.model import load_dataset, load_strategy, read_plan_csv, stress_tests

    where = cli_sweeps.parallel_options(args, several=args.event == "all")
    dataset = load_dataset(args.data)
    strategy = load_strategy(args.strategy)
    plan = None
    if args.plan:
        plan = read_plan_csv(dataset, strategy, args.plan)
    availability = _parse_availability(args.availability) if args.availability else None
    events = None
    if availability is None:
        events = list(dataset["events"]["event"]) if args.event == "all" else [args.event]
    outcomes = stress_tests(dataset, strategy, events, plan=plan, availability=availability,
                            onset=args.onset, price_multiplier=args.price_multiplier,
                            progress=cli_sweeps.progress_printer(args, "stresses"), **where)
    if args.json:
        payload = [{**o.value.to_dict(), "status": "ok"} if o.ok else
                   {"stress": o.label, "status": "failed", "message": o.error}
                   for o in outcomes]
        print(json.dumps(payload[0] if len(payload) == 1 else payload, ensure_ascii=False))
    else:
        print("\n\n".join(format_stress(o.value) if o.ok else
                           f"Stress: {o.label}\nfailed: {o.error}" for o in outcomes))
    failures = [o.describe() for o in outcomes if not o.ok]
    return cli_sweeps.report_failures(failures, len(outcomes))


def cmd_compare(args: argparse.Namespace) -> int:
    from stibium.model import compare, load_dataset, load_strategy, plan_diff, write_workbook

    where = cli_sweeps.parallel_options(args, several=len(args.strategies) > 1)
    dataset = load_dataset(args.data)
    strategies = [load_strategy(name) for name in args.strategies]

    table, results = compare(dataset, strategies,
                             progress=cli_sweeps.progress_printer(args, "strategies"), **where)
    diff = plan_diff(results)
    if args.csv:
        _export(write_csv_of(table), args.csv)
    if args.xlsx:
        _export(lambda path: write_workbook({"kpis": table, "plan_diff": diff}, path), args.xlsx)
    if args.json:
        print(json.dumps({"strategies": _records(table), "plan_diff": _records(diff)},
                         ensure_ascii=False))
    else:
        print(format_comparison(table))
        if len(results) > 1:
            print("\nPlan differences (tonnes bought per route and year; only what differs):")
            with _pandas_display():
                print(diff.round(0).to_string(index=False) if not diff.empty
                      else "  (the plans are the same)")
    failed = table[table["status"] == "failed"]
    if not failed.empty:
        # A solve that broke (not the strategy's fault): the comparison is incomplete.
        return cli_sweeps.report_failures(
            [f"{row.strategy}: {row.message}" for row in failed.itertuples(index=False)],
            len(table))
    return EXIT_OK if (table["status"] == "optimal").all() else EXIT_NO_PLAN


def cmd_app(args: argparse.Namespace) -> int:
    from stibium.ui.launch import launch

    return launch(port=args.port)


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
          f"(fingerprint {dataset.fingerprint}); {len(estimates)} estimated values"
          + (":" if len(estimates) else "."))
    if len(estimates) == 0:
        return EXIT_OK
    with _pandas_display():
        print(estimates[["table", "key", "column", "value", "low", "high"]].to_string(index=False))
    return EXIT_OK


# --- saved runs and bundles (solve --save/--bundle, `stibium runs ...`) ------------------------

def _store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", metavar="URL", default=None,
                        help="runs store as a database URL (default: $STIBIUM_RUNS_URL, else "
                             "sqlite:///~/.stibium/runs.sqlite)")


def _add_solve_saving_options(solve: argparse.ArgumentParser) -> None:
    solve.add_argument("--save", action="store_true",
                       help="save the run in the runs store (see `stibium runs`)")
    solve.add_argument("--name", default=None,
                       help="a name for the saved run (implies --save)")
    solve.add_argument("--bundle", metavar="DIR", default=None,
                       help="write the reproducible bundle (result.xlsx, result.json, model.lp, "
                            "run_record.json, strategy.toml) into the new or empty folder DIR")
    _store_option(solve)


def _add_runs_parser(sub: Any) -> None:
    runs = sub.add_parser("runs", help="list, show, compare and delete saved runs")
    actions = runs.add_subparsers(dest="runs_command", required=True, parser_class=_Parser)
    listing = actions.add_parser("list", help="list the saved runs")
    listing.add_argument("--json", action="store_true", help="print one JSON object")
    _store_option(listing)
    show = actions.add_parser("show", help="show one saved run")
    show.add_argument("run_id", type=int, metavar="ID")
    show.add_argument("--data", metavar="DIR", default=None,
                      help="check reproducibility against this data directory (default: the "
                           "one the run was solved on)")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    _store_option(show)
    delete = actions.add_parser("delete", help="delete one saved run")
    delete.add_argument("run_id", type=int, metavar="ID")
    _store_option(delete)
    compare = actions.add_parser("compare", help="saved runs side by side")
    compare.add_argument("run_ids", type=int, nargs="+", metavar="ID")
    compare.add_argument("--json", action="store_true", help="print one JSON object")
    _store_option(compare)


def _prepare_saving(args: argparse.Namespace) -> dict[str, Any]:
    """Check the bundle folder and open the store before solving, so that a bad path or URL
    fails at once rather than after the solve."""
    saving: dict[str, Any] = {"store": None, "bundle": None, "name": args.name}
    if args.bundle:
        from stibium.model import check_bundle_directory

        saving["bundle"] = check_bundle_directory(args.bundle)
    if args.save or args.name is not None:
        # SQLAlchemy takes a noticeable part of a cold start: imported only when saving
        # (`stibium.model` imports the run store on first use).
        from stibium.model import RunStore

        saving["store"] = RunStore(args.store)
    return saving


def _save_and_bundle(saving: dict[str, Any], result: Any, dataset: Any, strategy: Any
                     ) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if saving["bundle"] is not None:
        from stibium.model import write_bundle

        paths = write_bundle(result, dataset, strategy, saving["bundle"])
        folder = next(iter(paths.values())).parent
        extra["bundle"] = str(folder)
        print(f"stibium: bundle written to {folder}", file=sys.stderr)
    store = saving["store"]
    if store is not None:
        with store:
            run_id = store.save(result, dataset, strategy, name=saving["name"])
        extra["run_id"] = run_id
        print(f"stibium: saved as run {run_id} in {store.url}", file=sys.stderr)
    return extra


def _open_store(args: argparse.Namespace) -> Any:
    from stibium.model import RunStore

    return RunStore(args.store)


def _iso(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z")


def cmd_runs(args: argparse.Namespace) -> int:
    with _open_store(args) as store:
        return RUNS_COMMANDS[args.runs_command](args, store)


def cmd_runs_list(args: argparse.Namespace, store: Any) -> int:
    table = store.list()
    if args.json:
        rows = _records(table.assign(created_at=[_iso(v) for v in table["created_at"]]))
        print(json.dumps({"store": store.url, "runs": rows}, ensure_ascii=False))
        return EXIT_OK
    if table.empty:
        print(f"No saved runs in {store.url} (save one with `stibium solve --save`).")
        return EXIT_OK
    shown = table.assign(
        name=table["name"].fillna("-"),
        total_cost=table["total_cost"].map(lambda v: "-" if v != v else f"${v:,.0f}"),
        created_at=table["created_at"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    shown.columns = ["id", "name", "strategy", "status", "total cost", "data", "saved (UTC)"]
    print(f"Saved runs in {store.url}:")
    with _pandas_display():
        print(shown.to_string(index=False))
    return EXIT_OK


def _data_unchanged(saved: Any, data: str | None) -> tuple[bool | None, str]:
    """Whether the data (the run's own folder, or `data`) still has the run's fingerprint."""
    from stibium.model import StibiumInputError, load_dataset

    folder = data if data is not None else saved.data_directory
    try:
        dataset = load_dataset(folder)
    except StibiumInputError as exc:
        return None, f"cannot be checked now ({exc})"
    if dataset.fingerprint == saved.data_fingerprint:
        return True, f"{folder} unchanged (fingerprint {saved.data_fingerprint})"
    return False, (f"{folder} has changed since the run (fingerprint now {dataset.fingerprint}, "
                   f"was {saved.data_fingerprint}): the run cannot be repeated on it as is")


def cmd_runs_show(args: argparse.Namespace, store: Any) -> int:
    saved = store.load(args.run_id)
    unchanged, data_line = _data_unchanged(saved, args.data)
    if args.json:
        payload = {**saved.result.to_dict(), "run_id": saved.id, "name": saved.name,
                   "created_at": _iso(saved.created_at), "data_unchanged": unchanged,
                   "run_record": saved.record}
        print(json.dumps(payload, ensure_ascii=False))
        return EXIT_OK
    version = saved.record.get("versions", {}).get("stibium", "?")
    title = f"Run {saved.id}" + (f" \"{saved.name}\"" if saved.name else "")
    print(f"{title}, saved {saved.created_at:%Y-%m-%d %H:%M:%S} UTC by Stibium {version}")
    print(f"Data: {data_line}")
    print(format_result(saved.result, saved.strategy.description))
    return EXIT_OK


def cmd_runs_delete(args: argparse.Namespace, store: Any) -> int:
    store.delete(args.run_id)
    print(f"Deleted run {args.run_id} from {store.url}.")
    return EXIT_OK


def cmd_runs_compare(args: argparse.Namespace, store: Any) -> int:
    import pandas as pd

    from stibium.model import kpis

    saved_runs = [store.load(run_id) for run_id in args.run_ids]
    powers: list[str] = []
    for saved in saved_runs:
        if "power" in saved.result.exposure:
            powers += [p for p in saved.result.exposure["power"] if p not in powers]
    rows = []
    for saved in saved_runs:
        result = saved.result
        row: dict[str, Any] = {"run_id": saved.id, "name": saved.name,
                               "strategy": saved.strategy.name,
                               "exposure_mode": saved.strategy.exposure_mode,
                               "status": result.status, "message": result.message}
        if result.is_optimal:
            row.update(kpis(result, powers))
        rows.append(row)
    table = pd.DataFrame(rows)
    if args.json:
        print(json.dumps({"runs": _records(table)}, ensure_ascii=False))
        return EXIT_OK
    labels = [f"#{s.id} {s.name or s.strategy.name}" for s in saved_runs]
    shown = table.drop(columns=["run_id", "name"]).rename(columns={"strategy": "strategy name"})
    shown.insert(0, "strategy", labels)
    print(format_comparison(shown))
    return EXIT_OK


RUNS_COMMANDS = {"list": cmd_runs_list, "show": cmd_runs_show, "delete": cmd_runs_delete,
                 "compare": cmd_runs_compare}


COMMANDS = {"solve": cmd_solve, "compare": cmd_compare, "stress": cmd_stress,
            "strategies": cmd_strategies, "check-data": cmd_check_data}
COMMANDS["runs"] = cmd_runs
COMMANDS.update(cli_sweeps.COMMANDS)
COMMANDS["app"] = cmd_app


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
        diagnosis = getattr(result, "diagnosis", None) or {}
        if diagnosis:
            lines.append(diagnosis["summary"])
            lines += [f"  check: {finding}" for finding in diagnosis["findings"]]
            if diagnosis["relaxation"]:
                lines.append("  least change that makes it feasible: "
                             + "; ".join(r["text"] for r in diagnosis["relaxation"]))
            if diagnosis["conflict"]:
                lines.append("  these cannot all hold: " + "; ".join(diagnosis["conflict"]))
        else:
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
        if "expected_shortfall_t" in m:
            lines += ["", f"Disruption risk over {m['scenario_count']:.0f} scenarios "
                          f"(β = {m['cvar_beta']:.2f}): expected shortfall "
                          f"{m['expected_shortfall_t']:,.0f} t, VaR {m['var_shortfall_t']:,.0f} t, "
                          f"CVaR {m['cvar_shortfall_t']:,.0f} t "
                          f"({100 * m['cvar_shortfall_share']:.1f}% of demand); expected cost "
                          f"${m['expected_total_cost']:,.0f}, CVaR of cost ${m['cvar_cost']:,.0f}",
                      f"Stockpile: {m['stock_days_of_cover']:.0f} days of cover on average; one "
                      f"more tonne at the start saves ${m['stock_marginal_value_usd_per_t']:,.0f}"
                      f" in expected recourse",
                      "Named stresses (each event alone from the first year):"]
            stress = result.stress[["event", "shortfall_t", "spot_t", "recourse_cost_usd"]]
            lines.append("  none: the data have no disruption events" if stress.empty else
                         stress.to_string(index=False, formatters={
                             "shortfall_t": "{:,.0f}".format, "spot_t": "{:,.0f}".format,
                             "recourse_cost_usd": "${:,.0f}".format}))
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


def format_stress(result: Any) -> str:
    t = result.totals
    lines = [f"Stress: {result.stress}",
             f"Surviving supply {t['surviving_t']:,.0f} of {t['planned_delivered_t']:,.0f} t "
             f"({100 * t['surviving_share']:.1f}%); stock drawn {t['stock_draw_t']:,.0f} t; "
             f"spot {t['spot_t']:,.0f} t; shortfall {t['shortfall_t']:,.0f} t",
             f"Cost uplift ${t['cost_uplift_usd']:,.0f} "
             f"({100 * t['cost_uplift_share']:.1f}% of the plan's cost)",
             f"First to break: {result.first_break['text']}"]
    with _pandas_display():
        lines.append(result.by_period.round(0).to_string(index=False))
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
        elif column in ("hhi_wgi_t", "geopolrisk"):
            shown[column] = shown[column].map(lambda v: "-" if v != v else f"{v:.3f}")
        elif column in ("unmet_t", "naive_hhi", "effective_hhi", "stock_days_of_cover") \
                or column.endswith("_t"):
            shown[column] = shown[column].map(lambda v: "-" if v != v else f"{v:,.0f}")
    shown = shown.set_index("strategy").T
    with _pandas_display():
        return shown.to_string()
