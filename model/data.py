"""Loading and validating the antimony dataset.

A dataset is a directory of CSV tables laid out like the shipped `stibium/data/` folder. Each
table has one value column whose provenance the trailing columns `source, year, is_estimate,
low, high, note` describe; estimates must carry a low–high range around the value.
`data/schema.csv` is the one description of every table: the loader builds its table
specifications (:data:`TABLES`) from it at import, so documenting a column and loading it are
the same edit.

Every validation failure raises :class:`DataError` with one line naming the file, the column,
the line number and the offending key, e.g.::

    origins.csv, column production_2025_t, line 5 (origin=Bolivia): not a number: 'abc'
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError

PROVENANCE = ("source", "year", "is_estimate", "low", "high", "note")

# Column kinds: "str" (non-empty text), "text" (may be empty), "float" (finite, >= 0),
# "float?" (may be empty), "share" (in [0, 1]), "int" (whole number), "list" (';'-separated).


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]
    value: str | None
    references: tuple[tuple[str, str], ...] = ()  # (column, table whose key it must name)

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    @property
    def all_columns(self) -> list[str]:
        return [c for c, _ in self.columns] + list(PROVENANCE)

    def kind_of(self, column: str) -> str:
        return dict(self.columns)[column]


# schema.csv (type, required) → the loader's column kind.
_KINDS = {("string", "yes"): "str", ("string", "no"): "text", ("float", "yes"): "float",
          ("float", "no"): "float?", ("share", "yes"): "share", ("integer", "yes"): "int",
          ("list", "no"): "list", ("bool01", "yes"): "flag"}
SCHEMA_FILE = "schema.csv"


def tables_from_schema(text: str) -> dict[str, TableSpec]:
    """The table specifications that a `schema.csv` text describes, in its file order.

    A table's key columns and its value column are the rows whose description starts with
    ``key:`` and ``value:``; its last columns must be the provenance columns. A malformed
    schema is a packaging error, so it fails loudly naming the row.
    """
    rows: dict[str, list[dict[str, str]]] = {}
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        if row["file"] == SCHEMA_FILE:
            continue
        kind = _KINDS.get((row["type"], row["required"]))
        role = row["description"].split(":", 1)[0].strip()
        if kind is None or role not in ("key", "value", "info", "provenance"):
            raise ValueError(f"{SCHEMA_FILE}, line {line}: cannot read type {row['type']!r}, "
                             f"required {row['required']!r} or role {role!r}")
        rows.setdefault(row["file"].removesuffix(".csv"), []).append(
            {**row, "kind": kind, "role": role})
    specs: dict[str, TableSpec] = {}
    for name, columns in rows.items():
        provenance = tuple(c["column"] for c in columns if c["role"] == "provenance")
        own = [c for c in columns if c["role"] != "provenance"]
        values = [c["column"] for c in own if c["role"] == "value"]
        if provenance != PROVENANCE or [c["column"] for c in columns[len(own):]] != list(
                PROVENANCE) or len(values) > 1:
            raise ValueError(f"{SCHEMA_FILE}: table {name} needs at most one value column and "
                             f"ends with the provenance columns {', '.join(PROVENANCE)}")
        specs[name] = TableSpec(
            name, tuple((c["column"], c["kind"]) for c in own),
            tuple(c["column"] for c in own if c["role"] == "key"),
            values[0] if values else None,
            tuple((c["column"], c["references"]) for c in own if c["references"]))
    for spec in specs.values():
        for column, target in spec.references:
            if target not in specs:
                raise ValueError(f"{SCHEMA_FILE}: {spec.file}, column {column} references "
                                 f"unknown table {target!r}")
    return specs


# The one schema: data/schema.csv, read from the installed package so that a wheel works.
TABLES: dict[str, TableSpec] = tables_from_schema(
    resources.files("stibium.data").joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))

ESTIMATE_COLUMNS = ("table", "row", "key", "column", "value", "low", "high", "source", "year")
REQUIRED_PARAMETERS = ("unmet_demand_penalty_usd_per_t", "holding_cost_usd_per_t_yr",
                       "spot_price_multiplier", "spot_limit_share")
MECHANISMS = {"leverage": "powers", "direct": "countries"}

# Values beyond these are treated as typing errors rather than data (tonnes, dollars, days).
ABSURD_LIMIT = 1e12


def default_data_dir() -> Path:
    """The dataset shipped inside the package."""
    return Path(str(resources.files("stibium.data")))


@dataclass
class Dataset:
    """The validated tables, keyed by table name, plus where they came from."""

    tables: dict[str, pd.DataFrame]
    directory: Path
    fingerprint: str = field(default="")

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    @property
    def periods(self) -> list[int]:
        return sorted(set(self["demand"]["period"]) & set(self["prices"]["period"]))

    def parameter(self, name: str) -> float:
        params = self["parameters"].set_index("name")["value"]
        return float(params[name])

    def country_of_origin(self) -> dict[str, str]:
        return dict(zip(self["origins"]["origin"], self["origins"]["country"], strict=True))

    def country_of_hub(self) -> dict[str, str]:
        return dict(zip(self["hubs"]["hub"], self["hubs"]["country"], strict=True))

    def risk_score(self) -> dict[str, float]:
        """Country risk in [0, 1]: 1 − normalised WGI composite (0 = best governed)."""
        countries = self["countries"]
        return dict(zip(countries["country"], 1.0 - countries["wgi_norm"], strict=True))

    def estimates(self) -> pd.DataFrame:
        """Every estimated value in the dataset with its range: what a sensitivity run sweeps."""
        rows = []
        for name, spec in TABLES.items():
            if spec.value is None:
                continue
            frame = self[name]
            for index, row in frame[frame["is_estimate"] == 1].iterrows():
                rows.append({
                    "table": name,
                    "row": index,
                    "key": _describe_key(spec, row),
                    "column": spec.value,
                    "value": row[spec.value],
                    "low": row["low"],
                    "high": row["high"],
                    "source": row["source"],
                    "year": row["year"],
                })
        # Named columns even without rows: data with no estimate is valid.
        return pd.DataFrame(rows, columns=ESTIMATE_COLUMNS)


# What a table given in memory may be: the CSV file's bytes, or a frame with the file's columns
# (its values as text, or typed as a loaded Dataset holds them).
TableSource = bytes | bytearray | memoryview | pd.DataFrame


def load_dataset(directory: str | Path | None = None, *,
                 tables: Mapping[str, TableSource] | None = None) -> Dataset:
    """Read and validate every table of a dataset directory, some or all given in memory.

    Parameters
    ----------
    directory
        A folder laid out like the shipped data (``None``: the shipped data). It provides
        every table that `tables` does not; when `tables` holds them all, it is not read.
    tables
        Tables by name (``"prices"``, not ``"prices.csv"``) that replace the folder's: the
        bytes of a CSV file, or a DataFrame with the file's columns (e.g. an edited copy of
        ``load_dataset()["prices"]``). They are checked exactly as files are, and errors name
        the table's file, column and row; the fingerprint covers their content.

    Raises
    ------
    DataError
        One line naming the file, column and row of the first problem found.

    Examples
    --------
    >>> shipped = load_dataset()
    >>> dearer = shipped["prices"].assign(benchmark_usd_per_t=lambda f: f.low)
    >>> load_dataset(tables={"prices": dearer}).fingerprint != shipped.fingerprint
    True
    """
    given = _raw_tables(tables or {})
    folder = Path(directory) if directory is not None else default_data_dir()
    if len(given) < len(TABLES) and not folder.is_dir():
        raise DataError(f"{folder}: data directory not found")
    loaded: dict[str, pd.DataFrame] = {}
    digest = hashlib.sha256()
    for name, spec in TABLES.items():
        raw = given[name] if name in given else _read_file(spec, folder)
        if len(raw) > MAX_FILE_BYTES:
            raise DataError(f"{spec.file}: file is {len(raw) / 2**20:,.0f} MiB, "
                            f"larger than the {MAX_FILE_BYTES // 2**20} MiB a table may be")
        if b"\0" in raw:
            raise DataError(f"{spec.file}: binary data (NUL bytes), not a CSV text file")
        digest.update(name.encode() + b"\0" + raw + b"\0")
        loaded[name] = _parse_table(spec, raw)
    _check_references(loaded)
    _check_coverage(loaded)
    return Dataset(tables=loaded, directory=folder, fingerprint=digest.hexdigest()[:16])


def _read_file(spec: TableSpec, folder: Path) -> bytes:
    path = folder / spec.file
    if not path.is_file():
        raise DataError(f"{spec.file}: file missing from data directory {folder}")
    # Checked before reading, so a huge file is refused without being loaded into memory.
    if path.stat().st_size > MAX_FILE_BYTES:
        raise DataError(f"{spec.file}: file is {path.stat().st_size / 2**20:,.0f} MiB, "
                        f"larger than the {MAX_FILE_BYTES // 2**20} MiB a table may be")
    return path.read_bytes()


def _raw_tables(tables: Mapping[str, TableSource]) -> dict[str, bytes]:
    """Each in-memory table as the bytes of its CSV file: one parser checks files and frames
    alike, and the fingerprint of a frame is that of the file it would be written as."""
    raw: dict[str, bytes] = {}
    for name, table in tables.items():
        if name not in TABLES:
            raise DataError(f"{name}: not a Stibium data table (tables: "
                            f"{', '.join(TABLES)})")
        if isinstance(table, pd.DataFrame):
            raw[name] = _frame_csv(TABLES[name], table)
        elif isinstance(table, bytes | bytearray | memoryview):
            raw[name] = bytes(table)
        else:
            raise TypeError(f"table {name!r}: expected CSV bytes or a DataFrame, "
                            f"not {type(table).__name__}")
    return raw


def _frame_csv(spec: TableSpec, frame: pd.DataFrame) -> bytes:
    text = frame.copy()
    for column in text.columns:
        if column in dict(spec.columns) and spec.kind_of(column) == "list":
            # A loaded frame holds a transit path as a tuple; its file joins it with ';'.
            text[column] = text[column].map(
                lambda v: ";".join(v) if isinstance(v, tuple | list) else v)
    return text.to_csv(index=False, lineterminator="\n").encode()


def _parse_table(spec: TableSpec, raw: bytes) -> pd.DataFrame:
    if not raw.strip():
        raise DataError(f"{spec.file}: file is empty (expected a header row: "
                        f"{','.join(spec.all_columns)})")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{spec.file}, line {line}: not UTF-8 text "
                        f"(byte {raw[exc.start]:#04x}); save the file as UTF-8") from None
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                            skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unreadable"
        raise DataError(f"{spec.file}: not a valid CSV table ({detail})") from None

    frame.columns = [str(c).strip() for c in frame.columns]
    expected = spec.all_columns
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise DataError(f"{spec.file}, column {missing[0]}: missing "
                        f"(expected columns: {','.join(expected)})")
    extra = [c for c in frame.columns if c not in expected]
    if extra:
        raise DataError(f"{spec.file}, column {extra[0]}: unknown column "
                        f"(expected columns: {','.join(expected)})")
    duplicated = [c for c in frame.columns if list(frame.columns).count(c) > 1]
    if duplicated:
        raise DataError(f"{spec.file}, column {duplicated[0]}: appears twice in the header")
    frame = frame[expected].copy()
    for column in frame.columns:
        frame[column] = frame[column].str.strip()

    out = pd.DataFrame(index=frame.index)
    for column, kind in spec.columns:
        out[column] = _convert(spec, frame, column, kind)
    for column, kind in (("source", "str"), ("year", "int"), ("is_estimate", "flag"),
                         ("low", "float?"), ("high", "float?"), ("note", "text")):
        out[column] = _convert(spec, frame, column, kind)
    _check_ranges(spec, out)
    _check_unique(spec, out)
    return out.reset_index(drop=True)


def _where(spec: TableSpec, frame: pd.DataFrame, index: int, column: str) -> str:
    key = ", ".join(f"{k}={frame.at[index, k]}" for k in spec.key if k in frame.columns)
    return f"{spec.file}, column {column}, line {index + 2}" + (f" ({key})" if key else "")


def _convert(spec: TableSpec, frame: pd.DataFrame, column: str, kind: str) -> pd.Series:
    values = frame[column]
    if kind in ("str", "text"):
        for index, value in values.items():
            if kind == "str" and value == "":
                raise DataError(f"{_where(spec, frame, index, column)}: empty")
            if kind == "str" and value[:1] in ("=", "+", "-", "@"):
                raise DataError(f"{_where(spec, frame, index, column)}: text may not start "
                                f"with '{value[0]}' (looks like a spreadsheet formula)")
        return values.astype(object)
    if kind == "list":
        return values.map(lambda v: tuple(p.strip() for p in v.split(";") if p.strip()))
    numbers = []
    for index, value in values.items():
        if value == "" and kind == "float?":
            numbers.append(np.nan)
            continue
        if value == "":
            raise DataError(f"{_where(spec, frame, index, column)}: empty (a number is needed)")
        try:
            number = float(value.replace("_", ""))
        except ValueError:
            raise DataError(f"{_where(spec, frame, index, column)}: "
                            f"not a number: {value!r}") from None
        if np.isnan(number):
            raise DataError(f"{_where(spec, frame, index, column)}: NaN is not allowed")
        if not np.isfinite(number) or abs(number) > ABSURD_LIMIT:
            raise DataError(f"{_where(spec, frame, index, column)}: "
                            f"value {value} is out of any plausible range")
        if number < 0:
            raise DataError(f"{_where(spec, frame, index, column)}: "
                            f"negative value {value} (must be ≥ 0)")
        if kind == "share" and number > 1:
            raise DataError(f"{_where(spec, frame, index, column)}: "
                            f"share {value} outside [0, 1] (write 0.25, not 25)")
        if kind in ("int", "flag") and number != int(number):
            raise DataError(f"{_where(spec, frame, index, column)}: "
                            f"not a whole number: {value!r}")
        if kind == "flag" and number not in (0, 1):
            raise DataError(f"{_where(spec, frame, index, column)}: must be 0 or 1, not {value}")
        numbers.append(number)
    series = pd.Series(numbers, index=values.index, dtype=float)
    return series.astype(int) if kind in ("int", "flag") else series


def _check_ranges(spec: TableSpec, frame: pd.DataFrame) -> None:
    for index, row in frame.iterrows():
        low, high = row["low"], row["high"]
        if row["is_estimate"] == 1 and spec.value is not None and (np.isnan(low)
                                                                    or np.isnan(high)):
            raise DataError(f"{_where(spec, frame, index, 'low')}: an estimate needs a low and "
                            f"a high value")
        if np.isnan(low) or np.isnan(high) or spec.value is None:
            continue
        value = row[spec.value]
        if not low <= value <= high:
            raise DataError(f"{_where(spec, frame, index, spec.value)}: value {value:g} "
                            f"outside its range low={low:g}, high={high:g}")
        if spec.kind_of(spec.value) == "share" and high > 1:
            raise DataError(f"{_where(spec, frame, index, 'high')}: share range "
                            f"high={high:g} outside [0, 1]")


def _check_unique(spec: TableSpec, frame: pd.DataFrame) -> None:
    seen: dict[tuple, int] = {}
    for index, row in frame.iterrows():
        key = tuple(row[k] for k in spec.key)
        if key in seen:
            raise DataError(f"{_where(spec, frame, index, spec.key[0])}: duplicate key, "
                            f"already on line {seen[key] + 2}")
        seen[key] = index


def _references_of(tables: dict[str, pd.DataFrame], target: str) -> set[str]:
    return set(tables[target][TABLES[target].key[0]])


def _check_references(tables: dict[str, pd.DataFrame]) -> None:
    for name, spec in TABLES.items():
        frame = tables[name]
        for column, target in spec.references:
            known = _references_of(tables, target)
            for index, value in frame[column].items():
                names: Iterable[str] = value if isinstance(value, tuple) else (value,)
                for item in names:
                    if item not in known:
                        raise DataError(f"{_where(spec, frame, index, column)}: unknown "
                                        f"{_singular(target)} {item!r} (not in "
                                        f"{TABLES[target].file})")
    effects, spec = tables["event_effects"], TABLES["event_effects"]
    for index, row in effects.iterrows():
        if row["mechanism"] not in MECHANISMS:
            raise DataError(f"{_where(spec, effects, index, 'mechanism')}: must be 'leverage' "
                            f"(a power acts) or 'direct' (a country is hit), "
                            f"not {row['mechanism']!r}")
        target_table = MECHANISMS[row["mechanism"]]
        if row["target"] not in _references_of(tables, target_table):
            raise DataError(f"{_where(spec, effects, index, 'target')}: unknown "
                            f"{_singular(target_table)} {row['target']!r} (not in "
                            f"{TABLES[target_table].file})")
    events = tables["events"]
    for index, value in events["price_multiplier"].items():
        if value < 1:
            where = _where(TABLES["events"], events, index, "price_multiplier")
            raise DataError(f"{where}: a price multiplier below 1 ({value:g}) would make a "
                            f"disruption cheapen antimony")
    without_effect = sorted(set(tables["events"]["event"]) - set(effects["event"]))
    if without_effect:
        raise DataError(f"event_effects.csv, column event: event {without_effect[0]!r} has no "
                        f"effect")
    ramp = tables["ramp_ups"]
    spec = TABLES["ramp_ups"]
    kinds = {"origin": _references_of(tables, "origins"), "hub": _references_of(tables, "hubs")}
    for index, row in ramp.iterrows():
        if row["kind"] not in kinds:
            raise DataError(f"{_where(spec, ramp, index, 'kind')}: must be 'origin' or 'hub', "
                            f"not {row['kind']!r}")
        if row["node"] not in kinds[row["kind"]]:
            raise DataError(f"{_where(spec, ramp, index, 'node')}: unknown {row['kind']} "
                            f"{row['node']!r}")


NON_EMPTY = ("countries", "origins", "hubs", "markets", "demand", "prices", "routes", "powers",
             "parameters")
MAX_FILE_BYTES = 20 * 1024 * 1024


def _check_coverage(tables: dict[str, pd.DataFrame]) -> None:
    """Every origin and hub needs its companion rows; the parameters the model reads exist."""
    for name in NON_EMPTY:
        if tables[name].empty:
            raise DataError(f"{TABLES[name].file}: no rows (the model needs at least one)")
    for table, column, owner in (("exportable", "origin", "origins"),
                                 ("price_factors", "origin", "origins"),
                                 ("hub_yields", "hub", "hubs"), ("hub_fees", "hub", "hubs")):
        missing = sorted(_references_of(tables, owner) - set(tables[table][column]))
        if missing:
            raise DataError(f"{TABLES[table].file}, column {column}: no row for "
                            f"{_singular(owner)} {missing[0]!r}")
    origin_countries = set(tables["origins"]["country"])
    for table in ("geopolitical_distance", "trade_restrictions"):
        missing = sorted(origin_countries - set(tables[table]["country"]))
        if missing:
            raise DataError(f"{TABLES[table].file}, column country: no row for origin country "
                            f"{missing[0]!r}")
    for index, value in tables["geopolitical_distance"]["distance"].items():
        if value > 10:
            where = _where(TABLES["geopolitical_distance"], tables["geopolitical_distance"],
                           index, "distance")
            raise DataError(f"{where}: distance {value:g} outside the 0–10 scale")
    for index, value in tables["trade_restrictions"]["restriction_factor"].items():
        if not 1 <= value <= 2:
            where = _where(TABLES["trade_restrictions"], tables["trade_restrictions"], index,
                           "restriction_factor")
            raise DataError(f"{where}: factor {value:g} outside [1, 2] (1 = no restriction)")
    names = set(tables["parameters"]["name"])
    for name in REQUIRED_PARAMETERS:
        if name not in names:
            raise DataError(f"parameters.csv, column name: required parameter {name!r} missing")
    yields = tables["hub_yields"]
    for index, value in yields["recovery_yield"].items():
        if value <= 0:
            where = _where(TABLES["hub_yields"], yields, index, "recovery_yield")
            raise DataError(f"{where}: recovery yield must be above 0")
    demand_periods = set(tables["demand"]["period"])
    price_periods = set(tables["prices"]["period"])
    missing_prices = sorted(demand_periods - price_periods)
    if missing_prices:
        raise DataError(f"prices.csv, column period: no benchmark price for period "
                        f"{missing_prices[0]} (demand.csv has it)")


def _singular(table: str) -> str:
    return {"countries": "country", "origins": "origin", "hubs": "hub", "markets": "market",
            "powers": "power", "leverage_channels": "channel"}.get(table, table)


def _describe_key(spec: TableSpec, row: pd.Series) -> str:
    parts = []
    for k in spec.key:
        value = row[k]
        parts.append(";".join(value) if isinstance(value, tuple) else str(value))
    return " / ".join(p for p in parts if p)
