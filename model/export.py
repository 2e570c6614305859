"""Everything a result needs to leave Stibium: spreadsheets, CSV files and a reproducible bundle.

A bundle is one folder (or one zip) with the result as a workbook and as JSON, the LP the
solver saw, the strategy as TOML and a run record naming the data fingerprint and every
version involved, so that the run can be audited and repeated::

    from stibium.model import load_dataset, load_strategy, solve
    from stibium.model.export import write_bundle

    data, strategy = load_dataset(), load_strategy("dependency-aware")
    write_bundle(solve(data, strategy), data, strategy, "runs/2026-05-01")

Every text cell and column header written to a spreadsheet or CSV passes through
:func:`escape_cell`, so a value such as ``=HYPERLINK(...)`` in a data file or a strategy
name stays text and is never run as a formula.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import platform
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .build import build_model
from .data import Dataset
from .errors import StibiumInputError
from .instance import build_instance
from .report import SolveResult
from .settings import SETTINGS
from .strategy import Strategy

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BUNDLE_FILES = ("result.xlsx", "result.json", "model.lp", "run_record.json", "strategy.toml")
RESULT_SHEETS = ("plan", "metrics", "cost_breakdown", "exposure", "duals", "scenarios",
                 "stress", "inputs")
# Characters that XML 1.0 (and so an .xlsx file) cannot hold.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# Temporary files and folders are private (0600/0700); what they become gets the usual modes.
_UMASK = _read_umask()
_FILE_MODE, _FOLDER_MODE = 0o666 & ~_UMASK, 0o777 & ~_UMASK


# --- cells -------------------------------------------------------------------------------------

def escape_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading single quote.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with
    ``'``; anything else, numbers included, is returned unchanged.

    >>> escape_cell("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> escape_cell(-2.5), escape_cell("China")
    (-2.5, 'China')
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def unescape_cell(value: Any) -> Any:
    """Undo :func:`escape_cell` (for reading back a file this module wrote)."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(
            FORMULA_PREFIXES):
        return value[1:]
    return value


def _plain(value: Any) -> Any:
    """A cell value as a plain Python scalar: tuples and lists joined with ';', missing values
    as None, numpy scalars unwrapped, anything else unknown as text."""
    if isinstance(value, tuple | list | set | frozenset):
        return ";".join(str(_plain(v)) for v in value)
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, datetime):
        return value
    return str(value)


def _cell(value: Any) -> Any:
    value = _plain(value)
    if isinstance(value, str):
        value = escape_cell(_ILLEGAL_XML.sub("", value))
        return value if value else None
    if isinstance(value, float) and math.isinf(value):
        return escape_cell(str(value).replace("inf", "Infinity"))
    if isinstance(value, datetime) and value.tzinfo is not None:
        # Spreadsheets have no time zones: write UTC.
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def escape_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every header and cell made safe and plain (see :func:`escape_cell`)."""
    columns = [_cell(str(c)) for c in frame.columns]
    body = [[_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    return pd.DataFrame(body, columns=columns, dtype=object)


# --- atomic writes -----------------------------------------------------------------------------

def _writable_target(path: str | os.PathLike[str]) -> Path:
    target = Path(path).expanduser()
    if not target.parent.is_dir():
        raise StibiumInputError(f"{target}: cannot be written (folder {target.parent} does not "
                                f"exist)")
    if target.is_dir():
        raise StibiumInputError(f"{target}: cannot be written (it is a folder)")
    return target


@contextlib.contextmanager
def _atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `path`; move it onto `path` only if the block succeeds."""
    target = _writable_target(path)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                         suffix=".partial")
    os.close(handle)
    try:
        yield Path(temporary)
        os.chmod(temporary, _FILE_MODE)
        os.replace(temporary, target)
    except OSError as exc:
        raise StibiumInputError(f"{target}: cannot be written ({exc.strerror or exc})") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _write_text(path: str | os.PathLike[str], text: str) -> None:
    with _atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def _sheet_title(name: str, used: set[str]) -> str:
    title = _SHEET_NAME_FORBIDDEN.sub("_", str(name)).strip("'")[:31] or "sheet"
    candidate, number = title, 2
    while candidate.lower() in used:
        suffix = f" ({number})"
        candidate, number = title[:31 - len(suffix)] + suffix, number + 1
    used.add(candidate.lower())
    return candidate


def write_workbook(sheets: dict[str, pd.DataFrame], path: str | os.PathLike[str]) -> None:
    """Write an .xlsx workbook with one sheet per entry (header row, then one row per record).

    Every text cell and header is escaped, tuples are written as ``a;b``, missing values as
    empty cells. The file appears whole or not at all.
    """
    from openpyxl import Workbook

    _writable_target(path)  # before building: a write-only workbook must be saved once begun
    workbook = Workbook(write_only=True)
    used: set[str] = set()
    for name, frame in sheets.items():
        sheet = workbook.create_sheet(_sheet_title(name, used))
        safe = escape_frame(frame)
        sheet.append(list(safe.columns))
        for row in safe.itertuples(index=False, name=None):
            sheet.append(list(row))
    if not sheets:
        workbook.create_sheet("empty")
    with _atomic_path(path) as temporary:
        workbook.save(temporary)


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a CSV file (UTF-8, header row, no index), escaped like a workbook, atomically.

    Lines end in CRLF as RFC 4180 has it, so that a field holding a line break of either kind
    is quoted and stays one field.
    """
    safe = escape_frame(frame)
    with _atomic_path(path) as temporary:
        safe.to_csv(temporary, index=False, lineterminator="\r\n")


def read_workbook(path: str | os.PathLike[str], *, unescape: bool = False
                  ) -> dict[str, pd.DataFrame]:
    """Every sheet of an .xlsx file as a frame (first row as header).

    With ``unescape=True`` the quote that :func:`escape_cell` added is taken off again.
    """
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=False)
    try:
        sheets: dict[str, pd.DataFrame] = {}
        for sheet in workbook.worksheets:
            rows = [list(row) for row in sheet.iter_rows(values_only=True)]
            if not rows:
                sheets[sheet.title] = pd.DataFrame()
                continue
            width = max(len(row) for row in rows)  # read-only rows may stop at the last value
            rows = [row + [None] * (width - len(row)) for row in rows]
            header = [unescape_cell(h) if unescape else h for h in rows[0]]
            body = [[unescape_cell(v) if unescape else v for v in row] for row in rows[1:]]
            frame = pd.DataFrame(body, columns=header, dtype=object)
            sheets[sheet.title] = frame.infer_objects()
        return sheets
    finally:
        workbook.close()


# --- run record --------------------------------------------------------------------------------

def _version(distribution: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _highs_version() -> str | None:
    try:
        from .highs import quiet_highs

        return str(quiet_highs().version())
    except Exception:  # the library may be missing or older than version(): not fatal here
        return _version("highspy")


def utc_now() -> str:
    """The current UTC time as ISO 8601 with a trailing Z (seconds)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def run_record(result: SolveResult, dataset: Dataset, strategy: Strategy) -> dict[str, Any]:
    """What it takes to repeat a run: data fingerprint and folder, the strategy as TOML, the
    versions of Stibium, its solver stack and Python, the scenario settings, when, and how long
    each step took."""
    import stibium

    if result.data_fingerprint and result.data_fingerprint != dataset.fingerprint:
        raise StibiumInputError(
            f"the result was solved on data {result.data_fingerprint}, not on the dataset "
            f"given ({dataset.fingerprint} in {dataset.directory})")
    if result.strategy != strategy.name:
        raise StibiumInputError(f"the result is for strategy '{result.strategy}', not for "
                                f"'{strategy.name}'")
    return {
        "created_at": utc_now(),
        "status": result.status,
        "total_cost": _finite_or_none(result.total_cost),
        "data_fingerprint": dataset.fingerprint,
        "data_directory": str(Path(dataset.directory).resolve()),
        "strategy": {"name": strategy.name, "toml": strategy.to_toml()},
        "scenarios": {
            "mode": strategy.scenario_mode,
            "seed": strategy.scenario_seed,
            "samples": strategy.scenario_samples,
            "severity": strategy.severity_sampling,
            "events": list(strategy.scenario_events),
        },
        "versions": {
            "stibium": stibium.__version__,
            "pyomo": _version("pyomo"),
            "highspy": _version("highspy"),
            "highs": _highs_version(),
            "pandas": pd.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "timings": {k: float(v) for k, v in result.timings.items()},
    }


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def strict_json(value: Any) -> Any:
    """A copy that :func:`json.dumps` writes as strict JSON (no NaN or Infinity tokens)."""
    if isinstance(value, dict):
        return {str(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def dumps(value: Any) -> str:
    return json.dumps(strict_json(value), ensure_ascii=False, indent=2, allow_nan=False) + "\n"


# --- the result as sheets ----------------------------------------------------------------------

def strategy_settings(strategy: Strategy) -> pd.DataFrame:
    """Every setting of a strategy (defaults included) as ``setting, value`` rows, named as in
    the TOML file; tables are spelled out per name (``caps.exposure.China``)."""
    rows: list[dict[str, Any]] = []
    for setting in SETTINGS:
        key = setting.key
        value = getattr(strategy, setting.field)
        if setting.kind == "shares":
            rows += [{"setting": f"{key}.{name}", "value": v} for name, v in value.items()]
            if not value:
                rows.append({"setting": key, "value": None})
        else:
            rows.append({"setting": key, "value": value})
    return pd.DataFrame(rows, columns=["setting", "value"])


def inputs_table(dataset: Dataset, strategy: Strategy) -> pd.DataFrame:
    """The inputs of a run in one table: the data's fingerprint and folder, every strategy
    setting, and every estimated data value with its range."""
    columns = ["section", "setting", "value", "table", "key", "column", "low", "high",
               "source", "year"]
    rows: list[dict[str, Any]] = [
        {"section": "data", "setting": "fingerprint", "value": dataset.fingerprint},
        {"section": "data", "setting": "directory", "value": str(dataset.directory)},
    ]
    rows += [{"section": "strategy", **row}
             for row in strategy_settings(strategy).to_dict(orient="records")]
    estimates = dataset.estimates()
    rows += [{"section": "estimate", "setting": f"{row['table']}.{row['column']}", **row}
             for row in estimates.to_dict(orient="records")]
    return pd.DataFrame(rows, columns=columns)


def result_sheets(result: SolveResult, dataset: Dataset, strategy: Strategy
                  ) -> dict[str, pd.DataFrame]:
    """The workbook's sheets: plan, metrics, cost_breakdown, exposure, duals, scenarios,
    stress, the result's other tables (unmet, stock, shares, ...) and, last, inputs."""
    summary = [("status", result.status), ("strategy", result.strategy),
               ("total_cost", result.total_cost), ("objective", result.objective)]
    metrics = pd.DataFrame(summary + list(result.metrics.items()), columns=["name", "value"])
    breakdown = pd.DataFrame(list(result.cost_breakdown.items()), columns=["item", "cost_usd"])
    sheets = {
        "plan": result.plan,
        "metrics": metrics,
        "cost_breakdown": breakdown,
        "exposure": result.exposure,
        "duals": result.duals,
        "scenarios": result.scenarios,
        "stress": result.stress,
    }
    # Every other table of the result (unmet, stock, shares, ...) follows, then the inputs.
    for f in fields(SolveResult):
        value = getattr(result, f.name)
        if isinstance(value, pd.DataFrame) and f.name not in sheets:
            sheets[f.name] = value
    sheets["inputs"] = inputs_table(dataset, strategy)
    return sheets


# --- bundles -----------------------------------------------------------------------------------

def _write_model_lp(dataset: Dataset, strategy: Strategy, path: Path) -> None:
    model = build_model(build_instance(dataset, strategy))
    model.write(str(path), io_options={"symbolic_solver_labels": True})


def _bundle_writers(result: SolveResult, dataset: Dataset, strategy: Strategy
                    ) -> dict[str, Callable[[Path], None]]:
    record = run_record(result, dataset, strategy)
    payload = {**result.to_dict(), "run_record": record}
    return {
        "result.xlsx": lambda p: write_workbook(result_sheets(result, dataset, strategy), p),
        "result.json": lambda p: _write_text(p, dumps(payload)),
        "model.lp": lambda p: _write_model_lp(dataset, strategy, p),
        "run_record.json": lambda p: _write_text(p, dumps(record)),
        "strategy.toml": lambda p: _write_text(p, strategy.to_toml()),
    }


def check_bundle_directory(directory: str | os.PathLike[str]) -> Path:
    """The bundle folder, if it can be used: absent, or an empty folder; fails otherwise."""
    target = Path(directory).expanduser()
    if target.exists() and not target.is_dir():
        raise StibiumInputError(f"{target}: exists and is not a folder (the bundle needs a new "
                                f"or empty folder)")
    if target.is_dir() and any(target.iterdir()):
        raise StibiumInputError(f"{target}: folder is not empty; the bundle is written only "
                                f"into a new or empty folder")
    if not target.parent.is_dir():
        raise StibiumInputError(f"{target}: cannot be created (folder {target.parent} does not "
                                f"exist)")
    return target


def write_bundle(result: SolveResult, dataset: Dataset, strategy: Strategy,
                 directory: str | os.PathLike[str]) -> dict[str, Path]:
    """Write the reproducible bundle of one run into a new (or empty) folder.

    Files: ``result.xlsx`` (plan, metrics, cost_breakdown, exposure, duals, scenarios,
    stress, inputs), ``result.json`` (the ``--json`` contract plus ``run_record``),
    ``model.lp`` (the LP with readable names), ``run_record.json`` and ``strategy.toml``.
    The folder appears complete or not at all; an existing non-empty folder is refused.

    Returns file name → path.
    """
    target = check_bundle_directory(directory)
    writers = _bundle_writers(result, dataset, strategy)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.",
                                    suffix=".partial"))
    try:
        for name, write in writers.items():
            write(staging / name)
        try:
            os.chmod(staging, _FOLDER_MODE)
            if target.is_dir():
                target.rmdir()  # empty, checked above; fails if something appeared meanwhile
            os.rename(staging, target)
        except OSError as exc:
            raise StibiumInputError(f"{target}: the bundle cannot be put there "
                                    f"({exc.strerror or exc})") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return {name: target / name for name in writers}


def bundle_zip(result: SolveResult, dataset: Dataset, strategy: Strategy) -> bytes:
    """The same files as :func:`write_bundle`, as the bytes of one zip archive."""
    with tempfile.TemporaryDirectory(prefix="stibium-bundle-") as folder:
        paths = write_bundle(result, dataset, strategy, Path(folder) / "bundle")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, path in paths.items():
                archive.write(path, arcname=name)
        return buffer.getvalue()
