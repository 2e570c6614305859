"""The sourcing LP of `stibium.model.build.build_model`, assembled directly as HiGHS arrays.

This is the speed baseline of `bench_two_stage.py`: the same rows, columns, bounds and
objective as the Pyomo model, written with numpy index arithmetic and one
``scipy.sparse.coo_matrix → csc`` conversion, then handed to `highspy`. Nothing here uses
Pyomo; the only Python loops run over routes, powers and cap groups (tens of items), never
over scenarios or periods.

Column layout (each block contiguous, row-major in the order of its indices)::

    buy[r, t]                        R·T
    stock[m, t], unmet[m, t]         M·T each
    hold[k, m, t], spot[k, m, t], short[k, m, t]      K·M·T each   (with scenarios)
    arrivals[m, t]                                    M·T          ("aggregated" only)
    cvar_shortfall_eta, cvar_shortfall_z[k]          1 + K         (when used)
    first_stage_cost_value                            1            ("aggregated", cost CVaR)
    cvar_cost_eta, cvar_cost_z[k]                    1 + K         (when used)

Rows, one block per constraint family of build.py, in the same sense::

    origin_availability[o, t]  hub_capacity[h, t]  demand_balance[m, t]  stock_target[m, t]
    origin_share / hub_share / country_share[node, m, t]  risk_budget[m, t]
    exposure_cap[p, m, t]  (arrivals_definition[m, t])  scenario_balance[k, m, t]
    cvar_*_excess[k]  cvar_*_limit  (first_stage_cost_definition)

Usage (from the benchmarks folder, or with it on ``sys.path``)::

    from direct_highspy import solve_direct
    objective, build_s, solve_s = solve_direct(instance)                 # plain
    objective, build_s, solve_s = solve_direct(instance, "aggregated")
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp

from stibium.model.highs import highs_for, quiet_highs, simplex_suits
from stibium.model.second_stage import SecondStage

INF = highspy.kHighsInf


@dataclass
class DirectLP:
    """The assembled LP plus where each variable block and row family sits (for diagnosis)."""

    lp: highspy.HighsLp
    columns: dict[str, tuple[int, int]] = field(default_factory=dict)  # name → (start, count)
    rows: dict[str, tuple[int, int]] = field(default_factory=dict)
    num_nz: int = 0

    @property
    def num_col(self) -> int:
        return int(self.lp.num_col_)

    @property
    def num_row(self) -> int:
        return int(self.lp.num_row_)


def _vector(value, count: int) -> np.ndarray:
    """`value` (a scalar, or an array of `count` elements in any shape) as a flat vector."""
    value = np.asarray(value, dtype=float)
    if value.ndim > 0 and value.size == count:
        return value.ravel()
    return np.broadcast_to(value, (count,))


class _Assembler:
    """Collects column blocks, row blocks and (row, col, value) triplets as numpy arrays."""

    def __init__(self) -> None:
        self.n_col = 0
        self.n_row = 0
        self.col_cost: list[np.ndarray] = []
        self.col_lower: list[np.ndarray] = []
        self.col_upper: list[np.ndarray] = []
        self.row_lower: list[np.ndarray] = []
        self.row_upper: list[np.ndarray] = []
        self.entry_rows: list[np.ndarray] = []
        self.entry_cols: list[np.ndarray] = []
        self.entry_vals: list[np.ndarray] = []
        self.columns: dict[str, tuple[int, int]] = {}
        self.rows: dict[str, tuple[int, int]] = {}

    def cols(self, name: str, count: int, cost=0.0, lower=0.0, upper=INF) -> int:
        start = self.n_col
        self.col_cost.append(_vector(cost, count))
        self.col_lower.append(_vector(lower, count))
        self.col_upper.append(_vector(upper, count))
        self.columns[name] = (start, count)
        self.n_col += count
        return start

    def block(self, name: str, count: int, lower=-INF, upper=INF) -> int:
        start = self.n_row
        self.row_lower.append(_vector(lower, count))
        self.row_upper.append(_vector(upper, count))
        self.rows[name] = (start, count)
        self.n_row += count
        return start

    def add(self, rows, cols, vals) -> None:
        rows = np.asarray(rows, dtype=np.int64).ravel()
        cols = np.asarray(cols, dtype=np.int64).ravel()
        vals = np.broadcast_to(np.asarray(vals, dtype=float), rows.shape).ravel()
        self.entry_rows.append(rows)
        self.entry_cols.append(cols)
        self.entry_vals.append(vals)

    def finish(self) -> DirectLP:
        rows = np.concatenate(self.entry_rows) if self.entry_rows else np.zeros(0, np.int64)
        cols = np.concatenate(self.entry_cols) if self.entry_cols else np.zeros(0, np.int64)
        vals = np.concatenate(self.entry_vals) if self.entry_vals else np.zeros(0)
        keep = vals != 0.0
        matrix = sp.coo_matrix((vals[keep], (rows[keep], cols[keep])),
                               shape=(self.n_row, self.n_col)).tocsc()  # sums duplicates
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = self.n_col, self.n_row
        lp.col_cost_ = np.concatenate(self.col_cost)
        lp.col_lower_ = np.concatenate(self.col_lower)
        lp.col_upper_ = np.concatenate(self.col_upper)
        lp.row_lower_ = (np.concatenate(self.row_lower) if self.row_lower else np.zeros(0))
        lp.row_upper_ = (np.concatenate(self.row_upper) if self.row_upper else np.zeros(0))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
        lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
        lp.a_matrix_.value_ = matrix.data.astype(float)
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = self.n_col, self.n_row
        return DirectLP(lp=lp, columns=self.columns, rows=self.rows, num_nz=int(matrix.nnz))


FORMULATIONS = ("plain", "aggregated", "trimmed")


def assemble(instance, formulation: str = "plain", bounded: bool | None = None) -> DirectLP:
    """The full LP of ``build_model(instance)`` as a HighsLp, with its block layout.

    ``plain`` is build.py's formulation up to commit 2f4774a (each scenario row sums the
    surviving deliveries route by route; each cost-CVaR row repeats the first-stage cost).
    ``aggregated`` is the equivalent one with two helper variables that build.py uses from
    commit e0ed301 on: ``arrivals[m, t] = Σ_r yield_r · buy[r, t]`` (row
    ``arrivals_definition``) enters every scenario row, minus ``(1 − survival) · yield · buy``
    for the routes the scenario cuts once disrupted; ``first_stage_cost_value`` (row
    ``first_stage_cost_definition``) stands for the first-stage cost in the cost-CVaR rows,
    and spot/short terms of variables fixed at 0 are left out of the loss rows. Both have the
    same optimum; ``aggregated`` reproduces e0ed301's row, column and nonzero counts exactly.

    ``bounded`` adds what build.py has from commit e4cd368 on: ``unmet[m, t] ≤ demand``, the
    rows ``unmet_limit[m, t]: unmet ≤ max_unmet_share · demand`` when the strategy sets that
    share, and ``short[k, m, t] ≤ demand`` once disrupted (before: no upper bound). ``None``
    (default) decides by the Strategy: True when it has the field ``max_unmet_share``, which
    came with those bounds.
    """
    if bounded is None:
        bounded = hasattr(instance.strategy, "max_unmet_share")
    if formulation not in FORMULATIONS:
        raise ValueError(f"unknown formulation {formulation!r} (known: {FORMULATIONS})")
    strategy = instance.strategy
    routes = instance.routes
    periods = list(instance.periods)
    markets = instance.markets
    R, T, M = len(routes), len(periods), len(markets)
    t_of = np.arange(T)
    market_of = {m: i for i, m in enumerate(markets)}
    route_market = routes["market"].map(market_of).to_numpy(dtype=np.int64)
    yields = routes["recovery_yield"].to_numpy(dtype=float)
    risk = routes["risk_score"].to_numpy(dtype=float)
    demand = instance.demand.loc[markets, periods].to_numpy(dtype=float)  # M × T
    initial = float(strategy.initial_stock_t)
    first_period = (t_of == 0).astype(float)

    a = _Assembler()

    # --- columns: first stage ------------------------------------------------------------
    unit_cost = instance.unit_cost.loc[routes.index, periods].to_numpy(dtype=float)  # R × T
    buy_cost = unit_cost.copy()
    if strategy.risk_price_usd_per_t > 0:  # the risk charge is on delivered tonnes
        buy_cost += strategy.risk_price_usd_per_t * (risk * yields)[:, None]
    BUY = a.cols("buy", R * T, cost=buy_cost.ravel())
    STOCK = a.cols("stock", M * T, cost=instance.holding_cost)
    UNMET = a.cols("unmet", M * T, cost=instance.unmet_penalty,
                   upper=demand.ravel() if bounded else INF)

    # (r, t) pairs, row-major: the buy column of route r in period t is BUY + r·T + t.
    r_rt = np.repeat(np.arange(R), T)
    t_rt = np.tile(t_of, R)
    buy_rt = BUY + r_rt * T + t_rt
    delivered_rt = yields[r_rt]

    # --- supply ----------------------------------------------------------------------------
    for family, column, table in (("origin_availability", "origin", instance.availability),
                                  ("hub_capacity", "hub", instance.capacity)):
        nodes = sorted(set(routes[column]))
        limit = table.loc[nodes, periods].to_numpy(dtype=float)
        start = a.block(family, len(nodes) * T, upper=limit.ravel())
        node_of = {n: i for i, n in enumerate(nodes)}
        node_rt = routes[column].map(node_of).to_numpy(dtype=np.int64)[r_rt]
        a.add(start + node_rt * T + t_rt, buy_rt, 1.0)

    # --- demand balance: delivered + stock[t−1] − stock[t] + unmet = demand ----------------
    rhs = demand - initial * first_period[None, :]
    start = a.block("demand_balance", M * T, lower=rhs.ravel(), upper=rhs.ravel())
    a.add(start + route_market[r_rt] * T + t_rt, buy_rt, delivered_rt)
    mt = np.arange(M * T)
    a.add(start + mt, STOCK + mt, -1.0)
    a.add(start + mt, UNMET + mt, 1.0)
    later = mt[(mt % T) > 0]
    a.add(start + later, STOCK + later - 1, 1.0)
    max_unmet_share = getattr(strategy, "max_unmet_share", None)
    if bounded and max_unmet_share is not None:
        start = a.block("unmet_limit", M * T, upper=(max_unmet_share * demand).ravel())
        a.add(start + mt, UNMET + mt, 1.0)
    if strategy.stock_target_days > 0:
        target = instance.stock_target.loc[markets, periods].to_numpy(dtype=float)
        start = a.block("stock_target", M * T, lower=target.ravel())
        a.add(start + mt, STOCK + mt, 1.0)

    # --- share caps: delivered from node in market ≤ cap · demand --------------------------
    def share_family(name: str, members: list[tuple[int, str]], caps: dict[str, float]):
        """`members`: (route position, node) pairs; groups are (node, market of the route)."""
        groups: dict[tuple[str, int], int] = {}
        pairs = []
        for r, node in members:
            if node not in caps:
                continue
            key = (node, int(route_market[r]))
            groups.setdefault(key, len(groups))
            pairs.append((r, groups[key]))
        if not groups:
            return
        cap = np.array([caps[node] for node, _ in groups], dtype=float)
        group_market = np.array([m for _, m in groups], dtype=np.int64)
        start = a.block(name, len(groups) * T,
                        upper=(cap[:, None] * demand[group_market]).ravel())
        member_route = np.array([p[0] for p in pairs], dtype=np.int64)
        member_group = np.array([p[1] for p in pairs], dtype=np.int64)
        rr = np.repeat(member_route, T)
        gg = np.repeat(member_group, T)
        tt = np.tile(t_of, len(pairs))
        a.add(start + gg * T + tt, BUY + rr * T + tt, yields[rr])

    share_family("origin_share", list(enumerate(routes["origin"])), instance.origin_caps)
    share_family("hub_share", list(enumerate(routes["hub"])), instance.hub_caps)
    country_members = [(r, c) for r, (o, h) in enumerate(zip(routes["origin_country"],
                                                             routes["hub_country"],
                                                             strict=True))
                       for c in sorted({o, h})]
    share_family("country_share", country_members, instance.country_caps)

    # --- risk budget -----------------------------------------------------------------------
    if strategy.risk_budget is not None:
        start = a.block("risk_budget", M * T, upper=(strategy.risk_budget * demand).ravel())
        a.add(start + route_market[r_rt] * T + t_rt, buy_rt, (risk * yields)[r_rt])

    # --- exposure caps (rows only where some route has weight > 0, like build.py) ----------
    if instance.exposure_caps:
        weights = instance.exposure_weights(strategy.exposure_mode)
        for power, cap in instance.exposure_caps.items():
            w = weights[power].to_numpy(dtype=float)
            exposed_markets = sorted(set(route_market[w > 0]))
            if not exposed_markets:
                continue
            slot = {m: i for i, m in enumerate(exposed_markets)}
            em = np.array(exposed_markets, dtype=np.int64)
            start = a.block(f"exposure_cap[{power}]", len(em) * T,
                            upper=(cap * demand[em]).ravel())
            sel = np.flatnonzero(w[r_rt] > 0)
            row_slot = np.array([slot.get(int(m), -1) for m in route_market], dtype=np.int64)
            a.add(start + row_slot[r_rt[sel]] * T + t_rt[sel], buy_rt[sel],
                  (w * yields)[r_rt[sel]])

    recourse = instance.recourse
    if recourse is not None and formulation == "trimmed":
        _assemble_trimmed_recourse(a, instance, recourse, BUY, STOCK, UNMET, unit_cost,
                                   route_market, yields, demand)
    elif recourse is not None:
        _assemble_recourse(a, instance, recourse, BUY, STOCK, UNMET, unit_cost, route_market,
                           yields, demand, rhs, aggregated=formulation == "aggregated",
                           bounded=bounded)
    return a.finish()


def _recourse_arrays(instance, recourse) -> tuple:
    """What both second-stage assemblies read, from the model's one definition of the second
    stage (`stibium.model.second_stage.SecondStage`): the strategy, periods, markets, the
    sizes (R, T, M, K), probabilities (K), survival (K × R), disrupted (K × T), spot price
    (K × T) and spot limit (M × T)."""
    second_stage = SecondStage.of(instance, recourse)
    K, M, T = second_stage.shape
    return (instance.strategy, list(instance.periods), instance.markets,
            (len(second_stage.yields), T, M, K), second_stage.probability,
            second_stage.survival, second_stage.disrupted, second_stage.spot_price,
            second_stage.spot_limit)


def _assemble_recourse(a: _Assembler, instance, recourse, BUY: int, STOCK: int, UNMET: int,
                       unit_cost: np.ndarray, route_market: np.ndarray, yields: np.ndarray,
                       demand: np.ndarray, rhs: np.ndarray, aggregated: bool,
                       bounded: bool) -> None:
    (strategy, periods, markets, (R, T, M, K), probability, survival, disrupted, spot_price,
     spot_limit) = _recourse_arrays(instance, recourse)
    penalty = float(instance.unmet_penalty)
    n = K * M * T

    # hold ≥ 0 free of cost; spot and short are 0 before the onset (non-anticipativity).
    disrupted_kmt = np.broadcast_to(disrupted[:, None, :], (K, M, T))
    HOLD = a.cols("hold", n)
    SPOT = a.cols("spot", n,
                  cost=np.broadcast_to((probability[:, None] * spot_price)[:, None, :],
                                       (K, M, T)),
                  upper=np.where(disrupted_kmt, spot_limit[None, :, :], 0.0))
    SHORT = a.cols("short", n,
                   cost=np.broadcast_to((probability * penalty)[:, None, None], (K, M, T)),
                   upper=np.where(disrupted_kmt, demand[None, :, :] if bounded else INF,
                                  0.0))

    mt = np.arange(M * T)
    if aggregated:
        ARRIVALS = a.cols("arrivals", M * T)
        r_rt = np.repeat(np.arange(R), T)
        t_rt = np.tile(np.arange(T), R)
        start = a.block("arrivals_definition", M * T, lower=0.0, upper=0.0)
        a.add(start + mt, ARRIVALS + mt, 1.0)
        a.add(start + route_market[r_rt] * T + t_rt, BUY + r_rt * T + t_rt, -yields[r_rt])

    # scenario_balance[k, m, t]: arriving + hold[t−1] − hold[t] + spot + short + unmet ≥ demand
    start = a.block("scenario_balance", n,
                    lower=np.broadcast_to(rhs[None, :, :], (K, M, T)))
    kmt = np.arange(n)
    if aggregated:
        # arriving = arrivals − Σ (1 − survival) · yield · buy over the routes cut, once
        # disrupted
        a.add(start + kmt, ARRIVALS + kmt % (M * T), 1.0)
        cut = np.where(disrupted[:, None, :], (1.0 - survival)[:, :, None], 0.0)
        coefficient = -yields[None, :, None] * cut  # K × R × T
    else:
        # arriving: survival once disrupted, everything before the onset.
        coefficient = yields[None, :, None] * np.where(disrupted[:, None, :],
                                                       survival[:, :, None], 1.0)  # K × R × T
    kk, rr, tt = np.nonzero(coefficient)
    a.add(start + (kk * M + route_market[rr]) * T + tt, BUY + rr * T + tt,
          coefficient[kk, rr, tt])
    a.add(start + kmt, HOLD + kmt, -1.0)
    later = kmt[(kmt % T) > 0]
    a.add(start + later, HOLD + later - 1, 1.0)
    a.add(start + kmt, SPOT + kmt, 1.0)
    a.add(start + kmt, SHORT + kmt, 1.0)
    a.add(start + kmt, UNMET + kmt % (M * T), 1.0)

    # --- CVaR (Rockafellar–Uryasev): z_k ≥ loss_k − η, CVaR = η + Σ π z / (1 − β) -----------
    beta = float(instance.cvar_beta)
    total_demand = float(demand.sum())
    k_idx = np.arange(K)

    def cvar_block(measure: str, weight: float, limit: float | None, loss_entries) -> None:
        ETA = a.cols(f"cvar_{measure}_eta", 1, cost=weight, lower=-INF)
        Z = a.cols(f"cvar_{measure}_z", K, cost=weight * probability / (1.0 - beta))
        row = a.block(f"cvar_{measure}_excess", K, lower=0.0)  # z + η − loss ≥ 0
        a.add(row + k_idx, Z + k_idx, 1.0)
        a.add(row + k_idx, np.full(K, ETA), 1.0)
        for cols_of_k, values in loss_entries:  # K × n columns; values broadcast to it
            terms = cols_of_k.shape[1]
            a.add(np.repeat(row + k_idx, terms), cols_of_k.ravel(),
                  -np.broadcast_to(values, cols_of_k.shape).ravel())
        if limit is not None:
            row = a.block(f"cvar_{measure}_limit", 1, upper=limit)
            a.add(np.full(K + 1, row), np.concatenate([[ETA], Z + k_idx]),
                  np.concatenate([[1.0], probability / (1.0 - beta)]))

    # per-scenario columns of spot/short: K × (M·T)
    scenario_mt = k_idx[:, None] * (M * T) + mt[None, :]
    first_stage_unmet = np.broadcast_to(UNMET + mt, (K, M * T))
    # The aggregated build.py leaves out of the loss rows the spot and short terms whose
    # variable is fixed at 0 (before the onset; spot also where its limit is 0).
    spot_open = np.ones((K, M * T))
    short_open = np.ones((K, M * T))
    if aggregated:
        spot_open = (np.where(disrupted_kmt, spot_limit[None, :, :], 0.0) > 0).reshape(K, -1)
        short_open = disrupted_kmt.reshape(K, -1).astype(float)
    if (strategy.cvar_shortfall_limit is not None
            or strategy.cvar_shortfall_weight_usd_per_t > 0):
        limit = (strategy.cvar_shortfall_limit * total_demand
                 if strategy.cvar_shortfall_limit is not None else None)
        cvar_block("shortfall", strategy.cvar_shortfall_weight_usd_per_t, limit, [
            (first_stage_unmet, np.ones(M * T)),
            (SHORT + scenario_mt, short_open),
        ])
    if strategy.cvar_cost_limit_usd is not None or strategy.cvar_cost_weight > 0:
        first_cols = np.concatenate([BUY + np.arange(R * T), STOCK + mt, UNMET + mt])
        first_vals = np.concatenate([unit_cost.ravel(), np.full(M * T, instance.holding_cost),
                                     np.full(M * T, penalty)])
        if aggregated:
            VALUE = a.cols("first_stage_cost_value", 1, lower=-INF)
            row = a.block("first_stage_cost_definition", 1, lower=0.0, upper=0.0)
            a.add(np.full(len(first_cols) + 1, row), np.concatenate([[VALUE], first_cols]),
                  np.concatenate([[1.0], -first_vals]))
            first_cols, first_vals = np.array([VALUE]), np.array([1.0])
        spot_cost = np.repeat(spot_price[:, None, :], M, axis=1).reshape(K, M * T)
        cvar_block("cost", strategy.cvar_cost_weight, strategy.cvar_cost_limit_usd, [
            (np.broadcast_to(first_cols, (K, len(first_cols))), first_vals),
            (SPOT + scenario_mt, spot_cost * spot_open),
            (SHORT + scenario_mt, penalty * short_open),
        ])


def _assemble_trimmed_recourse(a: _Assembler, instance, recourse, BUY: int, STOCK: int,
                               UNMET: int, unit_cost: np.ndarray, route_market: np.ndarray,
                               yields: np.ndarray, demand: np.ndarray) -> None:
    """The second stage of build.py from the onset-trimmed formulation on: scenario columns
    and rows exist only from each scenario's onset; the scenario's stock path starts from the
    planned stock of the period before (``stock[m, s − 1]``, or the initial stock), and the
    CVaR rows are those of ``aggregated``."""
    (strategy, periods, markets, (R, T, M, K), probability, survival, disrupted, spot_price,
     spot_limit) = _recourse_arrays(instance, recourse)
    second_stage = SecondStage.of(instance, recourse)
    onset, penalty, initial = (second_stage.onset, second_stage.penalty,
                               second_stage.initial_stock)

    kk, mm, tt = SecondStage.of(instance, recourse).open_cells()
    n = len(kk)
    position = np.full((K, M, T), -1, dtype=np.int64)
    position[kk, mm, tt] = np.arange(n)

    HOLD = a.cols("hold", n)
    SPOT = a.cols("spot", n, cost=probability[kk] * spot_price[kk, tt],
                  upper=spot_limit[mm, tt])
    SHORT = a.cols("short", n, cost=probability[kk] * penalty, upper=demand[mm, tt])
    ARRIVALS = a.cols("arrivals", M * T)
    mt = np.arange(M * T)
    r_rt = np.repeat(np.arange(R), T)
    t_rt = np.tile(np.arange(T), R)
    start = a.block("arrivals_definition", M * T, lower=0.0, upper=0.0)
    a.add(start + mt, ARRIVALS + mt, 1.0)
    a.add(start + route_market[r_rt] * T + t_rt, BUY + r_rt * T + t_rt, -yields[r_rt])

    cell = np.arange(n)
    starts_here = tt == onset[kk]
    rhs = demand[mm, tt] - np.where(starts_here & (tt == 0), initial, 0.0)
    start = a.block("scenario_balance", n, lower=rhs)
    a.add(start + cell, ARRIVALS + mm * T + tt, 1.0)
    a.add(start + cell, UNMET + mm * T + tt, 1.0)
    a.add(start + cell, HOLD + cell, -1.0)
    a.add(start + cell, SPOT + cell, 1.0)
    a.add(start + cell, SHORT + cell, 1.0)
    carried = ~starts_here
    a.add(start + cell[carried], HOLD + position[kk[carried], mm[carried], tt[carried] - 1],
          1.0)
    from_plan = starts_here & (tt > 0)
    a.add(start + cell[from_plan], STOCK + mm[from_plan] * T + tt[from_plan] - 1, 1.0)
    loss = 1.0 - survival  # K × R
    hit_k, hit_r = np.nonzero(loss > 0)
    # Each cut (k, r) enters the rows of r's market in every open period of k.
    rows = position[hit_k[:, None], route_market[hit_r][:, None], np.arange(T)[None, :]]
    keep = rows >= 0
    r_full = np.broadcast_to(hit_r[:, None], rows.shape)[keep]
    t_full = np.broadcast_to(np.arange(T)[None, :], rows.shape)[keep]
    values = -(loss[hit_k, hit_r] * yields[hit_r])
    a.add(start + rows[keep], BUY + r_full * T + t_full,
          np.broadcast_to(values[:, None], rows.shape)[keep])

    beta = float(instance.cvar_beta)
    total_demand = float(demand.sum())
    k_idx = np.arange(K)

    def cvar_block(measure: str, weight: float, limit: float | None,
                   loss_rows: np.ndarray, loss_cols: np.ndarray, loss_vals: np.ndarray
                   ) -> None:
        ETA = a.cols(f"cvar_{measure}_eta", 1, cost=weight, lower=-INF)
        Z = a.cols(f"cvar_{measure}_z", K, cost=weight * probability / (1.0 - beta))
        row = a.block(f"cvar_{measure}_excess", K, lower=0.0)  # z + η − loss ≥ 0
        a.add(row + k_idx, Z + k_idx, 1.0)
        a.add(row + k_idx, np.full(K, ETA), 1.0)
        a.add(row + loss_rows, loss_cols, -loss_vals)
        if limit is not None:
            row = a.block(f"cvar_{measure}_limit", 1, upper=limit)
            a.add(np.full(K + 1, row), np.concatenate([[ETA], Z + k_idx]),
                  np.concatenate([[1.0], probability / (1.0 - beta)]))

    if (strategy.cvar_shortfall_limit is not None
            or strategy.cvar_shortfall_weight_usd_per_t > 0):
        limit = (strategy.cvar_shortfall_limit * total_demand
                 if strategy.cvar_shortfall_limit is not None else None)
        cvar_block("shortfall", strategy.cvar_shortfall_weight_usd_per_t, limit,
                   np.concatenate([np.repeat(k_idx, M * T), kk]),
                   np.concatenate([np.tile(UNMET + mt, K), SHORT + cell]),
                   np.ones(K * M * T + n))
    if strategy.cvar_cost_limit_usd is not None or strategy.cvar_cost_weight > 0:
        first_cols = np.concatenate([BUY + np.arange(R * T), STOCK + mt, UNMET + mt])
        first_vals = np.concatenate([unit_cost.ravel(), np.full(M * T, instance.holding_cost),
                                     np.full(M * T, penalty)])
        VALUE = a.cols("first_stage_cost_value", 1, lower=-INF)
        row = a.block("first_stage_cost_definition", 1, lower=0.0, upper=0.0)
        a.add(np.full(len(first_cols) + 1, row), np.concatenate([[VALUE], first_cols]),
              np.concatenate([[1.0], -first_vals]))
        spot_open = spot_limit[mm, tt] > 0
        cvar_block("cost", strategy.cvar_cost_weight, strategy.cvar_cost_limit_usd,
                   np.concatenate([k_idx, kk[spot_open], kk]),
                   np.concatenate([np.full(K, VALUE), SPOT + cell[spot_open], SHORT + cell]),
                   np.concatenate([np.ones(K), spot_price[kk, tt][spot_open],
                                   np.full(n, penalty)]))


def build_direct(instance, formulation: str = "plain", bounded: bool | None = None
                 ) -> highspy.HighsLp:
    """The HighsLp of ``build_model(instance)`` (no Pyomo involved)."""
    return assemble(instance, formulation, bounded).lp


@dataclass
class DirectResult:
    objective: float
    build_seconds: float
    solve_seconds: float
    status: str
    direct: DirectLP
    col_value: np.ndarray
    row_dual: np.ndarray
    build_cpu_seconds: float = 0.0  # process_time: CPU of all threads of this process
    solve_cpu_seconds: float = 0.0
    iterations: int = 0  # simplex + IPM iterations: the solver's work, free of timing noise


def solve_direct_full(instance, formulation: str = "plain", options=None,
                      bounded: bool | None = None) -> DirectResult:
    """Assemble (arrays + passModel) and solve (run + read the solution), timing both.

    ``options``: a ``HighsOptions`` (e.g. copied from the HiGHS that `solve_model` used) or a
    dict of option values; default: the configuration every solve of the tool gets
    (`stibium.model.highs.highs_for`, with `simplex_suits` of the instance), so that both
    sides run the same algorithm.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    direct = assemble(instance, formulation, bounded)
    if options is None:
        highs = highs_for(direct.lp, simplex=simplex_suits(instance))
    else:
        highs = quiet_highs()
        if isinstance(options, dict):
            for name, value in options.items():
                highs.setOptionValue(name, value)
        else:
            highs.passOptions(options)
        highs.passModel(direct.lp)
    t1, c1 = time.perf_counter(), time.process_time()
    highs.run()
    status = highs.getModelStatus()
    solution = highs.getSolution()
    col_value = np.asarray(solution.col_value)
    row_dual = np.asarray(solution.row_dual)
    info = highs.getInfo()
    objective = float(info.objective_function_value)
    t2, c2 = time.perf_counter(), time.process_time()
    return DirectResult(objective=objective, build_seconds=t1 - t0, solve_seconds=t2 - t1,
                        status=highs.modelStatusToString(status), direct=direct,
                        col_value=col_value, row_dual=row_dual, build_cpu_seconds=c1 - c0,
                        solve_cpu_seconds=c2 - c1,
                        iterations=int(info.simplex_iteration_count + info.ipm_iteration_count))


def solve_direct(instance, formulation: str = "plain", options=None,
                 bounded: bool | None = None) -> tuple[float, float, float]:
    """(objective, build seconds, solve seconds); raises if HiGHS does not reach optimality."""
    result = solve_direct_full(instance, formulation, options, bounded)
    if result.status != "Optimal":
        raise RuntimeError(f"direct LP not optimal: {result.status}")
    return result.objective, result.build_seconds, result.solve_seconds
