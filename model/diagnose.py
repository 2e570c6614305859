"""Why is it infeasible? Pre-solve checks, a minimal relaxation, and a conflicting set — all in
the user's words.

1. **Pre-solve checks** compare simple bounds (supply after caps, non-exposed supply, stock
   targets) with demand and name the limits and the numbers.
2. **Minimal relaxation**: an elastic copy of the model gives every user limit a slack,
   measured in the limit's own unit (percentage points of a cap, days of a stock target,
   points of CVaR), and minimises their sum: which limits must move, and by how much. Each of
   them is then tried alone, giving the "or" alternatives ("raise the Tajikistan cap from 20%
   to 26%, or the China exposure cap from 30% to 34%").
3. **Conflicting set**: a minimal set of user limits that cannot all hold (a deletion filter
   over the limits on the elastic model), and, for small models, the supplies, capacities and
   demands they collide with, from HiGHS's irreducible infeasible subset (IIS).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyomo.environ as pyo

from . import families
from .build import build_model
from .data import Dataset
from .highs import SolveStatus, highs_for, simplex_suits, solve_model, standard_form_lp
from .instance import Instance, build_instance
from .strategy import Strategy

TOLERANCE = 1e-6
MAX_CONFLICT_ITEMS = 12
MAX_IIS_ROWS = 2_000
PHYSICAL_ROWS = families.physical_facts()
IIS_FROM_LP_IRREDUCIBLE = 2 | 4  # highspy IisStrategy kIisStrategyFromLp | kIisStrategyIrreducible


@dataclass
class Relaxation:
    limit: str          # user-level name, e.g. "caps.exposure.China"
    label: str          # "the China exposure cap"
    current: float
    needed: float
    unit: str           # "%", "days", "t", "$"

    @property
    def text(self) -> str:
        verb = "lower" if self.needed < self.current else "raise"
        return f"{verb} {self.label} from {_fmt(self.current, self.unit)} to " \
               f"{_fmt(self.needed, self.unit)}"


@dataclass
class Diagnosis:
    findings: list[str] = field(default_factory=list)
    relaxation: list[Relaxation] = field(default_factory=list)
    alternatives: list[Relaxation] = field(default_factory=list)
    conflict: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.alternatives:
            fixes = ", or ".join(r.text for r in self.alternatives[:3])
            return f"no feasible plan: {fixes}"
        if self.relaxation:
            return "no feasible plan: " + " and ".join(r.text for r in self.relaxation)
        if self.findings:
            return f"no feasible plan: {self.findings[0]}"
        return "no feasible plan"

    def lines(self) -> list[str]:
        lines = [self.summary()]
        lines += [f"check: {finding}" for finding in self.findings]
        if self.relaxation:
            lines.append("least change that makes it feasible: "
                         + "; ".join(r.text for r in self.relaxation))
        if self.conflict:
            lines.append("these limits conflict: " + "; ".join(self.conflict))
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary(), "findings": self.findings,
                "relaxation": [r.__dict__ | {"text": r.text} for r in self.relaxation],
                "alternatives": [r.__dict__ | {"text": r.text} for r in self.alternatives],
                "conflict": self.conflict}


def _fmt(value: float, unit: str) -> str:
    if unit == "%":
        return f"{100 * value:.1f}%".replace(".0%", "%")
    if unit == "days":
        return f"{value:,.0f} days"
    if unit == "$":
        return f"${value:,.0f}"
    return f"{value:,.3g} {unit}".strip()


# --- user limits: which rows belong to which limit, and in which unit -------------------------

@dataclass
class _Limit:
    key: str
    label: str
    current: float
    unit: str
    rows: list[tuple[Any, float, str]]  # (constraint data, slack scale, sense "le" | "ge")
    loosens_upwards: bool = True  # caps loosen upwards; a stockpile target downwards


def _user_limits(model: pyo.ConcreteModel, instance: Instance) -> list[_Limit]:
    """Every user limit the model holds, from the families' relaxations: rows with the same
    key (one origin's cap in every market and period) form one limit, slack in its own unit."""
    limits: dict[str, _Limit] = {}
    for family in families.relaxable():
        relaxation = family.relaxation
        assert relaxation is not None
        for key, row in family.rows(model).items():
            fields = family.fields(key, instance)
            name = relaxation.key.format(**fields)
            limit = limits.get(name)
            if limit is None:
                limit = limits[name] = _Limit(
                    name, relaxation.label.format(**fields),
                    relaxation.current(fields, instance), relaxation.unit, [],
                    relaxation.loosens_upwards)
            limit.rows.append((row, relaxation.per_unit(fields, instance), relaxation.side))
    return list(limits.values())


class _ElasticModel:
    """The model with a slack on every user limit, built once; a relaxation may use all slacks
    or only those of some limits (the others fixed at zero)."""

    def __init__(self, instance: Instance) -> None:
        self.simplex = simplex_suits(instance)
        model = build_model(instance)
        self.limits = _user_limits(model, instance)
        slack_index = [(i, j) for i, lim in enumerate(self.limits) for j in range(len(lim.rows))]
        model.relax = pyo.Var(slack_index, domain=pyo.NonNegativeReals)
        for i, limit in enumerate(self.limits):
            for j, (row, scale, sense) in enumerate(limit.rows):
                lower, body, upper = row.to_bounded_expression()
                widened = scale * model.relax[i, j]
                if sense == "le":
                    row.set_value((None, body - widened, upper))
                else:
                    row.set_value((lower, body + widened, None))
        model.total_cost.deactivate()
        # A tiny weight on cost picks, among equally small relaxations, a sensible plan.
        model.relaxation = pyo.Objective(expr=sum(model.relax.values()) + 1e-12
                                         * model.total_cost.expr, sense=pyo.minimize)
        self.model = model

    def feasible_with(self, enforced: set[str]) -> bool:
        """Whether some plan keeps the enforced limits (every other limit dropped)."""
        free = {limit.key for limit in self.limits} - enforced
        return self.solve(free) is not None

    def minimal_conflict(self, start: set[str]) -> list[str]:
        """A minimal set of user limits that cannot all hold (a deletion filter: drop each
        limit in turn and keep it only if the rest become feasible without it)."""
        enforced = set(start)
        if self.feasible_with(enforced):
            enforced = {limit.key for limit in self.limits}
        for key in sorted(enforced):
            if not self.feasible_with(enforced - {key}):
                enforced.discard(key)
        return sorted(enforced)

    def solve(self, chosen: set[str] | None) -> dict[str, float] | None:
        """Least relaxation (each limit in its own unit) using the chosen limits' slacks (all
        when None); None when even that is infeasible."""
        model = self.model
        for (i, _), var in model.relax.items():
            if chosen is None or self.limits[i].key in chosen:
                var.unfix()
            else:
                var.fix(0.0)
        if solve_model(model, simplex=self.simplex) != SolveStatus.OPTIMAL:
            return None
        needed: dict[str, float] = {}
        for i, limit in enumerate(self.limits):
            widest = max((model.relax[i, j].value or 0.0) for j in range(len(limit.rows)))
            if widest > TOLERANCE:
                needed[limit.key] = widest
        return needed


def _relaxations(limits: list[_Limit], needed: dict[str, float]) -> list[Relaxation]:
    out = []
    for limit in limits:
        if limit.key not in needed:
            continue
        change = needed[limit.key]
        new = limit.current + change if limit.loosens_upwards else \
            max(limit.current - change, 0.0)
        out.append(Relaxation(limit.key, limit.label, limit.current, new, limit.unit))
    return out


def _presolve_findings(instance: Instance) -> list[str]:
    """Each check's first failing year, with how many later years fail it too."""
    by_check: dict[str, list[str]] = {}
    for check, text in _presolve_checks(instance):
        by_check.setdefault(check, []).append(text)
    return [texts[0] + (f" (and in {len(texts) - 1} later year"
                        f"{'s' if len(texts) > 2 else ''})" if len(texts) > 1 else "")
            for texts in by_check.values()]


def _presolve_checks(instance: Instance) -> list[tuple[str, str]]:
    findings: list[tuple[str, str]] = []
    strategy = instance.strategy
    routes = instance.routes
    must_meet = 1.0 - (strategy.max_unmet_share if strategy.max_unmet_share is not None else 1.0)
    best_yield = routes.groupby("origin")["recovery_yield"].max()
    for t in instance.periods:
        demand = float(instance.demand[t].sum())
        if demand <= 0:
            continue
        supply = 0.0
        for origin, available in instance.availability[t].items():
            if origin not in best_yield.index:
                continue
            reachable = available * best_yield[origin]
            if origin in instance.origin_caps:
                reachable = min(reachable, instance.origin_caps[origin] * demand)
            supply += reachable
        hub_room = sum(float(instance.capacity.at[h, t]) for h in set(routes["hub"]))
        if must_meet > 0 and supply < must_meet * demand - TOLERANCE:
            findings.append(("origin caps",
                f"in {t} origin supply after origin caps reaches at most {supply:,.0f} t, "
                f"below the {must_meet * demand:,.0f} t that must be met "
                f"({_fmt(must_meet, '%')} of {demand:,.0f} t)"))
        if must_meet > 0 and hub_room < must_meet * demand - TOLERANCE:
            findings.append(("capacity", f"in {t} processing capacity is {hub_room:,.0f} t, "
                             f"below the {must_meet * demand:,.0f} t that must be met"))
        for power, cap in instance.exposure_caps.items():
            weights = instance.exposure_weights(strategy.exposure_mode)[power]
            free = routes[weights <= TOLERANCE]
            clean = sum(float(instance.availability.at[o, t]) * best_yield[o]
                        for o in set(free["origin"]))
            if must_meet > 0 and clean + cap * demand < must_meet * demand - TOLERANCE:
                findings.append((f"exposure {power}",
                    f"in {t} the {power} exposure cap of {_fmt(cap, '%')} leaves at most "
                    f"{clean + cap * demand:,.0f} t: {clean:,.0f} t of supply {power} cannot "
                    f"touch plus {_fmt(cap, '%')} of demand, below the "
                    f"{must_meet * demand:,.0f} t that must be met"))
    if strategy.stock_target_days > 0:
        first = instance.periods[0]
        target = float(instance.stock_target[first].sum())
        demand = float(instance.demand[first].sum())
        supply = sum(float(instance.availability.at[o, first]) * best_yield[o]
                     for o in best_yield.index) + strategy.initial_stock_t
        if target + must_meet * demand > supply + TOLERANCE:
            findings.append(("stock", f"in {first} the stockpile target of "
                            f"{strategy.stock_target_days:g} days ({target:,.0f} t) plus the "
                            f"{must_meet * demand:,.0f} t of demand that must be met exceed all "
                            f"supply the routes can reach ({supply:,.0f} t)"))
    return findings


def _cvar_findings(instance: Instance, dataset: Dataset) -> list[str]:
    """A CVaR limit below the least achievable CVaR, with both numbers."""
    strategy = instance.strategy
    findings = []
    if strategy.cvar_shortfall_limit is not None:
        probe = build_instance(dataset, strategy.with_changes(
            cvar_shortfall_limit=None, cvar_shortfall_weight_usd_per_t=1e9, max_unmet_share=None,
            stock_target_days=0.0))
        model = build_model(probe)
        if solve_model(model, simplex=simplex_suits(probe)) == SolveStatus.OPTIMAL:
            least = float(pyo.value(model.cvar_shortfall)) / float(
                probe.demand.to_numpy().sum())
            if least > strategy.cvar_shortfall_limit + TOLERANCE:
                limit = _fmt(strategy.cvar_shortfall_limit, "%")
                findings.append(f"the CVaR limit on shortfall ({limit} of demand) is below "
                                f"the least any plan achieves ({_fmt(least, '%')})")
    return findings


def _physical_conflict(instance: Instance) -> list[str]:
    """The supplies, capacities and demands in HiGHS's irreducible infeasible subset: the
    facts that the conflicting limits collide with (small models only: IIS is costly)."""
    # The model must outlive the rows read below: a constraint finds its family through a
    # weak reference to the model, so a model only the standard form still pointed to could
    # be collected meanwhile (it was, now and then: 'NoneType' object has no attribute 'name').
    model = build_model(instance)
    form, lp = standard_form_lp(model)
    highs = highs_for(lp, simplex=simplex_suits(instance))
    highs.setOptionValue("iis_strategy", IIS_FROM_LP_IRREDUCIBLE)
    highs.run()
    try:
        _, iis = highs.getIis()
    except Exception:  # a HiGHS without IIS support: the limits alone still answer
        return []
    if not getattr(iis, "valid_", False):
        return []
    facts = [_describe_row(form.rows[p].constraint, instance) for p in iis.row_index_
             if form.rows[p].constraint.parent_component().name in PHYSICAL_ROWS]
    facts = list(dict.fromkeys(facts))
    if len(facts) > MAX_CONFLICT_ITEMS:
        facts = facts[:MAX_CONFLICT_ITEMS] + [f"… and {len(facts) - MAX_CONFLICT_ITEMS} more"]
    return facts


def _describe_row(row: Any, instance: Instance) -> str:
    family = families.family(row.parent_component().name)
    return family.describe_fact(family.key(row.index()), instance)


def diagnose(dataset: Dataset, strategy: Strategy, *, conflict: bool = True) -> Diagnosis:
    """Explain why a strategy has no feasible plan (also useful before solving)."""
    instance = build_instance(dataset, strategy)
    diagnosis = Diagnosis(findings=_presolve_findings(instance))
    diagnosis.findings += _cvar_findings(instance, dataset)
    elastic = _ElasticModel(instance)
    needed = elastic.solve(None)
    if not needed:
        return diagnosis
    diagnosis.relaxation = _relaxations(elastic.limits, needed)
    conflicting = elastic.minimal_conflict(set(needed)) if conflict else sorted(needed)
    labels = {limit.key: limit for limit in elastic.limits}
    if conflict:
        diagnosis.conflict = [f"{labels[key].label} ({_fmt(labels[key].current, labels[key].unit)})"
                              for key in conflicting]
        if _row_count(instance) <= MAX_IIS_ROWS:
            diagnosis.conflict += [f"given {fact}" for fact in _physical_conflict(instance)]
    # Each limit of the conflict, moved alone.
    for key in conflicting:
        alone = elastic.solve({key})
        if alone is not None and key in alone:
            diagnosis.alternatives += _relaxations(elastic.limits, alone)
    diagnosis.alternatives.sort(key=lambda r: abs(r.needed - r.current)
                                if math.isfinite(r.needed) else np.inf)
    return diagnosis


def _row_count(instance: Instance) -> int:
    scenarios = len(instance.recourse.scenarios) if instance.recourse is not None else 1
    return scenarios * len(instance.periods) * max(len(instance.markets), 1)
