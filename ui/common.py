"""What every page shares: error handling, the current data, solving, share links.

Errors: a page body runs inside :func:`guarded`. Bad input (the model's
:class:`~stibium.model.StibiumInputError`) shows its one-line message — the same line the
CLI prints — with `st.error`; anything else shows one line too, never a traceback, and the
rest of the app keeps working.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import streamlit as st

from stibium.model import Dataset, SolveResult, StibiumInputError, Strategy
from stibium.ui import compute, fmt, share, state

LOG = logging.getLogger("stibium.ui")


def guarded(body: Callable[[], None]) -> None:
    """Run a page body; show input errors as their one line and hide tracebacks.

    Streamlit's own control flow (``st.rerun``, ``st.stop``) derives from BaseException and
    passes through.
    """
    try:
        body()
    except StibiumInputError as exc:
        st.error(str(exc))
    except Exception as exc:  # a bug: one line for the user, the traceback in the server log
        LOG.exception("internal error in the Stibium app")
        st.error(f"Internal error ({type(exc).__name__}): {exc}. This is a bug in Stibium, "
                 f"not in your input; the server log has the details.")


@contextlib.contextmanager
def input_errors() -> Iterator[None]:
    """Show a bad input's one line where it happened; the rest of the page still renders."""
    try:
        yield
    except StibiumInputError as exc:
        st.error(str(exc))


def show_flash() -> None:
    """Messages left by callbacks for this render."""
    messages = st.session_state[state.FLASH]
    st.session_state[state.FLASH] = []
    for kind, text in messages:
        getattr(st, kind)(text)


def current_dataset() -> Dataset:
    """The dataset the user works on (shipped data plus edited tables)."""
    return compute.dataset(*state.data_key())


def run_dataset(run: state.Run) -> Dataset:
    """The dataset a run was solved on."""
    return compute.dataset(run.data_dir, run.overrides)


def solve_current(strategy: Strategy | None = None) -> state.Run:
    """Solve `strategy` (default: the current one) on the current data and make it the
    current run. Cached: unchanged inputs are not solved again."""
    toml = strategy.to_toml() if strategy is not None else st.session_state[state.STRATEGY_TOML]
    data_dir, overrides = state.data_key()
    with st.spinner("Solving…"):
        result = compute.solve_strategy(data_dir, overrides, toml)
    st.session_state[state.STRATEGY_TOML] = toml  # only once it solved: a bad one stays out
    run = state.Run(strategy_toml=toml, data_dir=data_dir, overrides=overrides, result=result,
                    base_name=st.session_state[state.BASE_NAME])
    state.set_run(run)
    write_share_link(run)
    return run


def share_params(strategy_toml: str, base_name: str) -> dict[str, str]:
    return share.encode(state.parse(strategy_toml), base_name)


def write_share_link(run: state.Run) -> None:
    """Put the run's strategy in the address bar, so the address is its share link."""
    params = share_params(run.strategy_toml, run.base_name)
    st.session_state[state.URL_APPLIED] = params
    st.query_params.from_dict(params)


def share_url(params: dict[str, str]) -> str:
    """The full link when the browser told us the app's address, else the query part."""
    query = "?" + urlencode(params)
    url = st.context.url
    return (url.split("?")[0] + query) if url else query


def restore_from_url() -> None:
    """Rebuild the strategy from a share link once per new link, and solve it."""
    params = {k: st.query_params[k] for k in (share.BASE, share.CHANGES) if k in st.query_params}
    if share.BASE not in params or params == st.session_state[state.URL_APPLIED]:
        return
    st.session_state[state.URL_APPLIED] = params
    strategy, base_name = share.decode(params)
    state.set_strategy(strategy, base_name)
    solve_current()
    state.flash("info", f"Strategy '{strategy.name}' restored from the link and solved.")


def require_run() -> state.Run | None:
    """The current run, or a note (and a button to solve the current strategy) if none."""
    run = state.current_run()
    if run is not None:
        return run
    current = state.strategy()
    st.info(f"No plan yet. Set a strategy on the Strategy page and press Run, or solve the "
            f"current strategy ('{current.name}') now.")
    if st.button(f"Run '{current.name}'", type="primary", key="w_require_run"):
        return solve_current()
    return None


def sidebar_summary() -> None:
    """The current strategy and the last run, on every page."""
    with st.sidebar:
        current = state.strategy()
        st.caption(f"Strategy: **{current.name}** ({current.exposure_mode})")
        run = state.current_run()
        if run is not None and run.result.is_optimal:
            st.caption(fmt.md(f"Last run: {run.result.strategy}: "
                              f"{fmt.money(run.result.total_cost)}"))
        if st.session_state[state.DATA_OVERRIDES]:
            edited = ", ".join(sorted(st.session_state[state.DATA_OVERRIDES]))
            st.caption(f"Edited data tables: {edited}")


def show_no_plan(result: SolveResult) -> None:
    """Why there is no plan, in the strategy's own terms (the CLI prints the same lines)."""
    diagnosis = result.diagnosis or {}
    st.error(result.message or f"No optimal plan ({result.status}).")
    if not diagnosis:
        return
    for finding in diagnosis.get("findings", []):
        st.markdown(fmt.md(f"- check: {finding}"))
    relaxation = diagnosis.get("relaxation", [])
    if relaxation:
        st.markdown(fmt.md("**Least change that makes it feasible:** "
                           + "; ".join(r["text"] for r in relaxation)))
    alternatives = diagnosis.get("alternatives", [])
    if len(alternatives) > 1:
        st.markdown(fmt.md("**Or, moving one limit alone:** "
                           + "; or ".join(r["text"] for r in alternatives)))
    if diagnosis.get("conflict"):
        with st.expander("These limits cannot all hold"):
            for item in diagnosis["conflict"]:
                st.markdown(fmt.md(f"- {item}"))
