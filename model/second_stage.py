"""The second stage, defined once: what each disruption scenario does to a plan, and the
buyer's reaction to it (stock draw-down, spot purchases up to the spot limit, shortfall).

`SecondStage` holds a scenario set's response for one instance as arrays (K scenarios, M
markets, T periods, R routes). Every consumer reads it:

- the extensive LP (`build.define_recourse`) writes its scenario rows from these arrays;
- the decomposition (`decompose`) solves each scenario's recourse in closed form on them;
- the replay of a fixed plan (`risk.evaluate`) assembles the recourse LP from them;
- the benchmark baseline (`benchmarks/direct_highspy.py`) assembles the extensive LP from them.

A scenario is *open* from its onset ``s`` on: before it the scenario cannot be told apart
from the others (non-anticipativity), so it buys nothing on the spot market, goes no more
short than the plan, and holds the planned stock. Its stock path starts from the planned
``stock[m, s − 1]`` (the initial stock when ``s`` is the first period). In an open period
the scenario receives ``survival[k, r] · delivered[r, t]`` of each route where it is
disrupted and everything where it is not.

Losses (the CVaR measures): a scenario's shortfall is the planned unmet demand plus its own
shortfall (tonnes over the horizon); its cost is the first-stage cost plus its recourse cost
(spot purchases at the scenario's price and shortfall at the unmet-demand penalty).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .instance import Instance, Recourse


@dataclass
class SecondStage:
    """A scenario set's second stage for one instance, as plain arrays."""

    onset: np.ndarray  # K: first disrupted period (T when never disrupted)
    disrupted: np.ndarray  # K × T, bool: where the routes' survival applies
    probability: np.ndarray  # K
    survival: np.ndarray  # K × R: share of a route's deliveries that arrive when disrupted
    yields: np.ndarray  # R: delivered tonnes per tonne bought
    market_of_route: np.ndarray  # R: market index
    spot_price: np.ndarray  # K × T ($/t)
    spot_limit: np.ndarray  # M × T (t)
    demand: np.ndarray  # M × T (t)
    penalty: float  # $/t of shortfall
    initial_stock: float  # t, in every market before the first period

    @classmethod
    def of(cls, instance: Instance, recourse: Recourse | None = None) -> SecondStage:
        """The arrays of `recourse` (by default the instance's own scenarios)."""
        recourse = instance.recourse if recourse is None else recourse
        if recourse is None:
            raise ValueError("the instance has no disruption scenarios")
        markets, periods = instance.markets, list(instance.periods)
        routes = instance.routes
        disrupted = recourse.disrupted.to_numpy(dtype=bool)
        T = disrupted.shape[1]
        market_index = {market: i for i, market in enumerate(markets)}
        return cls(
            onset=np.where(disrupted.any(axis=1), disrupted.argmax(axis=1), T),
            disrupted=disrupted,
            probability=np.asarray(recourse.probability, dtype=float),
            survival=recourse.survival[list(routes.index)].to_numpy(dtype=float),
            yields=routes["recovery_yield"].to_numpy(dtype=float),
            market_of_route=np.array([market_index[m] for m in routes["market"]], dtype=int),
            spot_price=recourse.spot_price.to_numpy(dtype=float),
            spot_limit=recourse.spot_limit.loc[markets, periods].to_numpy(dtype=float),
            demand=instance.demand.to_numpy(dtype=float),
            penalty=float(instance.unmet_penalty),
            initial_stock=float(instance.strategy.initial_stock_t),
        )

    @property
    def shape(self) -> tuple[int, int, int]:
        return len(self.onset), self.demand.shape[0], self.demand.shape[1]

    def is_open(self) -> np.ndarray:
        """K × T: the periods in which each scenario has recourse (from its onset on)."""
        return np.arange(self.shape[2])[None, :] >= self.onset[:, None]

    def open_cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The open (scenario, market, period) cells in row-major order: each scenario's
        cells from its onset on, market by market."""
        K, M, T = self.shape
        return np.nonzero(np.broadcast_to(self.is_open()[:, None, :], (K, M, T)))

    def arrivals(self, buy: np.ndarray) -> np.ndarray:
        """K × M × T tonnes that a first stage ``buy`` (R × T tonnes entering the hubs) brings
        to each market in each scenario: everything where the scenario is not disrupted, the
        surviving share where it is."""
        K, M, T = self.shape
        delivered = buy * self.yields[:, None]
        arriving = np.zeros((K, M, T))
        for m in range(M):
            in_market = self.market_of_route == m
            full = delivered[in_market].sum(axis=0)
            cut = self.survival[:, in_market] @ delivered[in_market]
            arriving[:, m, :] = np.where(self.disrupted, cut, full[None, :])
        return arriving

    def arrivals_adjoint(self, weights: np.ndarray, rows: np.ndarray | None = None
                         ) -> np.ndarray:
        """R × T: the transpose of `arrivals` applied to ``weights`` (scenario × market ×
        period, for the scenarios ``rows``; all by default): what a tonne bought on each route
        in each period is worth when a tonne arriving is worth ``weights``. The gradient of a
        recourse value with respect to the first stage."""
        rows = np.arange(self.shape[0]) if rows is None else rows
        disrupted = self.disrupted[rows]
        survival = self.survival[rows]
        gradient = np.zeros((len(self.yields), self.shape[2]))
        for m in range(self.shape[1]):
            in_market = self.market_of_route == m
            cut = weights[:, m, :] * disrupted
            whole = (weights[:, m, :] * ~disrupted).sum(axis=0)
            gradient[in_market] = (survival[:, in_market].T @ cut + whole[None, :]) \
                * self.yields[in_market, None]
        return gradient

    def planned_stock(self, buy: np.ndarray, unmet: np.ndarray) -> np.ndarray:
        """M × T: the stock a fixed plan holds before any onset, from its deliveries and its
        planned unmet demand (not from a typed-in stock column): whatever arrives beyond
        demand is stored, and stock never goes below zero."""
        _, M, T = self.shape
        delivered = buy * self.yields[:, None]
        full = np.zeros((M, T))
        np.add.at(full, self.market_of_route, delivered)
        stock = np.zeros((M, T))
        level = np.full(M, self.initial_stock)
        for t in range(T):
            level = np.maximum(level + full[:, t] + unmet[:, t] - self.demand[:, t], 0.0)
            stock[:, t] = level
        return stock

    def opening_stock(self, stock: np.ndarray) -> np.ndarray:
        """K × M: the stock each scenario starts its recourse from (the planned stock of the
        period before its onset, or the initial stock)."""
        K, M, T = self.shape
        before = np.maximum(self.onset - 1, 0)
        return np.where((self.onset > 0)[:, None], stock[:, before].T,
                        np.full((K, M), self.initial_stock))

    def recourse_lp(self, arriving: np.ndarray, planned_stock: np.ndarray,
                    planned_unmet: np.ndarray) -> RecourseLP:
        """The recourse of a fixed first stage as one LP over the open cells (columns hold,
        spot, short; one balance row per open cell):

        arriving + hold[t−1] − hold[t] + spot + short + planned unmet = demand,

        where ``hold[s−1]`` at the onset is the planned stock (or the initial stock). Rows are
        equalities where the optimisation model has ≥: the same optimum (stock thrown away
        never helps), but the stock path is then unique, so a replay's stock draw is what was
        consumed rather than an arbitrary choice among equally cheap disposals.
        """
        K, M, T = self.shape
        kk, mm, tt = self.open_cells()
        n = len(kk)
        starts = tt == self.onset[kk]
        carried_in = np.where(starts & (tt > 0), planned_stock[mm, np.maximum(tt - 1, 0)], 0.0)
        carried_in = np.where(starts & (tt == 0), self.initial_stock, carried_in)
        lower = (self.demand[mm, tt] - arriving[kk, mm, tt] - planned_unmet[mm, tt]
                 - carried_in)
        cell = np.arange(n)
        later = np.flatnonzero(~starts)
        rows = np.concatenate([cell, cell, cell, later])
        cols = np.concatenate([cell, n + cell, 2 * n + cell, later - 1])
        values = np.concatenate([np.full(n, -1.0), np.ones(n), np.ones(n),
                                 np.ones(len(later))])
        # A tonne short can be carried as stock (it stands for demand left unserved), so
        # going short a year early and drawing it a year later costs the same as going short
        # when the gap opens. A relative 1e-9 more per year earlier picks the latter: the
        # reported costs are recomputed from the values, and the tie-break is far below any
        # real price gap.
        lateness = 1.0 + 1e-9 * (T - 1 - tt)
        cost = np.concatenate([np.zeros(n), self.probability[kk] * self.spot_price[kk, tt],
                               self.penalty * self.probability[kk] * lateness])
        upper = np.concatenate([np.full(n, np.inf), self.spot_limit[mm, tt],
                                self.demand[mm, tt]])
        return RecourseLP(cells=(kk, mm, tt), cost=cost, upper=upper, rows=rows, cols=cols,
                          values=values, rhs=lower)


@dataclass
class RecourseLP:
    """A fixed plan's recourse LP as coordinate arrays (see `SecondStage.recourse_lp`):
    columns ``hold | spot | short`` per open cell, in ``cells`` order, all with lower bound 0;
    ``rows``/``cols``/``values`` the matrix; every row an equality ``= rhs``."""

    cells: tuple[np.ndarray, np.ndarray, np.ndarray]
    cost: np.ndarray
    upper: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    rhs: np.ndarray

    @property
    def size(self) -> int:
        return len(self.cells[0])
