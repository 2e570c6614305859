"""The command line: the JSON contract, readable output, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stibium.cli import main
from stibium.model import load_strategy, solve


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stibium", *args], capture_output=True,
                          text=True, timeout=300)


def test_solve_json_contract(shipped):
    completed = run("solve", "--strategy", "dependency-aware", "--json")
    assert completed.returncode == 0, completed.stderr
    payload = json.loads(completed.stdout)
    assert {"status", "total_cost", "plan", "metrics", "duals"} <= payload.keys()
    assert payload["status"] == "optimal"
    api = solve(shipped, load_strategy("dependency-aware"))
    assert payload["total_cost"] == pytest.approx(api.total_cost, rel=1e-9)
    assert sum(row["tonnes"] for row in payload["plan"]) == pytest.approx(api.plan["tonnes"].sum())
    assert set(payload["plan"][0]) >= {"origin", "hub", "market", "period", "tonnes"}
    assert payload["metrics"]["effective_hhi"] == pytest.approx(api.metrics["effective_hhi"])
    for row in payload["duals"]:
        assert {"constraint", "index", "value", "unit", "meaning"} <= row.keys()


def test_solve_prints_a_readable_plan(capsys):
    assert main(["solve", "--strategy", "cheapest"]) == 0
    out = capsys.readouterr().out
    assert "Strategy: cheapest" in out and "Total cost: $" in out
    assert "Exposure per power" in out and "Plan (tonnes" in out


def test_compare_shows_the_headline(capsys):
    assert main(["compare", "naive-diversified", "dependency-aware", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["strategies"]
    by_name = {row["strategy"]: row for row in rows}
    assert set(by_name) == {"naive-diversified", "dependency-aware"}
    for row in rows:
        assert {"total_cost_usd", "China naive", "China effective", "Tajikistan share"} <= \
            row.keys()
    # Both strategies cap China at the same level, each in its own terms.
    aware = by_name["dependency-aware"]
    assert aware["China effective"] <= aware["China cap"] + 1e-9
    naive = by_name["naive-diversified"]
    assert naive["China naive"] <= naive["China cap"] + 1e-9


@pytest.mark.parametrize("args, expected", [
    (["solve", "--strategy", "no-such-strategy"], "no such strategy file"),
    (["solve", "--data", "/nonexistent/dir"], "data directory not found"),
    (["solve", "--bogus"], "unrecognized arguments"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(args, expected):
    completed = run(*args)
    assert completed.returncode == 2
    assert expected in completed.stderr
    assert completed.stderr.strip().count("\n") == 0
    assert "Traceback" not in completed.stderr


def test_bad_strategy_file_names_the_key(tmp_path: Path):
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\n[caps]\norigin_share = 1.5\n')
    completed = run("solve", "--strategy", str(path))
    assert completed.returncode == 2
    assert completed.stderr.strip() == ("stibium: mine.toml: 'caps.origin_share' = 1.5 is "
                                        "outside [0, 1] (write 0.3 for 30%)")


def test_unknown_strategy_key(tmp_path: Path):
    path = tmp_path / "typo.toml"
    path.write_text('name = "typo"\n[caps]\norigin_shares = 0.3\n')
    completed = run("solve", "--strategy", str(path))
    assert completed.returncode == 2
    assert "unknown key 'caps.origin_shares'" in completed.stderr


def test_strategy_naming_an_unknown_origin(tmp_path: Path):
    path = tmp_path / "atlantis.toml"
    path.write_text('name = "atlantis"\n[caps.origin]\nAtlantis = 0.3\n')
    completed = run("solve", "--strategy", str(path))
    assert completed.returncode == 2
    assert "'caps.origin' names unknown 'Atlantis'" in completed.stderr


def test_bad_data_directory_names_file_and_line(tmp_path: Path, toy_dir: Path):
    hubs = toy_dir / "hubs.csv"
    hubs.write_text(hubs.read_text().replace("HA,A,1000", "HA,A,much"))
    completed = run("solve", "--data", str(toy_dir), "--strategy", "cheapest")
    assert completed.returncode == 2
    assert completed.stderr.strip() == ("stibium: hubs.csv, column capacity_t, line 2 (hub=HA): "
                                        "not a number: 'much'")


def test_own_data_directory(toy_dir: Path, capsys):
    strategy = toy_dir.parent / "toy.toml"
    strategy.write_text('name = "toy"\nexposure_mode = "naive"\n[caps.exposure]\nP = 0.2\n')
    assert main(["solve", "--data", str(toy_dir), "--strategy", str(strategy), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_cost"] == pytest.approx(1040.0)


def test_strategies_lists_descriptions(capsys):
    assert main(["strategies", "--json"]) == 0
    names = {row["name"] for row in json.loads(capsys.readouterr().out)}
    assert {"cheapest", "naive-diversified", "dependency-aware"} <= names


def test_check_data_lists_estimates(capsys):
    assert main(["check-data"]) == 0
    assert "estimated values" in capsys.readouterr().out


def test_no_feasible_plan_exits_3_with_the_explanation(tmp_path: Path):
    path = tmp_path / "hard.toml"
    path.write_text('name = "hard"\nmax_unmet_share = 0.0\n[caps.exposure]\nChina = 0.1\n')
    completed = run("solve", "--strategy", str(path))
    assert completed.returncode == 3
    assert "no feasible plan: raise" in completed.stdout
    assert completed.stderr.strip().startswith("stibium: no feasible plan: raise")
    assert completed.stderr.strip().count("\n") == 0


def test_frontier_cli_json(toy_dir: Path):
    strategy = toy_dir.parent / "toy.toml"
    strategy.write_text('name = "toy"\nexposure_mode = "naive"\n')
    completed = run("frontier", "--data", str(toy_dir), "--strategy", str(strategy), "--risk",
                    "exposure:P", "--limits", "1,0.2,0", "--json")
    assert completed.returncode == 0, completed.stderr
    payload = json.loads(completed.stdout)
    objectives = [p["objective"] for p in payload["points"]]
    # Unit costs: B→HP 100 (naively exposed), B→HA 105: 1000, 2·100 + 8·105, 10·105.
    assert objectives == pytest.approx([1000.0, 1040.0, 1050.0])
    assert all(p["plan"] for p in payload["points"])
    bad = run("frontier", "--data", str(toy_dir), "--strategy", str(strategy), "--risk", "x")
    assert bad.returncode == 2 and "use cvar" in bad.stderr


def test_sensitivity_cli_json(toy_dir: Path):
    strategy = toy_dir.parent / "toy.toml"
    strategy.write_text('name = "toy"\n')
    completed = run("sensitivity", "--data", str(toy_dir), "--strategy", str(strategy), "--json")
    assert completed.returncode == 0, completed.stderr
    payload = json.loads(completed.stdout)
    assert payload["base_cost"] == pytest.approx(1000.0)
    assert payload["parameters"] == []  # the toy data has no estimates


def test_compare_exports_csv_and_xlsx(tmp_path: Path, capsys):
    from stibium.model.export import read_workbook

    csv_path, xlsx_path = tmp_path / "kpis.csv", tmp_path / "kpis.xlsx"
    assert main(["compare", "cheapest", "min-cvar", "--csv", str(csv_path), "--xlsx",
                 str(xlsx_path)]) == 0
    assert "Plan differences" in capsys.readouterr().out
    assert "total_cost_usd" in csv_path.read_text().splitlines()[0]
    sheets = read_workbook(xlsx_path)
    assert set(sheets) == {"kpis", "plan_diff"}
    assert list(sheets["kpis"]["strategy"]) == ["cheapest", "min-cvar"]
    assert not sheets["plan_diff"].empty
