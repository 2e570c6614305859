"""Share a strategy as a link: the shipped strategy it starts from plus the settings changed.

``?base=dependency-aware`` is a shipped strategy as it is; ``&set=…`` adds the changed
settings as compressed JSON (URL-safe base64), so a link stays short whatever is changed::

    params = encode(strategy, "dependency-aware")     # {"base": ..., "set": ...}
    decode(params) == strategy
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from stibium.model import Strategy, StrategyError, load_strategy, shipped_strategies

BASE, CHANGES = "base", "set"
MAX_CHANGES_BYTES = 100_000
_FIELDS = {f.name: f for f in fields(Strategy)}


def changed_fields(strategy: Strategy, base: Strategy) -> dict[str, Any]:
    """The settings of `strategy` that differ from `base` (JSON-ready values)."""
    changes: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(strategy, name)
        if value != getattr(base, name):
            changes[name] = list(value) if isinstance(value, tuple) else value
    return changes


def encode(strategy: Strategy, base_name: str) -> dict[str, str]:
    """Query parameters that rebuild `strategy` from the shipped strategy `base_name`."""
    if base_name not in shipped_strategies():
        base_name = "dependency-aware"
    params = {BASE: base_name}
    changes = changed_fields(strategy, load_strategy(base_name))
    if changes:
        text = json.dumps(changes, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
        packed = zlib.compress(text.encode("utf-8"), 9)
        params[CHANGES] = base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")
    return params


def decode(params: Mapping[str, str]) -> tuple[Strategy, str]:
    """The strategy a share link describes, and its base name; a damaged or unknown link
    raises :class:`StrategyError` with one line saying what is wrong."""
    base_name = str(params.get(BASE, "")).strip()
    shipped = shipped_strategies()
    if base_name not in shipped:
        raise StrategyError(f"share link: unknown base strategy {base_name!r} (shipped: "
                            f"{', '.join(shipped)})")
    base = load_strategy(base_name)
    packed = str(params.get(CHANGES, "")).strip()
    if not packed:
        return base, base_name
    try:
        raw = base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4))
        inflater = zlib.decompressobj()
        text = inflater.decompress(raw, MAX_CHANGES_BYTES)
        if inflater.unconsumed_tail:
            raise StrategyError("share link: the 'set' parameter is too large")
        if not inflater.eof:
            raise ValueError("truncated")
        changes = json.loads(text.decode("utf-8"))
    except (binascii.Error, zlib.error, UnicodeDecodeError, ValueError):
        raise StrategyError("share link: the 'set' parameter is damaged (copy the whole "
                            "link)") from None
    if not isinstance(changes, dict):
        raise StrategyError("share link: the 'set' parameter is damaged (copy the whole link)")
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in _FIELDS:
            raise StrategyError(f"share link: unknown setting {name!r}")
        if isinstance(getattr(base, name), tuple) and isinstance(value, list):
            value = tuple(value)
        values[name] = value
    try:
        return base.with_changes(**values), base_name
    except StrategyError as exc:
        raise StrategyError(f"share link: {exc}") from None
    except (TypeError, AttributeError):  # a value of a type no setting takes
        raise StrategyError("share link: the 'set' parameter is damaged (a setting has a "
                            "value of the wrong kind)") from None
