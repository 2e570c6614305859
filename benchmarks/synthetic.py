"""A synthetic dataset of N origins and N hubs for timing the optimiser on larger networks.

Run: python benchmarks/synthetic.py OUT [--origins 200] [--hubs 200] [--last-period 2045]
                                        [--base DIR]

The shipped dataset has 16 origins, 10 hubs, 31 routes and the periods 2026–2035. This writes
a folder that `stibium.model.load_dataset` (and ``stibium check-data --data OUT``) accepts, in
which

- every shipped origin and hub is cloned, round robin, until there are ``origins`` origins and
  ``hubs`` hubs. A clone sits in its parent's country, so the countries, the leverage matrix,
  the events and their effects (all per country or power) stay the shipped ones and the
  scenarios stay meaningful. The first copy keeps the shipped name (strategies that name
  origins or hubs still validate); the others are called ``"<name> (synthetic k)"``;
- production (2024, 2025), reserves and hub capacity are split between a node's copies with
  unequal, deterministic shares, so that world totals stay the shipped ones; shares,
  yields, fees, price factors and ramp-ups are copied;
- every shipped route o → h → m is repeated ``max(copies of o, copies of h)`` times, pairing
  the copies round robin, so every copy has a route; freight is perturbed by up to ±5 %
  (within the shipped row's range) so that the copies are not exact ties, which would make
  the LP needlessly degenerate;
- the per-period tables (demand, prices, ramp-ups still in force in the last shipped period)
  are extended to ``last_period`` by carrying the last shipped year forward.

Every generated or changed row is an estimate (``is_estimate=1``) with a low–high range, its
source says ``synthetic benchmark data derived from <table> <shipped row>``, and its note says
that it is not real data. Rows of nodes with one copy, and the first route of each shipped
route, are the shipped rows unchanged, so ``origins=16, hubs=10`` is the shipped dataset with
a longer horizon. Tables without origins, hubs or periods are copied byte for byte.

The economics shift somewhat with N: a per-origin share cap (e.g. dependency-aware's 40 %)
applies to each copy separately, so it binds less. These datasets are for timing only.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stibium.model.data import TABLES, default_data_dir

Row = dict[str, str]

# Golden-ratio sequence: well spread, deterministic shares and perturbations (no RNG state, so
# the same arguments always give byte-identical files).
GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
FREIGHT_SPREAD = 0.10  # copies' freight within ±5 % of the shipped route's
SPLIT_RANGE = (0.5, 1.5)  # range of a split value when the shipped row has none: the split
#                           itself is invented, so the value is uncertain by half
CHANGED_TABLES = ("origins", "exportable", "ramp_ups", "hubs", "hub_yields", "hub_fees",
                  "demand", "prices", "price_factors", "routes")


@dataclass(frozen=True)
class SyntheticSummary:
    folder: Path
    origins: int
    hubs: int
    routes: int
    first_period: int
    last_period: int


def _spread(i: int) -> float:
    """A number in [0, 1) for copy i, the same for every node."""
    return (i * GOLDEN) % 1.0


def split_shares(copies: int) -> list[float]:
    """Unequal shares (summing to 1) of a node's production or capacity over its copies."""
    weights = [1.0 + 0.5 * _spread(i + 1) for i in range(copies)]
    total = sum(weights)
    return [w / total for w in weights]


def copy_counts(total: int, parents: int) -> list[int]:
    """Copies per shipped node, round robin: the first ``total mod parents`` get one more."""
    return [total // parents + (1 if j < total % parents else 0) for j in range(parents)]


def copy_name(name: str, index: int) -> str:
    return name if index == 0 else f"{name} (synthetic {index + 1})"


def _number(value: float) -> str:
    text = f"{round(value, 3):.3f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _float(text: str) -> float | None:
    return float(text.replace("_", "")) if text.strip() else None


def _read(folder: Path, name: str) -> tuple[list[str], list[Row]]:
    with open(folder / TABLES[name].file, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, skipinitialspace=True)
        rows = [{k.strip(): (v or "").strip() for k, v in row.items()} for row in reader]
        return [c.strip() for c in reader.fieldnames or []], rows


def _write(folder: Path, name: str, columns: list[str], rows: list[Row]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (folder / TABLES[name].file).write_text(buffer.getvalue(), encoding="utf-8")


def _describe(name: str, row: Row) -> str:
    return f"{name}.csv " + " / ".join(row[k] for k in TABLES[name].key if row.get(k))


def _synthetic(name: str, parent: Row, how: str, **values: str) -> Row:
    """A copy of `parent` with new values, flagged as a synthetic estimate."""
    row = dict(parent)
    row.update(values)
    row["source"] = f"synthetic benchmark data derived from {_describe(name, parent)}"
    row["is_estimate"] = "1"
    row["note"] = (f"SYNTHETIC, not real data (benchmarks/synthetic.py): {how}; "
                   f"the shipped row's source: {parent['source']}")
    value_column = TABLES[name].value
    if value_column is not None and not (row["low"] and row["high"]):
        # An estimate needs a range; a copied value without one is taken as exact.
        row["low"] = row["high"] = row[value_column]
    return row


def _split(name: str, parent: Row, share: float, columns: tuple[str, ...], what: str) -> Row:
    """`parent` with the quantities in `columns` multiplied by `share` (empty stays empty)."""
    value_column = TABLES[name].value
    assert value_column is not None
    values = {c: _number(share * v) for c in columns
              if (v := _float(parent[c])) is not None}
    value = float(values[value_column])
    low, high = SPLIT_RANGE[0] * value, SPLIT_RANGE[1] * value
    if (parent_low := _float(parent["low"])) is not None:
        low = min(low, share * parent_low)
    if (parent_high := _float(parent["high"])) is not None:
        high = max(high, share * parent_high)
    return _synthetic(name, parent, f"{share:.4f} of the shipped {what} (split between "
                      f"the node's synthetic copies)", **values,
                      low=_number(low), high=_number(high))


def _clone_nodes(folder: Path, out: Path, owner: str, key: str, count: int,
                 split_columns: tuple[str, ...], what: str,
                 companions: tuple[str, ...]) -> dict[str, list[str]]:
    """Clone the rows of `owner` (origins or hubs) and of its one-row-per-node companion
    tables; returns shipped name → names of its copies."""
    columns, rows = _read(folder, owner)
    if count < len(rows):
        raise ValueError(f"{count} {owner} requested, but the base data already has "
                         f"{len(rows)}: clones only add nodes (the shipped names stay, so "
                         f"strategies that name them still work)")
    copies: dict[str, list[str]] = {}
    out_rows: list[Row] = []
    for parent, n in zip(rows, copy_counts(count, len(rows)), strict=True):
        names = [copy_name(parent[key], i) for i in range(n)]
        copies[parent[key]] = names
        if n == 1:
            out_rows.append(parent)
            continue
        for name, share in zip(names, split_shares(n), strict=True):
            out_rows.append({**_split(owner, parent, share, split_columns, what), key: name})
    _write(out, owner, columns, out_rows)
    for table in companions:
        columns, rows = _read(folder, table)
        out_rows = []
        for parent in rows:
            names = copies[parent[key]]
            if len(names) == 1:
                out_rows.append(parent)
                continue
            out_rows += [{**_synthetic(table, parent, f"copied from {parent[key]!r} for its "
                                       f"synthetic copy"), key: name} for name in names]
        _write(out, table, columns, out_rows)
    return copies


def _extend(parent: Row, name: str, period: int, last: int) -> Row:
    return _synthetic(name, parent, f"the shipped value of period {last} carried forward to "
                      f"{period} to give the benchmarks a longer horizon; not a forecast",
                      period=str(period))


def _extend_periods(rows: list[Row], name: str, group: Callable[[Row], tuple[str, ...]],
                    last_shipped: int, last_period: int, only_running: bool = False
                    ) -> list[Row]:
    """Rows for the periods after `last_shipped`, carrying each group's last row forward
    (``only_running``: only groups that have a row in `last_shipped`, e.g. ramp-ups still in
    force; a node without a row defaults to factor 1)."""
    last_row: dict[tuple[str, ...], Row] = {}
    for row in rows:
        key = group(row)
        if key not in last_row or int(row["period"]) >= int(last_row[key]["period"]):
            last_row[key] = row
    extra = []
    for row in last_row.values():
        last = int(row["period"])
        if only_running and last != last_shipped:
            continue
        extra += [_extend(row, name, period, last)
                  for period in range(last + 1, last_period + 1)]
    return rows + extra


def write_synthetic(folder: str | Path, origins: int, hubs: int, last_period: int,
                    base: str | Path | None = None) -> SyntheticSummary:
    """Write a dataset with `origins` origins, `hubs` hubs and periods up to `last_period`
    (derived from the dataset at `base`, default the shipped one) into `folder`."""
    source = Path(base) if base is not None else default_data_dir()
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for name, spec in TABLES.items():
        if name not in CHANGED_TABLES:
            shutil.copyfile(source / spec.file, out / spec.file)

    origin_copies = _clone_nodes(source, out, "origins", "origin", origins,
                                 ("production_2024_t", "production_2025_t", "reserves_t"),
                                 "production and reserves", ("exportable", "price_factors"))
    hub_copies = _clone_nodes(source, out, "hubs", "hub", hubs, ("capacity_t",), "capacity",
                              ("hub_yields", "hub_fees"))

    _, demand = _read(source, "demand")
    _, prices = _read(source, "prices")
    shipped_periods = sorted({int(r["period"]) for r in demand} & {int(r["period"])
                                                                  for r in prices})
    first, last_shipped = shipped_periods[0], shipped_periods[-1]
    for name, rows, group in (("demand", demand, lambda r: (r["market"],)),
                              ("prices", prices, lambda r: ())):
        columns, _ = _read(source, name)
        _write(out, name, columns, _extend_periods(rows, name, group, last_shipped,
                                                   last_period))

    columns, ramp = _read(source, "ramp_ups")
    copies_of = {"origin": origin_copies, "hub": hub_copies}
    cloned: list[Row] = []
    for parent in ramp:
        names = copies_of.get(parent["kind"], {}).get(parent["node"], [parent["node"]])
        cloned.append(parent)
        cloned += [{**_synthetic("ramp_ups", parent, f"copied from {parent['node']!r} for "
                                 f"its synthetic copy"), "node": name} for name in names[1:]]
    _write(out, "ramp_ups", columns, _extend_periods(
        cloned, "ramp_ups", lambda r: (r["node"], r["kind"]), last_shipped, last_period,
        only_running=True))

    columns, routes = _read(source, "routes")
    out_routes: list[Row] = []
    for parent in routes:
        origin_names, hub_names = origin_copies[parent["origin"]], hub_copies[parent["hub"]]
        out_routes.append(parent)  # pair 0: the shipped route itself
        low, high = _float(parent["low"]), _float(parent["high"])
        freight = float(parent["freight_usd_per_t"])
        for i in range(1, max(len(origin_names), len(hub_names))):
            value = freight * (1.0 + FREIGHT_SPREAD * (_spread(i) - 0.5))
            value = min(max(value, low if low is not None else value),
                        high if high is not None else value)
            out_routes.append({**_synthetic(
                "routes", parent, f"the shipped route between synthetic copies of its origin "
                f"and hub, freight ×{value / freight:.3f} so that copies are not exact ties"),
                "origin": origin_names[i % len(origin_names)],
                "hub": hub_names[i % len(hub_names)],
                "freight_usd_per_t": _number(value)})
    _write(out, "routes", columns, out_routes)
    (out / "README.md").write_text(
        f"# Synthetic benchmark dataset (not real data)\n\nWritten by benchmarks/synthetic.py "
        f"from {source}: {origins} origins, {hubs} hubs, {len(out_routes)} routes, periods "
        f"{first}–{max(last_period, last_shipped)}. Rows marked `synthetic benchmark data` in "
        f"`source` are clones, splits or carried-forward values for timing runs only.\n",
        encoding="utf-8")
    return SyntheticSummary(folder=out, origins=origins, hubs=hubs, routes=len(out_routes),
                            first_period=first, last_period=max(last_period, last_shipped))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="folder to write (created; files overwritten)")
    parser.add_argument("--origins", type=int, default=200)
    parser.add_argument("--hubs", type=int, default=200)
    parser.add_argument("--last-period", type=int, default=2045)
    parser.add_argument("--base", type=Path, default=None,
                        help="dataset to derive from (default: the shipped data)")
    args = parser.parse_args(argv)
    try:
        summary = write_synthetic(args.out, args.origins, args.hubs, args.last_period,
                                  args.base)
    except ValueError as exc:
        print(f"synthetic.py: {exc}", file=sys.stderr)
        return 2
    print(f"{summary.folder}: {summary.origins} origins, {summary.hubs} hubs, "
          f"{summary.routes} routes, periods {summary.first_period}–{summary.last_period}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
