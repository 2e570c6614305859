"""Compare page: shipped strategies, the current one and saved runs side by side — KPIs,
the routes and years where their plans differ, and bar charts."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from stibium.model import RunStore, SolveResult, kpis, load_strategy, plan_diff, shipped_strategies
from stibium.ui import charts, common, compute, fmt, state


def kpi_table(results: dict[str, SolveResult]) -> pd.DataFrame:
    """One row per compared plan, with the model's KPIs (`stibium.model.compare.kpis`)."""
    powers: list[str] = []
    for result in results.values():
        if "power" in result.exposure:
            powers += [p for p in result.exposure["power"] if p not in powers]
    rows = []
    for label, result in results.items():
        row: dict[str, Any] = {"plan": label, "status": result.status}
        if result.is_optimal:
            row.update(kpis(result, powers))
        rows.append(row)
    return pd.DataFrame(rows)


def _shown(column: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if column.endswith((" cap", " naive", " effective", " share")):
        return fmt.percent(value)
    if column == "total_cost_usd":
        return fmt.money(value)
    if column == "cost_per_t_usd":
        return fmt.per_tonne(value)
    if column in ("hhi_wgi_t", "geopolrisk"):
        return fmt.number(value, 3)
    if column in ("naive_hhi", "effective_hhi"):
        return fmt.index(value)
    if column == "stock_days_of_cover":
        return f"{value:,.0f} days"
    if column.endswith("_t"):
        return fmt.tonnes(value)
    return str(value)


LABELS = {
    "status": "Status", "total_cost_usd": "Total cost", "cost_per_t_usd": "Cost per tonne",
    "unmet_t": "Unmet demand", "naive_hhi": "Naive HHI", "effective_hhi": "Effective HHI",
    "hhi_wgi_t": "HHI_WGI,t", "geopolrisk": "GeoPolRisk",
    "expected_shortfall_t": "Expected shortfall", "cvar_shortfall_t": "CVaR of shortfall",
    "worst_stress_shortfall_t": "Worst single-event shortfall",
    "stock_days_of_cover": "Stockpile cover",
}


def label(column: str) -> str:
    if column in LABELS:
        return LABELS[column]
    if column.startswith("shortfall under ") and column.endswith("_t"):
        return "Shortfall under " + column[len("shortfall under "):-2]
    return column[:1].upper() + column[1:]


def formatted(table: pd.DataFrame) -> pd.DataFrame:
    """KPIs as rows (named in words), plans as columns, each number written in its unit."""
    shown = table.copy()
    for column in shown.columns:
        if column != "plan":
            shown[column] = [_shown(column, v) for v in shown[column]]
    return shown.set_index("plan").rename(columns=label).T


def saved_choices() -> dict[int, str]:
    with RunStore() as store:
        runs = store.list()
    return {int(r.id): f"#{r.id} {r.name or r.strategy}" for r in runs.itertuples(index=False)}


def collect(names: list[str], include_current: bool, saved: list[int],
            saved_labels: dict[int, str]) -> dict[str, SolveResult]:
    data_dir, overrides = state.data_key()
    results: dict[str, SolveResult] = {}
    with st.spinner("Solving the strategies…"):
        for name in names:
            results[name] = compute.solve_strategy(data_dir, overrides,
                                                   load_strategy(name).to_toml())
        if include_current:
            current = state.strategy()
            label = f"current: {current.name}"
            results[label] = compute.solve_strategy(data_dir, overrides,
                                                    st.session_state[state.STRATEGY_TOML])
    if saved:
        with RunStore() as store:
            for run_id in saved:
                results[saved_labels.get(run_id, f"#{run_id}")] = store.load(run_id).result
    return results


def charts_of(table: pd.DataFrame) -> None:
    solved = table[table["status"] == "optimal"]
    if solved.empty:
        return
    left, right = st.columns(2)
    with left:
        st.markdown("**Total cost over the horizon**")
        charts.show(charts.grouped_bars(solved, "plan", {"total cost": "total_cost_usd"},
                                        "$ million", scale=1e-6, text="$%{y:,.2f} m"),
                    key="w_cmp_cost")
    with right:
        st.markdown("**Shortfall under disruption**")
        columns = {"expected": "expected_shortfall_t", "CVaR": "cvar_shortfall_t",
                   "worst single event": "worst_stress_shortfall_t"}
        charts.show(charts.grouped_bars(solved, "plan", columns, "tonnes"), key="w_cmp_short")
    exposure = {", ".join(c.rsplit(" ", 1)): c for c in solved.columns
                if c.endswith((" naive", " effective"))}
    if exposure:
        st.markdown("**Exposure per power (share of demand over the horizon)**")
        charts.show(charts.grouped_bars(solved, "plan", exposure, "% of demand", scale=100,
                                        suffix="%"), key="w_cmp_exposure")


def render() -> None:
    common.show_flash()
    st.title("Compare")
    st.caption("Each strategy is solved on its own on the current data (cached); saved runs "
               "show their stored results.")
    use_saved = st.toggle("Include saved runs", key=state.W_COMPARE_USE_SAVED)
    saved_labels: dict[int, str] = {}
    if use_saved:
        with common.input_errors():
            saved_labels = saved_choices()
            if not saved_labels:
                st.caption("No saved runs yet (save one from the Solution page).")
    with st.form("w_compare_form"):
        names = st.multiselect("Shipped strategies", list(shipped_strategies()),
                               default=["naive-diversified", "dependency-aware"])
        include_current = st.checkbox(f"The current strategy ('{state.strategy().name}')",
                                      value=state.current_run() is not None)
        saved = (st.multiselect("Saved runs", list(saved_labels), format_func=saved_labels.get,
                                key=state.W_COMPARE_SAVED) if saved_labels else [])
        submitted = st.form_submit_button("Compare", type="primary",
                                          icon=":material/compare_arrows:")
    if submitted:
        with common.input_errors():
            if not (names or include_current or saved):
                st.warning("Choose at least one strategy or run.")
            else:
                st.session_state[state.COMPARISON] = collect(names, include_current, saved,
                                                             saved_labels)
    results = st.session_state[state.COMPARISON]
    if not results:
        return
    table = kpi_table(results)
    st.subheader("Key figures")
    shown = formatted(table)
    st.dataframe(shown, width="stretch", height=35 * (len(shown) + 1) + 3,
                 column_config={"_index": st.column_config.TextColumn(width="medium")})
    charts_of(table)
    st.subheader("Where the plans differ")
    diff = plan_diff(results)
    if diff.empty:
        st.caption("The plans buy the same tonnes on every route in every year.")
    else:
        st.caption("Tonnes bought per route and year, where the plans differ by more than "
                   "half a tonne.")
        numeric = [c for c in diff.columns if c not in ("route", "period")]
        st.dataframe(diff.style.format({c: "{:,.0f}" for c in numeric}), hide_index=True,
                     width="stretch")


common.guarded(render)
