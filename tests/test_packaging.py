"""The wheel carries every package, data table and strategy (a missing file shows up here)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from stibium.model.data import TABLES

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_contains_packages_data_and_strategies(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
                    str(ROOT)], check=True, capture_output=True, timeout=600)
    wheel = next(tmp_path.glob("stibium-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in ("stibium/cli.py", "stibium/model/build.py", "stibium/ui/__init__.py",
                   "stibium/ui/app.py", "stibium/ui/views/solution.py",
                   "stibium/ui/static/world_110m.json", "stibium/data/README.md",
                   "stibium/data/schema.csv"):
        assert module in names, module
    for spec in TABLES.values():
        assert f"stibium/data/{spec.file}" in names, spec.file
    for strategy in (ROOT / "data" / "strategies").glob("*.toml"):
        assert f"stibium/data/strategies/{strategy.name}" in names, strategy.name
    assert not any(name.startswith(("model/", "ui/", "data/")) for name in names)
