"""Plotly figures of the model's plain results (no computation beyond grouping for display).

The world map is a choropleth by ISO3 code. Plotly draws country outlines from a topojson
file; when the app serves its ``static/`` folder (``stibium app`` does), :func:`plotly_config`
points Plotly at the copy shipped there, so the map needs no network access.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

BLUE, ORANGE, GREY, RED, GREEN = "#1f77b4", "#ff7f0e", "#9e9e9e", "#d62728", "#2ca02c"


def plotly_config() -> dict[str, Any]:
    """Plotly options: the local map outlines when static files are served, no logo."""
    config: dict[str, Any] = {"displaylogo": False}
    if st.get_option("server.enableStaticServing"):
        config["topojsonURL"] = "app/static/"
    return config


def show(figure: go.Figure, **kwargs: Any) -> Any:
    """Render a figure with the app's Plotly options."""
    return st.plotly_chart(figure, config=plotly_config(), **kwargs)


def sourcing_map(shares: pd.DataFrame, countries: pd.DataFrame) -> go.Figure:
    """Share of demand sourced from each origin country (choropleth by ISO3)."""
    by_country = shares.groupby("country", as_index=False)[["delivered_t", "demand_share"]].sum()
    iso3 = dict(zip(countries["country"], countries["iso3"], strict=True))
    by_country["iso3"] = by_country["country"].map(iso3)
    by_country["percent"] = 100 * by_country["demand_share"]
    figure = go.Figure(go.Choropleth(
        locations=by_country["iso3"], z=by_country["percent"], locationmode="ISO-3",
        text=by_country["country"], colorscale="Blues", zmin=0,
        marker_line_color="white", marker_line_width=0.5,
        colorbar={"title": {"text": "% of demand"}, "ticksuffix": "%"},
        customdata=by_country[["delivered_t"]],
        hovertemplate="<b>%{text}</b><br>%{z:.1f}% of demand<br>%{customdata[0]:,.0f} t "
                      "delivered<extra></extra>"))
    figure.update_geos(projection_type="natural earth", showcountries=True,
                       countrycolor="#d0d0d0", showland=True, landcolor="#f4f4f4",
                       showocean=True, oceancolor="#eaf2fb", showframe=False,
                       lataxis_range=[-58, 85])
    figure.update_layout(margin={"l": 0, "r": 0, "t": 10, "b": 0}, height=420)
    return figure


def flow_sankey(plan: pd.DataFrame) -> go.Figure:
    """Tonnes over the horizon from origin to processing hub to market."""
    first = plan.groupby(["origin", "hub"], as_index=False)["tonnes"].sum()
    second = plan.groupby(["hub", "market"], as_index=False)["delivered_t"].sum()
    labels = ([f"{o} (origin)" for o in sorted(plan["origin"].unique())]
              + [f"{h} (hub)" for h in sorted(plan["hub"].unique())]
              + [f"{m} (market)" for m in sorted(plan["market"].unique())])
    position = {label: i for i, label in enumerate(labels)}
    sources = ([position[f"{o} (origin)"] for o in first["origin"]]
               + [position[f"{h} (hub)"] for h in second["hub"]])
    targets = ([position[f"{h} (hub)"] for h in first["hub"]]
               + [position[f"{m} (market)"] for m in second["market"]])
    values = list(first["tonnes"]) + list(second["delivered_t"])
    colors = ([BLUE] * plan["origin"].nunique() + [ORANGE] * plan["hub"].nunique()
              + [GREEN] * plan["market"].nunique())
    figure = go.Figure(go.Sankey(
        node={"label": labels, "pad": 14, "thickness": 14, "color": colors},
        link={"source": sources, "target": targets, "value": values,
              "hovertemplate": "%{source.label} → %{target.label}: %{value:,.0f} t"
                               "<extra></extra>"},
        valueformat=",.0f", valuesuffix=" t", textfont={"color": "#1a1a1a", "size": 12}))
    figure.update_layout(margin={"l": 0, "r": 0, "t": 10, "b": 10}, height=560)
    return figure


def cost_breakdown(breakdown: dict[str, float]) -> go.Figure:
    """Horizon cost by item, in $ millions."""
    items = [k.replace("_", " ") for k in breakdown]
    values = [v / 1e6 for v in breakdown.values()]
    figure = go.Figure(go.Bar(x=values, y=items, orientation="h", marker_color=BLUE,
                              text=[f"${v:,.1f} m" for v in values], textposition="auto",
                              hovertemplate="%{y}: $%{x:,.2f} m<extra></extra>"))
    figure.update_layout(xaxis_title="$ million over the horizon", height=300,
                         margin={"l": 0, "r": 10, "t": 10, "b": 0},
                         yaxis={"autorange": "reversed"})
    return figure


def exposure_bars(exposure: pd.DataFrame) -> go.Figure:
    """Naive and effective exposure per power in the peak year, with each power's cap."""
    powers = list(exposure["power"])
    figure = go.Figure()
    figure.add_bar(name="naive (mined or processed there)", x=powers,
                   y=100 * exposure["naive_peak"], marker_color=GREY,
                   hovertemplate="%{x}, naive: %{y:.1f}% of demand<extra></extra>")
    figure.add_bar(name="effective (through the leverage matrix)", x=powers,
                   y=100 * exposure["effective_peak"], marker_color=RED,
                   hovertemplate="%{x}, effective: %{y:.1f}% of demand<extra></extra>")
    capped = exposure[exposure["cap"].notna()]
    if len(capped):
        figure.add_scatter(name="cap", x=capped["power"], y=100 * capped["cap"], mode="markers",
                           marker={"symbol": "line-ew", "size": 70, "color": "black",
                                   "line": {"width": 3, "color": "black"}},
                           hovertemplate="%{x} cap: %{y:.1f}%<extra></extra>")
    figure.update_layout(barmode="group", yaxis_title="% of demand (peak year)",
                         yaxis_ticksuffix="%", height=340, legend={"orientation": "h", "y": -0.2},
                         margin={"l": 0, "r": 0, "t": 10, "b": 0})
    return figure


def frontier_curve(table: pd.DataFrame, risk: str) -> go.Figure:
    """Cost against the risk each plan reaches; dominated and infeasible points marked."""
    solved = table[table["status"] == "optimal"]
    efficient = solved[~solved["dominated"]].sort_values("achieved")
    dominated = solved[solved["dominated"]]
    failed = table[table["status"] != "optimal"]
    figure = go.Figure()
    hover = ("limit %{customdata[0]:.4g}<br>reached %{x:.4g}<br>objective $%{y:,.2f} m"
             "<br>total cost $%{customdata[1]:,.2f} m<extra></extra>")
    figure.add_scatter(name="efficient", x=efficient["achieved"], y=efficient["objective"] / 1e6,
                       mode="lines+markers", marker={"size": 9, "color": BLUE},
                       customdata=list(zip(efficient["limit"], efficient["total_cost"] / 1e6,
                                           strict=True)),
                       hovertemplate=hover)
    if len(dominated):
        figure.add_scatter(name="dominated", x=dominated["achieved"],
                           y=dominated["objective"] / 1e6, mode="markers",
                           marker={"size": 10, "color": GREY, "symbol": "circle-open"},
                           customdata=list(zip(dominated["limit"], dominated["total_cost"] / 1e6,
                                               strict=True)),
                           hovertemplate=hover)
    if len(failed):
        floor = float(solved["objective"].min() / 1e6) if len(solved) else 0.0
        figure.add_scatter(name="no feasible plan", x=failed["limit"], y=[floor] * len(failed),
                           mode="markers", marker={"size": 11, "color": RED, "symbol": "x"},
                           text=failed["status"],
                           hovertemplate="limit %{x:.4g}: %{text}<extra></extra>")
    figure.update_layout(xaxis_title=f"{risk}: reached",
                         yaxis_title="objective ($ million)", height=420,
                         margin={"l": 0, "r": 0, "t": 10, "b": 0},
                         legend={"orientation": "h", "y": -0.2})
    return figure


def grouped_bars(frame: pd.DataFrame, x: str, columns: dict[str, str], y_title: str,
                 scale: float = 1.0, suffix: str = "", text: str | None = None) -> go.Figure:
    """One bar per row and column (label → column), grouped by `x`; `text` is a Plotly
    template written on each bar."""
    figure = go.Figure()
    for label, column in columns.items():
        if column in frame:
            figure.add_bar(name=label, x=frame[x], y=frame[column] * scale,
                           texttemplate=text, textposition="inside" if text else None,
                           hovertemplate=f"%{{x}}, {label}: %{{y:,.2f}}{suffix}<extra></extra>")
    figure.update_layout(barmode="group", yaxis_title=y_title, height=360,
                         yaxis_ticksuffix=suffix,
                         legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"},
                         margin={"l": 0, "r": 0, "t": 10, "b": 0})
    return figure


def stress_years(by_period: pd.DataFrame) -> go.Figure:
    """Per year: planned supply (before) against what survives, stock, spot and shortfall."""
    years = by_period["period"].astype(str)
    figure = go.Figure()
    figure.add_bar(name="planned supply (before)", x=years, y=by_period["planned_delivered_t"],
                   marker_color=GREY, offsetgroup="before")
    parts = (("surviving supply", "surviving_t", BLUE), ("stock drawn", "stock_draw_t", GREEN),
             ("spot bought", "spot_t", ORANGE), ("shortfall", "shortfall_t", RED))
    base = pd.Series(0.0, index=by_period.index)
    for label, column, color in parts:
        figure.add_bar(name=label, x=years, y=by_period[column], marker_color=color,
                       offsetgroup="after", base=base.copy())
        base = base + by_period[column]
    figure.add_scatter(name="demand", x=years, y=by_period["demand_t"], mode="markers",
                       marker={"symbol": "line-ew", "size": 40,
                               "line": {"width": 3, "color": "black"}})
    figure.update_layout(yaxis_title="tonnes", height=360, legend={"orientation": "h", "y": -0.2},
                         margin={"l": 0, "r": 0, "t": 10, "b": 0})
    return figure


def leverage_heatmap(matrix: pd.DataFrame) -> go.Figure:
    """L[p, c]: the share of country c's supply power p could stop."""
    columns = [c for c in matrix.columns if matrix[c].max() > 0]
    shown = matrix[columns]
    text = [[("" if v == 0 else f"{v:.2f}") for v in row] for row in shown.to_numpy()]
    figure = go.Figure(go.Heatmap(z=shown.to_numpy(), x=columns, y=list(shown.index),
                                  colorscale="Reds", zmin=0, zmax=1, text=text,
                                  texttemplate="%{text}",
                                  hovertemplate="L[%{y}, %{x}] = %{z:.3f}<extra></extra>",
                                  colorbar={"title": {"text": "L"}}))
    figure.update_layout(height=120 + 60 * len(shown.index),
                         margin={"l": 0, "r": 0, "t": 10, "b": 0}, xaxis_tickangle=-35,
                         yaxis={"autorange": "reversed"})
    return figure


def finite(value: float) -> bool:
    return value is not None and isinstance(value, float | int) and math.isfinite(value)
