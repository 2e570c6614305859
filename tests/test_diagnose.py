"""Infeasible strategies are explained in the user's words: checks, relaxation, conflict."""

from __future__ import annotations

import pytest

from stibium.model import Strategy, load_dataset, load_strategy, solve
from stibium.model.diagnose import diagnose
from tests.conftest import toy_tables, write_tables


@pytest.fixture
def short_toy(tmp_path):
    """6 t of supply (3 t each from A and B) against 10 t of demand."""
    tables = toy_tables()
    for origin in tables["origins"]:
        origin["production_2025_t"] = 3
    return load_dataset(write_tables(tmp_path / "short", tables))


def test_hard_demand_beyond_supply_names_the_unmet_limit(short_toy):
    result = solve(short_toy, Strategy(max_unmet_share=0.3))
    assert result.status == "infeasible"
    # 4 t must go unmet: the limit has to rise from 30% to 40% of demand.
    assert result.message == "no feasible plan: raise the unmet-demand limit from 30% to 40%"
    relaxation = result.diagnosis["relaxation"]
    assert [r["limit"] for r in relaxation] == ["max_unmet_share"]
    assert relaxation[0]["needed"] == pytest.approx(0.4)
    assert any("exportable supply from A in 2030 (3 t)" in c
               for c in result.diagnosis["conflict"])
    assert "the unmet-demand limit (30%)" in result.diagnosis["conflict"]


def test_the_conflict_survives_a_garbage_collection_mid_diagnosis(short_toy, monkeypatch):
    """The IIS rows name their constraints through the model, which must stay alive while
    they are read: a collection between compiling and reading once made this fail now and
    then; here it happens every time."""
    import gc
    import importlib

    # (stibium.model.solve is also the name of the solve function the package exports)
    solve_module = importlib.import_module("stibium.model.solve")

    real_highs_for = solve_module.highs_for

    def collecting_highs_for(lp):
        gc.collect()
        return real_highs_for(lp)

    monkeypatch.setattr(solve_module, "highs_for", collecting_highs_for)
    diagnosis = diagnose(short_toy, Strategy(max_unmet_share=0.3))
    assert any("exportable supply from A in 2030 (3 t)" in c for c in diagnosis.conflict)


def test_two_limits_give_two_alternatives(tmp_path):
    """Hard demand of 10 t, A can supply only 5 t and B is capped at 20% (2 t): either B's cap
    rises to 50% or 30% of demand is allowed to go unmet."""
    tables = toy_tables()
    tables["origins"][0]["production_2025_t"] = 5   # A
    dataset = load_dataset(write_tables(tmp_path / "two", tables))
    strategy = Strategy(max_unmet_share=0.0, origin_caps={"B": 0.2})
    diagnosis = diagnose(dataset, strategy)
    texts = [a.text for a in diagnosis.alternatives]
    # A delivers 5 t; B must deliver 5 t = 50% of demand.
    assert "raise the B origin cap from 20% to 50%" in texts
    assert "raise the unmet-demand limit from 0% to 30%" in texts
    assert diagnosis.summary().startswith("no feasible plan: raise the")
    assert any("origin supply after origin caps reaches at most 7 t" in f
               for f in diagnosis.findings)
    assert set(diagnosis.conflict[:2]) == {"the B origin cap (20%)",
                                           "the unmet-demand limit (0%)"}


def test_stock_target_alternative_in_days(short_toy):
    # Demand fully met (6 t of supply short of 10): infeasible already; with unmet allowed up
    # to 40%, a 73-day stock (2 t) does not fit either: the target must fall to 0 days.
    strategy = Strategy(max_unmet_share=0.4, stock_target_days=73)
    diagnosis = diagnose(short_toy, strategy)
    texts = [a.text for a in diagnosis.alternatives]
    assert "lower the stockpile target from 73 days to 0 days" in texts
    assert "raise the unmet-demand limit from 40% to 60%" in texts


def test_cvar_limit_below_the_best_achievable(shipped):
    strategy = load_strategy("dependency-aware").with_changes(scenario_mode="exact",
                                                              cvar_shortfall_limit=0.01)
    result = solve(shipped, strategy)
    assert result.status == "infeasible"
    assert result.message.startswith("no feasible plan: raise the CVaR limit on shortfall "
                                     "from 1% to ")
    assert any("is below the least any plan achieves" in f
               for f in result.diagnosis["findings"])
    # The relaxed limit is feasible, and a hair below it is not.
    needed = result.diagnosis["relaxation"][0]["needed"]
    assert solve(shipped, strategy.with_changes(cvar_shortfall_limit=needed * 1.0001),
                 evaluate_risk=False).status == "optimal"
    assert solve(shipped, strategy.with_changes(cvar_shortfall_limit=needed * 0.99),
                 evaluate_risk=False).status == "infeasible"


def test_exposure_cap_check_names_the_numbers(shipped):
    strategy = load_strategy("dependency-aware").with_changes(
        max_unmet_share=0.0, exposure_caps={"China": 0.1, "Russia": 0.3})
    diagnosis = diagnose(shipped, strategy, conflict=False)
    assert any(f.startswith("in 2026 the China exposure cap of 10% leaves at most")
               for f in diagnosis.findings)
    assert diagnosis.relaxation


def test_feasible_strategy_has_no_relaxation(toy):
    diagnosis = diagnose(toy, Strategy())
    assert diagnosis.relaxation == [] and diagnosis.alternatives == []
