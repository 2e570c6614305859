"""Shared fixtures: the shipped dataset, and a tiny hand-checkable dataset written to disk.

The tiny dataset ("toy") has two origins (A, B), two hubs (HA in A, HP in the power P), one
market M and, by default, one period. Unit costs per tonne: A→HA 130, B→HP 100, B→HA 105.
L[P, B] = 0.5 (one channel, weight 1, indicator 0.5), so B→HA counts 0.5 towards P and B→HP 1.
Events: "P acts" (p = 0.1, P at full severity: B→HP survives 0, B→HA 0.5, A→HA 1) and
"A strike" (p = 0.2, A loses half: A→HA and B→HA survive 0.5, B→HP 1). No spot market.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from stibium.model import load_dataset
from stibium.model.data import TABLES

PROV = {"source": "test", "year": 2026, "is_estimate": 0, "low": "", "high": "", "note": ""}


def toy_tables(periods: tuple[int, ...] = (2030,)) -> dict[str, list[dict[str, Any]]]:
    return {
        "countries": [
            {"country": "A", "iso3": "AAA", "wgi_norm": 0.8},
            {"country": "B", "iso3": "BBB", "wgi_norm": 0.4},
            {"country": "P", "iso3": "PPP", "wgi_norm": 0.3},
        ],
        "origins": [
            {"origin": "A", "country": "A", "production_2024_t": 100, "production_2025_t": 100,
             "reserves_t": ""},
            {"origin": "B", "country": "B", "production_2024_t": 100, "production_2025_t": 100,
             "reserves_t": ""},
        ],
        "exportable": [{"origin": "A", "exportable_share": 1.0},
                       {"origin": "B", "exportable_share": 1.0}],
        "ramp_ups": [],
        "hubs": [{"hub": "HA", "country": "A", "capacity_t": 1000},
                 {"hub": "HP", "country": "P", "capacity_t": 1000}],
        "hub_yields": [{"hub": "HA", "recovery_yield": 1.0},
                       {"hub": "HP", "recovery_yield": 1.0}],
        "hub_fees": [{"hub": "HA", "fee_usd_per_t": 0}, {"hub": "HP", "fee_usd_per_t": 0}],
        "markets": [{"market": "M", "country": "A", "description": "test market"}],
        "demand": [{"market": "M", "period": t, "demand_t": 10} for t in periods],
        "prices": [{"period": t, "benchmark_usd_per_t": 100} for t in periods],
        "price_factors": [{"origin": "A", "price_factor": 1.2},
                          {"origin": "B", "price_factor": 1.0}],
        "routes": [
            {"origin": "A", "hub": "HA", "market": "M", "transit": "",
             "freight_usd_per_t": 10, "lead_time_days": 30},
            {"origin": "B", "hub": "HP", "market": "M", "transit": "",
             "freight_usd_per_t": 0, "lead_time_days": 40},
            {"origin": "B", "hub": "HA", "market": "M", "transit": "",
             "freight_usd_per_t": 5, "lead_time_days": 50},
        ],
        "powers": [{"power": "P", "description": "the power"}],
        "leverage_channels": [{"channel": "debt", "weight": 1.0}],
        "leverage_evidence": [{"power": "P", "country": "B", "channel": "debt",
                               "indicator": 0.5, "raw_value": 50, "raw_unit": "%"}],
        "parameters": [
            {"name": "unmet_demand_penalty_usd_per_t", "value": 1000, "unit": "$/t"},
            {"name": "holding_cost_usd_per_t_yr", "value": 5, "unit": "$/t/yr"},
            {"name": "spot_price_multiplier", "value": 1.5, "unit": "ratio"},
            {"name": "spot_limit_share", "value": 0.0, "unit": "share"},
        ],
        "geopolitical_distance": [{"country": c, "distance": d}
                                  for c, d in (("A", 1.0), ("B", 5.0), ("P", 9.0))],
        "trade_restrictions": [{"country": c, "restriction_factor": f}
                               for c, f in (("A", 1.0), ("B", 1.0), ("P", 1.2))],
        "events": [
            {"event": "P acts", "description": "P cuts what it controls", "probability": 0.1,
             "price_multiplier": 2.0},
            {"event": "A strike", "description": "half of A stops", "probability": 0.2,
             "price_multiplier": 1.0},
        ],
        "event_effects": [
            {"event": "P acts", "target": "P", "mechanism": "leverage", "severity": 1.0},
            {"event": "A strike", "target": "A", "mechanism": "direct", "severity": 0.5},
        ],
    }


def write_tables(folder: Path, tables: dict[str, list[dict[str, Any]]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, spec in TABLES.items():
        with open(folder / spec.file, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=spec.all_columns)
            writer.writeheader()
            for row in tables[name]:
                writer.writerow({**PROV, **row})
    return folder


@pytest.fixture
def toy_dir(tmp_path: Path) -> Path:
    return write_tables(tmp_path / "toy", toy_tables())


@pytest.fixture
def toy(toy_dir: Path):
    return load_dataset(toy_dir)


@pytest.fixture(scope="session")
def shipped():
    return load_dataset()
