"""From dataset + strategy to the numbers the LP needs (plain pandas, no Pyomo).

The instance is the meeting point of the model builder, the metrics and any independent check:
each per-route coefficient (unit cost, yield, risk score, exposure weights) is computed here
once, so the optimiser and the reported metrics cannot disagree about them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .data import Dataset
from .errors import StrategyError
from .leverage import combined_weight, leverage_matrix
from .scenarios import ScenarioSet, enumerate_scenarios, sample_scenarios
from .strategy import Strategy, check_against

DAYS_PER_YEAR = 365.0


@dataclass
class Instance:
    """Everything the sourcing LP reads, for one dataset and one strategy.

    Attributes
    ----------
    routes
        One row per allowed route, indexed by a readable route id, with origin, hub, market,
        transit, countries, unit costs' parts, recovery yield, lead time, risk score and, per
        power, the naive and the dependency-aware exposure weights (columns
        ``naive:<power>`` and ``aware:<power>``).
    unit_cost
        $ per tonne of contained Sb bought on a route in a period (route × period): origin
        price + freight + processing fee.
    availability, capacity, demand
        Tonnes per origin, hub and market, by period.
    """

    strategy: Strategy
    periods: list[int]
    routes: pd.DataFrame
    unit_cost: pd.DataFrame
    purchase_price: pd.DataFrame
    availability: pd.DataFrame
    capacity: pd.DataFrame
    demand: pd.DataFrame
    leverage: pd.DataFrame
    powers: list[str]
    origin_caps: dict[str, float]
    hub_caps: dict[str, float]
    country_caps: dict[str, float]
    exposure_caps: dict[str, float]
    unmet_penalty: float
    holding_cost: float
    stock_target: pd.DataFrame
    origin_country: dict[str, str]
    hub_country: dict[str, str]
    benchmark: pd.Series
    spot_limit_share: float
    spot_premium: float
    cvar_beta: float
    recourse: Recourse | None = None

    @property
    def markets(self) -> list[str]:
        return list(self.demand.index)

    def exposure_weights(self, mode: str) -> pd.DataFrame:
        """Route × power weights of the given mode ('naive' or 'dependency-aware'); a copy,
        the caller's to change."""
        prefix = "naive:" if mode == "naive" else "aware:"
        weights = self.routes[[f"{prefix}{p}" for p in self.powers]]
        weights.columns = self.powers
        return weights

    def exposure_weight_array(self, mode: str) -> np.ndarray:
        """`exposure_weights` as a read-only route × power array, made once per mode: every
        report reads it."""
        cache = self.__dict__.setdefault("_weight_arrays", {})
        if mode not in cache:
            array = self.exposure_weights(mode).to_numpy(dtype=float)
            array.flags.writeable = False
            cache[mode] = array
        return cache[mode]

    def first_stage_cost(self, buy: np.ndarray, stock: np.ndarray, unmet: np.ndarray
                         ) -> float:
        """The first-stage cost of a plan (arrays: ``buy`` route × period tonnes, ``stock``
        and ``unmet`` market × period): contracts at their unit cost, holding cost on the
        planned stock, the penalty on planned unmet demand. The model's
        ``first_stage_cost`` expression has the same coefficients (`first_stage_coefficients`).
        """
        unit_cost, holding, penalty = self.first_stage_coefficients()
        return float((unit_cost * buy).sum() + holding * stock.sum() + penalty * unmet.sum())

    def first_stage_coefficients(self) -> tuple[np.ndarray, float, float]:
        """($/t bought per route × period, $/t-year held, $/t of planned unmet demand)."""
        unit_cost = self.unit_cost.loc[list(self.routes.index), list(self.periods)]
        return (unit_cost.to_numpy(dtype=float), float(self.holding_cost),
                float(self.unmet_penalty))

    def plan_arrays(self, buy: dict, stock: dict, unmet: dict
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A first stage given as {(route, period): t} and {(market, period): t} dicts, as
        route × period and market × period arrays (missing keys are 0)."""
        periods = list(self.periods)
        routes, markets = list(self.routes.index), self.markets
        return (np.array([[float(buy.get((r, t), 0.0)) for t in periods] for r in routes]
                         ).reshape(len(routes), len(periods)),
                np.array([[float(stock.get((m, t), 0.0)) for t in periods] for m in markets]
                         ).reshape(len(markets), len(periods)),
                np.array([[float(unmet.get((m, t), 0.0)) for t in periods] for m in markets]
                         ).reshape(len(markets), len(periods)))

    def route_positions(self, routes: pd.Series) -> np.ndarray:
        """Row positions in `routes` of route ids (a plan's ``route`` column)."""
        positions = self.routes.index.get_indexer(routes)
        if len(positions) and positions.min() < 0:
            unknown = routes[positions < 0].iloc[0]
            raise KeyError(f"route '{unknown}' is not a route of this instance")
        return positions


@dataclass
class Recourse:
    """The second stage's numbers for one scenario set.

    ``survival`` is scenario × route (fraction delivered once disrupted), ``disrupted``
    scenario × period (True from the onset), ``spot_price`` scenario × period ($ per tonne on
    the spot market), ``spot_limit`` market × period (tonnes).
    """

    scenarios: ScenarioSet
    survival: pd.DataFrame
    disrupted: pd.DataFrame
    spot_price: pd.DataFrame
    spot_limit: pd.DataFrame

    @property
    def probability(self):
        return self.scenarios.probability


def recourse_for(instance: Instance, scenarios: ScenarioSet) -> Recourse:
    """Route survival, spot prices and spot limits of `scenarios` for this instance."""
    disrupted = scenarios.disrupted(len(instance.periods))
    multiplier = np.where(disrupted, scenarios.price_multiplier[:, None], instance.spot_premium)
    benchmark = instance.benchmark.reindex(instance.periods).to_numpy()
    return Recourse(
        scenarios=scenarios,
        survival=scenarios.route_survival(instance.routes),
        disrupted=pd.DataFrame(disrupted, columns=instance.periods),
        spot_price=pd.DataFrame(multiplier * benchmark[None, :], columns=instance.periods),
        spot_limit=instance.demand * instance.spot_limit_share,
    )


def strategy_scenarios(dataset: Dataset, strategy: Strategy, periods: list[int]
                       ) -> ScenarioSet:
    """The scenarios a strategy optimises over (exact enumeration unless it samples)."""
    if strategy.scenario_mode == "sampled":
        return sample_scenarios(dataset, periods, strategy.scenario_samples,
                                strategy.scenario_seed, severity=strategy.severity_sampling,
                                events=strategy.scenario_events)
    return enumerate_scenarios(dataset, periods, strategy.scenario_events)


def build_instance(dataset: Dataset, strategy: Strategy) -> Instance:
    """Resolve the strategy's overrides against the data and derive every coefficient."""
    check_against(strategy, dataset)
    periods = _periods(dataset, strategy)
    origin_country = dataset.country_of_origin()
    hub_country = dataset.country_of_hub()
    risk = dataset.risk_score()
    leverage = leverage_matrix(dataset)
    powers = list(leverage.index)

    routes = dataset["routes"].copy()
    routes = routes[~routes["origin"].isin(strategy.excluded_origins)]
    routes = routes[~routes["hub"].isin(strategy.excluded_hubs)]
    if strategy.max_lead_time_days is not None:
        routes = routes[routes["lead_time_days"] <= strategy.max_lead_time_days]
    if strategy.max_geopolitical_distance is not None:
        distance = dataset["geopolitical_distance"].set_index("country")["distance"]
        allied = {origin for origin, country in origin_country.items()
                  if distance.get(country, float("inf")) <= strategy.max_geopolitical_distance}
        routes = routes[routes["origin"].isin(allied)]
    if routes.empty:
        raise StrategyError(f"strategy '{strategy.name}': its exclusions, lead-time and "
                            f"geopolitical-distance limits leave no route open")
    routes["route"] = [_route_id(r.origin, r.hub, r.market, r.transit)
                       for r in routes.itertuples(index=False)]
    routes = routes.set_index("route")
    routes["origin_country"] = routes["origin"].map(origin_country)
    routes["hub_country"] = routes["hub"].map(hub_country)
    routes["fee_usd_per_t"] = routes["hub"].map(
        dataset["hub_fees"].set_index("hub")["fee_usd_per_t"])
    routes["recovery_yield"] = routes["hub"].map(
        dataset["hub_yields"].set_index("hub")["recovery_yield"])
    # Weakest link: a flow is as exposed to governance failure as its worst-governed stage.
    routes["risk_score"] = [max(risk[o], risk[h]) for o, h in
                            zip(routes["origin_country"], routes["hub_country"], strict=True)]
    for power in powers:
        routes[f"naive:{power}"] = [
            1.0 if power in (o, h) else 0.0
            for o, h in zip(routes["origin_country"], routes["hub_country"], strict=True)]
        routes[f"aware:{power}"] = [
            combined_weight(leverage.loc[power], (o, h, *transit))
            for o, h, transit in zip(routes["origin_country"], routes["hub_country"],
                                     routes["transit"], strict=True)]
    routes = routes.drop(columns=["source", "year", "is_estimate", "low", "high", "note"])

    benchmark = dataset["prices"].set_index("period")["benchmark_usd_per_t"]
    factor = dataset["price_factors"].set_index("origin")["price_factor"]
    purchase = pd.DataFrame(
        {t: routes["origin"].map(factor) * benchmark[t] for t in periods}, index=routes.index)
    unit_cost = purchase.add(routes["freight_usd_per_t"] + routes["fee_usd_per_t"], axis=0)

    availability = _origin_availability(dataset, periods)
    capacity = _hub_capacity(dataset, periods)
    demand = _demand(dataset, strategy, periods)
    stock_target = demand * strategy.stock_target_days / DAYS_PER_YEAR

    origins = list(dataset["origins"]["origin"])
    hubs = list(dataset["hubs"]["hub"])
    countries = list(dataset["countries"]["country"])
    instance = Instance(
        strategy=strategy,
        periods=periods,
        routes=routes,
        unit_cost=unit_cost,
        purchase_price=purchase,
        availability=availability,
        capacity=capacity,
        demand=demand,
        leverage=leverage,
        powers=powers,
        origin_caps=_caps(origins, strategy.origin_share_cap, strategy.origin_caps),
        hub_caps=_caps(hubs, strategy.hub_share_cap, strategy.hub_caps),
        country_caps=_caps(countries, strategy.country_share_cap, strategy.country_caps),
        exposure_caps=dict(strategy.exposure_caps),
        unmet_penalty=(strategy.unmet_penalty_usd_per_t
                       if strategy.unmet_penalty_usd_per_t is not None
                       else dataset.parameter("unmet_demand_penalty_usd_per_t")),
        holding_cost=dataset.parameter("holding_cost_usd_per_t_yr"),
        stock_target=stock_target,
        origin_country=origin_country,
        hub_country=hub_country,
        benchmark=benchmark,
        spot_limit_share=(strategy.spot_limit_share if strategy.spot_limit_share is not None
                          else dataset.parameter("spot_limit_share")),
        spot_premium=dataset.parameter("spot_price_multiplier"),
        cvar_beta=(strategy.cvar_beta if strategy.cvar_beta is not None
                   else _parameter_or(dataset, "cvar_beta_default", 0.95)),
    )
    if strategy.scenario_mode != "none":
        instance.recourse = recourse_for(instance,
                                         strategy_scenarios(dataset, strategy, periods))
    return instance


def _parameter_or(dataset: Dataset, name: str, default: float) -> float:
    names = set(dataset["parameters"]["name"])
    return dataset.parameter(name) if name in names else default


def _route_id(origin: str, hub: str, market: str, transit: tuple[str, ...]) -> str:
    via = f" via {', '.join(transit)}" if transit else ""
    return f"{origin} → {hub} → {market}{via}"


def _periods(dataset: Dataset, strategy: Strategy) -> list[int]:
    periods = dataset.periods
    first = strategy.first_period if strategy.first_period is not None else periods[0]
    last = strategy.last_period if strategy.last_period is not None else periods[-1]
    return [p for p in periods if first <= p <= last]


def _ramp(dataset: Dataset, kind: str) -> pd.DataFrame:
    ramp = dataset["ramp_ups"]
    ramp = ramp[ramp["kind"] == kind]
    return ramp.pivot_table(index="node", columns="period", values="capacity_factor",
                            aggfunc="first")


def _scaled_by_ramp(base: pd.Series, ramp: pd.DataFrame, periods: list[int]) -> pd.DataFrame:
    table = pd.DataFrame({t: base for t in periods})
    for node in ramp.index.intersection(table.index):
        for t in periods:
            if t in ramp.columns and pd.notna(ramp.at[node, t]):
                table.at[node, t] = base[node] * ramp.at[node, t]
    return table


def _origin_availability(dataset: Dataset, periods: list[int]) -> pd.DataFrame:
    origins = dataset["origins"].set_index("origin")
    share = dataset["exportable"].set_index("origin")["exportable_share"]
    base = origins["production_2025_t"] * share.reindex(origins.index)
    return _scaled_by_ramp(base, _ramp(dataset, "origin"), periods)


def _hub_capacity(dataset: Dataset, periods: list[int]) -> pd.DataFrame:
    base = dataset["hubs"].set_index("hub")["capacity_t"]
    return _scaled_by_ramp(base, _ramp(dataset, "hub"), periods)


def _demand(dataset: Dataset, strategy: Strategy, periods: list[int]) -> pd.DataFrame:
    table = dataset["demand"].pivot_table(index="market", columns="period", values="demand_t",
                                          aggfunc="first")
    table = table.reindex(columns=periods).fillna(0.0)
    if strategy.demand_t is not None:
        # One size for the buyer: spread over markets in proportion to the data's demand.
        totals = table.sum(axis=0).replace(0.0, 1.0)
        table = table.div(totals, axis=1) * strategy.demand_t
    return table * strategy.demand_scale


def _caps(names: list[str], default: float | None, overrides: dict[str, float]
          ) -> dict[str, float]:
    caps = {name: default for name in names if default is not None}
    caps.update(overrides)
    return caps
