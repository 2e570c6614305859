"""Valid data at the edges: no disruption events at all, and no value flagged as an estimate.

Both are legitimate datasets (a buyer who models no disruption, or one who has a source for
every figure); the CLI must solve and check them like any other, with exit code 0.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stibium.model import load_dataset, load_strategy, solve

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stibium", *args], capture_output=True,
                          text=True, timeout=300)


def data_copy(folder: Path) -> Path:
    shutil.copytree(ROOT / "data", folder, ignore=shutil.ignore_patterns(
        "*.py", "strategies", "__pycache__"))
    return folder


def header_only(path: Path) -> None:
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def no_events(tmp_path_factory) -> Path:
    folder = data_copy(tmp_path_factory.mktemp("no-events") / "data")
    header_only(folder / "events.csv")
    header_only(folder / "event_effects.csv")
    return folder


def test_solve_without_events_is_the_deterministic_plan(no_events: Path):
    completed = run("solve", "--data", str(no_events), "--strategy", "dependency-aware")
    assert completed.returncode == 0, completed.stderr
    assert "Disruption risk over 1 scenarios" in completed.stdout
    assert "none: the data have no disruption events" in completed.stdout
    assert completed.stderr == ""


@pytest.mark.parametrize("name", ["min-cvar", "dependency-aware"])
def test_solve_json_without_events(no_events: Path, name: str):
    completed = run("solve", "--data", str(no_events), "--strategy", name, "--json")
    assert completed.returncode == 0, completed.stderr
    payload = json.loads(completed.stdout)
    assert payload["status"] == "optimal"
    assert payload["metrics"]["scenario_count"] == 1
    assert payload["stress"] == []
    # The only scenario is "no disruption": the plan is the deterministic one.
    data = load_dataset(no_events)
    deterministic = solve(data, load_strategy(name).with_changes(
        scenario_mode="none", cvar_beta=None, cvar_shortfall_weight_usd_per_t=0.0))
    assert payload["total_cost"] == pytest.approx(deterministic.total_cost, rel=1e-7)


def test_check_data_without_estimates(tmp_path: Path):
    folder = data_copy(tmp_path / "data")
    for path in folder.glob("*.csv"):
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
        if not rows or "is_estimate" not in rows[0]:
            continue
        for row in rows:
            row["is_estimate"] = "0"
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        path.write_text(out.getvalue(), encoding="utf-8")
    completed = run("check-data", "--data", str(folder))
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip().endswith("valid (fingerprint "
                                             f"{load_dataset(folder).fingerprint}); "
                                             "0 estimated values.")
    assert load_dataset(folder).estimates().empty
    assert list(load_dataset(folder).estimates().columns)[:4] == ["table", "row", "key",
                                                                 "column"]
