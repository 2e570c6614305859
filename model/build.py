"""The sourcing LP in Pyomo: one `define_*` function per family, each a named block of rows.

Units: tonnes of contained Sb, US dollars, years. Decision variables

- ``buy[r, t]``   tonnes bought along route r in period t (contained Sb entering the hub);
  ``yield_r · buy[r, t]`` tonnes reach the market;
- ``stock[m, t]`` strategic inventory held for market m at the end of t;
- ``unmet[m, t]`` demand left unserved, at a penalty (the model is never silently infeasible).

Constraint families (each registered in `families.py` with what it models, its strategy
setting, the unit and wording of its dual and how diagnosis relaxes it; a test checks that every
component built here is registered):

- ``origin_availability[o, t]``  Σ buy from o ≤ production × exportable share × ramp-up
- ``hub_capacity[h, t]``         Σ buy through h ≤ capacity × ramp-up
- ``demand_balance[m, t]``       delivered + stock[t−1] − stock[t] + unmet = demand
- ``unmet_limit[m, t]``          unmet ≤ max_unmet_share · demand
- ``origin_share[o, m, t]``      delivered from o ≤ cap_o · demand       (likewise hub_share)
- ``country_share[c, m, t]``     delivered mined or processed in c ≤ cap_c · demand
- ``risk_budget[m, t]``          Σ risk_r · delivered ≤ budget · demand
- ``exposure_cap[p, m, t]``      Σ w[p, r] · delivered ≤ cap_p · demand, w naive or dependency-aware
- ``stock_target[m, t]``         stock ≥ target days of cover

Second stage, when the strategy has disruption scenarios k (probability π_k):

- ``scenario_balance[k, m, t]``  arrivals − Σ_r (1 − survival[k, r]) · delivered_r
  + hold[k, t−1] − hold[k, t] + spot + shortfall + planned unmet ≥ demand, for t from the
  scenario's onset s on only (before it the scenario is the plan; hold[k, s−1] is the planned
  stock[s−1]); ``arrivals_definition`` sums the deliveries
- ``cvar_*_excess[k]``           z_k ≥ loss_k − η (Rockafellar–Uryasev), with
  CVaR_β = η + 1/(1−β) Σ_k π_k z_k, limited by ``cvar_*_limit`` and/or weighted in the objective;
  ``first_stage_cost_definition`` carries the first-stage cost into the cost losses.

Losses: shortfall = planned unmet + scenario shortfall (tonnes over the horizon); cost = the
first-stage cost + the scenario's recourse cost (spot purchases at the scenario's price and
shortfall at the penalty).
"""

from __future__ import annotations

import gc
from collections import defaultdict

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression

from .instance import Instance, Recourse


def build_model(instance: Instance) -> pyo.ConcreteModel:
    """The Pyomo model for one instance (not solved)."""
    # Building creates hundreds of thousands of expression objects that are all kept, so the
    # cyclic garbage collector only costs time here (measured: 3x the build time at 10,000
    # scenarios); it is switched back on afterwards.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build_model(instance)
    finally:
        if collecting:
            gc.enable()


def _build_model(instance: Instance) -> pyo.ConcreteModel:
    model = pyo.ConcreteModel(name="stibium")
    model.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
    define_sets(model, instance)
    define_flow_variables(model, instance)
    define_supply_constraints(model, instance)
    define_demand_constraints(model, instance)
    define_share_constraints(model, instance)
    define_risk_constraints(model, instance)
    define_exposure_constraints(model, instance)
    define_first_stage_cost(model, instance)
    if instance.recourse is not None:
        define_recourse(model, instance, instance.recourse)
        define_cvar(model, instance)
    define_objective(model, instance)
    return model


def build_evaluation_model(instance: Instance, recourse: Recourse, buy: dict, stock: dict,
                           unmet: dict) -> pyo.ConcreteModel:
    """The second stage alone for a fixed first stage: what a given plan suffers in each
    scenario when the buyer reacts as well as it can (stock, spot, then shortfall).

    The fixed deliveries enter as numbers, so the model holds only the recourse variables.
    """
    model = pyo.ConcreteModel(name="stibium-evaluation")
    model.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
    define_sets(model, instance)
    arriving, planned_stock = fixed_plan_arrivals(instance, recourse, buy, unmet)
    model._planned_stock = planned_stock
    model.unmet = pyo.Param(model.MARKETS, model.PERIODS, within=pyo.Reals,
                            initialize=lambda m, market, t: float(unmet.get((market, t), 0.0)))
    model.first_stage_cost = pyo.Expression(
        expr=fixed_first_stage_cost(instance, buy, stock, unmet))
    define_recourse(model, instance, recourse, arriving=arriving, planned_stock=planned_stock)
    model.total_cost = pyo.Objective(expr=model.expected_recourse, sense=pyo.minimize)
    return model


def fixed_plan_arrivals(instance: Instance, recourse: Recourse, buy: dict, unmet: dict
                        ) -> tuple[np.ndarray, np.ndarray]:
    """What a fixed plan brings in each scenario (scenario × market × period tonnes: all of
    it before the onset, what survives after) and the stock it can hold before any onset
    (market × period)."""
    routes = instance.routes
    periods = list(instance.periods)
    markets = instance.markets
    yields = routes["recovery_yield"].to_dict()
    delivered = np.array([[buy.get((r, t), 0.0) * yields[r] for t in periods]
                          for r in routes.index])
    market_of = routes["market"].to_numpy()
    survival = recourse.survival[list(routes.index)].to_numpy()
    disrupted = recourse.disrupted.to_numpy()
    arriving = np.zeros((len(recourse.scenarios), len(markets), len(periods)))
    arriving_full = np.zeros((len(markets), len(periods)))
    for mi, market in enumerate(markets):
        mask = market_of == market
        full = delivered[mask].sum(axis=0)
        arriving_full[mi] = full
        cut = survival[:, mask] @ delivered[mask]
        arriving[:, mi, :] = np.where(disrupted, cut, full[None, :])
    # Before any onset everything arrives, so the stock the plan can hold follows from the
    # deliveries and the planned unmet demand (not from a typed-in stock column).
    planned_stock = np.zeros((len(markets), len(periods)))
    level = np.full(len(markets), float(instance.strategy.initial_stock_t))
    demand = instance.demand.to_numpy()
    for ti, t in enumerate(periods):
        planned = np.array([float(unmet.get((market, t), 0.0)) for market in markets])
        level = np.maximum(level + arriving_full[:, ti] + planned - demand[:, ti], 0.0)
        planned_stock[:, ti] = level
    return arriving, planned_stock


def fixed_first_stage_cost(instance: Instance, buy: dict, stock: dict, unmet: dict) -> float:
    unit_cost = _lookup(instance.unit_cost)
    return float(sum(unit_cost[r, t] * q for (r, t), q in buy.items())
                 + instance.holding_cost * sum(stock.values())
                 + instance.unmet_penalty * sum(unmet.values()))


def define_sets(model: pyo.ConcreteModel, instance: Instance) -> None:
    routes = instance.routes
    model.ROUTES = pyo.Set(initialize=list(routes.index), ordered=True)
    model.PERIODS = pyo.Set(initialize=instance.periods, ordered=True)
    model.MARKETS = pyo.Set(initialize=instance.markets, ordered=True)
    model.ORIGINS = pyo.Set(initialize=sorted(set(routes["origin"])), ordered=True)
    model.HUBS = pyo.Set(initialize=sorted(set(routes["hub"])), ordered=True)
    model._routes_by = {
        "origin": _group(routes, "origin"),
        "hub": _group(routes, "hub"),
        "market": _group(routes, "market"),
        "origin_market": _group2(routes, "origin", "market"),
        "hub_market": _group2(routes, "hub", "market"),
    }
    by_country_market: dict[tuple[str, str], list[str]] = defaultdict(list)
    for route, origin, hub, market in zip(routes.index, routes["origin_country"],
                                          routes["hub_country"], routes["market"], strict=True):
        for country in dict.fromkeys((origin, hub)):
            by_country_market[(country, market)].append(route)
    model._routes_by["country_market"] = dict(by_country_market)


def _group(routes, column: str) -> dict[str, list[str]]:
    # Plain Python: pandas' groupby costs about a millisecond a call, a tenth of building a
    # small model. Keys sorted, routes in table order, as groupby(sort=True) gives them.
    groups: dict[str, list[str]] = defaultdict(list)
    for route, key in zip(routes.index, routes[column].tolist(), strict=True):
        groups[key].append(route)
    return dict(sorted(groups.items()))


def _group2(routes, first: str, second: str) -> dict[tuple[str, str], list[str]]:
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for route, a, b in zip(routes.index, routes[first].tolist(), routes[second].tolist(),
                           strict=True):
        groups[(a, b)].append(route)
    return dict(sorted(groups.items()))


def define_flow_variables(model: pyo.ConcreteModel, instance: Instance) -> None:
    model.buy = pyo.Var(model.ROUTES, model.PERIODS, domain=pyo.NonNegativeReals)
    model.stock = pyo.Var(model.MARKETS, model.PERIODS, domain=pyo.NonNegativeReals)
    # Unmet demand is demand not consumed, so it can never exceed demand (nor, with a
    # strategy's max_unmet_share, that share of it); without the bound, "unmet" tonnes would
    # flow into the stockpile from nowhere.
    # A strategy's max_unmet_share is a row of its own (unmet_limit), so that an infeasible
    # strategy's diagnosis can name and relax it like any other limit.
    demand = _lookup(instance.demand)
    model.unmet = pyo.Var(model.MARKETS, model.PERIODS, domain=pyo.NonNegativeReals,
                          bounds=lambda m, market, t: (0.0, demand[market, t]))
    unmet_share = instance.strategy.max_unmet_share
    if unmet_share is not None:
        model.unmet_limit = pyo.Constraint(
            model.MARKETS, model.PERIODS,
            rule=lambda m, market, t: m.unmet[market, t]
            <= unmet_share * demand[market, t])
    yields = instance.routes["recovery_yield"].to_dict()
    model.delivered = pyo.Expression(
        model.ROUTES, model.PERIODS, rule=lambda m, r, t: yields[r] * m.buy[r, t])


def define_supply_constraints(model: pyo.ConcreteModel, instance: Instance) -> None:
    by_origin, by_hub = model._routes_by["origin"], model._routes_by["hub"]
    available, capacity = _lookup(instance.availability), _lookup(instance.capacity)

    def origin_rule(m, o, t):
        return _linear([(1.0, m.buy[r, t]) for r in by_origin[o]]) <= available[o, t]

    def hub_rule(m, h, t):
        return _linear([(1.0, m.buy[r, t]) for r in by_hub[h]]) <= capacity[h, t]

    model.origin_availability = pyo.Constraint(model.ORIGINS, model.PERIODS, rule=origin_rule)
    model.hub_capacity = pyo.Constraint(model.HUBS, model.PERIODS, rule=hub_rule)


def define_demand_constraints(model: pyo.ConcreteModel, instance: Instance) -> None:
    by_market = model._routes_by["market"]
    periods = list(instance.periods)
    initial = instance.strategy.initial_stock_t

    def previous_stock(m, market, t):
        index = periods.index(t)
        return m.stock[market, periods[index - 1]] if index > 0 else initial

    yields = instance.routes["recovery_yield"].to_dict()
    demand = _lookup(instance.demand)

    def balance_rule(m, market, t):
        terms = [(yields[r], m.buy[r, t]) for r in by_market.get(market, [])]
        terms += [(-1.0, m.stock[market, t]), (1.0, m.unmet[market, t])]
        previous = previous_stock(m, market, t)
        if isinstance(previous, float | int):
            return _linear(terms) == demand[market, t] - previous
        return _linear(terms + [(1.0, previous)]) == demand[market, t]

    model.demand_balance = pyo.Constraint(model.MARKETS, model.PERIODS, rule=balance_rule)
    if instance.strategy.stock_target_days > 0:
        model.stock_target = pyo.Constraint(
            model.MARKETS, model.PERIODS,
            rule=lambda m, market, t: m.stock[market, t]
            >= float(instance.stock_target.at[market, t]))


def _share_family(model: pyo.ConcreteModel, instance: Instance, name: str,
                  groups: dict[tuple[str, str], list[str]], caps: dict[str, float]) -> None:
    index = [(node, market, t) for (node, market) in groups if node in caps
             for t in instance.periods]
    if not index:
        return

    yields = instance.routes["recovery_yield"].to_dict()
    demand = _lookup(instance.demand)

    def rule(m, node, market, t):
        cap = caps[node] * demand[market, t]
        return _linear([(yields[r], m.buy[r, t]) for r in groups[(node, market)]]) <= cap

    setattr(model, name, pyo.Constraint(index, rule=rule))


def define_share_constraints(model: pyo.ConcreteModel, instance: Instance) -> None:
    _share_family(model, instance, "origin_share", model._routes_by["origin_market"],
                  instance.origin_caps)
    _share_family(model, instance, "hub_share", model._routes_by["hub_market"],
                  instance.hub_caps)
    _share_family(model, instance, "country_share", model._routes_by["country_market"],
                  instance.country_caps)


def define_risk_constraints(model: pyo.ConcreteModel, instance: Instance) -> None:
    budget = instance.strategy.risk_budget
    if budget is None:
        return
    by_market = model._routes_by["market"]
    weight = (instance.routes["risk_score"] * instance.routes["recovery_yield"]).to_dict()
    demand = _lookup(instance.demand)

    def rule(m, market, t):
        weighted = _linear([(weight[r], m.buy[r, t]) for r in by_market.get(market, [])])
        return weighted <= budget * demand[market, t]

    model.risk_budget = pyo.Constraint(model.MARKETS, model.PERIODS, rule=rule)


def define_exposure_constraints(model: pyo.ConcreteModel, instance: Instance) -> None:
    caps = instance.exposure_caps
    if not caps:
        return
    weights = instance.exposure_weights(instance.strategy.exposure_mode)
    by_market = model._routes_by["market"]
    index = [(p, market, t) for p in caps for market in instance.markets
             for t in instance.periods]

    yields = instance.routes["recovery_yield"]
    weighted = {power: (weights[power] * yields).to_dict() for power in caps}
    weights_positive = {power: (weights[power] > 0).to_dict() for power in caps}
    demand = _lookup(instance.demand)

    def rule(m, power, market, t):
        terms = [(weighted[power][r], m.buy[r, t]) for r in by_market.get(market, [])
                 if weights_positive[power][r]]
        if not terms:
            return pyo.Constraint.Feasible
        return _linear(terms) <= caps[power] * demand[market, t]

    model.exposure_cap = pyo.Constraint(index, rule=rule)


def define_first_stage_cost(model: pyo.ConcreteModel, instance: Instance) -> None:
    unit_cost = instance.unit_cost
    risk = instance.routes["risk_score"]
    risk_price = instance.strategy.risk_price_usd_per_t
    cost = _lookup(unit_cost)
    model.procurement_cost = pyo.Expression(expr=_linear(
        [(cost[r, t], model.buy[r, t]) for r in model.ROUTES for t in model.PERIODS]))
    model.holding_cost = pyo.Expression(expr=_linear(
        [(instance.holding_cost, model.stock[m, t])
         for m in model.MARKETS for t in model.PERIODS]))
    model.unmet_cost = pyo.Expression(expr=_linear(
        [(instance.unmet_penalty, model.unmet[m, t])
         for m in model.MARKETS for t in model.PERIODS]))
    charge = (risk * instance.routes["recovery_yield"] * risk_price).to_dict()
    model.risk_charge = pyo.Expression(expr=_linear(
        [(charge[r], model.buy[r, t]) for r in model.ROUTES for t in model.PERIODS])
        if risk_price > 0 else 0.0)
    model.first_stage_cost = pyo.Expression(
        expr=model.procurement_cost + model.holding_cost + model.unmet_cost)


def _lookup(table) -> dict[tuple, float]:
    """A row × column table as a {(row, column): float} dict: pandas' ``.at`` costs tens of
    microseconds a call, which adds up over every route and period."""
    return {(row, column): float(value)
            for column, values in table.items() for row, value in values.items()}


def _linear(terms: list[tuple[float, pyo.Var]], constant: float = 0.0):
    """A linear expression built in one step: much faster than summing term by term, which
    matters for the scenario families with hundreds of thousands of terms."""
    expression = LinearExpression([MonomialTermExpression((coef, var)) for coef, var in terms])
    return expression + constant if constant else expression


def define_recourse(model: pyo.ConcreteModel, instance: Instance, recourse: Recourse,
                    arriving: np.ndarray | None = None,
                    planned_stock: np.ndarray | None = None) -> None:
    """Per scenario, from its onset on: surviving deliveries, a scenario stock path, spot
    buys and shortfall.

    Before its onset a scenario cannot be told apart from the others (non-anticipativity):
    nothing is bought on the spot market, nothing goes short beyond the plan, and the best
    the scenario can hold is the planned stock. So a scenario has rows and columns only from
    its onset ``s``; its stock path starts from the planned ``stock[m, s − 1]`` (the initial
    stock when ``s`` is the first period), which a stockpile built before the onset feeds.
    This is the same optimum as carrying every scenario through every period (the scenario
    stock can never exceed the planned one before the onset, and more stock is never worse),
    with about half the rows when onsets spread over the horizon, and none for the
    no-disruption scenario.

    Deliveries enter every scenario row through one aggregate ``arrivals[m, t]`` minus what the
    scenario cuts, so rows of events that spare most routes stay short. With a fixed first
    stage, ``arriving`` (scenario × market × period tonnes) replaces the deliveries and
    ``planned_stock`` (market × period) the planned stock.
    """
    periods = list(instance.periods)
    markets = instance.markets
    scenarios = list(range(len(recourse.scenarios)))
    model.SCENARIOS = pyo.Set(initialize=scenarios, ordered=True)
    disrupted = recourse.disrupted.to_numpy()
    onset = np.where(disrupted.any(axis=1), disrupted.argmax(axis=1), len(periods))
    spot_limit = recourse.spot_limit.to_numpy()
    demand = instance.demand.to_numpy()
    initial = instance.strategy.initial_stock_t
    market_position = {market: i for i, market in enumerate(markets)}
    period_position = {t: i for i, t in enumerate(periods)}
    open_cells = [(k, market, t) for k in scenarios for market in markets
                  for t in periods[onset[k]:]]
    model.OPEN = pyo.Set(initialize=open_cells, dimen=3, ordered=True)
    cell_of_scenario: dict[int, list[tuple[int, str, int]]] = defaultdict(list)
    for cell in open_cells:
        cell_of_scenario[cell[0]].append(cell)
    model.hold = pyo.Var(model.OPEN, domain=pyo.NonNegativeReals)
    model.spot = pyo.Var(model.OPEN, domain=pyo.NonNegativeReals,
                         bounds=lambda m, k, market, t: (
                             0.0, float(spot_limit[market_position[market], period_position[t]])))
    model.short = pyo.Var(model.OPEN, domain=pyo.NonNegativeReals,
                          bounds=lambda m, k, market, t: (
                              0.0, float(demand[market_position[market], period_position[t]])))

    if arriving is not None:
        fixed_unmet = np.array([[float(pyo.value(model.unmet[market, t])) for t in periods]
                                for market in markets])
    else:
        routes = instance.routes
        yields = routes["recovery_yield"].to_numpy()
        route_names = list(routes.index)
        market_of = routes["market"].to_numpy()
        loss = 1.0 - recourse.survival[route_names].to_numpy()
        model.arrivals = pyo.Var(model.MARKETS, model.PERIODS, domain=pyo.NonNegativeReals)
        model.arrivals_definition = pyo.Constraint(
            model.MARKETS, model.PERIODS,
            rule=lambda m, market, t: _linear(
                [(1.0, m.arrivals[market, t])]
                + [(-float(yields[i]), m.buy[route_names[i], t])
                   for i in np.flatnonzero(market_of == market)]) == 0.0)
        cuts = {}
        for market in markets:
            in_market = market_of == market
            for k in scenarios:
                hit = np.flatnonzero(in_market & (loss[k] > 0))
                cuts[k, market] = [(-float(loss[k, i] * yields[i]), route_names[i])
                                   for i in hit]

    def balance_rule(m, k, market, t):
        mi, ti = market_position[market], period_position[t]
        terms = [(-1.0, m.hold[k, market, t]), (1.0, m.spot[k, market, t]),
                 (1.0, m.short[k, market, t])]
        right = float(demand[mi, ti])
        if ti > onset[k]:
            terms.append((1.0, m.hold[k, market, periods[ti - 1]]))
        elif ti == 0:
            right -= initial
        elif arriving is None:
            terms.append((1.0, m.stock[market, periods[ti - 1]]))
        else:
            right -= float(planned_stock[mi, ti - 1])
        if arriving is None:
            terms += [(1.0, m.arrivals[market, t]), (1.0, m.unmet[market, t])]
            terms += [(coefficient, m.buy[route, t]) for coefficient, route in cuts[k, market]]
        else:
            right -= float(arriving[k, mi, ti]) + fixed_unmet[mi, ti]
        return _linear(terms) >= right

    model.scenario_balance = pyo.Constraint(model.OPEN, rule=balance_rule)
    spot_price = recourse.spot_price.to_numpy()
    penalty = instance.unmet_penalty
    probability = recourse.probability

    def recourse_terms(m, k, weight: float = 1.0) -> list[tuple[float, pyo.Var]]:
        terms = []
        for _, market, t in cell_of_scenario[k]:
            if m.spot[k, market, t].ub > 0:
                terms.append((weight * float(spot_price[k, period_position[t]]),
                              m.spot[k, market, t]))
            terms.append((weight * penalty, m.short[k, market, t]))
        return terms

    # Per-scenario losses are rows of the CVaR blocks only; a replay (fixed first stage)
    # reads its outcomes from the variables and needs neither.
    strategy = instance.strategy
    if arriving is None and (strategy.cvar_cost_limit_usd is not None
                             or strategy.cvar_cost_weight > 0):
        model.recourse_cost = pyo.Expression(model.SCENARIOS,
                                             rule=lambda m, k: _linear(recourse_terms(m, k)))
    if arriving is None and (strategy.cvar_shortfall_limit is not None
                             or strategy.cvar_shortfall_weight_usd_per_t > 0):
        planned_unmet = _linear([(1.0, model.unmet[market, t])
                                 for market in markets for t in periods])
        model.shortfall_loss = pyo.Expression(model.SCENARIOS, rule=lambda m, k: _linear(
            [(1.0, m.short[cell]) for cell in cell_of_scenario[k]]) + planned_unmet)
    model.expected_recourse = pyo.Expression(expr=_linear(
        [term for k in scenarios for term in recourse_terms(model, k, float(probability[k]))]))


def _cvar_block(model: pyo.ConcreteModel, instance: Instance, measure: str, loss) -> None:
    """η, z_k ≥ loss_k − η and the CVaR expression for one loss measure."""
    recourse = instance.recourse
    assert recourse is not None
    beta = instance.cvar_beta
    probability = recourse.probability
    eta = pyo.Var(domain=pyo.Reals)
    excess = pyo.Var(model.SCENARIOS, domain=pyo.NonNegativeReals)
    setattr(model, f"cvar_{measure}_eta", eta)
    setattr(model, f"cvar_{measure}_z", excess)
    setattr(model, f"cvar_{measure}_excess", pyo.Constraint(
        model.SCENARIOS, rule=lambda m, k: excess[k] + eta - loss(m, k) >= 0.0))
    setattr(model, f"cvar_{measure}", pyo.Expression(expr=eta + _linear(
        [(float(probability[k]) / (1.0 - beta), excess[k]) for k in model.SCENARIOS])))


def define_cvar(model: pyo.ConcreteModel, instance: Instance) -> None:
    strategy = instance.strategy
    total_demand = float(instance.demand.to_numpy().sum())
    if strategy.cvar_shortfall_limit is not None or strategy.cvar_shortfall_weight_usd_per_t > 0:
        _cvar_block(model, instance, "shortfall", lambda m, k: m.shortfall_loss[k])
        if strategy.cvar_shortfall_limit is not None:
            model.cvar_shortfall_limit = pyo.Constraint(
                expr=model.cvar_shortfall <= strategy.cvar_shortfall_limit * total_demand)
    if strategy.cvar_cost_limit_usd is not None or strategy.cvar_cost_weight > 0:
        # One variable carries the first-stage cost into every scenario's loss row, instead of
        # repeating all of its terms in each.
        model.first_stage_cost_value = pyo.Var(domain=pyo.Reals)
        model.first_stage_cost_definition = pyo.Constraint(
            expr=model.first_stage_cost_value - model.first_stage_cost == 0.0)
        _cvar_block(model, instance, "cost",
                    lambda m, k: m.first_stage_cost_value + m.recourse_cost[k])
        if strategy.cvar_cost_limit_usd is not None:
            model.cvar_cost_limit = pyo.Constraint(
                expr=model.cvar_cost <= strategy.cvar_cost_limit_usd)


def define_objective(model: pyo.ConcreteModel, instance: Instance) -> None:
    strategy = instance.strategy
    objective = model.first_stage_cost + model.risk_charge
    if instance.recourse is not None:
        objective = objective + model.expected_recourse
        if strategy.cvar_shortfall_weight_usd_per_t > 0:
            objective = objective + strategy.cvar_shortfall_weight_usd_per_t * model.cvar_shortfall
        if strategy.cvar_cost_weight > 0:
            objective = objective + strategy.cvar_cost_weight * model.cvar_cost
    model.total_cost = pyo.Objective(expr=objective, sense=pyo.minimize)
