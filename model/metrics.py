"""Risk and concentration metrics of a plan, computed from the plan and the instance alone.

These functions never look at the solver: they take the plan table (route, period, tonnes
delivered) so that the same numbers can be computed for a plan typed in by hand.

Definitions
-----------
- Supply share of an origin: tonnes delivered from it / tonnes delivered in all.
- Naive HHI (0–10,000): Σ over origin countries of (100 · share)².
- Effective HHI: the same sum after re-attributing each flow to the powers that control it.
  A flow with dependency-aware weights w_p (see `leverage.py`) is controlled by some power with
  weight u = 1 − Π_p (1 − w_p); that part is split among the powers in proportion to w_p, the
  rest (1 − u) stays with the origin country.
- Exposure of a power, naive or effective: Σ w[p, r] · delivered_r / Σ demand, with the
  naive or the dependency-aware weights. ``peak`` is the largest single-period ratio, which is
  what a per-period cap limits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .instance import Instance


def _route_column(plan: pd.DataFrame, instance: Instance, column: str) -> np.ndarray:
    """A route attribute for each plan row."""
    positions = instance.route_positions(plan["route"])
    return instance.routes[column].to_numpy()[positions]


def origin_shares(plan: pd.DataFrame, instance: Instance) -> pd.DataFrame:
    """Tonnes delivered and supply share by origin; share of demand alongside."""
    total_demand = float(instance.demand.to_numpy().sum())
    by_origin = _sum_by(plan["origin"].to_numpy(dtype=object),
                        plan["delivered_t"].to_numpy(dtype=float))
    by_origin = by_origin[by_origin > 0].sort_values(ascending=False, kind="stable")
    delivered = float(by_origin.sum())
    return pd.DataFrame({
        "origin": by_origin.index,
        "country": [instance.origin_country[o] for o in by_origin.index],
        "delivered_t": by_origin.to_numpy(),
        "supply_share": by_origin.to_numpy() / delivered if delivered > 0 else 0.0,
        "demand_share": by_origin.to_numpy() / total_demand if total_demand > 0 else 0.0,
    }).reset_index(drop=True)


def _sum_by(keys: np.ndarray, values: np.ndarray) -> pd.Series:
    """Σ values per key, keys in sorted order (what ``groupby(...).sum()`` gives, without
    its fixed cost on a few dozen rows)."""
    if len(keys) == 0:
        return pd.Series(dtype=float)
    unique, inverse = np.unique(keys, return_inverse=True)
    return pd.Series(np.bincount(inverse, weights=values, minlength=len(unique)),
                     index=pd.Index(unique.tolist()), dtype=float)


def _origin_countries(plan: pd.DataFrame, instance: Instance) -> np.ndarray:
    return np.array([instance.origin_country[o] for o in plan["origin"]], dtype=object)


def naive_hhi(plan: pd.DataFrame, instance: Instance) -> float:
    return _hhi(_sum_by(_origin_countries(plan, instance),
                        plan["delivered_t"].to_numpy(dtype=float)))


def effective_attribution(plan: pd.DataFrame, instance: Instance) -> pd.Series:
    """Tonnes delivered attributed to each controlling power or, failing that, origin country."""
    plan = plan[plan["delivered_t"] > 0]
    tonnes = plan["delivered_t"].to_numpy(dtype=float)
    w = instance.exposure_weight_array("dependency-aware")[
        instance.route_positions(plan["route"])]  # flow × power
    controlled = 1.0 - np.prod(1.0 - w, axis=1)
    total_w = w.sum(axis=1)
    split = np.divide(w, total_w[:, None], out=np.zeros_like(w), where=total_w[:, None] > 0)
    attributed: dict[str, float] = {}
    if (total_w > 0).any():
        by_power = ((tonnes * controlled)[:, None] * split).sum(axis=0)
        attributed.update(zip(instance.powers, by_power.tolist(), strict=True))
    kept = _sum_by(_origin_countries(plan, instance), tonnes * (1.0 - controlled))
    for country, value in kept.items():
        attributed[country] = attributed.get(country, 0.0) + float(value)
    return pd.Series(attributed, dtype=float).sort_values(ascending=False)


def effective_hhi(plan: pd.DataFrame, instance: Instance) -> float:
    return _hhi(effective_attribution(plan, instance))


def _hhi(tonnes: pd.Series) -> float:
    total = float(tonnes.sum())
    if total <= 0:
        return 0.0
    return float(((100.0 * tonnes / total) ** 2).sum())


def exposure_table(plan: pd.DataFrame, instance: Instance) -> pd.DataFrame:
    """Naive and effective exposure per power, over the horizon and at the peak period."""
    demand_by_period = instance.demand.sum(axis=0)
    periods = list(demand_by_period.index)
    demand = demand_by_period.to_numpy(dtype=float)
    total_demand = float(demand.sum())
    # Delivered tonnes as period × route, so that each mode's exposure per power and period
    # is one matrix product with the route × power weights.
    routes = list(instance.routes.index)
    delivered = np.zeros((len(periods), len(routes)))
    if len(plan):
        np.add.at(delivered, (pd.Index(periods).get_indexer(plan["period"]),
                              instance.route_positions(plan["route"])),
                  plan["delivered_t"].to_numpy(dtype=float))
    table = pd.DataFrame({"power": list(instance.powers),
                          "cap": [instance.exposure_caps.get(p, np.nan)
                                  for p in instance.powers]})
    with np.errstate(divide="ignore", invalid="ignore"):
        for label, mode in (("naive", "naive"), ("effective", "dependency-aware")):
            exposed = delivered @ instance.exposure_weight_array(mode)
            table[label] = (exposed.sum(axis=0) / total_demand if total_demand > 0
                            else np.zeros(len(instance.powers)))
            ratio = np.where(demand[:, None] > 0, exposed / demand[:, None], np.nan)
            has_ratio = ~np.isnan(ratio).all(axis=0)
            table[f"{label}_peak"] = np.where(has_ratio, np.nanmax(
                np.where(np.isnan(ratio), -np.inf, ratio), axis=0), 0.0)
    return table[["power", "cap", "naive", "effective", "naive_peak", "effective_peak"]]


def average_risk(plan: pd.DataFrame, instance: Instance) -> float:
    """Delivery-weighted average route risk score (0 best, 1 worst)."""
    delivered = float(plan["delivered_t"].sum())
    if delivered <= 0:
        return 0.0
    risk = _route_column(plan, instance, "risk_score").astype(float)
    return float(risk @ plan["delivered_t"].to_numpy(dtype=float) / delivered)


def average_lead_time(plan: pd.DataFrame, instance: Instance) -> float:
    delivered = float(plan["delivered_t"].sum())
    if delivered <= 0:
        return 0.0
    lead = _route_column(plan, instance, "lead_time_days").astype(float)
    return float(lead @ plan["delivered_t"].to_numpy(dtype=float) / delivered)
