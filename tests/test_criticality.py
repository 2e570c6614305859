"""The criticality panel: a hand-computed case on the toy data, and the shipped data.

The hand case is the conftest toy (countries A wgi 0.8, B 0.4, P 0.3; trade-restriction
factors t = 1.0, 1.0, 1.2; mine origins A and B with 100 t each) plus two origins added here:
a mine origin P (200 t) and a secondary origin "A recycling" in country A (50 t), which the
world-production basis must leave out because its name is not its country's.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd
import pytest

from stibium.model import SolveResult, load_dataset, load_strategy, solve
from stibium.model.criticality import (
    BASES,
    INDICATORS,
    INPUT_COLUMNS,
    criticality_inputs,
    criticality_panel,
)
from stibium.model.data import TABLES

PROV = {"source": "test", "year": 2026, "is_estimate": 0, "low": "", "high": "", "note": ""}
EXACT = {"rel": 1e-12, "abs": 1e-12}


def append_rows(folder: Path, table: str, rows: list[dict]) -> None:
    with open(folder / TABLES[table].file, "a", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=TABLES[table].all_columns)
        for row in rows:
            writer.writerow({**PROV, **row})


@pytest.fixture
def hand_data(toy_dir: Path):
    append_rows(toy_dir, "origins", [
        {"origin": "P", "country": "P", "production_2024_t": 200, "production_2025_t": 200,
         "reserves_t": ""},
        {"origin": "A recycling", "country": "A", "production_2024_t": 50,
         "production_2025_t": 50, "reserves_t": ""},
    ])
    append_rows(toy_dir, "exportable", [{"origin": "P", "exportable_share": 1.0},
                                        {"origin": "A recycling", "exportable_share": 1.0}])
    append_rows(toy_dir, "price_factors", [{"origin": "P", "price_factor": 1.0},
                                           {"origin": "A recycling", "price_factor": 1.0}])
    return load_dataset(toy_dir)


@pytest.fixture
def hand_result() -> SolveResult:
    # Country tonnes: A = 1 + 1 (mine + recycling) = 2, B = 3 (+ a zero row), P = 2 + 3 = 5.
    plan = pd.DataFrame([
        {"origin": "A", "period": 2026, "delivered_t": 1.0},
        {"origin": "A recycling", "period": 2026, "delivered_t": 1.0},
        {"origin": "B", "period": 2026, "delivered_t": 3.0},
        {"origin": "B", "period": 2027, "delivered_t": 0.0},
        {"origin": "P", "period": 2026, "delivered_t": 2.0},
        {"origin": "P", "period": 2027, "delivered_t": 3.0},
    ])
    return SolveResult(status="optimal", strategy="hand", plan=plan)


# Worked by hand.
#   WGI_scaled = 10·(1 − wgi_norm): A 2, B 6, P 7.      g = 1 − wgi_norm: A 0.2, B 0.6, P 0.7.
#   t: A 1.0, B 1.0, P 1.2.
# World production (mine origins A 100, B 100, P 200 = 400 t; "A recycling" left out):
#   s = 0.25, 0.25, 0.5
#   HHI        = 25² + 25² + 50² = 625 + 625 + 2500                          = 3750
#   HHI_WGI,t  = 0.0625·2·1 + 0.0625·6·1 + 0.25·7·1.2 = 0.125 + 0.375 + 2.1  = 2.6
#   GeoPolRisk = 0.375 · (0.25·0.2 + 0.25·0.6 + 0.5·0.7) = 0.375 · 0.55      = 0.20625
# Plan (A 2, B 3, P 5 of 10 t):
#   s = 0.2, 0.3, 0.5
#   HHI        = 20² + 30² + 50² = 400 + 900 + 2500                          = 3800
#   HHI_WGI,t  = 0.04·2·1 + 0.09·6·1 + 0.25·7·1.2 = 0.08 + 0.54 + 2.1        = 2.72
#   GeoPolRisk = 0.375 (world HHI/10,000) · (0.2·0.2 + 0.3·0.6 + 0.5·0.7)
#              = 0.375 · 0.57                                                 = 0.21375
EXPECTED = {
    ("HHI", "plan"): 3800.0,
    ("HHI", "world production"): 3750.0,
    ("HHI_WGI,t", "plan"): 2.72,
    ("HHI_WGI,t", "world production"): 2.6,
    ("GeoPolRisk", "plan"): 0.21375,
    ("GeoPolRisk", "world production"): 0.20625,
}


def test_panel_matches_hand_computation(hand_result, hand_data):
    panel = criticality_panel(hand_result, hand_data)
    assert list(panel.columns) == ["indicator", "basis", "value", "formula"]
    assert len(panel) == len(INDICATORS) * len(BASES) == len(EXPECTED)
    for row in panel.itertuples(index=False):
        assert row.value == pytest.approx(EXPECTED[(row.indicator, row.basis)], **EXACT), \
            (row.indicator, row.basis)
        assert row.formula.startswith(row.indicator.split(",")[0])


def test_inputs_tables_by_hand(hand_result, hand_data):
    inputs = criticality_inputs(hand_result, hand_data, "HHI_WGI,t", "plan")
    assert list(inputs.columns) == INPUT_COLUMNS
    assert list(inputs["country"]) == ["P", "B", "A"]  # largest share first
    assert list(inputs["tonnes"]) == pytest.approx([5.0, 3.0, 2.0], **EXACT)
    assert list(inputs["share"]) == pytest.approx([0.5, 0.3, 0.2], **EXACT)
    assert list(inputs["wgi_norm"]) == pytest.approx([0.3, 0.4, 0.8], **EXACT)
    assert list(inputs["wgi_scaled"]) == pytest.approx([7.0, 6.0, 2.0], **EXACT)
    assert list(inputs["g"]) == pytest.approx([0.7, 0.6, 0.2], **EXACT)
    assert list(inputs["t"]) == pytest.approx([1.2, 1.0, 1.0], **EXACT)
    assert list(inputs["contribution"]) == pytest.approx([2.1, 0.54, 0.08], **EXACT)

    world = criticality_inputs(hand_result, hand_data, "GeoPolRisk", "world production")
    assert "A recycling" not in set(world["country"])
    assert list(world["country"]) == ["P", "A", "B"]  # ties broken by name
    assert list(world["tonnes"]) == pytest.approx([200.0, 100.0, 100.0], **EXACT)
    # 0.375 · s · g: P 0.375·0.5·0.7, A 0.375·0.25·0.2, B 0.375·0.25·0.6
    assert list(world["contribution"]) == pytest.approx([0.13125, 0.01875, 0.05625], **EXACT)

    hhi = criticality_inputs(hand_result, hand_data, "HHI", "plan")
    assert list(hhi["contribution"]) == pytest.approx([2500.0, 900.0, 400.0], **EXACT)


def test_inputs_add_up_to_the_panel(hand_result, hand_data):
    panel = criticality_panel(hand_result, hand_data).set_index(["indicator", "basis"])
    for indicator in INDICATORS:
        for basis in BASES:
            inputs = criticality_inputs(hand_result, hand_data, indicator, basis)
            assert inputs["share"].sum() == pytest.approx(1.0, **EXACT)
            assert inputs["contribution"].sum() == pytest.approx(
                panel.loc[(indicator, basis), "value"], **EXACT)


def test_empty_plan_scores_zero_on_the_plan_basis(hand_data):
    empty = SolveResult(status="optimal", strategy="empty")
    panel = criticality_panel(empty, hand_data).set_index(["indicator", "basis"])["value"]
    for indicator in INDICATORS:
        assert panel[(indicator, "plan")] == 0.0
        assert panel[(indicator, "world production")] == pytest.approx(
            EXPECTED[(indicator, "world production")], **EXACT)


def test_unknown_indicator_or_basis(hand_result, hand_data):
    with pytest.raises(ValueError, match="unknown indicator"):
        criticality_inputs(hand_result, hand_data, "SR", "plan")
    with pytest.raises(ValueError, match="unknown basis"):
        criticality_inputs(hand_result, hand_data, "HHI", "EU sourcing")


@pytest.fixture(scope="module")
def shipped_cheapest():
    data = load_dataset()
    return data, solve(data, load_strategy("cheapest"))


def test_shipped_plan_hhi_is_the_solvers_naive_hhi(shipped_cheapest):
    data, result = shipped_cheapest
    assert result.is_optimal
    panel = criticality_panel(result, data).set_index(["indicator", "basis"])["value"]
    assert panel[("HHI", "plan")] == pytest.approx(result.metrics["naive_hhi"], rel=1e-9)


def test_shipped_indicators_are_finite_and_non_negative(shipped_cheapest):
    data, result = shipped_cheapest
    panel = criticality_panel(result, data)
    assert len(panel) == len(INDICATORS) * len(BASES)
    assert all(math.isfinite(v) and v >= 0 for v in panel["value"])
    values = panel.set_index(["indicator", "basis"])["value"]
    # World mine HHI over the listed producers (110,720 t) is a little below the brief's 2,616,
    # which divides by USGS's rounded world total of 110,000 t (brief §1c).
    assert 2_500 < values[("HHI", "world production")] < 2_616
    assert values[("GeoPolRisk", "plan")] <= 1.0
    for indicator in INDICATORS:
        for basis in BASES:
            inputs = criticality_inputs(result, data, indicator, basis)
            assert inputs.notna().all().all(), (indicator, basis)
