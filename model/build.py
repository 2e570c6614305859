"""The sourcing LP in Pyomo: one `define_*` function per family, each a named block of rows.

Units: tonnes of contained Sb, US dollars, years. Decision variables

- ``buy[r, t]``   tonnes bought along route r in period t (contained Sb entering the hub);
  ``yield_r · buy[r, t]`` tonnes reach the market;
- ``stock[m, t]`` strategic inventory held for market m at the end of t;
- ``unmet[m, t]`` demand left unserved, at a penalty (the model is never silently infeasible).

Constraint families (their duals are reported in domain words by `results.py`):

- ``origin_availability[o, t]``  Σ buy from o ≤ production × exportable share × ramp-up
- ``hub_capacity[h, t]``         Σ buy through h ≤ capacity × ramp-up
- ``demand_balance[m, t]``       delivered + stock[t−1] − stock[t] + unmet = demand
- ``origin_share[o, m, t]``      delivered from o ≤ cap_o · demand       (likewise hub_share)
- ``country_share[c, m, t]``     delivered mined or processed in c ≤ cap_c · demand
- ``risk_budget[m, t]``          Σ risk_r · delivered ≤ budget · demand
- ``exposure_cap[p, m, t]``      Σ w[p, r] · delivered ≤ cap_p · demand, w naive or dependency-aware
- ``stock_target[m, t]``         stock ≥ target days of cover
"""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from .instance import Instance


def build_model(instance: Instance) -> pyo.ConcreteModel:
    """The Pyomo model for one instance (not solved)."""
    model = pyo.ConcreteModel(name="stibium")
    model.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
    define_sets(model, instance)
    define_flow_variables(model, instance)
    define_supply_constraints(model, instance)
    define_demand_constraints(model, instance)
    define_share_constraints(model, instance)
    define_risk_constraints(model, instance)
    define_exposure_constraints(model, instance)
    define_objective(model, instance)
    return model


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
    for route, row in routes.iterrows():
        for country in {row["origin_country"], row["hub_country"]}:
            by_country_market[(country, row["market"])].append(route)
    model._routes_by["country_market"] = dict(by_country_market)


def _group(routes, column: str) -> dict[str, list[str]]:
    return {key: list(frame.index) for key, frame in routes.groupby(column, sort=True)}


def _group2(routes, first: str, second: str) -> dict[tuple[str, str], list[str]]:
    return {key: list(frame.index) for key, frame in routes.groupby([first, second], sort=True)}


def define_flow_variables(model: pyo.ConcreteModel, instance: Instance) -> None:
    model.buy = pyo.Var(model.ROUTES, model.PERIODS, domain=pyo.NonNegativeReals)
    model.stock = pyo.Var(model.MARKETS, model.PERIODS, domain=pyo.NonNegativeReals)
    model.unmet = pyo.Var(model.MARKETS, model.PERIODS, domain=pyo.NonNegativeReals)
    yields = instance.routes["recovery_yield"]
    model.delivered = pyo.Expression(
        model.ROUTES, model.PERIODS, rule=lambda m, r, t: float(yields[r]) * m.buy[r, t])


def define_supply_constraints(model: pyo.ConcreteModel, instance: Instance) -> None:
    by_origin, by_hub = model._routes_by["origin"], model._routes_by["hub"]

    def origin_rule(m, o, t):
        return sum(m.buy[r, t] for r in by_origin[o]) <= float(instance.availability.at[o, t])

    def hub_rule(m, h, t):
        return sum(m.buy[r, t] for r in by_hub[h]) <= float(instance.capacity.at[h, t])

    model.origin_availability = pyo.Constraint(model.ORIGINS, model.PERIODS, rule=origin_rule)
    model.hub_capacity = pyo.Constraint(model.HUBS, model.PERIODS, rule=hub_rule)


def define_demand_constraints(model: pyo.ConcreteModel, instance: Instance) -> None:
    by_market = model._routes_by["market"]
    periods = list(instance.periods)
    initial = instance.strategy.initial_stock_t

    def previous_stock(m, market, t):
        index = periods.index(t)
        return m.stock[market, periods[index - 1]] if index > 0 else initial

    def balance_rule(m, market, t):
        delivered = sum(m.delivered[r, t] for r in by_market.get(market, []))
        return (delivered + previous_stock(m, market, t) - m.stock[market, t]
                + m.unmet[market, t] == float(instance.demand.at[market, t]))

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

    def rule(m, node, market, t):
        cap = caps[node] * float(instance.demand.at[market, t])
        return sum(m.delivered[r, t] for r in groups[(node, market)]) <= cap

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
    risk = instance.routes["risk_score"]

    def rule(m, market, t):
        weighted = sum(float(risk[r]) * m.delivered[r, t] for r in by_market.get(market, []))
        return weighted <= budget * float(instance.demand.at[market, t])

    model.risk_budget = pyo.Constraint(model.MARKETS, model.PERIODS, rule=rule)


def define_exposure_constraints(model: pyo.ConcreteModel, instance: Instance) -> None:
    caps = instance.exposure_caps
    if not caps:
        return
    weights = instance.exposure_weights(instance.strategy.exposure_mode)
    by_market = model._routes_by["market"]
    index = [(p, market, t) for p in caps for market in instance.markets
             for t in instance.periods]

    def rule(m, power, market, t):
        exposed = sum(float(weights.at[r, power]) * m.delivered[r, t]
                      for r in by_market.get(market, []) if weights.at[r, power] > 0)
        cap = caps[power] * float(instance.demand.at[market, t])
        if isinstance(exposed, int):
            return pyo.Constraint.Feasible
        return exposed <= cap

    model.exposure_cap = pyo.Constraint(index, rule=rule)


def define_objective(model: pyo.ConcreteModel, instance: Instance) -> None:
    unit_cost = instance.unit_cost
    risk = instance.routes["risk_score"]
    risk_price = instance.strategy.risk_price_usd_per_t
    model.procurement_cost = pyo.Expression(expr=sum(
        float(unit_cost.at[r, t]) * model.buy[r, t]
        for r in model.ROUTES for t in model.PERIODS))
    model.holding_cost = pyo.Expression(expr=instance.holding_cost * sum(
        model.stock[m, t] for m in model.MARKETS for t in model.PERIODS))
    model.unmet_cost = pyo.Expression(expr=instance.unmet_penalty * sum(
        model.unmet[m, t] for m in model.MARKETS for t in model.PERIODS))
    model.risk_charge = pyo.Expression(expr=risk_price * sum(
        float(risk[r]) * model.delivered[r, t] for r in model.ROUTES for t in model.PERIODS))
    model.total_cost = pyo.Objective(
        expr=model.procurement_cost + model.holding_cost + model.unmet_cost + model.risk_charge,
        sense=pyo.minimize)
