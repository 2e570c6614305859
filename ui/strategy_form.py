"""The strategy form: one widget per setting of :class:`~stibium.model.Strategy`.

The form starts from the current strategy and, on submit, returns it with the form's values
(`Strategy.with_changes`, so the model validates every value and names the setting it
rejects). Empty number fields mean "not set" where the strategy allows it (no cap, the data's
demand, ...). Per-origin, per-hub, per-country and per-power limits are small tables.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from stibium.model import EXPOSURE_MODES, SCENARIO_MODES, SEVERITY_SAMPLING, Dataset, Strategy
from stibium.ui import state


def _optional(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _cap_table(names: list[str], caps: dict[str, float], label: str,
               excluded: tuple[str, ...] | None = None,
               countries: dict[str, str] | None = None) -> pd.DataFrame:
    """Rows for every name in the data and every name the strategy mentions."""
    extra = [n for n in [*caps, *(excluded or ())] if n not in names]
    rows = []
    for name in [*names, *dict.fromkeys(extra)]:
        row: dict[str, Any] = {label: name}
        if countries is not None:
            row["country"] = countries.get(name, "")
        row["cap"] = caps.get(name, math.nan)
        if excluded is not None:
            row["exclude"] = name in excluded
        rows.append(row)
    return pd.DataFrame(rows)


def _caps_from(frame: pd.DataFrame, label: str) -> dict[str, float]:
    caps = {}
    for name, cap in zip(frame[label], frame["cap"], strict=True):
        value = _optional(cap)
        if value is not None:
            caps[str(name)] = value
    return caps


def _excluded_from(frame: pd.DataFrame, label: str) -> tuple[str, ...]:
    return tuple(str(n) for n, flag in zip(frame[label], frame["exclude"], strict=True)
                 if bool(flag))


def _editor(frame: pd.DataFrame, key: str, label: str, help_text: str) -> pd.DataFrame:
    config: dict[str, Any] = {
        label: st.column_config.TextColumn(label, disabled=True),
        "country": st.column_config.TextColumn("country", disabled=True),
        "cap": st.column_config.NumberColumn("cap (share of demand)", help=help_text,
                                             format="%.3f"),
        "exclude": st.column_config.CheckboxColumn("exclude"),
    }
    return st.data_editor(frame, key=key, hide_index=True, num_rows="fixed",
                          column_config={k: v for k, v in config.items() if k in frame},
                          width="stretch")


def strategy_form(current: Strategy, data: Dataset) -> Strategy | None:
    """Render the form; on Run, the strategy it describes (None before a submit)."""
    periods = [int(p) for p in data.periods]
    origins = list(data["origins"]["origin"])
    hubs = list(data["hubs"]["hub"])
    powers = list(data["powers"]["power"])
    countries = list(data["countries"]["country"])
    events = list(data["events"]["event"])
    key = state.form_key
    with st.form(key("form"), border=True):
        top = st.columns([1, 2])
        name = top[0].text_input("Name", value=current.name, key=key("name"))
        description = top[1].text_input("Description", value=current.description,
                                        key=key("description"))
        tabs = st.tabs(["Demand & horizon", "Caps & exposure", "Risk budget & filters",
                        "Scenarios & CVaR", "Stockpile"])
        with tabs[0]:
            c = st.columns(4)
            first = c[0].selectbox("First year", periods, key=key("first_period"),
                                   index=periods.index(current.first_period)
                                   if current.first_period in periods else 0)
            last = c[1].selectbox("Last year", periods, key=key("last_period"),
                                  index=periods.index(current.last_period)
                                  if current.last_period in periods else len(periods) - 1)
            demand_t = c[2].number_input(
                "Demand (t/yr)", value=_optional(current.demand_t), step=500.0, format="%.0f",
                key=key("demand_t"), placeholder="data's demand",
                help="Buyer size in tonnes of contained Sb per year; empty: demand.csv.")
            demand_scale = c[3].number_input(
                "Demand scale", value=float(current.demand_scale), step=0.1, format="%.2f",
                key=key("demand_scale"), help="Multiplies the data's demand (when no t/yr set).")
            unmet_penalty = st.number_input(
                "Unmet-demand penalty ($/t)", value=_optional(current.unmet_penalty_usd_per_t),
                step=10000.0, format="%.0f", key=key("unmet_penalty"), placeholder="data's",
                help="Empty: the data's parameter.")
        with tabs[1]:
            mode = st.radio("Exposure mode", EXPOSURE_MODES, horizontal=True,
                            index=EXPOSURE_MODES.index(current.exposure_mode),
                            key=key("exposure_mode"),
                            help="naive: only flows mined or processed in a power count; "
                                 "dependency-aware: every flow counts with the share of it the "
                                 "power could stop (leverage matrix).")
            c = st.columns(3)
            origin_share = c[0].number_input(
                "Default origin share cap", value=_optional(current.origin_share_cap),
                step=0.01, format="%.3f", key=key("origin_share_cap"), placeholder="not set",
                help="Any one origin at most this share of demand (0.4 = 40%).")
            hub_share = c[1].number_input(
                "Default hub share cap", value=_optional(current.hub_share_cap), step=0.01,
                format="%.3f", key=key("hub_share_cap"), placeholder="not set")
            country_share = c[2].number_input(
                "Default country share cap", value=_optional(current.country_share_cap),
                step=0.01, format="%.3f", key=key("country_share_cap"), placeholder="not set",
                help="Any one country, mined or processed there.")
            st.caption("Per-name caps are shares of demand (0.3 = 30%); an empty cell is no cap.")
            c = st.columns(2)
            with c[0]:
                st.markdown("**Exposure caps per power**")
                power_table = _editor(_cap_table(powers, current.exposure_caps, "power"),
                                      key("exposure_caps"), "power",
                                      "Exposure to this power at most this share of demand.")
                st.markdown("**Caps per country**")
                country_table = _editor(_cap_table(countries, current.country_caps, "country"),
                                        key("country_caps"), "country",
                                        "Mined or processed in this country.")
            with c[1]:
                st.markdown("**Caps and exclusions per origin**")
                origin_table = _editor(
                    _cap_table(origins, current.origin_caps, "origin", current.excluded_origins,
                               data.country_of_origin()),
                    key("origin_caps"), "origin", "This origin at most this share of demand.")
                st.markdown("**Caps and exclusions per hub**")
                hub_table = _editor(
                    _cap_table(hubs, current.hub_caps, "hub", current.excluded_hubs,
                               data.country_of_hub()),
                    key("hub_caps"), "hub", "This hub at most this share of demand.")
        with tabs[2]:
            c = st.columns(4)
            risk_budget = c[0].number_input(
                "Risk budget", value=_optional(current.risk_budget), step=0.01, format="%.3f",
                key=key("risk_budget"), placeholder="not set",
                help="Demand-weighted average country risk score at most this (0 best, 1 worst).")
            risk_price = c[1].number_input(
                "Risk price ($/t per unit of score)", value=float(current.risk_price_usd_per_t),
                step=1000.0, format="%.0f", key=key("risk_price"))
            lead_time = c[2].number_input(
                "Max lead time (days)", value=_optional(current.max_lead_time_days), step=10.0,
                format="%.0f", key=key("max_lead_time"), placeholder="not set")
            distance = c[3].number_input(
                "Max geopolitical distance (0–10)",
                value=_optional(current.max_geopolitical_distance), step=0.5, format="%.1f",
                key=key("max_distance"), placeholder="not set",
                help="Exclude origins further than this from the buyer (0 ally, 10 adversary).")
        with tabs[3]:
            c = st.columns([2, 1, 1, 1])
            scenario_mode = c[0].radio("Scenario mode", SCENARIO_MODES, horizontal=True,
                                       index=SCENARIO_MODES.index(current.scenario_mode),
                                       key=key("scenario_mode"),
                                       help="none: one deterministic plan; exact: every "
                                            "combination of events; sampled: Monte Carlo.")
            samples = c[1].number_input("Samples", value=int(current.scenario_samples), step=100,
                                        key=key("samples"))
            seed = c[2].number_input("Seed", value=int(current.scenario_seed), step=1,
                                     key=key("seed"))
            severity = c[3].radio("Severity", SEVERITY_SAMPLING,
                                  index=SEVERITY_SAMPLING.index(current.severity_sampling),
                                  key=key("severity"))
            chosen_events = st.multiselect(
                "Events (empty: all)", events + [e for e in current.scenario_events
                                                 if e not in events],
                default=list(current.scenario_events), key=key("events"))
            c = st.columns(3)
            spot_limit = c[0].number_input(
                "Spot limit (share of demand a year)", value=_optional(current.spot_limit_share),
                step=0.05, format="%.2f", key=key("spot_limit"), placeholder="data's")
            beta = c[1].number_input("CVaR β", value=_optional(current.cvar_beta), step=0.01,
                                     format="%.2f", key=key("cvar_beta"), placeholder="data's",
                                     help="0.95 looks at the worst 5% of scenarios.")
            shortfall_limit = c[2].number_input(
                "CVaR shortfall limit (share of demand)",
                value=_optional(current.cvar_shortfall_limit), step=0.01, format="%.3f",
                key=key("cvar_shortfall_limit"), placeholder="not set")
            c = st.columns(3)
            shortfall_weight = c[0].number_input(
                "CVaR shortfall weight ($/t)", value=float(current.cvar_shortfall_weight_usd_per_t),
                step=10000.0, format="%.0f", key=key("cvar_shortfall_weight"))
            cost_limit = c[1].number_input(
                "CVaR cost limit ($)", value=_optional(current.cvar_cost_limit_usd), step=1e8,
                format="%.0f", key=key("cvar_cost_limit"), placeholder="not set")
            cost_weight = c[2].number_input(
                "CVaR cost weight", value=float(current.cvar_cost_weight), step=0.1,
                format="%.2f", key=key("cvar_cost_weight"))
        with tabs[4]:
            c = st.columns(2)
            target_days = c[0].number_input(
                "Stockpile target (days of cover)", value=float(current.stock_target_days),
                step=10.0, format="%.0f", key=key("stock_target_days"))
            initial_t = c[1].number_input(
                "Initial stock (t)", value=float(current.initial_stock_t), step=100.0,
                format="%.0f", key=key("initial_stock_t"))
        submitted = st.form_submit_button("Run", type="primary", icon=":material/play_arrow:")
    if not submitted:
        return None
    return current.with_changes(
        name=name.strip(), description=description, first_period=int(first),
        last_period=int(last), demand_t=_optional(demand_t), demand_scale=float(demand_scale),
        unmet_penalty_usd_per_t=_optional(unmet_penalty), exposure_mode=mode,
        origin_share_cap=_optional(origin_share), hub_share_cap=_optional(hub_share),
        country_share_cap=_optional(country_share),
        exposure_caps=_caps_from(power_table, "power"),
        country_caps=_caps_from(country_table, "country"),
        origin_caps=_caps_from(origin_table, "origin"),
        excluded_origins=_excluded_from(origin_table, "origin"),
        hub_caps=_caps_from(hub_table, "hub"), excluded_hubs=_excluded_from(hub_table, "hub"),
        risk_budget=_optional(risk_budget), risk_price_usd_per_t=float(risk_price),
        max_lead_time_days=_optional(lead_time), max_geopolitical_distance=_optional(distance),
        scenario_mode=scenario_mode, scenario_samples=int(samples), scenario_seed=int(seed),
        severity_sampling=severity, scenario_events=tuple(chosen_events),
        spot_limit_share=_optional(spot_limit), cvar_beta=_optional(beta),
        cvar_shortfall_limit=_optional(shortfall_limit),
        cvar_shortfall_weight_usd_per_t=float(shortfall_weight),
        cvar_cost_limit_usd=_optional(cost_limit), cvar_cost_weight=float(cost_weight),
        stock_target_days=float(target_days), initial_stock_t=float(initial_t))
