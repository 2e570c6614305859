"""One test per kind of bad input: the loader names the file, the column and the line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from stibium.model import DataError, load_dataset
from stibium.model.data import TABLES, tables_from_schema
from tests.conftest import toy_tables, write_tables


def edit(folder: Path, file: str, transform) -> None:
    path = folder / file
    path.write_text(transform(path.read_text(encoding="utf-8")), encoding="utf-8")


def replace_cell(folder: Path, file: str, line: int, column: str, value: str) -> None:
    frame = pd.read_csv(folder / file, dtype=str, keep_default_na=False)
    frame.loc[line - 2, column] = value
    frame.to_csv(folder / file, index=False)


def error_of(folder: Path) -> str:
    with pytest.raises(DataError) as caught:
        load_dataset(folder)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_shipped_data_is_valid(shipped):
    assert len(shipped["origins"]) >= 10
    assert shipped.fingerprint


def test_missing_column(toy_dir):
    edit(toy_dir, "hubs.csv", lambda t: t.replace("capacity_t", "capcity_t", 1))
    assert error_of(toy_dir).startswith("hubs.csv, column capacity_t: missing")


def test_extra_column(toy_dir):
    frame = pd.read_csv(toy_dir / "hubs.csv", dtype=str, keep_default_na=False)
    frame["colour"] = "red"
    frame.to_csv(toy_dir / "hubs.csv", index=False)
    assert error_of(toy_dir).startswith("hubs.csv, column colour: unknown column")


def test_non_numeric(toy_dir):
    replace_cell(toy_dir, "origins.csv", 3, "production_2025_t", "lots")
    assert error_of(toy_dir) == ("origins.csv, column production_2025_t, line 3 (origin=B): "
                                 "not a number: 'lots'")


def test_nan(toy_dir):
    replace_cell(toy_dir, "hubs.csv", 2, "capacity_t", "NaN")
    assert error_of(toy_dir) == \
        "hubs.csv, column capacity_t, line 2 (hub=HA): NaN is not allowed"


def test_empty_number(toy_dir):
    replace_cell(toy_dir, "demand.csv", 2, "demand_t", "")
    assert "demand.csv, column demand_t, line 2 (market=M, period=2030): empty" in \
        error_of(toy_dir)


def test_negative(toy_dir):
    replace_cell(toy_dir, "routes.csv", 4, "freight_usd_per_t", "-5")
    assert error_of(toy_dir).startswith("routes.csv, column freight_usd_per_t, line 4 "
                                        "(origin=B, hub=HA, market=M")


def test_absurd_value(toy_dir):
    replace_cell(toy_dir, "demand.csv", 2, "demand_t", "1e300")
    assert "out of any plausible range" in error_of(toy_dir)


def test_share_outside_unit_interval(toy_dir):
    replace_cell(toy_dir, "exportable.csv", 2, "exportable_share", "35")
    assert error_of(toy_dir) == ("exportable.csv, column exportable_share, line 2 (origin=A): "
                                 "share 35 outside [0, 1] (write 0.25, not 25)")


def test_unknown_country(toy_dir):
    replace_cell(toy_dir, "hubs.csv", 3, "country", "Atlantis")
    assert error_of(toy_dir) == ("hubs.csv, column country, line 3 (hub=HP): unknown country "
                                 "'Atlantis' (not in countries.csv)")


def test_unknown_hub(toy_dir):
    replace_cell(toy_dir, "routes.csv", 2, "hub", "Nowhere")
    assert "routes.csv, column hub, line 2" in error_of(toy_dir)
    assert "unknown hub 'Nowhere' (not in hubs.csv)" in error_of(toy_dir)


def test_unknown_transit_country(toy_dir):
    replace_cell(toy_dir, "routes.csv", 2, "transit", "A;Narnia")
    assert "routes.csv, column transit, line 2" in error_of(toy_dir)
    assert "unknown country 'Narnia'" in error_of(toy_dir)


def test_duplicate_key(toy_dir):
    edit(toy_dir, "countries.csv", lambda t: t + "A,AAA,0.5,test,2026,0,,,\n")
    assert error_of(toy_dir) == ("countries.csv, column country, line 5 (country=A): "
                                 "duplicate key, already on line 2")


def test_estimate_without_range(toy_dir):
    replace_cell(toy_dir, "hubs.csv", 2, "is_estimate", "1")
    assert "hubs.csv, column low, line 2 (hub=HA): an estimate needs a low and a high" in \
        error_of(toy_dir)


def test_value_outside_its_range(toy_dir):
    replace_cell(toy_dir, "hubs.csv", 2, "low", "2000")
    replace_cell(toy_dir, "hubs.csv", 2, "high", "3000")
    assert "value 1000 outside its range low=2000, high=3000" in error_of(toy_dir)


def test_flag_must_be_zero_or_one(toy_dir):
    replace_cell(toy_dir, "hubs.csv", 2, "is_estimate", "2")
    assert "hubs.csv, column is_estimate, line 2 (hub=HA): must be 0 or 1" in error_of(toy_dir)


def test_empty_file(toy_dir):
    (toy_dir / "prices.csv").write_text("")
    assert error_of(toy_dir).startswith("prices.csv: file is empty")


def test_missing_file(toy_dir):
    (toy_dir / "powers.csv").unlink()
    assert error_of(toy_dir).startswith("powers.csv: file missing")


def test_not_utf8(toy_dir):
    (toy_dir / "markets.csv").write_bytes(
        (toy_dir / "markets.csv").read_bytes().replace(b"test market", b"caf\xe9"))
    assert error_of(toy_dir).startswith("markets.csv, line 2: not UTF-8 text")


def test_formula_like_name(toy_dir):
    replace_cell(toy_dir, "markets.csv", 2, "market", "=HYPERLINK(\"x\")")
    assert "looks like a spreadsheet formula" in error_of(toy_dir)


def test_missing_companion_row(tmp_path):
    tables = toy_tables()
    tables["hub_fees"] = tables["hub_fees"][:1]
    folder = write_tables(tmp_path / "d", tables)
    assert error_of(folder) == "hub_fees.csv, column hub: no row for hub 'HP'"


def test_missing_data_directory(tmp_path):
    with pytest.raises(DataError, match="data directory not found"):
        load_dataset(tmp_path / "nope")


def test_schema_file_documents_every_column(shipped):
    schema = pd.read_csv(shipped.directory / "schema.csv", keep_default_na=False)
    documented = set(zip(schema["file"], schema["column"], strict=True))
    for spec in TABLES.values():
        for column in spec.all_columns:
            assert (spec.file, column) in documented, (spec.file, column)
    assert all(schema["description"].str.len() > 0)


def test_every_shipped_row_has_provenance(shipped):
    for name, frame in shipped.tables.items():
        assert (frame["source"].str.len() > 0).all(), name
        assert frame["year"].between(1990, 2035).all(), name
        estimates = frame[frame["is_estimate"] == 1]
        if TABLES[name].value is not None:
            assert estimates["low"].notna().all() and estimates["high"].notna().all(), name


# --- the schema is data: data/schema.csv is what the loader reads ------------------------------

def shipped_schema_text() -> str:
    return (Path(__file__).resolve().parents[1] / "data" / "schema.csv").read_text(
        encoding="utf-8")


def test_the_loader_reads_its_tables_from_schema_csv():
    assert tables_from_schema(shipped_schema_text()) == TABLES
    assert TABLES["routes"].key == ("origin", "hub", "market", "transit")
    assert TABLES["routes"].value == "freight_usd_per_t"
    assert ("transit", "countries") in TABLES["routes"].references
    assert TABLES["markets"].value is None
    assert TABLES["origins"].kind_of("reserves_t") == "float?"


def test_a_schema_edit_changes_what_the_loader_checks():
    text = shipped_schema_text().replace(
        "hubs.csv,country,string,,yes,countries,", "hubs.csv,country,string,,no,,")
    hubs = tables_from_schema(text)["hubs"]
    assert hubs.kind_of("country") == "text"
    assert hubs.references == ()


@pytest.mark.parametrize("old, new, expected", [
    ("prices.csv,period,integer,", "prices.csv,period,decimal,", "cannot read type 'decimal'"),
    ("prices.csv,note,", "prices.csv,remark,", "ends with the provenance columns"),
    (",yes,countries,", ",yes,nations,", "references unknown table 'nations'"),
])
def test_a_malformed_schema_fails_naming_it(old, new, expected):
    with pytest.raises(ValueError, match=expected):
        tables_from_schema(shipped_schema_text().replace(old, new, 1))
