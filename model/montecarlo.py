"""Out-of-sample Monte Carlo: one plan judged on many independent batches of sampled scenarios.

A plan's risk figures (expected shortfall, CVaR, expected cost) depend on the scenarios they
are computed on. To see how far they can be trusted, the plan — the strategy's optimal plan or
a hand-typed one — is replayed on ``batches`` independent sets of ``samples`` sampled
scenarios: batch b draws with seed ``seed + b`` (``model.scenarios.sample_scenarios``: events,
onset year and severities within their ranges), the buyer reacts in each scenario by the same
recourse rules as in the optimisation (``model.risk.evaluate``), and each batch reports its
own figures. Their spread across batches is the sampling error of a ``samples``-scenario
estimate; the plan on the exact enumeration of events (central severities) is the reference.

Each batch, and the exact reference, is a task (:mod:`stibium.model.parallel`): results are
identical whether they run in this process, in local processes or on a Dask cluster.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .data import Dataset
from .errors import StibiumInputError
from .instance import Instance, build_instance, recourse_for
from .parallel import Progress, run_tasks
from .risk import evaluate, first_stage_of, risk_metrics
from .scenarios import enumerate_scenarios, sample_scenarios
from .strategy import Strategy
from .stress import plan_frame, plan_to_replay

METRICS = ("expected_shortfall_t", "var_shortfall_t", "cvar_shortfall_t",
           "expected_total_cost", "var_cost", "cvar_cost")
BATCH_COLUMNS = ["batch", "seed", "status", "message", "scenarios", *METRICS]
SUMMARY_COLUMNS = ["mean", "std", "stderr", "min", "max", "exact"]
MAX_BATCHES = 10_000
MAX_SAMPLES = 1_000_000
SEVERITIES = ("sampled", "central")


@dataclass
class MonteCarloResult:
    """Per-batch figures of one plan, their spread, and the exact reference.

    ``batches`` has one row per batch (``status`` ``ok`` or ``failed`` with the ``message``);
    ``summary`` one row per metric (mean, standard deviation, standard error of the mean,
    min and max over the batches that ran; ``exact``: the plan on the exact enumeration).
    """

    strategy: str
    plan_source: str
    samples: int
    seed: int
    severity: str
    cvar_beta: float
    batches: pd.DataFrame
    summary: pd.DataFrame
    exact: dict[str, float] = field(default_factory=dict)
    exact_note: str = ""
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every batch (and the exact reference, where it applies) ran."""
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the CLI's ``--json``): NaN becomes null."""
        return {
            "strategy": self.strategy,
            "plan": self.plan_source,
            "samples": self.samples,
            "seed": self.seed,
            "severity": self.severity,
            "cvar_beta": self.cvar_beta,
            "batches": [{k: _plain(v) for k, v in row.items()}
                        for row in self.batches.to_dict(orient="records")],
            "summary": {metric: {k: _plain(v) for k, v in row.items()}
                        for metric, row in self.summary.to_dict(orient="index").items()},
            "exact": {k: _plain(v) for k, v in self.exact.items()},
            "exact_note": self.exact_note,
            "failures": self.failures,
        }


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class _Replay:
    """What every batch reads (sent once per worker)."""

    dataset: Dataset
    instance: Instance
    first_stage: tuple[dict, dict, dict]
    stock: pd.DataFrame
    total_cost: float
    samples: int
    severity: str
    events: tuple[str, ...]


def _evaluate_batch(replay: _Replay, seed: int | None) -> dict[str, float]:
    """The plan's figures on one batch of sampled scenarios (``seed``), or on the exact
    enumeration (``None``)."""
    periods = replay.instance.periods
    if seed is None:
        scenarios = enumerate_scenarios(replay.dataset, periods, replay.events)
    else:
        scenarios = sample_scenarios(replay.dataset, periods, replay.samples, seed,
                                     severity=replay.severity, events=replay.events)
    outcomes = evaluate(replay.instance, recourse_for(replay.instance, scenarios),
                        *replay.first_stage)
    values = risk_metrics(outcomes, replay.instance, replay.total_cost, replay.stock)
    return {"scenarios": float(len(scenarios)), **{k: values[k] for k in METRICS}}


def _check_whole(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) \
            or not low <= value <= high:
        raise StibiumInputError(f"{name} must be a whole number in [{low}, {high}], "
                                f"not {value!r}")
    return int(value)


def montecarlo(dataset: Dataset, strategy: Strategy, *, plan: pd.DataFrame | None = None,
               batches: int = 20, samples: int = 1000, seed: int | None = None,
               severity: str | None = None, workers: int | None = None,
               scheduler: str | None = None, progress: Progress | None = None
               ) -> MonteCarloResult:
    """Replay a plan on ``batches`` independent batches of ``samples`` sampled scenarios.

    Parameters
    ----------
    plan
        A hand-typed plan (:func:`stibium.model.stress.read_plan_csv`); without it the
        strategy is solved (here, once) and its optimal plan and stockpile are replayed.
    seed
        Batch b (from 0) samples with ``seed + b`` (default: the strategy's
        ``scenarios.seed``), so any batch can be repeated on its own.
    severity
        ``sampled`` (severities drawn within their ranges) or ``central``; default: the
        strategy's ``scenarios.severity``. The strategy's ``scenarios.events`` subset, if
        any, applies too.
    workers, scheduler, progress
        Where the batches run (:func:`stibium.model.parallel.run_tasks`).

    A batch that fails is reported in its row (and in ``failures``) and the others go on;
    the summary is over the batches that ran.
    """
    batches = _check_whole("batches", batches, 1, MAX_BATCHES)
    samples = _check_whole("samples", samples, 1, MAX_SAMPLES)
    first_seed = strategy.scenario_seed if seed is None else seed
    first_seed = _check_whole("seed", first_seed, 0, 2**63 - 1 - batches)
    severity = strategy.severity_sampling if severity is None else severity
    if severity not in SEVERITIES:
        raise StibiumInputError(f"severity must be one of {', '.join(SEVERITIES)}, not "
                                f"{severity!r}")
    source = "optimised" if plan is None else "hand-typed"
    instance = build_instance(dataset, plan_frame(strategy))
    plan, stock, unmet, cost = plan_to_replay(dataset, strategy, instance, plan,
                                              purpose="evaluate")
    replay = _Replay(dataset=dataset, instance=instance,
                     first_stage=first_stage_of(plan, stock, unmet), stock=stock,
                     total_cost=cost, samples=samples, severity=severity,
                     events=tuple(strategy.scenario_events))
    seeds: list[int | None] = [first_seed + b for b in range(batches)]
    labels = [f"batch {b + 1} (seed {s})" for b, s in enumerate(seeds)]
    outcomes = run_tasks(_evaluate_batch, [*seeds, None], shared=replay,
                         labels=[*labels, "exact enumeration"], workers=workers,
                         scheduler=scheduler, progress=progress)
    rows = []
    for b, (batch_seed, outcome) in enumerate(zip(seeds, outcomes[:-1], strict=True)):
        row: dict[str, Any] = {"batch": b + 1, "seed": batch_seed,
                               "status": "ok" if outcome.ok else "failed",
                               "message": "" if outcome.ok else outcome.error}
        row.update(outcome.value if outcome.ok else
                   {"scenarios": math.nan, **dict.fromkeys(METRICS, math.nan)})
        rows.append(row)
    table = pd.DataFrame(rows, columns=BATCH_COLUMNS)
    failures = [o.describe() for o in outcomes[:-1] if not o.ok]
    exact_outcome = outcomes[-1]
    exact: dict[str, float] = {}
    note = "the plan on the exact enumeration of events at central severities"
    if exact_outcome.ok:
        exact = exact_outcome.value
    elif exact_outcome.input_error:  # e.g. too many events to enumerate: batches still stand
        note = f"no exact reference: {exact_outcome.message}"
    else:
        failures.append(exact_outcome.describe())
        note = f"no exact reference: {exact_outcome.error}"
    return MonteCarloResult(
        strategy=strategy.name, plan_source=source,
        samples=samples, seed=first_seed, severity=severity, cvar_beta=instance.cvar_beta,
        batches=table, summary=_summary(table, exact), exact=exact, exact_note=note,
        failures=failures)


def _summary(table: pd.DataFrame, exact: dict[str, float]) -> pd.DataFrame:
    ran = table[table["status"] == "ok"]
    rows = {}
    for metric in METRICS:
        values = ran[metric].to_numpy(dtype=float)
        count = len(values)
        std = float(np.std(values, ddof=1)) if count > 1 else math.nan
        rows[metric] = {
            "mean": float(np.mean(values)) if count else math.nan,
            "std": std,
            "stderr": std / math.sqrt(count) if count > 1 else math.nan,
            "min": float(np.min(values)) if count else math.nan,
            "max": float(np.max(values)) if count else math.nan,
            "exact": float(exact.get(metric, math.nan)),
        }
    return pd.DataFrame.from_dict(rows, orient="index", columns=SUMMARY_COLUMNS)
