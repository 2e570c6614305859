"""Shared by the app tests (AppTest) and the browser tests (Playwright)."""

from __future__ import annotations

import shutil
from pathlib import Path

from stibium.model import default_data_dir
from stibium.model.data import TABLES

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "ui" / "app.py"

# (page file relative to ui/, page title)
PAGES = (
    ("views/strategy.py", "Strategy"),
    ("views/solution.py", "Solution"),
    ("views/frontier.py", "Frontier"),
    ("views/compare.py", "Compare"),
    ("views/stress.py", "Stress test"),
    ("views/data_sources.py", "Data & sources"),
)


def data_copy(folder: Path, replaced: dict[str, bytes] | None = None) -> Path:
    """The shipped data tables copied into `folder`, some of them replaced."""
    folder.mkdir(parents=True, exist_ok=True)
    for spec in TABLES.values():
        shutil.copyfile(default_data_dir() / spec.file, folder / spec.file)
    for name, raw in (replaced or {}).items():
        (folder / TABLES[name].file).write_bytes(raw)
    return folder


def shipped_table(name: str) -> str:
    return (default_data_dir() / TABLES[name].file).read_text(encoding="utf-8")


def raised_prices(factor: float) -> bytes:
    """prices.csv with every benchmark (and its range) multiplied by `factor`."""
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(shipped_table("prices"))))
    for row in rows:
        for column in ("benchmark_usd_per_t", "low", "high"):
            if row[column]:
                row[column] = f"{float(row[column]) * factor:.0f}"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def malformed_prices() -> bytes:
    """prices.csv with a word where the first benchmark price should be."""
    lines = shipped_table("prices").splitlines()
    header, first = lines[0], lines[1].split(",")
    first[1] = "abc"
    return "\n".join([header, ",".join(first), *lines[2:]]).encode("utf-8") + b"\n"
