"""The app in a real browser: `streamlit run` on a free port, driven with Playwright and the
system's Chromium (Debian's /usr/bin/chromium; `.ci/browser.sh` installs it in CI).

One session walks through the app as a user would: run the default strategy, tighten a cap
and see the KPIs change to the API's numbers, visit every page, download the result bundle,
upload a malformed table. A screenshot of each page goes to test-output/screenshots/.
Skipped only when Chromium or the Playwright package is missing.
"""

from __future__ import annotations

import importlib.util
import io
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stibium.model import load_dataset, load_strategy, solve
from stibium.model.errors import StibiumInputError
from stibium.model.export import BUNDLE_FILES
from stibium.ui import fmt, launch
from tests.app_helpers import APP, ROOT, data_copy, malformed_prices

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
STARTUP_S = 90
SOLVE_MS = 120_000

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (install it with "
                                                     f"`apt-get install chromium` or "
                                                     f"bash .ci/browser.sh)"),
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None,
                       reason="the playwright package is missing (a test extra)"),
]


def wait_for_health(url: str, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"streamlit did not answer {url}/_stcore/health in {timeout_s:.0f} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`streamlit run ui/app.py` headless on a free port; its URL."""
    port = launch.free_port()
    folder = tmp_path_factory.mktemp("browser")
    env = {**os.environ, "STIBIUM_RUNS_URL": f"sqlite:///{folder / 'runs.sqlite'}"}
    log = open(folder / "streamlit.log", "wb")  # noqa: SIM115 - closed below
    # The production flags of `stibium app` (so Streamlit is seen to accept them), then ours.
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(APP), *launch.PRODUCTION_FLAGS,
         "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1"],
        cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, process, STARTUP_S)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


@pytest.fixture(scope="module")
def page(server: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 1000},
                                      accept_downloads=True)
        tab = context.new_page()
        tab.set_default_timeout(SOLVE_MS)
        tab.outside_requests = []

        def only_local(route: Any) -> None:
            if route.request.url.startswith(server):
                route.continue_()
            else:  # the app must work offline: record and refuse anything else
                tab.outside_requests.append(route.request.url)
                route.abort()

        tab.route("**/*", only_local)
        tab.goto(server)
        yield tab
        context.close()
        browser.close()


def idle(page: Any) -> None:
    """Wait until the script run triggered by the last action has finished."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=SOLVE_MS)
    page.wait_for_timeout(300)


def open_page(page: Any, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title, exact=True).wait_for()
    idle(page)


def metric_value(page: Any, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(
            rf"^{re.escape(label)}$")))
    return metric.first.locator('[data-testid="stMetricValue"]').inner_text().strip()


def shoot(page: Any, name: str) -> Path:
    """A screenshot of the whole page (Streamlit scrolls inside its main block, so the
    window is made as tall as that block first)."""
    path = SCREENSHOTS / f"{name}.png"
    size = page.viewport_size
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')"
                           "?.scrollHeight ?? 0")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], height)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path


def set_number(page: Any, tab: str, label: str, value: str) -> None:
    page.get_by_role("tab", name=tab).click()
    field = page.get_by_label(label, exact=True)
    field.fill(value, timeout=10_000)
    field.press("Tab")


def test_a_user_session_through_every_page(page: Any, tmp_path: Path) -> None:
    data = load_dataset()
    default = solve(data, load_strategy("dependency-aware"))
    tighter = solve(data, load_strategy("dependency-aware").with_changes(origin_share_cap=0.3))

    # Strategy page: run the default strategy.
    page.get_by_role("heading", name="Strategy", exact=True).wait_for()
    page.get_by_role("heading", name="Data tables").wait_for()
    idle(page)
    shoot(page, "strategy")
    page.get_by_role("button", name="Run").click()
    page.get_by_text("Solved 'dependency-aware'").wait_for()
    open_page(page, "Solution")
    assert metric_value(page, "Total cost") == fmt.money(default.total_cost)

    # Tighten the origin cap, run again: the KPIs change to the API's numbers.
    open_page(page, "Strategy")
    set_number(page, "Caps & exposure", "Default origin share cap", "0.3")
    shoot(page, "strategy-caps")
    page.get_by_role("button", name="Run").click()
    page.get_by_text(f"total cost {fmt.money(tighter.total_cost)}").wait_for()
    assert "set=" in page.url  # the address is the share link
    open_page(page, "Solution")
    assert metric_value(page, "Total cost") == fmt.money(tighter.total_cost)
    assert metric_value(page, "Effective HHI") == fmt.index(
        tighter.metrics["effective_hhi"])
    assert metric_value(page, "Total cost") != fmt.money(default.total_cost)
    page.locator("path.choroplethlocation").first.wait_for(state="attached")
    shoot(page, "solution")

    # The result bundle downloads as a zip with every file.
    with page.expect_download() as download:
        page.get_by_role("button", name="Result bundle (zip)").click()
    target = tmp_path / "bundle.zip"
    download.value.save_as(target)
    names = set(zipfile.ZipFile(io.BytesIO(target.read_bytes())).namelist())
    assert names == set(BUNDLE_FILES)

    # Frontier: three points of the China exposure cap.
    open_page(page, "Frontier")
    page.get_by_role("textbox", name="Explicit limits (optional)").fill("0.3, 0.2, 0.1")
    page.get_by_role("button", name="Run frontier").click()
    page.get_by_text("cost against exposure to China").wait_for()
    idle(page)
    shoot(page, "frontier")

    # Compare the headline pair.
    open_page(page, "Compare")
    page.get_by_role("button", name="Compare").click()
    page.get_by_role("heading", name="Where the plans differ").wait_for()
    idle(page)
    shoot(page, "compare")

    # Stress the current plan with one named event.
    open_page(page, "Stress test")
    page.get_by_role("button", name="Run stress test").click()
    page.get_by_text("under stress").wait_for()
    idle(page)
    shoot(page, "stress")

    open_page(page, "Data & sources")
    page.get_by_role("heading", name="Leverage matrix").wait_for()
    idle(page)
    shoot(page, "data")

    # A malformed table upload: the loader's one line, no traceback, the page still works.
    try:
        load_dataset(data_copy(tmp_path / "bad", {"prices": malformed_prices()}))
    except StibiumInputError as exc:
        message = str(exc)
    open_page(page, "Strategy")
    page.get_by_role("tab", name="Upload CSV tables").click()
    bad = tmp_path / "prices.csv"
    bad.write_bytes(malformed_prices())
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').last.set_input_files(str(bad))
    page.get_by_role("button", name="Apply uploaded tables").click()
    page.get_by_text(message, exact=True).wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    shoot(page, "strategy-bad-upload")

    # Results survived every page switch; the map needed nothing from outside.
    open_page(page, "Solution")
    assert metric_value(page, "Total cost") == fmt.money(tighter.total_cost)
    assert not [u for u in page.outside_requests if "plot.ly" in u], page.outside_requests


# The Frontier page's label of each kind of measure `stibium frontier --risk` offers
# (tests/test_results_pickle.py checks that the kinds are the CLI's).
FRONTIER_LABELS = {
    "cvar": "CVaR of shortfall (share of demand)",
    "cvar-cost": "CVaR of total cost ($)",
    "exposure:China": "exposure to China (share of demand)",
    "origin:China": "share of demand from China",
    "risk-budget": "average country risk score",
}


def test_the_frontier_page_runs_every_measure(page: Any) -> None:
    from tests.test_results_pickle import FRONTIER_MEASURES

    assert set(FRONTIER_LABELS) == set(FRONTIER_MEASURES)
    open_page(page, "Frontier")
    for risk, label in FRONTIER_LABELS.items():
        form = page.locator('[data-testid="stForm"]')
        form.locator('[data-testid="stSelectbox"]').filter(has_text="Risk measure").click()
        page.get_by_role("option", name=label, exact=True).click()
        slider = form.get_by_role("slider")
        slider.focus()
        slider.press("Home")  # the fewest points: 2
        page.get_by_role("button", name="Run frontier").click()
        # The sweep's heading, or the error that replaced it.
        error = page.locator('[data-testid="stAlertContentError"]')
        page.get_by_text(f"cost against {label}").or_(error).first.wait_for()
        idle(page)
        assert page.locator('[data-testid="stException"]').count() == 0, risk
        shown_errors = error.all_inner_texts()
        assert not shown_errors, (risk, shown_errors)
        # The first point's figures are shown under the table.
        page.get_by_text("Show the plan of point").wait_for()
        page.locator('[data-testid="stMetricLabel"]', has_text="Total cost").wait_for()
        shoot(page, f"frontier-{risk.replace(':', '-')}")
