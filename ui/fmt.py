"""How numbers are written on the pages (and in the tests that compare them with the API)."""

from __future__ import annotations

import math
from typing import Any


def md(text: str) -> str:
    """Text for Markdown (st.markdown, captions, alerts): a dollar sign stays a dollar sign
    instead of opening a formula."""
    return text.replace("$", "\\$")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def money(value: float | None) -> str:
    """Dollars in millions: ``$2,319.37 m``."""
    return "–" if _missing(value) else f"${value / 1e6:,.2f} m"


def money_delta(value: float | None) -> str | None:
    if _missing(value) or abs(value) < 5e3:
        return None
    return f"{'+' if value > 0 else '−'}${abs(value) / 1e6:,.2f} m"


def per_tonne(value: float | None) -> str:
    """Dollars per tonne: ``$46,387/t``."""
    return "–" if _missing(value) else f"${value:,.0f}/t"


def per_tonne_delta(value: float | None) -> str | None:
    return None if _missing(value) or abs(value) < 0.5 else f"{value:+,.0f} $/t"


def dollars(value: float | None) -> str:
    """Whole dollars: ``$1,234``."""
    return "–" if _missing(value) else f"${value:,.0f}"


def tonnes(value: float | None) -> str:
    """Tonnes: ``1,234 t``."""
    return "–" if _missing(value) else f"{value:,.0f} t"


def tonnes_delta(value: float | None) -> str | None:
    return None if _missing(value) or abs(value) < 0.5 else f"{value:+,.0f} t"


def index(value: float | None) -> str:
    """An HHI on its 0–10,000 scale: ``2,345``."""
    return "–" if _missing(value) else f"{value:,.0f}"


def index_delta(value: float | None) -> str | None:
    return None if _missing(value) or abs(value) < 0.5 else f"{value:+,.0f}"


def percent(value: float | None, digits: int = 1) -> str:
    """A fraction as a percentage: ``30.0%``."""
    return "–" if _missing(value) else f"{100 * value:.{digits}f}%"


def number(value: float | None, digits: int = 3) -> str:
    return "–" if _missing(value) else f"{value:,.{digits}f}"
