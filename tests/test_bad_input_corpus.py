"""A corpus of malformed inputs — data files, strategy TOML, plan uploads, CLI arguments.

Every case must end in exit code 2 and one clear line on stderr that names the problem, with no
traceback; nothing is half-written (no bundle folder, no scenario CSV) and the saved runs are
untouched. Strategy settings are also fuzzed with hypothesis: every combination ends in a plan
or a clear message.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stibium.cli import main
from stibium.model import StibiumInputError, load_dataset, parse_strategy, solve
from stibium.model.store import RunStore

ROOT = Path(__file__).resolve().parents[1]


def set_cell(file: str, line: int, column: str, value: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        frame = pd.read_csv(folder / file, dtype=str, keep_default_na=False)
        frame.loc[line - 2, column] = value
        frame.to_csv(folder / file, index=False)
    return edit


def rewrite(file: str, transform: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        (folder / file).write_bytes(transform((folder / file).read_bytes()))
    return edit


DATA_CASES = {
    "latin-1 text": (rewrite("markets.csv", lambda b: b.replace(b"Antwerp", b"Anv\xe9rs")),
                     "markets.csv, line 2: not UTF-8 text"),
    "missing column": (rewrite("hubs.csv", lambda b: b.replace(b"capacity_t", b"cap", 1)),
                       "hubs.csv, column capacity_t: missing"),
    "extra column": (rewrite("powers.csv", lambda b: b.replace(b"note\n", b"note,x\n", 1)),
                     "powers.csv"),
    "NaN": (set_cell("demand.csv", 2, "demand_t", "nan"), "NaN is not allowed"),
    "negative": (set_cell("prices.csv", 3, "benchmark_usd_per_t", "-1"), "negative value"),
    "absurdly large": (set_cell("hubs.csv", 2, "capacity_t", "1e40"),
                       "out of any plausible range"),
    "duplicate key": (rewrite("countries.csv", lambda b: b + b.splitlines(keepends=True)[1]),
                      "duplicate key"),
    "unknown country": (set_cell("origins.csv", 2, "country", "Atlantis"),
                        "unknown country 'Atlantis'"),
    "unknown hub": (set_cell("routes.csv", 2, "hub", "Nowhere"), "unknown hub 'Nowhere'"),
    "unknown transit": (set_cell("routes.csv", 2, "transit", "Mordor"),
                        "unknown country 'Mordor'"),
    "empty file": (rewrite("exportable.csv", lambda b: b""), "exportable.csv: file is empty"),
    "header only": (rewrite("demand.csv", lambda b: b.splitlines(keepends=True)[0]),
                    "demand.csv: no rows"),
    "binary file": (rewrite("prices.csv", lambda b: b"\x00\x01\x02" * 10), "binary data"),
    "formula-like key": (set_cell("markets.csv", 2, "market", "=cmd|' /C calc'!A0"),
                         "looks like a spreadsheet formula"),
    "non-numeric": (set_cell("hub_fees.csv", 2, "fee_usd_per_t", "cheap"), "not a number"),
    "share above one": (set_cell("exportable.csv", 2, "exportable_share", "40"),
                        "outside [0, 1]"),
    "estimate without range": (set_cell("hubs.csv", 4, "low", ""),
                               "an estimate needs a low and a high"),
    "value outside its range": (set_cell("prices.csv", 2, "high", "1"), "outside its range"),
    "bad flag": (set_cell("hubs.csv", 2, "is_estimate", "yes"), "not a number"),
    "bad mechanism": (set_cell("event_effects.csv", 2, "mechanism", "magic"),
                      "must be 'leverage'"),
    "price multiplier below one": (set_cell("events.csv", 2, "price_multiplier", "0.5"),
                                   "price multiplier below 1"),
    "distance off the scale": (set_cell("geopolitical_distance.csv", 2, "distance", "11"),
                               "geopolitical_distance.csv, column distance, line 2"),
    "unterminated quote": (rewrite("powers.csv", lambda b: b + b'"China,unfinished\n'),
                           "powers.csv"),
    "missing file": (lambda folder: (folder / "routes.csv").unlink(), "routes.csv: file missing"),
}

STRATEGY_CASES = {
    "invalid TOML": ("name = \n", "not valid TOML"),
    "unknown key": ('name = "x"\ncolour = "red"\n', "unknown key 'colour'"),
    "cap out of range": ('name = "x"\n[caps]\norigin_share = 2\n', "outside [0, 1]"),
    "wrong type": ('name = "x"\ndemand_scale = "big"\n', "must be a number"),
    "unknown origin": ('name = "x"\n[caps.origin]\nNarnia = 0.2\n', "names unknown 'Narnia'"),
    "unknown mode": ('name = "x"\nexposure_mode = "paranoid"\n', "must be one of"),
    "periods reversed": ('name = "x"\nfirst_period = 2030\nlast_period = 2026\n',
                         "is after 'last_period'"),
    "periods outside data": ('name = "x"\nfirst_period = 2090\nlast_period = 2095\n',
                             "have no demand and price data"),
    "CVaR without scenarios": ('name = "x"\n[cvar]\nshortfall_limit = 0.1\n',
                               "CVaR settings need disruption scenarios"),
    "too many samples": ('name = "x"\n[scenarios]\nmode = "sampled"\nsamples = 1000000000\n',
                         "'scenarios.samples' must be a whole number"),
    "unknown event": ('name = "x"\n[scenarios]\nmode = "exact"\nevents = ["Meteor"]\n',
                      "names unknown 'Meteor'"),
    "not UTF-8": (b'name = "caf\xe9"\n', "not UTF-8 text"),
}


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(ROOT / "data", folder, ignore=shutil.ignore_patterns("*.py", "strategies",
                                                                         "__pycache__"))
    return folder


@pytest.fixture
def store(tmp_path: Path, monkeypatch) -> RunStore:
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    monkeypatch.setenv("STIBIUM_RUNS_URL", url)
    store = RunStore(url)
    dataset = load_dataset()
    from stibium.model import load_strategy

    strategy = load_strategy("cheapest")
    store.save(solve(dataset, strategy, evaluate_risk=False), dataset, strategy, name="keep me")
    return store


def assert_one_clear_line(capsys, expected: str) -> None:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert err.count("\n") == 0, err
    assert err.startswith("stibium: ")
    assert expected in err, err


def assert_nothing_written(tmp_path: Path, store: RunStore) -> None:
    assert not (tmp_path / "bundle").exists()
    assert not (tmp_path / "scenarios.csv").exists()
    assert not list(tmp_path.glob("*.partial*"))
    runs = store.list()
    assert list(runs["name"]) == ["keep me"]


@pytest.mark.parametrize("case", sorted(DATA_CASES))
def test_malformed_data(case, data_copy, tmp_path, store, capsys):
    edit, expected = DATA_CASES[case]
    edit(data_copy)
    code = main(["solve", "--data", str(data_copy), "--strategy", "cheapest", "--save",
                 "--bundle", str(tmp_path / "bundle"), "--scenarios-csv",
                 str(tmp_path / "scenarios.csv")])
    assert code == 2
    assert_one_clear_line(capsys, expected)
    assert_nothing_written(tmp_path, store)


@pytest.mark.parametrize("case", sorted(STRATEGY_CASES))
def test_malformed_strategy(case, tmp_path, store, capsys):
    text, expected = STRATEGY_CASES[case]
    path = tmp_path / "bad.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    code = main(["solve", "--strategy", str(path), "--save", "--bundle",
                 str(tmp_path / "bundle")])
    assert code == 2
    assert_one_clear_line(capsys, expected)
    assert_nothing_written(tmp_path, store)


PLAN_HEADER = "origin,hub,market,period,tonnes\n"
CLI_CASES = {
    "unknown command": (["frobnicate"], "invalid choice"),
    "unknown option": (["solve", "--fast"], "unrecognized arguments"),
    "data is a file": (["solve", "--data", str(ROOT / "README.md")], "data directory not found"),
    "strategy is a folder": (["solve", "--strategy", str(ROOT / "data")], "no such strategy"),
    "bad points": (["frontier", "--points", "1"], "--points must be between 2 and 200"),
    "bad limits": (["frontier", "--limits", "a,b"], "not a comma-separated list"),
    "bad availability": (["stress", "--availability", "China"], "not COUNTRY=FRACTION"),
    "availability out of range": (["stress", "--availability", "China=3"], "outside [0, 1]"),
    "onset outside horizon": (["stress", "--event", "China export ban", "--onset", "1999"],
                              "outside the plan's periods"),
    "missing plan file": (["stress", "--event", "China export ban", "--plan", "/nope.csv"],
                          "cannot be read"),
    "unknown table": (["sensitivity", "--tables", "weather"], "unknown table 'weather'"),
    "unknown saved run": (["runs", "show", "999"], "999"),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_malformed_cli_arguments(case, tmp_path, store, capsys):
    args, expected = CLI_CASES[case]
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse's own errors exit through SystemExit
        code = exit_.code
    assert code == 2
    assert_one_clear_line(capsys, expected)
    assert_nothing_written(tmp_path, store)


@pytest.mark.parametrize("text, expected", [
    (PLAN_HEADER + "Tajikistan,TALCO Gold,EU (Antwerp-Rotterdam),2026,-5\n", "column tonnes"),
    (PLAN_HEADER + "Atlantis,TALCO Gold,EU (Antwerp-Rotterdam),2026,5\n", "no open route"),
    ("origin,period\nChina,2026\n", "column hub: missing"),
    (PLAN_HEADER + "China,China smelters,EU (Antwerp-Rotterdam),2026,=1+1\n", "must be numbers"),
])
def test_malformed_plan_uploads(text, expected, tmp_path, store, capsys):
    path = tmp_path / "plan.csv"
    path.write_text(text)
    assert main(["stress", "--plan", str(path), "--event", "China export ban"]) == 2
    assert_one_clear_line(capsys, expected)
    assert_nothing_written(tmp_path, store)


def test_the_corpus_is_large_enough():
    assert len(DATA_CASES) + len(STRATEGY_CASES) + len(CLI_CASES) + 4 >= 30


KEYS = ["demand_scale", "exposure_mode", "caps.origin_share", "caps.exposure.P",
        "caps.origin.B", "risk.budget", "risk.price_usd_per_t", "stockpile.target_days",
        "max_unmet_share", "scenarios.mode", "cvar.shortfall_limit", "first_period",
        "unknown_key"]
VALUES = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5000),
                   st.sampled_from(["naive", "dependency-aware", "exact", "none", "", "=1"]),
                   st.booleans())


def as_toml(settings_: dict) -> str:
    tables: dict[str, list[str]] = {}
    top = ['name = "fuzz"']
    for key, value in settings_.items():
        if isinstance(value, float) and value != value:
            literal = "nan"
        elif isinstance(value, float) and value in (float("inf"), float("-inf")):
            literal = "inf" if value > 0 else "-inf"
        elif isinstance(value, bool):
            literal = "true" if value else "false"
        elif isinstance(value, str):
            literal = f'"{value}"'
        else:
            literal = repr(value)
        table, _, leaf = key.rpartition(".")
        (tables.setdefault(table, []) if table else top).append(f'"{leaf}" = {literal}'
                                                                 if table else
                                                                 f"{leaf} = {literal}")
    return "\n".join(top + [f"[{t}]\n" + "\n".join(lines) for t, lines in tables.items()])


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=5))
def test_any_strategy_ends_in_a_plan_or_a_clear_message(toy, settings_):
    text = as_toml(settings_)
    try:
        strategy = parse_strategy(text, source="fuzz.toml")
        result = solve(toy, strategy, evaluate_risk=False)
    except StibiumInputError as exc:
        message = str(exc)
        assert message and "\n" not in message
        return
    assert result.status in ("optimal", "infeasible")


def test_no_pickle_or_eval_in_the_code():
    pattern = re.compile(r"\b(pickle|marshal|eval|exec)\s*[.(]|yaml\.load\(")
    for folder in ("model", "ui", "stibium"):
        for path in (ROOT / folder).rglob("*.py"):
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                assert not pattern.search(line), f"{path}:{number}: {line.strip()}"
