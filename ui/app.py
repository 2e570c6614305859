"""Stibium's Streamlit app: the entry script.

Run it from a checkout with ``streamlit run ui/app.py``, or installed with ``stibium app``
(see :mod:`stibium.ui.launch`). It imports Stibium as the installed package ``stibium`` and
builds the page list from the files in ``views/`` beside it.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from stibium.ui import common, state

VIEWS = Path(__file__).parent / "views"

# (file in views/, title, icon, URL path)
PAGES: tuple[tuple[str, str, str, str], ...] = (
    ("strategy.py", "Strategy", ":material/tune:", "strategy"),
    ("solution.py", "Solution", ":material/insights:", "solution"),
    ("frontier.py", "Frontier", ":material/show_chart:", "frontier"),
    ("compare.py", "Compare", ":material/compare_arrows:", "compare"),
    ("stress.py", "Stress test", ":material/bolt:", "stress"),
    ("data_sources.py", "Data & sources", ":material/dataset:", "data"),
)


def run() -> None:
    """Set the page up, restore a shared strategy from the address, and show the chosen page."""
    st.set_page_config(page_title="Stibium — antimony sourcing", page_icon=":material/hub:",
                       layout="wide")
    state.init()
    common.guarded(common.restore_from_url)
    pages = [st.Page(VIEWS / file, title=title, icon=icon, url_path=url_path,
                     default=(position == 0))
             for position, (file, title, icon, url_path) in enumerate(PAGES)]
    page = st.navigation(pages)
    page.run()
    common.guarded(common.sidebar_summary)  # after the page: it shows the run just made


if __name__ == "__main__":
    run()
