"""Stress-test page: replay the current strategy's plan (or a hand-typed plan CSV) against a
named event, every event, or an availability per country; before/after per year and the
first limit that breaks."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from stibium.model import StressResult
from stibium.ui import charts, common, compute, fmt, state

CURRENT_PLAN, UPLOADED_PLAN = "The current strategy's optimal plan", "A plan CSV I upload"
NAMED, CUSTOM = "A named event", "Availability per country"


def horizon(periods: list[int], first: int | None, last: int | None) -> list[int]:
    low = first if first is not None else periods[0]
    high = last if last is not None else periods[-1]
    return [p for p in periods if low <= p <= high]


def summary(results: list[StressResult]) -> pd.DataFrame:
    rows = []
    for result in results:
        t = result.totals
        rows.append({"stress": result.stress,
                     "surviving supply": fmt.percent(t["surviving_share"]),
                     "shortfall": fmt.tonnes(t["shortfall_t"]),
                     "spot bought": fmt.tonnes(t["spot_t"]),
                     "stock drawn": fmt.tonnes(t["stock_draw_t"]),
                     "cost uplift": fmt.money(t["cost_uplift_usd"]),
                     "first to break": result.first_break["text"]})
    return pd.DataFrame(rows)


def detail(result: StressResult) -> None:
    t = result.totals
    c = st.columns(5)
    c[0].metric("Surviving supply", fmt.tonnes(t["surviving_t"]),
                help=f"of {fmt.tonnes(t['planned_delivered_t'])} planned "
                     f"({fmt.percent(t['surviving_share'])})")
    c[1].metric("Stock drawn", fmt.tonnes(t["stock_draw_t"]))
    c[2].metric("Spot bought", fmt.tonnes(t["spot_t"]))
    c[3].metric("Shortfall", fmt.tonnes(t["shortfall_t"]))
    c[4].metric("Cost uplift", fmt.money(t["cost_uplift_usd"]),
                help=f"{fmt.percent(t['cost_uplift_share'])} of the plan's cost")
    limit = result.first_break.get("limit")
    message = f"First to break: {result.first_break['text']}"
    if limit is None:
        st.success(message, icon=":material/check_circle:")
    else:  # a warning, not an error: errors are reserved for bad input
        st.warning(message, icon=":material/error:" if limit == "demand" else
                   ":material/warning:")
    left, right = st.columns([3, 2])
    with left:
        charts.show(charts.stress_years(result.by_period), key=f"w_stress_{result.stress}")
    with right:
        st.dataframe(result.by_period.set_index("period").style.format("{:,.0f}"),
                     width="stretch")
        hit = result.availability[result.availability < 1.0]
        if len(hit):
            st.caption("Supply surviving per country: " + ", ".join(
                f"{country} {fmt.percent(value, 0)}" for country, value in hit.items()))


def render() -> None:
    common.show_flash()
    st.title("Stress test")
    strategy = state.strategy()
    data = common.current_dataset()
    years = horizon([int(p) for p in data.periods], strategy.first_period, strategy.last_period)
    events = list(data["events"]["event"])
    countries = list(data["countries"]["country"])
    st.caption(f"Replays a plan against a disruption: the buyer draws on its stockpile, buys "
               f"spot up to its limit, and is short for the rest. The plan is the optimum of "
               f"the current strategy **{strategy.name}**, or one you upload.")
    with st.form("w_stress_form"):
        c = st.columns(2)
        plan_source = c[0].radio("Plan", [CURRENT_PLAN, UPLOADED_PLAN])
        plan_file = c[1].file_uploader("Plan CSV: origin, hub, market, period, tonnes "
                                       "[, transit]", type=["csv"])
        c = st.columns(3)
        kind = c[0].radio("Stress", [NAMED, CUSTOM])
        event = c[1].selectbox("Event", ["all", *events])
        onset = c[2].selectbox("Onset year", years)
        with st.expander("Availability per country (for a custom stress)"):
            st.caption("The fraction of each country's supply, processing and transit that "
                       "survives (1 = untouched).")
            grid = st.columns(4)
            availability = {country: grid[i % 4].slider(country, 0.0, 1.0, 1.0, 0.05,
                                                        key=state.availability_key(country))
                            for i, country in enumerate(countries)}
            multiplier = st.number_input("Spot price multiplier", value=None, step=0.1,
                                         format="%.2f", placeholder="data's")
        submitted = st.form_submit_button("Run stress test", type="primary",
                                          icon=":material/bolt:")
    if submitted:
        with common.input_errors():
            plan_csv = None
            if plan_source == UPLOADED_PLAN:
                if plan_file is None:
                    st.warning("Upload a plan CSV first, or stress the current plan.")
                    return
                plan_csv = plan_file.getvalue()
                compute.check_upload(plan_file.name, plan_csv)
            chosen = None
            if kind == CUSTOM:
                chosen = tuple(sorted((c, float(v)) for c, v in availability.items() if v < 1))
            data_dir, overrides = state.data_key()
            with st.spinner("Replaying the plan…"):
                results = compute.run_stress(
                    data_dir, overrides, st.session_state[state.STRATEGY_TOML], plan_csv,
                    tuple(events) if event == "all" else (event,), chosen, int(onset),
                    float(multiplier) if multiplier is not None else None)
            plan_label = plan_file.name if plan_csv is not None else f"'{strategy.name}' plan"
            st.session_state[state.STRESS] = {"plan": plan_label, "results": results}
    stored = st.session_state[state.STRESS]
    if stored is None:
        return
    results = stored["results"]
    st.subheader(f"The {stored['plan']} under stress")
    if len(results) > 1:
        st.dataframe(summary(results), hide_index=True, width="stretch")
        totals = pd.DataFrame([{"stress": r.stress, **r.totals} for r in results])
        charts.show(charts.grouped_bars(
            totals, "stress", {"shortfall": "shortfall_t", "spot bought": "spot_t",
                               "stock drawn": "stock_draw_t"}, "tonnes over the horizon"),
            key="w_stress_all")
        for result in results:
            with st.expander(result.stress):
                detail(result)
    else:
        st.markdown(f"**{results[0].stress}**")
        detail(results[0])


common.guarded(render)
