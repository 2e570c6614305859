"""The code base stays clean under the project's ruff configuration."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff is a test extra")
def test_ruff_is_clean():
    completed = subprocess.run([sys.executable, "-m", "ruff", "check", "--quiet", str(ROOT)],
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stdout + completed.stderr
