"""Strategy page: start from a shipped strategy, a saved run or a TOML file, set every limit
in one form, edit or upload data tables, and Run. The strategy downloads as TOML and is
shared as a link."""

from __future__ import annotations

import streamlit as st

from stibium.model import (
    RunStore,
    StrategyError,
    load_strategy,
    parse_strategy,
    shipped_strategies,
)
from stibium.ui import common, compute, data_tables, fmt, state
from stibium.ui.strategy_form import strategy_form


def _load_shipped(key: str) -> None:
    name = st.session_state[key]
    state.set_strategy(load_strategy(name), base_name=name)


def shipped_source() -> None:
    names = list(shipped_strategies())
    current_base = st.session_state[state.BASE_NAME]
    key = state.base_key()
    chosen = st.selectbox("Shipped strategy", names, key=key, on_change=_load_shipped,
                          args=(key,),
                          index=names.index(current_base) if current_base in names else 0,
                          help="Choosing one loads it into the form below.")
    st.caption(load_strategy(chosen).description)


def saved_source() -> None:
    with common.input_errors(), RunStore() as store:
        runs = store.list()
        if runs.empty:
            st.info(f"No saved runs in {store.url} yet (save one from the Solution page).")
            return
        labels = {int(r.id): f"#{r.id} {r.name or r.strategy} — {r.status}, "
                              f"{fmt.money(r.total_cost)} ({r.created_at:%Y-%m-%d %H:%M})"
                  for r in runs.itertuples(index=False)}
        run_id = st.selectbox("Saved run", list(labels)[::-1], format_func=labels.get,
                              key=state.W_SAVED_RUN)
        if st.button("Load its strategy", key="w_load_saved"):
            saved = store.load(run_id)
            base = saved.strategy.name if saved.strategy.name in shipped_strategies() \
                else st.session_state[state.BASE_NAME]
            state.set_strategy(saved.strategy, base_name=base)
            st.rerun()


def toml_upload() -> None:
    upload = st.file_uploader("…or upload a strategy TOML", type=["toml"],
                              key=state.W_TOML_UPLOAD)
    if upload is None or st.session_state.get(state.TOML_UPLOAD_SEEN) == upload.file_id:
        return
    st.session_state[state.TOML_UPLOAD_SEEN] = upload.file_id
    with common.input_errors():
        raw = upload.getvalue()
        compute.check_upload(upload.name, raw)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise StrategyError(f"{upload.name}: not UTF-8 text") from None
        strategy = parse_strategy(text, source=upload.name)
        base = strategy.name if strategy.name in shipped_strategies() \
            else st.session_state[state.BASE_NAME]
        state.set_strategy(strategy, base_name=base)
        st.success(f"Loaded '{strategy.name}' from {upload.name} into the form.")


def run_summary(run: state.Run) -> None:
    result = run.result
    if not result.is_optimal:
        common.show_no_plan(result)
        return
    m = result.metrics
    st.success(fmt.md(f"Solved '{result.strategy}': total cost "
                      f"{fmt.money(result.total_cost)} "
                      f"({fmt.per_tonne(m['cost_per_t'])}), unmet demand "
                      f"{fmt.tonnes(m['unmet_t'])}."))
    st.page_link("views/solution.py", label="See the plan, the risks and the downloads",
                 icon=":material/arrow_forward:")


def share_and_download() -> None:
    current = state.strategy()
    params = common.share_params(st.session_state[state.STRATEGY_TOML],
                                 st.session_state[state.BASE_NAME])
    c = st.columns([1, 3])
    c[0].download_button("Download strategy (TOML)", current.to_toml(),
                         file_name=f"{current.name}.toml", mime="application/toml",
                         on_click="ignore", icon=":material/download:")
    with c[1]:
        st.caption("Share link (the strategy, not edited data tables):")
        st.code(common.share_url(params), language=None, wrap_lines=True)


def apply_tables(new: dict[str, bytes]) -> None:
    """Validate the data with some tables replaced; keep them only if the loader accepts."""
    candidate = {**st.session_state[state.DATA_OVERRIDES], **new}
    compute.dataset(st.session_state[state.DATA_DIR], tuple(sorted(candidate.items())))
    st.session_state[state.DATA_OVERRIDES] = candidate
    st.session_state[state.DATA_GENERATION] += 1
    st.success(f"Data updated ({', '.join(sorted(new))}): press Run to solve with them.")


def data_section() -> None:
    st.subheader("Data tables")
    data = common.current_dataset()
    edit, upload, edited = st.tabs(["Edit a table", "Upload CSV tables", "Edited tables"])
    with edit:
        table = st.selectbox("Table", data_tables.editable_tables(), key=state.W_TABLE_CHOICE)
        shown = data_tables.for_display(data[table])
        with st.form(f"w_edit_form_{table}"):
            changed = st.data_editor(shown, key=state.editor_key(table), num_rows="dynamic",
                                     hide_index=True, width="stretch")
            applied = st.form_submit_button("Apply edits")
        if applied:
            with common.input_errors():
                if changed.reset_index(drop=True).equals(shown.reset_index(drop=True)):
                    st.info("No cell changed.")
                else:
                    apply_tables({table: data_tables.to_csv_bytes(changed, table)})
    with upload:
        st.caption("Name each file after the table it replaces (e.g. prices.csv), with the "
                   "columns of data/schema.csv; at most 5 MB, UTF-8.")
        with st.form("w_upload_form", clear_on_submit=True):
            files = st.file_uploader("CSV tables", type=["csv"], accept_multiple_files=True,
                                     key=state.W_TABLE_UPLOAD)
            submitted = st.form_submit_button("Apply uploaded tables")
        if submitted and files:
            with common.input_errors():
                new = {}
                for file in files:
                    raw = file.getvalue()
                    compute.check_upload(file.name, raw)
                    new[compute.table_of_file(file.name)] = raw
                apply_tables(new)
    with edited:
        overrides = st.session_state[state.DATA_OVERRIDES]
        if not overrides:
            st.caption("None: the shipped data are used as they are.")
        for name, raw in sorted(overrides.items()):
            st.download_button(f"{name}.csv (edited)", raw, file_name=f"{name}.csv",
                               mime="text/csv", on_click="ignore", key=f"w_dl_{name}")
        if overrides and st.button("Back to the shipped data", key="w_reset_data"):
            st.session_state[state.DATA_OVERRIDES] = {}
            st.session_state[state.DATA_GENERATION] += 1
            st.rerun()


def render() -> None:
    common.show_flash()
    st.title("Strategy")
    st.caption("A strategy is a set of limits on the sourcing plan. Start from one, change any "
               "limit, and Run: the plan minimises cost within the limits.")
    c = st.columns([1, 2])
    with c[0]:
        source = st.radio("Start from", ["Shipped strategy", "Saved run"], horizontal=True,
                          key=state.W_SOURCE)
    with c[1]:
        if source == "Shipped strategy":
            shipped_source()
        else:
            saved_source()
    toml_upload()
    data = common.current_dataset()
    with common.input_errors():
        submitted = strategy_form(state.strategy(), data)
        if submitted is not None:
            run_summary(common.solve_current(submitted))
    run = state.current_run()
    if run is not None and (run.strategy_toml, run.overrides) != (
            st.session_state[state.STRATEGY_TOML], state.overrides()):
        st.info("The strategy or the data changed since the last run: press Run to solve again.")
    share_and_download()
    data_section()


common.guarded(render)
