"""Strategies: a named set of limits and overrides on the base data, stored as small TOML files.

Example (`data/strategies/dependency-aware.toml`)::

    name = "dependency-aware"
    description = "Cap China at 30% counting every flow China can stop."
    exposure_mode = "dependency-aware"

    [caps]
    origin_share = 0.5

    [caps.exposure]
    China = 0.30

Every key is checked against its description in :mod:`stibium.model.settings`; an unknown key
or a value out of range fails with a message naming the key and the allowed values. Names of
origins, hubs, countries, powers and events are checked against the dataset when the model is
built (:func:`check_against`), so one strategy file works with any dataset that has those
names.
"""

from __future__ import annotations

import tomllib
from dataclasses import field, make_dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from .data import Dataset
from .errors import StrategyError
from .settings import BY_KEY, SETTINGS, Setting, choices_of

DEFAULT_STRATEGY = "dependency-aware"
EXPOSURE_MODES = choices_of("exposure_mode")
SCENARIO_MODES = choices_of("scenario_mode")
SEVERITY_SAMPLING = choices_of("severity_sampling")


def _post_init(self: Strategy) -> None:
    _validate(self)


def with_changes(self: Strategy, **changes: Any) -> Strategy:
    """A copy with some settings changed (validated again)."""
    return replace(self, **changes)


def to_toml(self: Strategy) -> str:
    """The strategy as TOML text that :func:`parse_strategy` reads back unchanged."""
    return _to_toml(self)


def _field(setting: Setting) -> Any:
    if isinstance(setting.default, dict):
        return field(default_factory=dict)
    return field(default=setting.default)


# The dataclass is made from the settings' description, so a setting is added in one place.
Strategy = make_dataclass(
    "Strategy", [(s.field, s.annotation, _field(s)) for s in SETTINGS], frozen=True,
    namespace={
        "__module__": __name__,
        "__doc__": "Limits and overrides for one optimisation run. All shares are fractions "
                   "of demand; :data:`~stibium.model.settings.SETTINGS` describes every "
                   "field.",
        "__post_init__": _post_init,
        "with_changes": with_changes,
        "to_toml": to_toml,
    })

_TABLES = {s.key.split(".")[0] for s in SETTINGS if "." in s.key}


def parse_strategy(text: str, source: str = "strategy") -> Strategy:
    """Read a strategy from TOML text; `source` names it in error messages."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StrategyError(f"{source}: not valid TOML ({exc})") from None
    values: dict[str, Any] = {}
    for key, value in _flatten(document, source):
        if key not in BY_KEY:
            allowed = ", ".join(sorted(BY_KEY))
            raise StrategyError(f"{source}: unknown key '{key}' (allowed: {allowed})")
        setting = BY_KEY[key]
        if setting.kind == "names":
            if not isinstance(value, list):
                raise StrategyError(f"{source}: '{key}' must be a list of names")
            value = tuple(value)
        values[setting.field] = value
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
                if isinstance(subvalue, dict) and (dotted not in BY_KEY
                                                   or BY_KEY[dotted].kind != "shares"):
                    raise StrategyError(f"{source}: unknown table '[{dotted}]'")
                items.append((dotted, subvalue))
        else:
            items.append((key, value))
    return items


def _validate(strategy: Strategy) -> None:
    for setting in SETTINGS:
        setting.check(getattr(strategy, setting.field))
    # Rules that join several settings.
    if (strategy.first_period is not None and strategy.last_period is not None
            and strategy.first_period > strategy.last_period):
        raise StrategyError(f"'first_period' {strategy.first_period} is after 'last_period' "
                            f"{strategy.last_period}")
    uses_cvar = (strategy.cvar_shortfall_limit is not None
                 or strategy.cvar_cost_limit_usd is not None
                 or strategy.cvar_shortfall_weight_usd_per_t > 0 or strategy.cvar_cost_weight > 0)
    if uses_cvar and strategy.scenario_mode == "none":
        raise StrategyError("CVaR settings need disruption scenarios: set [scenarios] mode = "
                            "\"exact\" or \"sampled\"")


def check_against(strategy: Strategy, dataset: Dataset) -> None:
    """Fail with a clear message when the strategy names something the dataset lacks."""
    for setting in SETTINGS:
        if not setting.names:
            continue
        names = set(setting.known_names(dataset))
        for name in getattr(strategy, setting.field):
            if name not in names:
                raise StrategyError(f"strategy '{strategy.name}': '{setting.key}' names unknown "
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
    for setting in SETTINGS:
        value = getattr(strategy, setting.field)
        if value == setting.default and setting.field != "name":
            continue
        key = setting.key
        if setting.kind == "shares":
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
