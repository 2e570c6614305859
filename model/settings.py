"""Every strategy setting, described once: TOML key, type, allowed values, unit, default, help.

:data:`SETTINGS` is the one description. The :class:`~stibium.model.strategy.Strategy`
dataclass is made from it, the TOML reader and the validator check each value against it, the
export names settings by it, the app builds its form from it and the README's settings table is
printed from it (:mod:`stibium.model.docs`).

Only rules that join several settings (first year before last, CVaR needs scenarios) are
written out by hand, in :mod:`stibium.model.strategy`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .data import TABLES, Dataset
from .errors import StrategyError

# Kinds of setting and the Python type each holds.
KINDS = {
    "text": "str",
    "year": "int",
    "number": "float",
    "share": "float",
    "integer": "int",
    "choice": "str",
    "names": "tuple[str, ...]",
    "shares": "dict[str, float]",
}


@dataclass(frozen=True)
class Setting:
    """One strategy setting.

    `field` is the :class:`Strategy` attribute, `key` the TOML key (tables spelled with dots).
    `low`/`high` bound numbers (`above`/`below`: the bound itself is excluded); `optional`
    settings may be left unset (None), and `unset` says what that means. `names` is the data
    table whose names a per-name setting uses. `label`, `group`, `widget`, `step` and `fmt`
    place the setting in the app's form.
    """

    field: str
    key: str
    kind: str
    default: Any
    help: str
    label: str
    group: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    above: bool = False
    below: bool = False
    choices: tuple[str, ...] = ()
    optional: bool = False
    unset: str = ""
    non_empty: bool = False
    hint: str = ""
    names: str = ""
    widget: str = ""
    step: float | None = None
    fmt: str | None = None

    @property
    def annotation(self) -> str:
        kind = KINDS[self.kind]
        return f"{kind} | None" if self.optional and "None" not in kind else kind

    @property
    def widget_key(self) -> str:
        return self.widget or self.field

    @property
    def interval(self) -> str:
        """The allowed range as an interval, e.g. ``[0, 1]`` or ``(0, 1000]``."""
        def number(value: float) -> str:
            return str(int(value)) if self.kind in ("integer", "year") else f"{value:g}"
        return (f"{'(' if self.above else '['}{number(self.low or 0)}, {number(self.high or 0)}"
                f"{')' if self.below else ']'}")

    def allowed(self) -> str:
        """The allowed values in words, as the README table shows them."""
        if self.kind in ("number", "share", "integer", "year"):
            word = {"number": "number", "share": "share", "integer": "whole number",
                    "year": "year"}[self.kind]
            return f"{word} in {self.interval}"
        if self.kind == "choice":
            return "one of " + ", ".join(f'"{c}"' for c in self.choices)
        if self.kind == "names":
            return f"list of {self.name_column} names"
        if self.kind == "shares":
            return f"table of {self.name_column} = share in [0, 1]"
        return "non-empty text" if self.non_empty else "text"

    def default_text(self) -> str:
        if self.default is None:
            return f"not set ({self.unset})" if self.unset else "not set"
        if self.kind in ("names", "shares") and not self.default:
            return f"none ({self.unset})" if self.unset else "none"
        if isinstance(self.default, str):
            return f'"{self.default}"'
        return f"{self.default:g}" if isinstance(self.default, float) else str(self.default)

    @property
    def name_column(self) -> str:
        """The column of the `names` table that holds the names (``origin`` in origins.csv)."""
        return TABLES[self.names].key[0]

    def known_names(self, dataset: Dataset) -> list[str]:
        """The names in the data a per-name setting may use (the origins for ``caps.origin``)."""
        return list(dataset[self.names][self.name_column])

    def check(self, value: Any) -> None:
        """Raise :class:`StrategyError` (one line naming the key and the allowed values) when
        `value` is not allowed."""
        if value is None and self.optional:
            return
        if self.kind == "text":
            if not isinstance(value, str) or (self.non_empty and not value.strip()):
                raise StrategyError(f"'{self.key}' must be "
                                    f"{'a non-empty text' if self.non_empty else 'text'}")
        elif self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise StrategyError(f"'{self.key}' must be one of {', '.join(self.choices)}, "
                                    f"not {value!r}")
        elif self.kind == "names":
            if not isinstance(value, tuple | list) or not all(isinstance(n, str) for n in value):
                raise StrategyError(f"'{self.key}' must be a list of names")
        elif self.kind == "shares":
            if not isinstance(value, dict):
                raise StrategyError(f"'{self.key}' must be a table of name = share")
            for name, share in value.items():
                _check_number(f"{self.key}.{name}", share, SHARE)
        elif self.kind in ("integer", "year"):
            if (isinstance(value, bool) or not isinstance(value, int)
                    or not self._inside(value)):
                example = " such as 2026" if self.kind == "year" else ""
                word = "a year" if self.kind == "year" else "a whole number"
                raise StrategyError(f"'{self.key}' must be {word} in {self.interval}{example}, "
                                    f"not {value!r}")
        else:
            _check_number(self.key, value, self)

    def _inside(self, value: float) -> bool:
        low, high = float(self.low or 0.0), float(self.high or 0.0)
        above = value > low if self.above else value >= low
        below = value < high if self.below else value <= high
        return above and below


def _check_number(key: str, value: Any, setting: Setting) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StrategyError(f"'{key}' must be a number in {setting.interval}, not {value!r}")
    if math.isnan(value) or not setting._inside(value):
        hint = f" ({setting.hint})" if setting.hint else ""
        raise StrategyError(f"'{key}' = {value} is outside {setting.interval}{hint}")


SHARE_HINT = "write 0.3 for 30%"
MONEY = 1e12  # $/t and $ beyond this are typing errors, not prices

_DEMAND = "Demand & horizon"
_CAPS = "Caps & exposure"
_FILTERS = "Risk budget & filters"
_SCENARIOS = "Scenarios & CVaR"
_STOCK = "Stockpile"


def _share(field: str, key: str, help: str, label: str, group: str, **more: Any) -> Setting:
    options: dict[str, Any] = {"default": None, "optional": True, "unset": "no limit",
                               "unit": "share of demand", "step": 0.01, "fmt": "%.3f",
                               **more}
    return Setting(field, key, "share", help=help, label=label, group=group, low=0.0, high=1.0,
                   hint=options.pop("hint", SHARE_HINT), **options)


def _caps(field: str, key: str, names: str, help: str, label: str) -> Setting:
    return Setting(field, key, "shares", {}, help, label, _CAPS, unit="share of demand",
                   names=names, unset="no per-name cap")


SETTINGS: tuple[Setting, ...] = (
    Setting("name", "name", "text", "default", "The strategy's name, shown in reports and "
            "comparisons.", "Name", "", non_empty=True),
    Setting("description", "description", "text", "", "What the strategy is for, in a "
            "sentence.", "Description", ""),
    Setting("first_period", "first_period", "year", None, "First year planned.", "First year",
            _DEMAND, unit="year", low=1900, high=2200, optional=True,
            unset="the data's first year"),
    Setting("last_period", "last_period", "year", None, "Last year planned.", "Last year",
            _DEMAND, unit="year", low=1900, high=2200, optional=True,
            unset="the data's last year"),
    Setting("demand_scale", "demand_scale", "number", 1.0, "Multiplies the data's demand "
            "(when no tonnes per year are set).", "Demand scale", _DEMAND, unit="ratio",
            low=0.0, high=1e3, above=True, hint="1 is the data's demand", step=0.1,
            fmt="%.2f"),
    Setting("demand_t", "demand_t", "number", None, "The buyer's size in tonnes of contained "
            "antimony a year, replacing demand.csv.", "Demand (t/yr)", _DEMAND, unit="t/yr",
            low=0.0, high=1e7, optional=True, unset="demand.csv", step=500.0, fmt="%.0f"),
    Setting("exposure_mode", "exposure_mode", "choice", "dependency-aware",
            "How exposure to a power is counted: naive counts only flows mined or processed in "
            "it; dependency-aware counts every flow with the share of it the power could stop "
            "(the leverage matrix).", "Exposure mode", _CAPS,
            choices=("naive", "dependency-aware")),
    _share("origin_share_cap", "caps.origin_share", "Any one origin at most this share of "
           "demand (0.4 = 40%).", "Default origin share cap", _CAPS),
    _share("hub_share_cap", "caps.hub_share", "Any one processing hub at most this share of "
           "demand.", "Default hub share cap", _CAPS),
    _share("country_share_cap", "caps.country_share", "Any one country, counting what is mined "
           "or processed there, at most this share of demand.", "Default country share cap",
           _CAPS),
    _caps("origin_caps", "caps.origin", "origins", "This origin at most this share of demand.",
          "Caps per origin"),
    _caps("hub_caps", "caps.hub", "hubs", "This hub at most this share of demand.",
          "Caps per hub"),
    _caps("country_caps", "caps.country", "countries", "Mined or processed in this country at "
          "most this share of demand.", "Caps per country"),
    _caps("exposure_caps", "caps.exposure", "powers", "Exposure to this power at most this "
          "share of demand.", "Exposure caps per power"),
    _share("risk_budget", "risk.budget", "The demand-weighted average country risk score "
           "(0 best governed, 1 worst) at most this.", "Risk budget", _FILTERS,
           unit="risk score", hint="0 is best governed, 1 worst"),
    Setting("risk_price_usd_per_t", "risk.price_usd_per_t", "number", 0.0, "Adds this many "
            "dollars per tonne for each unit of country risk score to the cost, so riskier "
            "supply must be cheaper to be chosen.", "Risk price ($/t per unit of score)",
            _FILTERS, unit="$/t per unit of score", low=0.0, high=MONEY, step=1000.0,
            fmt="%.0f", widget="risk_price"),
    Setting("stock_target_days", "stockpile.target_days", "number", 0.0, "Days of demand held "
            "in stock at the end of each year.", "Stockpile target (days of cover)", _STOCK,
            unit="days", low=0.0, high=3650, step=10.0, fmt="%.0f"),
    Setting("initial_stock_t", "stockpile.initial_t", "number", 0.0, "Stock already held "
            "before the first year.", "Initial stock (t)", _STOCK, unit="t", low=0.0,
            high=1e7, step=100.0, fmt="%.0f"),
    Setting("excluded_origins", "exclude.origins", "names", (), "Origins never bought from.",
            "Excluded origins", _CAPS, names="origins", unset="none excluded"),
    Setting("excluded_hubs", "exclude.hubs", "names", (), "Hubs never used for processing.",
            "Excluded hubs", _CAPS, names="hubs", unset="none excluded"),
    Setting("max_lead_time_days", "max_lead_time_days", "number", None, "Routes slower than "
            "this from mine to market are not used.", "Max lead time (days)", _FILTERS,
            unit="days", low=0.0, high=3650, optional=True, unset="no limit", step=10.0,
            fmt="%.0f", widget="max_lead_time"),
    Setting("max_geopolitical_distance", "exclude.max_geopolitical_distance", "number", None,
            "Origins further than this from the buyer are not used (0 ally, 10 adversary).",
            "Max geopolitical distance (0–10)", _FILTERS, unit="0–10 scale", low=0.0,
            high=10, optional=True, unset="no limit", step=0.5, fmt="%.1f",
            widget="max_distance"),
    Setting("unmet_penalty_usd_per_t", "unmet_penalty_usd_per_t", "number", None, "The cost "
            "of each tonne of demand left unmet.", "Unmet-demand penalty ($/t)", _DEMAND,
            unit="$/t", low=0.0, high=MONEY, optional=True, unset="the data's parameter",
            step=10000.0, fmt="%.0f", widget="unmet_penalty"),
    _share("max_unmet_share", "max_unmet_share", "At most this share of demand may go unmet "
           "in the plan (0 = all demand must be met).", "Max unmet share", _DEMAND,
           step=0.01, fmt="%.3f"),
    Setting("scenario_mode", "scenarios.mode", "choice", "none", "Which disruptions the plan "
            "is optimised over: none (one deterministic plan), exact (every combination of "
            "events) or sampled (Monte Carlo).", "Scenario mode", _SCENARIOS,
            choices=("none", "exact", "sampled")),
    Setting("scenario_samples", "scenarios.samples", "integer", 1000, "How many scenarios a "
            "sampled run draws.", "Samples", _SCENARIOS, unit="scenarios", low=1,
            high=1_000_000, step=100, widget="samples"),
    Setting("scenario_seed", "scenarios.seed", "integer", 42, "Seed of the random draws: the "
            "same seed gives the same scenarios.", "Seed", _SCENARIOS, low=0, high=2**63 - 1,
            step=1, widget="seed"),
    Setting("severity_sampling", "scenarios.severity", "choice", "sampled", "Whether sampled "
            "events hit with their central severity or a severity drawn from their range.",
            "Severity", _SCENARIOS, choices=("central", "sampled"), widget="severity"),
    Setting("scenario_events", "scenarios.events", "names", (), "The events the scenarios "
            "combine.", "Events (empty: all)", _SCENARIOS, names="events",
            unset="every event", widget="events"),
    Setting("spot_limit_share", "scenarios.spot_limit_share", "number", None, "In a "
            "disruption, spot purchases at most this share of demand a year.",
            "Spot limit (share of demand a year)", _SCENARIOS, unit="share of demand a year",
            low=0.0, high=10, optional=True, unset="the data's parameter", step=0.05,
            fmt="%.2f", widget="spot_limit"),
    _share("cvar_beta", "cvar.beta", "The CVaR level: 0.95 looks at the worst 5% of "
           "scenarios.", "CVaR β", _SCENARIOS, unit="probability", below=True,
           unset="the data's parameter", hint="0.95 looks at the worst 5%", fmt="%.2f"),
    _share("cvar_shortfall_limit", "cvar.shortfall_limit", "The average shortfall in the worst "
           "scenarios (CVaR) at most this share of demand.",
           "CVaR shortfall limit (share of demand)", _SCENARIOS),
    Setting("cvar_cost_limit_usd", "cvar.cost_limit_usd", "number", None, "The average total "
            "cost in the worst scenarios (CVaR of cost) at most this.", "CVaR cost limit ($)",
            _SCENARIOS, unit="$", low=0.0, high=1e15, optional=True, unset="no limit",
            step=1e8, fmt="%.0f", widget="cvar_cost_limit"),
    Setting("cvar_shortfall_weight_usd_per_t", "cvar.shortfall_weight_usd_per_t", "number",
            0.0, "Adds the shortfall in the worst scenarios to the cost at this price per "
            "tonne.", "CVaR shortfall weight ($/t)", _SCENARIOS, unit="$/t", low=0.0,
            high=MONEY, step=10000.0, fmt="%.0f", widget="cvar_shortfall_weight"),
    Setting("cvar_cost_weight", "cvar.cost_weight", "number", 0.0, "Adds this multiple of the "
            "cost in the worst scenarios (CVaR of cost) to the objective.", "CVaR cost weight",
            _SCENARIOS, unit="ratio", low=0.0, high=1e3, step=0.1, fmt="%.2f"),
)

SHARE = Setting("share", "share", "share", None, "", "", "", low=0.0, high=1.0, hint=SHARE_HINT)
BY_FIELD: dict[str, Setting] = {s.field: s for s in SETTINGS}
BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}
GROUPS = (_DEMAND, _CAPS, _FILTERS, _SCENARIOS, _STOCK)


def choices_of(field: str) -> tuple[str, ...]:
    return BY_FIELD[field].choices
