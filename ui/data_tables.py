"""Data tables for display and editing: the loaded tables to CSV bytes and back, and the
provenance (source, year, estimate flag, range) of the rows a plan used.

Edited tables go back to the model as CSV bytes, exactly like an uploaded file, so the
model's loader validates them and reports the file, column and line of any problem.
"""

from __future__ import annotations

import io
import math
from typing import Any

import pandas as pd

from stibium.model import PROVENANCE, TABLES, Dataset

# Tables offered first in the editor.
EDITABLE_FIRST = ("prices", "exportable", "leverage_evidence", "events", "event_effects",
                  "demand", "hubs", "routes", "origins")


def editable_tables() -> list[str]:
    return list(EDITABLE_FIRST) + [name for name in TABLES if name not in EDITABLE_FIRST]


def for_display(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with tuple cells (route transits) written as ``a;b``."""
    shown = frame.copy()
    for column in shown.columns:
        if shown[column].map(lambda v: isinstance(v, tuple)).any():
            shown[column] = shown[column].map(
                lambda v: ";".join(v) if isinstance(v, tuple) else v)
    return shown


def _cell(value: Any) -> str:
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, tuple | list):
        return ";".join(str(v) for v in value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if hasattr(value, "item"):  # numpy scalars
        return _cell(value.item())
    return str(value)


def to_csv_bytes(frame: pd.DataFrame, table: str) -> bytes:
    """An edited table as the CSV file the loader reads (its columns in the schema's order)."""
    columns = TABLES[table].all_columns
    body = pd.DataFrame({c: [_cell(v) for v in frame[c]] if c in frame else "" for c in columns},
                        columns=columns)
    buffer = io.StringIO()
    body.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def highlight_estimates(frame: pd.DataFrame) -> Any:
    """A Styler shading the rows marked ``is_estimate = 1``."""
    def shade(row: pd.Series) -> list[str]:
        colour = "background-color: #fff4d6" if row.get("is_estimate", 0) == 1 else ""
        return [colour] * len(row)

    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    return frame.style.apply(shade, axis=1).format(
        {c: (lambda v: "–" if pd.isna(v) else f"{v:,.6g}") for c in floats})


def provenance_of_plan(data: Dataset, plan: pd.DataFrame) -> pd.DataFrame:
    """Where the numbers behind a plan come from: the data rows of the origins, hubs and
    routes it uses and of the years it covers, with source, year, estimate flag and range."""
    if plan.empty:
        return pd.DataFrame(columns=["table", "row", "value column", "value", *PROVENANCE])
    origins, hubs = set(plan["origin"]), set(plan["hub"])
    periods = set(int(p) for p in plan["period"])
    used_routes = set(zip(plan["origin"], plan["hub"], plan["market"], plan["transit"],
                          strict=True))
    wanted = {
        "origins": lambda f: f["origin"].isin(origins),
        "exportable": lambda f: f["origin"].isin(origins),
        "price_factors": lambda f: f["origin"].isin(origins),
        "hubs": lambda f: f["hub"].isin(hubs),
        "hub_yields": lambda f: f["hub"].isin(hubs),
        "hub_fees": lambda f: f["hub"].isin(hubs),
        "routes": lambda f: pd.Series([key in used_routes for key in zip(
            f["origin"], f["hub"], f["market"], f["transit"], strict=True)], index=f.index),
        "prices": lambda f: f["period"].isin(periods),
        "demand": lambda f: f["period"].isin(periods),
        "ramp_ups": lambda f: f["node"].isin(origins | hubs) & f["period"].isin(periods),
    }
    rows = []
    for table, select in wanted.items():
        spec = TABLES[table]
        frame = data[table]
        for _, row in frame[select(frame)].iterrows():
            key = " / ".join(_cell(row[k]) for k in spec.key if _cell(row[k]))
            rows.append({"table": table, "row": key, "value column": spec.value,
                         "value": row[spec.value], **{k: row[k] for k in PROVENANCE}})
    return pd.DataFrame(rows)
