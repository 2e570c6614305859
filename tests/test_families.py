"""The registry of constraint families (`model/families.py`): every row the builder creates is
registered, every user limit's dual is reported in domain words and equals the change in cost
when its setting moves, and the registry's right-hand sides are the model's own.

Toy data (tests/conftest.py): routes A→HA 130, B→HP 100, B→HA 105 $/t; demand 10 t in 2030;
unmet demand 1,000 $/t; holding 5 $/t. Exact scenarios: none 0.72, "A strike" (half of A
stops) 0.18, "P acts" (B→HP stops) 0.08, both 0.02; no spot market.
"""

from __future__ import annotations

import pyomo.environ as pyo
import pytest

from stibium.model import Strategy, load_dataset, load_strategy, solve
from stibium.model.build import build_model
from stibium.model.families import FAMILIES, family, relaxable, reported
from stibium.model.instance import build_instance
from stibium.model.settings import SETTINGS
from stibium.model.strategy import shipped_strategies
from tests.conftest import toy_tables, write_tables

EXACT = Strategy(scenario_mode="exact")


def variants(strategy: Strategy) -> dict[str, Strategy]:
    """A shipped strategy as shipped, over scenarios with both CVaR limits, with both CVaR
    weights, and with every remaining user limit (on two years, to stay quick)."""
    short = strategy.with_changes(last_period=(strategy.first_period or 2026) + 1)
    return {
        "as shipped": short,
        "CVaR limits": short.with_changes(scenario_mode="exact", cvar_shortfall_limit=1.0,
                                          cvar_cost_limit_usd=1e15),
        "CVaR weights": short.with_changes(scenario_mode="exact",
                                           cvar_shortfall_weight_usd_per_t=1.0,
                                           cvar_cost_weight=0.5),
        "every limit": short.with_changes(risk_budget=1.0, hub_share_cap=1.0,
                                          country_share_cap=1.0, max_unmet_share=1.0,
                                          stock_target_days=10.0),
    }


def constraint_names(model: pyo.ConcreteModel) -> set[str]:
    return {c.name for c in model.component_objects(pyo.Constraint, descend_into=True)}


def test_every_constraint_the_builder_creates_is_registered(shipped):
    built: set[str] = set()
    for name in shipped_strategies():
        for variant, strategy in variants(load_strategy(name)).items():
            instance = build_instance(shipped, strategy)
            model = build_model(instance)
            names = constraint_names(model)
            unregistered = names - {f.name for f in FAMILIES}
            assert not unregistered, f"{name}, {variant}: {unregistered} not in the registry"
            for component in names:
                record = family(component)
                for index in getattr(model, component):
                    # The registry's index names fit the rows (they fill its wordings).
                    assert len(record.key(index)) == len(record.index), (component, index)
            built |= names
    never_built = {f.name for f in FAMILIES} - built
    assert not never_built, f"registered but built by no strategy: {never_built}"


def test_every_user_limit_names_a_real_setting_and_has_a_dual_and_a_relaxation():
    for record in FAMILIES:
        assert record.models, record.name
        if record.kind == "user limit":
            assert record.setting in {setting.key for setting in SETTINGS}, record.name
            assert record.dual is not None and record.relaxation is not None, record.name
            assert record.relaxation.key.split(".{")[0] == record.setting
        else:
            assert record.setting is None and record.relaxation is None, record.name
    assert {"cvar_shortfall_limit", "cvar_cost_limit", "unmet_limit"} <= {
        f.name for f in reported()}


def test_right_hand_sides_at_the_current_setting_are_the_models_own(shipped):
    """What a frontier would set for a limit's rows at the strategy's own value is exactly
    what the builder wrote: the registry's units agree with `build.py`."""
    strategy = variants(load_strategy("dependency-aware"))["every limit"].with_changes(
        origin_caps={"Tajikistan": 0.2}, scenario_mode="exact", cvar_shortfall_limit=0.5,
        cvar_cost_limit_usd=3e8)
    instance = build_instance(shipped, strategy)
    model = build_model(instance)
    checked = set()
    for record in relaxable():
        rows = record.rows(model)
        assert rows, record.name
        relaxation = record.relaxation
        for key, row in rows.items():
            current = relaxation.current(record.fields(key, instance), instance)
            bound = record.right_hand_sides(model, instance, current)[row]
            lower, _, upper = row.to_bounded_expression(evaluate_bounds=True)
            assert (upper if relaxation.side == "le" else lower) == pytest.approx(
                bound, rel=1e-12, abs=1e-9), (record.name, key)
        checked.add(record.name)
    assert checked == {f.name for f in relaxable()}
    china = family("exposure_cap").rows(model, node="China")
    assert china and all(key[0] == "China" for key in china)
    assert len(china) < len(family("exposure_cap").rows(model))
    with pytest.raises(ValueError, match="indexed by"):
        family("demand_balance").rows(model, hub="X")


def dual_row(result, constraint: str):
    rows = result.duals[result.duals["constraint"] == constraint]
    assert len(rows) == 1, result.duals
    return rows.iloc[0]


def saving_per_unit(dataset, strategy: Strategy, setting: str, value: float, step: float,
                    units_per_step: float) -> tuple[float, float]:
    """Cost saved per unit of relaxation just above and just below `value` (equal when the
    optimum is not degenerate there)."""
    costs = [solve(dataset, strategy.with_changes(**{setting: value + d}),
                   evaluate_risk=False).objective for d in (-step, 0.0, step)]
    return ((costs[1] - costs[2]) / units_per_step, (costs[0] - costs[1]) / units_per_step)


def test_a_binding_cvar_shortfall_limit_has_its_shadow_price(toy):
    """CVaR-95% of shortfall at most 1 t (10% of demand): buy a t from A and b t on B→HP.
    With both events only a/2 arrives, so the tail's 2% holds 10 − a/2 and CVaR = 0.4 (10 − a/2)
    ≤ 1 gives a = 15; "A strike" must not go short either, a/2 + b ≥ 10, so b = 2.5.
    One tonne more of CVaR lets a fall by 5 t and b rise by 2.5 t (stock falls 2.5 t) and the
    both-events shortfall rise by 2.5 t at 2% × $1,000: −5·135 + 2.5·105 + 50 = −$362.5."""
    strategy = EXACT.with_changes(cvar_shortfall_limit=0.1)
    result = solve(toy, strategy)
    assert result.metrics["model_cvar_shortfall"] == pytest.approx(1.0)
    row = dual_row(result, "cvar_shortfall_limit")
    assert row["dual"] == pytest.approx(-362.5)
    assert row["value"] == pytest.approx(362.5)
    assert row["unit"] == "$ per extra tonne of CVaR shortfall"
    assert row["meaning"] == "one more tonne of CVaR-95% shortfall allowed over the horizon"
    assert row["index"] == "" and row["period"] is None
    # The decomposition holds the limit as its master's CVaR column bound: the same dual.
    decomposed = dual_row(solve(toy, strategy, method="decomposition"), "cvar_shortfall_limit")
    assert decomposed["dual"] == pytest.approx(-362.5, rel=1e-6)
    assert decomposed["meaning"] == row["meaning"]
    delta = 1e-4  # of demand share: 1e-3 t of CVaR
    above, below = saving_per_unit(toy, strategy, "cvar_shortfall_limit", 0.1, delta,
                                   delta * 10.0)
    assert above == pytest.approx(below, rel=1e-6)
    assert row["value"] == pytest.approx(above, rel=1e-6)
    # The JSON keeps its columns; the years next to the horizon-wide row stay integers.
    records = result.to_dict()["duals"]
    assert {tuple(r) for r in records} == {
        ("constraint", "index", "period", "dual", "value", "unit", "meaning")}
    assert {r["constraint"]: r["period"] for r in records} == {
        "demand_balance": 2030, "cvar_shortfall_limit": None}


def test_a_binding_cvar_cost_limit_has_its_shadow_price(toy):
    neutral = solve(toy, EXACT)
    limit = 0.9 * neutral.metrics["cvar_cost"]
    strategy = EXACT.with_changes(cvar_cost_limit_usd=limit)
    result = solve(toy, strategy)
    assert result.status == "optimal"
    row = dual_row(result, "cvar_cost_limit")
    assert row["value"] > 0
    decomposed = dual_row(solve(toy, strategy, method="decomposition"), "cvar_cost_limit")
    assert decomposed["value"] == pytest.approx(row["value"], rel=1e-6)
    assert row["meaning"] == "one more dollar of CVaR-95% cost allowed over the horizon"
    above, below = saving_per_unit(toy, strategy, "cvar_cost_limit_usd", limit, 0.01, 0.01)
    assert above == pytest.approx(below, rel=1e-6)
    assert row["value"] == pytest.approx(above, rel=1e-6)


def test_a_binding_unmet_limit_has_its_shadow_price(tmp_path):
    """B can supply 5 t; at a penalty of $120/t unmet demand beats A's $130, but at most 30% of
    the 10 t may go unmet: 5 t from B, 3 t unmet, 2 t from A. One tonne more unmet saves $10,
    so one percentage point (0.1 t) saves $1."""
    tables = toy_tables()
    tables["origins"][1]["production_2025_t"] = 5
    dataset = load_dataset(write_tables(tmp_path / "d", tables))
    strategy = Strategy(unmet_penalty_usd_per_t=120.0, max_unmet_share=0.3)
    result = solve(dataset, strategy)
    assert result.total_cost == pytest.approx(5 * 100 + 3 * 120 + 2 * 130)
    row = dual_row(result, "unmet_limit")
    assert row["index"] == "M / 2030" and row["period"] == 2030
    assert row["dual"] == pytest.approx(-10.0)
    assert row["value"] == pytest.approx(1.0)
    assert row["unit"] == "$ per percentage point"
    assert row["meaning"] == "one percentage point more of demand allowed to go unmet in M, 2030"
    delta = 1e-4  # of demand share
    above, below = saving_per_unit(dataset, strategy, "max_unmet_share", 0.3, delta,
                                   delta * 100.0)
    assert above == pytest.approx(below, rel=1e-6)
    assert row["value"] == pytest.approx(above, rel=1e-6)
    assert result.to_dict()["duals"][-1]["period"] == 2030
