"""The strategy form: one widget per setting of :class:`~stibium.model.Strategy`.

The widgets are built from the settings' description (:data:`stibium.model.SETTINGS`): its
label, help text, allowed values, step, format and tab, so a new setting appears here without
a change to this file. The form starts from the current strategy and, on submit, returns it
with the form's values (`Strategy.with_changes`, so the model validates every value and names
the setting it rejects). Empty number fields mean "not set" where the strategy allows it (no
cap, the data's demand, ...). Per-origin, per-hub, per-country and per-power limits are small
tables.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from stibium.model import SETTINGS, Dataset, Setting, Strategy
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


def _help(setting: Setting) -> str:
    unset = f"; empty: {setting.unset}" if setting.optional and setting.unset else ""
    return f"{setting.help} Allowed: {setting.allowed()}{unset}."


def _scalar(place: Any, setting: Setting, current: Any, periods: list[int]) -> Any:
    """One widget for a single-valued setting; returns its value as the strategy takes it."""
    key = state.form_key(setting.widget_key)
    if setting.kind == "text":
        return place.text_input(setting.label, value=current, key=key, help=_help(setting))
    if setting.kind == "choice":
        return place.radio(setting.label, setting.choices, horizontal=True, key=key,
                           index=setting.choices.index(current), help=_help(setting))
    if setting.kind == "year":
        # An unset first year is the data's first, an unset last year the data's last.
        fallback = len(periods) - 1 if setting.field == "last_period" else 0
        return place.selectbox(setting.label, periods, key=key, help=_help(setting),
                               index=periods.index(current) if current in periods else fallback)
    if setting.kind == "integer":
        return place.number_input(setting.label, value=int(current), key=key,
                                  step=int(setting.step or 1), help=_help(setting))
    # Bounds are not set on the widget: the model checks every value and its one-line message
    # names the setting and the allowed range.
    value = _optional(current) if setting.optional else float(current)
    return place.number_input(setting.label, value=value, key=key, step=setting.step,
                              format=setting.fmt, help=_help(setting),
                              placeholder=setting.unset or None)


def _value(setting: Setting, raw: Any) -> Any:
    if setting.kind == "text":
        return raw.strip() if setting.non_empty else raw
    if setting.kind in ("year", "integer"):
        return int(raw)
    if setting.kind in ("number", "share"):
        return _optional(raw) if setting.optional else float(raw)
    return raw


def _tab(settings: list[Setting], current: Strategy, data: Dataset, periods: list[int]
         ) -> dict[str, Any]:
    """The widgets of one tab: choices, then numbers four to a row, then the per-name tables
    (a list of excluded names joins the cap table of the same names), then other lists."""
    values: dict[str, Any] = {}
    for setting in [s for s in settings if s.kind == "choice"]:
        values[setting.field] = _scalar(st, setting, getattr(current, setting.field), periods)
    scalars = [s for s in settings if s.kind not in ("choice", "names", "shares")]
    for row in range(0, len(scalars), 4):
        columns = st.columns(4)
        for place, setting in zip(columns, scalars[row:row + 4], strict=False):
            raw = _scalar(place, setting, getattr(current, setting.field), periods)
            values[setting.field] = _value(setting, raw)
    tables = [s for s in settings if s.kind == "shares"]
    exclusions = {s.names: s for s in settings if s.kind == "names"}
    if tables:
        st.caption("Per-name caps are shares of demand (0.3 = 30%); an empty cell is no cap.")
        columns = st.columns(2)
        for number, setting in enumerate(tables):
            excluded = exclusions.pop(setting.names, None)
            label, frame = setting.name_column, data[setting.names]
            countries = (dict(zip(frame[label], frame["country"], strict=True))
                         if "country" in frame and label != "country" else None)
            with columns[number % 2]:
                st.markdown(f"**{setting.label}{' and exclusions' if excluded else ''}**")
                table = _editor(_cap_table(setting.known_names(data),
                                           getattr(current, setting.field), label,
                                           getattr(current, excluded.field) if excluded
                                           else None, countries),
                                state.form_key(setting.widget_key), label, setting.help)
            values[setting.field] = _caps_from(table, label)
            if excluded is not None:
                values[excluded.field] = _excluded_from(table, label)
    for setting in exclusions.values():
        chosen = getattr(current, setting.field)
        known = setting.known_names(data)
        values[setting.field] = tuple(st.multiselect(
            setting.label, known + [n for n in chosen if n not in known], default=list(chosen),
            key=state.form_key(setting.widget_key), help=_help(setting)))
    return values


def strategy_form(current: Strategy, data: Dataset) -> Strategy | None:
    """Render the form; on Run, the strategy it describes (None before a submit)."""
    periods = [int(p) for p in data.periods]
    by_group = {group: [s for s in SETTINGS if s.group == group]
                for group in ("", *dict.fromkeys(s.group for s in SETTINGS if s.group))}
    values: dict[str, Any] = {}
    with st.form(state.form_key("form"), border=True):
        top = st.columns([1, 2])
        for place, setting in zip(top, by_group.pop(""), strict=True):
            raw = _scalar(place, setting, getattr(current, setting.field), periods)
            values[setting.field] = _value(setting, raw)
        tabs = st.tabs(list(by_group))
        for tab, settings in zip(tabs, by_group.values(), strict=True):
            with tab:
                values.update(_tab(settings, current, data, periods))
        submitted = st.form_submit_button("Run", type="primary", icon=":material/play_arrow:")
    if not submitted:
        return None
    return current.with_changes(**values)
