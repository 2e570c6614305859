"""Exports: the workbook, CSV and bundle carry the result's exact numbers, and no text written
to a spreadsheet can run as a formula."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from stibium.model import SolveResult, StibiumInputError, load_strategy, parse_strategy, solve
from stibium.model import export as export_module
from stibium.model.export import (
    BUNDLE_FILES,
    RESULT_SHEETS,
    bundle_zip,
    escape_cell,
    read_workbook,
    result_sheets,
    run_record,
    write_bundle,
    write_csv,
    write_workbook,
)
from stibium.model.highs import quiet_highs

INJECTIONS = ['=HYPERLINK("http://evil.example","click")', "+1", "-2", "@x", "\tx", "\rx"]


@pytest.fixture(scope="module")
def solved(shipped):
    strategy = load_strategy("dependency-aware")
    return solve(shipped, strategy), strategy


@pytest.fixture(scope="module")
def bundle(solved, shipped, tmp_path_factory):
    result, strategy = solved
    folder = tmp_path_factory.mktemp("export") / "bundle"
    return write_bundle(result, shipped, strategy, folder)


def test_bundle_has_every_file(bundle):
    assert set(bundle) == set(BUNDLE_FILES)
    folder = next(iter(bundle.values())).parent
    assert sorted(p.name for p in folder.iterdir()) == sorted(BUNDLE_FILES)
    assert all(path.stat().st_size > 0 for path in bundle.values())


def test_workbook_round_trips_the_numbers(bundle, solved):
    result, _ = solved
    sheets = read_workbook(bundle["result.xlsx"])
    assert list(sheets)[:7] == list(RESULT_SHEETS[:7]) and list(sheets)[-1] == "inputs"
    assert {"unmet", "stock", "shares"} <= set(sheets)

    plan = sheets["plan"]
    assert len(plan) == len(result.plan)
    assert list(plan["route"]) == list(result.plan["route"])
    assert list(plan["period"]) == list(result.plan["period"])
    assert plan["tonnes"].tolist() == pytest.approx(result.plan["tonnes"].tolist(), rel=1e-9)
    assert plan["cost_usd"].tolist() == pytest.approx(result.plan["cost_usd"].tolist(),
                                                      rel=1e-9)
    transit = ["" if pd.isna(v) else v for v in plan["transit"]]
    assert transit == [";".join(t) for t in result.plan["transit"]]

    metrics = dict(zip(sheets["metrics"]["name"], sheets["metrics"]["value"], strict=True))
    assert metrics["total_cost"] == pytest.approx(result.total_cost, rel=1e-9)
    for name, value in result.metrics.items():
        assert metrics[name] == pytest.approx(value, rel=1e-9, nan_ok=True), name

    breakdown = dict(zip(sheets["cost_breakdown"]["item"], sheets["cost_breakdown"]["cost_usd"],
                         strict=True))
    assert breakdown == pytest.approx(result.cost_breakdown, rel=1e-9)

    duals = sheets["duals"]
    assert len(duals) == len(result.duals) > 0
    assert list(duals["constraint"]) == list(result.duals["constraint"])
    assert duals["value"].tolist() == pytest.approx(result.duals["value"].tolist(), rel=1e-9)
    assert duals["dual"].tolist() == pytest.approx(result.duals["dual"].tolist(), rel=1e-9)

    exposure = sheets["exposure"].set_index("power")
    for row in result.exposure.itertuples(index=False):
        assert exposure.at[row.power, "effective"] == pytest.approx(row.effective, rel=1e-9)
    assert len(sheets["scenarios"]) == len(result.scenarios)
    assert sheets["stress"]["shortfall_t"].tolist() == pytest.approx(
        result.stress["shortfall_t"].tolist(), rel=1e-9)


def test_inputs_sheet_holds_strategy_and_estimates(bundle, shipped):
    inputs = read_workbook(bundle["result.xlsx"])["inputs"]
    strategy = inputs[inputs["section"] == "strategy"].set_index("setting")["value"]
    assert strategy["name"] == "dependency-aware"
    assert strategy["caps.exposure.China"] == pytest.approx(0.3)
    assert strategy["caps.origin_share"] == pytest.approx(0.4)
    data = inputs[inputs["section"] == "data"].set_index("setting")["value"]
    assert data["fingerprint"] == shipped.fingerprint
    estimates = inputs[inputs["section"] == "estimate"]
    assert len(estimates) == len(shipped.estimates()) > 0
    assert estimates["low"].notna().all() and estimates["high"].notna().all()


def test_json_and_run_record(bundle, solved, shipped):
    result, strategy = solved
    payload = json.loads(bundle["result.json"].read_text(encoding="utf-8"))
    assert payload["status"] == "optimal"
    assert payload["total_cost"] == pytest.approx(result.total_cost, rel=1e-9)
    assert sum(r["tonnes"] for r in payload["plan"]) == pytest.approx(result.plan["tonnes"].sum())
    record = json.loads(bundle["run_record.json"].read_text(encoding="utf-8"))
    assert payload["run_record"]["data_fingerprint"] == record["data_fingerprint"] \
        == shipped.fingerprint
    assert record["strategy"]["name"] == "dependency-aware"
    assert parse_strategy(record["strategy"]["toml"]) == strategy
    assert parse_strategy(bundle["strategy.toml"].read_text(encoding="utf-8")) == strategy
    assert {"stibium", "pyomo", "highspy", "pandas", "python"} <= record["versions"].keys()
    assert all(record["versions"][k] for k in ("stibium", "pyomo", "highspy", "python"))
    assert record["scenarios"]["seed"] == strategy.scenario_seed
    assert record["created_at"].endswith("Z")
    assert set(record["timings"]) == {"build_s", "solve_s", "report_s"}


def test_lp_file_names_the_constraints_and_solves_to_the_same_optimum(bundle, solved):
    result, _ = solved
    text = bundle["model.lp"].read_text(encoding="utf-8")
    for family in ("exposure_cap", "demand_balance", "origin_availability", "origin_share"):
        assert family in text, family
    highs = quiet_highs()
    highs.readModel(str(bundle["model.lp"]))
    highs.run()
    assert highs.getModelStatus().name == "kOptimal"
    assert highs.getInfo().objective_function_value == pytest.approx(result.objective, rel=1e-9)


def test_zip_holds_the_same_files(solved, shipped):
    result, strategy = solved
    archive = zipfile.ZipFile(io.BytesIO(bundle_zip(result, shipped, strategy)))
    assert sorted(archive.namelist()) == sorted(BUNDLE_FILES)
    record = json.loads(archive.read("run_record.json"))
    assert record["data_fingerprint"] == shipped.fingerprint
    workbook = read_workbook(io.BytesIO(archive.read("result.xlsx")))
    assert workbook["plan"]["tonnes"].sum() == pytest.approx(result.plan["tonnes"].sum())


def test_bundle_refuses_a_non_empty_folder(solved, shipped, tmp_path):
    result, strategy = solved
    folder = tmp_path / "taken"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(StibiumInputError, match="not empty"):
        write_bundle(result, shipped, strategy, folder)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(StibiumInputError, match="not a folder"):
        write_bundle(result, shipped, strategy, afile)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert set(write_bundle(result, shipped, strategy, empty)) == set(BUNDLE_FILES)


def test_a_failing_bundle_leaves_nothing_behind(solved, shipped, tmp_path, monkeypatch):
    result, strategy = solved

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(export_module, "_write_model_lp", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_bundle(result, shipped, strategy, tmp_path / "bundle")
    assert list(tmp_path.iterdir()) == []


def test_run_record_refuses_another_dataset(solved, toy):
    result, strategy = solved
    with pytest.raises(StibiumInputError, match="solved on data"):
        run_record(result, toy, strategy)


# --- formula injection -------------------------------------------------------------------------

@pytest.mark.parametrize("text", INJECTIONS)
def test_escape_cell_quotes_formula_starts(text):
    assert escape_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["China", "", "a=b", "'=quoted already", 1, -2, -2.5, 0.0,
                                   None, True])
def test_escape_cell_leaves_the_rest(value):
    assert escape_cell(value) is value


def _poisoned(solved):
    """The real result and strategy with attacker-chosen text in plan cells, a column header
    and the strategy's name and description."""
    result, strategy = solved
    plan = result.plan.head(len(INJECTIONS)).copy()
    plan["origin"] = INJECTIONS
    plan["transit"] = [("=1+1", "@SUM(A1)")] * len(plan)
    plan["=cmd|' /C calc'!A0"] = 1.0
    evil = strategy.with_changes(name="@evil", description=INJECTIONS[0])
    return plan, evil


def test_injected_text_stays_text_in_the_workbook(solved, shipped, tmp_path):
    plan, evil = _poisoned(solved)
    result, _ = solved
    sheets = result_sheets(result, shipped, evil)
    sheets["plan"] = plan
    path = tmp_path / "poisoned.xlsx"
    write_workbook(sheets, path)

    workbook = load_workbook(path)
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    plan_sheet = workbook["plan"]
    header = [c.value for c in plan_sheet[1]]
    assert "'=cmd|' /C calc'!A0" in header
    origin = header.index("origin") + 1
    cells = [plan_sheet.cell(row=r, column=origin) for r in range(2, 2 + len(INJECTIONS))]
    for cell, text in zip(cells, INJECTIONS, strict=True):
        assert cell.data_type == "s"
        assert cell.value == "'" + _as_xml_reads(text)
    transit = plan_sheet.cell(row=2, column=header.index("transit") + 1)
    assert transit.data_type == "s" and transit.value == "'=1+1;@SUM(A1)"
    tonnes = plan_sheet.cell(row=2, column=header.index("tonnes") + 1)
    assert tonnes.data_type == "n" and tonnes.value == pytest.approx(plan["tonnes"].iloc[0])

    inputs = workbook["inputs"]
    values = {(r[1].value, r[2].value) for r in inputs.iter_rows(min_row=2)}
    assert ("name", "'@evil") in values
    assert ("description", "'" + INJECTIONS[0]) in values

    back = read_workbook(path, unescape=True)["plan"]
    assert list(back["origin"])[:4] == INJECTIONS[:4]


def _as_xml_reads(text: str) -> str:
    """An XML parser reads a carriage return in text as a line feed."""
    return text.replace("\r", "\n")


def test_injected_text_stays_text_in_the_csv(solved, tmp_path):
    plan, _ = _poisoned(solved)
    path = tmp_path / "plan.csv"
    write_csv(plan, path)
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    assert "'=cmd|' /C calc'!A0" in header
    origins = [row[header.index("origin")] for row in body]
    assert origins == ["'" + text for text in INJECTIONS]
    assert all(row[header.index("transit")] == "'=1+1;@SUM(A1)" for row in body)
    tonnes = [float(row[header.index("tonnes")]) for row in body]
    assert tonnes == pytest.approx(plan["tonnes"].tolist(), rel=1e-12)
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    assert not any(cell.startswith("-") for row in rows for cell in row
                   if not _is_number(cell))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_writes_are_atomic_and_name_the_file(tmp_path, monkeypatch):
    frame = pd.DataFrame({"a": [1, 2]})
    target = tmp_path / "out.csv"
    target.write_text("old")

    def broken(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(StibiumInputError, match="out.csv: cannot be written"):
        write_csv(frame, target)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    monkeypatch.undo()
    with pytest.raises(StibiumInputError, match="does not exist"):
        write_workbook({"a": frame}, tmp_path / "missing" / "x.xlsx")
    write_csv(frame, target)
    assert target.read_text().splitlines() == ["a", "1", "2"]


def test_workbook_sheet_names_are_made_valid(tmp_path):
    frame = pd.DataFrame({"x": [1]})
    path = tmp_path / "names.xlsx"
    write_workbook({"a/b": frame, "A/B": frame, "x" * 40: frame}, path)
    names = list(read_workbook(path))
    assert len(names) == 3 and len(set(n.lower() for n in names)) == 3
    assert all(len(n) <= 31 and "/" not in n for n in names)


def test_bundle_path_may_be_relative(solved, shipped, tmp_path, monkeypatch):
    result, strategy = solved
    monkeypatch.chdir(tmp_path)
    paths = write_bundle(result, shipped, strategy, "rel")
    assert Path("rel/result.json").is_file() and paths["result.json"].is_file()


def test_bundle_of_a_result_without_a_plan(shipped, tmp_path):
    strategy = load_strategy("dependency-aware")
    result = SolveResult(status="infeasible", strategy=strategy.name,
                         data_fingerprint=shipped.fingerprint, message="no optimal plan")
    paths = write_bundle(result, shipped, strategy, tmp_path / "bundle")
    sheets = read_workbook(paths["result.xlsx"])
    assert set(RESULT_SHEETS) <= set(sheets) and sheets["plan"].empty
    assert list(sheets["plan"].columns) == list(result.plan.columns)
    payload = json.loads(paths["result.json"].read_text(encoding="utf-8"))
    assert payload["status"] == "infeasible" and payload["total_cost"] is None
    assert "exposure_cap" in paths["model.lp"].read_text(encoding="utf-8")
