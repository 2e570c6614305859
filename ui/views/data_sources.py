"""Data & sources page: every table of the current data with its sources, years and
estimate flags (estimates shaded, with their ranges), the leverage matrix with its evidence,
and the disruption events."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from stibium.model import TABLES, default_data_dir, leverage_evidence_table, leverage_matrix
from stibium.ui import charts, common, data_tables, state


def schema() -> pd.DataFrame:
    path = default_data_dir() / "schema.csv"
    return pd.read_csv(path, dtype=str, keep_default_na=False) if path.is_file() \
        else pd.DataFrame()


def render() -> None:
    common.show_flash()
    st.title("Data & sources")
    data = common.current_dataset()
    estimates = data.estimates()
    edited = sorted(st.session_state[state.DATA_OVERRIDES])
    st.caption(f"{len(data.tables)} tables, {sum(len(t) for t in data.tables.values())} rows, "
               f"fingerprint `{data.fingerprint}`"
               + (f"; edited in this session: {', '.join(edited)}" if edited else
                  "; the shipped data, unchanged")
               + f". {len(estimates)} values are estimates (shaded below), each with a "
                 f"low–high range; every row names its sources.")

    st.subheader("Leverage matrix")
    st.caption("L[p, c] = 1 − Π over channels (1 − weight × indicator[p, c, channel]), with "
               "L[p, p] = 1: the share of country c's supply power p could stop.")
    charts.show(charts.leverage_heatmap(leverage_matrix(data)), key="w_leverage")
    evidence = leverage_evidence_table(data)
    st.markdown("**The evidence behind each entry** (contribution = channel weight × indicator)")
    st.dataframe(data_tables.highlight_estimates(evidence), hide_index=True, width="stretch")
    st.dataframe(data_tables.highlight_estimates(data["leverage_channels"]), hide_index=True,
                 width="stretch")

    st.subheader("Disruption events")
    st.dataframe(data_tables.highlight_estimates(data["events"]), hide_index=True,
                 width="stretch")
    st.dataframe(data_tables.highlight_estimates(data["event_effects"]), hide_index=True,
                 width="stretch")

    st.subheader("Every table")
    columns = schema()
    for name, spec in TABLES.items():
        frame = data_tables.for_display(data[name])
        count = int((frame["is_estimate"] == 1).sum())
        with st.expander(f"{spec.file} — {len(frame)} rows, {count} estimates"
                         + (" (edited)" if name in edited else "")):
            st.dataframe(data_tables.highlight_estimates(frame), hide_index=True,
                         width="stretch")
            if not columns.empty:
                st.dataframe(columns[columns["file"] == spec.file].drop(columns="file"),
                             hide_index=True, width="stretch")
    st.subheader("All estimates")
    st.dataframe(estimates, hide_index=True, width="stretch")


common.guarded(render)
