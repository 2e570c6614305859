"""Solution page: the current run's KPIs, plan, map, flows, costs, exposure, shadow prices,
criticality indicators, disruption risk, the data behind the plan, and its downloads."""

from __future__ import annotations

import functools

import pandas as pd
import streamlit as st

from stibium.model import RunStore, SolveResult, criticality_inputs, escape_frame
from stibium.ui import charts, common, compute, data_tables, fmt, state


def _delta(current: SolveResult, previous: SolveResult | None, key: str) -> float | None:
    if previous is None or not previous.is_optimal:
        return None
    if key == "total_cost":
        return current.total_cost - previous.total_cost
    if key in current.metrics and key in previous.metrics:
        return current.metrics[key] - previous.metrics[key]
    return None


def kpis(result: SolveResult, previous: SolveResult | None) -> None:
    """The headline numbers, with the change since the previous run."""
    m = result.metrics
    beta = m.get("cvar_beta")
    items = [
        ("Total cost", fmt.money(result.total_cost),
         fmt.money_delta(_delta(result, previous, "total_cost")),
         "What the plan costs over the horizon, unmet demand at its penalty."),
        ("Cost per tonne", fmt.per_tonne(m["cost_per_t"]),
         fmt.per_tonne_delta(_delta(result, previous, "cost_per_t")),
         "Total cost over total demand."),
        ("Unmet demand", fmt.tonnes(m["unmet_t"]),
         fmt.tonnes_delta(_delta(result, previous, "unmet_t")),
         "Demand left unserved over the horizon (penalised)."),
        ("Naive HHI", fmt.index(m["naive_hhi"]),
         fmt.index_delta(_delta(result, previous, "naive_hhi")),
         "Concentration by origin country, 0–10,000."),
        ("Effective HHI", fmt.index(m["effective_hhi"]),
         fmt.index_delta(_delta(result, previous, "effective_hhi")),
         "Concentration after attributing flows to the powers that control them."),
        ("Expected shortfall", fmt.tonnes(m.get("expected_shortfall_t")),
         fmt.tonnes_delta(_delta(result, previous, "expected_shortfall_t")),
         "Mean shortfall over the disruption scenarios."),
        ("CVaR of shortfall", fmt.tonnes(m.get("cvar_shortfall_t")),
         fmt.tonnes_delta(_delta(result, previous, "cvar_shortfall_t")),
         "Mean shortfall in the worst (1 − β) of scenarios"
         + (f", β = {beta:.2f}." if beta is not None else ".")),
    ]
    columns = [*st.columns(4), *st.columns(4)]
    for column, (label, value, delta, help_text) in zip(columns, items, strict=False):
        column.metric(label, value, delta=delta, delta_color="inverse", help=help_text,
                      border=True)


def plan_section(result: SolveResult) -> None:
    st.subheader("Plan")
    plan = result.plan
    if plan.empty:
        st.info("The plan buys nothing: all demand is unmet.")
        return
    pivot = plan.pivot_table(index="route", columns="period", values="tonnes", aggfunc="sum",
                             fill_value=0.0)
    pivot["total"] = pivot.sum(axis=1)
    pivot = pivot.sort_values("total", ascending=False)
    pivot.columns = [str(c) for c in pivot.columns]
    st.caption("Tonnes of contained Sb bought per route and year.")
    st.dataframe(pivot.style.format("{:,.0f}"), width="stretch")
    yearly = result.unmet.merge(result.stock, on=["market", "period"], how="outer")
    with st.expander("Every plan row, unmet demand and stock per year"):
        st.dataframe(data_tables.for_display(plan), hide_index=True, width="stretch")
        st.dataframe(yearly, hide_index=True, width="stretch")


def map_and_flows(result: SolveResult, run: state.Run) -> None:
    if result.plan.empty:
        return
    data = common.run_dataset(run)
    st.subheader("Where the antimony comes from")
    left, right = st.columns([5, 2])
    with left:
        charts.show(charts.sourcing_map(result.shares, data["countries"]), key="w_map")
    with right:
        shares = pd.DataFrame({"origin": result.shares["origin"],
                               "delivered": result.shares["delivered_t"].map(fmt.tonnes),
                               "of demand": result.shares["demand_share"].map(fmt.percent)})
        st.dataframe(shares, hide_index=True, width="stretch", height=440)
    st.subheader("Cost breakdown")
    charts.show(charts.cost_breakdown(result.cost_breakdown), key="w_costs")
    st.subheader("Flows: origin → processing hub → market")
    charts.show(charts.flow_sankey(result.plan), key="w_sankey")


def exposure_section(result: SolveResult) -> None:
    st.subheader("Exposure per power")
    st.caption("Share of demand a power could stop, in the peak year (what a per-year cap "
               "limits). Naive counts only flows mined or processed in the power; effective "
               "counts every flow with the power's leverage over each country it crosses.")
    charts.show(charts.exposure_bars(result.exposure), key="w_exposure")
    exposure = result.exposure
    table = pd.DataFrame({
        "power": exposure["power"],
        "cap": [("no cap" if not charts.finite(v) else fmt.percent(v))
                for v in exposure["cap"]],
        "naive (horizon)": exposure["naive"].map(fmt.percent),
        "effective (horizon)": exposure["effective"].map(fmt.percent),
        "naive (peak year)": exposure["naive_peak"].map(fmt.percent),
        "effective (peak year)": exposure["effective_peak"].map(fmt.percent),
    })
    st.dataframe(table, hide_index=True, width="stretch")


def duals_section(result: SolveResult) -> None:
    st.subheader("Binding limits and their shadow prices")
    duals = result.duals
    if duals.empty:
        st.caption("No limit binds: relaxing any of them would not lower the cost.")
        return
    ranked = duals.reindex(duals["value"].abs().sort_values(ascending=False).index)
    lines = []
    for row in ranked.head(10).itertuples(index=False):
        meaning = row.meaning[:1].upper() + row.meaning[1:]
        if row.constraint == "demand_balance":
            lines.append(f"- **{meaning}** costs {fmt.dollars(row.value)} ({row.unit}).")
        elif row.value >= 0:
            lines.append(f"- **{meaning}** would save {fmt.dollars(row.value)} "
                         f"({row.unit}).")
        else:
            lines.append(f"- **{meaning}** would cost {fmt.dollars(-row.value)} more "
                         f"({row.unit}).")
    st.markdown(fmt.md("\n".join(lines)))
    with st.expander(f"All {len(duals)} binding limits"):
        st.dataframe(ranked[["meaning", "value", "unit", "constraint", "index"]]
                     .style.format({"value": "{:,.0f}"}), hide_index=True, width="stretch")


def criticality_section(result: SolveResult, run: state.Run) -> None:
    st.subheader("Criticality indicators")
    panel = result.criticality
    if panel.empty:
        st.caption("Not computed for this run.")
        return
    data = common.run_dataset(run)
    columns = st.columns(panel["indicator"].nunique())
    for column, (indicator, rows) in zip(columns, panel.groupby("indicator", sort=False),
                                         strict=True):
        values = rows.set_index("basis")["value"]
        digits = 0 if indicator == "HHI" else 3
        with column:
            st.metric(f"{indicator} (plan)", fmt.number(values.get("plan"), digits),
                      help=rows.iloc[0]["formula"])
            st.caption(f"World production: {fmt.number(values.get('world production'), digits)}")
            with st.expander(f"Formula and inputs of {indicator}"):
                for row in rows.itertuples(index=False):
                    st.markdown(f"**{row.basis}** — `{row.formula}`")
                    inputs = criticality_inputs(result, data, indicator, row.basis)
                    st.dataframe(inputs, hide_index=True, width="stretch")


def risk_section(result: SolveResult) -> None:
    m = result.metrics
    if "expected_shortfall_t" not in m:
        return
    st.subheader("Disruption risk")
    st.caption(f"The plan replayed on {m.get('scenario_count', 0):,.0f} disruption scenarios "
               f"(β = {m.get('cvar_beta', float('nan')):.2f}).")
    c = st.columns(5)
    c[0].metric("VaR of shortfall", fmt.tonnes(m.get("var_shortfall_t")))
    c[1].metric("Expected cost", fmt.money(m.get("expected_total_cost")))
    c[2].metric("CVaR of cost", fmt.money(m.get("cvar_cost")))
    c[3].metric("Stockpile cover", f"{m.get('stock_days_of_cover', 0):,.0f} days")
    c[4].metric("Value of one more tonne of stock",
                fmt.dollars(m.get("stock_marginal_value_usd_per_t")))
    if len(result.stress):
        st.markdown("**Each named event alone, from the first year**")
        stress = result.stress
        formats = {c: ("{:.2f}" if c == "price_multiplier" else
                       "${:,.0f}" if c.endswith("_usd") else "{:,.0f}")
                   for c in stress.columns
                   if c not in ("event", "onset") and pd.api.types.is_numeric_dtype(stress[c])}
        st.dataframe(stress.style.format(formats), hide_index=True, width="stretch")


def provenance_section(result: SolveResult, run: state.Run) -> None:
    st.subheader("The data behind this plan")
    rows = data_tables.provenance_of_plan(common.run_dataset(run), result.plan)
    if rows.empty:
        return
    estimates = int((rows["is_estimate"] == 1).sum())
    st.caption(f"{len(rows)} data rows drive this plan (the origins, hubs and routes it uses "
               f"and the years it covers); {estimates} of them are estimates (shaded), each "
               f"with a low–high range.")
    st.dataframe(data_tables.highlight_estimates(rows), hide_index=True, width="stretch")


def downloads(run: state.Run) -> None:
    st.subheader("Downloads")
    result = run.result
    strategy = run.strategy
    c = st.columns(3)
    c[0].download_button(
        "Result bundle (zip)", functools.partial(compute.result_bundle, run.data_dir,
                                                 run.overrides, run.strategy_toml),
        file_name=f"stibium-{strategy.name}.zip", mime="application/zip", on_click="ignore",
        icon=":material/folder_zip:", key="w_dl_bundle",
        help="result.xlsx, result.json, model.lp, run_record.json and strategy.toml.")
    c[1].download_button("Plan (CSV)", escape_frame(data_tables.for_display(result.plan))
                         .to_csv(index=False), file_name=f"plan-{strategy.name}.csv",
                         mime="text/csv", on_click="ignore", icon=":material/table:",
                         key="w_dl_plan")
    c[2].download_button("Strategy (TOML)", run.strategy_toml,
                         file_name=f"{strategy.name}.toml", mime="application/toml",
                         on_click="ignore", icon=":material/description:", key="w_dl_toml")
    with st.expander("Save this run in the runs store"):
        name = st.text_input("Name (optional)", key=state.W_SAVE_NAME)
        if st.button("Save run", key="w_save_run"):
            with common.input_errors(), RunStore() as store:
                run.saved_id = store.save(result, common.run_dataset(run), strategy,
                                          name=name or None)
                st.success(f"Saved as run {run.saved_id} in {store.url}.")


def render() -> None:
    common.show_flash()
    st.title("Solution")
    run = common.require_run()
    if run is None:
        return
    result = run.result
    strategy = run.strategy
    st.caption(f"Strategy **{strategy.name}** ({strategy.exposure_mode})"
               + (f": {strategy.description}" if strategy.description else ""))
    if not result.is_optimal:
        common.show_no_plan(result)
        return
    previous = st.session_state[state.PREVIOUS_RUN]
    kpis(result, previous.result if previous is not None else None)
    if previous is not None:
        st.caption(f"Changes are against the previous run ('{previous.result.strategy}').")
    map_and_flows(result, run)
    plan_section(result)
    exposure_section(result)
    duals_section(result)
    criticality_section(result, run)
    risk_section(result)
    provenance_section(result, run)
    downloads(run)


common.guarded(render)
