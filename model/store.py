"""Saved runs: results kept in a database with what it takes to repeat them.

A run is stored as plain text: the result's JSON (the CLI's ``--json`` contract), the strategy
as TOML and the run record (data fingerprint and folder, versions, timings) — never as a
pickle, so a store can be read by any later version, or by hand. The store is SQLite by
default (``~/.stibium/runs.sqlite``, or the URL in ``STIBIUM_RUNS_URL``) and works the same on
PostgreSQL (``postgresql+psycopg://user@host/db``, with ``pip install 'stibium[postgres]'``)::

    from stibium.model.store import RunStore

    store = RunStore()
    run_id = store.save(result, dataset, strategy, name="board pack, May")
    store.list()                      # id, name, strategy, status, total_cost, ...
    saved = store.load(run_id)        # saved.result is a SolveResult again
    store.is_reproducible(run_id, load_dataset())

Several processes may save into one SQLite file at once: the file runs in WAL mode, every
write takes the write lock up front (``BEGIN IMMEDIATE``), waits for it, and is retried when
SQLite still reports ``database is locked``. Every change is one transaction, so a failure
or a delete never touches another run.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from .data import Dataset
from .errors import StibiumInputError
from .export import run_record, strict_json
from .report import PLAN_COLUMNS, SolveResult
from .strategy import Strategy, parse_strategy

ENV_URL = "STIBIUM_RUNS_URL"
SCHEMA_VERSION = 1
NAME_MAX = 200
LIST_COLUMNS = ["id", "name", "strategy", "status", "total_cost", "data_fingerprint",
                "created_at"]
# Columns of the result frames that stay meaningful when a frame is empty.
_FRAME_COLUMNS = {
    "plan": PLAN_COLUMNS,
    "unmet": ["market", "period", "unmet_t"],
    "stock": ["market", "period", "stock_t"],
    "duals": ["constraint", "index", "period", "dual", "value", "unit", "meaning"],
}


def result_frames() -> tuple[str, ...]:
    """The names of every frame a :class:`SolveResult` holds (plan, unmet, ... in order)."""
    return tuple(f.name for f in fields(SolveResult) if f.type in ("pd.DataFrame", pd.DataFrame))


SQLITE_BUSY_TIMEOUT_S = 30.0
LOCK_RETRY_S = 120.0

metadata = sa.MetaData()
runs_table = sa.Table(
    "stibium_runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(NAME_MAX), nullable=True),
    sa.Column("strategy_name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(40), nullable=False),
    sa.Column("total_cost", sa.Float, nullable=True),
    sa.Column("data_fingerprint", sa.String(64), nullable=False),
    sa.Column("data_directory", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("stibium_version", sa.String(40), nullable=False),
    sa.Column("strategy_toml", sa.Text, nullable=False),
    sa.Column("record_json", sa.Text, nullable=False),
    sa.Column("result_json", sa.Text, nullable=False),
)
meta_table = sa.Table(
    "stibium_meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
)

T = TypeVar("T")


@dataclass
class SavedRun:
    """One saved run, read back: its result, strategy and run record."""

    id: int
    name: str | None
    strategy: Strategy
    record: dict[str, Any]
    result: SolveResult
    status: str
    total_cost: float
    data_fingerprint: str
    data_directory: str
    created_at: datetime


def default_url() -> str:
    """``STIBIUM_RUNS_URL`` if set, else the SQLite file ``~/.stibium/runs.sqlite``."""
    configured = os.environ.get(ENV_URL, "").strip()
    if configured:
        return configured
    return "sqlite:///" + str(Path("~/.stibium/runs.sqlite").expanduser())


class RunStore:
    """Saved runs in a database named by a SQLAlchemy URL (default: :func:`default_url`)."""

    def __init__(self, url: str | None = None) -> None:
        text = url if url is not None and url.strip() else default_url()
        try:
            self._url: URL = make_url(text)
        except ArgumentError:
            raise StibiumInputError(f"runs store: not a database URL: {text!r} (for example "
                                    f"sqlite:///runs.sqlite or postgresql+psycopg://user@host"
                                    f"/db)") from None
        self.is_sqlite = self._url.get_backend_name() == "sqlite"
        self.url = self._url.render_as_string(hide_password=True)
        self.engine = self._create_engine()
        try:
            self._retry(self._ensure_schema)
        except OperationalError as exc:
            self.engine.dispose()
            raise StibiumInputError(f"runs store {self.url}: cannot be opened "
                                    f"({_first_line(exc.orig or exc)})") from None
        except BaseException:
            self.engine.dispose()
            raise

    # --- connection --------------------------------------------------------------------------

    def _create_engine(self) -> Engine:
        try:
            if self.is_sqlite:
                return self._create_sqlite_engine()
            return sa.create_engine(self._url, pool_pre_ping=True)
        except (NoSuchModuleError, ModuleNotFoundError, ImportError) as exc:
            hint = (" (install it with: pip install 'stibium[postgres]')"
                    if self._url.get_backend_name() == "postgresql" else "")
            raise StibiumInputError(f"runs store {self.url}: no database driver for it: "
                                    f"{_first_line(exc)}{hint}") from None

    def _create_sqlite_engine(self) -> Engine:
        database = self._url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database).expanduser()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StibiumInputError(f"runs store {self.url}: folder {path.parent} cannot "
                                        f"be created ({exc.strerror})") from None
            self._url = self._url.set(database=str(path))
        engine = sa.create_engine(self._url,
                                  connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
            # Manage transactions ourselves (see _on_begin): the driver's implicit BEGIN
            # would take the write lock only at the first write, too late to wait for it.
            dbapi_connection.isolation_level = None
            dbapi_connection.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            dbapi_connection.execute("PRAGMA foreign_keys = ON")
            if database and database != ":memory:":
                _enable_wal(dbapi_connection)

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            # A write takes the write lock up front (and waits for it); a read needs no lock
            # in WAL mode.
            writes = connection.get_execution_options().get("stibium_writes", True)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN DEFERRED")

        return engine

    def _retry(self, action: Callable[[], T]) -> T:
        """Run one transaction, again while SQLite reports the database locked or busy."""
        deadline = time.monotonic() + LOCK_RETRY_S
        delay = 0.02
        while True:
            try:
                return action()
            except OperationalError as exc:
                if not (self.is_sqlite and _is_locked(exc)) or time.monotonic() > deadline:
                    raise
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 1.0)

    @contextlib.contextmanager
    def _transaction(self, *, writes: bool = True) -> Iterator[Connection]:
        """One transaction on its own connection: committed if the block succeeds, rolled back
        otherwise."""
        with self.engine.connect() as connection:
            connection.execution_options(stibium_writes=writes)
            with connection.begin():
                yield connection

    def _ensure_schema(self) -> None:
        with self._transaction() as connection:
            if connection.dialect.name == "postgresql":
                # Two processes creating the tables at once would collide: take turns.
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(7234501)"))
            metadata.create_all(connection, checkfirst=True)
            stored = connection.execute(
                sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
            ).scalar_one_or_none()
            if stored is None:
                connection.execute(meta_table.insert().values(key="schema_version",
                                                              value=str(SCHEMA_VERSION)))
            elif int(stored) > SCHEMA_VERSION:
                raise StibiumInputError(f"runs store {self.url}: written by a newer Stibium "
                                        f"(schema {stored}; this one reads {SCHEMA_VERSION})")

    def close(self) -> None:
        """Close the store's connections."""
        self.engine.dispose()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RunStore({self.url!r})"

    # --- runs --------------------------------------------------------------------------------

    def save(self, result: SolveResult, dataset: Dataset, strategy: Strategy,
             name: str | None = None) -> int:
        """Store a run (its result, strategy and run record); returns its id."""
        name = _check_name(name)
        record = run_record(result, dataset, strategy)
        row = {
            "name": name,
            "strategy_name": strategy.name,
            "status": result.status,
            "total_cost": _finite_or_none(result.total_cost),
            "data_fingerprint": dataset.fingerprint,
            "data_directory": record["data_directory"],
            "created_at": datetime.now(UTC),
            "stibium_version": record["versions"]["stibium"],
            "strategy_toml": strategy.to_toml(),
            "record_json": _dumps(record),
            "result_json": _dumps(result.to_dict()),
        }

        def insert() -> int:
            with self._transaction() as connection:
                inserted = connection.execute(runs_table.insert().values(**row))
                return int(inserted.inserted_primary_key[0])

        return self._retry(insert)

    def list(self) -> pd.DataFrame:
        """One row per saved run, oldest first: id, name, strategy, status, total_cost,
        data_fingerprint, created_at (UTC)."""
        t = runs_table
        query = sa.select(t.c.id, t.c.name, t.c.strategy_name, t.c.status, t.c.total_cost,
                          t.c.data_fingerprint, t.c.created_at).order_by(t.c.id)

        def read() -> list[Any]:
            with self._transaction(writes=False) as connection:
                return list(connection.execute(query))

        rows = [(r.id, r.name, r.strategy_name, r.status, _nan_if_none(r.total_cost),
                 r.data_fingerprint, _utc(r.created_at)) for r in self._retry(read)]
        frame = pd.DataFrame(rows, columns=LIST_COLUMNS)
        frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
        frame["total_cost"] = frame["total_cost"].astype(float)
        return frame

    def load(self, run_id: int | str) -> SavedRun:
        """A saved run, its result rebuilt as a :class:`SolveResult`."""
        key = _check_id(run_id)

        def read() -> Any:
            with self._transaction(writes=False) as connection:
                return connection.execute(
                    sa.select(runs_table).where(runs_table.c.id == key)).one_or_none()

        row = self._retry(read)
        if row is None:
            raise self._unknown(key)
        try:
            record = json.loads(row.record_json)
            result = result_from_dict(json.loads(row.result_json))
        except (ValueError, TypeError, KeyError) as exc:
            raise StibiumInputError(f"run {key} in {self.url} is damaged and cannot be read "
                                    f"({_first_line(exc)})") from None
        strategy = parse_strategy(row.strategy_toml, source=f"run {key}")
        return SavedRun(id=row.id, name=row.name, strategy=strategy, record=record,
                        result=result, status=row.status,
                        total_cost=_nan_if_none(row.total_cost),
                        data_fingerprint=row.data_fingerprint,
                        data_directory=row.data_directory, created_at=_utc(row.created_at))

    def delete(self, run_id: int | str) -> None:
        """Delete one saved run (nothing else changes)."""
        key = _check_id(run_id)

        def remove() -> int:
            with self._transaction() as connection:
                return connection.execute(
                    runs_table.delete().where(runs_table.c.id == key)).rowcount

        if self._retry(remove) == 0:
            raise self._unknown(key)

    def is_reproducible(self, run_id: int | str, dataset: Dataset) -> bool:
        """True when `dataset` is the data the run was solved on (same fingerprint)."""
        key = _check_id(run_id)

        def read() -> Any:
            with self._transaction(writes=False) as connection:
                return connection.execute(sa.select(runs_table.c.data_fingerprint)
                                          .where(runs_table.c.id == key)).scalar_one_or_none()

        fingerprint = self._retry(read)
        if fingerprint is None:
            raise self._unknown(key)
        return bool(dataset.fingerprint) and fingerprint == dataset.fingerprint

    def __len__(self) -> int:
        def count() -> int:
            with self._transaction(writes=False) as connection:
                return int(connection.execute(
                    sa.select(sa.func.count()).select_from(runs_table)).scalar_one())

        return self._retry(count)

    def _unknown(self, run_id: int) -> StibiumInputError:
        return StibiumInputError(f"run {run_id} not found in the runs store {self.url} "
                                 f"(see `stibium runs list`)")


# --- results from JSON -------------------------------------------------------------------------

def result_from_dict(payload: dict[str, Any]) -> SolveResult:
    """Rebuild a :class:`SolveResult` from its :meth:`SolveResult.to_dict` form (or that form
    after a JSON round trip): frames from records, lists in cells (route ``transit``) back to
    tuples, JSON ``null`` back to NaN for numbers."""
    frames = {name: _frame(payload.get(name) or [], _FRAME_COLUMNS.get(name))
              for name in result_frames()}
    return SolveResult(
        status=str(payload["status"]),
        strategy=str(payload["strategy"]),
        total_cost=_number(payload.get("total_cost")),
        objective=_number(payload.get("objective")),
        cost_breakdown={k: _number(v) for k, v in (payload.get("cost_breakdown") or {}).items()},
        metrics={k: _number(v) for k, v in (payload.get("metrics") or {}).items()},
        timings={k: float(v) for k, v in (payload.get("timings") or {}).items()},
        data_fingerprint=str(payload.get("data_fingerprint") or ""),
        message=str(payload.get("message") or ""),
        diagnosis=dict(payload.get("diagnosis") or {}),
        **frames,
    )


def _frame(records: list[dict[str, Any]], columns: list[str] | None) -> pd.DataFrame:
    if not records:
        return pd.DataFrame(columns=columns) if columns else pd.DataFrame()
    frame = pd.DataFrame.from_records(records)
    for column in frame.columns:
        values = frame[column]
        if values.map(lambda v: isinstance(v, list)).any():
            frame[column] = values.map(lambda v: tuple(v) if isinstance(v, list) else v)
        elif values.dtype == object and values.map(
                lambda v: v is None or (isinstance(v, int | float)
                                        and not isinstance(v, bool))).all():
            frame[column] = values.astype(float)  # numbers with JSON nulls (NaN written out)
    return frame


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


# --- helpers -----------------------------------------------------------------------------------

def _enable_wal(connection: sqlite3.Connection) -> None:
    """Switch the file to write-ahead logging (kept in the file), waiting out other writers."""
    deadline = time.monotonic() + LOCK_RETRY_S
    while True:
        try:
            mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) \
                    or time.monotonic() > deadline:
                raise
            time.sleep(0.05 + 0.1 * random.random())


def _is_locked(exc: OperationalError) -> bool:
    text = str(exc.orig or exc).lower()
    return "database is locked" in text or "database is busy" in text \
        or "database table is locked" in text


def _check_id(run_id: Any) -> int:
    if isinstance(run_id, bool):
        raise StibiumInputError(f"run id must be a whole number, not {run_id!r}")
    if isinstance(run_id, int):
        return run_id
    if isinstance(run_id, str) and run_id.strip().isdigit():
        return int(run_id.strip())
    raise StibiumInputError(f"run id must be a whole number, not {run_id!r}")


def _check_name(name: str | None) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str):
        raise StibiumInputError(f"run name must be text, not {name!r}")
    name = " ".join(name.split())
    if not name:
        return None
    if len(name) > NAME_MAX:
        raise StibiumInputError(f"run name is {len(name)} characters long (at most {NAME_MAX})")
    return name


def _dumps(value: Any) -> str:
    return json.dumps(strict_json(value), ensure_ascii=False, allow_nan=False)


def _finite_or_none(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _nan_if_none(value: Any) -> float:
    return math.nan if value is None else float(value)


def _utc(value: datetime) -> datetime:
    """SQLite gives back naive datetimes (written as UTC); PostgreSQL aware ones."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _first_line(exc: BaseException | Any) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
