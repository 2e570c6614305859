"""Stibium: minimum-cost, risk-constrained antimony sourcing that knows who controls whom."""

__version__ = "0.1.0"
