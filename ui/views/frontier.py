"""Frontier page: cost against one risk limit of the current strategy, swept from loose to
tight on one model; dominated and infeasible points marked; any point's plan on demand."""

from __future__ import annotations

import streamlit as st

from stibium.model import Dataset, StibiumInputError
from stibium.ui import charts, common, compute, data_tables, fmt, state

RISK_LABELS = {
    "cvar": "CVaR of shortfall (share of demand)",
    "cvar-cost": "CVaR of total cost ($)",
    "risk-budget": "average country risk score",
}


def risk_options(data: Dataset) -> list[str]:
    return (["cvar", "cvar-cost"] + [f"exposure:{p}" for p in data["powers"]["power"]]
            + [f"origin:{o}" for o in data["origins"]["origin"]] + ["risk-budget"])


def risk_label(risk: str) -> str:
    kind, _, name = risk.partition(":")
    if kind == "exposure":
        return f"exposure to {name} (share of demand)"
    if kind == "origin":
        return f"share of demand from {name}"
    return RISK_LABELS.get(risk, risk)


def parse_limits(text: str) -> tuple[float, ...] | None:
    """Explicit limits typed as ``0.3, 0.25, 0.2`` (None when empty)."""
    if not text.strip():
        return None
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise StibiumInputError(f"limits: '{text}' is not a comma-separated list of "
                                f"numbers") from None


def show_frontier(stored: dict) -> None:
    frontier = stored["frontier"]
    table = frontier.table()
    st.subheader(f"'{stored['strategy']}': cost against {risk_label(frontier.risk)}")
    charts.show(charts.frontier_curve(table, risk_label(frontier.risk)), key="w_frontier")
    skipped = int((table["status"] != "optimal").sum())
    if skipped:
        st.warning(f"{skipped} limit(s) have no feasible plan (marked ✕); the sweep went on.")
    shown = table.assign(objective=table["objective"].map(fmt.money),
                         total_cost=table["total_cost"].map(fmt.money),
                         dominated=table["dominated"].map({True: "dominated", False: ""}))
    st.dataframe(shown, hide_index=True, width="stretch")
    feasible = [i for i, p in enumerate(frontier.points) if p.status == "optimal"]
    if not feasible:
        return
    choice = st.selectbox(
        "Show the plan of point", feasible, key=state.W_FRONTIER_POINT,
        format_func=lambda i: (f"#{i + 1}: limit {frontier.points[i].limit:.4g} → "
                               f"{fmt.money(frontier.points[i].objective)}"
                               + (" (dominated)" if frontier.points[i].dominated else "")))
    point = frontier.points[choice]
    result = point.result
    c = st.columns(4)
    c[0].metric("Limit", f"{point.limit:.4g}")
    c[1].metric("Reached", f"{point.achieved:.4g}")
    c[2].metric("Total cost", fmt.money(result.total_cost))
    c[3].metric("Unmet demand", fmt.tonnes(result.metrics.get("unmet_t")))
    if not result.plan.empty:
        pivot = result.plan.pivot_table(index="route", columns="period", values="tonnes",
                                        aggfunc="sum", fill_value=0.0)
        pivot.columns = [str(c) for c in pivot.columns]
        st.dataframe(pivot.style.format("{:,.0f}"), width="stretch")
        with st.expander("Plan rows"):
            st.dataframe(data_tables.for_display(result.plan), hide_index=True, width="stretch")


def render() -> None:
    common.show_flash()
    st.title("Frontier")
    strategy = state.strategy()
    data = common.current_dataset()
    st.caption(f"Sweeps one limit of the current strategy **{strategy.name}** from where it "
               f"does not bind to as tight as any plan can go, re-solving one model each time. "
               f"CVaR sweeps optimise over the disruption scenarios (two-stage).")
    with st.form("w_frontier_form"):
        c = st.columns([2, 1, 2])
        options = risk_options(data)
        risk = c[0].selectbox("Risk measure", options, format_func=risk_label,
                              index=options.index("exposure:China")
                              if "exposure:China" in options else 0)
        points = c[1].slider("Points", min_value=2, max_value=30, value=8)
        limits_text = c[2].text_input("Explicit limits (optional)", placeholder="0.3, 0.25, 0.2",
                                      help="Overrides the number of points.")
        submitted = st.form_submit_button("Run frontier", type="primary",
                                          icon=":material/play_arrow:")
    if submitted:
        with common.input_errors():
            limits = parse_limits(limits_text)
            data_dir, overrides = state.data_key()
            with st.spinner("Sweeping the frontier…"):
                frontier = compute.run_frontier(data_dir, overrides,
                                                st.session_state[state.STRATEGY_TOML], risk,
                                                int(points), limits)
            st.session_state[state.FRONTIER] = {"strategy": strategy.name, "frontier": frontier}
            st.session_state.pop(state.W_FRONTIER_POINT, None)
    stored = st.session_state[state.FRONTIER]
    if stored is not None:
        show_frontier(stored)


common.guarded(render)
