"""Errors that reach users as one clear line (CLI exit code 2, `st.error` in the app)."""

from __future__ import annotations


class StibiumInputError(Exception):
    """Bad input from a user: the message is one line that names the file, column and row,
    or the setting and its allowed values. Never shown with a traceback."""


class DataError(StibiumInputError):
    """A data table is missing, malformed or inconsistent."""


class StrategyError(StibiumInputError):
    """A strategy file or setting is malformed or out of range."""


class SolverError(Exception):
    """The solver failed for a reason that is not the user's input (not infeasibility)."""
