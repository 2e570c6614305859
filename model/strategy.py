"""Strategies: a named set of limits and overrides on the base data, stored as small TOML files.

Example (`data/strategies/dependency-aware.toml`)::

    name = "dependency-aware"
    description = "Cap China at 30% counting every flow China can stop."
    exposure_mode = "dependency-aware"

    [caps]
    origin_share = 0.5

    [caps.exposure]
    China = 0.30

Every key is checked; an unknown key or a value out of range fails with a message naming the
key. Names of origins, hubs, countries and powers are checked against the dataset when the
model is built (:func:`check_against`), so one strategy file works with any dataset that has
those names.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from .data import Dataset
from .errors import StrategyError

EXPOSURE_MODES = ("naive", "dependency-aware")
DEFAULT_STRATEGY = "dependency-aware"


@dataclass(frozen=True)
class Strategy:
    """Limits and overrides for one optimisation run. All shares are fractions of demand."""

    name: str = "default"
    description: str = ""
    first_period: int | None = None
    last_period: int | None = None
    demand_scale: float = 1.0
    demand_t: float | None = None
    exposure_mode: str = "dependency-aware"
    origin_share_cap: float | None = None
    hub_share_cap: float | None = None
    country_share_cap: float | None = None
    origin_caps: dict[str, float] = field(default_factory=dict)
    hub_caps: dict[str, float] = field(default_factory=dict)
    country_caps: dict[str, float] = field(default_factory=dict)
    exposure_caps: dict[str, float] = field(default_factory=dict)
    risk_budget: float | None = None
    risk_price_usd_per_t: float = 0.0
    stock_target_days: float = 0.0
    initial_stock_t: float = 0.0
    excluded_origins: tuple[str, ...] = ()
    excluded_hubs: tuple[str, ...] = ()
    max_lead_time_days: float | None = None
    max_geopolitical_distance: float | None = None
    unmet_penalty_usd_per_t: float | None = None
    max_unmet_share: float | None = None
    scenario_mode: str = "none"
    scenario_samples: int = 1000
    scenario_seed: int = 42
    severity_sampling: str = "sampled"
    scenario_events: tuple[str, ...] = ()
    spot_limit_share: float | None = None
    cvar_beta: float | None = None
    cvar_shortfall_limit: float | None = None
    cvar_cost_limit_usd: float | None = None
    cvar_shortfall_weight_usd_per_t: float = 0.0
    cvar_cost_weight: float = 0.0

    def __post_init__(self) -> None:
        _validate(self)

    def with_changes(self, **changes: Any) -> Strategy:
        """A copy with some settings changed (validated again)."""
        return replace(self, **changes)

    def to_toml(self) -> str:
        """The strategy as TOML text that :func:`parse_strategy` reads back unchanged."""
        return _to_toml(self)


# TOML layout → dataclass field. Nested tables are spelled with dots.
_TOML_KEYS: dict[str, str] = {
    "name": "name",
    "description": "description",
    "first_period": "first_period",
    "last_period": "last_period",
    "demand_scale": "demand_scale",
    "demand_t": "demand_t",
    "exposure_mode": "exposure_mode",
    "max_lead_time_days": "max_lead_time_days",
    "unmet_penalty_usd_per_t": "unmet_penalty_usd_per_t",
    "max_unmet_share": "max_unmet_share",
    "caps.origin_share": "origin_share_cap",
    "caps.hub_share": "hub_share_cap",
    "caps.country_share": "country_share_cap",
    "caps.origin": "origin_caps",
    "caps.hub": "hub_caps",
    "caps.country": "country_caps",
    "caps.exposure": "exposure_caps",
    "risk.budget": "risk_budget",
    "risk.price_usd_per_t": "risk_price_usd_per_t",
    "stockpile.target_days": "stock_target_days",
    "stockpile.initial_t": "initial_stock_t",
    "exclude.origins": "excluded_origins",
    "exclude.hubs": "excluded_hubs",
    "exclude.max_geopolitical_distance": "max_geopolitical_distance",
    "scenarios.mode": "scenario_mode",
    "scenarios.samples": "scenario_samples",
    "scenarios.seed": "scenario_seed",
    "scenarios.severity": "severity_sampling",
    "scenarios.events": "scenario_events",
    "scenarios.spot_limit_share": "spot_limit_share",
    "cvar.beta": "cvar_beta",
    "cvar.shortfall_limit": "cvar_shortfall_limit",
    "cvar.cost_limit_usd": "cvar_cost_limit_usd",
    "cvar.shortfall_weight_usd_per_t": "cvar_shortfall_weight_usd_per_t",
    "cvar.cost_weight": "cvar_cost_weight",
}
_TABLES = {key.split(".")[0] for key in _TOML_KEYS if "." in key}
_MAPPINGS = {"origin_caps", "hub_caps", "country_caps", "exposure_caps"}
_SEQUENCES = {"excluded_origins", "excluded_hubs", "scenario_events"}
SCENARIO_MODES = ("none", "exact", "sampled")
SEVERITY_SAMPLING = ("central", "sampled")


def parse_strategy(text: str, source: str = "strategy") -> Strategy:
    """Read a strategy from TOML text; `source` names it in error messages."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StrategyError(f"{source}: not valid TOML ({exc})") from None
    values: dict[str, Any] = {}
    for key, value in _flatten(document, source):
        if key not in _TOML_KEYS:
            allowed = ", ".join(sorted(_TOML_KEYS))
            raise StrategyError(f"{source}: unknown key '{key}' (allowed: {allowed})")
        values[_TOML_KEYS[key]] = value
    for name in _SEQUENCES & values.keys():
        if not isinstance(values[name], list):
            raise StrategyError(f"{source}: '{_toml_key(name)}' must be a list of names")
        values[name] = tuple(values[name])
    try:
        return Strategy(**values)
    except StrategyError as exc:
        raise StrategyError(f"{source}: {exc}") from None


def _flatten(document: dict[str, Any], source: str) -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for key, value in document.items():
        if isinstance(value, dict) and key in _TABLES:
            for sub, subvalue in value.items():
                dotted = f"{key}.{sub}"
                if isinstance(subvalue, dict) and _TOML_KEYS.get(dotted) not in _MAPPINGS:
                    raise StrategyError(f"{source}: unknown table '[{dotted}]'")
                items.append((dotted, subvalue))
        else:
            items.append((key, value))
    return items


def _toml_key(field_name: str) -> str:
    return next(k for k, v in _TOML_KEYS.items() if v == field_name)


def _check_share(key: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StrategyError(f"'{key}' must be a number in [0, 1], not {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise StrategyError(f"'{key}' = {value} is outside [0, 1] (write 0.3 for 30%)")


def _check_nonnegative(key: str, value: Any, upper: float = 1e12) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StrategyError(f"'{key}' must be a number, not {value!r}")
    if not 0.0 <= float(value) <= upper:
        raise StrategyError(f"'{key}' = {value} is outside [0, {upper:g}]")


def _validate(strategy: Strategy) -> None:
    if not isinstance(strategy.name, str) or not strategy.name.strip():
        raise StrategyError("'name' must be a non-empty text")
    if not isinstance(strategy.description, str):
        raise StrategyError("'description' must be text")
    for period_field in ("first_period", "last_period"):
        value = getattr(strategy, period_field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or not 1900 <= value <= 2200):
            raise StrategyError(f"'{period_field}' must be a year such as 2026, not {value!r}")
    if (strategy.first_period is not None and strategy.last_period is not None
            and strategy.first_period > strategy.last_period):
        raise StrategyError(f"'first_period' {strategy.first_period} is after 'last_period' "
                            f"{strategy.last_period}")
    _check_nonnegative("demand_scale", strategy.demand_scale, upper=1e3)
    if strategy.demand_scale == 0:
        raise StrategyError("'demand_scale' must be above 0")
    if strategy.demand_t is not None:
        _check_nonnegative("demand_t", strategy.demand_t, upper=1e7)
    if strategy.exposure_mode not in EXPOSURE_MODES:
        raise StrategyError(f"'exposure_mode' must be one of {', '.join(EXPOSURE_MODES)}, "
                            f"not {strategy.exposure_mode!r}")
    for field_name in ("origin_share_cap", "hub_share_cap", "country_share_cap", "risk_budget",
                       "max_unmet_share"):
        value = getattr(strategy, field_name)
        if value is not None:
            _check_share(_toml_key(field_name), value)
    for field_name in _MAPPINGS:
        mapping = getattr(strategy, field_name)
        if not isinstance(mapping, dict):
            raise StrategyError(f"'{_toml_key(field_name)}' must be a table of name = share")
        for name, value in mapping.items():
            _check_share(f"{_toml_key(field_name)}.{name}", value)
    _check_nonnegative("risk.price_usd_per_t", strategy.risk_price_usd_per_t)
    _check_nonnegative("stockpile.target_days", strategy.stock_target_days, upper=3650)
    _check_nonnegative("stockpile.initial_t", strategy.initial_stock_t, upper=1e7)
    for field_name in _SEQUENCES:
        names = getattr(strategy, field_name)
        if not all(isinstance(n, str) for n in names):
            raise StrategyError(f"'{_toml_key(field_name)}' must be a list of names")
    if strategy.max_lead_time_days is not None:
        _check_nonnegative("max_lead_time_days", strategy.max_lead_time_days, upper=3650)
    if strategy.max_geopolitical_distance is not None:
        _check_nonnegative("exclude.max_geopolitical_distance",
                           strategy.max_geopolitical_distance, upper=10)
    if strategy.unmet_penalty_usd_per_t is not None:
        _check_nonnegative("unmet_penalty_usd_per_t", strategy.unmet_penalty_usd_per_t)
    _validate_risk(strategy)


def _validate_risk(strategy: Strategy) -> None:
    if strategy.scenario_mode not in SCENARIO_MODES:
        raise StrategyError(f"'scenarios.mode' must be one of {', '.join(SCENARIO_MODES)}, "
                            f"not {strategy.scenario_mode!r}")
    if strategy.severity_sampling not in SEVERITY_SAMPLING:
        raise StrategyError(f"'scenarios.severity' must be one of "
                            f"{', '.join(SEVERITY_SAMPLING)}, not {strategy.severity_sampling!r}")
    for key, value, upper in (("scenarios.samples", strategy.scenario_samples, 1_000_000),
                              ("scenarios.seed", strategy.scenario_seed, 2**63 - 1)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= upper:
            raise StrategyError(f"'{key}' must be a whole number in [0, {upper}], not {value!r}")
    if strategy.scenario_samples < 1:
        raise StrategyError("'scenarios.samples' must be at least 1")
    if strategy.spot_limit_share is not None:
        _check_nonnegative("scenarios.spot_limit_share", strategy.spot_limit_share, upper=10)
    if strategy.cvar_beta is not None:
        _check_share("cvar.beta", strategy.cvar_beta)
        if strategy.cvar_beta >= 1:
            raise StrategyError("'cvar.beta' must be below 1 (0.95 looks at the worst 5%)")
    if strategy.cvar_shortfall_limit is not None:
        _check_share("cvar.shortfall_limit", strategy.cvar_shortfall_limit)
    if strategy.cvar_cost_limit_usd is not None:
        _check_nonnegative("cvar.cost_limit_usd", strategy.cvar_cost_limit_usd, upper=1e15)
    _check_nonnegative("cvar.shortfall_weight_usd_per_t",
                       strategy.cvar_shortfall_weight_usd_per_t)
    _check_nonnegative("cvar.cost_weight", strategy.cvar_cost_weight, upper=1e3)
    uses_cvar = (strategy.cvar_shortfall_limit is not None
                 or strategy.cvar_cost_limit_usd is not None
                 or strategy.cvar_shortfall_weight_usd_per_t > 0 or strategy.cvar_cost_weight > 0)
    if uses_cvar and strategy.scenario_mode == "none":
        raise StrategyError("CVaR settings need disruption scenarios: set [scenarios] mode = "
                            "\"exact\" or \"sampled\"")


def check_against(strategy: Strategy, dataset: Dataset) -> None:
    """Fail with a clear message when the strategy names something the dataset lacks."""
    known = {
        "caps.origin": set(dataset["origins"]["origin"]),
        "caps.hub": set(dataset["hubs"]["hub"]),
        "caps.country": set(dataset["countries"]["country"]),
        "caps.exposure": set(dataset["powers"]["power"]),
        "exclude.origins": set(dataset["origins"]["origin"]),
        "exclude.hubs": set(dataset["hubs"]["hub"]),
        "scenarios.events": set(dataset["events"]["event"]),
    }
    for key, names in known.items():
        for name in getattr(strategy, _TOML_KEYS[key]):
            if name not in names:
                raise StrategyError(f"strategy '{strategy.name}': '{key}' names unknown "
                                    f"'{name}' (known: {', '.join(sorted(names))})")
    periods = dataset.periods
    first = strategy.first_period if strategy.first_period is not None else periods[0]
    last = strategy.last_period if strategy.last_period is not None else periods[-1]
    if not any(first <= p <= last for p in periods):
        raise StrategyError(f"strategy '{strategy.name}': periods {first}–{last} have no demand "
                            f"and price data (data covers {periods[0]}–{periods[-1]})")


def shipped_strategies() -> dict[str, Path]:
    """Name → path of every strategy shipped with Stibium."""
    folder = Path(str(resources.files("stibium.data.strategies")))
    return {path.stem: path for path in sorted(folder.glob("*.toml"))}


def load_strategy(name_or_path: str | Path | None = None) -> Strategy:
    """A shipped strategy by name, or a strategy TOML file by path (None: the default)."""
    if name_or_path is None:
        name_or_path = DEFAULT_STRATEGY
    shipped = shipped_strategies()
    if isinstance(name_or_path, str) and name_or_path in shipped:
        path = shipped[name_or_path]
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise StrategyError(f"{name_or_path}: no such strategy file, and not a shipped "
                                f"strategy (shipped: {', '.join(shipped)})")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StrategyError(f"{path.name}: not UTF-8 text") from None
    except OSError as exc:
        raise StrategyError(f"{path}: cannot be read ({exc.strerror})") from None
    return parse_strategy(text, source=path.name)


def _to_toml(strategy: Strategy) -> str:
    scalars: list[str] = []
    tables: dict[str, list[str]] = {}
    defaults = Strategy()
    for f in fields(Strategy):
        value = getattr(strategy, f.name)
        if value == getattr(defaults, f.name) and f.name not in ("name",):
            continue
        key = _toml_key(f.name)
        if f.name in _MAPPINGS:
            lines = [f"{_toml_name(k)} = {_toml_value(v)}" for k, v in value.items()]
            tables[key] = lines
            continue
        table, _, leaf = key.rpartition(".")
        line = f"{leaf} = {_toml_value(value)}"
        if table:
            tables.setdefault(table, []).append(line)
        else:
            scalars.append(line)
    parts = ["\n".join(scalars)]
    for table, lines in tables.items():
        parts.append(f"[{table}]\n" + "\n".join(lines))
    return "\n\n".join(p for p in parts if p) + "\n"


def _toml_name(name: str) -> str:
    return name if name.replace("-", "").replace("_", "").isalnum() else _toml_value(name)


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return repr(value)
