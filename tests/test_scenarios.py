"""Scenario generation: exact probabilities, seeded sampling, and the availability rule."""

from __future__ import annotations

import numpy as np
import pytest

from stibium.model import Strategy, build_instance, load_strategy, solve
from stibium.model.instance import recourse_for
from stibium.model.leverage import leverage_matrix
from stibium.model.risk import evaluate, first_stage_of
from stibium.model.scenarios import (
    NO_EVENT,
    enumerate_scenarios,
    named_scenario,
    sample_scenarios,
)

PERIODS = [2026, 2027, 2028, 2029, 2030]


def test_enumerated_probabilities_sum_to_one(shipped):
    scenarios = enumerate_scenarios(shipped, PERIODS)
    events = len(shipped["events"])
    assert len(scenarios) == 1 + (2**events - 1) * len(PERIODS)
    assert scenarios.probability.sum() == pytest.approx(1.0, abs=1e-12)
    assert (scenarios.probability > 0).all()
    assert scenarios.names[0] == NO_EVENT


def test_enumerated_event_marginals_equal_their_probabilities(shipped):
    scenarios = enumerate_scenarios(shipped, PERIODS)
    probability = shipped["events"].set_index("event")["probability"]
    for event in scenarios.occurs.columns:
        happens = scenarios.probability[scenarios.occurs[event].to_numpy()].sum()
        assert happens == pytest.approx(probability[event], abs=1e-12)


def test_onsets_are_spread_evenly(shipped):
    scenarios = enumerate_scenarios(shipped, PERIODS)
    disrupted = scenarios.onset < len(PERIODS)
    for start in range(len(PERIODS)):
        mass = scenarios.probability[scenarios.onset == start].sum()
        assert mass == pytest.approx(scenarios.probability[disrupted].sum() / len(PERIODS))


def test_same_seed_same_scenarios(shipped):
    first = sample_scenarios(shipped, PERIODS, 500, seed=7)
    again = sample_scenarios(shipped, PERIODS, 500, seed=7)
    other = sample_scenarios(shipped, PERIODS, 500, seed=8)
    assert first.names == again.names
    np.testing.assert_array_equal(first.availability.to_numpy(), again.availability.to_numpy())
    np.testing.assert_array_equal(first.probability, again.probability)
    assert first.names != other.names
    assert first.probability.sum() == pytest.approx(1.0)


def test_identical_draws_are_merged(shipped):
    central = sample_scenarios(shipped, PERIODS, 5000, seed=1, severity="central")
    assert len(central) <= 1 + (2 ** len(shipped["events"]) - 1) * len(PERIODS)
    assert central.probability.sum() == pytest.approx(1.0)
    assert len(set(central.names)) == len(central.names)


def test_leverage_event_follows_the_rule(shipped):
    """A power acting with severity s leaves 1 − s·L[p, c] of every country."""
    effects = shipped["event_effects"]
    ban = effects[effects["event"] == "China export ban"].iloc[0]
    assert ban["mechanism"] == "leverage" and ban["target"] == "China"
    scenario = named_scenario(shipped, "China export ban", PERIODS)
    leverage = leverage_matrix(shipped).loc["China"]
    for country, kept in scenario.availability.loc[0].items():
        assert kept == pytest.approx(1 - ban["severity"] * leverage.get(country, 0.0))


def test_acting_powers_combine_multiplicatively(shipped):
    scenario = named_scenario(shipped, "Coordinated China-Russia pressure", PERIODS)
    effects = shipped["event_effects"].query("event == 'Coordinated China-Russia pressure'")
    leverage = leverage_matrix(shipped)
    expected = 1.0
    for effect in effects.itertuples():
        expected *= 1 - effect.severity * leverage.at[effect.target, "Tajikistan"]
    assert scenario.availability.at[0, "Tajikistan"] == pytest.approx(expected)


def test_route_survival_is_the_product_over_its_countries(shipped):
    instance = build_instance(shipped, load_strategy("cheapest"))
    scenario = named_scenario(shipped, "Russia sanctions tightening", PERIODS)
    survival = scenario.route_survival(instance.routes).loc[0]
    for route, row in instance.routes.iterrows():
        countries = {row["origin_country"], row["hub_country"], *row["transit"]}
        expected = np.prod([scenario.availability.at[0, c] for c in countries])
        assert survival[route] == pytest.approx(expected)
        if "Russia" in countries:
            assert survival[route] < 1


def relative_error(estimate: float, exact: float) -> float:
    return abs(estimate - exact) / abs(exact)


def test_monte_carlo_approaches_exact_enumeration(shipped):
    """The cheapest plan's expected shortfall on sampled scenarios (central severities) tends
    to the exact value as the sample grows."""
    strategy = load_strategy("cheapest")
    result = solve(shipped, strategy)
    instance = build_instance(shipped, strategy)
    first_stage = first_stage_of(result.plan, result.stock, result.unmet)

    def expected_shortfall(scenarios) -> float:
        outcomes = evaluate(instance, recourse_for(instance, scenarios), *first_stage)
        return float(outcomes.table["probability"] @ outcomes.table["shortfall_t"])

    exact = expected_shortfall(enumerate_scenarios(shipped, instance.periods))
    assert exact == pytest.approx(result.metrics["expected_shortfall_t"], rel=1e-9)
    errors = [relative_error(expected_shortfall(
        sample_scenarios(shipped, instance.periods, n, seed=2026, severity="central")), exact)
        for n in (100, 1_000, 20_000)]
    assert errors[-1] < 0.03, errors
    assert errors[-1] < errors[0], errors


def test_unknown_event_in_a_strategy(shipped):
    from stibium.model import StrategyError

    with pytest.raises(StrategyError, match="'scenarios.events' names unknown 'Alien'"):
        build_instance(shipped, Strategy(scenario_mode="exact", scenario_events=("Alien",)))
