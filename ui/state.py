"""Every `st.session_state` key of the app, in one place, with the few helpers that touch them.

Per-user choices live in the session: the current strategy (as TOML text, the form shows it
and Run solves it), the data tables the user edited or uploaded (as CSV bytes), and the last
results (plain :class:`~stibium.model.SolveResult` data), so that they survive page switches.
Widget keys are defined here too, so that two pages never collide on one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from stibium.model import SolveResult, Strategy, default_data_dir, load_strategy, parse_strategy

# --- session values --------------------------------------------------------------------------
STRATEGY_TOML = "strategy_toml"          # the current strategy as TOML text
BASE_NAME = "base_name"                  # the shipped strategy it derives from (share links)
FORM_GENERATION = "form_generation"      # bumped when the strategy is replaced: fresh widgets
DATA_DIR = "data_dir"                    # folder of the base data (the shipped data)
DATA_OVERRIDES = "data_overrides"        # {table name: CSV bytes} edited or uploaded tables
DATA_GENERATION = "data_generation"      # bumped when the data change: fresh editors
RUN = "run"                              # the current Run (strategy, data, result)
PREVIOUS_RUN = "previous_run"            # the Run before it (KPI deltas)
FRONTIER = "frontier"                    # the last frontier: {"strategy", "frontier"}
STRESS = "stress"                        # the last stress test: {"plan", "results"}
COMPARISON = "comparison"                # the last comparison: {label: SolveResult}
URL_APPLIED = "url_applied"              # the share-link parameters already restored
FLASH = "flash"                          # messages for the next render: [(kind, text)]
TOML_UPLOAD_SEEN = "toml_upload_seen"    # file id of the strategy TOML already read

# --- keys of the widgets whose value other code reads (buttons, forms and charts have their
# own fixed keys where they are drawn) -------------------------------------------------------
W_SOURCE = "w_strategy_source"
BASE_WIDGET = "base_widget"              # key of the shipped-strategy selector (see below)
W_SAVED_RUN = "w_saved_run"
W_TOML_UPLOAD = "w_toml_upload"
W_TABLE_CHOICE = "w_table_choice"
W_TABLE_UPLOAD = "w_table_upload"
W_FRONTIER_POINT = "w_frontier_point"
W_SAVE_NAME = "w_save_name"
W_COMPARE_SAVED = "w_compare_saved"
W_COMPARE_USE_SAVED = "w_compare_use_saved"


def availability_key(country: str) -> str:
    """Key of the stress page's availability slider of one country."""
    return f"w_avail_{country}"


def form_key(name: str) -> str:
    """Key of a strategy-form widget; a new generation gives widgets new defaults."""
    return f"w_form{st.session_state[FORM_GENERATION]}_{name}"


def base_key() -> str:
    """Key of the shipped-strategy selector: new whenever the strategy is replaced, so that it
    shows the new base; remembered in the session for callbacks and tests."""
    key = f"w_base{st.session_state[FORM_GENERATION]}"
    st.session_state[BASE_WIDGET] = key
    return key


def editor_key(table: str) -> str:
    """Key of the data editor of one table (new after the data change)."""
    return f"w_editor{st.session_state[DATA_GENERATION]}_{table}"


Overrides = tuple[tuple[str, bytes], ...]


@dataclass
class Run:
    """One solved strategy: what was solved, on which data, and the result."""

    strategy_toml: str
    data_dir: str
    overrides: Overrides
    result: SolveResult
    base_name: str
    saved_id: int | None = None

    @property
    def strategy(self) -> Strategy:
        return parse(self.strategy_toml)


def init() -> None:
    """Defaults for a new session (idempotent)."""
    if STRATEGY_TOML not in st.session_state:
        default = load_strategy()  # the model's default strategy
        st.session_state[STRATEGY_TOML] = default.to_toml()
        st.session_state[BASE_NAME] = default.name
    defaults: dict[str, Any] = {
        FORM_GENERATION: 0,
        DATA_DIR: str(default_data_dir()),
        DATA_OVERRIDES: {},
        DATA_GENERATION: 0,
        RUN: None,
        PREVIOUS_RUN: None,
        FRONTIER: None,
        STRESS: None,
        COMPARISON: None,
        URL_APPLIED: None,
        FLASH: [],
    }
    for key, value in defaults.items():
        if key not in st.session_state:
            st.session_state[key] = value


def parse(strategy_toml: str) -> Strategy:
    return parse_strategy(strategy_toml, source="strategy")


def strategy() -> Strategy:
    """The current strategy (the one the form shows)."""
    return parse(st.session_state[STRATEGY_TOML])


def set_strategy(new: Strategy, base_name: str | None = None) -> None:
    """Replace the current strategy; the form is rebuilt with its values."""
    st.session_state[STRATEGY_TOML] = new.to_toml()
    if base_name is not None:
        st.session_state[BASE_NAME] = base_name
    st.session_state[FORM_GENERATION] += 1


def overrides() -> Overrides:
    """The edited/uploaded tables as a hashable, sorted tuple (a cache key)."""
    return tuple(sorted(st.session_state[DATA_OVERRIDES].items()))


def data_key() -> tuple[str, Overrides]:
    return st.session_state[DATA_DIR], overrides()


def current_run() -> Run | None:
    return st.session_state[RUN]


def set_run(run: Run) -> None:
    """Make `run` the current one; the previous one is kept for KPI deltas."""
    previous = st.session_state[RUN]
    if previous is not None and (previous.strategy_toml, previous.overrides) != (
            run.strategy_toml, run.overrides):
        st.session_state[PREVIOUS_RUN] = previous
    st.session_state[RUN] = run


def flash(kind: str, text: str) -> None:
    """A message shown at the top of the next page render (from callbacks)."""
    st.session_state[FLASH].append((kind, text))
