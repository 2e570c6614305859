"""Criticality panel: textbook supply-risk indicators of a plan and of world mine production.

Three indicators are computed for two *bases*:

- ``plan``: the plan's own sourcing. The share of a country is the tonnes the plan delivers
  from origins in that country over all periods, divided by all tonnes delivered
  (``SolveResult.plan`` columns ``origin`` and ``delivered_t``; origin → country from
  ``origins.csv``). Every origin counts, the secondary origin ``EU recycling`` (Belgium)
  included, so the plan-basis HHI equals ``SolveResult.metrics["naive_hhi"]``. Unmet demand is
  not supply and has no share.
- ``world production``: the 2025 mine production of ``origins.csv`` (``production_2025_t``)
  by country, for contrast. Only *mine* origins count: an origin is a mine origin when its name
  is its country's name (the convention of ``origins.csv``). The secondary origin
  ``EU recycling`` is left out because USGS world mine production excludes secondary output
  and mixing the two would hand Belgium a mine share it does not have. Shares are taken over
  the sum of the listed producers (110,720 t), not over USGS's rounded world total (110,000 t),
  so that they add up to 1; the HHI is therefore a little below the brief's derived 2,616.

Indicators (shares ``s_c`` are fractions in [0, 1] unless stated):

1. **HHI** (Herfindahl–Hirschman index, 0–10,000)::

       HHI = Σ_c (100 · s_c)²

2. **HHI_WGI,t**, the governance- and trade-weighted concentration of the EU criticality
   method (European Commission, "Methodology for establishing the EU list of critical raw
   materials", 2017; background: Blengini et al. 2017, JRC EUR 28654)::

       HHI_WGI,t = Σ_c s_c² · WGI_c · t_c          (0–10 for t = 1)

   ``WGI_c`` is the EU method's scaled World Governance Indicator, 0 (best) – 10 (worst). Our
   ``countries.csv`` holds ``wgi_norm`` in [0, 1] with 1 = best (the mean of the six WGI
   estimates rescaled from [−2.5, 2.5]), so ``WGI_c = 10 · (1 − wgi_norm_c)``, which is the
   EU's ``2 · (2.5 − WGI estimate)``. ``t_c`` is the trade-restriction factor of
   ``trade_restrictions.csv`` (1 = no export restriction). The EU method's 0.8 for suppliers
   with an EU trade agreement is not represented (the data keep t in [1, 2]).

   *What is and is not implemented.* The EU supply risk is
   ``SR = [(HHI_WGI,t)_GS · IR/2 + (HHI_WGI,t)_EU · (1 − IR/2)] · (1 − EoL_RIR) · SI_SR``,
   with GS = global supply, EU = actual EU sourcing, IR = import reliance, EoL_RIR = end-of-life
   recycling input rate and SI_SR = substitution index. Only the concentration term is
   implemented: the ``world production`` basis is the analogue of (HHI_WGI,t)_GS and the
   ``plan`` basis the analogue of (HHI_WGI,t)_EU for this buyer. IR, EoL_RIR and SI_SR are not
   in the dataset, so no SR is computed; the brief's EU SR for antimony (4.3 in 2017, 2.0 in
   2020, CRM20) is not comparable with these numbers. The EU method also assesses the
   bottleneck stage (mining or refining); here shares are by *origin* (mine) country only.

3. **GeoPolRisk** (Gemechu et al. 2016, "Import-based indicator for the geopolitical supply
   risk of raw materials in life cycle sustainability assessments", J. Ind. Ecol.;
   Santillán-Saldivar et al. 2021/2022, GeoPolRisk midpoint characterisation)::

       GeoPolRisk = (HHI_world / 10,000) · Σ_c s_c · g_c           (0–1)

   ``HHI_world`` is the world mine-production HHI (the same for both bases), ``s_c`` the
   buyer's import share from c (``plan``: the plan's shares; ``world production``: the world
   production shares, i.e. a buyer who sources like the world market) and ``g_c = 1 − wgi_norm_c``
   the governance risk of c in [0, 1]. Alternatives for ``g`` (not implemented): the WGI
   Political Stability sub-index (PV.EST) used in the GeoPolRisk papers (not in the brief),
   or the geopolitical distance of ``geopolitical_distance.csv`` divided by 10. Departures
   from the papers: every delivered tonne counts as an import, including the buyer's own
   (Belgian) recycling, which the papers would treat as risk-free domestic production; and
   the papers' denominator (domestic production + imports) becomes total delivered tonnes.

Every indicator has an inputs table (:func:`criticality_inputs`) whose ``contribution``
column adds up to the indicator's value, so a UI can show "formula and inputs".
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .data import Dataset

INDICATORS: tuple[str, ...] = ("HHI", "HHI_WGI,t", "GeoPolRisk")
BASES: tuple[str, ...] = ("plan", "world production")

FORMULAS: dict[str, str] = {
    "HHI": "HHI = Σ_c (100 · s_c)², s_c = supply share of country c (scale 0–10,000)",
    "HHI_WGI,t": ("HHI_WGI,t = Σ_c s_c² · WGI_c · t_c, WGI_c = 10 · (1 − wgi_norm_c) "
                  "(0 best – 10 worst), t_c = trade-restriction factor (1 = none); "
                  "EU CRM methodology 2017, concentration term only (scale 0–10 at t = 1)"),
    "GeoPolRisk": ("GeoPolRisk = (HHI_world / 10,000) · Σ_c s_c · g_c, g_c = 1 − wgi_norm_c, "
                   "HHI_world = world 2025 mine-production HHI; Gemechu et al. 2016 "
                   "(scale 0–1)"),
}

SHARE_OF: dict[str, str] = {
    "plan": "s_c = the plan's delivered tonnes from country c / all delivered tonnes",
    "world production": ("s_c = country c's 2025 mine production / the sum of listed mine "
                         "production (secondary origins excluded)"),
}

INPUT_COLUMNS: list[str] = ["country", "tonnes", "share", "wgi_norm", "wgi_scaled", "g", "t",
                            "contribution"]


def plan_tonnes(result: Any, dataset: Dataset) -> pd.Series:
    """Tonnes delivered by origin country over the whole plan (countries with 0 t dropped)."""
    plan = result.plan
    if plan is None or plan.empty:
        return pd.Series(dtype=float, name="tonnes")
    country = plan["origin"].map(dataset.country_of_origin())
    if country.isna().any():
        unknown = sorted(set(plan.loc[country.isna(), "origin"]))
        raise KeyError(f"plan origin {unknown[0]!r} is not in origins.csv")
    tonnes = plan["delivered_t"].astype(float).groupby(country).sum()
    return _positive(tonnes)


def world_tonnes(dataset: Dataset) -> pd.Series:
    """2025 mine production by country; secondary origins (name ≠ country) are left out."""
    origins = dataset["origins"]
    mine = origins[origins["origin"] == origins["country"]]
    tonnes = mine["production_2025_t"].astype(float).groupby(mine["country"]).sum()
    return _positive(tonnes)


def criticality_inputs(result: Any, dataset: Dataset, indicator: str,
                       basis: str) -> pd.DataFrame:
    """The inputs of one indicator on one basis, one row per country, largest share first.

    Columns: ``country``, ``tonnes``, ``share`` (fraction), ``wgi_norm`` (0–1, 1 = best),
    ``wgi_scaled`` (EU scale, 10 · (1 − wgi_norm)), ``g`` (1 − wgi_norm), ``t`` (trade-restriction
    factor) and ``contribution``, the country's term of the indicator; contributions add up to
    the value :func:`criticality_panel` reports. ``result`` is only read for the plan basis
    (anything with a ``plan`` frame will do).
    """
    _check(indicator, basis)
    tonnes = plan_tonnes(result, dataset) if basis == "plan" else world_tonnes(dataset)
    frame = _country_frame(tonnes, dataset)
    share = frame["share"]
    if indicator == "HHI":
        frame["contribution"] = (100.0 * share) ** 2
    elif indicator == "HHI_WGI,t":
        frame["contribution"] = share ** 2 * frame["wgi_scaled"] * frame["t"]
    else:
        world = _country_frame(world_tonnes(dataset), dataset)
        hhi_world = float((world["share"] ** 2).sum())
        frame["contribution"] = hhi_world * share * frame["g"]
    return frame[INPUT_COLUMNS].reset_index(drop=True)


def criticality_panel(result: Any, dataset: Dataset) -> pd.DataFrame:
    """One row per indicator × basis: ``indicator``, ``basis``, ``value``, ``formula``.

    ``formula`` states the indicator's formula, its scale and what ``s_c`` means on that basis.
    """
    rows = []
    for indicator in INDICATORS:
        for basis in BASES:
            inputs = criticality_inputs(result, dataset, indicator, basis)
            rows.append({
                "indicator": indicator,
                "basis": basis,
                "value": float(inputs["contribution"].sum()),
                "formula": f"{FORMULAS[indicator]}; {SHARE_OF[basis]}",
            })
    return pd.DataFrame(rows, columns=["indicator", "basis", "value", "formula"])


def _check(indicator: str, basis: str) -> None:
    if indicator not in INDICATORS:
        raise ValueError(f"unknown indicator {indicator!r} (choose from {', '.join(INDICATORS)})")
    if basis not in BASES:
        raise ValueError(f"unknown basis {basis!r} (choose from {', '.join(BASES)})")


def _positive(tonnes: pd.Series) -> pd.Series:
    tonnes = tonnes[tonnes > 0]
    tonnes.name = "tonnes"
    tonnes.index.name = "country"
    return tonnes


_COUNTRY_INPUTS: dict[str, tuple[pd.Series, pd.Series]] = {}


def _country_inputs(dataset: Dataset) -> tuple[pd.Series, pd.Series]:
    """wgi_norm and the trade-restriction factor by country, read once per dataset (the
    panel needs them eight times per plan)."""
    cached = _COUNTRY_INPUTS.get(dataset.fingerprint) if dataset.fingerprint else None
    if cached is None:
        cached = (dataset["countries"].set_index("country")["wgi_norm"].astype(float),
                  dataset["trade_restrictions"].set_index("country")["restriction_factor"]
                  .astype(float))
        if dataset.fingerprint:  # a dataset built by hand has none: never cached
            if len(_COUNTRY_INPUTS) > 64:
                _COUNTRY_INPUTS.clear()
            _COUNTRY_INPUTS[dataset.fingerprint] = cached
    return cached


def _country_frame(tonnes: pd.Series, dataset: Dataset) -> pd.DataFrame:
    """Shares and the per-country risk inputs, sorted by share (then name)."""
    total = float(tonnes.sum())
    wgi, t = _country_inputs(dataset)
    missing = [c for c in tonnes.index if c not in wgi.index or c not in t.index]
    if missing:
        raise KeyError(f"country {missing[0]!r} has no wgi_norm (countries.csv) or no "
                       f"restriction_factor (trade_restrictions.csv)")
    frame = pd.DataFrame({
        "country": [str(c) for c in tonnes.index],
        "tonnes": tonnes.to_numpy(dtype=float),
    }, columns=["country", "tonnes"])
    frame["share"] = frame["tonnes"] / total if total > 0 else 0.0
    frame["wgi_norm"] = frame["country"].map(wgi).astype(float)
    frame["wgi_scaled"] = 10.0 * (1.0 - frame["wgi_norm"])
    frame["g"] = 1.0 - frame["wgi_norm"]
    frame["t"] = frame["country"].map(t).astype(float)
    return frame.sort_values(["share", "country"], ascending=[False, True]) \
        .reset_index(drop=True)
