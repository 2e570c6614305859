"""The leverage matrix L[p, c]: how much of country c's antimony supply power p could stop.

The rule, documented in `data/README.md` and editable through the data:

    L[p, c] = 1 − Π_channels (1 − weight_channel · indicator[p, c, channel]),   L[p, p] = 1

Each channel (ownership, processing, debt, trade, remittances, military) is an independent
lever; the product is the chance that no lever works, so L is the chance that at least one does.
It stays in [0, 1], grows with every indicator and needs no renormalisation when a channel is
added.

A flow crosses several countries (origin, processing hub, transit); power p can stop it if it
controls any of them, so the flow's dependency-aware weight combines them by the same rule:

    w[p, flow] = 1 − Π_{c on the flow} (1 − L[p, c])
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from .data import Dataset


def leverage_matrix(dataset: Dataset) -> pd.DataFrame:
    """L as a DataFrame: one row per power, one column per country."""
    powers = list(dataset["powers"]["power"])
    countries = list(dataset["countries"]["country"])
    weights = dict(zip(dataset["leverage_channels"]["channel"],
                       dataset["leverage_channels"]["weight"], strict=True))
    untouched = pd.DataFrame(1.0, index=powers, columns=countries)
    for row in dataset["leverage_evidence"].itertuples(index=False):
        untouched.loc[row.power, row.country] *= 1.0 - weights[row.channel] * row.indicator
    matrix = 1.0 - untouched
    for power in powers:
        matrix.loc[power, power] = 1.0
    matrix.index.name = "power"
    matrix.columns.name = "country"
    return matrix


def leverage_evidence_table(dataset: Dataset) -> pd.DataFrame:
    """The evidence behind every entry, with each channel's contribution, for display."""
    evidence = dataset["leverage_evidence"].copy()
    weights = dict(zip(dataset["leverage_channels"]["channel"],
                       dataset["leverage_channels"]["weight"], strict=True))
    evidence["weight"] = evidence["channel"].map(weights)
    evidence["contribution"] = evidence["weight"] * evidence["indicator"]
    return evidence


def combined_weight(leverage_row: pd.Series, countries: Iterable[str]) -> float:
    """Dependency-aware weight of a flow crossing `countries` for one power."""
    # Each country once, in the order given: a set's order changes with Python's per-process
    # string hashing, and with it the product's last bits (results must repeat across
    # processes, e.g. parallel workers).
    untouched = np.prod([1.0 - float(leverage_row.get(c, 0.0))
                         for c in dict.fromkeys(countries)])
    return float(1.0 - untouched)
