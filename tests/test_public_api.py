"""The public API: `stibium.model` is all the CLI and the app import from the core, every name
it exports is documented, datasets load from memory exactly as from files, and a plan CSV is
read against a dataset and a strategy."""

from __future__ import annotations

import ast
import inspect
import io
import re
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import stibium.model as sm
from stibium.model import DataError, Strategy, load_dataset, load_strategy, read_plan_csv, solve
from tests.app_helpers import APP, data_copy, malformed_prices, raised_prices
from tests.conftest import toy_tables, write_tables

ROOT = Path(__file__).resolve().parents[1]
# Each folder that uses the API, and the package its files install into (for relative imports).
CLIENTS = {ROOT / "stibium": "stibium", ROOT / "ui": "stibium.ui",
           ROOT / "ui" / "views": "stibium.ui.views"}


# --- the CLI and the UI import only `stibium.model` -------------------------------------------

def submodule_imports(source: str, package: str) -> list[str]:
    """`line: import` for every import in `source` (inside functions too) that reaches into a
    submodule of stibium.model, or takes a name `stibium.model` does not export."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {alias.name}" for alias in node.names
                      if alias.name.startswith("stibium.model.")]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([module] if module else []))
            names = [alias.name for alias in node.names]
            if module.startswith("stibium.model."):
                found.append(f"{node.lineno}: from {module} import {', '.join(names)}")
            elif module == "stibium.model":
                outside = [n for n in names if n not in sm.__all__]
                if outside:
                    found.append(f"{node.lineno}: from stibium.model import {', '.join(outside)}")
    return found


def client_files() -> list[tuple[Path, str]]:
    return [(path, package) for folder, package in CLIENTS.items()
            for path in sorted(folder.glob("*.py"))]


def test_the_cli_and_the_ui_import_nothing_but_stibium_model() -> None:
    files = client_files()
    assert any(p.name == "cli.py" for p, _ in files) and any(p.name == "compute.py"
                                                                for p, _ in files)
    offending = [f"{path.relative_to(ROOT)}:{hit}" for path, package in files
                 for hit in submodule_imports(path.read_text(encoding="utf-8"), package)]
    assert offending == []


@pytest.mark.parametrize("source", [
    "from stibium.model.solve import solve\n",
    "import stibium.model.store\n",
    "import stibium.model.export as export\n",
    "def run():\n    if True:\n        from stibium.model.errors import DataError\n",
    "from stibium.model import store\n",                  # a submodule through the package
    "from stibium.model import _TOML_KEYS\n",             # a name the API does not export
    "from ...model.frontier import frontier\n",          # relative, from ui/views
])
def test_the_import_check_catches_each_way_into_a_submodule(source: str) -> None:
    assert len(submodule_imports(source, "stibium.ui.views")) == 1


@pytest.mark.parametrize("source", [
    "from stibium.model import load_dataset, solve\n",
    "import stibium.model as sm\n",
    "import stibium.model\n",
    "from stibium.ui import compute\n",
])
def test_the_import_check_lets_the_public_api_through(source: str) -> None:
    assert submodule_imports(source, "stibium.ui.views") == []


# --- every exported name exists and is documented ---------------------------------------------

def documented_constants() -> set[str]:
    """Names described in the package docstring's Constants section (name, then an indented
    description)."""
    section = sm.__doc__.split("Constants\n---------\n", 1)[1]
    return set(re.findall(r"^([A-Z][A-Z_]+)\n    \S", section, flags=re.MULTILINE))


def test_every_public_name_exists_and_is_documented() -> None:
    assert len(sm.__all__) == len(set(sm.__all__))
    undocumented = []
    for name in sm.__all__:
        value = getattr(sm, name)  # AttributeError: exported but missing
        assert not inspect.ismodule(value), f"{name} is a module, not an API name"
        if inspect.isclass(value) or callable(value):
            doc = value.__doc__ or ""
            # A dataclass without a docstring gets its signature as __doc__: not documentation.
            if not doc.strip() or doc.startswith(f"{value.__name__}("):
                undocumented.append(name)
        elif name not in documented_constants():
            undocumented.append(name)
    assert undocumented == []


def test_the_api_groups_its_names_by_pipeline_step() -> None:
    source = (ROOT / "model" / "__init__.py").read_text(encoding="utf-8")
    listing = source.split("__all__ = [", 1)[1].split("]", 1)[0]
    groups = [line.strip("# ").split(":")[0] for line in listing.splitlines()
              if line.strip().startswith("#")]
    assert groups == ["Inputs", "Strategies", "Solve and results", "Studies", "Outputs",
                      "Errors"]


# --- datasets from memory ---------------------------------------------------------------------

def shipped_bytes() -> dict[str, bytes]:
    folder = sm.default_data_dir()
    return {name: (folder / spec.file).read_bytes() for name, spec in sm.TABLES.items()}


def assert_same_tables(a: sm.Dataset, b: sm.Dataset) -> None:
    assert list(a.tables) == list(b.tables)
    for name in a.tables:
        pd.testing.assert_frame_equal(a[name], b[name])


def test_every_table_in_memory_equals_the_folder(shipped, tmp_path: Path) -> None:
    # No folder is read when every table is given: a missing one is no error.
    memory = load_dataset(tmp_path / "nowhere", tables=shipped_bytes())
    assert memory.fingerprint == shipped.fingerprint
    assert_same_tables(memory, shipped)


def test_a_table_in_memory_equals_the_same_bytes_on_disk(toy_dir: Path) -> None:
    base = load_dataset(toy_dir)
    prices = (toy_dir / "prices.csv").read_text(encoding="utf-8").replace(",100,", ",120,")
    replaced = toy_dir.parent / "replaced"
    write_tables(replaced, toy_tables())
    (replaced / "prices.csv").write_text(prices, encoding="utf-8")
    from_disk = load_dataset(replaced)
    in_memory = load_dataset(toy_dir, tables={"prices": prices.encode()})
    assert in_memory.fingerprint == from_disk.fingerprint != base.fingerprint
    assert_same_tables(in_memory, from_disk)
    assert in_memory["prices"]["benchmark_usd_per_t"].tolist() == [120.0]
    assert in_memory.directory == toy_dir  # the base the other tables came from


def test_a_frame_replaces_a_table_and_the_fingerprint_covers_its_values(shipped) -> None:
    prices = shipped["prices"].copy()
    same = load_dataset(tables={"prices": prices})
    assert_same_tables(same, shipped)
    prices.loc[0, "benchmark_usd_per_t"] = prices.loc[0, "low"]
    cheaper = load_dataset(tables={"prices": prices})
    assert cheaper["prices"].at[0, "benchmark_usd_per_t"] == prices.loc[0, "low"]
    assert cheaper.fingerprint != same.fingerprint
    assert load_dataset(tables={"prices": prices.copy()}).fingerprint == cheaper.fingerprint
    # A transit path (a tuple in a loaded frame) survives the trip.
    assert_same_tables(load_dataset(tables={"routes": shipped["routes"]}), shipped)


def folder_error(tmp_path: Path, name: str, raw: bytes) -> str:
    with pytest.raises(DataError) as raised:
        load_dataset(data_copy(tmp_path / "bad", {name: raw}))
    return str(raised.value)


def test_a_bad_value_in_memory_gives_the_files_message(tmp_path: Path) -> None:
    expected = folder_error(tmp_path, "prices", malformed_prices())
    assert expected.startswith("prices.csv, column benchmark_usd_per_t, line 2")
    with pytest.raises(DataError) as from_bytes:
        load_dataset(tables={"prices": malformed_prices()})
    assert str(from_bytes.value) == expected
    frame = pd.read_csv(io.BytesIO(malformed_prices()), dtype=str, keep_default_na=False)
    with pytest.raises(DataError) as from_frame:
        load_dataset(tables={"prices": frame})
    assert str(from_frame.value) == expected


@pytest.mark.parametrize(("raw", "start"), [
    (b"", "prices.csv: file is empty"),
    (b"period,benchmark_usd_per_t\n2026,1\n", "prices.csv, column source: missing"),
    (b"period\0,x\n", "prices.csv: binary data (NUL bytes)"),
])
def test_other_bad_tables_in_memory_give_the_files_message(tmp_path: Path, raw: bytes,
                                                            start: str) -> None:
    expected = folder_error(tmp_path, "prices", raw)
    assert expected.startswith(start)
    with pytest.raises(DataError) as raised:
        load_dataset(tables={"prices": raw})
    assert str(raised.value) == expected


def test_in_memory_tables_are_checked_against_the_rest(shipped) -> None:
    """A reference into the folder's tables is checked as it is between files."""
    routes = shipped["routes"].copy()
    routes.loc[0, "hub"] = "Atlantis"
    with pytest.raises(DataError, match=r"^routes\.csv, column hub, line 2 .*unknown hub "
                                        r"'Atlantis' \(not in hubs\.csv\)$"):
        load_dataset(tables={"routes": routes})


def test_an_unknown_table_or_a_missing_base_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="^price: not a Stibium data table"):
        load_dataset(tables={"price": b"period\n"})
    with pytest.raises(DataError, match="nowhere: data directory not found"):
        load_dataset(tmp_path / "nowhere", tables={"prices": raised_prices(1.1)})
    with pytest.raises(TypeError, match="'prices': expected CSV bytes or a DataFrame"):
        load_dataset(tables={"prices": "prices.csv"})  # type: ignore[dict-item]


# --- the app loads edited tables without writing a folder -------------------------------------

@pytest.fixture()
def no_temporary_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every tempfile call fails (and is recorded), and the temporary folder is an empty one
    of this test's own, checked afterwards."""
    calls: list[str] = []
    for name in ("mkdtemp", "mkstemp", "TemporaryDirectory", "NamedTemporaryFile"):
        def refuse(*args, _name=name, **kwargs):
            calls.append(_name)
            raise AssertionError(f"tempfile.{_name} called")
        monkeypatch.setattr(tempfile, name, refuse)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    monkeypatch.setenv("STIBIUM_RUNS_URL", f"sqlite:///{tmp_path / 'runs.sqlite'}")
    yield calls
    assert list(temporary.iterdir()) == []


def test_an_uploaded_table_is_used_without_a_temporary_folder(no_temporary_files: list[str],
                                                              ) -> None:
    from stibium.ui import state

    raw = raised_prices(1.3)
    expected = solve(load_dataset(tables={"prices": raw}), load_strategy("dependency-aware"))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.file_uploader(key=state.W_TABLE_UPLOAD).set_value(("prices.csv", raw, "text/csv"))
    [b for b in at.button if b.label == "Apply uploaded tables"][0].click().run()
    assert not at.exception and not [e.value for e in at.error]
    [b for b in at.button if b.label == "Run"][0].click().run()
    assert not at.exception and not [e.value for e in at.error]
    assert no_temporary_files == []
    shown = {m.label: m.value for m in at.switch_page("views/solution.py").run().metric}
    from stibium.ui import fmt

    assert shown["Total cost"] == fmt.money(expected.total_cost)


# --- a plan CSV read against a dataset and a strategy -----------------------------------------

PLAN = "origin,hub,market,period,tonnes\nB,HP,M,2030,10\nA,HA,M,2030,4\n"


def test_read_plan_csv_takes_a_path_bytes_or_an_open_file(toy, tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text(PLAN, encoding="utf-8")
    from_path = read_plan_csv(toy, Strategy(), path)
    assert from_path[["origin", "hub", "tonnes"]].values.tolist() == [["B", "HP", 10.0],
                                                                     ["A", "HA", 4.0]]
    assert from_path["cost_usd"].tolist() == [1000.0, 4 * 130.0]
    pd.testing.assert_frame_equal(read_plan_csv(toy, Strategy(), str(path)), from_path)
    pd.testing.assert_frame_equal(read_plan_csv(toy, Strategy(), PLAN.encode()), from_path)
    pd.testing.assert_frame_equal(read_plan_csv(toy, Strategy(), io.StringIO(PLAN)), from_path)
    with path.open("rb") as handle:
        pd.testing.assert_frame_equal(read_plan_csv(toy, Strategy(), handle), from_path)


def test_read_plan_csv_names_the_file_it_was_given(toy, tmp_path: Path) -> None:
    bad = "origin,hub,market,period,tonnes\nB,HX,M,2030,1\n"
    path = tmp_path / "mine.csv"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(DataError, match=r"^mine\.csv, line 2: no open route"):
        read_plan_csv(toy, Strategy(), path)
    with path.open("rb") as handle, pytest.raises(DataError, match=r"^mine\.csv, line 2"):
        read_plan_csv(toy, Strategy(), handle)
    with pytest.raises(DataError, match=r"^plan, line 2"):
        read_plan_csv(toy, Strategy(), bad.encode())
    with pytest.raises(DataError, match="absent.csv: cannot be read"):
        read_plan_csv(toy, Strategy(), tmp_path / "absent.csv")


def test_read_plan_csv_frames_the_plan_by_the_strategy(tmp_path: Path) -> None:
    """The strategy's horizon decides which periods a plan may name."""
    two_years = load_dataset(write_tables(tmp_path / "two", toy_tables(periods=(2030, 2031))))
    plan = b"origin,hub,market,period,tonnes\nB,HP,M,2031,10\n"
    assert read_plan_csv(two_years, Strategy(), plan)["period"].tolist() == [2031]
    with pytest.raises(DataError, match="2031 is outside the horizon 2030–2030"):
        read_plan_csv(two_years, Strategy(last_period=2030), plan)
