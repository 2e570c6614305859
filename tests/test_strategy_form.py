"""The app's strategy form is built from the settings' description: every setting has a
widget with its label and help, and what the form submits is the strategy it shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from stibium.model import SETTINGS, load_strategy
from stibium.ui import share
from tests.app_helpers import APP

TIMEOUT = 120
# Settings shown as a column of another setting's table (exclusions beside the caps).
IN_A_TABLE = {"excluded_origins", "excluded_hubs"}


@pytest.fixture(autouse=True)
def runs_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STIBIUM_RUNS_URL", f"sqlite:///{tmp_path / 'runs.sqlite'}")


@pytest.fixture(scope="module")
def app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    return at


def widgets(at: AppTest) -> dict[str, object]:
    found = {}
    for kind in ("number_input", "radio", "selectbox", "text_input", "multiselect"):
        for widget in getattr(at, kind):
            if widget.key and widget.key.startswith("w_form0_"):
                found[widget.key.removeprefix("w_form0_")] = widget
    return found


def test_every_setting_has_its_widget(app: AppTest):
    shown = widgets(app)
    for setting in SETTINGS:
        if setting.kind == "shares":
            assert f"w_form0_{setting.widget_key}" in app.session_state, setting.key
            continue
        if setting.field in IN_A_TABLE:
            continue
        widget = shown.get(setting.widget_key)
        assert widget is not None, f"no widget for {setting.key}"
        assert widget.label == setting.label
        assert setting.help in widget.help


def test_a_setting_the_form_lacked_before_is_submitted(app: AppTest):
    widgets(app)["max_unmet_share"].set_value(0.05)
    widgets(app)["demand_t"].set_value(9000.0)
    [b for b in app.button if b.label == "Run"][0].click().run()
    assert not app.exception and not app.error
    strategy, base = share.decode(app.query_params)
    assert strategy == load_strategy(base).with_changes(max_unmet_share=0.05, demand_t=9000.0)
