"""The Streamlit app, driven headless with `streamlit.testing.v1.AppTest`.

Every page renders without an exception; the numbers shown are the API's for the same
strategy and data, written by the app's own formatters; results survive page switches; a bad
input shows the model's one-line message with `st.error` and the page goes on working; a
rerun with unchanged inputs solves nothing.
"""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from stibium.model import (
    load_dataset,
    load_strategy,
    parse_strategy,
    read_plan_csv,
    solve,
    stress_test,
)
from stibium.model.errors import StibiumInputError
from stibium.model.frontier import frontier
from stibium.ui import compute, fmt, launch, share, state
from tests.app_helpers import APP, PAGES, data_copy, malformed_prices, raised_prices

TIMEOUT = 120


@pytest.fixture(autouse=True)
def runs_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Saved runs go to a throwaway SQLite file, never to the user's home."""
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    monkeypatch.setenv("STIBIUM_RUNS_URL", url)
    return url


@pytest.fixture(scope="module")
def shipped_data():
    return load_dataset()


@pytest.fixture(scope="module")
def default_result(shipped_data):
    return solve(shipped_data, load_strategy("dependency-aware"))


def new_app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    return at


def button(at: AppTest, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r} among {[b.label for b in at.button]}"
    return matches[0]


def number_input(at: AppTest, label: str):
    matches = [n for n in at.number_input if n.label == label]
    assert matches, f"no number input {label!r}"
    return matches[0]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def run_form(at: AppTest) -> AppTest:
    button(at, "Run").click().run()
    assert not at.exception
    return at


def go(at: AppTest, page: str) -> AppTest:
    at.switch_page(page).run()
    assert not at.exception
    return at


def expected_kpis(result) -> dict[str, str]:
    m = result.metrics
    return {
        "Total cost": fmt.money(result.total_cost),
        "Cost per tonne": fmt.per_tonne(m["cost_per_t"]),
        "Unmet demand": fmt.tonnes(m["unmet_t"]),
        "Naive HHI": fmt.index(m["naive_hhi"]),
        "Effective HHI": fmt.index(m["effective_hhi"]),
        "Expected shortfall": fmt.tonnes(m["expected_shortfall_t"]),
        "CVaR of shortfall": fmt.tonnes(m["cvar_shortfall_t"]),
    }


def shown_kpis(at: AppTest) -> dict[str, str]:
    shown = metrics(at)
    return {label: shown.get(label) for label in expected_kpis_labels()}


def expected_kpis_labels() -> list[str]:
    return ["Total cost", "Cost per tonne", "Unmet demand", "Naive HHI", "Effective HHI",
            "Expected shortfall", "CVaR of shortfall"]


# --- every page ------------------------------------------------------------------------------

@pytest.mark.parametrize(("page", "title"), PAGES)
def test_every_page_renders_without_a_run(page: str, title: str) -> None:
    at = go(new_app(), page)
    assert not errors(at)
    assert [t.value for t in at.title] == [title]


@pytest.mark.parametrize(("page", "title"), PAGES)
def test_every_page_renders_after_a_run(page: str, title: str) -> None:
    at = go(run_form(new_app()), page)
    assert not errors(at)
    assert [t.value for t in at.title] == [title]


# --- the numbers are the API's ---------------------------------------------------------------

def test_run_shows_the_api_numbers(default_result) -> None:
    at = run_form(new_app())
    assert not errors(at)
    at = go(at, "views/solution.py")
    assert shown_kpis(at) == expected_kpis(default_result)
    assert metrics(at)["Total cost"] == fmt.money(
        solve(load_dataset(), load_strategy("dependency-aware")).total_cost)


def test_solution_page_shows_plan_duals_criticality_and_sources(default_result) -> None:
    at = go(run_form(new_app()), "views/solution.py")
    markdown = "\n".join(m.value for m in at.markdown)
    top = default_result.duals.reindex(
        default_result.duals["value"].abs().sort_values(ascending=False).index).iloc[0]
    assert top["meaning"][:1].upper() + top["meaning"][1:] in markdown
    shown = metrics(at)
    panel = default_result.criticality.set_index(["indicator", "basis"])["value"]
    assert shown["HHI (plan)"] == fmt.number(panel[("HHI", "plan")], 0)
    assert shown["GeoPolRisk (plan)"] == fmt.number(panel[("GeoPolRisk", "plan")], 3)
    labels = [e.label for e in at.expander]
    assert any(label.startswith("Formula and inputs of HHI_WGI,t") for label in labels)
    captions = " ".join(c.value for c in at.caption)
    assert "estimates (shaded)" in captions
    assert {d.label for d in at.get("download_button")} >= {"Result bundle (zip)", "Plan (CSV)"}


def test_result_survives_page_switches(default_result) -> None:
    at = run_form(new_app())
    for page, _ in PAGES:
        go(at, page)
    at = go(at, "views/solution.py")
    assert shown_kpis(at) == expected_kpis(default_result)


def test_a_changed_cap_changes_the_numbers_to_the_api_ones(shipped_data,
                                                           default_result) -> None:
    at = run_form(new_app())
    number_input(at, "Default origin share cap").set_value(0.3)
    at = go(run_form(at), "views/solution.py")
    expected = solve(shipped_data, load_strategy("dependency-aware").with_changes(
        origin_share_cap=0.3))
    assert shown_kpis(at) == expected_kpis(expected)
    total = [m for m in at.metric if m.label == "Total cost"][0]
    assert total.delta == fmt.money_delta(expected.total_cost - default_result.total_cost)


# --- caching: nothing is solved twice --------------------------------------------------------

def test_a_rerun_with_unchanged_inputs_does_not_solve_again(monkeypatch) -> None:
    calls: list[str] = []
    real_solve = compute.solve

    def counting(dataset, strategy, **kwargs):
        calls.append(strategy.name)
        return real_solve(dataset, strategy, **kwargs)

    monkeypatch.setattr(compute, "solve", counting)
    at = new_app()
    # A demand no other test uses, so that the first Run really solves.
    number_input(at, "Demand (t/yr)").set_value(9137.0)
    run_form(at)
    assert len(calls) == 1
    at.run()
    run_form(at)
    for page, _ in PAGES:
        go(at, page)
    go(at, "views/strategy.py")
    run_form(at)
    assert len(calls) == 1


# --- bad input: the model's message, no exception, the page goes on ---------------------------

def test_an_out_of_range_cap_shows_the_models_message() -> None:
    with pytest.raises(StibiumInputError) as raised:
        load_strategy("dependency-aware").with_changes(origin_share_cap=1.5)
    at = new_app()
    number_input(at, "Default origin share cap").set_value(1.5)
    run_form(at)
    assert errors(at) == [str(raised.value)]
    assert at.session_state[state.RUN] is None
    # The page keeps working: a valid value runs.
    number_input(at, "Default origin share cap").set_value(0.4)
    run_form(at)
    assert not errors(at)
    assert at.session_state[state.RUN] is not None


def test_an_out_of_range_cap_in_a_cap_table_shows_the_models_message() -> None:
    with pytest.raises(StibiumInputError) as raised:
        load_strategy("dependency-aware").with_changes(exposure_caps={"China": 1.5,
                                                                      "Russia": 0.3})
    at = new_app()
    at.session_state["w_form0_exposure_caps"] = {  # state.form_key("exposure_caps")
        "edited_rows": {0: {"cap": 1.5}}, "added_rows": [], "deleted_rows": []}
    run_form(at)
    assert errors(at) == [str(raised.value)]


def test_the_solution_page_can_solve_the_current_strategy_itself(default_result) -> None:
    at = go(new_app(), "views/solution.py")
    button(at, "Run 'dependency-aware'").click().run()
    assert not at.exception and not errors(at)
    assert shown_kpis(at) == expected_kpis(default_result)


def test_a_malformed_csv_upload_shows_the_loaders_message(tmp_path: Path) -> None:
    with pytest.raises(StibiumInputError) as raised:
        load_dataset(data_copy(tmp_path / "bad", {"prices": malformed_prices()}))
    at = new_app()
    at.file_uploader(key=state.W_TABLE_UPLOAD).set_value(
        ("prices.csv", malformed_prices(), "text/csv"))
    button(at, "Apply uploaded tables").click().run()
    assert not at.exception
    assert errors(at) == [str(raised.value)]
    assert at.session_state[state.DATA_OVERRIDES] == {}
    run_form(at)
    assert not errors(at)


def test_an_upload_with_an_unknown_table_name_is_refused() -> None:
    at = new_app()
    at.file_uploader(key=state.W_TABLE_UPLOAD).set_value(("price.csv", b"a,b\n1,2\n",
                                                           "text/csv"))
    button(at, "Apply uploaded tables").click().run()
    assert not at.exception
    assert len(errors(at)) == 1 and errors(at)[0].startswith("price.csv: not a Stibium data")


def test_an_upload_above_5_mb_is_refused_before_it_is_read() -> None:
    at = new_app()
    big = b"x" * (compute.MAX_UPLOAD_BYTES + 1)
    at.file_uploader(key=state.W_TABLE_UPLOAD).set_value(("prices.csv", big, "text/csv"))
    button(at, "Apply uploaded tables").click().run()
    assert not at.exception
    assert errors(at) == ["prices.csv: 5.2 MB is too large (at most 5 MB)"]


def test_an_uploaded_table_is_used_by_the_next_run(tmp_path: Path) -> None:
    raw = raised_prices(1.1)
    expected = solve(load_dataset(data_copy(tmp_path / "dear", {"prices": raw})),
                     load_strategy("dependency-aware"))
    at = new_app()
    at.file_uploader(key=state.W_TABLE_UPLOAD).set_value(("prices.csv", raw, "text/csv"))
    button(at, "Apply uploaded tables").click().run()
    assert not errors(at)
    at = go(run_form(at), "views/solution.py")
    assert shown_kpis(at) == expected_kpis(expected)
    at = go(at, "views/data_sources.py")
    assert not errors(at)


def test_a_table_edited_in_the_data_editor_is_validated_and_used(shipped_data) -> None:
    at = new_app()
    key = "w_editor0_prices"  # state.editor_key("prices") in a fresh session
    at.session_state[key] = {"edited_rows": {0: {"benchmark_usd_per_t": 70000.0}},
                             "added_rows": [], "deleted_rows": []}
    button(at, "Apply edits").click().run()
    assert not at.exception
    # 70,000 is above the row's high end (60,000): the loader's message, nothing applied.
    assert len(errors(at)) == 1
    assert errors(at)[0].startswith("prices.csv, column benchmark_usd_per_t, line 2")
    assert at.session_state[state.DATA_OVERRIDES] == {}
    at.session_state[key] = {"edited_rows": {0: {"benchmark_usd_per_t": 50000.0}},
                             "added_rows": [], "deleted_rows": []}
    button(at, "Apply edits").click().run()
    assert not errors(at)
    assert set(at.session_state[state.DATA_OVERRIDES]) == {"prices"}
    prices = shipped_data["prices"].copy()
    prices.loc[0, "benchmark_usd_per_t"] = 50000.0
    edited = type(shipped_data)(tables={**shipped_data.tables, "prices": prices},
                                directory=shipped_data.directory)
    expected = solve(edited, load_strategy("dependency-aware"))
    at = go(run_form(at), "views/solution.py")
    assert shown_kpis(at) == expected_kpis(expected)


def test_a_strategy_toml_upload_fills_the_form_and_a_bad_one_shows_its_error() -> None:
    at = new_app()
    text = load_strategy("naive-diversified").with_changes(name="mine").to_toml()
    at.file_uploader(key=state.W_TOML_UPLOAD).set_value(("mine.toml", text.encode(),
                                                          "application/toml"))
    at.run()
    assert not at.exception and not errors(at)
    assert at.session_state[state.STRATEGY_TOML] == text
    mode = [r for r in at.radio if r.label == "Exposure mode"][0]
    assert mode.value == "naive"
    bad = b'name = "x"\n[caps]\norigin_share = 2\n'
    with pytest.raises(StibiumInputError) as raised:
        parse_strategy(bad.decode(), source="bad.toml")
    at.file_uploader(key=state.W_TOML_UPLOAD).set_value(("bad.toml", bad, "application/toml"))
    at.run()
    assert not at.exception
    assert errors(at) == [str(raised.value)]
    assert at.session_state[state.STRATEGY_TOML] == text


def test_choosing_a_shipped_strategy_loads_it_into_the_form() -> None:
    at = new_app()
    at.selectbox(key=at.session_state[state.BASE_WIDGET]).set_value("min-cvar").run()
    assert not at.exception
    assert load_strategy("min-cvar").description in [c.value for c in at.caption]
    assert [r for r in at.radio if r.label == "Scenario mode"][0].value == "exact"
    assert parse_strategy(at.session_state[state.STRATEGY_TOML]) == load_strategy("min-cvar")


# --- share links -----------------------------------------------------------------------------

def test_a_share_link_restores_and_solves_the_strategy(shipped_data) -> None:
    strategy = load_strategy("dependency-aware").with_changes(
        exposure_caps={"China": 0.2, "Russia": 0.3}, name="tighter")
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(share.encode(strategy, "dependency-aware"))
    at.run()
    assert not at.exception and not errors(at)
    assert parse_strategy(at.session_state[state.STRATEGY_TOML]) == strategy
    at = go(at, "views/solution.py")
    assert shown_kpis(at) == expected_kpis(solve(shipped_data, strategy))


def test_a_run_writes_its_share_link() -> None:
    at = new_app()
    number_input(at, "Default origin share cap").set_value(0.35)
    run_form(at)
    strategy, base = share.decode(at.query_params)
    assert base == "dependency-aware"
    assert strategy == load_strategy("dependency-aware").with_changes(origin_share_cap=0.35)


def test_a_damaged_share_link_shows_one_line_and_the_app_works() -> None:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update({"base": "dependency-aware", "set": "not-a-valid-payload"})
    at.run()
    assert not at.exception
    assert errors(at) == ["share link: the 'set' parameter is damaged (copy the whole link)"]
    run_form(at)
    assert not errors(at)


@pytest.mark.parametrize("name", ["cheapest", "min-cvar", "stockpile-and-diversify"])
def test_share_codec_round_trips(name: str) -> None:
    strategy = load_strategy(name).with_changes(
        description="a, b & c = ü", excluded_origins=("Russia",), scenario_events=(
            "China export ban",), origin_caps={"Tajikistan": 0.25}, demand_t=8000.0)
    assert share.decode(share.encode(strategy, "dependency-aware")) == (
        strategy, "dependency-aware")
    assert share.encode(load_strategy(name), name) == {"base": name}


def test_share_codec_refuses_bad_links() -> None:
    link = share.encode(load_strategy("cheapest").with_changes(origin_share_cap=0.5),
                        "cheapest")
    packed = zlib.compress(json.dumps({"origin_share_cap": 1.5}).encode())
    out_of_range = base64.urlsafe_b64encode(packed).decode().rstrip("=")
    for params in ({"base": "nope"}, {"base": "cheapest", "set": "@@@"},
                   {"base": "cheapest", "set": link["set"][:-4]},
                   {"base": "cheapest", "set": out_of_range}):
        with pytest.raises(StibiumInputError, match="^share link: "):
            share.decode(params)


# --- the other pages: numbers equal the API's ------------------------------------------------

def test_frontier_page_matches_the_api(shipped_data) -> None:
    at = go(new_app(), "views/frontier.py")
    at.selectbox[0].set_value("exposure:China")
    at.slider[0].set_value(3)
    button(at, "Run frontier").click().run()
    assert not at.exception and not errors(at)
    expected = frontier(shipped_data, load_strategy("dependency-aware"), "exposure:China",
                        points=3)
    table = at.dataframe[0].value
    assert list(table["total_cost"]) == [fmt.money(p.total_cost) for p in expected.points]
    point = at.selectbox(key=state.W_FRONTIER_POINT)
    point.set_value(2).run()
    assert metrics(at)["Total cost"] == fmt.money(expected.points[2].total_cost)
    go(at, "views/solution.py")
    at = go(at, "views/frontier.py")
    assert list(at.dataframe[0].value["total_cost"]) == list(table["total_cost"])


def test_frontier_page_explicit_limits_and_a_bad_list() -> None:
    at = go(new_app(), "views/frontier.py")
    at.text_input[0].set_value("0.3, x")
    button(at, "Run frontier").click().run()
    assert not at.exception
    assert errors(at) == ["limits: '0.3, x' is not a comma-separated list of numbers"]


def test_compare_page_matches_the_api(shipped_data) -> None:
    at = go(new_app(), "views/compare.py")
    button(at, "Compare").click().run()
    assert not at.exception and not errors(at)
    table = at.dataframe[0].value
    for name in ("naive-diversified", "dependency-aware"):
        result = solve(shipped_data, load_strategy(name))
        assert table.loc["Total cost", name] == fmt.money(result.total_cost)
        assert table.loc["China effective", name] == fmt.percent(
            result.metrics["exposure_effective:China"])
    assert len(at.dataframe) >= 2  # the plan differences


def test_stress_page_matches_the_api(shipped_data) -> None:
    event = "Coordinated China-Russia pressure"
    expected = stress_test(shipped_data, load_strategy("dependency-aware"), event=event)
    at = go(new_app(), "views/stress.py")
    at.selectbox[0].set_value(event)
    button(at, "Run stress test").click().run()
    assert not at.exception and not errors(at)
    shown = metrics(at)
    assert shown["Shortfall"] == fmt.tonnes(expected.totals["shortfall_t"])
    assert shown["Cost uplift"] == fmt.money(expected.totals["cost_uplift_usd"])
    assert f"First to break: {expected.first_break['text']}" in [
        m.value for m in [*at.error, *at.warning, *at.success]]


def test_stress_page_custom_availability_and_every_event() -> None:
    at = go(new_app(), "views/stress.py")
    [r for r in at.radio if r.label == "Stress"][0].set_value("Availability per country")
    at.slider(key=state.availability_key("China")).set_value(0.0)
    button(at, "Run stress test").click().run()
    assert not at.exception and not errors(at)
    assert "Shortfall" in metrics(at)
    [r for r in at.radio if r.label == "Stress"][0].set_value("A named event")
    at.selectbox[0].set_value("all")
    button(at, "Run stress test").click().run()
    assert not at.exception and not errors(at)
    assert len(at.dataframe[0].value) == len(load_dataset()["events"])


def test_stress_page_uploaded_plan_and_a_bad_one(shipped_data) -> None:
    strategy = load_strategy("dependency-aware")
    good = (b"origin,hub,market,period,tonnes\n"
            b"Turkey,Campine Beerse,EU (Antwerp-Rotterdam),2026,2000\n"
            b"Tajikistan,Kadamjai,EU (Antwerp-Rotterdam),2027,1500\n")
    plan = read_plan_csv(shipped_data, strategy, good)
    expected = stress_test(shipped_data, strategy, plan=plan, event="China export ban")
    at = go(new_app(), "views/stress.py")
    [r for r in at.radio if r.label == "Plan"][0].set_value("A plan CSV I upload")
    at.selectbox[0].set_value("China export ban")
    at.file_uploader[0].set_value(("plan.csv", good, "text/csv"))
    button(at, "Run stress test").click().run()
    assert not at.exception and not errors(at)
    assert metrics(at)["Shortfall"] == fmt.tonnes(expected.totals["shortfall_t"])
    bad = b"origin,hub,market,period,tonnes\nAtlantis,Nowhere,EU (Antwerp-Rotterdam),2026,5\n"
    with pytest.raises(StibiumInputError) as raised:
        read_plan_csv(shipped_data, strategy, bad)
    at.file_uploader[0].set_value(("plan.csv", bad, "text/csv"))
    button(at, "Run stress test").click().run()
    assert not at.exception
    assert errors(at) == [str(raised.value)]


def test_stress_page_replays_an_uploaded_plan_under_a_cvar_strategy(shipped_data) -> None:
    """min-cvar limits CVaR over its scenarios; its horizon and limits still frame an uploaded
    plan, which is replayed without them (as `stibium stress --plan` does)."""
    strategy = load_strategy("min-cvar")
    plan_csv = (b"origin,hub,market,period,tonnes\n"
                b"Turkey,Campine Beerse,EU (Antwerp-Rotterdam),2026,2000\n")
    plan = read_plan_csv(shipped_data, strategy, plan_csv)
    expected = stress_test(shipped_data, strategy, plan=plan, event="China export ban")
    at = new_app()
    at.selectbox(key=at.session_state[state.BASE_WIDGET]).set_value("min-cvar").run()
    go(at, "views/stress.py")
    [r for r in at.radio if r.label == "Plan"][0].set_value("A plan CSV I upload")
    at.selectbox[0].set_value("China export ban")
    at.file_uploader[0].set_value(("plan.csv", plan_csv, "text/csv"))
    button(at, "Run stress test").click().run()
    assert not at.exception and not errors(at)
    assert metrics(at)["Shortfall"] == fmt.tonnes(expected.totals["shortfall_t"])


def test_data_page_shows_every_table_and_the_leverage_matrix(shipped_data) -> None:
    at = go(new_app(), "views/data_sources.py")
    labels = " ".join(e.label for e in at.expander)
    for name in shipped_data.tables:
        assert f"{name}.csv" in labels
    estimates = len(shipped_data.estimates())
    assert f"{estimates} values are estimates" in " ".join(c.value for c in at.caption)


# --- saved runs ------------------------------------------------------------------------------

def test_a_saved_run_can_be_loaded_and_compared(default_result) -> None:
    at = go(run_form(new_app()), "views/solution.py")
    at.text_input(key=state.W_SAVE_NAME).set_value("board pack")
    button(at, "Save run").click().run()
    assert not at.exception and not errors(at)
    assert any("Saved as run 1" in s.value for s in at.success)
    at = go(at, "views/strategy.py")
    at.radio(key=state.W_SOURCE).set_value("Saved run").run()
    assert not at.exception and not errors(at)
    button(at, "Load its strategy").click().run()
    assert not at.exception and not errors(at)
    at = go(at, "views/compare.py")
    at.toggle[0].set_value(True).run()
    at.multiselect(key=state.W_COMPARE_SAVED).set_value([1])
    button(at, "Compare").click().run()
    assert not at.exception and not errors(at)
    table = at.dataframe[0].value
    assert table.loc["Total cost", "#1 board pack"] == fmt.money(
        default_result.total_cost)


# --- errors that are bugs: one line, no traceback --------------------------------------------

def test_an_internal_error_shows_one_line_and_no_traceback(monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(compute, "solve", broken)
    at = new_app()
    number_input(at, "Demand (t/yr)").set_value(7321.0)
    run_form(at)
    assert not at.exception
    assert len(errors(at)) == 1 and errors(at)[0].startswith("Internal error (RuntimeError)")


# --- launching -------------------------------------------------------------------------------

def test_launch_runs_the_installed_app_with_production_flags(monkeypatch, capsys) -> None:
    started: list[list[str]] = []

    class FakeProcess:
        def __init__(self, args: list[str]) -> None:
            started.append(args)

        def wait(self, timeout: float | None = None) -> int:
            return 0

    monkeypatch.setattr(launch.subprocess, "Popen", FakeProcess)
    assert launch.launch(port=8765, extra_args=["--theme.base", "dark"]) == 0
    args = started[0]
    assert args[1:4] == ["-m", "streamlit", "run"]
    assert Path(args[4]) == Path(launch.__file__).with_name("app.py")
    flags = dict(zip(args[5::2], args[6::2], strict=False))
    assert flags["--server.port"] == "8765"
    assert flags["--server.headless"] == "true"  # pytest's stdin is not a terminal
    assert flags["--server.enableXsrfProtection"] == "true"
    assert flags["--global.developmentMode"] == "false"
    assert flags["--server.maxUploadSize"] == "5"
    assert flags["--client.showErrorDetails"] == "false"
    assert args[-2:] == ["--theme.base", "dark"]
    assert "http://localhost:8765" in capsys.readouterr().out
    assert launch.port_is_free(launch.free_port())


def test_an_infeasible_strategy_is_explained_on_the_page() -> None:
    """The same explanation as the CLI: the summary line, then what would make it feasible."""
    text = b'name = "hard"\nmax_unmet_share = 0.0\n[caps.exposure]\nChina = 0.1\n'
    expected = solve(load_dataset(), parse_strategy(text.decode(), source="hard.toml")).message
    assert expected.startswith("no feasible plan: raise")
    at = new_app()
    at.file_uploader(key=state.W_TOML_UPLOAD).set_value(("hard.toml", text, "application/toml"))
    at.run()
    at = run_form(at)
    assert not at.exception
    assert expected in errors(at)
    at = go(at, "views/solution.py")
    assert not at.exception
    assert expected in errors(at)
