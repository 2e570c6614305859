"""Saved runs: what is saved comes back equal, concurrent saves lose nothing, the data
fingerprint tells whether a run can be repeated, and the `stibium runs` commands.

Every test uses a store in its own temporary SQLite file (or its own PostgreSQL schema when
STIBIUM_TEST_POSTGRES_URL names a server), never the user's ~/.stibium store.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pandas as pd
import pytest

from stibium.cli import main
from stibium.model import (
    SolveResult,
    StibiumInputError,
    default_data_dir,
    load_dataset,
    load_strategy,
    solve,
)
from stibium.model.store import ENV_URL, RunStore, default_url, result_frames, result_from_dict

POSTGRES_ENV = "STIBIUM_TEST_POSTGRES_URL"
FRAMES = result_frames()
WORKERS, RUNS_PER_WORKER = 6, 5


@pytest.fixture(autouse=True)
def _never_the_users_store(tmp_path, monkeypatch):
    """A stray RunStore() in a test writes under tmp_path, not into the real home folder."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv(ENV_URL, raising=False)


@pytest.fixture(scope="module")
def solved(shipped):
    strategy = load_strategy("dependency-aware")
    return solve(shipped, strategy), strategy


@pytest.fixture(scope="module")
def solved_cheapest(shipped):
    strategy = load_strategy("cheapest")
    return solve(shipped, strategy), strategy


def _postgres_url() -> str:
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set (.ci/run starts a throwaway server for it)")
    pytest.importorskip("psycopg", reason="the PostgreSQL driver is the 'postgres' extra")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A URL to an empty store: a new SQLite file, or a new schema on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'runs.sqlite'}"
        return
    import sqlalchemy as sa

    base = _postgres_url()
    schema = f"stibium_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def assert_same_result(loaded: SolveResult, original: SolveResult) -> None:
    assert loaded.status == original.status and loaded.strategy == original.strategy
    assert loaded.total_cost == pytest.approx(original.total_cost, rel=1e-12)
    assert loaded.objective == pytest.approx(original.objective, rel=1e-12)
    assert loaded.cost_breakdown == pytest.approx(original.cost_breakdown, rel=1e-12)
    assert loaded.metrics.keys() == original.metrics.keys()
    for key, value in original.metrics.items():
        assert loaded.metrics[key] == pytest.approx(value, rel=1e-12, nan_ok=True), key
    assert {"plan", "duals", "scenarios", "stress"} <= set(FRAMES)
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(loaded, name),
                                      getattr(original, name).reset_index(drop=True),
                                      check_exact=False, rtol=1e-12, obj=name)
    assert loaded.data_fingerprint == original.data_fingerprint
    assert loaded.timings == original.timings


# --- round trips ---------------------------------------------------------------------------

def test_save_list_load_delete(store_url, solved, solved_cheapest, shipped):
    result, strategy = solved
    cheap_result, cheap = solved_cheapest
    with RunStore(store_url) as store:
        assert store.list().empty and list(store.list().columns) == [
            "id", "name", "strategy", "status", "total_cost", "data_fingerprint", "created_at"]
        first = store.save(result, shipped, strategy, name="  board   pack ")
        second = store.save(cheap_result, shipped, cheap)
        assert second > first

        table = store.list()
        assert list(table["id"]) == [first, second]
        assert list(table["name"].fillna("")) == ["board pack", ""]
        assert list(table["strategy"]) == ["dependency-aware", "cheapest"]
        assert list(table["status"]) == ["optimal", "optimal"]
        assert table["total_cost"].tolist() == pytest.approx(
            [result.total_cost, cheap_result.total_cost], rel=1e-12)
        assert set(table["data_fingerprint"]) == {shipped.fingerprint}
        assert str(table["created_at"].dt.tz) == "UTC"

        saved = store.load(first)
        assert saved.id == first and saved.name == "board pack"
        assert saved.strategy == strategy
        assert saved.record["data_fingerprint"] == shipped.fingerprint
        assert saved.record["strategy"]["toml"] == strategy.to_toml()
        assert saved.data_fingerprint == shipped.fingerprint
        assert_same_result(saved.result, result)
        assert isinstance(saved.result.plan["transit"].iloc[0], tuple)
        assert store.load(str(second)).strategy == cheap

        store.delete(first)
        assert list(store.list()["id"]) == [second]
        with pytest.raises(StibiumInputError, match=f"run {first} not found"):
            store.load(first)
        assert_same_result(store.load(second).result, cheap_result)

    with RunStore(store_url) as reopened:  # what was saved outlives the connection
        assert list(reopened.list()["id"]) == [second]


def test_unknown_and_malformed_ids(store_url, solved, shipped):
    result, strategy = solved
    with RunStore(store_url) as store:
        kept = store.save(result, shipped, strategy)
        for action in (store.load, store.delete,
                       lambda run_id: store.is_reproducible(run_id, shipped)):
            with pytest.raises(StibiumInputError, match="run 999 not found") as info:
                action(999)
            assert "\n" not in str(info.value)
            with pytest.raises(StibiumInputError, match="whole number"):
                action("abc")
        assert len(store) == 1 and store.load(kept).id == kept


def _save_runs(url: str, payload: dict, dataset, strategy, barrier, worker: int) -> None:
    """One process of the concurrency test: wait for the others, then save at once."""
    result = result_from_dict(payload)
    store = RunStore(url)
    barrier.wait(timeout=120)
    for run in range(RUNS_PER_WORKER):
        store.save(result, dataset, strategy, name=f"worker {worker} run {run}")
    store.close()


def test_concurrent_saves_lose_nothing(store_url, solved, shipped):
    result, strategy = solved
    payload = result.to_dict()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    processes = [context.Process(target=_save_runs,
                                 args=(store_url, payload, shipped, strategy, barrier, worker))
                 for worker in range(WORKERS)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=240)
    assert [p.exitcode for p in processes] == [0] * WORKERS

    with RunStore(store_url) as store:
        table = store.list()
        assert len(table) == WORKERS * RUNS_PER_WORKER
        assert table["id"].is_unique
        expected = {f"worker {w} run {r}" for w in range(WORKERS)
                    for r in range(RUNS_PER_WORKER)}
        assert set(table["name"]) == expected
        for run_id in table["id"]:
            saved = store.load(int(run_id))
            assert saved.result.total_cost == pytest.approx(result.total_cost, rel=1e-12)
            assert len(saved.result.plan) == len(result.plan)


def test_reproducible_only_on_the_same_data(solved, shipped, tmp_path):
    result, strategy = solved
    copy = tmp_path / "data"
    shutil.copytree(default_data_dir(), copy)
    with RunStore(f"sqlite:///{tmp_path / 'runs.sqlite'}") as store:
        run_id = store.save(result, shipped, strategy)
        assert store.is_reproducible(run_id, shipped)
        assert store.is_reproducible(run_id, load_dataset(copy))  # same bytes, other folder
        prices = copy / "prices.csv"
        lines = prices.read_text(encoding="utf-8").splitlines(keepends=True)
        header, first = lines[0].split(","), lines[1].split(",")
        column = header.index("benchmark_usd_per_t")
        first[column] = str(float(first[column]) + 1.0)
        prices.write_text("".join([lines[0], ",".join(first), *lines[2:]]), encoding="utf-8")
        changed = load_dataset(copy)
        assert changed.fingerprint != shipped.fingerprint
        assert not store.is_reproducible(run_id, changed)
        assert store.is_reproducible(run_id, shipped)


def test_result_from_dict_restores_an_empty_result():
    original = SolveResult(status="infeasible", strategy="x", message="no optimal plan")
    restored = result_from_dict(json.loads(json.dumps(original.to_dict())))
    assert restored.status == "infeasible" and restored.message == "no optimal plan"
    assert math.isnan(restored.total_cost) and math.isnan(restored.objective)
    assert list(restored.plan.columns) == list(original.plan.columns) and restored.plan.empty
    assert restored.duals.empty and restored.scenarios.empty


def test_stored_as_text_never_pickled(solved, shipped, tmp_path):
    result, strategy = solved
    path = tmp_path / "runs.sqlite"
    with RunStore(f"sqlite:///{path}") as store:
        store.save(result, shipped, strategy)
    connection = sqlite3.connect(path)
    try:
        row = connection.execute("SELECT strategy_toml, record_json, result_json "
                                 "FROM stibium_runs").fetchone()
        types = connection.execute("SELECT typeof(result_json), typeof(record_json) "
                                   "FROM stibium_runs").fetchone()
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        connection.close()
    assert types == ("text", "text")
    assert json.loads(row[2])["total_cost"] == pytest.approx(result.total_cost, rel=1e-12)
    assert json.loads(row[1])["data_fingerprint"] == shipped.fingerprint
    assert row[0] == strategy.to_toml()
    assert mode == "wal"


def test_waits_for_a_writer_holding_the_lock(solved, shipped, tmp_path):
    import threading

    result, strategy = solved
    path = tmp_path / "runs.sqlite"
    with RunStore(f"sqlite:///{path}") as store:
        blocker = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        threading.Timer(1.0, lambda: blocker.execute("COMMIT")).start()
        run_id = store.save(result, shipped, strategy)  # waits about a second, then saves
        blocker.close()
        assert list(store.list()["id"]) == [run_id]


def test_default_url(tmp_path, monkeypatch):
    home = Path(os.environ["HOME"])
    assert default_url() == f"sqlite:///{home / '.stibium' / 'runs.sqlite'}"
    with RunStore() as store:
        assert len(store) == 0
    assert (home / ".stibium" / "runs.sqlite").is_file()
    monkeypatch.setenv(ENV_URL, f"sqlite:///{tmp_path / 'env.sqlite'}")
    with RunStore() as store:
        assert store.url.endswith("env.sqlite")


@pytest.mark.parametrize("url, message", [
    ("not a url", "not a database URL"),
    ("nosuchdb://x", "no database driver"),
])
def test_bad_store_urls(url, message):
    with pytest.raises(StibiumInputError, match=message):
        RunStore(url)


def test_bad_names(solved, shipped, tmp_path):
    result, strategy = solved
    with RunStore(f"sqlite:///{tmp_path / 'runs.sqlite'}") as store:
        with pytest.raises(StibiumInputError, match="at most 200"):
            store.save(result, shipped, strategy, name="x" * 201)
        assert len(store) == 0


# --- command line ------------------------------------------------------------------------------

def run_cli(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, ENV_URL: url}
    return subprocess.run([sys.executable, "-m", "stibium", *args], capture_output=True,
                          text=True, timeout=300, env=env)


def test_cli_save_list_show_delete(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    saved = run_cli(url, "solve", "--strategy", "cheapest", "--save", "--name", "first try",
                    "--json")
    assert saved.returncode == 0, saved.stderr
    payload = json.loads(saved.stdout)
    run_id = payload["run_id"]
    assert f"saved as run {run_id}" in saved.stderr

    listed = run_cli(url, "runs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)["runs"]
    assert [(r["id"], r["name"], r["strategy"]) for r in rows] == \
        [(run_id, "first try", "cheapest")]
    assert rows[0]["total_cost"] == pytest.approx(payload["total_cost"], rel=1e-12)

    missing = run_cli(url, "runs", "show", str(run_id + 41))
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "not found" in missing.stderr
    assert "Traceback" not in missing.stderr

    with RunStore(url) as store:
        assert store.load(run_id).result.total_cost == pytest.approx(payload["total_cost"])


def test_cli_runs_commands_in_process(tmp_path, monkeypatch, capsys, solved, solved_cheapest,
                                      shipped):
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    monkeypatch.setenv(ENV_URL, url)
    with RunStore(url) as store:
        first = store.save(solved[0], shipped, solved[1], name="aware")
        second = store.save(solved_cheapest[0], shipped, solved_cheapest[1])

    assert main(["runs", "list"]) == 0
    out = capsys.readouterr().out
    assert "aware" in out and "cheapest" in out and "$2,3" in out

    assert main(["runs", "show", str(first), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["run_id"] == first and shown["name"] == "aware"
    assert shown["total_cost"] == pytest.approx(solved[0].total_cost, rel=1e-12)
    assert shown["data_unchanged"] is True
    assert shown["run_record"]["data_fingerprint"] == shipped.fingerprint

    assert main(["runs", "show", str(first)]) == 0
    out = capsys.readouterr().out
    assert f'Run {first} "aware"' in out and "unchanged" in out and "Total cost: $" in out

    assert main(["runs", "compare", str(first), str(second), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["runs"]
    assert [r["run_id"] for r in rows] == [first, second]
    assert rows[0]["total_cost_usd"] == pytest.approx(solved[0].total_cost, rel=1e-12)
    assert rows[0]["China effective"] <= rows[0]["China cap"] + 1e-9
    assert rows[1]["China effective"] > rows[0]["China effective"]
    assert main(["runs", "compare", str(first), str(second)]) == 0
    assert f"#{first} aware" in capsys.readouterr().out

    assert main(["runs", "delete", str(second)]) == 0
    assert f"Deleted run {second}" in capsys.readouterr().out
    assert main(["runs", "delete", str(second)]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["runs", "compare", str(first), str(second)]) == 2
    assert main(["runs", "list", "--json"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)["runs"]] == [first]

    other = f"sqlite:///{tmp_path / 'other.sqlite'}"  # --store overrides the environment
    assert main(["runs", "list", "--json", "--store", other]) == 0
    assert json.loads(capsys.readouterr().out)["runs"] == []


@pytest.mark.parametrize("args, expected", [
    (["runs", "show", "abc"], "invalid int value"),
    (["runs", "delete"], "required"),
    (["runs"], "required"),
    (["runs", "list", "--store", "not a url"], "not a database URL"),
])
def test_cli_bad_runs_input_is_one_line(args, expected, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(ENV_URL, f"sqlite:///{tmp_path / 'cli.sqlite'}")
    with pytest.raises(SystemExit) as info:
        code = main(args)
        raise SystemExit(code)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert expected in err and err.strip().count("\n") == 0


def test_cli_bundle(tmp_path, capsys):
    folder = tmp_path / "bundle"
    assert main(["solve", "--strategy", "cheapest", "--bundle", str(folder), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["bundle"] == str(folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["model.lp", "result.json", "result.xlsx", "run_record.json", "strategy.toml"])
    record = json.loads((folder / "run_record.json").read_text())
    assert record["strategy"]["name"] == "cheapest"
    # A second bundle into the same folder is refused before solving.
    assert main(["solve", "--strategy", "cheapest", "--bundle", str(folder)]) == 2
    assert "not empty" in capsys.readouterr().err
