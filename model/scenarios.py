"""Correlated disruption scenarios from the event library and the leverage matrix.

An event (``events.csv``) happens with an annual probability and has effects
(``event_effects.csv``):

- ``leverage``: power p acts with severity s; every country c keeps ``1 − s·L[p, c]`` of its
  supply, processing and transit (``L[p, p] = 1``, so p itself loses s);
- ``direct``: country c loses the fraction s.

Effects combine multiplicatively — what survives one lever must also survive the next — so a
country hit by China (0.56 leverage) and Russia (0.48) at full severity keeps
``(1 − 0.56)(1 − 0.48)``. A route survives with the product over the distinct countries it
touches (origin, hub country, transit).

A scenario is a combination of events and an onset period: the events strike together at the
onset and the regime lasts to the end of the horizon; before the onset everything flows, so a
stockpile built then is there to draw on. The combination's probability is the product of the
independent events' probabilities (happening or not); the onset is spread evenly over the
horizon's periods. The spot price from the onset is the benchmark times the largest price
multiplier among the events (before it, and with no event, the default spot premium).

Scenarios are enumerated exactly (the no-disruption state plus every non-empty combination at
every onset: 1 + (2^E − 1)·T scenarios) or sampled (seeded Monte Carlo: events, onset, and
severities at their central value or drawn uniformly from their low–high range); identical
sampled scenarios are merged with their probabilities summed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .data import Dataset
from .errors import StrategyError
from .leverage import leverage_matrix

NO_EVENT = "no disruption"
MAX_EXACT_EVENTS = 16


@dataclass
class ScenarioSet:
    """Scenarios as plain arrays.

    Attributes
    ----------
    names
        A readable name per scenario ("China export ban + Myanmar border closure").
    occurs
        Scenario × event, True where the event happens.
    onset
        Per scenario, the index of the first disrupted period (0 = the first period; the
        number of periods for the no-disruption scenario).
    probability
        Probabilities summing to one.
    availability
        Scenario × country: the fraction of each country's supply that survives.
    price_multiplier
        Spot price as a multiple of the benchmark, per scenario.
    """

    names: list[str]
    occurs: pd.DataFrame
    onset: np.ndarray
    probability: np.ndarray
    availability: pd.DataFrame
    price_multiplier: np.ndarray
    method: str
    seed: int | None = None

    def __len__(self) -> int:
        return len(self.names)

    def disrupted(self, periods: int) -> np.ndarray:
        """Scenario × period: True from each scenario's onset on."""
        return np.arange(periods)[None, :] >= self.onset[:, None]

    def route_survival(self, routes: pd.DataFrame) -> pd.DataFrame:
        """Scenario × route: the fraction of a route's deliveries that gets through once the
        scenario's disruption has begun."""
        availability = self.availability
        kept = availability.to_numpy()
        column_of = {country: i for i, country in enumerate(availability.columns)}
        columns = {}
        for route, origin, hub, transit in zip(routes.index, routes["origin_country"],
                                               routes["hub_country"], routes["transit"],
                                               strict=True):
            countries = sorted({origin, hub, *transit})
            columns[route] = np.prod(kept[:, [column_of[c] for c in countries]], axis=1)
        return pd.DataFrame(columns, index=availability.index)



def event_names(dataset: Dataset) -> list[str]:
    return list(dataset["events"]["event"])


def _effects(dataset: Dataset, events: list[str]) -> pd.DataFrame:
    effects = dataset["event_effects"]
    return effects[effects["event"].isin(events)].reset_index(drop=True)


def _availability(effects: pd.DataFrame, severities: np.ndarray, active: np.ndarray,
                  leverage: pd.DataFrame, countries: list[str]) -> np.ndarray:
    """Scenario × country availability for active effects (rows of `effects`)."""
    n = active.shape[0]
    kept = np.ones((n, len(countries)))
    column_of = {c: i for i, c in enumerate(countries)}
    for j, effect in enumerate(effects.itertuples(index=False)):
        if effect.mechanism == "leverage":
            reach = leverage.loc[effect.target].reindex(countries, fill_value=0.0).to_numpy()
        else:
            reach = np.zeros(len(countries))
            reach[column_of[effect.target]] = 1.0
        hit = (active[:, j] * severities[:, j])[:, None] * reach[None, :]
        kept *= 1.0 - hit
    return kept


def _build(dataset: Dataset, events: list[str], occurs: np.ndarray, severities: np.ndarray,
           onset: np.ndarray, probability: np.ndarray, method: str, seed: int | None,
           periods: list[int]) -> ScenarioSet:
    effects = _effects(dataset, events)
    event_index = {e: i for i, e in enumerate(events)}
    effect_event = np.array([event_index[e] for e in effects["event"]], dtype=int)
    active = occurs[:, effect_event] if len(effects) else np.zeros((len(occurs), 0), bool)
    countries = list(dataset["countries"]["country"])
    kept = _availability(effects, severities, active, leverage_matrix(dataset), countries)
    multipliers = dataset["events"].set_index("event")["price_multiplier"] \
        .reindex(events).to_numpy()
    default = dataset.parameter("spot_price_multiplier")
    price = np.where(occurs.any(axis=1),
                     np.max(np.where(occurs, multipliers[None, :], 0.0), axis=1, initial=0.0),
                     default)
    price = np.maximum(price, 1.0)
    names = []
    for row, start in zip(occurs, onset, strict=True):
        active = " + ".join(e for e, on in zip(events, row, strict=True) if on)
        names.append(f"{active} from {periods[start]}" if active and start < len(periods)
                     else NO_EVENT)
    if method == "sampled":
        names = [f"#{i + 1}: {name}" for i, name in enumerate(names)]
    index = pd.RangeIndex(len(names), name="scenario")
    return ScenarioSet(
        names=names,
        occurs=pd.DataFrame(occurs, columns=events, index=index),
        onset=np.where(occurs.any(axis=1), onset, len(periods)).astype(int),
        probability=probability,
        availability=pd.DataFrame(kept, columns=countries, index=index),
        price_multiplier=price,
        method=method,
        seed=seed,
    )


def _select(dataset: Dataset, events: tuple[str, ...] | list[str] | None) -> list[str]:
    known = event_names(dataset)
    if not events:
        return known
    unknown = [e for e in events if e not in known]
    if unknown:
        raise StrategyError(f"unknown event '{unknown[0]}' (known: {', '.join(known)})")
    return [e for e in known if e in events]


def enumerate_scenarios(dataset: Dataset, periods: list[int],
                        events: tuple[str, ...] | list[str] | None = None) -> ScenarioSet:
    """No disruption, plus every non-empty combination of the (independent) events at every
    onset period, each with its exact probability."""
    chosen = _select(dataset, events)
    if len(chosen) > MAX_EXACT_EVENTS:
        raise StrategyError(f"{len(chosen)} events make 2^{len(chosen)} combinations; use "
                            f"sampled scenarios or fewer events (at most {MAX_EXACT_EVENTS})")
    p = dataset["events"].set_index("event")["probability"].reindex(chosen).to_numpy()
    # Explicit shape: with no events there is one combination (no disruption) of width 0.
    combos = np.array(list(itertools.product([False, True], repeat=len(chosen))),
                      dtype=bool).reshape(2 ** len(chosen), len(chosen))
    combo_probability = np.prod(np.where(combos, p[None, :], 1.0 - p[None, :]), axis=1)
    disrupted = combos[1:]  # row 0 is the combination with no event
    count = len(periods)
    occurs = np.concatenate([combos[:1], np.repeat(disrupted, count, axis=0)])
    onset = np.concatenate([[count], np.tile(np.arange(count), len(disrupted))])
    probability = np.concatenate([combo_probability[:1],
                                  np.repeat(combo_probability[1:], count) / count])
    effects = _effects(dataset, chosen)
    severities = np.tile(effects["severity"].to_numpy(), (len(occurs), 1))
    return _build(dataset, chosen, occurs, severities, onset, probability, "exact", None,
                  periods)


def sample_scenarios(dataset: Dataset, periods: list[int], samples: int, seed: int, *,
                     severity: str = "sampled",
                     events: tuple[str, ...] | list[str] | None = None) -> ScenarioSet:
    """Seeded Monte Carlo: same seed, same scenarios. Identical draws are merged."""
    if samples < 1:
        raise StrategyError(f"'scenarios.samples' must be at least 1, not {samples}")
    chosen = _select(dataset, events)
    rng = np.random.default_rng(seed)
    p = dataset["events"].set_index("event")["probability"].reindex(chosen).to_numpy()
    occurs = rng.random((samples, len(chosen))) < p[None, :]
    onset = rng.integers(0, len(periods), size=samples)
    effects = _effects(dataset, chosen)
    if severity == "sampled":
        low = effects["low"].fillna(effects["severity"]).to_numpy()
        high = effects["high"].fillna(effects["severity"]).to_numpy()
        severities = rng.uniform(low[None, :], high[None, :], size=(samples, len(effects)))
    else:
        severities = np.tile(effects["severity"].to_numpy(), (samples, 1))
    event_index = {e: i for i, e in enumerate(chosen)}
    effect_event = np.array([event_index[e] for e in effects["event"]], dtype=int)
    severities = np.where(occurs[:, effect_event], severities, 0.0)
    onset = np.where(occurs.any(axis=1), onset, len(periods))
    # Merge identical draws: same events, onset and severities are one scenario.
    keys = np.concatenate([occurs.astype(float), onset[:, None].astype(float), severities],
                          axis=1)
    _, first, counts = np.unique(keys, axis=0, return_index=True, return_counts=True)
    order = np.argsort(first)
    chosen_rows = first[order]
    return _build(dataset, chosen, occurs[chosen_rows], severities[chosen_rows],
                  onset[chosen_rows], counts[order] / samples, "sampled", seed, periods)


def single_event_scenarios(dataset: Dataset, periods: list[int], onset: int = 0
                           ) -> ScenarioSet:
    """One scenario per named event at its central severity, from period index `onset`
    (weights equal): the named stresses that the worst-stress metric replays."""
    chosen = event_names(dataset)
    occurs = np.eye(len(chosen), dtype=bool)
    effects = _effects(dataset, chosen)
    severities = np.tile(effects["severity"].to_numpy(), (len(chosen), 1))
    return _build(dataset, chosen, occurs, severities, np.full(len(chosen), onset),
                  np.full(len(chosen), 1.0 / max(len(chosen), 1)), "named", None, periods)


def named_scenario(dataset: Dataset, event: str, periods: list[int], onset: int = 0
                   ) -> ScenarioSet:
    """One named event at its central severity from period index `onset`."""
    chosen = _select(dataset, [event])
    effects = _effects(dataset, chosen)
    return _build(dataset, chosen, np.ones((1, 1), bool),
                  effects["severity"].to_numpy()[None, :], np.array([onset]), np.array([1.0]),
                  "named", None, periods)


def custom_scenario(dataset: Dataset, availability: dict[str, float], periods: list[int],
                    onset: int = 0, price_multiplier: float | None = None,
                    name: str = "custom") -> ScenarioSet:
    """One scenario from a user's availability per country (1 where not given)."""
    countries = list(dataset["countries"]["country"])
    for country, value in availability.items():
        if country not in countries:
            raise StrategyError(f"availability names unknown country '{country}'")
        if not 0.0 <= value <= 1.0:
            raise StrategyError(f"availability of {country} = {value} is outside [0, 1]")
    kept = np.array([[availability.get(c, 1.0) for c in countries]])
    multiplier = price_multiplier if price_multiplier is not None else \
        dataset.parameter("spot_price_multiplier")
    index = pd.RangeIndex(1, name="scenario")
    return ScenarioSet(
        names=[f"{name} from {periods[onset]}"],
        occurs=pd.DataFrame(np.ones((1, 1), bool), columns=[name], index=index),
        onset=np.array([onset]),
        probability=np.array([1.0]),
        availability=pd.DataFrame(kept, columns=countries, index=index),
        price_multiplier=np.array([max(multiplier, 1.0)]),
        method="custom",
    )
