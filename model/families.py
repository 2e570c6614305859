"""The constraint families of the sourcing LP, each described once.

`build.py` creates the rows (one ``define_*`` per group of families); this module says what
each family models, in which unit its dual is read, how that dual reads in domain words, which
strategy setting it enforces and how diagnosis relaxes it. The dual report
(`solve.read_duals`), diagnosis (`diagnose._user_limits`, the conflict's physical facts) and
the frontier (`Family.rows`, `Family.right_hand_sides`) read this registry instead of
keeping lists of their own; a test checks that every constraint component the builder can
create is registered here.

Kinds:

- ``physical``   a fact of the data (supply, capacity, demand) that no setting changes;
- ``user limit`` a strategy setting (a cap, a budget, a target, a CVaR limit);
- ``definition`` an identity that names an expression (its dual carries no decision meaning:
  it only passes the objective's coefficients on).

Dual values: ``value = dual × scale``, the change in total cost (objective) per unit named in
``unit`` when the limit is relaxed by one such unit, so a positive value is what relaxing saves
(for demand and stock targets: what one unit more costs). HiGHS's duals are d(objective) /
d(right-hand side): ≤ 0 on a binding ≤ row of a minimisation, hence the minus signs below.

Examples
--------
>>> family("cvar_shortfall_limit").setting
'cvar.shortfall_limit'
>>> family("exposure_cap").index
('power', 'market', 'period')
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import pyomo.environ as pyo

from .instance import DAYS_PER_YEAR, Instance

Kind = Literal["physical", "user limit", "definition"]
Fields = dict[str, Any]
# A number from one row's index fields and the instance: a dual's scale, a relaxation's
# right-hand side per unit of its setting, a setting's current value, a fact's amount.
RowNumber = Callable[[Fields, Instance], float]


@dataclass(frozen=True)
class Dual:
    """How a family's dual reads: ``value = dual × scale(row)`` in ``unit``, meaning
    ``meaning`` (a template filled from the row's index fields, ``mode`` and ``beta``)."""

    unit: str
    meaning: str
    scale: RowNumber


@dataclass(frozen=True)
class Relaxation:
    """How diagnosis gives a user limit's rows a slack in the setting's own unit.

    ``key`` and ``label`` are templates filled from the row's index fields (rows with the same
    key form one limit, relaxed together); ``per_unit`` is the right-hand side one unit of the
    setting stands for in that row (tonnes of demand per unit share, per day of cover...);
    ``side`` is the side the slack widens: ``"le"`` rows loosen as the setting rises, ``"ge"``
    rows as it falls.
    """

    key: str
    label: str
    unit: str
    side: Literal["le", "ge"]
    per_unit: RowNumber
    current: RowNumber

    @property
    def loosens_upwards(self) -> bool:
        return self.side == "le"


@dataclass(frozen=True)
class Family:
    """One constraint component of the model: what it models and how its rows are read."""

    name: str
    kind: Kind
    models: str
    index: tuple[str, ...]
    setting: str | None = None
    dual: Dual | None = None
    relaxation: Relaxation | None = None
    fact: str | None = None  # a physical row in a conflict, e.g. "capacity of {hub} ..."
    amount: RowNumber | None = None  # the number a fact quotes as {amount}

    @property
    def node(self) -> str | None:
        """The index field a per-node setting is keyed by (``power`` for exposure caps)."""
        if self.relaxation is not None and "{" in self.relaxation.key:
            return self.index[0]
        return None

    def key(self, index: Any) -> tuple:
        """A row's index as a tuple: () for a single row, (k,) for a one-set index."""
        if index is None:
            return ()
        return index if isinstance(index, tuple) else (index,)

    def fields(self, key: tuple, instance: Instance) -> Fields:
        values: Fields = dict(zip(self.index, key, strict=True))
        values["mode"] = instance.strategy.exposure_mode
        values["beta"] = f"{100 * instance.cvar_beta:.4g}"
        return values

    def rows(self, model: pyo.ConcreteModel, node: str | None = None,
             **match: Any) -> dict[tuple, Any]:
        """The family's rows in `model` ({index tuple: constraint data}; empty when the
        strategy does not create it), optionally only those of one node (e.g. the China
        exposure cap's rows: ``family("exposure_cap").rows(model, node="China")``) or with
        given index fields (``market="EU", period=2030``)."""
        if node is not None:
            if self.node is None:
                raise ValueError(f"{self.name} rows have no node to select")
            match = {self.node: node, **match}
        unknown = set(match) - set(self.index)
        if unknown:
            raise ValueError(f"{self.name} rows are indexed by {self.index}, not {unknown}")
        positions = [(self.index.index(name), value) for name, value in match.items()]
        return {key: row for key, row in self._items(model)
                if all(key[i] == value for i, value in positions)}

    def _items(self, model: pyo.ConcreteModel) -> Iterator[tuple[tuple, Any]]:
        component = getattr(model, self.name, None)
        if component is None:
            return
        for index, row in component.items():
            yield self.key(index), row

    def right_hand_sides(self, model: pyo.ConcreteModel, instance: Instance, value: float,
                         node: str | None = None) -> dict[Any, float]:
        """Each row's right-hand side when the family's setting is `value` (a share of
        demand, days of cover, a CVaR limit...): what a frontier sweeping the setting sets,
        {constraint data: bound}."""
        if self.relaxation is None:
            raise ValueError(f"{self.name} has no setting to sweep")
        per_unit = self.relaxation.per_unit
        return {row: value * per_unit(self.fields(key, instance), instance)
                for key, row in self.rows(model, node=node).items()}

    def describe(self, key: tuple, instance: Instance) -> tuple[float, str, str]:
        """(scale, unit, meaning) turning a raw dual into the value of relaxing the row by
        one domain unit."""
        if self.dual is None:
            raise KeyError(f"{self.name} duals are not reported")
        fields = self.fields(key, instance)
        return (self.dual.scale(fields, instance), self.dual.unit,
                self.dual.meaning.format(**fields))

    def describe_fact(self, key: tuple, instance: Instance) -> str:
        """A physical row in the user's words, with its number."""
        if self.fact is None:
            raise KeyError(f"{self.name} is not a physical fact")
        fields = self.fields(key, instance)
        if self.amount is not None:
            fields["amount"] = self.amount(fields, instance)
        return self.fact.format(**fields)


# --- numbers read from a row ------------------------------------------------------------------

def _demand(fields: Fields, instance: Instance) -> float:
    return float(instance.demand.at[fields["market"], fields["period"]])


def _total_demand(fields: Fields, instance: Instance) -> float:
    return float(instance.demand.to_numpy().sum())


def _per_point_of_demand(fields: Fields, instance: Instance) -> float:
    # One percentage point of a share of demand is demand/100 tonnes of right-hand side.
    return -_demand(fields, instance) / 100.0


def _one_more(fields: Fields, instance: Instance) -> float:
    return -1.0


def _as_is(fields: Fields, instance: Instance) -> float:
    return 1.0


def _cap(caps: str, node: str) -> RowNumber:
    def current(fields: Fields, instance: Instance) -> float:
        table: dict[str, float] = getattr(instance, caps)
        return table[fields[node]]
    return current


def _setting(name: str) -> RowNumber:
    def current(fields: Fields, instance: Instance) -> float:
        return getattr(instance.strategy, name)
    return current


def _share_cap(name: str, node: str, setting: str, caps: str, models: str) -> Family:
    return Family(
        name=name, kind="user limit", models=models, index=(node, "market", "period"),
        setting=setting,
        dual=Dual("$ per percentage point",
                  f"one percentage point more of the {{{node}}} {node} share cap in {{period}}",
                  _per_point_of_demand),
        relaxation=Relaxation(f"{setting}.{{{node}}}", f"the {{{node}}} {node} cap", "%", "le",
                              _demand, _cap(caps, node)))


# --- the registry -----------------------------------------------------------------------------
# In the order of the dual report (its rows come out family by family in this order) and of
# diagnosis's limits.

FAMILIES: tuple[Family, ...] = (
    Family(
        name="demand_balance", kind="physical", index=("market", "period"),
        models="Each market's demand in each period is met from deliveries, the stock carried "
               "in, and unmet demand (at its penalty); what is left is stocked.",
        dual=Dual("$ per extra tonne of demand",
                  "one more tonne of demand in {market}, {period}", _as_is),
        fact="demand in {market} in {period} ({amount:,.0f} t)", amount=_demand),
    Family(
        name="origin_availability", kind="physical", index=("origin", "period"),
        models="What is bought from an origin is at most its production × exportable share × "
               "ramp-up.",
        dual=Dual("$ per extra tonne available",
                  "one more tonne of exportable supply from {origin} in {period}", _one_more),
        fact="exportable supply from {origin} in {period} ({amount:,.0f} t)",
        amount=lambda f, instance: float(instance.availability.at[f["origin"], f["period"]])),
    Family(
        name="hub_capacity", kind="physical", index=("hub", "period"),
        models="What passes through a processing hub is at most its capacity × ramp-up.",
        dual=Dual("$ per extra tonne of capacity",
                  "one more tonne of processing capacity at {hub} in {period}", _one_more),
        fact="capacity of {hub} in {period} ({amount:,.0f} t)",
        amount=lambda f, instance: float(instance.capacity.at[f["hub"], f["period"]])),
    _share_cap("origin_share", "origin", "caps.origin", "origin_caps",
               "What a market receives from one origin is at most the origin's cap × demand "
               "(caps.origin, or the blanket caps.origin_share)."),
    _share_cap("hub_share", "hub", "caps.hub", "hub_caps",
               "What a market receives through one hub is at most the hub's cap × demand "
               "(caps.hub, or the blanket caps.hub_share)."),
    _share_cap("country_share", "country", "caps.country", "country_caps",
               "What a market receives mined or processed in one country is at most the "
               "country's cap × demand (caps.country, or the blanket caps.country_share)."),
    Family(
        name="risk_budget", kind="user limit", index=("market", "period"), setting="risk.budget",
        models="The delivered tonnes' average risk score is at most the budget: Σ risk × "
               "delivered ≤ budget × demand.",
        dual=Dual("$ per 0.01 of risk score",
                  "a risk budget 0.01 looser for {market} in {period}", _per_point_of_demand),
        relaxation=Relaxation("risk.budget", "the risk budget", "score", "le", _demand,
                              _setting("risk_budget"))),
    Family(
        name="exposure_cap", kind="user limit", index=("power", "market", "period"),
        setting="caps.exposure",
        models="The delivered tonnes a power can stop, each weighted by its exposure weight "
               "(naive: mined or processed there; dependency-aware: its leverage), are at most "
               "the power's cap × demand.",
        dual=Dual("$ per percentage point",
                  "one percentage point more of the {power} exposure cap ({mode}) in {period}",
                  _per_point_of_demand),
        relaxation=Relaxation("caps.exposure.{power}", "the {power} exposure cap ({mode})",
                              "%", "le", _demand, _cap("exposure_caps", "power"))),
    Family(
        name="unmet_limit", kind="user limit", index=("market", "period"),
        setting="max_unmet_share",
        models="Demand left unmet in a market and period is at most the strategy's share of "
               "that demand.",
        dual=Dual("$ per percentage point",
                  "one percentage point more of demand allowed to go unmet in {market}, "
                  "{period}", _per_point_of_demand),
        relaxation=Relaxation("max_unmet_share", "the unmet-demand limit", "%", "le", _demand,
                              _setting("max_unmet_share"))),
    Family(
        name="stock_target", kind="user limit", index=("market", "period"),
        setting="stockpile.target_days",
        models="The stock held for a market at the end of each period is at least the target "
               "days of cover (target days × demand / 365).",
        dual=Dual("$ per extra tonne of stockpile target",
                  "a stockpile target one tonne higher for {market} at the end of {period}",
                  _as_is),
        # Lowering the target by one day frees demand/365 tonnes.
        relaxation=Relaxation("stockpile.target_days", "the stockpile target", "days", "ge",
                              lambda f, instance: _demand(f, instance) / DAYS_PER_YEAR,
                              _setting("stock_target_days"))),
    Family(
        name="cvar_shortfall_limit", kind="user limit", index=(),
        setting="cvar.shortfall_limit",
        models="CVaR_β of the shortfall over the horizon (planned unmet plus each scenario's "
               "shortfall, in tonnes) is at most the limit × horizon demand.",
        dual=Dual("$ per extra tonne of CVaR shortfall",
                  "one more tonne of CVaR-{beta}% shortfall allowed over the horizon",
                  _one_more),
        relaxation=Relaxation("cvar.shortfall_limit", "the CVaR limit on shortfall", "%", "le",
                              _total_demand, _setting("cvar_shortfall_limit"))),
    Family(
        name="cvar_cost_limit", kind="user limit", index=(), setting="cvar.cost_limit_usd",
        models="CVaR_β of the total cost (first stage plus each scenario's recourse) is at "
               "most the limit in dollars.",
        dual=Dual("$ per extra $ of CVaR cost",
                  "one more dollar of CVaR-{beta}% cost allowed over the horizon", _one_more),
        relaxation=Relaxation("cvar.cost_limit_usd", "the CVaR limit on cost", "$", "le",
                              _as_is, _setting("cvar_cost_limit_usd"))),
    # Per-scenario rows: their duals are probability-weighted and read by `risk` as the value
    # of stock in each scenario, not listed one by one.
    Family(
        name="scenario_balance", kind="physical", index=("scenario", "market", "period"),
        models="In each disruption scenario from its onset on: surviving deliveries, stock "
               "carried in, spot purchases, shortfall and planned unmet demand cover demand."),
    Family(
        name="arrivals_definition", kind="definition", index=("market", "period"),
        models="arrivals[m, t] is the planned delivery to market m in t, so that scenario rows "
               "subtract only what a scenario cuts."),
    Family(
        name="first_stage_cost_definition", kind="definition", index=(),
        models="One variable holds the first-stage cost, which every scenario's cost loss "
               "row reads instead of repeating its terms."),
    Family(
        name="cvar_shortfall_excess", kind="definition", index=("scenario",),
        models="z_k ≥ shortfall_k − η (Rockafellar–Uryasev): with CVaR = η + Σ π_k z_k / "
               "(1 − β), the CVaR of shortfall that its limit and weight read."),
    Family(
        name="cvar_cost_excess", kind="definition", index=("scenario",),
        models="z_k ≥ cost_k − η (Rockafellar–Uryasev): with CVaR = η + Σ π_k z_k / (1 − β), "
               "the CVaR of total cost that its limit and weight read."),
)

_BY_NAME = {f.name: f for f in FAMILIES}


def family(name: str) -> Family:
    """The registered family called `name` (a constraint component's name)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no constraint family '{name}' (known: {', '.join(_BY_NAME)})") from None


def reported() -> tuple[Family, ...]:
    """The families whose binding rows the dual report lists, in its order."""
    return tuple(f for f in FAMILIES if f.dual is not None)


def relaxable() -> tuple[Family, ...]:
    """The user limits diagnosis can relax, in the order it lists them."""
    return tuple(f for f in FAMILIES if f.relaxation is not None)


def physical_facts() -> tuple[str, ...]:
    """The families a conflict quotes as facts of the data."""
    return tuple(f.name for f in FAMILIES if f.fact is not None)
